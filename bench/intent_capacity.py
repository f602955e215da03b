"""Intent capacity: pending intents evaluated per 60 s scan cycle (target >= 10,000).

    .venv/bin/python -m bench.intent_capacity [--intents 10000] [--per-user 4] [--cycles 3]

Seeds ``--intents`` pending intents (``--per-user`` to a user) with a spread of entry criteria
around the simulated market (assets, leverage, capital, minimum funding rate, maximum funding
volatility, minimum net APY, maximum entry price, some without criteria), then runs
``IntentScanWorkflow`` (what the 60 s schedule starts) ``--cycles`` times through
``basis worker`` and prints, per cycle, the wall time, how many intents were evaluated and
woken, the CPU the worker and the emulators used, and the capacity it implies:
intents evaluated x 60 s / wall.

The scan is the production path: one fresh market snapshot from both venues, every pending
intent read from the database in pages and run through the strategy's entry rules, and a
``wake`` signal sent to each intent whose market criteria hold. The seeded intents have no
running ``IntentWorkflow`` (a woken one would go on to open positions): their wake signals are
refused by Temporal as "workflow not found", after the same round trip a delivered signal
takes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections import Counter
from decimal import Decimal
from typing import Any

from basis.db import create_engine, session_factory
from basis.runtime import hard_exit
from bench.world import bench_world, database_options, postgres_admin, timed_cycle
from models.domain import Asset
from models.messages import ScanReport
from models.tables import Intent, User
from tests.chaos.harness import ChaosWorld
from workflows.cycles import IntentScanWorkflow

CHUNK = 2000


def _criteria(rng: random.Random, price: Decimal) -> dict[str, Any]:
    """A spread of what users ask for: most set one or two criteria, some none."""
    c: dict[str, Any] = {}
    if rng.random() < 0.7:
        c["min_funding_rate"] = Decimal(rng.choice(["0.00001", "0.00005", "0.0001", "0.0003"]))
    if rng.random() < 0.4:
        c["max_funding_volatility"] = Decimal(rng.choice(["0.5", "1", "5", "10"]))
    if rng.random() < 0.4:
        c["min_net_apy"] = Decimal(rng.choice(["0.02", "0.05", "0.10", "0.25"]))
    if rng.random() < 0.2:
        c["max_entry_price"] = (price * Decimal(rng.choice(["0.9", "1.05", "1.5"]))).quantize(
            Decimal("0.01")
        )
    return c


async def seed(world: ChaosWorld, n: int, per_user: int, seed_: int) -> int:
    rng = random.Random(seed_)
    engine = create_engine(world.settings.database_url)
    sessions = session_factory(engine)
    now = world.venues.clock.now()
    price = world.venues.market.state_at(now).sol_price
    assets = [Asset.SOL, Asset.JITOSOL, Asset.JUPSOL, Asset.INF]
    users = 0
    batch: list[Any] = []
    user: User | None = None
    for i in range(n):
        if i % per_user == 0:
            user = User(created_at=now)
            users += 1
            batch.append(user)
        assert user is not None
        batch.append(
            Intent(
                user_id=user.id,
                asset=rng.choice(assets),
                leverage=Decimal(rng.choice(["1.5", "2", "3"])),
                capital_usd=Decimal(rng.randrange(1_000, 50_000, 500)),
                created_at=now,
                updated_at=now,
                **_criteria(rng, price),
            )
        )
        if len(batch) >= CHUNK:
            await _insert(sessions, batch)
            batch = []
    await _insert(sessions, batch)
    await engine.dispose()
    return users


async def _insert(sessions: Any, rows: list[Any]) -> None:
    async with sessions() as s, s.begin():
        s.add_all([r for r in rows if isinstance(r, User)])
        await s.flush()
        s.add_all([r for r in rows if isinstance(r, Intent)])


def _kind(world: ChaosWorld) -> str:
    return world.settings.database_url.split(":")[0]


async def main(args: argparse.Namespace) -> int:
    async with bench_world(postgres_admin=postgres_admin(args)) as world:
        t0 = time.monotonic()
        users = await seed(world, args.intents, args.per_user, args.seed)
        print(
            f"intent_capacity: {args.intents} pending intents of {users} users (seeded in"
            f" {time.monotonic() - t0:.0f} s); database {_kind(world)};"
            f" cores {len(os.sched_getaffinity(0))}"
        )
        print(
            f"{'cycle':>5} {'wall s':>7} {'activity s':>10} {'evaluated':>10} {'woken':>6}"
            f" {'worker cpu s':>13} {'emulators cpu s':>16} {'per 60 s':>9}"
        )
        worst: float | None = None
        reasons: Counter[str] = Counter()
        for i in range(args.cycles):
            c = await timed_cycle(world, IntentScanWorkflow.run, f"scan-bench-{i}")
            report: ScanReport = c.report
            per_60 = report.evaluated * 60 / c.wall_s
            worst = per_60 if worst is None else min(worst, per_60)
            reasons = Counter(report.skipped)
            print(
                f"{i + 1:>5} {c.wall_s:>7.1f} {report.duration_ms / 1000:>10.1f}"
                f" {report.evaluated:>10} {report.woken:>6}"
                f" {c.worker_cpu_s:>13.1f} {c.emulators_cpu_s:>16.1f} {per_60:>9.0f}"
            )
            if report.evaluated != args.intents:
                print(f"  not every intent was evaluated: {report.evaluated}")
                return 1
        woken_tried = args.intents - sum(reasons.values())
        print(
            f"not woken, by reason: {dict(reasons.most_common())}; criteria held for"
            f" {woken_tried} (signals refused: no workflow behind them)"
        )
        print(f"capacity (worst cycle): {worst:.0f} intents per 60 s cycle (target 10,000)")
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--intents", type=int, default=10_000)
    ap.add_argument("--per-user", type=int, default=4, help="pending intents per user")
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    database_options(ap)
    a = ap.parse_args()
    hard_exit(asyncio.run(main(a)))
