"""The three Asgard operations the submission driver runs for the position manager: how to
build, submit and read the result of an open, a close and a position update."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from models.domain import Asset, Protocol, SubmissionKind
from venues.asgard.client import OpenRequest, UpdateAction
from venues.asgard.errors import (
    AsgardUnavailable,
    NoRoute,
    PositionNotFound,
    UnsupportedOperation,
)
from venues.asgard.models import AsgardPosition, BuiltTransactions, CollateralType, PositionState
from venues.asgard.results import ClosedLong, OpenedLong, UpdatedLong
from venues.asgard.routing import choose_route
from venues.asgard.tokens import USDC, token_of
from venues.solana.driver import Build
from venues.solana.errors import SubmissionAnomaly
from venues.solana.submission import Submission

if TYPE_CHECKING:
    from venues.asgard.manager import AsgardPositionManager


def canonical(value: Decimal) -> str:
    """One spelling per number (3 == 3.0 == 3.00), so a retried call with an equal request
    is recognised as the same request."""
    return format(value.normalize(), "f")


async def position_after_landing(
    m: AsgardPositionManager, sub: Submission, hint: dict[str, Any] | None, pda: str | None
) -> AsgardPosition:
    """The position a confirmed attempt acted on. Asgard may index it a moment after
    the chain confirms, so a few reads are allowed before giving up (retryably)."""
    hinted = (hint or {}).get("position")
    if isinstance(hinted, AsgardPosition):
        return hinted
    signatures = {t.signature for t in sub.current_txs}
    for _ in range(5):
        try:
            if pda:
                return await m.client.position_by_pda(pda)
            for pos in await m.client.positions(m.wallet):
                if pos.open_tx in signatures:
                    return pos
        except PositionNotFound:
            pass
        await m.sleep(1.0)
    raise AsgardUnavailable(f"{sub.key}: landed, but Asgard does not list the position yet")


class OpenOp:
    kind = SubmissionKind.OPEN

    def __init__(
        self,
        m: AsgardPositionManager,
        asset: Asset,
        leverage: Decimal,
        collateral: Decimal,
        collateral_type: CollateralType,
        protocol: Protocol | None,
        slippage_bps: int,
        tip: int,
    ) -> None:
        self.m = m
        self.asset, self.leverage, self.collateral = asset, leverage, collateral
        self.collateral_type, self.protocol = collateral_type, protocol
        self.slippage_bps, self.tip = slippage_bps, tip
        self.request: dict[str, Any] = {
            "asset": asset.value,
            "leverage": canonical(leverage),
            "collateral": canonical(collateral),
            "collateral_type": int(collateral_type),
            "protocol": None if protocol is None else int(protocol),
        }
        self.req: OpenRequest | None = None

    async def precheck(self, sub: Submission | None) -> dict[str, Any] | None:
        return None

    async def build(self) -> Build:
        markets = await self.m.client.markets()
        market = markets.get(self.asset)
        if market is None:
            raise NoRoute(f"Asgard lists no {self.asset.value}/USDC market")
        price = market.price_usd
        if price is None:
            raise NoRoute(f"Asgard gives no price for {self.asset.value}")
        equity = (
            self.collateral
            if self.collateral_type is CollateralType.DEBT_TOKEN
            else (self.collateral * price)
        )
        sources = [s for s in market.sources if self.protocol in (None, s.protocol)]
        choice = choose_route(sources, leverage=self.leverage, capital_usd=equity)
        if choice is None:
            raise NoRoute(
                f"no active protocol takes {self.leverage}x on {equity} USD of {self.asset.value}"
            )
        unit_price = Decimal(1) if self.collateral_type is CollateralType.DEBT_TOKEN else price
        self.req = OpenRequest(
            wallet=self.m.wallet,
            asset=self.asset,
            protocol=choice.rates.protocol,
            token_a_bank=choice.rates.token_a_bank,
            token_b_bank=choice.rates.token_b_bank,
            collateral_type=self.collateral_type,
            collateral_amount=self.collateral,
            collateral_unit_price=unit_price,
            leverage=self.leverage,
            jito_tip_lamports=self.tip,
            slippage_bps=self.slippage_bps,
        )
        await self.m.client.simulate_open(self.req)  # a 422 here stops before any signing
        return _as_build(await self.m.client.build_open(self.req))

    async def submit(self, build: Build, signed: Sequence[str]) -> dict[str, Any] | None:
        position = await self.m.client.submit_open(_as_built(build), signed)
        return {"position": position}

    async def finish(self, sub: Submission, hint: dict[str, Any] | None) -> dict[str, Any]:
        pda = (sub.build or {}).get("positionPda")
        pos = await position_after_landing(self.m, sub, hint, pda)
        if pos.open_tx is not None and pos.open_tx not in sub.signatures:
            raise SubmissionAnomaly(f"{sub.key}: {pos.pda} was opened by {pos.open_tx}, not us")
        health = (await self.m.refresh([(pos.protocol, pos.pda)]))[0]
        return OpenedLong(
            key=sub.key,
            position_pda=pos.pda,
            position_id=pos.id,
            protocol=pos.protocol,
            asset=pos.asset,
            leverage=pos.leverage,
            collateral=health.collateral,
            debt=health.debt,
            entry_price_usd=pos.entry_price_usd,
            health_factor=health.health_factor,
            signatures=tuple(t.signature for t in sub.current_txs),
            opened_at=pos.opened_at,
        ).to_json()


class CloseOp:
    kind = SubmissionKind.CLOSE

    def __init__(
        self, m: AsgardPositionManager, pda: str, protocol: Protocol, slippage: int, tip: int
    ) -> None:
        self.m, self.pda, self.protocol = m, pda, protocol
        self.slippage_bps, self.tip = slippage, tip
        self.request: dict[str, Any] = {"pda": pda, "protocol": int(protocol)}
        self.position: AsgardPosition | None = None

    async def precheck(self, sub: Submission | None) -> dict[str, Any] | None:
        pos = await self.m.client.position_by_pda(self.pda)
        self.position = pos
        if pos.state is PositionState.ACTIVE:
            return None
        # Closed by someone else (or liquidated) and none of our attempts landed: a second
        # close of a closed position is a clean no-op.
        key = sub.key if sub else ""
        return _closed(key, pos, (), already_closed=True)

    async def build(self) -> Build:
        ctype = CollateralType(
            int(
                (self.position.raw if self.position else {}).get(
                    "collateralType", CollateralType.DEBT_TOKEN
                )
            )
        )
        built = await self.m.client.build_close(
            protocol=self.protocol,
            wallet=self.m.wallet,
            pda=self.pda,
            collateral_type=ctype,
            jito_tip_lamports=self.tip,
            slippage_bps=self.slippage_bps,
        )
        return _as_build(built)

    async def submit(self, build: Build, signed: Sequence[str]) -> dict[str, Any] | None:
        return {"position": await self.m.client.submit_close(_as_built(build), signed)}

    async def finish(self, sub: Submission, hint: dict[str, Any] | None) -> dict[str, Any]:
        pos = await position_after_landing(self.m, sub, hint, self.pda)
        sigs = tuple(t.signature for t in sub.current_txs)
        return _closed(sub.key, pos, sigs, already_closed=False)


class UpdateOp:
    kind = SubmissionKind.UPDATE

    def __init__(
        self,
        m: AsgardPositionManager,
        action: UpdateAction,
        pda: str,
        protocol: Protocol,
        fraction: Decimal | None,
        amount: Decimal | None,
        slippage: int,
    ) -> None:
        self.m, self.action, self.pda, self.protocol = m, action, pda, protocol
        self.fraction, self.amount, self.slippage_bps = fraction, amount, slippage
        self.request: dict[str, Any] = {
            "action": action.value,
            "pda": pda,
            "protocol": int(protocol),
            "fraction": None if fraction is None else canonical(fraction),
            "amount": None if amount is None else canonical(amount),
        }

    async def precheck(self, sub: Submission | None) -> dict[str, Any] | None:
        return None

    async def build(self) -> Build:
        params: dict[str, Any] = {"slippageBps": self.slippage_bps}
        if self.action is UpdateAction.PARTIAL_CLOSE:
            if self.fraction is None:
                raise UnsupportedOperation("partial close needs a fraction")
            params["fraction"] = float(self.fraction)
        else:
            if self.amount is None:
                raise UnsupportedOperation(f"{self.action.value} needs an amount")
            pos = await self.m.client.position_by_pda(self.pda)
            token = USDC if self.action is UpdateAction.REPAY else token_of(pos.asset)
            params["amountNative"] = str(token.to_native(self.amount))
        built = await self.m.client.build_update(
            self.action, protocol=self.protocol, wallet=self.m.wallet, pda=self.pda, **params
        )
        return _as_build(built)

    async def submit(self, build: Build, signed: Sequence[str]) -> dict[str, Any] | None:
        return {"position": await self.m.client.submit_update(_as_built(build), signed)}

    async def finish(self, sub: Submission, hint: dict[str, Any] | None) -> dict[str, Any]:
        health = (await self.m.refresh([(self.protocol, self.pda)]))[0]
        return UpdatedLong(
            key=sub.key,
            position_pda=self.pda,
            action=self.action,
            signatures=tuple(t.signature for t in sub.current_txs),
            collateral=health.collateral,
            debt=health.debt,
            health_factor=health.health_factor,
        ).to_json()


def _closed(
    key: str, pos: AsgardPosition, sigs: tuple[str, ...], *, already_closed: bool
) -> dict[str, Any]:
    return ClosedLong(
        key=key,
        position_pda=pos.pda,
        state=pos.state,
        signatures=sigs,
        already_closed=already_closed,
        closed_at=pos.closed_at,
    ).to_json()


def _as_build(built: BuiltTransactions) -> Build:
    return Build(
        transactions=built.transactions,
        last_valid_block_height=built.last_valid_block_height,
        body=built.body,
    )


def _as_built(build: Build) -> BuiltTransactions:
    return BuiltTransactions(
        body=build.body,
        transactions=build.transactions,
        last_valid_block_height=build.last_valid_block_height,
        position_pda=build.body.get("positionPda"),
    )
