"""Margin arithmetic of one account, at given marks.

- Cross value = cross collateral + unrealised PnL of cross positions; an isolated position's
  equity = its locked margin + its unrealised PnL; account value = both together.
- Initial margin = notional / leverage; maintenance = notional / (2 x max leverage).
- Liquidation: cross when cross value < cross maintenance; isolated per position.

Liquidation prices solve ``equity(P) = maintenance(P)`` for one position with every other
position held at its current mark (the venue's convention):
``P = (szi x entry - A) / (szi - |szi| x mmr)`` where ``A`` is the collateral backing the
position net of everything else's unrealised PnL and maintenance.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from venues.emulators.hyperliquid.config import AssetSpec
from venues.emulators.hyperliquid.state import AccountRec, LeverageRec, PositionRec

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Prices:
    at_ms: int
    mark: dict[int, Decimal]
    oracle: dict[int, Decimal]
    funding_rate: Decimal
    premium: Decimal


def leverage_of(acct: AccountRec, asset: int, default: int) -> LeverageRec:
    return acct.leverage.get(asset) or LeverageRec(cross=True, value=default)


def upnl(pos: PositionRec, mark: Decimal) -> Decimal:
    return pos.szi * (mark - pos.entry_px)


def open_positions(acct: AccountRec) -> list[tuple[int, PositionRec]]:
    return [(a, p) for a, p in sorted(acct.positions.items()) if p.szi != 0]


def is_cross(acct: AccountRec, asset: int, default: int) -> bool:
    return leverage_of(acct, asset, default).cross


def cross_value(acct: AccountRec, px: Prices, default: int) -> Decimal:
    return acct.perp_usdc + sum(
        (upnl(p, px.mark[a]) for a, p in open_positions(acct) if is_cross(acct, a, default)),
        ZERO,
    )


def isolated_equity(pos: PositionRec, mark: Decimal) -> Decimal:
    return pos.isolated_margin + upnl(pos, mark)


def account_value(acct: AccountRec, px: Prices, default: int) -> Decimal:
    iso = sum(
        (
            isolated_equity(p, px.mark[a])
            for a, p in open_positions(acct)
            if not is_cross(acct, a, default)
        ),
        ZERO,
    )
    return cross_value(acct, px, default) + iso


def initial_margin(pos: PositionRec, lev: int, mark: Decimal) -> Decimal:
    return abs(pos.szi) * mark / lev


def maintenance(pos: PositionRec, spec: AssetSpec, mark: Decimal) -> Decimal:
    return abs(pos.szi) * mark * spec.maintenance_rate


def margin_used(
    acct: AccountRec, asset: int, pos: PositionRec, px: Prices, default: int
) -> Decimal:
    lev = leverage_of(acct, asset, default)
    if lev.cross:
        return initial_margin(pos, lev.value, px.mark[asset])
    return isolated_equity(pos, px.mark[asset])


def cross_initial_used(acct: AccountRec, px: Prices, default: int) -> Decimal:
    return sum(
        (
            initial_margin(p, leverage_of(acct, a, default).value, px.mark[a])
            for a, p in open_positions(acct)
            if is_cross(acct, a, default)
        ),
        ZERO,
    )


def cross_maintenance(
    acct: AccountRec, px: Prices, universe: tuple[AssetSpec, ...], default: int
) -> Decimal:
    return sum(
        (
            maintenance(p, universe[a], px.mark[a])
            for a, p in open_positions(acct)
            if is_cross(acct, a, default)
        ),
        ZERO,
    )


def open_order_margin(acct: AccountRec, default: int, *, cross: bool | None = None) -> Decimal:
    """Margin reserved by resting orders that could add exposure."""
    total = ZERO
    for o in acct.orders.values():
        if o.status != "open" or o.reduce_only:
            continue
        lev = leverage_of(acct, o.asset, default)
        if cross is not None and lev.cross != cross:
            continue
        total += o.sz * o.limit_px / lev.value
    return total


def available_cross(acct: AccountRec, px: Prices, default: int) -> Decimal:
    """What a new cross order (or an isolated allocation) may still use."""
    return (
        cross_value(acct, px, default)
        - cross_initial_used(acct, px, default)
        - open_order_margin(acct, default)
    )


def withdrawable(acct: AccountRec, px: Prices, default: int) -> Decimal:
    return max(available_cross(acct, px, default), ZERO)


def liquidation_price(
    acct: AccountRec,
    asset: int,
    px: Prices,
    universe: tuple[AssetSpec, ...],
    default: int,
) -> Decimal | None:
    pos = acct.positions.get(asset)
    if pos is None or pos.szi == 0:
        return None
    spec = universe[asset]
    mmr = spec.maintenance_rate
    if is_cross(acct, asset, default):
        others = [
            (a, p) for a, p in open_positions(acct) if a != asset and is_cross(acct, a, default)
        ]
        backing = (
            acct.perp_usdc
            + sum((upnl(p, px.mark[a]) for a, p in others), ZERO)
            - sum((maintenance(p, universe[a], px.mark[a]) for a, p in others), ZERO)
        )
    else:
        backing = pos.isolated_margin
    denominator = pos.szi - abs(pos.szi) * mmr
    price = (pos.szi * pos.entry_px - backing) / denominator
    return price if price > 0 else None
