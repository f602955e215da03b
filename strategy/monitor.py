"""Evaluating an open position: the risk rules, then the exit rules, then rebalancing.

``evaluate_position`` is what the monitor calls for every open position every cycle. It is
O(1): everything market-wide (funding statistics, the consensus price, LST quotes) comes
precomputed in the snapshot. What must survive between cycles — since when a leg has been
near liquidation, since when the predicted funding has been adverse — is the small
``MonitorState`` the caller passes in and stores from the result.

Priority (the first that applies decides):

1. critical risk (exit at any price): health factor <= critical, margin fraction <= critical;
2. urgent risk (market orders within the exit slippage limit): health <= emergency, margin
   fraction <= min, a leg near liquidation for ``sustained_seconds``, an LST depeg at the
   critical level;
3. funding flip (normal urgency, passive orders allowed): the short has paid for
   ``patience_hours`` consecutive settlements, or it pays now and the predicted funding has
   agreed for ``patience_hours``;
4. carry below threshold (normal): the position's gross carry at the latest settled funding
   has stayed below ``exit.min_carry_apy`` for ``patience_hours``;
5. rebalance: health <= min, margin fraction <= the rebalance level, delta drift >= critical;
6. hold, with the warnings observed.

When the price sources disagree (``snapshot.price_refusal``) only steps 1 and 2 act, on the
venues' own figures; nothing discretionary is traded on a price nobody agrees on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from models.domain import Asset, Protocol
from models.risk import RiskParams
from strategy._construct import trusted
from strategy.carry import gross_carry_apy
from strategy.decisions import (
    HOLD,
    Exit,
    ExitReason,
    Hold,
    PositionDecision,
    Rebalance,
    RebalanceReason,
    Signal,
    SignalCode,
    SignalLevel,
    Urgency,
)
from strategy.fills import delta_drift
from strategy.lots import DEFAULT_LOTS, LotRules
from strategy.market import AssetQuote, MarketSnapshot
from strategy.risk import (
    LegLevel,
    asgard_health,
    health_level,
    health_near_liquidation,
    lst_peg_level,
    margin_fraction,
    margin_level,
    margin_near_liquidation,
    since,
    sustained,
)
from strategy.sizing import hedge_size
from strategy.units import HALF, HOURS_PER_YEAR_D, ZERO

_W = SignalLevel.WARNING
_C = SignalLevel.CRITICAL


class PositionObservation(BaseModel):
    """One open position as the venues report it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    asset: Asset
    protocol: Protocol
    leverage: Decimal
    collateral_tokens: Decimal
    """Asgard collateral held, in tokens of ``asset``."""
    debt_usd: Decimal
    """Asgard USDC debt, interest included."""
    short_size: Decimal
    """Hyperliquid SOL short size, positive."""
    short_equity_usd: Decimal
    """The short's equity: margin + unrealised PnL + funding received."""
    health_factor: Decimal | None = None
    """As Asgard reports it, as a fraction; computed from the figures above when absent."""
    observed_at: datetime | None = None
    """When the venues were read; older than ``quotes.max_age_seconds``: not acted on."""


class MonitorState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    long_near_since: datetime | None = None
    short_near_since: datetime | None = None
    predicted_adverse_since: datetime | None = None
    carry_low_since: datetime | None = None


class PositionEvaluation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: PositionDecision
    state: MonitorState
    health_factor: Decimal
    margin_fraction: Decimal
    delta_drift: Decimal
    carry_apy: Decimal | None
    """Gross carry APY on capital at the latest settled funding (None without terms)."""

    @property
    def signals(self) -> tuple[Signal, ...]:
        d = self.decision
        return d.alerts if isinstance(d, Hold) else ()


def _exit(reason: ExitReason, urgency: Urgency, params: RiskParams) -> Exit:
    limit = None if urgency is Urgency.CRITICAL else params.slippage.exit_bps
    return Exit(reason=reason, urgency=urgency, max_slippage_bps=limit)


def _sig(
    code: SignalCode, level: SignalLevel, value: Decimal | None, threshold: Decimal | None = None
) -> Signal:
    return trusted(Signal, code=code, level=level, value=value, threshold=threshold)


def evaluate_position(
    obs: PositionObservation,
    snapshot: MarketSnapshot,
    state: MonitorState,
    params: RiskParams,
    now: datetime,
    *,
    lots: LotRules = DEFAULT_LOTS,
) -> PositionEvaluation:
    terms = snapshot.terms(obs.protocol)
    quote = snapshot.quote(obs.asset)
    if obs.health_factor is not None:
        hf = obs.health_factor
    elif terms is not None:
        hf = asgard_health(
            obs.collateral_tokens,
            snapshot.sol_price * quote.market_price_sol,
            obs.debt_usd,
            terms.liquidation_ltv,
        )
    else:
        raise ValueError(f"no terms for {obs.protocol.label} and no reported health factor")
    mf = margin_fraction(obs.short_equity_usd, obs.short_size, snapshot.perp_mark)
    drift = delta_drift(obs.collateral_tokens * quote.market_price_sol, obs.short_size)
    f = snapshot.funding
    carry: Decimal | None = None
    if terms is not None and f.current is not None:
        carry = gross_carry_apy(
            obs.leverage,
            f.current * HOURS_PER_YEAR_D,
            quote.staking_apy,
            terms.lend_apy.get(obs.asset, ZERO),
            terms.borrow_apy,
        )
    stale = obs.observed_at is not None and now - obs.observed_at > timedelta(
        seconds=params.quotes.max_age_seconds
    )
    if stale:
        decision: Hold | Rebalance | Exit = Hold(
            alerts=(_sig(SignalCode.OBSERVATION_STALE, _W, None),)
        )
        new_state = state
    else:
        decision, new_state = _decide(
            obs, snapshot, quote, state, params, now, lots, hf, mf, drift, carry
        )
    return trusted(
        PositionEvaluation,
        decision=decision,
        state=new_state,
        health_factor=hf,
        margin_fraction=mf,
        delta_drift=drift,
        carry_apy=carry,
    )


