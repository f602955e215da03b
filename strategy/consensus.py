"""Price consensus across sources: one price to trade on, or a refusal.

"Corrupt data is worse than no data": every required source must be present, fresh and
positive, and all of them must lie within ``max_deviation`` of one another, measured as
``(highest - lowest) / median``. The consensus price is the median. A refusal is a value with
a reason code; a missing or stale quote is never replaced by a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from models.risk import RiskParams
from strategy.decisions import DenyReason
from strategy.units import TWO


class PriceQuote(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    price: Decimal
    at: datetime


class PriceConsensus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    price: Decimal | None
    """The median; ``None`` when refused."""
    deviation: Decimal | None
    refusal: DenyReason | None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.refusal is None


def _refuse(reason: DenyReason, detail: str, deviation: Decimal | None = None) -> PriceConsensus:
    return PriceConsensus(price=None, deviation=deviation, refusal=reason, detail=detail)


def _median(values: list[Decimal]) -> Decimal:
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / TWO


def price_consensus(
    quotes: Iterable[PriceQuote] | Mapping[str, PriceQuote | None],
    now: datetime,
    params: RiskParams,
    *,
    required: Iterable[str] | None = None,
    max_age: timedelta | None = None,
) -> PriceConsensus:
    """Agree on one price from ``quotes``.

    ``required`` names the sources that must be present (default: every source given; a
    mapping value of ``None`` is a source that did not answer). ``max_age`` defaults to
    ``params.quotes.max_age_seconds``; a quote timestamped further than that into the future
    is refused too (a clock that disagrees is not trusted)."""
    if isinstance(quotes, Mapping):
        named: dict[str, PriceQuote | None] = dict(quotes)
    else:
        named = {}
        for quote in quotes:
            if quote.source in named:
                return _refuse(DenyReason.QUOTE_INVALID, f"two quotes from {quote.source}")
            named[quote.source] = quote
    need = set(required) if required is not None else set(named)
    if not need:
        return _refuse(DenyReason.QUOTE_MISSING, "no price source")
    present = {s: got for s in need if (got := named.get(s)) is not None}
    if len(present) < len(need):
        missing = ", ".join(sorted(need - set(present)))
        return _refuse(DenyReason.QUOTE_MISSING, f"no quote from {missing}")
    limit = max_age if max_age is not None else timedelta(seconds=params.quotes.max_age_seconds)
    prices: list[Decimal] = []
    for source, q in sorted(present.items()):
        if not q.price.is_finite() or q.price <= 0:
            return _refuse(DenyReason.QUOTE_INVALID, f"{source} quoted {q.price}")
        age = now - q.at
        if age > limit or -age > limit:
            return _refuse(DenyReason.QUOTE_STALE, f"{source} quote is {age} old")
        prices.append(q.price)
    median = _median(prices)
    deviation = (max(prices) - min(prices)) / median
    if deviation > params.max_price_deviation:
        return _refuse(
            DenyReason.PRICE_DEVIATION,
            f"sources differ by {deviation:.4%} (limit {params.max_price_deviation:.2%})",
            deviation,
        )
    return PriceConsensus(price=median, deviation=deviation, refusal=None)
