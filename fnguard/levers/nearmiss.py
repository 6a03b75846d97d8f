"""NearMiss 1, 2 and 3 (:class:`FastNearMiss`): imbalanced-learn's under-sampler, with
searches that compute only the distances its selection needs."""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any

import numpy as np
from imblearn.under_sampling import NearMiss
from scipy import sparse
from sklearn.utils import _safe_indexing

from fnguard.levers import sampler_base as base
from fnguard.levers.knn import farthest_selection, nearest_distances
from fnguard.levers.neighbors import AUTO_APPROXIMATE_WORK, FaissNeighbors
from fnguard.levers.sampler_base import (
    _enough_rows,
    _exact_nn,
    _fast,
)
from fnguard.levers.screen import screened_selection

#: Recall of neighbours NearMiss-3's approximate search is calibrated to (the majority rows it
#: keeps are the neighbours found: at the default 0.97 its PR-AUC in the benchmark fell 0.0058
#: below imbalanced-learn's, at 0.99 by 0.0023), and share of imbalanced-learn's selection
#: NearMiss-1's screen is calibrated to find.
NEARMISS_RECALL = 0.99


class FastNearMiss(NearMiss):
    """imbalanced-learn's NearMiss, with a fast index on large data for NearMiss-1 and -3 and
    a NearMiss-2 that computes only the distances it needs.

    - NearMiss-1 keeps the majority rows with the smallest sum of distances to their
      ``n_neighbors`` nearest minority rows. Above
      :data:`~fnguard.levers.neighbors.AUTO_APPROXIMATE_WORK` distances, a density screen of
      the minority rows ranks the majority rows, a random sample scored exactly shows how deep
      in that ranking the kept rows go, and only the rows above that depth are scored
      (:func:`~fnguard.levers.screen.screened_selection`): approximate, calibrated to find
      :data:`NEARMISS_RECALL` of imbalanced-learn's selection. Among the rows scored, one pass
      of float32 matrix products bounds every row's score, and only the rows whose bound can
      reach the selection are scored by imbalanced-learn's search
      (:func:`~fnguard.levers.knn.nearest_selection`). Pass an estimator as ``n_neighbors``
      (``FaissNeighbors(n_neighbors=3, algorithm="flat")``) for imbalanced-learn's own exact
      search;
    - NearMiss-3 searches the minority rows against the majority: an approximate
      :class:`~fnguard.levers.cells.CellIndex` above
      :data:`~fnguard.levers.neighbors.AUTO_APPROXIMATE_WORK` distances, calibrated to a
      recall of :data:`NEARMISS_RECALL` (the rows it keeps are the neighbours found);
    - NearMiss-2 keeps the majority rows with the smallest mean distance to their
      ``n_neighbors`` farthest minority rows; imbalanced-learn sorts the distances to every
      minority row (2.4 GB at 100,000 rows with 1% positives). Here, the farthest rows among
      a few outer minority rows give a lower bound of each score; rows are scored exactly in
      order of that bound until no unscored row can enter the selection. Exact, same result.
    """

    def _validate_estimator(self) -> None:
        super()._validate_estimator()
        if self.version == 3:
            # NearMiss-1 and -2 have their own searches (see _fit_resample)
            self.nn_ = _fast(self.nn_, self._shape)
            self.nn_ver3_ = _fast(self.nn_ver3_, self._shape)
            made = isinstance(self.n_neighbors_ver3, int | np.integer)
            if made and isinstance(self.nn_ver3_, FaissNeighbors):
                # the rows kept are the neighbours found: their own recall target
                self.nn_ver3_.set_params(target_recall=NEARMISS_RECALL)

    def _fit_resample(self, X: Any, y: np.ndarray) -> Any:
        counts = Counter(y.tolist())
        minority = min(counts, key=counts.get)
        if self.version != 2:  # NearMiss-2 averages over every minority row when fewer
            _enough_rows(self, y, [minority], "n_neighbors", 0)
        self._shape = X.shape
        n_minority = counts[minority]
        large = (
            (X.shape[0] - n_minority) * n_minority > AUTO_APPROXIMATE_WORK
            and X.shape[1] > base.TREE_COLUMNS  # scikit-learn's k-d tree is faster below
        )
        if (
            not (self.version == 2 or (self.version in (1, 3) and large))
            or not isinstance(self.n_neighbors, int | np.integer)
            or (self.version == 3 and not isinstance(self.n_neighbors_ver3, int | np.integer))
            or sparse.issparse(X)
        ):
            return super()._fit_resample(X, y)
        self._validate_estimator()
        X_in, X = X, np.asarray(X, dtype=np.float64)
        k = int(self.n_neighbors)
        minority_X = X[y == minority]
        kept = []
        for label in np.unique(y):
            rows = np.flatnonzero(y == label)
            if label not in self.sampling_strategy_:
                kept.append(rows)
                continue
            n_keep = self.sampling_strategy_[label]
            if self.version == 1:
                exact = _exact_nn(k, self.n_jobs).fit(minority_X)
                chosen = screened_selection(
                    X[rows], minority_X, k, n_keep, exact, self.n_jobs, NEARMISS_RECALL
                )
            elif self.version == 2:
                chosen = farthest_selection(X[rows], minority_X, k, n_keep)
            else:
                chosen = self._version_3(X[rows], minority_X, k, n_keep)
            kept.append(rows[chosen])
        self.sample_indices_ = np.concatenate(kept).astype(np.intp)
        return _safe_indexing(X_in, self.sample_indices_), _safe_indexing(y, self.sample_indices_)


    def _version_3(self, X: np.ndarray, Y: np.ndarray, k: int, n_keep: int) -> np.ndarray:
        """NearMiss-3's choice (imbalanced-learn's steps, without its copies of the data):
        the nearest rows of X to each row of Y, then those of the largest sum of distances
        to their k nearest rows of Y (ties in row order)."""
        found = self.nn_ver3_.fit(X).kneighbors(Y, return_distance=False)
        candidates = np.unique(found.reshape(-1))
        score = nearest_distances(X[candidates], Y, k, self.n_jobs).sum(axis=1)
        if len(candidates) < n_keep:
            warnings.warn(
                "The number of the samples to be selected is larger than the number of samples"
                " available. The balancing ratio cannot be ensure and all samples will be"
                " returned.",
                stacklevel=3,
            )
        return candidates[np.argsort(-score, kind="stable")[:n_keep]]
