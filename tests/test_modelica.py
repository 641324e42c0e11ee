"""The Modelica export (model/modelica.py), as far as it can be checked without a Modelica tool.

No Modelica compiler runs here, so a tool's own parsing, its C prototype for the external function
and its linking are not tested.  What is: package.mo names every input and output in the relation's
order, with their bounds and units; the external call's arguments are those of the C prototype in
the file it includes, found where IncludeDirectory points; and a C harness built as a tool builds
the external call (the Include annotation's text, the function the .mo names, its array argument
filled in the order of the .mo's array constructor, its outputs read at the .mo's indices) gives
the NumPy runtime's values to 1e-12 and the outside code that the .mo's asserts stop on.
"""

from __future__ import annotations

import ctypes
import math
import pathlib
import re
import shutil
import subprocess
from dataclasses import replace

import numpy as np
import pytest

from surrogate import runtime
from surrogate.model import embed, modelica
from surrogate.persistence.load import resolve

CC = shutil.which("cc")
MODELS = ["pump_pipe_operating_point", "churchill_bernstein"]  # two outputs; a bound of another input
RTOL = 1e-12  # the C file's agreement with the runtime (tests/test_c_export.py), relative to |y| here


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """{name: (package folder, runtime)}."""
    folder = tmp_path_factory.mktemp("modelica")
    return {n: (pathlib.Path(modelica.export_artifact(resolve(n), folder)), runtime.load(resolve(n))) for n in MODELS}


def _functions(text: str) -> dict[str, str]:
    """{name: body} of every `function NAME ... end NAME;` of the package."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^\s*function (\S+)(.*?)^\s*end \1;", text, re.M | re.S)}


def _decls(body: str, kind: str) -> list[str]:
    return re.findall(rf"^\s*{kind} Real (\w+)", body, re.M)


@pytest.mark.parametrize("name", MODELS)
def test_the_package_names_every_input_and_output_in_order(name, packages):
    pkg, rt = packages[name]
    text = (pkg / "package.mo").read_text()
    assert pkg.name == name and text.startswith(f"within;\npackage {name} ") and text.rstrip().endswith(f"end {name};")
    fns = _functions(text)
    assert set(fns) == {"evaluate", *rt.outputs, "eval"}
    ev = fns["evaluate"]
    assert _decls(ev, "input") == rt.inputs and _decls(ev, "output") == rt.outputs
    for k, x in enumerate(rt.inputs):  # each input's comment: its bounds, as the C header gives them
        bound = embed.of_artifact(resolve(name)).bound_text(k)
        unit = rt.units.get(x)  # a declared unit is the variable's modifier (dimensionless: none)
        modifier = rf'\(unit="{re.escape(unit)}"\)' if unit not in (None, "", "1") else ""
        assert re.search(rf'input Real {x}{modifier} "{re.escape(bound)}";', ev), (x, unit)
    for j, y in enumerate(rt.outputs):
        assert _decls(fns[y], "input") == rt.inputs and _decls(fns[y], "output") == ["value"]
        slots = ", ".join("value" if i == j else "" for i in range(len(rt.outputs)))
        assert f"({slots}) := evaluate({', '.join(rt.inputs)});" in fns[y]
    cert = rt.certificate
    assert f"max error {cert.max_error:.4g}" in text and "Documentation(info=" in text
    # the asserts stop on every code but 0, the outside one naming each input's bounds
    assert "assert(surrogate_status <> 1" in ev and "assert(surrogate_status == 0" in ev
    (outside,) = [line for line in ev.splitlines() if "assert(surrogate_status <> 2" in line]
    for k in range(len(rt.inputs)):
        assert embed.of_artifact(resolve(name)).bound_text(k) in outside
    assert "does not extrapolate" in outside


def _tokens(text: str) -> list[str]:
    """Modelica's lexical units, as far as nesting goes: strings ("..." with backslash escapes), quoted
    names ('...'), comments dropped, words and single characters; AssertionError at anything unclosed."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("//", i):
            i = text.index("\n", i)
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 2
        elif c in "\"'":
            j = i + 1
            while text[j] != c:
                j += 2 if text[j] == "\\" else 1
                assert j < len(text), f"unclosed {c} at {i}"
            out.append(text[i : j + 1])
            i = j + 1
        elif c.isalnum() or c == "_":
            m = re.match(r"[A-Za-z0-9_.]+", text[i:])
            out.append(m.group(0))
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return out


def test_the_text_is_well_formed_modelica_as_far_as_nesting_goes(packages):
    """Every string closed (the documentation carries the C header: quotes, backslashes, <, >), brackets
    balanced, each `package` and `function` closed by its own `end NAME;`."""
    for pkg, _ in packages.values():
        toks = _tokens((pkg / "package.mo").read_text())
        pairs, stack, classes = {")": "(", "]": "[", "}": "{"}, [], []
        for k, t in enumerate(toks):
            if t in "([{":
                stack.append(t)
            elif t in pairs:
                assert stack and stack.pop() == pairs[t], f"unbalanced {t} at token {k}"
            elif t in ("package", "function") and toks[k - 1] != "end":
                classes.append(toks[k + 1])
            elif t == "end" and toks[k + 1] not in ("if", "for", "while", "when"):
                assert classes.pop() == toks[k + 1] and toks[k + 2] == ";", toks[k : k + 3]
        assert not stack and not classes


