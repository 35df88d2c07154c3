"""The ``glassnet`` command: ``demo``, ``train``, ``predict``, ``evaluate`` and ``study``.

Every error is one line on stderr and exit status 2; outputs are written to a staging folder and
moved into ``--out`` only once everything succeeded, so a failed run leaves nothing behind.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io as text_io
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from importlib import resources

import numpy as np

from . import __version__, activations, losses, optimizers
from .experiments import STALL_LOSS
from .network import NeuralNetwork

EXIT_ERROR = 2


class CommandError(Exception):
    """A problem to report in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Shows each flag's default (where it has one and the help does not already say it)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" not in text and action.default not in (None, False, argparse.SUPPRESS) and action.option_strings:
            text += " (default: %(default)s)"
        return text


# ====================================================================== argument types
def _number(kind: type, minimum: float, strict: bool = False, below_one: bool = False):
    """An argparse type: ``kind`` (int or float), finite, at least (or above) ``minimum``."""
    if below_one:
        wanted = "a fraction in [0, 1)"
    elif kind is int:
        wanted = "a positive integer" if strict or minimum >= 1 else "an integer >= 0"
    else:
        wanted = "a positive number" if strict else f"a number >= {minimum:g}"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        too_small = value <= minimum if strict else value < minimum
        if too_small or not np.isfinite(value) or (below_one and value >= 1):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text}")
        return value

    return parse


_positive_int = _number(int, 1)
_non_negative_int = _number(int, 0)
_positive_float = _number(float, 0, strict=True)
_non_negative_float = _number(float, 0)
_fraction = _number(float, 0, below_one=True)


def _hidden(text: str) -> tuple[int, ...]:
    if text.strip() in ("", "none"):
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer sizes like 25,50,25, got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def _name_in(registry_names, kind: str):
    def parse(text: str) -> str:
        if text.lower() not in registry_names():
            raise argparse.ArgumentTypeError(f"unknown {kind} {text!r}; choose from {', '.join(registry_names())}")
        return text.lower()

    return parse


