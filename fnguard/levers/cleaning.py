"""Cleaning levers: Tomek links and Edited Nearest Neighbours that search exactly only the
rows their bounds cannot decide (see each class); the same rows as imbalanced-learn's, up to
exact ties in distance, on the sizes where their exact searches stay affordable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from imblearn.under_sampling import EditedNearestNeighbours, TomekLinks
from scipy import sparse, stats
from sklearn.utils import _safe_indexing

from fnguard.levers import sampler_base as base
from fnguard.levers.cells import CellIndex
from fnguard.levers.knn import count_within, nearest_other
from fnguard.levers.neighbors import FaissNeighbors
from fnguard.levers.sampler_base import (
    _exact_nn,
    _fast,
)
from fnguard.levers.segments import Segments, segment_bounds, segment_other

#: Query rows times index rows above which FastTomekLinks gives up the exact search of the
#: rows outside the largest class for an approximate one.
EXACT_WORK = 4_000_000_000
#: Distances (rows of a class times rows of another, summed over pairs) above which
#: FastEditedNearestNeighbours gives up its exact bounds for an approximate search.
CROSS_WORK = 20_000_000_000
#: Cells around each row whose k-th row bounds the search of SMOTE-ENN's segments.
FIRST_NEAR_CELLS = 32
#: Recall of neighbours that FastEditedNearestNeighbours's approximate path is calibrated to
#: (each row's fate hangs on all of its neighbours: higher than the default 0.97).
EDIT_RECALL = 0.99
#: Query rows times index rows up to which FastEditedNearestNeighbours's approximate path
#: searches the rows it would remove again, exactly.
VERIFY_WORK = 4_000_000_000


def _first_neighbour(nn: Any, X: Any, rows: np.ndarray) -> np.ndarray:
    """The nearest other row of each of ``rows``, by imbalanced-learn's convention (the
    second column of a search that includes the row itself)."""
    if len(rows) == 0:
        return np.empty(0, dtype=np.intp)
    return nn.kneighbors(_safe_indexing(X, rows), n_neighbors=2, return_distance=False)[:, 1]


class FastTomekLinks(TomekLinks):
    """Tomek links that search only the rows that can be in a link.

    A Tomek link joins two rows of different classes that are each other's nearest
    neighbour, so every link has an end outside the largest class. The nearest neighbour of
    those rows is searched, then that of their neighbours of another class: on 1% positives
    about 2% of the rows instead of all of them. Same parameters, same result and same
    ``sample_indices_`` as :class:`imblearn.under_sampling.TomekLinks`.

    When the rows outside the largest class are many (after SMOTE, half of the data) and an
    exact search of them would compute more than :data:`EXACT_WORK` distances, their nearest
    neighbours come from an approximate cell index (:class:`~fnguard.levers.cells.CellIndex`)
    and every link found is checked with an exact search: no false links, a few links may be missed.
    After :class:`~fnguard.levers.oversamplers.FastSMOTE` over-sampled one of two classes
    (:class:`~fnguard.levers.combined.FastSMOTETomek`), the
    searched rows are those of the over-sampled class whose other class may come nearer than
    their nearest row on their segment's line: exact at every size.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [1.0], [1.05], [2.0], [5.0]])
    >>> y = np.array([0, 1, 0, 0, 1, 0])
    >>> FastTomekLinks().fit_resample(X, y)[1].tolist()
    [1, 0, 0, 1, 0]
    """

    def _fit_resample(self, X: Any, y: np.ndarray) -> Any:
        n = X.shape[0]
        segments = self.__dict__.pop("_segments", None)
        # few columns: scikit-learn's exact k-d tree is faster than any bound here
        trees = X.shape[1] <= base.TREE_COLUMNS
        label = None if sparse.issparse(X) or trees else _over_sampled(segments, X, y)
        exact = _exact_nn(2, self.n_jobs).fit(X)
        if label is not None:  # after FastSMOTE (FastSMOTETomek)
            queries = self._segment_queries(X, y, label, segments)
        else:
            labels, counts = np.unique(y, return_counts=True)
            queries = np.flatnonzero(y != labels[np.argmax(counts)])
            if len(queries) * n > EXACT_WORK and not trees:
                approx = FaissNeighbors(
                    n_neighbors=2, algorithm="cells", n_jobs=self.n_jobs
                ).fit(X)
                first = _first_neighbour(approx, X, queries)
                # keep the rows whose approximate neighbour is of another class, then exact
                queries = queries[y[first] != y[queries]]
        first = _first_neighbour(exact, X, queries)
        other = y[first] != y[queries]
        ends, partners = queries[other], first[other]
        mutual = _first_neighbour(exact, X, partners) == ends
        links = np.zeros(n, dtype=bool)
        links[ends[mutual]] = True
        links[partners[mutual]] = True
        links &= np.isin(y, list(self.sampling_strategy_))
        self.sample_indices_ = np.flatnonzero(~links)
        return _safe_indexing(X, self.sample_indices_), _safe_indexing(y, self.sample_indices_)

    def _segment_queries(
        self, X: np.ndarray, y: np.ndarray, label: Any, segments: Segments
    ) -> np.ndarray:
        """The rows of the over-sampled class (of two: every link has one end in it) whose
        nearest other-class row may be nearer than their nearest row on their line."""
        X = np.asarray(X, dtype=np.float64)
        low, _ = segment_other(X, y, label, segments, np.zeros(len(y)), self.n_jobs)
        bound = segment_bounds(X, y, label, segments, 2)
        rows = np.flatnonzero(y == label)
        return rows[low[rows] <= bound[rows] ** 2 * (1 + 1e-9)]


def _self_first(found: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Approximate neighbours of ``rows`` with each row itself first: an approximate search
    may miss the row itself (its cell unprobed); then its farthest neighbour makes room."""
    own = found == rows[:, None]
    own[~own.any(axis=1), -1] = True
    others = found[~own].reshape(len(rows), found.shape[1] - 1)
    return np.concatenate([rows[:, None], others], axis=1)


