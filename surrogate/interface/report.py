"""A one-page report for a saved surrogate: `surrogate report FILE -o DIR`.

The page (DIR/index.html, or DIR/README.md with format="md") holds the relation, its
inputs and their ranges, the certificate, the error map, the training curve when the
artifact carries a history, the network and how to load and call the model. For a
shipped surrogate (`surrogate report gnielinski`) it adds its source, validity and the
correlation's own accuracy (the SOURCES dicts of equations/*.py) and its build record:
the catalogue's datasheets (docs/catalogue) are this page. It is self-contained apart
from the PNGs it writes beside it and links nothing else: no script, no stylesheet, no
font from the network, so it reads the same offline. The equations are typeset by
matplotlib's mathtext into PNGs (MathJax would need the network at view time); the LaTeX
source (SymPy's) and the plain SymPy form are printed under each, so nothing depends on
the rendering.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sympy as sp

from ..declaration.display import latex as typeset
from ..declaration.display import unit_text
from ..persistence import shipped
from .plot import PLOT_POINTS, plot_error, plot_training, require_matplotlib

__all__ = ["write_report", "catalogue_about", "cost_blocks", "inputs_text", "budget_text", "BAR"]

#: The catalogue's bar (issue 10): a smooth relation's certified max error over its whole range.
BAR = 1e-3

FORMATS = {"html": "index.html", "md": "README.md"}


def write_report(source, directory, *, format: str = "html", tolerance: float | None = None,
                 points: int = PLOT_POINTS, dpi: int = 100, about: Sequence[tuple[str, str]] | None = None,
                 note: str | None = None, artifact: str | None = None) -> Path:
    """Write the report of `source` into `directory`: an artifact path, the name of a shipped
    surrogate (``gnielinski`` or ``convection:gnielinski``, as `surrogate.load` takes it) or a
    Surrogate.

    `about` adds a section "Source and validity" after the relation: a two-column
    table of (what, text) rows, followed by the paragraph `note`.  By default (None) a
    shipped surrogate, by name or by its file, gets the catalogue's (`catalogue_about`:
    source, validity, declared range, the correlation's own accuracy, certificate,
    build) and any other none.  `artifact` is how the "load and call it" examples name
    the model (default: the path or the shipped name as given, or NAME.surrogate for a
    Surrogate, which must be saved there first).

    Returns the page's path.  Writes the page and its PNGs (error-map.png,
    training.png when the model has a training history, equation-N.png for each
    equation mathtext can typeset), overwriting those names and nothing else.
    """
    from ..persistence.load import is_path, load

    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    require_matplotlib()  # fail before writing anything when matplotlib is missing
    entry = None
    if isinstance(source, (str, os.PathLike)):
        # a shipped name loads by that name (sg.load("gnielinski")), a file by its path as given
        model, default = load(source), os.fspath(source)
        entry = _shipped_entry(source) if is_path(source) else shipped.entry(source)
    else:
        model = source
        default = f"{model.relation.name or 'model'}.surrogate"
    artifact = artifact or default
    if about is None:
        about, shipped_note = catalogue_about(entry, model) if entry is not None else ((), None)
        note = shipped_note if note is None else note
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rel, cert, info = model.relation, model.certificate, dict(model.info or {})
    name = rel.name or "relation"
    blocks: list[tuple] = [("h1", f"{name}: a verified surrogate")]

    blocks.append(("h2", "Relation"))
    for i, eq in enumerate(rel.equations, 1):
        latex = typeset(eq, rel.symbols.values())  # names as written, log10 (declaration/display.py)
        png = f"equation-{i}.png"
        if _typeset(latex, out / png):
            blocks.append(("img", png, f"equation {i}: {latex}"))
        else:
            blocks.append(("p", "(not typeset: matplotlib's mathtext cannot parse this LaTeX)"))
        blocks.append(("code", f"LaTeX: {latex}\nSymPy: {sp.sstr(eq)}"))
    kind = rel.kind.description
    blocks.append(("p", f"{kind}; inputs {', '.join(rel.inputs)}; outputs {', '.join(rel.outputs)}"))
    units = rel.units  # a unit column only where the relation declares units (declaration/units.py)
    unit = (lambda n: [unit_text(units.get(n))]) if units else (lambda n: [])  # noqa: E731
    rows = [[s.name, _bound(s.low), _bound(s.high), f"{s.range[0]:.6g} .. {s.range[1]:.6g}", s.scale, *unit(s.name)]
            for s in rel.domain.inputs]
    blocks.append(("table", ["input", "low", "high", "range over the domain", "scale", *(["unit"] if units else [])],
                   rows))
    if any(r is not None for r in rel.output_ranges.values()) or any(o in units for o in rel.outputs):
        rows = [[o, "" if r is None else f"{r[0]:.6g} .. {r[1]:.6g}", *unit(o)] for o, r in rel.output_ranges.items()]
        blocks.append(("table", ["output", "declared range", *(["unit"] if units else [])], rows))
    if about or note:
        blocks.append(("h2", "Source and validity"))
        if about:
            blocks.append(("table", ["", ""], [[k, v] for k, v in about]))
        if note:
            blocks.append(("p", note))

    blocks.append(("h2", "Certificate"))
    if cert is None:
        blocks.append(("p", "This artifact carries no certificate (surrogate verify FILE makes one). The map below "
                            "marks the worst point of its own sample."))
    else:
        frame = cert.to_frame()
        blocks.append(("table", ["output", "max", "p99", "mean"],
                       [[i, *(f"{v:.4g}" for v in row)] for i, row in zip(frame.index, frame.to_numpy())]))
        if cert.max_error > cert.dense_max_error:
            blocks.append(("p", "The rows per output are over the dense sample; the max of 'all' includes the "
                                "worse point the search found."))
        worst = ", ".join(f"{k} = {v:.9g}" for k, v in cert.worst.items())
        facts = [
            ["error", cert.error + (f", atol = {cert.atol:g}" if cert.atol else "")],
            ["worst point", worst],
            ["dense sample", f"{cert.points:,} scrambled Sobol points, seed {cert.seed}"
                             + (", half drawn log-uniformly towards edges" if cert.search.get("edges") else "")
                             + f"; max there {cert.dense_max_error:.4g}"],
            ["search", str(cert.search.get("method", "none"))],
        ]
        if cert.residual:
            facts.append(["residual |r(x, y_hat)| / S_r",
                          ", ".join(f"{k} {v:.4g}" for k, v in cert.residual.items())])
        if cert.unsolved:
            counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in cert.unsolved["counts"].items() if v)
            facts.append(["not settled by the solver", f"{counts} of {cert.points:,} points (excluded above)"])
        elif cert.undefined_points:
            facts.append(["reference undefined", f"{cert.undefined_points:,} points (excluded above)"])
        facts.append(["took", f"{cert.seconds:.1f} s"])
        if cert.proof:
            from ..model.records import Proof

            facts.append(["proven bound (all points)", Proof.from_dict(cert.proof).summary()])
        blocks.append(("table", ["", ""], facts))

    figures = shipped.costs(entry) if entry is not None else None
    if figures:
        blocks += cost_blocks(figures)

    blocks.append(("h2", "Error over the domain"))
    fig = plot_error(model, tolerance=tolerance, points=points)
    fig.savefig(out / "error-map.png", dpi=dpi)
    blocks.append(("img", "error-map.png", f"error of the {name} surrogate over its domain"))
    blocks.append(("p", _map_caption(rel.domain.dim, cert is not None)))

    blocks.append(("h2", "Training"))
    if info.get("history"):
        plot_training(model).savefig(out / "training.png", dpi=dpi)
        blocks.append(("img", "training.png", "validation error during training"))
    facts = [[k, _fmt(info[k])] for k in ("steps", "seconds", "stop", "device", "seed", "atol", "restarts",
                                         "validation") if k in info]
    pieces = getattr(model, "models", None)  # a piecewise model: one network per piece (piecewise.py)
    nets = model.networks if pieces else [model]
    if nets:
        cfg = nets[0].module.net.config
        skip = ", skip connections" if cfg.get("skip") else ""
        dtype = str(model.dtype).replace("torch.", "")
        layers = f"{cfg['depth']} hidden layers of {cfg['width']} ({cfg['activation']}{skip})"
        facts.append(["network", f"MLP, {layers}, {dtype}" + (f", one per piece ({len(pieces)})" if pieces else "")])
    if pieces and len(nets) < len(pieces):
        facts.append(["constant pieces", f"{len(pieces) - len(nets)} (their values, exactly; no network)"])
    blocks.append(("table", ["", ""], facts))

    blocks.append(("h2", "Load and call it"))
    example = rel.domain.chart(np.full((1, rel.domain.dim), 0.5))[0]
    short = np.array([float(f"{v:.6g}") for v in example])
    example = short if rel.domain.contains(short[None])[0] else example  # short, unless rounding leaves the domain
    cols = ", ".join(f'"{n}": [{v!r}]' for n, v in zip(rel.inputs, example.tolist()))
    kwargs = ", ".join(f"{n}={v!r}" for n, v in zip(rel.inputs, example.tolist()))
    out0 = rel.outputs[0]
    blocks.append(("p", "In Python (a point inside the domain; outside it, predict raises DomainError):"))
    blocks.append(("code", f"import pandas as pd\nimport surrogate as sg\n\nmodel = sg.load({_quoted(artifact)})\n"
                           f"df = pd.DataFrame({{{cols}}})\nprint(model.predict(df))  # columns "
                           f"{', '.join(rel.outputs)}\nprint(model({kwargs})[\"{out0}\"])"))
    blocks.append(("p", "With NumPy only (no torch), from the same " + ("file:" if is_path(artifact) else "name:")))
    blocks.append(("code", f"from surrogate import runtime\n\nmodel = runtime.load({_quoted(artifact)})\n"
                           f"print(model.predict(df))"))
    blocks.append(("p", f"From the shell (in.csv has the columns {', '.join(rel.inputs)}):"))
    blocks.append(("code", f"surrogate predict {artifact} in.csv -o out.csv\n"
                           f"surrogate verify {artifact} --plot error.png\n"
                           f"surrogate export {artifact} --onnx"))

    page = out / FORMATS[format]
    page.write_text(_html(name, blocks) if format == "html" else _markdown(blocks), encoding="utf-8")
    return page


def _quoted(text: str) -> str:
    """`text` as a double-quoted Python string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _shipped_entry(path) -> shipped.Entry | None:
    """The catalogue entry whose shipped artifact is the file `path`, if any."""
    try:
        here = Path(path).resolve()
        return next((e for e in shipped.entries() if e.path.resolve() == here), None)
    except OSError:
        return None


