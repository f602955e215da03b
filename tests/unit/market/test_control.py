"""The controllable market: changes from a time on, an unchanged past, continuous prices."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest

from models.domain import Asset, Protocol, Venue
from venues.market import DEFAULT_START, ControllableMarket, MarketSimulator, SimClock
from venues.market.control import premium_for_rate
from venues.market.simulator import hourly_funding

D = Decimal
H = timedelta(hours=1)
S = DEFAULT_START


def market() -> ControllableMarket:
    return ControllableMarket(MarketSimulator("calm", seed=3, start=S))


def test_without_changes_it_is_the_simulator() -> None:
    m, sim = market(), MarketSimulator("calm", seed=3, start=S)
    t = S + 7.3 * H
    assert m.state_at(t) == sim.state_at(t)
    assert m.funding_history(S, S + 5 * H) == sim.funding_history(S, S + 5 * H)
    assert m.price_range(S, S + 2 * H) == sim.price_range(S, S + 2 * H)


def test_a_funding_override_applies_from_its_time_and_the_past_is_unchanged() -> None:
    m = market()
    t = S + 5 * H + timedelta(minutes=20)
    before = m.state_at(t - timedelta(seconds=1))
    history = m.funding_history(S, S + 5 * H)
    m.set_funding_rate(D("-0.0001"), at=t)
    assert m.state_at(t - timedelta(seconds=1)) == before
    assert m.funding_history(S, S + 5 * H) == history
    now = m.state_at(t)
    assert now.funding_rate == D("-0.0001")
    # the premium (and so the mark) is consistent with the pinned rate
    assert hourly_funding(now.premium) == D("-0.0001")
    assert now.perp_mark < now.sol_price
    assert m.predicted_funding(t) == D("-0.0001")
    # the hour during which it was set settles at the pinned rate
    settled = {p.time: p.rate for p in m.funding_history(S + 5 * H, S + 8 * H)}
    assert settled[S + 6 * H] == settled[S + 7 * H] == D("-0.0001")


def test_releasing_the_funding_returns_to_the_scenario() -> None:
    m, sim = market(), MarketSimulator("calm", seed=3, start=S)
    m.set_funding_rate(D("0.001"), at=S + H)
    m.set_funding_rate(None, at=S + 3 * H)
    assert m.state_at(S + 4 * H).funding_rate == sim.state_at(S + 4 * H).funding_rate


@pytest.mark.parametrize("rate", ["0.0000125", "0.00005", "-0.00003", "0.0001"])
def test_the_implied_premium_reproduces_the_rate(rate: str) -> None:
    assert hourly_funding(premium_for_rate(D(rate))) == D(rate)


def test_a_price_override_moves_the_level_and_the_path_continues_from_it() -> None:
    m, sim = market(), MarketSimulator("calm", seed=3, start=S)
    t = S + 2 * H
    m.set_sol_price(D(100), at=t)
    assert m.state_at(t).sol_price == D(100)
    later = S + 5 * H
    ratio = m.state_at(later).sol_price / D(100)
    assert ratio == pytest.approx(
        sim.state_at(later).sol_price / sim.state_at(t).sol_price, rel=D("1e-6")
    )
    lo, hi = m.price_range(t - H, t + H)
    assert lo <= D(100) and hi >= sim.state_at(t - H).sol_price


def test_a_held_price_stays_flat_until_released_and_then_continues_without_a_jump() -> None:
    m = market()
    m.set_sol_price(D(120), hold=True, at=S + H)
    assert m.state_at(S + 3 * H).sol_price == m.state_at(S + 9 * H).sol_price == D(120)
    assert m.price_range(S + 2 * H, S + 4 * H) == (D(120), D(120))
    m.set_sol_price(None, at=S + 10 * H)
    assert m.state_at(S + 10 * H).sol_price == D(120)
    assert m.state_at(S + 12 * H).sol_price != D(120)


def test_a_scenario_switch_starts_from_the_current_price_and_rates() -> None:
    m = market()
    t = S + 6 * H
    before = m.state_at(t)
    m.set_scenario("crash", at=t)
    after = m.state_at(t)
    assert m.scenario == "crash"
    assert after.sol_price == before.sol_price
    assert after.lst_exchange_rate == before.lst_exchange_rate
    # the new scenario's crash comes 72 hours after the switch
    assert m.state_at(t + 73 * H).sol_price / m.state_at(t + 72 * H).sol_price < D("0.75")


def test_outages_pegs_and_borrow_rates_can_be_forced() -> None:
    m = market()
    t = S + 4 * H
    m.set_outage(Venue.HYPERLIQUID, True, at=t)
    m.set_lst_peg(Asset.JITOSOL, D("-0.03"), at=t)
    m.set_borrow_apy(Protocol.KAMINO, D("0.5"), at=t)
    st = m.state_at(t)
    assert st.outages == {Venue.HYPERLIQUID}
    ratio = st.lst_market_price_sol[Asset.JITOSOL] / st.lst_exchange_rate[Asset.JITOSOL]
    assert ratio == pytest.approx(D("0.97"), abs=D("1e-8"))
    kamino = next(p for p in st.protocols if p.protocol is Protocol.KAMINO)
    assert kamino.borrow_apy["USDC"] == D("0.5")
    assert len(m.changes()) == 2  # three changes at one instant make one epoch
    m.set_outage(Venue.HYPERLIQUID, None, at=t + H)
    assert m.state_at(t + H).outages == frozenset()


def test_a_venue_the_scenario_takes_down_can_be_forced_up() -> None:
    m = ControllableMarket(MarketSimulator("venue-outage", start=S))
    m.set_outage(Venue.ASGARD, False, at=S + 31 * H)
    assert m.state_at(S + 32 * H).outages == frozenset()


def test_changes_are_append_only() -> None:
    m = market()
    m.set_funding_rate(D("0.0001"), at=S + 5 * H)
    with pytest.raises(ValueError, match="append-only"):
        m.set_funding_rate(D("0.0002"), at=S + 4 * H)
    with pytest.raises(ValueError, match="no clock"):
        m.reset()


def test_the_clock_dates_changes_made_now() -> None:
    clock = SimClock(S + 10 * H, speed=1.0)
    m = ControllableMarket(clock=clock, scenario="calm")
    m.set_funding_rate(D("0.0003"))
    assert m.state_at(clock.now()).funding_rate == D("0.0003")
    assert m.state_at(S).funding_rate != D("0.0003")


def test_reset_clears_overrides_and_keeps_the_price_continuous() -> None:
    m = market()
    m.set_sol_price(D(200), at=S + H)
    m.set_funding_rate(D("0.0005"), at=S + H)
    t = S + 2 * H
    level = m.state_at(t).sol_price
    m.reset(at=t)
    assert m.state_at(t).sol_price == level
    assert m.state_at(t).funding_rate != D("0.0005")


def test_concurrent_readers_see_a_consistent_timeline() -> None:
    m = market()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for i in range(300):
                m.state_at(S + timedelta(minutes=i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for th in threads:
        th.start()
    for i in range(50):
        m.set_funding_rate(D("0.0001") * (i % 3), at=S + timedelta(hours=1 + i))
    for th in threads:
        th.join()
    assert not errors
