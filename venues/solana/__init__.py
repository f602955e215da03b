"""Solana: wallet signers behind a transaction validator, a typed RPC client, and the
persisted submission state machine that never lets one action land twice."""

from venues.solana.errors import (
    AttemptsExhausted,
    ConcurrentSubmission,
    RpcRejected,
    RpcUnavailable,
    SignerUnavailable,
    SolanaError,
    SubmissionConflict,
    SubmissionPending,
    TransactionFailedOnChain,
    TransactionRefused,
)
from venues.solana.rpc import SendOutcome, SignatureStatus, SolanaRpc, TokenBalance
from venues.solana.signer import (
    KeypairSigner,
    SignerProvider,
    StaticSignerProvider,
    TransactionSigner,
    WalletSigner,
)
from venues.solana.store import MemorySubmissionStore, SqlSubmissionStore, SubmissionStore
from venues.solana.submission import Submission, TxRecord, assess_attempt
from venues.solana.validator import STANDARD_PROGRAMS, TransactionPolicy, validate_transaction

__all__ = [
    "STANDARD_PROGRAMS",
    "AttemptsExhausted",
    "ConcurrentSubmission",
    "KeypairSigner",
    "MemorySubmissionStore",
    "RpcRejected",
    "RpcUnavailable",
    "SendOutcome",
    "SignatureStatus",
    "SignerProvider",
    "SignerUnavailable",
    "SolanaError",
    "SolanaRpc",
    "SqlSubmissionStore",
    "StaticSignerProvider",
    "Submission",
    "SubmissionConflict",
    "SubmissionPending",
    "SubmissionStore",
    "TokenBalance",
    "TransactionFailedOnChain",
    "TransactionPolicy",
    "TransactionRefused",
    "TransactionSigner",
    "TxRecord",
    "WalletSigner",
    "assess_attempt",
    "validate_transaction",
]
