"""The emulator's books against hand-computed cases: interest, liquidation, position
updates, and state that survives a restart."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from models.domain import Asset, Protocol
from tests.venues.asgard.harness import T0, YEAR, StaticMarket, protocol_market, running_venue
from venues.asgard import PositionState, UpdateAction
from venues.asgard.tokens import JITOSOL, USDC
from venues.market import SimClock
from venues.solana import MemorySubmissionStore

D = Decimal


def _market(**kw: Any) -> StaticMarket:
    return StaticMarket(D(150), protocols=(protocol_market(Protocol.KAMINO, **kw),))


def _frozen() -> SimClock:
    return SimClock(start=T0, speed=1e-9)


async def _debt_after_a_year(steps: int) -> Decimal:
    clock, wallet = _frozen(), Keypair()
    async with running_venue(market=_market(), clock=clock) as venue:
        await venue.fund(wallet, sol="1", usdc="1000")
        m = venue.manager(wallet, MemorySubmissionStore())
        opened = await m.open_position("open:x", asset=Asset.SOL, leverage=D(2), collateral=D(1000))
        for _ in range(steps):
            clock.advance(YEAR / steps)
            await venue.admin.get("/admin/health")  # every request catches the chain up
        (pos,) = (await venue.wallet(wallet))["positions"]
        assert pos["pda"] == opened.position_pda
        return D(pos["debt"])


async def test_interest_compounds_at_the_apy_however_often_the_emulator_catches_up() -> None:
    once, monthly = await _debt_after_a_year(1), await _debt_after_a_year(12)
    assert abs(once - D(1100)) < D("0.000001")  # 1000 borrowed at 10%/yr
    assert abs(monthly - once) < D("0.000001")


async def test_a_price_dip_through_the_liquidation_price_liquidates_the_position() -> None:
    market, clock, wallet = _market(ltv="0.90"), _frozen(), Keypair()
    async with running_venue(market=market, clock=clock) as venue:
        await venue.fund(wallet, sol="1", usdc="1000")
        m = venue.manager(wallet, MemorySubmissionStore())
        opened = await m.open_position("open:x", asset=Asset.SOL, leverage=D(4), collateral=D(1000))
        # 4x at LT 0.9: health 1 - 3/3.6 = 16.7%; a 20% dip for an hour is enough.
        q = opened.collateral
        assert abs(q - D(4000) / D(150)) < D("1e-9")  # native units round down
        market.set_price(T0 + timedelta(minutes=10), D(120))
        market.set_price(T0 + timedelta(minutes=70), D(150))
        clock.advance(timedelta(hours=2))
        (health,) = await m.refresh([(Protocol.KAMINO, opened.position_pda)])
        assert health.state is PositionState.LIQUIDATED
        assert health.debt == 0 and health.collateral == 0
        # The liquidator took collateral worth the debt plus 5% at the liquidation price;
        # the rest (1 - 0.9 x 1.05 of it) came back to the wallet as SOL.
        lamports = await m.rpc.lamports(wallet.pubkey())
        back = q * (1 - D("0.9") * D("1.05"))
        spent = 19_000 + 2_039_280
        assert abs(D(lamports - (10**9 - spent)) / 10**9 - back) < D("0.0001")

        closed = await m.close_position(
            "close:x", pda=opened.position_pda, protocol=Protocol.KAMINO
        )
        assert closed.already_closed and closed.state is PositionState.LIQUIDATED
        assert closed.signatures == ()


async def test_a_dip_short_of_the_liquidation_price_leaves_the_position_open() -> None:
    market, clock, wallet = _market(ltv="0.90"), _frozen(), Keypair()
    async with running_venue(market=market, clock=clock) as venue:
        await venue.fund(wallet, sol="1", usdc="1000")
        m = venue.manager(wallet, MemorySubmissionStore())
        opened = await m.open_position("open:x", asset=Asset.SOL, leverage=D(4), collateral=D(1000))
        market.set_price(T0 + timedelta(minutes=10), D(130))  # -13.3% < 16.7%
        clock.advance(timedelta(hours=1))
        (health,) = await m.refresh([(Protocol.KAMINO, opened.position_pda)])
        assert health.state is PositionState.ACTIVE
        assert abs(health.health_factor - (1 - D(3000) / (opened.collateral * 130 * D("0.9")))) < D(
            "0.0001"
        )


async def test_position_updates_on_kamino_move_collateral_debt_and_balances() -> None:
    clock, wallet = _frozen(), Keypair()
    async with running_venue(market=_market(lend="0", borrow="0"), clock=clock) as venue:
        await venue.fund(wallet, sol="1", usdc="2000", tokens={"jitoSOL": "2"})
        m = venue.manager(wallet, MemorySubmissionStore())
        usdc = Pubkey.from_string(USDC.mint)
        opened = await m.open_position(
            "open:x", asset=Asset.JITOSOL, leverage=D(3), collateral=D(1500)
        )
        pda, k = opened.position_pda, Protocol.KAMINO
        assert (opened.collateral, opened.debt) == (D(30), D(3000))  # 4500 USD at 150

        half = await m.update_position(
            "pc:x", UpdateAction.PARTIAL_CLOSE, pda=pda, protocol=k, fraction=D("0.5")
        )
        assert (half.collateral, half.debt) == (D(15), D(1500))
        # Sold 10 jitoSOL to repay 1500, the other 5 came back as 750 USDC.
        assert (await m.rpc.token_balance(wallet.pubkey(), usdc)).amount == D(500 + 750)

        added = await m.update_position(
            "add:x", UpdateAction.ADD_COLLATERAL, pda=pda, protocol=k, amount=D(2)
        )
        assert added.collateral == D(17)
        jito = await m.rpc.token_balance(wallet.pubkey(), Pubkey.from_string(JITOSOL.mint))
        assert jito.amount == 0

        repaid = await m.update_position(
            "repay:x", UpdateAction.REPAY, pda=pda, protocol=k, amount=D(250)
        )
        assert repaid.debt == D(1250)
        assert (await m.rpc.token_balance(wallet.pubkey(), usdc)).amount == D(1000)

        delev = await m.update_position(
            "delev:x", UpdateAction.DELEVERAGE, pda=pda, protocol=k, amount=D(5)
        )
        assert (delev.collateral, delev.debt) == (D(12), D(500))  # 5 x 150 repaid
        assert abs(delev.health_factor - (1 - D(500) / (D(12) * 150 * D("0.9")))) < D("1e-9")


async def test_the_state_file_brings_back_balances_positions_and_statuses(tmp_path: Path) -> None:
    state_file = tmp_path / "asgard.json"
    clock, wallet = _frozen(), Keypair()
    async with running_venue(market=_market(), clock=clock, state_file=state_file) as venue:
        await venue.fund(wallet, sol="1", usdc="1000")
        m = venue.manager(wallet, MemorySubmissionStore())
        opened = await m.open_position("open:x", asset=Asset.SOL, leverage=D(2), collateral=D(1000))
        before = await venue.wallet(wallet)
    assert state_file.exists()

    clock.advance(YEAR)
    async with running_venue(market=_market(), clock=clock, state_file=state_file) as venue:
        after = await venue.wallet(wallet)
        assert after["lamports"] == before["lamports"]
        assert after["tokens"] == before["tokens"]
        (pos,) = after["positions"]
        assert abs(D(pos["debt"]) - D(1100)) < D("0.000001")  # the year accrued on reload
        m = venue.manager(wallet, MemorySubmissionStore())
        (status,) = await m.rpc.signature_statuses(list(opened.signatures))
        assert status is not None and status.confirmation == "finalized"
        closed = await m.close_position(
            "close:x", pda=opened.position_pda, protocol=Protocol.KAMINO
        )
        assert closed.state is PositionState.CLOSED
