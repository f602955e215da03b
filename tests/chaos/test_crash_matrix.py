"""The crash matrix (the part that runs in `make test`): the worker process is SIGKILLed at
each step of an open and of a close, before and after the venue acts, and restarted. Every run
must end hedged or unwound, without a duplicate order, with the database equal to the venues.
The full randomised matrix: `python -m tests.chaos.run_matrix`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.harness import (
    CLOSE_POINTS,
    OPEN_POINTS,
    ChaosWorld,
    KillPoint,
    chaos_world,
    crash_close,
    crash_open,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


# `make test` runs the points where a crash is most dangerous (the venue acted, the worker did
# not hear, or a leg stands alone); the full matrix covers every point, repeatedly.
SMOKE = {"open_long:after_act", "place_hedge:during", "place_hedge:after_act", "open_long:after"}
SMOKE_CLOSE = {"place_hedge:after_act", "close_long:after_act", "close_long:during"}


@pytest.mark.parametrize("point", [p for p in OPEN_POINTS if p.name in SMOKE], ids=lambda p: p.name)
async def test_an_open_survives_a_worker_kill_at(world: ChaosWorld, point: KillPoint) -> None:
    out = await crash_open(world, point)
    assert out.ok, out.violations
    assert out.status in ("open", "failed")


@pytest.mark.parametrize(
    "point", [p for p in CLOSE_POINTS if p.name in SMOKE_CLOSE], ids=lambda p: p.name
)
async def test_a_close_survives_a_worker_kill_at(world: ChaosWorld, point: KillPoint) -> None:
    out = await crash_close(world, point)
    assert out.ok, out.violations
    assert out.status == "closed"


async def test_an_open_survives_a_temporal_server_restart_mid_open(
    tmp_path: Path, sqlite_url: str
) -> None:
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from tests.chaos.harness import TemporalServer, restart_temporal_mid_open

    server = TemporalServer(tmp_path)
    await server.start()
    try:
        client = await Client.connect(
            server.target, namespace="basis", data_converter=pydantic_data_converter
        )
        async with chaos_world(client, server.target, sqlite_url, "chaos-t", tmp_path) as w:
            out = await restart_temporal_mid_open(w, server)
        assert out.ok, out.violations
        assert out.status in ("open", "failed")
    finally:
        server.kill()
