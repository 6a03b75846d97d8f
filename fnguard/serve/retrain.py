"""Retrain a Guard with its reviewers' labels, and keep the new one only if it is no worse.

:func:`retrain` reads the decided cases of a review database and the training table:

1. **Labels.** A case is matched to the table's rows by its stable id (``id:`` + the id
   column, inferred from the cases' stored values when not named; or ``row:`` + the hash of
   the row over the columns the case was enqueued with, :func:`fnguard.serve.queue.case_keys`).
   A reviewed label overrides the stored one; ``unsure`` is left out; a case found in no row
   is added as a new row with its stored values.
2. **Held-out rows.** Old and new are compared on the same rows, which the new Guard does not
   train on. When the table is the one the old Guard was fitted on (the data fingerprint in
   ``guard.info`` matches, and the old Guard's scores on the rows reproduce the saved
   ``holdout``), those are the old Guard's own test rows, found by redoing fit's seeded,
   stratified split: neither Guard trained on them. Otherwise (another table, or a Guard
   without that record) they are a fresh stratified split of the table; the old Guard may have
   trained on some of them, which flatters it, so the comparison then leans toward keeping it
   (a note says so). A share of the added rows (``test_size``) joins the held-out rows. Their
   labels are the best known: the reviewed label where there is one.
3. **Refit.** The Guard's levers and parameters (:func:`fnguard.levers.build`) are fitted on
   the other rows; the threshold is chosen as :func:`fnguard.fit` chose it: on out-of-fold
   scores with the requirement's policy, or, for a guarantee, on a calibration split the model
   does not train on; the review band is placed on the same scores.
4. **Compare.** Each Guard at its own threshold on the held-out rows. The new one is *worse*
   when it does not meet the requirement where the old one does, or when its objective (what
   the search maximises, :func:`fnguard.search.objective.rank_value`) is lower beyond noise:
   the whole 95% interval of the difference, from a paired bootstrap of the held-out rows,
   lies below zero. The reviewers' labels on held-out rows cannot show that the reviewers
   are wrong (a model that learned their labels agrees with them), so the held-out rows nobody
   reviewed, with their stored labels, are compared too: a new Guard worse beyond noise there
   learned rules the rest of the table refutes, and is worse. A worse Guard is not written
   unless ``force``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fnguard.data.names import quote_source
from fnguard.errors import ArtifactError, DataError, FnguardWarning
from fnguard.serve.compare import compare
from fnguard.serve.compare import verdict as judge

__all__ = ["RetrainResult", "retrain"]

#: Bootstrap replicates of the held-out comparison and of the new Guard's test metrics.
N_BOOT = 1000


@dataclasses.dataclass
class RetrainResult:
    """What :func:`retrain` did: the new Guard, the comparison, and whether it was kept.

    Attributes
    ----------
    guard : Guard
        The new Guard (its ``metrics``, ``holdout`` and ``met`` are those of the held-out rows).
    old, new : dict
        Each Guard on the held-out rows: ``threshold``, ``met``, ``value`` (the constrained
        metric), ``rank`` (higher is better), ``tp fp tn fn``, ``recall``, ``precision``.
    verdict : str
        ``"better"``, ``"no worse"`` (within noise) or ``"worse"``.
    reasons : list of str
        Why the verdict is what it is.
    difference : dict
        ``rank`` (new minus old), ``low``, ``high`` (95% paired bootstrap interval).
    unreviewed : dict or None
        ``rows``, ``positives``, ``old``, ``new`` and ``difference`` on the held-out rows
        nobody reviewed (None when there are none with both classes).
    labels : dict
        What was learned from the reviewers (also in ``guard.info["retrain"]``).
    holdout : dict
        Which rows both Guards were compared on.
    forced : bool
        Whether a worse Guard was kept because ``force`` was given.
    saved : str or None
        The folder written, if any.
    notes : list of str
    """

    guard: Any
    old: dict[str, Any]
    new: dict[str, Any]
    verdict: str
    reasons: list[str]
    difference: dict[str, Any]
    unreviewed: dict[str, Any] | None
    labels: dict[str, Any]
    holdout: dict[str, Any]
    forced: bool = False
    saved: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """Whether the new Guard may replace the old one (not worse, or forced)."""
        return self.verdict != "worse" or self.forced

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the Guard itself left out)."""
        from fnguard.search.leaderboard import jsonable

        return jsonable({
            "verdict": self.verdict, "accepted": self.accepted, "forced": self.forced,
            "reasons": self.reasons, "old": self.old, "new": self.new,
            "difference": self.difference, "unreviewed": self.unreviewed,
            "labels": self.labels, "holdout": self.holdout,
            "saved": self.saved, "notes": self.notes, "requirement": self.guard.requirement,
        })


