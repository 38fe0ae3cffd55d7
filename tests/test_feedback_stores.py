"""The feedback stores behind POLEQA_FEEDBACK_URL: file, SQLite (WAL), a real PostgreSQL."""

from __future__ import annotations

import csv
import html
import io
import json
import logging
import multiprocessing
import os
import shutil
import sqlite3
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from pgcluster import Cluster, free_port, need_psycopg

from poleqa.cli import cli
from poleqa.cli.serve_cmd import LOAD_SETTINGS
from poleqa.feedback import (
    CitedSource,
    Feedback,
    FeedbackBackend,
    FeedbackStore,
    FeedbackStoreError,
    PostgresFeedbackStore,
    SqliteFeedbackStore,
    open_feedback_store,
    to_csv,
)

if TYPE_CHECKING:
    from multiprocessing.synchronize import Event

NOW = datetime(2026, 11, 23, 10, 30, 5, tzinfo=UTC)
KINDS = ("file", "sqlite", "postgres")
PER_PROCESS = 60  # records each of the two writing processes adds


def _record(n: int, rating: str | None = "up", comment: str = "", **changes: object) -> Feedback:
    """A record with everything a store must keep: accents, quotes, line breaks, None fields."""
    base = Feedback(
        id=f"f{n}",
        time=NOW.isoformat(timespec="seconds"),
        rating=rating,
        comment=comment,
        question=f"Combien de pôles en « {n} » ?",
        answer=None if n % 3 == 0 else f'55 pôles, dit "l\'État"\n(n° {n}).',
        abstained=n % 3 == 0,
        confidence=0.8234,
        citations=(
            CitedSource(1, "regions/aura.txt", "Les pôles de la Région", 100, 180),
            CitedSource(2, "lois/été.pdf", "", 0, 9),
        )[: n % 3],
        index_version=f"gen-{n}",
    )
    return Feedback(**{**base.__dict__, **changes})


_databases = iter(range(1, 10_000))


