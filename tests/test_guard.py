"""Tests of fnguard.guard: predicting, saving and loading a Guard, and the checks on both."""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression

import fnguard
from fnguard.data import datasets
from fnguard.decide.calibrated import CalibratedClassifier
from fnguard.errors import ArtifactError, DataError, FnguardWarning
from fnguard.guard import FORMAT_VERSION, Guard, load, strip_samplers
from fnguard.guard_files import check_destination
from fnguard.levers import build, registry

#: Small settings so that every lever fits in well under a second on 1,200 rows.
SMALL: dict[str, dict[str, Any]] = {
    "random-forest": {"n_estimators": 10},
    "extra-trees": {"n_estimators": 10},
    "hist-gb": {"max_iter": 10},
    "lightgbm": {"n_estimators": 10},
    "lightgbm:weighted": {"n_estimators": 10},
    "lightgbm:focal": {"n_estimators": 10, "gamma": 2.0, "alpha": 0.5},
    "isolation-forest": {"n_estimators": 10},
    "easy-ensemble": {"n_estimators": 3},
    "balanced-random-forest": {"n_estimators": 5},
    "balanced-bagging": {"n_estimators": 3},
    # The default (stumps on 50/50 subsets) is "worse than random" on the full rows here.
    "rusboost": {"n_estimators": 3, "sampling_strategy": 0.3},
    "voting": {"estimators": ["logistic", "tree"]},
    "stacking": {"estimators": ["logistic", "tree"], "cv": 3},
    "mlp": {"hidden": (8,), "max_epochs": 3},
    "mlp:focal": {"hidden": (8,), "max_epochs": 3},
}
CLASSIFIERS = [name for name, lever in registry.items() if lever.kind == "classifier"]


@pytest.fixture(scope="module")
def loans() -> tuple[Any, pd.DataFrame, np.ndarray, pd.DataFrame]:
    """The bundled Lending Club loans: 1,200 training rows and 300 new rows."""
    data = datasets.load_lending_club()
    rng = np.random.default_rng(0)
    rows = rng.permutation(data.n_rows)
    train, new = rows[:1200], rows[1200:1500]
    return data, data.X.iloc[train].reset_index(drop=True), data.y[train], data.X.iloc[new]


def _guard(data: Any, pipeline: Any, **kwargs: Any) -> Guard:
    fields: dict[str, Any] = {
        "target": data.target,
        "positive": data.positive,
        "negative": data.negative,
        "requirement": "recall>=0.9",
        "threshold": 0.08,
        "review_band": (0.08, 0.15),
    }
    return Guard(pipeline, data.schema, **{**fields, **kwargs})


@pytest.fixture(scope="module")
def fitted(loans) -> Guard:
    data, X, y, _ = loans
    pipe = build(["lightgbm"], data.schema, params={"lightgbm": SMALL["lightgbm"]}).fit(X, y)
    return _guard(data, pipe, levers=["lightgbm"])


# ------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_round_trip_every_classifier_lever(name: str, loans, tmp_path: Path) -> None:
    """Check that a Guard of each classifier lever scores identically after save and load."""
    if registry[name].needs:
        pytest.importorskip("torch")
    data, X, y, new = loans
    params = {name: SMALL[name]} if name in SMALL else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and LightGBM notes on small data
        pipe = build([name], data.schema, params=params).fit(X, y)
    guard = _guard(data, pipe, levers=[name], params=params or {})
    again = load(guard.save(tmp_path / "guard", report=False))
    expected = pipe.predict_proba(new)[:, 1]
    np.testing.assert_array_equal(again.pipeline.predict_proba(new)[:, 1], expected)
    pd.testing.assert_frame_equal(again.predict(new), guard.predict(new))


@pytest.mark.parametrize(
    "name", sorted(n for n, lever in registry.items() if lever.kind == "transformer")
)
def test_round_trip_every_transformer_lever(name: str, loans, tmp_path: Path) -> None:
    """Check that a Guard of each feature lever (with a logistic regression) loads again and
    scores identically: every type its fitted step holds is one fnguard trusts."""
    data, X, y, new = loans
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes on small data
        pipe = build([name, "logistic"], data.schema).fit(X, y)
    guard = _guard(data, pipe, levers=[name, "logistic"])
    again = load(guard.save(tmp_path / "guard", report=False))
    np.testing.assert_array_equal(again.score(new), pipe.predict_proba(new)[:, 1])


