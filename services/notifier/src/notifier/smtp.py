"""One reusable connection to the configured SMTP server (aiosmtplib)."""

import asyncio
import contextlib

import aiosmtplib

from notifier.settings import NotifierSettings


class ConnectFailed(Exception):
    """The server could not be reached, or refused the session (TLS, authentication)."""


class SmtpRelay:
    """Connects on first use, reuses the connection while it is fresh, and reconnects after an
    idle spell (servers drop idle sessions) or any failure."""

    def __init__(self, settings: NotifierSettings) -> None:
        self._settings = settings
        self._client: aiosmtplib.SMTP | None = None
        self._last_used = 0.0

    def _new_client(self) -> aiosmtplib.SMTP:
        settings = self._settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            validate_certs=settings.smtp_validate_certs,
            cert_bundle=settings.smtp_ca_file,
            timeout=settings.smtp_timeout_seconds,
        )

    async def _connected(self) -> aiosmtplib.SMTP:
        idle = asyncio.get_running_loop().time() - self._last_used
        if self._client is not None and (
            not self._client.is_connected or idle > self._settings.smtp_idle_seconds
        ):
            await self.close()
        if self._client is None:
            client = self._new_client()
            try:
                await client.connect()
            except Exception as error:
                client.close()
                raise ConnectFailed(str(error)) from error
            except BaseException:
                client.close()
                raise
            self._client = client
        return self._client

    async def send(self, message: bytes, sender: str, recipient: str) -> str:
        """Send one message to one recipient; the server's acceptance text on success.

        Raises ``ConnectFailed`` (cause attached) or what aiosmtplib raised for the message.
        """
        client = await self._connected()
        try:
            _errors, response = await client.sendmail(sender, [recipient], message)
        except BaseException:
            # Whatever state the session is in now, the next email starts a fresh one.
            self.abort()
            raise
        self._last_used = asyncio.get_running_loop().time()
        return response

    def abort(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def close(self) -> None:
        """Say goodbye when the session is healthy; just drop it otherwise."""
        client, self._client = self._client, None
        if client is None:
            return
        if client.is_connected:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await client.quit()
        client.close()
