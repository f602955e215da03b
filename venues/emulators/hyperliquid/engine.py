"""The emulated venue's state and its passage of time.

No background task: every request first *catches up* to ``clock.now()``. Catching up walks
the time since the previous request in segments split at each hour; in each segment it fills
resting orders the price crossed and liquidates accounts the price extremes
(``MarketSource.price_range``) pushed below maintenance; at each hour it settles funding. So
a ``clock.advance(hours=5)`` or a fast clock gives the same result as living through it.

Market time comes from the ``SimClock``; nonces, ``expiresAfter`` and the schedule-cancel
dead-man switch use wall-clock milliseconds, as the SDK and callers produce them.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from models.domain import Venue
from venues.emulators.faults import FaultInjector
from venues.emulators.hyperliquid import margin as m
from venues.emulators.hyperliquid import state as st
from venues.emulators.hyperliquid.book import Book, build_book
from venues.emulators.hyperliquid.config import EmulatorConfig
from venues.emulators.hyperliquid.ledger import apply_fill, pay_funding, tx_hash
from venues.emulators.hyperliquid.numbers import from_ms, ms, to_tick
from venues.market import MarketSource, SimClock

HOUR_MS = 3_600_000
ZERO = Decimal(0)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _price(row: tuple[Decimal, str]) -> Decimal:
    return row[0]


@dataclass(frozen=True)
class _Derived:
    """What catching up needs to know about all the accounts, rebuilt only after a change, so
    that a request to a venue of many accounts does not walk them all."""

    active: bool
    resting: tuple[str, ...]
    """Accounts with an open order."""
    next_cancel_ms: int | None
    """The earliest armed dead-man switch."""
    shorts: dict[int, list[tuple[Decimal, str]]]
    """Per asset, accounts whose only position is a short, by liquidation price, lowest
    first: a mark up to a price reaches exactly those below it."""
    longs: dict[int, list[tuple[Decimal, str]]]
    """The same for longs, by the negated liquidation price (highest price first)."""
    always: tuple[str, ...]
    """Accounts with several positions: their liquidation price moves with the others'
    marks, so every segment checks them."""

    def at_risk(self, low: m.Prices, high: m.Prices) -> list[str]:
        """Accounts the segment's extremes may liquidate (a superset: the check decides)."""
        out = list(self.always)
        for a, rows in self.shorts.items():
            out += [addr for _, addr in rows[: bisect_right(rows, high.mark[a], key=_price)]]
        for a, rows in self.longs.items():
            out += [addr for _, addr in rows[: bisect_right(rows, -low.mark[a], key=_price)]]
        return out


