"""Tests of ``fnguard review``: add-user, status, export, import, serve's refusals."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from fnguard.cli import main
from fnguard.data.datasets import load_lending_club
from fnguard.guard import Guard
from fnguard.levers import build
from fnguard.serve.auth import authenticate, find_user
from fnguard.serve.export import reviewed_labels
from fnguard.serve.leases import lease_next, submit_verdict
from fnguard.serve.queue import enqueue
from fnguard.serve.store import open_store


def _guard(data, drop=()):
    X = data.X.drop(columns=list(drop))
    schema = type(data.schema)(tuple(c for c in data.schema.columns if c.name not in drop),
                               data.schema.target, data.schema.positive, data.schema.negative)
    pipe = build(["logistic"], schema).fit(X.iloc[:1500], data.y[:1500])
    score = pipe.predict_proba(X.iloc[:1500])[:, 1]
    lower, upper = np.quantile(score, [0.8, 0.97])
    return Guard(pipe, schema, data.target, data.positive, data.negative, "recall>=0.8",
                 float(lower), (float(lower), float(upper)))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A saved Guard, and a review database with 12 cases of which 6 are reviewed."""
    data = load_lending_club()
    guard = _guard(data)
    folder = tmp_path_factory.mktemp("review")
    guard.save(folder / "guard", report=False)
    _guard(data, drop=["int_rate"]).save(folder / "other", report=False)
    new = data.X.iloc[2000:3000].reset_index(drop=True)
    db = folder / "review.sqlite"
    enqueue(db, guard, new, guard.predict(new), capacity=10, audit=2)
    return folder, db


def _stdin(monkeypatch, text):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_add_user_from_stdin(tmp_path, monkeypatch, capsys):
    """Check that add-user creates the database and a user who can sign in."""
    db = tmp_path / "new.sqlite"
    _stdin(monkeypatch, "a-long-password\n")
    code = main(["review", "add-user", "ann", "--role", "admin", "--db", str(db),
                 "--password-stdin"])
    assert code == 0, capsys.readouterr().err
    engine = open_store(db)
    assert authenticate(engine, "ann", "a-long-password").role == "admin"


@pytest.mark.parametrize(
    ("argv", "stdin", "match"),
    [
        (["review", "add-user", "ann", "--password-stdin"], "short\n", "too short"),
        (["review", "add-user", "ann", "--role", "boss", "--password-stdin"], "long-enough\n",
         "role must be one of"),
        (["review", "status"], "", "does not exist"),
        (["review", "export", "--out", "x.csv"], "", "does not exist"),
        # no terminal to prompt in (it said "aborted" with exit 130, as for Ctrl-C)
        (["review", "add-user", "ann"], "", "No terminal to type the password in"),
    ],
)
def test_bad_input_exit_2(tmp_path, monkeypatch, capsys, argv, stdin, match):
    """Check that bad users and unknown databases are one red line and exit code 2."""
    monkeypatch.chdir(tmp_path)
    _stdin(monkeypatch, stdin)
    code = main([*argv, "--db", str(tmp_path / "r.sqlite")])
    err = capsys.readouterr().err
    assert code == 2 and match in " ".join(err.split())
    assert "Traceback" not in err
    assert not (tmp_path / "r.sqlite").exists()  # no database made for a refused user


