"""Shared pieces of the ``/info`` parsers: the wire-model base, time conversion and a
validation step that turns any shape mismatch into ``BadResponse``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from models.domain import OrderSide
from venues.hyperliquid.errors import TransportError

T = TypeVar("T")


class BadResponse(TransportError):
    """The venue answered with something that is not the expected shape (a proxy's error page,
    a truncated body). Retryable: it says nothing about the request."""

    code = "hyperliquid.bad_response"


def ms_to_dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def dt_to_ms(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return int(dt.timestamp() * 1000)


def side(s: str) -> OrderSide:
    if s == "B":
        return OrderSide.BUY
    if s == "A":
        return OrderSide.SELL
    raise BadResponse(f"unknown order side {s!r}")


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def validate(tp: type[T], raw: Any) -> T:
    adapter = _ADAPTERS.get(tp)
    if adapter is None:
        adapter = _ADAPTERS[tp] = TypeAdapter(tp)
    try:
        value: T = adapter.validate_python(raw)
    except ValidationError as exc:
        name = getattr(tp, "__name__", str(tp)).lstrip("_")
        raise BadResponse(f"unexpected {name} response: {exc.errors()[:3]}") from exc
    return value
