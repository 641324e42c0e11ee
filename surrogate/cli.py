"""The `surrogate` command line: list, train, verify, predict, export, fit.

A user error prints one clear line on stderr and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .errors import SurrogateError

__all__ = ["main"]


class UsageError(SurrogateError, ValueError):
    """A command-line argument that cannot be used."""


def _relation(spec: str):
    """Resolve 'module:name' (or a catalogue name like 'seeds:seed001') to a Relation."""
    from .relation import Relation

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

    from .relation import Relation

    for mod_name in equations.MODULES:
        module = importlib.import_module(mod_name)
        for name in getattr(module, "__all__", []):
            rel = getattr(module, name)
            if isinstance(rel, Relation):
                yield mod_name, name, rel


def cmd_list(args) -> int:
    for mod_name, name, rel in _catalogue():
        short = mod_name.removeprefix("equations.")
        eqs = "; ".join(str(e) for e in rel.equations)
        extra = f"  (parameters: {', '.join(rel.parameters)})" if rel.parameters else ""
        print(f"{short}:{name:<14} {eqs}{extra}")
    return 0


def cmd_train(args) -> int:
    from .train import train
    from .verify import verify

    rel = _relation(args.relation)
    out = args.output or f"{rel.name or args.relation.split(':')[-1]}.surrogate"
    model = train(rel, tolerance=args.tolerance, time_limit=args.time_limit, max_steps=args.max_steps,
                  device=args.device, seed=args.seed, progress=not args.quiet and None)
    model.certificate = verify(model, points=args.points, atol=args.atol, seed=args.seed)
    model.save(out)
    info = model.info
    print(f"trained {rel.name} on {info['device']}: {info['steps']} steps in {info['seconds']:.1f} s "
          f"(stopped by {info['stop']})")
    print(model.certificate)
    print(f"saved {out}")
    return 0


def cmd_verify(args) -> int:
    from .artifact import load
    from .verify import verify

    model = load(args.file)
    cert = verify(model, points=args.points, atol=args.atol, seed=args.seed)
    print(cert)
    if args.tolerance is not None and not cert.passes(args.tolerance):
        print(f"FAILED: max error {cert.max_error:.4g} > tolerance {args.tolerance:g}", file=sys.stderr)
        return 1
    return 0


def cmd_predict(args) -> int:
    import pandas as pd

    from .artifact import load

    model = load(args.file)
    try:
        df = pd.read_csv(args.csv)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {args.csv!r} as CSV: {e}") from None
    out = model.predict(df, outside="allow" if args.allow_outside else "raise")
    result = pd.concat([df, out], axis=1) if args.with_inputs else out
    if args.output:
        result.to_csv(args.output, index=False)
        print(f"wrote {len(result)} rows to {args.output}")
    else:
        result.to_csv(sys.stdout, index=False)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="surrogate", description="Verified neural surrogates of physical formulas.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list", help="list the catalogue's relations")
    s.set_defaults(run=cmd_list)

    s = sub.add_parser("train", help="train a relation, verify it and save the artifact")
    s.add_argument("relation", help="MODULE:NAME, e.g. seeds:seed001 or mypackage.physics:relation")
    s.add_argument("-o", "--output", help="artifact path (default: NAME.surrogate)")
    s.add_argument("--tolerance", type=float, help="stop once the validation max error is below this")
    s.add_argument("--time-limit", type=float, help="seconds of training (default 60 when no --max-steps)")
    s.add_argument("--max-steps", type=int, help="number of optimiser steps")
    s.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--points", type=int, default=1_000_000, help="points of the dense check")
    s.add_argument("--atol", type=float, default=0.0, help="absolute error floor of the certificate")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.set_defaults(run=cmd_train)

    s = sub.add_parser("verify", help="certify a saved surrogate against its own relation")
    s.add_argument("file")
    s.add_argument("--points", type=int, default=1_000_000)
    s.add_argument("--atol", type=float, default=0.0)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--tolerance", type=float, help="exit with status 1 when the max error is above this")
    s.set_defaults(run=cmd_verify)

    s = sub.add_parser("predict", help="predict from a CSV of inputs (columns named after them)")
    s.add_argument("file")
    s.add_argument("csv")
    s.add_argument("-o", "--output", help="write a CSV here instead of standard output")
    s.add_argument("--with-inputs", action="store_true", help="include the input columns in the output")
    s.add_argument("--allow-outside", action="store_true", help="predict at points outside the domain too")
    s.set_defaults(run=cmd_predict)
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
    except (FileNotFoundError, PermissionError, IsADirectoryError) as e:
        print(f"surrogate {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"surrogate {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
