"""Entry activities: may this intent open now, and with what sizes?

Both run the strategy's ``evaluate_entry`` on a fresh market snapshot and the user's real
balances (Solana USDC for the long's margin, Hyperliquid withdrawable USDC for the short's),
with the gates that live outside the market: pause, emergency stop, the kill-switch file and
the user's circuit breaker (recent failed opens and realised losses).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from solders.pubkey import Pubkey
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.errors import venue_call
from activities.market import MarketObserver
from basis.clock import Clock, utc_now
from models.domain import GLOBAL_SCOPE, PositionStatus, user_scope
from models.messages import IntentCheck, IntentInput, OpenPlan, OpenPositionInput, Preflight
from models.risk import RiskParams
from models.tables import ControlState, Position
from strategy.breakers import BreakerState, EntryGates, LossEvent, breaker_status
from strategy.decisions import Denied, Enter
from strategy.entry import AccountState, IntentCriteria, evaluate_entry
from strategy.market import MarketSnapshot
from venues.asgard.tokens import USDC
from venues.hyperliquid.venue import HyperliquidVenue
from venues.solana.rpc import SolanaRpc
from wallets.provider import WalletProvider

_LIVE = (PositionStatus.OPENING, PositionStatus.OPEN, PositionStatus.CLOSING, PositionStatus.HALTED)


def criteria_of(inp: IntentInput) -> IntentCriteria:
    c = inp.criteria
    return IntentCriteria(
        asset=inp.asset,
        leverage=inp.leverage,
        capital_usd=inp.capital_usd,
        min_net_apy=c.min_net_apy,
        min_funding_rate=c.min_funding_rate,
        max_funding_volatility=c.max_funding_volatility,
        max_entry_price=c.max_entry_price,
        expires_at=inp.expires_at,
        execute_immediately=inp.execute_immediately,
    )


class EntryActivities:
    def __init__(
        self,
        *,
        risk: RiskParams,
        market: MarketObserver,
        hyperliquid: HyperliquidVenue,
        rpc: SolanaRpc,
        wallets: WalletProvider,
        sessions: async_sessionmaker[AsyncSession],
        kill_switch: Path | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._risk = risk
        self._market = market
        self._hl = hyperliquid
        self._rpc = rpc
        self._wallets = wallets
        self._sessions = sessions
        self._kill_switch = kill_switch
        self._clock = clock

    @activity.defn(name="check_intent")
    async def check_intent(self, inp: IntentInput) -> IntentCheck:
        """The intent's criteria on fresh data, with the user's real balances."""
        decision, _ = await self._evaluate(criteria_of(inp), inp.user_id)
        if isinstance(decision, Denied):
            return IntentCheck(met=False, reason=decision.reason.value)
        return IntentCheck(met=True, reason="criteria_met", net_apy=decision.net_apy)

    @activity.defn(name="preflight_open")
    async def preflight_open(self, inp: OpenPositionInput) -> Preflight:
        """Last check before the first leg: every risk limit, on a fresh snapshot. The intent's
        market criteria were checked already, so they are not re-applied here."""
        criteria = IntentCriteria(
            asset=inp.asset,
            leverage=inp.leverage,
            capital_usd=inp.capital_usd,
            execute_immediately=True,
        )
        decision, snap = await self._evaluate(criteria, inp.user_id, exclude=inp.position_id)
        if isinstance(decision, Denied):
            detail = f" ({decision.detail})" if decision.detail else ""
            return Preflight(approved=False, reason=f"{decision.reason.value}{detail}")
        return Preflight(approved=True, plan=plan_of(decision, snap))

    # ---- internals -------------------------------------------------------------------------

    async def _evaluate(
        self, criteria: IntentCriteria, user_id: uuid.UUID, *, exclude: uuid.UUID | None = None
    ) -> tuple[Enter | Denied, MarketSnapshot]:
        now = self._clock()
        async with venue_call():
            snap = await self._market.snapshot(fresh=True)
            account = await self._account(user_id, exclude)
        gates = await self._gates(user_id, now)
        decision = evaluate_entry(criteria, snap, account, self._risk, now, gates=gates)
        return decision, snap

    async def _account(self, user_id: uuid.UUID, exclude: uuid.UUID | None) -> AccountState:
        w = await self._wallets.addresses(user_id)
        usdc, hl_state = await asyncio.gather(
            self._rpc.token_balance(
                Pubkey.from_string(w.solana_address), Pubkey.from_string(USDC.mint)
            ),
            self._hl.user_state(w.evm_address),
        )
        return AccountState(
            asgard_available_usd=usdc.amount,
            hyperliquid_available_usd=max(hl_state.withdrawable, Decimal(0)),
            open_exposure_usd=await self._exposure(user_id, exclude),
        )

    async def _exposure(self, user_id: uuid.UUID, exclude: uuid.UUID | None) -> Decimal:
        """Notional of the user's live positions (capital x leverage), the one being opened
        excluded."""
        async with self._sessions() as s:
            q = select(col(Position.capital_usd), col(Position.leverage)).where(
                Position.user_id == user_id, col(Position.status).in_(_LIVE)
            )
            if exclude is not None:
                q = q.where(Position.id != exclude)
            rows = (await s.exec(q)).all()
        return sum((c * lev for c, lev in rows), Decimal(0))

    async def _gates(self, user_id: uuid.UUID, now: datetime) -> EntryGates:
        if self._kill_switch is not None and self._kill_switch.exists():
            return EntryGates(emergency_stop=True)
        cb = self._risk.circuit_breaker
        async with self._sessions() as s:
            states = {
                r.scope: r
                for r in (
                    await s.exec(
                        select(ControlState).where(
                            col(ControlState.scope).in_([GLOBAL_SCOPE, user_scope(user_id)])
                        )
                    )
                ).all()
            }
            failed_since = now - timedelta(seconds=cb.failure_window_seconds)
            failures = (
                await s.exec(
                    select(col(Position.updated_at)).where(
                        Position.user_id == user_id,
                        Position.status == PositionStatus.FAILED,
                        Position.updated_at > failed_since,
                        # A refused preflight is a decision, not a failure of the engine.
                        func.coalesce(Position.close_reason, "").not_like("preflight:%"),
                    )
                )
            ).all()
            lost_since = now - timedelta(seconds=cb.loss_window_seconds)
            losses = (
                await s.exec(
                    select(col(Position.closed_at), col(Position.realised_pnl_usd)).where(
                        Position.user_id == user_id,
                        Position.status == PositionStatus.CLOSED,
                        col(Position.closed_at) > lost_since,
                        col(Position.realised_pnl_usd) < 0,
                    )
                )
            ).all()
        g, u = states.get(GLOBAL_SCOPE), states.get(user_scope(user_id))
        breaker = breaker_status(
            BreakerState(
                failures=tuple(failures),
                losses=tuple(
                    LossEvent(at=at, loss_usd=-pnl) for at, pnl in losses if at and pnl is not None
                ),
            ),
            now,
            self._risk,
        )
        return EntryGates(
            paused=bool((g and g.paused) or (u and u.paused)),
            emergency_stop=bool(g and g.emergency_stop),
            breaker=breaker,
        )


def plan_of(enter: Enter, snap: MarketSnapshot) -> OpenPlan:
    return OpenPlan(
        protocol=enter.protocol,
        long_collateral=enter.margin_per_leg_usd,
        long_size=enter.long_size,
        short_size=enter.short_size,
        asset_price_usd=enter.expected_asset_price_usd,
        sol_price_usd=snap.sol_price,
        expected_net_apy=enter.net_apy,
        hyperliquid_leverage=enter.hyperliquid_leverage,
    )
