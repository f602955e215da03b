"""A seeded random-walk market: the default source until a scenario is chosen.

Deterministic in (seed, time): the walk is built from per-day blocks of per-minute Gaussian
steps, each block seeded by (seed, day), so any instant can be evaluated in any process and
two emulators reading the same seed see the same market. Randomness is float internally;
every value handed out is a ``Decimal``.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from models.domain import Asset, Protocol
from venues.market.source import USDC, FundingPoint, MarketState, ProtocolMarket

ANCHOR = datetime(2024, 1, 1, tzinfo=UTC)
_MINUTES_PER_DAY = 1440
HOURLY_INTEREST = Decimal("0.0000125")  # Hyperliquid's interest component, per hour
_PRICE_Q = Decimal("0.0001")
_RATE_Q = Decimal("0.0000000001")


def _q(x: float, q: Decimal) -> Decimal:
    return Decimal(repr(x)).quantize(q)


def default_protocols() -> tuple[ProtocolMarket, ...]:
    """Plausible 2025 terms (decimal APYs) for the four Asgard protocols."""

    def pm(p: Protocol, ltv: str, lend: dict[str, str], borrow: str, cap: str) -> ProtocolMarket:
        return ProtocolMarket(
            protocol=p,
            active=True,
            lend_apy={k: Decimal(v) for k, v in lend.items()},
            borrow_apy={USDC: Decimal(borrow)},
            max_leverage=Decimal(4),
            liquidation_ltv=Decimal(ltv),
            borrow_capacity_usd=Decimal(cap),
        )

    return (
        pm(
            Protocol.MARGINFI,
            "0.90",
            {"SOL": "0.055", "jitoSOL": "0.004", "jupSOL": "0.003", "INF": "0.002"},
            "0.085",
            "40000000",
        ),
        pm(
            Protocol.KAMINO,
            "0.90",
            {"SOL": "0.060", "jitoSOL": "0.005", "jupSOL": "0.004", "INF": "0.003"},
            "0.092",
            "60000000",
        ),
        pm(
            Protocol.SOLEND,
            "0.85",
            {"SOL": "0.045", "jitoSOL": "0.003", "jupSOL": "0.002", "INF": "0.001"},
            "0.098",
            "8000000",
        ),
        pm(
            Protocol.DRIFT,
            "0.92",
            {"SOL": "0.050", "jitoSOL": "0.004", "jupSOL": "0.003", "INF": "0.002"},
            "0.080",
            "25000000",
        ),
    )


class RandomWalkSource:
    """SOL as geometric Brownian motion; funding as a mean-reverting hourly process around
    Hyperliquid's interest rate; LSTs accruing their staking yield on a fixed peg."""

    def __init__(
        self,
        seed: int = 7,
        *,
        start_price: float = 150.0,
        annual_vol: float = 0.6,
        funding_mean: float = 0.0000125 * 2,
        funding_vol: float = 0.00001,
        funding_reversion: float = 0.05,
        staking_apy: dict[Asset, Decimal] | None = None,
        protocols: tuple[ProtocolMarket, ...] | None = None,
    ) -> None:
        self.seed = seed
        self._p0 = start_price
        self._sigma_min = annual_vol / math.sqrt(365 * _MINUTES_PER_DAY)
        self._f_mean = funding_mean
        self._f_vol = funding_vol
        self._f_rev = funding_reversion
        self._staking = staking_apy or {
            Asset.SOL: Decimal(0),
            Asset.JITOSOL: Decimal("0.072"),
            Asset.JUPSOL: Decimal("0.075"),
            Asset.INF: Decimal("0.078"),
        }
        self._lst_anchor = {
            Asset.SOL: 1.0,
            Asset.JITOSOL: 1.15,
            Asset.JUPSOL: 1.08,
            Asset.INF: 1.25,
        }
        self._protocols = protocols or default_protocols()
        self._day_end_log: dict[int, float] = {}  # cumulative log-price at the end of each day
        self._day_steps: dict[int, list[float]] = {}
        self._funding: dict[int, float] = {}

    # ---- the price walk ------------------------------------------------------------------

    def _steps(self, day: int) -> list[float]:
        steps = self._day_steps.get(day)
        if steps is None:
            rng = random.Random(f"{self.seed}:price:{day}")  # noqa: S311 - simulation, not crypto
            steps = [rng.gauss(0.0, self._sigma_min) for _ in range(_MINUTES_PER_DAY)]
            if len(self._day_steps) > 64:
                self._day_steps.clear()
            self._day_steps[day] = steps
        return steps

    def _log_at_day_start(self, day: int) -> float:
        if day == 0:
            return 0.0
        if day in self._day_end_log:
            return self._day_end_log[day]
        # Walk from the nearest known day (days are seeded independently, so order is free).
        if day > 0:
            known = max((d for d in self._day_end_log if 0 < d < day), default=0)
            acc = self._day_end_log.get(known, 0.0)
            for d in range(known, day):
                acc += sum(self._steps(d))
                self._day_end_log[d + 1] = acc
            return acc
        known = min((d for d in self._day_end_log if day < d < 0), default=0)
        acc = self._day_end_log.get(known, 0.0)
        for d in range(known - 1, day - 1, -1):
            acc -= sum(self._steps(d))
            self._day_end_log[d] = acc
        return acc

    def _log_price(self, at: datetime) -> float:
        minutes = (at - ANCHOR).total_seconds() / 60.0
        day = math.floor(minutes / _MINUTES_PER_DAY)
        within = minutes - day * _MINUTES_PER_DAY
        base = self._log_at_day_start(day)
        steps = self._steps(day)
        whole = int(within)
        acc = base + sum(steps[:whole])
        if whole < _MINUTES_PER_DAY:
            acc += steps[whole] * (within - whole)
        return acc

    def _sol(self, at: datetime) -> float:
        return self._p0 * math.exp(self._log_price(at))

    # ---- funding -------------------------------------------------------------------------

    def _funding_hour(self, hour: int) -> float:
        """Hourly rate for hour index ``hour`` since the anchor (an AR(1) around the mean,
        evaluated as a finite weighted sum of seeded shocks so any hour is independent)."""
        cached = self._funding.get(hour)
        if cached is not None:
            return cached
        phi = 1.0 - self._f_rev
        acc = 0.0
        weight = 1.0
        for lag in range(0, 96):
            rng = random.Random(f"{self.seed}:funding:{hour - lag}")  # noqa: S311
            acc += weight * rng.gauss(0.0, self._f_vol)
            weight *= phi
        rate = max(-0.04, min(0.04, self._f_mean + acc))  # Hyperliquid's 4%/hour cap
        if len(self._funding) > 10_000:
            self._funding.clear()
        self._funding[hour] = rate
        return rate

    @staticmethod
    def _hour_index(at: datetime) -> int:
        return math.floor((at - ANCHOR).total_seconds() / 3600.0)

    # ---- MarketSource --------------------------------------------------------------------

    def state_at(self, at: datetime) -> MarketState:
        sol = self._sol(at)
        rate = self._funding_hour(self._hour_index(at))
        premium = rate - float(HOURLY_INTEREST)
        years = (at - ANCHOR).total_seconds() / (365.0 * 86400.0)
        lst = {
            a: _q(
                self._lst_anchor[a] * math.exp(float(self._staking[a]) * years),
                Decimal("0.000000001"),
            )
            for a in Asset
        }
        return MarketState(
            at=at,
            sol_price=_q(sol, _PRICE_Q),
            perp_mark=_q(sol * (1.0 + premium), _PRICE_Q),
            funding_rate=_q(rate, _RATE_Q),
            premium=_q(premium, _RATE_Q),
            lst_exchange_rate=lst,
            lst_market_price_sol=dict(lst),
            staking_apy=dict(self._staking),
            protocols=self._protocols,
        )

    def funding_history(self, start: datetime, end: datetime) -> list[FundingPoint]:
        out: list[FundingPoint] = []
        first = self._hour_index(start)
        if ANCHOR + timedelta(hours=first) < start:
            first += 1
        h = first
        while (t := ANCHOR + timedelta(hours=h)) < end:
            # The payment at t settles the hour that ended at t.
            rate = self._funding_hour(h - 1)
            out.append(
                FundingPoint(
                    time=t,
                    rate=_q(rate, _RATE_Q),
                    premium=_q(rate - float(HOURLY_INTEREST), _RATE_Q),
                )
            )
            h += 1
        return out

    def price_range(self, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
        if end < start:
            raise ValueError("end before start")
        lo = hi = self._sol(start)
        t = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while t < end:
            p = self._sol(t)
            lo, hi = min(lo, p), max(hi, p)
            t += timedelta(minutes=1)
        p = self._sol(end)
        lo, hi = min(lo, p), max(hi, p)
        return _q(lo, _PRICE_Q), _q(hi, _PRICE_Q)
