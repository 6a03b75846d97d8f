"""What fnguard's samplers share: the size rules that give them a fast neighbour search, the
exact search they fall back on, and their input checks.

- :func:`_fast` gives imbalanced-learn's samplers a
  :class:`~fnguard.levers.neighbors.FaissNeighbors` in place of scikit-learn's search on more
  than :data:`LARGE` rows and :data:`TREE_COLUMNS` columns;
- :func:`_exact_nn` is scikit-learn's exact search, ranking ties as imbalanced-learn does;
- :func:`_enough_rows` and :class:`_NumbersOnly` turn too few rows and categorical columns
  into a :class:`~fnguard.errors.DataError` that says what to do.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.neighbors import NearestNeighbors

from fnguard.errors import DataError
from fnguard.levers.neighbors import FaissNeighbors

#: Rows above which neighbour-based samplers search with faiss instead of scikit-learn.
LARGE = 20_000
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
            from fnguard.data.names import plural

            fix = (f"Lower {param} to at most {n - extra} or use"
                   if n - extra >= 1 else f"No value of {param} works with so few: use")
            raise DataError(
                f"{type(sampler).__name__} needs at least {k + extra} rows of class {name} "
                f"for {param}={k}: originally there {'is' if n == 1 else 'are'} "
                f"{plural(n, 'row')} of class {name} and {k} neighbours were asked. {fix} "
                f"a sampler that needs no neighbours inside a class: {_NO_NEIGHBOURS}."
            )


def _too_few_for_smote(sampler: Any, y: np.ndarray) -> None:
    classes = [c for c, n in sampler.sampling_strategy_.items() if n > 0]
    _enough_rows(sampler, y, classes, "k_neighbors", 1)


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