# ====================================================================== the parser
def build_parser() -> argparse.ArgumentParser:
    from .datasets import BUILTIN

    parser = _Parser(
        prog="glassnet",
        description="glassnet: a fully-connected neural network on NumPy where every value can be checked.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    demo = commands.add_parser(
        "demo", formatter_class=_Formatter, help="the blog post's experiment, end to end",
        description=(
            "Reproduce the blog post's experiment: make_moons(3000, noise=0.2), 80/20 split, a\n"
            "2-25-50-25-2 sigmoid network with the post's initialisation, squared error, learning\n"
            "rate 0.01, one sample per step, 500 epochs. Writes data.png, loss.png,\n"
            "decision_boundary.png, model.safetensors, metrics.json and history.csv."
        ),
    )
    demo.add_argument("--out", default=os.path.join("runs", "demo"), help="folder for the outputs")
    demo.add_argument("--seed", type=_non_negative_int, default=1, help="draws the data, the split and the initial weights")
    demo.add_argument("--epochs", type=_positive_int, default=500, help="passes over the training set (the post: 500)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(handler=run_demo)

    train = commands.add_parser(
        "train", formatter_class=_Formatter, help="train on a CSV file or a built-in dataset",
        description="Train a network on your CSV file (header row, numeric features) or a built-in dataset.",
    )
    source = train.add_argument_group("data")
    source.add_argument("--data", metavar="CSV", help="a CSV file with a header row")
    source.add_argument("--target", metavar="COLUMN", help="the column to predict (required with --data)")
    source.add_argument("--dataset", choices=BUILTIN, help="a built-in dataset instead of --data")
    source.add_argument("--n-samples", type=_positive_int, default=None, help="samples of a synthetic dataset (default 3000)")
    source.add_argument("--noise", type=_non_negative_float, default=None, help="noise of a synthetic dataset (default 0.2 for moons, 0.1 otherwise)")
    source.add_argument("--task", choices=("auto", "classification", "regression"), default="auto",
                        help="auto: text labels or at most 20 distinct integers mean classification")
    source.add_argument("--validation-split", type=_fraction, default=0.2, help="fraction held out to validate on after every epoch")
    source.add_argument("--standardize", action="store_true", help="scale features to mean 0 and standard deviation 1 (statistics of the training part, saved with the model)")
    model = train.add_argument_group("network")
    model.add_argument("--hidden", type=_hidden, default=(25, 50, 25), help="hidden layer sizes, comma-separated ('none' for no hidden layer)")
    model.add_argument("--activation", type=_name_in(activations.names, "activation"), default="relu",
                       help=f"hidden activation: {', '.join(activations.names())}")
    model.add_argument("--loss", type=_name_in(losses.names, "loss"), default=None,
                       help="default: cross_entropy for classification, mse for regression; also " + ", ".join(losses.names()))
    model.add_argument("--optimizer", type=_name_in(optimizers.names, "optimizer"), default="adam", help=", ".join(optimizers.names()))
    model.add_argument("--lr", type=_positive_float, default=None, help="learning rate (default: the optimizer's, 0.01 for sgd, 0.001 for adam)")
    model.add_argument("--momentum", type=_fraction, default=0.0, help="momentum, for sgd")
    model.add_argument("--l2", type=_non_negative_float, default=0.0, help="L2 penalty on the weights")
    model.add_argument("--batch-size", type=_positive_int, default=32, help="samples per step (1: the post's per-sample descent)")
    model.add_argument("--epochs", type=_positive_int, default=100, help="passes over the training data")
    model.add_argument("--seed", type=_non_negative_int, default=0, help="draws the split, the initial weights and the shuffling")
    model.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="floating-point precision")
    run = train.add_argument_group("run")
    run.add_argument("--out", default=os.path.join("runs", "train"), help="folder for the outputs")
    run.add_argument("--checkpoint", metavar="PATH", default=None, help="save a checkpoint here while training (Ctrl-C saves one too)")
    run.add_argument("--checkpoint-every", type=_positive_int, default=1, help="epochs between checkpoints")
    run.add_argument("--resume", metavar="CHECKPOINT", default=None,
                     help="continue the run a checkpoint was saved from (its data and settings are reused)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=run_train)

    predict = commands.add_parser("predict", formatter_class=_Formatter, help="predict for the rows of a CSV file",
                                  description="Predict with a saved model for every row of a CSV file (same feature columns as in training).")
    predict.add_argument("model", help="a model file saved by glassnet")
    predict.add_argument("data", help="a CSV file with a header row")
    predict.add_argument("--output", metavar="FILE", default=None, help="write the predictions there as CSV (default: standard output)")
    predict.set_defaults(handler=run_predict)

    evaluate = commands.add_parser("evaluate", formatter_class=_Formatter, help="score a saved model on a labelled CSV file",
                                   description="Score a saved model on a CSV file that has the target column; prints JSON.")
    evaluate.add_argument("model", help="a model file saved by glassnet")
    evaluate.add_argument("data", help="a CSV file with a header row")
    evaluate.add_argument("--target", required=True, metavar="COLUMN", help="the column holding the true values")
    evaluate.set_defaults(handler=run_evaluate)

    study = commands.add_parser("study", formatter_class=_Formatter, help="the seed's configuration over many seeds",
                                description="Train the post's configuration and a modern one on data seeds 0..RUNS-1 and write seed-study.md/.png/.json.")
    study.add_argument("--runs", type=_positive_int, default=20, help="data seeds to run")
    study.add_argument("--jobs", type=_positive_int, default=1, help="processes to run in parallel")
    study.add_argument("--epochs", type=_positive_int, default=500, help="epochs of the seed configuration")
    study.add_argument("--out", default="docs", help="folder for seed-study.md, seed-study.png and seed-study.json")
    study.set_defaults(handler=run_study)
    return parser


# ====================================================================== helpers
@contextlib.contextmanager
def _staging(out: str):
    """Yield a temporary folder; move its files into ``out`` only if the block succeeds."""
    stage = tempfile.mkdtemp(prefix="glassnet-")
    try:
        yield stage
        if os.path.exists(out) and not os.path.isdir(out):
            raise CommandError(f"--out {out} exists and is not a folder")
        os.makedirs(out, exist_ok=True)
        for name in sorted(os.listdir(stage)):
            target = os.path.join(out, name)
            try:
                os.replace(os.path.join(stage, name), target)
            except OSError:  # another file system: copy, then rename into place
                shutil.copyfile(os.path.join(stage, name), target + ".part")
                os.replace(target + ".part", target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _say(*parts: str) -> None:
    print(*parts, flush=True)


def _note(message: str) -> None:
    print(f"glassnet: note: {' '.join(str(message).split())}", file=sys.stderr, flush=True)


def _versions() -> dict:
    versions = {"glassnet": __version__, "python": platform.python_version(), "numpy": np.__version__}
    for name in ("sklearn", "matplotlib", "safetensors"):
        with contextlib.suppress(ImportError):
            versions["scikit-learn" if name == "sklearn" else name] = __import__(name).__version__
    return versions


def _write_history(history, path: str) -> None:
    columns = [name for name, values in vars(history).items() if values]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", *columns])
        for epoch in range(len(history.loss)):
            writer.writerow([epoch + 1, *(repr(float(getattr(history, name)[epoch])) for name in columns)])


def _write_json(data: dict, path: str) -> None:
    with open(path, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")


def _train_quietly(network: NeuralNetwork, *args, **kwargs):
    """Train, turning the library's warnings (an interruption) into notes on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        network.train(*args, **kwargs)
    interrupted = False
    for warning in caught:
        interrupted = interrupted or "interrupted" in str(warning.message)
        _note(str(warning.message))
    return interrupted


def _seed_study_digest() -> dict | None:
    try:
        text = resources.files("glassnet").joinpath("seed_study.json").read_text()
    except (FileNotFoundError, OSError):
        return None
    return json.loads(text)


# ====================================================================== demo
def run_demo(args) -> int:
    from . import experiments, plotting
    from .io import save

    seed = args.seed
    x_train, x_test, y_train, y_test = experiments.moons_split(seed)
    network = experiments.seed_network(seed)
    network.metadata = {"cli": {"task": "classification", "features": ["x1", "x2"], "target": "class", "classes": [0, 1], "standardize": None}}
    _say(f"glassnet demo: the blog post's experiment, seed {seed}")
    _say("  data: make_moons(n_samples=3000, noise=0.2), 2400 training and 600 test samples")
    _say("  network: 2-25-50-25-2, sigmoid everywhere, the post's initialisation, squared error,")
    _say(f"           SGD with learning rate 0.01, one sample per step, {args.epochs} epochs")
    with _staging(args.out) as stage:
        plotting.plot_data(x_train, y_train, os.path.join(stage, "data.png"), title=f"moons: the {len(y_train)} training samples")
        started = time.perf_counter()
        interrupted = _train_quietly(
            network, x_train, y_train, epochs=args.epochs, batch_size=1, shuffle=False,
            validation_data=(x_test, y_test), verbose=0 if args.quiet else 1,
        )
        seconds = time.perf_counter() - started
        accuracy = network.accuracy(x_test, y_test)
        history = network.history
        final_loss = history.loss[-1] if history.loss else float("nan")
        stalled = final_loss > experiments.STALL_LOSS
        steps = network.optimizer.iterations
        _say(f"test accuracy: {accuracy:.4f}")
        _say(f"training time: {seconds:.1f} s for {len(history)} epochs ({1e6 * seconds / max(steps, 1):.1f} µs per step, validation included)")
        for line in _where_it_sits(accuracy, final_loss, stalled, len(history)):
            _say(line)
        plotting.plot_loss(
            history, os.path.join(stage, "loss.png"), title="seed configuration: loss per epoch",
            loss_name="½·Σ(a − y)² per sample (mse)", validation_label="test set, held out",
        )
        plotting.plot_decision_boundary(
            network.predict_proba, x_test, y_test, os.path.join(stage, "decision_boundary.png"),
            title=f"learned decision boundary, with the {len(y_test)} test points (accuracy {accuracy:.3f})",
        )
        save(network, os.path.join(stage, "model.safetensors"))
        _write_history(history, os.path.join(stage, "history.csv"))
        _write_json({
            "experiment": "blog post seed: 2-25-50-25-2 sigmoid, seed init, mse, SGD lr 0.01, batch 1",
            "test_accuracy": accuracy,
            "final_training_loss": final_loss,
            "final_validation_loss": history.val_loss[-1] if history.val_loss else None,
            "stalled": bool(stalled),
            "epochs": len(history),
            "interrupted": interrupted,
            "training_seconds": seconds,
            "seconds_per_step": seconds / max(steps, 1),
            "seed": seed,
            "versions": _versions(),
        }, os.path.join(stage, "metrics.json"))
    _say(f"wrote data.png, loss.png, decision_boundary.png, model.safetensors, metrics.json and history.csv to {args.out}")
    return 0


def _where_it_sits(accuracy: float, final_loss: float, stalled: bool, epochs: int) -> list[str]:
    digest = _seed_study_digest()
    if epochs < 500:
        return [f"(after {epochs} epochs instead of the post's 500 this run cannot be compared with the study of full runs)"]
    lines = []
    if stalled:
        lines.append(
            f"this run STALLED on the plateau: its final training loss {final_loss:.4f} is above "
            f"{STALL_LOSS} (runs that learn the moons end near 0.02-0.03); try another --seed"
        )
    else:
        lines.append(f"this run did not stall: final training loss {final_loss:.4f} (stalled runs stay near 0.09)")
    if digest:
        s = digest["seed_accuracy"]
        stalled_range = digest.get("stalled_accuracy")
        stall_text = (
            f"{digest['stalled']} of {digest['runs']} stalled at {stalled_range['min']:.3f}-{stalled_range['max']:.3f}"
            if stalled_range else f"none of {digest['runs']} stalled"
        )
        lines.append(
            f"over {digest['runs']} data draws and initialisations (docs/seed-study.md) this configuration "
            f"reached a median of {s['median']:.4f} (range {s['min']:.3f}-{s['max']:.3f}); {stall_text}"
        )
        place = "below" if accuracy < s["median"] else "at or above"
        lines.append(f"this run's {accuracy:.4f} is {place} that median")
    return lines


# ====================================================================== train
def _load_data(settings: dict):
    from .datasets import load_csv, load_dataset

    if settings["data"] is not None:
        if settings["target"] is None:
            raise CommandError("--data needs --target COLUMN: the column to predict")
        if settings["n_samples"] is not None or settings["noise"] is not None:
            raise CommandError("--n-samples and --noise apply to --dataset only")
        return load_csv(settings["data"], settings["target"])
    if settings["dataset"] is None:
        raise CommandError("give --data CSV --target COLUMN, or --dataset NAME")
    return load_dataset(settings["dataset"], settings["n_samples"], settings["noise"], settings["seed"])


def _prepare(settings: dict):
    """Data → (x_train, y_train, x_val, y_val, info) exactly as the settings say (also on resume)."""
    from sklearn.model_selection import train_test_split

    dataset = _load_data(settings)
    task, reason = dataset.guess_task()
    if settings["task"] != "auto":
        task, reason = settings["task"], "--task"
    info: dict = {"task": task, "features": dataset.feature_names, "target": dataset.target, "description": dataset.description, "task_reason": reason}
    if task == "classification":
        if dataset.y.dtype.kind == "f" and not np.all(dataset.y == np.round(dataset.y)):
            raise CommandError(
                f"the target {dataset.target!r} holds non-integer numbers; classification needs labels "
                "(integers or text), or use --task regression"
            )
        classes, labels = np.unique(dataset.y, return_inverse=True)
        if len(classes) < 2:
            raise CommandError(f"the target {dataset.target!r} has a single class ({classes[0]!r}); classification needs at least 2")
        info["classes"] = classes.tolist()
        if dataset.class_names is not None and len(dataset.class_names) == len(classes):
            info["class_names"] = dataset.class_names
        y = labels
    else:
        if dataset.y.dtype.kind not in "biuf":
            raise CommandError(f"the target {dataset.target!r} holds text; regression needs numbers (use --task classification)")
        y = dataset.y.astype(float)
        info["classes"] = None
    x = dataset.x
    if len(y) < 2:
        raise CommandError(f"{dataset.description}: at least 2 samples are needed to train")
    x_val = y_val = None
    if settings["validation_split"] > 0:
        stratify = None
        if task == "classification":
            counts = np.bincount(y)
            n_val = int(np.ceil(settings["validation_split"] * len(y)))
            if counts.min() >= 2 and len(counts) <= min(n_val, len(y) - n_val):
                stratify = y
        try:
            x, x_val, y, y_val = train_test_split(x, y, test_size=settings["validation_split"], random_state=settings["seed"], stratify=stratify)
        except ValueError as error:
            raise CommandError(f"cannot hold out --validation-split {settings['validation_split']} of {len(y)} samples: {error}") from None
    info["standardize"] = None
    if settings["standardize"]:
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0
        info["standardize"] = {"mean": mean.tolist(), "scale": scale.tolist()}
        x = (x - mean) / scale
        if x_val is not None:
            x_val = (x_val - mean) / scale
    return x, y, x_val, y_val, info


def _build_network(settings: dict, info: dict, n_features: int) -> NeuralNetwork:
    task = info["task"]
    n_classes = len(info["classes"]) if info["classes"] is not None else None
    loss = settings["loss"] or ("cross_entropy" if task == "classification" else "mse")
    loss_object = losses.get(loss)
    if task == "regression" and loss_object.for_classification:
        raise CommandError(f"--loss {loss} is for classification, but the task is regression ({info['task_reason']})")
    if task == "classification" and loss_object.for_classification is False:
        raise CommandError(f"--loss {loss} is for regression, but the task is classification ({info['task_reason']})")
    if loss == "binary_cross_entropy" and n_classes != 2:
        raise CommandError(f"--loss binary_cross_entropy needs 2 classes; the target has {n_classes}")
    if task == "classification":
        n_outputs = 1 if loss == "binary_cross_entropy" else n_classes
        output_activation = loss_object.fused_activation or "sigmoid"
    else:
        n_outputs = 1
        output_activation = "identity"
    kwargs = {} if settings["lr"] is None else {"learning_rate": settings["lr"]}
    if settings["optimizer"] == "sgd":
        kwargs["momentum"] = settings["momentum"]
    elif settings["momentum"]:
        raise CommandError(f"--momentum is for --optimizer sgd, not {settings['optimizer']}")
    weight_init = "he_uniform" if settings["activation"] in ("relu", "leaky_relu") else "glorot_uniform"
    return NeuralNetwork.from_sizes(
        [n_features, *settings["hidden"], n_outputs], activation=settings["activation"], output_activation=output_activation,
        weight_init=weight_init, loss=loss, optimizer=optimizers.get(settings["optimizer"], **kwargs), l2=settings["l2"],
        task=task, random_state=settings["seed"], dtype=settings["dtype"],
    )


_SETTINGS = (
    "data", "target", "dataset", "n_samples", "noise", "task", "validation_split", "standardize",
    "hidden", "activation", "loss", "optimizer", "lr", "momentum", "l2", "batch_size", "epochs", "seed", "dtype",
)


def run_train(args) -> int:
    from .io import _read_file, resume, save

    if args.resume is not None:
        document, _ = _read_file(args.resume)
        stored = document.get("metadata", {}).get("cli", {}).get("settings")
        if not isinstance(stored, dict) or set(stored) != set(_SETTINGS):
            raise CommandError(f"{args.resume} is not a checkpoint written by glassnet train (it holds no command-line settings)")
        settings = dict(stored)
        settings["hidden"] = tuple(settings["hidden"])
        if settings["data"] is not None and not os.path.exists(settings["data"]):
            raise CommandError(f"the checkpoint was trained on {settings['data']}, which no longer exists")
    else:
        settings = {name: getattr(args, name) for name in _SETTINGS}
        if settings["data"] is not None and settings["dataset"] is not None:
            raise CommandError("give either --data or --dataset, not both")
    x, y, x_val, y_val, info = _prepare(settings)
    validation = None if x_val is None else (x_val, y_val)
    with _staging(args.out) as stage:
        started = time.perf_counter()
        if args.resume is not None:
            _say(f"resuming {args.resume}: {info['description']}, task {info['task']}")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                network = resume(args.resume, x, y, validation_data=validation, verbose=0 if args.quiet else 1)
            interrupted = any("interrupted" in str(w.message) for w in caught)
            for warning in caught:
                _note(str(warning.message))
        else:
            network = _build_network(settings, info, x.shape[1])
            network.metadata = {"cli": {**{k: v for k, v in info.items() if k != "description"}, "settings": {**settings, "hidden": list(settings["hidden"])}}}
            _say(f"training on {info['description']}: {info['task']} ({info['task_reason']})")
            _say(f"  network {'-'.join(str(n) for n in [x.shape[1], *settings['hidden'], network.n_outputs])}, "
                 f"{settings['activation']} hidden layers, loss {network.loss.name}, {network.optimizer!r}")
            interrupted = _train_quietly(
                network, x, y, epochs=settings["epochs"], batch_size=settings["batch_size"], validation_data=validation,
                verbose=0 if args.quiet else 1, checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every,
            )
        seconds = time.perf_counter() - started
        metrics = _report(network, x, y, validation, info)
        _write_outputs(stage, network, x, y, validation, info, settings)
        save(network, os.path.join(stage, "model.safetensors"))
        _write_history(network.history, os.path.join(stage, "history.csv"))
        _write_json({**metrics, "task": info["task"], "data": info["description"], "epochs": len(network.history),
                     "interrupted": interrupted, "training_seconds": seconds, "seed": settings["seed"],
                     "settings": {**settings, "hidden": list(settings["hidden"])}, "versions": _versions()},
                    os.path.join(stage, "metrics.json"))
        written = sorted(os.listdir(stage))
    _say(f"training time: {seconds:.2f} s")
    _say(f"wrote {', '.join(written)} to {args.out}")
    return 0


def _report(network: NeuralNetwork, x, y, validation, info) -> dict:
    metrics = {"training": network.evaluate(x, y)}
    if validation is not None:
        metrics["validation"] = network.evaluate(*validation)
        if info["task"] == "regression":
            metrics["validation"]["r2"] = _r2(validation[1], network.predict(validation[0]))
    part = "validation" if validation is not None else "training"
    for name, value in metrics[part].items():
        _say(f"{part} {name}: {value:.4f}")
    return metrics


def _r2(truth: np.ndarray, predicted: np.ndarray) -> float:
    spread = float(((truth - truth.mean()) ** 2).sum())
    return 1.0 - float(((truth - predicted) ** 2).sum()) / spread if spread > 0 else float("nan")


def _write_outputs(stage, network, x, y, validation, info, settings) -> None:
    from . import plotting

    names = [str(c) for c in info.get("class_names") or info["classes"] or []] or None
    if x.shape[1] >= 2:
        plotting.plot_data(x, y, os.path.join(stage, "data.png"), title=f"{info['description']}: training part", class_names=names)
    plotting.plot_loss(network.history, os.path.join(stage, "loss.png"), title="loss per epoch", loss_name=network.loss.name)
    if x.shape[1] == 2 and info["task"] == "classification":
        shown_x, shown_y = validation if validation is not None else (x, y)
        plotting.plot_decision_boundary(network.predict_proba, shown_x, shown_y, os.path.join(stage, "decision_boundary.png"),
                                        title="decision boundary, with the " + ("validation" if validation is not None else "training") + " points",
                                        class_names=names)


# ====================================================================== predict / evaluate
def _model_inputs(model_path: str, data_path: str, target: str | None):
    """Load a model and the matching columns of a CSV file → (model, x, y_raw, info)."""
    from .datasets import load_csv
    from .io import load

    model = load(model_path)
    if isinstance(model, NeuralNetwork):
        info = model.metadata.get("cli") if isinstance(model.metadata.get("cli"), dict) else None
        features = info["features"] if info else None
        dataset = load_csv(data_path, target, features, require_target=target is not None)
        if info is None and dataset.x.shape[1] != model.n_inputs:
            raise CommandError(f"{data_path} has {dataset.x.shape[1]} feature columns; the model takes {model.n_inputs}")
        x = dataset.x
        if info and info.get("standardize"):
            x = (x - np.array(info["standardize"]["mean"])) / np.array(info["standardize"]["scale"])
        task = model.task or ("classification" if model.loss.for_classification else None)
        if task is None:
            raise CommandError("this model does not say whether it is a classifier; it was never trained")
        classes = info["classes"] if info and info.get("classes") is not None else (list(range(model.n_classes)) if task == "classification" else None)
        return model, x, dataset.y, {"task": task, "classes": classes, "kind": "network"}
    features = list(model.feature_names_in_) if hasattr(model, "feature_names_in_") else None
    dataset = load_csv(data_path, target, features, require_target=target is not None)
    if features is None and dataset.x.shape[1] != model.n_features_in_:
        raise CommandError(f"{data_path} has {dataset.x.shape[1]} feature columns; the model takes {model.n_features_in_}")
    task = "classification" if hasattr(model, "classes_") else "regression"
    classes = model.classes_.tolist() if task == "classification" else None
    return model, dataset.x, dataset.y, {"task": task, "classes": classes, "kind": "estimator"}


def _predict(model, x, info):
    if info["kind"] == "estimator":
        if info["task"] == "classification":
            probabilities = model.predict_proba(x)
            return np.asarray(info["classes"], dtype=object)[probabilities.argmax(axis=1)], probabilities
        return model.predict(x), None
    if info["task"] == "classification":
        probabilities = model.predict_proba(x)
        return np.asarray(info["classes"], dtype=object)[probabilities.argmax(axis=1)], probabilities
    return model.predict(x), None


def run_predict(args) -> int:
    model, x, _, info = _model_inputs(args.model, args.data, None)
    predictions, probabilities = _predict(model, x, info)
    buffer = text_io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    predictions = np.asarray(predictions)
    if predictions.ndim == 1:
        header = ["prediction"]
        rows = predictions[:, None].tolist()
    else:
        header = [f"prediction_{i}" for i in range(predictions.shape[1])]
        rows = predictions.tolist()
    if probabilities is not None:
        header += [f"probability_{c}" for c in info["classes"]]
        rows = [row + [f"{p:.6g}" for p in probs] for row, probs in zip(rows, probabilities.tolist())]
    writer.writerow(header)
    writer.writerows(rows)
    if args.output is None:
        sys.stdout.write(buffer.getvalue())
    else:
        from .io import _atomic_write

        _atomic_write(args.output, buffer.getvalue().encode())
        _say(f"wrote {len(rows)} predictions to {args.output}")
    return 0


def run_evaluate(args) -> int:
    model, x, y_raw, info = _model_inputs(args.model, args.data, args.target)
    predictions, probabilities = _predict(model, x, info)
    result: dict = {"samples": int(x.shape[0])}
    if info["task"] == "classification":
        classes = info["classes"]
        lookup = {str(c): i for i, c in enumerate(classes)}
        if y_raw.dtype.kind in "f":
            labels = [str(int(v)) if float(v).is_integer() else str(v) for v in y_raw]
            lookup.update({str(int(c)) if isinstance(c, float) and c.is_integer() else str(c): i for i, c in enumerate(classes)})
        else:
            labels = [str(v) for v in y_raw]
        unknown = sorted({label for label in labels if label not in lookup})
        if unknown:
            raise CommandError(f"column {args.target!r} holds labels the model does not know: {', '.join(unknown[:5])} (it knows {', '.join(map(str, classes))})")
        indices = np.array([lookup[label] for label in labels])
        result["accuracy"] = float(np.mean(probabilities.argmax(axis=1) == indices))
        chosen = np.clip(probabilities[np.arange(len(indices)), indices], 1e-15, 1.0)
        result["log_loss"] = float(-np.mean(np.log(chosen)))
    else:
        if y_raw.dtype.kind not in "biuf":
            raise CommandError(f"column {args.target!r} holds text; this regression model needs numbers")
        truth = y_raw.astype(float)
        predicted = np.asarray(predictions, dtype=float).reshape(truth.shape)
        result["mse"] = float(np.mean((predicted - truth) ** 2))
        result["mae"] = float(np.mean(np.abs(predicted - truth)))
        result["r2"] = _r2(truth, predicted)
    print(json.dumps(result, indent=2))
    return 0


# ====================================================================== study
def run_study(args) -> int:
    from . import study

    _say(f"glassnet study: {args.runs} data seeds, the seed configuration ({args.epochs} epochs) and a modern one")
    with _staging(args.out) as stage:
        result = study.run_study(args.runs, args.jobs, args.epochs, progress=lambda done, total: _say(f"  {done}/{total} seeds done"))
        numbers = study.write_report(result, stage)
    _say(f"median test accuracy: seed configuration {numbers['seed_accuracy']['median']:.4f}, "
         f"modern {numbers['modern_accuracy']['median']:.4f}; {numbers['stalled']} of {numbers['runs']} seed runs stalled")
    _say(f"wrote seed-study.md, seed-study.png and seed-study.json to {args.out}")
    return 0


# ====================================================================== entry point
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"glassnet {args.command}: interrupted", file=sys.stderr)
        return 130
    except (CommandError, ValueError, TypeError, OSError, ImportError) as error:
        message = str(error)
        if isinstance(error, FileNotFoundError) and error.filename:
            message = f"no such file or folder: {error.filename}"
        elif isinstance(error, IsADirectoryError) and error.filename:
            message = f"{error.filename} is a folder, not a file"
        elif isinstance(error, PermissionError) and error.filename:
            message = f"permission denied: {error.filename}"
        print(f"glassnet {args.command}: error: {' '.join(message.split())}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
