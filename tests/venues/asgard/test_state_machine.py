"""Every path of the submission state machine under the emulator's faults, on SQLite and
Postgres. After each one the emulator's own record must show exactly one opened position
and the wallet debited exactly once."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from models.domain import Asset, SubmissionState, TxState
from tests.venues.asgard.harness import Venue, running_venue
from venues.asgard import (
    AsgardLogicalError,
    AsgardPositionManager,
    AsgardRateLimited,
    OpenedLong,
)
from venues.asgard.tokens import USDC
from venues.emulators.asgard import EmulatorConfig
from venues.solana import (
    KeypairSigner,
    SqlSubmissionStore,
    SubmissionConflict,
    SubmissionPending,
    TransactionFailedOnChain,
    TransactionPolicy,
    TransactionRefused,
    TransactionSigner,
)
from venues.solana.driver import SubmitPolicy

KEY = "open:p1"
CAPITAL = Decimal(1000)


class Crash(BaseException):
    """A worker dying mid-call: not an Exception, so nothing on the way catches it."""


async def open_long(m: AsgardPositionManager, key: str = KEY) -> OpenedLong:
    return await m.open_position(key, asset=Asset.JITOSOL, leverage=Decimal(3), collateral=CAPITAL)


async def assert_opened_once(
    venue: Venue, wallet: Keypair, m: AsgardPositionManager, opened: OpenedLong, key: str = KEY
) -> None:
    positions = await venue.opened_positions(wallet)
    assert len(positions) == 1, positions
    assert positions[0]["pda"] == opened.position_pda
    sub = await m.submission(key)
    assert sub is not None and positions[0]["open_tx"] in sub.signatures
    usdc = await m.rpc.token_balance(wallet.pubkey(), Pubkey.from_string(USDC.mint))
    assert usdc.amount == Decimal(5000) - CAPITAL  # debited exactly once


@pytest.fixture
async def funded(venue: Venue, wallet: Keypair) -> Keypair:
    await venue.fund(wallet, sol="1", usdc="5000")
    return wallet


async def test_each_step_is_persisted_before_the_next_and_the_signature_before_sending(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = venue.manager(funded, store)
    seen: list[SubmissionState] = []
    real_update = store.update

    async def recording_update(sub: Any) -> Any:
        seen.append(sub.state)
        return await real_update(sub)

    real_submit = m.client.submit_open

    async def checked_submit(built: Any, signed: Any) -> Any:
        persisted = await store.get(KEY)
        assert persisted is not None and persisted.state is SubmissionState.SIGNED
        assert [t.signed_tx for t in persisted.current_txs] == list(signed)
        assert all(t.last_valid_block_height > 0 for t in persisted.current_txs)
        return await real_submit(built, signed)

    monkeypatch.setattr(store, "update", recording_update)
    monkeypatch.setattr(m.client, "submit_open", checked_submit)
    opened = await open_long(m)

    assert seen[:3] == [
        SubmissionState.SIGNED,
        SubmissionState.SUBMITTED,
        SubmissionState.CONFIRMED,
    ]
    await assert_opened_once(venue, funded, m, opened)


async def test_a_5xx_before_asgard_acts_is_resolved_by_rebroadcasting_the_same_bytes(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore
) -> None:
    venue.fault("http_error", "asgard:submit-create-position-tx", status=503, count=1)
    m = venue.manager(funded, store)
    opened = await open_long(m)
    sub = await m.submission(KEY)
    assert sub is not None and sub.attempt == 1
    await assert_opened_once(venue, funded, m, opened)


async def test_a_drop_rescued_by_rebroadcast_lands_once(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore
) -> None:
    venue.fault("drop_tx", "asgard:submit-create-position-tx", count=1)
    m = venue.manager(funded, store)
    opened = await open_long(m)
    sub = await m.submission(KEY)
    assert sub is not None and sub.attempt == 1
    await assert_opened_once(venue, funded, m, opened)


async def test_a_dropped_transaction_is_not_resigned_before_its_blockhash_expired(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    venue.fault("drop_tx", "asgard:submit-create-position-tx", count=1)
    venue.fault("drop_tx", "rpc:sendTransaction")  # every rebroadcast is dropped too
    m = venue.manager(funded, store)
    heights_at_build: list[int] = []
    real_build = m.client.build_open

    async def watched_build(req: Any) -> Any:
        heights_at_build.append(await m.rpc.block_height("finalized"))
        return await real_build(req)

    monkeypatch.setattr(m.client, "build_open", watched_build)
    opened = await open_long(m)

    sub = await m.submission(KEY)
    assert sub is not None and sub.attempt == 2
    first = [t for t in sub.txs if t.attempt == 1]
    assert [t.state for t in first] == [TxState.EXPIRED]
    assert heights_at_build[1] > first[0].last_valid_block_height
    assert await m.rpc.signature_statuses([first[0].signature]) == [None]
    await assert_opened_once(venue, funded, m, opened)


async def test_a_transaction_landed_with_an_error_is_reported_then_rebuilt_on_retry(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore
) -> None:
    venue.fault("tx_error", "asgard:submit-create-position-tx", count=1)
    m = venue.manager(funded, store)
    with pytest.raises(TransactionFailedOnChain) as exc:
        await open_long(m)
    assert exc.value.retryable
    sub = await m.submission(KEY)
    assert sub is not None and sub.state is SubmissionState.FAILED_ONCHAIN
    assert await venue.opened_positions(funded) == []

    opened = await open_long(m)  # the activity's retry

    sub = await m.submission(KEY)
    assert sub is not None and sub.attempt == 2
    await assert_opened_once(venue, funded, m, opened)


async def test_a_slow_confirmation_is_waited_for_and_lands_once(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore
) -> None:
    venue.fault("slow_confirm", "asgard:submit-create-position-tx", delay_s=20, count=1)
    venue.fault("slow_confirm", "rpc:sendTransaction", delay_s=20)
    m = venue.manager(funded, store)
    opened = await open_long(m)
    sub = await m.submission(KEY)
    assert sub is not None and sub.attempt == 1
    await assert_opened_once(venue, funded, m, opened)


async def test_an_expired_blockhash_is_rebuilt_only_after_our_own_expiry_bound(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore
) -> None:
    venue.fault("expire_blockhash", "asgard:create-position", count=1)
    m = venue.manager(funded, store)
    opened = await open_long(m)
    sub = await m.submission(KEY)
    assert sub is not None and sub.attempt == 2
    first = next(t for t in sub.txs if t.attempt == 1)
    built = sub.txs[-1]
    assert first.state is TxState.EXPIRED
    # Asgard said the blockhash was already dead; we still waited for our own bound.
    assert built.last_valid_block_height - first.last_valid_block_height >= 150
    await assert_opened_once(venue, funded, m, opened)


@pytest.mark.parametrize(
    ("kind", "delay"), [("submit_timeout_after_landing", 1.0), ("lost_response", 0.0)]
)
async def test_a_submit_whose_answer_is_lost_after_landing_is_found_by_signature(
    funded: Keypair, venue: Venue, store: SqlSubmissionStore, kind: str, delay: float
) -> None:
    venue.fault(kind, "asgard:submit-create-position-tx", delay_s=delay, count=1)
    m = venue.manager(funded, store, timeout=0.5)
    opened = await open_long(m)
    sub = await m.submission(KEY)
    assert sub is not None and sub.attempt == 1 and sub.error is not None
    await assert_opened_once(venue, funded, m, opened)


async def test_a_crash_after_signing_resumes_with_the_very_same_signature(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = venue.manager(funded, store)

    async def crash(*_: Any) -> Any:
        raise Crash

    monkeypatch.setattr(first.client, "submit_open", crash)
    with pytest.raises(Crash):
        await open_long(first)
    persisted = await store.get(KEY)
    assert persisted is not None and persisted.state is SubmissionState.SIGNED

    restarted = venue.manager(funded, store)  # a new process over the same database
    opened = await open_long(restarted)

    sub = await restarted.submission(KEY)
    assert sub is not None and sub.attempt == 1
    assert sub.signatures == persisted.signatures
    await assert_opened_once(venue, funded, restarted, opened)


async def test_a_crash_after_landing_resumes_without_building_or_sending_again(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = venue.manager(funded, store)
    real_submit = first.client.submit_open

    async def land_then_crash(built: Any, signed: Any) -> Any:
        await real_submit(built, signed)
        raise Crash

    monkeypatch.setattr(first.client, "submit_open", land_then_crash)
    with pytest.raises(Crash):
        await open_long(first)

    restarted = venue.manager(funded, store)
    builds = 0
    real_build = restarted.client.build_open

    async def counted_build(req: Any) -> Any:
        nonlocal builds
        builds += 1
        return await real_build(req)

    monkeypatch.setattr(restarted.client, "build_open", counted_build)
    opened = await open_long(restarted)
    assert builds == 0
    await assert_opened_once(venue, funded, restarted, opened)


async def test_two_transactions_of_which_one_landed_are_reconciled_before_the_rebuild(
    funded: Keypair, store: SqlSubmissionStore
) -> None:
    async with running_venue(config=EmulatorConfig(api_key="test-key", txs_per_open=2)) as venue:
        await venue.fund(funded, sol="1", usdc="5000")
        venue.fault("drop_tx", "asgard:submit-create-position-tx", count=1, params={"only": [1]})
        venue.fault("drop_tx", "rpc:sendTransaction")
        m = venue.manager(funded, store)
        opened = await open_long(m)

        sub = await m.submission(KEY)
        assert sub is not None and sub.attempt == 2
        first = [t for t in sub.txs if t.attempt == 1]
        assert [t.state for t in first] == [TxState.LANDED, TxState.EXPIRED]
        # The account made by the landed half was reused: one account, one position.
        accounts = (await venue.wallet(funded))["positions"]
        assert len(accounts) == 1
        await assert_opened_once(venue, funded, m, opened)


async def test_two_workers_on_one_key_open_one_position(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore
) -> None:
    a, b = venue.manager(funded, store), venue.manager(funded, store)
    first, second = await asyncio.gather(open_long(a), open_long(b))
    assert first.position_pda == second.position_pda
    await assert_opened_once(venue, funded, a, first)


async def test_a_key_reused_with_other_parameters_is_refused(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore
) -> None:
    m = venue.manager(funded, store)
    await open_long(m)
    with pytest.raises(SubmissionConflict) as exc:
        await m.open_position(KEY, asset=Asset.JITOSOL, leverage=Decimal(2), collateral=CAPITAL)
    assert not exc.value.retryable


async def test_a_logical_refusal_stops_before_anything_is_signed(
    venue: Venue, wallet: Keypair, store: SqlSubmissionStore
) -> None:
    await venue.fund(wallet, sol="1", usdc="10")
    m = venue.manager(wallet, store)
    with pytest.raises(AsgardLogicalError, match="InsufficientFunds") as exc:
        await open_long(m)
    assert not exc.value.retryable
    assert await m.submission(KEY) is None


async def test_a_rate_limited_build_is_retryable_and_leaves_nothing_behind(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore
) -> None:
    venue.fault("http_error", "asgard:create-position", status=429, count=1)
    m = venue.manager(funded, store)
    with pytest.raises(AsgardRateLimited) as exc:
        await open_long(m)
    assert exc.value.retryable
    assert await m.submission(KEY) is None
    opened = await open_long(m)
    await assert_opened_once(venue, funded, m, opened)


async def test_a_submission_still_in_flight_raises_pending_and_the_next_call_resumes_it(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore
) -> None:
    venue.fault("slow_confirm", "asgard:submit-create-position-tx", delay_s=30, count=1)
    venue.fault("drop_tx", "rpc:sendTransaction")
    impatient = venue.manager(funded, store, policy=SubmitPolicy(max_wait_s=5))
    with pytest.raises(SubmissionPending) as exc:
        await open_long(impatient)
    assert exc.value.retryable

    opened = await open_long(venue.manager(funded, store))

    sub = await store.get(KEY)
    assert sub is not None and sub.attempt == 1
    await assert_opened_once(venue, funded, impatient, opened)


async def test_an_rpc_outage_while_waiting_is_waited_out(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore
) -> None:
    venue.fault("http_error", "asgard:submit-create-position-tx", status=502, count=1)
    venue.fault("http_error", "rpc:getSignatureStatuses", status=503, count=3)
    m = venue.manager(funded, store)
    opened = await open_long(m)
    await assert_opened_once(venue, funded, m, opened)


async def test_a_transaction_outside_the_allow_list_is_never_signed_or_sent(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore
) -> None:
    strict = AsgardPositionManager(
        venue.manager(funded, store).client,
        venue.manager(funded, store).rpc,
        TransactionSigner(KeypairSigner(funded), TransactionPolicy()),  # no Asgard program
        store,
        clock=venue.clock.now,
        sleep=venue.sim_sleep,
    )
    with pytest.raises(TransactionRefused) as exc:
        await open_long(strict)
    assert not exc.value.retryable
    sub = await store.get(KEY)
    assert sub is not None and sub.state is SubmissionState.BUILT and sub.txs == ()
    assert await venue.opened_positions(funded) == []

    opened = await open_long(venue.manager(funded, store))  # fixed configuration
    sub = await store.get(KEY)
    assert sub is not None and sub.attempt == 1
    await assert_opened_once(venue, funded, strict, opened)


class _DiesWhileSigning:
    def __init__(self, wallet: Keypair) -> None:
        self._wallet = wallet

    @property
    def pubkey(self) -> Pubkey:
        return self._wallet.pubkey()

    async def sign_message(self, message: bytes) -> Any:
        raise Crash


async def test_a_builder_that_died_before_signing_is_rebuilt_once_its_lease_ran_out(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = venue.manager(funded, store)
    dying = AsgardPositionManager(
        template.client,
        template.rpc,
        TransactionSigner(_DiesWhileSigning(funded), template.signer.policy),
        store,
        clock=venue.clock.now,
        sleep=venue.sim_sleep,
    )
    with pytest.raises(Crash):
        await open_long(dying)
    built = await store.get(KEY)
    assert built is not None and built.state is SubmissionState.BUILT

    restarted = venue.manager(funded, store)
    started = venue.clock.now()
    opened = await open_long(restarted)

    assert (venue.clock.now() - started).total_seconds() >= SubmitPolicy().build_lease_s
    sub = await store.get(KEY)
    assert sub is not None and sub.attempt == 1
    await assert_opened_once(venue, funded, restarted, opened)


async def test_an_equal_request_spelled_differently_resumes_the_same_submission(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore
) -> None:
    m = venue.manager(funded, store)
    first = await m.open_position(
        KEY, asset=Asset.JITOSOL, leverage=Decimal("3"), collateral=Decimal("1000")
    )
    again = await m.open_position(
        KEY, asset=Asset.JITOSOL, leverage=Decimal("3.00"), collateral=Decimal("1000.0")
    )
    assert again == first
    await assert_opened_once(venue, funded, m, first)


async def test_a_crash_after_confirmation_finishes_on_resume_without_a_new_build(
    venue: Venue, funded: Keypair, store: SqlSubmissionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = venue.manager(funded, store)

    async def crash(*_: Any, **__: Any) -> Any:
        raise Crash

    monkeypatch.setattr(first.client, "refresh_positions", crash)
    with pytest.raises(Crash):
        await open_long(first)
    sub = await store.get(KEY)
    assert sub is not None and sub.state is SubmissionState.CONFIRMED and sub.result is None

    restarted = venue.manager(funded, store)
    monkeypatch.setattr(restarted.client, "build_open", crash)  # must not be called
    opened = await open_long(restarted)
    # Interest accrues by the (real-time) simulated clock between the open and the refresh.
    assert opened.debt.quantize(Decimal("0.01")) == Decimal("2000.00")
    await assert_opened_once(venue, funded, restarted, opened)
