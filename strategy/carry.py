"""Net carry of the equal-leverage basis trade, and the ranking of opportunities.

On capital C at leverage L, each leg gets C/2 of margin and L·C/2 of notional. As APYs on C
(DESIGN.md section 1):

    funding = ½·L·short_funding_apy      staking = ½·L·staking_apy
    lending = ½·L·lend_apy               borrow  = -½·(L-1)·borrow_apy
    gross   = funding + staking + lending + borrow
    net     = gross - round-trip costs amortised over the expected hold

Round-trip costs as a fraction of C: each leg trades its notional (L/2 of C) twice, paying the
venue fee and the expected slippage each time, plus the fixed costs of an open and a close.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from models.domain import Asset
from models.risk import RiskParams, TradingCosts
from strategy._construct import trusted
from strategy.decisions import DenyReason
from strategy.market import MarketSnapshot, ProtocolTerms
from strategy.units import HALF, HOURS_PER_YEAR_D, ONE, TWO, ZERO, bps


class CarryBreakdown(BaseModel):
    """Carry APYs on the capital (signed: costs are negative)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    leverage: Decimal
    funding_apy: Decimal
    staking_apy: Decimal
    lending_apy: Decimal
    borrow_apy: Decimal
    gross_apy: Decimal
    cost_apy: Decimal
    """Amortised round-trip costs (<= 0)."""
    net_apy: Decimal


def gross_carry_apy(
    leverage: Decimal,
    short_funding_apy: Decimal,
    staking_apy: Decimal,
    lend_apy: Decimal,
    borrow_apy: Decimal,
) -> Decimal:
    """``gross_carry(...).gross_apy`` without the breakdown (the monitor's hot path)."""
    return HALF * (
        leverage * (short_funding_apy + staking_apy + lend_apy) - (leverage - ONE) * borrow_apy
    )


def gross_carry(
    leverage: Decimal,
    *,
    short_funding_apy: Decimal,
    staking_apy: Decimal,
    lend_apy: Decimal,
    borrow_apy: Decimal,
) -> CarryBreakdown:
    """Carry before costs, per unit of capital."""
    half_l = HALF * leverage
    funding = half_l * short_funding_apy
    staking = half_l * staking_apy
    lending = half_l * lend_apy
    borrow = -HALF * (leverage - ONE) * borrow_apy
    gross = funding + staking + lending + borrow
    return trusted(
        CarryBreakdown,
        leverage=leverage,
        funding_apy=funding,
        staking_apy=staking,
        lending_apy=lending,
        borrow_apy=borrow,
        gross_apy=gross,
        cost_apy=ZERO,
        net_apy=gross,
    )


def round_trip_cost_fraction(
    leverage: Decimal, costs: TradingCosts, capital_usd: Decimal | None = None
) -> Decimal:
    """Open + close of both legs as a fraction of the capital (taker orders on both sides:
    the conservative case). Fixed costs count only when the capital is known."""
    per_leg_side = bps(costs.hyperliquid_taker_bps + costs.asgard_fee_bps) + TWO * bps(
        costs.expected_slippage_bps
    )
    variable = HALF * leverage * TWO * per_leg_side
    fixed = TWO * costs.fixed_cost_usd / capital_usd if capital_usd else ZERO
    return variable + fixed


def net_carry(
    leverage: Decimal,
    *,
    short_funding_apy: Decimal,
    staking_apy: Decimal,
    lend_apy: Decimal,
    borrow_apy: Decimal,
    costs: TradingCosts,
    expected_hold_hours: int,
    capital_usd: Decimal | None = None,
) -> CarryBreakdown:
    """Net carry APY on capital: gross carry minus round-trip costs amortised over
    ``expected_hold_hours``."""
    if expected_hold_hours <= 0:
        raise ValueError("expected_hold_hours must be positive")
    g = gross_carry(
        leverage,
        short_funding_apy=short_funding_apy,
        staking_apy=staking_apy,
        lend_apy=lend_apy,
        borrow_apy=borrow_apy,
    )
    cost = -round_trip_cost_fraction(leverage, costs, capital_usd) * (
        HOURS_PER_YEAR_D / Decimal(expected_hold_hours)
    )
    return g.model_copy(update={"cost_apy": cost, "net_apy": g.gross_apy + cost})


def entry_health(leverage: Decimal, liquidation_ltv: Decimal) -> Decimal:
    """Asgard health factor (fraction) of a fresh position: ``1 - (L-1)/(L·LT)``."""
    return ONE - (leverage - ONE) / (leverage * liquidation_ltv)


class Opportunity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    asset: Asset
    protocol: ProtocolTerms
    carry: CarryBreakdown
    entry_health: Decimal
    refusal: DenyReason | None = None
    """Why this pair cannot be entered now; ``None`` when it can."""

    @property
    def eligible(self) -> bool:
        return self.refusal is None


def _refusal(
    terms: ProtocolTerms,
    asset: Asset,
    leverage: Decimal,
    health: Decimal,
    params: RiskParams,
    borrow_usd: Decimal | None,
) -> DenyReason | None:
    if not terms.active or asset not in terms.lend_apy:
        return DenyReason.NO_PROTOCOL
    if leverage > terms.max_leverage:
        return DenyReason.LEVERAGE_OUT_OF_RANGE
    if health <= params.asgard_health.min:
        return DenyReason.HEALTH_BELOW_MIN_AT_ENTRY
    if (
        borrow_usd is not None
        and terms.borrow_capacity_usd is not None
        and borrow_usd > terms.borrow_capacity_usd
    ):
        return DenyReason.BORROW_CAPACITY
    return None


def rank_opportunities(
    snapshot: MarketSnapshot,
    leverage: Decimal,
    params: RiskParams,
    *,
    assets: Iterable[Asset] | None = None,
    capital_usd: Decimal | None = None,
) -> tuple[Opportunity, ...]:
    """Every (asset, protocol) pair, best first: eligible pairs by net APY, then the rest.

    The funding estimate is the lookback mean (robust to one-hour spikes); the entry rules
    separately require the current (and predicted) rate to pay the short."""
    funding_apy = snapshot.funding.mean_apy
    hold = params.entry.expected_hold_hours
    borrow_usd = HALF * capital_usd * (leverage - ONE) if capital_usd is not None else None
    chosen = list(assets) if assets is not None else [Asset.SOL, *sorted(snapshot.assets)]
    out: list[Opportunity] = []
    for asset in dict.fromkeys(chosen):
        if asset is not Asset.SOL and asset not in snapshot.assets:
            continue
        quote = snapshot.quote(asset)
        for terms in snapshot.protocols:
            carry = net_carry(
                leverage,
                short_funding_apy=funding_apy,
                staking_apy=quote.staking_apy,
                lend_apy=terms.lend_apy.get(asset, ZERO),
                borrow_apy=terms.borrow_apy,
                costs=params.costs,
                expected_hold_hours=hold,
                capital_usd=capital_usd,
            )
            health = entry_health(leverage, terms.liquidation_ltv)
            out.append(
                trusted(
                    Opportunity,
                    asset=asset,
                    protocol=terms,
                    carry=carry,
                    entry_health=health,
                    refusal=_refusal(terms, asset, leverage, health, params, borrow_usd),
                )
            )
    out.sort(key=lambda o: (o.refusal is not None, -o.carry.net_apy, o.asset, o.protocol.protocol))
    return tuple(out)