@pytest.mark.parametrize(
    ("levers", "correct_prior"),
    [
        (["smote", "lightgbm"], True),
        (["random-under", "logistic"], True),
        (["smote-tomek", "tree"], False),
        (["jitter", "random-over", "logistic"], True),
    ],
)
def test_samplers_are_stripped_and_scores_kept(
    levers: list[str], correct_prior: bool, loans, tmp_path: Path
) -> None:
    """Check that saving replaces every sampler by passthrough and changes no score."""
    data, X, y, new = loans
    params = {"lightgbm": SMALL["lightgbm"]} if "lightgbm" in levers else None
    pipe = build(levers, data.schema, params=params, correct_prior=correct_prior).fit(X, y)
    samplers = [name for name, step in pipe.steps if hasattr(step, "fit_resample")]
    assert samplers
    folder = _guard(data, pipe, levers=levers).save(tmp_path / "guard", report=False)
    meta = json.loads((folder / "guard.json").read_text())
    assert meta["samplers_removed"] == samplers
    again = load(folder)
    assert [again.pipeline.named_steps[name] for name in samplers] == ["passthrough"] * len(
        samplers
    )
    assert all(hasattr(pipe.named_steps[name], "fit_resample") for name in samplers)
    np.testing.assert_array_equal(again.score(new), pipe.predict_proba(new)[:, 1])
    # saved again after a load, the record still names them (it said [] once)
    resaved = json.loads((again.save(tmp_path / "again", report=False) / "guard.json").read_text())
    assert resaved["samplers_removed"] == samplers


def test_calibrated_pipeline_round_trips_without_its_sampler(loans, tmp_path: Path) -> None:
    """Check that a calibrated, prior-corrected pipeline with a sampler inside round-trips."""
    data, X, y, new = loans
    inner = build(["random-over", "logistic"], data.schema)
    model = CalibratedClassifier(inner, method="platt", cv=3).fit(X, y)
    stripped, removed = strip_samplers(model)
    assert removed == ["estimator.random-over", "estimator_.random-over"]
    assert stripped.estimator_.named_steps["random-over"] == "passthrough"
    assert hasattr(model.estimator_.named_steps["random-over"], "fit_resample")
    again = load(_guard(data, model).save(tmp_path / "guard", report=False))
    np.testing.assert_array_equal(again.score(new), model.predict_proba(new)[:, 1])


