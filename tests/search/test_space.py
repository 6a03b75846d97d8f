"""Tests of the search space: the pool, the plans drawn from optuna, the first plans."""

from __future__ import annotations

import optuna
import pytest

from fnguard.data import infer_schema
from fnguard.levers import build, registry
from fnguard.levers.registry import LeverError
from fnguard.search.space import DEFAULT_POOL, enqueue, first_plans, resolve_pool, suggest

SLOW = ("knn", "stacking", "nearmiss-2", "mlp", "one-class-svm", "easy-ensemble")


def test_default_pool_is_fast_levers_of_every_kind() -> None:
    """Check that the default pool is registered, has no slow lever, and has every kind."""
    pool = resolve_pool()
    assert set(pool.names) == set(DEFAULT_POOL)
    assert not set(SLOW) & set(pool.names)
    assert {"logistic", "lightgbm", "lightgbm:weighted"} <= set(pool.classifiers)
    assert "smote" in pool.samplers and "scale:quantile" in pool.transformers


def test_unknown_lever_names_close_ones() -> None:
    """Check that an unknown lever is the registry's error, with the close names."""
    with pytest.raises(LeverError, match=r"There is no lever 'smot'.*'smote'"):
        resolve_pool("smot,lightgbm")


def test_pool_without_classifier_gets_the_plain_ones() -> None:
    """Check that samplers alone are searched with logistic and LightGBM, and a note says so."""
    pool = resolve_pool(["SMOTE", "threshold"])
    assert pool.classifiers == ("logistic", "lightgbm")
    assert pool.samplers == ("smote",)
    assert any("No classifier" in n for n in pool.notes)
    assert any("threshold is always tuned" in n for n in pool.notes)


def test_a_lever_whose_package_is_missing_is_refused_before_the_search(
    monkeypatch, capsys
) -> None:
    """Check that naming mlp without PyTorch (blocked here, as if not installed) stops at
    once with the install line (every trial failed with it, after the search), and the
    CLI exits 2 with that one line."""
    import sys

    from fnguard.cli import main

    monkeypatch.setitem(sys.modules, "torch", None)
    assert registry["mlp"].missing() == ["torch"] and registry["smote"].missing() == []
    with pytest.raises(LeverError, match=r"^The lever 'mlp' needs torch, which is not installed\. "
                       r"Install it with: pip install 'fnguard\[nn\]', or leave 'mlp' out"):
        resolve_pool("mlp,logistic")
    assert main(["fit", "no-such.csv", "--target", "y", "--levers", "mlp:focal", "--out",
                 "never"]) == 2
    err = capsys.readouterr().err
    assert "The lever 'mlp:focal' needs torch" in err and "Traceback" not in err


def test_empty_levers_refused() -> None:
    """Check that an empty list of levers is an error, not the default pool."""
    with pytest.raises(LeverError, match="empty"):
        resolve_pool(" , ")


@pytest.mark.parametrize(
    ("levers", "expected"),
    [(None, ["logistic", "lightgbm", "lightgbm:weighted"]),
     ("hist-gb,smote", ["hist-gb"]), ("lightgbm:weighted,lightgbm", ["lightgbm",
                                                                     "lightgbm:weighted"])],
)
def test_first_plans(levers: str | None, expected: list[str]) -> None:
    """Check the first trials: the plain models (baselines), then the weighted LightGBM."""
    plans = first_plans(resolve_pool(levers))
    assert [p.label() for p in plans] == expected
    assert [p.baseline for p in plans] == [p.label() != "lightgbm:weighted" for p in plans]
    assert all(p.params == {} for p in plans)


def test_suggested_plans_build() -> None:
    """Check that plans drawn from the default pool build, with prefixed, distinct params."""
    import pandas as pd

    schema = infer_schema(pd.DataFrame({"a": [1.0, 2.0], "c": ["x", "y"]}))
    pool = resolve_pool()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    kinds = set()
    for _ in range(40):
        trial = study.ask()
        plan = suggest(trial, pool)
        build(plan.levers, schema, params=plan.params)  # raises for a bad plan
        assert registry[plan.classifier].kind == "classifier"
        assert all(name.split("/")[0] in plan.levers
                   for name in trial.params if "/" in name)
        if registry[plan.classifier].family == "ensemble":
            assert not any(registry[n].kind == "sampler" for n in plan.levers)
        kinds |= {registry[n].kind for n in plan.levers}
        study.tell(trial, 0.0)
    assert kinds == {"classifier", "sampler", "transformer"}


def test_enqueued_plan_comes_back_with_default_params() -> None:
    """Check that an enqueued plan is drawn first, with its levers and no parameters."""
    pool = resolve_pool()
    study = optuna.create_study()
    for plan in first_plans(pool):
        enqueue(study, plan, pool)
    drawn = [suggest(study.ask(), pool) for _ in range(3)]
    assert [(p.levers, p.params, p.baseline) for p in drawn] == [
        (["logistic"], {}, True), (["lightgbm"], {}, True), (["lightgbm:weighted"], {}, False)]


def test_class_ratio_is_the_largest_over_training_folds() -> None:
    """Check class_ratio against counts by hand: the whole of y, then per training fold."""
    import numpy as np

    from fnguard.search.space import class_ratio

    y = np.array([0] * 10 + [1] * 4)
    assert class_ratio(y) == pytest.approx(0.4)
    folds = [(np.r_[0:8, 10:14], np.r_[8:10]), (np.r_[2:13], np.r_[0:2, 13])]
    # first training part: 8 zeros, 4 ones (0.5); second: 8 zeros, 3 ones (0.375)
    assert class_ratio(y, folds) == pytest.approx(0.5)
    assert class_ratio(np.zeros(5)) == 0.0  # one class: no constraint


@pytest.mark.parametrize("ratio", [0.0, 0.1, 0.59, 0.95])
def test_resampling_ratios_start_above_the_datas_own(ratio: float) -> None:
    """Check that every searched sampling_strategy is one imbalanced-learn can reach."""
    pool = resolve_pool("random-over,random-under,smote,adasyn,smote-enn,logistic")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    drawn = []
    for _ in range(60):
        plan = suggest(study.ask(), pool, class_ratio=ratio)
        for params in plan.params.values():
            if "sampling_strategy" in params:
                drawn.append(params["sampling_strategy"])
    assert drawn
    low = min(1.0, max(0.25, 1.1 * ratio))
    assert min(drawn) >= low
    assert max(drawn) <= 1.0


def test_neighbour_counts_stay_below_the_minority_rows() -> None:
    """Check that with 6 minority rows in the smallest training fold no neighbour-based lever
    asks for 6 or more neighbours (imbalanced-learn would refuse it)."""
    pool = resolve_pool("smote,adasyn,borderline-smote-1,nearmiss-1,smote-nc,logistic")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    asked = []
    for _ in range(80):
        plan = suggest(study.ask(), pool, minority_rows=6)
        for params in plan.params.values():
            asked += [v for k, v in params.items() if k in ("k_neighbors", "n_neighbors")]
    assert asked and max(asked) == 5 and min(asked) >= 1


def test_minority_rows_is_the_fewest_over_training_folds() -> None:
    """Check minority_rows against counts by hand."""
    import numpy as np

    from fnguard.search.space import minority_rows

    y = np.array([0] * 10 + [1] * 4)
    assert minority_rows(y) == 4
    assert minority_rows(y, [(np.r_[0:8, 10:14], None), (np.r_[2:13], None)]) == 3