class HyperliquidEmulator:
    """Thread-safe: one re-entrant lock serialises every read-modify-write of the state.

    Every change to an account must end in ``touched()`` (``persist()`` calls it), which
    forgets what was derived from the accounts."""

    def __init__(
        self,
        market: MarketSource,
        clock: SimClock,
        *,
        config: EmulatorConfig | None = None,
        faults: FaultInjector | None = None,
        state_file: Path | None = None,
        wall_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.market = market
        self.clock = clock
        self.cfg = config or EmulatorConfig()
        self.faults = faults or FaultInjector()
        self.state_file = state_file
        self.wall_ms = wall_ms
        self.lock = threading.RLock()
        loaded = st.load(state_file) if state_file is not None else None
        self.state = loaded or st.EmulatorState(last_catchup_ms=ms(clock.now()))
        behind = self.state.last_catchup_ms - ms(clock.now())
        if behind > 0:
            # Restarted with a clock behind the saved venue (it ran fast before): move the
            # clock forward, never the venue's history backward.
            clock.advance(timedelta(milliseconds=behind))
        self._derived: _Derived | None = None

    def touched(self) -> None:
        """Some account changed: what was derived from the accounts is stale."""
        self._derived = None

    def _index(self) -> _Derived:
        if self._derived is None:
            accounts = self.state.accounts
            cancels = [
                a.schedule_cancel_ms for a in accounts.values() if a.schedule_cancel_ms is not None
            ]
            resting = tuple(
                addr
                for addr, a in accounts.items()
                if any(o.status == "open" for o in a.orders.values())
            )
            shorts: dict[int, list[tuple[Decimal, str]]] = {}
            longs: dict[int, list[tuple[Decimal, str]]] = {}
            always: list[str] = []
            u = self.cfg.universe
            now = self.prices()
            for addr, acct in accounts.items():
                positions = m.open_positions(acct)
                if len(positions) > 1:
                    always.append(addr)
                    continue
                if not positions:
                    continue
                a, pos = positions[0]
                # One position: its liquidation price depends on nothing that moves.
                liq = m.liquidation_price(acct, a, now, u, self.default_leverage(a))
                if liq is None:
                    continue  # backed beyond its whole notional: no price liquidates it
                if pos.szi < 0:
                    shorts.setdefault(a, []).append((liq, addr))
                else:
                    longs.setdefault(a, []).append((-liq, addr))
            for rows in (*shorts.values(), *longs.values()):
                rows.sort()
            self._derived = _Derived(
                active=bool(resting) or any(m.open_positions(a) for a in accounts.values()),
                resting=resting,
                next_cancel_ms=min(cancels) if cancels else None,
                shorts=shorts,
                longs=longs,
                always=tuple(always),
            )
        return self._derived

    # ---- persistence ------------------------------------------------------------------------

    def persist(self) -> None:
        self.touched()
        if self.state_file is not None:
            with self.lock:
                st.save(self.state, self.state_file)

    # ---- accounts ---------------------------------------------------------------------------

    def account(self, address: str) -> st.AccountRec | None:
        return self.state.accounts.get(address.lower())

    def fund(self, address: str, usdc: Decimal, *, spot: bool = False) -> st.AccountRec:
        """A paper deposit (never reachable through the venue protocol)."""
        if usdc <= 0:
            raise ValueError("deposit must be positive")
        with self.lock:
            self.catch_up()
            acct = self.state.accounts.setdefault(address.lower(), st.AccountRec())
            if spot:
                acct.spot_usdc += usdc
            else:
                acct.perp_usdc += usdc
            now = ms(self.clock.now())
            acct.ledger.append(
                st.LedgerRec(
                    time=now,
                    hash=tx_hash("deposit", address, now, len(acct.ledger)),
                    delta={"type": "deposit", "usdc": str(usdc)},
                )
            )
            self.persist()
            return acct

    def leverage(self, acct: st.AccountRec, asset: int) -> st.LeverageRec:
        default = min(self.cfg.default_leverage, self.cfg.universe[asset].max_leverage)
        return m.leverage_of(acct, asset, default)

    def default_leverage(self, asset: int) -> int:
        return min(self.cfg.default_leverage, self.cfg.universe[asset].max_leverage)

    # ---- prices -----------------------------------------------------------------------------

    def prices(self, at_ms: int | None = None) -> m.Prices:
        at = from_ms(at_ms) if at_ms is not None else self.clock.now()
        s = self.market.state_at(at)
        marks, oracles = {}, {}
        for i, spec in enumerate(self.cfg.universe):
            marks[i] = to_tick(s.perp_mark * spec.sol_ratio, spec.sz_decimals)
            oracles[i] = to_tick(s.sol_price * spec.sol_ratio, spec.sz_decimals)
        return m.Prices(ms(at), marks, oracles, s.funding_rate, s.premium)

    def in_outage(self) -> bool:
        """Whether the market scenario has Hyperliquid down right now."""
        return Venue.HYPERLIQUID in self.market.state_at(self.clock.now()).outages

    def book(self, asset: int, px: m.Prices) -> Book:
        return build_book(px.mark[asset], self.cfg.universe[asset], self.cfg)

    def _scaled(self, px: m.Prices, sol_oracle: Decimal) -> m.Prices:
        """Marks as if the SOL oracle were ``sol_oracle`` (premium held)."""
        sol = self.cfg.asset("SOL")
        base = px.oracle[sol[0]] if sol else px.oracle[0]
        k = sol_oracle / base
        return m.Prices(
            px.at_ms,
            {a: v * k for a, v in px.mark.items()},
            {a: v * k for a, v in px.oracle.items()},
            px.funding_rate,
            px.premium,
        )

    # ---- catching up ------------------------------------------------------------------------

    def catch_up(self) -> bool:
        """Bring the venue to ``clock.now()``; True if anything changed."""
        with self.lock:
            now = ms(self.clock.now())
            changed = self._dead_man_switch()
            last = self.state.last_catchup_ms
            if now <= last:
                return changed
            if self._active():
                points = {
                    ms(p.time): p.rate
                    for p in self.market.funding_history(from_ms(last + 1), from_ms(now + 1))
                }
                t0 = last
                hour = (last // HOUR_MS + 1) * HOUR_MS
                while hour <= now:
                    changed |= self._segment(t0, hour)
                    changed |= self._settle_funding(hour, points.get(hour))
                    t0 = hour
                    hour += HOUR_MS
                changed |= self._segment(t0, now)
            # Advancing the catch-up mark alone need not be saved: replaying an uneventful
            # stretch of a deterministic market from an older mark changes nothing.
            self.state.last_catchup_ms = now
            if changed:
                self.touched()
            return changed

    def _active(self) -> bool:
        return self._index().active

    def _dead_man_switch(self) -> bool:
        wall = self.wall_ms()
        due = self._index().next_cancel_ms
        if due is None or wall < due:
            return False
        fired = False
        for acct in self.state.accounts.values():
            if acct.schedule_cancel_ms is not None and wall >= acct.schedule_cancel_ms:
                self.cancel_all(acct, "scheduledCancel", ms(self.clock.now()))
                acct.schedule_cancel_ms = None
                fired = True
        if fired:
            self.touched()
        return fired

    def cancel_all(self, acct: st.AccountRec, status: str, now_ms: int) -> None:
        for o in acct.orders.values():
            if o.status == "open":
                o.status, o.status_ts = status, now_ms

    def _segment(self, a_ms: int, b_ms: int) -> bool:
        if not self._active() or b_ms <= a_ms:
            return False
        lo, hi = self.market.price_range(from_ms(a_ms), from_ms(b_ms))
        end = self.prices(b_ms)
        low, high = self._scaled(end, lo), self._scaled(end, hi)
        changed = self._fill_resting(low, high, b_ms)
        if changed:
            self.touched()
        liquidated = False
        for address in self._index().at_risk(low, high):
            liquidated |= self._check_liquidation(address, low, high, b_ms)
        if liquidated:
            self.touched()
        return changed or liquidated

    def _fill_resting(self, low: m.Prices, high: m.Prices, at_ms: int) -> bool:
        changed = False
        for address in self._index().resting:
            acct = self.state.accounts[address]
            for o in sorted(acct.orders.values(), key=lambda o: o.oid):
                if o.status != "open":
                    continue
                crossed = (
                    low.mark[o.asset] <= o.limit_px
                    if o.is_buy
                    else high.mark[o.asset] >= o.limit_px
                )
                if not crossed:
                    continue
                changed = True
                size = o.sz
                if o.reduce_only:
                    pos = acct.positions.get(o.asset)
                    szi = pos.szi if pos else ZERO
                    if szi == 0 or (szi > 0) == o.is_buy:
                        o.status, o.status_ts = "reduceOnlyCanceled", at_ms
                        continue
                    size = min(size, abs(szi))
                apply_fill(
                    self.state,
                    acct,
                    asset=o.asset,
                    spec=self.cfg.universe[o.asset],
                    lev=self.leverage(acct, o.asset),
                    is_buy=o.is_buy,
                    px=o.limit_px,
                    sz=size,
                    fee_rate=self.cfg.maker_fee,
                    crossed=False,
                    oid=o.oid,
                    cloid=o.cloid,
                    time_ms=at_ms,
                )
                o.sz -= size
                o.status = "filled" if o.sz == 0 else "canceled"
                o.status_ts = at_ms
        return changed

    def _check_liquidation(self, address: str, low: m.Prices, high: m.Prices, at_ms: int) -> bool:
        acct = self.state.accounts[address]
        positions = m.open_positions(acct)
        if not positions:
            return False
        liquidated = False
        u = self.cfg.universe
        cross = [a for a, _ in positions if m.is_cross(acct, a, self.default_leverage(a))]

        def cross_excess(px: m.Prices) -> Decimal:
            d = self.cfg.default_leverage
            return m.cross_value(acct, px, d) - m.cross_maintenance(acct, px, u, d)

        if cross:
            liquidated |= self._liquidate_if(acct, cross, cross_excess, low, high, at_ms)
        for a, _ in positions:
            if a in cross:
                continue

            def iso_excess(px: m.Prices, a: int = a) -> Decimal:
                pos = acct.positions[a]
                return m.isolated_equity(pos, px.mark[a]) - m.maintenance(pos, u[a], px.mark[a])

            liquidated |= self._liquidate_if(acct, [a], iso_excess, low, high, at_ms)
        return liquidated

    def _liquidate_if(
        self,
        acct: st.AccountRec,
        assets: list[int],
        excess: Callable[[m.Prices], Decimal],
        low: m.Prices,
        high: m.Prices,
        at_ms: int,
    ) -> bool:
        f_lo, f_hi = excess(low), excess(high)
        if f_lo >= 0 and f_hi >= 0:
            return False
        # Equity and maintenance are both linear in the price: find where they meet.
        sol = self.cfg.asset("SOL")
        i = sol[0] if sol else 0
        p_lo, p_hi = low.oracle[i], high.oracle[i]
        if f_hi == f_lo:
            p_star = p_lo if f_lo < 0 else p_hi
        else:
            p_star = p_lo + (0 - f_lo) * (p_hi - p_lo) / (f_hi - f_lo)
        at = self._scaled(low, p_star)
        for a in assets:
            pos = acct.positions[a]
            spec = self.cfg.universe[a]
            mark = to_tick(at.mark[a], spec.sz_decimals)
            oid = self.state.next_oid
            self.state.next_oid += 1
            apply_fill(
                self.state,
                acct,
                asset=a,
                spec=spec,
                lev=self.leverage(acct, a),
                is_buy=pos.szi < 0,
                px=mark,
                sz=abs(pos.szi),
                fee_rate=self.cfg.taker_fee,
                crossed=True,
                oid=oid,
                cloid=None,
                time_ms=at_ms,
                liquidation_mark=mark,
            )
            for o in acct.orders.values():
                if o.status == "open" and o.asset == a:
                    o.status, o.status_ts = "liquidatedCanceled", at_ms
        # The venue's insurance absorbs a loss beyond the collateral.
        acct.perp_usdc = max(acct.perp_usdc, ZERO)
        self.state.liquidations += 1
        return True

    def _settle_funding(self, hour_ms: int, rate: Decimal | None) -> bool:
        px = self.prices(hour_ms)
        hourly = rate if rate is not None else px.funding_rate
        paid = False
        for acct in self.state.accounts.values():
            for a, _ in m.open_positions(acct):
                paid = True
                pay_funding(
                    acct,
                    asset=a,
                    spec=self.cfg.universe[a],
                    lev=self.leverage(acct, a),
                    oracle=px.oracle[a],
                    rate=hourly,
                    time_ms=hour_ms,
                )
        if paid:
            self.touched()
        return paid

    # ---- housekeeping -----------------------------------------------------------------------

    def trim(self, acct: st.AccountRec) -> None:
        """Keep history bounded (the venue itself serves only the latest rows)."""
        keep = self.cfg.history_kept
        for rows in (acct.fills, acct.funding, acct.ledger):
            if len(rows) > keep:
                del rows[: len(rows) - keep]
        done = [o for o in acct.orders.values() if o.status != "open"]
        if len(done) > keep:
            for o in sorted(done, key=lambda o: o.oid)[: len(done) - keep]:
                del acct.orders[o.oid]
                if o.cloid is not None:
                    acct.cloids.pop(o.cloid, None)

    def advance(self, delta: timedelta) -> None:
        with self.lock:
            self.clock.advance(delta)
            if self.catch_up():
                self.persist()
