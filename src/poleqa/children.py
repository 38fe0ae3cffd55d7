"""Child processes poleqa started (an index build) ended with the process that started them."""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import signal
import threading
import time
from typing import NoReturn

STOPPED_BUILD = "The index build under way was stopped: the index is as it was."


def stop_children(wait: float = 2.0) -> int:
    """Ends the child processes of this one (an index build in its own process) and frees what
    multiprocessing holds for them; returns how many were running. Called by a process about
    to leave at once (`os._exit`): the build went on for a second, said so after the shell's
    prompt had come back, and Python's resource tracker warned of leaked semaphores. A build
    stopped leaves the index as it was (its swap is atomic)."""
    running = multiprocessing.active_children()
    for child in running:
        child.terminate()
    deadline = time.monotonic() + wait
    for child in running:
        child.join(max(0.0, deadline - time.monotonic()))
    # The pool closes its queues once it sees its process gone: freed before that, their
    # feeding threads failed with a traceback.
    while _feeding() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not _feeding():
        _release()
    return len(running)


def _feeding() -> bool:
    """Whether a multiprocessing queue still has its feeding thread (named so by the stdlib)."""
    return any(t.name == "QueueFeederThread" and t.is_alive() for t in threading.enumerate())


def stopped_with_sigterm() -> None:
    """In a child: SIGTERM (`stop_children`) ends it at once, what it holds freed (its
    semaphores: tqdm's lock, its queues'), not in the middle of Python's own exit."""
    signal.signal(signal.SIGTERM, lambda signum, frame: leave_now(128 + signum))


def leave_now(code: int) -> NoReturn:
    """Ends this process at once (`os._exit`: no waiting on the model runtimes' threads), what
    multiprocessing holds freed first."""
    _release()
    os._exit(code)


def _release() -> None:
    # what the interpreter's own exit runs (semaphores unlinked, so that Python's resource
    # tracker finds none leaked), which os._exit skips
    multiprocessing.util._run_finalizers()
