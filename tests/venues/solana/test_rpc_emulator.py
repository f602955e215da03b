"""The real ``solana`` AsyncClient (and our ``SolanaRpc`` on it) against the emulator's
JSON-RPC: reads, sends, preflight refusals and the transaction faults."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed, Finalized, Processed
from solana.rpc.models import TokenAccountOpts, TxOpts
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from tests.venues.asgard.harness import Venue
from venues.asgard.tokens import USDC
from venues.solana import RpcRejected, RpcUnavailable, SolanaRpc

FEE = 5_000  # one signature, no priority fee


async def _transfer(
    client: AsyncClient, payer: Keypair, lamports: int, *, to: Pubkey | None = None
) -> VersionedTransaction:
    blockhash = (await client.get_latest_blockhash(Confirmed)).value.blockhash
    ix = transfer(
        TransferParams(
            from_pubkey=payer.pubkey(), to_pubkey=to or Pubkey.new_unique(), lamports=lamports
        )
    )
    msg = MessageV0.try_compile(payer.pubkey(), [ix], [], blockhash)
    return VersionedTransaction(msg, [payer])


async def test_the_real_client_reads_blockhash_heights_and_balances(
    venue: Venue, wallet: Keypair
) -> None:
    await venue.fund(wallet, sol="2", usdc="1234.5")
    async with AsyncClient(venue.rpc_url, http2=False) as client:
        latest = (await client.get_latest_blockhash(Finalized)).value
        finalized = (await client.get_block_height(Finalized)).value
        processed = (await client.get_block_height(Processed)).value
        assert latest.last_valid_block_height == finalized + 150
        assert processed == finalized + 32
        assert (await client.get_balance(wallet.pubkey())).value == 2 * 10**9
        accounts = await client.get_token_accounts_by_owner(
            wallet.pubkey(), TokenAccountOpts(mint=Pubkey.from_string(USDC.mint))
        )
        assert len(accounts.value) == 1
        balance = await client.get_token_account_balance(accounts.value[0].pubkey)
        assert balance.value.amount == "1234500000" and balance.value.decimals == 6
    rpc = SolanaRpc(venue.rpc_url)
    try:
        usdc = await rpc.token_balance(wallet.pubkey(), Pubkey.from_string(USDC.mint))
        assert usdc.amount == Decimal("1234.5")
        assert await rpc.sol_balance(wallet.pubkey()) == Decimal(2)
        nothing = await rpc.token_balance(Keypair().pubkey(), Pubkey.from_string(USDC.mint))
        assert nothing.native == 0
    finally:
        await rpc.close()


async def test_a_transfer_sent_and_confirmed_by_the_real_client_moves_lamports(
    venue: Venue, wallet: Keypair
) -> None:
    await venue.fund(wallet, sol="1")
    dest = Pubkey.new_unique()
    async with AsyncClient(venue.rpc_url, http2=False) as client:
        tx = await _transfer(client, wallet, 1_000, to=dest)
        lvbh = (await client.get_latest_blockhash(Confirmed)).value.last_valid_block_height
        sent = await client.send_transaction(
            tx,
            TxOpts(
                skip_confirmation=False,
                preflight_commitment=Confirmed,
                last_valid_block_height=lvbh,
            ),
        )
        assert sent.value == tx.signatures[0]
        assert (await client.get_balance(dest)).value == 1_000
        assert (await client.get_balance(wallet.pubkey())).value == 10**9 - 1_000 - FEE


async def test_rebroadcasting_a_landed_transaction_says_already_processed(
    venue: Venue, wallet: Keypair
) -> None:
    await venue.fund(wallet, sol="1")
    rpc = SolanaRpc(venue.rpc_url)
    try:
        async with AsyncClient(venue.rpc_url, http2=False) as client:
            tx = await _transfer(client, wallet, 1_000)
        assert (await rpc.send_raw(bytes(tx))).kind == "sent"
        again = await rpc.send_raw(bytes(tx))
        assert again.kind == "already_processed"
        assert (await rpc.lamports(wallet.pubkey())) == 10**9 - 1_000 - FEE  # once
    finally:
        await rpc.close()


async def test_an_expired_blockhash_is_refused_and_the_transaction_never_lands(
    venue: Venue, wallet: Keypair
) -> None:
    await venue.fund(wallet, sol="1")
    rpc = SolanaRpc(venue.rpc_url)
    try:
        async with AsyncClient(venue.rpc_url, http2=False) as client:
            tx = await _transfer(client, wallet, 1_000)
        venue.clock.advance(timedelta(seconds=151 * 0.4))
        outcome = await rpc.send_raw(bytes(tx))
        assert outcome.kind == "blockhash_not_found"
        assert await rpc.signature_statuses([str(tx.signatures[0])]) == [None]
    finally:
        await rpc.close()


async def test_a_transaction_signed_by_the_wrong_key_is_refused(
    venue: Venue, wallet: Keypair
) -> None:
    await venue.fund(wallet, sol="1")
    thief = Keypair()
    rpc = SolanaRpc(venue.rpc_url)
    try:
        async with AsyncClient(venue.rpc_url, http2=False) as client:
            tx = await _transfer(client, wallet, 10**8)
        forged = VersionedTransaction.populate(
            tx.message, [thief.sign_message(to_bytes_versioned(tx.message))]
        )
        with pytest.raises(RpcRejected, match="SignatureVerificationFailure"):
            await rpc.send_raw(bytes(forged))
        assert await rpc.lamports(wallet.pubkey()) == 10**9
    finally:
        await rpc.close()


async def test_simulation_reports_an_instruction_error_and_changes_nothing(
    venue: Venue, wallet: Keypair
) -> None:
    await venue.fund(wallet, sol="1")
    rpc = SolanaRpc(venue.rpc_url)
    try:
        async with AsyncClient(venue.rpc_url, http2=False) as client:
            tx = await _transfer(client, wallet, 5 * 10**9)
        sim = await rpc.simulate(tx)
        assert sim.err == '{"InstructionError":[0,{"Custom":1}]}'
        refused = await rpc.send_raw(bytes(tx))
        assert refused.kind == "preflight_failed"
        assert await rpc.lamports(wallet.pubkey()) == 10**9
    finally:
        await rpc.close()


async def test_a_landed_transaction_is_finalized_32_slots_later(
    venue: Venue, wallet: Keypair
) -> None:
    await venue.fund(wallet, sol="1")
    rpc = SolanaRpc(venue.rpc_url)
    try:
        async with AsyncClient(venue.rpc_url, http2=False) as client:
            tx = await _transfer(client, wallet, 1_000)
        await rpc.send_raw(bytes(tx))
        (status,) = await rpc.signature_statuses([str(tx.signatures[0])])
        assert status is not None and status.confirmation == "confirmed"
        venue.clock.advance(timedelta(seconds=33 * 0.4))
        (status,) = await rpc.signature_statuses([str(tx.signatures[0])])
        assert status is not None and status.confirmation == "finalized" and status.succeeded
    finally:
        await rpc.close()


@pytest.mark.parametrize("status", [503, 429])
async def test_gateway_errors_are_retryable(venue: Venue, status: int) -> None:
    venue.fault("http_error", "rpc:getBlockHeight", status=status, count=1)
    rpc = SolanaRpc(venue.rpc_url)
    try:
        with pytest.raises(RpcUnavailable) as exc:
            await rpc.block_height()
        assert exc.value.retryable
        assert await rpc.block_height() > 0
    finally:
        await rpc.close()


async def test_a_request_slower_than_the_client_timeout_is_retryable(venue: Venue) -> None:
    venue.fault("timeout", "rpc:getBlockHeight", delay_s=1.0, count=1)
    rpc = SolanaRpc(venue.rpc_url, timeout=0.2)
    try:
        with pytest.raises(RpcUnavailable):
            await rpc.block_height()
    finally:
        await rpc.close()


async def test_a_dropped_transaction_never_lands_but_its_rebroadcast_does(
    venue: Venue, wallet: Keypair
) -> None:
    await venue.fund(wallet, sol="1")
    venue.fault("drop_tx", "rpc:sendTransaction", count=1)
    rpc = SolanaRpc(venue.rpc_url)
    try:
        async with AsyncClient(venue.rpc_url, http2=False) as client:
            tx = await _transfer(client, wallet, 1_000)
        sig = str(tx.signatures[0])
        assert (await rpc.send_raw(bytes(tx))).kind == "sent"
        assert await rpc.signature_statuses([sig]) == [None]
        assert (await rpc.send_raw(bytes(tx))).kind == "sent"
        (status,) = await rpc.signature_statuses([sig])
        assert status is not None and status.succeeded
    finally:
        await rpc.close()


async def test_a_slow_confirmation_lands_when_its_slot_comes(venue: Venue, wallet: Keypair) -> None:
    await venue.fund(wallet, sol="1")
    venue.fault("slow_confirm", "rpc:sendTransaction", delay_s=4.0, count=1)
    rpc = SolanaRpc(venue.rpc_url)
    try:
        async with AsyncClient(venue.rpc_url, http2=False) as client:
            tx = await _transfer(client, wallet, 1_000)
        sig = str(tx.signatures[0])
        await rpc.send_raw(bytes(tx))
        assert await rpc.signature_statuses([sig]) == [None]
        venue.clock.advance(timedelta(seconds=5))
        (status,) = await rpc.signature_statuses([sig])
        assert status is not None and status.succeeded
    finally:
        await rpc.close()


async def test_a_transaction_landed_with_an_error_pays_the_fee_and_changes_nothing_else(
    venue: Venue, wallet: Keypair
) -> None:
    await venue.fund(wallet, sol="1")
    venue.fault("tx_error", "rpc:sendTransaction", count=1)
    rpc = SolanaRpc(venue.rpc_url)
    try:
        async with AsyncClient(venue.rpc_url, http2=False) as client:
            tx = await _transfer(client, wallet, 1_000)
        await rpc.send_raw(bytes(tx))
        (status,) = await rpc.signature_statuses([str(tx.signatures[0])])
        assert status is not None and not status.succeeded
        assert await rpc.lamports(wallet.pubkey()) == 10**9 - FEE
    finally:
        await rpc.close()


def test_blockhash_strings_are_valid_hashes(venue: Venue) -> None:
    bh, _ = venue.emulator.chain.latest_blockhash()
    assert str(Hash.from_string(bh)) == bh


async def test_a_send_whose_answer_is_lost_after_landing_is_found_by_signature(
    venue: Venue, wallet: Keypair
) -> None:
    await venue.fund(wallet, sol="1")
    venue.fault("lost_response", "rpc:sendTransaction", count=1)
    rpc = SolanaRpc(venue.rpc_url)
    try:
        async with AsyncClient(venue.rpc_url, http2=False) as client:
            tx = await _transfer(client, wallet, 1_000)
        with pytest.raises(RpcUnavailable):
            await rpc.send_raw(bytes(tx))
        (status,) = await rpc.signature_statuses([str(tx.signatures[0])])
        assert status is not None and status.succeeded
        assert (await rpc.send_raw(bytes(tx))).kind == "already_processed"
    finally:
        await rpc.close()
