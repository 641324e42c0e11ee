"""The `surrogate` command line: list, train, build, verify, predict, export, fit.

A user error prints one clear line on stderr and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ..errors import INSTALL_TRAIN, TRAIN_MODULES, SurrogateError

__all__ = ["main"]


class UsageError(SurrogateError, ValueError):
    """A command-line argument that cannot be used."""


def _relation(spec: str):
    """Resolve 'module:name' (or a catalogue name like 'seeds:seed001') to a Relation."""
    from ..declaration.relation import Relation

    if ":" not in spec:
        raise UsageError(f"{spec!r} is not MODULE:NAME; for example equations.seeds:seed001 (see `surrogate list`)")
    mod_name, _, name = spec.partition(":")
    candidates = [mod_name] if "." in mod_name else [mod_name, f"equations.{mod_name}"]
    module = None
    for cand in candidates:
        try:
            module = importlib.import_module(cand)
            break
        except ModuleNotFoundError as e:
            if e.name != cand and not cand.startswith(str(e.name)):
                raise
    if module is None:
        raise UsageError(f"no module {mod_name!r} (tried {', '.join(candidates)}); see `surrogate list`")
    rel = getattr(module, name, None)
    if not isinstance(rel, Relation):
        found = ", ".join(n for n, v in vars(module).items() if isinstance(v, Relation)) or "none"
        raise UsageError(f"{module.__name__} has no relation named {name!r}; it has: {found}")
    return rel


def _catalogue():
    import equations

    from ..declaration.relation import Relation

    for mod_name in equations.MODULES:
        module = importlib.import_module(mod_name)
        for name in getattr(module, "__all__", []):
            rel = getattr(module, name)
            if isinstance(rel, Relation):
                yield mod_name, name, rel


def _bound(e) -> str:
    return str(e) if getattr(e, "free_symbols", None) else f"{float(e):g}"


def _unit(rel, name: str) -> str:
    """`` m`` after a range or a name, `` (dimensionless)`` for a dimensionless symbol, nothing without a unit."""
    from ..declaration.display import unit_text
    from ..declaration.units import is_dimensionless

    if name not in rel.units:
        return ""
    u = rel.units[name]
    return f" ({unit_text(u)})" if is_dimensionless(u) else f" {u}"


def cmd_list(args) -> int:
    from ..declaration.display import text
    from ..persistence import shipped

    catalogue = {e.name: e for e in shipped.entries()}
    for mod_name, name, rel in _catalogue():
        entry = catalogue.get(name) if catalogue.get(name) and catalogue[name].module == mod_name else None
        if args.shipped and entry is None:
            continue
        short = mod_name.removeprefix("equations.")
        eqs = "; ".join(text(e) for e in rel.equations)  # lhs = rhs, log10 as written (declaration/display.py)
        extra = f"  (parameters: {', '.join(rel.parameters)})" if rel.parameters else ""
        print(f"{short}:{name:<14} {eqs}{extra}")
        ranges = ", ".join(f"{_bound(lo)} <= {n} <= {_bound(hi)}{_unit(rel, n)}" for n, (lo, hi) in rel.bounds.items())
        print(f"    inputs     {ranges}")
        # the outputs' units close the block (after the shipped surrogate's lines, whose places are fixed)
        outputs = (f"    outputs    {', '.join(f'{o}{_unit(rel, o)}' for o in rel.outputs)}"
                   if any(o in rel.units for o in rel.outputs) else None)
        if entry is None:
            if outputs:
                print(outputs)
            continue
        print(f"    validity   {entry.source['validity']}")
        print(f"    source     {entry.source['source']}")
        print(f"    accuracy   {entry.source['accuracy']} (the correlation's, as its source states it)")
        st = shipped.status(entry)
        cert = st.certificate if st.ok else None
        if cert is not None:
            how = f"{cert.points:,} points + search" if cert.points else "verify"
            print(f"    surrogate  certified max error {cert.max_error:.3g} "
                  f"(p99 {cert.p99_error:.3g}; {how}); sg.load(\"{name}\"), "
                  f"surrogate predict {name} in.csv")
        else:
            print(f"    surrogate  {st.message or 'shipped without a certificate'}")
        if outputs:
            print(outputs)
    return 0


def _artifact(arg: str):
    """The artifact file `arg` names: a path, or a shipped name (``gnielinski``,
    ``convection:gnielinski``), resolved as `surrogate.load` resolves it (persistence.load)."""
    from ..persistence.load import resolve

    return resolve(arg)


def _stem(arg: str) -> str:
    """The base name for what a command writes from `arg` here: the file's own without its
    extension, or a shipped surrogate's name (its report goes to NAME-report here, not into the package)."""
    import os

    from ..persistence.load import is_path

    return os.path.splitext(arg)[0] if is_path(arg) else _artifact(arg).stem


