"""One self-contained HTML report of an experiment: design, graph and clusters, balance, SRM,
estimates, randomization test.

The file has no external assets and no JavaScript: figures are PNG data URIs, the style sheet is
inline. Inputs are duck-typed (netexp result objects, dicts, DataFrames); a missing input gives a
section that says "not provided".
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import numbers
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from ._errors import InputError, NetexpWarning, warn
from ._io_utils import check_writable

__all__ = ["render_report", "write_report", "SECTIONS"]

#: Section ids and titles, in the order they appear.
SECTIONS = {
    "headline": "Readout",
    "design": "Design card",
    "srm": "Sample ratio mismatch",
    "balance": "Covariate balance",
    "estimates": "Estimates (technical)",
    "randomization-test": "Randomization test",
    "graph": "Graph and clusters",
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
nav ol{display:flex;flex-wrap:wrap;gap:.1em 1.2em;list-style:none;padding:0;margin:.2em 0}nav a{color:#0072B2;text-decoration:none}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f2f4f7}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto;display:block;margin:.6em 0}
.missing{color:#777;font-style:italic}.warn{color:#D55E00}
.badge{display:inline-block;padding:.15em .6em;border-radius:.3em;font-weight:600;color:#fff}
.ok{background:#009E73}.bad{background:#D55E00}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;font-size:.85em}
.meta{color:#555;font-size:.9em}
.question{font-size:1.25em;font-weight:600;margin:.3em 0}
.verdict{font-size:1.1em;border-left:4px solid #0072B2;padding:.3em .8em;background:#f4f8fb;margin:.6em 0}
.badge.neutral{background:#777}.badges .badge{margin-right:.5em}
table.metrics{width:100%;font-size:.85em}table.metrics td,table.metrics th{padding:.3em .5em}
td.up{background:#e3f4ec}td.down{background:#fbe6dc}td.flat{background:#f4f4f4}
tr.primary td:first-child{font-weight:700}
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


def _fmt_p(p: Any) -> str:
    """A p-value as people read it: ``< 0.001`` below 0.001, three decimals otherwise."""
    if p is None or _isnan(p):
        return "n/a"
    p = float(p)
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _is_p_column(name: Any) -> bool:
    n = str(name).lower().replace("-", "_")
    return n in ("p", "p_value", "adjusted_p", "p_value_adjusted") or n.endswith("p_value")


def _frame_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in df.columns)
    pcols = [_is_p_column(c) for c in df.columns]
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for v, isp in zip(row, pcols):
            cls = ' class="num"' if isinstance(v, numbers.Number) and not isinstance(v, bool) else ""
            text = _fmt_p(v) if isp and isinstance(v, numbers.Number) else _fmt_value(None if _isnan(v) else v)
            cells.append(f"<td{cls}>{_esc(text)}</td>")
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
        warn(msg, NetexpWarning)
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
def _resolve_card(card, design_card):
    """The design card to show: ``card`` (DesignCard, its JSON/Markdown path, or a dict) or the older ``design_card``."""
    if card is not None and design_card is not None:
        raise InputError("give the design card once: card= (a DesignCard, its .json path or a dict) or design_card=.")
    if card is None:
        return design_card
    from .diagnostics import DesignCard

    if isinstance(card, DesignCard):
        return card
    if isinstance(card, (str, os.PathLike)):
        p = Path(card)
        if p.suffix.lower() not in (".json", ".md") and not p.with_name(p.name + ".json").exists():
            raise InputError(f"card must be a DesignCard, the path of one written by `netexp card` (.json) or a dict; "
                             f"got {str(card)!r}.")
        return DesignCard.read(p)
    if isinstance(card, Mapping):
        return DesignCard.from_dict(dict(card))
    raise InputError(f"card must be a DesignCard, the path of its .json file or a dict; got {type(card).__name__}.")


def _card_field(card, name: str):
    v = _get(card, name) if card is not None and not isinstance(card, (str, pd.DataFrame)) else None
    return v or None


def _labels_of(clustering):
    if clustering is None:
        return None
    return np.asarray(getattr(clustering, "labels", clustering))


def _constant_within(z, labels) -> bool:
    from ._validation import dense_codes

    _, cl = dense_codes(labels)
    zs = np.bincount(cl, weights=z.astype(float))
    size = np.bincount(cl)
    return bool(np.all((zs == 0) | (zs == size)))


def _metric_rows(outcomes, z, labels, card, confidence_level, alpha, adjust) -> list[dict]:
    """One row per outcome: arm means and counts, effect, relative lift, raw and adjusted p-values."""
    from .estimators import Estimate, cluster_ols, difference_in_means
    from .inference import adjust_pvalues

    primary_name = _card_field(card, "primary_outcome")
    guardrails = set(_card_field(card, "guardrails") or ())
    rows = []
    for i, (name, spec) in enumerate(outcomes.items()):
        spec = dict(spec) if isinstance(spec, Mapping) else ({"estimate": spec} if isinstance(spec, Estimate)
                                                             else {"y": spec})
        role = spec.get("role")
        if role is None:
            role = ("primary" if name == primary_name or (primary_name is None and i == 0)
                    else "guardrail" if name in guardrails else "secondary")
        if role not in ("primary", "guardrail", "secondary"):
            raise InputError(f"outcomes[{name!r}]: role must be 'primary', 'guardrail' or 'secondary'; got {role!r}.")
        row = {"metric": str(name), "role": role, "higher_is_better": bool(spec.get("higher_is_better", True)),
               "mean_control": np.nan, "mean_treated": np.nan, "n_control": None, "n_treated": None}
        est = spec.get("estimate")
        y = spec.get("y")
        if y is not None:
            if z is None:
                raise InputError(f"outcomes[{name!r}]: arm means need the assignment (assignment=).")
            y = np.asarray(y, dtype=float)
            if y.shape != z.shape:
                raise InputError(f"outcomes[{name!r}] has {y.shape[0] if y.ndim else 1} values; the assignment has "
                                 f"{z.shape[0]} units (one outcome per unit, NaN where missing).")
            ok = np.isfinite(y)
            zt, zc = ok & z, ok & ~z
            row.update(mean_control=float(y[zc].mean()) if zc.any() else np.nan,
                       mean_treated=float(y[zt].mean()) if zt.any() else np.nan,
                       n_control=int(zc.sum()), n_treated=int(zt.sum()))
            if labels is not None:
                row.update(k_control=len(np.unique(labels[zc])), k_treated=len(np.unique(labels[zt])))
            if est is None:
                if labels is not None and _constant_within(z[ok], labels[ok]):
                    est = cluster_ols(y[ok], z[ok], labels[ok], confidence_level=confidence_level)
                else:
                    est = difference_in_means(y[ok], z[ok], confidence_level=confidence_level)
        if est is None:
            raise InputError(f"outcomes[{name!r}] needs per-unit values (y) or an Estimate (estimate).")
        row["estimate"] = est
        mc = row["mean_control"]
        if np.isfinite(mc) and mc != 0:
            lo, hi = sorted((est.ci[0] / mc, est.ci[1] / mc))
            row.update(lift=est.estimate / mc, lift_low=lo, lift_high=hi)
        else:
            row.update(lift=np.nan, lift_low=np.nan, lift_high=np.nan)
        row["p_value"] = est.p_value
        rows.append(row)
    # multiple comparisons: the primary metric(s) form one family, the other metrics another
    for family in (("primary",), ("guardrail", "secondary")):
        idx = [k for k, r in enumerate(rows) if r["role"] in family and np.isfinite(r["p_value"])]
        if len(idx) > 1:
            adj, _ = adjust_pvalues([rows[k]["p_value"] for k in idx], method=adjust, alpha=alpha)
            for k, a in zip(idx, adj):
                rows[k]["p_adjusted"] = float(a)
        for k in idx:
            rows[k].setdefault("p_adjusted", rows[k]["p_value"])
            rows[k]["family_size"] = len(idx)
    for r in rows:
        r.setdefault("p_adjusted", np.nan)
        r.setdefault("family_size", 0)
        e = r["estimate"]
        sig = np.isfinite(r["p_adjusted"]) and r["p_adjusted"] < alpha
        good = (e.estimate > 0) == r["higher_is_better"]
        r["status"] = "flat" if not sig else "up" if good else "down"
    return rows


def _pick_primary_estimate(estimates, primary):
    """The decision-relevant estimate among ``estimates`` and why it was chosen."""
    from . import plots

    items = list(estimates.items()) if isinstance(estimates, Mapping) else [
        (None, e) for e in (estimates if not isinstance(estimates, pd.DataFrame) else [])]
    items = [(k, e) for k, e in items if hasattr(e, "estimate") and hasattr(e, "ci")]
    if not items:
        return None, None, ""
    if primary is not None:
        for k, e in items:
            if k == primary:
                return k, e, "chosen as the primary estimate"
        raise InputError(f"primary={primary!r} is not a key of estimates; have {[k for k, _ in items]}.")
    robust = [(k, e) for k, e in items if e.estimand == "global effect" and "CR" in str(e.variance)]
    glob = [(k, e) for k, e in items if e.estimand == "global effect"]
    if robust:
        return (*robust[0], "the cluster-robust estimate of the global effect (everyone treated vs no one)")
    if glob:
        return (*glob[0], "the first estimate of the global effect (everyone treated vs no one)")
    return (*items[0], "the first estimate given")


def _badge(ok: bool | None, good: str, bad: str, unknown: str) -> str:
    if ok is None:
        return f'<span class="badge neutral">{_esc(unknown)}</span>'
    return f'<span class="badge ok">{_esc(good)}</span>' if ok else f'<span class="badge bad">{_esc(bad)}</span>'


def _ci_text(lo, hi, pct=False) -> str:
    if _isnan(lo) or _isnan(hi) or not (np.isfinite(lo) and np.isfinite(hi)):
        return "n/a"
    return f"[{lo:+.1%}, {hi:+.1%}]" if pct else f"[{lo:.4g}, {hi:.4g}]"


def _verdict(rows, srm_bad, alpha, lvl) -> str:
    prim = [r for r in rows if r["role"] == "primary"]
    parts = []
    if srm_bad:
        parts.append("<strong>Sample ratio mismatch:</strong> the arms are not what the design planned; find the "
                     "cause before acting on these numbers.")
    for r in prim:
        e = r["estimate"]
        p = r["p_adjusted"] if r["family_size"] > 1 else r["p_value"]
        lift = "" if _isnan(r["lift"]) else f" ({r['lift']:+.1%} relative to control)"
        ci = _ci_text(*e.ci)
        ptxt = "p " + ("< 0.001" if p < 0.001 else f"= {p:.3f}") if np.isfinite(p) else "no p-value"
        if r["family_size"] > 1:
            ptxt += " after adjustment for the other primary metrics"
        if r["status"] == "flat":
            parts.append(f"<strong>{_esc(r['metric'])}: no detectable effect.</strong> Estimate {e.estimate:.4g}"
                         f"{lift}, {lvl}% CI {ci} includes 0 ({ptxt}); effects inside that interval are "
                         "compatible with the data.")
        else:
            word = "raised" if e.estimate > 0 else "lowered"
            judge = "an improvement" if r["status"] == "up" else "a deterioration"
            parts.append(f"<strong>{_esc(r['metric'])}: treatment {word} it by {abs(e.estimate):.4g}{lift}</strong>, "
                         f"{lvl}% CI {ci} ({ptxt}): {judge}, significant at {alpha:g}.")
    others = [r for r in rows if r["role"] != "primary"]
    if others:
        worse = [r["metric"] for r in others if r["status"] == "down"]
        fam = f"Holm-adjusted over {others[0]['family_size']} metrics" if others[0]["family_size"] > 1 else "unadjusted"
        parts.append(("Guardrails: <strong>significantly worse: " + _esc(", ".join(worse)) + "</strong>"
                      if worse else "Guardrails: none significantly worse") + f" ({fam}, alpha {alpha:g}).")
    return "<p class=\"verdict\">" + "<br>".join(parts) + "</p>" if parts else ""


def _karm_rows(estimates, arms, control, alpha, adjust):
    """One row per arm against the control: its estimate (cluster-robust first), raw and adjusted p."""
    from .inference import adjust_pvalues

    items = list(estimates.items()) if isinstance(estimates, Mapping) else [
        (None, e) for e in (estimates if estimates is not None and not isinstance(estimates, pd.DataFrame) else [])]
    items = [(k, e) for k, e in items if hasattr(e, "estimate") and hasattr(e, "ci")]
    rows = []
    for arm in arms:
        if arm == control:
            continue
        contrast = f"{arm} - {control}"
        cands = [(k, e) for k, e in items if str(e.estimand) == contrast and np.isfinite(e.estimate)]
        if not cands:   # only the other direction (e.g. --comparisons all with a control that is not first)
            cands = [(f"{k or e.method} (sign flipped from {control} - {arm})",
                      dataclasses.replace(e, estimand=contrast, estimate=-e.estimate, ci=(-e.ci[1], -e.ci[0])))
                     for k, e in items if str(e.estimand) == f"{control} - {arm}" and np.isfinite(e.estimate)]
        robust = [(k, e) for k, e in cands if "CR" in str(e.variance)]
        key, est = (robust or cands or [(None, None)])[0]
        rows.append({"arm": str(arm), "contrast": contrast, "key": key, "estimate": est,
                     "p_value": np.nan if est is None else float(est.p_value)})
    idx = [i for i, r in enumerate(rows) if np.isfinite(r["p_value"])]
    adj = adjust_pvalues([rows[i]["p_value"] for i in idx], method=adjust, alpha=alpha)[0] if len(idx) > 1 else \
        [rows[i]["p_value"] for i in idx]
    for r in rows:
        r["p_adjusted"] = np.nan
    for i, a in zip(idx, adj):
        rows[i]["p_adjusted"] = float(a)
    return rows


def _p_words(p) -> str:
    """``= 0.042`` or ``&lt; 0.001`` (HTML)."""
    t = _fmt_p(p)
    return _esc(t) if t.startswith("<") else f"= {_esc(t)}"


def _karm_headline(parts, card, estimates, arms, control, alpha, adjust, lvl) -> str:
    """The readout of a k-arm experiment: each arm against the shared control, adjusted for multiplicity."""
    arms = [str(a) for a in arms]
    control = arms[0] if control is None else str(control)
    if control not in arms:
        raise InputError(f"control={control!r} is not one of arms={arms}.")
    if len(arms) < 2:
        raise InputError(f"arms must name at least 2 arms (the control and one other); got {arms}.")
    rows = _karm_rows(estimates, arms, control, alpha, adjust)
    if not any(r["estimate"] is not None for r in rows):
        parts.append(f'<p class="missing">No estimate of any arm against {_esc(control)} was given (looked for '
                     f"estimands {_esc(', '.join(r['contrast'] for r in rows))}); the estimators that ran are in the "
                     "technical table below.</p>")
        return "\n".join(parts)
    m = len(rows)
    metric = _card_field(card, "primary_outcome") or "outcome"
    lines = []
    for r in rows:
        e = r["estimate"]
        who = f"arm {_esc(r['arm'])} vs {_esc(control)}"
        if e is None:
            lines.append(f"<strong>{who}:</strong> no estimate of {_esc(r['contrast'])} was given.")
            r["status"] = "flat"
            continue
        p, pa = r["p_value"], r["p_adjusted"]
        ptxt = (f"p {_p_words(p)}" + (f", {_esc(adjust)}-adjusted over {m} comparisons p {_p_words(pa)}"
                                       if m > 1 else "")) if np.isfinite(p) else "no p-value"
        sig = np.isfinite(pa) and pa < alpha
        r["status"] = "flat" if not sig else "up" if e.estimate > 0 else "down"
        judge = (f"significant at {alpha:g}" + (" after adjustment" if m > 1 else "")) if sig else \
            "no detectable difference (the interval includes 0)" if e.ci[0] <= 0 <= e.ci[1] else \
            f"not significant at {alpha:g} after adjustment"
        lines.append(f"<strong>{who}: {e.estimate:+.4g}</strong> ({lvl}% CI {_ci_text(*e.ci)}; {ptxt}): {judge}.")
    if m > 1:
        lines.append(f"Multiplicity: these {m} comparisons share the control arm {_esc(control)}, so their tests "
                     "are correlated and the chance that at least one looks significant by luck is above "
                     f"{alpha:g}; the verdicts use p-values adjusted by {_esc(adjust)} across the {m} comparisons "
                     "(valid under any dependence between them). The intervals are not adjusted.")
    parts.append('<p class="verdict">' + "<br>".join(lines) + "</p>")
    head = (f"<tr><th>comparison</th><th>{_esc(metric)}: effect [{lvl}% CI]</th><th>n</th><th>p</th>"
            "<th>adjusted p</th><th>estimator</th></tr>")
    body = []
    for r in rows:
        e = r["estimate"]
        if e is None:
            body.append(f"<tr><td>arm {_esc(r['arm'])} vs {_esc(control)}</td><td colspan=\"5\">not given</td></tr>")
            continue
        body.append(f'<tr><td>arm {_esc(r["arm"])} vs {_esc(control)}</td>'
                    f'<td class="num {r["status"]}">{e.estimate:+.4g} {_esc(_ci_text(*e.ci))}</td>'
                    f'<td class="num">{_esc(_fmt_value(getattr(e, "n", None)))}</td>'
                    f'<td class="num">{_esc(_fmt_p(r["p_value"]))}</td>'
                    f'<td class="num">{_esc(_fmt_p(r["p_adjusted"]) if m > 1 else "(one test)")}</td>'
                    f'<td>{_esc(r["key"] or e.method)} ({_esc(e.variance)})</td></tr>')
    parts.append(f'<table class="metrics"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>')
    parts.append(f'<p class="meta">{len(arms)} arms ({_esc(", ".join(arms))}); each arm is compared with the '
                 f"control arm {_esc(control)} on the units of those two arms (the cluster-robust estimate when one "
                 f"was given). Green: significantly higher, red: significantly lower (alpha {alpha:g}, "
                 f"{_esc(adjust)}-adjusted). The other estimates are in the technical table below.</p>")
    return "\n".join(parts)


def _headline_section(card, outcomes, estimates, primary, assignment, clustering, srm, balance, alpha, adjust,
                      confidence_level, arms=None, control=None) -> str:
    z = None if assignment is None else np.asarray(assignment).astype(bool).ravel()
    labels = _labels_of(clustering)
    if labels is not None and z is not None and labels.shape != z.shape:
        labels = None
    lvl = int(round(100 * confidence_level))
    parts = []
    question = _card_field(card, "business_decision")
    parts.append(f'<p class="question">{_esc(question)}</p>' if question else
                 '<p class="question missing">Question: not stated (add it to the design card: '
                 '<code>netexp card --question</code>).</p>')
    # badges: sample ratio and balance
    srm_bad = None if srm is None else bool(_get(srm, "mismatch"))
    srm_p = None if srm is None else _get(srm, "p_value")
    srm_badge = _badge(None if srm_bad is None else not srm_bad, f"SRM ok (p {_fmt_p(srm_p)})",
                       f"SRM: mismatch (p {_fmt_p(srm_p)})", "SRM: not checked")
    bal_p = None if balance is None else _get(balance, "reference_p_value")
    what = "p"
    if _is_karm_balance(balance):
        bal_p, what = _karm_balance_p(balance), "Bonferroni p"
    bal_ok = None if bal_p is None or _isnan(bal_p) else bool(float(bal_p) >= 0.05)
    bal_badge = _badge(bal_ok, f"balance ok ({what} {_fmt_p(bal_p)})", f"imbalance ({what} {_fmt_p(bal_p)})",
                       "balance: not checked")
    parts.append(f'<p class="badges">{srm_badge}{bal_badge}</p>')
    if arms is not None:
        if outcomes:
            raise InputError("outcomes= gives the two-arm readout (control vs treatment); a k-arm report (arms=) "
                             "headlines each arm's estimate against the control from estimates=.")
        if primary is not None:
            raise InputError("primary= picks one estimate of a two-arm report; a k-arm report (arms=) headlines, for "
                             "each arm, the estimate of '<arm> - <control>' in estimates= (cluster-robust first).")
        return _karm_headline(parts, card, estimates, arms, control, alpha, adjust,
                              int(round(100 * confidence_level)))

    if outcomes:
        rows = _metric_rows(outcomes, z, labels, card, confidence_level, alpha, adjust)
    else:
        key, est, why = _pick_primary_estimate(estimates, primary) if estimates is not None else (None, None, "")
        if est is None:
            parts.append(_missing("Outcomes and estimates"))
            return "\n".join(parts)
        name = _card_field(card, "primary_outcome") or "outcome"
        row = {"metric": name, "role": "primary", "higher_is_better": True, "estimate": est,
               "mean_control": np.nan, "mean_treated": np.nan, "n_control": None, "n_treated": None,
               "lift": np.nan, "lift_low": np.nan, "lift_high": np.nan, "p_value": est.p_value,
               "p_adjusted": est.p_value, "family_size": 1}
        if z is not None:
            row.update(n_control=int((~z).sum()), n_treated=int(z.sum()))
            if labels is not None:
                row.update(k_control=len(np.unique(labels[~z])), k_treated=len(np.unique(labels[z])))
        sig = np.isfinite(est.p_value) and est.p_value < alpha
        row["status"] = "flat" if not sig else "up" if est.estimate > 0 else "down"
        rows = [row]
        parts.append(f'<p class="meta">Headline estimate: {_esc(key or est.method)}, {_esc(why)}. Arm means '
                     "need the outcomes (outcomes=).</p>")
    parts.append(_verdict(rows, bool(srm_bad), alpha, lvl))

    def arm(r, side):
        n = r.get(f"n_{side}")
        if n is None:
            return "n/a"
        k = r.get(f"k_{side}")
        m = r.get(f"mean_{side}")
        mean = "" if m is None or _isnan(m) else f"{m:.4g} "
        return f"{mean}(n = {n:,}{'' if k is None else f', {k} clusters'})"

    head = ("<tr><th>metric</th><th>role</th><th>control</th><th>treatment</th>"
            f"<th>effect [{lvl}% CI]</th><th>relative lift [{lvl}% CI]</th><th>p</th><th>adjusted p</th></tr>")
    body = []
    for r in rows:
        e = r["estimate"]
        lift = "n/a" if _isnan(r["lift"]) else f"{r['lift']:+.1%} {_ci_text(r['lift_low'], r['lift_high'], True)}"
        adj = _fmt_p(r["p_adjusted"]) if r["family_size"] > 1 else "(one test)"
        body.append(f'<tr class="{_esc(r["role"])}"><td>{_esc(r["metric"])}</td><td>{_esc(r["role"])}</td>'
                    f'<td class="num">{_esc(arm(r, "control"))}</td><td class="num">{_esc(arm(r, "treated"))}</td>'
                    f'<td class="num {r["status"]}">{e.estimate:+.4g} {_esc(_ci_text(*e.ci))}</td>'
                    f'<td class="num {r["status"]}">{_esc(lift)}</td><td class="num">{_esc(_fmt_p(r["p_value"]))}</td>'
                    f'<td class="num">{_esc(adj)}</td></tr>')
    parts.append(f'<table class="metrics"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>')
    methods = "; ".join(dict.fromkeys(f"{r['metric']}: {r['estimate'].method} ({r['estimate'].variance})"
                                      for r in rows))
    parts.append(f'<p class="meta">Green: significantly better, red: significantly worse (alpha {alpha:g}, adjusted '
                 f"p-values by {_esc(adjust)} within the primary metrics and within the others); relative lift = "
                 "effect / control mean, its interval treating the control mean as known. Estimators: "
                 f"{_esc(methods)}.</p>")
    return "\n".join(parts)


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


def _is_karm_balance(balance) -> bool:
    """A k-arm balance table (:func:`netexp.multiarm_balance`): ``std_diff[<arm>]`` columns and ``f_p_value``."""
    return (isinstance(balance, pd.DataFrame) and "f_p_value" in balance.columns
            and any(str(c).startswith("std_diff[") for c in balance.columns))


def _karm_balance_p(balance) -> float:
    """Bonferroni p of "no covariate differs across arms": min(1, m * smallest F-test p) over m covariates."""
    p = pd.to_numeric(balance["f_p_value"], errors="coerce").to_numpy(dtype=float)
    p = p[np.isfinite(p)]
    return float(min(1.0, p.size * p.min())) if p.size else np.nan


def _karm_balance_section(balance) -> str:
    arms = [str(c)[len("std_diff["):-1] for c in balance.columns if str(c).startswith("std_diff[")]
    p = _karm_balance_p(balance)
    m = int(np.isfinite(pd.to_numeric(balance["f_p_value"], errors="coerce")).sum())
    verdict = ("no F test could be computed (constant covariates)" if _isnan(p) else
               f"{'balanced' if p >= 0.05 else 'imbalanced'} across arms: smallest F-test p-value times {m} "
               f"covariates (Bonferroni) = {_fmt_p(p)}")
    parts = [f"<p>{_esc(verdict)}.</p>",
             '<p class="meta">One row per covariate: its mean in every arm, the standardized difference of each arm '
             "against the control, (mean of arm - mean of control) / sqrt((var arm + var control) / 2), and the "
             "one-way ANOVA F-test p-value of equal means across all arms.</p>",
             _frame_table(balance)]
    cov = balance["covariate"].astype(str).tolist() if "covariate" in balance else [str(i) for i in balance.index]

    def draw(ax):
        ypos = np.arange(len(cov))
        ax.axvspan(-0.1, 0.1, color="#e8e8e8", zorder=0)
        ax.axvline(0, color="#999", lw=0.8)
        markers = "osD^v<>"
        for j, a in enumerate(arms):
            ax.scatter(pd.to_numeric(balance[f"std_diff[{a}]"], errors="coerce"), ypos, marker=markers[j % 7],
                       label=f"arm {a}", zorder=3)
        ax.set_yticks(ypos, cov)
        ax.invert_yaxis()
        ax.set_xlabel("standardized difference against the control")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)

    parts.append(_figure(draw, size=(7.0, max(2.6, 1.3 + 0.32 * len(cov))), alt="covariate balance across arms"))
    return "\n".join(parts)


def _balance_section(balance) -> str:
    from . import plots

    if balance is None:
        return _missing("Covariate balance")
    if _is_karm_balance(balance):
        return _karm_balance_section(balance)
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
    tab = pd.DataFrame(index=frame.index)
    if names is not None:
        tab["name"] = names
    for c in ("estimand", "estimate", "std_error"):
        if c in frame:
            tab[c] = frame[c]
    if "ci_low" in frame and "ci_high" in frame:
        lvl = frame["confidence_level"].iloc[0] if "confidence_level" in frame else 0.95
        tab[f"{100 * float(lvl):.0f}% CI"] = [
            "n/a" if _isnan(a) or _isnan(b) else f"[{a:.4g}, {b:.4g}]" for a, b in zip(frame["ci_low"], frame["ci_high"])]
    for c in ("p_value", "n", "n_clusters", "variance"):
        if c in frame:
            tab[c] = frame[c]
    if truth is not None:
        if isinstance(truth, Mapping):
            est = tab["estimand"].astype(str) if "estimand" in tab else pd.Series([""] * len(tab))
            tab["truth"] = [truth.get(e, np.nan) for e in est]
        else:
            tab["truth"] = float(truth)
    k = len(frame)

    def draw(ax):
        plots.plot_forest(estimates, truth=truth, ax=ax)
        leg = ax.get_legend()
        if leg is not None:  # beside the rows, never over them
            handles, labels = ax.get_legend_handles_labels()
            leg.remove()
            if handles:
                ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)

    return "\n".join([_frame_table(tab), _figure(draw, size=(8.5, max(2.4, 1.3 + 0.45 * k)), alt="forest plot")])


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
                  notes=None, card=None, outcomes=None, primary: str | None = None, alpha: float = 0.05,
                  adjust: str = "holm", confidence_level: float = 0.95, arms=None, control=None) -> str:
    """The experiment readout as one self-contained HTML document (a string).

    The page opens on the answer: the question from the design card, the decision-relevant
    estimate with its interval, relative lift, arm means and counts, sample-ratio and balance
    badges and a plain-language verdict, one row per outcome (primary first, then guardrails).
    Then the design card as written, then diagnostics and the technical tables.

    Parameters
    ----------
    title : str
    card : DesignCard, path or dict, optional
        The design card written before the experiment (``netexp card`` writes ``card.json``): its
        ``business_decision`` is the headline question, its ``primary_outcome`` and ``guardrails``
        name the roles of ``outcomes``. A path is read with :meth:`DesignCard.read`.
    design_card : object, dict or str, optional
        Older spelling: anything with ``to_markdown()``, ``to_dict()``, a dict or a Markdown
        string (give ``card`` or ``design_card``, not both).
    outcomes : dict of name -> array, Estimate or dict, optional
        The metrics of the readout. An array gives per-unit outcomes (NaN where missing, aligned
        with ``assignment``): arm means and counts, and the effect by CR2 cluster-robust OLS when
        the assignment is constant within ``clustering``'s clusters, else the difference in means.
        A dict may hold ``y``, ``estimate`` (an Estimate to use as the effect), ``role``
        (``"primary"``, ``"guardrail"``, ``"secondary"``; default from the card, else the first
        outcome is primary) and ``higher_is_better`` (default True).
    primary : str, optional
        Without ``outcomes``: the key of ``estimates`` to headline (default: the first
        cluster-robust estimate of the global effect, else the first global effect).
    alpha : float, default 0.05
        Significance level of the verdict and colours.
    adjust : {"holm", "bonferroni", "bh", "by"}
        Multiple-comparison adjustment (:func:`netexp.adjust_pvalues`) within the primary metrics
        and within the other metrics.
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
    arms : sequence of str, optional
        A k-arm experiment: the arm names. The readout then gives, for each arm, its comparison
        with ``control`` ("arm b vs control: +0.64 (95% CI ...)"), taken from the estimate in
        ``estimates`` whose estimand is ``"<arm> - <control>"`` (the cluster-robust one first), with
        p-values adjusted by ``adjust`` across the comparisons, which share the control arm (the
        intervals are not adjusted). ``balance`` may then be a :func:`netexp.multiarm_balance`
        table; its badge is the Bonferroni p (smallest F-test p times the number of covariates).
        ``outcomes`` and ``primary`` are two-arm only.
    control : str, optional
        The reference arm of a k-arm experiment (default the first of ``arms``).

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
    (8, 2)
    >>> "Estimates: not provided" in doc
    True
    """
    from . import __version__
    from ._validation import check_confidence_level, check_option, check_probability

    card = _resolve_card(card, design_card)
    alpha = check_probability("alpha", alpha)
    adjust = check_option("adjust", adjust, ("holm", "bonferroni", "bh", "by"))
    confidence_level = check_confidence_level(confidence_level)
    sections = {
        "headline": _headline_section(card, outcomes, estimates, primary, assignment, clustering, srm, balance,
                                      alpha, adjust, confidence_level, arms=arms, control=control),
        "design": _design_section(card),
        "srm": _srm_section(srm),
        "balance": _balance_section(balance),
        "estimates": _estimates_section(estimates, truth),
        "randomization-test": _randomization_section(randomization_test),
        "graph": _graph_section(graph, clustering, assignment),
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
                 randomization_test=None, notes=None, overwrite: bool = False, card=None, outcomes=None,
                 primary: str | None = None, alpha: float = 0.05, adjust: str = "holm",
                 confidence_level: float = 0.95, arms=None, control=None) -> Path:
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
                        randomization_test=randomization_test, notes=notes, card=card, outcomes=outcomes,
                        primary=primary, alpha=alpha, adjust=adjust, confidence_level=confidence_level,
                        arms=arms, control=control)
    from ._files import write_text

    write_text(path, doc, overwrite=overwrite)
    return path
