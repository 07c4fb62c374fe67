"""One self-contained HTML report of an experiment: design, graph and clusters, balance, SRM,
estimates, randomization test.

The file has no external assets and no JavaScript: figures are PNG data URIs, the style sheet is
inline. Inputs are duck-typed (netexp result objects, dicts, DataFrames); a missing input gives a
section that says "not provided".
"""

from __future__ import annotations

import base64
import html
import io
import numbers
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from ._errors import InputError, NetexpWarning
from ._io_utils import check_writable

__all__ = ["render_report", "write_report", "SECTIONS"]

#: Section ids and titles, in the order they appear.
SECTIONS = {
    "design": "Design",
    "graph": "Graph and clusters",
    "balance": "Covariate balance",
    "srm": "Sample ratio mismatch",
    "estimates": "Estimates",
    "randomization-test": "Randomization test",
    "notes": "Notes",
}

_DPI = 100
#: Fixed seed of the network layout, so the same inputs give the same file.
_LAYOUT_SEED = 0

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222;max-width:1080px;
margin:0 auto;padding:1.5em 2em;line-height:1.45;background:#fff}
h1{font-size:1.7em;margin-bottom:.2em}h2{font-size:1.3em;border-bottom:2px solid #0072B2;padding-bottom:.2em;
margin-top:1.8em}h3{font-size:1.1em}h4{font-size:1em}
nav ol{columns:2;padding-left:1.2em}nav a{color:#0072B2;text-decoration:none}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f2f4f7}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto;display:block;margin:.6em 0}
.missing{color:#777;font-style:italic}.warn{color:#D55E00}
.badge{display:inline-block;padding:.15em .6em;border-radius:.3em;font-weight:600;color:#fff}
.ok{background:#009E73}.bad{background:#D55E00}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;font-size:.85em}
.meta{color:#555;font-size:.9em}
"""


# ----------------------------------------------------------------------------- small HTML helpers
def _esc(x: Any) -> str:
    return html.escape(str(x))


def _fmt_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, numbers.Integral):
        return f"{int(v):,}"
    if isinstance(v, numbers.Real):
        v = float(v)
        return "nan" if not np.isfinite(v) else f"{v:.4g}"
    if isinstance(v, Mapping):
        return ", ".join(f"{k} {_fmt_value(x)}" for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt_value(x) for x in v)
    return str(v)


def _kv_table(d: Mapping) -> str:
    rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(_fmt_value(v))}</td></tr>" for k, v in d.items())
    return f"<table>{rows}</table>"


def _frame_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            cls = ' class="num"' if isinstance(v, numbers.Number) and not isinstance(v, bool) else ""
            cells.append(f"<td{cls}>{_esc(_fmt_value(None if _isnan(v) else v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _isnan(v: Any) -> bool:
    try:
        return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA
    except TypeError:
        return False


def _missing(what: str) -> str:
    return f'<p class="missing">{_esc(what)}: not provided.</p>'


_INLINE = [(re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
           (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
           (re.compile(r"(?<![*\w])\*([^*]+)\*(?!\w)"), r"<em>\1</em>")]


def _inline(text: str) -> str:
    out = html.escape(text)
    for pat, rep in _INLINE:
        out = pat.sub(rep, out)
    return out


def _markdown(md: str) -> str:
    """The Markdown a design card uses: headings, pipe tables, bullet lists, paragraphs, code spans.

    Everything else is shown as text (escaped): a small renderer, no dependency.
    """
    lines = md.splitlines()
    out: list[str] = []
    para: list[str] = []
    i = 0

    def flush():
        if para:
            out.append("<p>" + _inline(" ".join(s.strip() for s in para)) + "</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if not s:
            flush()
            i += 1
            continue
        m = re.match(r"^(#{1,6})\s+(.*)$", s)
        if m:
            flush()
            level = min(6, len(m.group(1)) + 2)  # the report's own h1/h2 sit above
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
            i += 1
            continue
        if s.startswith("|"):
            flush()
            block = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                block.append(lines[i].strip())
                i += 1
            out.append(_md_table(block))
            continue
        if re.match(r"^[-*+]\s+", s):
            flush()
            items = []
            while i < len(lines) and re.match(r"^\s*[-*+]\s+", lines[i]):
                items.append(re.sub(r"^\s*[-*+]\s+", "", lines[i]))
                i += 1
            out.append("<ul>" + "".join(f"<li>{_inline(x)}</li>" for x in items) + "</ul>")
            continue
        if s.startswith("```"):
            flush()
            i += 1
            code = []
            while i < len(lines) and not lines[i].strip().startswith("```"):
                code.append(lines[i])
                i += 1
            i += 1
            out.append("<pre>" + html.escape("\n".join(code)) + "</pre>")
            continue
        para.append(s)
        i += 1
    flush()
    return "\n".join(out)


def _md_table(block: list[str]) -> str:
    def cells(row: str) -> list[str]:
        row = row.strip()
        if row.startswith("|"):
            row = row[1:]
        if row.endswith("|") and not row.endswith("\\|"):
            row = row[:-1]
        return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row)]

    rows = [cells(r) for r in block]
    is_sep = [all(re.fullmatch(r":?-{1,}:?", c) for c in r if c) and any(r) for r in rows]
    if len(rows) >= 2 and is_sep[1]:
        head, body = rows[0], [r for r, sep in zip(rows[2:], is_sep[2:]) if not sep]
    else:
        head, body = None, [r for r, sep in zip(rows, is_sep) if not sep]
    h = "<thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead>" if head else ""
    b = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body)
    return f"<table>{h}<tbody>{b}</tbody></table>"


def _figure(draw: Callable, size=(7.0, 4.2), alt: str = "figure") -> str:
    """``draw(ax)`` on a fresh matplotlib Figure (no pyplot state) as an ``<img>`` with a PNG data URI.

    A plot that fails leaves a visible note (and a NetexpWarning) instead of losing the whole report.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=_DPI, layout="constrained")
    try:
        draw(fig.add_subplot())
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=_DPI)
    except Exception as exc:  # noqa: BLE001 - one bad plot must not lose the report
        msg = f"{alt} could not be drawn: {type(exc).__name__}: {exc}"
        warnings.warn(msg, NetexpWarning, stacklevel=3)
        return f'<p class="warn">{_esc(msg)}</p>'
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{data}">'


def _get(obj: Any, name: str, default=None):
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _text_of(obj: Any) -> str | None:
    f = getattr(obj, "summary", None)
    if callable(f):
        try:
            s = f()
        except TypeError:
            return None
        if isinstance(s, str):
            return s
    return None


# ----------------------------------------------------------------------------- sections
def _design_section(card) -> str:
    if card is None:
        return _missing("Design card")
    to_md = getattr(card, "to_markdown", None)
    if callable(to_md) and not isinstance(card, pd.DataFrame):
        return _markdown(str(to_md()))
    if isinstance(card, str):
        return _markdown(card)
    if isinstance(card, pd.DataFrame):
        return _frame_table(card)
    to_dict = getattr(card, "to_dict", None)
    d = to_dict() if callable(to_dict) else card if isinstance(card, Mapping) else None
    if isinstance(d, Mapping):
        return _kv_table(d)
    return f"<pre>{_esc(repr(card))}</pre>"


def _graph_section(graph, clustering, assignment) -> str:
    from . import plots

    parts = []
    z = None
    if assignment is not None:
        from ._validation import check_binary_matrix

        a = np.asarray(assignment)
        if a.ndim != 1:
            raise InputError(f"assignment must be one 0/1 vector (one entry per unit); got shape {a.shape}.")
        n = graph.n_nodes if graph is not None else a.shape[0]
        z = check_binary_matrix("assignment", a, n)[0]
        parts.append(f"<p>Assignment: {int(z.sum()):,} treated and {int((~z).sum()):,} control units "
                     f"({z.mean():.1%} treated).</p>")
    if graph is None:
        parts.insert(0, _missing("Graph"))
    else:
        parts.insert(0, "<h3>Graph</h3>" + _kv_table(graph.info()))
    if clustering is None:
        parts.append(_missing("Clustering"))
    else:
        summ = clustering.summary() if callable(getattr(clustering, "summary", None)) else None
        parts.append("<h3>Clusters</h3>" + (_kv_table(summ) if isinstance(summ, Mapping) else ""))
        parts.append(_figure(lambda ax: plots.plot_cluster_sizes(clustering, ax=ax), alt="cluster sizes"))
    if graph is not None:
        labels = None if clustering is None else np.asarray(clustering.labels)
        color = z if z is not None else labels
        what = ("assignment" if z is not None else "cluster") + (", edges between clusters drawn dark" if labels is not None else "")
        parts.append(f"<h3>Network ({_esc(what)})</h3>")
        parts.append(_figure(lambda ax: plots.plot_network(graph, color_by=color, clusters=labels, rng=_LAYOUT_SEED,
                                                           ax=ax), size=(7.0, 6.5), alt="network"))
    return "\n".join(parts)


def _balance_section(balance) -> str:
    from . import plots

    if balance is None:
        return _missing("Covariate balance")
    parts = []
    verdict = _get(balance, "verdict")
    if isinstance(verdict, str):
        parts.append(f"<p>{_esc(verdict)}.</p>")
    frame = balance.to_frame() if hasattr(balance, "to_frame") else balance
    if isinstance(frame, pd.DataFrame):
        keep = [c for c in frame.columns if c not in ("n_treated", "n_control")]
        parts.append(_frame_table(frame[keep]))
    for note in _get(balance, "notes", ()) or ():
        parts.append(f'<p class="meta">note: {_esc(note)}</p>')
    parts.append(_figure(lambda ax: plots.plot_balance(balance, ax=ax),
                         size=(7.0, max(2.6, 1.3 + 0.32 * (len(frame) if isinstance(frame, pd.DataFrame) else 5))),
                         alt="covariate balance"))
    return "\n".join(parts)


def _srm_section(srm) -> str:
    if srm is None:
        return _missing("Sample ratio test")
    p = _get(srm, "p_value")
    mismatch = _get(srm, "mismatch")
    if mismatch is None and p is not None:
        mismatch = float(p) < float(_get(srm, "alpha", 0.001) or 0.001)
    badge = ('<span class="badge bad">mismatch</span>' if mismatch
             else '<span class="badge ok">no mismatch</span>')
    ptxt = "" if p is None else f" p = {_fmt_value(float(p)) if float(p) >= 1e-16 else '&lt; 1e-16'}"
    parts = [f"<p>{badge}{ptxt}</p>"]
    msg = _get(srm, "message")
    if msg:
        parts.append(f"<p>{_esc(msg)}</p>")
    obs, exp = _get(srm, "observed"), _get(srm, "expected")
    if obs is not None and exp is not None and len(obs) == 2 and len(exp) == 2:
        rows = pd.DataFrame({"arm": ["control", "treated"], "observed": list(obs), "expected": [float(x) for x in exp]})
        parts.append(_frame_table(rows))
    elif hasattr(srm, "to_frame"):
        parts.append(_frame_table(srm.to_frame()))
    return "\n".join(parts)


_EST_COLUMNS = ["estimand", "method", "estimate", "std_error", "ci_low", "ci_high", "p_value", "n", "n_clusters",
                "variance"]


def _estimates_section(estimates, truth) -> str:
    from . import plots

    if estimates is None:
        return _missing("Estimates")
    frame, names = plots._forest_frame(estimates)
    tab = frame[[c for c in _EST_COLUMNS if c in frame.columns]].copy()
    if names is not None:
        tab.insert(0, "name", names)
    if truth is not None:
        if isinstance(truth, Mapping):
            est = tab["estimand"].astype(str) if "estimand" in tab else pd.Series([""] * len(tab))
            tab["truth"] = [truth.get(e, np.nan) for e in est]
        else:
            tab["truth"] = float(truth)
    k = len(frame)
    return "\n".join([_frame_table(tab),
                      _figure(lambda ax: plots.plot_forest(estimates, truth=truth, ax=ax),
                              size=(7.0, max(2.4, 1.3 + 0.45 * k)), alt="forest plot")])


def _randomization_section(result) -> str:
    from . import plots

    if result is None:
        return _missing("Randomization test")
    p = _get(result, "p_value")
    alt = _get(result, "alternative", "two-sided")
    stat = _get(result, "statistic")
    head = f"<p><strong>p = {_esc(_fmt_value(p))}</strong> ({_esc(alt)})"
    if isinstance(stat, str):
        head += f", statistic: {_esc(stat)}"
    parts = [head + "</p>"]
    text = _text_of(result)
    if text:
        parts.append(f"<pre>{_esc(text)}</pre>")
    parts.append(_figure(lambda ax: plots.plot_randomization_test(result, ax=ax), alt="randomization test"))
    return "\n".join(parts)


def _notes_section(notes) -> str:
    if notes is None:
        return _missing("Notes")
    if isinstance(notes, str):
        return _markdown(notes)
    return "<ul>" + "".join(f"<li>{_inline(str(n))}</li>" for n in notes) + "</ul>"


# ----------------------------------------------------------------------------- public API
def render_report(*, title: str = "netexp experiment report", design_card=None, graph=None, clustering=None,
                  assignment=None, balance=None, srm=None, estimates=None, truth=None, randomization_test=None,
                  notes=None) -> str:
    """The experiment report as one self-contained HTML document (a string).

    Parameters
    ----------
    title : str
    design_card : object, dict or str, optional
        Anything with ``to_markdown()`` (rendered: headings, pipe tables, lists), ``to_dict()``
        or a dict (a two-column table), or a Markdown string.
    graph : Graph, optional
        Summary table (``graph.info()``) and a network plot (sampled above 2,000 nodes).
    clustering : Clustering, optional
        ``clustering.summary()``, the cluster size histogram, and cut edges on the network.
    assignment : array-like of 0/1, optional
        Treated / control counts; colours the network (otherwise clusters colour it).
    balance : BalanceTable or DataFrame, optional
        Verdict, table and standardized-difference plot.
    srm : SRMResult or dict, optional
        Verdict badge, p-value, observed and expected counts.
    estimates : EstimateTable, list or dict of Estimate, or DataFrame, optional
        Table and forest plot.
    truth : float or dict, optional
        True effects (simulation), shown in the table and on the forest plot.
    randomization_test : object or dict, optional
        With ``null_distribution``, ``observed``, ``p_value``, ``alternative``.
    notes : str or list of str, optional

    Returns
    -------
    str
        HTML5 with inline CSS and figures as PNG data URIs: no external file, no script.

    Notes
    -----
    Every section is a ``<section id=...>`` (ids in ``netexp._report.SECTIONS``) and appears
    whether or not its input was given ("not provided"). The network layout is seeded, so the
    same inputs give the same document. A plot that cannot be drawn is replaced by a visible
    note and a :class:`~netexp.NetexpWarning`; tables still appear.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp._report import render_report
    >>> g = ne.load_graph("karate")
    >>> cl = ne.leiden(g, rng=0)
    >>> doc = render_report(graph=g, clustering=cl, notes="Pilot run.")
    >>> doc.count("<section"), doc.count("data:image/png;base64,")
    (7, 2)
    >>> "Estimates: not provided" in doc
    True
    """
    from . import __version__

    sections = {
        "design": _design_section(design_card),
        "graph": _graph_section(graph, clustering, assignment),
        "balance": _balance_section(balance),
        "srm": _srm_section(srm),
        "estimates": _estimates_section(estimates, truth),
        "randomization-test": _randomization_section(randomization_test),
        "notes": _notes_section(notes),
    }
    nav = "".join(f'<li><a href="#{sid}">{_esc(t)}</a></li>' for sid, t in SECTIONS.items())
    body = "\n".join(f'<section id="{sid}">\n<h2>{_esc(SECTIONS[sid])}</h2>\n{content}\n</section>'
                     for sid, content in sections.items())
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f'<header><h1>{_esc(title)}</h1><p class="meta">netexp {_esc(__version__)}</p>\n'
            f"<nav><ol>{nav}</ol></nav></header>\n<main>\n{body}\n</main>\n</body>\n</html>\n")


def write_report(path: str | os.PathLike, *, title: str = "netexp experiment report", design_card=None, graph=None,
                 clustering=None, assignment=None, balance=None, srm=None, estimates=None, truth=None,
                 randomization_test=None, notes=None, overwrite: bool = False) -> Path:
    """Write :func:`render_report`'s document to ``path`` (UTF-8); refuses to overwrite unless asked.

    Parameters
    ----------
    path : str or PathLike
        The ``.html`` file to write; its folder must exist.
    overwrite : bool, default False
        Replace an existing file (otherwise :class:`~netexp.OutputExistsError`).
    **sections
        As in :func:`render_report`.

    Returns
    -------
    pathlib.Path

    Notes
    -----
    The file is complete on its own (figures embedded as base64 PNG, inline CSS, no JavaScript):
    it can be mailed, archived next to the data, or opened offline.

    Examples
    --------
    >>> import os, tempfile
    >>> import netexp as ne
    >>> from netexp._report import write_report
    >>> est = ne.Estimate.from_se(estimand="global effect", estimate=0.8, std_error=0.3, n=200,
    ...                           method="difference in means", variance="Neyman")
    >>> path = write_report(os.path.join(tempfile.mkdtemp(), "report.html"), estimates=[est], truth=1.0)
    >>> path.read_text(encoding="utf-8").count('id="estimates"')
    1
    """
    path = check_writable(path, overwrite=overwrite)
    doc = render_report(title=title, design_card=design_card, graph=graph, clustering=clustering,
                        assignment=assignment, balance=balance, srm=srm, estimates=estimates, truth=truth,
                        randomization_test=randomization_test, notes=notes)
    from ._files import write_text

    write_text(path, doc, overwrite=overwrite)
    return path
