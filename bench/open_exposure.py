"""The unhedged-exposure window and the orchestration overhead of an open.

    .venv/bin/python -m bench.open_exposure [--opens 30] [--burst 10] [--latency 0:0,50:100]

Real ``OpenPositionWorkflow`` runs through ``basis worker`` (a child process) against both
emulators, for each venue latency setting ``HL_MS:ASGARD_MS`` (every Hyperliquid request,
every Asgard API and Solana RPC request held that long before it is served):

- **exposure**: from the long landing on Solana to the hedge's last opening fill on
  Hyperliquid, by the venues' own clocks (what the chaos matrix bounds by
  ``max_single_leg_exposure_seconds``);
- **wall**: the workflow's start to its completion (Temporal's history timestamps);
- **venue**: the part of the wall during which at least one venue request was in flight, as
  the emulators served it (overlapping requests count once);
- **wall - venue**: the issue's orchestration overhead. It includes the waits between
  polls of a Solana signature (the chain's ~0.4 s slots), our clients' signing and parsing,
  and Temporal's scheduling;
- **wall - activities**: Temporal's own share: the time no activity was running (task
  dispatch, workflow tasks, retries' backoff).

Opens run one at a time (so every venue request belongs to the open being measured), then a
burst of ``--burst`` opens at once for the exposure window under load (its wall figures mix
the burst's requests and are not split). Each open is checked like a chaos run: it must end
hedged, with the database equal to the venues.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from dataclasses import dataclass
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from basis.runtime import hard_exit
from bench.world import VenueTimer, bench_world, database_options, pct, postgres_admin
from models.domain import Asset, PositionStatus
from tests.chaos.harness import ChaosWorld


@dataclass
class OpenFigures:
    exposure_s: float
    wall_s: float
    venue_s: float
    activities_s: float
    activities: int


async def _timeline(handle: WorkflowHandle[Any, Any]) -> tuple[float, float, float, int]:
    """Start, end, seconds covered by running activities, and how many ran."""
    start = end = 0.0
    started: dict[int, float] = {}
    spans: list[tuple[float, float]] = []
    async for e in handle.fetch_history_events():
        t = e.event_time.ToDatetime().timestamp()
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            start = t
        elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            end = t
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started[e.activity_task_started_event_attributes.scheduled_event_id] = t
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            sid = e.activity_task_completed_event_attributes.scheduled_event_id
            spans.append((started[sid], t))
    return start, end, VenueTimer(spans).busy(start, end), len(spans)


async def one_open(world: ChaosWorld, timer: VenueTimer, asset: Asset) -> OpenFigures:
    user_id, wallets = await world.new_user()
    pid, handle = await world.open(user_id, asset=asset)
    result = await handle.result()
    out = await world.check("bench open", user_id, wallets, pid, result)
    if result.status is not PositionStatus.OPEN or not out.ok or out.exposure_s is None:
        raise RuntimeError(f"open {pid} ended {result.status}: {out.violations or result.reason}")
    start, end, in_activities, count = await _timeline(handle)
    return OpenFigures(
        exposure_s=out.exposure_s,
        wall_s=end - start,
        venue_s=timer.busy(start, end),
        activities_s=in_activities,
        activities=count,
    )


async def set_latency(world: ChaosWorld, hl_ms: int, asgard_ms: int) -> None:
    await world.clear_faults()
    for admin, ms in ((world.hl_admin, hl_ms), (world.asgard_admin, asgard_ms)):
        if ms:
            rule = {"kind": "latency", "match": "*", "delay_s": ms / 1000}
            (await admin.post("/admin/faults", json=rule)).raise_for_status()


def _row(label: str, values: list[float]) -> str:
    return (
        f"  {label:<22} p50 {pct(values, 0.5) * 1000:8.0f} ms   p99 {pct(values, 0.99) * 1000:8.0f}"
        f" ms   mean {statistics.fmean(values) * 1000:8.0f} ms"
    )


async def main(args: argparse.Namespace) -> int:
    timer = VenueTimer()
    settings = [tuple(int(x) for x in s.split(":")) for s in args.latency.split(",")]
    assets = [Asset.SOL, Asset.JITOSOL]
    async with bench_world(postgres_admin=postgres_admin(args), wrap=timer.wrap) as world:
        print(
            f"open_exposure: {args.opens} sequential opens + a burst of {args.burst} per setting;"
            f" exposure limit {world.max_exposure:.0f} s; database "
            f"{world.settings.database_url.split(':')[0]}; cores {_cores()}"
        )
        await one_open(world, timer, Asset.SOL)  # warm-up: connections, caches, JIT of paths
        for hl_ms, asgard_ms in settings:
            await set_latency(world, hl_ms, asgard_ms)
            figs = [await one_open(world, timer, assets[i % 2]) for i in range(args.opens)]
            print(f"\nvenue latency: Hyperliquid {hl_ms} ms, Asgard/Solana {asgard_ms} ms")
            print(_row("exposure window", [f.exposure_s for f in figs]))
            print(_row("workflow wall", [f.wall_s for f in figs]))
            print(_row("venue in flight", [f.venue_s for f in figs]))
            print(_row("wall - venue", [f.wall_s - f.venue_s for f in figs]))
            print(_row("wall - activities", [f.wall_s - f.activities_s for f in figs]))
            print(f"  activities per open    {statistics.fmean(f.activities for f in figs):.1f}")
            if args.burst:
                burst = await asyncio.gather(
                    *(one_open(world, timer, assets[i % 2]) for i in range(args.burst))
                )
                print(_row(f"exposure, {args.burst} at once", [f.exposure_s for f in burst]))
                print(_row(f"wall, {args.burst} at once", [f.wall_s for f in burst]))
        await world.clear_faults()
    return 0


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--opens", type=int, default=30, help="sequential opens per setting")
    ap.add_argument("--burst", type=int, default=10, help="opens started at once per setting")
    ap.add_argument(
        "--latency",
        default="0:0,50:100",
        help="venue latencies HL_MS:ASGARD_MS, comma-separated (default 0:0,50:100)",
    )
    database_options(ap)
    a = ap.parse_args()
    hard_exit(asyncio.run(main(a)))
