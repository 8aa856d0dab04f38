"""The executed course as an offline website: ``python -m course_utils site``.

``build_site`` turns the executed notebooks of a course run (``build/``, written
by ``python -m course_utils run``) into ``build/site/``: an ``index.html`` that
lists the notebooks in order with their learning objectives, wall time, status
and recorded figures, and one HTML page per notebook with its plots and
animations. Nothing in it is fetched from the network: images are embedded, the
equations are turned into MathML when the site is built (browsers draw MathML
themselves, no script needed) and no script or style sheet comes from a CDN.
Interactive widgets need a running kernel; the pages say so where one was.

``ensure_build`` decides whether ``build/`` is current: every notebook must have
been run at its defaults from the notebook and package sources as they are now
(``report.json`` stores a digest of both). The notebooks that are not are run
again before the site is written.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat

from course_utils.instructor import notebooks as nbtools
from course_utils.paths import BUILD_DIR, NOTEBOOKS_DIR

__all__ = [
    "OfflineError",
    "tex_to_mathml",
    "latex_to_placeholders",
    "stale_notebooks",
    "ensure_build",
    "notebook_page",
    "build_site",
]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = (
    '<p class="course-widget">An interactive demo was here: its sliders need a '
    "running kernel. Open the notebook in JupyterLab to use it.</p>"
)

# nbconvert's JupyterLab template without its CDN scripts (require.js, MathJax,
# mermaid, the widget manager); MathML needs only a little style.
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}
<style type="text/css">
math[display="block"] { display: block math; margin: 0.6em 0; overflow-x: auto; }
math { font-size: 1.08em; }
.course-nav { font-family: sans-serif; padding: 0.6em 1em;
  border-bottom: 1px solid #ccc; margin-bottom: 1em; }
.course-nav a { margin-right: 1.5em; }
.course-widget { font-style: italic; color: #555; border-left: 3px solid #bbb;
  padding-left: 0.6em; }
</style>
{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""

# What a page would fetch: <script src>, <link href>, <img src>, <iframe src>,
# <source src>, CSS url(...) and @import. Links a reader clicks (<a href>) are not
# fetches and may point anywhere.
_FETCHES = re.compile(
    r"""<(?:script|img|iframe|source|video|audio|embed)\b[^>]*?\ssrc\s*=\s*["']?"""
    r"""(?P<src>[^"'\s>]+)"""
    r"""|<link\b[^>]*?\shref\s*=\s*["']?(?P<href>[^"'\s>]+)"""
    r"""|url\(\s*["']?(?P<url>[^"')\s]+)"""
    r"""|@import\s+["'](?P<imp>[^"']+)""",
    re.IGNORECASE,
)


class OfflineError(RuntimeError):
    """A page of the site would fetch something from the network."""


def external_fetches(page: str) -> list[str]:
    """The URLs a page would load from another host (none for an offline page)."""
    found = []
    for m in _FETCHES.finditer(page):
        url = next(g for g in m.groups() if g is not None)
        if re.match(r"(?i)^(https?:)?//", url):
            found.append(url)
    return found


# ---------------------------------------------------------------------- math

_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.DOTALL)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
# inline math may wrap onto the next line of the Markdown, not across a blank line
_INLINE = re.compile(
    r"(?<![\\$])\$(?!\s)((?:[^$\n]|\n(?![ \t]*\n))+?)(?<![\s\\])\$(?!\$)"
)
_ALIGNED = re.compile(r"\s*\\begin\{aligned\}(.*)\\end\{aligned\}\s*", re.DOTALL)
_FUNCTION = re.compile(
    r"(?<!<munder>)(?<!<msub>)(?<!<msubsup>)(?<!<munderover>)(?<!<msup>)"
    r"<mi>(log|exp|min|max|sup|inf|arg|sin|cos|det|lim)</mi>"
)


def _inner(mathml: str) -> str:
    return re.sub(r"^<math[^>]*>|</math>$", "", mathml.strip())


