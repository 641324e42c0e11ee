"""The command line: the whole loop, and one clear line for a user error."""

import io
import pathlib

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


# -- issue 19: what a lecturer ran into ------------------------------------------------------------
GOLDEN = pathlib.Path(__file__).parent / "golden"
PARABOLOID = str(GOLDEN / "paraboloid_silu.surrogate")  # z = x^2 + y^2 on [0, 1]^2


def _fail_if_trained(monkeypatch):
    def train(*a, **k):
        raise AssertionError("trained before checking -o")

    monkeypatch.setattr("surrogate.training.loop.train", train)


@pytest.mark.parametrize("where,fragment", [
    ("missing/p.surrogate", "the folder '{tmp}/missing' does not exist; create it first (mkdir -p {tmp}/missing)"),
    ("", "-o '{tmp}' is a folder; give a file path in it, e.g. -o {tmp}/paraboloid.surrogate"),
    ("afile/p.surrogate", "'{tmp}/afile' is a file, not a folder"),
], ids=["missing-folder", "a-folder", "under-a-file"])
def test_train_checks_the_output_path_before_training(tmp_path, capsys, monkeypatch, where, fragment):
    _fail_if_trained(monkeypatch)
    (tmp_path / "afile").write_text("")
    out = str(tmp_path / where) if where else str(tmp_path)
    assert main(["train", "seeds:paraboloid", "-o", out, "--max-steps", "5", "-q"]) == 2
    err = capsys.readouterr().err
    assert fragment.format(tmp=tmp_path) in err and "Traceback" not in err


def test_a_model_whose_folder_went_away_is_saved_elsewhere(tmp_path, capsys, monkeypatch):
    import surrogate as sg

    gone = tmp_path / "gone"
    gone.mkdir()
    model = sg.load(PARABOLOID)

    def train(*a, **k):
        gone.rmdir()  # the folder disappears while training
        model.info = {"stop": "max_steps", "steps": 1, "seconds": 0.0, "device": "cpu"}
        return model

    monkeypatch.setattr("surrogate.training.loop.train", train)
    monkeypatch.setattr("surrogate.checking.verify.verify", lambda m, **k: m.certificate)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    assert main(["train", "seeds:paraboloid", "-o", str(gone / "p.surrogate"), "-q"]) == 0
    err = capsys.readouterr().err
    spare = err.split("saved the model to ")[1].split()[0]
    assert sg.load(spare).inputs == ["x", "y"]


def _predict(tmp_path, capsys, text, *flags):
    csv = tmp_path / "in.csv"
    csv.write_text(text)
    code = main(["predict", PARABOLOID, str(csv), *flags])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("text,fragment", [
    ("", "is empty; give a header line naming the inputs"),
    ("x,y\n", "has a header (x, y) but no rows"),
], ids=["empty", "header-only"])
def test_predict_refuses_an_empty_csv(tmp_path, capsys, text, fragment):
    code, _, err = _predict(tmp_path, capsys, text)
    assert code == 2 and fragment in err and "Traceback" not in err


def test_predict_names_the_file_line_and_the_real_flag(tmp_path, capsys):
    # header = line 1; the blank line 3 is skipped by the reader but still counted
    code, _, err = _predict(tmp_path, capsys, "x,y\n0.1,0.2\n\n0.5,1.5\n")
    assert code == 2
    assert "line 4: y = 1.5 not in [0, 1]" in err
    assert "pass --allow-outside to extrapolate anyway, or --skip-bad-rows for NaN there" in err
    assert "outside=" not in err
    code, _, err = _predict(tmp_path, capsys, "x,y\n0.1,0.2\n0.5,\n")
    assert code == 2 and "input y is NaN at line 3" in err and "--skip-bad-rows" in err


def test_predict_names_a_non_numeric_cell(tmp_path, capsys):
    code, _, err = _predict(tmp_path, capsys, "x,y\n0.1,0.2\n0.3,0.4\n0.5,abc\n")
    assert code == 2
    assert "line 4, column y: 'abc' is not a number (1 such cell(s) in all)" in err and "--skip-bad-rows" in err


def test_predict_can_skip_bad_rows(tmp_path, capsys):
    text = "x,y\n0.1,0.2\n0.5,abc\n0.3,\n2.0,0.5\n0.4,0.4\n"
    code, out, err = _predict(tmp_path, capsys, text, "--skip-bad-rows")
    assert code == 0
    assert ("skipped 3 of 5 rows, writing NaN for them: 2 with a cell that is empty or not a number, "
            "1 outside the domain (line 3, line 4, line 5)") in err
    z = pd.read_csv(io.StringIO(out))["z"]
    assert z.isna().tolist() == [False, True, True, True, False] and z[0] > 0
    code, out, err = _predict(tmp_path, capsys, text, "--skip-bad-rows", "--allow-outside")
    assert code == 0 and "skipped 2 of 5 rows" in err
    assert pd.read_csv(io.StringIO(out))["z"].isna().tolist() == [False, True, True, False, False]


def test_predict_checks_its_output_path_first(tmp_path, capsys):
    code, _, err = _predict(tmp_path, capsys, "x,y\n0.1,0.2\n", "-o", str(tmp_path / "no" / "out.csv"))
    assert code == 2 and f"the folder '{tmp_path}/no' does not exist" in err


def test_verify_options_have_help(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--points POINTS quasi-random points of the dense check" in text
    assert "--seed SEED seeds the dense sample and the search" in text


def test_a_closed_pipe_ends_list_quietly():
    """`surrogate list | head`: the reader closes the pipe early; no traceback, status 0."""
    import subprocess
    import sys

    code = "import sys; from surrogate.interface.cli import main; sys.exit(main(['list']))"
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        proc.stdout.readline()
        proc.stdout.close()  # as `head -1` does
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 0 and "Traceback" not in err and "BrokenPipe" not in err, err


def test_every_command_line_option_has_help():
    import argparse

    from surrogate.interface.cli import build_parser

    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    bare = [f"{name} {' / '.join(a.option_strings) or a.dest}"
            for name, sub in subs.choices.items() for a in sub._actions
            if not isinstance(a, argparse._HelpAction) and not a.help]
    bare += [f"the command {c.dest}" for c in subs._choices_actions if not c.help]
    assert not bare, f"options without help text: {bare}"
