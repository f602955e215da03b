"""Position rules: risk exits first, then the funding flip, then low carry, then rebalancing;
patience mode; the state carried between evaluations."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from models.domain import Asset, Venue
from models.risk import RiskParams
from strategy import (
    DenyReason,
    Exit,
    ExitReason,
    FundingStats,
    Hold,
    MonitorState,
    PositionEvaluation,
    PositionObservation,
    Rebalance,
    RebalanceReason,
    SignalCode,
    Urgency,
    evaluate_position,
)
from tests.unit.strategy.builders import NOW, PARAMS, position, quotes, snapshot, stats, terms

D = Decimal
CALM = ["0.00002"] * 48


def flipped(hours: int, *, predicted: str | None = None) -> FundingStats:
    return stats(CALM + ["-0.00003"] * hours, predicted=predicted)


def evaluate(
    obs: PositionObservation | None = None,
    *,
    state: MonitorState | None = None,
    params: RiskParams = PARAMS,
    now=NOW,
    **snap: object,
) -> PositionEvaluation:
    return evaluate_position(
        obs or position(),
        snapshot(**snap),  # type: ignore[arg-type]
        state or MonitorState(),
        params,
        now,
    )


def with_health(hf: str, **kw: object) -> PositionObservation:
    return position().model_copy(update={"health_factor": D(hf), **kw})


def with_margin(mf: str) -> PositionObservation:
    # short notional 15,000 at 150: equity = mf x 15,000
    return position().model_copy(update={"short_equity_usd": D(mf) * D(15000)})


def test_a_fresh_3x_position_holds_quietly() -> None:
    ev = evaluate()
    assert ev.decision == Hold()
    assert ev.health_factor == D(1) - D(10000) / D("13500")
    assert ev.margin_fraction == D(5000) / D(15000)
    assert ev.delta_drift == 0
    assert ev.carry_apy is not None and ev.carry_apy > 0


# ---- priority --------------------------------------------------------------------------------


def test_critical_health_beats_everything_and_may_exit_at_any_price() -> None:
    ev = evaluate(with_health("0.05"), funding=flipped(10))
    assert isinstance(ev.decision, Exit)
    assert (ev.decision.reason, ev.decision.urgency) == (
        ExitReason.HEALTH_CRITICAL,
        Urgency.CRITICAL,
    )
    assert ev.decision.max_slippage_bps is None and not ev.decision.passive_ok


def test_a_critical_margin_beats_an_emergency_health() -> None:
    obs = with_margin("0.05").model_copy(update={"health_factor": D("0.10")})
    ev = evaluate(obs)
    assert isinstance(ev.decision, Exit) and ev.decision.reason is ExitReason.MARGIN_CRITICAL


def test_emergency_health_is_urgent_within_the_exit_slippage_limit() -> None:
    ev = evaluate(with_health("0.10"))
    assert isinstance(ev.decision, Exit)
    assert (ev.decision.reason, ev.decision.urgency) == (
        ExitReason.HEALTH_EMERGENCY,
        Urgency.URGENT,
    )
    assert ev.decision.max_slippage_bps == 100


def test_margin_at_its_minimum_is_an_urgent_exit() -> None:
    ev = evaluate(with_margin("0.10"))
    assert isinstance(ev.decision, Exit) and ev.decision.reason is ExitReason.MARGIN_EMERGENCY


def test_a_critical_lst_depeg_is_an_urgent_exit_after_the_leg_rules() -> None:
    obs = position(asset=Asset.JITOSOL, asset_price_sol="1.2").model_copy(
        update={"health_factor": D("0.3")}
    )
    ev = evaluate(obs, assets=quotes(jito_market="1.176"))  # 2% below 1.2
    assert isinstance(ev.decision, Exit) and ev.decision.reason is ExitReason.LST_DEPEG
    ev = evaluate(obs.model_copy(update={"health_factor": D("0.1")}), assets=quotes("1.176"))
    assert isinstance(ev.decision, Exit) and ev.decision.reason is ExitReason.HEALTH_EMERGENCY


def test_a_funding_flip_beats_low_carry_and_rebalancing() -> None:
    low = MonitorState(carry_low_since=NOW - timedelta(hours=5))
    ev = evaluate(with_health("0.19"), funding=flipped(4), state=low)
    assert isinstance(ev.decision, Exit) and ev.decision.reason is ExitReason.FUNDING_FLIP
    assert ev.decision.urgency is Urgency.NORMAL and ev.decision.passive_ok


def test_low_carry_beats_rebalancing() -> None:
    low = MonitorState(carry_low_since=NOW - timedelta(hours=4))
    expensive = (terms(borrow="0.9"),)
    ev = evaluate(with_health("0.19"), protocols=expensive, state=low)
    assert isinstance(ev.decision, Exit) and ev.decision.reason is ExitReason.CARRY_BELOW_THRESHOLD


# ---- liquidation proximity ----------------------------------------------------------------


def test_near_liquidation_must_be_sustained_before_an_exit() -> None:
    near = with_health("0.115")  # within 20% of the 0.10 emergency level (and below min)
    first = evaluate(near)
    assert isinstance(first.decision, Rebalance)  # meanwhile, restore the margin
    assert first.state.long_near_since == NOW
    secs = PARAMS.liquidation_proximity.sustained_seconds
    early = evaluate(near, state=first.state, now=NOW + timedelta(seconds=secs - 1))
    assert isinstance(early.decision, Rebalance)
    due = evaluate(near, state=first.state, now=NOW + timedelta(seconds=secs))
    assert isinstance(due.decision, Exit)
    assert (due.decision.reason, due.decision.urgency) == (
        ExitReason.LIQUIDATION_PROXIMITY,
        Urgency.URGENT,
    )


def test_recovering_from_proximity_resets_the_clock() -> None:
    first = evaluate(with_health("0.115"))
    recovered = evaluate(with_health("0.3"), state=first.state, now=NOW + timedelta(seconds=10))
    assert recovered.state.long_near_since is None
    again = evaluate(with_health("0.115"), state=recovered.state, now=NOW + timedelta(seconds=30))
    assert again.state.long_near_since == NOW + timedelta(seconds=30)
    assert not isinstance(again.decision, Exit)


def test_the_short_has_its_own_proximity_clock() -> None:
    first = evaluate(with_margin("0.115"))
    assert first.state.short_near_since == NOW and first.state.long_near_since is None
    due = evaluate(with_margin("0.115"), state=first.state, now=NOW + timedelta(seconds=20))
    assert (
        isinstance(due.decision, Exit) and due.decision.reason is ExitReason.LIQUIDATION_PROXIMITY
    )


# ---- patience mode ------------------------------------------------------------------------


def test_a_flip_shorter_than_the_patience_holds_with_a_warning() -> None:
    ev = evaluate(funding=flipped(PARAMS.exit.patience_hours - 1))
    assert isinstance(ev.decision, Hold)
    assert ev.decision.alerts[0].code is SignalCode.FUNDING_ADVERSE


def test_a_flip_that_persisted_the_patience_exits_normally() -> None:
    ev = evaluate(funding=flipped(PARAMS.exit.patience_hours))
    assert isinstance(ev.decision, Exit) and ev.decision.reason is ExitReason.FUNDING_FLIP


def test_predicted_funding_agreeing_for_the_patience_exits_before_the_flip_persisted() -> None:
    patience = timedelta(hours=PARAMS.exit.patience_hours)
    agreed = MonitorState(predicted_adverse_since=NOW - patience)
    ev = evaluate(funding=flipped(1, predicted="-0.00002"), state=agreed)
    assert isinstance(ev.decision, Exit) and ev.decision.reason is ExitReason.FUNDING_FLIP
    not_yet = MonitorState(predicted_adverse_since=NOW - patience + timedelta(seconds=1))
    ev = evaluate(funding=flipped(1, predicted="-0.00002"), state=not_yet)
    assert isinstance(ev.decision, Hold)


def test_predicted_funding_alone_without_a_flip_does_not_exit() -> None:
    agreed = MonitorState(predicted_adverse_since=NOW - timedelta(days=1))
    ev = evaluate(funding=stats(CALM, predicted="-0.00002"), state=agreed)
    assert isinstance(ev.decision, Hold)
    assert ev.state.predicted_adverse_since == NOW - timedelta(days=1)


def test_a_recovered_prediction_clears_its_clock() -> None:
    agreed = MonitorState(predicted_adverse_since=NOW - timedelta(hours=10))
    ev = evaluate(funding=flipped(1, predicted="0.00002"), state=agreed)
    assert isinstance(ev.decision, Hold) and ev.state.predicted_adverse_since is None


def test_patience_zero_exits_on_the_first_adverse_settlement() -> None:
    impatient = PARAMS.model_copy(
        update={"exit": PARAMS.exit.model_copy(update={"patience_hours": 0})}
    )
    ev = evaluate(funding=flipped(1), params=impatient)
    assert isinstance(ev.decision, Exit) and ev.decision.reason is ExitReason.FUNDING_FLIP


def test_low_carry_must_persist_for_the_patience() -> None:
    expensive = (terms(borrow="0.9"),)
    first = evaluate(protocols=expensive)
    assert isinstance(first.decision, Hold) and first.state.carry_low_since == NOW
    assert first.decision.alerts[0].code is SignalCode.CARRY_LOW
    patience = timedelta(hours=PARAMS.exit.patience_hours)
    early = evaluate(
        protocols=expensive, state=first.state, now=NOW + patience - timedelta(seconds=1)
    )
    assert isinstance(early.decision, Hold)
    due = evaluate(protocols=expensive, state=first.state, now=NOW + patience)
    assert (
        isinstance(due.decision, Exit) and due.decision.reason is ExitReason.CARRY_BELOW_THRESHOLD
    )


# ---- rebalancing, holds --------------------------------------------------------------------


def test_a_fall_below_the_minimum_health_rebalances_margin_towards_asgard() -> None:
    # SOL 150 -> 138: the long's equity fell to 3,800, the short's rose to 6,200
    obs = position().model_copy(update={"short_equity_usd": D(6200)})
    ev = evaluate(obs, sol="138")
    assert ev.health_factor < PARAMS.asgard_health.min
    assert isinstance(ev.decision, Rebalance)
    assert ev.decision.reason is RebalanceReason.HEALTH_BELOW_MIN
    assert ev.decision.transfer_usd == D(1200)
    assert ev.decision.target_short_size == D("100.00")


def test_a_rise_below_the_margin_rebalance_level_moves_margin_to_hyperliquid() -> None:
    obs = position().model_copy(update={"short_equity_usd": D(2600)})  # SOL 150 -> 174
    ev = evaluate(obs, sol="174")
    assert isinstance(ev.decision, Rebalance)
    assert ev.decision.reason is RebalanceReason.MARGIN_BELOW_REBALANCE
    assert ev.decision.transfer_usd < 0


def test_critical_delta_drift_resizes_the_short() -> None:
    obs = position().model_copy(update={"short_size": D(98)})
    ev = evaluate(obs)
    assert isinstance(ev.decision, Rebalance) and ev.decision.reason is RebalanceReason.DELTA_DRIFT
    assert ev.decision.target_short_size == D("100.00")


def test_near_liquidation_above_the_rebalance_level_only_warns() -> None:
    lenient = PARAMS.model_copy(
        update={
            "liquidation_proximity": PARAMS.liquidation_proximity.model_copy(
                update={"threshold": D("1.5")}  # near below 0.25, rebalance below 0.20
            )
        }
    )
    ev = evaluate(with_health("0.22"), params=lenient)
    assert isinstance(ev.decision, Hold)
    assert ev.decision.alerts[0].code is SignalCode.LIQUIDATION_PROXIMITY


def test_warnings_ride_on_a_hold() -> None:
    obs = position().model_copy(update={"short_size": D("99.4")})  # 0.6% drift
    ev = evaluate(obs, outages=frozenset({Venue.ASGARD}))
    assert isinstance(ev.decision, Hold)
    assert [a.code for a in ev.decision.alerts] == [SignalCode.DELTA_DRIFT, SignalCode.VENUE_OUTAGE]


def test_prices_nobody_agrees_on_suppress_discretionary_exits_but_not_risk_exits() -> None:
    snap = snapshot(funding=flipped(10)).model_copy(
        update={"price_refusal": DenyReason.PRICE_DEVIATION}
    )
    ev = evaluate_position(position(), snap, MonitorState(), PARAMS, NOW)
    assert isinstance(ev.decision, Hold)
    assert ev.decision.alerts[0].code is SignalCode.PRICE_UNRELIABLE
    ev = evaluate_position(with_health("0.04"), snap, MonitorState(), PARAMS, NOW)
    assert isinstance(ev.decision, Exit) and ev.decision.reason is ExitReason.HEALTH_CRITICAL


def test_a_stale_observation_is_not_acted_on_and_keeps_the_state() -> None:
    state = MonitorState(long_near_since=NOW - timedelta(minutes=1))
    old = with_health(
        "0.01", observed_at=NOW - timedelta(seconds=PARAMS.quotes.max_age_seconds + 1)
    )
    ev = evaluate(old, state=state)
    assert isinstance(ev.decision, Hold)
    assert ev.decision.alerts[0].code is SignalCode.OBSERVATION_STALE
    assert ev.state == state