def tex_to_mathml(tex: str, display: str = "inline") -> str:
    """LaTeX to MathML, with ``aligned`` as a table and a space after ``\\log``."""
    from latex2mathml.converter import convert

    aligned = _ALIGNED.fullmatch(tex)
    if aligned:  # latex2mathml draws the & and \\ of aligned as text
        rows = []
        for row in re.split(r"\\\\", aligned.group(1)):
            if not row.strip():
                continue
            cells = row.split("&")
            tds = "".join(
                f'<mtd style="text-align: {"right" if i % 2 == 0 else "left"}">'
                f"{_inner(convert(cell.strip())) if cell.strip() else ''}</mtd>"
                for i, cell in enumerate(cells)
            )
            rows.append(f"<mtr>{tds}</mtr>")
        mathml = (
            f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="{display}">'
            f"<mtable displaystyle=\"true\">{''.join(rows)}</mtable></math>"
        )
    else:
        mathml = convert(tex, display=display)
    return _FUNCTION.sub(r'<mi>\1</mi><mspace width="0.167em"></mspace>', mathml)




def latex_to_placeholders(markdown: str, store: dict) -> str:
    """Replace ``$...$`` and ``$$...$$`` by placeholders; MathML goes in ``store``.

    Code spans and fenced code are left alone. The placeholders are plain words,
    so the Markdown renderer passes them through untouched; :func:`_put_math`
    swaps them for the MathML afterwards.
    """
    def keep(tex: str, display: str) -> str:
        key = f"COURSEMATH{len(store)}X"
        try:
            store[key] = tex_to_mathml(tex.strip(), display=display)
        except Exception:  # unknown macro: show the TeX rather than nothing
            store[key] = f"<code>{html.escape(tex)}</code>"
        return key if display == "inline" else f"\n\n{key}\n\n"

    parts = _CODE.split(markdown)
    for i in range(0, len(parts), 2):  # even parts are outside code
        text = _DISPLAY.sub(lambda m: keep(m.group(1), "block"), parts[i])
        parts[i] = _INLINE.sub(lambda m: keep(m.group(1), "inline"), text)
    return "".join(parts)


def _put_math(page: str, store: dict) -> str:
    if not store:
        return page
    # a display equation sits alone in its own paragraph: drop the <p> around it
    page = re.sub(
        r"<p>\s*(COURSEMATH\d+X)\s*</p>",
        lambda m: store[m.group(1)] if 'display="block"' in store[m.group(1)]
        else m.group(0),
        page,
    )
    return re.sub(r"COURSEMATH\d+X", lambda m: store.get(m.group(0), m.group(0)), page)


# ------------------------------------------------------------- the build

def _entries(build_dir: Path) -> dict:
    report = Path(build_dir) / "report.json"
    if not report.exists():
        return {}
    try:
        data = json.loads(report.read_text())
    except json.JSONDecodeError:
        return {}
    return {e["name"]: e for e in data.get("notebooks", [])}


def stale_notebooks(build_dir: Path = BUILD_DIR, notebooks_dir: Path = NOTEBOOKS_DIR):
    """Names of the notebooks whose run in ``build_dir`` is missing or out of date.

    Current means: an entry in ``report.json``, its executed notebook on disk,
    run at the notebook's defaults, from the notebook and package as they are now.
    """
    entries = _entries(build_dir)
    stale = []
    for path in nbtools.list_notebooks(notebooks_dir):
        e = entries.get(path.stem)
        if (
            e is None
            or e.get("parameters")
            or not (Path(build_dir) / f"{path.stem}.ipynb").exists()
            or e.get("source_sha256") != nbtools.source_digest(path)
        ):
            stale.append(path.stem)
    return stale