def _output(path: str, flag: str, example: str) -> str:
    """`path` if a file can be written there; else UsageError naming the folder, before any work
    (a command that trains for minutes must not fail at the end on a typo in -o)."""
    import os

    if os.path.isdir(path):
        raise UsageError(f"{flag} {path!r} is a folder; give a file path in it, e.g. {flag} "
                         f"{os.path.join(path, example)}")
    folder = os.path.dirname(path)
    if folder and not os.path.exists(folder):
        raise UsageError(f"{flag} {path!r}: the folder {folder!r} does not exist; create it first "
                         f"(mkdir -p {folder}) or choose another path")
    if folder and not os.path.isdir(folder):
        raise UsageError(f"{flag} {path!r}: {folder!r} is a file, not a folder; choose another path")
    if not os.access(folder or ".", os.W_OK):
        raise UsageError(f"{flag} {path!r}: the folder {folder or '.'!r} is not writable; choose another path")
    return path


def _save(model, out: str) -> str:
    """Save to `out`; where that fails after all (the folder went away while training), save to a
    temporary file instead and say so, so that no trained model is lost."""
    import os
    import tempfile

    try:
        model.save(out)
        return out
    except OSError as e:
        fd, spare = tempfile.mkstemp(suffix=".surrogate", prefix=f"{model.relation.name or 'model'}-")
        os.close(fd)
        model.save(spare)
        print(f"cannot write {out!r} ({e}); saved the model to {spare} instead", file=sys.stderr)
        return spare


def cmd_train(args) -> int:
    from ..checking.verify import verify
    from ..training.loop import train

    rel = _relation(args.relation)
    name = f"{rel.name or args.relation.split(':')[-1]}.surrogate"
    out = _output(args.output or name, "-o" if args.output else "the default output (choose another with -o)", name)
    model = train(rel, tolerance=args.tolerance, time_limit=args.time_limit, max_steps=args.max_steps,
                  device=args.device, seed=args.seed, progress=not args.quiet and None, atol=args.atol)
    info = model.info
    if info["stop"] == "interrupted":  # Ctrl-C: nothing the user made is lost
        print(f"interrupted after {info['steps']} steps: verifying and saving the best model so far "
              "(Ctrl-C again saves it without a certificate)", file=sys.stderr)
    try:
        model.certificate = verify(model, points=args.points, atol=args.atol, seed=args.seed)
    except KeyboardInterrupt:
        out = _save(model, out)
        print(f"interrupted while verifying: saved {out} without a certificate "
              f"(run `surrogate verify {out}`)", file=sys.stderr)
        return 130
    out = _save(model, out)
    print(f"trained {rel.name} on {info['device']}: {info['steps']} steps in {info['seconds']:.1f} s "
          f"(stopped by {info['stop']})")
    print(model.certificate)
    print(f"saved {out}")
    return 130 if info["stop"] == "interrupted" else 0


