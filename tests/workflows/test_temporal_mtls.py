"""Our client reaches Temporal over mutual TLS with the certificates `basis temporal certs`
makes, and is refused without its client certificate. The dev server speaks no TLS, so a
TLS-terminating proxy that demands a client certificate (as compose's frontend does) stands
in front of it."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from basis.certs import CertFiles, generate_certs
from basis.config import load_settings
from basis.temporal import connect


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(Exception):
        writer.close()


@pytest.fixture
async def mtls_frontend(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[str, CertFiles]]:
    files = generate_certs(tmp_path / "certs", now=datetime.now(UTC))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=files.ca_cert)
    ctx.load_cert_chain(files.server_cert, files.server_key)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["h2"])  # gRPC
    host, port = temporal_env.client.service_client.config.target_host.rsplit(":", 1)

    async def relay(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        ur, uw = await asyncio.open_connection(host, int(port))
        await asyncio.gather(_pipe(r, uw), _pipe(ur, w))

    server = await asyncio.start_server(relay, "127.0.0.1", 0, ssl=ctx)
    async with server:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}", files


async def test_the_client_connects_over_mtls_and_is_refused_without_its_certificate(
    mtls_frontend: tuple[str, CertFiles],
) -> None:
    address, files = mtls_frontend
    tls = {"ca_file": files.ca_cert, "server_name": "temporal"}
    good = load_settings(
        temporal={
            "address": address,
            "tls": {**tls, "cert_file": files.client_cert, "key_file": files.client_key},
        }
    )
    client = await asyncio.wait_for(connect(good), timeout=20)
    assert client.namespace == "basis"
    assert await client.count_workflows() is not None  # a real RPC through the proxy

    anonymous = load_settings(temporal={"address": address, "tls": tls})
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(connect(anonymous), timeout=20)
