"""What the exports that wrap the C file share (the FMU, `fmu.py`; the Modelica package, `modelica.py`).

Both start from the C99 file `c_export` writes, through its public entry points only
(`export_model`, `export_artifact`: the C source and its identifier), and call its
``NAME_eval(const double *x, double *y)``.  Around it they need the same facts of the model:
its relation (inputs and outputs in order, the domain), its certificate, the units of its
symbols where the relation declares them, a point inside the domain to start from, and the
C file's header comment (the formula, the domain, the networks, the certificate), which they
carry as their documentation.  Importing this module does not import torch.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import c_export
from . import format as fmt


@dataclass(frozen=True)
class Embedded:
    """A model as the wrapping exports see it: its C file and the facts around it."""

    ident: str  # the C identifier (c_export.c_name): NAME_eval, the FMU's modelIdentifier, the package
    c_source: str  # the C99 file, as c_export wrote it
    relation: Any
    certificate: Any  # records.Certificate or None
    units: dict[str, str]  # {symbol: unit string} of the inputs and outputs that have one

    @property
    def inputs(self) -> list[str]:
        return list(self.relation.inputs)

    @property
    def outputs(self) -> list[str]:
        return list(self.relation.outputs)

    @property
    def c_file(self) -> str:
        """The name the C file goes by beside its wrapper."""
        return f"{self.ident}.c"

    def header(self) -> str:
        """The C file's header comment as plain text: the formula, domain, networks, certificate."""
        text = self.c_source
        if not text.startswith("/*") or "*/" not in text:
            return ""
        body = text[2 : text.index("*/")].splitlines()
        return "\n".join(line[3:] if line.startswith(" * ") else line.lstrip(" *") for line in body).strip("\n")

    def summary(self) -> str:
        """One line: what the model is a surrogate of, and its certificate."""
        rel = self.relation
        eqs = "; ".join(f"{eq.lhs} = {eq.rhs}" for eq in rel.equations)
        head = f"{rel.name or self.ident}: a neural surrogate of {eqs}"
        cert = self.certificate
        if cert is None:
            return head + " (no certificate: the model was saved without one)"
        proof = ""
        if cert.proof and cert.proof.get("bound") is not None:
            proof = f"; proven bound {cert.proof['bound']:.4g} ({cert.proof.get('status')})"
        return (f"{head}. Certificate: max error {cert.max_error:.4g} (p99 {cert.p99_error:.4g}) of {cert.error}"
                + (f", atol {cert.atol:g}" if cert.atol else "") + f", on {cert.points} points and a search{proof}. "
                "Outside the domain it gives an error, not a value.")

    def start(self) -> np.ndarray:
        """A point inside the domain: the middle of its chart (the geometric middle of a log-scaled
        input), clipped into the bounds."""
        dom = self.relation.domain
        x = dom.clip(dom.chart(np.full((1, dom.dim), 0.5)))
        if not (np.all(np.isfinite(x)) and bool(dom.contains(x)[0])):
            raise ValueError(f"the middle of {rel_name(self)}'s domain charts to {x[0]}, outside it: no start value")
        return x[0]

    def bound(self, k: int) -> tuple[float | None, float | None]:
        """Input k's constant low and high bounds as doubles, None for a bound that depends on other inputs."""
        spec = self.relation.domain.inputs[k]
        lo, hi = (None if e.free_symbols else float(e) for e in (spec.low, spec.high))
        return lo, hi

    def bound_text(self, k: int) -> str:
        """'lo <= name <= hi' as the C header writes the domain."""
        spec = self.relation.domain.inputs[k]

        def text(e) -> str:
            return str(e) if e.free_symbols else f"{float(e):.12g}"

        return f"{text(spec.low)} <= {spec.name} <= {text(spec.high)}"

    def domain_text(self) -> str:
        return ", ".join(self.bound_text(k) for k in range(len(self.inputs)))


def rel_name(m: Embedded) -> str:
    return m.relation.name or m.ident


def units_of(model) -> dict[str, str]:
    """{symbol: unit} of a model (or its relation) where the relation declares units; {} before units
    existed or where it declares none.  Empty strings are dropped."""
    units = getattr(model, "units", None)
    if units is None and hasattr(model, "relation"):
        units = getattr(getattr(model, "relation", None), "units", None)
    return {str(k): str(v) for k, v in dict(units or {}).items() if v not in (None, "")}


def of_model(model, *, name: str | None = None, default: str = "surrogate") -> Embedded:
    """The C file and facts of a model in memory (Surrogate, PiecewiseSurrogate, or the NumPy
    runtime's Runtime or PiecewiseRuntime), the C name `name` or the relation's name or `default`."""
    name = name or model.relation.name or default
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.c")
        ident = c_export.export_model(model, path, name=name)
        with open(path, encoding="ascii") as f:
            source = f.read()
    return Embedded(ident, source, model.relation, model.certificate, units_of(model))


def of_artifact(artifact, *, name: str | None = None, default: str = "surrogate") -> Embedded:
    """The same from a saved surrogate (a path), read through `format` as `runtime.load` reads it (no torch)."""
    manifest, tensors = fmt.read(artifact)
    parts = fmt.piece_parts if "pieces" in manifest else fmt.model_parts
    relation = parts(manifest, tensors)[0]
    name = name or relation.name or default
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.c")
        ident = c_export.export_artifact(artifact, path, name=name)
        with open(path, encoding="ascii") as f:
            source = f.read()
    return Embedded(ident, source, relation, fmt.certificate(manifest), units_of(relation))


def c_string(s: str) -> str:
    """A C string literal of s (ASCII; anything else octal-escaped byte by byte in UTF-8)."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif c == "?":
            out.append("\\?")  # no trigraphs
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append(f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def c_double(v: float) -> str:
    """A C literal that reads back as exactly the double v (finite)."""
    assert math.isfinite(v), v
    r = repr(float(v))
    return r if ("e" in r or "." in r) else r + ".0"