def test_guard_json_records_fields_checksums_and_versions(loans, fitted, tmp_path) -> None:
    """Check guard.json: every field round-trips and each file's SHA-256 matches hashlib's."""
    data, _, y, _ = loans
    guard = _guard(
        data,
        fitted.pipeline,
        review_band=(0.08, math.inf),
        levers=["lightgbm"],
        params={"lightgbm": {"n_estimators": 10, "hidden": (4, 2)}},
        metrics={"recall": {"value": 0.91, "low": 0.85, "high": 0.95}, "n": 300, "fn": 4},
        met=False,
        leaderboard=[{"trial": 0, "levers": ["lightgbm"], "objective": 0.4}],
        info={"seed": 0, "budget_s": 60.0, "notes": ["a note"]},
        holdout=pd.DataFrame({"y": y[:50], "score": np.linspace(0, 1, 50)}),
    )
    folder = guard.save(tmp_path / "guard", report=False)
    meta = json.loads((folder / "guard.json").read_text())
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["fnguard_version"] == fnguard.__version__
    assert meta["libraries"]["scikit-learn"] and meta["libraries"]["skops"] == "0.16.0"
    assert set(meta["files"]) == {"model.skops", "holdout.parquet"}
    for name, digest in meta["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    again = load(folder)
    assert again.review_band == (0.08, math.inf)
    assert again.params == {"lightgbm": {"n_estimators": 10, "hidden": [4, 2]}}
    for field in ("target", "positive", "negative", "requirement", "threshold", "levers",
                  "metrics", "met", "leaderboard", "info"):
        assert getattr(again, field) == getattr(guard, field), field
    assert again.schema == guard.schema
    pd.testing.assert_frame_equal(again.holdout, guard.holdout)


def test_save_writes_the_report_by_default(fitted, tmp_path: Path) -> None:
    """Check that the default save writes report/index.html, which may be rewritten or removed."""
    folder = fitted.save(tmp_path / "guard")
    meta = json.loads((folder / "guard.json").read_text())
    assert (folder / "report" / "index.html").is_file()
    assert not any(name.startswith("report/") for name in meta["files"])
    (folder / "report" / "index.html").write_text("rewritten by a newer fnguard")
    load(folder)
    shutil.rmtree(folder / "report")
    load(folder)


def test_edited_record_is_refused(fitted, tmp_path: Path) -> None:
    """Check that a guard.json edited by hand (a threshold lowered) fails its own checksum."""
    folder = fitted.save(tmp_path / "guard", report=False)
    meta = json.loads((folder / "guard.json").read_text())
    meta["threshold"] = 0.0
    (folder / "guard.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="edited or damaged"):
        load(folder)
    del meta["content_sha256"]  # the checksum removed too: no longer accepted unchecked
    (folder / "guard.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="has no checksum of its own content"):
        load(folder)


# ------------------------------------------------------------------------------ load checks
def _saved(guard: Guard, tmp_path: Path) -> Path:
    return guard.save(tmp_path / "guard", report=False)


@pytest.mark.parametrize("name", ["model.skops", "holdout.parquet"])
def test_tampered_file_is_refused(name: str, fitted, tmp_path: Path) -> None:
    """Check that a file changed after saving fails its checksum, named in the error."""
    guard = Guard(**{**vars(fitted), "holdout": pd.DataFrame({"y": [True], "score": [0.5]})})
    folder = _saved(guard, tmp_path)
    raw = bytearray((folder / name).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (folder / name).write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match=rf"'{name}' .* does not match its SHA-256 checksum"):
        load(folder)


def test_missing_file_is_refused(fitted, tmp_path: Path) -> None:
    """Check that a Guard whose model file was removed says which file is missing."""
    folder = _saved(fitted, tmp_path)
    (folder / "model.skops").unlink()
    with pytest.raises(ArtifactError, match=r"lacks its file 'model.skops'"):
        load(folder)


def _edit_meta(folder: Path, **changes: Any) -> None:
    meta = json.loads((folder / "guard.json").read_text())
    meta.update(changes)
    (folder / "guard.json").write_text(json.dumps(meta))


def test_newer_format_is_refused(fitted, tmp_path: Path) -> None:
    """Check that a Guard of a newer format asks to upgrade fnguard."""
    folder = _saved(fitted, tmp_path)
    _edit_meta(folder, format_version=FORMAT_VERSION + 1, fnguard_version="9.0.0")
    with pytest.raises(ArtifactError, match=r"saved by fnguard 9\.0\.0 in format 2.*Upgrade"):
        load(folder)


class Shout(TransformerMixin, BaseEstimator):
    """A transformer from outside the trusted libraries (this test module)."""

    def fit(self, X: Any, y: Any = None) -> Shout:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X: Any) -> Any:
        return X


def test_untrusted_type_is_refused(loans, tmp_path: Path) -> None:
    """Check that a model holding a type from another module is refused, named, with a way out."""
    from imblearn.pipeline import Pipeline

    data, X, y, _ = loans
    numeric = data.schema.numeric()
    pipe = Pipeline([("shout", Shout()), ("model", LogisticRegression(max_iter=50))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unscaled columns: lbfgs stops early, which is fine here
        pipe.fit(X[numeric].fillna(0), y)
    folder = _saved(_guard(data, pipe), tmp_path)
    with pytest.raises(ArtifactError) as caught:
        load(folder)
    message = str(caught.value)
    assert "does not trust" in message and "Shout'" in message
    assert "skops.io.visualize" in message and "trusted=" in message
    assert "LogisticRegression" not in message  # trusted types are not listed
    # By hand, trusting the listed types, the pipeline loads.
    model = folder / "model.skops"
    sio.load(model, trusted=sio.get_untrusted_types(file=model))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p / "absent", r"does not exist"),
        (lambda p: p, r"is not a Guard: it has no guard\.json"),
        (lambda p: (p / "f.txt").write_text("x") and p / "f.txt", r"is a file, not a Guard"),
        (lambda p: (p / "guard.json").write_text("{oops") and p, r"guard\.json' is not valid JSON"),
        (lambda p: (p / "guard.json").write_text("[1]") and p, r"not the record of a Guard"),
    ],
)
def test_not_a_guard_is_refused(make: Any, match: str, tmp_path: Path) -> None:
    """Check that paths that are not Guard folders raise an ArtifactError saying what they are."""
    with pytest.raises(ArtifactError, match=match):
        load(make(tmp_path))


# ------------------------------------------------------------------------------ atomic save
def _broken(guard: Guard) -> Guard:
    """A Guard whose holdout cannot be written as Parquet: saving fails after the model."""
    return Guard(**{**vars(guard), "holdout": pd.DataFrame({"y": [True], "score": [object()]})})


def test_failed_save_leaves_nothing(fitted, tmp_path: Path) -> None:
    """Check that a save failing midway leaves no folder and no temporary folder behind."""
    with pytest.raises(ArtifactError, match="holdout table cannot be saved as Parquet"):
        _broken(fitted).save(tmp_path / "guard", report=False)
    assert list(tmp_path.iterdir()) == []


def test_failed_save_keeps_the_old_guard(fitted, loans, tmp_path: Path) -> None:
    """Check that a failed overwrite leaves the old Guard intact, and a good one replaces it."""
    new = loans[3]
    folder = _saved(fitted, tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ArtifactError):
        _broken(fitted).save(folder, report=False)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guard"]
    Guard(**{**vars(fitted), "threshold": 0.5}).save(folder, report=False)
    assert load(folder).threshold == 0.5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guard"]
    np.testing.assert_array_equal(load(folder).score(new), fitted.score(new))


def test_save_refuses_a_folder_that_is_not_a_guard(fitted, tmp_path: Path) -> None:
    """Check that saving onto a non-empty non-Guard folder or a file is refused, untouched."""
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(ArtifactError, match=r"folder with other files and no guard\.json"):
        fitted.save(tmp_path / "notes", report=False)
    assert [p.name for p in (tmp_path / "notes").iterdir()] == ["keep.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(ArtifactError, match="is an existing file"):
        fitted.save(tmp_path / "file", report=False)
    (tmp_path / "empty").mkdir()
    assert load(fitted.save(tmp_path / "empty", report=False)).threshold == fitted.threshold


def test_save_refuses_a_guard_folder_holding_other_files(fitted, tmp_path: Path) -> None:
    """Check that saving over a Guard folder that also holds the user's files (predictions
    written next to the Guard, notes) is refused, naming them, and leaves everything; with
    the Guard's own files only (and a report), it is replaced."""
    folder = fitted.save(tmp_path / "guard", report=False)
    (folder / "report").mkdir()
    (folder / "report" / "index.html").write_text("<html></html>")
    Guard(**{**vars(fitted), "threshold": 0.5}).save(folder, report=False)
    assert load(folder).threshold == 0.5
    (folder / "preds.parquet").write_bytes(b"mine")
    (folder / "notes.txt").write_text("mine")
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(ArtifactError, match=r"holds a Guard and other files \('notes\.txt', "
                       r"'preds\.parquet'\), and saving replaces the folder whole"):
        fitted.save(folder, report=False)
    assert sorted(p.name for p in folder.iterdir()) == before
    assert (folder / "notes.txt").read_text() == "mine" and load(folder).threshold == 0.5
    with pytest.raises(ArtifactError, match="holds a Guard and other files"):
        check_destination(folder)  # fit checks before its search


# ------------------------------------------------------------------------------ predict
def test_predict_matches_the_pipeline_and_the_band(fitted, loans) -> None:
    """Check score, decision, label and review against the pipeline's own probabilities."""
    data, _, _, new = loans
    out = fitted.predict(new)
    p = fitted.pipeline.predict_proba(new)[:, 1]
    assert out.index.equals(new.index)
    assert out.columns.tolist() == ["score", "decision", "label", "review"]
    np.testing.assert_array_equal(out["score"].to_numpy(), p)
    np.testing.assert_array_equal(out["decision"].to_numpy(), (p >= 0.08).astype(int))
    assert out["decision"].dtype == np.int64 and out["review"].dtype == bool
    assert out["label"].tolist() == [data.positive if d else data.negative for d in p >= 0.08]
    np.testing.assert_array_equal(out["review"].to_numpy(), (p >= 0.08) & (p < 0.15))
    assert 0 < out["review"].sum() < out["decision"].sum()


def test_predict_proba_is_the_pipelines(fitted, loans) -> None:
    """Check predict_proba and classes_ against the pipeline's, in scikit-learn's layout."""
    data, _, _, new = loans
    proba = fitted.predict_proba(new)
    np.testing.assert_allclose(proba, fitted.pipeline.predict_proba(new), rtol=0, atol=1e-12)
    assert fitted.classes_.tolist() == [data.negative, data.positive]
    assert fitted.predict_proba(new.head(0)).shape == (0, 2)


def test_predict_ignores_a_multiclass_target_and_warns_about_nothing(fitted, loans) -> None:
    """Check that clean new rows, with the target column holding other labels, raise no warning."""
    new = loans[3].assign(Class=np.resize(["bad", "good", "unknown"], len(loans[3])))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = fitted.predict(new)
    np.testing.assert_array_equal(out["score"], fitted.score(loans[3]))


def test_missing_and_unreadable_columns_are_errors(fitted, loans) -> None:
    """Check the DataErrors: missing columns listed, a numeric column holding text."""
    new = loans[3]
    with pytest.raises(DataError, match=r"lacks 2 columns .*: 'funded_amnt', 'int_rate'"):
        fitted.predict(new.drop(columns=["int_rate", "funded_amnt"]))
    bad = new.assign(int_rate=new["int_rate"].astype(object))
    bad.iloc[3, bad.columns.get_loc("int_rate")] = "high"
    with pytest.raises(DataError, match=r"'int_rate' .* 1 non-numeric value, e\.g\. 'high'"):
        fitted.predict(bad)
    with pytest.raises(DataError, match="scores a pandas DataFrame"):
        fitted.predict(new.to_numpy())


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda f: f.assign(extra=1), r"1 column of the DataFrame .* is ignored: 'extra'"),
        (lambda f: f.assign(term="term_99"), r"not seen in training .*'term': 'term_99' \(300"),
        (lambda f: f.assign(int_rate=np.nan), r"no value in any of the 300 rows: 'int_rate'"),
        (lambda f: f.assign(int_rate=f["int_rate"].astype(str)), r"'int_rate' \(numeric, "),
        (lambda f: f.assign(annual_inc=f["annual_inc"] * 1e4), r"far outside .*'annual_inc'"),
    ],
)
def test_drift_is_warned_once_per_kind(change: Any, match: str, fitted, loans) -> None:
    """Check that each kind of drift gives exactly one FnguardWarning and rows are still scored."""
    with pytest.warns(FnguardWarning) as caught:
        out = fitted.predict(change(loans[3]))
    messages = [str(w.message) for w in caught if issubclass(w.category, FnguardWarning)]
    assert len(messages) == 1
    assert re.search(match, messages[0]), messages[0]
    assert len(out) == len(loans[3]) and out["score"].notna().all()