def cmd_verify(args) -> int:
    from ..checking.verify import verify
    from ..persistence.load import load

    if args.hypothesis is not None and args.hypothesis < 1:
        raise UsageError(f"--hypothesis takes a positive number of examples, not {args.hypothesis!r}")
    if args.plot:  # before the verification, which may take minutes
        from .plot import plot_error, require_matplotlib

        require_matplotlib()
    model = load(args.file)
    if args.prove:  # what prove refuses, before the verification's minutes
        from ..checking.prove import provable

        provable(model, args.atol)
    cert = verify(model, points=args.points, atol=args.atol, seed=args.seed)
    if args.hypothesis:
        from ..checking.testing import with_hypothesis

        cert = with_hypothesis(model, cert, args.hypothesis, cert.atol, args.seed)
    if args.prove:
        from ..checking.prove import prove

        model.certificate = cert
        prove(model, within=args.within, time_limit=args.prove_time, atol=cert.atol)  # attaches itself
        cert = model.certificate
    print(cert)
    if args.plot:
        plot_error(model, certificate=cert, tolerance=args.tolerance).savefig(args.plot, dpi=100)
        print(f"wrote the error map to {args.plot}")
    if args.tolerance is not None and not cert.passes(args.tolerance):
        print(f"FAILED: max error {cert.max_error:.4g} > tolerance {args.tolerance:g}", file=sys.stderr)
        return 1
    return 0


def cmd_report(args) -> int:
    from .report import write_report

    if args.points < 16:
        raise UsageError(f"--points must be at least 16, not {args.points}")
    if args.tolerance is not None and not args.tolerance > 0:
        raise UsageError(f"--tolerance must be a positive error, not {args.tolerance}")
    _artifact(args.file)  # an unknown name or a stale artifact said before anything is written
    out = args.output or _stem(args.file) + "-report"
    # the name or the path as given: the page tells the reader to load it the same way
    page = write_report(args.file, out, format=args.format, tolerance=args.tolerance, points=args.points)
    print(f"wrote {page}")
    return 0


#: How the command line spells the Python API's outside='allow' and outside='nan' in messages.
_PREDICT_FLAGS = {"allow": "--allow-outside", "nan": "--skip-bad-rows"}


def _read_csv(path: str):
    """(DataFrame, where each row is in the file: ``line <n>``, the header being line 1); UsageError
    for a file that cannot be read, is empty or has a header and no rows."""
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise UsageError(f"{path!r} is empty; give a header line naming the inputs and one line per point") from None
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {path!r} as CSV: {e}") from None
    if len(df) == 0:
        raise UsageError(f"{path!r} has a header ({', '.join(map(str, df.columns))}) but no rows; "
                         "give one line per point")
    # pandas skips blank lines: number the others (the first is the header).  Where the count differs
    # (a quoted cell over several lines, a compressed file) rows are numbered as data rows from 1.
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            lines = [k + 1 for k, line in enumerate(f.read().splitlines()) if line.strip()][1:]
    except (OSError, UnicodeDecodeError):
        lines = []
    labels = ([f"line {n}" for n in lines] if len(lines) == len(df) else
              [f"data row {i + 1}" for i in range(len(df))])
    return df, labels


