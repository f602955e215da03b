"""The issue's done-when: the real clients open, refresh and close a 3x long jitoSOL position
through the emulator, with balances, interest and health factor checked by hand."""

from __future__ import annotations

from decimal import Decimal

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from models.domain import Asset, Protocol, SubmissionState
from tests.venues.asgard.harness import T0, YEAR, StaticMarket, protocol_market, running_venue
from venues.asgard import PositionState
from venues.asgard.tokens import USDC
from venues.market import SimClock
from venues.solana import SqlSubmissionStore

RENT = 2_039_280
TX_COST = 5_000 + 4_000 + 10_000  # signature + priority fee (400k CU x 10k micro-lamports) + tip


def close_to(a: Decimal, b: Decimal, tol: str = "0.000001") -> bool:
    return abs(a - b) <= Decimal(tol)


async def test_real_client_opens_refreshes_and_closes_a_3x_jitosol_long(
    store: SqlSubmissionStore,
) -> None:
    # jitoSOL = 1.1 SOL, staking 7%/yr through the exchange rate; Kamino lends jitoSOL at 5%
    # and USDC at 10%; Marginfi is worse and Solend is inactive, so the route is Kamino.
    market = StaticMarket(
        Decimal(150),
        lst_rate0={a: Decimal("1.1") if a is Asset.JITOSOL else Decimal(1) for a in Asset},
        staking_apy={a: Decimal("0.07") if a is Asset.JITOSOL else Decimal(0) for a in Asset},
        protocols=(
            protocol_market(Protocol.MARGINFI, lend="0.01", borrow="0.12"),
            protocol_market(Protocol.KAMINO, lend="0.05", borrow="0.10", ltv="0.90"),
            protocol_market(Protocol.SOLEND, lend="0.09", borrow="0.01", active=False),
        ),
    )
    clock = SimClock(start=T0, speed=1e-9)  # frozen: only advance() moves it
    wallet = Keypair()
    async with running_venue(market=market, clock=clock) as venue:
        await venue.fund(wallet, sol="1", usdc="1000")
        manager = venue.manager(wallet, store)

        opened = await manager.open_position(
            "open:p1", asset=Asset.JITOSOL, leverage=Decimal(3), collateral=Decimal(1000)
        )

        # 1000 USDC at 3x: borrow 2000, buy 3000 USD of jitoSOL at 150 x 1.1 = 165.
        q0 = Decimal(3000) / Decimal(165)
        assert opened.protocol is Protocol.KAMINO
        assert opened.debt == Decimal(2000)
        assert close_to(opened.collateral, q0, "0.000000001")
        assert opened.entry_price_usd == Decimal(165)
        assert close_to(opened.health_factor or Decimal(0), 1 - Decimal(2000) / Decimal(2700))
        usdc = Pubkey.from_string(USDC.mint)
        assert (await manager.rpc.token_balance(wallet.pubkey(), usdc)).native == 0
        assert await manager.rpc.lamports(wallet.pubkey()) == 10**9 - TX_COST - RENT
        sub = await manager.submission("open:p1")
        assert sub is not None and sub.state is SubmissionState.CONFIRMED

        # A year later: debt x1.10, collateral x1.05, jitoSOL worth 1.1 x 1.07 SOL.
        clock.advance(YEAR)
        (health,) = await manager.refresh([(opened.protocol, opened.position_pda)])
        q1 = q0 * Decimal("1.05")
        price1 = Decimal(150) * Decimal("1.1") * Decimal("1.07")
        assert close_to(health.debt, Decimal(2200))
        assert close_to(health.collateral, q1, "0.000000002")
        expected_hf = 1 - Decimal(2200) / (q1 * price1 * Decimal("0.9"))
        assert close_to(health.health_factor, expected_hf)
        assert health.state is PositionState.ACTIVE

        closed = await manager.close_position(
            "close:p1", pda=opened.position_pda, protocol=opened.protocol
        )

        # Sell everything at 176.55, repay 2200: 19.0909... x 176.55 - 2200 = 1170.5 USDC.
        assert closed.state is PositionState.CLOSED and not closed.already_closed
        final_usdc = (await manager.rpc.token_balance(wallet.pubkey(), usdc)).amount
        assert close_to(final_usdc, Decimal("1170.5"), "0.00001")
        assert await manager.rpc.lamports(wallet.pubkey()) == 10**9 - 2 * TX_COST
        positions = await venue.opened_positions(wallet)
        assert len(positions) == 1 and positions[0]["state"] == 1

        # The same close again is the recorded result, not a second transaction.
        again = await manager.close_position(
            "close:p1", pda=opened.position_pda, protocol=opened.protocol
        )
        assert again == closed
        # The open submission reached finality while the year passed.
        assert (
            await manager.open_position(
                "open:p1", asset=Asset.JITOSOL, leverage=Decimal(3), collateral=Decimal(1000)
            )
        ) == opened
        sub = await manager.submission("open:p1")
        assert sub is not None and sub.state is SubmissionState.FINALIZED
