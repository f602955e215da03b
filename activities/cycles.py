"""Cycle activities: the intent scan and the position monitor, batched.

Scale is the point here. One market snapshot serves a whole cycle; the scan evaluates every
pending intent against it in pages and wakes only those whose market criteria hold (the woken
intent re-checks with the user's balances). The monitor observes positions by slices of
accounts: one Hyperliquid account read per user and one Asgard refresh per slice, then the
strategy's rules per position, with the state they carry between cycles kept in the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError

from activities.entry import criteria_of
from activities.errors import venue_call
from activities.market import COIN, MarketObserver
from basis.clock import Clock, utc_now
from models.domain import Chain, IntentStatus, LegSide, PositionStatus, Protocol
from models.intents import intent_input
from models.messages import (
    EngineConfig,
    ExitOrder,
    MonitorBatchResult,
    MonitorPlan,
    MonitorRange,
    RebalanceOrder,
    ScanReport,
)
from models.risk import RiskParams
from models.tables import (
    Intent,
    Leg,
    MarketSnapshotRecord,
    MonitorStateRecord,
    Position,
    PositionSnapshot,
    Wallet,
)
from strategy.decisions import Denied, Exit, Rebalance, Urgency
from strategy.entry import AccountState, evaluate_entry
from strategy.market import MarketSnapshot
from strategy.monitor import MonitorState, PositionObservation, evaluate_position
from venues.asgard.client import AsgardClient
from venues.asgard.errors import PositionNotFound
from venues.asgard.models import PositionHealth
from venues.hyperliquid.types import UserState
from venues.hyperliquid.venue import HyperliquidVenue

log = logging.getLogger(__name__)

SCAN_PAGE = 1000
ACCOUNTS_PER_BATCH = 200
ASGARD_REFRESH_CHUNK = 100
HL_CONCURRENCY = 32
SNAPSHOT_RETENTION = timedelta(days=1)


class CycleActivities:
    def __init__(
        self,
        *,
        risk: RiskParams,
        market: MarketObserver,
        hyperliquid: HyperliquidVenue,
        asgard: AsgardClient,
        sessions: async_sessionmaker[AsyncSession],
        temporal: Client,
        clock: Clock = utc_now,
    ) -> None:
        self._risk = risk
        self._market = market
        self._hl = hyperliquid
        self._asgard = asgard
        self._sessions = sessions
        self._temporal = temporal
        self._clock = clock
        self._snapshots: dict[str, MarketSnapshot] = {}

    # ---- intent scan -----------------------------------------------------------------------

    @activity.defn(name="scan_intents")
    async def scan_intents(self, cfg: EngineConfig) -> ScanReport:
        started = time.perf_counter()
        async with venue_call():
            snap = await self._market.snapshot(fresh=True)
        now = self._clock()
        evaluated, woken, skipped = 0, 0, Counter[str]()
        after: uuid.UUID | None = None
        while True:
            page = await self._pending_intents(after, now)
            if not page:
                break
            after = page[-1].id
            to_wake = []
            for intent in page:
                evaluated += 1
                decision = evaluate_entry(
                    criteria_of(intent_input(intent, cfg)),
                    snap,
                    # The scan screens the market criteria only; the woken intent re-checks with
                    # its real balances before anything opens.
                    AccountState(
                        asgard_available_usd=intent.capital_usd,
                        hyperliquid_available_usd=intent.capital_usd,
                    ),
                    self._risk,
                    now,
                )
                if isinstance(decision, Denied):
                    skipped[decision.reason.value] += 1
                else:
                    to_wake.append(intent.id)
            woken += await self._wake(to_wake)
            if activity.in_activity():
                activity.heartbeat(evaluated)
        return ScanReport(
            evaluated=evaluated,
            woken=woken,
            skipped=dict(skipped),
            market_at=snap.at,
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    async def _pending_intents(self, after: uuid.UUID | None, now: datetime) -> list[Intent]:
        async with self._sessions() as s:
            q = select(Intent).where(
                Intent.status == IntentStatus.PENDING, col(Intent.execute_immediately).is_(False)
            )
            if after is not None:
                q = q.where(col(Intent.id) > after)
            return list((await s.exec(q.order_by(col(Intent.id)).limit(SCAN_PAGE))).all())

    async def _wake(self, intent_ids: list[uuid.UUID]) -> int:
        async def one(iid: uuid.UUID) -> bool:
            try:
                await self._temporal.get_workflow_handle(f"intent-{iid}").signal("wake", "scan")
            except RPCError as exc:  # ended meanwhile: nothing to wake
                log.info("intent %s not woken: %s", iid, exc)
                return False
            return True

        results = []
        for i in range(0, len(intent_ids), 50):
            results += await asyncio.gather(*(one(i_) for i_ in intent_ids[i : i + 50]))
        return sum(results)

    # ---- monitor ---------------------------------------------------------------------------

    @activity.defn(name="plan_monitor")
    async def plan_monitor(self, cfg: EngineConfig) -> MonitorPlan:
        """Take the cycle's market snapshot and cut the accounts with open positions into
        slices for the batch activities."""
        async with venue_call():
            snap = await self._market.snapshot(fresh=True)
        ref = f"ms-{uuid.uuid4().hex}"
        async with self._sessions() as s, s.begin():
            s.add(MarketSnapshotRecord(id=ref, taken_at=snap.at, data=snap.model_dump(mode="json")))
            await s.exec(
                delete(MarketSnapshotRecord).where(
                    col(MarketSnapshotRecord.taken_at) < snap.at - SNAPSHOT_RETENTION
                )
            )
        self._snapshots = {ref: snap}
        async with self._sessions() as s:
            rows = (
                await s.exec(
                    select(Position.user_id)
                    .where(Position.status == PositionStatus.OPEN)
                    .order_by(col(Position.user_id))
                )
            ).all()
        users = sorted(set(rows))
        bounds = users[::ACCOUNTS_PER_BATCH]
        ranges = [
            MonitorRange(lo=lo, hi=bounds[i + 1] if i + 1 < len(bounds) else None)
            for i, lo in enumerate(bounds)
        ]
        return MonitorPlan(market_ref=ref, ranges=ranges, positions=len(rows))

    async def _snapshot(self, ref: str) -> MarketSnapshot:
        snap = self._snapshots.get(ref)
        if snap is None:
            async with self._sessions() as s:
                rec = await s.get(MarketSnapshotRecord, ref)
            if rec is None:
                raise LookupError(f"market snapshot {ref} is gone")
            snap = MarketSnapshot.model_validate(rec.data)
            self._snapshots = {ref: snap}
        return snap

    @activity.defn(name="monitor_batch")
    async def monitor_batch(
        self, market_ref: str, rng: MonitorRange, cfg: EngineConfig
    ) -> MonitorBatchResult:
        snap = await self._snapshot(market_ref)
        positions, legs, wallets, states = await self._load(rng)
        if not positions:
            return MonitorBatchResult(evaluated=0)
        async with venue_call():
            hl_states, health = await asyncio.gather(
                self._hl_states({wallets[p.user_id] for p in positions if p.user_id in wallets}),
                self._refresh(positions, legs, snap),
            )
        now = self._clock()
        short_by_user: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
        for p in positions:
            short_by_user[p.user_id] += legs[p.id][LegSide.SHORT].size
        exits: list[ExitOrder] = []
        rebalances: list[RebalanceOrder] = []
        errors = warnings = 0
        new_states: dict[uuid.UUID, MonitorState] = {}
        snapshots: list[PositionSnapshot] = []
        for p in positions:
            long_leg, short_leg = legs[p.id][LegSide.LONG], legs[p.id][LegSide.SHORT]
            h = health.get(long_leg.venue_ref or "")
            hl = hl_states.get(wallets.get(p.user_id, ""))
            if h is None or hl is None:
                errors += 1  # a venue did not report this position: hold, next cycle retries
                continue
            obs = _observation(p, short_leg.size, short_by_user[p.user_id], h, hl, now)
            ev = evaluate_position(obs, snap, states.get(p.id, MonitorState()), self._risk, now)
            new_states[p.id] = ev.state
            d = ev.decision
            if isinstance(d, Exit):
                exits.append(
                    ExitOrder(
                        position_id=p.id,
                        user_id=p.user_id,
                        reason=d.reason.value,
                        urgent=d.urgency is not Urgency.NORMAL,
                    )
                )
            elif isinstance(d, Rebalance):
                rebalances.append(
                    RebalanceOrder(
                        position_id=p.id,
                        user_id=p.user_id,
                        reason=d.reason.value,
                        transfer_usd=d.transfer_usd,
                        target_short_size=d.target_short_size,
                        config=cfg,
                    )
                )
            else:
                warnings += len(d.alerts)
            snapshots.append(
                _snapshot_row(
                    p, obs, snap, ev.health_factor, ev.margin_fraction, ev.carry_apy, d.kind, now
                )
            )
        await self._save(new_states, snapshots, now)
        return MonitorBatchResult(
            evaluated=len(new_states),
            exits=exits,
            rebalances=rebalances,
            warnings=warnings,
            errors=errors,
        )

    async def _load(
        self, rng: MonitorRange
    ) -> tuple[
        list[Position],
        dict[uuid.UUID, dict[LegSide, Leg]],
        dict[uuid.UUID, str],
        dict[uuid.UUID, MonitorState],
    ]:
        async with self._sessions() as s:
            q = select(Position).where(Position.status == PositionStatus.OPEN)
            if rng.lo is not None:
                q = q.where(col(Position.user_id) >= rng.lo)
            if rng.hi is not None:
                q = q.where(col(Position.user_id) < rng.hi)
            positions = list((await s.exec(q)).all())
            ids = [p.id for p in positions]
            users = list({p.user_id for p in positions})
            legs: dict[uuid.UUID, dict[LegSide, Leg]] = defaultdict(dict)
            for leg in (await s.exec(select(Leg).where(col(Leg.position_id).in_(ids)))).all():
                legs[leg.position_id][LegSide(leg.side)] = leg
            wallets = {
                w.user_id: w.address
                for w in (
                    await s.exec(
                        select(Wallet).where(
                            col(Wallet.user_id).in_(users), Wallet.chain == Chain.EVM
                        )
                    )
                ).all()
            }
            states = {
                r.position_id: MonitorState.model_validate(r.state)
                for r in (
                    await s.exec(
                        select(MonitorStateRecord).where(
                            col(MonitorStateRecord.position_id).in_(ids)
                        )
                    )
                ).all()
            }
        complete = [p for p in positions if {LegSide.LONG, LegSide.SHORT} <= set(legs[p.id])]
        return complete, legs, wallets, states

    async def _hl_states(self, addresses: set[str]) -> dict[str, UserState]:
        limit = asyncio.Semaphore(HL_CONCURRENCY)

        async def one(addr: str) -> tuple[str, UserState]:
            async with limit:
                return addr, await self._hl.user_state(addr)

        return dict(await asyncio.gather(*(one(a) for a in addresses)))

    async def _refresh(
        self,
        positions: list[Position],
        legs: dict[uuid.UUID, dict[LegSide, Leg]],
        snap: MarketSnapshot,
    ) -> dict[str, PositionHealth]:
        # A position without its protocol or its PDA cannot be read: it goes unreported and
        # the batch counts it as an error (held, retried next cycle).
        refs = [
            (p.protocol, ref)
            for p in positions
            if p.protocol is not None and (ref := legs[p.id][LegSide.LONG].venue_ref)
        ]
        ltv = {t.protocol: t.liquidation_ltv for t in snap.protocols}
        chunks = [
            refs[i : i + ASGARD_REFRESH_CHUNK] for i in range(0, len(refs), ASGARD_REFRESH_CHUNK)
        ]
        out: dict[str, PositionHealth] = {}
        for got in await asyncio.gather(*(self._refresh_chunk(c, ltv) for c in chunks)):
            out.update({h.pda: h for h in got})
        return out

    async def _refresh_chunk(
        self, refs: list[tuple[Protocol, str]], ltv: dict[Protocol, Decimal]
    ) -> list[PositionHealth]:
        """One refresh call for the chunk. The venue refuses the whole call when one position
        is unknown to it: then halves are asked apart, so one missing position costs a few
        calls and leaves the others monitored, instead of blinding its whole batch."""
        try:
            return await self._asgard.refresh_positions(refs, liquidation_ltv=ltv)
        except PositionNotFound as exc:
            if len(refs) == 1:
                log.warning("monitor: Asgard does not know position %s: %s", refs[0][1], exc)
                return []
        mid = len(refs) // 2
        first, second = await asyncio.gather(
            self._refresh_chunk(refs[:mid], ltv), self._refresh_chunk(refs[mid:], ltv)
        )
        return first + second

    async def _save(
        self,
        states: dict[uuid.UUID, MonitorState],
        snapshots: list[PositionSnapshot],
        now: datetime,
    ) -> None:
        async with self._sessions() as s, s.begin():
            existing = {
                r.position_id: r
                for r in (
                    await s.exec(
                        select(MonitorStateRecord).where(
                            col(MonitorStateRecord.position_id).in_(list(states))
                        )
                    )
                ).all()
            }
            for pid, st in states.items():
                row = existing.get(pid) or MonitorStateRecord(
                    position_id=pid, updated_at=self._clock()
                )
                row.state = st.model_dump(mode="json")
                row.updated_at = self._clock()
                s.add(row)
            s.add_all(snapshots)


def _observation(
    p: Position,
    short_size: Decimal,
    user_short_total: Decimal,
    h: PositionHealth,
    hl: UserState,
    now: datetime,
) -> PositionObservation:
    pos = hl.position(COIN)
    # One Hyperliquid position backs all of a user's shorts: this position's share of it.
    share = short_size / user_short_total if user_short_total > 0 else Decimal(0)
    equity = Decimal(0)
    if pos is not None:
        equity = (pos.margin_used + pos.unrealized_pnl) * share
    return PositionObservation(
        asset=p.asset,
        protocol=h.protocol,
        leverage=p.leverage,
        collateral_tokens=h.collateral,
        debt_usd=h.debt,
        short_size=short_size,
        short_equity_usd=equity,
        health_factor=h.health_factor,
        observed_at=now,
    )


def _snapshot_row(
    p: Position,
    obs: PositionObservation,
    snap: MarketSnapshot,
    health: Decimal,
    margin: Decimal,
    carry: Decimal | None,
    decision: str,
    now: datetime,
) -> PositionSnapshot:
    long_value = obs.collateral_tokens * snap.asset_price_usd(p.asset)
    short_value = obs.short_size * snap.perp_mark
    equity = long_value - obs.debt_usd + obs.short_equity_usd
    return PositionSnapshot(
        position_id=p.id,
        taken_at=now,
        sol_price=snap.sol_price,
        long_value_usd=long_value,
        short_value_usd=short_value,
        health_factor=health,
        margin_fraction=margin,
        delta_usd=long_value - short_value,
        unrealised_pnl_usd=equity - p.capital_usd,
        net_apy=carry,
        decision=decision,
    )
