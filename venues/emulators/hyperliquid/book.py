"""A synthetic order book around the mark price.

Levels sit ``level_step_bps`` apart from a half-spread around the mid, each deeper level
larger than the last, so a large order walks the book and pays slippage. The book is rebuilt
from the mid on every request: liquidity taken by one order is back for the next (a
simplification; the venue's real book refills over time).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal

from venues.emulators.hyperliquid.config import AssetSpec, EmulatorConfig
from venues.emulators.hyperliquid.numbers import to_tick

_BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class Level:
    px: Decimal
    sz: Decimal
    n: int


@dataclass(frozen=True, slots=True)
class Book:
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]

    @property
    def best_bid(self) -> Decimal:
        return self.bids[0].px

    @property
    def best_ask(self) -> Decimal:
        return self.asks[0].px

    def crosses(self, is_buy: bool, limit_px: Decimal) -> bool:
        return limit_px >= self.best_ask if is_buy else limit_px <= self.best_bid

    def sweep(
        self, is_buy: bool, limit_px: Decimal, size: Decimal
    ) -> list[tuple[Decimal, Decimal]]:
        """(price, size) taken level by level, best first, while the level is inside the
        limit and size remains."""
        out: list[tuple[Decimal, Decimal]] = []
        remaining = size
        for level in self.asks if is_buy else self.bids:
            if remaining <= 0:
                break
            inside = level.px <= limit_px if is_buy else level.px >= limit_px
            if not inside:
                break
            take = min(remaining, level.sz)
            out.append((level.px, take))
            remaining -= take
        return out


def build_book(mid: Decimal, spec: AssetSpec, cfg: EmulatorConfig) -> Book:
    bids: list[Level] = []
    asks: list[Level] = []
    lot = Decimal(1).scaleb(-spec.sz_decimals)
    for i in range(cfg.book_levels):
        offset = (cfg.half_spread_bps + i * cfg.level_step_bps) / _BPS
        notional = cfg.level_notional * (1 + Decimal(i) / 2)
        bid_px = to_tick(mid * (1 - offset), spec.sz_decimals, ROUND_FLOOR)
        ask_px = to_tick(mid * (1 + offset), spec.sz_decimals, ROUND_CEILING)
        n = 1 + i // 3
        for px, side in ((bid_px, bids), (ask_px, asks)):
            sz = max((notional / px).quantize(lot, rounding=ROUND_DOWN), lot)
            if side and side[-1].px == px:
                # Coarse ticks (large prices) can map two offsets onto one price: merge.
                prev = side.pop()
                side.append(Level(px, prev.sz + sz, prev.n + n))
            else:
                side.append(Level(px, sz, n))
    return Book(tuple(bids), tuple(asks))
