"""What the position manager returns. Pydantic models, so they round-trip through the
database (as the submission's result) and through Temporal's pydantic data converter: no
key material and nothing large in them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Self

from pydantic import BaseModel, ConfigDict

from models.domain import Asset, Protocol
from venues.asgard.client import UpdateAction
from venues.asgard.models import PositionState


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls.model_validate(data)


class OpenedLong(_Result):
    key: str
    position_pda: str
    position_id: str
    protocol: Protocol
    asset: Asset
    leverage: Decimal
    collateral: Decimal
    """Collateral token held right after the open (size the hedge on this)."""
    debt: Decimal
    """USDC borrowed."""
    entry_price_usd: Decimal | None
    health_factor: Decimal | None
    """Fraction."""
    signatures: tuple[str, ...]
    opened_at: datetime | None


class ClosedLong(_Result):
    key: str
    position_pda: str
    state: PositionState
    signatures: tuple[str, ...]
    """Our close transactions; empty when the position was already closed or liquidated."""
    already_closed: bool
    closed_at: datetime | None


class UpdatedLong(_Result):
    key: str
    position_pda: str
    action: UpdateAction
    signatures: tuple[str, ...]
    collateral: Decimal
    debt: Decimal
    health_factor: Decimal
