"""The one Temporal client factory, and namespace/search-attribute setup for clusters."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from basis.codec import EncryptionCodec, PayloadKeys
from basis.config import ConfigError, Settings
from models import search

log = logging.getLogger(__name__)


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic payloads (``Decimal`` and ``datetime`` exact), encrypted when configured. The
    worker, the API and the CLI all build their client here, so all of them agree."""
    t = settings.temporal
    if not t.payload_encryption:
        return pydantic_data_converter
    if not t.payload_keys.get_secret_value().strip():
        raise ConfigError(
            "invalid configuration: temporal.payload_keys: payload encryption is on (mode "
            f"{settings.mode}) but no key is set; create one with `basis temporal payload-key` "
            "into the basis_temporal__payload_keys secret file"
        )
    keys = PayloadKeys.parse(t.payload_keys.get_secret_value())
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(keys))


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The client's TLS: mTLS with files from ``temporal.tls``, system roots with only
    ``enabled`` (Temporal Cloud with an API key), or none."""
    tls = settings.temporal.tls
    if not (tls.enabled or settings.temporal.api_key):
        return False
    if not (tls.ca_file or tls.cert_file or tls.server_name):
        return True
    return TLSConfig(
        server_root_ca_cert=tls.ca_file.read_bytes() if tls.ca_file else None,
        client_cert=tls.cert_file.read_bytes() if tls.cert_file else None,
        client_private_key=tls.key_file.read_bytes() if tls.key_file else None,
        domain=tls.server_name,
    )


async def connect(
    settings: Settings, *, namespace: str | None = None, payloads: bool = True
) -> Client:
    """The one way our processes reach Temporal: TLS/API key and payload encryption as
    configured. ``payloads=False`` for cluster administration that carries no payloads
    (so ``basis temporal setup`` needs no payload key)."""
    t = settings.temporal
    return await Client.connect(
        t.address,
        namespace=namespace or t.namespace,
        data_converter=data_converter(settings) if payloads else pydantic_data_converter,
        api_key=t.api_key.get_secret_value() if t.api_key else None,
        tls=tls_config(settings),
    )


async def connect_with_retry(settings: Settings, *, timeout: float = 60.0) -> Client:
    """Wait for the Temporal frontend to accept connections (it may still be starting)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.2
    while True:
        try:
            return await connect(settings)
        except RuntimeError as exc:  # the SDK reports connection failures as RuntimeError
            if loop.time() >= deadline:
                raise RuntimeError(
                    f"Temporal at {settings.temporal.address} unreachable after {timeout:.0f}s"
                ) from exc
            log.info("waiting for Temporal at %s: %s", settings.temporal.address, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


async def ensure_namespace_and_search_attributes(settings: Settings) -> None:
    """Idempotent cluster setup for production: the namespace and our search attributes.
    (The embedded dev server gets both from its command line.)"""
    ns = settings.temporal.namespace
    system = await connect(settings, namespace="default", payloads=False)
    try:
        await system.workflow_service.register_namespace(
            RegisterNamespaceRequest(
                namespace=ns,
                workflow_execution_retention_period=Duration(seconds=30 * 24 * 3600),
            )
        )
        log.info("registered Temporal namespace %s", ns)
    except RPCError as exc:
        if exc.status != RPCStatusCode.ALREADY_EXISTS:
            raise
    existing = await system.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=ns)
    )
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in search.ALL
        if key.name not in existing.custom_attributes
    }
    if missing:
        await system.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=ns, search_attributes=missing)
        )
        log.info("registered search attributes %s", sorted(missing))
