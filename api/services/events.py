"""The per-user event stream (server-sent events), sourced from the database.

Workflows and activities already write everything a user should hear about: the audit log
(positions opening, opened, closing, closed, halted, rebalanced; intents changing; pause and
resume), monitoring snapshots (``position_snapshots``) and the market view of each monitor
cycle (``market_snapshots``). A stream polls those with a cursor, so any number of API
instances serve streams with no broker between them, and every query is scoped to the one
user the stream belongs to: isolation holds by construction, not by filtering a shared feed.

Ids: a database's autoincrement ids are assigned at insert but become visible at commit, so a
row with a smaller id can appear after a larger one was read. Each poll therefore looks back
``REWIND`` ids behind its cursor and skips what it already sent.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import and_, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.services import balances
from api.venues import VenueReader, VenueUnavailable
from basis.clock import Clock
from basis.config import Settings
from basis.db import json_dumps
from models.domain import GLOBAL_SCOPE, user_scope
from models.tables import (
    AuditEvent,
    ControlState,
    MarketSnapshotRecord,
    Position,
    PositionSnapshot,
)
from strategy.carry import rank_opportunities
from strategy.market import MarketSnapshot
from wallets.keystore import UserWallets

log = logging.getLogger(__name__)

EVENT_TYPES = (
    "position_opened",
    "position_closed",
    "position_update",
    "rate_update",
    "bot_status",
    "balance_update",
    "ping",
    "error",
)
REWIND = 1000
PAGE = 200
_CURSOR = re.compile(r"^(\d{1,19})-(\d{1,19})$")
_CONTROL_ACTIONS = {"pause", "resume", "emergency_stop"}


@dataclass
class Cursor:
    audit: int
    snapshot: int

    def encode(self) -> str:
        return f"{self.audit}-{self.snapshot}"

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        m = _CURSOR.match(value or "")
        return cls(int(m.group(1)), int(m.group(2))) if m else None


def frame(event: str, data: dict[str, Any], event_id: str | None = None) -> str:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append(f"data: {json_dumps({'type': event, **data})}")
    return "\n".join(lines) + "\n\n"


class EventStream:
    """One user's stream. ``alive`` says whether the credential behind it still holds (a
    logout or a revoked token ends the stream)."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        venues: VenueReader,
        wallets: UserWallets | None,
        user_id: uuid.UUID,
        alive: Callable[[], Awaitable[bool]],
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._venues = venues
        self._wallets = wallets
        self._user = user_id
        self._alive = alive
        self._clock = clock
        self._floor = Cursor(0, 0)
        self._seen_audit: set[int] = set()
        self._seen_snap: set[int] = set()
        self._rates_at: datetime | None = None
        self._balances: dict[str, str] | None = None
        self._balance_error: str | None = None

    async def run(self, cursor: Cursor | None) -> AsyncIterator[str]:
        try:
            async for chunk in self._run(cursor):
                yield chunk
        except Exception:  # the headers are sent: say so in the stream, then end it
            log.exception("event stream for %s failed", self._user)
            yield frame("error", {"code": "GEN-0001", "message": "stream failed; reconnect"})

    async def _run(self, cursor: Cursor | None) -> AsyncIterator[str]:
        cfg = self._settings.api.events
        loop = asyncio.get_running_loop()
        deadline = loop.time() + cfg.max_stream_seconds
        if cursor is None:
            cursor = await self._head()
        # Nothing at or before the starting point is sent: the look-back below is for rows
        # that commit late, not a replay of what happened before the stream began.
        self._floor = Cursor(cursor.audit, cursor.snapshot)
        yield f"retry: {int(cfg.poll_seconds * 1000) + 1000}\n\n"
        yield frame("bot_status", await self._bot_status(), cursor.encode())
        next_balance = loop.time()
        last_sent = loop.time()
        while loop.time() < deadline:
            if not await self._alive():
                yield frame("error", {"code": "AUT-0002", "message": "signed out"})
                return
            sent = False
            async for event, data in self._changes(cursor):
                yield frame(event, data, cursor.encode())
                sent = True
                if event in ("position_opened", "position_closed"):
                    next_balance = loop.time()  # money moved: show it
            rates = await self._rates()
            if rates is not None:
                yield frame("rate_update", rates, cursor.encode())
                sent = True
            if loop.time() >= next_balance:
                next_balance = loop.time() + cfg.balance_seconds
                async for event, data in self._balance():
                    yield frame(event, data, cursor.encode())
                    sent = True
            if sent:
                last_sent = loop.time()
            elif loop.time() - last_sent >= cfg.ping_seconds:
                yield frame("ping", {"at": self._clock()}, cursor.encode())
                last_sent = loop.time()
            await asyncio.sleep(min(cfg.poll_seconds, max(0.0, deadline - loop.time())))

    # ---- sources ---------------------------------------------------------------------------

    async def _head(self) -> Cursor:
        async with self._sessions() as s:
            a = (await s.exec(select(func.max(AuditEvent.id)))).one()
            p = (await s.exec(select(func.max(PositionSnapshot.id)))).one()
        return Cursor(int(a or 0), int(p or 0))

    async def _changes(self, cursor: Cursor) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        audit_from = max(self._floor.audit, cursor.audit - REWIND)
        snap_from = max(self._floor.snapshot, cursor.snapshot - REWIND)
        mine = or_(
            col(AuditEvent.user_id) == self._user,
            and_(
                col(AuditEvent.user_id).is_(None),
                col(AuditEvent.entity_type) == "control",
                col(AuditEvent.entity_id) == GLOBAL_SCOPE,
            ),
        )
        async with self._sessions() as s:
            audits = (
                await s.exec(
                    select(AuditEvent)
                    .where(mine, col(AuditEvent.id) > audit_from)
                    .order_by(col(AuditEvent.id))
                    .limit(PAGE)
                )
            ).all()
            snaps = (
                await s.exec(
                    select(PositionSnapshot)
                    .join(Position, col(Position.id) == col(PositionSnapshot.position_id))
                    .where(
                        Position.user_id == self._user,
                        col(PositionSnapshot.id) > snap_from,
                    )
                    .order_by(col(PositionSnapshot.id))
                    .limit(PAGE)
                )
            ).all()
        control_changed = False
        for a in audits:
            assert a.id is not None
            if a.id in self._seen_audit:
                continue
            self._seen_audit.add(a.id)
            cursor.audit = max(cursor.audit, a.id)
            if a.entity_type == "control" and a.action in _CONTROL_ACTIONS:
                control_changed = True
                continue
            mapped = _audit_event(a)
            if mapped is not None:
                yield mapped
        for p in snaps:
            assert p.id is not None
            if p.id in self._seen_snap:
                continue
            self._seen_snap.add(p.id)
            cursor.snapshot = max(cursor.snapshot, p.id)
            yield "position_update", _snapshot(p)
        if control_changed:
            yield "bot_status", await self._bot_status()
        self._seen_audit = {i for i in self._seen_audit if i > cursor.audit - REWIND}
        self._seen_snap = {i for i in self._seen_snap if i > cursor.snapshot - REWIND}

    async def _bot_status(self) -> dict[str, Any]:
        mine = user_scope(self._user)
        async with self._sessions() as s:
            rows = {
                r.scope: r
                for r in (
                    await s.exec(
                        select(ControlState).where(
                            col(ControlState.scope).in_([GLOBAL_SCOPE, mine])
                        )
                    )
                ).all()
            }
        g, u = rows.get(GLOBAL_SCOPE), rows.get(mine)
        return {
            "entries_paused": bool((g and g.paused) or (u and u.paused)),
            "global": {
                "paused": bool(g and g.paused),
                "emergency_stop": bool(g and g.emergency_stop),
                "reason": g.reason if g else None,
            },
            "account": {"paused": bool(u and u.paused), "reason": u.reason if u else None},
        }

    async def _rates(self) -> dict[str, Any] | None:
        async with self._sessions() as s:
            rec = (
                await s.exec(
                    select(MarketSnapshotRecord)
                    .order_by(col(MarketSnapshotRecord.taken_at).desc())
                    .limit(1)
                )
            ).first()
        if rec is None or (self._rates_at is not None and rec.taken_at <= self._rates_at):
            return None
        self._rates_at = rec.taken_at
        try:
            snap = MarketSnapshot.model_validate(rec.data)
        except ValueError:
            return None
        risk = self._settings.risk
        ranked = [o for o in rank_opportunities(snap, risk.leverage.default, risk) if o.eligible]
        best = ranked[0] if ranked else None
        return {
            "at": snap.at,
            "sol_price": snap.sol_price,
            "funding_rate": snap.funding.current,
            "funding_mean_apy": snap.funding.mean_apy,
            "funding_predicted": snap.funding.predicted,
            "best": None
            if best is None
            else {
                "asset": best.asset.value,
                "protocol": best.protocol.protocol.label,
                "leverage": risk.leverage.default,
                "net_apy": best.carry.net_apy,
            },
        }

    async def _balance(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        if self._wallets is None:
            return
        sol, hl = await balances.read(self._venues, self._wallets)
        if isinstance(sol, VenueUnavailable) or isinstance(hl, VenueUnavailable):
            message = "; ".join(
                f"{r.code}: {r}" for r in (sol, hl) if isinstance(r, VenueUnavailable)
            )
            if message != self._balance_error:
                self._balance_error = message
                yield "error", {"code": "NET-0002", "message": f"balances: {message}"}
            return
        self._balance_error = None
        current = {
            "solana_usdc": _text(sol.usdc),
            "solana_sol": _text(sol.sol),
            "hyperliquid_account_value_usd": _text(hl.account_value),
            "hyperliquid_withdrawable_usd": _text(hl.withdrawable),
        }
        if current != self._balances:
            self._balances = current
            yield "balance_update", dict(current)


def _text(d: Decimal) -> str:
    return "0" if d.is_zero() else format(d.normalize(), "f")


def _audit_event(a: AuditEvent) -> tuple[str, dict[str, Any]] | None:
    data: dict[str, Any] = {"at": a.occurred_at, "action": a.action, "details": a.details}
    if a.entity_type == "position":
        data["position_id"] = a.entity_id
        if a.action in ("position_opened", "position_closed"):
            return a.action, data
        return "position_update", data
    if a.entity_type == "intent":
        data["intent_id"] = a.entity_id
        return "position_update", data
    return None  # sign-ins, tokens, roles: not part of the trading stream


def _snapshot(p: PositionSnapshot) -> dict[str, Any]:
    return {
        "action": "snapshot",
        "position_id": str(p.position_id),
        "at": p.taken_at,
        "sol_price": p.sol_price,
        "long_value_usd": p.long_value_usd,
        "short_value_usd": p.short_value_usd,
        "delta_usd": p.delta_usd,
        "health_factor": p.health_factor,
        "margin_fraction": p.margin_fraction,
        "funding_accrued_usd": p.funding_accrued_usd,
        "unrealised_pnl_usd": p.unrealised_pnl_usd,
        "net_apy": p.net_apy,
        "decision": p.decision,
    }