def retrain(
    guard: Any,
    db: Any,
    data: Any,
    *,
    force: bool = False,
    seed: int | None = None,
    id_column: str | None = None,
    out: str | os.PathLike[str] | None = None,
    report: bool = True,
) -> RetrainResult:
    """Refit a Guard on its training table corrected and extended by the reviewed labels.

    See the module docstring for how labels are matched, which rows are held out and when
    the new Guard counts as worse.

    Parameters
    ----------
    guard : Guard, str or PathLike
        The Guard whose cases were reviewed (made by :func:`fnguard.fit`: it records its
        levers, parameters and split), or its folder.
    db : str, PathLike or Engine
        The review database.
    data : str, PathLike, DataFrame or Dataset
        The labelled training table, with the Guard's target column.
    force : bool, default=False
        Keep (and write) the new Guard even when it is worse.
    seed : int, optional
        Seed of the refit, the folds and the bootstrap; the Guard's own seed by default.
    id_column : str, optional
        The column of ``data`` the cases' ids come from; inferred from the cases when None.
    out : str or PathLike, optional
        Folder to save the new Guard to, when it is accepted (:meth:`Guard.save`, atomic).
    report : bool, default=True
        Write the HTML report into the saved Guard.

    Returns
    -------
    RetrainResult

    Raises
    ------
    StoreError, ReviewError
        For a database that does not exist or is of another version, or whose cases were
        queued for a Guard with another schema.
    DataError
        For a table without the Guard's target or labels, no reviewed label to learn from,
        an id column that cannot be found, too few positives to split.
    ArtifactError
        For a Guard that does not record its levers (not made by ``fnguard fit``).

    Examples
    --------
    A Guard fitted on a table whose last positives were recorded as negatives; a reviewer
    sees its borderline cases and says what they are.

    >>> from fnguard.data import load_table
    >>> from fnguard.guard import Guard
    >>> from fnguard.levers import build
    >>> from fnguard.serve.auth import add_user
    >>> from fnguard.serve.leases import case_for, lease_next, submit_verdict
    >>> from fnguard.serve.queue import enqueue
    >>> from fnguard.serve.store import open_store
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=600)
    >>> truth = x + rng.normal(size=600) > 1.2
    >>> stored = truth & (np.arange(600) < 450)  # hidden misses in the last rows
    >>> table = pd.DataFrame({"x": x, "y": stored})
    >>> data = load_table(table, "y", positive=True)
    >>> guard = Guard(build(["logistic"], data.schema).fit(data.X, data.y), data.schema, "y",
    ...               True, False, "recall>=0.8", threshold=0.3, review_band=(0.3, 0.5),
    ...               levers=["logistic"], info={"seed": 0, "cv": 3, "test_size": 0.25})
    >>> db = open_store("sqlite://", create=True)
    >>> _ = enqueue(db, guard, table[["x"]], guard.predict(table), capacity=None, audit=60,
    ...             explain=False)
    >>> alice = add_user(db, "alice", "a long password")
    >>> case = lease_next(db, alice)
    >>> while case is not None:
    ...     value = json.loads(case_for(db, alice, case)["values"])["x"]
    ...     verdict = "positive" if truth[x == value][0] else "negative"
    ...     case = submit_verdict(db, alice, case, verdict, then_next=True)["next"]
    >>> result = retrain(guard, db, table)
    >>> result.labels["labels_changed"] > 0, result.verdict in ("better", "no worse", "worse")
    (True, True)
    >>> result.guard.info["retrain"]["labels"]["case_keys"] == result.labels["case_keys"]
    True
    """
    from fnguard.decide import parse_requirement
    from fnguard.search.fit import fingerprint
    from fnguard.serve.queue import check_guard
    from fnguard.serve.store import open_store

    started = time.monotonic()
    if out is not None:
        from fnguard.guard_files import check_destination

        check_destination(out)  # before the refit, not after it
        if isinstance(guard, str | os.PathLike) and Path(out).resolve() == Path(guard).resolve():
            raise ArtifactError(
                f"The new Guard would replace the one it is retrained from ('{guard}'), with no "
                "way back if the new one disappoints later: write it to another folder "
                "(--out guard-v2/), and swap the folders once you are sure."
            )
    old = _load_guard(guard)
    info = dict(old.info or {})
    req = parse_requirement(old.requirement)
    seed = int(info.get("seed", 0) if seed is None else seed)
    engine = open_store(db)
    check_guard(engine, old, source="the Guard to retrain")
    reviewed = _reviewed(engine)
    frame, y_data, X_fit = _table(old, data)
    labels, X, y, is_new, matched = _merge(old, reviewed, frame, y_data, id_column)
    labels["database"] = _db_identity(engine, db)
    notes: list[str] = []

    test_size = _held_out_share(info)
    rows_from, test = _held_out(old, info, frame, X, y_data, X_fit, y, is_new, test_size, seed,
                                notes, fingerprint)
    train = np.setdiff1d(np.arange(len(y)), test)
    with _quiet():
        final = _refit(old, req, X.iloc[train], y[train], int(info.get("cv", 5) or 5), seed)
        s_old = _scores(old.pipeline, X.iloc[test])
        s_new = _scores(final["pipeline"], X.iloc[test])
    y_test = y[test]
    pairs = (s_old, float(old.threshold)), (s_new, float(final["threshold"]))
    both = compare(req, y_test, *pairs, seed)
    untouched = ~matched[test]
    unreviewed = None
    if 0 < y_test[untouched].sum() < untouched.sum():
        unreviewed = compare(req, y_test[untouched], *((s[untouched], t) for s, t in pairs),
                              seed)
        unreviewed.update(rows=int(untouched.sum()), positives=int(y_test[untouched].sum()))
    else:
        notes.append("No held-out row without a review holds both classes: the reviewed "
                     "labels are not checked against the stored ones.")
    verdict, reasons = judge(req, both, unreviewed)
    holdout = {
        "from": rows_from, "rows": int(test.size), "positives": int(y_test.sum()),
        "reviewed": int(matched[test].sum()), "added_rows": int(is_new[test].sum()),
        "train_rows": int(train.size), "train_positives": int(y[train].sum()),
    }
    forced = bool(force and verdict == "worse")
    record = {"labels": labels, "holdout": holdout, "verdict": verdict, "forced": forced,
              "difference": both["difference"], "unreviewed": unreviewed,
              "parent": {"created": info.get("created"), "threshold": float(old.threshold)}}
    new = _new_guard(old, final, req, y_test, s_new, both["old"], record, seed,
                     [*notes, *final["notes"]], started)
    result = RetrainResult(
        guard=new, old=both["old"], new=both["new"], verdict=verdict, reasons=reasons,
        difference=both["difference"], unreviewed=unreviewed, labels=labels, holdout=holdout,
        forced=forced, notes=[*notes, *final["notes"]],
    )
    if out is not None and result.accepted:
        result.saved = os.fspath(new.save(out, report=report))
    return result


