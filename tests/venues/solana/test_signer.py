"""The signer signs only its own slot, and only what the validator accepts."""

from __future__ import annotations

import struct

import pytest
from solders.hash import Hash
from solders.instruction import AccountMeta, CompiledInstruction, Instruction
from solders.keypair import Keypair
from solders.message import (
    MessageAddressTableLookup,
    MessageHeader,
    MessageV0,
    to_bytes_versioned,
)
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from venues.solana import KeypairSigner, TransactionPolicy, TransactionRefused, TransactionSigner
from venues.solana.validator import COMPUTE_BUDGET_PROGRAM, TOKEN_PROGRAM

ASGARD = Pubkey.from_string("AsgArd1111111111111111111111111111111111111")
BLOCKHASH = Hash.new_unique()


def _unsigned(payer: Pubkey, ixs: list[Instruction]) -> VersionedTransaction:
    msg = MessageV0.try_compile(payer, ixs, [], BLOCKHASH)
    return VersionedTransaction.populate(
        msg, [Signature.default()] * msg.header.num_required_signatures
    )


def _asgard_ix(*signers: Pubkey) -> Instruction:
    return Instruction(ASGARD, b"\x01", [AccountMeta(s, True, True) for s in signers])


def _signer(kp: Keypair, **policy: int) -> TransactionSigner:
    return TransactionSigner(KeypairSigner(kp), TransactionPolicy.with_programs(ASGARD, **policy))


async def test_signs_only_the_wallets_slot_and_keeps_the_co_signers_signature() -> None:
    wallet, cosigner = Keypair(), Keypair()
    tx = _unsigned(cosigner.pubkey(), [_asgard_ix(cosigner.pubkey(), wallet.pubkey())])
    # The API pre-signs its own slot (index 0: the fee payer) before handing it over.
    co_sig = cosigner.sign_message(to_bytes_versioned(tx.message))
    tx = VersionedTransaction.populate(tx.message, [co_sig, Signature.default()])

    signed = await _signer(wallet).sign(tx)

    assert signed.signatures[0] == co_sig
    assert signed.signatures[1] != Signature.default()
    assert all(signed.verify_with_results())


async def test_signing_the_same_message_twice_gives_the_same_transaction_id() -> None:
    wallet = Keypair()
    tx = _unsigned(wallet.pubkey(), [_asgard_ix(wallet.pubkey())])
    first, second = await _signer(wallet).sign(tx), await _signer(wallet).sign(tx)
    assert first.signatures[0] == second.signatures[0]


async def test_a_transaction_the_wallet_is_not_asked_to_sign_is_refused() -> None:
    wallet, other = Keypair(), Keypair()
    tx = _unsigned(other.pubkey(), [_asgard_ix(other.pubkey())])
    with pytest.raises(TransactionRefused, match="not an account") as exc:
        await _signer(wallet).sign(tx)
    assert exc.value.retryable is False


async def test_a_wallet_that_is_only_a_readonly_account_is_not_a_signer() -> None:
    wallet, payer = Keypair(), Keypair()
    ix = Instruction(
        ASGARD,
        b"",
        [AccountMeta(payer.pubkey(), True, True), AccountMeta(wallet.pubkey(), False, False)],
    )
    with pytest.raises(TransactionRefused, match="not a required signer"):
        await _signer(wallet).sign(_unsigned(payer.pubkey(), [ix]))


async def test_a_program_outside_the_allow_list_is_refused() -> None:
    wallet = Keypair()
    rogue = Pubkey.new_unique()
    ix = Instruction(rogue, b"\x00", [AccountMeta(wallet.pubkey(), True, True)])
    tx = _unsigned(wallet.pubkey(), [_asgard_ix(wallet.pubkey()), ix])
    with pytest.raises(TransactionRefused, match="not on the allow-list"):
        await _signer(wallet).sign(tx)


