"""Reconciliation: what the venues hold against what the database says.

Per user account: the Hyperliquid SOL-PERP position against the sum of the user's open shorts,
and the Asgard positions of the wallet against the open longs' PDAs. A difference is never
read as "flat": the positions it touches are halted for an operator (status, reason, audit
event), and the report says what differs. Accounts with an open or close in flight (other than
the caller's own) are not judged: their legs are legitimately moving.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.errors import venue_call
from activities.market import COIN
from basis.clock import Clock, utc_now
from models.domain import LegSide, PositionStatus
from models.messages import Mismatch, ReconcileReport, ReconcileRequest
from models.tables import AuditEvent, Leg, Position
from venues.asgard.client import AsgardClient
from venues.hyperliquid.venue import HyperliquidVenue
from wallets.provider import WalletProvider

HALF_LOT = Decimal("0.005")
_SETTLED = (PositionStatus.OPEN, PositionStatus.HALTED)
_IN_FLIGHT = (PositionStatus.OPENING, PositionStatus.CLOSING)


class ReconcileActivities:
    def __init__(
        self,
        *,
        hyperliquid: HyperliquidVenue,
        asgard: AsgardClient,
        wallets: WalletProvider,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock = utc_now,
    ) -> None:
        self._hl = hyperliquid
        self._asgard = asgard
        self._wallets = wallets
        self._sessions = sessions
        self._clock = clock

    @activity.defn(name="users_with_positions")
    async def users_with_positions(self) -> list[uuid.UUID]:
        async with self._sessions() as s:
            rows = await s.exec(
                select(Position.user_id)
                .where(col(Position.status).in_([*_SETTLED, *_IN_FLIGHT]))
                .distinct()
            )
            return sorted(rows.all())

    @activity.defn(name="reconcile_user")
    async def reconcile_user(self, req: ReconcileRequest) -> ReconcileReport:
        positions, legs = await self._load(req.user_id)
        busy = [p.id for p in positions if p.status in _IN_FLIGHT and p.id != req.exclude_position]
        if busy:
            return ReconcileReport(
                user_id=req.user_id,
                consistent=True,
                skipped=f"{len(busy)} open or close in flight",
            )
        # The caller's own position counts as settled: its legs are on the venues as recorded.
        settled = [p for p in positions if p.status in _SETTLED or p.id == req.exclude_position]
        try:
            w = await self._wallets.addresses(req.user_id)
        except LookupError:
            return ReconcileReport(user_id=req.user_id, consistent=True, skipped="no wallets")
        async with venue_call():
            state = await self._hl.user_state(w.evm_address)
            venue_longs = await self._asgard.positions(w.solana_address, "open")
        mismatches: list[Mismatch] = []

        # Hyperliquid: one position per account backs all of the user's shorts.
        held = -(pos.size) if (pos := state.position(COIN)) is not None else Decimal(0)
        expected = sum(
            (legs[p.id][LegSide.SHORT].size for p in settled if LegSide.SHORT in legs[p.id]),
            Decimal(0),
        )
        if abs(held - expected) > HALF_LOT:
            detail = f"account holds {held} SOL short, the database {expected}"
            # Which position is wrong cannot be told apart: every one of them is suspect.
            targets: list[uuid.UUID | None] = [p.id for p in settled] or [None]
            mismatches += [
                Mismatch(position_id=t, venue="hyperliquid", detail=detail) for t in targets
            ]

        # Asgard: each open long's PDA must be an active position of the wallet, and the
        # wallet must hold no active position the database does not know.
        active = {v.pda for v in venue_longs}
        known = {
            legs[p.id][LegSide.LONG].venue_ref
            for p in positions
            if LegSide.LONG in legs[p.id] and legs[p.id][LegSide.LONG].venue_ref
        }
        for p in settled:
            pda = legs[p.id].get(LegSide.LONG)
            ref = pda.venue_ref if pda else None
            if ref and ref not in active:
                mismatches.append(
                    Mismatch(
                        position_id=p.id,
                        venue="asgard",
                        detail=f"long {ref} is not active on Asgard (closed or liquidated)",
                    )
                )
        for orphan in sorted(active - known):
            if req.exclude_position is None:
                mismatches.append(
                    Mismatch(
                        position_id=None,
                        venue="asgard",
                        detail=f"Asgard holds position {orphan} the database does not know",
                    )
                )
        halted = await self._halt(req, mismatches)
        return ReconcileReport(
            user_id=req.user_id,
            consistent=not mismatches,
            mismatches=mismatches,
            halted=halted,
        )

    async def _load(
        self, user_id: uuid.UUID
    ) -> tuple[list[Position], dict[uuid.UUID, dict[LegSide, Leg]]]:
        async with self._sessions() as s:
            positions = list(
                (
                    await s.exec(
                        select(Position).where(
                            Position.user_id == user_id,
                            col(Position.status).in_([*_SETTLED, *_IN_FLIGHT]),
                        )
                    )
                ).all()
            )
            ids = [p.id for p in positions]
            legs: dict[uuid.UUID, dict[LegSide, Leg]] = {i: {} for i in ids}
            for leg in (await s.exec(select(Leg).where(col(Leg.position_id).in_(ids)))).all():
                legs[leg.position_id][LegSide(leg.side)] = leg
        return positions, legs

    async def _halt(self, req: ReconcileRequest, mismatches: list[Mismatch]) -> list[uuid.UUID]:
        """Halt every open position a mismatch names; record account-level ones."""
        if not mismatches:
            return []
        halted: list[uuid.UUID] = []
        now = self._clock()
        info = activity.info() if activity.in_activity() else None
        async with self._sessions() as s, s.begin():
            for m in mismatches:
                if m.position_id is not None:
                    p = await s.get(Position, m.position_id, with_for_update=True)
                    if p is None or p.status is not PositionStatus.OPEN:
                        continue
                    p.status = PositionStatus.HALTED
                    p.halt_reason = f"reconciliation ({req.context}): {m.detail}"[:1000]
                    p.updated_at = now
                    s.add(p)
                    halted.append(p.id)
                s.add(
                    AuditEvent(
                        occurred_at=now,
                        actor="reconciliation",
                        user_id=req.user_id,
                        action="reconciliation_mismatch",
                        entity_type="position" if m.position_id else "account",
                        entity_id=str(m.position_id or req.user_id),
                        details={"venue": m.venue, "detail": m.detail, "context": req.context},
                        correlation_id=info.workflow_id if info else None,
                    )
                )
        return halted