def _next_state(
    state: MonitorState,
    long_near: datetime | None,
    short_near: datetime | None,
    pred_since: datetime | None,
    carry_since: datetime | None,
) -> MonitorState:
    if (
        long_near == state.long_near_since
        and short_near == state.short_near_since
        and pred_since == state.predicted_adverse_since
        and carry_since == state.carry_low_since
    ):
        return state
    return trusted(
        MonitorState,
        long_near_since=long_near,
        short_near_since=short_near,
        predicted_adverse_since=pred_since,
        carry_low_since=carry_since,
    )


def _decide(
    obs: PositionObservation,
    snapshot: MarketSnapshot,
    quote: AssetQuote,
    state: MonitorState,
    params: RiskParams,
    now: datetime,
    lots: LotRules,
    hf: Decimal,
    mf: Decimal,
    drift: Decimal,
    carry: Decimal | None,
) -> tuple[Hold | Rebalance | Exit, MonitorState]:
    f = snapshot.funding
    patience = params.exit.patience_hours * 3600
    h_level = health_level(hf, params)
    m_level = margin_level(mf, params)
    long_near = since(state.long_near_since, health_near_liquidation(hf, params), now)
    short_near = since(state.short_near_since, margin_near_liquidation(mf, params), now)
    adverse_pred = f.predicted is not None and f.predicted < 0
    pred_since = since(state.predicted_adverse_since, adverse_pred, now)
    min_carry = params.exit.min_carry_apy
    carry_since = since(state.carry_low_since, carry is not None and carry < min_carry, now)
    new_state = _next_state(state, long_near, short_near, pred_since, carry_since)

    # 1. critical, 2. urgent
    exit_reason: ExitReason | None = None
    urgency = Urgency.URGENT
    secs = params.liquidation_proximity.sustained_seconds
    peg = lst_peg_level(quote, params) if obs.asset.is_lst else None
    if h_level is LegLevel.CRITICAL:
        exit_reason, urgency = ExitReason.HEALTH_CRITICAL, Urgency.CRITICAL
    elif m_level is LegLevel.CRITICAL:
        exit_reason, urgency = ExitReason.MARGIN_CRITICAL, Urgency.CRITICAL
    elif h_level is LegLevel.EMERGENCY:
        exit_reason = ExitReason.HEALTH_EMERGENCY
    elif m_level is LegLevel.EMERGENCY:
        exit_reason = ExitReason.MARGIN_EMERGENCY
    elif sustained(long_near, now, secs) or sustained(short_near, now, secs):
        exit_reason = ExitReason.LIQUIDATION_PROXIMITY
    elif peg is not None and peg[2] is _C:
        exit_reason = ExitReason.LST_DEPEG
    if exit_reason is not None:
        return _exit(exit_reason, urgency, params), new_state

    signals: list[Signal] = []
    if snapshot.price_refusal is not None:
        signals.append(_sig(SignalCode.PRICE_UNRELIABLE, _W, None))
        return Hold(alerts=tuple(signals)), new_state
    # 3. funding flip, after patience
    if f.adverse_hours >= 1:
        persisted = f.adverse_hours * 3600 >= patience
        agreed = adverse_pred and sustained(pred_since, now, patience)
        if persisted or agreed:
            return _exit(ExitReason.FUNDING_FLIP, Urgency.NORMAL, params), new_state
        signals.append(_sig(SignalCode.FUNDING_ADVERSE, _W, f.current))
    # 4. carry below the threshold, after patience
    if carry_since is not None:
        if sustained(carry_since, now, patience):
            return _exit(ExitReason.CARRY_BELOW_THRESHOLD, Urgency.NORMAL, params), new_state
        signals.append(_sig(SignalCode.CARRY_LOW, _W, carry, min_carry))
    # 5. rebalance
    reb: RebalanceReason | None = None
    if h_level is LegLevel.REBALANCE:
        reb = RebalanceReason.HEALTH_BELOW_MIN
    elif m_level is LegLevel.REBALANCE:
        reb = RebalanceReason.MARGIN_BELOW_REBALANCE
    elif drift >= params.delta_drift.critical:
        reb = RebalanceReason.DELTA_DRIFT
    if reb is not None:
        long_equity = obs.collateral_tokens * snapshot.sol_price * quote.market_price_sol
        target = HALF * (long_equity - obs.debt_usd + obs.short_equity_usd)
        rebalance = Rebalance(
            reason=reb,
            transfer_usd=obs.short_equity_usd - target,
            target_short_size=hedge_size(obs.collateral_tokens, quote.market_price_sol, lots),
        )
        return rebalance, new_state
    # 6. hold, with what is worth saying
    if long_near is not None:
        signals.append(_sig(SignalCode.LIQUIDATION_PROXIMITY, _W, hf))
    if short_near is not None:
        signals.append(_sig(SignalCode.LIQUIDATION_PROXIMITY, _W, mf))
    if peg is not None and peg[1] is not None and peg[2] is not None:
        signals.append(_sig(peg[1], peg[2], peg[0]))
    if drift >= params.delta_drift.warning:
        signals.append(_sig(SignalCode.DELTA_DRIFT, _W, drift))
    if snapshot.outages:
        signals.append(_sig(SignalCode.VENUE_OUTAGE, _W, None))
    return (Hold(alerts=tuple(signals)) if signals else HOLD), new_state
