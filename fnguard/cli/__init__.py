"""The ``fnguard`` command: parses, calls the library, prints. No logic of its own.

Each command lives in a module of this package named after it and registers itself on
:data:`fnguard.cli._app.app`.

Exit codes: 0 done; 1 the requirement cannot be met; 2 bad input (one red line, no traceback).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import Any

import typer
from rich.console import Console

from fnguard.cli import demo, diagnose, fit, levers, predict, report, retrain, review  # noqa: F401  (they register their commands)
from fnguard.cli._app import SHOWN_NOTES, app
from fnguard.errors import FnguardError, FnguardWarning

__all__ = ["app", "entry", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (2 for bad input, without a traceback).

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        The exit code.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    err = Console(stderr=True, highlight=False)
    failure: str | None = None
    SHOWN_NOTES.clear()
    _TERMINATED.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FnguardWarning)
        try:
            result = app(args=args, prog_name="fnguard", standalone_mode=False)
            # Without standalone mode, typer returns an Exit's code instead of raising it.
            code = result if isinstance(result, int) and not isinstance(result, bool) else 0
            if code == 130 and not _TERMINATED:  # typer turns Ctrl-C into this code, silently
                err.print("[red]interrupted[/]")
        except FnguardError as exc:
            failure = str(exc)
            code = 2
        except typer.Exit as exc:
            code = int(exc.exit_code or 0)
        except typer.TyperException as exc:  # usage errors: bad option, missing argument
            show = getattr(exc, "show", None)
            if show is not None:
                show()
            else:
                err.print(f"[bold red]error:[/] {_escape(exc.format_message())}")
            code = 2
        except typer.Abort:
            err.print("[red]aborted[/]")
            code = 130
        except KeyboardInterrupt:
            err.print("[red]interrupted[/]")
            code = 130
        if _TERMINATED:  # typer turns the interrupt inside a command into exit code 130
            signum = _TERMINATED[0]
            err.print(f"[red]{_SIGNAL_WORDS.get(signum, 'terminated')}[/]")
            code = 128 + signum
    for w in caught:
        if issubclass(w.category, FnguardWarning) and str(w.message) not in SHOWN_NOTES:
            err.print(f"[yellow]note:[/] {_escape(str(w.message))}", soft_wrap=True)
    if failure is not None:  # last, so that it is the line a reader sees
        err.print(f"[bold red]error:[/] {_escape(failure)}", soft_wrap=True)
    return code


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, ``docker stop``, Kubernetes), raised where the program is, as
    Ctrl-C is, so that half-written outputs are removed on the way out."""


#: The SIGTERM or SIGHUP received while the current command ran (typer reports only exit
#: code 130).
_TERMINATED: list[int] = []
#: The word said on stderr for each stopping signal (SIGTERM 15, SIGHUP 1).
_SIGNAL_WORDS = {15: "terminated", 1: "hung up"}


def _terminate(signum: int, frame: Any) -> None:
    _TERMINATED.append(signum)
    raise Terminated


def entry() -> None:
    """Console-script entry point (``fnguard``, ``python -m fnguard``): SIGTERM stops the
    command as Ctrl-C does, with exit code 143, and SIGHUP (the terminal closed) with 129,
    so that temporary files and worker processes are cleaned up."""
    import signal

    watched = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    for signum in watched:
        signal.signal(signum, _terminate)
    code = main()
    # The command is done (its outputs whole): a signal during the interpreter's own exit
    # (worker pools joining) takes its default action instead of raising in an exit hook.
    for signum in watched:
        signal.signal(signum, signal.SIG_DFL)
    sys.exit(code)


if __name__ == "__main__":
    entry()
