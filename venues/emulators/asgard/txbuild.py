"""Builds the emulator's transactions: real, unsigned solders ``VersionedTransaction``s whose
only required signer is the wallet, shaped like an Asgard transaction (compute budget, the
collateral token account, one Asgard-program instruction per action, a Jito tip)."""

from __future__ import annotations

import base64
import hashlib

from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.token.associated import get_associated_token_address
from solders.transaction import VersionedTransaction

from venues.emulators.asgard.chain import ASGARD_IX_EXECUTE
from venues.emulators.asgard.config import EmulatorConfig, derived_pubkey
from venues.emulators.asgard.state import ActionRec, EmulatorState
from venues.solana.validator import ASSOCIATED_TOKEN_PROGRAM, SYSTEM_PROGRAM, TOKEN_PROGRAM


def new_action_id(state: EmulatorState) -> str:
    """16 bytes (hex), deterministic in the emulator's seed and its counter."""
    n = state.next_counter()
    return hashlib.sha256(f"asgard-emulator:action:{state.seed}:{n}".encode()).hexdigest()[:32]


def new_position_pda(state: EmulatorState, wallet: Pubkey, program_id: Pubkey) -> Pubkey:
    n = state.next_counter()
    seeds = [b"position", bytes(wallet), n.to_bytes(8, "little")]
    return Pubkey.find_program_address(seeds, program_id)[0]


def bank_address(protocol: int, mint: str) -> str:
    return str(derived_pubkey(f"asgard-emulator:bank:{protocol}:{mint}"))


def build_transaction(
    cfg: EmulatorConfig,
    wallet: Pubkey,
    blockhash: str,
    actions: list[ActionRec],
    *,
    tip_lamports: int,
    token_mint: str | None,
) -> str:
    """The base64 wire bytes of an unsigned transaction executing ``actions`` in order."""
    ixs = [
        set_compute_unit_limit(cfg.compute_unit_limit),
        set_compute_unit_price(cfg.compute_unit_price),
    ]
    if token_mint is not None:
        mint = Pubkey.from_string(token_mint)
        ixs.append(
            Instruction(
                ASSOCIATED_TOKEN_PROGRAM,
                b"\x01",  # CreateIdempotent
                [
                    AccountMeta(wallet, True, True),
                    AccountMeta(get_associated_token_address(wallet, mint), False, True),
                    AccountMeta(wallet, False, False),
                    AccountMeta(mint, False, False),
                    AccountMeta(SYSTEM_PROGRAM, False, False),
                    AccountMeta(TOKEN_PROGRAM, False, False),
                ],
            )
        )
    for action in actions:
        ixs.append(
            Instruction(
                cfg.program_id,
                bytes([ASGARD_IX_EXECUTE]) + bytes.fromhex(action.id),
                [
                    AccountMeta(wallet, True, True),
                    AccountMeta(Pubkey.from_string(action.pda), False, True),
                    AccountMeta(TOKEN_PROGRAM, False, False),
                ],
            )
        )
    if tip_lamports > 0:
        ixs.append(
            transfer(
                TransferParams(from_pubkey=wallet, to_pubkey=cfg.tip_account, lamports=tip_lamports)
            )
        )
    msg = MessageV0.try_compile(wallet, ixs, [], Hash.from_string(blockhash))
    unsigned = [Signature.default()] * msg.header.num_required_signatures
    return base64.b64encode(bytes(VersionedTransaction.populate(msg, unsigned))).decode()
