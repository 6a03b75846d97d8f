"""Calibrate scores so that a probability of 0.3 means 30 positives in 100.

Four maps from a model's score to a probability, each fitted on held-out labels:

``"temperature"``
    ``sigmoid(z / T)`` on the logit ``z`` (Guo et al. 2017, "On calibration of modern neural
    networks"). One parameter, keeps the ranking, and is the fix for saturated scores: an
    over-confident model piles its probabilities at 0 and 1, so no threshold between 0.05 and
    0.95 changes a decision; dividing the logits by ``T > 1`` spreads them out again.
``"platt"``
    ``sigmoid(a z + b)`` (Platt 1999): temperature with a shift, fitted by plain maximum
    likelihood (no target smoothing), as a logistic regression on ``z``.
``"isotonic"``
    The best non-decreasing step function of the score (Zadrozny and Elkan 2002), through
    ``sklearn.isotonic.IsotonicRegression``. Flexible; needs more data and creates ties.
``"beta"``
    ``sigmoid(a ln p - b ln(1 - p) + c)`` with ``a, b >= 0`` (Kull, Silva Filho and Flach
    2017, "Beyond sigmoids"): fixes probabilities that are skewed, not only too confident.

Probabilities become logits through a **clipped** logit: ``p`` is clipped to
``[EPS, 1 - EPS]`` with ``EPS = 1e-15`` before ``log(p / (1 - p))``, so that a printed 1.0 or
0.0 gives a finite logit of about +-34.5. ``1e-15`` is the smallest round distance from 1
that float64 still resolves (its spacing just below 1 is 1.1e-16), so clipping loses no order
that the probabilities still held. Logits (``input="logit"``, e.g. ``decision_function`` or a
network's last layer before the sigmoid) are used as they are.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression

from fnguard.errors import ArtifactError, DataError
from fnguard.metrics._validation import binary_labels
from fnguard.metrics.calibration import brier_score, log_loss, reliability, saturation
from fnguard.metrics.confusion import confusion_curve

__all__ = [
    "EPS",
    "METHODS",
    "Calibrator",
    "calibrate",
    "calibration_report",
]

#: Probabilities are clipped to ``[EPS, 1 - EPS]`` before their logit is taken.
EPS = 1e-15
#: The calibration methods, in order of flexibility.
METHODS = ("temperature", "platt", "beta", "isotonic")
_INPUTS = ("auto", "probability", "logit")
# Temperatures searched, as log T: wide enough for margins of any scale.
_LOG_T_BOUNDS = (np.log(1e-6), np.log(1e6))


def _check_method(method: Any) -> str:
    if method not in METHODS:
        valid = ", ".join(repr(m) for m in METHODS)
        raise DataError(f"Unknown calibration method {method!r}: use one of {valid}.")
    return str(method)


def _check_scores(scores: Any, n: int | None = None, name: str = "scores") -> np.ndarray:
    """Finite one-dimensional float64 scores, or a DataError that says which rows are bad."""
    try:
        s = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"'{name}' must be numeric: pass the model's probability or logit of the "
            "positive class."
        ) from None
    if s.ndim != 1:
        raise DataError(
            f"'{name}' must be one-dimensional. Got an array of shape {s.shape}: pass the "
            "score of the positive class only (e.g. predict_proba(X)[:, 1])."
        )
    if s.size == 0:
        raise DataError(f"'{name}' is empty: pass at least one score.")
    if n is not None and s.size != n:
        raise DataError(f"'y' has {n} rows but '{name}' has {s.size}: pass one score per label.")
    bad = ~np.isfinite(s)
    if bad.any():
        n_nan = int(np.isnan(s).sum())
        raise DataError(
            f"'{name}' must be finite. Got {n_nan} NaN and {int(bad.sum()) - n_nan} infinite "
            f"values (first at row {int(np.flatnonzero(bad)[0])}): drop those rows, or pass "
            "probabilities instead of infinite logits."
        )
    return s


def _check_probability(s: np.ndarray, name: str = "scores") -> None:
    outside = (s < 0.0) | (s > 1.0)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise DataError(
            f"'{name}' must be probabilities in [0, 1] for this calibrator (fitted with "
            f"input='probability'). Got {int(outside.sum())} values outside (first: "
            f"{float(s[first])!r} at row {first}): pass probabilities, or refit with input='logit'."
        )


def _clipped_logit(p: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))`` of ``p`` clipped to ``[EPS, 1 - EPS]``: finite for 0 and 1."""
    p = np.clip(p, EPS, 1.0 - EPS)
    return np.log(p) - np.log1p(-p)


def _nll(z: np.ndarray, sign: np.ndarray) -> float:
    """Mean negative log-likelihood of logits ``z`` for labels given as ``sign = +-1``."""
    return float(np.mean(np.logaddexp(0.0, -sign * z)))


def _fit_logistic(features: np.ndarray, is_pos: np.ndarray) -> tuple[np.ndarray, float]:
    """Unpenalised logistic regression by damped Newton steps; returns ``(coef, intercept)``.

    Features are standardised while fitting, for conditioning. On separable data the
    likelihood has no maximum; the fit then stops after a bounded number of steps with large
    coefficients, i.e. confident probabilities, as the data ask.
    """
    n, k = features.shape
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    X = np.column_stack([(features - mean) / scale, np.ones(n)])
    t = is_pos.astype(np.float64)
    sign = 2.0 * t - 1.0
    w = np.zeros(k + 1)
    rate = t.mean()
    w[-1] = np.log(rate) - np.log1p(-rate)
    loss = _nll(X @ w, sign)
    for _ in range(100):
        p = expit(X @ w)
        grad = X.T @ (p - t) / n
        if np.max(np.abs(grad)) < 1e-12:
            break
        hess = (X.T * (p * (1.0 - p))) @ X / n + 1e-12 * np.eye(k + 1)
        step = np.linalg.solve(hess, grad)
        slope = float(grad @ step)
        size = 1.0
        while size > 1e-10:
            trial = w - size * step
            trial_loss = _nll(X @ trial, sign)
            if trial_loss <= loss - 1e-4 * size * slope:
                break
            size /= 2
        else:
            break
        converged = loss - trial_loss <= 1e-15 * max(1.0, loss)
        w, loss = trial, trial_loss
        if converged:
            break
    coef = w[:k] / scale
    return coef, float(w[k] - coef @ mean)


def _beta_features(z: np.ndarray) -> np.ndarray:
    """``[ln p, -ln(1 - p)]`` for ``p = sigmoid(z)``, computed stably from the logit."""
    return np.column_stack([-np.logaddexp(0.0, -z), np.logaddexp(0.0, z)])


class Calibrator:
    """A map from a model's scores to calibrated probabilities, fitted on labelled scores.

    Build one with :func:`calibrate`, or ``Calibrator(method).fit(scores, y)``.

    Parameters
    ----------
    method : {"temperature", "platt", "beta", "isotonic"}, default="temperature"
        The map; see the module's description.
    input : {"auto", "probability", "logit"}, default="auto"
        What the scores are. ``"auto"`` reads them as probabilities when all lie in [0, 1],
        else as logits (or margins).
    positive : scalar, default=1
        The label of the positive class in ``y``.

    Attributes
    ----------
    input_ : str
        ``"probability"`` or ``"logit"``: how the fitted calibrator reads scores.
    temperature_ : float
        The temperature ``T`` (method ``"temperature"``).
    coef_ : float or ndarray of shape (2,)
        ``a`` (``"platt"``) or ``[a, b]`` (``"beta"``).
    intercept_ : float
        ``b`` (``"platt"``) or ``c`` (``"beta"``).
    x_thresholds_, y_thresholds_ : ndarray
        The isotonic steps (``"isotonic"``), as ``IsotonicRegression`` keeps them.

    Examples
    --------
    >>> cal = Calibrator("platt").fit([0.1, 0.4, 0.6, 0.8, 0.3, 0.9], [0, 0, 1, 1, 1, 0])
    >>> cal.transform([0.5]).shape
    (1,)
    """

    _PARAMS: ClassVar[dict[str, tuple[str, ...]]] = {
        "temperature": ("temperature_",),
        "platt": ("coef_", "intercept_"),
        "beta": ("coef_", "intercept_"),
        "isotonic": ("x_thresholds_", "y_thresholds_"),
    }

    def __init__(self, method: str = "temperature", *, input: str = "auto", positive: Any = 1):
        self.method = method
        self.input = input
        self.positive = positive

    def __repr__(self) -> str:
        return f"Calibrator(method={self.method!r})"

    def fit(self, scores: Any, y: Any) -> Calibrator:
        """Fit the map on scores and their true labels.

        Parameters
        ----------
        scores : array-like of shape (n_samples,)
            Probabilities or logits of the positive class, from data the model was not
            trained on (out of fold, or a held-out set).
        y : array-like of shape (n_samples,)
            The true labels; both classes must occur.

        Returns
        -------
        Calibrator
            ``self``, fitted.
        """
        method = _check_method(self.method)
        if self.input not in _INPUTS:
            raise DataError(
                f"'input' must be one of {', '.join(map(repr, _INPUTS))}. Got {self.input!r}: "
                "say whether the scores are probabilities or logits, or pass 'auto'."
            )
        is_pos = binary_labels(y, self.positive)
        s = _check_scores(scores, is_pos.size)
        n_pos = int(is_pos.sum())
        if n_pos in (0, is_pos.size):
            raise DataError(
                f"'y' holds only one class ({n_pos} positive rows out of {is_pos.size}): "
                "calibration needs both classes; pass labelled rows of each."
            )
        if self.input == "auto":
            self.input_ = "probability" if s.min() >= 0.0 and s.max() <= 1.0 else "logit"
        else:
            self.input_ = self.input
            if self.input_ == "probability":
                _check_probability(s)
        for attr in {a for names in self._PARAMS.values() for a in names}:
            self.__dict__.pop(attr, None)
        sign = 2.0 * is_pos - 1.0
        if method == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            iso.fit(s, is_pos.astype(np.float64))
            self.x_thresholds_ = np.asarray(iso.X_thresholds_, dtype=np.float64)
            self.y_thresholds_ = np.asarray(iso.y_thresholds_, dtype=np.float64)
            return self
        z = self._logit(s)
        if method == "temperature":
            res = minimize_scalar(
                lambda log_t: _nll(z * np.exp(-log_t), sign),
                bounds=_LOG_T_BOUNDS,
                method="bounded",
                options={"xatol": 1e-10},
            )
            self.temperature_ = float(np.exp(res.x))
        elif method == "platt":
            coef, self.intercept_ = _fit_logistic(z[:, None], is_pos)
            self.coef_ = float(coef[0])
        else:
            self.coef_, self.intercept_ = self._fit_beta(_beta_features(z), is_pos)
        return self

    @staticmethod
    def _fit_beta(features: np.ndarray, is_pos: np.ndarray) -> tuple[np.ndarray, float]:
        """Kull et al.'s fit: drop a feature whose coefficient comes out negative, refit."""
        coef, intercept = _fit_logistic(features, is_pos)
        keep = [0, 1]
        if coef[0] < 0:
            keep = [1]
        elif coef[1] < 0:
            keep = [0]
        full = np.zeros(2)
        if len(keep) == 1:
            sub, intercept = _fit_logistic(features[:, keep], is_pos)
            if sub[0] < 0:  # no monotone beta map helps: predict the base rate
                rate = is_pos.mean()
                return full, float(np.log(rate) - np.log1p(-rate))
            full[keep] = sub
        else:
            full[:] = coef
        return full, intercept

    def _check_fitted(self) -> None:
        if not hasattr(self, "input_"):
            raise DataError(
                "This Calibrator is not fitted yet: call fit(scores, y) or use calibrate()."
            )

    def _logit(self, s: np.ndarray) -> np.ndarray:
        return _clipped_logit(s) if self.input_ == "probability" else s

    def transform(self, scores: Any) -> np.ndarray:
        """Calibrated probabilities of the positive class.

        Parameters
        ----------
        scores : array-like of shape (n_samples,)
            Scores of the same kind as those the calibrator was fitted on.

        Returns
        -------
        ndarray of float64 in [0, 1], shape (n_samples,)
        """
        self._check_fitted()
        s = _check_scores(scores)
        if self.input_ == "probability":
            _check_probability(s)
        if self.method == "isotonic":
            return np.interp(s, self.x_thresholds_, self.y_thresholds_)
        z = self._logit(s)
        if self.method == "temperature":
            return expit(z / self.temperature_)
        if self.method == "platt":
            return expit(self.coef_ * z + self.intercept_)
        return expit(_beta_features(z) @ self.coef_ + self.intercept_)

    def to_dict(self) -> dict[str, Any]:
        """The fitted calibrator as plain JSON-ready values (no pickle needed).

        Examples
        --------
        >>> cal = calibrate([0.2, 0.9, 0.7, 0.1], [0, 1, 0, 1], "temperature")
        >>> sorted(cal.to_dict())
        ['input', 'method', 'params']
        """
        self._check_fitted()
        params = {}
        for name in self._PARAMS[self.method]:
            value = getattr(self, name)
            params[name] = value.tolist() if isinstance(value, np.ndarray) else float(value)
        return {"method": self.method, "input": self.input_, "params": params}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        """Rebuild a fitted calibrator from :meth:`to_dict`'s output.

        Raises
        ------
        ArtifactError
            When ``data`` is not a saved calibrator.
        """
        try:
            method, kind, params = data["method"], data["input"], dict(data["params"])
        except (KeyError, TypeError, ValueError):
            raise ArtifactError(
                "A saved calibrator must be a mapping with 'method', 'input' and 'params'. "
                f"Got {data!r}: pass the output of Calibrator.to_dict()."
            ) from None
        expected = cls._PARAMS.get(method)
        if expected is None or kind not in _INPUTS[1:] or set(params) != set(expected):
            raise ArtifactError(
                f"The saved calibrator is not valid (method {method!r}, input {kind!r}, "
                f"parameters {sorted(params)}): expected one of {list(METHODS)}, an input of "
                "'probability' or 'logit', and that method's parameters "
                f"{list(expected or ())}. Save it again with Calibrator.to_dict()."
            )
        cal = cls(method, input=kind)
        cal.input_ = kind
        for name, value in params.items():
            setattr(
                cal,
                name,
                np.asarray(value, dtype=np.float64) if isinstance(value, list) else float(value),
            )
        return cal


def calibrate(
    scores_or_logits: Any,
    y: Any,
    method: str = "temperature",
    *,
    positive: Any = 1,
    input: str = "auto",
) -> Calibrator:
    """Fit a calibrator on held-out scores and their labels.

    Parameters
    ----------
    scores_or_logits : array-like of shape (n_samples,)
        The model's probabilities or logits for the positive class, on rows it was not
        trained on.
    y : array-like of shape (n_samples,)
        True labels, both classes present.
    method : {"temperature", "platt", "beta", "isotonic"}, default="temperature"
        The calibration map. Temperature is the one to use for saturated scores.
    positive : scalar, default=1
        The positive label in ``y``.
    input : {"auto", "probability", "logit"}, default="auto"
        What the scores are; ``"auto"`` reads them as probabilities when all lie in [0, 1].

    Returns
    -------
    Calibrator
        Fitted; ``calibrator.transform(new_scores)`` gives calibrated probabilities.

    Raises
    ------
    DataError
        For an unknown method, a single class in ``y``, NaN or infinite scores, or scores
        and labels of different lengths.

    Examples
    --------
    Over-confident logits (ten times too large) get a temperature near 10:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> true_logit = rng.normal(size=4000)
    >>> y = rng.random(4000) < 1 / (1 + np.exp(-true_logit))
    >>> cal = calibrate(10 * true_logit, y, "temperature")
    >>> cal.input_, round(cal.temperature_)
    ('logit', 10)
    """
    return Calibrator(method, input=input, positive=positive).fit(scores_or_logits, y)


def _score_summary(
    is_pos: np.ndarray, scores: np.ndarray, threshold: float, n_bins: int
) -> dict[str, Any]:
    curve = confusion_curve(is_pos, scores, positive=True)
    sat = saturation(curve, threshold)
    return {
        "ece": reliability(curve, n_bins).ece,
        "brier": brier_score(curve),
        "log_loss": log_loss(curve),
        "saturated": sat.saturated,
        "flip_fraction": sat.flip_fraction,
        "share_extreme": sat.share_extreme,
        "n_distinct": sat.n_distinct,
    }


def calibration_report(
    y: Any,
    scores_before: Any,
    scores_after: Any,
    *,
    positive: Any = 1,
    threshold: float = 0.5,
    n_bins: int = 10,
) -> dict[str, dict[str, Any]]:
    """ECE, Brier score, log-loss and saturation before and after calibration.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True labels.
    scores_before, scores_after : array-like of shape (n_samples,)
        Scores of the same rows before and after calibration. Metrics that need
        probabilities are NaN for scores outside [0, 1] (e.g. logits).
    positive : scalar, default=1
        The positive label.
    threshold : float, default=0.5
        Operating threshold for the saturation's recoverable misses.
    n_bins : int, default=10
        Quantile bins of the ECE.

    Returns
    -------
    dict
        ``{"before": {...}, "after": {...}}``, each with ``ece``, ``brier``, ``log_loss``,
        ``saturated``, ``flip_fraction``, ``share_extreme`` and ``n_distinct``: plain
        Python values, ready for JSON.

    Examples
    --------
    >>> y = [0, 0, 1, 1, 0, 1]
    >>> report = calibration_report(y, [0.0, 1.0, 1.0, 1.0, 0.0, 0.0],
    ...                              [0.3, 0.6, 0.7, 0.6, 0.3, 0.4])
    >>> report["before"]["saturated"], report["after"]["saturated"]
    (True, False)
    """
    is_pos = binary_labels(y, positive)
    before = _check_scores(scores_before, is_pos.size, "scores_before")
    after = _check_scores(scores_after, is_pos.size, "scores_after")
    return {
        "before": _score_summary(is_pos, before, threshold, n_bins),
        "after": _score_summary(is_pos, after, threshold, n_bins),
    }


def cross_calibrate(
    scores_or_logits: Any,
    y: Any,
    method: str = "temperature",
    *,
    positive: Any = 1,
    cv: int = 5,
    random_state: int | None = 0,
) -> np.ndarray:
    """Calibrated probabilities of every row from a calibrator that did not see it.

    The rows are split into ``cv`` stratified folds; each fold is transformed by a calibrator
    fitted on the other folds, so the before/after comparison on the same rows is honest.

    Parameters
    ----------
    scores_or_logits : array-like of shape (n_samples,)
        The model's scores.
    y : array-like of shape (n_samples,)
        True labels.
    method : str, default="temperature"
        One of :data:`METHODS`.
    positive : scalar, default=1
        The positive label.
    cv : int, default=5
        Number of folds (lowered to the number of rows of the smaller class when needed).
    random_state : int or None, default=0
        Seed of the fold split.

    Returns
    -------
    ndarray of float64
        Out-of-fold calibrated probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=2000)
    >>> y = rng.random(2000) < 1 / (1 + np.exp(-z))
    >>> p = cross_calibrate(8 * z, y)
    >>> p.shape, bool(((p > 0) & (p < 1)).all())
    ((2000,), True)
    """
    from sklearn.model_selection import StratifiedKFold

    method = _check_method(method)
    is_pos = binary_labels(y, positive)
    scores = _check_scores(scores_or_logits, is_pos.size)
    minority = int(min(is_pos.sum(), (~is_pos).sum()))
    if minority < 2:
        raise DataError(
            f"Cross-fitted calibration needs at least 2 rows of each class; the smaller class "
            f"has {minority}. Pass more labelled rows."
        )
    folds = StratifiedKFold(min(cv, minority), shuffle=True, random_state=random_state)
    out = np.empty(scores.size, dtype=np.float64)
    kind = "probability" if (scores.min() >= 0 and scores.max() <= 1) else "logit"
    for train, test in folds.split(scores, is_pos):
        cal = Calibrator(method, input=kind, positive=True).fit(scores[train], is_pos[train])
        out[test] = cal.transform(scores[test])
    return out
