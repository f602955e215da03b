"""Which lending protocol to open on: the best long-leg carry among those that can take the
size. Pure, small and swappable: the strategy's full carry model (fees, funding, hold time)
lives in ``strategy/`` and can replace ``choose_route`` by producing the same ``RouteChoice``.

Carry of the long leg per unit of the capital posted on it, at leverage L (decimal APYs):

    carry = L * (staking_apy + lend_apy) - (L - 1) * borrow_apy

Staking is the same on every protocol for one asset, so it never changes the choice; pass it
to get a carry figure that can be compared across assets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from venues.asgard.models import ProtocolRates


@dataclass(frozen=True, slots=True)
class RouteChoice:
    rates: ProtocolRates
    carry_apy: Decimal
    """Long-leg carry on the posted capital, decimal per year."""
    borrow_usd: Decimal


def long_leg_carry(
    rates: ProtocolRates, leverage: Decimal, staking_apy: Decimal = Decimal(0)
) -> Decimal:
    return leverage * (staking_apy + rates.lend_apy) - (leverage - 1) * rates.borrow_apy


def choose_route(
    sources: Iterable[ProtocolRates],
    *,
    leverage: Decimal,
    capital_usd: Decimal,
    staking_apy: Decimal = Decimal(0),
) -> RouteChoice | None:
    """The eligible source with the highest carry, or None if none is eligible.

    Eligible: active, ``leverage <= max_leverage``, and borrow capacity for
    ``(leverage - 1) * capital_usd``. Ties go to the larger capacity, then the lower protocol
    number, so the choice is deterministic.
    """
    if leverage < 1 or capital_usd <= 0:
        raise ValueError("leverage must be >= 1 and capital positive")
    borrow = (leverage - 1) * capital_usd
    best: tuple[tuple[Decimal, Decimal, int], RouteChoice] | None = None
    for s in sources:
        if not s.active or leverage > s.max_leverage or borrow > s.capacity_usd:
            continue
        carry = long_leg_carry(s, leverage, staking_apy)
        rank = (carry, s.capacity_usd, -int(s.protocol))
        if best is None or rank > best[0]:
            best = (rank, RouteChoice(rates=s, carry_apy=carry, borrow_usd=borrow))
    return None if best is None else best[1]