def inputs_text(rel) -> str:
    """The declared ranges as one line: ``4000 <= Re <= 5e6, 0.5 <= Pr <= 2000``."""
    return ", ".join(f"{_bound(s.low)} <= {s.name} <= {_bound(s.high)}" for s in rel.domain.inputs)


def budget_text(rec: dict) -> str:
    """A build record's training budget: ``400 steps`` or ``60 s``."""
    if rec.get("budget_steps") is not None:
        return f"{rec['budget_steps']} steps"
    return f"{rec.get('budget_s', '?')} s"


def catalogue_about(e: shipped.Entry, model, artifact: str | None = None) -> tuple[list[tuple[str, str]], str | None]:
    """The "Source and validity" rows of a shipped surrogate, and the paragraph under them:
    its source, the validity the source states, the declared range, the correlation's own
    accuracy against its certified error, how it is shipped and built.

    The same for a relation of the user's own library (`surrogate build`, an entry with a
    `command`): the rows its module's SOURCES gives, and the artifact as `artifact` names it
    instead of the catalogue's lines; no paragraph without a stated accuracy."""
    cert, src, is_shipped = model.certificate, e.source, not e.command
    about = [(what, src[key]) for what, key in (("source", "source"), ("validity (as the source states it)", "validity"))
             if src.get(key)]
    about.append(("declared range (what the surrogate covers)", inputs_text(e.relation)))
    if src.get("accuracy"):
        about.append(("accuracy of the correlation", src["accuracy"]))
    if cert is not None:
        about.append(("certified max error of the surrogate", f"{cert.max_error:.3g} (p99 {cert.p99_error:.3g})"))
    size = f" ({e.path.stat().st_size / 1024:.0f} KiB)" if e.path.exists() else ""
    if is_shipped:
        about.append(("shipped as", f"equations/artifacts/{e.name}.surrogate{size}; sg.catalogue(\"{e.name}\"); "
                                    f"surrogate predict {e.name} in.csv"))
    else:
        label = artifact or str(e.path)
        about.append(("artifact", f"{label}{size}; sg.load({_quoted(label)}); surrogate predict {label} in.csv"))
    rec = shipped.status(e).build
    if rec:
        about.append(("built", f"{budget_text(rec)} of training ({rec.get('method', '?')}, seed {rec.get('seed', '?')}, "
                               f"{rec.get('steps', '?')} steps, {rec.get('train_cpu_s', '?')} CPU s), verified in "
                               f"{rec.get('verify_wall_s', '?')} s; {rec.get('command', '')}"))
    if cert is None or not src.get("accuracy"):
        return about, None
    against = ("the formula above (the correlation as printed)" if e.relation.is_explicit
               else "a numeric solve of the equations above")
    note = (f"The surrogate reproduces the correlation, not the physics. Its certified max error, {cert.max_error:.2g}, "
            f"is measured against {against}, over the declared range. The correlation's own accuracy, as its source "
            f"states it: {src['accuracy']}. Against measurements (or a more exact model) that error comes first, "
            "and the surrogate's adds to it.")
    if is_shipped and cert.max_error > BAR:
        note += (f" This surrogate does not reach the catalogue's bar of {BAR:g} max error; it is shipped with its "
                 "true certificate.")
    return about, note


