"""The backtest loop: the strategy's own rules, stepped hour by hour over market rows.

For each row (the hour ``[T, T+1h)``), with a position open:

1. intrahour: liquidation of either leg against the hour's ticks (or, without ticks, its
   extremes), and the urgent risk rules at every tick where one could fire (an urgent exit
   fills at that tick, with interest accrued pro rata);
2. at the close ``T+1h``: both legs marked to the close, an hour of supply and borrow interest,
   the funding settlement (``size x oracle x rate``) for a position held through the hour;
3. the funding window takes the settlement; a ``MarketSnapshot`` of the close is built once;
4. ``evaluate_position`` decides: hold, rebalance or exit (executed at the close);
5. flat, ``evaluate_entry`` decides whether to open (at the close).

Nothing is traded while a venue is down (the decision stands and is retried next hour), but
liquidations still happen. Rows before ``config.start`` only fill the funding lookback.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

from models.domain import Asset
from models.risk import RiskParams
from strategy._construct import trusted
from strategy.backtest.book import Book, CostRates, OpenPosition
from strategy.backtest.ledger import PnlSplit
from strategy.backtest.result import BacktestConfig, BacktestResult, Trade
from strategy.backtest.rows import HOUR, MarketRow, Tick, validate_rows
from strategy.breakers import (
    BreakerState,
    BreakerStatus,
    EntryGates,
    breaker_status,
    record_result,
)
from strategy.decisions import Denied, Exit, ExitReason, Rebalance, Urgency
from strategy.entry import AccountState, IntentCriteria, evaluate_entry
from strategy.funding import FundingStats, FundingWindow
from strategy.lots import DEFAULT_LOTS, LotRules
from strategy.market import SOL_QUOTE, AssetQuote, MarketSnapshot, ProtocolTerms
from strategy.monitor import PositionObservation, evaluate_position
from strategy.units import HOURS_PER_YEAR_D, ONE, TWO, ZERO

Progress = Callable[[int, int], None]
_QUIET = BreakerState()
_QUIET_GATES = EntryGates(
    breaker=BreakerStatus(tripped=False, failures_in_window=0, loss_in_window_usd=Decimal(0))
)
_RATIO_Q = Decimal("0.000001")


def _ratio(x: Decimal) -> Decimal:
    """Reported ratios (APY, fractions) to six decimals."""
    return x.quantize(_RATIO_Q)


_SECONDS_PER_HOUR = Decimal(3600)


def _snapshot(row: MarketRow, stats: FundingStats) -> MarketSnapshot:
    return trusted(
        MarketSnapshot,
        at=row.close_time,
        sol_price=row.sol_close,
        perp_mark=row.perp_close,
        funding=stats,
        assets=dict(row.assets),
        protocols=row.protocols,
        outages=row.outages,
        price_refusal=None,
    )


def _at_tick(snap: MarketSnapshot, tick: Tick, asset: Asset, quote: AssetQuote) -> MarketSnapshot:
    return trusted(
        MarketSnapshot,
        at=tick.at,
        sol_price=tick.sol,
        perp_mark=tick.perp,
        funding=snap.funding,
        assets={**snap.assets, asset: quote},
        protocols=snap.protocols,
        outages=snap.outages,
        price_refusal=None,
    )


def _observe(p: OpenPosition, perp: Decimal) -> PositionObservation:
    return trusted(
        PositionObservation,
        asset=p.asset,
        protocol=p.protocol,
        leverage=p.leverage,
        collateral_tokens=p.q,
        debt_usd=p.debt,
        short_size=p.s,
        short_equity_usd=p.short_equity(perp),
        health_factor=None,
        observed_at=None,
    )


def _terms(row: MarketRow, p: OpenPosition) -> ProtocolTerms:
    for t in row.protocols:
        if t.protocol == p.protocol:
            return t
    return p.terms  # a protocol missing from a row keeps its last terms


class _Run:
    """One run's mutable state; ``run_backtest`` is its only user."""

    def __init__(
        self, config: BacktestConfig, params: RiskParams, lots: LotRules, start: datetime
    ) -> None:
        self.config = config
        self.params = params
        self.lots = lots
        self.start = start
        self.book = Book(config.capital_usd, CostRates.of(params), lots)
        self.breaker = _QUIET
        self._entry_inputs: tuple[Decimal, IntentCriteria, AccountState] | None = None
        self.trades: list[Trade] = []
        self.denials: Counter[str] = Counter()
        self.liquidations = 0
        self.hours_in_market = 0
        self.peak = config.capital_usd
        self.max_dd = ZERO
        self.max_dd_frac = ZERO
        self.curve: list[tuple[datetime, Decimal]] = []
        p = params
        # Intrahour rules can only start firing past these levels (see ``strategy.risk``).
        self.near_health = p.asgard_health.emergency * (ONE + p.liquidation_proximity.threshold)
        self.near_margin = p.hyperliquid.margin_fraction_min * (
            ONE + p.liquidation_proximity.threshold
        )
        # An LST inside its warning band cannot trigger a depeg exit within the hour.
        self.peg_low = ONE - p.lst_peg.discount_warning
        self.peg_high = ONE + p.lst_peg.premium_warning

    # ---- bookkeeping -----------------------------------------------------------------------

    def _equity(self) -> Decimal:
        return self.config.capital_usd + self.book.ledger.total

    def _watch_drawdown(self, at: datetime) -> Decimal:
        eq = self._equity()
        if eq > self.peak:
            self.peak = eq
        dd = self.peak - eq
        if dd > self.max_dd:
            self.max_dd = dd
            self.max_dd_frac = dd / self.peak if self.peak > 0 else ZERO
        return eq

    def _closed(
        self, p: OpenPosition, at: datetime, reason: ExitReason, urgency: Urgency, sol: Decimal
    ) -> None:
        pnl = PnlSplit.of(p.ledger.parts())
        self.trades.append(
            Trade(
                asset=p.asset,
                protocol=p.protocol,
                opened_at=p.opened_at,
                closed_at=at,
                entry_sol_price=p.entry_sol,
                exit_sol_price=sol,
                exit_reason=reason,
                urgency=urgency,
                rebalances=p.rebalances,
                pnl=pnl,
            )
        )
        self.breaker = record_result(self.breaker, at, pnl.total, self.params)
        self._watch_drawdown(at)

    # ---- the hour --------------------------------------------------------------------------

    def intrahour(
        self,
        row: MarketRow,
        p: OpenPosition,
        terms: ProtocolTerms,
        quote: AssetQuote,
        snap: MarketSnapshot | None,
    ) -> bool:
        """Liquidations and urgent exits inside the hour; True when the position closed.

        Ticks carry SOL and the mark; an LST's ratio to SOL is interpolated between the two
        closes (a depeg is then caught when it crosses the limit, not an hour later)."""
        book = self.book
        ltv = terms.liquidation_ltv
        short_liq = p.short_price_where(book.costs.maintenance)
        if not row.ticks:
            long_liq = p.long_liquidation_sol(ltv)
            mid = row.time + HOUR / 2
            if row.sol_low <= long_liq:
                book.accrue(terms, ONE / TWO)
                perp = long_liq * row.perp_close / row.sol_close
                self._liquidated(book.liquidate_long(long_liq, perp), mid, long_liq)
                return True
            if row.perp_high >= short_liq:
                book.accrue(terms, ONE / TWO)
                sol = short_liq * row.sol_close / row.perp_close
                self._liquidated(book.liquidate_short(sol, short_liq), mid, sol)
                return True
            return False
        m0, x0 = p.m, p.x
        dm, dx = quote.market_price_sol - m0, quote.exchange_rate - x0
        watch_peg = p.asset.is_lst and not (
            self.peg_low < quote.market_price_sol / quote.exchange_rate < self.peg_high
        )
        # Below this SOL price (above this mark) a leg is near liquidation or worse.
        long_watch = p.debt / (
            p.q * min(m0, quote.market_price_sol) * ltv * (ONE - self.near_health)
        )
        short_watch = p.short_price_where(self.near_margin)
        if not watch_peg and row.sol_low > long_watch and row.perp_high < short_watch:
            self._not_near(p)
            return False
        for tick in row.ticks:
            frac = Decimal((tick.at - row.time).total_seconds()) / _SECONDS_PER_HOUR
            m = m0 + dm * frac if dm else m0
            long_liq = p.debt / (p.q * m * ltv)
            if tick.sol <= long_liq:
                book.accrue(terms, frac)
                book.mark(long_liq, long_liq * tick.perp / tick.sol, m, x0 + dx * frac)
                self._liquidated(book.liquidate_long(long_liq, p.perp), tick.at, long_liq)
                return True
            if tick.perp >= short_liq:
                book.accrue(terms, frac)
                sol = short_liq * tick.sol / tick.perp
                book.mark(sol, short_liq, m, x0 + dx * frac)
                self._liquidated(book.liquidate_short(sol, short_liq), tick.at, sol)
                return True
            if snap is None or (
                not watch_peg and tick.sol > long_watch and tick.perp < short_watch
            ):
                self._not_near(p)
                continue
            x = x0 + dx * frac
            tick_quote = trusted(
                AssetQuote, exchange_rate=x, market_price_sol=m, staking_apy=quote.staking_apy
            )
            ev = evaluate_position(
                _observe(p, tick.perp),
                _at_tick(snap, tick, p.asset, tick_quote),
                p.state,
                self.params,
                tick.at,
            )
            p.state = ev.state
            d = ev.decision
            if isinstance(d, Exit) and d.urgency is not Urgency.NORMAL and not row.outages:
                book.accrue(terms, frac)
                book.mark(tick.sol, tick.perp, m, x)
                closed = book.close(d.urgency)
                self._closed(closed, tick.at, d.reason, d.urgency, tick.sol)
                return True
        return False

    def _gates(self, close: datetime) -> EntryGates:
        if self.breaker == _QUIET:
            return _QUIET_GATES
        status = breaker_status(self.breaker, close, self.params)
        if not status.failures_in_window and not status.loss_in_window_usd:
            # Every recorded event has aged out of its window, and time only moves on.
            self.breaker = _QUIET
        return trusted(EntryGates, paused=False, emergency_stop=False, breaker=status)

    @staticmethod
    def _not_near(p: OpenPosition) -> None:
        st = p.state
        if st.long_near_since is not None or st.short_near_since is not None:
            p.state = st.model_copy(update={"long_near_since": None, "short_near_since": None})

    def _liquidated(self, p: OpenPosition, at: datetime, sol: Decimal) -> None:
        self.liquidations += 1
        self._closed(p, at, ExitReason.LIQUIDATED, Urgency.CRITICAL, sol)

    def at_close(self, row: MarketRow, snap: MarketSnapshot, quote: AssetQuote) -> None:
        book = self.book
        close = row.close_time
        p = book.pos
        if p is not None:
            ev = evaluate_position(_observe(p, row.perp_close), snap, p.state, self.params, close)
            p.state = ev.state
            d = ev.decision
            if row.outages:
                pass  # nothing can be traded: the rule fires again next hour
            elif isinstance(d, Exit):
                closed = book.close(d.urgency)
                self._closed(closed, close, d.reason, d.urgency, row.sol_close)
            elif isinstance(d, Rebalance) and not book.rebalance(
                d.reason, d.target_short_size, self.params.positions.max_position_usd
            ):
                closed = book.close(Urgency.URGENT)
                self._closed(
                    closed, close, ExitReason.REBALANCE_FAILED, Urgency.URGENT, row.sol_close
                )
        if book.pos is None and (self.config.reenter or not self.trades):
            self._try_entry(row, snap, quote)

    def _try_entry(self, row: MarketRow, snap: MarketSnapshot, quote: AssetQuote) -> None:
        cfg, book = self.config, self.book
        close = row.close_time
        if book.cash <= 0:
            self.denials["no_capital"] += 1
            return
        if self._entry_inputs is None or self._entry_inputs[0] != book.cash:
            # Rebuilt only when the idle cash changed (after a trade), not every flat hour.
            half = book.cash / TWO
            intent = trusted(
                IntentCriteria,
                asset=cfg.asset,
                leverage=cfg.leverage,
                capital_usd=book.cash,
                min_net_apy=cfg.min_net_apy,
                min_funding_rate=cfg.min_funding_rate,
                max_funding_volatility=cfg.max_funding_volatility,
                max_entry_price=cfg.max_entry_price,
                expires_at=None,
                protocol=cfg.protocol,
                execute_immediately=False,
            )
            account = trusted(
                AccountState,
                asgard_available_usd=half,
                hyperliquid_available_usd=half,
                open_exposure_usd=ZERO,
            )
            self._entry_inputs = (book.cash, intent, account)
        _, intent, account = self._entry_inputs
        gates = self._gates(close)
        d = evaluate_entry(intent, snap, account, self.params, close, gates=gates, lots=self.lots)
        if isinstance(d, Denied):
            self.denials[d.reason.value] += 1
            return
        terms = snap.terms(d.protocol)
        if terms is None:  # evaluate_entry picked it from this snapshot
            raise RuntimeError(f"protocol {d.protocol} vanished from the snapshot")
        book.open(
            d,
            terms,
            close,
            row.sol_close,
            row.perp_close,
            quote.market_price_sol,
            quote.exchange_rate,
        )

    def before_close(self, row: MarketRow, last: MarketSnapshot | None) -> None:
        """The hour up to its close: intrahour events, marks, interest and funding."""
        book = self.book
        p = book.pos
        if p is None:
            return
        quote = row.assets.get(self.config.asset, SOL_QUOTE)
        self.hours_in_market += 1
        terms = _terms(row, p)
        if not self.intrahour(row, p, terms, quote, last):
            book.mark(row.sol_close, row.perp_close, quote.market_price_sol, quote.exchange_rate)
            book.accrue(terms)
            book.settle_funding(row.funding_rate, row.sol_close)

    def at_close_of(self, row: MarketRow, snap: MarketSnapshot) -> None:
        if row.time < self.start:
            return
        quote = row.assets.get(self.config.asset, SOL_QUOTE)
        self.at_close(row, snap, quote)
        close = row.close_time
        self.curve.append((close, self._watch_drawdown(close)))

    def finish(self, last: MarketRow) -> None:
        p = self.book.pos
        if p is not None and self.config.close_at_end:
            closed = self.book.close(Urgency.NORMAL)
            self._closed(
                closed, last.close_time, ExitReason.END_OF_DATA, Urgency.NORMAL, last.sol_close
            )
            if self.curve:
                self.curve[-1] = (last.close_time, self._equity())


