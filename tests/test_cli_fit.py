"""`surrogate fit`: the report of a seed-002 fit, its JSON output, and one clear line for a user error."""

import json
import textwrap

import numpy as np
import pandas as pd
import pytest

from equations.seeds import cosexp
from surrogate.fitting.fit import fit_report
from surrogate.interface.cli import main

A_TRUE, B_TRUE = 0.583, 0.112
STARTS = "256"  # enough for seed 002 at x1 ~ N(0, 500) (solved on 20 of 20 seeds), and quick


@pytest.fixture
def seed002_csv(tmp_path):
    """2000 noise-free rows of the thread's hard case: x1 ~ N(0, 500), x2 ~ U(-1, 1)."""
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(0, 500, 2000), rng.random(2000) * 2 - 1
    path = tmp_path / "seed002.csv"
    pd.DataFrame({"x1": x1, "x2": x2, "y": np.cos(A_TRUE * x1) + np.exp(B_TRUE * x2)}).to_csv(path, index=False)
    return path


def printed_table(out: str) -> dict[str, dict[str, str]]:
    """The report's parameter table, {parameter: {column: text}}, read back from the printed lines."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["value", "stderr"])
    header = lines[start].split()
    assert lines[start + 1].split() == ["parameter"]
    rows = {}
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        name, *cells = line.split()
        rows[name] = dict(zip(header, cells))
    return rows


def test_fit_prints_the_report_with_the_right_values(seed002_csv, capsys):
    assert main(["fit", "seeds:cosexp", str(seed002_csv), "--starts", STARTS]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("fit of relation 'cosexp' to 2000 points: success")
    table = printed_table(out)
    assert set(table) == {"a", "b"}
    assert float(table["a"]["value"]) == pytest.approx(A_TRUE, abs=1e-6)
    assert float(table["b"]["value"]) == pytest.approx(B_TRUE, abs=1e-6)
    # The command prints exactly what fit_report returns for the same options.
    assert out == fit_report(cosexp, seed002_csv, starts=int(STARTS)) + "\n"


def test_fit_writes_values_and_stderr_as_json(seed002_csv, tmp_path, capsys):
    target = tmp_path / "fit.json"
    argv = ["fit", "seeds:cosexp", str(seed002_csv), "--starts", STARTS, "--loss", "robust", "--seed", "3",
            "-o", str(target)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(f"wrote {target}")
    saved = json.loads(target.read_text(), parse_constant=pytest.fail)  # strict JSON: no NaN or Infinity
    assert saved["values"] == pytest.approx({"a": A_TRUE, "b": B_TRUE}, abs=1e-6)
    assert set(saved["stderr"]) == {"a", "b"} and all(0 <= v < 1e-6 for v in saved["stderr"].values())
    assert saved["success"] is True and saved["warnings"] == [] and saved["n_points"] == 2000
    assert saved["options"]["loss"] == "robust" and saved["options"]["seed"] == 3
    assert saved["options"]["starts"] == int(STARTS)
    table = printed_table(out)  # the file holds the numbers the report shows, unrounded
    for name in ("a", "b"):
        assert float(table[name]["value"]) == pytest.approx(saved["values"][name], rel=1e-9)


def test_fit_json_has_null_stderr_where_not_identifiable(tmp_path, monkeypatch, capsys):
    # A user's own module, resolved as MODULE:NAME from the path: y = a b x determines only a b.
    (tmp_path / "cli_fit_user_relations.py").write_text(textwrap.dedent("""
        import sympy as sp
        from surrogate import Relation

        a, b, x, y = sp.symbols("a b x y", real=True)
        product = Relation(sp.Eq(y, a * b * x), bounds={x: (0, 1)}, parameters={a: (0.1, 10), b: (0.1, 10)},
                           name="product")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    xs = np.linspace(0, 1, 100)
    pd.DataFrame({"x": xs, "y": 2 * xs}).to_csv(tmp_path / "line.csv", index=False)
    target = tmp_path / "product.json"
    argv = ["fit", "cli_fit_user_relations:product", str(tmp_path / "line.csv"), "--starts", "64", "-o", str(target)]
    assert main(argv) == 0  # a poor fit is reported, not refused
    assert "not identifiable: a, b" in capsys.readouterr().out
    saved = json.loads(target.read_text(), parse_constant=pytest.fail)
    assert saved["stderr"] == {"a": None, "b": None}
    assert saved["success"] is False
    assert saved["values"]["a"] * saved["values"]["b"] == pytest.approx(2.0, rel=1e-9)


def test_nan_rows_can_be_omitted(seed002_csv, capsys):
    data = pd.read_csv(seed002_csv)
    data.loc[[5, 9], "y"] = np.nan
    data.to_csv(seed002_csv, index=False)
    assert main(["fit", "seeds:cosexp", str(seed002_csv), "--starts", STARTS]) == 2
    assert "pass nan='omit'" in capsys.readouterr().err
    assert main(["fit", "seeds:cosexp", str(seed002_csv), "--starts", STARTS, "--nan", "omit"]) == 0
    out = capsys.readouterr().out
    assert "to 1998 points" in out and "omitted 2 rows with NaN or infinite values in y (2)" in out
    assert float(printed_table(out)["a"]["value"]) == pytest.approx(A_TRUE, abs=1e-6)


def _drop_x2(path):
    pd.read_csv(path).drop(columns=["x2"]).to_csv(path, index=False)


def _garble(path):
    path.write_bytes(b"\xff\xfe\x00garbage\x00\n\x81")


BAD = [
    ("missing-column", _drop_x2, [], "surrogate fit: data has no column for input x2 (columns are x1, y)"),
    ("unreadable-csv", _garble, [], "surrogate fit: cannot read"),
    ("missing-file", lambda path: path.unlink(), [], "surrogate fit: cannot read"),
    ("zero-starts", None, ["--starts", "0"], "surrogate fit: starts is 0; give a positive integer"),
]


@pytest.mark.parametrize(("change", "extra", "message"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_user_errors_are_one_line(seed002_csv, capsys, change, extra, message):
    if change is not None:
        change(seed002_csv)
    assert main(["fit", "seeds:cosexp", str(seed002_csv), *extra]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1 and "Traceback" not in err


def test_relation_without_parameters_is_refused(seed002_csv, capsys):
    assert main(["fit", "seeds:paraboloid", str(seed002_csv)]) == 2
    err = capsys.readouterr().err
    assert "has no parameters to fit" in err and err.count("\n") == 1
