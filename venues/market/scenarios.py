"""Named market scenarios: plain data the simulator turns into a market.

Every time in a scenario is in hours since the scenario's start (negative hours are the
history before it, generated from the same process so a strategy can see its lookback on the
first hour). A scenario describes the *shape* of the market; the seed picks one random path
with that shape.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from types import MappingProxyType

from models.domain import Asset, Protocol, Venue

USDC = "USDC"


@dataclass(frozen=True, slots=True)
class Knots:
    """A piecewise-linear function of the hour, flat before the first and after the last knot."""

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a knot function needs at least one point")
        hours = [h for h, _ in self.points]
        if hours != sorted(hours):
            raise ValueError("knots must be in time order")

    @staticmethod
    def flat(value: float) -> Knots:
        return Knots(((0.0, value),))

    def at(self, h: float) -> float:
        pts = self.points
        if h <= pts[0][0]:
            return pts[0][1]
        if h >= pts[-1][0]:
            return pts[-1][1]
        i = bisect_right(pts, (h, math.inf))
        (h0, v0), (h1, v1) = pts[i - 1], pts[i]
        if h1 == h0:
            return v1
        return v0 + (v1 - v0) * (h - h0) / (h1 - h0)

    def mean(self, h0: float, h1: float) -> float:
        """Exact average over ``[h0, h1]`` (trapezoids between the knots)."""
        if h1 <= h0:
            return self.at(h0)
        cuts = [h0, *(h for h, _ in self.points if h0 < h < h1), h1]
        area = 0.0
        for a, b in pairwise(cuts):
            area += (self.at(a) + self.at(b)) * (b - a) / 2.0
        return area / (h1 - h0)


@dataclass(frozen=True, slots=True)
class PriceMove:
    """A deterministic move of SOL's log price, spread linearly over ``minutes``."""

    start_hours: float
    minutes: float
    log_return: float


@dataclass(frozen=True, slots=True)
class Outage:
    venue: Venue
    start_hours: float
    end_hours: float


@dataclass(frozen=True, slots=True)
class RateCurve:
    """A kinked utilisation curve (the usual lending-market shape) for one token."""

    slope1: float
    """Borrow APY reached at the kink."""
    slope2: float
    """Extra borrow APY from the kink to 100% utilisation."""
    kink: float = 0.8
    base: float = 0.0
    reserve_factor: float = 0.1

    def borrow(self, u: float) -> float:
        if u <= self.kink:
            return self.base + self.slope1 * u / self.kink
        return self.base + self.slope1 + self.slope2 * (u - self.kink) / (1.0 - self.kink)

    def lend(self, u: float) -> float:
        return self.borrow(u) * u * (1.0 - self.reserve_factor)


@dataclass(frozen=True, slots=True)
class ProtocolSpec:
    protocol: Protocol
    liquidation_ltv: float
    capacity_usd: float
    """USDC borrowable at zero utilisation."""
    curves: Mapping[str, RateCurve]
    """Per token: ``USDC`` and each ``Asset`` value."""
    utilisation: Mapping[str, float]
    """Typical utilisation per token."""
    max_leverage: float = 4.0


def _curves(usdc: float, sol: float, lst: float, usdc_jump: float = 0.6) -> Mapping[str, RateCurve]:
    return MappingProxyType(
        {
            USDC: RateCurve(slope1=usdc, slope2=usdc_jump, kink=0.85),
            Asset.SOL.value: RateCurve(slope1=sol, slope2=1.5, kink=0.8),
            **{a.value: RateCurve(slope1=lst, slope2=1.0, kink=0.6) for a in Asset if a.is_lst},
        }
    )


def _util(usdc: float, sol: float, lst: float) -> Mapping[str, float]:
    return MappingProxyType(
        {USDC: usdc, Asset.SOL.value: sol, **{a.value: lst for a in Asset if a.is_lst}}
    )


DEFAULT_PROTOCOLS: tuple[ProtocolSpec, ...] = (
    ProtocolSpec(
        Protocol.MARGINFI, 0.90, 40e6, _curves(0.090, 0.085, 0.020), _util(0.80, 0.70, 0.25)
    ),
    ProtocolSpec(
        Protocol.KAMINO, 0.90, 60e6, _curves(0.098, 0.090, 0.025), _util(0.80, 0.72, 0.25)
    ),
    ProtocolSpec(Protocol.SOLEND, 0.85, 8e6, _curves(0.105, 0.075, 0.015), _util(0.78, 0.65, 0.20)),
    ProtocolSpec(Protocol.DRIFT, 0.92, 25e6, _curves(0.085, 0.080, 0.020), _util(0.79, 0.68, 0.22)),
)

DEFAULT_STAKING: Mapping[Asset, float] = MappingProxyType(
    {Asset.SOL: 0.0, Asset.JITOSOL: 0.072, Asset.JUPSOL: 0.075, Asset.INF: 0.078}
)
DEFAULT_LST_RATES: Mapping[Asset, float] = MappingProxyType(
    {Asset.SOL: 1.0, Asset.JITOSOL: 1.23, Asset.JUPSOL: 1.11, Asset.INF: 1.29}
)

