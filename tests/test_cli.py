import contextlib
import csv
import errno
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

import glassnet as gn
from glassnet import cli, experiments
from glassnet.model import kernels

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
GLASSNET = [sys.executable, "-m", "glassnet"]


def glassnet(*args, cwd=None, check=True):
    result = subprocess.run(
        [sys.executable, "-m", "glassnet", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV,
    )
    if check:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    return result


def assert_png(path):
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image.std() > 0.01  # not a blank picture


@pytest.fixture(scope="module")
def csv_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("csv")
    rng = np.random.default_rng(0)
    with open(folder / "flowers.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["petal", "sepal", "species"])
        for _ in range(240):
            kind = rng.integers(0, 3)
            writer.writerow(
                [
                    round(kind + rng.normal(0, 0.3), 3),
                    round(0.5 * kind + rng.normal(0, 0.3), 3),
                    ["setosa", "versicolor", "virginica"][kind],
                ]
            )
    with open(folder / "houses.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["size", "rooms", "price"])
        for _ in range(200):
            size, rooms = rng.uniform(50, 200), rng.integers(1, 6)
            writer.writerow(
                [round(size, 1), rooms, round(3 * size + 10 * rooms + rng.normal(0, 5), 2)]
            )
    return folder


def test_demo_end_to_end(tmp_path):
    result = glassnet("demo", "--epochs", "3", "--seed", "2", "--out", tmp_path / "demo")
    out = tmp_path / "demo"
    assert sorted(p.name for p in out.iterdir()) == [
        "data.png",
        "decision_boundary.png",
        "dynamics.png",
        "history.csv",
        "loss.png",
        "metrics.json",
        "model.safetensors",
        "monitor.csv",
        "monitor.json",
        "network.png",
        "neurons.png",
        "page.html",
        "snapshots.safetensors",
        "training.gif",
    ]
    for name in ("data.png", "loss.png", "decision_boundary.png", "dynamics.png", "neurons.png"):
        assert_png(out / name)
    assert "diagnosis (glassnet.diagnose" in result.stdout
    assert "a logistic regression scores" in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and metrics["seed"] == 2 and "numpy" in metrics["versions"]
    compiled = kernels.unavailable() is None
    assert metrics["backend"] == "auto"
    assert metrics["training_path"] == ("numba-sample" if compiled else "numpy")
    # the kernel is made ready before the clock starts, its time said and kept apart
    assert (metrics["kernel_ready_seconds"] is not None) == compiled
    assert ("compiled kernels ready in" in result.stdout) == compiled
    assert "test accuracy: " in result.stdout and "training time" in result.stdout
    assert "3/3" in result.stderr  # the progress bar
    rows = list(csv.DictReader(open(out / "history.csv")))
    assert len(rows) == 3 and {"epoch", "loss", "val_loss", "val_accuracy"} <= set(rows[0])
    # the saved model predicts what the run measured
    model = gn.load(out / "model.safetensors")
    _, x_test, _, y_test = experiments.moons_split(2)
    assert model.accuracy(x_test, y_test) == metrics["test_accuracy"]
    assert float(rows[-1]["loss"]) == model.history.loss[-1]


def test_train_predict_evaluate_on_csv(tmp_path, csv_files):
    out = tmp_path / "flowers"
    result = glassnet(
        "train",
        "--data",
        csv_files / "flowers.csv",
        "--target",
        "species",
        "--epochs",
        "20",
        "--lr",
        "0.01",
        "--out",
        out,
        "--quiet",
    )
    assert "classification (the target 'species' holds text labels)" in result.stdout
    assert {
        "data.png",
        "loss.png",
        "decision_boundary.png",
        "model.safetensors",
        "metrics.json",
        "history.csv",
        "monitor.json",
        "monitor.csv",
        "dynamics.png",
        "network.png",
        "neurons.png",
        "snapshots.safetensors",
        "training.gif",
    } == {p.name for p in out.iterdir()}
    for name in ("data.png", "loss.png", "decision_boundary.png", "network.png", "neurons.png"):
        assert_png(out / name)
    assert "diagnosis (glassnet.diagnose" in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["validation"]["accuracy"] > 0.8
    compiled = kernels.unavailable() is None
    assert metrics["training_path"] == ("numba-batch" if compiled else "numpy")
    assert (metrics["kernel_ready_seconds"] is not None) == compiled
    predictions = glassnet(
        "predict", out / "model.safetensors", csv_files / "flowers.csv"
    ).stdout.splitlines()
    assert (
        predictions[0]
        == "prediction,probability_setosa,probability_versicolor,probability_virginica"
    )
    assert len(predictions) == 241 and predictions[1].split(",")[0] in {
        "setosa",
        "versicolor",
        "virginica",
    }
    scores = json.loads(
        glassnet(
            "evaluate", out / "model.safetensors", csv_files / "flowers.csv", "--target", "species"
        ).stdout
    )
    assert scores["samples"] == 240 and scores["accuracy"] > 0.8
    # the model file loads and predicts in Python what the command line printed
    model = gn.load(out / "model.safetensors")
    x = np.loadtxt(csv_files / "flowers.csv", delimiter=",", skiprows=1, usecols=(0, 1))
    classes = model.metadata["cli"]["classes"]
    assert [classes[i] for i in model.predict(x)] == [
        line.split(",")[0] for line in predictions[1:]
    ]


def test_regression_csv_with_standardisation(tmp_path, csv_files):
    out = tmp_path / "houses"
    glassnet(
        "train",
        "--data",
        csv_files / "houses.csv",
        "--target",
        "price",
        "--standardize",
        "--epochs",
        "60",
        "--lr",
        "0.01",
        "--out",
        out,
        "--quiet",
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "regression" and metrics["validation"]["r2"] > 0.8
    assert not (out / "decision_boundary.png").exists()
    glassnet(
        "predict",
        out / "model.safetensors",
        csv_files / "houses.csv",
        "--output",
        tmp_path / "pred.csv",
    )
    predicted = np.loadtxt(tmp_path / "pred.csv", skiprows=1)
    truth = np.loadtxt(csv_files / "houses.csv", delimiter=",", skiprows=1, usecols=2)
    assert np.corrcoef(predicted, truth)[0, 1] > 0.9
    scores = json.loads(
        glassnet(
            "evaluate", out / "model.safetensors", csv_files / "houses.csv", "--target", "price"
        ).stdout
    )
    assert scores["r2"] > 0.8


@pytest.mark.parametrize(
    "dataset", ["iris", "circles", "blobs", "spirals", "xor", "wine", "digits", "breast_cancer"]
)
def test_builtin_datasets(tmp_path, dataset):
    args = [
        "--dataset",
        dataset,
        "--epochs",
        "2",
        "--out",
        tmp_path / dataset,
        "--quiet",
        "--standardize",
    ]
    assert cli.main(["train", *map(str, args)]) == 0
    metrics = json.loads((tmp_path / dataset / "metrics.json").read_text())
    assert metrics["task"] == "classification" and metrics["epochs"] == 2
    assert (tmp_path / dataset / "decision_boundary.png").exists() == (
        dataset in ("circles", "blobs", "spirals", "xor")
    )


def test_ctrl_c_then_resume_matches_an_uninterrupted_run(tmp_path):
    settings = [
        "--dataset",
        "moons",
        "--batch-size",
        "1",
        "--epochs",
        "12",
        "--seed",
        "3",
        "--quiet",
    ]
    glassnet("train", *settings, "--out", tmp_path / "straight")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "glassnet",
            "train",
            *settings,
            "--out",
            tmp_path / "part",
            "--checkpoint",
            tmp_path / "run.ckpt",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    while not (tmp_path / "run.ckpt").exists():
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate()
    assert process.returncode == 130, stderr  # like any command stopped by Ctrl-C
    assert "interrupted (Ctrl-C)" in stderr and "checkpoint saved" in stderr
    assert f"continue with: glassnet train --resume {tmp_path / 'run.ckpt'}" in stderr
    assert "glassnet.resume" not in stderr
    assert json.loads((tmp_path / "part" / "metrics.json").read_text())["interrupted"] is True
    glassnet("train", "--resume", tmp_path / "run.ckpt", "--out", tmp_path / "resumed", "--quiet")
    straight = gn.load(tmp_path / "straight" / "model.safetensors")
    resumed = gn.load(tmp_path / "resumed" / "model.safetensors")
    assert len(resumed.history) == 12
    np.testing.assert_array_equal(resumed.parameters, straight.parameters)
    assert resumed.history.loss == straight.history.loss


BAD = [
    (["train", "--data", "{d}/nope.csv", "--target", "y"], "no such file or folder: .*nope.csv"),
    (
        ["train", "--data", "{d}/bad.csv", "--target", "y"],
        r"bad.csv, column 'b', line 3: 'x' is not a finite number",
    ),
    (["train", "--data", "{d}/missing.csv", "--target", "y"], r"column 'b', line 3: missing value"),
    (
        ["train", "--data", "{d}/ragged.csv", "--target", "y"],
        r"line 3: 2 values, but the header has 3 columns",
    ),
    (["train", "--data", "{d}/empty.csv", "--target", "y"], "is empty"),
    (["train", "--data", "{d}/binary.csv", "--target", "y"], "is not UTF-8 text"),
    (
        ["train", "--data", "{d}/bad.csv", "--target", "zz"],
        "has no column 'zz'; its columns are: a, b, y",
    ),
    (["train", "--data", "{d}/bad.csv"], "--data needs --target"),
    (["train", "--data", "{d}/one_class.csv", "--target", "y"], "single class"),
    (["train", "--dataset", "mnist"], "invalid choice: 'mnist'"),
    (
        ["train", "--dataset", "moons", "--activation", "swish"],
        "unknown activation 'swish'; choose from",
    ),
    (["train", "--dataset", "moons", "--loss", "hinge"], "unknown loss 'hinge'; choose from"),
    (["train", "--dataset", "moons", "--optimizer", "rmsprop"], "unknown optimizer 'rmsprop'"),
    (["train", "--dataset", "moons", "--hidden", "25,0"], "layer sizes must be positive"),
    (["train", "--dataset", "moons", "--batch-size", "0"], "expected a positive integer, got '0'"),
    (
        ["train", "--dataset", "moons", "--validation-split", "1"],
        r"expected a fraction in \[0, 1\)",
    ),
    (
        ["train", "--dataset", "moons", "--loss", "huber"],
        "is for regression, but the task is classification",
    ),
    (["train", "--dataset", "moons", "--n-samples", "2"], "n_samples must be >= 4"),
    (["train", "--dataset", "moons", "--loss", "binary_cross_entropy", "--hidden", "4"], None),
    (
        ["train", "--dataset", "blobs", "--loss", "binary_cross_entropy"],
        "needs 2 classes; the target has 3",
    ),
    (["train"], "give --data CSV --target COLUMN, or --dataset NAME"),
    (["train", "--resume", "{d}/bad.csv"], "is not a valid glassnet model file"),
    (["predict", "{d}/nope.safetensors", "{d}/bad.csv"], "no such file"),
    (["predict", "{d}/bad.csv", "{d}/bad.csv"], "is not a valid glassnet model file"),
    (["evaluate", "{d}/bad.csv", "{d}/bad.csv"], "the following arguments are required: --target"),
    (["demo", "--epochs", "0"], "expected a positive integer"),
    (
        ["train", "--dataset", "moons", "--epochs", "1e23"],
        "expected a positive integer, got '1e23'",
    ),
    (
        ["train", "--dataset", "moons", "--epochs", "100000000000000000000000"],
        "expected a positive integer no larger than 2147483647, got '100000000000000000000000'",
    ),
    (["nonsense"], "invalid choice"),
]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    (folder / "bad.csv").write_text("a,b,y\n1,2,0\n3,x,1\n")
    (folder / "missing.csv").write_text("a,b,y\n1,2,0\n3,,1\n")
    (folder / "ragged.csv").write_text("a,b,y\n1,2,0\n3,1\n")
    (folder / "empty.csv").write_text("")
    (folder / "binary.csv").write_bytes(b"\xff\xfe\x00\x81bin")
    (folder / "one_class.csv").write_text("a,b,y\n1,2,0\n3,4,0\n5,6,0\n")
    return folder


@pytest.mark.parametrize(("args", "match"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_errors_are_one_line_exit_2_and_leave_no_output(tmp_path, bad_files, capsys, args, match):
    out = tmp_path / "out"
    argv = [a.format(d=bad_files) for a in args]
    if argv[0] in ("train", "demo"):
        argv += (
            ["--out", str(out), "--epochs", "1", "--quiet"]
            if "--epochs" not in argv
            else ["--out", str(out), "--quiet"]
        )
    try:
        status = cli.main(argv)
    except SystemExit as exit:  # argparse's own errors
        status = exit.code
    captured = capsys.readouterr()
    if match is None:  # a valid combination, for contrast
        assert status == 0
        return
    assert status == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("glassnet")
    assert re.search(match, lines[0]), lines[0]
    assert not out.exists()


def test_errors_in_a_subprocess_have_no_traceback(tmp_path, bad_files):
    for args in (
        ["train", "--data", bad_files / "bad.csv", "--target", "y", "--out", tmp_path / "o"],
        ["predict", bad_files / "bad.csv", bad_files / "bad.csv"],
    ):
        result = glassnet(*args, check=False)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["demo", "train", "predict", "evaluate", "study"])
def test_help_documents_every_flag_with_its_default(command, capsys):
    parser = cli.build_parser()
    with pytest.raises(SystemExit) as exit:
        parser.parse_args([command, "--help"])
    assert exit.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    subparser = parser._subparsers._group_actions[0].choices[command]
    for action in subparser._actions:
        if not action.option_strings or action.dest == "help":
            continue
        assert action.option_strings[-1] in text
        if action.default not in (None, False):
            assert f"default: {action.default}" in text or "default" in (action.help or ""), (
                action.dest
            )


# ====================================================================== outputs, memory, resume...
QUICK = ["--epochs", "2", "--hidden", "4", "--quiet"]


def run_cli(capsys, *args):
    """``glassnet ARGS`` in this process → (exit status, stdout, stderr)."""
    try:
        status = cli.main([str(a) for a in args])
    except SystemExit as exit:  # argparse's own errors
        status = exit.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status, err, match):
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("glassnet") and "error:" in lines[0]
    assert re.search(match, lines[0]), lines[0]


def snapshot(folder):
    """Everything under ``folder``: each file's bytes and mode, each link's target, the kind of
    anything else."""
    found = {}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(root, name)
            mode = os.lstat(path).st_mode
            key = os.path.relpath(path, folder)
            if stat.S_ISLNK(mode):
                found[key] = ("link", os.readlink(path))
            elif stat.S_ISDIR(mode):
                found[key] = ("folder",)
            elif stat.S_ISREG(mode):
                found[key] = ("file", Path(path).read_bytes(), stat.S_IMODE(mode))
            else:
                found[key] = ("other", stat.S_IFMT(mode))
    return found


def stages(folder):
    return [p.name for p in Path(folder).iterdir() if p.name.startswith(".glassnet-stage")]


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    """60 rows: features a, b; integer labels y (0 or 1)."""
    path = tmp_path_factory.mktemp("small") / "small.csv"
    rng = np.random.default_rng(1)
    rows = ["a,b,y"]
    for _ in range(60):
        a, b = rng.normal(size=2)
        rows.append(f"{a:.4f},{b:.4f},{int(a + b > 0)}")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def small_model(tmp_path_factory, small_csv):
    out = tmp_path_factory.mktemp("small_model")
    argv = ["train", "--data", str(small_csv), "--target", "y", *QUICK, "--out", str(out)]
    assert cli.main(argv) == 0
    return out / "model.safetensors"


def test_the_briefs_example_leaves_out_as_it_was(tmp_path, small_csv, capsys):
    out = tmp_path / "out"
    (out / "loss.png").mkdir(parents=True)
    (out / "history.csv").write_text("old\n")
    before = snapshot(tmp_path)
    status, stdout, err = run_cli(
        capsys, "train", "--data", small_csv, "--target", "y", "--epochs", "2", "--out", out
    )
    assert_one_line_error(status, err, rf"{re.escape(str(out / 'loss.png'))} is a folder")
    assert "training on" not in stdout  # found before training
    assert snapshot(tmp_path) == before
    assert (out / "history.csv").read_text() == "old\n"


@pytest.mark.parametrize(
    "problem", ["folder", "fifo", "out is a file", "unwritable", "uncreatable"]
)
def test_output_problems_are_found_before_training(
    tmp_path, small_csv, capsys, monkeypatch, problem
):
    out = tmp_path / "out"
    out.mkdir()
    (out / "history.csv").write_text("old\n")
    (out / "mine.txt").write_text("not glassnet's\n")
    if problem == "folder":
        (out / "model.safetensors").mkdir()
        match = r"out/model.safetensors is a folder, but glassnet train writes a file"
    elif problem == "fifo":
        os.mkfifo(out / "metrics.json")
        match = r"out/metrics.json exists and is not a regular file"
    elif problem == "out is a file":
        out = out / "mine.txt"
        match = r"--out .*mine.txt is a file, not a folder"
    elif problem == "unwritable":  # chmod does not stop root, so the check itself is told
        access = os.access
        monkeypatch.setattr(
            os, "access", lambda p, *a, **k: os.fspath(p) != str(out) and access(p, *a, **k)
        )
        match = r"cannot write into --out .*out: permission denied"
    else:
        out = out / "mine.txt" / "sub"
        match = r"cannot create --out .*sub: .*mine.txt is not a folder"
    before = snapshot(tmp_path)
    status, stdout, err = run_cli(
        capsys, "train", "--data", small_csv, "--target", "y", *QUICK, "--out", out
    )
    assert_one_line_error(status, err, match)
    assert "training on" not in stdout
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("exists", [True, False])
def test_a_failed_move_puts_everything_back(tmp_path, small_csv, capsys, monkeypatch, exists):
    from glassnet.cli import outputs

    out = tmp_path / "out" if exists else tmp_path / "new" / "nested" / "out"
    if exists:
        out.mkdir()
        (out / "history.csv").write_text("old\n")
        (out / "data.png").write_bytes(b"old picture")
    before = snapshot(tmp_path)
    move, moved = outputs._move, []

    def fail_on_the_fifth(source, target):
        moved.append(target)
        # after data.png, decision_boundary.png, dynamics.png and history.csv
        if len(moved) == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        move(source, target)

    monkeypatch.setattr(outputs, "_move", fail_on_the_fifth)
    status, _, err = run_cli(
        capsys, "train", "--data", small_csv, "--target", "y", *QUICK, "--out", out
    )
    assert_one_line_error(
        status, err, rf"cannot write {re.escape(str(out))}/loss.png: No space left on device; "
    )
    assert ".glassnet-stage" not in err and "is left as it was" in err
    assert snapshot(tmp_path) == before


def test_errors_in_the_staging_folder_name_the_users_path(tmp_path, small_csv, capsys, monkeypatch):
    from glassnet.cli import train

    def refuse(network, path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(train, "save", refuse)
    out = tmp_path / "out"
    status, _, err = run_cli(
        capsys, "train", "--data", small_csv, "--target", "y", *QUICK, "--out", out
    )
    assert_one_line_error(
        status, err, rf"cannot write {re.escape(str(out))}/model.safetensors: Permission denied"
    )
    assert ".glassnet-stage" not in err and not out.exists() and not stages(tmp_path)


def test_a_figure_that_cannot_be_drawn_does_not_cost_the_model(
    tmp_path, small_csv, capsys, monkeypatch
):
    from glassnet import plotting

    def cannot(*args, **kwargs):
        raise ValueError("Axis limits cannot be NaN or Inf")

    monkeypatch.setattr(plotting, "plot_data", cannot)
    out = tmp_path / "out"
    out.mkdir()
    (out / "data.png").write_bytes(b"an older run's picture")
    status, stdout, err = run_cli(
        capsys, "train", "--data", small_csv, "--target", "y", *QUICK, "--out", out
    )
    assert status == 0
    assert err == (
        "glassnet: note: data.png was not drawn (ValueError: Axis limits cannot be NaN or Inf)\n"
    )
    assert not (out / "data.png").exists()  # the old one would belong to another run
    assert (out / "model.safetensors").exists() and "data.png" not in stdout


def test_links_in_out_are_written_through(tmp_path, small_csv, capsys):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (elsewhere / "history.csv").write_text("old\n")
    (out / "history.csv").symlink_to(elsewhere / "history.csv")
    status, _, err = run_cli(
        capsys, "train", "--data", small_csv, "--target", "y", *QUICK, "--out", out
    )
    assert status == 0, err
    assert (out / "history.csv").is_symlink()
    assert (elsewhere / "history.csv").read_text().startswith("epoch,loss")
    assert not stages(tmp_path) and not stages(elsewhere)


def test_staging_folders_of_dead_runs_are_removed(tmp_path, small_csv, capsys):
    from glassnet.cli import outputs

    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    tag = outputs._host_tag()
    dead = tmp_path / f".glassnet-stage-{finished.pid}-{tag}-abcdefgh"
    dead.mkdir()
    (dead / "model.safetensors").write_bytes(b"half written")
    alive = tmp_path / f".glassnet-stage-{os.getppid()}-{tag}-abcdefgh"
    alive.mkdir()
    status, _, err = run_cli(
        capsys, "train", "--data", small_csv, "--target", "y", *QUICK, "--out", tmp_path / "out"
    )
    assert status == 0, err
    assert stages(tmp_path) == [alive.name]


def test_a_killed_run_leaves_a_staging_folder_the_next_run_removes(tmp_path, small_csv, capsys):
    command = ["train", "--dataset", "moons", "--epochs", "100000", "--quiet"]
    process = subprocess.Popen(
        [*GLASSNET, *command, "--out", str(tmp_path / "out")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ENV,
    )
    try:
        deadline = time.monotonic() + 60
        while not stages(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait()
    assert stages(tmp_path)  # SIGKILL leaves it
    status, _, err = run_cli(
        capsys, "train", "--data", small_csv, "--target", "y", *QUICK, "--out", tmp_path / "out"
    )
    assert status == 0, err
    assert not stages(tmp_path)


@pytest.mark.parametrize("problem", ["folder", "no folder", "fifo", "unwritable"])
def test_predict_output_is_checked_before_predicting(
    tmp_path, small_model, small_csv, capsys, monkeypatch, problem
):
    from glassnet.cli import predict

    target = tmp_path / "predictions.csv"
    if problem == "folder":
        target.mkdir()
        match = r"--output .*predictions.csv is a folder; give a file name"
    elif problem == "no folder":
        target = tmp_path / "missing" / "predictions.csv"
        match = r"cannot write --output .*: the folder .*missing does not exist"
    elif problem == "fifo":
        os.mkfifo(target)
        match = r"predictions.csv exists and is not a regular file"
    else:
        access = os.access
        monkeypatch.setattr(
            os, "access", lambda p, *a, **k: os.fspath(p) != str(tmp_path) and access(p, *a, **k)
        )
        match = r"cannot write --output .*: permission denied"

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded before the output was checked")

    monkeypatch.setattr(predict, "load", no_loading)
    status, _, err = run_cli(capsys, "predict", small_model, small_csv, "--output", target)
    assert_one_line_error(status, err, match)


def test_predict_output_dash_is_standard_output(
    tmp_path, small_model, small_csv, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    status, stdout, err = run_cli(capsys, "predict", small_model, small_csv, "--output", "-")
    assert status == 0, err
    assert stdout.splitlines()[0] == "prediction,probability_0,probability_1"
    assert not (tmp_path / "-").exists()


def test_integer_labels_print_as_integers(tmp_path, small_model, small_csv, capsys):
    status, stdout, _ = run_cli(capsys, "predict", small_model, small_csv)
    lines = stdout.splitlines()
    assert status == 0 and lines[0] == "prediction,probability_0,probability_1"
    assert {line.split(",")[0] for line in lines[1:]} <= {"0", "1"}
    assert gn.load(small_model).metadata["cli"]["classes"] == [0, 1]
    status, stdout, _ = run_cli(capsys, "evaluate", small_model, small_csv, "--target", "y")
    assert status == 0 and json.loads(stdout)["samples"] == 60


def test_predict_into_a_closed_pipe_is_quiet(small_model, small_csv):
    read, write = os.pipe()
    os.close(read)  # the reader is gone before glassnet writes: `glassnet predict ... | true`
    try:
        result = subprocess.run(
            [sys.executable, "-m", "glassnet", "predict", str(small_model), str(small_csv)],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
    finally:
        os.close(write)
    assert result.returncode in (0, 141)
    assert result.stderr == ""


GIB = 2**30


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (
            ["--hidden", "100000000"],
            r"not enough memory: a 2-100000000-2 network \(500,000,002 parameters\) needs about "
            r"[\d.]+ TiB, and 16.0 GiB is available \(choose smaller --hidden",
        ),
        (
            ["--n-samples", "1000000000"],
            r"not enough memory: --dataset moons with --n-samples 1000000000 needs about",
        ),
        (
            ["--n-samples", "1000000000000"],
            r"--n-samples: expected a positive integer no larger than 2147483647, "
            r"got '1000000000000'",
        ),
    ],
)
def test_absurd_sizes_are_refused_at_once(tmp_path, capsys, monkeypatch, args, match):
    from glassnet.cli import memory

    monkeypatch.setattr(memory, "available_memory", lambda: 16 * GIB)
    status, stdout, err = run_cli(
        capsys, "train", "--dataset", "moons", *args, "--quiet", "--out", tmp_path / "out"
    )
    assert_one_line_error(status, err, match)
    assert "training on" not in stdout and not (tmp_path / "out").exists()


def test_out_of_memory_is_one_line(tmp_path, capsys, monkeypatch):
    from glassnet.cli import data

    def huge(*args, **kwargs):
        return np.empty(2**58)  # 2 EiB: NumPy's _ArrayMemoryError

    monkeypatch.setattr(data, "load_dataset", huge)
    status, _, err = run_cli(capsys, "train", "--dataset", "moons", "--out", tmp_path / "out")
    assert_one_line_error(status, err, r"out of memory \(unable to allocate 2.00 EiB")


def make_huge(path, magnitude):
    """Column a: values spread over ±``magnitude``."""
    rng = np.random.default_rng(2)
    lines = ["a,b,y"]
    for _ in range(60):
        a, b = rng.normal(size=2)
        lines.append(f"{float(np.tanh(a) * magnitude)!r},{b},{int(b > 0)}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("magnitude", [1e300, 1.7e308])
def test_standardize_huge_features_quietly(tmp_path, capsys, magnitude):
    data = make_huge(tmp_path / "huge.csv", magnitude)
    status, _, err = run_cli(
        capsys,
        "train",
        "--data",
        data,
        "--target",
        "y",
        "--standardize",
        *QUICK,
        "--out",
        tmp_path / "out",
    )
    assert status == 0 and err == ""  # no NumPy warning, no note
    scale = gn.load(tmp_path / "out" / "model.safetensors").metadata["cli"]["standardize"]
    assert 0.1 * magnitude < scale["scale"][0] < magnitude and np.isfinite(scale["mean"][0])


def test_standardize_too_large_features_is_refused_before_training(tmp_path, capsys, monkeypatch):
    from glassnet.cli import data as prepared_data

    # the training part's column a is constant, so its scale is 1, and the held-out value
    # lies 3.4e308 from its mean: too far for a float
    data = tmp_path / "huger.csv"
    data.write_text("a,b,y\n" + "1.7e308,0,0\n1.7e308,1,1\n" * 5 + "-1.7e308,0,1\n")
    monkeypatch.setattr(
        prepared_data, "validation_split", lambda x, y, **k: [x[:-1], x[-1:], y[:-1], y[-1:]]
    )
    status, stdout, err = run_cli(
        capsys,
        "train",
        "--data",
        data,
        "--target",
        "y",
        "--standardize",
        *QUICK,
        "--out",
        tmp_path / "out",
    )
    assert_one_line_error(
        status,
        err,
        r"--standardize: the column 'a' cannot be standardised: its values \(up to 1.7e\+308 in "
        r"size\) are too large",
    )
    assert "training on" not in stdout and not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def large_target_csv(tmp_path_factory):
    """Prices near a million: y = 1e6 + 3e4·a − 2e4·b + noise."""
    path = tmp_path_factory.mktemp("large") / "large.csv"
    rng = np.random.default_rng(3)
    lines = ["a,b,price"]
    for _ in range(200):
        a, b = rng.normal(size=2)
        lines.append(f"{a:.5f},{b:.5f},{1e6 + 3e4 * a - 2e4 * b + rng.normal(0, 100):.2f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_large_regression_target_gets_a_note(tmp_path, capsys, large_target_csv):
    status, _, err = run_cli(
        capsys,
        "train",
        "--data",
        large_target_csv,
        "--target",
        "price",
        *QUICK,
        "--out",
        tmp_path / "out",
    )
    assert status == 0
    assert re.fullmatch(
        r"glassnet: note: the target 'price' has mean [\d.e+]+ and standard deviation [\d.e+]+; "
        r".*--standardize-target usually helps\n",
        err,
    )


def test_standardize_target_is_undone_by_predict_and_evaluate(tmp_path, capsys, large_target_csv):
    out = tmp_path / "out"
    status, _, err = run_cli(
        capsys,
        "train",
        "--data",
        large_target_csv,
        "--target",
        "price",
        "--standardize-target",
        "--epochs",
        "150",
        "--lr",
        "0.01",
        "--hidden",
        "16",
        "--quiet",
        "--out",
        out,
    )
    assert status == 0 and err == ""
    statistics = gn.load(out / "model.safetensors").metadata["cli"]["target_standardize"]
    assert 9.9e5 < statistics["mean"][0] < 1.01e6 and 2e4 < statistics["scale"][0] < 5e4
    status, stdout, _ = run_cli(
        capsys, "evaluate", out / "model.safetensors", large_target_csv, "--target", "price"
    )
    assert status == 0 and json.loads(stdout)["r2"] > 0.95
    status, stdout, _ = run_cli(capsys, "predict", out / "model.safetensors", large_target_csv)
    predicted = np.array(stdout.splitlines()[1:], dtype=float)
    truth = np.loadtxt(large_target_csv, delimiter=",", skiprows=1, usecols=2)
    assert np.abs(predicted - truth).mean() < 0.1 * truth.std()


def test_standardize_target_is_for_regression(tmp_path, capsys, small_csv):
    status, _, err = run_cli(
        capsys,
        "train",
        "--data",
        small_csv,
        "--target",
        "y",
        "--standardize-target",
        *QUICK,
        "--out",
        tmp_path / "out",
    )
    assert_one_line_error(
        status, err, r"--standardize-target is for regression; the task is classification"
    )


MOONS = ["--dataset", "moons", "--n-samples", "200", "--hidden", "8", "--batch-size", "16"]
MOONS += ["--seed", "3", "--quiet"]


@pytest.fixture(scope="module")
def interrupted_checkpoint(tmp_path_factory):
    """A checkpoint of a 6-epoch run stopped by Ctrl-C after 2 epochs, and what the run said."""
    import signal as signals

    from glassnet.cli import train

    folder = tmp_path_factory.mktemp("interrupted")
    checkpoint = folder / "run.ckpt"
    original = train.train_quietly

    def interrupt_after_two_epochs(network, *args, **kwargs):
        def press_ctrl_c(network, epoch, logs):
            if epoch == 1:
                signals.raise_signal(signals.SIGINT)

        callbacks = [*kwargs.pop("callbacks", []), press_ctrl_c]
        return original(network, *args, callbacks=callbacks, **kwargs)

    train.train_quietly = interrupt_after_two_epochs
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            command = ["train", *MOONS, "--epochs", "6", "--checkpoint", str(checkpoint)]
            status = cli.main([*command, "--out", str(folder / "part")])
    finally:
        train.train_quietly = original
    return checkpoint, status, stderr.getvalue()


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """The same run, 8 epochs without a stop."""
    out = tmp_path_factory.mktemp("straight")
    assert cli.main(["train", *MOONS, "--epochs", "8", "--out", str(out)]) == 0
    return gn.load(out / "model.safetensors")


def test_ctrl_c_in_train_exits_130_and_says_how_to_resume(interrupted_checkpoint):
    checkpoint, status, err = interrupted_checkpoint
    assert status == 130
    assert "training interrupted (Ctrl-C) at the end of epoch 2" in err
    assert err.strip().endswith(f"continue with: glassnet train --resume {checkpoint}")
    assert "glassnet.resume" not in err


@pytest.mark.parametrize("epochs", [None, 3, 8])
def test_resume_honours_epochs(tmp_path, capsys, interrupted_checkpoint, straight_run, epochs):
    checkpoint = tmp_path / "run.ckpt"
    shutil.copyfile(interrupted_checkpoint[0], checkpoint)
    more = [] if epochs is None else ["--epochs", str(epochs)]
    status, stdout, err = run_cli(
        capsys, "train", "--resume", checkpoint, *more, "--quiet", "--out", tmp_path / "out"
    )
    assert status == 0, err
    total = 6 if epochs is None else epochs  # the checkpoint planned 6
    assert f"{total} epochs in all" in stdout
    resumed = gn.load(tmp_path / "out" / "model.safetensors")
    assert len(resumed.history) == total
    assert resumed.history.loss == straight_run.history.loss[:total]
    assert resumed.metadata["cli"]["settings"]["epochs"] == total
    if total == 8:
        np.testing.assert_array_equal(resumed.parameters, straight_run.parameters)
    # the checkpoint now records the finished run
    status, stdout, _ = run_cli(
        capsys, "train", "--resume", checkpoint, "--quiet", "--out", tmp_path / "again"
    )
    assert status == 0 and f"{total} epochs in all" in stdout


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        (["--lr", "0.1"], r"--lr cannot be changed when resuming"),
        (["--standardize"], r"--standardize cannot be changed when resuming"),
        (["--seed", "3"], r"--seed cannot be changed when resuming"),  # even to the same value
        (["--epochs", "1"], r"--epochs 1: the checkpoint has already trained 2 epochs"),
    ],
)
def test_resume_refuses_other_training_flags(
    tmp_path, capsys, interrupted_checkpoint, flags, match
):
    status, _, err = run_cli(
        capsys,
        "train",
        "--resume",
        interrupted_checkpoint[0],
        *flags,
        "--out",
        tmp_path / "out",
    )
    assert_one_line_error(status, err, match)
    assert not (tmp_path / "out").exists()


def rewrite_model(path, target, change):
    """Save ``path`` again at ``target`` with its command-line metadata changed by ``change``."""
    from glassnet.files import container
    from glassnet.io import read_file

    content, tensors = read_file(path)
    content["metadata"]["cli"] = change(content["metadata"]["cli"])
    container.atomic_write(target, container.serialise(content, tensors))
    return target


EDITS = {
    "not a mapping": lambda cli: "junk",
    "unknown task": lambda cli: {**cli, "task": "clustering"},
    "regression without": lambda cli: {**cli, "task": "regression", "classes": None},
    "no classes": lambda cli: {**cli, "classes": None},
    "one class": lambda cli: {**cli, "classes": [0]},
    "more classes than outputs": lambda cli: {**cli, "classes": [0, 1, 2]},
    "repeated classes": lambda cli: {**cli, "classes": [1, 1]},
    "mixed classes": lambda cli: {**cli, "classes": [0, "b"]},
    "too few features": lambda cli: {**cli, "features": ["a"]},
    "features not text": lambda cli: {**cli, "features": [1, 2]},
    "repeated features": lambda cli: {**cli, "features": ["a", "a"]},
    "scale as text": lambda cli: {**cli, "standardize": {"mean": [0, 0], "scale": ["x", 1]}},
    "zero scale": lambda cli: {**cli, "standardize": {"mean": [0, 0], "scale": [0, 1]}},
    "short statistics": lambda cli: {**cli, "standardize": {"mean": [0], "scale": [1]}},
    "target scaling of a classifier": lambda cli: {
        **cli,
        "target_standardize": {"mean": [0], "scale": [1]},
    },
    "class names": lambda cli: {**cli, "class_names": ["one"]},
}


@pytest.mark.parametrize("command", ["predict", "evaluate"])
@pytest.mark.parametrize("edit", EDITS, ids=list(EDITS))
def test_an_edited_model_is_refused_in_one_line(
    tmp_path, capsys, small_model, small_csv, command, edit
):
    model = rewrite_model(small_model, tmp_path / "edited.safetensors", EDITS[edit])
    more = ["--target", "y"] if command == "evaluate" else []
    status, stdout, err = run_cli(capsys, command, model, small_csv, *more)
    assert_one_line_error(
        status, err, rf"{re.escape(str(model))} is not a valid glassnet model file: "
    )
    assert stdout == ""


SETTING_EDITS = {
    "hidden as text": (lambda s: {**s, "hidden": "8"}, "hidden = '8'"),
    "negative epochs": (lambda s: {**s, "epochs": -1}, "epochs = -1"),
    "unknown optimizer": (lambda s: {**s, "optimizer": "rmsprop"}, "optimizer = 'rmsprop'"),
    "unknown setting": (lambda s: {**s, "colour": "blue"}, "unknown setting 'colour'"),
    "missing setting": (
        lambda s: {k: v for k, v in s.items() if k != "seed"},
        "no setting 'seed'",
    ),
    "no data": (lambda s: {**s, "dataset": None}, "name no data"),
}


@pytest.mark.parametrize("edit", SETTING_EDITS, ids=list(SETTING_EDITS))
def test_an_edited_checkpoint_is_refused_in_one_line(
    tmp_path, capsys, interrupted_checkpoint, edit
):
    change, match = SETTING_EDITS[edit]
    checkpoint = rewrite_model(
        interrupted_checkpoint[0],
        tmp_path / "edited.ckpt",
        lambda cli: {**cli, "settings": change(cli["settings"])},
    )
    status, _, err = run_cli(capsys, "train", "--resume", checkpoint, "--out", tmp_path / "o")
    assert_one_line_error(status, err, rf"is not a valid glassnet model file: .*{re.escape(match)}")


def test_a_checkpoint_from_before_standardize_target_resumes(
    tmp_path, capsys, interrupted_checkpoint
):
    checkpoint = rewrite_model(
        interrupted_checkpoint[0],
        tmp_path / "older.ckpt",
        lambda cli: {
            **cli,
            "settings": {k: v for k, v in cli["settings"].items() if k != "standardize_target"},
        },
    )
    status, _, err = run_cli(
        capsys, "train", "--resume", checkpoint, "--quiet", "--out", tmp_path / "out"
    )
    assert status == 0, err


@pytest.mark.slow
def test_readme_scikit_learn_examples_print_no_warning(tmp_path):
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("### scikit-learn", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 2  # the grid search, the large-target regressor
    code = "import glassnet as gn\n" + "\n".join(blocks)
    code += "\nprint(search.best_score_)\nprint(score)\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=ENV
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    best, score = map(float, result.stdout.split())
    assert best > 0.9 and score > 0.9


def test_a_rerun_keeps_the_modes_of_the_files_it_replaces(tmp_path):
    out = tmp_path / "run"
    assert cli.main(["train", *MOONS, "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    for name in ("model.safetensors", "history.csv"):
        os.chmod(out / name, 0o640)
    assert cli.main(["train", *MOONS, "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    assert stat.S_IMODE(os.stat(out / "model.safetensors").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(out / "history.csv").st_mode) == 0o640


def test_train_with_the_poisson_loss_on_counts(tmp_path, capsys):
    # integer counts would be guessed as classes; --loss poisson says they are counts
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2))
    y = rng.poisson(np.exp(0.6 * x[:, 0] - 0.4 * x[:, 1] + 0.5))
    rows = ["a,b,y"] + [f"{a:.4f},{b:.4f},{c}" for (a, b), c in zip(x, y)]
    (tmp_path / "counts.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "counts"
    status, _, err = run_cli(
        capsys, "train", "--data", tmp_path / "counts.csv", "--target", "y",
        "--loss", "poisson", *QUICK, "--out", out,
    )  # fmt: skip
    assert status == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "regression"
    model = gn.load(out / "model.safetensors")
    assert model.loss.name == "poisson" and model.layers[-1].activation.name == "exp"


def test_lbfgs_from_the_command_line(tmp_path, capsys):
    assert (
        cli.main(
            ["train", *MOONS, "--optimizer", "lbfgs", "--epochs", "1", "--out", str(tmp_path / "a")]
        )
        == 0
    )
    assert (
        cli.main(
            ["train", *MOONS, "--optimizer", "lbfgs", "--lr", "0.1", "--out", str(tmp_path / "b")]
        )
        == 2
    )
    assert "--lr is for sgd, adam and adamw" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_predict_and_evaluate_a_multilabel_classifier(tmp_path, capsys):
    from sklearn.datasets import make_multilabel_classification

    x, y = make_multilabel_classification(n_samples=60, n_classes=3, n_features=4, random_state=0)
    model = gn.NeuralNetworkClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0).fit(
        x, y
    )
    gn.save(model, tmp_path / "m.safetensors")
    header = [f"x{i}" for i in range(4)]
    with open(tmp_path / "x.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([header, *x[:5].tolist()])
    with open(tmp_path / "e.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([[*header, "t"], *[[*row, 1] for row in x[:5].tolist()]])
    capsys.readouterr()
    assert cli.main(["predict", str(tmp_path / "m.safetensors"), str(tmp_path / "x.csv")]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][:3] == ["prediction_0", "prediction_1", "prediction_2"]
    np.testing.assert_array_equal(np.array(rows[1:], dtype=float)[:, :3], model.predict(x[:5]))
    assert (
        cli.main(
            ["evaluate", str(tmp_path / "m.safetensors"), str(tmp_path / "e.csv"), "--target", "t"]
        )
        == 2
    )
    assert "is a multilabel classifier" in capsys.readouterr().err