# ------------------------------------------------------------------------------ inputs
def _load_guard(guard: Any) -> Any:
    from fnguard.guard import Guard, load

    if isinstance(guard, str | os.PathLike):
        guard = load(guard)
    if not isinstance(guard, Guard):
        raise ArtifactError(
            f"The Guard to retrain must be a Guard or its folder. Got {type(guard).__name__} "
            "instead."
        )
    if not guard.levers:
        raise ArtifactError(
            "The Guard records no levers, so its pipeline cannot be rebuilt: retrain a Guard "
            "made by `fnguard fit` (or fnguard.fit), which records its levers and parameters."
        )
    return guard


def _reviewed(engine: Any) -> pd.DataFrame:
    """The decided cases: key, final label and the values they were enqueued with."""
    import sqlalchemy as sa

    from fnguard.serve.store import cases, read

    with read(engine) as conn:
        rows = conn.execute(
            sa.select(cases.c.key, cases.c.final, cases.c["values"])
            .where(cases.c.status == "done").order_by(cases.c.id)
        ).all()
        total = conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar()
    table = pd.DataFrame(rows, columns=["key", "final", "values"])
    if not (table["final"].isin(["positive", "negative"])).any():
        unsure = int((table["final"] == "unsure").sum())
        raise DataError(
            f"The review database holds no positive or negative verdict to learn from "
            f"({total:,} cases, {len(table):,} decided, {unsure:,} of them unsure): review "
            "cases first (`fnguard review serve`), then retrain."
        )
    table.attrs["total"] = int(total)
    return table


