"""Our signatures verify with the reference Standard Webhooks library, also during rotation."""

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from escalator_runtime.config_store import new_webhook_secret
from webhook_dispatcher.signing import signature, signed_headers

BODY = b'{"event_id": "9b1f", "event_type": "escalation.detected", "text": "caf\xc3\xa9"}'


def test_the_reference_verifier_accepts_our_signature() -> None:
    secret = new_webhook_secret()
    headers = signed_headers([secret], "msg_1", int(time.time()), BODY)
    assert Webhook(secret).verify(BODY, headers) == {
        "event_id": "9b1f",
        "event_type": "escalation.detected",
        "text": "café",
    }


def test_a_known_vector() -> None:
    # From the Standard Webhooks specification's reference implementations.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected


def test_during_rotation_both_secrets_verify_and_a_stranger_does_not() -> None:
    old, new = new_webhook_secret(), new_webhook_secret()
    headers = signed_headers([new, old], "msg_2", int(time.time()), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(BODY, headers)


def test_a_changed_body_or_id_does_not_verify() -> None:
    secret = new_webhook_secret()
    headers = signed_headers([secret], "msg_3", int(time.time()), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers | {"webhook-id": "msg_4"})


def test_there_is_no_unsigned_request() -> None:
    with pytest.raises(ValueError, match="no secret"):
        signed_headers([], "msg_5", 0, BODY)


def test_a_malformed_secret_is_an_error_not_a_signature() -> None:
    with pytest.raises(ValueError, match=r"Incorrect padding|Invalid"):
        signed_headers(["whsec_AAAAAAAAAAAAAAAAA"], "msg_6", 0, BODY)
