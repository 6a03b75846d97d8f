"""Tests of fnguard.levers.nn: the PyTorch MLP classifier and its losses."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.metrics import average_precision_score
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

from fnguard.data.datasets import load_caravan
from fnguard.errors import DataError
from fnguard.levers.focal import focal_loss
from fnguard.levers.nn import TorchMLPClassifier, torch_focal_loss
from fnguard.levers.registry import registry

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Train on one thread: pytest-xdist already uses both cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def caravan_split():
    data = load_caravan()
    X, y = data.X.astype(float).to_numpy(), np.asarray(data.y)
    return train_test_split(X, y, train_size=3000, test_size=2000, stratify=y, random_state=0)


def test_fits_caravan_and_beats_a_constant(caravan_split) -> None:
    """Check that the MLP ranks Caravan customers better than chance (PR-AUC above the prior)."""
    X_train, X_test, y_train, y_test = caravan_split
    model = TorchMLPClassifier(hidden=(32,), max_epochs=20, random_state=0).fit(X_train, y_train)
    ap = average_precision_score(y_test, model.predict_proba(X_test)[:, 1])
    assert ap > 1.5 * y_test.mean()
    assert model.predict(X_test).dtype == y_train.dtype


def test_early_stopping_on_noise_restores_best_weights() -> None:
    """Check that on pure noise training stops before max_epochs and keeps the best epoch."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(600, 10)), rng.integers(0, 2, 600)
    model = TorchMLPClassifier(hidden=(64,), dropout=0.0, lr=1e-2, max_epochs=200, patience=5)
    model.set_params(random_state=0).fit(X, y)
    assert model.n_iter_ < 200
    assert model.n_iter_ == model.best_epoch_ + 5
    best = min(model.validation_loss_curve_)
    assert model.validation_loss_curve_[model.best_epoch_ - 1] == best
    # The restored weights give the best validation loss again.
    split = train_test_split(
        (X - model.mean_) / model.scale_,
        y.astype(float),
        test_size=60,
        stratify=y,
        random_state=np.random.RandomState(0).randint(np.iinfo(np.int32).max),
    )
    X_val, y_val = split[1], split[3]
    logits = torch.as_tensor(model.decision_function(X_val * model.scale_ + model.mean_))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.as_tensor(y_val))
    assert float(loss) == pytest.approx(best, rel=1e-4)


def test_label_smoothing_keeps_probabilities_inside() -> None:
    """Check that label smoothing eps keeps training probabilities within about [eps/2, 1-eps/2]."""
    X, y = make_classification(400, n_features=5, class_sep=3.0, random_state=0)
    kw = dict(hidden=(32,), dropout=0.0, lr=1e-2, max_epochs=150, early_stopping=False)
    sharp = TorchMLPClassifier(random_state=0, **kw).fit(X, y).predict_proba(X)[:, 1]
    smooth = TorchMLPClassifier(label_smoothing=0.2, random_state=0, **kw).fit(X, y)
    p = smooth.predict_proba(X)[:, 1]
    assert sharp.max() > 0.99 and sharp.min() < 0.01
    # The optimum is 1 - eps/2 = 0.9 on the positive side; a smooth network overshoots a little.
    assert p.max() <= 0.9 + 0.02 and p.min() >= 0.02


def test_weighted_bce_flags_more_positives() -> None:
    """Check that weighted BCE ("balanced" positives) flags more positives than plain BCE."""
    X, y = make_classification(2000, n_features=10, weights=[0.95], flip_y=0.02, random_state=0)
    kw = dict(hidden=(16,), max_epochs=20, random_state=0)
    plain = TorchMLPClassifier(loss="bce", **kw).fit(X, y)
    weighted = TorchMLPClassifier(loss="weighted_bce", **kw).fit(X, y)
    assert weighted.pos_weight_ == pytest.approx((y == 0).sum() / (y == 1).sum())
    assert weighted.predict(X).sum() > 2 * plain.predict(X).sum()


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
@pytest.mark.parametrize("alpha", [None, 0.25])
def test_torch_focal_loss_matches_numpy(gamma: float, alpha: float | None) -> None:
    """Check that the torch focal loss equals focal.focal_loss on the same logits."""
    rng = np.random.default_rng(0)
    z, y = rng.uniform(-8, 8, 300), rng.integers(0, 2, 300).astype(float)
    got = torch_focal_loss(torch.as_tensor(z), torch.as_tensor(y), gamma, alpha).numpy()
    assert np.allclose(got, focal_loss(y, z, gamma, alpha), rtol=1e-10, atol=1e-12)


def test_deterministic_with_random_state() -> None:
    """Check that the same random_state gives the same scores and leaves torch's state alone."""
    X, y = make_classification(300, n_features=6, random_state=1)
    kw = dict(hidden=(16,), max_epochs=5, random_state=3)
    before = torch.random.get_rng_state()
    a = TorchMLPClassifier(**kw).fit(X, y).predict_proba(X)
    assert torch.equal(before, torch.random.get_rng_state())
    b = TorchMLPClassifier(**kw).fit(X, y).predict_proba(X)
    c = TorchMLPClassifier(**{**kw, "random_state": 4}).fit(X, y).predict_proba(X)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_missing_torch_says_how_to_install(monkeypatch) -> None:
    """Check that, without torch, the module imports and fit names pip install 'fnguard[nn]'."""
    monkeypatch.setitem(sys.modules, "torch", None)
    model = registry["mlp"].make(max_epochs=1)
    with pytest.raises(ImportError, match=r"pip install 'fnguard\[nn\]'"):
        model.fit(np.eye(4), [0, 1, 0, 1])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"loss": "hinge"}, "'loss' parameter must be one of"),
        ({"gamma": -1.0, "loss": "focal"}, "'gamma' must be a finite number >= 0. Got -1.0"),
        ({"alpha": 2.0}, "'alpha' must be None or in"),
        ({"label_smoothing": 1.0}, "'label_smoothing' parameter must be in"),
        ({"hidden": (0,)}, "'hidden' parameter must be a tuple"),
        ({"pos_weight": "heavy"}, "'pos_weight' parameter must be None"),
        ({"batch_size": 0}, "'batch_size' parameter must be an integer >= 1"),
    ],
)
def test_bad_input(params: dict, match: str) -> None:
    """Check that bad parameters raise at fit with the rule and the value received."""
    with pytest.raises(DataError, match=match):
        TorchMLPClassifier(**params).fit(np.eye(4), [0, 1, 0, 1])


def test_multiclass_is_refused() -> None:
    """Check that a three-class target gets the binary-only error."""
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        TorchMLPClassifier(max_epochs=1).fit(np.eye(3), [0, 1, 2])


def test_levers_registered() -> None:
    """Check that "mlp" and "mlp:focal" are registered with torch as a need and a search space."""
    import optuna

    mlp, focal = registry["mlp"], registry["mlp:focal"]
    assert (mlp.family, focal.family) == ("algorithm", "cost")
    assert mlp.needs == focal.needs == ("torch",)
    study = optuna.create_study()
    trial = study.ask()
    assert isinstance(focal.make(**focal.space(trial)), TorchMLPClassifier)
    assert focal.make().loss == "focal"
    assert isinstance(mlp.make(**mlp.space(study.ask())).hidden, tuple)


@parametrize_with_checks(
    [TorchMLPClassifier(hidden=(8,), lr=3e-2, max_epochs=10, batch_size=64, random_state=0)],
)
def test_sklearn_estimator_checks(estimator, check) -> None:
    """Check that TorchMLPClassifier passes scikit-learn's estimator checks."""
    check(estimator)
