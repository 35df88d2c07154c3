"""Fuzzing ``glassnet train`` and ``glassnet predict`` with seeded random CSV files (slow).

Every outcome must be exit status 0, or exit status 2 with exactly one line on stderr (never a
traceback), and a failed run must leave its outputs byte for byte as they were. Run with
``pytest -m slow -s tests/test_cli_fuzz.py`` to see the counts.
"""

import collections
import contextlib
import io
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from glassnet import cli

#: how many files, and the seed that draws them (set GLASSNET_FUZZ_SEED to explore others)
CASES = int(os.environ.get("GLASSNET_FUZZ_CASES", "1000"))
SEED = int(os.environ.get("GLASSNET_FUZZ_SEED", "20240611"))


def snapshot(folder):
    """Each file's bytes and mode, each link's target, the kind of anything else."""
    found = {}
    if not os.path.lexists(folder):
        return None
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(root, name)
            mode = os.lstat(path).st_mode
            key = os.path.relpath(path, folder)
            if stat.S_ISREG(mode):
                found[key] = ("file", Path(path).read_bytes(), stat.S_IMODE(mode))
            else:
                found[key] = ("other", stat.S_IFMT(mode))
    return found


# ====================================================================== random CSV files
HUGE = ["1e300", "-1e300", "1.7e308", "-1.7e308", "1e-320", "5e-324", "-0", "1e200", "3e38"]
ODD = ["inf", "-inf", "nan", "NaN", "", " ", "?", "NA", "12..5", "1,5", "1e400", "0x10", "½"]


def _number(rng, mode):
    """A feature value: a plain number; in ``odd`` mode sometimes not one; in ``extreme`` mode
    sometimes one of the largest or smallest."""
    if mode == "odd" and rng.random() < 0.08:
        return str(rng.choice(ODD))
    if mode == "extreme" and rng.random() < 0.2:
        return str(rng.choice(HUGE))
    if rng.random() < 0.05:
        return str(int(rng.integers(-3, 4)))
    return f"{rng.normal() * 10.0 ** rng.integers(-2, 3):.6g}"


def _label(rng, kind):
    if kind == "classes":
        return str(int(rng.integers(0, 3)))
    if kind == "text":
        return str(rng.choice(["cat", "dog", "émeu", "a b", '"q"', "x,y"]))
    if kind == "one class":
        return "7"
    return f"{rng.normal() * 10.0 ** rng.integers(0, 8):.6g}"  # regression, sometimes huge


def _cell(text):
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def random_csv(rng):
    """``(bytes, what it is)``: a CSV file, or something posing as one."""
    shape = rng.integers(20)
    if shape == 0:
        return b"", "empty"
    if shape == 1:
        return rng.bytes(int(rng.integers(1, 300))), "binary junk"
    if shape == 2:
        return b"   \n\n \r\n", "blank"
    n_features = int(rng.integers(1, 4))
    names = [*["a", "b", "c"][:n_features], "y"]
    if rng.random() < 0.05:
        names[int(rng.integers(len(names)))] = names[0]  # a duplicate
    if rng.random() < 0.03:
        names[0] = ""
    if rng.random() < 0.05:
        names = [name.upper() if rng.random() < 0.5 else name for name in names]
    target = str(rng.choice(["classes"] * 4 + ["text", "regression", "regression", "one class"]))
    n_rows = int(rng.choice([0, 1, 2, 3, 5, 12, 30, 30]))
    mode = str(rng.choice(["clean", "odd", "extreme"], p=[0.5, 0.3, 0.2]))
    rows = [[_cell(name) for name in names]]
    for _ in range(n_rows):
        row = [_number(rng, mode) for _ in range(n_features)]
        label = _label(rng, target)
        if target == "regression" and mode != "clean" and rng.random() < 0.1:
            label = _number(rng, mode)
        row.append(_cell(label))
        if rng.random() < 0.02:  # ragged
            row = row[:-1] if rng.random() < 0.5 else [*row, "1"]
        if rng.random() < 0.03:  # a quoted value with a newline
            row[0] = '"' + row[0] + '\n"'
        rows.append(row)
    separator = str(rng.choice([","] * 8 + [";", "\t"]))
    newline = str(rng.choice(["\n", "\n", "\r\n"]))
    lines = [separator.join(row) for row in rows]
    for _ in range(int(rng.integers(0, 3))):  # blank lines anywhere
        lines.insert(int(rng.integers(0, len(lines) + 1)), "")
    text = newline.join(lines) + (newline if rng.random() < 0.8 else "")
    if rng.random() < 0.03:
        text += "x" * 200_000  # longer than the csv module's field limit
    if rng.random() < 0.03:
        spot = int(rng.integers(0, len(text) + 1))
        text = text[:spot] + "\x00" + text[spot:]
    encoding = str(rng.choice(["utf-8"] * 8 + ["utf-8-sig", "utf-16", "latin-1", "cp1252"]))
    data = text.encode(encoding, errors="replace")
    if rng.random() < 0.03:
        data += rng.bytes(int(rng.integers(1, 40)))
    return data, f"{target}, {mode}, {n_rows} rows, {separator!r}, {encoding}"


