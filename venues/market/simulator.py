"""The scenario market simulator: the single source of truth behind both venue emulators and
the scenario backtests.

Deterministic in (scenario, seed, start, time): every quantity is a pure function of the
instant, built from seeded random streams with random access (``noise``), so any process
evaluating any instant in any order agrees.

- SOL: a per-minute random walk (log price) with the scenario's volatility schedule, seeded
  turbulent days (volatility regimes) and jumps, plus the scenario's deterministic moves (a
  crash). The walk is anchored at ``start_price`` at ``start``; the past before ``start``
  comes from the same process, so the lookback exists from the first hour.
- Hyperliquid: the premium is the scenario's mean plus a slow wander plus 5-minute noise; the
  hourly funding applies the venue's formula to the hour's average premium
  (``F = P + clamp(0.0001 - P, -0.0005, 0.0005)`` per 8 hours, paid hourly as F/8, capped at
  4% an hour). The mark is the oracle times (1 + premium).
- LSTs: the exchange rate accrues the staking APY continuously; the market price is the rate
  times (1 + peg deviation), the deviation being the scenario's events plus small noise.
- Lending: each protocol's utilisation per token (typical level + events + noise) drives its
  borrow APY through a kinked curve; the supply APY is borrow x utilisation x (1 - reserve).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from types import MappingProxyType

from models.domain import Asset, Venue
from venues.market.noise import BoundedCache, RandomWalk, ValueNoise, rng
from venues.market.scenarios import USDC, Knots, ScenarioSpec, scenario
from venues.market.source import FundingPoint, MarketState, ProtocolMarket

DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTES_PER_YEAR = 525_600.0
_BUCKETS = 12  # premium samples per hour (one per 5 minutes)
_LSTS = tuple(a for a in Asset if a.is_lst)

INTEREST_8H = 0.0001
CLAMP_8H = 0.0005
HOURLY_CAP = 0.04

_PRICE_Q = Decimal("0.0001")
_RATE_Q = Decimal("0.0000000001")
_LST_Q = Decimal("0.000000001")
_APY_Q = Decimal("0.000001")
_USD_Q = Decimal(1)


def as_decimal(x: float, q: Decimal) -> Decimal:
    """A float from the simulation as a Decimal on the quantum ``q``."""
    return Decimal(repr(x)).quantize(q)


def funding_from_premium(average_premium: float) -> float:
    """Hyperliquid's hourly funding for an hour whose average premium was ``average_premium``."""
    f8 = average_premium + max(-CLAMP_8H, min(CLAMP_8H, INTEREST_8H - average_premium))
    return max(-HOURLY_CAP, min(HOURLY_CAP, f8 / 8.0))


def hourly_funding(average_premium: Decimal) -> Decimal:
    """The same formula in exact arithmetic (for emulators and tests)."""
    interest, clamp, cap = Decimal("0.0001"), Decimal("0.0005"), Decimal("0.04")
    f8 = average_premium + max(-clamp, min(clamp, interest - average_premium))
    return max(-cap, min(cap, f8 / 8))


@dataclass(frozen=True, slots=True)
class BookLevel:
    px: Decimal
    sz: Decimal
    n: int


@dataclass(frozen=True, slots=True)
class OrderBook:
    time: datetime
    mid: Decimal
    bids: tuple[BookLevel, ...]
    """Best first."""
    asks: tuple[BookLevel, ...]