@pytest.fixture(params=KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """The POLEQA_FEEDBACK_URL of a new, empty store of each kind (None: the file store)."""
    if request.param == "file":
        return None
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/base/feedback.db"
    cluster: Cluster = request.getfixturevalue("cluster")
    name = f"feedback_{next(_databases)}"
    cluster.sql(f"CREATE DATABASE {name}")
    return cluster.url(name)


def _open(url: str | None, data_dir: Path) -> FeedbackBackend:
    return open_feedback_store(url, data_dir)


# -- every store ------------------------------------------------------------------------------


def test_round_trip_and_latest(url: str | None, tmp_path: Path) -> None:
    store = _open(url, tmp_path / "data")
    assert isinstance(store, FeedbackBackend)
    assert store.records() == [] and store.latest() == []
    records = [_record(n) for n in range(5)]
    records.append(_record(1, "down", "Finalement non :\tpas clair"))  # replaces f1 in latest
    records.append(_record(6, None, "=cmd|' /C calc'!A0"))
    for r in records:
        store.add(r)
    again = _open(url, tmp_path / "data")  # what another process (or a restart) reads
    assert again.records() == records
    latest = again.latest()
    assert [(r.id, r.rating) for r in latest] == [
        ("f0", "up"), ("f1", "down"), ("f2", "up"), ("f3", "up"), ("f4", "up"), ("f6", None)
    ]  # fmt: skip
    assert latest[1] == records[5]
    assert again.read() == again.read(latest=False) and again.read().warnings == ()


def test_export_is_the_same_from_every_store(url: str | None, tmp_path: Path) -> None:
    file_dir = tmp_path / "file-data"
    stores = [FeedbackStore(file_dir), _open(url, tmp_path / "data")]
    for n in (0, 1, 2, 1, 4):
        for store in stores:
            store.add(_record(n, "down" if n == 1 else "up", f"avis {n}"))
    assert to_csv(stores[1].latest()) == to_csv(stores[0].latest())
    assert to_csv(stores[1].records()) == to_csv(stores[0].records())

    runner = CliRunner()
    for every in ([], ["--all"]):
        export = ["feedback", "export", "--csv", *every, "--data"]
        expected = runner.invoke(cli, [*export, str(file_dir)], env={"POLEQA_FEEDBACK_URL": ""})
        env = {"POLEQA_FEEDBACK_URL": url or ""}
        got = runner.invoke(cli, [*export, str(tmp_path / "data")], env=env)
        assert got.exit_code == 0, got.output
        assert got.output == expected.output
        if url:  # the address from a secret file (saved by Notepad: a byte-order mark, CRLF)
            secret = tmp_path / "feedback-url"
            secret.write_text(f"\ufeff{url}\r\n", encoding="utf-8")
            env = {"POLEQA_FEEDBACK_URL": None, "POLEQA_FEEDBACK_URL_FILE": str(secret)}
            by_file = runner.invoke(cli, [*export, str(tmp_path / "data")], env=env)
            assert (by_file.exit_code, by_file.output) == (0, expected.output)
    assert len(list(csv.reader(io.StringIO(got.output)))) == 6  # header + 5 events


def test_a_failed_write_is_said_to_the_citizen(
    url: str | None, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from webfake import FakePipeline

    from poleqa.web.app import ChatApp, Session

    store = _open(url, tmp_path / "data")
    chat = ChatApp(FakePipeline(), store)
    _, _, session, _ = chat.ask("Combien de pôles ?", Session())
    status, _ = chat.rate_last("up", "Très clair", session)
    assert "Merci" in status and [r.comment for r in store.records()] == ["Très clair"]
    _break(store, url, request)
    status, comment = chat.rate_last("down", "Finalement non", session)
    assert "Votre avis n'a pas pu être enregistré" in html.unescape(status)
    assert comment == "Finalement non"  # kept in the box, to send again


def _break(store: FeedbackBackend, url: str | None, request: pytest.FixtureRequest) -> None:
    """The store stops working: its folder, database file or database is gone."""
    if isinstance(store, FeedbackStore):
        shutil.rmtree(store.data_dir)
        store.data_dir.write_text("not a folder", encoding="utf-8")
    elif isinstance(store, SqliteFeedbackStore):
        for p in store.path.parent.iterdir():
            p.unlink()
        store.path.write_bytes(b"garbage, not a SQLite file" * 100)
    else:
        assert url is not None
        request.getfixturevalue("cluster").sql(f"DROP DATABASE {url.rsplit('/', 1)[1]}")


# -- several processes at once --------------------------------------------------------------


def _write_many(url: str, data_dir: Path, tag: str, start: Event) -> None:
    """One server process: opens the store as `poleqa serve` does, then adds its records."""
    store = open_feedback_store(url, data_dir)
    start.wait(30)
    for n in range(PER_PROCESS):
        store.add(_record(n, comment=f"{tag}-{n}", id=f"{tag}-{n}"))


@pytest.mark.parametrize("url", ["sqlite", "postgres"], indirect=True)
def test_two_processes_writing_at_once_lose_nothing(url: str, tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter each, like two servers
    start = spawn.Event()
    workers = [
        spawn.Process(target=_write_many, args=(url, tmp_path / "data", tag, start))
        for tag in ("a", "b")
    ]
    for w in workers:
        w.start()
    start.set()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    records = open_feedback_store(url, tmp_path / "data").records()
    assert len(records) == 2 * PER_PROCESS
    for tag in ("a", "b"):  # each process's records all there, in the order it wrote them
        assert [r.id for r in records if r.id.startswith(tag)] == [
            f"{tag}-{n}" for n in range(PER_PROCESS)
        ]


# -- stores written by an older poleqa ----------------------------------------------------------

# The table as poleqa created it before `resolved_question` (written out: what is on disk).
OLD_TABLE = (
    "CREATE TABLE poleqa_feedback (seq {seq}, id TEXT NOT NULL, time TEXT NOT NULL, rating TEXT,"
    " comment TEXT NOT NULL, question TEXT NOT NULL, answer TEXT, abstained {flag} NOT NULL,"
    " confidence {real} NOT NULL, citations TEXT NOT NULL, index_version TEXT NOT NULL)"
)
OLD_ROW = (
    "INSERT INTO poleqa_feedback (id, time, rating, comment, question, answer, abstained,"
    " confidence, citations, index_version) VALUES ('old', '2026-11-01T09:00:00+00:00', 'down',"
    " '', 'Et en 2020 ?', NULL, {true}, 0.5, '[]', 'g-1')"
)


@pytest.mark.parametrize("kind", KINDS)
def test_a_store_from_before_resolved_questions_is_read_and_upgraded(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "file":
        url = None
        old = asdict(_record(0))
        del old["resolved_question"], old["uncertain"]
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "feedback.jsonl").write_text(json.dumps(old) + "\n", "utf-8")
    elif kind == "sqlite":
        url = f"sqlite://{tmp_path}/feedback.db"
        with sqlite3.connect(tmp_path / "feedback.db") as db:
            db.execute(OLD_TABLE.format(seq="INTEGER PRIMARY KEY AUTOINCREMENT", flag="INTEGER",
                                        real="REAL"))  # fmt: skip
            db.execute(OLD_ROW.format(true=1))
    else:
        cluster: Cluster = request.getfixturevalue("cluster")
        cluster.sql("CREATE DATABASE feedback_old")
        url = cluster.url("feedback_old")
        import psycopg

        with psycopg.connect(url, autocommit=True) as db:
            seq = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
            db.execute(OLD_TABLE.format(seq=seq, flag="BOOLEAN", real="DOUBLE PRECISION"))
            db.execute(OLD_ROW.format(true="TRUE"))
    store = _open(url, tmp_path / "data")
    (before,) = store.records()
    assert (before.resolved_question, before.uncertain) == ("", False)
    follow_up = _record(7, resolved_question="Combien de pôles en 2020 ?", uncertain=True)
    store.add(follow_up)
    assert _open(url, tmp_path / "data").records() == [before, follow_up]


# -- damaged rows and bad addresses ---------------------------------------------------------


def test_a_row_edited_by_hand_is_skipped_with_where_and_what_to_do(tmp_path: Path) -> None:
    store = SqliteFeedbackStore(tmp_path / "feedback.db")
    for n in range(3):
        store.add(_record(n))
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE poleqa_feedback SET citations = '[1, 2' WHERE id = 'f1'")
    read = store.read()
    assert [r.id for r in read.records] == ["f0", "f2"]
    (warning,) = read.warnings
    assert warning.startswith(f"SQLite database {store.path}: row seq=2 of table poleqa_feedback")
    assert warning.endswith("fix or delete that row (the other records are read as usual)")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://u:pw@h/db", "names no known store: use unset"),
        ("sqlite://host/feedback.db", "is not a SQLite address"),
        ("sqlite:relative/feedback.db", "is not a SQLite address"),
        ("postgresql://poleqa:pw@[::1/db", "is not a PostgreSQL address"),
    ],
)
def test_a_malformed_address_is_refused_clearly(url: str, says: str, tmp_path: Path) -> None:
    with pytest.raises(FeedbackStoreError) as caught:
        open_feedback_store(url, tmp_path)
    assert says in caught.value.message and "pw" not in caught.value.message
    assert "POLEQA_FEEDBACK_URL" in caught.value.message_fr


def test_an_unusable_sqlite_file_is_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(FeedbackStoreError, match="Cannot create the feedback database"):
        open_feedback_store(f"sqlite://{tmp_path}/file/feedback.db", tmp_path)
    (tmp_path / "bad.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(FeedbackStoreError, match="file is not a database") as caught:
        open_feedback_store(f"sqlite:///{tmp_path}/bad.db", tmp_path)
    assert caught.value.message_fr.startswith("Les avis ne peuvent pas être enregistrés")


def test_an_unreachable_postgres_is_refused_clearly(tmp_path: Path) -> None:
    need_psycopg()
    url = f"postgresql://poleqa:s3cret-pw@127.0.0.1:{free_port()}/feedback"
    with pytest.raises(FeedbackStoreError) as caught:
        open_feedback_store(url, tmp_path)
    message = caught.value.message
    assert message.startswith(
        "Cannot create the table of the feedback database postgresql://poleqa:***@127.0.0.1:"
    )
    assert "Check that the server is running" in message and "s3cret" not in message
    assert isinstance(caught.value, OSError)  # what the chat and the staff export catch


def test_a_restarted_database_is_reached_again(cluster: Cluster, tmp_path: Path) -> None:
    # each operation opens its own connection (docs/deployment.md): no restart of poleqa
    cluster.sql("CREATE DATABASE feedback_restart")
    store = open_feedback_store(cluster.url("feedback_restart"), tmp_path / "data")
    store.add(_record(1))
    cluster.pg_ctl("stop")
    try:
        with pytest.raises(FeedbackStoreError, match="Check that the server is running"):
            store.add(_record(2))
    finally:
        cluster.pg_ctl("start")
    store.add(_record(3))
    assert [r.id for r in store.records()] == [_record(1).id, _record(3).id]


def test_a_wrong_password_is_refused_clearly(cluster: Cluster, tmp_path: Path) -> None:
    url = cluster.url().replace(cluster.password, "wrong-pw")
    with pytest.raises(FeedbackStoreError, match="password authentication failed") as caught:
        PostgresFeedbackStore(url)
    assert "wrong-pw" not in caught.value.message


def test_serve_stops_before_loading_on_a_bad_address(tmp_path: Path, monkeypatch) -> None:
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "GRADIO_ANALYTICS_ENABLED"):
        monkeypatch.setenv(name, os.environ.get(name, "1"))  # serve sets them: restored after
    for name in LOAD_SETTINGS:
        monkeypatch.delenv(name, raising=False)  # serve sets them too when unset
    monkeypatch.setenv("POLEQA_FEEDBACK_URL", "sqlite://oops/feedback.db")
    poleqa_log = logging.getLogger("poleqa")
    level = poleqa_log.level  # serve sets it too
    try:
        result = CliRunner().invoke(
            cli, ["serve", "--port", str(free_port()), "--index", str(tmp_path / "none")]
        )
    finally:
        poleqa_log.setLevel(level)
    assert result.exit_code == 1
    assert "Error: POLEQA_FEEDBACK_URL 'sqlite://oops/feedback.db' is not a SQLite" in result.output
    assert not (tmp_path / "none").exists()  # stopped before any index work
