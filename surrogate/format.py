"""The artifact format, parsed in one place and without torch.

An artifact is one safetensors file: the network's weights as tensors, and in the
header's ``__metadata__`` a ``format`` tag, a ``schema`` version and a JSON
``manifest``.  Expressions are stored as JSON trees of whitelisted SymPy node
types, never as code: reading an artifact runs no pickle and no `eval`, and
everything is checked against limits before it is used.
"""

from __future__ import annotations

import json
import keyword
import math
import os
import re
import struct
import tempfile
from typing import Any

import numpy as np
import sympy as sp
from sympy.functions.elementary.piecewise import ExprCondPair

from .errors import ArtifactError

__all__ = [
    "FORMAT",
    "SCHEMA",
    "expr_to_json",
    "expr_from_json",
    "relation_to_dict",
    "relation_from_dict",
    "write",
    "read",
]

FORMAT = "surrogate"
SCHEMA = 1  # bump on any change a reader of an older version could not handle
MAX_HEADER_BYTES = 4 << 20
MAX_FILE_BYTES = 512 << 20
MAX_DEPTH = 64
MAX_NODES = 20_000
MAX_NAME = 64
MAX_DIGITS = 400

# Whitelisted node types: the compiler's function table plus the structure around it.
_NODES: dict[str, type] = {
    c.__name__: c
    for c in (
        sp.Add, sp.Mul, sp.Pow, sp.exp, sp.log, sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc,
        sp.asin, sp.acos, sp.atan, sp.acot, sp.atan2, sp.sinh, sp.cosh, sp.tanh, sp.coth, sp.sech,
        sp.csch, sp.asinh, sp.acosh, sp.atanh, sp.Abs, sp.sign, sp.floor, sp.ceiling, sp.Max, sp.Min,
        sp.Piecewise, ExprCondPair, sp.StrictLessThan, sp.LessThan, sp.StrictGreaterThan,
        sp.GreaterThan, sp.Equality, sp.Unequality, sp.And, sp.Or, sp.Not,
    )
}
_CONSTANTS = {"pi": sp.pi, "E": sp.E}
_ASSUMPTIONS = ("real", "positive", "negative", "nonnegative", "nonpositive", "integer", "finite")
_INT = re.compile(r"-?\d{1,%d}\Z" % MAX_DIGITS)


# -- expressions ---------------------------------------------------------------------------
def expr_to_json(expr: sp.Basic) -> Any:
    """A JSON-able tree of `expr`; raises ArtifactError for a node it cannot store."""
    if isinstance(expr, sp.Symbol):
        return {"Symbol": expr.name}
    if isinstance(expr, sp.Integer):
        return {"Integer": str(int(expr))}
    if isinstance(expr, sp.Rational):
        return {"Rational": [str(expr.p), str(expr.q)]}
    if isinstance(expr, sp.Float):
        return {"Float": repr(float(expr))}
    for name, c in _CONSTANTS.items():
        if expr is c:
            return {"Constant": name}
    if expr is sp.true or expr is sp.false:
        return {"Bool": expr is sp.true}
    name = type(expr).__name__
    if _NODES.get(name) is type(expr):
        return {"op": name, "args": [expr_to_json(a) for a in expr.args]}
    raise ArtifactError(f"cannot store {name} ({expr}) in an artifact: it is not a supported node type")


def expr_from_json(tree: Any, symbols: dict[str, sp.Symbol]) -> sp.Basic:
    """Rebuild an expression from its tree; only whitelisted nodes, known symbols and
    bounded depth and size are accepted (ArtifactError otherwise)."""
    count = [0]
    return _node(tree, symbols, 0, count)


def _node(tree: Any, symbols: dict[str, sp.Symbol], depth: int, count: list[int]) -> sp.Basic:
    count[0] += 1
    if depth > MAX_DEPTH:
        raise ArtifactError(f"expression tree nested deeper than {MAX_DEPTH} levels; refusing it")
    if count[0] > MAX_NODES:
        raise ArtifactError(f"expression tree has more than {MAX_NODES} nodes; refusing it")
    if not isinstance(tree, dict) or len(tree) not in (1, 2):
        raise ArtifactError(f"expression node must be a small JSON object, not {_short(tree)}")
    if "op" in tree:
        op, args = tree.get("op"), tree.get("args")
        cls = _NODES.get(op) if isinstance(op, str) else None
        if cls is None:
            raise ArtifactError(f"unknown expression node type {_short(op)}; allowed: {', '.join(sorted(_NODES))}")
        if not isinstance(args, list) or not args:
            raise ArtifactError(f"node {op} needs a non-empty list of args, not {_short(args)}")
        kids = [_node(a, symbols, depth + 1, count) for a in args]
        try:
            if cls in (sp.Add, sp.Mul, sp.Pow, sp.Max, sp.Min):
                return cls(*kids, evaluate=False)
            return cls(*kids)
        except (TypeError, ValueError, AttributeError) as e:
            raise ArtifactError(f"node {op} with {len(kids)} args is malformed: {e}") from None
    ((key, value),) = tree.items()
    if key == "Symbol":
        if not isinstance(value, str) or value not in symbols:
            raise ArtifactError(f"expression refers to symbol {_short(value)}, which the manifest does not declare")
        return symbols[value]
    if key == "Integer":
        if not isinstance(value, str) or not _INT.match(value):
            raise ArtifactError(f"Integer node must hold a decimal string, not {_short(value)}")
        return sp.Integer(int(value))
    if key == "Rational":
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) and _INT.match(v) for v in value)):
            raise ArtifactError(f"Rational node must hold two decimal strings, not {_short(value)}")
        if int(value[1]) == 0:
            raise ArtifactError("Rational node has a zero denominator")
        return sp.Rational(int(value[0]), int(value[1]))
    if key == "Float":
        f = _float(value, "Float node")
        return sp.Float(f)
    if key == "Constant":
        if value not in _CONSTANTS:
            raise ArtifactError(f"unknown constant {_short(value)}; allowed: {', '.join(_CONSTANTS)}")
        return _CONSTANTS[value]
    if key == "Bool":
        if not isinstance(value, bool):
            raise ArtifactError(f"Bool node must hold true or false, not {_short(value)}")
        return sp.true if value else sp.false
    raise ArtifactError(f"unknown expression node {_short(key)}")


def _float(v: Any, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (str, int, float)) or (isinstance(v, str) and len(v) > 40):
        raise ArtifactError(f"{what} must be a number, not {_short(v)}")
    try:
        f = float(v)
    except ValueError:
        raise ArtifactError(f"{what} must be a number, not {_short(v)}") from None
    if not math.isfinite(f):
        raise ArtifactError(f"{what} is {f}; it must be finite")
    return f


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 80 else r[:77] + "..."


def check_name(name: Any, what: str = "symbol") -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or len(name) > MAX_NAME:
        raise ArtifactError(f"{what} name {_short(name)} is not a plain identifier; refusing the artifact")
    return name


# -- relations -------------------------------------------------------------------------------
def relation_to_dict(rel) -> dict[str, Any]:
    """The relation as plain JSON data (names, trees, numbers)."""
    syms = rel.symbols
    return {
        "name": rel.name,
        "symbols": {n: {k: True for k in _ASSUMPTIONS if s.assumptions0.get(k) is True} for n, s in syms.items()},
        "equations": [[expr_to_json(e.lhs), expr_to_json(e.rhs)] for e in rel.equations],
        "bounds": [[n, expr_to_json(lo), expr_to_json(hi)] for n, (lo, hi) in rel.bounds.items()],
        "outputs": [[o, list(r) if r is not None else None] for o, r in rel.output_ranges.items()],
        "parameters": [[n, lo, hi] for n, (lo, hi) in rel.parameter_bounds.items()],
        "scales": dict(rel.scales),
        "normalizer": {o: expr_to_json(e) for o, e in rel.normalizer.items()},
    }


