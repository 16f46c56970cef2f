"""Which failures a consumer waits out (the batch is read again, nothing skipped) and which
make it look for a poison record (tests/chaos/test_poison.py shows the whole path)."""

import asyncio

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError, RequestTimedOutError
from pydantic import BaseModel, ValidationError

from escalator_runtime import redelivery


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        TimeoutError(),
        asyncpg.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.TooManyConnectionsError("too many clients"),
        asyncpg.SerializationError("could not serialize access"),
        asyncpg.DeadlockDetectedError("deadlock detected"),
        asyncpg.InterfaceError("connection is closed"),
        KafkaConnectionError(),
        RequestTimedOutError(),
    ],
    ids=lambda error: type(error).__name__,
)
def test_an_unavailable_dependency_is_waited_out(error: BaseException) -> None:
    assert redelivery.is_transient(error)


class _Shape(BaseModel):
    n: int


def _validation_error() -> ValidationError:
    try:
        _Shape.model_validate({"n": "x"})
    except ValidationError as error:
        return error
    raise AssertionError("expected a validation error")


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.CharacterNotInRepertoireError("invalid byte sequence for encoding UTF8: 0x00"),
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.NumericValueOutOfRangeError("integer out of range"),
        ValueError("bad value"),
        KeyError("missing"),
        _validation_error(),
    ],
    ids=lambda error: type(error).__name__,
)
def test_anything_else_may_be_a_poison_record(error: BaseException) -> None:
    assert not redelivery.is_transient(error)


async def test_the_pause_doubles_up_to_a_ceiling_and_a_success_resets_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    pauses = redelivery._Pauses()
    subscriber, other = object(), object()
    for _ in range(7):
        await pauses.wait(subscriber)
    await pauses.wait(other)
    pauses.reset(subscriber)
    await pauses.wait(subscriber)
    assert waited == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 0.2, 0.2]
