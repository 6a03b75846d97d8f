"""Resampling levers: imbalanced-learn's samplers, with a fast neighbour search on large data.

Each neighbour-based sampler here is imbalanced-learn's class with two changes:

- ``fit_resample`` raises :class:`~fnguard.errors.DataError` when a class has too few rows for
  the neighbours asked for, saying how many there are and which samplers still work;
- on more than :data:`LARGE` rows and :data:`TREE_COLUMNS` columns (below, scikit-learn's
  k-d tree is exact and faster, and every sampler keeps imbalanced-learn's own searches), the
  neighbour searches imbalanced-learn would run on
  scikit-learn's brute force go to :class:`~fnguard.levers.neighbors.FaissNeighbors`, which
  is exact unless one search would compute more than
  :data:`~fnguard.levers.neighbors.AUTO_APPROXIMATE_WORK` distances (then a cell index,
  :class:`~fnguard.levers.knn.CellIndex`). A
  neighbour object passed by the user is kept as it is;
- SMOTE and Borderline-SMOTE build their synthetic rows in place (the same rows, bit for
  bit, with fewer temporary copies).

Tomek links, Edited Nearest Neighbours and NearMiss-1 and -2 have their own algorithms, exact
and equal to imbalanced-learn's (up to exact ties in distance) on the sizes where their exact
searches stay affordable (see each class):

- :class:`FastTomekLinks` searches the nearest neighbour of the rows outside the largest class
  only, then of their neighbours, instead of every row (after SMOTE, only the new class's rows
  that its segments cannot rule out);
- :class:`FastEditedNearestNeighbours` proves most rows safe with a cheap bound (their
  nearest row of another class is farther than an upper bound of their k-th neighbour from an
  approximate cell index) and searches exactly only the rest; after SMOTE (in
  :class:`FastSMOTEENN`) it bounds distances to the new rows from their segments;
- :class:`FastNearMiss` (version 2) keeps the sum of the distances to the farthest minority
  rows in blocks instead of sorting every distance to every minority row; version 1 on large
  data scores exactly only the rows that float32 bounds cannot rule out.

Importing the module registers the levers ``random-under``, ``random-over``, ``tomek``,
``nearmiss-1/2/3``, ``enn``, ``smote``, ``borderline-smote-1/2``, ``adasyn``, ``smote-tomek``,
``smote-enn``, ``smote-nc`` and ``smoten``.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.over_sampling import (
    ADASYN,
    SMOTE,
    SMOTEN,
    SMOTENC,
    BorderlineSMOTE,
    RandomOverSampler,
)
from imblearn.under_sampling import (
    EditedNearestNeighbours,
    NearMiss,
    RandomUnderSampler,
    TomekLinks,
)
from imblearn.utils import check_target_type
from scipy import sparse, stats
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import _safe_indexing, check_random_state, check_X_y

from fnguard.errors import DataError
from fnguard.levers.knn import (
    CellIndex,
    _n_threads,
    _threaded,
    count_within,
    farthest_selection,
    nearest_distances,
    nearest_other,
    nearest_selection,
)
from fnguard.levers.neighbors import AUTO_APPROXIMATE_WORK, FaissNeighbors
from fnguard.levers.registry import register
from fnguard.levers.segments import Segments, segment_bounds, segment_other

__all__ = [
    "LARGE",
    "FastADASYN",
    "FastBorderlineSMOTE",
    "FastEditedNearestNeighbours",
    "FastNearMiss",
    "FastSMOTE",
    "FastSMOTEENN",
    "FastSMOTEN",
    "FastSMOTENC",
    "FastSMOTETomek",
    "FastTomekLinks",
]

#: Rows above which neighbour-based samplers search with faiss instead of scikit-learn.
LARGE = 20_000
#: Query rows times index rows above which FastTomekLinks gives up the exact search of the
#: rows outside the largest class for an approximate one.
EXACT_WORK = 4_000_000_000
#: Distances (rows of a class times rows of another, summed over pairs) above which
#: FastEditedNearestNeighbours gives up its exact bounds for an approximate search.
CROSS_WORK = 20_000_000_000
#: Cells around each row whose k-th row bounds the search of SMOTE-ENN's segments.
FIRST_NEAR_CELLS = 32
#: Recall of neighbours NearMiss-3's approximate search is calibrated to (the majority rows it
#: keeps are the neighbours found: at the default 0.97 its PR-AUC in the benchmark fell 0.0058
#: below imbalanced-learn's, at 0.99 by 0.0023).
NEARMISS_RECALL = 0.99
#: Recall of neighbours that FastEditedNearestNeighbours's approximate path is calibrated to
#: (each row's fate hangs on all of its neighbours: higher than the default 0.97).
EDIT_RECALL = 0.99
#: Query rows times index rows up to which FastEditedNearestNeighbours's approximate path
#: searches the rows it would remove again, exactly.
VERIFY_WORK = 4_000_000_000
#: Samplers that need no neighbours inside a class, named in the "too few rows" error.
_NO_NEIGHBOURS = "random-over, random-under, tomek or enn"


#: Columns up to which scikit-learn searches neighbours with a k-d tree (its own rule for
#: ``algorithm="auto"``): fast there, and imbalanced-learn's exact answer, ties included.
TREE_COLUMNS = 15


def _fast(nn: Any, shape: tuple[int, ...]) -> Any:
    """``nn`` itself, or a FaissNeighbors in its place when imbalanced-learn made it from an
    integer, the data is large, and scikit-learn would search it by brute force (more than
    :data:`TREE_COLUMNS` columns)."""
    rows, columns = shape[0], shape[1] if len(shape) > 1 else 1
    if (
        type(nn) is NearestNeighbors
        and rows > LARGE
        and columns > TREE_COLUMNS
        and nn.metric == "minkowski"
    ):
        return FaissNeighbors(n_neighbors=nn.n_neighbors, n_jobs=nn.n_jobs)
    return nn


def _enough_rows(sampler: Any, y: np.ndarray, classes: Any, param: str, extra: int) -> None:
    """Raise DataError when a class in ``classes`` has fewer than ``param + extra`` rows."""
    k = getattr(sampler, param)
    k = k.n_neighbors - 1 if hasattr(k, "n_neighbors") else int(k)
    counts = Counter(y.tolist())
    for label in classes:
        n = counts.get(label, 0)
        name = repr(label.item() if isinstance(label, np.generic) else label)
        if n < k + extra:
            raise DataError(
                f"{type(sampler).__name__} needs at least {k + extra} rows of class {name} "
                f"for {param}={k}: originally there are {n} rows of class {name} and {k} "
                f"neighbours were asked. Lower {param} to at most {max(n - extra, 0)} or use "
                f"a sampler that needs no neighbours inside a class: {_NO_NEIGHBOURS}."
            )


def _too_few_for_smote(sampler: Any, y: np.ndarray) -> None:
    classes = [c for c, n in sampler.sampling_strategy_.items() if n > 0]
    _enough_rows(sampler, y, classes, "k_neighbors", 1)


#: Synthetic rows built by one task of the threaded generation.
_GEN_CHUNK = 32_768


def _generate_into(
    out: np.ndarray,
    X: np.ndarray,
    nn_data: np.ndarray,
    rows: np.ndarray,
    chosen: np.ndarray,
    steps: np.ndarray,
    factor: np.ndarray | None = None,
    n_jobs: int | None = None,
) -> None:
    """``out[i] = X[rows[i]] + steps[i] * (nn_data[chosen[i]] - X[rows[i]])`` (the difference
    first multiplied by ``factor[i]`` when given), in chunks on threads and in
    imbalanced-learn's order and precision of operations: the same rows, bit for bit."""
    from threadpoolctl import threadpool_limits

    def chunk(start: int) -> None:
        at = slice(start, start + _GEN_CHUNK)
        base = X[rows[at]]
        diffs = nn_data[chosen[at]]
        diffs -= base  # in X's dtype, as imbalanced-learn
        if factor is not None:
            diffs *= factor[at, None]  # 1.0 (exact) except toward another class
        if diffs.dtype == np.float64:
            diffs *= steps[at]
            diffs += base
            out[at] = diffs
        else:  # imbalanced-learn's float64 steps make the rest float64, then cast back
            wide = steps[at] * diffs
            wide += base
            out[at] = wide

    starts = range(0, len(rows), _GEN_CHUNK)
    with threadpool_limits(1):
        _threaded(chunk, starts, _n_threads(n_jobs) if len(starts) > 1 else 1)


