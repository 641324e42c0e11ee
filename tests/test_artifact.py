"""Artifacts: old files keep loading, hostile files are refused, nothing in a file is executed."""

from __future__ import annotations

import copy
import json
import os
import pathlib
import struct
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import surrogate as sg
from surrogate import runtime
from surrogate.declaration import trees
from surrogate.errors import ArtifactError
from surrogate.model import format as fmt
from surrogate.model.records import Certificate

GOLDEN = pathlib.Path(__file__).parent / "golden"
EXPECTED = json.loads((GOLDEN / "expected.json").read_text())
VALID = GOLDEN / "seed001_gelu.surrogate"


# -- saved artifacts from earlier versions -------------------------------------------------
@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("loader", [sg.load, runtime.load], ids=["torch", "numpy"])
def test_golden_artifacts_keep_loading_and_predicting(name, loader):
    case = EXPECTED[name]
    model = loader(GOLDEN / case["file"])
    assert case["schema"] <= fmt.SCHEMA
    assert model.inputs == list(case["inputs"]) and model.outputs == list(case["outputs"])
    got = model(**{k: np.array(v) for k, v in case["inputs"].items()})
    for o, want in case["outputs"].items():
        want = np.array(want)
        # recorded by torch when the file was written; a later torch may round differently in float32
        np.testing.assert_allclose(got[o], want, rtol=0, atol=1e-5 * np.abs(want).max())


def test_the_golden_files_cover_every_schema_activation_and_dtype():
    """A bumped SCHEMA needs a golden file of the new version (python tests/golden/make_golden.py)."""
    for case in EXPECTED.values():
        raw = (GOLDEN / case["file"]).read_bytes()
        assert json.loads(raw[8 : 8 + struct.unpack("<Q", raw[:8])[0]])["__metadata__"]["schema"] == str(case["schema"])
    assert {c["schema"] for c in EXPECTED.values()} == set(range(1, fmt.SCHEMA + 1))
    manifests = [fmt.read(GOLDEN / c["file"])[0] for c in EXPECTED.values()]
    nets = [n for m in manifests for n in ([p["network"] for p in m["pieces"] if "network" in p] if "pieces" in m
                                           else [m["network"]])]
    assert {n["activation"] for n in nets} == {"silu", "gelu", "tanh", "relu"}
    assert {n["dtype"] for n in nets} == {"float32", "float64"}
    assert any("skip" not in n for n in nets), "a file from before the skip path"


def test_every_write_records_the_schema_and_a_file_others_can_read(tmp_path):
    manifest, tensors = fmt.read(VALID)
    fmt.write(tmp_path / "a.surrogate", manifest, tensors)
    raw = (tmp_path / "a.surrogate").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    meta = json.loads(raw[8 : 8 + n])["__metadata__"]
    assert meta["format"] == "surrogate" and meta["schema"] == str(fmt.SCHEMA)
    mode = os.stat(tmp_path / "a.surrogate").st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary file left behind"


# -- hostile and broken files -------------------------------------------------------------
def pack(header: dict, body: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


def build(manifest: dict, tensors: dict[str, np.ndarray], *, schema=str(fmt.SCHEMA), manifest_text=None, dtypes=None,
          shapes=None) -> bytes:
    """An artifact laid out by hand, so that it can be wrong in any way a test wants."""
    header: dict = {"__metadata__": {"format": "surrogate", "schema": schema,
                                     "manifest": manifest_text if manifest_text is not None else json.dumps(manifest)}}
    body, offset = b"", 0
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": (dtypes or {}).get(name, "F32" if arr.dtype == np.float32 else "F64"),
                        "shape": (shapes or {}).get(name, list(arr.shape)), "data_offsets": [offset, offset + len(data)]}
        body, offset = body + data, offset + len(data)
    return pack(header, body)


def edit(change):
    """A case that changes a copy of the valid manifest and tensors, then lays them out."""

    def make(manifest, tensors):
        m, t = copy.deepcopy(manifest), {k: v.copy() for k, v in tensors.items()}
        out = change(m, t)
        return out if isinstance(out, bytes) else build(m, t)

    return make


