"""``fnguard retrain``: learn from the reviewers' labels; keep the new Guard only if no worse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from fnguard.cli._app import JsonOption, app, emit_json, print_note
from fnguard.data.names import plural


@app.command()
def retrain(
    guard: Annotated[str, typer.Argument(help="The Guard folder whose cases were reviewed.")],
    db: Annotated[
        str, typer.Option("--db", help="The review database: a SQLite file or SQLAlchemy URL.")
    ],
    data: Annotated[
        str, typer.Option("--data", help="The labelled training table (CSV or Parquet) with "
                          "the Guard's target column.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder of the new Guard.")],
    force: Annotated[
        bool, typer.Option("--force", help="Write the new Guard even if it is worse than the "
                           "old one on the held-out rows.")
    ] = False,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the refit; the Guard's own by default.")
    ] = None,
    id_column: Annotated[
        str | None,
        typer.Option("--id-column", help="The column the cases' ids come from (found from the "
                     "cases when left out)."),
    ] = None,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Write the HTML report into the Guard.")
    ] = True,
    json_out: JsonOption = False,
) -> None:
    """Refit a Guard with the reviewed labels; compare old and new on the same held-out rows.

    Exit code 1 when the new Guard is worse at the requirement (nothing is written unless
    --force).
    """
    from fnguard.serve.retrain import retrain as run

    result = run(guard, db, data, force=force, seed=seed, id_column=id_column, out=out,
                 report=report)
    doc = {"guard": guard, "out": str(out), **result.to_dict()}
    if json_out:
        emit_json(doc)
    else:
        _print(doc)
    if not result.accepted:
        from rich.markup import escape

        Console(stderr=True, highlight=False).print(
            f"[bold red]refused:[/] {escape(' '.join(result.reasons))} Nothing was written to "
            f"{escape(str(out))}: check the reviewers' labels, or pass --force to keep it "
            "anyway.", soft_wrap=True,
        )
        raise typer.Exit(1)


def _print(doc: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    old, new = doc["old"], doc["new"]
    table = Table(title=f"Old and new Guard on the same {doc['holdout']['rows']:,} held-out rows",
                  header_style="bold")
    table.add_column("")
    table.add_column("old", justify="right")
    table.add_column("new", justify="right")

    def num(v: Any, fmt: str = ".4f") -> str:
        return "-" if v is None else format(v, fmt)

    table.add_row("threshold", num(old["threshold"], ".4g"), num(new["threshold"], ".4g"))
    table.add_row("requirement met", "yes" if old["met"] else "no", "yes" if new["met"] else "no")
    table.add_row("recall", num(old["recall"]), num(new["recall"]))
    table.add_row("precision", num(old["precision"]), num(new["precision"]))
    table.add_row("misses (FN)", f"{old['fn']:,}", f"{new['fn']:,}")
    table.add_row("false alarms (FP)", f"{old['fp']:,}", f"{new['fp']:,}")
    console = Console(highlight=False)
    console.print(table)
    labels, held = doc["labels"], doc["holdout"]
    v = labels["verdicts"]
    console.print(
        f"Learned from {plural(labels['case_keys'], 'reviewed case')} ({v['positive']:,} "
        f"positive, {v['negative']:,} negative; {v['unsure']:,} unsure left out): "
        f"{plural(labels['labels_changed'], 'stored label')} changed, "
        f"{plural(labels['rows_added'], 'row')} added."
    )
    console.print(f"Held-out rows: {escape(held['from'])} ({held['positives']:,} positives, "
                  f"{held['reviewed']:,} reviewed).")
    colour = {"better": "green", "no worse": "green", "worse": "red"}[doc["verdict"]]
    reasons = escape(" ".join(doc["reasons"]))
    console.print(f"Verdict: [bold {colour}]{doc['verdict']}[/]. {reasons}")
    for note in doc["notes"]:
        print_note(console, note)
    if doc["saved"]:
        forced = " (forced)" if doc["forced"] else ""
        console.print(f"New Guard written to [bold]{escape(doc['saved'])}[/]{forced}.")
