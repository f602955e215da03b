"""Entry: may this intent open its position now, and how large?

``evaluate_entry`` runs the checks cheapest first and returns the first refusal, or ``Enter``
with the chosen protocol and both legs' sizes:

1. expiry, emergency stop, pause, circuit breaker, venue outage, leverage range;
2. price consensus (carried by the snapshot);
3. funding history: at least ``min_history_hours`` settlements, the latest one fresh;
4. the intent's market criteria: current (and predicted) funding pays the short, funding
   volatility at most the maximum, the LST at peg (within the warning levels), the asset's
   price at most ``max_entry_price``;
5. the best eligible lending protocol (active, leverage allowed, health above the minimum at
   entry, borrow capacity), then minimum funding and minimum net APY;
6. sizing on both venues' lots within the balance, position and exposure limits.

``execute_immediately`` skips the carry criteria of step 4 and 5 (funding sign, volatility,
minimum funding and APY) but never a risk check.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from models.domain import Asset, Protocol
from models.risk import RiskParams
from strategy.breakers import EntryGates, gate_entry
from strategy.carry import Opportunity, rank_opportunities
from strategy.decisions import Denied, DenyReason, Enter
from strategy.lots import DEFAULT_LOTS, LotRules
from strategy.market import MarketSnapshot
from strategy.risk import check_lst_peg
from strategy.sizing import LegSizes, SizingRequest, size_position
from strategy.units import ZERO


class IntentCriteria(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    asset: Asset
    leverage: Decimal
    capital_usd: Decimal = Field(gt=0)
    min_net_apy: Decimal | None = None
    min_funding_rate: Decimal | None = None
    """Hourly Hyperliquid rate the current settlement must reach."""
    max_funding_volatility: Decimal | None = None
    """Defaults to ``params.funding.max_volatility``."""
    max_entry_price: Decimal | None = None
    """USD price of one token of ``asset``."""
    expires_at: datetime | None = None
    protocol: Protocol | None = None
    """Force one lending protocol; ``None`` picks the best."""
    execute_immediately: bool = False


class AccountState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    asgard_available_usd: Decimal = Field(ge=0)
    hyperliquid_available_usd: Decimal = Field(ge=0)
    open_exposure_usd: Decimal = Field(default=ZERO, ge=0)


def _deny(reason: DenyReason, detail: str = "") -> Denied:
    return Denied(reason=reason, detail=detail)


def _market_criteria(
    intent: IntentCriteria, snapshot: MarketSnapshot, params: RiskParams
) -> Denied | None:
    f = snapshot.funding
    if intent.execute_immediately:
        return None
    if f.current is None or f.current <= 0:
        return _deny(DenyReason.FUNDING_NOT_POSITIVE, f"current {f.current}")
    if params.entry.require_positive_predicted and f.predicted is not None and f.predicted <= 0:
        return _deny(DenyReason.PREDICTED_FUNDING_NOT_POSITIVE, f"predicted {f.predicted}")
    max_vol = (
        intent.max_funding_volatility
        if intent.max_funding_volatility is not None
        else params.funding.max_volatility
    )
    if f.volatility > max_vol:
        return _deny(DenyReason.FUNDING_TOO_VOLATILE, f"{f.volatility:.4f} > {max_vol}")
    if intent.min_funding_rate is not None and f.current < intent.min_funding_rate:
        return _deny(DenyReason.FUNDING_BELOW_MIN, f"{f.current} < {intent.min_funding_rate}")
    return None


def _pick(
    intent: IntentCriteria, snapshot: MarketSnapshot, params: RiskParams
) -> Opportunity | Denied:
    ranked = rank_opportunities(
        snapshot, intent.leverage, params, assets=(intent.asset,), capital_usd=intent.capital_usd
    )
    if intent.protocol is not None:
        ranked = tuple(o for o in ranked if o.protocol.protocol == intent.protocol)
    if not ranked:
        return _deny(DenyReason.NO_PROTOCOL, "no lending protocol quotes this asset")
    best = ranked[0]
    if best.refusal is not None:
        return _deny(best.refusal, f"best protocol {best.protocol.protocol.label}")
    if intent.execute_immediately:
        return best
    floor = intent.min_net_apy
    if floor is None and intent.min_funding_rate is None:
        floor = params.entry.min_net_apy
    if floor is not None and best.carry.net_apy < floor:
        return _deny(DenyReason.NET_APY_BELOW_MIN, f"{best.carry.net_apy:.4f} < {floor}")
    return best


def evaluate_entry(
    intent: IntentCriteria,
    snapshot: MarketSnapshot,
    account: AccountState,
    params: RiskParams,
    now: datetime,
    *,
    gates: EntryGates | None = None,
    lots: LotRules = DEFAULT_LOTS,
) -> Enter | Denied:
    if intent.expires_at is not None and now >= intent.expires_at:
        return _deny(DenyReason.INTENT_EXPIRED)
    if gates is not None and (gated := gate_entry(gates)) is not None:
        return gated
    if snapshot.outages:
        names = ", ".join(sorted(v.value for v in snapshot.outages))
        return _deny(DenyReason.VENUE_OUTAGE, names)
    if not params.leverage.min <= intent.leverage <= params.leverage.max:
        return _deny(DenyReason.LEVERAGE_OUT_OF_RANGE, str(intent.leverage))
    if snapshot.price_refusal is not None:
        return _deny(snapshot.price_refusal)
    f = snapshot.funding
    if f.hours < params.funding.min_history_hours:
        return _deny(
            DenyReason.INSUFFICIENT_HISTORY,
            f"{f.hours} h of funding history, {params.funding.min_history_hours} h required",
        )
    if f.latest_time is None or (now - f.latest_time).total_seconds() > (
        params.entry.max_funding_age_seconds
    ):
        return _deny(DenyReason.FUNDING_STALE, f"latest settlement {f.latest_time}")
    if (denied := _market_criteria(intent, snapshot, params)) is not None:
        return denied
    if intent.asset not in snapshot.assets and intent.asset is not Asset.SOL:
        return _deny(DenyReason.NO_PROTOCOL, f"no quote for {intent.asset}")
    quote = snapshot.quote(intent.asset)
    if intent.asset.is_lst and check_lst_peg(quote, params).level is not None:
        return _deny(DenyReason.LST_DEPEG, f"deviation {quote.peg_deviation:.4%}")
    asset_price = snapshot.asset_price_usd(intent.asset)
    if intent.max_entry_price is not None and asset_price > intent.max_entry_price:
        return _deny(DenyReason.PRICE_ABOVE_MAX, f"{asset_price} > {intent.max_entry_price}")
    picked = _pick(intent, snapshot, params)
    if isinstance(picked, Denied):
        return picked
    sizes = size_position(
        SizingRequest(
            asset=intent.asset,
            capital_usd=intent.capital_usd,
            leverage=intent.leverage,
            sol_price=snapshot.sol_price,
            perp_price=snapshot.perp_mark,
            asset_price_sol=quote.market_price_sol,
            asgard_available_usd=account.asgard_available_usd,
            hyperliquid_available_usd=account.hyperliquid_available_usd,
            open_exposure_usd=account.open_exposure_usd,
        ),
        params,
        lots,
    )
    if isinstance(sizes, Denied):
        return sizes
    return _enter(intent, picked, sizes, asset_price, snapshot, params)


def _enter(
    intent: IntentCriteria,
    picked: Opportunity,
    sizes: LegSizes,
    asset_price: Decimal,
    snapshot: MarketSnapshot,
    params: RiskParams,
) -> Enter:
    return Enter(
        asset=intent.asset,
        protocol=picked.protocol.protocol,
        leverage=intent.leverage,
        net_apy=picked.carry.net_apy,
        long_deposit=sizes.long_deposit,
        long_size=sizes.long_size,
        short_size=sizes.short_size,
        margin_per_leg_usd=sizes.margin_per_leg_usd,
        hyperliquid_leverage=sizes.hyperliquid_leverage,
        expected_asset_price_usd=asset_price,
        expected_perp_price=snapshot.perp_mark,
        max_slippage_bps=params.slippage.entry_bps,
    )
