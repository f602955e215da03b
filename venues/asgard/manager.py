"""``AsgardPositionManager``: open, close, update and refresh Asgard positions, each action
idempotent under a caller-supplied key and resumable after any crash.

Built per wallet from shared parts: ``AsgardPositionManager(client, rpc, signer, store)``
where ``signer`` is a ``TransactionSigner`` (validator + the user's ``WalletSigner``). An
activity calls ``open_position("open:{position_id}", ...)``; if the worker dies anywhere and
Temporal retries, the same call with the same key resumes from the database - it never signs
a second open while the first may still land.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

from basis.clock import Clock, utc_now
from models.domain import Asset, Protocol
from venues.asgard.client import UPDATE_PROTOCOLS, AsgardClient, UpdateAction
from venues.asgard.errors import UnsupportedOperation
from venues.asgard.models import CollateralType, PositionHealth
from venues.asgard.operations import CloseOp, OpenOp, UpdateOp
from venues.asgard.results import ClosedLong, OpenedLong, UpdatedLong
from venues.solana.driver import Sleep, SubmissionDriver, SubmitPolicy
from venues.solana.rpc import SolanaRpc
from venues.solana.signer import TransactionSigner
from venues.solana.store import SubmissionStore
from venues.solana.submission import Submission

_LTV_TTL_S = 300.0


class AsgardPositionManager:
    def __init__(
        self,
        client: AsgardClient,
        rpc: SolanaRpc,
        signer: TransactionSigner,
        store: SubmissionStore,
        *,
        policy: SubmitPolicy | None = None,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        on_progress: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.rpc = rpc
        self.signer = signer
        self.store = store
        self.sleep = sleep
        self.clock = clock
        self._ltv: tuple[datetime, dict[Protocol, Decimal]] | None = None
        self.driver = SubmissionDriver(
            rpc, signer, store, policy=policy, clock=clock, sleep=sleep, on_progress=on_progress
        )

    @property
    def wallet(self) -> str:
        return str(self.signer.pubkey)

    async def open_position(
        self,
        key: str,
        *,
        asset: Asset,
        leverage: Decimal,
        collateral: Decimal,
        collateral_type: CollateralType = CollateralType.DEBT_TOKEN,
        protocol: Protocol | None = None,
        slippage_bps: int = 50,
        jito_tip_lamports: int = 10_000,
    ) -> OpenedLong:
        """Open a leveraged long of ``asset``, posting ``collateral`` (USDC by default).

        With ``protocol`` None the route is chosen per build by ``choose_route`` (a rebuild
        after an expiry may pick another protocol: nothing of the first build landed).
        """
        op = OpenOp(
            self,
            asset,
            leverage,
            collateral,
            collateral_type,
            protocol,
            slippage_bps,
            jito_tip_lamports,
        )
        outcome = await self.driver.run(key, op)
        return OpenedLong.from_json(outcome.result)

    async def close_position(
        self,
        key: str,
        *,
        pda: str,
        protocol: Protocol,
        slippage_bps: int = 50,
        jito_tip_lamports: int = 10_000,
    ) -> ClosedLong:
        """Close the position; a clean no-op result if it is already closed or liquidated."""
        op = CloseOp(self, pda, protocol, slippage_bps, jito_tip_lamports)
        outcome = await self.driver.run(key, op)
        return ClosedLong.from_json(outcome.result)

    async def update_position(
        self,
        key: str,
        action: UpdateAction,
        *,
        pda: str,
        protocol: Protocol,
        fraction: Decimal | None = None,
        amount: Decimal | None = None,
        slippage_bps: int = 50,
    ) -> UpdatedLong:
        """Partial close (``fraction``), add collateral (``amount`` of the collateral token),
        repay (``amount`` USDC) or deleverage (sell ``amount`` of collateral to repay).
        Kamino and Drift only."""
        if protocol not in UPDATE_PROTOCOLS:
            raise UnsupportedOperation(f"{action.value} is offered on Kamino and Drift only")
        op = UpdateOp(self, action, pda, protocol, fraction, amount, slippage_bps)
        outcome = await self.driver.run(key, op)
        return UpdatedLong.from_json(outcome.result)

    async def refresh(self, refs: Sequence[tuple[Protocol, str]]) -> list[PositionHealth]:
        """Health and balances of several positions in one call (monitoring batches)."""
        return await self.client.refresh_positions(refs, liquidation_ltv=await self._ltvs())

    async def _ltvs(self) -> dict[Protocol, Decimal]:
        """Liquidation LTVs from ``/markets``, cached: they change rarely, and they only
        cross-check an ambiguous health-factor unit."""
        now = self.clock()
        if self._ltv is None or (now - self._ltv[0]).total_seconds() > _LTV_TTL_S:
            markets = await self.client.markets()
            ltv = {
                s.protocol: s.liquidation_ltv
                for m in markets.values()
                for s in m.sources
                if s.liquidation_ltv is not None
            }
            self._ltv = (now, ltv)
        return self._ltv[1]

    async def submission(self, key: str) -> Submission | None:
        """What is persisted under ``key`` (for operators and reconciliation)."""
        return await self.store.get(key)
