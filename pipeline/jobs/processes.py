"""Which process a stored pid is: a pid plus its start time, checked before every signal.

A pid alone names whichever process holds it now: after a reboot, or hours later, a stale
"running" row would point at an unrelated process. Rows keep the start time psutil reports
(`create_time`), and a process counts as the job's only while both match.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

# create_time comes from clock ticks since boot: the same process reads the same value;
# a tolerance covers float rounding, far below the time a pid takes to be reused.
SAME_START_S = 0.05


@dataclass(frozen=True)
class ProcessIdentity:
    """A process as a pid and the time it started (seconds since the epoch)."""

    pid: int
    started: float

    def encode(self) -> str:
        return f"{self.pid}:{self.started!r}"

    @classmethod
    def decode(cls, text: str) -> ProcessIdentity | None:
        pid, _, started = text.partition(":")
        try:
            return cls(int(pid), float(started))
        except ValueError:
            return None


def identity_of(pid: int) -> ProcessIdentity | None:
    """The identity of the live process `pid`, or None when there is none."""
    try:
        return ProcessIdentity(pid, psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def current() -> ProcessIdentity:
    """This process."""
    identity = identity_of(os.getpid())
    assert identity is not None
    return identity


def is_running(pid: int | None, started: float | None) -> bool:
    """Whether the process that started at `started` with `pid` still runs (zombies do not).

    Without a start time (rows written before it was recorded) nothing can be checked, so
    the answer is no: such a process is never signalled and never reported running.
    """
    if pid is None or started is None:
        return False
    try:
        process = psutil.Process(pid)
        if abs(process.create_time() - started) > SAME_START_S:
            return False
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def signal_process(
    pid: int | None, started: float | None, sig: int, *, group: bool = False
) -> bool:
    """Send `sig` to the process (or its process group) if it is still that process."""
    if pid is None or not is_running(pid, started):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
        return True
    return False


def watch(
    identity: ProcessIdentity, on_gone: Callable[[], None], *, every_s: float = 1.0
) -> threading.Thread:
    """Call `on_gone` once (from a daemon thread) when the process `identity` ends."""

    def loop() -> None:
        while is_running(identity.pid, identity.started):
            time.sleep(every_s)
        on_gone()

    thread = threading.Thread(target=loop, name="flames-watch-runner", daemon=True)
    thread.start()
    return thread


def die_with_parent() -> None:
    """In a child about to exec (Linux): get SIGTERM when the parent dies, even by SIGKILL.

    Elsewhere this does nothing, and the child's own watch on its runner (`watch`) ends it.
    """
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