def test_empty_frame_gives_empty_predictions(fitted, loans) -> None:
    """Check that a frame with the columns and no rows gives an empty table, not an error."""
    out = fitted.predict(loans[3].iloc[:0])
    assert out.empty and out.columns.tolist() == ["score", "decision", "label", "review"]


def test_saved_folder_has_the_mode_of_a_plain_folder(fitted, tmp_path: Path) -> None:
    """Check that the Guard folder gets the mode mkdir would give (it was 0700, so another
    account, e.g. the one that serves predictions, could not open it)."""
    import os
    import stat

    umask = os.umask(0o022)
    try:
        folder = fitted.save(tmp_path / "guard", report=False)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o644 for f in folder.iterdir() if f.is_file())


def test_repr_is_one_short_line(fitted) -> None:
    """Check that repr(guard) says what it guards in one line (the dataclass repr held the
    pipeline, the leaderboard and the held-out rows: about 12,000 characters)."""
    text = repr(fitted)
    assert "\n" not in text and len(text) < 300
    assert text.startswith("Guard(target=") and "requirement='recall>=0.9'" in text
    assert "threshold=0.08" in text and "levers='lightgbm'" in text


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc")
def test_destination_where_no_folder_can_be_made_is_refused_up_front() -> None:
    """Check that a place whose permission bits say writable but which refuses new folders
    (/proc, even for root) is refused before any work (the search ran, then saving failed
    with a traceback)."""
    from fnguard.guard_files import check_destination

    with pytest.raises(ArtifactError, match=r"Cannot save the Guard to '/proc/guard'"):
        check_destination("/proc/guard")


