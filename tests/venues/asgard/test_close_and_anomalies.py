"""Closing under faults (always once, a closed position is a no-op) and the guards that stop
the machine rather than risk a double action."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from models.domain import Asset, Protocol, SubmissionState, TxState
from tests.venues.asgard.harness import Venue
from venues.asgard import AsgardPositionManager, OpenedLong, PositionState
from venues.asgard.tokens import USDC
from venues.solana import (
    AttemptsExhausted,
    MemorySubmissionStore,
    SqlSubmissionStore,
    TransactionFailedOnChain,
)
from venues.solana.driver import SubmitPolicy
from venues.solana.errors import SubmissionAnomaly


async def _open(venue: Venue, wallet: Keypair, m: AsgardPositionManager) -> OpenedLong:
    await venue.fund(wallet, sol="1", usdc="1000")
    return await m.open_position(
        "open:p1",
        asset=Asset.JITOSOL,
        leverage=Decimal(2),
        collateral=Decimal(1000),
        protocol=Protocol.KAMINO,
    )


async def _usdc(m: AsgardPositionManager, wallet: Keypair) -> Decimal:
    return (await m.rpc.token_balance(wallet.pubkey(), Pubkey.from_string(USDC.mint))).amount


@pytest.mark.parametrize("fault", ["lost_response", "http_error"])
async def test_a_close_with_an_ambiguous_submit_closes_exactly_once(
    venue: Venue, wallet: Keypair, store: SqlSubmissionStore, fault: str
) -> None:
    m = venue.manager(wallet, store)
    opened = await _open(venue, wallet, m)
    venue.fault(fault, "asgard:submit-close-position-tx", status=500, count=1)
    closed = await m.close_position("close:p1", pda=opened.position_pda, protocol=Protocol.KAMINO)
    assert closed.state is PositionState.CLOSED and len(closed.signatures) == 1
    # Within a cent: interest accrues by the real-time clock while the test runs.
    assert abs(await _usdc(m, wallet) - Decimal(1000)) < Decimal("0.01")  # paid back once
    sub = await m.submission("close:p1")
    assert sub is not None and sub.attempt == 1


async def test_closing_a_closed_position_under_a_new_key_is_a_clean_no_op(
    venue: Venue, wallet: Keypair, store: SqlSubmissionStore
) -> None:
    m = venue.manager(wallet, store)
    opened = await _open(venue, wallet, m)
    await m.close_position("close:p1", pda=opened.position_pda, protocol=Protocol.KAMINO)
    lamports = await m.rpc.lamports(wallet.pubkey())

    again = await m.close_position(
        "close:p1-again", pda=opened.position_pda, protocol=Protocol.KAMINO
    )

    assert again.already_closed and again.signatures == ()
    assert await m.rpc.lamports(wallet.pubkey()) == lamports  # not even a fee
    assert await m.submission("close:p1-again") is None


async def test_a_close_that_failed_on_chain_is_rebuilt_on_retry(
    venue: Venue, wallet: Keypair, store: SqlSubmissionStore
) -> None:
    m = venue.manager(wallet, store)
    opened = await _open(venue, wallet, m)
    venue.fault("tx_error", "asgard:submit-close-position-tx", count=1)
    with pytest.raises(TransactionFailedOnChain):
        await m.close_position("close:p1", pda=opened.position_pda, protocol=Protocol.KAMINO)
    closed = await m.close_position("close:p1", pda=opened.position_pda, protocol=Protocol.KAMINO)
    assert closed.state is PositionState.CLOSED and not closed.already_closed
    sub = await m.submission("close:p1")
    assert sub is not None and sub.attempt == 2


async def test_two_workers_closing_one_position_close_it_once(
    venue: Venue, wallet: Keypair, store: SqlSubmissionStore
) -> None:
    a = venue.manager(wallet, store)
    opened = await _open(venue, wallet, a)
    b = venue.manager(wallet, store)
    x, y = await asyncio.gather(
        a.close_position("close:p1", pda=opened.position_pda, protocol=Protocol.KAMINO),
        b.close_position("close:p1", pda=opened.position_pda, protocol=Protocol.KAMINO),
    )
    assert x.signatures == y.signatures and len(x.signatures) == 1
    assert abs(await _usdc(a, wallet) - Decimal(1000)) < Decimal("0.01")


async def test_attempts_per_call_are_bounded_and_the_next_call_carries_on(
    venue: Venue, wallet: Keypair
) -> None:
    store = MemorySubmissionStore()
    await venue.fund(wallet, sol="1", usdc="1000")
    venue.fault("drop_tx", "asgard:submit-create-position-tx", count=1)
    venue.fault("drop_tx", "rpc:sendTransaction", count=400)
    policy = SubmitPolicy(max_attempts_per_call=1, max_wait_s=900)
    m = venue.manager(wallet, store, policy=policy)
    with pytest.raises(AttemptsExhausted) as exc:
        await m.open_position(
            "open:p1", asset=Asset.SOL, leverage=Decimal(2), collateral=Decimal(1000)
        )
    assert exc.value.retryable
    sub = await store.get("open:p1")
    assert sub is not None and sub.state is SubmissionState.EXPIRED
    venue.faults.clear()
    opened = await m.open_position(
        "open:p1", asset=Asset.SOL, leverage=Decimal(2), collateral=Decimal(1000)
    )
    assert len(await venue.opened_positions(wallet)) == 1
    assert opened.position_pda


async def test_a_transaction_declared_dead_that_shows_up_landed_halts_the_machine(
    venue: Venue, wallet: Keypair
) -> None:
    store = MemorySubmissionStore()
    m = venue.manager(wallet, store)
    opened = await _open(venue, wallet, m)
    landed = await store.get("open:p1")
    assert landed is not None
    # A corrupted record: key "open:p2" claims the landed transaction expired.
    ghost = replace(
        landed,
        key="open:p2",
        state=SubmissionState.EXPIRED,
        result=None,
        txs=tuple(replace(t, state=TxState.EXPIRED) for t in landed.txs),
    )
    await store.insert(ghost)
    with pytest.raises(SubmissionAnomaly) as exc:
        await m.open_position(
            "open:p2",
            asset=Asset.JITOSOL,
            leverage=Decimal(2),
            collateral=Decimal(1000),
            protocol=Protocol.KAMINO,
        )
    assert not exc.value.retryable
    assert len(await venue.opened_positions(wallet)) == 1
    assert opened.position_pda
