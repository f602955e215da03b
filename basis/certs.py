"""``basis temporal certs``: a private CA plus the frontend's and the clients' certificates for
mutual TLS between our processes and the Temporal frontend (compose mounts them as secrets).

The CA signs two leaves: ``server`` (the frontend and internode traffic, with the compose
service name and any extra names as subject alternative names) and ``client`` (worker, API,
CLI, UI). The frontend accepts only clients whose certificate chains to this CA. The CA's
private key is written too, so more clients can be signed later; keep it off the servers.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_NAMES = ("temporal", "localhost", "127.0.0.1")


@dataclass(frozen=True, slots=True)
class CertFiles:
    directory: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _san(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for n in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            entries.append(x509.DNSName(n))
    return x509.SubjectAlternativeName(entries)


def _leaf(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    common_name: str,
    names: tuple[str, ...],
    usages: list[x509.ObjectIdentifier],
    now: datetime,
    days: int,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(_san(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def generate_certs(
    directory: Path,
    *,
    now: datetime,
    names: tuple[str, ...] = DEFAULT_NAMES,
    days: int = 365,
    overwrite: bool = False,
) -> CertFiles:
    """Write ``ca.pem ca.key server.pem server.key client.pem client.key`` into ``directory``
    (keys mode 0600). Refuses to overwrite existing files unless asked: replacing the CA
    cuts every running client off."""
    if not names:
        raise ValueError("at least one server name is needed")
    files = CertFiles(
        directory=directory,
        ca_cert=directory / "ca.pem",
        ca_key=directory / "ca.key",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
    )
    paths = [files.ca_cert, files.ca_key, files.server_cert, files.server_key]
    paths += [files.client_cert, files.client_key]
    existing = [p.name for p in paths if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{directory} already holds {', '.join(existing)}; pass --overwrite to replace them"
        )
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "asgard-basis temporal CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days * 5))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                key_encipherment=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    server, server_key = _leaf(
        ca_cert,
        ca_key,
        names[0],
        names,
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],  # internode too
        now,
        days,
    )
    client, client_key = _leaf(
        ca_cert,
        ca_key,
        "basis-client",
        ("basis-client",),
        [ExtendedKeyUsageOID.CLIENT_AUTH],
        now,
        days,
    )
    pem = serialization.Encoding.PEM
    _write(files.ca_cert, ca_cert.public_bytes(pem), 0o644)
    _write(files.ca_key, _pem_key(ca_key), 0o600)
    _write(files.server_cert, server.public_bytes(pem), 0o644)
    _write(files.server_key, _pem_key(server_key), 0o600)
    _write(files.client_cert, client.public_bytes(pem), 0o644)
    _write(files.client_key, _pem_key(client_key), 0o600)
    return files


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
