"""A throwaway PostgreSQL cluster for the feedback store tests (initdb + pg_ctl, a free port)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI") == "true"


@dataclass(frozen=True)
class Cluster:
    """A running PostgreSQL server; `url(db)` reaches database `db` as its superuser;
    `pg_ctl("stop")` / `pg_ctl("start")` stops and starts it again."""

    port: int
    password: str
    pg_ctl: Callable[[str], None]

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://poleqa:{self.password}@127.0.0.1:{self.port}/{db}"

    def sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(statement)


def _absent(what: str) -> None:
    """Skip, except in CI, where every test must run."""
    if IN_CI:
        pytest.fail(f"{what} (CI=true: .ci/run installs it before the tests)")
    pytest.skip(what)


def need_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _absent("psycopg is not installed: pip install -e '.[test]'")


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """initdb + pg_ctl in a temporary folder, on a free port, stopped and deleted afterwards.

    PostgreSQL refuses to run as root: as root, the server runs as Debian's `postgres` user.
    """
    need_psycopg()
    bin_dir = _postgres_bin()
    if bin_dir is None:
        _absent("PostgreSQL server binaries not found: apt-get install postgresql")
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root and no `postgres` user to run the server as")
    folder = Path(tempfile.mkdtemp(prefix="poleqa-pg-"))  # not pytest's: `postgres` reads it
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
    as_user = {"user": user.pw_uid, "group": user.pw_gid} if user else {}
    password, port = "s3cret-pw", free_port()
    (folder / "pw").write_text(password + "\n", encoding="utf-8")
    if user is not None:
        os.chown(folder / "pw", user.pw_uid, user.pw_gid)
    data = folder / "data"
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"

    def run(*args: str) -> None:
        done = subprocess.run(args, capture_output=True, text=True, cwd=folder, **as_user)
        assert done.returncode == 0, f"{args[0]}: {done.stdout}{done.stderr}"

    try:
        pwfile = str(folder / "pw")
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "poleqa", "--pwfile", pwfile,
            "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip

        def pg_ctl(action: str) -> None:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w",
                "-o", options, "-m", "fast", action)  # fmt: skip

        pg_ctl("start")
        yield Cluster(port, password, pg_ctl)
    finally:
        if (data / "postmaster.pid").exists():
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
