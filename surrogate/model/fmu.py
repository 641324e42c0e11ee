"""Export a surrogate as an FMI 2.0 FMU, for model exchange and co-simulation in one file.

    model.export_fmu("gnielinski.fmu")                     # a Surrogate, PiecewiseSurrogate or runtime model
    fmu.export_artifact("f.surrogate", "f.fmu")              # from a saved file, without torch
    surrogate export gnielinski --fmu                        # the command line

The FMU holds:

- ``modelDescription.xml``: fmiVersion 2.0, a GUID that is a hash of the file's content, the
  relation's inputs (causality "input", variability "continuous", a start value in the middle of
  the domain, min and max where a bound is a number, units where the relation declares them)
  and outputs (causality "output", depending on every input, in ModelStructure's Outputs and
  InitialUnknowns); no states and no event indicators.  Its description is the formula and the
  certificate.
- ``sources/``: the C99 file of `c_export` (``NAME.c``, unchanged), the wrapper
  ``NAME_fmi2.c`` that implements the fmi2 functions by calling ``NAME_eval``, and the FMI 2.0
  headers (``fmi2/``, BSD-2, their notice in each file): ``cc -shared -fPIC -Isources
  sources/NAME_fmi2.c -lm`` builds the binary on any platform.
- ``binaries/<platform>/NAME.so`` (``.dylib`` on macOS), compiled here with the system's C
  compiler ($CC, else cc, gcc or clang): linux64 and darwin64.  ``binary=False`` writes the
  sources alone (an FMU that the importing tool compiles).
- ``documentation/index.html``: the C file's header comment (formula, domain, networks,
  certificate).

The outputs are computed when they are read (fmi2GetReal), from the inputs set last, so that
inputs whose bounds depend on each other can be set one by one.  A point outside the domain (or
a NaN input, or an output that is not finite) makes fmi2GetReal return fmi2Error, and the
logger gets a message naming the input and its bounds: the surrogate does not extrapolate.

The values are C's ``NAME_eval`` in double, the numbers of the NumPy runtime to ~1e-12
(tests/test_fmu.py checks them with fmpy).  fmpy is not needed to write an FMU; `check` uses it
(``pip install "surrogate-formula[fmu]"``).  Importing this module does not import torch.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
import zipfile
from html import escape
from xml.etree import ElementTree as ET

from .._version import __version__
from ..errors import DISTRIBUTION, ExportError
from . import embed

__all__ = ["FMI_HEADERS", "INSTALL_FMU", "check", "compiler", "export_artifact", "export_model", "platform_folder"]

INSTALL_FMU = f'pip install "{DISTRIBUTION}[fmu]"'
#: The FMI 2.0 headers, copied unchanged from the standard (their BSD-2 notice in each file and in LICENSE.txt).
FMI_HEADERS = ("fmi2Functions.h", "fmi2FunctionTypes.h", "fmi2TypesPlatform.h")
_HEADER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fmi2")
#: How the binary is compiled: C99, position-independent, only the fmi2 functions exported.
CFLAGS = ("-std=c99", "-O2", "-shared", "-fPIC", "-fvisibility=hidden")


def export_model(model, path, *, name: str | None = None, binary: bool = True) -> str:
    """Write the FMU of a model in memory (Surrogate, PiecewiseSurrogate, or the NumPy runtime's Runtime
    or PiecewiseRuntime) to `path`; returns its modelIdentifier (the C name: `name`, else the
    relation's name, else the file's)."""
    stem = os.path.splitext(os.path.basename(os.fspath(path)))[0]
    return _write(embed.of_model(model, name=name, default=stem), path, binary)


def export_artifact(artifact, path, *, name: str | None = None, binary: bool = True) -> str:
    """Write the FMU of a saved surrogate (a path) to `path`, read as `runtime.load` reads it (no torch)."""
    stem = os.path.splitext(os.path.basename(os.fspath(path)))[0]
    return _write(embed.of_artifact(artifact, name=name, default=stem), path, binary)


def platform_folder() -> tuple[str, str]:
    """(FMI 2.0 platform folder, shared library suffix) of this machine; ExportError where FMI 2.0 names none."""
    machine = platform.machine().lower()
    bits64 = sys.maxsize > 2**32
    if sys.platform.startswith("linux") and machine in ("x86_64", "amd64") and bits64:
        return "linux64", ".so"
    if sys.platform == "darwin" and bits64:
        return "darwin64", ".dylib"
    raise ExportError(f"the FMU's binary cannot be built here ({sys.platform}, {platform.machine()}): this export "
                      "compiles for linux64 (x86-64) and darwin64; pass binary=False (--fmu-sources-only) for an FMU "
                      "of sources alone, which the importing tool compiles")


def compiler() -> str:
    """The C compiler: $CC, else cc, gcc or clang on PATH; ExportError saying so when there is none."""
    for cand in ([os.environ["CC"]] if os.environ.get("CC") else []) + ["cc", "gcc", "clang"]:
        found = shutil.which(cand)
        if found:
            return found
    raise ExportError("no C compiler found: the FMU's binary is compiled with $CC, cc, gcc or clang, and none is on "
                      "PATH; install one (e.g. apt install gcc, xcode-select --install) or set CC, or pass "
                      "binary=False (--fmu-sources-only) for an FMU of sources alone")


def check(path) -> list[str]:
    """fmpy's validation of the FMU at `path` (the problems it finds; [] when none).  Needs fmpy."""
    try:
        from fmpy.validation import validate_fmu
    except ImportError:
        raise ImportError(f"checking an FMU needs fmpy: {INSTALL_FMU}") from None
    return list(validate_fmu(os.fspath(path)))


