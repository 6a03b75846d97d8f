"""The cross-validated threshold tuner: a scikit-learn meta-classifier for a requirement.

:class:`ThresholdTuner` fits a binary classifier and sets its decision threshold with
:func:`~fnguard.decide.choose_threshold` on **out-of-fold** scores, so the threshold is never
chosen on scores the model saw in training. It mirrors scikit-learn's
``TunedThresholdClassifierCV`` (same ``cv``, ``refit`` and ``response_method`` semantics) but
optimises the requirement exactly: every distinct out-of-fold score is a candidate threshold,
and the objective is computed on the pooled out-of-fold scores rather than averaged over a
grid of thresholds fold by fold.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit, check_cv
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _num_samples, check_is_fitted, column_or_1d, indexable

from fnguard.decide.policies import Decision, choose_threshold
from fnguard.decide.requirement import Requirement, parse_requirement
from fnguard.errors import FnguardWarning, RequirementError

_RESPONSE_METHODS = ("auto", "predict_proba", "decision_function")


def _estimator_has(attr: str):
    """``available_if`` check: the fitted estimator, else the unfitted one, has ``attr``."""

    def check(self: ThresholdTuner) -> bool:
        if hasattr(self, "estimator_"):
            getattr(self.estimator_, attr)
        else:
            getattr(self.estimator, attr)
        return True

    return check


def _fold_params(params: dict[str, Any], n: int, indices: np.ndarray) -> dict[str, Any]:
    """Fit parameters of one fold: per-row arrays (``sample_weight``) are indexed."""
    out = {}
    for key, value in params.items():
        if value is not None and hasattr(value, "__len__") and not isinstance(value, str):
            try:
                per_row = _num_samples(value) == n
            except TypeError:
                per_row = False
            out[key] = _safe_indexing(value, indices) if per_row else value
        else:
            out[key] = value
    return out


def _positive_scores(estimator: Any, X: Any, method: str, column: int = 1) -> np.ndarray:
    """Scores of the positive class (``classes_[column]``): higher means more likely positive."""
    raw = np.asarray(getattr(estimator, method)(X))
    if method == "predict_proba":
        if raw.ndim != 2 or raw.shape[1] != 2:
            raise ValueError(
                f"The estimator's predict_proba returned an array of shape {raw.shape}; a "
                "binary classifier returns (n_samples, 2). Fit it on two classes."
            )
        return raw[:, column].astype(np.float64)
    # a binary decision function scores classes_[1]
    score = raw.reshape(raw.shape[0], -1)[:, -1].astype(np.float64)
    return score if column == 1 else -score


def _fit_and_score(
    estimator: Any,
    X: Any,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    method: str,
    params: dict[str, Any],
    column: int = 1,
) -> tuple[Any, np.ndarray]:
    """Fit a clone on ``train`` and score ``test``: one fold of the out-of-fold scores."""
    n = _num_samples(X)
    model = clone(estimator)
    model.fit(_safe_indexing(X, train), _safe_indexing(y, train), **_fold_params(params, n, train))
    return model, _positive_scores(model, _safe_indexing(X, test), method, column)


class ThresholdTuner(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Binary classifier whose threshold meets a requirement on out-of-fold scores.

    ``fit`` computes out-of-fold scores of ``estimator`` (each row scored by a model that did
    not train on it), chooses the threshold with :func:`~fnguard.decide.choose_threshold` on
    them, and refits ``estimator`` on all the data. ``predict`` flags ``pos_label_`` where
    the refitted model's score is **at or above** ``threshold_``.

    Parameters
    ----------
    estimator : estimator instance
        The binary classifier, with ``predict_proba`` or ``decision_function``. With
        ``cv="prefit"`` it must be fitted already.
    requirement : str or Requirement, default="recall>=0.95"
        What the threshold must achieve: ``"recall>=0.95"``, ``"fpr<=0.01"``, ``"f1"``,
        ``"fbeta:2"``, ``"youden"``, ``"cost:fn=50,fp=1"``, ``"recall>=0.95 @95%"`` ... (see
        :func:`~fnguard.decide.parse_requirement`). A guarantee (``@95%``) is exact when
        ``estimator_`` is the model that scored the calibration rows: ``cv`` a float with
        ``refit=False``, or ``cv="prefit"``. With k folds (or a refit) the out-of-fold scores
        come from other models than ``estimator_``, so it holds only approximately, and
        ``decision_.notes`` says so.
    cv : int, float, cross-validation generator, iterable or "prefit", default=5
        Where the out-of-fold scores come from:

        * an int ``k``: ``StratifiedKFold(k, shuffle=True, random_state=random_state)``;
        * a float in (0, 1): one stratified holdout of that fraction
          (``StratifiedShuffleSplit``), as in ``TunedThresholdClassifierCV``;
        * a splitter or an iterable of ``(train, test)`` index arrays; every test row's score
          counts (a row tested twice counts twice);
        * ``"prefit"``: ``estimator`` is already fitted and the data passed to ``fit`` is a
          calibration set it never trained on; it is only scored.
    refit : bool, default=True
        Whether ``estimator_`` is fitted on all the data once the threshold is chosen. With
        ``refit=False`` (as in ``TunedThresholdClassifierCV``) there must be a single split:
        ``estimator_`` is then the model fitted on its training part, so the threshold was
        chosen on data that model never saw; ``cv="prefit"`` requires ``refit=False``.
    response_method : {"auto", "predict_proba", "decision_function"}, default="auto"
        The score thresholded: ``"auto"`` uses ``predict_proba`` (column of ``classes_[1]``)
        when the estimator has it, else ``decision_function``.
    random_state : int, RandomState instance or None, default=None
        Shuffling of the folds (``cv`` an int or a float) and seed of the bootstrap intervals
        of ``decision_``.
    n_jobs : int or None, default=None
        Folds fitted in parallel (joblib).
    n_boot : int, default=200
        Bootstrap replicates of the metric intervals and of the threshold interval in
        ``decision_``; 0 skips them (faster).
    pos_label : int, float, bool, str or None, default=None
        The class the requirement is about (the one whose misses count). None: the class the
        requirement names (``"fraud: recall>=0.95"``), else ``classes_[1]`` as in
        scikit-learn; with text labels whose ``classes_[1]`` is the majority, a
        :class:`~fnguard.errors.FnguardWarning` asks to check that.

    Attributes
    ----------
    estimator_ : estimator instance
        The fitted classifier that scores new rows.
    threshold_ : float
        Scores of ``pos_label_`` ``>=`` it are predicted ``pos_label_`` (``inf``: nothing is).
    pos_label_ : int, float, bool or str
        The positive class.
    decision_ : Decision
        The choice on the out-of-fold scores: whether the requirement is met, the objective,
        the metrics with intervals and the threshold's own interval.
    requirement_ : Requirement
        The parsed requirement.
    oof_scores_ : ndarray of shape (n_scored,)
        The out-of-fold scores the threshold was chosen on (test rows in split order).
    response_method_ : str
        The method thresholded: ``"predict_proba"`` or ``"decision_function"``.
    classes_ : ndarray of shape (2,)
        The class labels, sorted.
    n_features_in_ : int
        Number of features seen by ``estimator_`` (when it records it).
    feature_names_in_ : ndarray of str
        Feature names seen by ``estimator_`` (when X had string column names).

    See Also
    --------
    fnguard.decide.choose_threshold : The threshold policy applied to the out-of-fold scores.
    sklearn.model_selection.TunedThresholdClassifierCV : Maximises a scorer averaged over folds
        on a grid of thresholds.

    Notes
    -----
    When no threshold meets a constraint on the out-of-fold scores, ``fit`` still succeeds:
    the threshold is the point that comes closest (``decision_.met`` is False) and a
    :class:`~fnguard.errors.FnguardWarning` says how far it falls short.

    ``predict_proba``, ``predict_log_proba`` and ``decision_function`` return the inner
    estimator's outputs unchanged; only ``predict`` applies ``threshold_``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_classification(n_samples=400, weights=[0.9], random_state=0)
    >>> tuner = ThresholdTuner(LogisticRegression(), "recall>=0.9", random_state=0, n_boot=0)
    >>> tuner = tuner.fit(X, y)
    >>> bool(tuner.decision_.met), tuner.decision_.metrics["recall"].value >= 0.9
    (True, True)
    >>> bool(((tuner.predict_proba(X)[:, 1] >= tuner.threshold_) == tuner.predict(X)).all())
    True
    """

    def __init__(
        self,
        estimator: Any,
        requirement: str | Requirement = "recall>=0.95",
        cv: Any = 5,
        refit: bool = True,
        *,
        response_method: str = "auto",
        random_state: Any = None,
        n_jobs: int | None = None,
        n_boot: int = 200,
        pos_label: Any = None,
    ) -> None:
        self.estimator = estimator
        self.requirement = requirement
        self.cv = cv
        self.refit = refit
        self.response_method = response_method
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.n_boot = n_boot
        self.pos_label = pos_label

    # -- fitting -------------------------------------------------------------------------------

    def _response_method(self, estimator: Any) -> str:
        """The method whose output is thresholded."""
        if self.response_method not in _RESPONSE_METHODS:
            raise ValueError(
                f"'response_method' must be one of {', '.join(map(repr, _RESPONSE_METHODS))}. "
                f"Got {self.response_method!r} instead."
            )
        if self.response_method == "auto":
            for method in ("predict_proba", "decision_function"):
                if hasattr(estimator, method):
                    return method
            raise ValueError(
                f"The estimator {type(estimator).__name__} has neither predict_proba nor "
                "decision_function: ThresholdTuner needs scores to threshold."
            )
        if not hasattr(estimator, self.response_method):
            raise ValueError(
                f"response_method={self.response_method!r}, but the estimator "
                f"{type(estimator).__name__} has no {self.response_method}: pass "
                "response_method='auto'."
            )
        return self.response_method

    def _splits(
        self, X: Any, y: np.ndarray, groups: Any = None
    ) -> list[tuple[np.ndarray, np.ndarray]] | str:
        """The (train, test) splits the out-of-fold scores come from, or ``"prefit"``."""
        cv = self.cv
        if isinstance(cv, str):
            if cv != "prefit":
                raise ValueError(
                    "'cv' must be an int >= 2, a float in (0, 1), a splitter, an iterable of "
                    f"(train, test) splits or 'prefit'. Got {cv!r} instead."
                )
            if self.refit:
                raise ValueError(
                    "When cv='prefit', refit cannot be True: the fitted estimator is used as "
                    "is. Pass refit=False."
                )
            try:
                check_is_fitted(self.estimator)
            except NotFittedError as exc:
                raise NotFittedError(
                    "When cv='prefit', 'estimator' must be fitted already: fit it on training "
                    "data and pass calibration data it never saw to ThresholdTuner.fit."
                ) from exc
            return "prefit"
        if isinstance(cv, numbers.Real) and not isinstance(cv, numbers.Integral | bool):
            if not 0 < cv < 1:
                raise ValueError(
                    "A float 'cv' is the calibration fraction and must be in (0, 1). "
                    f"Got {cv!r} instead."
                )
            splitter = StratifiedShuffleSplit(
                n_splits=1, test_size=cv, random_state=self.random_state
            )
        elif isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
            if cv < 2:
                raise ValueError(
                    f"An int 'cv' is the number of folds and must be >= 2. Got {cv!r} instead."
                )
            splitter = StratifiedKFold(int(cv), shuffle=True, random_state=self.random_state)
        elif cv is None or isinstance(cv, bool):
            raise ValueError(
                "'cv' must be an int >= 2, a float in (0, 1), a splitter, an iterable of "
                f"(train, test) splits or 'prefit'. Got {cv!r} instead."
            )
        else:
            splitter = check_cv(cv, y, classifier=True)
        splits = [(np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(X, y, groups)]
        if not splits:
            raise ValueError("'cv' gave no split: pass at least one (train, test) split.")
        if not self.refit and len(splits) > 1:
            raise ValueError(
                f"When cv has several folds ({len(splits)} here), refit cannot be False: no "
                "single fold model saw the data. Pass refit=True, or a float cv for one "
                "holdout split."
            )
        return splits

    def _positive(self, req: Any, classes: np.ndarray, y: np.ndarray) -> Any:
        """The positive class: ``pos_label``, the class the requirement names, or
        ``classes[1]``."""
        from fnguard.data.target import match_label

        listed = classes.tolist()
        if self.pos_label is not None:
            found = match_label(self.pos_label, listed)
            if found is None:
                raise ValueError(
                    f"pos_label={self.pos_label!r} is not one of the classes {listed}: pass "
                    "one of them."
                )
            if req.label is not None and match_label(req.label, [found]) is None:
                raise RequirementError(
                    f"The requirement {req.text!r} is about class {req.label!r}, but "
                    f"pos_label is {found!r}: drop the class prefix or change pos_label."
                )
            return classes[listed.index(found)]
        if req.label is not None:
            found = match_label(req.label, listed)
            if found is None:
                raise RequirementError(
                    f"The requirement {req.text!r} is about class {req.label!r}, which is not "
                    f"one of the classes {listed}."
                )
            return classes[listed.index(found)]
        share = float(np.mean(y == classes[1]))
        if classes.dtype.kind in "OUS" and share > 0.5:
            other, majority = (c.item() if isinstance(c, np.generic) else c for c in classes)
            warnings.warn(
                f"The requirement {req.text!r} is about classes_[1] = {majority!r}, the "
                f"majority class ({share:.0%} of rows), as scikit-learn takes the class that "
                f"sorts last as positive. If the rare class {other!r} is the one whose "
                f"misses count, pass pos_label={other!r}.",
                FnguardWarning,
                stacklevel=3,
            )
        return classes[1]

    def fit(self, X: Any, y: Any, *, groups: Any = None, **fit_params: Any) -> ThresholdTuner:
        """Choose the threshold on out-of-fold scores and fit the final classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, as the estimator accepts it (a DataFrame passes unchanged).
        y : array-like of shape (n_samples,)
            Binary target.
        groups : array-like of shape (n_samples,), optional
            Group labels for a group-aware ``cv`` splitter (``GroupKFold`` ...); not passed
            to the estimator.
        **fit_params : dict
            Passed to ``estimator.fit`` (``sample_weight`` and other per-row arrays are
            indexed for each fold). Rows of zero ``sample_weight`` are also left out of the
            threshold choice; other weights do not weigh it (the requirement counts rows).

        Returns
        -------
        self : ThresholdTuner
            The fitted tuner.

        Raises
        ------
        ValueError
            For a target that is not binary, or invalid ``cv``, ``refit`` or
            ``response_method``.
        RequirementError
            For a requirement that does not parse, asks for a guarantee per group, or a
            guarantee with too few positives to be given.
        """
        req = parse_requirement(self.requirement)
        if req.per is not None:
            raise RequirementError(
                f"The requirement {req.text!r} asks for a guarantee per {req.per!r}, which "
                "ThresholdTuner cannot give: use choose_threshold(y, scores, requirement, "
                "groups=...) on calibration scores."
            )
        X, y = indexable(X, y)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            # scikit-learn's estimator checks look for these first words.
            raise ValueError(
                "Only binary classification is supported. Unknown label type: "
                f"{y_type!r}. ThresholdTuner needs a target with two classes: pass, for "
                "instance, y == label."
            )
        y = column_or_1d(y, warn=True)
        splits = self._splits(X, y, groups)
        method = self._response_method(self.estimator)
        classes = np.asarray(
            self.estimator.classes_ if splits == "prefit" else np.unique(y)
        )
        if classes.size == 2:
            positive = self._positive(req, classes, y)
            column = int(np.flatnonzero(classes == positive)[0])
        else:
            positive, column = None, 1  # refused below

        if splits == "prefit":
            self.estimator_ = self.estimator
            scores = _positive_scores(self.estimator_, X, method, column)
            labels = y
        else:
            folds = Parallel(n_jobs=self.n_jobs)(
                delayed(_fit_and_score)(
                    self.estimator, X, y, train, test, method, fit_params, column
                )
                for train, test in splits
            )
            scores = np.concatenate([s for _, s in folds])
            labels = np.concatenate([y[test] for _, test in splits])
            if self.refit:
                self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
            else:
                self.estimator_ = folds[0][0]
        weight = fit_params.get("sample_weight")
        if weight is not None:
            # A row of zero weight is not in the data: it does not vote on the threshold.
            weight = np.asarray(weight, dtype=np.float64).reshape(-1)
            scored = (
                weight if splits == "prefit" else np.concatenate([weight[t] for _, t in splits])
            )
            keep = scored > 0
            scores, labels = scores[keep], labels[keep]
            if np.unique(labels).size < 2:
                raise ValueError(
                    "With this sample_weight only one class has rows of positive weight among "
                    "the out-of-fold scores, so no threshold can be chosen: give both classes "
                    "a positive sample_weight."
                )
        if classes.size != 2:
            raise ValueError(
                f"The estimator was fitted on {classes.size} classes ({classes.tolist()}); "
                "ThresholdTuner needs two. Pass a target with both classes."
            )

        seed = self.random_state if isinstance(self.random_state, numbers.Integral) else 0
        decision = choose_threshold(
            labels == positive,
            scores,
            req,
            positive=True,
            n_boot=self.n_boot,
            random_state=int(seed),
        )
        if req.guaranteed and splits != "prefit" and (len(splits) > 1 or self.refit):
            decision.approximate = True
            decision.notes.append(
                f"The guarantee was computed on held-out scores of {len(splits)} fold "
                "model(s), not of estimator_: it holds approximately. For an exact "
                "guarantee pass a float cv (a calibration holdout) with refit=False, or "
                "cv='prefit' with calibration data."
            )
        if not decision.met:
            warnings.warn(
                f"{decision.describe()} The threshold is set at that closest point "
                f"({decision.threshold:.6g}); decision_.met is False.",
                FnguardWarning,
                stacklevel=2,
            )
        self.requirement_ = req
        self.decision_: Decision = decision
        self.threshold_ = float(decision.threshold)
        self.oof_scores_ = scores
        self.classes_ = classes
        self.pos_label_ = positive
        self._column = column
        self.response_method_ = method
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        return self

    # -- prediction ----------------------------------------------------------------------------

    def predict(self, X: Any) -> np.ndarray:
        """Predict ``pos_label_`` where its score is at or above ``threshold_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        ndarray of shape (n_samples,)
            Predicted class labels.
        """
        check_is_fitted(self, "estimator_")
        column = getattr(self, "_column", 1)
        scores = _positive_scores(self.estimator_, X, self.response_method_, column)
        flagged = scores >= self.threshold_
        return self.classes_[np.where(flagged, column, 1 - column)]

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the fitted estimator (not affected by the threshold).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log class probabilities of the fitted estimator (not affected by the threshold).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision function of the fitted estimator (not shifted by the threshold).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.decision_function(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.classifier_tags.multi_class = False
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags
