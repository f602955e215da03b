"""Workflow and activity inputs and results. Small, typed, and free of secrets: everything
here is written into Temporal history. Add fields with defaults so running workflows keep
replaying."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.domain import GLOBAL_SCOPE

_USER_SCOPE = re.compile(r"^user:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


def check_scope(scope: str) -> str:
    if scope != GLOBAL_SCOPE and not _USER_SCOPE.match(scope):
        raise ValueError(f"scope must be '{GLOBAL_SCOPE}' or 'user:<uuid>', got {scope!r}")
    return scope


class ControlChange(Message):
    """Pause or resume new entries for everyone (``global``) or one user (``user:<id>``)."""

    scope: str
    paused: bool
    emergency_stop: bool = False
    reason: str | None = Field(default=None, max_length=500)
    actor: str = Field(min_length=1, max_length=128)
    change_id: str | None = None
    """Assigned by the control workflow; makes the database write idempotent under retries."""
    correlation_id: str | None = None

    _scope = field_validator("scope")(check_scope)


class ControlStateView(Message):
    scope: str
    paused: bool
    emergency_stop: bool
    reason: str | None
    updated_by: str
    updated_at: datetime


class ControlWorkflowInput(Message):
    """Carried across continue-as-new so the workflow does not start from nothing."""

    states: dict[str, ControlStateView] = Field(default_factory=dict)