# -- the FMU ---------------------------------------------------------------------------------------
def _write(m: embed.Embedded, path, binary: bool) -> str:
    if binary:
        folder, suffix = platform_folder()  # both refusals before any work
        cc = compiler()
    wrapper = wrapper_source(m)
    guid = _guid(m, wrapper)
    xml = model_description(m, guid)
    files: dict[str, bytes] = {
        "modelDescription.xml": xml.encode("utf-8"),
        f"sources/{m.c_file}": m.c_source.encode("ascii"),
        f"sources/{m.ident}_fmi2.c": wrapper.replace("@GUID@", guid).encode("ascii"),
        "documentation/index.html": _documentation(m).encode("utf-8"),
    }
    for h in FMI_HEADERS + ("LICENSE.txt",):
        with open(os.path.join(_HEADER_DIR, h), "rb") as f:
            files[f"sources/{'fmi2_LICENSE.txt' if h == 'LICENSE.txt' else h}"] = f.read()
    if binary:
        files[f"binaries/{folder}/{m.ident}{suffix}"] = _compile(cc, m.ident, files)
    tmp = f"{os.fspath(path)}.part"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # the same model, the same bytes
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if name.startswith("binaries/") else 0o644) << 16
            z.writestr(info, files[name])
    os.replace(tmp, path)
    return m.ident


