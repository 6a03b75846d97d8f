"""``fnguard review``: users, the review web app, the queue's status, the reviewed labels."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from fnguard.cli._app import JsonOption, app, emit_json, print_note

review_app = typer.Typer(
    name="review",
    help="Expert review: add users, serve the review web app, see progress, export labels.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(review_app, name="review")

DbOption = Annotated[
    str,
    typer.Option(
        "--db", help="The review database: a SQLite file, or any SQLAlchemy URL."
    ),
]
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@review_app.command("add-user")
def add_user(
    name: Annotated[str, typer.Argument(help="The user name (letters, digits, _ . @ -).")],
    role: Annotated[
        str, typer.Option("--role", help="reviewer (gives verdicts) or admin (also adjudicates).")
    ] = "reviewer",
    db: DbOption = "review.sqlite",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add a user (or reset the password and role of one); creates the database if needed."""
    from fnguard.serve.auth import add_user as add
    from fnguard.serve.auth import check_user
    from fnguard.serve.store import open_store

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        from fnguard.serve.auth import ReviewError

        raise ReviewError(
            "No terminal to type the password in (standard input is a pipe or a file): pass "
            "--password-stdin and give the password on standard input, e.g. "
            f"`printf '%s\\n' \"$PASSWORD\" | fnguard review add-user {name} --password-stdin`."
        )
    else:
        password = typer.prompt(
            f"Password for {name}", hide_input=True, confirmation_prompt=True
        )
    check_user(name, password, role)  # before the database is created
    engine = open_store(db, create=True)
    user = add(engine, name, password, role=role)
    Console(highlight=False).print(f"User [bold]{_esc(user.name)}[/] ({user.role}) saved in "
                                   f"{_esc(db)}.")


@review_app.command()
def serve(
    guard: Annotated[str, typer.Argument(help="The Guard folder that enqueued the cases.")],
    db: DbOption = "review.sqlite",
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; other machines reach it only "
                          "if you name a non-loopback address.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=0, max=65535)] = 8765,
    reviews_per_case: Annotated[
        int,
        typer.Option("--reviews-per-case", min=1,
                     help="Independent verdicts each case needs; disagreements go to an admin."),
    ] = 1,
    lease_minutes: Annotated[
        float, typer.Option("--lease-minutes", min=0.1,
                            help="How long a case stays reserved for its reviewer.")
    ] = 15.0,
    secure_cookies: Annotated[
        bool, typer.Option("--secure-cookies",
                           help="Mark the sign-in cookies Secure: browsers send them over "
                                "HTTPS only (serve behind an HTTPS proxy).")
    ] = False,
) -> None:
    """Serve the review web app (until Ctrl-C)."""
    from fnguard.guard import load
    from fnguard.serve.app import create_app
    from fnguard.serve.store import StoreError

    try:
        import uvicorn
    except ImportError:
        raise StoreError(
            "The review web app needs uvicorn: pip install 'fnguard[review]'."
        ) from None
    loaded = load(guard)
    web = create_app(db, loaded, reviews_per_case=reviews_per_case,
                     lease_seconds=60.0 * lease_minutes, secure_cookies=secure_cookies)
    sock = _bind(host, port)
    port = sock.getsockname()[1]  # the port the system chose for --port 0
    console = Console(highlight=False)
    shown = f"[{host}]" if ":" in host else host
    console.print(f"Review app on [bold]http://{shown}:{port}/[/] (Ctrl-C stops it).")
    if host not in LOOPBACK:
        console.print(
            f"[yellow]note:[/] listening on {_esc(host)}: other machines can reach it. Put it "
            "behind HTTPS (with --secure-cookies) before reviewers sign in over a network."
        )
    sys.stdout.flush()
    # proxy_headers=False: a client's X-Forwarded-For is not taken as its address (the login
    # limits count failures per address)
    config = uvicorn.Config(web, log_level="warning", access_log=False, proxy_headers=False)
    with sock:
        uvicorn.Server(config).run(sockets=[sock])