def cost_blocks(figures: dict) -> list[tuple]:
    """The "Cost per point" section of a datasheet from measured figures (`shipped.costs`): one row
    per way of evaluating, ns a point at each batch size, and the speed-up over the reference."""
    batches = figures["batches"]
    rows = [[way, *("" if v is None else f"{v:,.0f}" for v in values)] for way, values in figures["ways"].items()]
    text = (f"Nanoseconds a point, one core, at each batch size (points a call). {figures.get('note', '')}").strip()
    if figures.get("speedup") is not None:
        text += (f" At batch {batches[-1]:,} the fastest way to evaluate the surrogate ({figures['best']}) is "
                 f"{figures['speedup']:,.0f}x faster per point than {figures['reference']}.")
    return [("h2", "Cost per point"), ("table", ["way", *(f"batch {b:,}" for b in batches)], rows), ("p", text)]


def _typeset(latex: str, path: Path) -> bool:
    """The equation as a PNG by matplotlib's mathtext; False (and no file) when it cannot parse it."""
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    try:
        mathtext.math_to_image(f"${latex}$", str(path), prop=FontProperties(size=15), dpi=150, format="png")
    except ValueError:  # mathtext's parse errors
        path.unlink(missing_ok=True)
        return False
    return True


def _map_caption(d: int, certified: bool) -> str:
    star = "the certificate's worst point" if certified else "the worst point of the plotted sample"
    if d == 1:
        what = "The error against the input"
    elif d == 2:
        what = "The error over the domain (grey outside it)"
    else:
        what = "The error on every two-input slice through the worst point (grey outside the domain)"
    return (f"{what}; the red star is {star}. Beside it (when shown): the error over a dense sample drawn as "
            "the certificate draws it, and the error against the distance to each edge of the domain (a "
            "dependent or zero bound), where thin layers invisible on the map show up.")


