"""The quality floors' eval corpora indexed by `poleqa index` in the background, at low priority,
from the start of the session: their builds (minutes of embedding) use the CPU that the rest of
the suite leaves idle instead of adding to its time."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from poleqa.cli.first_run import convert_model

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"
CORPORA = {  # in the order the tests need them
    "dev": ROOT / "eval" / "dev" / "corpus",
    "domain": ROOT / "eval" / "domain" / "corpus",
}
FIXTURES = {f"{name}_index": name for name in CORPORA}  # a test asks for `domain_index`…
BUILD_TIMEOUT = 1200  # seconds for one build, on one core, beside the other tests
# `poleqa index` with the lowest priority and one core (ONNX Runtime's threads, spinning on
# every core, slowed the browser tests' server down), set in the child itself: a preexec_fn
# is not safe in a process running threads.
LOWEST = (
    "import os, runpy, sys\n"
    "os.nice(19)\n"
    "cores = sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else []\n"
    "if len(cores) > 1: os.sched_setaffinity(0, {cores[-1]})\n"
    "sys.argv[0] = 'poleqa'\n"
    "runpy.run_module('poleqa', run_name='__main__')\n"
)


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
        self._thread: threading.Thread | None = None
        # The model built now, at full speed: built by a niced build, it held its lock while
        # the other tests waited for it. Failing, it fails the tests that wait, not the session.
        try:
            convert_model(CACHE / "poleqa")
        except Exception as e:  # any: said by each test that waits
            for built in self.builds.values():
                built.output = f"the model could not be built: {e!r}"
                built.done.set()
            return
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def index(self, name: str) -> Path:
        """The index of `name`'s corpus, built by the CLI as a user would; fails the test with
        the CLI's output when the build failed or did not end in time."""
        built = self.builds[name]
        if not built.done.is_set():
            self._spread()  # a test waits on it: the cores are the build's
        built.done.wait()  # each build ends within BUILD_TIMEOUT (then killed)
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
        env["XDG_CACHE_HOME"] = str(CACHE)
        try:
            for name, built in self.builds.items():
                self._build(name, built, env)
                built.done.set()
        finally:
            for built in self.builds.values():
                built.done.set()  # one not built (stopped, failed to start) fails at once

    def _build(self, name: str, built: Built, env: dict[str, str]) -> None:
        args = [sys.executable, "-c", LOWEST, "index", "--corpus", str(CORPORA[name])]
        args += ["--index", str(built.index)]
        with self._lock:
            if self._stopped:
                return
            try:
                self._process = subprocess.Popen(
                    args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                    encoding="utf-8", errors="replace",
                )  # fmt: skip
            except OSError as e:
                built.output = f"poleqa index did not start: {e}"
                return
        process = self._process
        try:
            built.output, _ = process.communicate(timeout=BUILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            built.output = process.communicate()[0] + f"\n(killed after {BUILD_TIMEOUT} s)"
        built.code = process.returncode

    def _spread(self) -> None:
        """Lets every thread of the running build use every core (each thread keeps the
        affinity it was made with)."""
        with self._lock:
            process = self._process
        if process is None or process.poll() is not None or not hasattr(os, "sched_setaffinity"):
            return
        cores = os.sched_getaffinity(0)
        with contextlib.suppress(OSError):  # it ended meanwhile
            tasks = list(Path(f"/proc/{process.pid}/task").iterdir())
            for task in tasks:
                with contextlib.suppress(OSError):  # that thread ended meanwhile
                    os.sched_setaffinity(int(task.name), cores)