def _threaded_copy(out: np.ndarray, X: np.ndarray) -> None:
    """``out[:len(X)] = X`` in chunks on threads (the first touch of fresh pages is most of
    the cost of a large copy)."""

    def chunk(start: int) -> None:
        end = min(start + _GEN_CHUNK, len(X))
        out[start:end] = X[start:end]

    _threaded(chunk, range(0, len(X), _GEN_CHUNK), _n_threads(None))


def _classes_to_sample(
    sampler: Any, X: np.ndarray, y: np.ndarray
) -> Iterator[tuple[Any, int, np.ndarray, np.ndarray]]:
    """imbalanced-learn's loop over the classes to over-sample: ``(label, n_new, rows,
    X_rows)`` for every class of ``sampling_strategy_`` that gets new rows."""
    for label, n_samples in sampler.sampling_strategy_.items():
        if n_samples == 0:
            continue
        rows = np.flatnonzero(y == label)
        yield label, n_samples, rows, X[rows]


class _InPlaceSamples:
    """imbalanced-learn's ``_generate_samples`` on dense data, threaded and with fewer
    temporary arrays (the same rows, bit for bit); written straight into a :class:`_Stacked`
    output by :meth:`_sample_into`."""

    def _generate_samples(
        self,
        X: Any,
        nn_data: Any,
        nn_num: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        steps: np.ndarray,
        y_type: Any = None,
        y: np.ndarray | None = None,
    ) -> Any:
        if sparse.issparse(X) or sparse.issparse(nn_data):
            return super()._generate_samples(  # type: ignore[misc]
                X, nn_data, nn_num, rows, cols, steps, y_type, y
            )
        chosen = nn_num[rows, cols]
        if "_drawn" in self.__dict__:  # FastSMOTE keeps where the new rows lie
            self._drawn.append((rows, chosen, np.ravel(steps)))
        factor = None
        if y is not None:  # Borderline-SMOTE-2: shorter steps toward another class
            random_state = check_random_state(self.random_state)  # type: ignore[attr-defined]
            other = y[chosen] != y_type
            factor = np.ones(len(rows))
            factor[other] = random_state.uniform(low=0.0, high=0.5, size=other.sum())
        out = self.__dict__.pop("_into", None)
        if out is None:
            out = np.empty((len(rows), X.shape[1]), dtype=X.dtype)
        _generate_into(out, X, nn_data, rows, chosen, steps, factor,
                       getattr(self, "n_jobs", None))
        return out

    def _sample_into(
        self, out: _Stacked, X: np.ndarray, y_dtype: Any, y_type: Any, nn_data: np.ndarray,
        nn_num: np.ndarray, n_samples: int, **kwargs: Any,
    ) -> None:
        """imbalanced-learn's ``_make_samples``, its rows written into the next ``n_samples``
        rows of ``out``."""
        self._into = out.take(n_samples)
        _, y_new = self._make_samples(  # type: ignore[attr-defined]
            X, y_dtype, y_type, nn_data, nn_num, n_samples, **kwargs
        )
        out.add(y_new)