def cmd_predict(args) -> int:
    import numpy as np
    import pandas as pd

    from ..model.predictor import check_inside, frame_inputs, non_numeric
    from ..persistence.load import load

    if args.output:
        _output(args.output, "-o", "out.csv")
    model = load(args.file)
    df, labels = _read_csv(args.csv)
    bad_cells = non_numeric(df, [n for n in model.inputs if n in df.columns])
    if bad_cells and not args.skip_bad_rows:
        i, n = bad_cells[0]
        raise UsageError(f"{labels[i]}, column {n}: {df[n].iloc[i]!r} is not a number "
                         f"({len(bad_cells)} such cell(s) in all); fix the file, or pass --skip-bad-rows "
                         "for NaN in those rows")
    x, labels = frame_inputs(df, model.inputs, labels, coerce=True)
    unreadable = outside = np.zeros(len(df), dtype=bool)
    if args.skip_bad_rows:  # a cell that is empty or not a number, or (without --allow-outside) outside
        unreadable = np.isnan(x).any(axis=1)
        if not args.allow_outside:
            outside = ~model.relation.domain.contains(x) & ~unreadable
    else:
        check_inside(model.relation, x, "allow" if args.allow_outside else "raise", labels, _PREDICT_FLAGS)
    skip = unreadable | outside
    y = np.full((len(df), len(model.outputs)), np.nan)
    y[~skip] = model.evaluate(x[~skip])
    out = pd.DataFrame(y, columns=model.outputs, index=df.index)
    if skip.any():
        rows = np.nonzero(skip)[0]
        where = ", ".join(labels[i] for i in rows[:10]) + (", ..." if rows.size > 10 else "")
        why = [f"{int(unreadable.sum())} with a cell that is empty or not a number" if unreadable.any() else "",
               f"{int(outside.sum())} outside the domain" if outside.any() else ""]
        print(f"skipped {rows.size} of {len(df)} rows, writing NaN for them: {', '.join(w for w in why if w)} "
              f"({where})", file=sys.stderr)
    result = pd.concat([df, out], axis=1) if args.with_inputs else out
    if args.units:  # "h [W/(m^2*K)]": the same labels as the plots' axes (declaration/display.py)
        from ..declaration.display import unit_label

        units = model.relation.units
        result = result.rename(columns={c: unit_label(c, units[c]) for c in model.outputs if c in units})
    if args.output:
        result.to_csv(args.output, index=False)
        print(f"wrote {len(result)} rows to {args.output}")
    else:
        result.to_csv(sys.stdout, index=False)
    return 0


def cmd_export(args) -> int:
    from ..persistence.load import load

    if args.onnx is None and args.c is None and args.fmu is None and args.modelica is None:
        raise UsageError("say which format to export: --onnx [OUT], --c [OUT], --fmu [OUT] or --modelica [DIR] "
                         "(several at once if you like)")
    if args.fmu is not None:
        from ..errors import ExportError
        from ..model import fmu

        out = _output(args.fmu or _stem(args.file) + ".fmu", "--fmu", "model.fmu")
        try:
            ident = fmu.export_artifact(_artifact(args.file), out, name=args.c_name, binary=not args.fmu_sources_only)
        except ExportError as e:
            raise UsageError(str(e).replace("binary=False", "--fmu-sources-only")) from None
        built = "sources only (the importing tool compiles them)" if args.fmu_sources_only else \
            f"binaries/{fmu.platform_folder()[0]} and sources"
        print(f"wrote {out}: FMI 2.0 model exchange and co-simulation, modelIdentifier {ident}, {built}; "
              "an input outside the domain is an fmi2Error")
    if args.modelica is not None:
        from ..model.modelica import export_artifact as export_modelica

        folder = args.modelica or "."
        pkg = export_modelica(_artifact(args.file), folder, name=args.c_name)
        print(f"wrote {pkg}: the Modelica package (package.mo; its C file in Resources/Include); load the folder "
              "in your Modelica tool")
    if args.c is not None:
        from ..model.c_export import export_artifact

        out = _output(args.c or _stem(args.file) + ".c", "--c", "model.c")
        ident = export_artifact(_artifact(args.file), out, precision=args.c_precision, name=args.c_name)
        print(f"wrote {out}: C99, {ident}_eval(const double *x, double *y) and {ident}_eval_batch, the network in "
              f"{'double' if args.c_precision == 'float64' else 'float'} (inputs, outputs and the "
              "certificate in its header comment); link with -lm")
    if args.onnx is None:
        return 0
    out = _output(args.onnx or _stem(args.file) + ".onnx", "--onnx", "model.onnx")
    model = load(args.file)
    try:
        model.export_onnx(out)
    except ImportError as e:
        raise UsageError(str(e)) from None
    print(f"wrote {out}: input 'inputs' float32 [N, {len(model.inputs)}] = {', '.join(model.inputs)}; "
          f"output 'outputs' float32 [N, {len(model.outputs)}] = {', '.join(model.outputs)}")
    return 0