def relation_from_dict(d: Any):
    """Rebuild (and re-validate) a Relation from `relation_to_dict` data."""
    from .errors import RelationError
    from .relation import Relation

    if not isinstance(d, dict):
        raise ArtifactError("manifest 'relation' must be an object")
    raw = d.get("symbols")
    if not isinstance(raw, dict) or len(raw) > 256:
        raise ArtifactError("manifest relation needs a 'symbols' object (at most 256 symbols)")
    symbols = {}
    for n, a in raw.items():
        check_name(n)
        if not isinstance(a, dict) or any(k not in _ASSUMPTIONS or v is not True for k, v in a.items()):
            raise ArtifactError(f"assumptions of symbol {n} must be a subset of {', '.join(_ASSUMPTIONS)} set to true")
        symbols[n] = sp.Symbol(n, **a)
    try:
        eqs = [sp.Eq(expr_from_json(lhs, symbols), expr_from_json(rhs, symbols), evaluate=False)
               for lhs, rhs in _list(d, "equations", 2)]
        bounds = {symbols[check_name(n)]: (expr_from_json(lo, symbols), expr_from_json(hi, symbols))
                  for n, lo, hi in _list(d, "bounds", 3)}
        outs = {}
        for n, r in _list(d, "outputs", 2):
            if r is not None and not (isinstance(r, list) and len(r) == 2):
                raise ArtifactError(f"range of output {_short(n)} must be null or [low, high]")
            outs[symbols[check_name(n)]] = None if r is None else (_float(r[0], "output range"), _float(r[1], "output range"))
        params = {symbols[check_name(n)]: (_float(lo, "parameter bound"), _float(hi, "parameter bound"))
                  for n, lo, hi in _list(d, "parameters", 3)}
        scales = d.get("scales", {})
        norm = d.get("normalizer", {})
        if not isinstance(scales, dict) or not isinstance(norm, dict):
            raise ArtifactError("manifest relation 'scales' and 'normalizer' must be objects")
        norm = {symbols[check_name(o)]: expr_from_json(t, symbols) for o, t in norm.items()}
        scales = {symbols[check_name(n)]: v for n, v in scales.items()}
        name = d.get("name")
        if name is not None and not (isinstance(name, str) and len(name) <= 200):
            raise ArtifactError("relation name must be a short string")
    except KeyError as e:
        raise ArtifactError(f"manifest relation uses symbol {e.args[0]!r}, which it does not declare") from None
    use_ranges = any(r is not None for r in outs.values())
    try:
        return Relation(eqs, bounds=bounds, outputs=outs if use_ranges else list(outs), parameters=params or None,
                        scales=scales or None, normalizer=norm or None, name=name)
    except RelationError as e:
        raise ArtifactError(f"the relation stored in the artifact does not validate: {e}") from None


def _list(d: dict, key: str, width: int) -> list:
    v = d.get(key, [])
    if not isinstance(v, list) or len(v) > 1000 or any(not isinstance(r, list) or len(r) != width for r in v):
        raise ArtifactError(f"manifest relation '{key}' must be a list of {width}-element lists")
    return v


# -- files ---------------------------------------------------------------------------------
def write(path, manifest: dict[str, Any], tensors: dict[str, np.ndarray]) -> None:
    """Write the artifact atomically (a crash never leaves half a file at `path`)."""
    from safetensors.numpy import save

    text = json.dumps(manifest, allow_nan=False, sort_keys=True)
    blob = save({k: np.ascontiguousarray(v) for k, v in tensors.items()},
                metadata={"format": FORMAT, "schema": str(SCHEMA), "manifest": text})
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".surrogate-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


_DTYPES = {"F32": np.float32, "F64": np.float64}


def read(path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(manifest, tensors) of an artifact, after checking its structure and limits.

    Raises ArtifactError naming the problem for anything that is not a well-formed
    artifact of a known schema; executes nothing from the file.
    """
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise ArtifactError(f"cannot read artifact {path!r}: {e.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise ArtifactError(f"{path!r} is {size} bytes, above the {MAX_FILE_BYTES}-byte limit for an artifact")
    with open(path, "rb") as f:
        data = f.read()
    return parse(data, path)


def parse(data: bytes, label: str = "artifact") -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Like `read`, from bytes."""
    if len(data) < 8:
        raise ArtifactError(f"{label} is truncated: {len(data)} bytes, not even a header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES:
        raise ArtifactError(f"{label}: header length {n} is above the {MAX_HEADER_BYTES}-byte limit; not an artifact")
    if 8 + n > len(data):
        raise ArtifactError(f"{label} is truncated or not an artifact: header length {n} runs beyond the file "
                            f"({len(data)} bytes)")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ArtifactError(f"{label} is not a surrogate artifact: its header is not JSON (wrong magic)") from None
    if not isinstance(header, dict):
        raise ArtifactError(f"{label} is not a surrogate artifact: its header is not a JSON object")
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ArtifactError(f"{label} is not a surrogate artifact (no format tag {FORMAT!r} in its metadata)")
    try:
        schema = int(meta.get("schema", ""))
    except ValueError:
        raise ArtifactError(f"{label} has no valid schema version") from None
    if schema < 1 or schema > SCHEMA:
        raise ArtifactError(f"{label} has schema version {schema}; this surrogate reads versions 1 to {SCHEMA}: "
                            "upgrade surrogate to load it")
    try:
        manifest = json.loads(meta.get("manifest", ""), parse_constant=_no_constant)
    except (json.JSONDecodeError, TypeError, ValueError) as e:
        raise ArtifactError(f"{label}: manifest is not valid JSON ({e})") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{label}: manifest must be a JSON object")
    end = len(data) - 8 - n
    for name, t in header.items():
        check_name(name.replace(".", "_"), "tensor")
        if not isinstance(t, dict) or t.get("dtype") not in _DTYPES:
            raise ArtifactError(f"{label}: tensor {name!r} has dtype {_short(t.get('dtype') if isinstance(t, dict) else t)};"
                                " only F32 and F64 are allowed")
        shape, off = t.get("shape"), t.get("data_offsets")
        if not (isinstance(shape, list) and len(shape) <= 4 and all(isinstance(s, int) and 0 <= s < 1 << 24 for s in shape)):
            raise ArtifactError(f"{label}: tensor {name!r} has an invalid shape {_short(shape)}")
        if not (isinstance(off, list) and len(off) == 2 and all(isinstance(o, int) for o in off) and 0 <= off[0] <= off[1] <= end):
            raise ArtifactError(f"{label}: tensor {name!r} has data offsets {_short(off)} outside the file")
        if off[1] - off[0] != int(np.prod(shape)) * np.dtype(_DTYPES[t["dtype"]]).itemsize:
            raise ArtifactError(f"{label}: tensor {name!r} has {off[1] - off[0]} bytes for shape {shape}")
    from safetensors import SafetensorError
    from safetensors.numpy import load

    try:
        tensors = load(data)
    except SafetensorError as e:
        raise ArtifactError(f"{label}: the weights are corrupt ({e})") from None
    for name, arr in tensors.items():
        if not np.all(np.isfinite(arr)):
            raise ArtifactError(f"{label}: tensor {name!r} holds NaN or inf values")
    return manifest, tensors


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed in a manifest")


# -- the model parts of a manifest -------------------------------------------------------------
_ACTIVATIONS = ("silu", "gelu", "tanh", "relu")
_FEATURE_KEYS = {"linear": {"lo", "hi"}, "log": {"lo", "hi"}, "edge": {"lo", "hi", "side", "delta"}}
_HEAD_KEYS = {"linear": {"a", "b"}, "log": {"a", "b", "sign"}, "signed_log": {"ap", "bp", "an", "bn"}}


def expected_weights(net: dict[str, int | str]) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes of the MLP described by `net` (see network.MLP)."""
    shapes: dict[str, tuple[int, ...]] = {}
    size = net["n_in"]
    for i in range(net["depth"]):
        shapes[f"hidden.{2 * i}.weight"] = (net["width"], size)
        shapes[f"hidden.{2 * i}.bias"] = (net["width"],)
        size = net["width"]
    shapes["last.weight"] = (net["n_out"], size)
    shapes["last.bias"] = (net["n_out"],)
    return shapes


def model_parts(manifest: dict[str, Any], tensors: dict[str, np.ndarray]):
    """(relation, feature specs, head specs, network config) of a checked manifest."""
    for key in ("relation", "features", "heads", "network"):
        if key not in manifest:
            raise ArtifactError(f"manifest has no {key!r} section; the file is not a complete surrogate artifact")
    relation = relation_from_dict(manifest["relation"])
    feats, heads = manifest["features"], manifest["heads"]
    if not isinstance(feats, list) or not 1 <= len(feats) <= 1024:
        raise ArtifactError("manifest 'features' must be a non-empty list")
    for f in feats:
        kind = f.get("kind") if isinstance(f, dict) else None
        if kind not in _FEATURE_KEYS or set(f) != _FEATURE_KEYS[kind] | {"kind", "input"}:
            raise ArtifactError(f"feature {_short(f)} is not one of the known kinds {', '.join(_FEATURE_KEYS)}")
        if f["input"] not in relation.inputs:
            raise ArtifactError(f"feature refers to {_short(f['input'])}, which is not an input")
        for k in _FEATURE_KEYS[kind] - {"side"}:
            _float(f[k], f"feature {k}")
        if kind == "edge" and f["side"] not in ("low", "high"):
            raise ArtifactError(f"edge feature side must be 'low' or 'high', not {_short(f['side'])}")
        if f["hi"] == f["lo"]:
            raise ArtifactError("feature has an empty range (lo == hi)")
    net = manifest["network"]
    if not isinstance(net, dict):
        raise ArtifactError("manifest 'network' must be an object")
    for k in ("n_in", "n_out", "width", "depth"):
        if not isinstance(net.get(k), int) or isinstance(net.get(k), bool) or not 1 <= net[k] <= 4096:
            raise ArtifactError(f"network {k} must be an integer in [1, 4096], not {_short(net.get(k))}")
    if net.get("activation") not in _ACTIVATIONS:
        raise ArtifactError(f"network activation {_short(net.get('activation'))} is not one of {', '.join(_ACTIVATIONS)}")
    if net["n_in"] != len(feats):
        raise ArtifactError(f"network takes {net['n_in']} features but the manifest lists {len(feats)}")
    if not isinstance(heads, list) or len(heads) != len(relation.outputs):
        raise ArtifactError("manifest 'heads' must list one head per output")
    used = []
    for h, o in zip(heads, relation.outputs):
        kind = h.get("kind") if isinstance(h, dict) else None
        if kind not in _HEAD_KEYS or set(h) != _HEAD_KEYS[kind] | {"kind", "output", "channels"}:
            raise ArtifactError(f"head {_short(h)} is not one of the known kinds {', '.join(_HEAD_KEYS)}")
        if h["output"] != o:
            raise ArtifactError(f"head for {_short(h['output'])} where output {o} was expected")
        for k in _HEAD_KEYS[kind]:
            _float(h[k], f"head {k}")
        ch = h["channels"]
        if not (isinstance(ch, list) and all(isinstance(c, int) and not isinstance(c, bool) for c in ch)
                and len(ch) == (2 if kind == "signed_log" else 1)):
            raise ArtifactError(f"head channels {_short(ch)} do not fit a {kind} head")
        used += ch
    if sorted(used) != list(range(net["n_out"])):
        raise ArtifactError(f"heads use channels {used} but the network has {net['n_out']} outputs")
    want = expected_weights(net)
    if set(tensors) != set(want):
        raise ArtifactError(f"weights {sorted(tensors)} do not match the network in the manifest ({sorted(want)})")
    for name, shape in want.items():
        if tuple(tensors[name].shape) != shape:
            raise ArtifactError(f"weight {name} has shape {tuple(tensors[name].shape)}; the manifest implies {shape}")
    return relation, feats, heads, {k: net[k] for k in ("n_in", "n_out", "width", "depth", "activation")}
