"""Standard Webhooks signatures (https://www.standardwebhooks.com).

``webhook-signature`` is ``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`` where the
key is the base64 part of the ``whsec_`` secret, decoded. During a secret rotation one signature
per valid secret is sent, space-separated: receivers holding either secret verify the request.
"""

import base64
import hashlib
import hmac
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format, not a secret


def secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    # Tolerate unpadded secrets as the reference verifiers do.
    key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secrets: Iterable[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret given (current first)."""
    signatures = list(
        dict.fromkeys(signature(secret, message_id, timestamp, body) for secret in secrets)
    )
    if not signatures:
        raise ValueError("no secret to sign with")
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }
