"""Over-sampling levers: imbalanced-learn's SMOTE, Borderline-SMOTE, ADASYN, SMOTE-NC and
SMOTEN, with a fast neighbour search on large data
(:func:`~fnguard.levers.sampler_base._fast`) and the "too few rows" error; SMOTE and
Borderline-SMOTE build their synthetic rows in place (the same rows, bit for bit, with fewer
temporary copies).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from imblearn.over_sampling import ADASYN, SMOTE, SMOTEN, SMOTENC, BorderlineSMOTE
from scipy import sparse
from sklearn.utils import check_random_state

from fnguard.levers.neighbors import FaissNeighbors
from fnguard.levers.sampler_base import (
    _enough_rows,
    _fast,
    _NumbersOnly,
    _too_few_for_smote,
)
from fnguard.levers.segments import Segments
from fnguard.levers.threads import _n_threads, _threaded

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