def _bound(e: sp.Expr) -> str:
    return sp.sstr(e) if e.free_symbols else f"{float(e):.6g}"


def _fmt(v) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k} {_fmt(x)}" for k, x in v.items())
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else str(v)
    return str(v)


def _html(title: str, blocks: list[tuple]) -> str:
    e = html.escape
    parts = []
    for b in blocks:
        if b[0] in ("h1", "h2", "p"):
            parts.append(f"<{b[0]}>{e(b[1])}</{b[0]}>")
        elif b[0] == "img":
            parts.append(f'<p><img src="{e(b[1])}" alt="{e(b[2])}"></p>')
        elif b[0] == "code":
            parts.append(f"<pre><code>{e(b[1])}</code></pre>")
        elif b[0] == "table":
            head = "".join(f"<th>{e(str(h))}</th>" for h in b[1])
            body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in b[2])
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.4}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;"
             "text-align:left;vertical-align:top}pre{background:#f4f4f4;padding:.6em;overflow-x:auto}"
             "img{max-width:100%}")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{e(title)}</title>\n'
            f"<style>{style}</style>\n</head>\n<body>\n" + "\n".join(parts) + "\n</body>\n</html>\n")


def _markdown(blocks: list[tuple]) -> str:
    def cell(c) -> str:
        return str(c).replace("|", "\\|").replace("\n", " ")

    parts = []
    for b in blocks:
        if b[0] == "h1":
            parts.append(f"# {b[1]}")
        elif b[0] == "h2":
            parts.append(f"## {b[1]}")
        elif b[0] == "p":
            parts.append(b[1])
        elif b[0] == "img":
            parts.append(f"![{cell(b[2]).replace(']', ')').replace('[', '(')}]({b[1]})")
        elif b[0] == "code":
            parts.append(f"```\n{b[1]}\n```")
        elif b[0] == "table":
            lines = ["| " + " | ".join(cell(h) for h in b[1]) + " |", "|" + "---|" * len(b[1])]
            lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in b[2]]
            parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"
