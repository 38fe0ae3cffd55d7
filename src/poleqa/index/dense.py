"""The dense side: a FAISS inner-product index over L2-normalised vectors (flat or HNSW)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import faiss
import numpy as np

from poleqa.index.manifest import DenseParams

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
# efSearch well above k: recall@10 ≥ 0.98 on 384-d e5-like vectors at 100k (bench/bench_index.py).
HNSW_EF_SEARCH = 128


def choose_params(n_vectors: int, flat_max_vectors: int) -> DenseParams:
    """Exact search while it is fast enough; HNSW above `flat_max_vectors` vectors."""
    if n_vectors <= flat_max_vectors:
        return DenseParams(kind="flat", flat_max_vectors=flat_max_vectors)
    return DenseParams(
        kind="hnsw",
        flat_max_vectors=flat_max_vectors,
        hnsw_m=HNSW_M,
        ef_construction=HNSW_EF_CONSTRUCTION,
        ef_search=HNSW_EF_SEARCH,
    )


def build(vectors: np.ndarray, params: DenseParams) -> faiss.Index:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if params.kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif params.kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, params.hnsw_m or HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.ef_construction or HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = params.ef_search or HNSW_EF_SEARCH
    else:
        raise ValueError(f"unknown dense index kind {params.kind!r}")
    if len(vectors):
        index.add(vectors)
    return index


def save(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load(path: Path, params: DenseParams) -> faiss.Index:
    index = faiss.read_index(str(path))
    if params.kind == "hnsw":
        # efSearch is not a property of the file in every FAISS version: set it again.
        faiss.downcast_index(index).hnsw.efSearch = params.ef_search or HNSW_EF_SEARCH
    return index


def search(
    index: faiss.Index,
    query_vector: np.ndarray,
    k: int,
    ids: Collection[int] | None = None,
) -> list[tuple[int, float]]:
    """(id, inner product) of the k nearest vectors, best first; `ids` restricts the candidates."""
    n = index.ntotal
    if n == 0 or k <= 0:
        return []
    # One query is memory-bound: starting OpenMP threads costs more than it saves (10k flat
    # vectors on 2 cores: 9.1 ms with 2 threads, 0.49 ms with 1). Set per calling thread.
    faiss.omp_set_num_threads(1)
    q = np.ascontiguousarray(np.asarray(query_vector, dtype=np.float32).reshape(1, -1))
    k = min(k, n)
    hnsw = isinstance(index, faiss.IndexHNSW)
    params = None
    if ids is not None:
        if not ids:
            return []
        k = min(k, len(ids))
        selector = faiss.IDSelectorBatch(np.fromiter(ids, dtype=np.int64))
        if hnsw:
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(index.hnsw.efSearch, k))
        else:
            params = faiss.SearchParameters(sel=selector)
    elif hnsw and k > index.hnsw.efSearch:
        # HNSW returns at most efSearch good results: widen the beam for large k.
        params = faiss.SearchParametersHNSW(efSearch=k)
    scores, found = index.search(q, k, params=params)
    return [(int(i), float(s)) for i, s in zip(found[0], scores[0], strict=True) if i >= 0]
