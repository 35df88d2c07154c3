import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from matplotlib.image import imread

import glassnet as gn
from glassnet import cli, experiments

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


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
        "history.csv",
        "loss.png",
        "metrics.json",
        "model.safetensors",
    ]
    for name in ("data.png", "loss.png", "decision_boundary.png"):
        assert_png(out / name)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and metrics["seed"] == 2 and "numpy" in metrics["versions"]
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
    } == {p.name for p in out.iterdir()}
    for name in ("data.png", "loss.png", "decision_boundary.png"):
        assert_png(out / name)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["validation"]["accuracy"] > 0.8
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
    assert process.returncode == 0, stderr
    assert "interrupted (Ctrl-C)" in stderr and "checkpoint saved" in stderr
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
    (["train", "--dataset", "moons", "--batch-size", "0"], "expected a positive integer, got 0"),
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
    import re

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
