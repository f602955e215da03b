"""A market the emulators' admin endpoints (and end-to-end tests) can steer at run time.

``ControllableMarket`` wraps a ``MarketSimulator`` and keeps an append-only list of *epochs*:
each change (switch scenario, override the funding rate, the SOL price, an LST's peg, a
protocol's borrow APY, a venue outage) starts a new epoch at a time that may not precede the
last one. Every query is answered by the epoch in force at its instant, so the past never
changes under the emulators' feet and the market stays deterministic in (scenario, seed,
changes, time).

Price changes keep the path continuous: an override moves the level from that instant on and
the simulated moves continue from it (or the price is held flat with ``hold=True``); a
scenario switch starts the new scenario from the current SOL price and LST rates.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from types import MappingProxyType

from models.domain import Asset, Protocol, Venue
from venues.market.clock import SimClock
from venues.market.simulator import DEFAULT_START, MarketSimulator, OrderBook, as_decimal
from venues.market.source import USDC, FundingPoint, MarketState, ProtocolMarket

_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
_JUST_BEFORE = timedelta(microseconds=1)
_PRICE_Q = Decimal("0.0001")
_RATE_Q = Decimal("0.0000000001")


def premium_for_rate(rate: Decimal) -> Decimal:
    """A premium whose hour average gives the hourly ``rate`` by Hyperliquid's formula."""
    f8 = rate * 8
    interest, clamp = Decimal("0.0001"), Decimal("0.0005")
    if f8 > interest:
        return f8 + clamp
    if f8 < interest:
        return f8 - clamp
    return Decimal(0)


