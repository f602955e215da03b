"""The engine trusts only the database.

A workflow's input is whatever its starter wrote: the API, or anyone who can reach Temporal's
frontend. So every activity that moves money reads the position (for an open: the intent) and
its owner from the database and refuses, non-retryably and with an audit event, when the input
disagrees with it (another user, another asset, a bigger size) or asks for more than the
user's own limits (``user_settings``) and the global risk limits (``risk.yaml``) allow.

The open is refused before its position row exists: only an intent the API wrote, owned by the
named user and executing this very position (``IntentWorkflow`` marks it so before it starts
the open), makes one; the row then takes its terms from the intent, not from the input.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from decimal import ROUND_CEILING, Decimal
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from basis.clock import Clock, utc_now
from models.domain import Asset, IntentStatus, LegSide, PositionStatus
from models.messages import OpenPositionInput
from models.risk import RiskParams
from models.tables import AuditEvent, Intent, Leg, Position, UserSettings

FORGED_INPUT = "ForgedInput"
"""Failure type of a refusal: listed non-retryable, and raised non-retryable regardless."""

REFUSED_ACTION = "engine_refused_input"

OPENING = frozenset({PositionStatus.OPENING})
# Reducing a leg must stay possible wherever a leg may still stand: reduce-only orders and
# closing the long can only take risk off.
LIVE = frozenset(
    {PositionStatus.OPENING, PositionStatus.OPEN, PositionStatus.CLOSING, PositionStatus.HALTED}
)
OPEN = frozenset({PositionStatus.OPEN})
GROWING = frozenset({PositionStatus.OPENING, PositionStatus.OPEN})

# A reduce-only order may ask for a hair more than the database's short (rounding of
# recorded fills); anything beyond is not the position's.
_REDUCE_SLACK = Decimal("0.01")


class _UserLimits(BaseModel):
    """The parts of a user's preferences that bound what the engine may open. Unknown keys
    are the API's business."""

    model_config = ConfigDict(extra="ignore")

    max_leverage: Decimal | None = None
    max_capital_usd: Decimal | None = None
    max_total_exposure_usd: Decimal | None = None
    allowed_assets: list[Asset] | None = None


class Refusal(Exception):
    """Why an open was refused, raised inside the caller's transaction and turned into the
    audited failure (``Guard.refuse_open``) once that transaction is gone."""

    def __init__(self, reason: str, owner: uuid.UUID | None = None) -> None:
        super().__init__(reason)
        self.reason, self.owner = reason, owner


def open_workflow_id(position_id: uuid.UUID) -> str:
    return f"open-{position_id}"


