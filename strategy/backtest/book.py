"""The simulated account of one backtest: idle cash, at most one open position, the ledgers.

The mechanics mirror the venues: the long holds ``q`` collateral tokens against a USDC debt
that accrues the protocol's borrow APY, and earns its supply APY as extra tokens; the short
holds ``s`` SOL against isolated margin credited with each funding settlement. Every change of
equity is posted to the run's ledger and to the open trade's ledger (see ``ledger``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from models.domain import Asset, Protocol
from models.risk import RiskParams
from strategy.backtest.ledger import Ledger, micro
from strategy.decisions import Enter, RebalanceReason, Urgency
from strategy.lots import LotRules, round_down
from strategy.market import ProtocolTerms
from strategy.monitor import MonitorState
from strategy.units import HOURS_PER_YEAR_D, MICRO, ONE, TWO, ZERO, bps

HALF_EVEN = ROUND_HALF_EVEN


@dataclass(frozen=True, slots=True)
class CostRates:
    """``TradingCosts`` as fractions, computed once per run."""

    hl_taker: Decimal
    hl_maker: Decimal
    asgard_fee: Decimal
    slip_normal: Decimal
    slip_urgent: Decimal
    slip_critical: Decimal
    fixed: Decimal
    transfer: Decimal
    liquidation_penalty: Decimal
    maintenance: Decimal

    @classmethod
    def of(cls, params: RiskParams) -> CostRates:
        c = params.costs
        return cls(
            hl_taker=bps(c.hyperliquid_taker_bps),
            hl_maker=bps(c.hyperliquid_maker_bps),
            asgard_fee=bps(c.asgard_fee_bps),
            slip_normal=bps(c.expected_slippage_bps),
            slip_urgent=bps(c.urgent_slippage_bps),
            slip_critical=bps(params.slippage.exit_bps),
            fixed=c.fixed_cost_usd,
            transfer=c.transfer_cost_usd,
            liquidation_penalty=c.asgard_liquidation_penalty,
            maintenance=params.hyperliquid.maintenance_margin_fraction,
        )

    def exit_rates(self, urgency: Urgency) -> tuple[Decimal, Decimal, Decimal]:
        """(long slippage, short fee, short slippage) of an exit. A normal exit rests a
        passive order on Hyperliquid (maker fee, no slippage); Asgard always swaps."""
        if urgency is Urgency.NORMAL:
            return self.slip_normal, self.hl_maker, ZERO
        slip = self.slip_urgent if urgency is Urgency.URGENT else self.slip_critical
        return slip, self.hl_taker, slip


class OpenPosition:
    __slots__ = (
        "asset",
        "debt",
        "entry_sol",
        "ledger",
        "leverage",
        "m",
        "opened_at",
        "perp",
        "protocol",
        "q",
        "rebalances",
        "s",
        "short_cash",
        "short_entry",
        "sol",
        "state",
        "terms",
        "x",
    )

    def __init__(
        self,
        *,
        asset: Asset,
        terms: ProtocolTerms,
        leverage: Decimal,
        opened_at: datetime,
        q: Decimal,
        debt: Decimal,
        s: Decimal,
        short_cash: Decimal,
        sol: Decimal,
        perp: Decimal,
        m: Decimal,
        x: Decimal,
    ) -> None:
        self.asset = asset
        self.terms = terms
        self.protocol: Protocol = terms.protocol
        self.leverage = leverage
        self.opened_at = opened_at
        self.q = q
        self.debt = debt
        self.s = s
        self.short_cash = short_cash
        self.short_entry = perp
        self.sol = sol
        self.perp = perp
        self.m = m
        self.x = x
        self.entry_sol = sol
        self.ledger = Ledger()
        self.rebalances = 0
        self.state = MonitorState()

    def long_equity(self) -> Decimal:
        return self.q * self.sol * self.m - self.debt

    def short_equity(self, perp: Decimal | None = None) -> Decimal:
        p = self.perp if perp is None else perp
        return self.short_cash + self.s * (self.short_entry - p)

    def equity(self) -> Decimal:
        return self.long_equity() + self.short_equity()

    def long_liquidation_sol(self, ltv: Decimal) -> Decimal:
        """SOL price at which the long's health factor reaches 0 (LST ratio held)."""
        return self.debt / (self.q * self.m * ltv)

    def short_price_where(self, fraction: Decimal) -> Decimal:
        """Mark at which the short's equity / notional falls to ``fraction``."""
        return (self.short_cash + self.s * self.short_entry) / (self.s * (ONE + fraction))


