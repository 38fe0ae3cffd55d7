"""Unit tests of hybrid retrieval: fusion, filters, English glossary expansion, language."""

from __future__ import annotations

import numpy as np

from poleqa.query import analyse
from poleqa.query.language import detect_language, expand_query, translate_terms
from poleqa.retrieval import HybridRetriever, _keep, before
from poleqa.types import Chunk, Document, DocumentInfo, Filters, Turn


class _Embedder:
    id = "fake"
    dim = 2

    def __init__(self) -> None:
        self.calls = 0

    def embed_queries(self, texts):
        self.calls += len(texts)
        return np.tile(np.array([[1.0, 0.0]], dtype=np.float32), (len(texts), 1))

    def embed_passages(self, texts, progress=None):
        return self.embed_queries(texts)


class _Index:
    """Three documents, one chunk each; dense and lexical scores are fixed per chunk."""

    def __init__(self, dense: list[float], lexical: list[float]) -> None:
        dates = ["2013-01-01", "2020-06-01", None]
        self.documents = {
            f"d{i}.txt": Document(
                DocumentInfo(source=f"d{i}.txt", title=f"D{i}", date=dates[i]), f"texte {i}"
            )
            for i in range(3)
        }
        self.chunks = [Chunk(i, f"d{i}.txt", 0, 7, f"texte {i}") for i in range(3)]
        self.dense, self.lexical = dense, lexical
        self.chunk_vectors = np.array([[d, 0.0] for d in dense], dtype=np.float32)

    def info(self, source):
        return self.documents[source].info

    def chunk_ids(self, source):
        return [c.id for c in self.chunks if c.source == source]

    def dense_search(self, qvec, k, ids=None):
        order = sorted(
            (i for i in range(3) if ids is None or i in ids), key=lambda i: -self.dense[i]
        )
        return [(i, self.dense[i]) for i in order[:k]]

    def lexical_search(self, query, k, ids=None):
        order = sorted(
            (i for i in range(3) if (ids is None or i in ids) and self.lexical[i] > 0),
            key=lambda i: -self.lexical[i],
        )
        return [(i, self.lexical[i]) for i in order[:k]]


def _q(text: str):
    return analyse(text, _Embedder())


def test_score_fusion_adds_normalised_bm25_to_cosine() -> None:
    index = _Index(dense=[0.84, 0.85, 0.80], lexical=[10.0, 0.0, 5.0])
    hits = HybridRetriever(index).retrieve(_q("question"), k=3)
    assert [h.chunk.id for h in hits] == [0, 1, 2]
    assert [h.rank for h in hits] == [1, 2, 3]
    assert abs(hits[0].score - (0.84 + 0.05)) < 1e-6
    assert hits[1].lexical_score is None and hits[1].dense_score == 0.85


def test_filters_by_source_and_date() -> None:
    index = _Index(dense=[0.84, 0.85, 0.80], lexical=[10.0, 0.0, 5.0])
    r = HybridRetriever(index)
    q = _q("q")
    assert [h.chunk.source for h in r.retrieve(q, 5, Filters(sources=("d2.txt",)))] == ["d2.txt"]
    by_date = r.retrieve(q, 5, Filters(date_from="2014", date_to="2021-12"))
    assert [h.chunk.source for h in by_date] == ["d1.txt"]  # d0 too old, d2 undated
    assert r.retrieve(q, 5, Filters(sources=("absent.txt",))) == []


def test_query_is_analysed_once() -> None:
    inner = _Embedder()
    # about a made-up cluster: tests do not copy the eval sets' questions
    q = analyse("  Which firms joined Velmor as members in December 2024?  ", inner)
    assert inner.calls == 1
    assert q.text == "Which firms joined Velmor as members in December 2024?"
    assert q.language == "en" and q.years == (2024,)
    assert "décembre" in q.lexical and q.resolved == q.text
    HybridRetriever(_Index(dense=[0.84, 0.85, 0.80], lexical=[10.0, 0.0, 5.0])).retrieve(q, 3)
    assert inner.calls == 1  # retrieval reuses the query's vector


def test_language_and_glossary() -> None:
    assert detect_language("Who chairs the cluster?") == "en"
    assert detect_language("Qui préside le pôle ?") == "fr"
    expanded = expand_query("How many members does the competitiveness cluster have?", "en")
    assert "pôle de compétitivité" in expanded and "adhérents" in expanded
    assert expand_query("Combien de membres ?", "fr") == "Combien de membres ?"


def test_english_months_are_translated() -> None:
    rest, extra = translate_terms("Which firms joined Velmor as members in December 2024?")
    assert "décembre" in extra and "membres adhérents" in extra
    assert "december" not in rest.lower()


def test_markup_around_a_question_is_not_part_of_it() -> None:
    plain = "Combien de pôles compte la France ?"
    for marked in (
        f"<b>{plain}</b>",
        f"**{plain}**",
        f"[{plain}](https://example.org)",
        "<p><i>Combien</i> de pôles compte la France&nbsp;?</p>",
    ):
        q = analyse(marked, _Embedder())
        assert q.resolved == plain
        assert q.text == marked  # shown as asked (escaped by the web page)
        assert not q.completed  # markup stripped is not « J'ai compris : … »
    # A link's text is kept (it may name what is asked about), its address is not (the web's
    # end-to-end cases of this, tests/test_web_real.py, hit a scorer weakness: xfail).
    assert analyse(f"[lien](https://example.org) {plain}", _Embedder()).resolved == f"lien {plain}"


def test_a_completed_follow_up_is_marked_as_such() -> None:
    history = [Turn("Combien de pôles compte la France en 2019 ?", "56 pôles")]
    q = analyse("Et en 2023 ?", _Embedder(), history)
    assert q.completed and q.resolved == "Combien de pôles compte la France en 2023 ?"
    assert not analyse("Combien de pôles en 2023 ?", _Embedder(), history).completed


def test_date_bounds_compare_each_date_at_its_own_precision() -> None:
    # a document dated by its year alone was dropped by --date-from 2013-01-01
    assert not before("2013", "2013-01-01") and not before("2013-01-01", "2013")
    assert before("2012", "2013-06") and before("2013-05-31", "2013-06")
    assert not before("2013-06", "2013-06-30")
    year_only = Filters(date_from="2013-01-01", date_to="2013-12-31")
    assert _keep("2013", "a.txt", year_only) and _keep("2013-07", "a.txt", year_only)
    assert not _keep("2014", "a.txt", year_only) and not _keep("2012-12-31", "a.txt", year_only)
    assert not _keep(None, "a.txt", year_only)
