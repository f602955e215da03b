"""The one Temporal client factory, and namespace/search-attribute setup for clusters."""

from __future__ import annotations

import asyncio
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
from temporalio.service import RPCError, RPCStatusCode

from basis.config import Settings
from models import search

log = logging.getLogger(__name__)


async def connect(settings: Settings, *, namespace: str | None = None) -> Client:
    """A client that round-trips pydantic models, ``Decimal`` and ``datetime`` exactly."""
    t = settings.temporal
    return await Client.connect(
        t.address,
        namespace=namespace or t.namespace,
        data_converter=pydantic_data_converter,
        api_key=t.api_key.get_secret_value() if t.api_key else None,
        tls=t.tls,
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
    system = await connect(settings, namespace="default")
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
