"""A PyTorch multilayer perceptron for tables, with cost-sensitive losses (optional extra ``nn``).

:class:`TorchMLPClassifier` is a scikit-learn binary classifier. It trains on binary
cross-entropy, positive-weighted cross-entropy or the focal loss of Lin et al. (2017), with
optional label smoothing, and stops early on a stratified validation split.

PyTorch is imported only when a network is built or fitted: importing this module, making the
estimator and registering its levers work without it, and a fitted model keeps its weights as
NumPy arrays and predicts in NumPy, so it is saved with skops and used without PyTorch. Install
it with ``pip install 'fnguard[nn]'``.

Levers: ``"mlp"`` (family ``algorithm``) and ``"mlp:focal"`` (family ``cost``).
"""

from __future__ import annotations

import copy
import numbers
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from fnguard.errors import DataError
from fnguard.levers.cost import _binary_target, _check_alpha, _check_gamma
from fnguard.levers.registry import register

__all__ = ["TorchMLPClassifier", "torch_focal_loss"]

LOSSES = ("bce", "weighted_bce", "focal")
#: What to run when PyTorch is missing.
INSTALL = "pip install 'fnguard[nn]'"


def _import_torch() -> Any:
    """``torch``, or an ImportError that says how to install it."""
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"The neural-network levers need PyTorch, which is not installed. Install it with: "
            f"{INSTALL}"
        ) from None
    return torch


def torch_focal_loss(logits: Any, target: Any, gamma: float, alpha: float | None) -> Any:
    """Focal loss of each row in PyTorch, on logits; soft targets allowed.

    ``-[t alpha (1 - p)^gamma log p + (1 - t)(1 - alpha) p^gamma log(1 - p)]`` with
    ``p = sigmoid(logits)``; for hard targets ``t`` in {0, 1} it is
    :func:`fnguard.levers.focal.focal_loss`. ``alpha=None`` weighs both classes 1.
    """
    torch = _import_torch()
    log_p = torch.nn.functional.logsigmoid(logits)
    log_q = torch.nn.functional.logsigmoid(-logits)
    p, q = torch.sigmoid(logits), torch.sigmoid(-logits)
    a_pos, a_neg = (1.0, 1.0) if alpha is None else (alpha, 1.0 - alpha)
    return -(a_pos * target * q**gamma * log_p + a_neg * (1.0 - target) * p**gamma * log_q)


def _network(n_features: int, hidden: tuple[int, ...], dropout: float) -> Any:
    torch = _import_torch()
    layers: list[Any] = []
    width = n_features
    for units in hidden:
        layers += [torch.nn.Linear(width, units), torch.nn.ReLU()]
        if dropout > 0:
            layers.append(torch.nn.Dropout(dropout))
        width = units
    layers.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*layers)