class Guard:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        risk: RiskParams,
        clock: Clock = utc_now,
    ) -> None:
        self._sessions = sessions
        self._risk = risk
        self._clock = clock

    # ---- the open --------------------------------------------------------------------------

    async def verify_open(self, session: AsyncSession, inp: OpenPositionInput) -> Intent:
        """The intent this open executes, locked, when the input is that intent's open.
        Raises ``Refusal`` otherwise."""

        def refuse(reason: str, owner: uuid.UUID | None = None) -> NoReturn:
            raise Refusal(reason, owner)

        if inp.intent_id is None:
            refuse("an open needs the intent it executes")
        intent = await session.get(Intent, inp.intent_id, with_for_update=True)
        if intent is None:
            refuse(f"intent {inp.intent_id} does not exist")
        if intent.user_id != inp.user_id:
            refuse(f"intent {intent.id} is not user {inp.user_id}'s", intent.user_id)
        status = IntentStatus(intent.status)
        if status is not IntentStatus.EXECUTING or intent.position_id != inp.position_id:
            refuse(
                f"intent {intent.id} is {status.value}, not executing position {inp.position_id}",
                intent.user_id,
            )
        if activity.in_activity():
            wid = activity.info().workflow_id
            # One running workflow per id is Temporal's guarantee: a second open of the same
            # position under another id would race the first.
            if wid != open_workflow_id(inp.position_id):
                refuse(f"workflow {wid} is not the open of {inp.position_id}", intent.user_id)
        diffs = [
            f"{name} {got} (the intent says {want})"
            for name, got, want in (
                ("asset", inp.asset.value, intent.asset.value),
                ("leverage", inp.leverage, intent.leverage),
                ("capital_usd", inp.capital_usd, intent.capital_usd),
            )
            if got != want
        ]
        if diffs:
            refuse("; ".join(diffs), intent.user_id)
        problem = await self._limits_problem(
            session, intent.user_id, intent.asset, intent.leverage, intent.capital_usd, None
        )
        if problem is not None:
            refuse(problem, intent.user_id)
        return intent

    async def refuse_open(self, inp: OpenPositionInput, refusal: Refusal) -> NoReturn:
        await self.refuse(
            "create_position",
            refusal.reason,
            claimed_user=inp.user_id,
            owner=refusal.owner,
            entity_type="position",
            entity_id=str(inp.position_id),
            details={"intent_id": inp.intent_id, **_terms(inp)},
        )

    # ---- every money activity --------------------------------------------------------------

    async def position(
        self,
        action: str,
        position_id: uuid.UUID,
        user_id: uuid.UUID,
        *,
        statuses: Collection[PositionStatus],
        asset: Asset | None = None,
        details: dict[str, Any] | None = None,
    ) -> tuple[Position, dict[LegSide, Leg]]:
        """The position and its legs when ``user_id`` owns it, it is in one of ``statuses``
        and (if named) holds ``asset``; for an opening action also within the limits."""
        async with self._sessions() as s:
            p = await s.get(Position, position_id)
            legs = {
                LegSide(leg.side): leg
                for leg in (await s.exec(select(Leg).where(Leg.position_id == position_id))).all()
            }
            problem: str | None = None
            if p is None:
                problem = f"position {position_id} does not exist"
            elif p.user_id != user_id:
                problem = f"position {position_id} is not user {user_id}'s"
            elif PositionStatus(p.status) not in statuses:
                problem = f"position {position_id} is {PositionStatus(p.status).value}"
            elif asset is not None and p.asset != asset:
                problem = f"asset {asset.value} (the position holds {p.asset.value})"
            elif statuses == OPENING:
                problem = await self._limits_problem(
                    s, p.user_id, p.asset, p.leverage, p.capital_usd, p.id
                )
        if problem is not None:
            await self.refuse(
                action,
                problem,
                claimed_user=user_id,
                owner=p.user_id if p is not None else None,
                entity_type="position",
                entity_id=str(position_id),
                details=details,
            )
        assert p is not None
        return p, legs

    async def check(
        self,
        action: str,
        p: Position,
        claimed_user: uuid.UUID,
        problem: str | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Refuse with ``problem`` (a size the position does not allow), if there is one."""
        if problem is not None:
            await self.refuse(
                action,
                problem,
                claimed_user=claimed_user,
                owner=p.user_id,
                entity_type="position",
                entity_id=str(p.id),
                details=details,
            )

    async def refuse(
        self,
        action: str,
        reason: str,
        *,
        claimed_user: uuid.UUID | None,
        owner: uuid.UUID | None,
        entity_type: str,
        entity_id: str,
        details: dict[str, Any] | None = None,
    ) -> NoReturn:
        """Write the refusal to the audit log (its own transaction: it must outlive the
        failure), then fail the activity for good."""
        info = activity.info() if activity.in_activity() else None
        async with self._sessions() as s, s.begin():
            s.add(
                AuditEvent(
                    occurred_at=self._clock(),
                    actor="engine",
                    # The account the input tried to act on, as the database knows it.
                    user_id=owner or claimed_user,
                    action=REFUSED_ACTION,
                    entity_type=entity_type,
                    entity_id=entity_id,
                    details={
                        "activity": action,
                        "reason": reason,
                        "claimed_user_id": str(claimed_user) if claimed_user else None,
                        "workflow_type": info.workflow_type if info else None,
                        **{k: _jsonable(v) for k, v in (details or {}).items()},
                    },
                    correlation_id=info.workflow_id if info else None,
                )
            )
        raise ApplicationError(
            f"refused by the engine: {reason}", type=FORGED_INPUT, non_retryable=True
        )

    # ---- limits ----------------------------------------------------------------------------

    async def _limits_problem(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        asset: Asset,
        leverage: Decimal,
        capital: Decimal,
        exclude: uuid.UUID | None,
    ) -> str | None:
        """What in these terms breaks the global limits or the user's own, if anything."""
        lev, pos = self._risk.leverage, self._risk.positions
        if not lev.min <= leverage <= lev.max:
            return f"leverage {leverage} outside the global [{lev.min}, {lev.max}]"
        if not pos.min_position_usd <= capital <= pos.max_position_usd:
            return (
                f"capital_usd {capital} outside the global "
                f"[{pos.min_position_usd}, {pos.max_position_usd}]"
            )
        mine = await self._user_limits(session, user_id)
        if mine.allowed_assets is not None and asset not in mine.allowed_assets:
            return f"asset {asset.value} is not in the user's allowed_assets"
        if mine.max_leverage is not None and leverage > mine.max_leverage:
            return f"leverage {leverage} above the user's max_leverage {mine.max_leverage}"
        if mine.max_capital_usd is not None and capital > mine.max_capital_usd:
            return f"capital_usd {capital} above the user's max_capital_usd {mine.max_capital_usd}"
        if mine.max_total_exposure_usd is not None:
            q = select(col(Position.capital_usd), col(Position.leverage)).where(
                Position.user_id == user_id, col(Position.status).in_(LIVE)
            )
            if exclude is not None:
                q = q.where(Position.id != exclude)
            live = sum((c * lv for c, lv in (await session.exec(q)).all()), Decimal(0))
            if live + capital * leverage > mine.max_total_exposure_usd:
                return (
                    f"exposure {live + capital * leverage} above the user's "
                    f"max_total_exposure_usd {mine.max_total_exposure_usd}"
                )
        return None

    async def _user_limits(self, session: AsyncSession, user_id: uuid.UUID) -> _UserLimits:
        row = await session.get(UserSettings, user_id)
        if row is None:
            return _UserLimits()
        try:
            return _UserLimits.model_validate(row.settings)
        except ValidationError:
            # The API treats a row it cannot read as "no preferences" too: the two agree.
            return _UserLimits()


def venue_leverage(leverage: Decimal) -> int:
    """The integer leverage Hyperliquid is set to for a position's leverage."""
    return int(leverage.to_integral_value(rounding=ROUND_CEILING))


def short_room(p: Position, legs: dict[LegSide, Leg], sol_price: Decimal) -> Decimal:
    """SOL the short of ``p`` may still grow by. The whole capital at the position's leverage
    bounds it: the sizing puts half the capital on each leg, so a legitimate hedge stays well
    inside even after prices move."""
    short = legs.get(LegSide.SHORT)
    held = short.size if short is not None else Decimal(0)
    return p.capital_usd * p.leverage / sol_price - held


def reduce_problem(legs: dict[LegSide, Leg], size: Decimal) -> str | None:
    short = legs.get(LegSide.SHORT)
    held = short.size if short is not None else Decimal(0)
    if size > held + max(held * _REDUCE_SLACK, _REDUCE_SLACK):
        return f"buy back {size} SOL: the position's short is {held}"
    return None


def _terms(inp: OpenPositionInput) -> dict[str, Any]:
    return {"asset": inp.asset.value, "leverage": inp.leverage, "capital_usd": inp.capital_usd}


def _jsonable(v: object) -> object:
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, uuid.UUID):
        return str(v)
    return v
