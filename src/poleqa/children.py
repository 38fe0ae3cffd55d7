"""Child processes poleqa started (an index build) ended with the process that started them."""

from __future__ import annotations

import multiprocessing
import time

STOPPED_BUILD = "The index build under way was stopped: the index is as it was."


def stop_children(wait: float = 2.0) -> int:
    """Ends the child processes of this one (an index build in its own process); returns how
    many were running. Called by a process about to leave at once (`os._exit`): the build went
    on for a second and said so after the shell's prompt had come back. A build stopped leaves
    the index as it was (its swap is atomic). What multiprocessing held for it is freed by
    Python's resource tracker, silently (`PYTHONWARNINGS`, set by poleqa.cli)."""
    running = multiprocessing.active_children()
    for child in running:
        child.terminate()
    deadline = time.monotonic() + wait
    for child in running:
        child.join(max(0.0, deadline - time.monotonic()))
    return len(running)