class TorchMLPClassifier(ClassifierMixin, BaseEstimator):
    """A multilayer perceptron in PyTorch for binary tables, with cost-sensitive losses.

    Inputs are standardised inside (mean 0, standard deviation 1 per column, learnt in
    ``fit``), so no scaler lever is needed before it. The network is
    ``Linear -> ReLU -> Dropout`` per hidden layer and one output logit; it trains with Adam on
    mini-batches. The positive class is ``classes_[1]``.

    **Losses.** ``"bce"``: binary cross-entropy. ``"weighted_bce"``: cross-entropy with the
    positive rows weighted by ``pos_weight`` (``None`` or ``"balanced"``: negatives /
    positives). ``"focal"``: the focal loss ``-alpha_t (1 - p_t)^gamma log p_t``.
    ``pos_weight``, when given, weights positive rows in every loss.
    ``label_smoothing=eps`` trains on targets ``eps/2`` and ``1 - eps/2`` instead of 0 and 1,
    which keeps the predicted probabilities inside ``[eps/2, 1 - eps/2]`` at the optimum.

    **Early stopping.** With ``early_stopping=True``, a stratified ``validation_fraction`` of
    the rows is held out; training stops after ``patience`` epochs without a lower validation
    loss (the training loss, without label smoothing) and the weights of the best epoch are
    restored. With fewer than two rows of a class, or a validation part without both classes,
    it trains on all rows for ``max_epochs``.

    **Determinism.** With an integer ``random_state``, initial weights, batch order, dropout
    and the split are fixed (the global torch generator is forked, so the caller's state is
    left as it was); results are repeatable on the same machine and thread count.

    Parameters
    ----------
    hidden : tuple of int, default=(64, 32)
        Units of each hidden layer.
    dropout : float in [0, 1), default=0.1
    loss : {"bce", "weighted_bce", "focal"}, default="bce"
    gamma : float, default=2.0
        Focal loss focusing parameter, >= 0 (``loss="focal"`` only).
    alpha : float in (0, 1) or None, default=None
        Focal loss weight of positives (``loss="focal"`` only).
    label_smoothing : float in [0, 1), default=0.0
    pos_weight : "balanced", float > 0 or None, default=None
    lr : float, default=1e-3
    weight_decay : float, default=0.0
    batch_size : int, default=256
    max_epochs : int, default=100
    early_stopping : bool, default=True
    validation_fraction : float in (0, 1), default=0.1
    patience : int, default=10
    random_state : int, RandomState or None, default=None
    device : str, default="cpu"
        Torch device for training (``"cuda"`` when available); prediction runs in NumPy.

    Attributes
    ----------
    coefs_, intercepts_ : list of ndarray
        The trained network's weights (of the best epoch) as float32 arrays, one per linear
        layer: ``coefs_[i]`` has shape ``(inputs, outputs)``. Prediction runs on them in NumPy,
        so a fitted model is saved (skops, pickle) and used without PyTorch.
    module_ : torch.nn.Module
        A PyTorch network holding those weights, built on access (needs PyTorch).
    classes_ : ndarray of shape (2,)
    n_features_in_ : int
    mean_, scale_ : ndarray of shape (n_features,)
        The standardisation.
    pos_weight_ : float
        The weight of positive rows used.
    trained_rate_ : float or None
        The positive share the (weighted) cross-entropy saw; None for the focal loss.
    n_iter_ : int
        Epochs run.
    best_epoch_ : int
        The epoch whose weights were kept (1-based).
    loss_curve_, validation_loss_curve_ : list of float
        Mean training and validation loss per epoch (the latter empty without early stopping).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(300, random_state=0)
    >>> model = TorchMLPClassifier(max_epochs=5, random_state=0)  # doctest: +SKIP
    >>> model.fit(X, y).predict_proba(X[:2]).shape  # doctest: +SKIP
    (2, 2)
    """

    def __init__(
        self,
        hidden: tuple[int, ...] = (64, 32),
        dropout: float = 0.1,
        loss: str = "bce",
        gamma: float = 2.0,
        alpha: float | None = None,
        label_smoothing: float = 0.0,
        pos_weight: Any = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 256,
        max_epochs: int = 100,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        patience: int = 10,
        random_state: Any = None,
        device: str = "cpu",
    ):
        self.hidden = hidden
        self.dropout = dropout
        self.loss = loss
        self.gamma = gamma
        self.alpha = alpha
        self.label_smoothing = label_smoothing
        self.pos_weight = pos_weight
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.device = device

    # ---------------------------------------------------------------------------- checks
    def _check_params(self) -> None:
        def real(name: str, low: float, high: float, closed_high: bool = False) -> None:
            value = getattr(self, name)
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            ok = ok and low <= value and (value <= high if closed_high else value < high)
            if not ok:
                bracket = "]" if closed_high else ")"
                raise DataError(
                    f"The {name!r} parameter must be in [{low:g}, {high:g}{bracket}. "
                    f"Got {value!r} instead."
                )

        def integer(name: str) -> None:
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise DataError(f"The {name!r} parameter must be an integer >= 1. Got {value!r}.")

        if self.loss not in LOSSES:
            raise DataError(f"The 'loss' parameter must be one of {LOSSES}. Got {self.loss!r}.")
        hidden = self.hidden
        if not isinstance(hidden, (tuple, list)) or any(
            not isinstance(h, numbers.Integral) or h < 1 for h in hidden
        ):
            raise DataError(
                f"The 'hidden' parameter must be a tuple of layer widths >= 1, e.g. (64, 32). "
                f"Got {hidden!r} instead."
            )
        real("dropout", 0.0, 1.0)
        real("label_smoothing", 0.0, 1.0)
        real("lr", 0.0, np.inf)
        if self.lr == 0:
            raise DataError("The 'lr' parameter must be > 0. Got 0 instead.")
        real("weight_decay", 0.0, np.inf)
        real("validation_fraction", 0.0, 1.0)
        for name in ("batch_size", "max_epochs", "patience"):
            integer(name)
        _check_gamma(self.gamma)
        _check_alpha(self.alpha)
        pw = self.pos_weight
        if not (
            pw is None
            or pw == "balanced"
            or (isinstance(pw, numbers.Real) and not isinstance(pw, bool) and pw > 0)
        ):
            raise DataError(
                f"The 'pos_weight' parameter must be None, 'balanced' or a number > 0. "
                f"Got {pw!r} instead."
            )

    # ---------------------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any):
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Binary target.

        Returns
        -------
        self
        """
        torch = _import_torch()
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        self.classes_ = _binary_target(y)
        target = (y == self.classes_[1]).astype(np.float64)

        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        Z = (X - self.mean_) / self.scale_

        n_pos = target.sum()
        n_neg = target.size - n_pos
        if self.pos_weight == "balanced" or (
            self.pos_weight is None and self.loss == "weighted_bce"
        ):
            self.pos_weight_ = float(n_neg / n_pos)
        else:
            self.pos_weight_ = 1.0 if self.pos_weight is None else float(self.pos_weight)
        # weighting positives by w trains on a positive share of w n_pos / (w n_pos + n_neg)
        # (a prior shift, undone by build()'s pipeline); the focal loss is no prior shift
        self.trained_rate_ = (
            None if self.loss == "focal"
            else float(self.pos_weight_ * n_pos / (self.pos_weight_ * n_pos + n_neg))
        )

        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        counts = np.array([n_neg, n_pos])
        n_val = int(np.ceil(self.validation_fraction * target.size))
        stop_early = bool(self.early_stopping) and counts.min() >= 2 and n_val >= 2
        if stop_early:
            Z_fit, Z_val, t_fit, t_val = train_test_split(
                Z, target, test_size=n_val, stratify=target, random_state=seed
            )
            stop_early = 0 < t_val.sum() < t_val.size and 0 < t_fit.sum() < t_fit.size
        if not stop_early:
            Z_fit, t_fit, Z_val, t_val = Z, target, None, None

        device = torch.device(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            generator = torch.Generator().manual_seed(seed)
            module = _network(Z.shape[1], tuple(self.hidden), float(self.dropout))
            module.to(device=device, dtype=torch.float32)
            self._train(torch, module, device, generator, Z_fit, t_fit, Z_val, t_val)
        linear = [layer for layer in module if isinstance(layer, torch.nn.Linear)]
        self.coefs_ = [layer.weight.detach().cpu().numpy().T.copy() for layer in linear]
        self.intercepts_ = [layer.bias.detach().cpu().numpy().copy() for layer in linear]
        return self

    @property
    def module_(self) -> Any:
        """A PyTorch network with the fitted weights (built from ``coefs_``, ``intercepts_``)."""
        if not hasattr(self, "coefs_"):
            raise AttributeError("'TorchMLPClassifier' has no 'module_' before fit.")
        torch = _import_torch()
        module = _network(self.coefs_[0].shape[0], tuple(self.hidden), float(self.dropout))
        linear = [layer for layer in module if isinstance(layer, torch.nn.Linear)]
        with torch.no_grad():
            for layer, coef, intercept in zip(linear, self.coefs_, self.intercepts_, strict=True):
                layer.weight.copy_(torch.as_tensor(coef.T))
                layer.bias.copy_(torch.as_tensor(intercept))
        return module.eval()

    def _loss(self, torch: Any, logits: Any, target: Any, smooth: bool) -> Any:
        eps = float(self.label_smoothing) if smooth else 0.0
        soft = target * (1.0 - eps) + eps / 2.0
        if self.loss == "focal":
            rows = torch_focal_loss(logits, soft, float(self.gamma), self.alpha)
        else:
            rows = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, soft, reduction="none"
            )
        if self.pos_weight_ != 1.0:
            rows = rows * torch.where(target > 0.5, self.pos_weight_, 1.0)
        return rows.mean()

    def _train(self, torch, module, device, generator, Z_fit, t_fit, Z_val, t_val) -> None:
        def tensor(a: np.ndarray) -> Any:
            return torch.as_tensor(a, dtype=torch.float32, device=device)

        X_fit, y_fit = tensor(Z_fit), tensor(t_fit)
        X_val = None if Z_val is None else tensor(Z_val)
        y_val = None if t_val is None else tensor(t_val)
        optimizer = torch.optim.Adam(
            module.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay)
        )
        n = X_fit.shape[0]
        batch = min(int(self.batch_size), n)
        best_loss, best_state, best_epoch, waited = np.inf, None, 0, 0
        self.loss_curve_, self.validation_loss_curve_ = [], []
        for epoch in range(1, int(self.max_epochs) + 1):
            module.train()
            order = torch.randperm(n, generator=generator).to(device)
            total = 0.0
            for start in range(0, n, batch):
                rows = order[start : start + batch]
                optimizer.zero_grad()
                loss = self._loss(torch, module(X_fit[rows]).squeeze(-1), y_fit[rows], True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * rows.numel()
            self.loss_curve_.append(total / n)
            self.n_iter_ = epoch
            if X_val is None:
                continue
            module.eval()
            with torch.no_grad():
                val = float(self._loss(torch, module(X_val).squeeze(-1), y_val, False))
            self.validation_loss_curve_.append(val)
            if val < best_loss:
                best_loss, best_epoch, waited = val, epoch, 0
                best_state = copy.deepcopy(module.state_dict())
            else:
                waited += 1
                if waited >= self.patience:
                    break
        if best_state is not None:
            module.load_state_dict(best_state)
            self.best_epoch_ = best_epoch
        else:
            self.best_epoch_ = self.n_iter_
        module.eval()

    # ---------------------------------------------------------------------------- predict
    def decision_function(self, X: Any) -> np.ndarray:
        """The logit of the positive class for each row."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        # NumPy forward pass (dropout is off at prediction): no PyTorch needed once fitted.
        out = (X - self.mean_) / self.scale_
        last = len(self.coefs_) - 1
        for i, (coef, intercept) in enumerate(zip(self.coefs_, self.intercepts_, strict=True)):
            out = out @ coef.astype(np.float64) + intercept.astype(np.float64)
            if i < last:
                out = np.maximum(out, 0.0)
        return out[:, 0]

    def predict_proba(self, X: Any) -> np.ndarray:
        """``[1 - p, p]`` with ``p = sigmoid(logit)``."""
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """``classes_[1]`` where the logit is above 0 (probability above 0.5)."""
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


# -------------------------------------------------------------------------------- levers
_HIDDEN = {"32": (32,), "64,32": (64, 32), "128,64": (128, 64), "128,64,32": (128, 64, 32)}


def _common_space(trial: Any) -> dict[str, Any]:
    return {
        "hidden": _HIDDEN[trial.suggest_categorical("hidden", list(_HIDDEN))],
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "label_smoothing": trial.suggest_float("label_smoothing", 0.0, 0.2),
    }


def _mlp_space(trial: Any) -> dict[str, Any]:
    return {
        **_common_space(trial),
        "loss": trial.suggest_categorical("loss", ["bce", "weighted_bce"]),
    }


def _mlp_focal_space(trial: Any) -> dict[str, Any]:
    return {
        **_common_space(trial),
        "gamma": trial.suggest_float("gamma", 0.5, 5.0),
        "alpha": trial.suggest_categorical("alpha", [None, 0.25, 0.5, 0.75]),
    }


@register(
    "mlp",
    "algorithm",
    "classifier",
    "A PyTorch multilayer perceptron on standardised inputs, early-stopped on a stratified split.",
    "Needs more rows than trees to beat them on tables; few positives in the validation split "
    "make early stopping noisy.",
    search=_mlp_space,
    needs=("torch",),
)
def _mlp(**params: Any) -> TorchMLPClassifier:
    return TorchMLPClassifier(**params)


@register(
    "mlp:focal",
    "cost",
    "classifier",
    "The PyTorch MLP trained on the focal loss: easy rows weigh less, hard rows more.",
    "Focal loss down-weights easy examples; with gamma too high it underfits and scores lose "
    "calibration.",
    search=_mlp_focal_space,
    needs=("torch",),
)
def _mlp_focal(**params: Any) -> TorchMLPClassifier:
    params.setdefault("loss", "focal")
    return TorchMLPClassifier(**params)