class MarketSimulator:
    """A ``MarketSource`` for one scenario. Thread-safe (its caches only ever hold values
    that any thread would compute identically)."""

    def __init__(
        self,
        scenario_: str | ScenarioSpec = "calm",
        *,
        seed: int = 7,
        start: datetime = DEFAULT_START,
        start_price: float | None = None,
        lst_rates: Mapping[Asset, float] | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.spec = scenario(scenario_) if isinstance(scenario_, str) else scenario_
        self.seed = seed
        self.start = start.astimezone(UTC)
        spec = self.spec
        self._p0 = start_price if start_price is not None else spec.start_price
        self._x0 = MappingProxyType(dict(lst_rates or spec.lst_rates_at_start))
        self._start_abs_h = (self.start - _EPOCH).total_seconds() / 3600.0
        self._walk = RandomWalk(self._price_steps)
        self._drift = ValueNoise(seed, "premium-drift", 4.0, spec.premium_drift_sigma)
        self._peg_noise = {
            a: ValueNoise(seed, f"peg:{a.value}", 1.0, spec.peg_noise_sigma) for a in _LSTS
        }
        self._util_noise = {
            (p.protocol, tok): ValueNoise(
                seed, f"util:{p.protocol.label}:{tok}", 6.0, spec.utilisation_noise_sigma
            )
            for p in spec.protocols
            for tok in p.curves
        }
        self._eps: BoundedCache[int, list[float]] = BoundedCache(16_384)
        self._funding: BoundedCache[int, float] = BoundedCache(65_536)
        self._protocols: BoundedCache[int, tuple[ProtocolMarket, ...]] = BoundedCache(4096)
        self._flat0 = Knots.flat(0.0)

    @property
    def name(self) -> str:
        return self.spec.name

    def describe(self) -> dict[str, object]:
        return {
            "scenario": self.spec.name,
            "description": self.spec.description,
            "seed": self.seed,
            "start": self.start.isoformat(),
            "start_price": self._p0,
        }

    # ---- time ------------------------------------------------------------------------------

    def _hours(self, at: datetime) -> float:
        """Hours since the scenario's start."""
        return (at - self.start).total_seconds() / 3600.0

    @staticmethod
    def _abs_hours(at: datetime) -> float:
        return (at - _EPOCH).total_seconds() / 3600.0

    # ---- SOL -------------------------------------------------------------------------------

    def _price_steps(self, day: int) -> list[float]:
        spec = self.spec
        r = rng(self.seed, "price", day)
        mult = spec.turbulent_multiplier if r.random() < spec.turbulent_day_probability else 1.0
        jump_p = spec.jumps_per_day / 1440.0
        jump_sigma = spec.jump_sigma
        out: list[float] = []
        for hour in range(24):
            sigma = spec.annual_vol.at(day * 24 + hour + 0.5) * mult / math.sqrt(_MINUTES_PER_YEAR)
            drift = -0.5 * sigma * sigma
            for _ in range(60):
                step = sigma * r.gauss(0.0, 1.0) + drift
                if r.random() < jump_p:
                    step += r.gauss(0.0, jump_sigma)
                out.append(step)
        return out

    def _moves(self, h: float) -> float:
        total = 0.0
        for m in self.spec.price_moves:
            x = (h - m.start_hours) * 60.0 / m.minutes
            if x > 0:
                total += m.log_return * min(1.0, x)
        return total

    def sol_f(self, at: datetime) -> float:
        minutes = (at - self.start).total_seconds() / 60.0
        return self._p0 * math.exp(self._walk.at(minutes) + self._moves(minutes / 60.0))

    # ---- premium and funding ---------------------------------------------------------------

    def _eps_of(self, hour: int) -> list[float]:
        def make(h: int) -> list[float]:
            r = rng(self.seed, "premium", h)
            return [r.gauss(0.0, self.spec.premium_noise_sigma) for _ in range(_BUCKETS)]

        return self._eps.get(hour, make)

    def premium_f(self, at: datetime) -> float:
        abs_h = self._abs_hours(at)
        hour = math.floor(abs_h)
        bucket = min(_BUCKETS - 1, int((abs_h - hour) * _BUCKETS))
        return (
            self.spec.premium.at(abs_h - self._start_abs_h)
            + self._drift.at(abs_h)
            + self._eps_of(hour)[bucket]
        )

    def _hour_premium(self, hour: int) -> float:
        """Average premium over the UTC hour ``[hour, hour + 1)`` (absolute hour index)."""
        h0 = hour - self._start_abs_h
        eps = self._eps_of(hour)
        # The drift is linear inside each 4-hour segment, so its hourly mean is its midpoint.
        return (
            self.spec.premium.mean(h0, h0 + 1.0) + self._drift.at(hour + 0.5) + sum(eps) / _BUCKETS
        )

    def _funding_f(self, hour: int) -> float:
        return self._funding.get(hour, lambda h: funding_from_premium(self._hour_premium(h)))

    def perp_f(self, at: datetime) -> float:
        return self.sol_f(at) * (1.0 + self.premium_f(at))

    def funding_rate(self, at: datetime) -> Decimal:
        """The hourly rate in force for the UTC hour containing ``at`` (settled at its end)."""
        return as_decimal(self._funding_f(math.floor(self._abs_hours(at))), _RATE_Q)

    def settled_funding(self, time: datetime) -> Decimal:
        """The rate settled at ``time`` (on the hour) for the hour that ended then."""
        return as_decimal(self._funding_f(math.ceil(self._abs_hours(time)) - 1), _RATE_Q)

    def predicted_funding(self, at: datetime) -> Decimal:
        """The venue-style forecast at ``at``: the formula on the hour-to-date average premium
        (no look-ahead)."""
        abs_h = self._abs_hours(at)
        hour = math.floor(abs_h)
        elapsed = abs_h - hour
        bucket = min(_BUCKETS - 1, int(elapsed * _BUCKETS))
        h0 = hour - self._start_abs_h
        eps = self._eps_of(hour)[: bucket + 1]
        avg = (
            self.spec.premium.mean(h0, h0 + elapsed)
            + self._drift.at(hour + elapsed / 2.0)
            + sum(eps) / len(eps)
        )
        return as_decimal(funding_from_premium(avg), _RATE_Q)

    # ---- LSTs ------------------------------------------------------------------------------

    def exchange_rate_f(self, asset: Asset, h: float) -> float:
        apy = self.spec.staking_apy.get(asset, 0.0)
        return self._x0.get(asset, 1.0) * math.exp(apy * h / 8760.0)

    def peg_f(self, asset: Asset, at: datetime) -> float:
        if not asset.is_lst:
            return 0.0
        abs_h = self._abs_hours(at)
        events = self.spec.peg.get(asset, self._flat0)
        return events.at(abs_h - self._start_abs_h) + self._peg_noise[asset].at(abs_h)

    # ---- lending ---------------------------------------------------------------------------

    def _protocols_of(self, hour: int) -> tuple[ProtocolMarket, ...]:
        def make(hr: int) -> tuple[ProtocolMarket, ...]:
            h = hr - self._start_abs_h
            out = []
            for p in self.spec.protocols:
                lend: dict[str, Decimal] = {}
                borrow: dict[str, Decimal] = {}
                usdc_u = 0.0
                for tok, curve in p.curves.items():
                    shift = self.spec.utilisation_shift.get((p.protocol, tok), self._flat0)
                    u = (
                        p.utilisation[tok]
                        + shift.at(h)
                        + self._util_noise[(p.protocol, tok)].at(hr)
                    )
                    u = max(0.0, min(0.995, u))
                    if tok == USDC:
                        usdc_u = u
                    lend[tok] = as_decimal(curve.lend(u), _APY_Q)
                    borrow[tok] = as_decimal(curve.borrow(u), _APY_Q)
                out.append(
                    ProtocolMarket(
                        protocol=p.protocol,
                        active=True,
                        lend_apy=MappingProxyType(lend),
                        borrow_apy=MappingProxyType(borrow),
                        max_leverage=as_decimal(p.max_leverage, Decimal("0.01")),
                        liquidation_ltv=as_decimal(p.liquidation_ltv, Decimal("0.0001")),
                        borrow_capacity_usd=as_decimal(p.capacity_usd * (1.0 - usdc_u), _USD_Q),
                    )
                )
            return tuple(out)

        return self._protocols.get(hour, make)

    def protocols_at(self, at: datetime) -> tuple[ProtocolMarket, ...]:
        """Lending terms in force for the UTC hour containing ``at`` (they change hourly)."""
        return self._protocols_of(math.floor(self._abs_hours(at)))

    def outages_between(self, start: datetime, end: datetime) -> frozenset[Venue]:
        """Venues down at any time in ``[start, end)``."""
        h0, h1 = self._hours(start), self._hours(end)
        return frozenset(
            o.venue for o in self.spec.outages if o.start_hours < h1 and h0 < o.end_hours
        )

    def outages_at(self, at: datetime) -> frozenset[Venue]:
        h = self._hours(at)
        return frozenset(o.venue for o in self.spec.outages if o.start_hours <= h < o.end_hours)

    # ---- MarketSource ----------------------------------------------------------------------

    def state_at(self, at: datetime) -> MarketState:
        h = self._hours(at)
        sol = self.sol_f(at)
        premium = self.premium_f(at)
        rates = {a: self.exchange_rate_f(a, h) for a in Asset}
        return MarketState(
            at=at,
            sol_price=as_decimal(sol, _PRICE_Q),
            perp_mark=as_decimal(sol * (1.0 + premium), _PRICE_Q),
            funding_rate=self.funding_rate(at),
            premium=as_decimal(premium, _RATE_Q),
            lst_exchange_rate=MappingProxyType(
                {a: as_decimal(x, _LST_Q) for a, x in rates.items()}
            ),
            lst_market_price_sol=MappingProxyType(
                {a: as_decimal(x * (1.0 + self.peg_f(a, at)), _LST_Q) for a, x in rates.items()}
            ),
            staking_apy=MappingProxyType(
                {a: as_decimal(self.spec.staking_apy.get(a, 0.0), _APY_Q) for a in Asset}
            ),
            protocols=self.protocols_at(at),
            outages=self.outages_at(at),
        )

    def funding_history(self, start: datetime, end: datetime) -> list[FundingPoint]:
        first = math.ceil(self._abs_hours(start))
        out: list[FundingPoint] = []
        hour = first
        while (t := _EPOCH + timedelta(hours=hour)) < end:
            out.append(
                FundingPoint(
                    time=t,
                    rate=as_decimal(self._funding_f(hour - 1), _RATE_Q),
                    premium=as_decimal(self._hour_premium(hour - 1), _RATE_Q),
                )
            )
            hour += 1
        return out

    def price_range(self, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
        lo, hi = self.sol_range_f(start, end)
        return as_decimal(lo, _PRICE_Q), as_decimal(hi, _PRICE_Q)

    def sol_range_f(self, start: datetime, end: datetime) -> tuple[float, float]:
        """Extremes over ``[start, end]``: the path is linear between minute knots, so the
        knots and the two ends are enough."""
        if end < start:
            raise ValueError("end before start")
        lo = hi = self.sol_f(start)
        m0 = (start - self.start).total_seconds() / 60.0
        m1 = (end - self.start).total_seconds() / 60.0
        m = math.floor(m0) + 1
        while m < m1:
            p = self.sol_f(self.start + timedelta(minutes=m))
            lo, hi = min(lo, p), max(hi, p)
            m += 1
        p = self.sol_f(end)
        return min(lo, p), max(hi, p)

    # ---- depth (for the emulators) ---------------------------------------------------------

    def _stress(self, at: datetime) -> float:
        return max(1.0, self.spec.annual_vol.at(self._hours(at)) / 0.40)

    def order_book(
        self, at: datetime, levels: int = 20, sz_decimals: int = 2, *, mark: Decimal | None = None
    ) -> OrderBook:
        """A Hyperliquid-style L2 book around the mark (``mark`` overrides the simulated one),
        on the venue's tick (5 significant figures, at most 6 - szDecimals decimals); thinner
        and wider under stress."""
        if mark is None:
            mark = Decimal(repr(self.perp_f(at)))
        exponent = mark.adjusted()
        tick = Decimal(1).scaleb(max(exponent - 4, -(6 - sz_decimals)))
        stress = self._stress(at)
        half = max(1, round(float(mark) * 0.00005 * stress / float(tick)))
        r = rng(self.seed, "book", math.floor(self._abs_hours(at) * 60.0))
        lot = Decimal(1).scaleb(-sz_decimals)
        mid = mark.quantize(tick)
        bids: list[BookLevel] = []
        asks: list[BookLevel] = []
        for i in range(levels):
            offset = (half + i * (1 + i // 5)) * tick
            for side, px in ((bids, mid - offset), (asks, mid + offset)):
                usd = 60_000.0 * (1.0 + 0.3 * i) * (0.6 + 0.8 * r.random()) / stress
                sz = Decimal(repr(usd / float(mark))).quantize(lot, rounding=ROUND_DOWN)
                side.append(BookLevel(px=px, sz=max(sz, lot), n=1 + int(r.random() * 8)))
        return OrderBook(time=at, mid=mid, bids=tuple(bids), asks=tuple(asks))

    def swap_slippage_bps(self, asset: Asset, notional_usd: Decimal, at: datetime) -> Decimal:
        """Expected price impact of a Solana swap of ``notional_usd`` (Asgard's open/close)."""
        stress = self._stress(at)
        base, depth = (2.0, 20e6) if asset is Asset.SOL else (4.0, 5e6)
        bps = base * stress + float(notional_usd) / (depth / stress) * 10_000.0
        return Decimal(repr(bps)).quantize(Decimal("0.01"), rounding=ROUND_UP)
