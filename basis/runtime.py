"""Process exit that survives temporalio's native threads.

The Temporal SDK's Rust core can abort the interpreter during shutdown (``Fatal Python error:
PyGILState_Release``, exit 134/139) after all work succeeded. Every command that used a
Temporal client therefore flushes its output and leaves with ``os._exit`` and its real status.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys


def hard_exit(code: int) -> None:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
