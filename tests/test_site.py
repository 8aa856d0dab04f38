"""The offline website of the executed course (course_utils.instructor.site)."""

import base64
import io
import json
import re

import matplotlib.pyplot as plt
import nbformat
import pytest

from course_utils.instructor import notebooks as nbtools
from course_utils.instructor import site
from course_utils.instructor.cli import main


def test_tex_to_mathml_fractions_functions_and_aligned():
    frac = site.tex_to_mathml(r"D^*(x) = \frac{p}{p + q}")
    assert frac.startswith("<math") and "<mfrac>" in frac and 'display="inline"' in frac
    log = site.tex_to_mathml(r"-\log 4", display="block")
    assert 'display="block"' in log
    assert "<mi>log</mi><mspace" in log  # a thin space between log and 4
    # a subscripted max keeps its two children (no space pushed inside)
    assert "<mspace" not in site.tex_to_mathml(r"\max_D V")
    aligned = site.tex_to_mathml(
        r"\begin{aligned} f(y) &= a \log y \\ f'(y) &= \frac{a}{y} \end{aligned}",
        display="block",
    )
    assert aligned.count("<mtr>") == 2 and aligned.count("<mtd") == 4
    assert "<mi>&</mi>" not in aligned and "<mi>&amp;</mi>" not in aligned


def test_placeholders_leave_code_and_escaped_dollars_alone():
    store = {}
    text = site.latex_to_placeholders(
        "Cost \\$5, `x = $y$`, and $a +\nb$ wraps; $$\\frac{1}{2}$$\n"
        "```\nprint('$not math$')\n```\n$first\n\nsecond$",
        store,
    )
    assert "`x = $y$`" in text and "print('$not math$')" in text
    assert "\\$5" in text
    assert len(store) == 2  # a + b across a line break, and the display fraction
    assert "$first" in text and "second$" in text  # no math across a blank line
    assert sum('display="block"' in v for v in store.values()) == 1


@pytest.mark.parametrize(
    "page",
    [
        '<script src="https://cdn.example.org/x.js"></script>',
        "<link rel='stylesheet' href='//fonts.example.org/a.css'>",
        '<img alt="" src="http://example.org/a.png">',
        "<style>body { background: url(https://example.org/b.png) }</style>",
        '<style>@import "https://example.org/c.css";</style>',
    ],
)
def test_external_fetches_are_found(page):
    assert site.external_fetches(page)


def test_links_namespaces_and_embedded_data_are_not_fetches():
    page = (
        '<a href="https://arxiv.org/abs/1406.2661">paper</a>'
        '<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>x</mi></math>'
        '<img src="data:image/png;base64,AAAA"><script src="local.js"></script>'
    )
    assert site.external_fetches(page) == []


def _png() -> str:
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [1, 0])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _course(tmp_path):
    """Two small source notebooks and a build of them (the second one stale)."""
    src, build = tmp_path / "notebooks", tmp_path / "build"
    src.mkdir()
    build.mkdir()
    entries = []
    for number, title in ((1, "The first"), (2, "The second")):
        nb = nbformat.v4.new_notebook()
        nb.metadata["course"] = {"budget_seconds": 60 * number}
        nb.cells = [
            nbformat.v4.new_markdown_cell(
                f"# 0{number}. {title}\n\nIntro.\n\n**Learning objectives.** After "
                "this notebook you can\n\n1. write $V(D, G)$;\n2. compute "
                "$\\mathrm{JSD} \\le \\log 2$."
            ),
            nbformat.v4.new_code_cell("SEED = 0\nQUICK = False", metadata={
                "tags": ["parameters"]}),
        ]
        path = src / f"0{number}_nb.ipynb"
        nbformat.write(nb, str(path))
        executed = nbformat.v4.new_notebook(cells=[c.copy() for c in nb.cells])
        executed.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
        plot = nbformat.v4.new_code_cell("plot()")
        plot.outputs = [
            nbformat.v4.new_output(
                "display_data", data={"image/png": _png(), "text/plain": "<Figure>"}
            ),
            nbformat.v4.new_output(
                "display_data",
                data={
                    "application/vnd.jupyter.widget-view+json": {"model_id": "a"},
                    "text/plain": "interactive(children=(FloatSlider(value=0.2),))",
                },
            ),
            nbformat.v4.new_output(
                "display_data",
                data={
                    "application/vnd.jupyter.widget-view+json": {"model_id": "b"},
                    "text/plain": "training: 100%|##########| 50/50 [00:01<00:00]",
                },
            ),
            nbformat.v4.new_output(
                "display_data",
                data={
                    "text/html": '<link rel="stylesheet"\nhref="https://maxcdn.'
                    'bootstrapcdn.com/font-awesome/4.4.0/css/font-awesome.min.css">'
                    '<button title="Play"><i class="fa fa-play"></i></button>'
                },
            ),
        ]
        executed.cells.append(plot)
        nbformat.write(executed, str(build / path.name))
        entries.append(
            {
                "name": path.stem,
                "status": "ok",
                "seconds": 12.5 * number,
                "budget_seconds": 60 * number,
                "parameters": {},
                "metrics": {"accuracy": 0.987654},
                "error": None,
                "output": str(build / path.name),
                "source_sha256": nbtools.source_digest(path) if number == 1 else "old",
            }
        )
    (build / "report.json").write_text(json.dumps({"notebooks": entries}))
    return src, build


