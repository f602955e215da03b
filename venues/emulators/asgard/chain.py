"""The emulated Solana chain: slots and blockhashes derived from the SimClock, transaction
verification, landing, and a tiny runtime for the instructions our transactions carry.

No background tasks: ``catch_up(now)`` brings everything to ``now`` on each request - it
lands due transactions at their slot (with the market as of that slot), accrues interest and
liquidates positions whose health reached zero at the period's lowest price.

Simplifications (see docs/venues/asgard.md): no forks, so a landed transaction counts as
``confirmed`` at once and ``finalized`` ``finality_depth`` slots later; block height equals
the slot (no skipped slots).
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from solders.hash import Hash
from solders.instruction import CompiledInstruction
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from venues.emulators.asgard import program
from venues.emulators.asgard.config import EmulatorConfig
from venues.emulators.asgard.state import EmulatorState, LandedTx, PendingTx
from venues.market.source import MarketSource
from venues.solana.validator import (
    ASSOCIATED_TOKEN_PROGRAM,
    COMPUTE_BUDGET_PROGRAM,
    SYSTEM_PROGRAM,
)

Commitment = Literal["processed", "confirmed", "finalized"]
ASGARD_IX_EXECUTE = 1


class TxRejected(Exception):
    """The node refuses a transaction before it can land (preflight / sanitisation)."""

    def __init__(self, kind: str, message: str, err: Any = None) -> None:
        super().__init__(message)
        self.kind = kind  # "signature" | "preflight" | "malformed"
        self.message = message
        self.err = err


class InstructionFailed(Exception):
    def __init__(self, err: Any) -> None:
        super().__init__(str(err))
        self.err = err


@dataclass
class Chain:
    state: EmulatorState
    market: MarketSource
    cfg: EmulatorConfig

    # ---- time, slots, blockhashes --------------------------------------------------------

    def slot_at(self, t: datetime) -> int:
        elapsed = Decimal((t - self.state.genesis).total_seconds())
        return self.state.slot0 + max(0, math.floor(elapsed / self.cfg.slot_seconds))

    def time_of(self, slot: int) -> datetime:
        secs = (slot - self.state.slot0) * self.cfg.slot_seconds
        return self.state.genesis + timedelta(seconds=float(secs))

    @property
    def slot(self) -> int:
        return self.slot_at(self.state.last)

    def slot_for(self, commitment: Commitment) -> int:
        lag = {"processed": 0, "confirmed": 1, "finalized": self.cfg.finality_depth}[commitment]
        return self.slot - lag

    def blockhash(self, slot: int) -> str:
        digest = hashlib.sha256(f"asgard-emulator:{self.state.seed}:{slot}".encode()).digest()
        return str(Hash(digest))

    def latest_blockhash(self, commitment: Commitment = "finalized") -> tuple[str, int]:
        s = self.slot_for(commitment)
        return self.blockhash(s), s + self.cfg.blockhash_validity

    def blockhash_slot(self, blockhash: str, window: int = 400) -> int | None:
        """The slot that produced ``blockhash`` if it is recent enough to look up."""
        now = self.slot
        for s in range(now, now - window - 1, -1):
            if self.blockhash(s) == blockhash:
                return s
        return None

    # ---- catching up ---------------------------------------------------------------------

    def catch_up(self, now: datetime) -> bool:
        """Bring the state to ``now``; True if anything beyond interest changed."""
        changed = False
        now = max(now, self.state.last)
        due = sorted(
            (p for p in self.state.pending if self.time_of(p.land_slot) <= now),
            key=lambda p: p.land_slot,
        )
        for p in due:
            self._advance(self.time_of(p.land_slot))
            self.state.pending.remove(p)
            changed = True
            tx = VersionedTransaction.from_bytes(base64.b64decode(p.tx))
            if p.signature in self.state.landed:
                continue
            _, lvbh = self._validity(tx)
            if lvbh is None or p.land_slot > lvbh:
                continue  # expired before it could land: dropped for good
            self.land(tx, p.land_slot, fail=p.fail)
        changed |= self._advance(now)
        # Actions whose transactions can no longer land are forgotten (bounded state).
        height = self.slot
        stale = [a for a, rec in self.state.actions.items() if rec.last_valid_height < height]
        for a in stale:
            del self.state.actions[a]
        return changed or bool(stale)

    def _advance(self, t: datetime) -> bool:
        t0 = self.state.last
        if t <= t0:
            return False
        ms0 = self.market.state_at(t0)
        program.accrue(self.state, t0, t, ms0)
        liquidated: list[str] = []
        if program.active(self.state):
            low, _ = self.market.price_range(t0, t)
            liquidated = program.liquidate(self.state, self.market.state_at(t), low, t, self.cfg)
        self.state.last = t
        return bool(liquidated)

    # ---- transactions --------------------------------------------------------------------

    def _validity(self, tx: VersionedTransaction) -> tuple[int | None, int | None]:
        bh_slot = self.blockhash_slot(str(tx.message.recent_blockhash))
        if bh_slot is None:
            return None, None
        return bh_slot, bh_slot + self.cfg.blockhash_validity

    def check(self, tx: VersionedTransaction, *, blockhash: bool = True) -> str:
        """Sanitise and verify signatures (and the blockhash); return the signature."""
        try:
            tx.sanitize()
        except Exception as exc:  # solders raises its own SanitizeError
            raise TxRejected("malformed", f"invalid transaction: {exc}") from exc
        if not all(tx.verify_with_results()):
            raise TxRejected("signature", "Transaction signature verification failure")
        sig = str(tx.signatures[0])
        if sig in self.state.landed:
            raise TxRejected(
                "preflight",
                "Transaction simulation failed: This transaction has already been processed",
                "AlreadyProcessed",
            )
        if blockhash:
            _, lvbh = self._validity(tx)
            if lvbh is None or self.slot > lvbh:
                raise TxRejected(
                    "preflight",
                    "Transaction simulation failed: Blockhash not found",
                    "BlockhashNotFound",
                )
        return sig

    def simulate(self, tx: VersionedTransaction) -> Any:
        """Run ``tx`` on a copy of the state; the transaction error or None."""
        original = self.state
        self.state = original.model_copy(deep=True)
        try:
            return self.land(tx, self.slot, record=False)
        finally:
            self.state = original

    def queue(self, tx: VersionedTransaction, land_slot: int, *, fail: bool = False) -> None:
        sig = str(tx.signatures[0])
        if any(p.signature == sig for p in self.state.pending):
            return
        raw = base64.b64encode(bytes(tx)).decode()
        self.state.pending.append(PendingTx(signature=sig, tx=raw, land_slot=land_slot, fail=fail))

    def land(
        self, tx: VersionedTransaction, slot: int, *, fail: bool = False, record: bool = True
    ) -> Any:
        """Execute ``tx`` in ``slot``: charge the fee, run the instructions atomically, and
        record the status. Returns the transaction error (None on success)."""
        msg = tx.message
        keys = list(msg.account_keys)
        payer = self.state.wallet(str(keys[0]))
        fee = self.cfg.lamports_per_signature * msg.header.num_required_signatures
        fee += _priority_fee(msg.instructions, keys)
        if payer.lamports < fee:
            raise TxRejected(
                "preflight",
                "Transaction simulation failed: Attempt to debit an account but found no "
                "record of a prior credit.",
                "AccountNotFound",
            )
        sig = str(tx.signatures[0])
        # Only these parts change under instructions: copy them, not the whole history.
        snapshot = (
            {k: v.model_copy(deep=True) for k, v in self.state.wallets.items()},
            {k: v.model_copy(deep=True) for k, v in self.state.positions.items()},
            dict(self.state.actions),
        )
        err: Any = None
        try:
            if fail:
                raise InstructionFailed(
                    {"InstructionError": [0, {"Custom": program.ERROR_CODES["InjectedFailure"]}]}
                )
            for i, ix in enumerate(msg.instructions):
                self._run(i, keys[ix.program_id_index], [keys[a] for a in ix.accounts], ix, tx)
        except InstructionFailed as exc:
            err = exc.err
            self.state.wallets, self.state.positions, self.state.actions = snapshot
            payer = self.state.wallet(str(keys[0]))
        payer.lamports -= fee
        if record:
            self.state.landed[sig] = LandedTx(slot=slot, err=err)
        return err

    def _run(
        self,
        i: int,
        prog: Pubkey,
        accounts: list[Pubkey],
        ix: CompiledInstruction,
        tx: VersionedTransaction,
    ) -> None:
        data = bytes(ix.data)
        if prog in (COMPUTE_BUDGET_PROGRAM, ASSOCIATED_TOKEN_PROGRAM):
            return  # fees are charged up front; token accounts are implicit here
        if prog == SYSTEM_PROGRAM:
            tag = struct.unpack_from("<I", data, 0)[0] if len(data) >= 4 else -1
            if tag != 2 or len(accounts) < 2:
                raise InstructionFailed({"InstructionError": [i, "InvalidInstructionData"]})
            lamports = struct.unpack_from("<Q", data, 4)[0]
            src = self.state.wallet(str(accounts[0]))
            if src.lamports < lamports:
                raise InstructionFailed({"InstructionError": [i, {"Custom": 1}]})
            src.lamports -= lamports
            self.state.wallet(str(accounts[1])).lamports += lamports
            return
        if prog == self.cfg.program_id:
            self._run_asgard(i, accounts, data, tx)
            return
        raise InstructionFailed("ProgramAccountNotFound")

    def _run_asgard(
        self, i: int, accounts: list[Pubkey], data: bytes, tx: VersionedTransaction
    ) -> None:
        if len(data) != 17 or data[0] != ASGARD_IX_EXECUTE:
            raise InstructionFailed({"InstructionError": [i, "InvalidInstructionData"]})
        action = self.state.actions.get(data[1:].hex())
        code = program.ERROR_CODES
        if action is None:
            raise InstructionFailed({"InstructionError": [i, {"Custom": code["UnknownAction"]}]})
        signers = list(tx.message.account_keys)[: tx.message.header.num_required_signatures]
        if not accounts or str(accounts[0]) != action.wallet or accounts[0] not in signers:
            raise InstructionFailed({"InstructionError": [i, {"Custom": code["WalletMismatch"]}]})
        now = self.time_of(self.slot)
        try:
            program.execute(
                self.state,
                action,
                self.market.state_at(now),
                self.cfg,
                now,
                str(tx.signatures[0]),
            )
        except program.ProgramError as exc:
            raise InstructionFailed({"InstructionError": [i, {"Custom": exc.code}]}) from exc
        del self.state.actions[action.id]

    # ---- statuses ------------------------------------------------------------------------

    def status(self, signature: str) -> dict[str, Any] | None:
        rec = self.state.landed.get(signature)
        if rec is None:
            return None
        depth = self.slot - rec.slot
        finalized = depth >= self.cfg.finality_depth
        return {
            "slot": rec.slot,
            "confirmations": None if finalized else depth,
            "err": rec.err,
            "status": {"Ok": None} if rec.err is None else {"Err": rec.err},
            "confirmationStatus": "finalized" if finalized else "confirmed",
        }

    def height(self, commitment: Commitment = "finalized") -> int:
        return self.slot_for(commitment)


def _priority_fee(instructions: list[CompiledInstruction], keys: list[Pubkey]) -> int:
    limit, price = 200_000, 0
    for ix in instructions:
        if keys[ix.program_id_index] != COMPUTE_BUDGET_PROGRAM:
            continue
        data = bytes(ix.data)
        if data[:1] == b"\x02" and len(data) >= 5:
            limit = struct.unpack_from("<I", data, 1)[0]
        elif data[:1] == b"\x03" and len(data) >= 9:
            price = struct.unpack_from("<Q", data, 1)[0]
    return int(limit * price // 1_000_000)
