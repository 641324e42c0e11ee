"""Export a surrogate as a Modelica package whose functions call its C file (``external "C"``).

    model.export_modelica("lib")                          # writes lib/NAME/package.mo and the C file
    modelica.export_artifact("f.surrogate", "lib")          # from a saved file, without torch
    surrogate export gnielinski --modelica lib              # the command line

The package, a folder as Modelica libraries are stored::

    NAME/package.mo                       the functions; the formula and certificate in Documentation
    NAME/Resources/Include/NAME.c         the C99 file of `c_export`, unchanged

    NAME.evaluate(x1, ..., xd)  ->  (y1, ..., ym)   every output (one call of the C code)
    NAME.y1(x1, ..., xd)        ->  y1              one function per output, for equations
    NAME.Internal.eval({x1, ..., xd}) -> (y[m], status)   external "C" status = NAME_eval(x, y)

Inputs and outputs are Real, in the relation's order, with their units where the relation
declares them; each input's comment is its bounds.  The C function is included from the
package's Resources/Include (``annotation(Include="#include \\"NAME.c\\"", IncludeDirectory=
"modelica://NAME/Resources/Include")``); math.h's functions need libm, which Modelica tools link.
A point outside the domain (or a NaN input, or a value that is not finite) fails an `assert` whose
message names the inputs, their values and the domain: the surrogate does not extrapolate.

No Modelica tool runs here: tests/test_modelica.py checks the text (names, order, the external
call against the C prototype) and compiles the included C file as a tool would, comparing its
values with the NumPy runtime's.  Importing this module does not import torch.
"""

from __future__ import annotations

import os
import re
from html import escape

from .._version import __version__
from . import embed

__all__ = ["KEYWORDS", "export_artifact", "export_model", "package_source"]

#: Modelica 3.6's reserved words: a name among them is written quoted ('der'), and a package so
#: named gets a suffix.
KEYWORDS = frozenset("""algorithm and annotation block break class connect connector constant constrainedby der
discrete each else elseif elsewhen encapsulated end enumeration equation expandable extends external false final flow
for function if import impure in initial inner input loop model not operator or outer output package parameter partial
protected public pure record redeclare replaceable return stream then true type when while within""".split())
#: The functions' own names beside the inputs and outputs (a clash is refused: rename with `name`).
_LOCALS = ("surrogate_x", "surrogate_y", "surrogate_status")


def export_model(model, folder, *, name: str | None = None) -> str:
    """Write the package of a model in memory (Surrogate, PiecewiseSurrogate, or the NumPy runtime's Runtime
    or PiecewiseRuntime) into `folder` (created if needed); returns the package's folder, folder/NAME."""
    return _write(embed.of_model(model, name=name), folder)


def export_artifact(artifact, folder, *, name: str | None = None) -> str:
    """Write the package of a saved surrogate (a path) into `folder`, read as `runtime.load` reads it (no torch)."""
    return _write(embed.of_artifact(artifact, name=name), folder)


def package_name(m: embed.Embedded) -> str:
    return m.ident + "_surrogate" if m.ident in KEYWORDS else m.ident


def _write(m: embed.Embedded, folder) -> str:
    pkg = os.path.join(os.fspath(folder), package_name(m))
    include = os.path.join(pkg, "Resources", "Include")
    os.makedirs(include, exist_ok=True)
    with open(os.path.join(include, m.c_file), "w", encoding="ascii") as f:
        f.write(m.c_source)
    with open(os.path.join(pkg, "package.mo"), "w", encoding="utf-8") as f:
        f.write(package_source(m))
    return pkg


