"""``basis data fetch``: the history the shared exports hold, pulled live through the real
venue clients into a ``RawStore`` (venue-native records), window by window.

- Hyperliquid ``fundingHistory`` (the client pages past the venue's 500-row answers) and 1 h
  ``candleSnapshot`` (finished candles only; the venue keeps the latest 5,000);
- Asgard rate history per protocol and token, where the API offers it (a 404 marks the series
  unavailable, and the fetch goes on without it).

Resumable: each series continues from its stored cursor. Rate-limit aware: requests are paced
(``Pacing.interval_s`` apart) and a retryable failure (HTTP 429, 5xx, a timeout) is retried
after an exponential back-off, up to ``Pacing.retries`` times.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from datasets.rawstore import RawStore
from models.domain import Protocol
from venues.asgard import AsgardClient, AsgardError, RateBucket
from venues.hyperliquid import Candle, FundingRate, HyperliquidError, HyperliquidVenue

T = TypeVar("T")
HOUR = timedelta(hours=1)
MS = timedelta(milliseconds=1)
ROUTED = (Protocol.KAMINO, Protocol.MARGINFI, Protocol.DRIFT)
Progress = Callable[[str, int, int], None]
"""(series, hours fetched so far in this run, hours to fetch in this run)."""


@dataclass(frozen=True)
class Pacing:
    interval_s: float = 1.0
    """Least time between two requests (Hyperliquid allows ~60 history requests a minute)."""
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    retries: int = 8


@dataclass(frozen=True)
class FetchPlan:
    start: datetime
    end: datetime
    """Exclusive, on the hour; at most the last whole hour before now."""
    coin: str = "SOL"
    protocols: tuple[Protocol, ...] = ROUTED
    tokens: tuple[str, ...] = ("USDC", "SOL")
    window: timedelta = timedelta(hours=480)


@dataclass
class FetchSummary:
    stored: dict[str, int] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0


def funding_name(coin: str) -> str:
    return f"hyperliquid_funding_{coin}"


def candles_name(coin: str) -> str:
    return f"hyperliquid_candles_{coin}_1h"


def rates_name(protocol: Protocol, token: str) -> str:
    return f"asgard_{protocol.label}_{token.lower()}_hourly"


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def funding_record(r: FundingRate) -> dict[str, Any]:
    return {
        "coin": r.coin,
        "fundingRate": str(r.rate),
        "premium": None if r.premium is None else str(r.premium),
        "time": _ms(r.time),
    }


def candle_record(c: Candle) -> dict[str, Any]:
    return {
        "t": _ms(c.open_time),
        "T": _ms(c.close_time),
        "s": c.coin,
        "i": c.interval,
        "o": str(c.open),
        "h": str(c.high),
        "l": str(c.low),
        "c": str(c.close),
        "v": str(c.volume),
        "n": c.trades,
    }


def bucket_record(b: RateBucket) -> dict[str, Any]:
    def pct(x: Decimal | None) -> str | None:
        return None if x is None else str(x * 100)

    return {
        "protocolName": b.protocol.label,
        "hourBucket": b.hour.strftime("%Y-%m-%dT%H:00:00.000Z"),
        "avgLendingRate": pct(b.lend_apy),
        "avgBorrowingRate": pct(b.borrow_apy),
        "sampleCount": b.samples,
    }


Window = Callable[[datetime, datetime], Awaitable[Sequence[Mapping[str, Any]]]]


def _bound(window: Window, a: datetime, b: datetime) -> Callable[[], Awaitable[Any]]:
    return lambda: window(a, b)


class Fetcher:
    def __init__(
        self,
        store: RawStore,
        plan: FetchPlan,
        pacing: Pacing | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.plan = plan
        self.pacing = pacing or Pacing()
        self.sleep = sleep
        self.monotonic = monotonic
        self.progress = progress
        self.summary = FetchSummary()
        self._last_request: float | None = None

    async def run(
        self, hyperliquid: HyperliquidVenue | None, asgard: AsgardClient | None
    ) -> FetchSummary:
        jobs: list[tuple[str, Window]] = []
        coin = self.plan.coin
        if hyperliquid is not None:
            jobs.append((funding_name(coin), lambda a, b: self._funding(hyperliquid, a, b)))
            jobs.append((candles_name(coin), lambda a, b: self._candles(hyperliquid, a, b)))
        if asgard is not None:
            for p in self.plan.protocols:
                for token in self.plan.tokens:
                    jobs.append((rates_name(p, token), self._rates(asgard, p, token)))
        jobs = [(n, w) for n, w in jobs if self.store.unavailable(n) is None]
        todo = {n: self._remaining(n) for n, _ in jobs}
        total = sum(todo.values())
        done = 0
        for name, window in jobs:
            cursor = self.store.cursor(name) or self.plan.start
            cursor = max(cursor, self.plan.start)
            while cursor < self.plan.end:
                upto = min(cursor + self.plan.window, self.plan.end)
                try:
                    records = await self._call(_bound(window, cursor, upto))
                except AsgardError as exc:
                    if exc.status != 404:
                        raise
                    self.store.mark_unavailable(name, str(exc))
                    self.summary.unavailable[name] = str(exc)
                    done += int((self.plan.end - cursor) / HOUR)
                    break
                n = self.store.append(name, records, upto)
                self.summary.stored[name] = self.summary.stored.get(name, 0) + n
                done += int((upto - cursor) / HOUR)
                cursor = upto
                if self.progress is not None:
                    self.progress(name, done, total)
        return self.summary

    def _remaining(self, name: str) -> int:
        cursor = max(self.store.cursor(name) or self.plan.start, self.plan.start)
        return max(0, int((self.plan.end - cursor) / HOUR))

    async def _call(self, fn: Callable[[], Awaitable[T]]) -> T:
        delay = self.pacing.backoff_s
        for attempt in range(self.pacing.retries + 1):
            await self._pace()
            self.summary.requests += 1
            try:
                return await fn()
            except (HyperliquidError, AsgardError) as exc:
                if not exc.retryable or attempt == self.pacing.retries:
                    raise
                self.summary.retries += 1
                await self.sleep(min(delay, self.pacing.max_backoff_s))
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    async def _pace(self) -> None:
        now = self.monotonic()
        if self._last_request is not None:
            wait = self._last_request + self.pacing.interval_s - now
            if wait > 0:
                await self.sleep(wait)
                now += wait
        self._last_request = now

    async def _funding(
        self, venue: HyperliquidVenue, a: datetime, b: datetime
    ) -> list[dict[str, Any]]:
        rates = await venue.funding_history(self.plan.coin, a, b - MS)
        return [funding_record(r) for r in rates if a <= r.time < b]

    async def _candles(
        self, venue: HyperliquidVenue, a: datetime, b: datetime
    ) -> list[dict[str, Any]]:
        candles = await venue.candle_snapshot(self.plan.coin, "1h", a, b - MS)
        # Finished candles of this window only (the venue also sends the one in progress).
        return [candle_record(c) for c in candles if a <= c.open_time and c.open_time + HOUR <= b]

    def _rates(self, client: AsgardClient, protocol: Protocol, token: str) -> Window:
        async def window(a: datetime, b: datetime) -> list[dict[str, Any]]:
            buckets = await client.rate_history(protocol, token, a, b)
            return [bucket_record(x) for x in buckets if a <= x.hour < b]

        return window
