"""Custom Temporal search attributes: every user's work is findable in the Temporal web UI."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

USER_ID = SearchAttributeKey.for_keyword("BasisUserId")
POSITION_ID = SearchAttributeKey.for_keyword("BasisPositionId")
INTENT_ID = SearchAttributeKey.for_keyword("BasisIntentId")
ASSET = SearchAttributeKey.for_keyword("BasisAsset")
STATUS = SearchAttributeKey.for_keyword("BasisStatus")
HALT_REASON = SearchAttributeKey.for_text("BasisHaltReason")

ALL = (USER_ID, POSITION_ID, INTENT_ID, ASSET, STATUS, HALT_REASON)


def dev_server_flags() -> list[str]:
    """``--search-attribute`` arguments for ``temporal server start-dev``."""
    out: list[str] = []
    for key in ALL:
        out += ["--search-attribute", f"{key.name}={key.indexed_value_type.name.title()}"]
    return out