async def test_the_asgard_program_is_refused_unless_configured() -> None:
    wallet = Keypair()
    tx = _unsigned(wallet.pubkey(), [_asgard_ix(wallet.pubkey())])
    signer = TransactionSigner(KeypairSigner(wallet), TransactionPolicy())
    with pytest.raises(TransactionRefused, match="not on the allow-list"):
        await signer.sign(tx)


async def test_a_program_loaded_from_a_lookup_table_is_refused() -> None:
    wallet = Keypair()
    header = MessageHeader(1, 0, 0)
    # Program index 1 is past the one static key: it would come from the lookup table.
    ix = CompiledInstruction(1, b"", bytes([0]))
    lookup = MessageAddressTableLookup(Pubkey.new_unique(), b"", bytes([0]))
    msg = MessageV0(header, [wallet.pubkey()], BLOCKHASH, [ix], [lookup])
    tx = VersionedTransaction.populate(msg, [Signature.default()])
    with pytest.raises(TransactionRefused, match="lookup table"):
        await _signer(wallet).sign(tx)


async def test_sending_more_lamports_than_the_cap_is_refused() -> None:
    wallet = Keypair()
    drain = transfer(
        TransferParams(from_pubkey=wallet.pubkey(), to_pubkey=Pubkey.new_unique(), lamports=10**9)
    )
    tx = _unsigned(wallet.pubkey(), [_asgard_ix(wallet.pubkey()), drain])
    with pytest.raises(TransactionRefused, match="lamports out"):
        await _signer(wallet, max_lamports_out=50_000_000).sign(tx)


async def test_a_jito_tip_under_the_cap_is_signed() -> None:
    wallet = Keypair()
    tip = transfer(
        TransferParams(from_pubkey=wallet.pubkey(), to_pubkey=Pubkey.new_unique(), lamports=10_000)
    )
    signed = await _signer(wallet).sign(
        _unsigned(wallet.pubkey(), [_asgard_ix(wallet.pubkey()), tip])
    )
    assert all(signed.verify_with_results())


async def test_a_priority_fee_above_the_cap_is_refused() -> None:
    wallet = Keypair()
    limit = Instruction(COMPUTE_BUDGET_PROGRAM, b"\x02" + struct.pack("<I", 1_400_000), [])
    price = Instruction(COMPUTE_BUDGET_PROGRAM, b"\x03" + struct.pack("<Q", 10**9), [])
    tx = _unsigned(wallet.pubkey(), [limit, price, _asgard_ix(wallet.pubkey())])
    with pytest.raises(TransactionRefused, match="priority fee"):
        await _signer(wallet).sign(tx)


async def test_approving_a_delegate_over_the_wallets_tokens_is_refused() -> None:
    wallet = Keypair()
    approve = Instruction(
        TOKEN_PROGRAM,
        b"\x04" + struct.pack("<Q", 10**12),
        [
            AccountMeta(Pubkey.new_unique(), False, True),
            AccountMeta(Pubkey.new_unique(), False, False),
            AccountMeta(wallet.pubkey(), True, False),
        ],
    )
    with pytest.raises(TransactionRefused, match="delegate"):
        await _signer(wallet).sign(_unsigned(wallet.pubkey(), [approve]))


class _Impostor:
    """A remote signer that answers with some other key's signature."""

    def __init__(self, claimed: Keypair) -> None:
        self._claimed, self._actual = claimed, Keypair()

    @property
    def pubkey(self) -> Pubkey:
        return self._claimed.pubkey()

    async def sign_message(self, message: bytes) -> Signature:
        return self._actual.sign_message(message)


async def test_a_signature_made_by_another_key_is_refused() -> None:
    wallet = Keypair()
    signer = TransactionSigner(_Impostor(wallet), TransactionPolicy.with_programs(ASGARD))
    with pytest.raises(TransactionRefused, match="did not make"):
        await signer.sign(_unsigned(wallet.pubkey(), [_asgard_ix(wallet.pubkey())]))
