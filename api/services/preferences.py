"""A user's own trading limits and defaults. They may only tighten the global risk limits
(``basis/risk.yaml``), never loosen them: a lower leverage cap, a smaller position, fewer
assets, a stricter entry. They are applied where the API creates intents."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.errors import ApiError
from api.schemas import IntentCreate
from models.domain import Asset, IntentStatus, PositionStatus
from models.risk import RiskParams
from models.tables import Intent, Position, UserSettings

_LIVE_POSITIONS = (
    PositionStatus.OPENING,
    PositionStatus.OPEN,
    PositionStatus.CLOSING,
    PositionStatus.HALTED,
)
_LIVE_INTENTS = (IntentStatus.PENDING, IntentStatus.EXECUTING)

Amount = Annotated[Decimal, Field(gt=0, le=Decimal(10**12), decimal_places=2)]
Rate = Annotated[Decimal, Field(ge=-1, le=10, decimal_places=6)]


class Preferences(BaseModel):
    """Unset (null) means: the global value."""

    model_config = ConfigDict(extra="forbid")

    default_leverage: Annotated[Decimal | None, Field(gt=1, le=20, decimal_places=2)] = None
    """Used when an intent does not name a leverage."""
    max_leverage: Annotated[Decimal | None, Field(gt=1, le=20, decimal_places=2)] = None
    max_capital_usd: Amount | None = None
    """Largest capital one intent may commit."""
    max_total_exposure_usd: Amount | None = None
    """Cap on capital x leverage over live positions and pending intents."""
    min_net_apy: Rate | None = None
    """Entry threshold for intents that set neither ``min_net_apy`` nor ``min_funding_rate``."""
    max_funding_volatility: Annotated[Decimal | None, Field(gt=0, le=100)] = None
    """Used when an intent does not set its own."""
    allowed_assets: Annotated[list[Asset] | None, Field(min_length=1, max_length=8)] = None


class Limits(BaseModel):
    """The global limits a user's preferences must stay within."""

    leverage_min: Decimal
    leverage_max: Decimal
    leverage_default: Decimal
    min_capital_usd: Decimal
    max_capital_usd: Decimal
    max_total_exposure_usd: Decimal
    min_net_apy: Decimal
    max_funding_volatility: Decimal
    assets: list[Asset]


def limits(risk: RiskParams) -> Limits:
    return Limits(
        leverage_min=risk.leverage.min,
        leverage_max=risk.leverage.max,
        leverage_default=risk.leverage.default,
        min_capital_usd=risk.positions.min_position_usd,
        max_capital_usd=risk.positions.max_position_usd,
        max_total_exposure_usd=risk.positions.max_total_exposure_usd,
        min_net_apy=risk.entry.min_net_apy,
        max_funding_volatility=risk.funding.max_volatility,
        assets=list(Asset),
    )


def validate(prefs: Preferences, risk: RiskParams) -> None:
    """VAL-0003 naming the first preference that would loosen a global limit."""
    g = limits(risk)
    problems: list[tuple[str, str]] = []
    for name in ("default_leverage", "max_leverage"):
        v = getattr(prefs, name)
        if v is not None and not g.leverage_min <= v <= g.leverage_max:
            problems.append((name, f"must be between {g.leverage_min} and {g.leverage_max}"))
    if (
        prefs.default_leverage is not None
        and prefs.max_leverage is not None
        and prefs.default_leverage > prefs.max_leverage
    ):
        problems.append(("default_leverage", "must not exceed max_leverage"))
    if prefs.max_capital_usd is not None and not (
        g.min_capital_usd <= prefs.max_capital_usd <= g.max_capital_usd
    ):
        problems.append(
            ("max_capital_usd", f"must be between {g.min_capital_usd} and {g.max_capital_usd}")
        )
    if prefs.max_total_exposure_usd is not None and not (
        g.min_capital_usd <= prefs.max_total_exposure_usd <= g.max_total_exposure_usd
    ):
        problems.append(("max_total_exposure_usd", f"must be at most {g.max_total_exposure_usd}"))
    if prefs.min_net_apy is not None and prefs.min_net_apy < g.min_net_apy:
        problems.append(("min_net_apy", f"must be at least {g.min_net_apy}"))
    if (
        prefs.max_funding_volatility is not None
        and prefs.max_funding_volatility > g.max_funding_volatility
    ):
        problems.append(("max_funding_volatility", f"must be at most {g.max_funding_volatility}"))
    if prefs.allowed_assets is not None and len(set(prefs.allowed_assets)) != len(
        prefs.allowed_assets
    ):
        problems.append(("allowed_assets", "must not repeat an asset"))
    if problems:
        field, why = problems[0]
        raise ApiError(
            "VAL-0003",
            f"{field}: {why} (a setting may only tighten the global risk limits)",
            details={"errors": [{"field": f, "message": m} for f, m in problems]},
        )