class _Stacked:
    """The resampled output, allocated once: the original rows, then room for the synthetic
    ones (imbalanced-learn copies the data, then stacks each class's new rows on it)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, room: int) -> None:
        self.X = np.empty((len(X) + room, X.shape[1]), dtype=X.dtype)
        self.y = np.empty(len(y) + room, dtype=y.dtype)
        _threaded_copy(self.X, X)
        self.y[: len(y)] = y
        self.filled = len(X)

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` rows of the output, to be written, then recorded by :meth:`add`."""
        return self.X[self.filled : self.filled + n]

    def add(self, y_new: np.ndarray) -> None:
        """Record the ``len(y_new)`` rows written into the last :meth:`take`, and their labels."""
        self.y[self.filled : self.filled + len(y_new)] = y_new
        self.filled += len(y_new)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        if self.filled < len(self.y):  # a class without rows to sample from
            return self.X[: self.filled].copy(), self.y[: self.filled].copy()
        return self.X, self.y


class _NumbersOnly:
    """A sampler that interpolates between rows: categorical columns get a DataError that
    names them and the samplers that take them, instead of numpy's conversion error."""

    def fit_resample(self, X: Any, y: Any, **params: Any) -> Any:
        _check_numbers(self, X)
        return super().fit_resample(X, y, **params)  # type: ignore[misc]


def _check_numbers(sampler: Any, X: Any) -> None:
    """Raise DataError when ``X`` holds columns that are not numbers."""
    if sparse.issparse(X):
        return
    names: list[str] = []
    if hasattr(X, "dtypes") and hasattr(X, "columns"):
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        names = [
            str(c)
            for c, t in zip(X.columns, X.dtypes, strict=True)
            if not (is_numeric_dtype(t) or is_bool_dtype(t))
        ]
        if not names:
            return
    else:
        arr = np.asarray(X)
        if arr.dtype.kind not in "OUS":
            return
        try:
            arr.astype(np.float64)
            return
        except (TypeError, ValueError):
            pass
    which = f"the columns {names[:10]}" if names else "some columns"
    raise DataError(
        f"{type(sampler).__name__} interpolates numbers, but {which} of X are categories "
        "(text or category dtype). Use 'smote-nc' for a mix of numbers and categories or "
        "'smoten' for categories only, encode the categories first, or let "
        "fnguard.levers.build([...], schema=...) choose from the schema."
    )


class FastSMOTE(_NumbersOnly, _InPlaceSamples, SMOTE):
    """imbalanced-learn's SMOTE with faiss neighbours on large data (see the module)."""

    def _validate_estimator(self) -> None:
        super()._validate_estimator()
        self.nn_k_ = _fast(self.nn_k_, self._shape)

    def _fit_resample(self, X: Any, y: np.ndarray) -> Any:
        _too_few_for_smote(self, y)
        self._shape = X.shape
        want = self.__dict__.pop("_want_segments", False)
        if sparse.issparse(X):
            return super()._fit_resample(X, y)
        self._validate_estimator()
        out = _Stacked(X, y, sum(self.sampling_strategy_.values()))
        drawn = []
        for class_sample, n_samples, rows, X_class in _classes_to_sample(self, X, y):
            self.nn_k_.fit(X_class)
            nns = self.nn_k_.kneighbors(X_class, return_distance=False)[:, 1:]
            self._drawn: list = []
            self._sample_into(out, X_class, y.dtype, class_sample, X_class, nns, n_samples)
            drawn += [(rows, *made) for made in self.__dict__.pop("_drawn")]
        if want and len(drawn) == 1:  # where the new rows lie, for FastSMOTEENN
            rows, start, end, step = drawn[0]
            self._segments = Segments(len(X), rows[start], rows[end], step)
        return out.result()