def _compile(cc: str, ident: str, files: dict[str, bytes]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            if name.startswith("sources/"):
                with open(os.path.join(tmp, name[len("sources/"):]), "wb") as f:
                    f.write(data)
        lib = os.path.join(tmp, f"{ident}.so")
        cmd = [cc, *CFLAGS, "-I", tmp, "-o", lib, os.path.join(tmp, f"{ident}_fmi2.c"), "-lm"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise ExportError(f"compiling the FMU's binary failed ({' '.join(cmd)}):\n{done.stderr[:4000]}")
        with open(lib, "rb") as f:
            return f.read()


def _guid(m: embed.Embedded, wrapper: str) -> str:
    """A GUID that changes with anything the FMU's binary or description depends on."""
    h = hashlib.sha256()
    for part in (m.c_source, wrapper, model_description(m, ""), __version__):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return "{" + str(uuid.UUID(h.hexdigest()[:32])) + "}"


def model_description(m: embed.Embedded, guid: str) -> str:
    """modelDescription.xml (FMI 2.0): value references 0..d-1 the inputs, d..d+m-1 the outputs."""
    root = ET.Element("fmiModelDescription", {
        "fmiVersion": "2.0", "modelName": m.relation.name or m.ident, "guid": guid, "description": m.summary(),
        "generationTool": f"surrogate {__version__}", "variableNamingConvention": "flat",
        "numberOfEventIndicators": "0"})
    sources = [f"{m.ident}_fmi2.c"]
    me = ET.SubElement(root, "ModelExchange", {"modelIdentifier": m.ident, "completedIntegratorStepNotNeeded": "true"})
    cs = ET.SubElement(root, "CoSimulation", {"modelIdentifier": m.ident, "canHandleVariableCommunicationStepSize": "true"})
    for kind in (me, cs):
        files = ET.SubElement(kind, "SourceFiles")
        for s in sources:
            ET.SubElement(files, "File", {"name": s})
    names = m.inputs + m.outputs
    units = sorted({m.units[n] for n in names if n in m.units})
    if units:
        defs = ET.SubElement(root, "UnitDefinitions")
        for u in units:
            ET.SubElement(defs, "Unit", {"name": u})
    cats = ET.SubElement(root, "LogCategories")
    ET.SubElement(cats, "Category", {"name": "logStatusError",
                                     "description": "a point outside the domain, a NaN input, a value that is not finite"})
    ET.SubElement(root, "DefaultExperiment", {"startTime": "0", "stopTime": "1"})
    variables = ET.SubElement(root, "ModelVariables")
    start = m.start()
    for k, n in enumerate(m.inputs):
        v = ET.SubElement(variables, "ScalarVariable", {
            "name": n, "valueReference": str(k), "description": f"input {k + 1}: {m.bound_text(k)}",
            "causality": "input", "variability": "continuous"})
        attrs = {"start": repr(float(start[k]))}
        lo, hi = m.bound(k)
        if lo is not None:
            attrs["min"] = repr(lo)
        if hi is not None:
            attrs["max"] = repr(hi)
        if n in m.units:
            attrs["unit"] = m.units[n]
        ET.SubElement(v, "Real", attrs)
    d = len(m.inputs)
    for j, n in enumerate(m.outputs):
        v = ET.SubElement(variables, "ScalarVariable", {
            "name": n, "valueReference": str(d + j), "description": f"output {j + 1}: the surrogate of {n}",
            "causality": "output", "variability": "continuous", "initial": "calculated"})
        ET.SubElement(v, "Real", {"unit": m.units[n]} if n in m.units else {})
    structure = ET.SubElement(root, "ModelStructure")
    deps = " ".join(str(k + 1) for k in range(d))  # 1-based indices of ModelVariables: every input
    for section in ("Outputs", "InitialUnknowns"):
        el = ET.SubElement(structure, section)
        for j in range(len(m.outputs)):
            ET.SubElement(el, "Unknown", {"index": str(d + j + 1), "dependencies": deps})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _documentation(m: embed.Embedded) -> str:
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{escape(m.ident)}</title></head><body>\n"
            f"<h1>{escape(m.relation.name or m.ident)}</h1>\n<p>{escape(m.summary())}</p>\n"
            f"<pre>\n{escape(m.header())}\n</pre>\n</body></html>\n")


# -- the wrapper -----------------------------------------------------------------------------------
def wrapper_source(m: embed.Embedded) -> str:
    """NAME_fmi2.c: the fmi2 functions around NAME_eval (``@GUID@`` stands for the GUID)."""
    d, n_out, ident = len(m.inputs), len(m.outputs), m.ident
    start = m.start()
    nan_lines, named, listed = [], [], []
    for k, name in enumerate(m.inputs):
        nan_lines.append(f"    if (isnan(x[{k}]))\n        append(msg, size, \"input %s is NaN; \", {embed.c_string(name)});")
        lo, hi = m.bound(k)
        text = embed.c_string(m.bound_text(k))
        sep = '", "' if k < d - 1 else '""'
        listed.append(f"    append(msg, size, \"%s = %.17g%s\", {embed.c_string(name)}, x[{k}], {sep});")
        tests = [t for t in (f"x[{k}] >= {embed.c_double(lo)}" if lo is not None else "",
                             f"x[{k}] <= {embed.c_double(hi)}" if hi is not None else "") if t]
        if tests:
            named.append(f"    if (!({' && '.join(tests)})) {{\n        append(msg, size, \"%s = %.17g is outside its "
                         f"bounds %s; \", {embed.c_string(name)}, x[{k}], {text});\n        named = 1;\n    }}")
    domain = embed.c_string(m.domain_text())
    fill = {"ident": ident, "IDENT": ident.upper(), "d": str(d), "m": str(n_out), "c_file": m.c_file,
            "version": __version__, "start": ", ".join(embed.c_double(float(v)) for v in start),
            "nan": "\n".join(nan_lines), "named": "\n".join(named) or "    (void)x;", "listed": "\n".join(listed),
            "domain": domain, "name": embed.c_string(m.relation.name or ident)}
    with open(os.path.join(_HEADER_DIR, "wrapper.c.in"), encoding="ascii") as f:
        template = f.read()
    # one pass, so that a name or bound in the filled text cannot be read as a placeholder
    return re.sub(r"@([A-Za-z_]+)@", lambda g: fill.get(g.group(1), g.group(0)), template)
