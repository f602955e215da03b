"""Net carry against hand-computed cases, and the ranking of opportunities."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models.domain import Asset, Protocol
from models.risk import RiskParams, TradingCosts
from strategy import (
    DenyReason,
    entry_health,
    gross_carry,
    net_carry,
    rank_opportunities,
    round_trip_cost_fraction,
)
from tests.unit.strategy.builders import PARAMS, snapshot, stats, terms

D = Decimal
FREE = TradingCosts(
    hyperliquid_taker_bps=D(0),
    hyperliquid_maker_bps=D(0),
    asgard_fee_bps=D(0),
    expected_slippage_bps=D(0),
    urgent_slippage_bps=D(0),
    fixed_cost_usd=D(0),
    transfer_cost_usd=D(0),
)


def test_sol_at_3x_matches_the_design_formula_by_hand() -> None:
    # 0.5 * [3 * (0 + 0.05 + 0.20) - 2 * 0.09] = 0.5 * (0.75 - 0.18) = 0.285
    c = gross_carry(
        D(3),
        short_funding_apy=D("0.20"),
        staking_apy=D(0),
        lend_apy=D("0.05"),
        borrow_apy=D("0.09"),
    )
    assert c.gross_apy == D("0.285")
    assert (c.funding_apy, c.staking_apy, c.lending_apy, c.borrow_apy) == (
        D("0.30"),
        D("0"),
        D("0.075"),
        D("-0.09"),
    )
    assert c.net_apy == c.gross_apy


def test_jitosol_at_3x_adds_staking_on_the_levered_collateral() -> None:
    # 0.5 * [3 * (0.07 + 0.004 + 0.10) - 2 * 0.09] = 0.5 * (0.522 - 0.18) = 0.171
    c = gross_carry(
        D(3),
        short_funding_apy=D("0.10"),
        staking_apy=D("0.07"),
        lend_apy=D("0.004"),
        borrow_apy=D("0.09"),
    )
    assert c.gross_apy == D("0.171")
    assert c.staking_apy == D("0.105")


def test_at_one_x_nothing_is_borrowed() -> None:
    c = gross_carry(
        D(1), short_funding_apy=D("0.1"), staking_apy=D(0), lend_apy=D("0.05"), borrow_apy=D("0.5")
    )
    assert c.borrow_apy == 0
    assert c.gross_apy == D("0.075")


def test_negative_funding_is_a_cost_to_the_short() -> None:
    c = gross_carry(
        D(2), short_funding_apy=D("-0.1"), staking_apy=D(0), lend_apy=D(0), borrow_apy=D(0)
    )
    assert c.funding_apy == D("-0.1")


def test_round_trip_costs_are_both_legs_twice_at_their_notional() -> None:
    costs = PARAMS.costs  # taker 4.5 + asgard 10 + slippage 5 per leg and side
    # L/2 * 2 sides * (4.5 + 10 + 5 + 5) bps = 1.5 * 2 * 24.5 bps = 73.5 bps at 3x
    assert round_trip_cost_fraction(D(3), costs) == D("0.00735")
    # plus open and close fixed costs: 2 * $1 on $10,000
    assert round_trip_cost_fraction(D(3), costs, D(10000)) == D("0.00755")


def test_costs_are_amortised_over_the_expected_hold() -> None:
    c = net_carry(
        D(3),
        short_funding_apy=D("0.20"),
        staking_apy=D(0),
        lend_apy=D("0.05"),
        borrow_apy=D("0.09"),
        costs=PARAMS.costs,
        expected_hold_hours=876,  # a tenth of a year: costs count ten times a year
    )
    assert c.cost_apy == D("-0.0735")
    assert c.net_apy == D("0.285") - D("0.0735")


def test_free_trading_leaves_net_equal_to_gross() -> None:
    c = net_carry(
        D(3),
        short_funding_apy=D("0.2"),
        staking_apy=D(0),
        lend_apy=D("0.05"),
        borrow_apy=D("0.09"),
        costs=FREE,
        expected_hold_hours=1,
    )
    assert c.net_apy == c.gross_apy


def test_hold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="expected_hold_hours"):
        net_carry(
            D(3),
            short_funding_apy=D(0),
            staking_apy=D(0),
            lend_apy=D(0),
            borrow_apy=D(0),
            costs=FREE,
            expected_hold_hours=0,
        )


@pytest.mark.parametrize(
    ("lev", "ltv", "health"),
    [
        ("3", "0.90", "0.2592592592592592592592592593"),
        ("1.1", "0.85", "0.8930481283422459893048128342"),
    ],
)
def test_entry_health_is_the_venue_model_at_leverage(lev: str, ltv: str, health: str) -> None:
    assert entry_health(D(lev), D(ltv)) == D(health)


def test_four_x_is_below_the_seed_minimum_health_on_every_listed_ltv() -> None:
    for ltv in ("0.85", "0.90", "0.92"):
        assert entry_health(D(4), D(ltv)) <= PARAMS.asgard_health.min


def test_ranking_puts_the_best_eligible_pair_first_and_says_why_others_are_not() -> None:
    snap = snapshot(
        funding=stats(["0.00002"] * 48),
        protocols=(
            terms(Protocol.MARGINFI, borrow="0.09"),
            terms(Protocol.KAMINO, borrow="0.05"),
            terms(Protocol.SOLEND, borrow="0.01", active=False),
            terms(Protocol.DRIFT, borrow="0.02", max_leverage="2"),
        ),
    )
    ranked = rank_opportunities(snap, D(3), PARAMS, assets=[Asset.SOL])
    assert [(o.protocol.protocol, o.refusal) for o in ranked] == [
        (Protocol.KAMINO, None),
        (Protocol.MARGINFI, None),
        # the ineligible too are ordered by carry: the refusal says why they are not usable
        (Protocol.SOLEND, DenyReason.NO_PROTOCOL),
        (Protocol.DRIFT, DenyReason.LEVERAGE_OUT_OF_RANGE),
    ]
    assert ranked[0].carry.net_apy > ranked[1].carry.net_apy


def test_ranking_refuses_a_protocol_without_borrow_capacity() -> None:
    snap = snapshot(protocols=(terms(capacity="1000"),))
    (o,) = rank_opportunities(snap, D(3), PARAMS, assets=[Asset.SOL], capital_usd=D(10000))
    assert o.refusal is DenyReason.BORROW_CAPACITY


def test_ranking_covers_every_quoted_asset() -> None:
    ranked = rank_opportunities(snapshot(), D(2), RiskParams())
    assert {o.asset for o in ranked} == {Asset.SOL, Asset.JITOSOL}
