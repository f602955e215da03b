"""Entry: every refusal in its order, and what an ``Enter`` carries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from models.domain import Asset, Protocol, Venue
from strategy import (
    AccountState,
    BreakerState,
    Denied,
    DenyReason,
    Enter,
    EntryGates,
    IntentCriteria,
    breaker_status,
    evaluate_entry,
)
from tests.unit.strategy.builders import NOW, PARAMS, quotes, snapshot, stats, terms

D = Decimal
RICH = AccountState(asgard_available_usd=D(100000), hyperliquid_available_usd=D(100000))


def intent(**kw: object) -> IntentCriteria:
    base: dict[str, object] = {"asset": Asset.SOL, "leverage": D(3), "capital_usd": D(10000)}
    base.update(kw)
    return IntentCriteria.model_validate(base)


def decide(i: IntentCriteria | None = None, **kw: object) -> Enter | Denied:
    gates = kw.pop("gates", None)
    account = kw.pop("account", RICH)
    snap = snapshot(**kw)  # type: ignore[arg-type]
    return evaluate_entry(i or intent(), snap, account, PARAMS, NOW, gates=gates)  # type: ignore[arg-type]


def refused(out: Enter | Denied) -> DenyReason:
    assert isinstance(out, Denied), out
    return out.reason


def test_a_calm_market_enters_on_the_best_protocol_with_both_legs_sized() -> None:
    out = decide(protocols=(terms(Protocol.MARGINFI), terms(Protocol.DRIFT, borrow="0.05")))
    assert isinstance(out, Enter)
    assert out.protocol is Protocol.DRIFT
    assert out.short_size == D("100.00")
    # 100 / 3 rounds down on the token's 9 decimals: the long never exceeds the short
    assert out.long_deposit == D("33.333333333") and out.long_size == D("99.999999999")
    assert out.margin_per_leg_usd == D(5000)
    assert out.hyperliquid_leverage == 3
    assert out.max_slippage_bps == PARAMS.slippage.entry_bps
    assert out.expected_asset_price_usd == D(150) and out.expected_perp_price == D(150)
    assert out.net_apy > PARAMS.entry.min_net_apy


def test_expiry_is_checked_first_and_is_inclusive() -> None:
    assert refused(decide(intent(expires_at=NOW), outages=frozenset({Venue.ASGARD}))) is (
        DenyReason.INTENT_EXPIRED
    )
    assert isinstance(decide(intent(expires_at=NOW + timedelta(seconds=1))), Enter)


def test_pause_and_breaker_gate_entries() -> None:
    tripped = breaker_status(BreakerState(failures=(NOW, NOW, NOW)), NOW, PARAMS)
    assert refused(decide(gates=EntryGates(breaker=tripped))) is DenyReason.CIRCUIT_BREAKER
    assert refused(decide(gates=EntryGates(paused=True))) is DenyReason.PAUSED


def test_no_entry_while_a_venue_is_down() -> None:
    assert refused(decide(outages=frozenset({Venue.HYPERLIQUID}))) is DenyReason.VENUE_OUTAGE


def test_leverage_outside_the_limits() -> None:
    assert refused(decide(intent(leverage=D("4.5")))) is DenyReason.LEVERAGE_OUT_OF_RANGE


def test_unreliable_prices_refuse_with_the_consensus_reason() -> None:
    snap = snapshot().model_copy(update={"price_refusal": DenyReason.QUOTE_STALE})
    out = evaluate_entry(intent(), snap, RICH, PARAMS, NOW)
    assert refused(out) is DenyReason.QUOTE_STALE


def test_minimum_history_is_inclusive() -> None:
    need = PARAMS.funding.min_history_hours
    assert (
        refused(decide(funding=stats(["0.00002"] * (need - 1)))) is DenyReason.INSUFFICIENT_HISTORY
    )
    assert isinstance(decide(funding=stats(["0.00002"] * need)), Enter)


def test_stale_funding_history_is_refused() -> None:
    old = stats(["0.00002"] * 48, as_of=NOW - timedelta(hours=3))
    assert refused(decide(funding=old)) is DenyReason.FUNDING_STALE


@pytest.mark.parametrize(
    ("rates", "predicted", "reason"),
    [
        (["0.00002"] * 47 + ["0"], None, DenyReason.FUNDING_NOT_POSITIVE),
        (["0.00002"] * 48, "-0.000001", DenyReason.PREDICTED_FUNDING_NOT_POSITIVE),
        (["0.00001", "0.00005"] * 24, None, DenyReason.FUNDING_TOO_VOLATILE),
    ],
)
def test_funding_criteria(rates: list[str], predicted: str | None, reason: DenyReason) -> None:
    assert refused(decide(funding=stats(rates, predicted=predicted))) is reason


def test_volatility_at_the_maximum_is_accepted() -> None:
    f = stats(["0.00001", "0.00003"] * 24)  # std 1e-5 / mean 2e-5 = 0.5 exactly
    assert f.volatility == D("0.5")
    assert isinstance(decide(funding=f), Enter)
    assert refused(decide(intent(max_funding_volatility=D("0.49")), funding=f)) is (
        DenyReason.FUNDING_TOO_VOLATILE
    )


def test_minimum_funding_rate_is_inclusive() -> None:
    assert isinstance(decide(intent(min_funding_rate=D("0.00002"))), Enter)
    out = decide(intent(min_funding_rate=D("0.0000201")))
    assert refused(out) is DenyReason.FUNDING_BELOW_MIN


def test_minimum_net_apy() -> None:
    assert refused(decide(intent(min_net_apy=D("0.9")))) is DenyReason.NET_APY_BELOW_MIN
    # without either minimum, the default floor applies
    poor = (terms(borrow="0.5"),)
    assert refused(decide(protocols=poor)) is DenyReason.NET_APY_BELOW_MIN


def test_a_depegged_lst_is_not_entered_at_the_warning_level() -> None:
    out = decide(intent(asset=Asset.JITOSOL), assets=quotes(jito_market="1.188"))  # -1%
    assert refused(out) is DenyReason.LST_DEPEG
    assert isinstance(decide(intent(asset=Asset.JITOSOL)), Enter)


def test_max_entry_price_applies_to_the_assets_usd_price() -> None:
    assert isinstance(decide(intent(max_entry_price=D(150))), Enter)
    assert refused(decide(intent(max_entry_price=D("149.99")))) is DenyReason.PRICE_ABOVE_MAX
    # jitoSOL at 1.2 SOL is $180
    out = decide(intent(asset=Asset.JITOSOL, max_entry_price=D(170)))
    assert refused(out) is DenyReason.PRICE_ABOVE_MAX


def test_four_x_is_refused_for_health_at_entry() -> None:
    assert refused(decide(intent(leverage=D(4)))) is DenyReason.HEALTH_BELOW_MIN_AT_ENTRY


def test_a_forced_protocol_is_used_or_refused() -> None:
    both = (terms(Protocol.MARGINFI), terms(Protocol.KAMINO, active=False))
    out = decide(intent(protocol=Protocol.MARGINFI), protocols=both)
    assert isinstance(out, Enter) and out.protocol is Protocol.MARGINFI
    assert (
        refused(decide(intent(protocol=Protocol.KAMINO), protocols=both)) is DenyReason.NO_PROTOCOL
    )
    assert (
        refused(decide(intent(protocol=Protocol.DRIFT), protocols=both)) is DenyReason.NO_PROTOCOL
    )


def test_sizing_refusals_come_last() -> None:
    poor = AccountState(asgard_available_usd=D(10), hyperliquid_available_usd=D(10))
    assert refused(decide(account=poor)) is DenyReason.INSUFFICIENT_BALANCE


def test_execute_immediately_skips_the_carry_criteria_but_not_the_risk_checks() -> None:
    negative = stats(["-0.00002"] * 48)
    out = decide(intent(execute_immediately=True, min_net_apy=D("0.9")), funding=negative)
    assert isinstance(out, Enter)
    out = decide(
        intent(execute_immediately=True), funding=negative, outages=frozenset({Venue.ASGARD})
    )
    assert refused(out) is DenyReason.VENUE_OUTAGE
