"""The quality floors' eval corpora indexed by `poleqa index` in the background, at low priority,
from the start of the session: their builds (minutes of embedding) use the CPU that the rest of
the suite leaves idle instead of adding to its time."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPORA = {  # in the order the tests need them
    "dev": ROOT / "eval" / "dev" / "corpus",
    "domain": ROOT / "eval" / "domain" / "corpus",
}
FIXTURES = {f"{name}_index": name for name in CORPORA}  # a test asks for `domain_index`…
BUILD_TIMEOUT = 900  # seconds for one build, niced, on a busy machine


def _lowest_priority() -> None:
    """What the other tests leave of the CPU, no more: the lowest priority, and one core only
    (ONNX Runtime's threads, spinning on every core, slowed the browser tests' server down)."""
    os.nice(19)
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1:
        os.sched_setaffinity(0, {cores[-1]})


@dataclass
class Built:
    """One corpus's build: its index folder once `done`, and what `poleqa index` printed."""

    index: Path
    done: threading.Event = field(default_factory=threading.Event)
    code: int | None = None
    output: str = ""


class Prebuilt:
    """Builds the named corpora one after the other in a thread (two builds at once would only
    compete); `index(name)` waits for one."""

    def __init__(self, base: Path, names: set[str]) -> None:
        self.base = base
        self.builds = {n: Built(base / n / "index") for n in CORPORA if n in names}
        self._process: subprocess.Popen[str] | None = None
        self._stopped = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def index(self, name: str) -> Path:
        """The index of `name`'s corpus, built by the CLI as a user would; fails the test with
        the CLI's output when the build failed or did not end in time."""
        built = self.builds[name]
        assert built.done.wait(BUILD_TIMEOUT * len(self.builds)), f"{name}: still building"
        assert built.code == 0, built.output[-2000:]
        return built.index

    def stop(self) -> None:
        """Ends a build still running (the session is over)."""
        with self._lock:
            self._stopped = True
            if self._process is not None and self._process.poll() is None:
                self._process.kill()

    def _run(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("POLEQA_")}
        env["XDG_CACHE_HOME"] = str(ROOT / ".cache")
        for name, built in self.builds.items():
            args = [sys.executable, "-m", "poleqa", "index", "--corpus", str(CORPORA[name])]
            args += ["--index", str(built.index)]
            with self._lock:
                if self._stopped:
                    break
                self._process = subprocess.Popen(
                    args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                    env=env, preexec_fn=_lowest_priority,
                )  # fmt: skip
            try:
                built.output, _ = self._process.communicate(timeout=BUILD_TIMEOUT)
                built.code = self._process.returncode
            except subprocess.TimeoutExpired:
                self._process.kill()
                built.output = f"poleqa index did not end within {BUILD_TIMEOUT} s"
            built.done.set()
        for built in self.builds.values():
            built.done.set()  # those not built (stopped) fail at once, not after a timeout