class Book:
    __slots__ = ("cash", "costs", "ledger", "lots", "pos")

    def __init__(self, capital: Decimal, costs: CostRates, lots: LotRules) -> None:
        self.cash = capital
        self.costs = costs
        self.lots = lots
        self.ledger = Ledger()
        self.pos: OpenPosition | None = None

    # ---- postings --------------------------------------------------------------------------

    def _ledgers(self) -> tuple[Ledger, ...]:
        p = self.pos
        return (self.ledger,) if p is None else (self.ledger, p.ledger)

    def _post(self, part: str, amount: Decimal) -> None:
        amount = micro(amount)
        for ledger in self._ledgers():
            setattr(ledger, part, getattr(ledger, part) + amount)

    def _post_cost(
        self, amount: Decimal, slippage: Decimal = ZERO, penalty: Decimal = ZERO
    ) -> None:
        amount, slippage, penalty = micro(amount), micro(slippage), micro(penalty)
        for ledger in self._ledgers():
            ledger.fees -= amount
            ledger.slippage += slippage
            ledger.liquidation_penalty += penalty

    def equity(self) -> Decimal:
        return self.cash + (self.pos.equity() if self.pos is not None else ZERO)

    # ---- the passage of time ---------------------------------------------------------------

    def mark(self, sol: Decimal, perp: Decimal, m: Decimal, x: Decimal) -> None:
        """Mark both legs to new prices: the exchange-rate accrual is staking, the rest price."""
        p = self.pos
        if p is None:
            return
        long_change = p.q * (sol * m - p.sol * p.m)
        staking = p.q * sol * (x - p.x)
        price = (long_change - staking - p.s * (perp - p.perp)).quantize(MICRO, HALF_EVEN)
        run, trade = self.ledger, p.ledger
        if staking:
            staking = staking.quantize(MICRO, HALF_EVEN)
            run.staking += staking
            trade.staking += staking
        run.price += price
        trade.price += price
        p.sol, p.perp, p.m, p.x = sol, perp, m, x

    def accrue(self, terms: ProtocolTerms, fraction: Decimal = ONE) -> None:
        """Interest for ``fraction`` of an hour at ``terms``' rates."""
        p = self.pos
        if p is None:
            return
        p.terms = terms
        per_hour = fraction / HOURS_PER_YEAR_D
        dq = p.q * terms.lend_apy.get(p.asset, ZERO) * per_hour
        p.q += dq
        interest = p.debt * terms.borrow_apy * per_hour
        p.debt += interest
        lending = (dq * p.sol * p.m).quantize(MICRO, HALF_EVEN)
        borrow = (-interest).quantize(MICRO, HALF_EVEN)
        run, trade = self.ledger, p.ledger
        run.lending += lending
        trade.lending += lending
        run.borrow += borrow
        trade.borrow += borrow

    def settle_funding(self, rate: Decimal, oracle: Decimal) -> None:
        p = self.pos
        if p is None:
            return
        amount = p.s * oracle * rate
        p.short_cash += amount
        posted = amount.quantize(MICRO, HALF_EVEN)
        self.ledger.funding += posted
        p.ledger.funding += posted

    # ---- trades ----------------------------------------------------------------------------

    def open(
        self,
        enter: Enter,
        terms: ProtocolTerms,
        at: datetime,
        sol: Decimal,
        perp: Decimal,
        m: Decimal,
        x: Decimal,
    ) -> None:
        c = self.costs
        margin = enter.margin_per_leg_usd
        value = enter.long_size * sol * m
        slip_long = value * c.slip_normal
        cost_long = value * c.asgard_fee + slip_long
        notional = enter.short_size * perp
        slip_short = notional * c.slip_normal
        cost_short = notional * c.hl_taker + slip_short
        self.cash -= TWO * margin
        self.pos = OpenPosition(
            asset=enter.asset,
            terms=terms,
            leverage=enter.leverage,
            opened_at=at,
            q=enter.long_size,
            debt=value - (margin - cost_long - c.fixed),
            s=enter.short_size,
            short_cash=margin - cost_short,
            sol=sol,
            perp=perp,
            m=m,
            x=x,
        )
        self._post_cost(cost_long + cost_short + c.fixed, slippage=slip_long + slip_short)

    def close(self, urgency: Urgency) -> OpenPosition:
        """Close both legs at the current marks; returns the closed position."""
        p = self.pos
        if p is None:
            raise RuntimeError("no open position")
        c = self.costs
        slip_long, fee_short, slip_short = c.exit_rates(urgency)
        value = p.q * p.sol * p.m
        notional = p.s * p.perp
        cost_long = value * (c.asgard_fee + slip_long)
        cost_short = notional * (fee_short + slip_short)
        self.cash += p.equity() - cost_long - cost_short - c.fixed
        self._post_cost(
            cost_long + cost_short + c.fixed, slippage=value * slip_long + notional * slip_short
        )
        self.pos = None
        return p

    def liquidate_long(self, sol: Decimal, perp: Decimal) -> OpenPosition:
        """The protocol seizes the collateral at ``sol``; the short is then closed urgently."""
        p = self.pos
        if p is None:
            raise RuntimeError("no open position")
        self.mark(sol, perp, p.m, p.x)
        value = p.q * p.sol * p.m
        equity = value - p.debt
        if equity < 0:  # bad debt is the protocol's: the loss stops at the collateral
            self._post("price", -equity)
            equity = ZERO
        penalty = min(value * self.costs.liquidation_penalty, equity)
        self._post_cost(penalty, penalty=penalty)
        self.cash += equity - penalty
        p.q = p.debt = ZERO
        return self._close_short_only(p)

    def liquidate_short(self, sol: Decimal, perp: Decimal) -> OpenPosition:
        """The venue takes the short over at ``perp``; its remaining margin is lost. The long
        is then closed urgently."""
        p = self.pos
        if p is None:
            raise RuntimeError("no open position")
        self.mark(sol, perp, p.m, p.x)
        equity = p.short_equity()
        if equity < 0:
            self._post("price", -equity)
            equity = ZERO
        self._post_cost(equity, penalty=equity)
        p.s = p.short_cash = ZERO
        p.short_entry = perp
        value = p.q * p.sol * p.m
        c = self.costs
        cost = value * (c.asgard_fee + c.slip_urgent) + c.fixed
        self.cash += value - p.debt - cost
        self._post_cost(cost, slippage=value * c.slip_urgent)
        self.pos = None
        return p

    def _close_short_only(self, p: OpenPosition) -> OpenPosition:
        c = self.costs
        notional = p.s * p.perp
        cost = notional * (c.hl_taker + c.slip_urgent) + c.fixed
        self.cash += p.short_equity() - cost
        self._post_cost(cost, slippage=notional * c.slip_urgent)
        self.pos = None
        return p

    def rebalance(
        self, reason: RebalanceReason, target_short: Decimal, max_notional: Decimal
    ) -> bool:
        """Delta drift: resize the short to the long. Otherwise: re-split the equity into two
        equal margins and resize both legs to the target leverage at current prices (at most
        ``max_notional`` a leg). False, and nothing done, when the equity left cannot carry a
        position of one lot: the caller closes it instead."""
        p = self.pos
        if p is None:
            raise RuntimeError("no open position")
        c = self.costs
        lot = self.lots.hl_lot
        price = p.sol * p.m
        equity = p.long_equity() + p.short_equity()
        notional = min(p.leverage * equity / TWO, max_notional)
        s_new = round_down(notional / max(p.perp, p.sol), lot)
        if reason is RebalanceReason.DELTA_DRIFT:
            s_new = target_short
        if s_new < lot:
            return False
        p.short_cash = p.short_equity()  # realise the short's PnL (no equity change)
        p.short_entry = p.perp
        if reason is RebalanceReason.DELTA_DRIFT:
            traded = abs(target_short - p.s) * p.perp
            cost = traded * (c.hl_taker + c.slip_normal)
            p.s = target_short
            p.short_cash -= cost
            self._post_cost(cost, slippage=traded * c.slip_normal)
            p.rebalances += 1
            return True
        q_new = round_down(s_new / p.m, self.lots.token_quantum(p.asset))
        traded_long = abs(q_new - p.q) * price
        traded_short = abs(s_new - p.s) * p.perp
        slip = (traded_long + traded_short) * c.slip_normal
        cost = traded_long * c.asgard_fee + traded_short * c.hl_taker + slip + c.transfer + c.fixed
        half = (equity - cost) / TWO
        p.q, p.debt = q_new, q_new * price - half
        p.s, p.short_cash = s_new, half
        self._post_cost(cost, slippage=slip)
        p.rebalances += 1
        return True