def ensure_build(build_dir: Path = BUILD_DIR, *, log=print) -> list[str]:
    """Run the notebooks whose build is not current; return their names."""
    from course_utils.instructor.runner import run_notebooks, write_report

    build_dir = Path(build_dir)
    stale = stale_notebooks(build_dir)
    if not stale:
        log(f"{build_dir} is current: every notebook was run from its present source")
        return []
    log(f"running {len(stale)} notebook(s) whose build is missing or out of date")
    kept = [e for name, e in _entries(build_dir).items() if name not in stale]
    report = run_notebooks(stale, {}, build_dir, log=log, report={"notebooks": kept})
    order = {p.stem: i for i, p in enumerate(nbtools.list_notebooks())}
    report["notebooks"].sort(key=lambda e: order.get(e["name"], len(order)))
    write_report(report, build_dir)
    return stale


# ------------------------------------------------------------- the pages

def _widget_free(nb) -> nbformat.NotebookNode:
    """A copy with math placeholders and without widgets (they need a kernel)."""
    from course_utils.plotting import offline_jshtml

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/html" in data:  # an animation made before offline_jshtml
                page = data["text/html"]
                data["text/html"] = offline_jshtml(
                    "".join(page) if isinstance(page, list) else page
                )
            if WIDGET_VIEW in data:
                text = data.get("text/plain", "")
                text = "".join(text) if isinstance(text, list) else text
                if text.startswith(("interactive(", "VBox(", "HBox(children=(Label")):
                    out["data"] = {"text/html": WIDGET_NOTE}
                elif text.strip():  # a progress bar: keep its text form
                    out["data"] = {"text/plain": text}
                else:
                    continue
            outputs.append(out)
        if cell.cell_type == "code":
            cell.outputs = outputs
    return nb


def notebook_page(nb, title: str, nav: str = "") -> str:
    """One executed notebook as a self-contained, offline HTML page."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = _widget_free(nb)
    store: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = latex_to_placeholders(cell.source, store)
        for out in cell.get("outputs", []):
            md = out.get("data", {}).get("text/markdown")
            if md is not None:
                md = "".join(md) if isinstance(md, list) else md
                out["data"]["text/markdown"] = latex_to_placeholders(md, store)
    exporter = HTMLExporter(
        extra_loaders=[DictLoader({"course_page.html.j2": _TEMPLATE})],
        template_file="course_page.html.j2",
    )
    nb.metadata["title"] = title
    page, _ = exporter.from_notebook_node(nb)
    page = _put_math(page, store)
    if nav:
        page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + nav, page, count=1)
    fetches = external_fetches(page)
    if fetches:
        raise OfflineError(f"{title} would fetch {', '.join(sorted(set(fetches)))}")
    return page


def _title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def _objectives(nb) -> str:
    """The numbered learning objectives of a notebook's first cell, as Markdown."""
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        return ""
    text = nb.cells[0].source
    at = text.find("**Learning objectives.**")
    return text[at:].strip() if at >= 0 else ""