# ====================================================================== running the command
def run(argv):
    """``glassnet ARGV`` in this process → (status, stdout, stderr, exception or None)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main([str(a) for a in argv])
            problem = None
        except BaseException as error:  # any escape is a finding
            status, problem = None, error
    return status, out.getvalue(), err.getvalue(), problem


def judge(kind, status, err, problem, before, after):
    """``(outcome, finding or None)``."""
    if problem is not None:
        return "escaped", f"{type(problem).__name__}: {problem}"
    if "Traceback" in err:
        return "traceback", err[-500:]
    if status == 0:
        return "ok", None
    lines = err.strip().splitlines()
    if status != 2:
        return "status", f"exit status {status}: {err[-300:]}"
    if len(lines) != 1 or not lines[0].startswith(f"glassnet {kind}: error: "):
        return "lines", err[-500:]
    if after != before:
        return "half-written", f"{lines[0]}: outputs changed"
    return "error", None


def _train_flags(rng):
    flags = ["--epochs", int(rng.integers(1, 3)), "--hidden", "3", "--quiet"]
    flags += ["--batch-size", int(rng.choice([1, 8, 32]))]
    for flag, chance in (("--standardize", 0.3), ("--standardize-target", 0.1)):
        if rng.random() < chance:
            flags.append(flag)
    if rng.random() < 0.2:
        flags += ["--task", str(rng.choice(["classification", "regression"]))]
    if rng.random() < 0.2:
        flags += ["--validation-split", str(rng.choice(["0", "0.5"]))]
    if rng.random() < 0.1:
        flags += ["--dtype", "float32"]
    return flags


def _existing_outputs(folder, rng):
    """An --out folder that already holds files (and, sometimes, a folder in the way)."""
    folder.mkdir()
    (folder / "history.csv").write_text("old history\n")
    (folder / "model.safetensors").write_bytes(b"an older model")
    (folder / "notes.txt").write_text("the user's own file\n")
    if rng.random() < 0.1:
        (folder / "loss.png").mkdir()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A classifier and a regressor (target standardised) on features a and b."""
    folder = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 2))
    lines = ["a,b,y,z"] + [f"{a:.4f},{b:.4f},{int(a > b)},{1e4 * (a - b):.2f}" for a, b in x]
    data = folder / "train.csv"
    data.write_text("\n".join(lines) + "\n")
    found = []
    for target, extra in (("y", []), ("z", ["--standardize-target"])):
        out = folder / target
        argv = ["train", "--data", data, "--target", target, "--epochs", "2", "--hidden", "3"]
        status, _, err, problem = run([*argv, "--standardize", *extra, "--quiet", "--out", out])
        assert status == 0 and problem is None, err
        found.append(out / "model.safetensors")
    return found


@pytest.mark.slow
def test_random_csv_files_fail_in_one_line_and_leave_outputs_whole(tmp_path, models):
    rng = np.random.default_rng(SEED)
    counts = collections.Counter()
    kinds = collections.Counter()
    messages = collections.Counter()
    findings = []
    for case in range(CASES):
        data, what = random_csv(rng)
        kinds[what.split(",")[0]] += 1
        folder = tmp_path / f"case{case}"
        folder.mkdir()
        path = folder / "data.csv"
        path.write_bytes(data)
        # train, into an --out that already holds files
        out = folder / "out"
        if rng.random() < 0.7:
            _existing_outputs(out, rng)
        argv = ["train", "--data", path, "--target", "y" if rng.random() < 0.95 else "Y"]
        before = snapshot(out)
        status, _, err, problem = run([*argv, *_train_flags(rng), "--out", out])
        outcome, finding = judge("train", status, err, problem, before, snapshot(out))
        counts[f"train {outcome}"] += 1
        if outcome == "error":
            message = err.split(": error: ", 1)[1].replace(str(path), "CSV")
            messages[" ".join(message.split()[:5])] += 1
        if finding:
            findings.append((case, what, "train", finding))
        # predict, into an --output that already exists
        model = models[int(rng.integers(len(models)))]
        output = folder / "predictions.csv"
        output.write_text("older predictions\n")
        before = snapshot(folder / "predictions.csv")
        status, _, err, problem = run(["predict", model, path, "--output", output])
        outcome, finding = judge("predict", status, err, problem, before, snapshot(output))
        counts[f"predict {outcome}"] += 1
        if finding:
            findings.append((case, what, "predict", finding))
        shutil.rmtree(folder)
    print(f"\nCSV fuzz: {CASES} files (seed {SEED}), each given to train and to predict")
    for name, count in sorted(counts.items()):
        print(f"  {name}: {count}")
    print("  files: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print("  commonest errors: " + "; ".join(f"{k} ({v})" for k, v in messages.most_common(8)))
    assert not findings, "\n".join(map(str, findings[:10]))
    assert (
        counts["train ok"] >= CASES // 10 and counts["predict ok"] >= CASES // 20
    )  # not all refused