def _table(guard: Any, data: Any) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """The raw table, its stored labels (bool) and its features as fit read them."""
    from fnguard.data import Dataset, load_table, read_frame

    if isinstance(data, Dataset):
        labels = np.where(data.y, data.positive, data.negative)
        frame = data.X.assign(**{data.target: labels})
    elif isinstance(data, pd.DataFrame):
        frame = data.copy(deep=False)
    else:
        frame = read_frame(data, text=guard.schema.text())
    frame.columns = [str(c) for c in frame.columns]
    if guard.target not in frame.columns:
        raise DataError(
            f"The training table has no column '{guard.target}', the Guard's target: pass the "
            "labelled table the Guard was fitted on (or one like it)."
        )
    extra = [c for c in frame.columns if c != guard.target and c not in guard.schema.names]
    lacking = [c for c in guard.schema.names if c not in frame.columns]
    if lacking:
        shown = ", ".join(repr(c) for c in lacking[:10]) + (" ..." if len(lacking) > 10 else "")
        raise DataError(
            f"The training table lacks {len(lacking):,} of the Guard's "
            f"{len(guard.schema.names):,} feature columns: {shown}. Pass the labelled table the "
            "Guard was fitted on (or one with the same columns)."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FnguardWarning)
        try:
            dataset = load_table(
                frame, guard.target, guard.positive, drop=extra, auto_columns=False
            )
        except DataError as exc:
            if "is not a value of" not in str(exc):
                raise
            values = frame[guard.target].dropna().unique()[:5].tolist()
            raise DataError(
                f"The training table's target '{guard.target}' does not hold the Guard's "
                f"positive label {guard.positive!r} (its values include {values}): pass a "
                f"table labelled like the one the Guard was fitted on ({guard.positive!r} / "
                f"{guard.negative!r})."
            ) from None
    if dataset.negative != guard.negative:
        raise DataError(
            f"The training table's labels are {dataset.positive!r} / {dataset.negative!r}, the "
            f"Guard's {guard.positive!r} / {guard.negative!r}: pass a table with the Guard's "
            "labels."
        )
    X_fit = dataset.X
    try:  # the features as fit read them (text dates as dates ...), for the fingerprint
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FnguardWarning)
            as_fit = load_table(frame, guard.target, guard.positive, drop=extra).X
        if list(as_fit.columns) == list(X_fit.columns):
            X_fit = as_fit
    except DataError:
        pass
    return frame.reset_index(drop=True), np.asarray(dataset.y, dtype=bool), X_fit