def _bind(host: str, port: int) -> Any:
    """A TCP socket bound to ``host:port``, or a :class:`StoreError` saying why it cannot be:
    a host that does not resolve or is not this machine's, a port in use or privileged."""
    import errno
    import socket

    from fnguard.serve.store import StoreError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise StoreError(
            f"--host {host!r} is not an address nor a name this machine resolves "
            f"({getattr(exc, 'strerror', None) or exc}): use 127.0.0.1 (this machine only) "
            "or 0.0.0.0 (every network)."
        ) from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        why = {
            errno.EADDRINUSE: f"port {port} is in use: choose another with --port (0 lets "
            "the system choose a free one)",
            errno.EACCES: f"port {port} needs administrator rights: choose one above 1023 "
            "with --port",
            errno.EADDRNOTAVAIL: f"{host} is not an address of this machine: use 127.0.0.1 "
            "(this machine only) or 0.0.0.0 (every network) with --host",
        }.get(exc.errno or 0, f"{exc.strerror or exc}")
        raise StoreError(f"The review app cannot listen on {host}:{port}: {why}.") from None
    sock.listen(2048)  # connections wait from now on, while the app starts (uvicorn's backlog)
    return sock


@review_app.command()
def status(
    db: DbOption = "review.sqlite",
    reviews_per_case: Annotated[
        int, typer.Option("--reviews-per-case", min=1, help="For the agreement figures.")
    ] = 1,
    json_out: JsonOption = False,
) -> None:
    """Progress of the review queue, misses caught, the audit's miss-rate estimate."""
    from fnguard.serve.status import review_status

    doc = review_status(db, reviews_per_case=reviews_per_case)
    if json_out:
        emit_json(doc)
        return
    _print_status(doc)


@review_app.command()
def export(
    db: DbOption = "review.sqlite",
    out: Annotated[
        Path, typer.Option("--out", help="The labels file to write (.csv or .parquet).")
    ] = Path("labels.csv"),
    json_out: JsonOption = False,
) -> None:
    """Write the reviewed cases as a CSV: their columns, the reviewed label, who decided."""
    from fnguard.serve.export import export_labels

    doc = export_labels(db, out)
    if json_out:
        emit_json(doc)
        return
    Console(highlight=False).print(
        f"{doc['rows']:,} reviewed cases ({doc['positive']:,} positive, {doc['negative']:,} "
        f"negative, {doc['unsure']:,} unsure) written to [bold]{_esc(str(out))}[/]."
    )


@review_app.command("import")
def import_(
    labels: Annotated[Path, typer.Argument(help="CSV of review_case_id and review_verdict.")],
    user: Annotated[str, typer.Option("--user", help="The admin the labels are recorded under.")],
    db: DbOption = "review.sqlite",
) -> None:
    """Set final labels decided outside the app (they count as an admin's adjudication)."""
    from fnguard.serve.export import import_labels

    doc = import_labels(db, labels, user=user)
    Console(highlight=False).print(f"{doc['labels']:,} labels imported.")


def _esc(text: Any) -> str:
    from rich.markup import escape

    return escape(str(text))


def _print_status(doc: dict[str, Any]) -> None:
    from rich.table import Table

    console = Console(highlight=False)
    table = Table(title="Review queue", show_header=False, header_style="bold")
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("cases", f"{doc['cases']:,}")
    table.add_row("reviewed", f"{doc['reviewed']:,}")
    table.add_row("pending", f"{doc['open']:,}")
    table.add_row("to adjudicate", f"{doc['disputed']:,}")
    table.add_row("verdicts", f"{doc['verdicts']:,}")
    table.add_row("misses caught by review", f"{doc['misses_caught']:,}")
    audit = doc["audit"]
    if audit["miss_rate"] is not None:
        table.add_row(
            "miss rate among auto-negatives (audit)",
            f"{audit['miss_rate']:.2%} [{audit['low']:.2%}, {audit['high']:.2%}]",
        )
    kappa = doc["agreement"]["fleiss_kappa"]
    if kappa is not None:
        table.add_row("agreement (Fleiss' kappa)", f"{kappa:.3f}")
    console.print(table)
    for warning in doc["warnings"]:
        print_note(console, warning)


__all__ = ["review_app"]
