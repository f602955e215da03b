"""The venue-fault matrix (the part that runs in `make test`): each fault of both emulators,
alone and combined, during an open and during a close. The full matrix:
`python -m tests.chaos.run_matrix --faults`."""

from __future__ import annotations

import pytest

from tests.chaos.faults import BY_NAME, COMBINED, Fault, fault_run
from tests.chaos.harness import ChaosWorld

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SMOKE = [
    BY_NAME["hl-lost-response"],
    BY_NAME["hl-partial-fills"],
    BY_NAME["hl-429"],
    BY_NAME["asgard-lost-response"],
    BY_NAME["solana-tx-failed"],
    BY_NAME["solana-dropped-until-expiry"],
    BY_NAME["solana-expired-blockhash"],
    COMBINED[0],
    COMBINED[3],
]


@pytest.mark.parametrize("fault", SMOKE, ids=lambda f: f.name)
async def test_open_and_close_keep_the_invariants_under(world: ChaosWorld, fault: Fault) -> None:
    out = await fault_run(world, fault)
    assert out.open.ok, out.open.violations
    assert out.close is None or out.close.ok, out.close.violations if out.close else None