def _over_sampled(segments: Segments | None, X: np.ndarray, y: np.ndarray) -> Any:
    """The class whose new rows ``segments`` describes, when y has two classes, every row
    past the originals is of that class and lies on its segment; else None."""
    if segments is None or len(np.unique(y)) != 2 or not segments.check(X):
        return None
    label = np.unique(y[segments.n_orig :])
    if len(label) != 1 or (y[segments.start] != label[0]).any():
        return None
    return label[0]


class FastEditedNearestNeighbours(EditedNearestNeighbours):
    """Edited Nearest Neighbours that searches exactly only the rows it cannot decide from
    bounds.

    A row is kept when its ``n_neighbors`` nearest rows are of its own class. One pass of
    float32 matrix products over every pair of classes bounds the distance of each row to
    its nearest row of another class (:func:`~fnguard.levers.knn.nearest_other`); an
    approximate cell index on the row's own class bounds the distance of its
    ``n_neighbors``-th own neighbour from above. A row whose other class is farther than that
    is kept (the index searches the row's own cell first, then more cells around it). For
    the rest, the rows of its own class surely closer than the other class, and
    those maybe as close, are counted (:func:`~fnguard.levers.knn.count_within`): enough
    surely closer keeps it; too few maybe as close removes it (``kind_sel="all"``); only the
    rows between get imbalanced-learn's exact search. Same parameters, same result and same
    ``sample_indices_`` as :class:`imblearn.under_sampling.EditedNearestNeighbours` with
    integer ``n_neighbors``.

    After :class:`~fnguard.levers.oversamplers.FastSMOTE` over-sampled one of two classes
    (:class:`~fnguard.levers.combined.FastSMOTEENN`), the
    pass compares the other class with the original rows of the over-sampled one only: the
    new rows' distances follow from their segments
    (:func:`~fnguard.levers.segments.segment_other`). Otherwise, when the pass would compute
    more than :data:`CROSS_WORK` distances, the neighbours come from an
    approximate cell index (:class:`~fnguard.levers.cells.CellIndex`) instead; the rows it
    would remove are then searched again exactly when that costs at most
    :data:`VERIFY_WORK` distances, so that no row imbalanced-learn keeps is removed (a row
    whose other-class neighbour was missed can still be kept).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [0.2], [0.3], [5.0], [5.1], [5.2], [0.15]])
    >>> y = np.array([0, 0, 0, 0, 0, 0, 0, 1])
    >>> FastEditedNearestNeighbours().fit_resample(X, y)[1].tolist()
    [0, 0, 0, 1]
    """

    def _fit_resample(self, X: Any, y: np.ndarray) -> Any:
        if self.kind_sel == "mode" and np.asarray(y).dtype.kind not in "iuf":
            return self._on_codes(X, y)
        segments = self.__dict__.pop("_segments", None)
        if (
            not isinstance(self.n_neighbors, int | np.integer)
            or X.shape[0] <= base.LARGE
            or X.shape[1] <= base.TREE_COLUMNS  # scikit-learn's k-d tree is faster there
            or sparse.issparse(X)
        ):
            self._validate_estimator()
            self.nn_ = _fast(self.nn_, X.shape)
            return super()._fit_resample(X, y)
        self._validate_estimator()  # imbalanced-learn's nn_, for users who read it
        k = int(self.n_neighbors) + 1  # the row itself comes first
        X_in, X = X, np.asarray(X, dtype=np.float64)
        exact = _exact_nn(k, self.n_jobs).fit(X)
        labels, counts = np.unique(y, return_counts=True)
        cleaned = [label for label in labels if label in self.sampling_strategy_]
        size = dict(zip(labels.tolist(), counts.tolist(), strict=True))
        work = sum(
            size[a] * size[b]
            for i, a in enumerate(size)
            for b in list(size)[i + 1 :]
            if a in cleaned or b in cleaned
        )
        label = _over_sampled(segments, X, y)
        if label is not None:  # after FastSMOTE (FastSMOTEENN): every size
            keep = self._segmented(X, y, cleaned, k, exact, segments, label)
        elif work > CROSS_WORK:
            keep = self._approximate(X, y, cleaned, k, exact)
        else:
            keep = self._bounded(X, y, cleaned, k, exact)
        # class by class, as imbalanced-learn orders them
        self.sample_indices_ = np.concatenate(
            [np.flatnonzero(keep & (y == label)) for label in labels]
        ).astype(np.intp)
        return _safe_indexing(X_in, self.sample_indices_), _safe_indexing(y, self.sample_indices_)

    def _on_codes(self, X: Any, y: np.ndarray) -> Any:
        """``kind_sel="mode"`` on labels that are not numbers (bool, text): the same choice
        on their integer codes in sorted order (scipy's mode, which imbalanced-learn calls,
        refuses them; ties go to the smallest label either way)."""
        classes, codes = np.unique(y, return_inverse=True)
        strategy = self.sampling_strategy_
        self.sampling_strategy_ = {
            int(np.searchsorted(classes, label)): n for label, n in strategy.items()
        }
        try:
            self._fit_resample(X, codes)
        finally:
            self.sampling_strategy_ = strategy
        return _safe_indexing(X, self.sample_indices_), _safe_indexing(y, self.sample_indices_)

    def _segmented(
        self, X: np.ndarray, y: np.ndarray, cleaned: list, k: int, exact: Any,
        segments: Segments, label: Any,
    ) -> np.ndarray:
        """Which rows are kept, exactly, after SMOTE over-sampled ``label`` (two classes): the
        other class's distances to the new rows come from their segments."""
        other = next(c for c in np.unique(y) if c != label)
        ceiling = np.zeros(len(y))
        start: dict = {}
        if other in cleaned:
            rows = np.flatnonzero(y == other)
            index = CellIndex(X[rows], n_jobs=self.n_jobs)
            # the k-th row among the nearest cells: beyond it, a row's other class need not
            # be known exactly (a tighter bound costs more here, and saves more in the search)
            n_near = max(1, min(FIRST_NEAR_CELLS, index.n_cells // 8))
            bound = index.cell_bounds(np.arange(len(rows)), k, n_near)
            ceiling[rows] = bound * bound * (1.0 + 1e-6)
            start[other] = (index, bound, 4 * n_near)
        low, high = segment_other(X, y, label, segments, ceiling, self.n_jobs)
        if label in cleaned:
            start[label] = (None, segment_bounds(X, y, label, segments, k)[y == label], 0)
        return self._bounded(X, y, cleaned, k, exact, (low, high), start)

    def _bounded(
        self, X: np.ndarray, y: np.ndarray, cleaned: list, k: int, exact: Any,
        other: tuple[np.ndarray, np.ndarray] | None = None, start: dict | None = None,
    ) -> np.ndarray:
        """Which rows are kept, exactly: bounds first, imbalanced-learn's search for the rest.

        ``other``: bounds of each row's squared distance to its other class, when known;
        ``start``: per class, its cell index (or None: count at once), the upper bounds of
        its rows' k-th neighbour already found, and the cells to search next."""
        keep = np.ones(len(y), dtype=bool)
        low, high = nearest_other(X, y, cleaned, self.n_jobs) if other is None else other
        start = start or {}
        for label in cleaned:
            rows = np.flatnonzero(y == label)
            unsure = np.ones(len(rows), dtype=bool)
            own, n_near = None, 1
            if label in start:
                own, bound, n_near = start[label]
                unsure = low[rows] <= bound * bound * (1 + 1e-9)
            elif len(rows) >= k:
                own = CellIndex(X[rows], n_jobs=self.n_jobs)
            if own is not None:
                per_cell = len(rows) / own.n_cells
                # the row's own cell, then more cells around it while a stage searches at
                # most 1/8 of the class (counting, below, reads all of it at a third of the
                # cost per row)
                while unsure.any() and (n_near == 1 or n_near * per_cell <= len(rows) / 8):
                    at = np.flatnonzero(unsure)
                    bound = own.cell_bounds(at, k, n_near)
                    unsure[at] = low[rows[at]] <= bound * bound * (1 + 1e-9)
                    n_near = 8 if n_near == 1 else 4 * n_near
            at = rows[unsure]
            if not len(at):
                continue
            surely, maybe = count_within(X[at], X[rows], low[at], high[at], self.n_jobs)
            # counts include the row itself; an other-class row at distance ~0 is a tie
            kept = (surely - 1 >= k - 1) & (low[at] > 0)
            removed = (maybe - 1 < k - 1) & (low[at] > 0) & (self.kind_sel == "all")
            keep[at] = kept
            open_ = at[~(kept | removed)]
            if len(open_):
                keep[open_] = self._keep(exact.kneighbors(X[open_], k, False), y, label)
        return keep

    def _approximate(
        self, X: np.ndarray, y: np.ndarray, cleaned: list, k: int, exact: Any
    ) -> np.ndarray:
        """Which rows are kept, from an approximate search (rows it would remove searched
        again exactly when affordable)."""
        keep = np.ones(len(y), dtype=bool)
        approx = FaissNeighbors(
            k, algorithm="cells", n_jobs=self.n_jobs, target_recall=EDIT_RECALL
        ).fit(X)
        for label in cleaned:
            rows = np.flatnonzero(y == label)
            found = approx.set_params(probe=None).kneighbors(X[rows], k, False)
            kept = self._keep(_self_first(found, rows), y, label)
            # A missed neighbour of the row's own class can let a farther row of another
            # class in: the rows to remove are searched again exactly when that is
            # affordable, so that no row is removed that imbalanced-learn would keep.
            drop = np.flatnonzero(~kept)
            if len(drop) and len(drop) * len(X) <= VERIFY_WORK:
                kept[drop] = self._keep(exact.kneighbors(X[rows[drop]], k, False), y, label)
            keep[rows] = kept
        return keep

    def _keep(self, neighbours: np.ndarray, y: np.ndarray, label: Any) -> np.ndarray:
        """imbalanced-learn's rule on neighbours that include the row itself first."""
        labels = y[neighbours[:, 1:]]
        if self.kind_sel == "mode":
            return np.ravel(stats.mode(labels, axis=1, keepdims=False)[0]) == label
        return np.all(labels == label, axis=1)
