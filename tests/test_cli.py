"""The command line: the whole loop, and one clear line for a user error."""

import pandas as pd
import pytest

from surrogate.interface.cli import main


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "seeds:seed001" in out and "seeds:paraboloid" in out and "parameters: a, b" in out


def test_train_verify_predict(tmp_path, capsys):
    art = tmp_path / "p.surrogate"
    assert main(["train", "seeds:paraboloid", "-o", str(art), "--max-steps", "200", "--points", "4096",
                 "--atol", "0.01", "-q"]) == 0
    out = capsys.readouterr().out
    assert "certificate for paraboloid" in out and art.exists()
    assert main(["verify", str(art), "--points", "2048", "--atol", "0.01"]) == 0
    assert main(["verify", str(art), "--points", "2048", "--tolerance", "1e-9"]) == 1
    csv = tmp_path / "in.csv"
    pd.DataFrame({"x": [0.1, 0.5], "y": [0.2, 0.9]}).to_csv(csv, index=False)
    assert main(["predict", str(art), str(csv), "-o", str(tmp_path / "out.csv")]) == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["z"] and len(out) == 2


@pytest.mark.parametrize("argv,fragment", [
    (["train", "seed001"], "is not MODULE:NAME"),
    (["train", "seeds:nothing"], "has no relation named 'nothing'"),
    (["train", "nomodule:x"], "no module"),
    (["train", "seeds:cosexp", "--max-steps", "1"], "fit them first"),
    (["verify", "/nonexistent.surrogate"], "cannot read artifact"),
], ids=["no-colon", "no-relation", "no-module", "parameters", "missing-file"])
def test_user_errors_are_one_line(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_predict_outside_domain_is_a_user_error(tmp_path, capsys):
    art = tmp_path / "p.surrogate"
    assert main(["train", "seeds:paraboloid", "-o", str(art), "--max-steps", "5", "--points", "256", "--atol", "0.01",
                 "-q"]) == 0
    csv = tmp_path / "in.csv"
    pd.DataFrame({"x": [2.0], "y": [0.5]}).to_csv(csv, index=False)
    capsys.readouterr()
    assert main(["predict", str(art), str(csv)]) == 2
    assert "outside the domain" in capsys.readouterr().err
