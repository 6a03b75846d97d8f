"""SMOTE-Tomek and SMOTE-ENN: SMOTE, then a cleaning that reads where SMOTE drew each new row
(:mod:`fnguard.levers.segments`) to rule out most of its searches."""

from __future__ import annotations

from typing import Any

import numpy as np
from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.utils import check_target_type
from sklearn.utils import check_X_y

from fnguard.levers.cleaning import FastEditedNearestNeighbours, FastTomekLinks
from fnguard.levers.oversamplers import FastSMOTE
from fnguard.levers.sampler_base import (
    _NumbersOnly,
)


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
    """imbalanced-learn's SMOTE-Tomek on :class:`~fnguard.levers.oversamplers.FastSMOTE` and
    :class:`~fnguard.levers.cleaning.FastTomekLinks`.

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
    """imbalanced-learn's SMOTE-ENN on :class:`~fnguard.levers.oversamplers.FastSMOTE` and
    :class:`~fnguard.levers.cleaning.FastEditedNearestNeighbours`.

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