def eq_rhs(tree):
    """Replace the right-hand side of the first equation by `tree`."""
    return edit(lambda m, t: m["relation"]["equations"][0].__setitem__(1, tree))


def nested(depth: int) -> dict:
    tree: dict = {"Symbol": "x1"}
    for _ in range(depth):
        tree = {"op": "sin", "args": [tree]}
    return tree


def padded(m, t):
    m["training"] = {"padding": "x" * (fmt.MAX_HEADER_BYTES + 10)}


def wrong_shape(m, t):
    t["last.weight"] = np.zeros((t["last.weight"].shape[0], t["last.weight"].shape[1] + 1), np.float32)


def poison(value):
    def change(m, t):
        t["hidden.0.weight"][0, 0] = value

    return change


def pop(section):
    return lambda m, t: m.pop(section)


def setitem(path, value):
    def change(m, t):
        target = m
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


BIG = "9" * 300
CANARY_FILE = pathlib.Path(tempfile.gettempdir()) / f"surrogate-test-canary-{os.getpid()}"
CANARY_ENV = "SURROGATE_TEST_CANARY"

# (id, make(manifest, tensors) -> bytes, fragment of the message)
HOSTILE = [
    ("empty-file", lambda m, t: b"", "truncated"),
    ("truncated-length", lambda m, t: VALID.read_bytes()[:5], "truncated"),
    ("truncated-weights", lambda m, t: VALID.read_bytes()[:-7], "outside the file"),
    ("png-magic", lambda m, t: b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not an artifact"),
    ("zip-pickle-magic", lambda m, t: b"PK\x03\x04" + b"\0" * 64, "not an artifact"),
    ("header-not-json", lambda m, t: struct.pack("<Q", 10) + b"not json!!", "not JSON"),
    ("header-length-beyond-file", lambda m, t: struct.pack("<Q", 4000) + b"{}", "runs beyond the file"),
    ("plain-safetensors-no-metadata", lambda m, t: pack({}), "no format tag"),
    ("other-format-tag", lambda m, t: pack({"__metadata__": {"format": "pt"}}), "no format tag"),
    ("schema-from-the-future", edit(lambda m, t: build(m, t, schema="99")), "upgrade surrogate"),
    ("schema-not-a-number", edit(lambda m, t: build(m, t, schema="one")), "schema version"),
    ("manifest-not-json", edit(lambda m, t: build(m, t, manifest_text="{")), "manifest is not valid JSON"),
    ("manifest-nan", edit(lambda m, t: build(m, t, manifest_text='{"a": NaN}')), "manifest is not valid JSON"),
    ("manifest-json-nested-deep", edit(lambda m, t: build(m, t, manifest_text="[" * 100_000 + "]" * 100_000)),
     "manifest is not valid JSON"),
    ("manifest-too-large", edit(padded), "manifest that large"),
    ("weights-shape-not-the-manifests", edit(wrong_shape), "the manifest implies"),
    ("weights-missing", edit(lambda m, t: t.pop("last.bias")), "do not match the network"),
    ("weights-nan", edit(poison(np.nan)), "NaN or inf"),
    ("weights-inf", edit(poison(np.inf)), "NaN or inf"),
    ("weights-integer-dtype", edit(lambda m, t: build(m, t, dtypes={"last.bias": "I32"})), "only F32 and F64"),
    ("weights-byte-count", edit(lambda m, t: build(m, t, shapes={"last.bias": [9]})), "bytes for shape"),
    ("tensor-name-a-path", edit(lambda m, t: t.__setitem__("../../etc/passwd", t.pop("last.bias"))),
     "not a plain identifier"),
    ("unknown-sympy-node", eq_rhs({"op": "Integral", "args": [{"Symbol": "x1"}]}), "unknown expression node type"),
    ("unknown-leaf", eq_rhs({"Function": "os.system"}), "unknown expression node"),
    ("sympify-string-canary", eq_rhs(f"__import__('os').system('touch {CANARY_FILE}')"), "is text"),
    ("env-string-canary-in-bound",
     edit(setitem(["relation", "bounds", 0, 1], f"__import__('os').environ.__setitem__('{CANARY_ENV}', '1')")),
     "is text"),
    # any text a SymPy symbol can carry is a valid name (issue 9: lambda, T_inf, Greek); a name is
    # only ever a JSON string and a dictionary key, so what is refused is what no label should hold
    ("symbol-name-control-character", edit(setitem(["relation", "symbols", "x1\x00\x1b[2J"], {})),
     "non-printable"),
    ("symbol-name-too-long", edit(setitem(["relation", "symbols", "x" * 65], {})), "longer than 64"),
    ("symbol-undeclared", eq_rhs({"Symbol": "w"}), "does not declare"),
    ("symbol-assumption-unknown", edit(setitem(["relation", "symbols", "x1"], {"commutative": True})),
     "assumptions of symbol x1"),
    ("tree-nested-too-deep", eq_rhs(nested(trees.MAX_DEPTH + 5)), "nested deeper than"),
    ("tree-too-many-nodes", eq_rhs({"op": "Add", "args": [{"Symbol": "x1"}] * (trees.MAX_NODES + 1)}),
     "more than"),
    ("integer-not-decimal", eq_rhs({"Integer": "1e5"}), "decimal string"),
    ("float-nan", eq_rhs({"Float": "nan"}), "finite"),
    ("power-of-giants", eq_rhs({"op": "Pow", "args": [{"Integer": BIG}, {"Integer": BIG}]}), "constant exponent"),
    ("exp-tower", eq_rhs({"op": "floor", "args": [{"op": "exp", "args": [{"op": "exp", "args": [{"Integer": "800"}]}]}]}),
     "no finite real float64 value"),
    ("exact-digits", eq_rhs({"op": "Pow", "args": [{"Rational": ["1", BIG]}, {"Integer": "999"}]}), "digits"),
    ("relation-inverted-bounds", edit(setitem(["relation", "bounds", 0, 1], {"Integer": "2000"})),
     "does not validate"),
    ("section-missing", edit(pop("heads")), "no 'heads' section"),
    ("activation-unknown", edit(setitem(["network", "activation"], "softmax")), "activation"),
    ("network-too-wide", edit(setitem(["network", "width"], 10**9)), "integer in [1, 4096]"),
    ("feature-kind-unknown", edit(setitem(["features", 0, "kind"], "eval")), "known kinds"),
    ("feature-bound-a-string", edit(setitem(["features", 0, "lo"], "500.0")), "must be a number"),
    ("head-channel-missing", edit(setitem(["heads", 0, "channels"], [0, 5])), "channels"),
    ("dtype-unknown", edit(setitem(["network", "dtype"], "float16")), "float32 or float64"),
    ("certificate-error-a-string", edit(setitem(["certificate", "max_error"], "tiny")), "certificate max_error"),
    ("certificate-points-a-float", edit(setitem(["certificate", "points"], 1.5)), "certificate points"),
    ("certificate-not-an-object", edit(setitem(["certificate"], [1, 2])), "certificate' must be an object"),
]


@pytest.fixture(scope="module")
def valid():
    return fmt.read(VALID)


@pytest.mark.parametrize("loader", [sg.load, runtime.load], ids=["torch", "numpy"])
@pytest.mark.parametrize(("make", "fragment"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_files_are_refused_naming_the_problem(make, fragment, loader, valid, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CANARY_ENV, raising=False)
    CANARY_FILE.unlink(missing_ok=True)
    (tmp_path / "bad.surrogate").write_bytes(make(*valid))
    with pytest.raises(ArtifactError) as info:
        loader(tmp_path / "bad.surrogate")
    assert fragment in str(info.value), str(info.value)
    assert not CANARY_FILE.exists(), "the file's text was executed"
    assert CANARY_ENV not in os.environ, "the file's text was executed"


def test_the_canaries_would_fire_if_evaluated(tmp_path, monkeypatch):
    """The hostile strings above are live: sympify (which evals) runs them."""
    import sympy

    monkeypatch.delenv(CANARY_ENV, raising=False)
    sympy.sympify(f"__import__('os').environ.__setitem__('{CANARY_ENV}', '1')")
    assert os.environ.get(CANARY_ENV) == "1"
    canary = tmp_path / "canary"
    sympy.sympify(f"__import__('pathlib').Path('{canary}').touch()")
    assert canary.exists()


@pytest.mark.parametrize("loader", [sg.load, runtime.load], ids=["torch", "numpy"])
def test_a_non_finite_error_in_the_certificate_comes_back_as_nan(valid, tmp_path, loader):
    manifest, tensors = copy.deepcopy(valid[0]), valid[1]
    manifest["certificate"]["max_error"] = None  # how `save` writes inf or NaN
    fmt.write(tmp_path / "c.surrogate", manifest, tensors)
    model = loader(tmp_path / "c.surrogate")
    assert isinstance(model.certificate, Certificate)  # the same type from either load
    assert np.isnan(model.certificate.max_error)
    assert "max error nan" in repr(model)


@pytest.mark.parametrize("loader", [sg.load, runtime.load], ids=["torch", "numpy"])
def test_a_certificate_field_this_version_does_not_know_is_refused_by_either_load(valid, tmp_path, loader):
    manifest, tensors = copy.deepcopy(valid[0]), valid[1]
    manifest["certificate"]["exec"] = "os.system"
    fmt.write(tmp_path / "c.surrogate", manifest, tensors)
    with pytest.raises(ArtifactError, match="certificate in the manifest is malformed"):
        loader(tmp_path / "c.surrogate")


@pytest.mark.parametrize("loader", [sg.load, runtime.load], ids=["torch", "numpy"])
def test_a_missing_file_or_a_folder_is_an_artifact_error(tmp_path, loader):
    with pytest.raises(ArtifactError, match="cannot read artifact .*No such file"):
        loader(tmp_path / "nope.surrogate")
    with pytest.raises(ArtifactError, match="cannot read artifact .*directory"):
        loader(tmp_path)


def test_an_artifact_written_by_hand_like_the_tests_loads(valid):
    """The layout helper itself is right, so the refusals above are about the change."""
    manifest, tensors = fmt.parse(build(*valid))
    fmt.model_parts(manifest, tensors)


# -- fuzzing: any bytes give an ArtifactError or a usable model -----------------------------------
def load_bytes(data: bytes, tmp: pathlib.Path) -> None:
    manifest, tensors = fmt.parse(data)
    relation, feats, heads, cfg = fmt.model_parts(manifest, tensors)
    model = runtime.Runtime(relation, feats, heads, cfg, tensors)
    model.evaluate(relation.domain.chart(np.full((2, len(relation.inputs)), 0.5)))
    tmp.write_bytes(data)
    sg.load(tmp)


def fuzz(examples: int):
    """A few seconds of fuzzing in the test suite; FUZZ_EXAMPLES=5000 pytest -k fuzz for a long run."""
    return settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", examples)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@fuzz(300)
@given(st.data())
def test_fuzz_byte_mutations(tmp_path, data):
    raw = bytearray(VALID.read_bytes())
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        if not raw:
            break
        kind = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]), label="kind")
        at = data.draw(st.integers(0, len(raw) - 1), label="at")
        if kind == "flip":
            raw[at] = data.draw(st.integers(0, 255), label="byte")
        elif kind == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8), label="bytes")
        elif kind == "delete":
            del raw[at : at + data.draw(st.integers(1, 8), label="n")]
        else:
            del raw[at:]
    try:
        load_bytes(bytes(raw), tmp_path / "fuzz.surrogate")
    except ArtifactError:
        pass


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
    max_leaves=6,
)


def paths(tree, prefix=()):
    yield prefix
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from paths(v, (*prefix, i))


@fuzz(200)
@given(st.data())
def test_fuzz_manifest_mutations(tmp_path, valid, data):
    manifest, tensors = copy.deepcopy(valid[0]), valid[1]
    where = data.draw(st.sampled_from(list(paths(manifest))[1:]), label="path")
    replacement = data.draw(JSON | st.sampled_from([{"Symbol": "x1"}, {"op": "Add", "args": []}, {"Integer": "7"}]),
                            label="value")
    target = manifest
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = replacement
    try:
        load_bytes(build(manifest, tensors), tmp_path / "fuzz.surrogate")
    except ArtifactError:
        pass
