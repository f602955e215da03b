"""Connecting to Temporal with TLS/mTLS or an API key, and the certificates
``basis temporal certs`` generates for compose's mTLS frontend."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from temporalio.service import TLSConfig

from basis.certs import generate_certs
from basis.config import ConfigError, load_settings
from basis.stack import dev_server_host
from basis.temporal import tls_config

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_generated_certificates_chain_to_the_ca_and_name_the_frontend(
    tmp_path: Path,
) -> None:
    files = generate_certs(tmp_path, now=NOW, names=("temporal", "10.0.0.5"))
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    client = x509.load_pem_x509_certificate(files.client_cert.read_bytes())
    for leaf in (server, client):
        leaf.verify_directly_issued_by(ca)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["temporal"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.5"]
    usage = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in usage
    for key in (files.ca_key, files.server_key, files.client_key):
        assert key.stat().st_mode & 0o077 == 0, f"{key.name} readable by others"


def test_existing_certificates_are_not_overwritten_unless_asked(tmp_path: Path) -> None:
    first = generate_certs(tmp_path, now=NOW)
    ca = first.ca_cert.read_bytes()
    with pytest.raises(FileExistsError, match="--overwrite"):
        generate_certs(tmp_path, now=NOW)
    assert first.ca_cert.read_bytes() == ca
    generate_certs(tmp_path, now=NOW, overwrite=True)
    assert first.ca_cert.read_bytes() != ca


async def test_a_frontend_with_the_server_cert_accepts_only_clients_holding_our_client_cert(
    tmp_path: Path,
) -> None:
    files = generate_certs(tmp_path, now=datetime.now(UTC))
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=files.ca_cert)
    server_ctx.load_cert_chain(files.server_cert, files.server_key)
    server_ctx.verify_mode = ssl.CERT_REQUIRED

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read(5)
        writer.write(data)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]

    async def talk(ctx: ssl.SSLContext) -> bytes:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=ctx, server_hostname="temporal"
        )
        writer.write(b"hello")
        await writer.drain()
        data = await reader.read(5)
        writer.close()
        return data

    async with server:
        good = ssl.create_default_context(cafile=files.ca_cert)
        good.load_cert_chain(files.client_cert, files.client_key)
        assert await talk(good) == b"hello"
        anonymous = ssl.create_default_context(cafile=files.ca_cert)
        # TLS 1.3 lets the client finish its half first: the refusal shows as an error or as
        # the connection closed with nothing echoed.
        try:
            answer = await talk(anonymous)
        except (ssl.SSLError, ConnectionError):
            answer = b""
        assert answer == b""


def test_tls_settings_from_the_environment_build_an_mtls_client_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = generate_certs(tmp_path, now=NOW)
    monkeypatch.setenv("BASIS_TEMPORAL__TLS__CA_FILE", str(files.ca_cert))
    monkeypatch.setenv("BASIS_TEMPORAL__TLS__CERT_FILE", str(files.client_cert))
    monkeypatch.setenv("BASIS_TEMPORAL__TLS__KEY_FILE", str(files.client_key))
    monkeypatch.setenv("BASIS_TEMPORAL__TLS__SERVER_NAME", "temporal")
    settings = load_settings()
    assert settings.temporal.tls.enabled
    tls = tls_config(settings)
    assert isinstance(tls, TLSConfig)
    assert tls.server_root_ca_cert == files.ca_cert.read_bytes()
    assert tls.client_cert == files.client_cert.read_bytes()
    assert tls.client_private_key == files.client_key.read_bytes()
    assert tls.domain == "temporal"


def test_an_api_key_or_the_plain_switch_means_tls_with_the_system_roots(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tls_config(load_settings()) is False
    monkeypatch.setenv("BASIS_TEMPORAL__API_KEY", "cloud-key")
    assert tls_config(load_settings()) is True  # Temporal Cloud: API key over TLS
    monkeypatch.delenv("BASIS_TEMPORAL__API_KEY")
    monkeypatch.setenv("BASIS_TEMPORAL__TLS", "true")  # the older boolean form still works
    assert tls_config(load_settings()) is True
    monkeypatch.delenv("BASIS_TEMPORAL__TLS")
    monkeypatch.setenv("BASIS_TEMPORAL__TLS__ENABLED", "true")
    assert tls_config(load_settings()) is True


def test_a_missing_certificate_file_or_a_cert_without_its_key_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASIS_TEMPORAL__TLS__CA_FILE", str(tmp_path / "nope.pem"))
    with pytest.raises(ConfigError, match="temporal.tls.ca_file: .*nope.pem is not a readable"):
        load_settings()
    monkeypatch.delenv("BASIS_TEMPORAL__TLS__CA_FILE")
    files = generate_certs(tmp_path, now=NOW)
    monkeypatch.setenv("BASIS_TEMPORAL__TLS__CERT_FILE", str(files.client_cert))
    with pytest.raises(ConfigError, match="cert_file and key_file go together"):
        load_settings()


@pytest.mark.parametrize("address", ["0.0.0.0:7233", "10.1.2.3:7233", "temporal:7233"])
def test_the_embedded_dev_server_refuses_to_bind_beyond_this_machine(address: str) -> None:
    with pytest.raises(ValueError, match="binds only to 127.0.0.1"):
        dev_server_host(load_settings(temporal={"address": address}))
    assert dev_server_host(load_settings()) == "127.0.0.1"


def test_basis_temporal_certs_writes_the_set_and_refuses_to_overwrite_it(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from basis.cli import CommandFailed, app

    out = tmp_path / "temporal"
    result = CliRunner().invoke(app, ["temporal", "certs", "--out", str(out), "--name", "tmp"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "ca.key", "ca.pem", "client.key", "client.pem", "server.key", "server.pem",
    ]  # fmt: skip
    server = x509.load_pem_x509_certificate((out / "server.pem").read_bytes())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["tmp"]
    again = CliRunner().invoke(app, ["temporal", "certs", "--out", str(out)])
    assert isinstance(again.exception, CommandFailed)
    assert "--overwrite" in str(again.exception)


def test_basis_temporal_payload_key_prints_a_line_the_key_file_accepts() -> None:
    from typer.testing import CliRunner

    from basis.cli import app
    from basis.codec import PayloadKeys

    result = CliRunner().invoke(app, ["temporal", "payload-key", "k7"])
    assert result.exit_code == 0, result.output
    assert PayloadKeys.parse(result.output).active == "k7"