def test_status_json(setup, capsys):
    """Check that status --json reports the queue's counts."""
    _, db = setup
    assert main(["review", "status", "--db", str(db), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["cases"] == 12 and doc["audit"]["cases"] == 2
    assert main(["review", "status", "--db", str(db)]) == 0
    assert "Review queue" in capsys.readouterr().out


def test_export_and_import(setup, tmp_path, capsys, monkeypatch):
    """Check that export writes the reviewed labels and import refuses unknown case ids."""
    _, db = setup
    engine = open_store(db)
    from fnguard.serve.auth import add_user

    add_user(engine, "ann", "password-ann")
    add_user(engine, "root", "password-root", role="admin")
    ann = find_user(engine, "ann")
    for verdict in ("positive", "negative", "unsure"):
        submit_verdict(engine, ann, lease_next(engine, ann), verdict)
    out = tmp_path / "labels.csv"
    assert main(["review", "export", "--db", str(db), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    ref = reviewed_labels(db)
    assert len(table) == 3 and list(table["review_case_id"]) == list(ref["review_case_id"])
    assert set(table["Class"].dropna()) <= {"bad", "good"}
    assert table.loc[table["review_verdict"] == "positive", "Class"].tolist() == ["bad"]
    # An import naming an unknown case is refused whole.
    bad = table[["review_case_id", "review_verdict"]].copy()
    bad.loc[len(bad)] = ["row:doesnotexist", "negative"]
    bad.to_csv(tmp_path / "bad.csv", index=False)
    capsys.readouterr()
    code = main(["review", "import", str(tmp_path / "bad.csv"), "--user", "root", "--db",
                 str(db)])
    assert code == 2 and "not in the review queue" in " ".join(capsys.readouterr().err.split())
    code = main(["review", "import", str(tmp_path / "bad.csv"), "--user", "nobody", "--db",
                 str(db)])
    assert code == 2 and "no user 'nobody'" in capsys.readouterr().err
    good = bad.iloc[:1].assign(review_verdict="negative")
    good.to_csv(tmp_path / "good.csv", index=False)
    assert main(["review", "import", str(tmp_path / "good.csv"), "--user", "root", "--db",
                 str(db)]) == 0
    assert reviewed_labels(db).set_index("review_case_id").loc[
        good["review_case_id"].iloc[0], "review_verdict"] == "negative"


def test_serve_refuses_other_schema_and_missing_db(setup, tmp_path, capsys):
    """Check that serve refuses a Guard of other columns and an unknown database, exit 2."""
    folder, db = setup
    code = main(["review", "serve", str(folder / "other"), "--db", str(db), "--port", "1"])
    assert code == 2 and "int_rate" in capsys.readouterr().err
    code = main(["review", "serve", str(folder / "guard"), "--db", str(tmp_path / "no.sqlite")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "does not exist" in err and "add-user" in err


def test_serve_says_why_it_cannot_listen(setup, capsys):
    """Check that a port in use and a host that is not an address get their own reasons,
    exit 2, before anything is served."""
    import socket

    folder, db = setup
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["review", "serve", str(folder / "guard"), "--db", str(db), "--port",
                     str(port)])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and f"port {port} is in use" in err and "--port (0" in err
    code = main(["review", "serve", str(folder / "guard"), "--db", str(db), "--host",
                 "no-such-host.invalid"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "'no-such-host.invalid' is not an address" in err
    assert "in use" not in err
    code = main(["review", "serve", str(folder / "guard"), "--db", str(db), "--host",
                 "203.0.113.7"])  # TEST-NET-3: never this machine's
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "203.0.113.7 is not an address of this machine" in err


@pytest.mark.parametrize("secure", [False, True])
def test_serve_on_port_zero_prints_the_port_it_listens_on(setup, secure):
    """Check that --port 0 serves on a free port and prints that port, not 0; and that
    --secure-cookies marks the sign-in cookie Secure."""
    import re
    import signal
    import subprocess
    import sys

    import httpx

    folder, db = setup
    code = "import sys; from fnguard.cli import entry; sys.argv[0] = 'fnguard'; entry()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "review", "serve", str(folder / "guard"), "--db", str(db),
         "--port", "0", *(["--secure-cookies"] if secure else [])],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found and found.group(1) != "0", line
        page = httpx.get(f"{found.group(0)}login", timeout=30)
        assert page.status_code == 200
        cookies = page.headers.get_list("set-cookie")
        assert cookies and all(("; secure" in c.lower()) is secure for c in cookies), cookies
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
