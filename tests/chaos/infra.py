"""The chaos suite's own Kafka broker and PostgreSQL server: the deploy/local scripts with a
state folder and ports of their own, so stopping them never disturbs the other tests' broker
and database, a developer's `make run`, or anybody else working on the machine."""

import asyncio
import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import infra

STATE = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "escalator-chaos"
KAFKA_ENV = {
    "ESCALATOR_STATE_DIR": str(STATE),
    "KAFKA_PORT": "29092",
    "KAFKA_CONTROLLER_PORT": "29093",
}
POSTGRES_ENV = {"ESCALATOR_STATE_DIR": str(STATE), "PGPORT_ESCALATOR": "25432"}


@dataclass
class Server:
    """A server the suite may stop and start again, or (``external``) one it must not touch."""

    script: str
    variable: str
    env: dict[str, str] = field(default_factory=dict)
    address: str = ""
    external: str = ""  # why the suite cannot stop this one

    @classmethod
    def from_environment(cls, script: str, variable: str, env: dict[str, str]) -> "Server":
        if address := os.environ.get(variable):
            return cls(script, variable, address=address, external=f"{variable} is set")
        return cls(script, variable, env)

    def skip_unless_owned(self, what: str) -> None:
        """Skip the calling scenario when it would stop a server the suite was pointed at."""
        if self.external:
            pytest.skip(
                f"{self.external}: the suite stops only {what} of its own"
                " (tests/chaos/infra.py), never one it was pointed at"
            )

    def start(self) -> str:
        if not self.external:
            self.address = infra._local_script(self.script, self.variable, self.env)
        return self.address

    def stop(self) -> None:
        assert not self.external, f"will not stop a server the suite does not own ({self.external})"
        result = subprocess.run(
            ["bash", str(infra.LOCAL / self.script), "stop"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=os.environ | self.env,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{self.script} stop failed:\n{result.stderr[-4000:]}")

    async def stopped(self) -> None:
        await asyncio.to_thread(self.stop)

    async def started(self) -> str:
        return await asyncio.to_thread(self.start)


@contextmanager
def exclusive(within: float = 240.0) -> Iterator[None]:
    """One chaos run at a time on this machine: the broker and the database are shared by every
    checkout (a CI clone next to a working copy), and a scenario stops them."""
    STATE.mkdir(parents=True, exist_ok=True)
    with (STATE / "chaos.lock").open("w") as lock:
        deadline = time.monotonic() + within
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"another chaos run still holds {STATE / 'chaos.lock'} after {within} s"
                    ) from None
                time.sleep(1)  # the other run's end is not an event this process can await
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def kafka() -> Server:
    return Server.from_environment("kafka.sh", "KAFKA_BOOTSTRAP_SERVERS", KAFKA_ENV)


def postgres() -> Server:
    return Server.from_environment("postgres.sh", "DATABASE_URL", POSTGRES_ENV)