# Hyperliquid's premium is (mark - oracle) / oracle. With the interest part at 0.01% per
# 8 hours, funding stays at its floor (0.00125%/h, ~11% a year) while the hour's average
# premium is between -0.04% and +0.06%, and follows the premium outside that band.
CALM_PREMIUM = 0.00068  # ~20% a year to shorts on average
_BASE_VOL = Knots.flat(0.40)
_CALM_PREMIUM_KNOTS = Knots.flat(CALM_PREMIUM)


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    name: str
    description: str
    default_days: int
    start_price: float = 150.0
    annual_vol: Knots = _BASE_VOL
    turbulent_day_probability: float = 0.08
    turbulent_multiplier: float = 1.8
    jumps_per_day: float = 0.3
    jump_sigma: float = 0.01
    price_moves: tuple[PriceMove, ...] = ()
    premium: Knots = _CALM_PREMIUM_KNOTS
    """Mean premium; the funding follows from it by Hyperliquid's formula."""
    premium_drift_sigma: float = 0.00005
    """Slow premium wander (knots every 4 hours)."""
    premium_noise_sigma: float = 0.0002
    """Per 5-minute premium noise."""
    staking_apy: Mapping[Asset, float] = field(default_factory=lambda: DEFAULT_STAKING)
    lst_rates_at_start: Mapping[Asset, float] = field(default_factory=lambda: DEFAULT_LST_RATES)
    peg: Mapping[Asset, Knots] = field(default_factory=dict)
    """Market price of each LST against its exchange rate, minus 1 (negative: discount)."""
    peg_noise_sigma: float = 0.0004
    protocols: tuple[ProtocolSpec, ...] = DEFAULT_PROTOCOLS
    utilisation_shift: Mapping[tuple[Protocol, str], Knots] = field(default_factory=dict)
    """Added to a protocol's utilisation of one token (events such as a borrow spike)."""
    utilisation_noise_sigma: float = 0.02
    outages: tuple[Outage, ...] = ()


def _ramp(t0: float, t1: float, v0: float, v1: float) -> Knots:
    return Knots(((t0, v0), (t1, v1)))


CALM = ScenarioSpec(
    name="calm",
    description="Steady positive funding (~20% a year to shorts), moderate SOL volatility.",
    default_days=30,
)

FUNDING_FLIP = ScenarioSpec(
    name="funding-flip",
    description="Calm carry for 4 days, then the premium turns negative within 2 hours and "
    "stays: shorts pay ~50% a year.",
    default_days=14,
    premium=Knots(((96.0, CALM_PREMIUM), (98.0, -0.00095))),
)

CRASH = ScenarioSpec(
    name="crash",
    description="Calm carry, then SOL falls 30% within one hour (hour 72); the perp trades "
    "at a discount and volatility stays high for a day.",
    default_days=7,
    annual_vol=Knots(((72.0, 0.40), (73.0, 1.20), (96.0, 1.20), (120.0, 0.50))),
    price_moves=(PriceMove(start_hours=72.0, minutes=60.0, log_return=math.log(0.70)),),
    premium=Knots(
        (
            (72.0, CALM_PREMIUM),
            (72.5, -0.0030),
            (73.0, -0.0030),
            (78.0, 0.0003),
            (96.0, CALM_PREMIUM),
        )
    ),
)

LST_DEPEG = ScenarioSpec(
    name="lst-depeg",
    description="jitoSOL's market price falls 3.5% below its exchange rate at hour 48, holds "
    "for 12 hours and recovers to a 0.8% discount over a day; other LSTs wobble.",
    default_days=7,
    peg=MappingProxyType(
        {
            Asset.JITOSOL: Knots(((48.0, 0.0), (50.0, -0.035), (62.0, -0.035), (86.0, -0.008))),
            Asset.JUPSOL: Knots(((48.0, 0.0), (50.0, -0.006), (86.0, -0.001))),
            Asset.INF: Knots(((48.0, 0.0), (50.0, -0.005), (86.0, -0.001))),
        }
    ),
)

BORROW_SPIKE = ScenarioSpec(
    name="borrow-spike",
    description="USDC utilisation on Marginfi, Kamino and Drift jumps to ~97% at hour 48 for "
    "12 hours: borrow APYs of 40-60%.",
    default_days=7,
    utilisation_shift=MappingProxyType(
        {
            (p, USDC): Knots(((48.0, 0.0), (49.0, 0.18), (60.0, 0.18), (66.0, 0.0)))
            for p in (Protocol.MARGINFI, Protocol.KAMINO, Protocol.DRIFT)
        }
    ),
)

VENUE_OUTAGE = ScenarioSpec(
    name="venue-outage",
    description="Calm carry; Asgard (and its Solana RPC) is down from hour 30 to 36, "
    "Hyperliquid from hour 60 to 63.",
    default_days=5,
    outages=(
        Outage(Venue.ASGARD, 30.0, 36.0),
        Outage(Venue.HYPERLIQUID, 60.0, 63.0),
    ),
)

SCENARIOS: Mapping[str, ScenarioSpec] = MappingProxyType(
    {s.name: s for s in (CALM, FUNDING_FLIP, CRASH, LST_DEPEG, BORROW_SPIKE, VENUE_OUTAGE)}
)


def scenario(name: str) -> ScenarioSpec:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(
            f"unknown scenario {name!r}; choose one of: {', '.join(SCENARIOS)}"
        ) from None