async def load(
    session: AsyncSession, user_id: uuid.UUID
) -> tuple[Preferences, UserSettings | None]:
    row = await session.get(UserSettings, user_id)
    if row is None:
        return Preferences(), None
    try:
        return Preferences.model_validate(row.settings), row
    except ValidationError:
        # Stored under an older shape: the user sees (and gets) the defaults until they save.
        return Preferences(), row


async def save(
    session: AsyncSession, user_id: uuid.UUID, prefs: Preferences, risk: RiskParams, now: datetime
) -> UserSettings:
    validate(prefs, risk)
    row = await session.get(UserSettings, user_id, with_for_update=True)
    data: dict[str, Any] = prefs.model_dump(mode="json", exclude_none=True)
    if row is None:
        row = UserSettings(user_id=user_id, settings=data, version=1, updated_at=now)
    else:
        row.settings = data
        row.version += 1
        row.updated_at = now
    session.add(row)
    await session.commit()
    return row


async def reset(session: AsyncSession, user_id: uuid.UUID) -> None:
    row = await session.get(UserSettings, user_id)
    if row is not None:
        await session.delete(row)
        await session.commit()


async def apply(
    session: AsyncSession, user_id: uuid.UUID, body: IntentCreate, risk: RiskParams
) -> IntentCreate:
    """The intent with the user's defaults filled in, refused (by name) where it breaks one
    of the user's own limits. Global limits are checked separately."""
    prefs, _ = await load(session, user_id)
    update: dict[str, Any] = {}
    if body.leverage is None:
        update["leverage"] = prefs.default_leverage or risk.leverage.default
    if body.min_net_apy is None and body.min_funding_rate is None and prefs.min_net_apy:
        update["min_net_apy"] = prefs.min_net_apy
    if body.max_funding_volatility is None and prefs.max_funding_volatility is not None:
        update["max_funding_volatility"] = prefs.max_funding_volatility
    resolved = body.model_copy(update=update)
    leverage = resolved.leverage
    assert leverage is not None
    if prefs.allowed_assets is not None and resolved.asset not in prefs.allowed_assets:
        raise ApiError(
            "RSK-0001", f"asset: {resolved.asset.value} is not in your allowed_assets setting"
        )
    if prefs.max_leverage is not None and leverage > prefs.max_leverage:
        raise ApiError("VAL-0005", f"leverage: your max_leverage setting is {prefs.max_leverage}")
    if prefs.max_capital_usd is not None and resolved.capital_usd > prefs.max_capital_usd:
        raise ApiError(
            "RSK-0002", f"capital_usd: your max_capital_usd setting is {prefs.max_capital_usd}"
        )
    if prefs.max_total_exposure_usd is not None:
        committed = await exposure(session, user_id)
        if committed + resolved.capital_usd * leverage > prefs.max_total_exposure_usd:
            raise ApiError(
                "RSK-0003",
                f"capital_usd: live positions and pending intents already commit {committed} "
                f"of your max_total_exposure_usd {prefs.max_total_exposure_usd}",
            )
    return resolved


async def exposure(session: AsyncSession, user_id: uuid.UUID) -> Decimal:
    """capital x leverage over the user's live positions and pending intents (an intent
    that became a position counts once, as the position)."""
    positions = (
        await session.exec(
            select(col(Position.capital_usd), col(Position.leverage)).where(
                Position.user_id == user_id, col(Position.status).in_(_LIVE_POSITIONS)
            )
        )
    ).all()
    intents = (
        await session.exec(
            select(col(Intent.capital_usd), col(Intent.leverage)).where(
                Intent.user_id == user_id,
                col(Intent.status).in_(_LIVE_INTENTS),
                col(Intent.position_id).is_(None),
            )
        )
    ).all()
    return sum((c * lev for c, lev in [*positions, *intents]), Decimal(0))
