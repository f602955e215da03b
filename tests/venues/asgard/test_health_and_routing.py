"""Pure pieces: health-factor units and route choice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models.domain import Asset, Protocol
from venues.asgard import (
    HealthUnit,
    ProtocolRates,
    choose_route,
    health_from_balances,
    long_leg_carry,
    normalise_health_factor,
)

D = Decimal


@pytest.mark.parametrize(
    ("raw", "unit", "expected", "fraction"),
    [
        (D("40.94"), HealthUnit.PERCENT, None, D("0.4094")),
        (D("0.4094"), HealthUnit.FRACTION, None, D("0.4094")),
        (D("40.94"), HealthUnit.AUTO, None, D("0.4094")),  # > 1 can only be a percentage
        (D("0.4094"), HealthUnit.AUTO, D("0.41"), D("0.4094")),  # balances say fraction
        (D("0.5"), HealthUnit.AUTO, D("0.004"), D("0.005")),  # balances say percent
        (D("0.5"), HealthUnit.AUTO, None, D("0.005")),  # no evidence: the cautious reading
    ],
)
def test_health_factor_is_normalised_to_a_fraction(
    raw: Decimal, unit: HealthUnit, expected: Decimal | None, fraction: Decimal
) -> None:
    assert normalise_health_factor(raw, unit, expected=expected) == fraction


def test_health_from_balances_follows_the_liquidation_ltv() -> None:
    # 3x at LT 0.9: 1 - (L-1)/(L*LT) = 1 - 2/2.7
    assert health_from_balances(D(3000), D(2000), D("0.9")) == 1 - D(2000) / D(2700)
    assert health_from_balances(D(100), D(0), D("0.9")) == 1


def _rates(p: Protocol, lend: str, borrow: str, **kw: str | bool) -> ProtocolRates:
    return ProtocolRates(
        protocol=p,
        asset=Asset.JITOSOL,
        active=bool(kw.get("active", True)),
        lend_apy=D(lend),
        borrow_apy=D(borrow),
        max_leverage=D(str(kw.get("max_leverage", "4"))),
        capacity_usd=D(str(kw.get("capacity", "1000000"))),
        token_a_bank=f"a{int(p)}",
        token_b_bank=f"b{int(p)}",
    )


def test_the_route_with_the_best_carry_wins() -> None:
    sources = [
        _rates(Protocol.MARGINFI, "0.004", "0.085"),
        _rates(Protocol.KAMINO, "0.050", "0.092"),
        _rates(Protocol.DRIFT, "0.004", "0.080"),
    ]
    choice = choose_route(sources, leverage=D(3), capital_usd=D(10_000), staking_apy=D("0.07"))
    assert choice is not None and choice.rates.protocol is Protocol.KAMINO
    # 3 x (0.07 + 0.05) - 2 x 0.092
    assert choice.carry_apy == D("0.176")
    assert choice.borrow_usd == D(20_000)


def test_inactive_over_levered_or_full_protocols_are_skipped() -> None:
    sources = [
        _rates(Protocol.KAMINO, "0.9", "0.0", active=False),
        _rates(Protocol.SOLEND, "0.9", "0.0", max_leverage="2"),
        _rates(Protocol.DRIFT, "0.9", "0.0", capacity="19999"),
        _rates(Protocol.MARGINFI, "0.0", "0.1"),
    ]
    choice = choose_route(sources, leverage=D(3), capital_usd=D(10_000))
    assert choice is not None and choice.rates.protocol is Protocol.MARGINFI
    assert choose_route(sources[:3], leverage=D(3), capital_usd=D(10_000)) is None


def test_ties_go_to_the_larger_capacity_then_the_lower_protocol_number() -> None:
    a = _rates(Protocol.DRIFT, "0.01", "0.05", capacity="5000000")
    b = _rates(Protocol.KAMINO, "0.01", "0.05", capacity="5000000")
    c = _rates(Protocol.SOLEND, "0.01", "0.05", capacity="1000000")
    choice = choose_route([a, c, b], leverage=D(2), capital_usd=D(100))
    assert choice is not None and choice.rates.protocol is Protocol.KAMINO
    assert long_leg_carry(a, D(2)) == D("0.02") - D("0.05")


def test_live_modes_need_the_asgard_program_id_for_the_allow_list() -> None:
    from basis.config import Settings
    from venues.asgard.factory import transaction_policy
    from venues.emulators.asgard import DEFAULT_PROGRAM_ID

    paper = Settings()
    assert DEFAULT_PROGRAM_ID in transaction_policy(paper).allowed_programs
    live = paper.model_copy(update={"mode": "mainnet"})
    with pytest.raises(ValueError, match="asgard_program_id"):
        transaction_policy(live)
