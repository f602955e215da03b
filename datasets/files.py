"""The canonical dataset on disk: the data-file format ``basis backtest --data`` reads
(``basis.backtest.load_rows``), as Parquet (exact decimals, the default) or CSV, with the
build report beside it (``<name>.report.json``) and, in Parquet, inside it as well."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from datasets.build import Dataset, Record

FORMAT = "basis-hourly/1"
META_KEY = b"basis.dataset"
_SCALE = 18
_Q = Decimal(1).scaleb(-_SCALE)


def report_path(path: Path) -> Path:
    return path.with_name(path.name + ".report.json")


def _columns(records: Sequence[Record]) -> list[str]:
    names: dict[str, None] = {}
    for rec in records:
        for k in rec:
            names.setdefault(k, None)
    return list(names)


def write_dataset(dataset: Dataset, path: Path, *, sources: dict[str, Any] | None = None) -> None:
    """Write atomically (a temporary file renamed into place) with the report beside it."""
    if not dataset.records:
        raise ValueError("no rows to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "sources": sources or {}, **dataset.report.as_json()}
    tmp = path.with_name(path.name + ".tmp")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        _write_parquet(dataset.records, tmp, meta)
    elif suffix == ".csv":
        _write_csv(dataset.records, tmp)
    else:
        raise ValueError(f"{path}: expected a .parquet or .csv file name")
    os.replace(tmp, path)
    report_path(path).write_text(json.dumps(meta, indent=2))


def _write_parquet(records: Sequence[Record], path: Path, meta: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = []
    fields = []
    for name in _columns(records):
        values = [rec.get(name) for rec in records]
        if name == "time":
            arrays.append(pa.array(values, type=pa.timestamp("us", tz="UTC")))
            fields.append(pa.field(name, pa.timestamp("us", tz="UTC")))
        elif name == "outages":
            arrays.append(pa.array(values, type=pa.string()))
            fields.append(pa.field(name, pa.string()))
        else:
            typ = pa.decimal128(38, _SCALE)
            exact = [None if v is None else _exact(v, name) for v in values]
            arrays.append(pa.array(exact, type=typ))
            fields.append(pa.field(name, typ))
    schema = pa.schema(fields, metadata={META_KEY: json.dumps(meta).encode()})
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), path, compression="zstd")


def _exact(v: object, name: str) -> Decimal:
    if not isinstance(v, Decimal):
        raise TypeError(f"column {name}: {v!r} is not a Decimal")
    return v.quantize(_Q, rounding=ROUND_HALF_EVEN)


def _write_csv(records: Sequence[Record], path: Path) -> None:
    names = _columns(records)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        for rec in records:
            row = []
            for n in names:
                v = rec.get(n)
                row.append("" if v is None else v.isoformat() if n == "time" else str(v))  # type: ignore[union-attr]
            w.writerow(row)


def read_meta(path: Path) -> dict[str, Any] | None:
    """The build report of a dataset: embedded in its Parquet, else the file beside it."""
    if path.suffix.lower() in (".parquet", ".pq") and path.exists():
        import pyarrow.parquet as pq

        raw = pq.read_schema(path).metadata or {}
        if META_KEY in raw:
            meta: dict[str, Any] = json.loads(raw[META_KEY])
            return meta
    side = report_path(path)
    if side.exists():
        found: dict[str, Any] = json.loads(side.read_text())
        return found
    return None
