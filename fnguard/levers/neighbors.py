"""A nearest-neighbour index on faiss that imbalanced-learn's samplers accept.

:class:`FaissNeighbors` has the part of scikit-learn's ``KNeighborsMixin`` that
imbalanced-learn uses (``fit``, ``kneighbors``, ``kneighbors_graph``, ``n_neighbors``,
``n_jobs``, ``get_params`` / ``set_params`` and ``clone``), so it can be passed as
``k_neighbors`` to SMOTE or as ``n_neighbors`` to EditedNearestNeighbours and NearMiss.

Four indexes sit behind it:

- ``"auto"`` (the default): scikit-learn's exact brute-force search (the very search
  imbalanced-learn runs, so the same neighbours), unless one call to ``kneighbors`` would
  compute more than :data:`AUTO_APPROXIMATE_WORK` distances: then ``"cells"``. On two cores
  scikit-learn's search was faster than faiss's flat index at every size measured (1,000 to
  11,000 queries against 1,000 to 750,000 rows).
- ``"cells"``: :class:`~fnguard.levers.cells.CellIndex`, k-means cells searched cell by cell
  with matrix products (approximate; the share of cells probed is calibrated on each search
  to a recall of :data:`TARGET_RECALL`);
- ``"flat"``: exact search (``IndexFlatL2``). faiss ranks in float32; we ask it for a few more
  candidates than needed and rank them again with float64 distances, so the neighbour sets are
  those of scikit-learn's exact search (up to exact ties).
- ``"ivf"``: an inverted file (``IndexIVFFlat``, k-means cells, a fraction of the cells
  probed): approximate, cheap to build; for a large index queried by few rows.
- ``"hnsw"``: a navigable small-world graph (``IndexHNSWFlat``): approximate; for many queries
  against a large index once the graph is built.

On data without structure (many independent noisy features), approximate indexes need to look
at a large share of the data to keep the recall of neighbours above 0.95: measure before trusting
them (``benchmarks/bench_samplers.py``).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import check_array, check_is_fitted

from fnguard.levers.cells import ROWS_PER_CELL, CellIndex, recall

__all__ = ["ALGORITHMS", "AUTO_APPROXIMATE_WORK", "TARGET_RECALL", "FaissNeighbors"]

#: The indexes :class:`FaissNeighbors` can build.
ALGORITHMS = ("auto", "cells", "flat", "ivf", "hnsw")
#: Distances (query rows x index rows) above which ``algorithm="auto"`` searches the cells.
AUTO_APPROXIMATE_WORK = 2_000_000_000
#: Recall of neighbours the ``"cells"`` search is calibrated to (0.95 asked, with a margin).
TARGET_RECALL = 0.97
#: Queries whose approximate neighbours are kept to measure the recall (:meth:`recall`).
_RECALL_SAMPLE = 200
#: Query rows ranked by one float64 block (bounds the memory of the re-ranking).
_BLOCK = 8192


def _faiss() -> Any:
    try:
        import faiss
    except ImportError:  # pragma: no cover - faiss-cpu is a core dependency
        raise ImportError("FaissNeighbors needs faiss: pip install faiss-cpu.") from None
    return faiss


@contextlib.contextmanager
def _threads(n_jobs: int | None) -> Iterator[None]:
    """Run faiss on ``n_jobs`` threads (None or -1: every core), then restore the setting."""
    faiss = _faiss()
    before = faiss.omp_get_max_threads()
    cores = os.cpu_count() or 1
    wanted = cores if n_jobs is None or n_jobs < 0 else max(1, min(int(n_jobs), cores))
    faiss.omp_set_num_threads(wanted)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class FaissNeighbors(BaseEstimator):
    """Nearest neighbours with faiss, in scikit-learn's ``NearestNeighbors`` interface.

    Parameters
    ----------
    n_neighbors : int, default=5
        Neighbours returned by :meth:`kneighbors` when it is not told how many.
    algorithm : {"auto", "cells", "flat", "ivf", "hnsw"}, default="auto"
        The index. ``"auto"`` searches exactly with scikit-learn unless one call to
        :meth:`kneighbors` would compute more than :data:`AUTO_APPROXIMATE_WORK` distances
        (query rows times index rows, e.g. 10,000 queries against 1,000,000 rows): then it
        builds a :class:`~fnguard.levers.cells.CellIndex` once and searches that.
    probe : float or None, default=None
        ``"cells"`` and ``"ivf"``: the share of the cells searched (more is slower and more
        exact); None: for ``"cells"``, calibrated on each search: the smallest share at which
        200 of its queries, searched exactly, reach a recall of ``target_recall``; 0.2 for
        ``"ivf"``.
    hnsw_m : int, default=16
        HNSW only: links per node.
    ef_search : int, default=128
        HNSW only: breadth of the search (raised to the number of neighbours asked for).
    rows_per_cell : int, default=256
        ``"cells"`` only: rows per k-means cell (smaller: more cells, for many queries).
    n_jobs : int or None, default=None
        faiss threads; None or -1 uses every core. imbalanced-learn sets it from its own
        ``n_jobs``.
    target_recall : float, default=TARGET_RECALL
        ``"cells"`` with ``probe=None`` only: the recall of neighbours the probe is calibrated
        to (:data:`TARGET_RECALL`, 0.97).

    Attributes
    ----------
    n_samples_fit_ : int
        Rows in the index.
    algorithm_ : str
        The index built by ``fit`` (``"exact"``, scikit-learn's, for ``"auto"``).
    approximate_ : bool
        Whether the last :meth:`kneighbors` call searched approximately.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> nn = FaissNeighbors(n_neighbors=1).fit(X)
    >>> nn.kneighbors(return_distance=False).ravel().tolist()
    [1, 0, 1, 2]
    >>> dist, ind = nn.kneighbors([[2.6]], n_neighbors=2)
    >>> ind.tolist(), np.round(dist, 6).tolist()
    ([[2, 1]], [[0.4, 1.6]])
    """

    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        algorithm: str = "auto",
        probe: float | None = None,
        hnsw_m: int = 16,
        ef_search: int = 128,
        rows_per_cell: int = ROWS_PER_CELL,
        n_jobs: int | None = None,
        target_recall: float = TARGET_RECALL,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.algorithm = algorithm
        self.probe = probe
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.rows_per_cell = rows_per_cell
        self.n_jobs = n_jobs
        self.target_recall = target_recall

    def fit(self, X: Any, y: Any = None) -> FaissNeighbors:
        """Build the index on ``X`` (``y`` is ignored)."""
        if self.algorithm not in ALGORITHMS:
            raise ValueError(
                f"The 'algorithm' parameter must be one of {ALGORITHMS}. "
                f"Got {self.algorithm!r} instead."
            )
        share = getattr(self, "_share", None)
        if share is not None and getattr(share, "_source", None) is X and X is not None:
            # another FaissNeighbors fitted on this very array: use its indexes
            self._fit_X, self._indexes = share._fit_X, share._indexes
        else:
            self._fit_X = check_array(X, dtype=np.float64, order="C", accept_sparse=False)
            self._indexes = {}
        self._probes: dict[int, float] = {}
        self._source = X
        self.n_samples_fit_, self.n_features_in_ = self._fit_X.shape
        self.algorithm_ = "exact" if self.algorithm == "auto" else self.algorithm
        self.approximate_ = False
        self.index_ = self._index(self.algorithm_) if self.algorithm_ != "cells" else None
        return self

    def _index(self, algorithm: str) -> Any:
        """The faiss index of that kind on the fitted rows, built once."""
        if algorithm in self._indexes:
            return self._indexes[algorithm]
        if algorithm == "exact":
            index = NearestNeighbors(algorithm="brute", n_jobs=self.n_jobs).fit(self._fit_X)
            self._indexes[algorithm] = index
            return index
        if algorithm == "cells":
            index = CellIndex(
                self._fit_X,
                n_cells=max(1, round(self.n_samples_fit_ / self.rows_per_cell)),
                n_jobs=self.n_jobs,
            )
            self._indexes[algorithm] = index
            return index
        faiss = _faiss()
        X32 = np.ascontiguousarray(self._fit_X, dtype=np.float32)
        n, d = X32.shape
        with _threads(self.n_jobs):
            if algorithm == "flat":
                index = faiss.IndexFlatL2(d)
            elif algorithm == "hnsw":
                index = faiss.IndexHNSWFlat(d, int(self.hnsw_m))
                index.hnsw.efConstruction = 40
            else:
                n_list = max(1, min(int(math.sqrt(n)), n // 39))
                quantizer = faiss.IndexFlatL2(d)
                index = faiss.IndexIVFFlat(quantizer, d, n_list)
                train = X32[:: max(1, n // (40 * n_list))]
                index.train(train)
            index.add(X32)
        self._indexes[algorithm] = index
        return index

    def _search(self, Q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows of the index for each row of ``Q``, ranked in float64."""
        n_fit = self.n_samples_fit_
        k_search = min(n_fit, k + max(k, 4))
        algorithm = self.algorithm_
        if self.algorithm == "auto" and len(Q) * n_fit > AUTO_APPROXIMATE_WORK:
            algorithm = "cells"
        self.approximate_ = algorithm not in ("exact", "flat")
        index = self._index(algorithm)
        if algorithm == "exact":
            return index.kneighbors(Q, k)
        if algorithm == "cells":
            probe = self._calibrated_probe(index, Q, k) if self.probe is None else self.probe
            dist, ind = index.search(Q, k, probe=probe)
            self._keep_sample(Q, ind)
            return dist, ind
        if algorithm == "hnsw":
            index.hnsw.efSearch = max(int(self.ef_search), k_search)
        elif algorithm == "ivf":
            probe = 0.2 if self.probe is None else self.probe
            index.nprobe = max(1, min(index.nlist, math.ceil(probe * index.nlist)))
        dist = np.empty((len(Q), k))
        ind = np.empty((len(Q), k), dtype=np.intp)
        with _threads(self.n_jobs):
            for start in range(0, len(Q), _BLOCK):
                q = Q[start : start + _BLOCK]
                _, cand = index.search(np.ascontiguousarray(q, dtype=np.float32), k_search)
                missing = cand < 0  # approximate indexes may find fewer than asked
                cand = np.where(missing, 0, cand)
                diff = self._fit_X[cand] - q[:, None, :]
                d2 = np.einsum("ijk,ijk->ij", diff, diff)
                d2[missing] = np.inf
                # float64 ranking, ties by row number as scikit-learn's stable sorts do
                order = np.lexsort((cand, d2), axis=-1)[:, :k]
                dist[start : start + len(q)] = np.sqrt(np.take_along_axis(d2, order, axis=1))
                ind[start : start + len(q)] = np.take_along_axis(cand, order, axis=1)
        if self.approximate_:
            self._keep_sample(Q, ind)
        return dist, ind

    def _calibrated_probe(self, index: CellIndex, Q: np.ndarray, k: int) -> float:
        """The smallest share of cells to probe for a recall of at least
        ``target_recall`` on 200 of the queries, searched exactly once (every cell
        probed; :meth:`~fnguard.levers.cells.CellIndex.probe_for_recall`)."""
        probes = self.__dict__.setdefault("_probes", {})
        if k in probes:
            return probes[k]
        rng = np.random.default_rng(0)
        sample = Q[rng.choice(len(Q), min(len(Q), _RECALL_SAMPLE), replace=False)]
        # every cell probed: exact (float64 ranking), and cheaper than scikit-learn's search
        exact = index.search(sample, k, probe=1.0)[1]
        probes[k] = index.probe_for_recall(sample, exact, self.target_recall)
        return probes[k]

    def _keep_sample(self, Q: np.ndarray, ind: np.ndarray) -> None:
        """Keep a few queries and their neighbours, for :meth:`recall` (another sample than
        the calibration's, so that the recall reported is measured out of it)."""
        rng = np.random.default_rng(1)
        rows = rng.choice(len(Q), min(len(Q), _RECALL_SAMPLE), replace=False)
        self._recall_sample = (Q[rows].copy(), ind[rows].copy())

    def recall(self) -> float | None:
        """Recall of the neighbours found by the last approximate search.

        Up to 200 of its queries, chosen at random, are searched again exactly; the recall is
        the share of their exact neighbours that the approximate search found.

        Returns
        -------
        float or None
            The recall, or None when the last search was exact.
        """
        check_is_fitted(self, "n_samples_fit_")
        if not self.approximate_:
            return None
        Q, found = self._recall_sample
        exact = self._index("exact").kneighbors(Q, found.shape[1], return_distance=False)
        return recall(found, exact)

    def kneighbors(
        self, X: Any = None, n_neighbors: int | None = None, return_distance: bool = True
    ) -> Any:
        """Neighbours of each row, nearest first, like ``NearestNeighbors.kneighbors``.

        With ``X=None`` the rows of the index are the queries and a row is not its own
        neighbour; with ``X`` given, a row of the index is its own first neighbour.

        Returns
        -------
        dist : ndarray of shape (n_queries, n_neighbors)
            Euclidean distances; only when ``return_distance`` is true.
        ind : ndarray of shape (n_queries, n_neighbors)
            Row numbers in the index.
        """
        check_is_fitted(self, "n_samples_fit_")
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        if int(k) != k or k <= 0:
            raise ValueError(f"Expected n_neighbors > 0. Got {k} instead.")
        k = int(k)
        self_query = X is None
        n_fit = self.n_samples_fit_
        if k + self_query > n_fit:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k + self_query}, "
                f"n_samples_fit = {n_fit}, n_samples = {n_fit}"
            )
        if self_query:
            dist, ind = self._search(self._fit_X, k + 1)
            own = ind == np.arange(n_fit)[:, None]
            # a row that is not among its own neighbours (duplicates) drops its farthest one
            own[~own.any(axis=1), -1] = True
            dist = dist[~own].reshape(n_fit, k)
            ind = ind[~own].reshape(n_fit, k)
        else:
            Q = check_array(X, dtype=np.float64, order="C")
            if Q.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {Q.shape[1]} features, but FaissNeighbors is fitted with "
                    f"{self.n_features_in_} features."
                )
            dist, ind = self._search(Q, k)
        return (dist, ind) if return_distance else ind

    def kneighbors_graph(
        self, X: Any = None, n_neighbors: int | None = None, mode: str = "connectivity"
    ) -> sparse.csr_matrix:
        """Sparse graph of the neighbours, like ``NearestNeighbors.kneighbors_graph``."""
        if mode not in ("connectivity", "distance"):
            raise ValueError(
                f"The 'mode' parameter must be 'connectivity' or 'distance'. Got {mode!r}."
            )
        dist, ind = self.kneighbors(X, n_neighbors)
        n_rows, k = ind.shape
        data = np.ones(n_rows * k) if mode == "connectivity" else dist.ravel()
        indptr = np.arange(0, n_rows * k + 1, k)
        return sparse.csr_matrix((data, ind.ravel(), indptr), shape=(n_rows, self.n_samples_fit_))

    def __getstate__(self) -> dict[str, Any]:
        """faiss indexes do not pickle: keep the data and rebuild the index on load."""
        state = self.__dict__.copy()
        for name in ("index_", "_indexes", "_source", "_share", "_probes"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_fit_X" in state:
            self.fit(state["_fit_X"])
