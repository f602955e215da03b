"""``strategy`` stays importable inside a workflow: light imports, no clock, no I/O."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import strategy

FORBIDDEN_MODULES = {
    "asyncpg",
    "basis",
    "httpx",
    "numpy",
    "pyarrow",
    "requests",
    "sqlalchemy",
    "sqlmodel",
    "temporalio",
    "venues",
    "workflows",
    "activities",
}
FORBIDDEN_CALLS = re.compile(
    r"datetime\.now\(|utcnow\(|time\.time\(|time\.monotonic\(|\bimport random\b|"
    r"(?<!def )(?<![\w.])open\(|\bprint\(|os\.environ"
)


def test_importing_the_strategy_pulls_in_no_io_library() -> None:
    code = (
        "import json, sys, strategy, strategy.backtest;"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert not loaded & FORBIDDEN_MODULES


def test_no_strategy_module_reads_a_clock_or_does_io() -> None:
    root = Path(strategy.__file__).parent
    offenders = [
        f"{p.relative_to(root)}: {m.group(0)}"
        for p in sorted(root.rglob("*.py"))
        for m in FORBIDDEN_CALLS.finditer(p.read_text())
    ]
    assert offenders == []
