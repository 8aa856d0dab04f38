"""The course's command line.

python -m course_utils run [NOTEBOOK...] [-p NAME VALUE]... [--out DIR]
python -m course_utils sweep NOTEBOOK -g NAME VALUE... [-g ...] [-p NAME VALUE]
                              [--one-at-a-time]
python -m course_utils release [--out DIR] [--wheel-url URL] [--no-zip]
python -m course_utils lab [FOLDER]
python -m course_utils grade PATH... [--timeout SECONDS] [--json FILE]
python -m course_utils refresh NOTEBOOK...
python -m course_utils site [--build DIR] [--out DIR] [--no-run]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml

from course_utils.instructor import notebooks as nbtools
from course_utils.paths import BUILD_DIR, NOTEBOOKS_DIR


def _parse_value(text: str):
    """A ``-p`` value read as YAML: 3 -> int, 1.0e-3 -> float, false -> bool."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):
        # YAML 1.1 reads 1e-3 as a string; accept plain float syntax too.
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _names_ok(names) -> bool:
    """Parameter names are UPPER_CASE; say so on stderr if one is not."""
    for name in names:
        if not name.isupper():
            print(f"error: parameter names are UPPER_CASE, got {name!r}",
                  file=sys.stderr)
            return False
    return True


def cmd_run(args) -> int:
    from course_utils.instructor.runner import run_notebooks

    parameters = {name: _parse_value(value) for name, value in args.param or []}
    if not _names_ok(parameters):
        return 2
    out = Path(args.out)
    try:
        report = run_notebooks(
            args.notebooks, parameters, out, cell_timeout=args.cell_timeout
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = [e["name"] for e in report["notebooks"] if e["status"] != "ok"]
    total = sum(e["seconds"] for e in report["notebooks"])
    print(f"\nReport: {out / 'report.md'} and {out / 'report.json'}", end=" ")
    print(f"({total:.1f} s in all)")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def cmd_sweep(args) -> int:
    from course_utils.instructor.runner import run_sweep

    grid = {}
    for spec in args.grid:
        if len(spec) < 2:
            print("error: --grid takes a NAME and at least one VALUE", file=sys.stderr)
            return 2
        grid[spec[0]] = [_parse_value(v) for v in spec[1:]]
    fixed = {name: _parse_value(value) for name, value in args.param or []}
    if not _names_ok(list(grid) + list(fixed)):
        return 2
    out = Path(args.out)
    try:
        report = run_sweep(
            args.notebook,
            grid,
            fixed,
            out,
            cell_timeout=args.cell_timeout,
            one_at_a_time=args.one_at_a_time,
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print((out / "sweep.md").read_text())
    print(f"Runs: {out / 'report.json'}; table: {out / 'sweep.md'}")
    return 1 if any(e["status"] != "ok" for e in report["notebooks"]) else 0


def cmd_release(args) -> int:
    from course_utils.instructor.kit import write_kit

    out = write_kit(Path(args.out), wheel_url=args.wheel_url,
                    make_zip=not args.no_zip)
    print(f"the student kit is in {out}")
    return 0


def lab_folder(folder=None) -> Path:
    """The folder ``lab`` opens: FOLDER, else the clone's notebooks/ (the
    instructor's notebooks, as ``make lab``), else the current folder (a kit)."""
    if folder is not None:
        return Path(folder)
    return NOTEBOOKS_DIR if NOTEBOOKS_DIR.is_dir() else Path.cwd()


def cmd_lab(args) -> int:
    import subprocess

    folder = lab_folder(args.folder)
    if not folder.is_dir():
        print(f"error: no folder {folder}", file=sys.stderr)
        return 2
    return subprocess.call([sys.executable, "-m", "jupyterlab", str(folder)])


def cmd_grade(args) -> int:
    from course_utils.instructor.grader import format_table, grade_paths
    from course_utils.instructor.sandbox import isolation

    start = time.perf_counter()
    how = isolation()
    if not how.isolated and args.require_sandbox:
        print(f"error: --require-sandbox, but {how.detail}. Nothing was graded.",
              file=sys.stderr)
        return 2
    print(f"{'' if how.isolated else 'warning: '}isolation: {how.detail}",
          file=sys.stderr)
    results = grade_paths(
        args.paths,
        jobs=args.jobs,
        cell_timeout=args.timeout,
        total_timeout=args.total_timeout,
        solutions_dir=Path(args.solutions),
    )
    if not results:
        print("error: no .ipynb submissions found", file=sys.stderr)
        return 2
    print(format_table(results))
    print(
        f"\n{len(results)} submission(s) graded in {time.perf_counter() - start:.1f} s"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results}, indent=2) + "\n")
        print(f"results written to {args.json}")
    if args.gradebook:
        from course_utils.instructor.gradebook import write_gradebook

        csv_path = write_gradebook(results, args.gradebook,
                                   solutions_dir=Path(args.solutions))
        print(f"gradebook written to {csv_path}, feedback to "
              f"{Path(args.gradebook) / 'feedback'}")
    return 0


