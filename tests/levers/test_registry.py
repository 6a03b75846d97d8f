"""Tests of the lever catalogue as a whole: every registered lever, and `fnguard levers`."""

from __future__ import annotations

import importlib.util
import json
import warnings

import optuna
import pytest

from fnguard.cli import main
from fnguard.levers import FAMILIES, KINDS, LeverError, build, registry

LEVER_MODULES = ("features", "algorithms", "ensembles", "anomaly", "samplers", "augment", "cost",
                 "nn")
NAMES = sorted(registry)


def _usable(name: str) -> bool:
    return all(importlib.util.find_spec(pkg) is not None for pkg in registry[name].needs)


@pytest.mark.parametrize("module", LEVER_MODULES)
def test_package_imports_every_lever_module(module: str) -> None:
    """Check that importing fnguard.levers imports each module that registers levers."""
    import sys

    import fnguard.levers as levers

    assert f"fnguard.levers.{module}" in sys.modules
    assert getattr(levers, module) is sys.modules[f"fnguard.levers.{module}"]


@pytest.mark.parametrize("name", NAMES)
def test_lever_is_described(name: str) -> None:
    """Check that every lever has a known family and kind, a summary and a risk, one line each."""
    lever = registry[name]
    assert lever.name == name == name.lower()
    assert lever.family in FAMILIES
    assert lever.kind in KINDS
    for text in (lever.summary, lever.risk):
        assert text.strip() and "\n" not in text and len(text) <= 160
    assert json.loads(json.dumps(lever.to_dict()))["name"] == name


@pytest.mark.parametrize("name", NAMES)
def test_make_returns_a_fresh_object(name: str) -> None:
    """Check that make() builds a new object on every call."""
    if not _usable(name):
        pytest.skip(f"{name} needs {registry[name].needs}")
    first, second = registry[name].make(), registry[name].make()
    assert first is not second


@pytest.mark.parametrize("name", NAMES)
def test_search_space_gives_parameters_make_accepts(name: str) -> None:
    """Check that the parameters drawn from an optuna trial are accepted by make()."""
    if not _usable(name):
        pytest.skip(f"{name} needs {registry[name].needs}")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(3):
        trial = study.ask()
        params = registry[name].space(trial)
        assert isinstance(params, dict)
        made = registry[name].make(**params)
        if hasattr(made, "get_params"):
            got = made.get_params()
            for key, value in params.items():
                if key in got and key != "estimators":  # names, made into (name, model) pairs
                    assert got[key] == value
        study.tell(trial, 0.0)


def test_spaces_of_several_levers_share_one_trial() -> None:
    """Check that levers naming parameters alike (class_weight of logistic and of
    random-forest, with other choices) draw from one optuna trial without a clash: the study
    names them after the lever, and each gets back the names make() takes."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(3):
        trial = study.ask()
        drawn = {name: registry[name].space(trial)
                 for name in ("logistic", "random-forest", "lightgbm", "smote")}
        for name, params in drawn.items():
            registry[name].make(**params)
            assert any(key.startswith(f"{name}/") for key in trial.params)
        assert all(key.split("/")[0] in drawn for key in trial.params)
        assert "logistic/class_weight" in trial.params
        assert "random-forest/class_weight" in trial.params
        study.tell(trial, 0.0)


def test_unknown_parameters_raise_lever_error() -> None:
    """Check that a parameter the lever does not take is a LeverError naming the lever, the
    parameter (not the others given, nor the random_state build() adds) and a close name."""
    with pytest.raises(LeverError, match=r"'logistic' does not take the parameter "
                       r"'n_neighbours'\. It takes: C, class_weight"):
        registry["logistic"].make(n_neighbours=3)
    with pytest.raises(LeverError, match=r"'smote' does not take the parameter 'k_neighbours' "
                       r"\(did you mean 'k_neighbors'\?\)\. It takes: k_neighbors, random_state"):
        registry["smote"].make(k_neighbours=3, sampling_strategy=0.5)
    with pytest.raises(LeverError) as caught:
        build(["tree"], params={"tree": {"depth": 3, "max_leaf_nodes": 8}})
    assert "parameter 'depth' (did you mean 'max_depth'?)" in str(caught.value)
    assert "'random_state'," not in str(caught.value).split("It takes")[0]


def test_after_fit_levers_check_their_arguments_when_made() -> None:
    """Check that the threshold and review levers refuse a bad requirement, capacity or
    parameter at make(), not at the first fit."""
    from fnguard.errors import DataError, RequirementError

    with pytest.raises(RequirementError, match=r"'recal>=0\.9' cannot be parsed"):
        registry["threshold"].make(requirement="recal>=0.9")
    with pytest.raises(LeverError, match="'threshold' does not take the parameter 'requirment'"):
        registry["threshold"].make(requirment="recall>=0.9")
    with pytest.raises(LeverError, match="'review' does not take the parameter 'size'"):
        registry["review"].make(size=10)
    with pytest.raises(DataError, match="review capacity must be"):
        registry["review"].make(capacity="lots")


def test_unknown_lever_suggests_close_names() -> None:
    """Check that a misspelt lever name gets the close names in the error."""
    with pytest.raises(LeverError, match="random-forest"):
        registry["random-forst"]


def test_cli_levers_table(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Check that `fnguard levers` prints every lever with its family, summary and risk."""
    monkeypatch.setenv("COLUMNS", "300")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["levers"]) == 0
    out = capsys.readouterr().out
    for name in ("logistic", "lightgbm", "isolation-forest", "voting", "encode:target"):
        assert name in out
    assert "Deep trees overfit rare positives" in " ".join(out.split())


def test_cli_levers_json(capsys: pytest.CaptureFixture) -> None:
    """Check that `fnguard levers --json` prints one JSON list of every lever's to_dict()."""
    assert main(["levers", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == [
        registry[name].to_dict()
        for family in FAMILIES
        for name in (lever.name for lever in registry.family(family))
    ]
    assert {row["name"] for row in doc} == set(registry)


def test_cli_levers_family(capsys: pytest.CaptureFixture) -> None:
    """Check that --family keeps one family and an unknown family exits 2."""
    assert main(["levers", "--json", "--family", "ensemble"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc and {row["family"] for row in doc} == {"ensemble"}
    assert main(["levers", "--family", "magic"]) == 2
    assert "no lever family 'magic'" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(registry))
def test_a_fixed_trial_of_the_drawn_parameters_gives_them_back(name: str) -> None:
    """Check that an optuna FixedTrial holding the parameters space() returned (the names
    make() takes) gives the same parameters back: the samplers' spaces ("smote.k_neighbors")
    refused them."""
    if not _usable(name) or registry[name].search is None:
        pytest.skip(f"{name} has no search space here")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    drawn = registry[name].space(study.ask())
    # optuna's choices are plain values: the network's layer widths are chosen as "64,32"
    fixed = {k: ",".join(map(str, v)) if k == "hidden" else v for k, v in drawn.items()}
    assert registry[name].space(optuna.trial.FixedTrial(fixed)) == drawn


def test_an_unknown_parameter_lists_what_the_lever_takes() -> None:
    """Check that the error lists the lever's own parameters (select:l1 takes C, class_weight
    and random_state; it listed its SelectFromModel's)."""
    with pytest.raises(LeverError, match=r"It takes: C, class_weight, random_state\."):
        registry["select:l1"].make(max_iter=50)