def test_a_function_under_a_trusted_module_name_is_refused(fitted, tmp_path: Path) -> None:
    """Check that a model file naming a function under a trusted module's name is refused:
    ``sklearn.utils._testing.check_output`` is subprocess.check_output, and a pipeline of
    FunctionTransformers around it ran a shell command when the Guard scored data (the
    checksums recomputed, as anyone can). Only classes defined in the trusted modules, and
    fnguard's own functions, load."""
    import subprocess
    import zipfile

    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from fnguard.guard_files import content_digest, sha256

    marker = tmp_path / "ran"
    evil = Pipeline([
        ("a", FunctionTransformer(np.full_like, kw_args={"fill_value": f"touch {marker}",
                                                         "dtype": "O"})),
        ("b", FunctionTransformer(np.ravel)),
        ("c", FunctionTransformer(subprocess.check_output, kw_args={"shell": True})),
        ("model", fitted.pipeline),
    ])
    folder = fitted.save(tmp_path / "guard", report=False)
    plain = tmp_path / "plain.skops"
    sio.dump(evil, plain)
    with zipfile.ZipFile(plain) as z:
        items = {n: z.read(n) for n in z.namelist()}
    items["schema.json"] = items["schema.json"].replace(
        b'"__module__": "subprocess"', b'"__module__": "sklearn.utils._testing"'
    )
    assert b"sklearn.utils._testing" in items["schema.json"]
    with zipfile.ZipFile(folder / "model.skops", "w") as z:
        for n, b in items.items():
            z.writestr(n, b)
    meta = json.loads((folder / "guard.json").read_text())
    meta["files"]["model.skops"] = sha256(folder / "model.skops")
    meta["content_sha256"] = content_digest(meta)
    (folder / "guard.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=r"'sklearn\.utils\._testing\.check_output'"):
        load(folder)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda m: m["schema"].update(columns=[]), "lists no feature column"),
        (lambda m: m["schema"].update(columns=m["schema"]["columns"][1:]), "which the schema"),
        (lambda m: m.update(review_band=[0.5, 0.1]), "ends before it starts"),
        (lambda m: m["schema"].update(columns=m["schema"]["columns"] * 2), "twice"),
        (lambda m: m.update(negative=m["positive"]), "same label"),
    ],
    ids=["no-columns", "column-dropped", "band-reversed", "columns-twice", "one-label"],
)
def test_a_record_that_contradicts_itself_is_refused(fitted, tmp_path: Path, change, says):
    """Check that a guard.json edited with its checksums recomputed, into a record that
    contradicts itself or its model, is refused as damaged (no columns gave a TypeError
    traceback when scoring; a reversed band loaded and flagged rows for review it could not
    hold)."""
    from fnguard.guard_files import content_digest

    folder = fitted.save(tmp_path / "guard", report=False)
    meta = json.loads((folder / "guard.json").read_text())
    assert meta["schema"]["columns"] and meta["review_band"] is not None
    change(meta)
    meta["content_sha256"] = content_digest(meta)
    (folder / "guard.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=says):
        load(folder)


def test_round_trip_with_every_kind_of_column(tmp_path: Path) -> None:
    """Check that a Guard of a table with numbers, categories, booleans, dates and durations
    saves and loads (fnguard's own date step, a function, was refused by the loader)."""
    from fnguard.data import load_table

    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({
        "amount": rng.gamma(2, 50, n),
        "grade": rng.choice(["A", "B", "C"], n),
        "member": rng.random(n) < 0.5,
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
        "wait": pd.to_timedelta(rng.integers(0, 3600, n), unit="s"),
    })
    frame["y"] = (frame["amount"] + rng.normal(0, 40, n) > 130).astype(int)
    data = load_table(frame, "y", positive=1)
    pipe = build(["logistic"], data.schema).fit(data.X, data.y)
    guard = Guard(pipe, data.schema, "y", 1, 0, "recall>=0.9", 0.3, levers=["logistic"])
    again = load(guard.save(tmp_path / "guard", report=False))
    new = frame.drop(columns="y").iloc[:50]
    np.testing.assert_array_equal(again.score(new), guard.score(new))
