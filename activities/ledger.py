"""Ledger activities: positions, legs, fills and intents in the database, with their audit
events. Every write is idempotent, so a retried activity (or a replayed workflow) finds its
earlier effect instead of doing it twice."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.guard import Guard, Refusal
from basis.clock import Clock, utc_now
from models.domain import (
    IntentStatus,
    LegSide,
    LegStatus,
    OrderSide,
    PositionStatus,
    Venue,
)
from models.messages import (
    CloseSettlement,
    CloseStart,
    IntentStatusChange,
    LegFill,
    OpenPositionInput,
    RebalanceResult,
)
from models.risk import RiskParams
from models.tables import AuditEvent, Fill, Intent, Leg, Position


class PositionNotFound(LookupError):
    pass


def _order_side(fill: LegFill) -> OrderSide:
    buys = (fill.side is LegSide.LONG) != fill.reduces
    return OrderSide.BUY if buys else OrderSide.SELL


class LedgerActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        risk: RiskParams,
        clock: Clock = utc_now,
    ):
        self._sessions = sessions
        self._clock = clock
        self._guard = Guard(sessions, risk, clock)

    # ---- helpers ---------------------------------------------------------------------------

    def _audit(
        self,
        session: AsyncSession,
        position: Position,
        action: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        info = activity.info() if activity.in_activity() else None
        session.add(
            AuditEvent(
                occurred_at=self._clock(),
                actor="engine",
                user_id=position.user_id,
                action=action,
                entity_type="position",
                entity_id=str(position.id),
                details=details or {},
                correlation_id=info.workflow_id if info else None,
            )
        )

    async def _position(self, session: AsyncSession, pid: uuid.UUID) -> Position:
        row = await session.get(Position, pid, with_for_update=True)
        if row is None:
            raise PositionNotFound(f"position {pid} does not exist")
        return row

    async def _legs(self, session: AsyncSession, pid: uuid.UUID) -> dict[LegSide, Leg]:
        rows = (await session.exec(select(Leg).where(Leg.position_id == pid))).all()
        return {LegSide(r.side): r for r in rows}

    # ---- open ------------------------------------------------------------------------------

    @activity.defn(name="create_position")
    async def create_position(self, inp: OpenPositionInput) -> None:
        """The position and its two pending legs, once, on the terms of the intent it
        executes: refused (non-retryably, audited) unless that intent is the named user's and
        is executing this position with these terms within every limit."""
        now = self._clock()
        try:
            async with self._sessions() as s, s.begin():
                intent = await self._guard.verify_open(s, inp)
                existing = await s.get(Position, inp.position_id)
                if existing is not None:
                    if existing.user_id != intent.user_id or existing.intent_id != intent.id:
                        raise Refusal(
                            f"position {inp.position_id} exists for another intent",
                            existing.user_id,
                        )
                    return
                p = Position(
                    id=inp.position_id,
                    user_id=intent.user_id,
                    intent_id=intent.id,
                    asset=intent.asset,
                    leverage=intent.leverage,
                    capital_usd=intent.capital_usd,
                    status=PositionStatus.OPENING,
                    created_at=now,
                    updated_at=now,
                )
                s.add(p)
                await s.flush()
                s.add(
                    Leg(
                        position_id=p.id,
                        venue=Venue.ASGARD,
                        side=LegSide.LONG,
                        instrument=p.asset.value,
                        leverage=p.leverage,
                        updated_at=now,
                    )
                )
                s.add(
                    Leg(
                        position_id=p.id,
                        venue=Venue.HYPERLIQUID,
                        side=LegSide.SHORT,
                        instrument="SOL-PERP",
                        leverage=p.leverage,
                        updated_at=now,
                    )
                )
                self._audit(
                    s,
                    p,
                    "position_opening",
                    {
                        "asset": p.asset.value,
                        "leverage": p.leverage,
                        "capital": p.capital_usd,
                        "intent_id": str(intent.id),
                    },
                )
        except IntegrityError:
            return  # created concurrently by a retry of this very activity
        except Refusal as refusal:
            await self._guard.refuse_open(inp, refusal)

    @activity.defn(name="record_leg_fills")
    async def record_leg_fills(self, position_id: uuid.UUID, fills: list[LegFill]) -> None:
        """Fills keyed by (venue, order ref): a fill already recorded changes nothing. The leg's
        open size moves with each new fill."""
        async with self._sessions() as s, s.begin():
            p = await self._position(s, position_id)
            legs = await self._legs(s, position_id)
            for f in fills:
                known = await s.exec(
                    select(Fill.id).where(Fill.venue == f.venue, Fill.venue_fill_id == f.order_ref)
                )
                if known.first() is not None:
                    continue
                leg = legs[f.side]
                s.add(
                    Fill(
                        position_id=position_id,
                        leg_id=leg.id,
                        venue=f.venue,
                        venue_fill_id=f.order_ref,
                        client_order_id=f.order_ref,
                        side=_order_side(f),
                        price=f.avg_price,
                        size=f.size,
                        fee_usd=f.fee_usd,
                        occurred_at=f.filled_at,
                    )
                )
                leg.size = leg.size - f.size if f.reduces else leg.size + f.size
                if leg.size < 0:
                    leg.size = Decimal(0)
                if f.venue_ref:
                    leg.venue_ref = f.venue_ref
                if f.details and not f.reduces:
                    # Reassign (not mutate) so the JSON column is seen as changed.
                    leg.venue_details = {
                        **leg.venue_details,
                        **{k: format(v, "f") for k, v in f.details.items()},
                    }
                if not f.reduces and leg.status is LegStatus.PENDING:
                    leg.status = LegStatus.OPEN
                    leg.opened_at = f.filled_at
                if f.reduces and leg.size == 0:
                    leg.status = LegStatus.CLOSED
                    leg.exit_price = f.avg_price
                    leg.closed_at = f.filled_at
                leg.updated_at = self._clock()
                s.add(leg)
            p.updated_at = self._clock()
            s.add(p)

    @activity.defn(name="record_position_open")
    async def record_position_open(
        self, position_id: uuid.UUID, long: LegFill, short: LegFill
    ) -> None:
        async with self._sessions() as s, s.begin():
            p = await self._position(s, position_id)
            if p.status is PositionStatus.OPEN:
                return
            legs = await self._legs(s, position_id)
            for leg, fill in ((legs[LegSide.LONG], long), (legs[LegSide.SHORT], short)):
                leg.status = LegStatus.OPEN
                leg.entry_price = fill.avg_price
                leg.notional_usd = fill.notional_usd
                leg.opened_at = leg.opened_at or fill.filled_at
                leg.updated_at = self._clock()
                s.add(leg)
            p.status = PositionStatus.OPEN
            if long.protocol is not None:  # Marginfi is protocol 0: never test it for truth
                p.protocol = long.protocol
            p.entry_price = long.avg_price
            p.opened_at = short.filled_at
            p.updated_at = self._clock()
            s.add(p)
            self._audit(
                s,
                p,
                "position_opened",
                {
                    "long_size": long.size,
                    "long_price": long.avg_price,
                    "short_size": short.size,
                    "short_price": short.avg_price,
                },
            )

    @activity.defn(name="record_position_failed")
    async def record_position_failed(self, position_id: uuid.UUID, reason: str) -> None:
        async with self._sessions() as s, s.begin():
            p = await self._position(s, position_id)
            if p.status is PositionStatus.FAILED:
                return
            for leg in (await self._legs(s, position_id)).values():
                if leg.status is not LegStatus.CLOSED:
                    leg.status = LegStatus.FAILED if leg.size == 0 else leg.status
                    leg.updated_at = self._clock()
                    s.add(leg)
            p.status = PositionStatus.FAILED
            p.close_reason = reason[:200]
            p.closed_at = self._clock()
            p.updated_at = self._clock()
            s.add(p)
            self._audit(s, p, "position_failed", {"reason": reason})

    @activity.defn(name="halt_position")
    async def halt_position(self, position_id: uuid.UUID, reason: str) -> None:
        async with self._sessions() as s, s.begin():
            p = await self._position(s, position_id)
            if p.status is PositionStatus.HALTED and p.halt_reason == reason[:1000]:
                return
            p.status = PositionStatus.HALTED
            p.halt_reason = reason[:1000]
            p.updated_at = self._clock()
            s.add(p)
            self._audit(s, p, "position_halted", {"reason": reason})

    # ---- close -----------------------------------------------------------------------------

    async def _owned(self, action: str, position_id: uuid.UUID, user_id: uuid.UUID | None) -> None:
        """Refuse (for good, audited) a workflow naming a position its user does not own."""
        async with self._sessions() as s:
            p = await s.get(Position, position_id)
        problem = None
        if p is None:
            problem = f"position {position_id} does not exist"
        elif user_id is None:
            problem = f"{action} names no user"
        elif p.user_id != user_id:
            problem = f"position {position_id} is not user {user_id}'s"
        if problem is not None:
            await self._guard.refuse(
                action,
                problem,
                claimed_user=user_id,
                owner=p.user_id if p is not None else None,
                entity_type="position",
                entity_id=str(position_id),
            )

    @activity.defn(name="begin_close")
    async def begin_close(
        self, position_id: uuid.UUID, reason: str, by: str, user_id: uuid.UUID | None = None
    ) -> CloseStart:
        """Move an open position to CLOSING (once) and report what the database holds; only
        for the position's owner, so a close started around the API cannot even halt it."""
        await self._owned("begin_close", position_id, user_id)
        async with self._sessions() as s, s.begin():
            p = await self._position(s, position_id)
            if p.status is PositionStatus.OPEN:
                p.status = PositionStatus.CLOSING
                p.close_reason = reason[:200]
                p.updated_at = self._clock()
                s.add(p)
                self._audit(s, p, "close_requested", {"reason": reason, "by": by})
            legs = await self._legs(s, position_id)
            short = legs.get(LegSide.SHORT)
            return CloseStart(
                status=PositionStatus(p.status),
                asset=p.asset,
                short_size=short.size if short else Decimal(0),
            )

    @activity.defn(name="position_state")
    async def position_state(
        self, position_id: uuid.UUID, user_id: uuid.UUID | None = None
    ) -> CloseStart:
        """The position's status, asset and short size as the database holds them (for its
        owner only)."""
        await self._owned("position_state", position_id, user_id)
        async with self._sessions() as s:
            p = await s.get(Position, position_id)
            if p is None:
                raise PositionNotFound(f"position {position_id} does not exist")
            short = (await self._legs(s, position_id)).get(LegSide.SHORT)
            return CloseStart(
                status=PositionStatus(p.status),
                asset=p.asset,
                short_size=short.size if short else Decimal(0),
            )

    @activity.defn(name="record_rebalance")
    async def record_rebalance(self, result: RebalanceResult) -> None:
        async with self._sessions() as s, s.begin():
            p = await self._position(s, result.position_id)
            action = "rebalanced" if result.actions else "rebalance_skipped"
            self._audit(s, p, action, result.model_dump(mode="json"))

    @activity.defn(name="record_position_closed")
    async def record_position_closed(
        self, position_id: uuid.UUID, settlement: CloseSettlement, reason: str
    ) -> None:
        async with self._sessions() as s, s.begin():
            p = await self._position(s, position_id)
            if p.status is PositionStatus.CLOSED:
                return
            now = self._clock()
            for leg in (await self._legs(s, position_id)).values():
                leg.status = LegStatus.CLOSED
                leg.size = Decimal(0)
                leg.closed_at = leg.closed_at or now
                leg.updated_at = now
                s.add(leg)
            pnl = settlement.pnl
            p.status = PositionStatus.CLOSED
            p.exit_price = settlement.exit_price
            p.pnl_funding_usd = pnl.funding
            p.pnl_staking_usd = pnl.staking
            p.pnl_lending_usd = pnl.lending
            p.pnl_borrow_usd = pnl.borrow
            p.pnl_price_usd = pnl.price
            p.pnl_fees_usd = pnl.fees
            p.realised_pnl_usd = pnl.total
            p.close_reason = reason[:200]
            p.closed_at = now
            p.updated_at = now
            s.add(p)
            self._audit(s, p, "position_closed", {"reason": reason, **pnl.model_dump()})

    # ---- intents ---------------------------------------------------------------------------

    @activity.defn(name="set_intent_status")
    async def set_intent_status(self, change: IntentStatusChange) -> None:
        """Refused for good (and audited) for an intent the database does not hold, or holds
        for another user: an intent workflow started around the API moves nobody's intent."""
        try:
            await self._set_intent_status(change)
        except Refusal as refusal:
            await self._guard.refuse(
                "set_intent_status",
                refusal.reason,
                claimed_user=change.user_id,
                owner=refusal.owner,
                entity_type="intent",
                entity_id=str(change.intent_id),
                details={"status": change.status.value},
            )

    async def _set_intent_status(self, change: IntentStatusChange) -> None:
        async with self._sessions() as s, s.begin():
            row = await s.get(Intent, change.intent_id, with_for_update=True)
            if row is None:
                raise Refusal(f"intent {change.intent_id} does not exist")
            if change.user_id is not None and row.user_id != change.user_id:
                raise Refusal(f"intent {row.id} is not user {change.user_id}'s", row.user_id)
            if IntentStatus(row.status).is_terminal and row.status != change.status:
                # A terminal intent never moves again (a late retry must not resurrect it).
                return
            changed = row.status != change.status
            row.status = change.status
            row.position_id = change.position_id or row.position_id
            row.failure_reason = change.failure_reason
            row.updated_at = self._clock()
            s.add(row)
            if changed:
                info = activity.info() if activity.in_activity() else None
                s.add(
                    AuditEvent(
                        occurred_at=self._clock(),
                        actor="engine",
                        user_id=row.user_id,
                        action=f"intent_{change.status.value}",
                        entity_type="intent",
                        entity_id=str(row.id),
                        details={
                            "position_id": change.position_id,
                            "reason": change.failure_reason,
                            "last_check": change.last_check,
                        },
                        correlation_id=info.workflow_id if info else None,
                    )
                )