def cmd_refresh(args) -> int:
    from course_utils.instructor.refresh import refresh_notebook

    status = 0
    for name in args.notebooks:
        path = nbtools.find_notebook(name) if not Path(name).exists() else Path(name)
        start = time.perf_counter()
        try:
            n_checks = refresh_notebook(path, timeout=args.cell_timeout)
        except Exception as exc:
            print(f"{path.name}: FAILED: {exc}", file=sys.stderr)
            status = 1
            continue
        print(
            f"{path.name}: {n_checks} check cell output(s) stored "
            f"({time.perf_counter() - start:.1f} s)"
        )
    return status


def cmd_site(args) -> int:
    from course_utils.instructor.site import OfflineError, build_site, ensure_build

    build = Path(args.build)
    if not args.no_run:
        ensure_build(build)
    try:
        index = build_site(build, Path(args.out) if args.out else None)
    except (OfflineError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"\nThe site: {index} (open it in a browser; it needs no network)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute notebooks headlessly and write a report")
    run.add_argument(
        "notebooks", nargs="*", help="names like 01 or 01_minimax_game (default: all)"
    )
    run.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="override a parameter; VALUE is read as YAML (false, 3, 1.0e-3)",
    )
    run.add_argument(
        "--out", default=str(BUILD_DIR), help="output folder (default: build/)"
    )
    run.add_argument("--cell-timeout", type=int, default=1800, help="seconds per cell")
    run.set_defaults(func=cmd_run)

    sweep = sub.add_parser("sweep", help="run one notebook over a grid of parameters")
    sweep.add_argument("notebook")
    sweep.add_argument(
        "-g",
        "--grid",
        nargs="+",
        action="append",
        required=True,
        metavar="NAME VALUE",
        help="a parameter and the values to try",
    )
    sweep.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="a parameter fixed for every run",
    )
    sweep.add_argument(
        "--one-at-a-time",
        action="store_true",
        help="run the defaults, then each value of each grid parameter alone",
    )
    sweep.add_argument("--out", default=str(BUILD_DIR / "sweep"))
    sweep.add_argument("--cell-timeout", type=int, default=1800)
    sweep.set_defaults(func=cmd_sweep)

    rel = sub.add_parser(
        "release",
        help="write the student kit: notebooks without solutions, the package's "
        "wheel, a README, and a zip of it all",
    )
    rel.add_argument("--out", default=str(BUILD_DIR / "student"),
                     help="the kit's folder (default: build/student; the zip "
                     "goes next to it)")
    rel.add_argument(
        "--wheel-url", default=None,
        help="where Colab's set-up cell gets the wheel (default: the wheel's file "
        "name, uploaded by the student next to the notebook)",
    )
    rel.add_argument("--no-zip", action="store_true", help="write the folder only")
    rel.set_defaults(func=cmd_release)

    lab = sub.add_parser(
        "lab", help="open JupyterLab on the course's notebooks (or a kit's folder)")
    lab.add_argument("folder", nargs="?", default=None,
                     help="default: notebooks/ in a clone, else the current folder")
    lab.set_defaults(func=cmd_lab)

    grade = sub.add_parser("grade", help="grade submissions (files or folders)")
    grade.add_argument("paths", nargs="+")
    grade.add_argument(
        "--timeout", type=float, default=60, help="seconds per cell (default 60)"
    )
    grade.add_argument(
        "--total-timeout",
        type=float,
        default=900,
        help="seconds for one submission's whole run (default 900)",
    )
    grade.add_argument("--json", help="also write the results to this JSON file")
    grade.add_argument(
        "--gradebook", metavar="DIR",
        help="write DIR/gradebook.csv (a row per student, a column per exercise) and "
             "DIR/feedback/STUDENT.md",
    )
    grade.add_argument(
        "--require-sandbox", action="store_true",
        help="refuse to grade where submissions cannot be isolated",
    )
    grade.add_argument("--jobs", type=int, default=None, help="parallel submissions")
    grade.add_argument(
        "--solutions",
        default=str(NOTEBOOKS_DIR),
        help="folder of solution notebooks (default: notebooks/)",
    )
    grade.set_defaults(func=cmd_grade)

    ref = sub.add_parser(
        "refresh", help="re-execute notebooks and store check-cell outputs"
    )
    ref.add_argument("notebooks", nargs="+")
    ref.add_argument("--cell-timeout", type=int, default=1800)
    ref.set_defaults(func=cmd_refresh)

    site = sub.add_parser(
        "site", help="the executed course as an offline website (build/site/)"
    )
    site.add_argument(
        "--build",
        default=str(BUILD_DIR),
        help="the course run to publish (default: build/); notebooks whose run is "
        "missing or older than their source are run first",
    )
    site.add_argument("--out", default=None, help="output folder (default: BUILD/site)")
    site.add_argument(
        "--no-run",
        action="store_true",
        help="publish what BUILD holds, marking missing and stale notebooks",
    )
    site.set_defaults(func=cmd_site)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
