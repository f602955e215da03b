"""``GET /rates/history``: per-protocol lending and borrowing rates of one token in hourly
buckets, for the simulated past, in the shape of Asgard's rate-history exports (``hourBucket``,
``avgLendingRate`` ... in **percent**, newest first, ``sampleCount``).

*Unconfirmed against the real API*: the public margin-trading API documents ``/markets``
(current rates) only; the exports in ``../shared/data`` show the shape. Query: ``protocol``
(name or number), ``token`` (``USDC``, ``SOL``, an LST), ``startTime`` and ``endTime`` (ms; the
buckets whose hour starts in ``[startTime, endTime)``). At most ``PAGE`` buckets an answer,
the newest ones: page back by moving ``endTime`` to the oldest bucket received.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from models.domain import Protocol
from venues.emulators.asgard.core import AsgardEmulator
from venues.emulators.asgard.wire import Refusal, field, json_response, route

PAGE = 500
HOUR_MS = 3_600_000
SAMPLES = 4
"""Samples a bucket averages (the real exports take one every 5 minutes; 4 keep it cheap)."""
_HUNDRED = Decimal(100)


def history_routes(emu: AsgardEmulator) -> list[Route]:
    return [route(emu, "rates/history", _history, method="GET")]


def _protocol(raw: str) -> Protocol:
    try:
        return Protocol(int(raw)) if raw.isdigit() else next(p for p in Protocol if p.label == raw)
    except (ValueError, StopIteration):
        raise Refusal("ValidationError", f"unknown protocol {raw!r}") from None


def _ms(body: dict[str, Any], key: str) -> int:
    try:
        return int(field(body, key))
    except ValueError:
        raise Refusal("ValidationError", f"'{key}' must be milliseconds") from None


def _pct(x: Decimal | None) -> float | None:
    return None if x is None else float(x * _HUNDRED)


async def _history(emu: AsgardEmulator, body: dict[str, Any], point: str) -> Response:
    protocol = _protocol(str(field(body, "protocol")))
    token = str(field(body, "token"))
    now_ms = int(emu.clock.now().timestamp() * 1000)
    # A bucket exists once its hour has ended.
    end = min(_ms(body, "endTime"), (now_ms // HOUR_MS) * HOUR_MS)
    start = -(-_ms(body, "startTime") // HOUR_MS) * HOUR_MS
    first = max(start, end - PAGE * HOUR_MS)
    out = []
    for h in range((end - first) // HOUR_MS - 1, -1, -1):
        bucket = datetime.fromtimestamp((first + h * HOUR_MS) / 1000, tz=UTC)
        rec = _bucket(emu, protocol, token, bucket)
        if rec is not None:
            out.append(rec)
    return json_response(out)


def _bucket(
    emu: AsgardEmulator, protocol: Protocol, token: str, bucket: datetime
) -> dict[str, Any] | None:
    lend: list[Decimal] = []
    borrow: list[Decimal] = []
    for i in range(SAMPLES):
        state = emu.market.state_at(bucket + timedelta(hours=1) * i / SAMPLES)
        pm = state.protocol(protocol)
        if pm is None or token not in pm.lend_apy:
            return None
        lend.append(pm.lend_apy[token])
        if token in pm.borrow_apy:
            borrow.append(pm.borrow_apy[token])
    return {
        "protocolName": protocol.label,
        "hourBucket": bucket.strftime("%Y-%m-%dT%H:00:00.000Z"),
        "avgLendingRate": _pct(sum(lend, Decimal(0)) / len(lend)),
        "avgBorrowingRate": _pct(sum(borrow, Decimal(0)) / len(borrow)) if borrow else None,
        "minLendingRate": _pct(min(lend)),
        "maxLendingRate": _pct(max(lend)),
        "openLendingRate": _pct(lend[0]),
        "closeLendingRate": _pct(lend[-1]),
        "sampleCount": SAMPLES,
    }
