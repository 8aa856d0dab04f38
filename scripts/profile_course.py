"""Where the seconds of a course run go, per notebook.

Reads the executed notebooks that ``python -m course_utils run --out DIR`` (or
``make course``, which writes to build/course) leaves in DIR, takes each code
cell's duration from its execution record, sorts the cells into kinds by what
they call, and prints a Markdown table per notebook (seconds and share per
kind) and its slowest cells:

    python scripts/profile_course.py build/course
    python scripts/profile_course.py build/course --top 5

The kinds, first match wins: *training* (a cell that calls ``train_gan``,
``.backward(`` or ``.step(``, or a function whose name starts with ``train``,
``run_``, ``fit`` or ``stability_run``, or a hand-written loop of ``step_D`` /
``step_G``), *evaluation* (``metrics.``,
``evaluate``, ``score``, ``classifier``, ``wasserstein``, ``sample``),
*plotting* (``plt.``, ``plotting.``, ``show_``, ``widgets``), *data* (``data.``,
``mnist``, ``load``) and *other*. A cell's kind is a guess from its text; the
slowest cells are listed so that the guess can be checked.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime
from pathlib import Path

KINDS = [
    ("training", r"train_gan\(|\.backward\(|\.step\(|\btrain\w*\(|\brun_\w+\(|"
                 r"\bfit_\w+\(|\bfit\(|\bstep_[DG]\(|stability_run\(|infogan_moons\("),
    ("evaluation", r"metrics\.|evaluate|score|classifier|wasserstein|sample"),
    ("plotting", r"plt\.|plotting\.|show_|widgets\."),
    ("data", r"\bdata\.|mnist|load"),
]


def cell_seconds(cell) -> float:
    meta = cell.get("metadata", {})
    duration = meta.get("papermill", {}).get("duration")
    if duration is not None:
        return float(duration)
    ex = meta.get("execution", {})
    start, end = ex.get("iopub.execute_input"), ex.get("shell.execute_reply")
    if start and end:
        parse = lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))  # noqa: E731
        return (parse(end) - parse(start)).total_seconds()
    return 0.0


def kind_of(source: str) -> str:
    for kind, pattern in KINDS:
        if re.search(pattern, source):
            return kind
    return "other"


def profile(path: Path) -> dict:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    rows = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        first = next((line for line in source.splitlines()
                      if line.strip() and not line.startswith("#")), "")
        rows.append({"cell": index, "seconds": cell_seconds(cell),
                     "kind": kind_of(source), "first_line": first.strip()[:70]})
    totals: dict = {}
    for row in rows:
        totals[row["kind"]] = totals.get(row["kind"], 0.0) + row["seconds"]
    return {"name": path.stem, "total": sum(totals.values()), "kinds": totals,
            "cells": sorted(rows, key=lambda r: -r["seconds"])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--top", type=int, default=3, help="slowest cells listed")
    args = parser.parse_args(argv)
    paths = sorted(p for p in args.folder.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        print(f"no executed notebooks (NN_name.ipynb) in {args.folder}", file=sys.stderr)
        return 1
    names = [k for k, _ in KINDS] + ["other"]
    print("| notebook | cells' seconds | " + " | ".join(names) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in names) + " |")
    profiles = [profile(p) for p in paths]
    for prof in profiles:
        shares = [prof["kinds"].get(k, 0.0) for k in names]
        print(f"| {prof['name']} | {prof['total']:.0f} | " + " | ".join(
            f"{s:.0f} ({s / prof['total']:.0%})" if prof["total"] else "0"
            for s in shares) + " |")
    print()
    for prof in profiles:
        print(f"{prof['name']}, slowest cells:")
        for row in prof["cells"][: args.top]:
            print(f"  cell {row['cell']:3d} {row['seconds']:7.1f} s  {row['kind']:10} "
                  f"{row['first_line']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