class FastBorderlineSMOTE(_NumbersOnly, _InPlaceSamples, BorderlineSMOTE):
    """imbalanced-learn's Borderline-SMOTE with faiss neighbours on large data."""

    def _validate_estimator(self) -> None:
        super()._validate_estimator()
        self.nn_k_ = _fast(self.nn_k_, self._shape)
        self.nn_m_ = _fast(self.nn_m_, self._shape)
        if isinstance(self.nn_k_, FaissNeighbors) and isinstance(self.nn_m_, FaissNeighbors):
            # borderline-2 fits both on the whole data: one index for the two
            self.nn_k_._share = self.nn_m_

    def _fit_resample(self, X: Any, y: np.ndarray) -> Any:
        if self.kind != "borderline-2":  # borderline-2 finds its neighbours in every class
            _too_few_for_smote(self, y)
        self._shape = X.shape
        if sparse.issparse(X):
            return super()._fit_resample(X, y)
        return self._dense_resample(X, y)

    def _dense_resample(self, X: np.ndarray, y: np.ndarray) -> Any:
        """imbalanced-learn's ``_fit_resample`` on dense data, its synthetic rows written
        straight into one output array (no copy of the data, no stacking)."""
        self._validate_estimator()
        out = _Stacked(X, y, sum(self.sampling_strategy_.values()))
        self.in_danger_indices = {}
        for class_sample, n_samples, target_class_indices, X_class in _classes_to_sample(
            self, X, y
        ):
            self.nn_m_.fit(X)
            mask_danger = self._in_danger_noise(
                self.nn_m_, X_class, class_sample, y, kind="danger"
            )
            if not any(mask_danger):
                continue
            X_danger = X_class[mask_danger]
            self.in_danger_indices[class_sample] = target_class_indices[mask_danger]
            if self.kind == "borderline-1":
                X_to_sample_from, y_to_check_neighbors = X_class, None
            else:
                X_to_sample_from, y_to_check_neighbors = X, y
            self.nn_k_.fit(X_to_sample_from)
            nns = self.nn_k_.kneighbors(X_danger, return_distance=False)[:, 1:]
            self._sample_into(out, X_danger, y.dtype, class_sample, X_to_sample_from, nns,
                              n_samples, y=y_to_check_neighbors)
        return out.result()


class FastADASYN(_NumbersOnly, ADASYN):
    """imbalanced-learn's ADASYN with faiss neighbours on large data.

    The same rows as imbalanced-learn's, but where its rounding would generate no row at all
    (a few new rows spread over many minority rows, each share rounded to 0) and so raise,
    the rows to generate go by largest remainder instead: the minority rows with the most
    neighbours of another class get one each.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(100, 2)), np.r_[np.zeros(60, int), np.ones(40, int)]
    >>> np.bincount(FastADASYN(sampling_strategy=0.7, random_state=0).fit_resample(X, y)[1])
    array([60, 42])
    """

    def _validate_estimator(self) -> None:
        super()._validate_estimator()
        self.nn_ = _fast(self.nn_, self._shape)

    def _fit_resample(self, X: Any, y: np.ndarray) -> Any:
        classes = [c for c, n in self.sampling_strategy_.items() if n > 0]
        _enough_rows(self, y, classes, "n_neighbors", 1)
        self._shape = X.shape
        if sparse.issparse(X):
            return super()._fit_resample(X, y)
        return self._dense_resample(X, y)

    def _dense_resample(self, X: np.ndarray, y: np.ndarray) -> Any:
        """imbalanced-learn's ``_fit_resample`` on dense data (the same rows, bit for bit):
        the neighbour searches first, then one output array filled on threads."""
        self._validate_estimator()
        random_state = check_random_state(self.random_state)
        plans = []
        for class_sample, n_samples, target_class_indices, X_class in _classes_to_sample(
            self, X, y
        ):
            self.nn_.fit(X)
            nns = self.nn_.kneighbors(X_class, return_distance=False)[:, 1:]
            n_neighbors = self.nn_.n_neighbors - 1
            ratio_nn = np.sum(y[nns] != class_sample, axis=1) / n_neighbors
            if not np.sum(ratio_nn):
                raise RuntimeError(
                    "Not any neigbours belong to the majority class. This case will induce a "
                    "NaN case with a division by zero. ADASYN is not suited for this specific "
                    "dataset. Use SMOTE instead."
                )
            ratio_nn /= np.sum(ratio_nn)
            n_samples_generate = np.rint(ratio_nn * n_samples).astype(int)
            if not n_samples_generate.any():  # imbalanced-learn raises here
                n_samples_generate = _largest_remainder(ratio_nn, n_samples)
            n_samples = int(np.sum(n_samples_generate))
            self.nn_.fit(X_class)
            nns = self.nn_.kneighbors(X_class, return_distance=False)[:, 1:]
            rows = np.repeat(np.arange(len(target_class_indices)), n_samples_generate)
            cols = random_state.choice(n_neighbors, size=n_samples)
            steps = random_state.uniform(size=(n_samples, 1))
            plans.append((class_sample, X_class, rows, nns[rows, cols], steps))
        out = _Stacked(X, y, sum(len(plan[2]) for plan in plans))
        for class_sample, X_class, rows, chosen, steps in plans:
            _generate_into(out.take(len(rows)), X_class, X_class, rows, chosen, steps)
            out.add(np.full(len(rows), class_sample, dtype=y.dtype))
        return out.result()


