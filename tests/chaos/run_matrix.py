"""The full crash and fault matrices, with a printed tally.

    .venv/bin/python -m tests.chaos.run_matrix                 # 200 randomised crash runs
    .venv/bin/python -m tests.chaos.run_matrix --runs 50 --faults --temporal-restarts 3

Each crash run picks an open or a close, a kill point (before/after the venue acts, after the
step) and an asset at random (seeded), kills the worker process there and restarts it. The
fault matrix runs every fault of both emulators alone and the combinations. Exit status 1 if
any invariant broke.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from basis.db import create_engine
from basis.migrate import upgrade
from basis.runtime import hard_exit
from models import search
from models.domain import Asset
from tests.chaos.faults import COMBINED, FAULTS, fault_run
from tests.chaos.harness import (
    BIN,
    CLOSE_POINTS,
    OPEN_POINTS,
    Outcome,
    TemporalServer,
    chaos_world,
    crash_close,
    crash_open,
    restart_temporal_mid_open,
)


def _tally(outcomes: list[Outcome], limit: float) -> dict[str, object]:
    exposures = sorted(o.exposure_s for o in outcomes if o.exposure_s is not None)
    naked = sum(1 for o in outcomes if any("stood alone" in v for v in o.violations))
    dup = sum(
        1
        for o in outcomes
        if any("duplicate" in v or "Hyperliquid short" in v for v in o.violations)
    )
    diff = sum(
        1
        for o in outcomes
        if any(k in v for v in o.violations for k in ("database", "PDA", "still", "no active"))
    )

    def pct(p: float) -> float | None:
        if not exposures:
            return None
        return exposures[min(len(exposures) - 1, round(p * (len(exposures) - 1)))]

    return {
        "runs": len(outcomes),
        "passed": sum(o.ok for o in outcomes),
        "naked legs beyond limit": naked,
        "duplicate orders": dup,
        "database/venue differences": diff,
        "halted": sum(1 for o in outcomes if o.status == "halted"),
        "exposure p50 s": pct(0.5),
        "exposure p99 s": pct(0.99),
        "exposure max s": exposures[-1] if exposures else None,
        "limit s": limit,
        "mean run s": statistics.fmean(o.duration_s for o in outcomes) if outcomes else 0,
    }


def _print(title: str, tally: dict[str, object], outcomes: list[Outcome]) -> None:
    print(f"\n== {title}")
    for k, v in tally.items():
        shown = f"{v:.2f}" if isinstance(v, float) else v
        print(f"  {k:<28} {shown}")
    bad = [o for o in outcomes if not o.ok]
    for o in bad:
        print(f"  FAIL {o.case}: {'; '.join(o.violations)}")


async def main(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="basis-chaos-"))
    url = f"sqlite+aiosqlite:///{work / 'basis.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    env = await WorkflowEnvironment.start_local(
        namespace="basis",
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=search.ALL,
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
    )
    crash: list[Outcome] = []
    faults: list[Outcome] = []
    restarts: list[Outcome] = []
    started = time.monotonic()
    try:
        target = env.client.service_client.config.target_host
        async with chaos_world(env.client, target, url, "chaos-matrix", work) as world:
            limit = world.max_exposure
            for i in range(args.runs):
                asset = rng.choice([Asset.SOL, Asset.JITOSOL])
                if rng.random() < 0.5:
                    point = rng.choice(OPEN_POINTS)
                    out = await crash_open(world, point, asset)
                else:
                    point = rng.choice(CLOSE_POINTS)
                    out = await crash_close(world, point, asset)
                crash.append(out)
                mark = "ok " if out.ok else "FAIL"
                exposure = "-" if out.exposure_s is None else f"{out.exposure_s:.2f}s"
                print(
                    f"[{i + 1:>3}/{args.runs}] {mark} {out.case:<40} {out.status:<7} "
                    f"exposure={exposure} ({out.duration_s:.1f}s)",
                    flush=True,
                )
            if args.faults:
                for fault in [*FAULTS, *COMBINED]:
                    fo = await fault_run(world, fault)
                    faults += [fo.open, *([fo.close] if fo.close else [])]
                    print(
                        f"fault {fault.name:<55} {'ok' if fo.ok else 'FAIL'} {fo.notes}", flush=True
                    )
        for i in range(args.temporal_restarts):
            sub = work / f"restart-{i}"
            sub.mkdir()
            server = TemporalServer(sub)
            await server.start()
            try:
                from temporalio.client import Client

                client = await Client.connect(
                    server.target, namespace="basis", data_converter=pydantic_data_converter
                )
                async with chaos_world(client, server.target, url, f"restart-{i}", sub) as w:
                    out = await restart_temporal_mid_open(w, server)
                    restarts.append(out)
                    print(
                        f"temporal restart {i + 1}: {'ok' if out.ok else 'FAIL'} {out.status}",
                        flush=True,
                    )
            finally:
                server.kill()
    finally:
        await env.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    _print("crash matrix (worker SIGKILL at random steps)", _tally(crash, limit), crash)
    if faults:
        _print("venue-fault matrix (alone and combined)", _tally(faults, limit), faults)
    if restarts:
        _print("Temporal server restarts mid-open", _tally(restarts, limit), restarts)
    print(f"\ntotal time {time.monotonic() - started:.0f}s")
    return 0 if all(o.ok for o in [*crash, *faults, *restarts]) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200, help="randomised crash runs (default 200)")
    parser.add_argument("--faults", action="store_true", help="also run the venue-fault matrix")
    parser.add_argument(
        "--temporal-restarts",
        type=int,
        default=1,
        help="Temporal server restarts mid-open (default 1)",
    )
    parser.add_argument("--seed", type=int, default=1)
    code = asyncio.run(main(parser.parse_args()))
    hard_exit(code)