@pytest.mark.skipif(CC is None, reason="no C compiler: `cc` is not on PATH")
@pytest.mark.parametrize("name", MODELS)
def test_the_external_call_gives_the_runtimes_values(name, packages, tmp_path):
    pkg, rt = packages[name]
    text = (pkg / "package.mo").read_text()
    ev, ext = _functions(text)["evaluate"], _functions(text)["eval"]
    # the external function: x[d] in, y[m] and the status out, status = NAME_eval(x, y)
    assert re.findall(r"^\s*(input|output) (Real|Integer) (\w+)(\[\d+\])?", ext, re.M) == [
        ("input", "Real", "x", f"[{len(rt.inputs)}]"), ("output", "Real", "y", f"[{len(rt.outputs)}]"),
        ("output", "Integer", "status", "")]
    call = re.search(r'external "C" status = (\w+)\(x, y\)\s*annotation\(Include="((?:[^"\\]|\\.)*)", '
                     r'IncludeDirectory="modelica://(\w+)/Resources/Include"\);', ext)
    assert call, ext
    fn, include, where = call.group(1), call.group(2).replace('\\"', '"'), call.group(3)
    assert where == pkg.name
    c_file = pkg / "Resources" / "Include" / re.fullmatch(r'#include "(.+)"', include).group(1)
    assert f"int {fn}(const double *x, double *y);" in c_file.read_text()  # the prototype the call matches
    # the harness: the Include text verbatim, the call as the .mo makes it
    (tmp_path / "h.c").write_text(f"{include}\nint harness(const double *x, double *y);\n"
                                  f"int harness(const double *x, double *y) {{ return {fn}(x, y); }}\n")
    lib = tmp_path / "h.so"
    cmd = [CC, "-std=c99", "-O2", "-shared", "-fPIC", "-Wall", "-Werror", "-I", str(c_file.parent), "-o", str(lib),
           str(tmp_path / "h.c"), "-lm"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[:4000]
    harness = ctypes.CDLL(str(lib)).harness
    dp = ctypes.POINTER(ctypes.c_double)
    harness.argtypes, harness.restype = [dp, dp], ctypes.c_int
    # the .mo's wiring: the array constructor's order, the output indices
    order = [s.strip() for s in re.search(r"Internal\.eval\(\{(.*?)\}\)", ev).group(1).split(",")]
    picks = dict(re.findall(r"^\s*(\w+) := surrogate_y\[(\d+)\];", ev, re.M))
    dom = rt.relation.domain
    x = dom.clip(dom.chart(np.random.default_rng(0).random((200, dom.dim))))
    ref = rt.evaluate(x)
    worst = 0.0
    for row, want in zip(x, ref):
        args = np.array([row[rt.inputs.index(n)] for n in order])
        y = np.empty(len(rt.outputs))
        assert harness(args.ctypes.data_as(dp), y.ctypes.data_as(dp)) == 0
        for out, idx in picks.items():
            worst = max(worst, abs(y[int(idx) - 1] - want[rt.outputs.index(out)]) / abs(want[rt.outputs.index(out)]))
    assert sorted(picks) == sorted(rt.outputs) and worst <= RTOL, worst
    # past a bound: the code the .mo's assert(surrogate_status <> 2, ...) stops on
    row = x[0].copy()
    k = rt.inputs.index(order[-1])
    row[k] = float(dom.inputs[k].range[1]) * 2 + 1
    args = np.array([row[rt.inputs.index(n)] for n in order])
    y = np.empty(len(rt.outputs))
    assert harness(args.ctypes.data_as(dp), y.ctypes.data_as(dp)) == 2 and np.isnan(y).all()
    args[0] = math.nan
    assert harness(args.ctypes.data_as(dp), y.ctypes.data_as(dp)) == 1


def test_units_names_and_keywords(tmp_path):
    m = embed.of_artifact(resolve("pump_pipe_operating_point"))
    text = modelica.package_source(replace(m, units={"H0": "m", "Q": "m3/s"}))
    assert 'input Real H0(unit="m") "20 <= H0 <= 80";' in text and 'output Real Q(unit="m3/s");' in text
    assert "input Real L " in text  # no unit declared: none written
    assert modelica.ident("der") == "'der'" and modelica.ident("T_1") == "T_1" and modelica.ident("a'b") == "'a\\'b'"
    assert modelica.string('say "x" \\ y') == '"say \\"x\\" \\\\ y"'


def test_a_model_in_memory_and_the_command_line(tmp_path, capsys):
    from surrogate.interface.cli import main

    rt = runtime.load(resolve("gnielinski"))
    pkg = pathlib.Path(rt.export_modelica(tmp_path / "a"))
    assert (pkg / "package.mo").exists() and (pkg / "Resources" / "Include" / "gnielinski.c").exists()
    assert main(["export", "gnielinski", "--modelica", str(tmp_path / "b"), "--c-name", "Gn"]) == 0
    assert f"wrote {tmp_path / 'b' / 'Gn'}" in capsys.readouterr().out
    text = (tmp_path / "b" / "Gn" / "package.mo").read_text()
    assert "package Gn " in text and 'status = Gn_eval(x, y)' in text and "modelica://Gn/Resources/Include" in text
