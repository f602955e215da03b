"""Reading what venues and public datasets write: JSON arrays or JSON Lines, numbers as JSON
floats or strings, times as epoch milliseconds or ISO 8601 in several spellings.

Numbers become ``Decimal`` through their shortest text form (``Decimal(repr(float))``), so a
JSON ``4.4700999999999995`` stays exactly that and ``"0.0000125"`` stays exact; percentages are
divided by 100 exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any

HUNDRED = Decimal(100)


class HistoryError(ValueError):
    """A file that cannot be read as the history it claims to be; the message names the
    file and the record."""


def number(raw: Any, where: str) -> Decimal:
    if isinstance(raw, bool) or raw is None:
        raise HistoryError(f"{where}: {raw!r} is not a number")
    try:
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise HistoryError(f"{where}: {raw!r} is not a number") from None
    if not value.is_finite():
        raise HistoryError(f"{where}: {raw!r} is not finite")
    return value


def percent(raw: Any, where: str) -> Decimal:
    """A rate quoted in percent (4.5 = 4.5%) as a decimal fraction (0.045)."""
    return number(raw, where) / HUNDRED


def ms_time(raw: Any, where: str) -> datetime:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise HistoryError(f"{where}: {raw!r} is not a time in milliseconds")
    try:
        ms = int(raw)
    except ValueError:
        raise HistoryError(f"{where}: {raw!r} is not a time in milliseconds") from None
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso_time(raw: Any, where: str) -> datetime:
    """ISO 8601 with ``Z``, an offset or (for data documented as UTC) none at all."""
    if isinstance(raw, datetime):
        t = raw
    else:
        text = str(raw).strip().replace(" ", "T", 1)
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            t = datetime.fromisoformat(text)
        except ValueError:
            raise HistoryError(f"{where}: {raw!r} is not an ISO 8601 time") from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def records(path: Path) -> Iterator[Mapping[str, Any]]:
    """The objects of a JSON array file or a JSON Lines file (``.jsonl``). A JSON Lines file
    whose last line was cut short by an interrupted write ends before that line."""
    if path.suffix.lower() == ".jsonl":
        with path.open() as fh:
            lines = fh.read().split("\n")
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                if n >= len(lines) - 1:
                    return  # a torn final line: the write that made it did not finish
                raise HistoryError(f"{path}:{n}: not JSON") from None
            yield _object(rec, f"{path}:{n}")
        return
    try:
        body = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{path}: not JSON ({exc})") from None
    if not isinstance(body, list):
        raise HistoryError(f"{path}: expected a JSON array of records")
    for n, rec in enumerate(body):
        yield _object(rec, f"{path}[{n}]")


def _object(rec: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(rec, dict):
        raise HistoryError(f"{where}: expected an object, got {type(rec).__name__}")
    return rec


def field(rec: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in rec or rec[key] is None:
        raise HistoryError(f"{where}: field {key!r} is missing")
    return rec[key]


def ordering_note(times: list[datetime], what: str) -> list[str]:
    """Say how a file was ordered when it was not oldest first."""
    if len(times) < 2:
        return []
    if all(b < a for a, b in pairwise(times)):
        return [f"{what}: newest first in the file; reordered oldest first"]
    if not all(b > a for a, b in pairwise(times)):
        return [f"{what}: not in time order in the file; sorted"]
    return []