def cmd_fit(args) -> int:
    import json

    import pandas as pd

    from ..errors import FitError
    from ..fitting.fit import fit

    rel = _relation(args.relation)
    if args.output:
        _output(args.output, "-o", "fit.json")
    try:  # read here rather than through fit_report, so that -o reuses the same fit
        data = pd.read_csv(args.csv)
    except (OSError, ValueError) as e:  # pandas' parser errors derive from ValueError
        raise FitError(f"cannot read {args.csv!r} as CSV: {e}") from None
    result = fit(rel, data, loss=args.loss, starts=args.starts, nan=args.nan, seed=args.seed)
    print(result)  # the text fit_report returns for the same options
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(json.dumps(result.to_json(), indent=2, allow_nan=False) + "\n")
        print(f"wrote {args.output}")
    return 0


_FILE_HELP = ("a .surrogate file, or the name of a shipped surrogate as `surrogate list --shipped` prints it, "
              "e.g. gnielinski or convection:gnielinski")


def cmd_build(args) -> int:
    from ..persistence.library import Budget
    from .build import build

    result = build(args.modules, args.output, default=Budget(args.steps, args.seed, {"method": args.method}),
                   points=args.points, jobs=args.jobs, cluster=args.cluster, only=args.only, force=args.force,
                   docs=args.docs, no_docs=args.no_docs, docs_only=args.docs_only, progress=not args.quiet)
    return result.status


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="surrogate", description="Verified neural surrogates of physical formulas.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list", help="list the catalogue's relations, with the shipped surrogates' certificates")
    s.add_argument("--shipped", action="store_true",
                   help="only the relations shipped trained (sg.load(NAME), surrogate predict NAME in.csv)")
    s.set_defaults(run=cmd_list)

    s = sub.add_parser("train", help="train a relation, verify it and save the artifact")
    s.add_argument("relation", help="MODULE:NAME, e.g. seeds:seed001 or mypackage.physics:relation")
    s.add_argument("-o", "--output", help="artifact path (default: NAME.surrogate)")
    s.add_argument("--tolerance", type=float, help="stop once the validation max error is below this")
    s.add_argument("--time-limit", type=float, help="seconds of training (default 60 when no --max-steps)")
    s.add_argument("--max-steps", type=int,
                   help="number of optimiser steps; alone (no --time-limit) it trains by Adam, whose steps these are, "
                        "where a time limit would train a small relation by Levenberg-Marquardt, far closer to float "
                        "precision (sg.train's doc)")
    s.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    s.add_argument("--seed", type=int, default=0,
                   help="seeds the start, the batches and the certificate: with --max-steps alone the same seed "
                        "gives the same surrogate on one machine (default 0)")
    s.add_argument("--points", type=int, default=1_000_000, help="points of the dense check")
    s.add_argument("--atol", type=float, default=None,
                   help="absolute error floor, in training and in the certificate (seeds:paraboloid: 1e-2); "
                        "default 0, or the relation's suggestion where an output's scale vanishes")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.set_defaults(run=cmd_train)

    s = sub.add_parser("build", help="train, certify and save every relation of your modules, with datasheets "
                                      "(local processes or a Dask cluster; reruns skip what is up to date)",
                       description="Every Relation the modules define at module level (their __all__ where they have "
                                   "one) is trained on a step budget, certified and saved as DIR/NAME.surrogate; "
                                   "DIR/catalogue.json indexes them; DIR/docs holds a datasheet each. A module may "
                                   "give relations their own budget: BUILD = {\"name\": {\"steps\": 600, \"seed\": 1, "
                                   "\"config\": {...TrainConfig settings}}}.")
    s.add_argument("modules", nargs="+", metavar="MODULE", help="a module's dotted name (mylib.relations) or a .py file")
    s.add_argument("-o", "--output", required=True, metavar="DIR", help="folder of the artifacts (created if missing)")
    s.add_argument("--steps", type=int, default=400, help="optimiser steps of a relation its module's BUILD does not "
                                                          "budget (default 400: the shipped catalogue's)")
    s.add_argument("--method", choices=("lm", "adam"), default="lm",
                   help="training method of those relations (default lm, Levenberg-Marquardt; adam for large ones; "
                        "no auto: on a step budget it would always pick adam)")
    s.add_argument("--seed", type=int, default=0, help="training seed of those relations (default 0)")
    s.add_argument("--points", type=int, default=1_000_000,
                   help="points of each certificate's dense check, before the worst-case search (default 1000000; "
                        "the datasheets' error maps use at most 100000)")
    s.add_argument("--jobs", type=int, default=1, help="relations built at once here, one process each (default 1)")
    s.add_argument("--cluster", metavar="ADDRESS",
                   help="build on Dask: local:N (N worker processes here) or a scheduler's address "
                        "(tcp://host:8786; workers started with --nthreads 1); needs the cluster extra")
    s.add_argument("--only", action="append", metavar="NAME", help="build only this relation (repeatable)")
    s.add_argument("--force", action="store_true", help="rebuild even the up-to-date artifacts")
    s.add_argument("--docs", metavar="DIR", help="folder of the datasheets and their index.md (default: OUTPUT/docs)")
    s.add_argument("--no-docs", action="store_true", help="no datasheets (they need matplotlib)")
    s.add_argument("--docs-only", action="store_true", help="only write the index and every datasheet again")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.set_defaults(run=cmd_build)

    s = sub.add_parser("verify", help="certify a saved surrogate against its own relation")
    s.add_argument("file", help=_FILE_HELP)
    s.add_argument("--points", type=int, default=1_000_000,
                   help="quasi-random points of the dense check, before the worst-case search (default 1000000; "
                        "a piecewise model shares them among its pieces)")
    s.add_argument("--atol", type=float, default=None,
                   help="absolute error floor (default: the one the surrogate was trained with)")
    s.add_argument("--seed", type=int, default=0,
                   help="seeds the dense sample and the search: the same seed gives the same certificate (default 0)")
    s.add_argument("--tolerance", type=float, help="exit with status 1 when the max error is above this")
    s.add_argument("--hypothesis", type=int, metavar="N",
                   help="also run N targeted Hypothesis examples (surrogate.testing.points) and fold the worst "
                        "error they find into the result")
    s.add_argument("--plot", metavar="OUT.png", help="also draw the error map there (needs matplotlib)")
    s.add_argument("--prove", action="store_true",
                   help="also prove an upper bound on the max error over the whole domain (relations of up to 3 "
                        "inputs, explicit or implicit of up to 3 equations; docs/prove.md)")
    s.add_argument("--within", type=float, default=2.0,
                   help="with --prove: stop once the bound is within this factor of the largest error found")
    s.add_argument("--prove-time", type=float, default=60.0, metavar="SECONDS",
                   help="with --prove: the time limit of the proof (the best bound so far is shown)")
    s.set_defaults(run=cmd_verify)

    s = sub.add_parser("report", help="write a one-page report of a saved surrogate (needs matplotlib)")
    s.add_argument("file", help=_FILE_HELP)
    s.add_argument("-o", "--output", metavar="DIR", help="folder for the page and its PNGs (default: FILE-report)")
    s.add_argument("--format", choices=("html", "md"), default="html", help="DIR/index.html or DIR/README.md")
    s.add_argument("--tolerance", type=float, help="draw this error level on the map")
    s.add_argument("--points", type=int, default=200_000, help="dense sample behind the error distribution")
    s.set_defaults(run=cmd_report)

    s = sub.add_parser("predict", help="predict from a CSV of inputs (columns named after them)")
    s.add_argument("file", help=_FILE_HELP)
    s.add_argument("csv", help="the CSV of inputs: a header row naming the relation's inputs, one point a row")
    s.add_argument("-o", "--output", help="write a CSV here instead of standard output")
    s.add_argument("--with-inputs", action="store_true", help="include the input columns in the output")
    s.add_argument("--units", action="store_true",
                   help="name each output column with its declared unit, 'h [W/(m^2*K)]' (dimensionless ones and "
                        "those without a unit keep their name; inputs are read in their declared units)")
    s.add_argument("--allow-outside", action="store_true",
                   help="predict at points outside the domain too (extrapolation, at your own risk)")
    s.add_argument("--skip-bad-rows", action="store_true",
                   help="write NaN for rows with a cell that is empty or not a number, or (without --allow-outside) "
                        "outside the domain, instead of stopping; says how many on stderr")
    s.set_defaults(run=cmd_predict)

    s = sub.add_parser("export", help="export a saved surrogate for other runtimes (ONNX, C, FMU, Modelica)")
    s.add_argument("file", help=_FILE_HELP)
    s.add_argument("--onnx", nargs="?", const="", metavar="OUT",
                   help="write an ONNX graph (float32 'inputs' [N, d] in physical units -> 'outputs' [N, m]) "
                        "to OUT (default: FILE with the suffix .onnx); needs pip install 'surrogate-formula[onnx]'")
    s.add_argument("--c", nargs="?", const="", metavar="OUT",
                   help="write one dependency-free C99 file (domain check, features, network, heads; the formula "
                        "and the certificate in its header comment) to OUT (default: FILE with the suffix .c)")
    s.add_argument("--c-precision", choices=("float64", "float32"), default="float64",
                   help="the C network's precision: float64 (default; the numbers the certificate covers) or "
                        "float32 (float weights and arithmetic, adding float's rounding); features and heads are double either way")
    s.add_argument("--fmu", nargs="?", const="", metavar="OUT",
                   help="write an FMI 2.0 FMU (model exchange and co-simulation; the C file and its fmi2 wrapper in "
                        "sources/, compiled here with $CC or cc into binaries/) to OUT (default: FILE with the suffix .fmu)")
    s.add_argument("--fmu-sources-only", action="store_true",
                   help="write the FMU without a binary (no C compiler needed; the importing tool compiles sources/)")
    s.add_argument("--modelica", nargs="?", const="", metavar="DIR",
                   help="write a Modelica package calling the C file through external \"C\" into DIR/NAME "
                        "(default DIR: the current folder)")
    s.add_argument("--c-name", metavar="NAME",
                   help="prefix of the C functions, the FMU's modelIdentifier, the Modelica package's name "
                        "(default: the relation's name)")
    s.set_defaults(run=cmd_export)

    s = sub.add_parser("fit", help="fit a relation's parameters to a CSV of data and print the report")
    s.add_argument("relation", help="MODULE:NAME of a relation with parameters, e.g. seeds:cosexp")
    s.add_argument("csv", help="one column per input and output, named after the relation's symbols")
    s.add_argument("--loss", choices=("squared", "absolute", "robust"), default="squared",
                   help="least squares, least absolute deviations, or soft-L1 (resists outliers)")
    s.add_argument("--starts", type=int, metavar="N",
                   help="Sobol points of the global search (default 4096, best a power of two)")
    s.add_argument("--nan", choices=("raise", "omit"), default="raise",
                   help="refuse rows with NaN or infinite values, or leave them out")
    s.add_argument("--seed", type=int, default=0, help="seeds the Sobol scrambling: the same seed, the same fit")
    s.add_argument("-o", "--output", metavar="OUT.json",
                   help="also write values, stderr (null where not identifiable), loss and warnings as JSON")
    s.set_defaults(run=cmd_fit)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except SurrogateError as e:
        first, *rest = str(e).splitlines() or [""]
        print(f"surrogate {args.command}: {first}", file=sys.stderr)
        for line in rest:
            print(line, file=sys.stderr)
        return 2
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as e:
        print(f"surrogate {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"surrogate {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `surrogate list | head`: the reader closed the pipe; nothing is wrong
        # Python's advice (the signal module's docs): point stdout at devnull, so that flushing it at exit
        # does not raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ModuleNotFoundError as e:  # a plain (runtime-only) install: `list` works, training does not
        if (e.name or "").partition(".")[0] not in TRAIN_MODULES:
            raise
        print(f"surrogate {args.command}: needs {e.name}, which is not installed here: {INSTALL_TRAIN}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