def _largest_remainder(shares: np.ndarray, n: int) -> np.ndarray:
    """``n`` split in proportion to ``shares`` (summing to 1) in whole numbers: the floors,
    then one more for the largest remainders (ties to the first rows).

    Examples
    --------
    >>> _largest_remainder(np.array([0.5, 0.3, 0.2]), 2).tolist()
    [1, 1, 0]
    """
    exact = shares * n
    out = np.floor(exact).astype(int)
    rest = n - int(out.sum())
    if rest > 0:
        out[np.argsort(-(exact - out), kind="stable")[:rest]] += 1
    return out


#: Bytes of the (new rows x neighbours x one-hot levels) block SMOTE-NC builds at once.
SMOTENC_BLOCK_BYTES = 2**28


class FastSMOTENC(SMOTENC):
    """imbalanced-learn's SMOTE-NC with the "too few rows" error, in bounded memory;
    scikit-learn neighbours (its distance mixes numeric and categorical columns).

    imbalanced-learn picks each new row's categories from a dense (new rows x neighbours x
    one-hot levels) array: 38 GB for 20,000 new rows with 5 neighbours and 48,000 levels.
    Here each categorical feature's most frequent levels are found in blocks of rows of at
    most :data:`SMOTENC_BLOCK_BYTES`, and the ties between them are broken with
    imbalanced-learn's random stream over all the rows at once: the same rows, bit for bit.
    """

    def _fit_resample(self, X: Any, y: np.ndarray) -> Any:
        _too_few_for_smote(self, y)
        return super()._fit_resample(X, y)

    def _generate_samples(
        self, X: Any, nn_data: Any, nn_num: Any, rows: Any, cols: Any, steps: Any, y_type: Any,
        y: Any = None,
    ) -> Any:
        import itertools
        import math

        per_row = max(1, nn_num.shape[1] * nn_data.shape[1] * 8)
        if len(rows) <= max(1, SMOTENC_BLOCK_BYTES // per_row):
            return super()._generate_samples(X, nn_data, nn_num, rows, cols, steps, y_type, y)
        # imbalanced-learn's steps (SMOTENC._generate_samples), the neighbours' level counts
        # taken feature by feature and block by block
        rng = check_random_state(self.random_state)
        X_new = super(SMOTENC, self)._generate_samples(X, nn_data, nn_num, rows, cols, steps)
        X_new = X_new.tolil() if sparse.issparse(X_new) else X_new
        nn_data = nn_data.toarray() if sparse.issparse(nn_data) else np.array(nn_data)
        if math.isclose(self.median_std_[y_type], 0):
            nn_data[:, self.continuous_features_.size :] = self._X_categorical_minority_encoded
        neighbours = nn_num[rows]
        sizes = [self.continuous_features_.size] + [
            cat.size for cat in self.categorical_encoder_.categories_
        ]
        edges = np.cumsum(sizes)
        for start, end in itertools.pairwise(edges):
            width = max(1, int(end - start))
            step = max(1, SMOTENC_BLOCK_BYTES // (neighbours.shape[1] * width * 8))
            found = []
            for first in range(0, len(rows), step):
                block = nn_data[neighbours[first : first + step], start:end]
                col_maxs = block.sum(axis=1)
                is_max = np.isclose(col_maxs, col_maxs.max(axis=1, keepdims=True))
                pairs = np.argwhere(is_max)
                pairs[:, 0] += first
                found.append(pairs)
            max_idxs = rng.permutation(np.concatenate(found))
            xs, idx_sels = np.unique(max_idxs[:, 0], return_index=True)
            X_new[:, start:end] = 0
            X_new[xs, start + max_idxs[idx_sels, 1]] = 1
        return X_new


class FastSMOTEN(SMOTEN):
    """imbalanced-learn's SMOTEN with the "too few rows" error; scikit-learn neighbours on its
    value-difference distance."""

    def _fit_resample(self, X: Any, y: np.ndarray) -> Any:
        _too_few_for_smote(self, y)
        return super()._fit_resample(X, y)


class _QueryOrderNeighbors(NearestNeighbors):
    """scikit-learn's exact search, with rows at equal distance ranked as it ranks them when
    it searches many queries at once.

    scikit-learn's brute search splits its work over the queries when they are many, and
    over the indexed rows when the queries are few; the two keep different rows among those
    at equal distance. imbalanced-learn searches every row of a class at once (split over
    the queries); our samplers search the few rows their bounds leave, so they ask
    scikit-learn's search for the same split (its ``ArgKmin`` with
    ``strategy="parallel_on_X"``; the ordinary search where that is not usable).
    """

    def kneighbors(
        self, X: Any = None, n_neighbors: int | None = None, return_distance: bool = True
    ) -> Any:
        try:
            from sklearn.metrics._pairwise_distances_reduction import ArgKmin
        except ImportError:  # pragma: no cover - a scikit-learn without it
            ArgKmin = None
        if X is not None and X.shape[0] == 0:  # ArgKmin divides by the rows: SIGFPE on none
            k = self.n_neighbors if n_neighbors is None else n_neighbors
            ind = np.empty((0, k), dtype=np.intp)
            return (np.empty((0, k)), ind) if return_distance else ind
        if (
            X is None
            or ArgKmin is None
            or getattr(self, "_fit_method", None) != "brute"
            or not ArgKmin.is_usable_for(X, self._fit_X, self.effective_metric_)
        ):
            return super().kneighbors(X, n_neighbors, return_distance)
        return ArgKmin.compute(
            X=np.asarray(X, dtype=self._fit_X.dtype),
            Y=self._fit_X,
            k=self.n_neighbors if n_neighbors is None else n_neighbors,
            metric=self.effective_metric_,
            metric_kwargs=self.effective_metric_params_,
            strategy="parallel_on_X",
            return_distance=return_distance,
        )


def _exact_nn(n_neighbors: int, n_jobs: int | None) -> NearestNeighbors:
    """Exact neighbours, as imbalanced-learn finds them (scikit-learn's float64 search was
    faster than faiss's flat index on the few queries left here), ties included."""
    return _QueryOrderNeighbors(n_neighbors=n_neighbors, n_jobs=n_jobs)


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
    neighbours come from an approximate cell index (:class:`~fnguard.levers.knn.CellIndex`)
    and every link found is checked with an exact search: no false links, a few links may be missed.
    After :class:`FastSMOTE` over-sampled one of two classes (:class:`FastSMOTETomek`), the
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
        trees = X.shape[1] <= TREE_COLUMNS
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

    After :class:`FastSMOTE` over-sampled one of two classes (:class:`FastSMOTEENN`), the
    pass compares the other class with the original rows of the over-sampled one only: the
    new rows' distances follow from their segments
    (:func:`~fnguard.levers.segments.segment_other`). Otherwise, when the pass would compute
    more than :data:`CROSS_WORK` distances, the neighbours come from an
    approximate cell index (:class:`~fnguard.levers.knn.CellIndex`) instead; the rows it
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
        segments = self.__dict__.pop("_segments", None)
        if (
            not isinstance(self.n_neighbors, int | np.integer)
            or X.shape[0] <= LARGE
            or X.shape[1] <= TREE_COLUMNS  # scikit-learn's k-d tree is faster there
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


class FastNearMiss(NearMiss):
    """imbalanced-learn's NearMiss, with a fast index on large data for NearMiss-1 and -3 and
    a NearMiss-2 that computes only the distances it needs.

    - NearMiss-1 keeps the majority rows with the smallest sum of distances to their
      ``n_neighbors`` nearest minority rows. Above
      :data:`~fnguard.levers.neighbors.AUTO_APPROXIMATE_WORK` distances, one pass of float32
      matrix products bounds every majority row's score, and only the rows whose bound can
      reach the selection are scored by imbalanced-learn's search
      (:func:`~fnguard.levers.knn.nearest_selection`): exact, same result;
    - NearMiss-3 searches the minority rows against the majority: an approximate
      :class:`~fnguard.levers.knn.CellIndex` above
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
            and X.shape[1] > TREE_COLUMNS  # scikit-learn's k-d tree is faster below
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
                chosen = nearest_selection(X[rows], minority_X, k, n_keep, exact, self.n_jobs)
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


class _HandsOverSegments:
    """imbalanced-learn's SMOTE-then-clean ``_fit_resample``, with SMOTE's draws handed to
    the cleaner (its attribute ``_cleaner``) when both are ours."""

    _cleaner: str
    _cleans_with: type

    def _fit_resample(self, X: Any, y: np.ndarray) -> Any:
        self._validate_estimator()  # type: ignore[attr-defined]
        y = check_target_type(y)
        X, y = check_X_y(X, y, accept_sparse=["csr", "csc"])
        self.sampling_strategy_ = self.sampling_strategy  # type: ignore[attr-defined]
        smote, cleaner = self.smote_, getattr(self, self._cleaner)  # type: ignore[attr-defined]
        handing = isinstance(smote, FastSMOTE) and isinstance(cleaner, self._cleans_with)
        if handing:
            smote._want_segments = True
        X_res, y_res = smote.fit_resample(X, y)
        segments = smote.__dict__.pop("_segments", None)
        if handing and segments is not None:
            cleaner._segments = segments
        return cleaner.fit_resample(X_res, y_res)


class FastSMOTETomek(_NumbersOnly, _HandsOverSegments, SMOTETomek):
    """imbalanced-learn's SMOTE-Tomek on :class:`FastSMOTE` and :class:`FastTomekLinks`.

    When SMOTE over-sampled one of two classes, the Tomek links are searched from the rows
    of that class only, and only from those whose nearest other-class row may come closer
    than their nearest row on their own segment's line (bounds from the segments:
    :func:`~fnguard.levers.segments.segment_other`,
    :func:`~fnguard.levers.segments.segment_bounds`): exact, same result as
    imbalanced-learn's.
    """

    _cleaner, _cleans_with = "tomek_", FastTomekLinks

    def _validate_estimator(self) -> None:
        super()._validate_estimator()
        if self.smote is None:
            self.smote_ = FastSMOTE(
                sampling_strategy=self.sampling_strategy, random_state=self.random_state
            )
        if self.tomek is None:
            self.tomek_ = FastTomekLinks(sampling_strategy="all", n_jobs=self.n_jobs)


class FastSMOTEENN(_NumbersOnly, _HandsOverSegments, SMOTEENN):
    """imbalanced-learn's SMOTE-ENN on :class:`FastSMOTE` and
    :class:`FastEditedNearestNeighbours`.

    When SMOTE over-sampled one of two classes, the editing knows where each new row lies:
    on a segment between two original rows. A row's squared distance to any point of a
    segment follows from its distances to the segment's two ends, so the rows of the other
    class are compared with the original minority rows only, and each new row's nearest
    other-class row is bounded from those of its segment's ends
    (:func:`~fnguard.levers.segments.segment_other`); the new rows of a segment lie on one
    line, which bounds their own neighbours (:func:`~fnguard.levers.segments.segment_bounds`).
    Same result as imbalanced-learn's.
    """

    _cleaner, _cleans_with = "enn_", FastEditedNearestNeighbours

    def _validate_estimator(self) -> None:
        super()._validate_estimator()
        if self.smote is None:
            self.smote_ = FastSMOTE(
                sampling_strategy=self.sampling_strategy, random_state=self.random_state
            )
        if self.enn is None:
            self.enn_ = FastEditedNearestNeighbours(sampling_strategy="all", n_jobs=self.n_jobs)


# --- the levers -------------------------------------------------------------------------


#: Smallest ratio of minority to majority rows a resampling lever's search asks for.
RATIO_LOW = 0.25
#: Least change a searched ratio asks of the data: 10% more minority rows (over-sampling) or
#: about 9% fewer majority rows (under-sampling), so that there is something to generate.
RATIO_STEP = 0.1


def _ratio(trial: Any, name: str) -> float:
    """Minority rows per majority row after resampling.

    imbalanced-learn refuses a ratio at or below the data's own (over-sampling would have to
    remove minority rows or generate none): when the search says what the data's ratio is
    (the trial's ``class_ratio``, the largest over its training folds), the range starts
    :data:`RATIO_STEP` above it.
    """
    data = float(getattr(trial, "class_ratio", 0.0) or 0.0)
    low = min(1.0, max(RATIO_LOW, data * (1.0 + RATIO_STEP)))
    return trial.suggest_float(f"{name}.sampling_strategy", low, 1.0)


def _ratio_space(name: str) -> Any:
    return lambda trial: {"sampling_strategy": _ratio(trial, name)}


def _k_range(trial: Any, low: int, high: int) -> tuple[int, int]:
    """Neighbours a search may ask for: at most the minority rows less one (the trial's
    ``minority_rows``, the fewest over its training folds, when the search says it)."""
    rows = getattr(trial, "minority_rows", None)
    if rows:
        high = max(1, min(high, int(rows) - 1))
        low = min(low, high)
    return low, high


def _k_space(name: str, param: str, low: int, high: int) -> Any:
    def space(trial: Any) -> dict[str, Any]:
        return {
            "sampling_strategy": _ratio(trial, name),
            param: trial.suggest_int(f"{name}.{param}", *_k_range(trial, low, high)),
        }

    return space


register(
    "random-under",
    "resampling",
    "sampler",
    "Drop majority rows at random until the classes reach the asked ratio.",
    "Random under-sampling throws information away: the majority rows it drops are lost.",
    search=_ratio_space("random-under"),
)(RandomUnderSampler)

register(
    "random-over",
    "resampling",
    "sampler",
    "Repeat minority rows at random until the classes reach the asked ratio.",
    "Repeated rows let flexible models memorise the few positives and overfit them.",
    search=_ratio_space("random-over"),
)(RandomOverSampler)

register(
    "tomek",
    "resampling",
    "sampler",
    "Drop majority rows that form Tomek links (mutual nearest neighbours across classes).",
    "Removes few rows; on heavily overlapping classes it barely changes the balance.",
)(FastTomekLinks)


def _nearmiss(version: int) -> Any:
    def make(**params: Any) -> FastNearMiss:
        return FastNearMiss(version=version, **params)

    return make


_NEARMISS = {
    1: "Keep the majority rows nearest on average to their closest minority rows.",
    2: "Keep the majority rows nearest on average to their farthest minority rows.",
    3: "Keep, for each minority row, its nearest majority rows.",
}
for _version, _summary in _NEARMISS.items():
    register(
        f"nearmiss-{_version}",
        "resampling",
        "sampler",
        _summary,
        "NearMiss keeps the hardest negatives and can distort the distribution.",
        search=_k_space(f"nearmiss-{_version}", "n_neighbors", 1, 10),
    )(_nearmiss(_version))


def _enn_space(trial: Any) -> dict[str, Any]:
    return {
        "n_neighbors": trial.suggest_int("enn.n_neighbors", 2, 7),
        "kind_sel": trial.suggest_categorical("enn.kind_sel", ["all", "mode"]),
    }


register(
    "enn",
    "resampling",
    "sampler",
    "Drop majority rows whose nearest neighbours are not all of their class.",
    "Edited Nearest Neighbours can remove many majority rows near the boundary, raising FPs.",
    search=_enn_space,
)(FastEditedNearestNeighbours)

register(
    "smote",
    "resampling",
    "sampler",
    "Add synthetic minority rows on segments between a minority row and its neighbours.",
    "SMOTE can blur the class boundary: synthetic rows land in majority regions.",
    search=_k_space("smote", "k_neighbors", 2, 10),
)(FastSMOTE)


def _borderline(kind: str) -> Any:
    def make(**params: Any) -> FastBorderlineSMOTE:
        return FastBorderlineSMOTE(kind=kind, **params)

    return make


def _borderline_space(name: str) -> Any:
    def space(trial: Any) -> dict[str, Any]:
        return {
            **_k_space(name, "k_neighbors", 2, 10)(trial),
            "m_neighbors": trial.suggest_int(f"{name}.m_neighbors", 5, 20),
        }

    return space


for _kind in ("borderline-1", "borderline-2"):
    register(
        f"borderline-smote-{_kind[-1]}",
        "resampling",
        "sampler",
        "SMOTE from the minority rows near the boundary only"
        + (" (toward any neighbour)." if _kind.endswith("2") else "."),
        "Borderline-SMOTE amplifies label noise: mislabelled rows look like boundary rows.",
        search=_borderline_space(f"borderline-smote-{_kind[-1]}"),
    )(_borderline(_kind))

register(
    "adasyn",
    "resampling",
    "sampler",
    "Add synthetic minority rows, more where the minority is surrounded by the majority.",
    "ADASYN concentrates synthetic rows on outliers and noise among the positives.",
    search=_k_space("adasyn", "n_neighbors", 2, 10),
)(FastADASYN)

register(
    "smote-tomek",
    "resampling",
    "sampler",
    "SMOTE, then drop both rows of every Tomek link.",
    "SMOTE can blur the class boundary; the Tomek cleaning removes positives too.",
    search=_ratio_space("smote-tomek"),
)(FastSMOTETomek)

register(
    "smote-enn",
    "resampling",
    "sampler",
    "SMOTE, then Edited Nearest Neighbours on both classes.",
    "SMOTE can blur the class boundary; ENN on both classes can remove many positives.",
    search=_ratio_space("smote-enn"),
)(FastSMOTEENN)


def _smote_nc(categorical_features: Any = "auto", **params: Any) -> FastSMOTENC:
    return FastSMOTENC(categorical_features=categorical_features, **params)


register(
    "smote-nc",
    "resampling",
    "sampler",
    "SMOTE for mixed data: numeric columns interpolated, categories from the neighbours.",
    "Needs categorical_features; SMOTE can blur the class boundary.",
    search=_k_space("smote-nc", "k_neighbors", 2, 10),
)(_smote_nc)

register(
    "smoten",
    "resampling",
    "sampler",
    "SMOTE for categorical-only data: each category from the minority neighbours.",
    "Every column must be categorical; synthetic rows can combine rare categories oddly.",
    search=_k_space("smoten", "k_neighbors", 2, 10),
)(FastSMOTEN)
