"""``basis emulator hyperliquid`` runs the emulator alone on a random-walk market."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from basis.ports import free_port

BASIS = Path(sys.executable).parent / "basis"


def test_the_cli_serves_the_venue_and_keeps_its_state_file(tmp_path: Path) -> None:
    port = free_port()
    state = tmp_path / "hl.json"
    env = {
        "PATH": str(BASIS.parent),
        "BASIS_STATE_DIR": str(tmp_path),
        "BASIS_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [
            str(BASIS),
            "emulator",
            "hyperliquid",
            "--port",
            str(port),
            "--seed",
            "3",
            "--speed",
            "10",
            "--state-file",
            str(state),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                health = httpx.get(f"{base}/admin/health", timeout=1).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the emulator did not come up"
                time.sleep(0.1)
        assert health["venue"] == "hyperliquid" and health["chain"] == "Testnet"
        meta = httpx.post(f"{base}/info", json={"type": "meta"}).json()
        assert meta["universe"][5]["name"] == "SOL"
        assert float(httpx.post(f"{base}/info", json={"type": "allMids"}).json()["SOL"]) > 0
        address = "0x" + "ab" * 20
        httpx.post(f"{base}/admin/fund", json={"address": address, "usdc": "25"}).raise_for_status()
        assert state.exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught.
    assert proc.returncode in (0, -signal.SIGTERM)
    assert address in state.read_text()