def _check_id_column(
    id_column: str, keys: pd.Series, values: np.ndarray, frame: pd.DataFrame
) -> None:
    """Refuse an id column that is not the one the cases were keyed by, or that repeats in
    the training table: a reviewed label would change every row sharing its value (a column
    of amounts relabelled thousands of rows)."""
    from fnguard.serve.queue import json_value

    for key, vals in zip(keys, values, strict=True):
        if not _keyed_by(vals, id_column, key):
            raise DataError(
                f"The reviewed cases were not keyed by the column '{id_column}' (case "
                f"{key!r} has {id_column} = {vals.get(id_column)!r}): name the column their "
                "ids came from (predict's --id-column), or leave --id-column out to find it."
            )
    repeated = frame[id_column].duplicated(keep=False) & frame[id_column].notna()
    if repeated.any():
        first = frame[id_column][repeated].iloc[0]
        raise DataError(
            f"The id column '{id_column}' repeats in the training table ({int(repeated.sum()):,} "
            f"rows share a value, e.g. {json_value(first)!r}): a reviewed label would change "
            "every row with its id. Pass a table whose id column is unique."
        )


def _keyed_by(values: dict[str, Any], column: str, key: str) -> bool:
    """Whether a case's ``key`` (``id:...``) was made from its stored ``values[column]``."""
    from fnguard.serve.queue import json_value

    return column in values and "id:" + str(json_value(values[column])) == key


def _infer_id_column(reviewed: pd.DataFrame, values: list[dict], frame: pd.DataFrame) -> str:
    ids = reviewed["key"].str.startswith("id:").to_numpy()
    candidates: set[str] | None = None
    for key, vals in zip(reviewed["key"][ids], np.asarray(values, dtype=object)[ids],
                         strict=True):
        match = {c for c in vals if _keyed_by(vals, c, key)}
        candidates = match if candidates is None else candidates & match
    found = sorted((candidates or set()) & set(frame.columns))
    if len(found) != 1:
        raise DataError(
            "The reviewed cases are keyed by an id column, which "
            + ("no column of the training table holds" if not found
               else f"several columns could be ({', '.join(found)})")
            + ": name it with --id-column (id_column=...)."
        )
    return found[0]


def _canonical(values: Any) -> str:
    from fnguard.serve.queue import json_value

    out = []
    for v in values:
        v = json_value(v)
        out.append(float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v)
    return json.dumps(out, separators=(",", ":"), default=str)