@dataclass(frozen=True, slots=True)
class Overrides:
    funding_rate: Decimal | None = None
    held_price: Decimal | None = None
    lst_peg: Mapping[Asset, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    borrow_apy: Mapping[Protocol, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    outages: Mapping[Venue, bool] = field(default_factory=lambda: MappingProxyType({}))
    """``True``: down whatever the scenario says; ``False``: up whatever it says."""


@dataclass(frozen=True, slots=True)
class Epoch:
    start: datetime
    base: MarketSimulator
    overrides: Overrides
    price_factor: float
    """SOL = simulated SOL x factor (unless a price is held)."""
    change: str


class ControllableMarket:
    """A ``MarketSource`` whose scenario and levels can be changed from a time on."""

    def __init__(
        self,
        source: MarketSimulator | None = None,
        *,
        clock: SimClock | None = None,
        scenario: str = "calm",
        seed: int = 7,
        start: datetime | None = None,
    ) -> None:
        self._clock = clock
        if source is None:
            begin = start or (clock.now() if clock is not None else DEFAULT_START)
            source = MarketSimulator(scenario, seed=seed, start=begin)
        first = Epoch(_BEGINNING, source, Overrides(), 1.0, f"scenario {source.name}")
        # One tuple pair swapped atomically: readers never see epochs and starts disagree.
        self._timeline: tuple[tuple[Epoch, ...], tuple[datetime, ...]] = ((first,), (_BEGINNING,))
        self._lock = threading.Lock()

    # ---- reading ---------------------------------------------------------------------------

    def epoch_at(self, at: datetime) -> Epoch:
        epochs, starts = self._timeline
        return epochs[bisect_right(starts, at) - 1]

    @property
    def scenario(self) -> str:
        return self._timeline[0][-1].base.name

    def changes(self) -> list[dict[str, object]]:
        return [
            {"from": e.start.isoformat(), "scenario": e.base.name, "change": e.change}
            for e in self._timeline[0]
        ]

    def sol_f(self, at: datetime) -> float:
        e = self.epoch_at(at)
        if e.overrides.held_price is not None:
            return float(e.overrides.held_price)
        return e.base.sol_f(at) * e.price_factor

    def state_at(self, at: datetime) -> MarketState:
        e = self.epoch_at(at)
        st = e.base.state_at(at)
        o = e.overrides
        sol = self.sol_f(at)
        if o.funding_rate is None:
            premium, premium_f = st.premium, e.base.premium_f(at)
        else:
            premium = premium_for_rate(o.funding_rate)
            premium_f = float(premium)
        changes: dict[str, object] = {
            "sol_price": as_decimal(sol, _PRICE_Q),
            "perp_mark": as_decimal(sol * (1.0 + premium_f), _PRICE_Q),
            "premium": premium,
        }
        if o.funding_rate is not None:
            changes["funding_rate"] = o.funding_rate
        if o.lst_peg:
            market = dict(st.lst_market_price_sol)
            for asset, dev in o.lst_peg.items():
                market[asset] = (st.lst_exchange_rate[asset] * (1 + dev)).quantize(
                    Decimal("0.000000001")
                )
            changes["lst_market_price_sol"] = MappingProxyType(market)
        if o.borrow_apy:
            changes["protocols"] = tuple(self._with_borrow(p, o) for p in st.protocols)
        if o.outages:
            down = set(st.outages)
            for venue, is_down in o.outages.items():
                (down.add if is_down else down.discard)(venue)
            changes["outages"] = frozenset(down)
        return replace(st, **changes)  # type: ignore[arg-type]

    @staticmethod
    def _with_borrow(p: ProtocolMarket, o: Overrides) -> ProtocolMarket:
        apy = o.borrow_apy.get(p.protocol)
        if apy is None:
            return p
        borrow = dict(p.borrow_apy)
        borrow[USDC] = apy
        return replace(p, borrow_apy=MappingProxyType(borrow))

    def _settled(self, t: datetime) -> tuple[Decimal, Decimal]:
        e = self.epoch_at(t - _JUST_BEFORE)
        rate = e.overrides.funding_rate
        if rate is not None:
            return rate, premium_for_rate(rate)
        point = e.base.funding_history(t, t + _JUST_BEFORE)[0]
        return point.rate, point.premium

    def funding_history(self, start: datetime, end: datetime) -> list[FundingPoint]:
        first = start.replace(minute=0, second=0, microsecond=0)
        if first < start:
            first += timedelta(hours=1)
        out: list[FundingPoint] = []
        t = first
        while t < end:
            rate, premium = self._settled(t)
            out.append(FundingPoint(time=t, rate=rate, premium=premium))
            t += timedelta(hours=1)
        return out

    def predicted_funding(self, at: datetime) -> Decimal:
        e = self.epoch_at(at)
        if e.overrides.funding_rate is not None:
            return e.overrides.funding_rate
        return e.base.predicted_funding(at)

    def price_range(self, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
        if end < start:
            raise ValueError("end before start")
        lo = hi = self.sol_f(start)
        cuts = [start, *(s for s in self._timeline[1] if start < s < end), end]
        for a, b in pairwise(cuts):
            e = self.epoch_at(a)
            if e.overrides.held_price is not None:
                plo = phi = float(e.overrides.held_price)
            else:
                blo, bhi = e.base.sol_range_f(a, b - _JUST_BEFORE if b > a else b)
                plo, phi = blo * e.price_factor, bhi * e.price_factor
            lo, hi = min(lo, plo), max(hi, phi)
        p = self.sol_f(end)
        return as_decimal(min(lo, p), _PRICE_Q), as_decimal(max(hi, p), _PRICE_Q)

    def order_book(self, at: datetime, levels: int = 20, sz_decimals: int = 2) -> OrderBook:
        return self.epoch_at(at).base.order_book(
            at, levels, sz_decimals, mark=self.state_at(at).perp_mark
        )

    def swap_slippage_bps(self, asset: Asset, notional_usd: Decimal, at: datetime) -> Decimal:
        return self.epoch_at(at).base.swap_slippage_bps(asset, notional_usd, at)

    # ---- steering --------------------------------------------------------------------------

    def _now(self, at: datetime | None) -> datetime:
        if at is not None:
            if at.tzinfo is None:
                raise ValueError("times must be timezone-aware")
            return at
        if self._clock is None:
            raise ValueError("no clock: pass `at`")
        return self._clock.now()

    def _append(
        self,
        when: datetime,
        change: str,
        *,
        base: MarketSimulator | None = None,
        overrides: Overrides | None = None,
        price_factor: float | None = None,
    ) -> Epoch:
        with self._lock:
            epochs, _ = self._timeline
            last = epochs[-1]
            if when < last.start:
                raise ValueError(
                    f"changes are append-only: {when.isoformat()} precedes the last change "
                    f"at {last.start.isoformat()}"
                )
            # Several changes at one instant collapse into one epoch (each one builds on the
            # overrides in force, so nothing is lost).
            collapse = when == last.start and len(epochs) > 1
            epoch = Epoch(
                start=when,
                base=base or last.base,
                overrides=overrides if overrides is not None else last.overrides,
                price_factor=last.price_factor if price_factor is None else price_factor,
                change=f"{last.change}; {change}" if collapse else change,
            )
            kept = epochs[:-1] if collapse else epochs
            new = (*kept, epoch)
            self._timeline = (new, tuple(e.start for e in new))
            return epoch

    def _current(self, at: datetime | None) -> tuple[datetime, Epoch]:
        when = self._now(at)
        return when, self.epoch_at(when)

    def set_scenario(
        self, name: str, *, seed: int | None = None, at: datetime | None = None
    ) -> None:
        """Run scenario ``name`` from ``at`` on, starting from the current SOL price and LST
        rates; every override is cleared."""
        when, e = self._current(at)
        st = self.state_at(when)
        sim = MarketSimulator(
            name,
            seed=e.base.seed if seed is None else seed,
            start=when,
            start_price=self.sol_f(when),
            lst_rates={a: float(x) for a, x in st.lst_exchange_rate.items()},
        )
        self._append(when, f"scenario {name}", base=sim, overrides=Overrides(), price_factor=1.0)

    def set_funding_rate(self, rate: Decimal | None, *, at: datetime | None = None) -> None:
        """Pin the hourly funding (and the premium that produces it); ``None`` releases it.
        Settlements of hours that end while it is pinned pay the pinned rate."""
        when, e = self._current(at)
        o = replace(e.overrides, funding_rate=rate)
        self._append(when, f"funding {rate}", overrides=o)

    def set_sol_price(
        self, price: Decimal | None, *, hold: bool = False, at: datetime | None = None
    ) -> None:
        """Move SOL to ``price`` from ``at`` on: the simulated moves continue from the new
        level, or the price stays flat with ``hold``. ``None`` releases a held price (the
        moves continue from the held level)."""
        when, e = self._current(at)
        base_now = e.base.sol_f(when)
        if price is None:
            level = self.sol_f(when)
            o = replace(e.overrides, held_price=None)
            self._append(when, "price released", overrides=o, price_factor=level / base_now)
            return
        if price <= 0:
            raise ValueError("price must be positive")
        o = replace(e.overrides, held_price=price if hold else None)
        factor = float(price) / base_now
        self._append(
            when, f"price {price}{' held' if hold else ''}", overrides=o, price_factor=factor
        )

    def set_lst_peg(
        self, asset: Asset, deviation: Decimal | None, *, at: datetime | None = None
    ) -> None:
        """Price ``asset`` at its exchange rate x (1 + deviation); ``None`` releases it."""
        if not asset.is_lst:
            raise ValueError("only an LST has a peg")
        when, e = self._current(at)
        peg = dict(e.overrides.lst_peg)
        if deviation is None:
            peg.pop(asset, None)
        else:
            peg[asset] = deviation
        o = replace(e.overrides, lst_peg=MappingProxyType(peg))
        self._append(when, f"peg {asset.value} {deviation}", overrides=o)

    def set_borrow_apy(
        self, protocol: Protocol, apy: Decimal | None, *, at: datetime | None = None
    ) -> None:
        when, e = self._current(at)
        borrow = dict(e.overrides.borrow_apy)
        if apy is None:
            borrow.pop(protocol, None)
        else:
            borrow[protocol] = apy
        o = replace(e.overrides, borrow_apy=MappingProxyType(borrow))
        self._append(when, f"borrow {protocol.label} {apy}", overrides=o)

    def set_outage(self, venue: Venue, down: bool | None, *, at: datetime | None = None) -> None:
        """Take ``venue`` down (``True``), force it up (``False``) or follow the scenario."""
        when, e = self._current(at)
        outages = dict(e.overrides.outages)
        if down is None:
            outages.pop(venue, None)
        else:
            outages[venue] = down
        o = replace(e.overrides, outages=MappingProxyType(outages))
        self._append(when, f"outage {venue.value} {down}", overrides=o)

    def reset(self, *, at: datetime | None = None) -> None:
        """Clear every override (the price continues from its current level)."""
        when, e = self._current(at)
        factor = self.sol_f(when) / e.base.sol_f(when)
        self._append(when, "reset", overrides=Overrides(), price_factor=factor)
