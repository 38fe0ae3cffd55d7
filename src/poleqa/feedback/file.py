"""The embedded feedback store: one JSON line per event in `<data_dir>/feedback.jsonl`."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from poleqa.feedback.records import Feedback, FeedbackRead, ReadsRecords, latest_per_id

log = logging.getLogger(__name__)

FEEDBACK_FILE = "feedback.jsonl"


class FeedbackStore(ReadsRecords):
    """Appends feedback to `<data_dir>/feedback.jsonl`, flushed and fsynced before returning.

    For one server process at a time; several processes or servers use a database
    (`open_feedback_store`).
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / FEEDBACK_FILE
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        """Where the records go, for messages."""
        return f"file {self.path}"

    def add(self, feedback: Feedback) -> None:
        line = feedback.to_json() + "\n"
        with self._lock:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a+b") as f:
                if f.tell() > 0:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":  # a crash cut the last record: start a fresh line
                        line = "\n" + line
                f.write(line.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())

    def read(self, latest: bool = False) -> FeedbackRead:
        """Every record in order (or `latest` only), and a warning per damaged line skipped.

        A damaged line (cut by a crash, edited by hand) costs that line only; each warning is
        also logged.
        """
        if not self.path.exists():
            return FeedbackRead((), ())
        out: list[Feedback] = []
        warnings: list[str] = []
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    out.append(Feedback.from_json(line))
                except (ValueError, TypeError, KeyError) as e:
                    warnings.append(self._skipped(number, e))
                    log.warning("%s", warnings[-1])
        return FeedbackRead(tuple(latest_per_id(out) if latest else out), tuple(warnings))

    def _skipped(self, number: int, error: Exception) -> str:
        """The warning for a line that is not a record: where it is, why, and what to do."""
        if isinstance(error, json.JSONDecodeError):
            # e.g. "Invalid control character at": a tab or line break typed inside a string
            why = f"not valid JSON ({error.msg.removesuffix(' at')} at column {error.colno})"
        else:
            why = f"not a feedback record ({error})"
        return (
            f"{self.path} line {number} skipped: {why}; fix or delete that line "
            "(the other records are read as usual)"
        )