def _merge(
    guard: Any, reviewed: pd.DataFrame, frame: pd.DataFrame, y_data: np.ndarray,
    id_column: str | None,
) -> tuple[dict[str, Any], pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Apply the verdicts (labels overridden, rows added): X, y, added and reviewed masks."""
    counts = reviewed["final"].value_counts().to_dict()
    sure = reviewed[reviewed["final"] != "unsure"].reset_index(drop=True)
    values = [json.loads(v) for v in sure["values"]]
    if id_column is not None and id_column not in frame.columns:
        raise DataError(
            f"The id column '{id_column}' is not in the training table: name one of its "
            "columns."
        )
    # A case is found by the values its key was made of (the id, or the whole row as its batch
    # had it), numbers compared as numbers: a column read as integers in the batch and as
    # decimals in the table (a missing value elsewhere) still matches.
    by_id = sure["key"].str.startswith("id:").to_numpy()
    if by_id.any():
        id_column = id_column or _infer_id_column(sure, values, frame)
        _check_id_column(id_column, sure["key"][by_id], np.asarray(values, dtype=object)[by_id],
                         frame)
    wanted: list[tuple[tuple[str, ...], str]] = []
    for vals, is_id in zip(values, by_id, strict=True):
        columns = (id_column,) if is_id else tuple(sorted(vals))
        wanted.append((columns, _canonical(vals.get(c) for c in columns)))
    where: dict[tuple[tuple[str, ...], str], list[int]] = {}
    for columns in dict.fromkeys(c for c, _ in wanted):
        if set(columns) <= set(frame.columns):
            for i, row in enumerate(frame[list(columns)].itertuples(index=False, name=None)):
                where.setdefault((columns, _canonical(row)), []).append(i)
    y = y_data.copy()
    matched = np.zeros(len(frame), dtype=bool)
    added: list[int] = []
    changed = 0
    for j, (final, want) in enumerate(zip(sure["final"], wanted, strict=True)):
        label = final == "positive"
        rows = where.get(want)
        if rows is None:
            added.append(j)
            continue
        changed += int((y[rows] != label).sum())
        y[rows] = label
        matched[rows] = True
    from fnguard.data.schema import Drift

    drift = Drift(guard.schema, source="the training table",
                  ignore=[*guard.not_features, *([id_column] if id_column else [])])
    X = guard.schema.check(frame, source="the training table", drift=drift)
    drift.warn(stacklevel=4)
    y_add = np.array([sure["final"][j] == "positive" for j in added], dtype=bool)
    if added:
        new_rows = pd.DataFrame.from_records([values[j] for j in added])
        missing = [c for c in guard.schema.names if c not in new_rows.columns]
        if missing:
            raise DataError(
                f"Reviewed cases not in the training table lack the columns {missing[:5]}: "
                "they cannot be added as rows. Pass the table they came from."
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FnguardWarning)  # JSON values: ints read as floats
            X_add = guard.schema.check(new_rows[guard.schema.names])
        X = pd.concat([X, X_add], ignore_index=True)
    keys = sorted(f"{k}={v}" for k, v in zip(sure["key"], sure["final"], strict=True))
    labels = {
        "cases": int(reviewed.attrs.get("total", len(reviewed))),
        "decided": len(reviewed),
        "case_keys": len(sure),
        "verdicts": {v: int(counts.get(v, 0)) for v in ("positive", "negative", "unsure")},
        "unsure_left_out": int(counts.get("unsure", 0)),
        "matched_rows": int(matched.sum()),
        "labels_changed": int(changed),
        "rows_added": len(added),
        "id_column": id_column,
        "labels_sha256": hashlib.sha256("\n".join(keys).encode()).hexdigest(),
        "time": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    is_new = np.r_[np.zeros(len(frame), bool), np.ones(len(added), bool)]
    return labels, X, np.r_[y, y_add], is_new, np.r_[matched, np.ones(len(added), bool)]


def _db_identity(engine: Any, db: Any) -> dict[str, Any]:
    import sqlalchemy as sa

    from fnguard.serve.store import guards, read

    with read(engine) as conn:
        fingerprints = sorted(conn.execute(sa.select(guards.c.fingerprint)).scalars())
    url = engine.url.render_as_string(hide_password=True)
    return {"url": url if not isinstance(db, str | os.PathLike) or "://" in os.fspath(db)
            else os.fspath(db), "schema_fingerprints": fingerprints}


# ------------------------------------------------------------------------------ held-out rows
def _held_out_share(info: dict[str, Any]) -> float:
    """The share of rows a Guard's fit held out (fit's default when it gave a test table)."""
    from fnguard.search.fit import DEFAULT_TEST_SIZE

    return float(info.get("test_size") or DEFAULT_TEST_SIZE)


def _held_out(
    old: Any, info: dict[str, Any], frame: pd.DataFrame, X: pd.DataFrame, y_data: np.ndarray,
    X_fit: pd.DataFrame, y: np.ndarray, is_new: np.ndarray, test_size: float, seed: int,
    notes: list[str], fingerprint: Any,
) -> tuple[str, np.ndarray]:
    from fnguard.search.split import holdout_split

    n_data = len(frame)
    test = None
    if info.get("test_table"):
        notes.append(
            f"The old Guard was tested on a table of its own ({quote_source(info['test_table'])}"
            "), which retrain does not read: the held-out rows are a fresh split of the "
            "training table, on which the old Guard trained. That flatters the old Guard: the "
            "comparison leans toward keeping it."
        )
    elif info.get("fingerprint") and info["fingerprint"] == fingerprint(X_fit, y_data):
        _, rows = holdout_split(y_data, test_size, int(info.get("seed", 0)))
        if _reproduces(old, X.iloc[rows], y_data[rows]):
            test, rows_from = rows, "the old Guard's test rows (its fit's split, reproduced)"
        else:
            notes.append("The table is the one the old Guard was fitted on, but its test rows "
                         "could not be reproduced (other library versions?): a fresh split.")
    if test is None:
        _, test = holdout_split(y[:n_data], test_size, seed)
        rows_from = "a fresh stratified split of the training table"
        if not info.get("test_table"):
            notes.append(
                "The held-out rows are a fresh split: the training table is not the one the old"
                " Guard was fitted on (or it does not record its split), so it may have trained"
                " on some of them. That flatters the old Guard: the comparison leans toward "
                "keeping it."
            )
    added = np.flatnonzero(is_new)
    if added.size >= 5:
        from sklearn.model_selection import train_test_split

        strat = y[added] if min(y[added].sum(), (~y[added]).sum()) >= 2 else None
        _, more = train_test_split(added, test_size=test_size, random_state=seed, stratify=strat)
        test = np.sort(np.r_[test, more])
    return rows_from, test


def _reproduces(guard: Any, X: pd.DataFrame, y: np.ndarray) -> bool:
    holdout = guard.holdout
    if holdout is None:
        return True  # nothing to check against: the fingerprint and the split's seed agree
    if len(holdout) != len(y) or not np.array_equal(holdout["y"].to_numpy(bool), y):
        return False
    with _quiet():
        scores = _scores(guard.pipeline, X)
    return bool(np.allclose(scores, holdout["score"].to_numpy(float), rtol=1e-7, atol=1e-9))


# ------------------------------------------------------------------------------ refit
def _refit(
    old: Any, req: Any, X: pd.DataFrame, y: np.ndarray, cv: int, seed: int
) -> dict[str, Any]:
    """The Guard's levers fitted on ``X``, its threshold and band chosen as fit chose them."""
    from fnguard.levers import build
    from fnguard.search.fit import operating_point
    from fnguard.search.objective import oof_scores
    from fnguard.search.split import cv_folds, guarantee_split

    t0 = time.perf_counter()
    pipeline = build(old.levers, old.schema, params=old.params, random_state=seed)
    notes = list(getattr(pipeline, "fnguard_notes_", []))
    groups = None if req.per is None else X[req.per].astype(str).to_numpy()
    split: dict[str, int] = {}
    if req.guaranteed:
        fit_rows, cal_rows = guarantee_split(y, req, seed)
        pipeline.fit(X.iloc[fit_rows], y[fit_rows])
        scores, y_dec = _scores(pipeline, X.iloc[cal_rows]), y[cal_rows]
        g_dec = None if groups is None else groups[cal_rows]
        threshold_from, folds = "calibration", []
        split = {"fit_rows": int(fit_rows.size), "calibration_rows": int(cal_rows.size),
                 "calibration_positives": int(y_dec.sum())}
    else:
        folds, fold_notes = cv_folds(y, cv, seed)
        notes += fold_notes
        scores, _ = oof_scores(pipeline, X, y, folds)
        pipeline.fit(X, y)
        y_dec, g_dec, threshold_from = y, groups, "out-of-fold"
    # as fit chose: with the safety margin the old Guard's threshold was chosen with, if any
    point = operating_point(y_dec, scores, req, margin=(old.info or {}).get("margin"),
                            groups=g_dec, seed=seed)
    decision, band, review = point["decision"], point["band"], point["review"]
    notes += point["notes"]
    threshold, calibration = float(decision.threshold), None
    if not req.guaranteed:  # as fit: a Platt map of the scores, kept if it helps
        from fnguard.search.calibration import calibrate_winner

        pipeline, threshold, band, calibration = calibrate_winner(
            pipeline, scores, y_dec, threshold, band, seed)
    return {"pipeline": pipeline, "threshold": float(threshold), "band": band,
            "review": review, "decision": decision, "threshold_from": threshold_from,
            "calibration": calibration, "cv": len(folds), "split": split, "notes": notes,
            "seconds": time.perf_counter() - t0}


