"""The secrets a live-mode configuration must carry, for tests that build one: each purpose
its own secret, payload-encryption keys, and the API's half of a wallet KEK."""

from __future__ import annotations

from typing import Any

import pytest

from basis.codec import new_key_line
from wallets.envelope import new_kek

KEK_PRIVATE, KEK_PUBLIC = new_kek(2)
PAYLOAD_KEYS = new_key_line("k1")

LIVE_SECRETS: dict[str, Any] = {
    "session_secret": "session-" + "s" * 40,
    "csrf_secret": "csrf-" + "c" * 40,
    "hash_secret": "hash-" + "h" * 40,
    "wallet_kek_public": KEK_PUBLIC,
    "temporal": {"payload_keys": PAYLOAD_KEYS},
}


def live_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same secrets through the environment, as a deployment sets them."""
    for name in ("session_secret", "csrf_secret", "hash_secret", "wallet_kek_public"):
        monkeypatch.setenv(f"BASIS_{name.upper()}", LIVE_SECRETS[name])
    monkeypatch.setenv("BASIS_TEMPORAL__PAYLOAD_KEYS", PAYLOAD_KEYS)
