"""Venue answers map to typed errors that say whether a retry is safe."""

from __future__ import annotations

import pytest
import requests
from hyperliquid.utils import error as sdk_error

from venues.hyperliquid import errors as e
from venues.hyperliquid.transport import translate


@pytest.mark.parametrize(
    ("message", "cls"),
    [
        ("Insufficient margin to place order. asset=5", e.InsufficientMargin),
        ("Reduce only order would increase position. asset=5", e.ReduceOnlyViolation),
        ("Price must be divisible by tick size. asset=5", e.TickSizeViolation),
        ("Order must have minimum value of $10. asset=5", e.MinNotionalViolation),
        ("Order could not immediately match against any resting orders. asset=5", e.IocNotFilled),
        ("Post only order would have immediately matched, bbo was 1@2.", e.PostOnlyWouldCross),
        ("Order price too far from oracle.", e.PriceTooFarFromOracle),
        ("Something new the venue says", e.OrderRejected),
    ],
)
def test_per_order_messages_become_non_retryable_rejections(message, cls) -> None:
    err = e.order_error(message, cloid="0x" + "0" * 32)
    assert type(err) is cls
    assert not err.retryable and err.venue_message == message


def test_a_bad_signature_is_not_retryable_but_a_reused_nonce_is() -> None:
    bad = e.action_error("User or API Wallet 0xabc does not exist.")
    assert isinstance(bad, e.BadSignature) and not bad.retryable
    nonce = e.action_error("Invalid nonce: duplicate nonce 1741107452532")
    assert isinstance(nonce, e.InvalidNonce) and nonce.retryable


def test_an_expired_action_is_retryable_because_nothing_was_applied() -> None:
    err = e.action_error("Action expired: expiresAfter 5 is before now (6).")
    assert isinstance(err, e.ActionExpired) and err.retryable


def test_http_statuses_map_to_transport_errors() -> None:
    limited = translate(sdk_error.ClientError(429, None, "slow down", None))
    assert isinstance(limited, e.RateLimited) and limited.retryable
    assert not limited.maybe_applied
    server = translate(sdk_error.ServerError(502, "bad gateway"))
    assert isinstance(server, e.ServerError) and server.retryable and server.maybe_applied
    bad_request = translate(sdk_error.ClientError(422, None, "Failed to deserialize", None))
    assert isinstance(bad_request, e.RequestRejected) and not bad_request.retryable


def test_timeouts_may_have_applied_but_refused_connections_did_not() -> None:
    read = translate(requests.exceptions.ReadTimeout("read timed out"))
    assert isinstance(read, e.Timeout) and read.maybe_applied
    connect = translate(requests.exceptions.ConnectTimeout("connect timed out"))
    assert isinstance(connect, e.ConnectionFailed) and not connect.maybe_applied
    dropped = translate(requests.exceptions.ChunkedEncodingError("connection broken"))
    assert isinstance(dropped, e.ConnectionFailed) and dropped.maybe_applied


def test_every_error_has_a_distinct_code_for_temporal() -> None:
    classes = [c for c in vars(e).values() if isinstance(c, type) and issubclass(c, Exception)]
    codes = [c.code for c in classes if issubclass(c, e.HyperliquidError)]
    assert len(codes) == len(set(codes))


async def test_an_error_body_the_sdk_cannot_read_is_a_bad_response() -> None:
    from venues.hyperliquid.parse import BadResponse
    from venues.hyperliquid.transport import call

    def sdk_choking_on_a_4xx_body() -> None:
        raise KeyError("code")

    with pytest.raises(BadResponse) as raised:
        await call(sdk_choking_on_a_4xx_body)
    assert raised.value.retryable