def _scores(pipeline: Any, X: pd.DataFrame) -> np.ndarray:
    return np.asarray(pipeline.predict_proba(X), dtype=np.float64)[:, 1].copy()


class _quiet(warnings.catch_warnings):
    """Silence the libraries' own warnings (convergence, future changes) while fitting."""

    def __enter__(self) -> Any:
        out = super().__enter__()
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("default", category=FnguardWarning)
        return out


# ------------------------------------------------------------------------------ the new Guard
def _new_guard(
    old: Any, final: dict, req: Any, y: np.ndarray, scores: np.ndarray, old_point: dict,
    retrain: dict, seed: int, notes: list[str], started: float,
) -> Any:
    """The refitted Guard, scored on the held-out rows as fit scores on its test set."""
    from fnguard.decide import evaluate_threshold
    from fnguard.metrics import confusion_curve
    from fnguard.search.fit import versions
    from fnguard.search.leaderboard import jsonable, record
    from fnguard.search.objective import rank_value

    threshold = final["threshold"]
    curve = confusion_curve(y, scores, positive=True)
    d = evaluate_threshold(curve, req, threshold, n_boot=N_BOOT, random_state=seed)
    metrics = {name: jsonable(est.to_dict()) for name, est in d.metrics.items()}
    tp, fp, tn, fn = curve.counts_at(threshold)
    metrics.update(n=int(y.size), n_positive=int(y.sum()), tp=tp, fp=fp, tn=tn, fn=fn)
    if d.value is not None:
        metrics["requirement_value"] = jsonable(d.value)
    trial = 1 + max((int(r.get("trial", -1)) for r in old.leaderboard), default=-1)
    entry = record(trial, list(old.levers), old.params, state="complete",
                   seconds=final["seconds"], decision=final["decision"],
                   value=rank_value(final["decision"]))
    entry["retrain"] = True
    held = retrain["holdout"]
    # The fingerprint named the table whose split the old Guard's test rows came from: the
    # new Guard's held-out rows are not that split, so a later retrain makes a fresh one.
    # A test table of the old Guard's own is not what the new one was scored on either, and
    # the notes about it, or about the old Guard's own retrain, are not the new one's.
    dropped = ("fingerprint", "reference", "oof", "test_table", "test_notes")
    info = {k: v for k, v in (old.info or {}).items() if k not in dropped}
    info["test_size"] = _held_out_share(old.info or {})  # the share _held_out used
    stale = {*(old.info or {}).get("test_notes", ()),
             *((old.info or {}).get("retrain") or {}).get("notes", ())}
    retrain["notes"] = list(notes)
    info.update(
        seed=seed, cv=final["cv"] or info.get("cv"), threshold_from=final["threshold_from"],
        choice=final["decision"].to_dict(), calibration=final["calibration"],
        review=final["review"], best_trial=trial,
        notes=[*(n for n in info.get("notes", []) if n not in stale), *notes],
        split={"rows": held["train_rows"] + held["rows"],
               "positives": held["train_positives"] + held["positives"],
               "train_rows": held["train_rows"], "train_positives": held["train_positives"],
               "test_rows": held["rows"], "test_positives": held["positives"], **final["split"]},
        reference={"old_guard": {
            **{k: old_point[k] for k in ("threshold", "tp", "fp", "tn", "fn")},
            "recall": {"value": old_point["recall"]},
            "precision": {"value": old_point["precision"]}}},
        retrain=retrain, elapsed=round(time.monotonic() - started, 3), versions=versions(),
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )
    from fnguard.guard import Guard

    return Guard(
        pipeline=final["pipeline"], schema=old.schema, target=old.target,
        positive=old.positive, negative=old.negative, requirement=req.describe(),
        threshold=float(threshold), review_band=final["band"], levers=list(old.levers),
        params={k: dict(v) for k, v in old.params.items()}, metrics=metrics, met=bool(d.met),
        leaderboard=[*old.leaderboard, jsonable(entry)], info=jsonable(info),
        holdout=pd.DataFrame({"y": y, "score": scores}),
    )