def test_stale_notebooks(tmp_path):
    src, build = _course(tmp_path)
    assert site.stale_notebooks(build, src) == ["02_nb"]
    report = json.loads((build / "report.json").read_text())
    report["notebooks"][0]["parameters"] = {"QUICK": True}  # not the defaults
    (build / "report.json").write_text(json.dumps(report))
    assert site.stale_notebooks(build, src) == ["01_nb", "02_nb"]
    (src / "01_nb.ipynb").write_text((src / "01_nb.ipynb").read_text() + " ")
    assert "01_nb" in site.stale_notebooks(build, src)
    assert site.stale_notebooks(tmp_path / "nothing", src) == ["01_nb", "02_nb"]


def test_build_site_writes_an_offline_index_and_pages(tmp_path):
    src, build = _course(tmp_path)
    (build / "02_nb.ipynb").unlink()  # a notebook that was never run
    index = site.build_site(build, notebooks_dir=src, log=lambda *a, **k: None)
    out = index.parent
    assert sorted(p.name for p in out.iterdir()) == ["01_nb.html", "index.html"]
    text = index.read_text()
    assert text.index("01. The first") < text.index("02. The second")
    assert 'href="01_nb.html"' in text and 'href="02_nb.html"' not in text
    assert re.search(r'class="status ok">ok<', text)
    assert re.search(r'class="status missing">missing<', text)
    assert "12 s at its defaults (budget 60 s)" in text
    assert "0.9877" in text  # the recorded figure, to 4 significant digits
    assert text.count("<math") == 4 and "$" not in text
    page = (out / "01_nb.html").read_text()
    assert site.external_fetches(page) == [] and "font-awesome" not in page
    assert "data:image/png;base64," in page
    assert site.WIDGET_NOTE in page  # the slider demo, which needs a kernel
    assert "training: 100%" in page  # a progress bar keeps its text
    assert "\u25b6" in page and 'class="fa ' not in page
    assert "<math" in page and 'href="index.html"' in page
    assert "cdnjs" not in page and "unpkg" not in page and "require.js" not in page


def test_build_site_marks_a_stale_run(tmp_path):
    src, build = _course(tmp_path)
    text = site.build_site(build, notebooks_dir=src, log=lambda *a, **k: None)
    assert re.search(r'class="status stale">stale<', text.read_text())


def test_ensure_build_runs_only_what_is_not_current(tmp_path, monkeypatch):
    src, build = _course(tmp_path)
    monkeypatch.setattr(site, "stale_notebooks", lambda b: ["02_nb"])
    calls = []

    def fake_run(names, parameters, out_dir, *, log, report):
        calls.append((names, parameters))
        report["notebooks"].append({"name": "02_nb", "status": "ok", "seconds": 1.0,
                                    "budget_seconds": 60, "parameters": {},
                                    "metrics": {}, "error": None})
        return report

    import course_utils.instructor.runner as runner

    monkeypatch.setattr(runner, "run_notebooks", fake_run)
    assert site.ensure_build(build, log=lambda *a, **k: None) == ["02_nb"]
    assert calls == [(["02_nb"], {})]
    names = [e["name"] for e in json.loads((build / "report.json").read_text())[
        "notebooks"]]
    assert sorted(names) == ["01_nb", "02_nb"]  # the current run was kept
    monkeypatch.setattr(site, "stale_notebooks", lambda b: [])
    assert site.ensure_build(build, log=lambda *a, **k: None) == []
    assert len(calls) == 1


def test_site_command_lists_every_course_notebook(tmp_path, capsys):
    assert main(["site", "--build", str(tmp_path), "--no-run"]) == 0
    text = (tmp_path / "site" / "index.html").read_text()
    for path in nbtools.list_notebooks():
        assert f'id="{path.stem}"' in text
    assert text.count('class="status missing"') == len(nbtools.list_notebooks())
    assert "index.html" in capsys.readouterr().out
