"""``basis emulator asgard`` serves the emulator on the port it is given."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from basis.ports import free_port


def test_basis_emulator_asgard_serves_the_api_the_rpc_and_admin(tmp_path: Path) -> None:
    port = free_port()
    basis = Path(sys.executable).parent / "basis"
    env = {**os.environ, "BASIS_STATE_DIR": str(tmp_path), "BASIS_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [str(basis), "emulator", "asgard", "--port", str(port), "--seed", "3"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/admin/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "emulator did not start"
            time.sleep(0.1)
        markets = httpx.get(f"{base}/margin-trading/markets", timeout=5).json()
        assert len(markets["strategies"]) == 4
        height = httpx.post(
            f"{base}/solana",
            json={"jsonrpc": "2.0", "id": 1, "method": "getBlockHeight", "params": []},
            timeout=5,
        ).json()
        assert height["result"] > 0
        fund = httpx.post(
            f"{base}/admin/fund",
            json={"wallet": "11111111111111111111111111111112", "usdc": "5"},
            timeout=5,
        )
        assert fund.status_code == 200
        assert (tmp_path / "emulators" / "asgard.json").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
