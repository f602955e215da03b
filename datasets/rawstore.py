"""Where ``basis data fetch`` keeps what it has downloaded: one JSON Lines file per series, in
the venue's own record shape (so the importers read a fetch exactly as they read an export),
and ``state.json`` with each series' cursor (the end of the last window stored).

A window's records are appended and flushed to disk before its cursor moves, and the state
file is replaced atomically: an interrupted fetch resumes from the last complete window, and a
window stored twice (a crash between the two writes) only repeats records the importers drop
as duplicates.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any


class RawStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._state_path = root / "state.json"
        self._state: dict[str, Any] = (
            json.loads(self._state_path.read_text())
            if self._state_path.exists()
            else {"cursors": {}, "unavailable": {}}
        )

    def path(self, name: str) -> Path:
        return self.root / f"{name}.jsonl"

    def cursor(self, name: str) -> datetime | None:
        raw = self._state["cursors"].get(name)
        return None if raw is None else datetime.fromisoformat(raw)

    def unavailable(self, name: str) -> str | None:
        reason: str | None = self._state["unavailable"].get(name)
        return reason

    def append(self, name: str, records: Iterable[Mapping[str, Any]], cursor: datetime) -> int:
        """Store one window's records, then move the series' cursor to ``cursor``."""
        lines = [json.dumps(dict(r), separators=(",", ":")) + "\n" for r in records]
        if lines:
            path = self.path(name)
            self._repair(path)
            with path.open("a") as fh:
                fh.writelines(lines)
                fh.flush()
                os.fsync(fh.fileno())
        self._state["cursors"][name] = cursor.isoformat()
        self._save()
        return len(lines)

    def mark_unavailable(self, name: str, reason: str) -> None:
        self._state["unavailable"][name] = reason
        self._save()

    def _save(self) -> None:
        tmp = self._state_path.with_name("state.json.tmp")
        tmp.write_text(json.dumps(self._state, indent=2, sort_keys=True))
        os.replace(tmp, self._state_path)

    @staticmethod
    def _repair(path: Path) -> None:
        """Cut a torn last line (an append interrupted mid-write) before appending more."""
        if not path.exists() or path.stat().st_size == 0:
            return
        data = path.read_bytes()
        if data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1
        with path.open("r+b") as fh:
            fh.truncate(keep)
