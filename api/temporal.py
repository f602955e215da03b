"""Lazy Temporal connection for the API: the API starts (and answers health probes) even while
Temporal is down; routes that need it get GEN-0003 naming Temporal instead of a traceback."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from api.errors import ApiError
from basis.config import Settings
from basis.temporal import connect

log = logging.getLogger("basis.api")


class TemporalConnector:
    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(connect(self._settings), timeout=5)
                except (TimeoutError, RuntimeError) as exc:
                    log.warning("temporal unreachable: %s", exc)
                    raise ApiError(
                        "GEN-0003",
                        f"Temporal at {self._settings.temporal.address} is unreachable",
                    ) from exc
            return self._client

    async def problem(self) -> str | None:
        """None when Temporal answers for our namespace, else what is wrong."""
        try:
            client = await self.get()
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=client.namespace),
                timeout=timedelta(seconds=2),
            )
        except ApiError as exc:
            return exc.message
        except Exception as exc:  # any RPC failure means "not ready"
            return f"Temporal namespace {self._settings.temporal.namespace}: {exc}"
        return None
