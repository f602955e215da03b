"""Monitor capacity: open positions fully evaluated per 30 s cycle (target >= 10,000).

    .venv/bin/python -m bench.monitor_capacity [--positions 10000] [--per-user 1] [--cycles 3]

Opens one SOL and one jitoSOL position through the real workflow, then clones them into
``--positions`` open positions of their own users (``--per-user`` positions each; 1 is the
worst case: one Hyperliquid account read per position): database rows, a Hyperliquid account
holding the short, an Asgard position holding the long. Then runs ``MonitorCycleWorkflow``
(what the 30 s schedule starts) ``--cycles`` times through ``basis worker`` and prints, per
cycle, its wall time, what it evaluated, the CPU the worker and the emulators used, and the
capacity it implies: positions evaluated x 30 s / wall.

"Fully evaluated" is the production path: one market snapshot, every account's Hyperliquid
state and every long's Asgard health read from the venues over HTTP, the strategy's risk,
exit and rebalance rules run on each position, its monitor state and a snapshot row written.
The emulators run in this process on the same 2 cores, so the figure is a floor: against
remote venues the worker has the machine to itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import time
import uuid
from typing import Any

from solders.keypair import Keypair
from sqlmodel import select

from basis.db import create_engine, session_factory
from basis.runtime import hard_exit
from bench.world import bench_world, database_options, postgres_admin, timed_cycle
from models.domain import Asset, Chain, LegSide, PositionStatus
from models.messages import MonitorReport
from models.tables import Leg, Position, User, Wallet
from tests.chaos.harness import ChaosWorld
from workflows.cycles import MonitorCycleWorkflow

CHUNK = 2000


async def open_templates(world: ChaosWorld) -> list[tuple[uuid.UUID, str, str]]:
    """One real open per asset: (position id, EVM address, Solana address)."""
    out = []
    for asset in (Asset.SOL, Asset.JITOSOL):
        user_id, wallets = await world.new_user()
        pid, handle = await world.open(user_id, asset=asset)
        result = await handle.result()
        if result.status is not PositionStatus.OPEN:
            raise RuntimeError(f"template {asset} open ended {result.status}: {result.reason}")
        out.append((pid, wallets.evm_address, wallets.solana_address))
    return out


async def clone(
    world: ChaosWorld, templates: list[tuple[uuid.UUID, str, str]], n: int, per_user: int
) -> int:
    """``n`` positions like the templates, ``per_user`` to a user, on the venues and in the
    database. Returns the number of users."""
    engine = create_engine(world.settings.database_url)
    sessions = session_factory(engine)
    hl = world.venues.hyperliquid.state.emulator
    asg = world.venues.asgard.state.emulator
    now = world.venues.clock.now()
    tpl: list[dict[str, Any]] = []
    async with sessions() as s:
        for pid, evm, _sol in templates:
            pos = await s.get(Position, pid)
            legs = {
                LegSide(g.side): g
                for g in (await s.exec(select(Leg).where(Leg.position_id == pid))).all()
            }
            assert pos is not None
            long_ref = legs[LegSide.LONG].venue_ref or ""
            acct = hl.state.accounts[evm.lower()]
            tpl.append(
                {
                    "position": pos.model_dump(exclude={"id", "user_id"}),
                    "legs": {
                        side: g.model_dump(exclude={"id", "position_id"})
                        for side, g in legs.items()
                    },
                    "hl": acct.model_copy(
                        deep=True,
                        update={
                            "fills": [],
                            "funding": [],
                            "ledger": [],
                            "orders": {},
                            "cloids": {},
                        },
                    ),
                    "asgard": asg.state.positions[long_ref],
                }
            )
    users = 0
    rows: list[Any] = []
    for i in range(n):
        t = tpl[i % len(tpl)]
        if i % per_user == 0:
            users += 1
            user = User(created_at=now)
            evm = "0x" + secrets.token_hex(20)
            sol = str(Keypair().pubkey())
            rows += [
                user,
                Wallet(
                    user_id=user.id, chain=Chain.EVM, address=evm, provider="local", created_at=now
                ),
                Wallet(
                    user_id=user.id,
                    chain=Chain.SOLANA,
                    address=sol,
                    provider="local",
                    created_at=now,
                ),
            ]
            acct = t["hl"].model_copy(deep=True)
            hl.state.accounts[evm] = acct
        else:
            # Another position of the same user: the one Hyperliquid account shorts more.
            for p in acct.positions.values():
                p.szi += t["hl"].positions[next(iter(t["hl"].positions))].szi
        pos = Position(user_id=user.id, **t["position"])
        pda = str(Keypair().pubkey())
        rows.append(pos)
        for side, leg in t["legs"].items():
            ref = pda if side is LegSide.LONG else leg["venue_ref"]
            rows.append(Leg(position_id=pos.id, **{**leg, "venue_ref": ref}))
        asg.state.positions[pda] = t["asgard"].model_copy(
            update={"id": uuid.uuid4().hex, "pda": pda, "wallet": sol}
        )
        if len(rows) >= CHUNK:
            await _insert(sessions, rows)
            rows = []
    await _insert(sessions, rows)
    await engine.dispose()
    hl.touched()
    return users


async def _insert(sessions: Any, rows: list[Any]) -> None:
    # Users and positions first: the rows after them refer to them.
    order: dict[type, int] = {User: 0, Wallet: 1, Position: 1, Leg: 2}
    async with sessions() as s, s.begin():
        for rank in (0, 1, 2):
            s.add_all([r for r in rows if order[type(r)] == rank])
            await s.flush()


def _worker_errors(world: ChaosWorld) -> str:
    lines = world.worker.log.read_text(errors="replace").splitlines()
    return "\n".join(ln for ln in lines if " INFO " not in ln)[-6000:]


async def main(args: argparse.Namespace) -> int:
    async with bench_world(postgres_admin=postgres_admin(args)) as world:
        templates = await open_templates(world)
        t0 = time.monotonic()
        users = await clone(world, templates, args.positions - len(templates), args.per_user)
        total = args.positions
        print(
            f"monitor_capacity: {total} open positions of {users + len(templates)} users"
            f" (seeded in {time.monotonic() - t0:.0f} s); database"
            f" {world.settings.database_url.split(':')[0]}; cores {len(os.sched_getaffinity(0))}"
        )
        print(
            f"{'cycle':>5} {'wall s':>8} {'evaluated':>10} {'errors':>7} {'exits':>6}"
            f" {'rebal':>6} {'worker cpu s':>13} {'emulators cpu s':>16} {'per 30 s':>10}"
        )
        worst = None
        for i in range(args.cycles):
            c = await timed_cycle(world, MonitorCycleWorkflow.run, f"monitor-bench-{i}")
            report: MonitorReport = c.report
            per_30 = report.evaluated * 30 / c.wall_s
            worst = per_30 if worst is None else min(worst, per_30)
            print(
                f"{i + 1:>5} {c.wall_s:>8.1f} {report.evaluated:>10} {report.errors:>7}"
                f" {report.exits_started:>6} {report.rebalances:>6}"
                f" {c.worker_cpu_s:>13.1f} {c.emulators_cpu_s:>16.1f} {per_30:>10.0f}"
            )
            if report.evaluated != total or report.errors:
                print(f"  not every position was evaluated: {report}")
                print(_worker_errors(world))
                return 1
        print(f"capacity (worst cycle): {worst:.0f} positions per 30 s cycle (target 10,000)")
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--positions", type=int, default=10_000)
    ap.add_argument("--per-user", type=int, default=1, help="positions per user (default 1)")
    ap.add_argument("--cycles", type=int, default=3)
    database_options(ap)
    a = ap.parse_args()
    hard_exit(asyncio.run(main(a)))
