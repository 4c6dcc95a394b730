"""Pool workers never outlive the run that started them.

``watch_parent`` runs first in every local worker process. The worker ignores Ctrl-C
(the main process stops the pool and says how to resume), SIGTERM ends it at once
(not the main process's handler, inherited by a forked worker), and it ends when its parent
dies, even by SIGKILL: on Linux the kernel sends it SIGKILL (``prctl(PR_SET_PDEATHSIG)``),
and everywhere a watchdog thread checks every :data:`POLL_SECONDS` whether the parent
process has changed (an orphan is adopted by another process).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

POLL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def watch_parent() -> None:
    """Make this worker end with its parent (a pool initializer)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        _die_with_parent_linux()
    if os.getppid() != parent or parent == 1:  # the parent died before we were watching
        os._exit(1)
    threading.Thread(target=_watchdog, args=(parent,), name="d2asim-parent-watchdog", daemon=True).start()


def _die_with_parent_linux() -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no usable libc: the watchdog still works
        pass


def _watchdog(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os._exit(1)