def run_backtests(
    rows: Sequence[MarketRow],
    configs: Sequence[BacktestConfig],
    params: RiskParams | Sequence[RiskParams],
    *,
    lots: LotRules = DEFAULT_LOTS,
    progress: Progress | None = None,
    keep_curve: bool = False,
) -> list[BacktestResult]:
    """Replay ``rows`` (consecutive UTC hours) through the strategy's rules, once per config.

    The runs share one pass: the funding statistics and the market snapshot of each hour are
    computed once and evaluated by every run, as a monitor cycle does for its positions.
    ``params`` is one set for every run, or one per config (a sensitivity sweep); the runs
    must then agree on the funding lookback, which the shared statistics use."""
    validate_rows(rows)
    per_run = [params] * len(configs) if isinstance(params, RiskParams) else list(params)
    if len(per_run) != len(configs):
        raise ValueError(f"{len(per_run)} parameter sets for {len(configs)} configs")
    lookbacks = {p.funding.lookback_hours for p in per_run}
    if len(lookbacks) > 1:
        raise ValueError(f"runs sharing a pass need one funding lookback, not {sorted(lookbacks)}")
    runs: list[_Run] = []
    for cfg, run_params in zip(configs, per_run, strict=True):
        start = cfg.start or rows[0].time
        if start >= rows[-1].close_time:
            raise ValueError(f"no rows at or after the start {start.isoformat()}")
        if cfg.asset.is_lst:
            # Rows before the start only feed the funding lookback: they need no quote.
            gap = next(
                (r.time for r in rows if r.time >= start and cfg.asset not in r.assets), None
            )
            if gap is not None:
                raise ValueError(f"row {gap.isoformat()} has no {cfg.asset.value} quote")
        runs.append(_Run(cfg, run_params, lots, start))
    window = FundingWindow(per_run[0].funding.lookback_hours if per_run else 0)
    first_start = min(r.start for r in runs)
    last: MarketSnapshot | None = None
    n = len(rows)
    every = max(1, n // 100)
    for i, row in enumerate(rows):
        for run in runs:
            run.before_close(row, last)
        close = row.close_time
        window.add(close, row.funding_rate)
        if row.time >= first_start:
            last = _snapshot(row, window.stats(close, row.predicted_funding))
            for run in runs:
                run.at_close_of(row, last)
        if progress is not None and (i % every == 0 or i == n - 1):
            progress(i + 1, n)
    for run in runs:
        run.finish(rows[-1])
    return [_result(run, rows, keep_curve) for run in runs]


def run_backtest(
    rows: Sequence[MarketRow],
    config: BacktestConfig,
    params: RiskParams,
    *,
    lots: LotRules = DEFAULT_LOTS,
    progress: Progress | None = None,
    keep_curve: bool = False,
) -> BacktestResult:
    """Replay ``rows`` (consecutive UTC hours) through the strategy's rules."""
    return run_backtests(
        rows, [config], params, lots=lots, progress=progress, keep_curve=keep_curve
    )[0]


def _result(run: _Run, rows: Sequence[MarketRow], keep_curve: bool) -> BacktestResult:
    config = run.config
    trading_rows = [r for r in rows if r.time >= run.start]
    hours = len(trading_rows)
    ledger = run.book.ledger
    pnl = ledger.split()
    capital = config.capital_usd
    years_factor = HOURS_PER_YEAR_D / Decimal(hours)
    in_market = run.hours_in_market
    return BacktestResult(
        config=config,
        start=trading_rows[0].time,
        end=rows[-1].close_time,
        hours=hours,
        capital_usd=capital,
        final_equity_usd=capital + pnl.total,
        pnl=pnl,
        slippage_usd=ledger.slippage.quantize(Decimal("0.01")),
        liquidation_penalty_usd=ledger.liquidation_penalty.quantize(Decimal("0.01")),
        unattributed_usd=(run.book.equity() - capital - ledger.total).quantize(Decimal("0.000001")),
        apy=_ratio(pnl.total / capital * years_factor),
        apy_in_market=(
            _ratio(pnl.total / capital * HOURS_PER_YEAR_D / Decimal(in_market))
            if in_market
            else None
        ),
        max_drawdown_usd=run.max_dd.quantize(Decimal("0.01")),
        max_drawdown_fraction=_ratio(run.max_dd_frac),
        hours_in_market=in_market,
        time_in_market=_ratio(Decimal(in_market) / Decimal(hours)),
        round_trips=len(run.trades),
        liquidations=run.liquidations,
        rebalances=sum(t.rebalances for t in run.trades),
        exits=dict(Counter(t.exit_reason.value for t in run.trades)),
        denials=dict(run.denials),
        trades=tuple(run.trades),
        equity_curve=tuple(run.curve) if keep_curve else (),
    )