def _markdown_html(markdown: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    store: dict = {}
    return _put_math(markdown2html_mistune(latex_to_placeholders(markdown, store)),
                     store)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


_INDEX_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto;
  padding: 0 1em; line-height: 1.45; color: #222; }
h1 { margin-bottom: 0.2em; }
.notebook { border-top: 1px solid #ddd; padding: 0.8em 0; }
.notebook h2 { margin: 0.2em 0; font-size: 1.3em; }
.facts { color: #444; }
.status { font-weight: bold; padding: 0 0.4em; border-radius: 3px; }
.status.ok { background: #d8f0d8; } .status.failed { background: #f6d3d3; }
.status.missing { background: #eee; } .status.stale { background: #f8ecc4; }
table { border-collapse: collapse; margin: 0.4em 0; }
td, th { border: 1px solid #ccc; padding: 0.15em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
math[display="block"] { display: block math; margin: 0.5em 0; }
"""


def _index_page(rows: list[dict], total: float) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
        "<title>Generative Adversarial Networks: the executed course</title>",
        f"<style>{_INDEX_STYLE}</style></head><body>",
        "<h1>Generative Adversarial Networks</h1>",
        "<p>The course's notebooks, executed at their default settings, with the "
        "figures each run recorded. Every page works offline. To run a notebook "
        "yourself and use its interactive demos, open it in JupyterLab "
        "(<code>make lab</code>).</p>",
        f"<p class=\"facts\">Wall time of the whole run: {total:.0f} s.</p>",
    ]
    for row in rows:
        link = (
            f'<a href="{html.escape(row["page"])}">{html.escape(row["title"])}</a>'
            if row["page"]
            else html.escape(row["title"])
        )
        facts = [f'<span class="status {row["status"]}">{row["status"]}</span>']
        if row["seconds"] is not None:
            over = " (over budget)" if row["seconds"] > row["budget"] else ""
            facts.append(
                f"{row['seconds']:.0f} s at its defaults "
                f"(budget {row['budget']} s{over})"
            )
        if row["error"]:
            facts.append(f"error: <code>{html.escape(row['error'])}</code>")
        parts += [
            f'<section class="notebook" id="{html.escape(row["name"])}">',
            f"<h2>{link}</h2>",
            f'<p class="facts">{" · ".join(facts)}</p>',
            row["objectives"],
        ]
        if row["metrics"]:
            parts.append("<details><summary>Recorded figures</summary><table>")
            parts += [
                f'<tr><td>{html.escape(k)}</td><td class="num">{_fmt(v)}</td></tr>'
                for k, v in row["metrics"].items()
            ]
            parts.append("</table></details>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def build_site(
    build_dir: Path = BUILD_DIR,
    out_dir: Path | None = None,
    *,
    notebooks_dir: Path = NOTEBOOKS_DIR,
    log=print,
) -> Path:
    """Write the site from ``build_dir`` into ``out_dir`` (``build_dir/site``).

    A notebook with no executed copy in ``build_dir`` is listed as ``missing``,
    one run from an older source as ``stale``; :func:`ensure_build` first avoids
    both. Returns the path of ``index.html``.
    """
    build_dir = Path(build_dir)
    out_dir = Path(out_dir) if out_dir is not None else build_dir / "site"
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = _entries(build_dir)
    stale = set(stale_notebooks(build_dir, notebooks_dir))
    paths = nbtools.list_notebooks(notebooks_dir)
    rows, total = [], 0.0
    for i, path in enumerate(paths):
        source = nbtools.read(path)
        entry = entries.get(path.stem, {})
        executed = build_dir / f"{path.stem}.ipynb"
        title = _title(source, path.stem)
        page = None
        if executed.exists():
            page = f"{path.stem}.html"
            links = ['<a href="index.html">Course index</a>']
            if i > 0:
                links.append(f'<a href="{paths[i - 1].stem}.html">Previous</a>')
            if i + 1 < len(paths):
                links.append(f'<a href="{paths[i + 1].stem}.html">Next</a>')
            nav = f'<nav class="course-nav">{"".join(links)}</nav>'
            (out_dir / page).write_text(
                notebook_page(nbtools.read(executed), title, nav), encoding="utf-8"
            )
            log(f"wrote {out_dir / page}")
        if not executed.exists() or not entry:
            status = "missing"
        elif entry.get("status") != "ok":
            status = "failed"
        elif path.stem in stale:
            status = "stale"
        else:
            status = "ok"
        seconds = entry.get("seconds")
        total += seconds or 0.0
        rows.append(
            {
                "name": path.stem,
                "title": title,
                "page": page,
                "status": status,
                "seconds": seconds,
                "budget": entry.get("budget_seconds") or nbtools.time_budget(source),
                "error": (entry.get("error") or "").splitlines()[0]
                if entry.get("error")
                else "",
                "objectives": _markdown_html(_objectives(source)),
                "metrics": entry.get("metrics") or {},
            }
        )
    index = _index_page(rows, total)
    fetches = external_fetches(index)
    if fetches:
        raise OfflineError(f"the index page would fetch {', '.join(fetches)}")
    (out_dir / "index.html").write_text(index, encoding="utf-8")
    log(f"wrote {out_dir / 'index.html'}")
    return out_dir / "index.html"
