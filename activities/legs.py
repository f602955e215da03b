"""Leg activities: the Hyperliquid short and the Asgard long, for one user per call.

Every call looks up the user's signer by user id (never from workflow history), builds a
client over the worker's shared venue objects, and is idempotent:
- Hyperliquid orders carry a client order id derived from (position, purpose, attempt); a
  retried activity finds its earlier order instead of placing another.
- Asgard actions are keyed by the position (``open:{id}`` / ``close:{id}``); the submission
  store resumes a key instead of opening twice, and never re-signs before expiry.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from solders.pubkey import Pubkey
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import venue_call
from activities.guard import (
    GROWING,
    LIVE,
    OPEN,
    OPENING,
    Guard,
    reduce_problem,
    short_room,
    venue_leverage,
)
from activities.market import COIN, MarketObserver
from basis.clock import Clock, utc_now
from basis.config import Settings
from models.domain import LegSide, OrderSide, Protocol, SubmissionState, Venue
from models.messages import (
    CloseLongRequest,
    HedgeFillQuery,
    HedgeRequest,
    LegFill,
    LongClose,
    OpenLongRequest,
    ShortState,
)
from venues.asgard.client import UPDATE_PROTOCOLS, AsgardClient, UpdateAction
from venues.asgard.factory import position_manager
from venues.asgard.manager import AsgardPositionManager
from venues.asgard.models import PositionState
from venues.asgard.tokens import USDC
from venues.hyperliquid.client import HyperliquidClient
from venues.hyperliquid.errors import IocNotFilled
from venues.hyperliquid.types import OrderResult, make_cloid
from venues.hyperliquid.venue import HyperliquidVenue
from venues.solana.driver import SubmitPolicy
from venues.solana.rpc import SolanaRpc
from venues.solana.store import SubmissionStore
from wallets.provider import WalletProvider

_RESOLVED_STATES = {SubmissionState.CONFIRMED, SubmissionState.FINALIZED}
_NOTHING_LANDED = {SubmissionState.BUILT, SubmissionState.FAILED_ONCHAIN, SubmissionState.EXPIRED}


def hedge_cloid(position_id: uuid.UUID, attempt: int, reduce_only: bool) -> str:
    return make_cloid(position_id, "short", "reduce" if reduce_only else "open", attempt)


def open_key(position_id: uuid.UUID) -> str:
    return f"open:{position_id}"


def close_key(position_id: uuid.UUID) -> str:
    return f"close:{position_id}"


def _heartbeat(message: str) -> None:
    if activity.in_activity():
        activity.heartbeat(message)


class LegActivities:
    def __init__(
        self,
        *,
        settings: Settings,
        hyperliquid: HyperliquidVenue,
        asgard: AsgardClient,
        rpc: SolanaRpc,
        store: SubmissionStore,
        wallets: WalletProvider,
        market: MarketObserver,
        sessions: async_sessionmaker[AsyncSession],
        policy: SubmitPolicy | None = None,
        clock: Clock = utc_now,
    ) -> None:
        # Inputs are checked against the database before anything is signed (activities.guard).
        self._guard = Guard(sessions, settings.risk, clock)
        self._policy = policy or SubmitPolicy()
        self._settings = settings
        self._hl = hyperliquid
        self._asgard = asgard
        self._rpc = rpc
        self._store = store
        self._wallets = wallets
        self._market = market
        self._clock = clock

    async def _hl_client(self, user_id: uuid.UUID) -> HyperliquidClient:
        return HyperliquidClient(self._hl, await self._wallets.hyperliquid_signer(user_id))

    async def _manager(self, user_id: uuid.UUID) -> AsgardPositionManager:
        signer = await self._wallets.solana_signer(user_id)
        return position_manager(
            self._settings,
            signer,
            self._store,
            client=self._asgard,
            rpc=self._rpc,
            policy=self._policy,
            on_progress=_heartbeat,
        )

    @staticmethod
    def _retry() -> bool:
        return activity.in_activity() and activity.info().attempt > 1

    # ---- Hyperliquid ---------------------------------------------------------------------

    @activity.defn(name="set_leverage")
    async def set_leverage(
        self, user_id: uuid.UUID, leverage: int, position_id: uuid.UUID | None = None
    ) -> None:
        """Isolated integer leverage on SOL-PERP (idempotent on the venue), for a position
        being opened: at most the position's own leverage, rounded up to the venue's integer."""
        if position_id is None:
            await self._guard.refuse(
                "set_leverage",
                "set_leverage names no position",
                claimed_user=user_id,
                owner=None,
                entity_type="user",
                entity_id=str(user_id),
                details={"leverage": leverage},
            )
        p, _ = await self._guard.position(
            "set_leverage", position_id, user_id, statuses=OPENING, details={"leverage": leverage}
        )
        if Decimal(leverage) > venue_leverage(p.leverage):
            await self._guard.check(
                "set_leverage",
                p,
                user_id,
                f"leverage {leverage} above the position's {p.leverage}",
            )
        async with venue_call():
            client = await self._hl_client(user_id)
            await client.update_leverage(COIN, leverage, cross=False)

    @activity.defn(name="place_hedge")
    async def place_hedge(self, req: HedgeRequest) -> LegFill:
        """One IOC order: sell to open the short, or buy reduce-only to close it. An order that
        finds nothing to match inside its limit is a fill of size 0, not an error."""
        await self._check_hedge(req)
        cloid = hedge_cloid(req.position_id, req.attempt, req.reduce_only)
        async with venue_call():
            client = await self._hl_client(req.user_id)
            try:
                result = await client.market_order(
                    COIN,
                    OrderSide.BUY if req.reduce_only else OrderSide.SELL,
                    req.size,
                    slippage_bps=Decimal(req.max_slippage_bps),
                    cloid=cloid,
                    reduce_only=req.reduce_only,
                    prior_attempt=self._retry(),
                )
            except IocNotFilled:
                return self._hedge_fill(cloid, req.reduce_only, None, client.address)
            return self._hedge_fill(cloid, req.reduce_only, result, client.address)

    async def _check_hedge(self, req: HedgeRequest) -> None:
        """A sell grows the short of a position opening or open, up to what its capital at its
        leverage can hedge; a reduce-only buy takes back at most the short the database holds."""
        details = {"size": req.size, "reduce_only": req.reduce_only, "attempt": req.attempt}
        if req.reduce_only:
            p, legs = await self._guard.position(
                "place_hedge", req.position_id, req.user_id, statuses=LIVE, details=details
            )
            await self._guard.check(
                "place_hedge", p, req.user_id, reduce_problem(legs, req.size), details
            )
            return
        p, legs = await self._guard.position(
            "place_hedge",
            req.position_id,
            req.user_id,
            statuses=GROWING,
            details=details,
        )
        short = legs.get(LegSide.SHORT)
        price = req.reference_price
        if price <= 0 and short is not None and short.entry_price:
            price = short.entry_price  # the SOL the long holds was priced at the open
        if price <= 0:
            price = (await self._market.snapshot()).sol_price
        room = short_room(p, legs, price)
        if req.size > room:
            await self._guard.check(
                "place_hedge",
                p,
                req.user_id,
                f"sell {req.size} SOL: the position's capital hedges at most {room:.4f} more",
                details,
            )

    @activity.defn(name="hedge_fill")
    async def hedge_fill(self, q: HedgeFillQuery) -> LegFill:
        """What the order of one hedge attempt filled, found by its client order id."""
        cloid = hedge_cloid(q.position_id, q.attempt, q.reduce_only)
        async with venue_call():
            client = await self._hl_client(q.user_id)
            try:
                result = await client.lookup(cloid)
            except IocNotFilled:
                result = None
            return self._hedge_fill(cloid, q.reduce_only, result, client.address)

    def _hedge_fill(
        self, cloid: str, reduces: bool, result: OrderResult | None, address: str
    ) -> LegFill:
        size = result.filled_size if result else Decimal(0)
        px = result.avg_px if result and result.avg_px is not None else Decimal(0)
        return LegFill(
            venue=Venue.HYPERLIQUID,
            side=LegSide.SHORT,
            size=size,
            avg_price=px,
            notional_usd=size * px,
            fee_usd=result.fee if result else Decimal(0),
            order_ref=cloid,
            reduces=reduces,
            venue_ref=address,
            fill_ids=[str(f.tid) for f in result.fills if f.tid is not None] if result else [],
            filled_at=max((f.time for f in result.fills), default=self._clock())
            if result
            else self._clock(),
        )

    @activity.defn(name="short_state")
    async def short_state(self, user_id: uuid.UUID) -> ShortState:
        async with venue_call():
            signer = await self._wallets.hyperliquid_signer(user_id)
            state = await self._hl.user_state(signer.address)
        pos = state.position(COIN)
        if pos is None:
            return ShortState(size=Decimal(0))
        return ShortState(
            size=pos.size, entry_price=pos.entry_px, liquidation_price=pos.liquidation_px
        )

    @activity.defn(name="add_short_margin")
    async def add_short_margin(
        self, user_id: uuid.UUID, amount: Decimal, position_id: uuid.UUID | None = None
    ) -> Decimal:
        """Move up to ``amount`` USDC of the account's free balance into the SOL position's
        isolated margin. Returns what was added. Not idempotent on the venue: an unanswered
        request fails for good (``OutcomeUnknown``) rather than risk adding twice."""
        if position_id is None:
            await self._guard.refuse(
                "add_short_margin",
                "add_short_margin names no position",
                claimed_user=user_id,
                owner=None,
                entity_type="user",
                entity_id=str(user_id),
                details={"amount": amount},
            )
        await self._check_transfer("add_short_margin", position_id, user_id, amount)
        async with venue_call():
            client = await self._hl_client(user_id)
            state = await client.user_state()
            pos = state.position(COIN)
            free = state.withdrawable.quantize(Decimal("0.01"), rounding="ROUND_DOWN")
            add = min(amount.quantize(Decimal("0.01")), free)
            if pos is None or pos.size == 0 or add <= 0:
                return Decimal(0)
            await client.update_isolated_margin(COIN, add)
        return add

    @activity.defn(name="add_long_collateral")
    async def add_long_collateral(
        self, position_id: uuid.UUID, user_id: uuid.UUID, amount: Decimal, key: str
    ) -> Decimal:
        """Repay up to ``amount`` USDC of the long's debt from the wallet, keyed by ``key`` so a
        retry resumes the same update. Returns what was repaid (0 where the protocol does not
        offer position updates or the wallet holds no USDC)."""
        await self._check_transfer("add_long_collateral", position_id, user_id, amount)
        async with venue_call():
            manager = await self._manager(user_id)
            sub = await self._store.get(open_key(position_id))
            if sub is None or not sub.result:
                return Decimal(0)
            protocol = Protocol(int(sub.result["protocol"]))
            if protocol not in UPDATE_PROTOCOLS:
                return Decimal(0)
            held = await self._rpc.token_balance(
                Pubkey.from_string(manager.wallet), Pubkey.from_string(USDC.mint)
            )
            repay = min(amount, held.amount).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
            if repay <= 0:
                return Decimal(0)
            await manager.update_position(
                key,
                UpdateAction.REPAY,
                pda=str(sub.result["position_pda"]),
                protocol=protocol,
                amount=repay,
            )
        return repay

    async def _check_transfer(
        self, action: str, position_id: uuid.UUID, user_id: uuid.UUID, amount: Decimal
    ) -> None:
        """Margin moved for an open position, never more than the position's capital."""
        details = {"amount": amount}
        p, _ = await self._guard.position(
            action, position_id, user_id, statuses=OPEN, details=details
        )
        if amount > p.capital_usd:
            await self._guard.check(
                action, p, user_id, f"{amount} USD above the position's capital", details
            )

    # ---- Asgard --------------------------------------------------------------------------

    @activity.defn(name="open_long")
    async def open_long(self, req: OpenLongRequest) -> LegFill:
        """The long of a position being opened, on the position's asset and leverage, with at
        most its capital as collateral."""
        details = {"asset": req.asset.value, "leverage": req.leverage, "collateral": req.collateral}
        p, _ = await self._guard.position(
            "open_long",
            req.position_id,
            req.user_id,
            statuses=OPENING,
            asset=req.asset,
            details=details,
        )
        if req.leverage != p.leverage or req.collateral > p.capital_usd:
            await self._guard.check(
                "open_long",
                p,
                req.user_id,
                f"leverage {req.leverage}, collateral {req.collateral} USD: the position is "
                f"{p.leverage}x on {p.capital_usd} USD",
                details,
            )
        async with venue_call():
            manager = await self._manager(req.user_id)
            opened = await manager.open_position(
                open_key(req.position_id),
                asset=req.asset,
                leverage=req.leverage,
                collateral=req.collateral,
                protocol=req.protocol,
                slippage_bps=req.max_slippage_bps,
            )
            snap = await self._market.snapshot()
        price = opened.entry_price_usd or snap.asset_price_usd(req.asset)
        return LegFill(
            venue=Venue.ASGARD,
            side=LegSide.LONG,
            size=opened.collateral,
            avg_price=price,
            notional_usd=opened.collateral * price,
            order_ref=open_key(req.position_id),
            venue_ref=opened.position_pda,
            fill_ids=list(opened.signatures),
            filled_at=opened.opened_at or self._clock(),
            protocol=opened.protocol,
            details={
                "collateral_usd": req.collateral,
                "tokens": opened.collateral,
                "debt": opened.debt,
                "rate_sol": snap.quote(req.asset).exchange_rate,
            },
        )

    @activity.defn(name="close_long")
    async def close_long(self, req: CloseLongRequest) -> LongClose:
        """Close the long opened under this position's key. Nothing opened: a no-op. An open
        still in flight: retried until it lands (then closed) or provably expires."""
        await self._guard.position(
            "close_long", req.position_id, req.user_id, statuses=LIVE, asset=req.asset
        )
        async with venue_call():
            manager = await self._manager(req.user_id)
            found = await self._opened(manager, req)
            if found is None:
                return LongClose(closed=False)
            pda, protocol = found
            [health] = await manager.refresh([(protocol, pda)])
            if health.state is not PositionState.ACTIVE:
                return LongClose(closed=False)
            snap = await self._market.snapshot(fresh=True)
            closed = await manager.close_position(
                close_key(req.position_id),
                pda=pda,
                protocol=protocol,
                slippage_bps=req.max_slippage_bps,
            )
        if closed.already_closed:
            return LongClose(closed=False)
        price = snap.asset_price_usd(req.asset)
        proceeds = health.collateral * price - health.debt
        return LongClose(
            closed=True,
            proceeds_usd=proceeds,
            fill=LegFill(
                venue=Venue.ASGARD,
                side=LegSide.LONG,
                size=health.collateral,
                avg_price=price,
                notional_usd=health.collateral * price,
                order_ref=close_key(req.position_id),
                reduces=True,
                venue_ref=pda,
                fill_ids=list(closed.signatures),
                filled_at=closed.closed_at or self._clock(),
                protocol=protocol,
                details={
                    "tokens": health.collateral,
                    "debt": health.debt,
                    "rate_sol": snap.quote(req.asset).exchange_rate,
                    "sol_price": snap.sol_price,
                },
            ),
        )

    async def _opened(
        self, manager: AsgardPositionManager, req: CloseLongRequest
    ) -> tuple[str, Protocol] | None:
        sub = await self._store.get(open_key(req.position_id))
        if sub is None:
            return None  # nothing was ever built for this position
        if sub.state in _RESOLVED_STATES and sub.result:
            return str(sub.result["position_pda"]), Protocol(int(sub.result["protocol"]))
        if sub.state in _NOTHING_LANDED:
            return None
        # Signed or submitted: the venue is the judge. Ours is the position opened by one of
        # this key's signatures.
        sigs = set(sub.signatures)
        for pos in await self._asgard.positions(manager.wallet, "open"):
            if pos.open_tx in sigs:
                return pos.pda, pos.protocol
        current = sub.current_txs
        statuses = await self._rpc.signature_statuses([t.signature for t in current])
        if current and not any(statuses):
            height = await self._rpc.block_height(self._policy.expiry_commitment)
            last_valid = max(t.last_valid_block_height for t in current)
            if height > last_valid + self._policy.expiry_margin_blocks:
                return None  # none of them can land any more: nothing was opened
        raise ApplicationError(
            f"the open of {req.position_id} is still in flight ({sub.state.value}); "
            "closing once it lands or expires",
            type="OpenStillPending",
        )
