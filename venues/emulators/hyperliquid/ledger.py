"""Booking trades and funding into an account.

One fill changes the position (average entry on increase, realised PnL on reduce, a fresh
entry on a flip), moves collateral (an isolated position locks ``notional / leverage`` from the
cross balance and releases it pro rata when reduced), charges the fee and records the fill the
way ``userFills`` reports it.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from venues.emulators.hyperliquid.config import AssetSpec
from venues.emulators.hyperliquid.numbers import usd
from venues.emulators.hyperliquid.state import (
    AccountRec,
    EmulatorState,
    FillRec,
    FundingRec,
    LeverageRec,
    PositionRec,
)

ZERO = Decimal(0)


def tx_hash(*parts: object) -> str:
    """A deterministic stand-in for the venue's transaction hash."""
    return "0x" + hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()


def direction(start: Decimal, delta: Decimal) -> str:
    if start == 0 or (start > 0) == (delta > 0):
        return "Open Long" if delta > 0 else "Open Short"
    if abs(delta) <= abs(start):
        return "Close Long" if start > 0 else "Close Short"
    return "Long > Short" if start > 0 else "Short > Long"


def apply_fill(
    state: EmulatorState,
    acct: AccountRec,
    *,
    asset: int,
    spec: AssetSpec,
    lev: LeverageRec,
    is_buy: bool,
    px: Decimal,
    sz: Decimal,
    fee_rate: Decimal,
    crossed: bool,
    oid: int,
    cloid: str | None,
    time_ms: int,
    liquidation_mark: Decimal | None = None,
) -> FillRec:
    pos = acct.positions.setdefault(asset, PositionRec())
    start = pos.szi
    delta = sz if is_buy else -sz
    new = start + delta
    opposite = start != 0 and (start > 0) != (delta > 0)
    closed = min(abs(delta), abs(start)) if opposite else ZERO
    realized = closed * (px - pos.entry_px) * (1 if start > 0 else -1) if closed else ZERO
    fee = usd(px * sz * fee_rate)

    if not lev.cross and closed:
        released = pos.isolated_margin * closed / abs(start)
        pos.isolated_margin -= released
        acct.perp_usdc += released
    acct.perp_usdc += realized - fee

    if new == 0:
        pos.entry_px = ZERO
    elif start == 0 or not opposite:
        pos.entry_px = (abs(start) * pos.entry_px + abs(delta) * px) / abs(new)
    elif (new > 0) != (start > 0):
        pos.entry_px = px  # flipped: what remains was opened at this fill

    flipped = start != 0 and new != 0 and (new > 0) != (start > 0)
    opened = abs(new) if flipped else max(abs(new) - abs(start), ZERO)
    if not lev.cross and opened:
        lock = opened * px / lev.value
        pos.isolated_margin += lock
        acct.perp_usdc -= lock
    if start == 0 or flipped:
        pos.cum_funding_open = ZERO
    pos.cum_funding_change = ZERO
    pos.szi = new
    if new == 0 and not lev.cross:
        acct.perp_usdc += pos.isolated_margin
        pos.isolated_margin = ZERO

    tid = state.next_tid
    state.next_tid += 1
    fill = FillRec(
        coin=spec.name,
        px=px,
        sz=sz,
        side="B" if is_buy else "A",
        time=time_ms,
        start_position=start,
        dir=direction(start, delta),
        closed_pnl=realized,
        hash=tx_hash("fill", oid, tid),
        oid=oid,
        crossed=crossed,
        fee=fee,
        tid=tid,
        cloid=cloid,
        liquidation_mark_px=liquidation_mark,
    )
    acct.fills.append(fill)
    return fill


def pay_funding(
    acct: AccountRec,
    *,
    asset: int,
    spec: AssetSpec,
    lev: LeverageRec,
    oracle: Decimal,
    rate: Decimal,
    time_ms: int,
) -> FundingRec | None:
    """Settle one hour: ``size x oracle x rate``, longs pay shorts when the rate is positive."""
    pos = acct.positions.get(asset)
    if pos is None or pos.szi == 0:
        return None
    received = usd(-pos.szi * oracle * rate)
    if lev.cross:
        acct.perp_usdc += received
    else:
        pos.isolated_margin += received
    pos.cum_funding_all -= received
    pos.cum_funding_open -= received
    pos.cum_funding_change -= received
    rec = FundingRec(
        time=time_ms,
        coin=spec.name,
        usdc=received,
        szi=pos.szi,
        rate=rate,
        hash=tx_hash("funding", spec.name, time_ms),
    )
    acct.funding.append(rec)
    return rec