def ident(name: str) -> str:
    """A Modelica name for a symbol: as it is when it is an IDENT and not a keyword, else quoted."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and name not in KEYWORDS:
        return name
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def string(text: str) -> str:
    """A Modelica string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def package_source(m: embed.Embedded) -> str:
    """package.mo of the package."""
    pkg = package_name(m)
    ins, outs = [ident(n) for n in m.inputs], [ident(n) for n in m.outputs]
    clash = sorted(set(_LOCALS) & set(m.inputs + m.outputs)) + sorted(
        {"evaluate", "Internal"} & set(m.outputs))
    if clash:
        raise ValueError(f"Modelica export: {', '.join(clash)} is a name the package uses itself; rename the symbol")
    d, n_out = len(ins), len(outs)

    def unit(n: str) -> str:
        return f"(unit={string(m.units[n])})" if n in m.units else ""

    inputs = [f"    input Real {v}{unit(n)} {string(m.bound_text(k))};" for k, (n, v) in enumerate(zip(m.inputs, ins))]
    point = ' + ", " + '.join(f'"{_plain(n)} = " + String({v}, significantDigits=17)' for n, v in zip(m.inputs, ins))
    who = string(f"{m.relation.name or m.ident}: ")
    lines = [f"within;\npackage {pkg} {string(m.summary())}", ""]
    # every output at once
    lines += [f"  function evaluate \"every output: ({', '.join(m.outputs)}) := evaluate({', '.join(m.inputs)})\""]
    lines += inputs
    lines += [f"    output Real {v}{unit(n)};" for n, v in zip(m.outputs, outs)]
    lines += ["  protected", f"    Real surrogate_y[{n_out}];", "    Integer surrogate_status;", "  algorithm",
              f"    (surrogate_y, surrogate_status) := Internal.eval({{{', '.join(ins)}}});",
              f"    assert(surrogate_status <> 1, {who} + \"an input is NaN: \" + {point});",
              f"    assert(surrogate_status <> 2, {who} + \"the point \" + {point} + "
              f"{string(' is outside the domain (' + m.domain_text() + '); the surrogate does not extrapolate')});",
              f"    assert(surrogate_status == 0, {who} + \"the surrogate's value is not finite at \" + {point});"]
    lines += [f"    {v} := surrogate_y[{j + 1}];" for j, v in enumerate(outs)]
    lines += ["  end evaluate;", ""]
    # one function per output
    args = ", ".join(ins)
    # the output of a function named after it: a name no input has
    value = next(c for c in ("value", "result", "surrogate_value") if c not in m.inputs)
    for j, (n, v) in enumerate(zip(m.outputs, outs)):
        lines += [f"  function {v} {string(f'the surrogate of {n} (evaluate gives every output)')}"]
        lines += inputs
        lines += [f"    output Real {value}{unit(n)};", "  algorithm"]
        slots = ", ".join(value if i == j else "" for i in range(n_out))
        lines += [f"    ({slots}) := evaluate({args});", f"  end {v};", ""]
    # the C entry point
    lines += ["  package Internal \"the C entry point\"",
              f"    function eval {string(f'int {m.ident}_eval(const double *x, double *y): 0 ok, 1 NaN, 2 outside, 3 not finite')}",
              f"      input Real x[{d}] {string('the inputs: ' + ', '.join(m.inputs))};",
              f"      output Real y[{n_out}] {string('the outputs: ' + ', '.join(m.outputs))};",
              "      output Integer status;",
              f"    external \"C\" status = {m.ident}_eval(x, y)",
              f"      annotation(Include={string(f'#include {chr(34)}{m.c_file}{chr(34)}')}, "
              f"IncludeDirectory={string(f'modelica://{pkg}/Resources/Include')});",
              "    end eval;", "  end Internal;", ""]
    info = (f"<html><p>{escape(m.summary())}</p>\n<p>Written by surrogate {escape(__version__)}; the C file "
            f"Resources/Include/{escape(m.c_file)} says (its header comment):</p>\n<pre>\n{escape(m.header())}\n</pre></html>")
    lines += [f"  annotation(Documentation(info={string(info)}));", f"end {pkg};", ""]
    return "\n".join(lines)


def _plain(name: str) -> str:
    """A name inside a Modelica string's text."""
    return name.replace("\\", "\\\\").replace('"', '\\"')
