"""The transaction validator: what our wallet agrees to sign.

Asgard builds the transactions and we only sign them, so a compromised or buggy API could
hand us anything. Before signing, every top-level instruction is checked against a policy:
its program must be on an allow-list, the System program may only move a capped amount of
lamports out of the wallet (tips, rent), the priority fee is capped, and the SPL Token
program may not hand a delegate or an authority over the wallet's tokens to anyone.

Pure: no I/O. Token transfers issued directly by the wallet are not restricted (the
destinations a legitimate build uses are not knowable here); Asgard moves funds through its
own program, which the allow-list names.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from venues.solana.errors import TransactionRefused

SYSTEM_PROGRAM = Pubkey.from_string("11111111111111111111111111111111")
COMPUTE_BUDGET_PROGRAM = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
ASSOCIATED_TOKEN_PROGRAM = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
STANDARD_PROGRAMS = frozenset(
    {SYSTEM_PROGRAM, COMPUTE_BUDGET_PROGRAM, TOKEN_PROGRAM, ASSOCIATED_TOKEN_PROGRAM}
)

# System program instruction tags (little-endian u32) that may move the wallet's lamports.
_SYS_CREATE_ACCOUNT = 0
_SYS_TRANSFER = 2
_SYS_CREATE_ACCOUNT_WITH_SEED = 3
# Token program tags that would give someone else power over the wallet's tokens.
_TOKEN_APPROVE = 4
_TOKEN_SET_AUTHORITY = 6
_TOKEN_CLOSE_ACCOUNT = 9
_TOKEN_APPROVE_CHECKED = 13
# Compute budget tags.
_CB_SET_LIMIT = 2
_CB_SET_PRICE = 3
_DEFAULT_CU_LIMIT = 200_000


@dataclass(frozen=True)
class TransactionPolicy:
    """What the signer accepts. Build it from configuration; the defaults are the standard
    programs plus whatever ``extra_programs`` names (the Asgard program id)."""

    allowed_programs: frozenset[Pubkey] = field(default=STANDARD_PROGRAMS)
    max_lamports_out: int = 50_000_000
    """System-program lamports the wallet may send per transaction (tips, rent): 0.05 SOL."""
    max_priority_fee_lamports: int = 10_000_000
    """Compute-unit price x limit, per transaction: 0.01 SOL."""

    @classmethod
    def with_programs(cls, *programs: Pubkey | str, **kw: int) -> TransactionPolicy:
        extra = {p if isinstance(p, Pubkey) else Pubkey.from_string(p) for p in programs}
        return cls(allowed_programs=STANDARD_PROGRAMS | extra, **kw)


def validate_transaction(
    tx: VersionedTransaction, wallet: Pubkey, policy: TransactionPolicy
) -> int:
    """Check ``tx`` against ``policy`` for ``wallet``; return the wallet's signer index.

    Raises ``TransactionRefused`` naming the first violation.
    """
    msg = tx.message
    if not isinstance(msg, MessageV0 | Message):
        raise TransactionRefused(f"unsupported message type {type(msg).__name__}")
    keys = list(msg.account_keys)
    n_signers = msg.header.num_required_signatures
    try:
        index = keys.index(wallet)
    except ValueError:
        raise TransactionRefused(f"wallet {wallet} is not an account of the transaction") from None
    if index >= n_signers:
        raise TransactionRefused(f"wallet {wallet} is not a required signer of the transaction")

    lamports_out = 0
    cu_limit = _DEFAULT_CU_LIMIT
    cu_price = 0
    for pos, ix in enumerate(msg.instructions):
        if ix.program_id_index >= len(keys):
            # v0 messages may load accounts from lookup tables, but a program id loaded that
            # way cannot be checked without the chain: refuse rather than guess.
            raise TransactionRefused(f"instruction {pos} calls a program from a lookup table")
        program = keys[ix.program_id_index]
        if program not in policy.allowed_programs:
            raise TransactionRefused(f"instruction {pos} calls {program}, not on the allow-list")
        accounts = [keys[i] if i < len(keys) else None for i in ix.accounts]
        data = bytes(ix.data)
        if program == SYSTEM_PROGRAM:
            lamports_out += _system_lamports_from(wallet, accounts, data, pos)
        elif program == TOKEN_PROGRAM:
            _check_token(wallet, accounts, data, pos)
        elif program == COMPUTE_BUDGET_PROGRAM and data:
            if data[0] == _CB_SET_LIMIT and len(data) >= 5:
                cu_limit = struct.unpack_from("<I", data, 1)[0]
            elif data[0] == _CB_SET_PRICE and len(data) >= 9:
                cu_price = struct.unpack_from("<Q", data, 1)[0]
    if lamports_out > policy.max_lamports_out:
        raise TransactionRefused(
            f"transaction moves {lamports_out} lamports out of the wallet "
            f"(limit {policy.max_lamports_out})"
        )
    priority = cu_limit * cu_price // 1_000_000
    if priority > policy.max_priority_fee_lamports:
        raise TransactionRefused(
            f"priority fee {priority} lamports exceeds {policy.max_priority_fee_lamports}"
        )
    return index


def _system_lamports_from(
    wallet: Pubkey, accounts: list[Pubkey | None], data: bytes, pos: int
) -> int:
    if len(data) < 4:
        raise TransactionRefused(f"instruction {pos}: malformed System instruction")
    tag = struct.unpack_from("<I", data, 0)[0]
    source = accounts[0] if accounts else None
    if tag in (_SYS_CREATE_ACCOUNT, _SYS_TRANSFER, _SYS_CREATE_ACCOUNT_WITH_SEED):
        if source != wallet:
            return 0
        if len(data) < 12:
            raise TransactionRefused(f"instruction {pos}: malformed System instruction")
        if tag == _SYS_CREATE_ACCOUNT_WITH_SEED:
            # base(32) + seed (u64 length-prefixed string) precede the lamports.
            seed_len = struct.unpack_from("<Q", data, 36)[0]
            offset = 44 + seed_len
            return int(struct.unpack_from("<Q", data, offset)[0])
        return int(struct.unpack_from("<Q", data, 4)[0])
    if wallet in accounts:
        # Assign, Allocate, nonce operations... on the wallet could hand it to a program.
        raise TransactionRefused(f"instruction {pos}: System instruction {tag} on the wallet")
    return 0


def _check_token(wallet: Pubkey, accounts: list[Pubkey | None], data: bytes, pos: int) -> None:
    if not data:
        raise TransactionRefused(f"instruction {pos}: malformed Token instruction")
    tag = data[0]
    if tag in (_TOKEN_APPROVE, _TOKEN_APPROVE_CHECKED, _TOKEN_SET_AUTHORITY) and (
        wallet in accounts
    ):
        raise TransactionRefused(
            f"instruction {pos}: Token instruction {tag} would delegate the wallet's tokens"
        )
    if tag == _TOKEN_CLOSE_ACCOUNT and len(accounts) >= 3 and accounts[2] == wallet:
        destination = accounts[1]
        if destination != wallet:
            raise TransactionRefused(
                f"instruction {pos}: closes a wallet token account to {destination}"
            )
