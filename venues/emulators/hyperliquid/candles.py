"""``candleSnapshot``: perp candles for the simulated past, in the venue's shape
(``t`` open ms, ``T`` close ms - 1, ``s``, ``i``, ``o h l c v`` as strings, ``n`` trades).

Like the venue, only the most recent 5,000 candles of an interval exist, and the candle in
progress is served with its prices so far. Open and close are the market's marks; the high
and low are the oracle's range over the candle scaled by the mark's premium at its close
(the market source knows the oracle's extremes, not the mark's). The emulator trades no real
volume: ``v`` and ``n`` count this emulator's own fills only loosely, so they are zero.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from venues.emulators.hyperliquid.account_views import int_field
from venues.emulators.hyperliquid.engine import HyperliquidEmulator
from venues.emulators.hyperliquid.numbers import from_ms, ms, to_tick, wire
from venues.emulators.hyperliquid.trading import Malformed

MINUTE_MS = 60_000
INTERVAL_MS = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
}
CANDLES_KEPT = 5000


def candle_snapshot(emu: HyperliquidEmulator, body: dict[str, Any]) -> list[dict[str, Any]]:
    req = body.get("req")
    if not isinstance(req, dict):
        raise Malformed("req")
    found = emu.cfg.asset(str(req.get("coin")))
    interval = req.get("interval")
    if found is None or not isinstance(interval, str) or interval not in INTERVAL_MS:
        raise Malformed("req")
    _, spec = found
    step = INTERVAL_MS[interval]
    now = ms(emu.clock.now())
    oldest = (now // step - CANDLES_KEPT + 1) * step
    first = max((int_field(req, "startTime") // step) * step, oldest)
    last = min(int_field(req, "endTime", now), now)
    out = []
    t = first
    while t <= last:
        end = min(t + step - 1, now)
        o = emu.market.state_at(from_ms(t))
        c = emu.market.state_at(from_ms(end))
        lo, hi = emu.market.price_range(from_ms(t), from_ms(end))
        k = spec.sol_ratio
        premium = c.perp_mark / c.sol_price
        po, pc = o.perp_mark * k, c.perp_mark * k
        ph = max(po, pc, hi * premium * k)
        pl = min(po, pc, lo * premium * k)
        out.append(
            {
                "t": t,
                "T": t + step - 1,
                "s": spec.name,
                "i": interval,
                "o": wire(to_tick(po, spec.sz_decimals)),
                "c": wire(to_tick(pc, spec.sz_decimals)),
                "h": wire(to_tick(ph, spec.sz_decimals)),
                "l": wire(to_tick(pl, spec.sz_decimals)),
                "v": wire(Decimal(0)),
                "n": 0,
            }
        )
        t += step
    return out
