"""The monitor reads every long's health from Asgard in chunks; a position the venue does not
know must not blind the monitor to the rest of its chunk."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

from activities.cycles import CycleActivities
from models.domain import Protocol
from venues.asgard.errors import PositionNotFound
from venues.asgard.models import PositionHealth, PositionState


class RefusesUnknown:
    """Like Asgard: one unknown PDA fails the whole refresh call."""

    def __init__(self, known: set[str]) -> None:
        self.known = known
        self.calls = 0

    async def refresh_positions(
        self,
        refs: Sequence[tuple[Protocol, str]],
        *,
        liquidation_ltv: Mapping[Protocol, Decimal] | None = None,
    ) -> list[PositionHealth]:
        self.calls += 1
        for _, pda in refs:
            if pda not in self.known:
                raise PositionNotFound(f"no position {pda}", status=422)
        return [
            PositionHealth(
                pda=pda,
                protocol=protocol,
                state=PositionState.ACTIVE,
                health_factor=Decimal("0.3"),
                health_factor_raw=Decimal(30),
                collateral=Decimal(1),
                collateral_mint="mint",
                debt=Decimal(50),
            )
            for protocol, pda in refs
        ]


def _monitor(asgard: Any) -> CycleActivities:
    nothing = cast(Any, None)
    return CycleActivities(
        risk=nothing,
        market=nothing,
        hyperliquid=nothing,
        asgard=asgard,
        sessions=nothing,
        temporal=nothing,
    )


async def test_one_position_unknown_to_asgard_leaves_the_rest_of_its_chunk_monitored() -> None:
    refs = [(Protocol(i % 4), f"pda-{i}") for i in range(100)]
    venue = RefusesUnknown({pda for _, pda in refs} - {"pda-37"})
    got = await _monitor(venue)._refresh_chunk(refs, {})
    assert sorted(h.pda for h in got) == sorted(pda for _, pda in refs if pda != "pda-37")
    assert [h.protocol for h in got if h.pda == "pda-0"] == [Protocol.MARGINFI]
    # Found by halving: a handful of calls, not one per position.
    assert venue.calls <= 2 * 7 + 1


async def test_a_chunk_asgard_knows_entirely_is_one_call() -> None:
    refs = [(Protocol.KAMINO, f"pda-{i}") for i in range(100)]
    venue = RefusesUnknown({pda for _, pda in refs})
    got = await _monitor(venue)._refresh_chunk(refs, {})
    assert len(got) == 100
    assert venue.calls == 1
