"""What a dataset build says about its data: every series read (span, points, what its
importer normalised), and for every column which source served how many hours, how many of
those were carried forward past their period, and which hours nothing could serve."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from datasets.series import ColumnReport, Series


def _when(t: datetime | None) -> str:
    return "-" if t is None else t.strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class SeriesReport:
    name: str
    source: str
    points: int
    first: datetime | None
    last: datetime | None
    notes: tuple[str, ...]

    @classmethod
    def of(cls, s: Series[Any]) -> SeriesReport:
        return cls(s.name, s.source, len(s.points), s.first, s.last, s.notes)


@dataclass
class DatasetReport:
    start: datetime
    end: datetime
    hours: int
    columns: list[ColumnReport]
    series: list[SeriesReport]
    assumptions: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "hours": self.hours,
            "assumptions": self.assumptions,
            "series": [
                {
                    "name": s.name,
                    "source": s.source,
                    "points": s.points,
                    "first_known": s.first.isoformat() if s.first else None,
                    "last_known": s.last.isoformat() if s.last else None,
                    "notes": list(s.notes),
                }
                for s in self.series
            ],
            "columns": [
                {
                    "column": c.column,
                    "served": c.served,
                    "carried_forward": c.carried,
                    "max_age_hours": c.max_age_hours,
                    "missing_hours": c.missing_hours,
                    "missing": [[a.isoformat(), b.isoformat()] for a, b in c.missing],
                }
                for c in self.columns
            ],
        }

    def dumps(self) -> str:
        return json.dumps(self.as_json(), indent=2)

    def text(self, *, max_ranges: int = 3) -> str:
        lines = [
            f"Dataset   {_when(self.start)} -> {_when(self.end)} UTC · {self.hours} hours",
            "",
            "Series read",
        ]
        for s in self.series:
            lines.append(f"  {s.name}: {s.points} points, {_when(s.first)} -> {_when(s.last)}")
            lines.extend(f"      {n}" for n in s.notes)
        lines += ["", "Columns (hours served by each source; carried = forward-filled)"]
        for c in self.columns:
            parts = []
            for name, n in c.served.items():
                extra = ""
                if c.carried.get(name):
                    extra = f" (carried {c.carried[name]}, oldest {c.max_age_hours[name]:g} h)"
                parts.append(f"{name} {n}{extra}")
            lines.append(f"  {c.column:<24}" + ("; ".join(parts) if parts else "no source"))
            if c.missing:
                shown = ", ".join(f"{_when(a)}..{_when(b)}" for a, b in c.missing[:max_ranges])
                more = (
                    f" and {len(c.missing) - max_ranges} more"
                    if len(c.missing) > max_ranges
                    else ""
                )
                lines.append(f"  {'':<24}missing {c.missing_hours} h: {shown}{more}")
        if self.assumptions:
            lines += ["", "Assumptions and stand-ins"]
            lines.extend(f"  - {a}" for a in self.assumptions)
        return "\n".join(lines)
