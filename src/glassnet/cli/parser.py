"""The ``glassnet`` command's arguments: argparse with one-line errors and checked values."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable

from .._version import __version__
from ..datasets import BUILTIN
from ..model import activations, losses
from ..optim import optimizers
from .common import EXIT_ERROR
from .demo import run_demo
from .export import run_export
from .inspect import run_inspect
from .page import run_page
from .predict import run_evaluate, run_predict
from .study import run_study
from .train import run_train


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Shows each flag's default (where it has one and the help does not already say it)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS)
        if "default" not in text and shown and action.option_strings:
            text += " (default: %(default)s)"
        return text


#: the largest integer a count takes (and the largest seed: NumPy's and scikit-learn's limit)
_MAX_COUNT = 2**31 - 1
_MAX_SEED = 2**32 - 1


def _number(
    kind: type[int] | type[float],
    minimum: float,
    strict: bool = False,
    below_one: bool = False,
    maximum: int = _MAX_COUNT,
) -> Callable[[str], float]:
    """An argparse type: ``kind`` (int or float), finite, at least (or above) ``minimum``; an
    int at most ``maximum``."""
    if below_one:
        wanted = "a fraction in [0, 1)"
    elif kind is int:
        wanted = "a positive integer" if strict or minimum >= 1 else "an integer >= 0"
    else:
        wanted = "a positive number" if strict else f"a number >= {minimum:g}"

    def parse(text: str) -> float:
        try:
            value: float = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if kind is int and value > maximum:
            raise argparse.ArgumentTypeError(
                f"expected {wanted} no larger than {maximum}, got {text!r}"
            )
        too_small = value <= minimum if strict else value < minimum
        if too_small or not math.isfinite(value) or (below_one and value >= 1):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, 1)
_seed = _number(int, 0, maximum=_MAX_SEED)
_positive_float = _number(float, 0, strict=True)
_non_negative_float = _number(float, 0)
_fraction = _number(float, 0, below_one=True)


def _hidden(text: str) -> tuple[int, ...]:
    if text.strip() in ("", "none"):
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes like 25,50,25, got {text!r}"
        ) from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    if any(size > _MAX_COUNT for size in sizes):
        raise argparse.ArgumentTypeError(
            f"layer sizes must be at most {_MAX_COUNT}, got {text!r:.60}"
        )
    return sizes


def _name_in(registry_names: Callable[[], list[str]], kind: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.lower() not in registry_names():
            raise argparse.ArgumentTypeError(
                f"unknown {kind} {text!r}; choose from {', '.join(registry_names())}"
            )
        return text.lower()

    return parse


def _recording(action: type[argparse.Action]) -> type[argparse.Action]:
    """``action``, also noting in ``namespace.given`` (``{dest: flag}``) the flags given on the
    command line, so that ``train --resume`` can tell a flag given from a default."""

    class Recording(action):  # type: ignore[valid-type, misc]
        def __call__(
            self,
            parser: argparse.ArgumentParser,
            namespace: argparse.Namespace,
            values: object,
            option_string: str | None = None,
        ) -> None:
            super().__call__(parser, namespace, values, option_string)
            namespace.given = {**getattr(namespace, "given", {}), self.dest: option_string}

    return Recording


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="glassnet",
        description=(
            "glassnet: a fully-connected neural network on NumPy where every value can be checked."
        ),
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    _add_demo(commands)
    _add_train(commands)
    _add_predict(commands)
    _add_evaluate(commands)
    _add_study(commands)
    _add_export(commands)
    _add_inspect(commands)
    _add_page(commands)
    return parser


def _add_demo(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``glassnet demo``."""
    demo = commands.add_parser(
        "demo",
        formatter_class=_Formatter,
        help="the blog post's experiment, end to end",
        description=(
            "Reproduce the blog post's experiment: make_moons(3000, noise=0.2), 80/20 split, a\n"
            "2-25-50-25-2 sigmoid network with the post's initialisation, squared error, learning\n"
            "rate 0.01, one sample per step, 500 epochs, watched by a Monitor. Prints a\n"
            "diagnosis; writes data.png, loss.png, decision_boundary.png, model.safetensors,\n"
            "metrics.json, history.csv, monitor.json, monitor.csv, neurons.png, network.png,\n"
            "dynamics.png, training.gif, snapshots.safetensors (the parameters at 50 epochs) and\n"
            "page.html (the interactive page of the run; see glassnet page)."
        ),
    )
    demo.add_argument("--out", default=os.path.join("runs", "demo"), help="folder for the outputs")
    demo.add_argument(
        "--seed",
        type=_seed,
        default=1,
        help="draws the data, the split and the initial weights",
    )
    demo.add_argument(
        "--epochs",
        type=_positive_int,
        default=500,
        help="passes over the training set (the post: 500)",
    )
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.add_argument(
        "--no-page", dest="page", action="store_false", help="do not write page.html"
    )
    demo.set_defaults(handler=run_demo)


def _add_train(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``glassnet train``: its data, network and run options."""
    train = commands.add_parser(
        "train",
        formatter_class=_Formatter,
        help="train on a CSV file or a built-in dataset",
        description=(
            "Train a network on your CSV file (header row, numeric features) or a built-in dataset."
        ),
    )
    train.register("action", None, _recording(argparse._StoreAction))
    train.register("action", "store", _recording(argparse._StoreAction))
    train.register("action", "store_true", _recording(argparse._StoreTrueAction))
    _add_train_data(train)
    _add_train_network(train)
    _add_train_run(train)
    train.set_defaults(handler=run_train, given={})


def _add_train_data(train: argparse.ArgumentParser) -> None:
    """``glassnet train``'s data options."""
    source = train.add_argument_group("data")
    source.add_argument("--data", metavar="CSV", help="a CSV file with a header row")
    source.add_argument(
        "--target", metavar="COLUMN", help="the column to predict (required with --data)"
    )
    source.add_argument("--dataset", choices=BUILTIN, help="a built-in dataset instead of --data")
    source.add_argument(
        "--n-samples",
        type=_positive_int,
        default=None,
        help="samples of a synthetic dataset (default 3000)",
    )
    source.add_argument(
        "--noise",
        type=_non_negative_float,
        default=None,
        help="noise of a synthetic dataset (default 0.2 for moons, 0.1 otherwise)",
    )
    source.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="auto: text labels or at most 20 distinct integers mean classification",
    )
    source.add_argument(
        "--validation-split",
        type=_fraction,
        default=0.2,
        help="fraction held out to validate on after every epoch",
    )
    source.add_argument(
        "--standardize",
        action="store_true",
        help=(
            "scale features to mean 0 and standard deviation 1 (statistics of the training part, "
            "saved with the model)"
        ),
    )
    source.add_argument(
        "--standardize-target",
        action="store_true",
        help=(
            "regression: scale the target to mean 0 and standard deviation 1 for training "
            "(statistics of the training part, saved with the model; predict and evaluate undo "
            "it, but the losses shown while training are in these units); use it when the "
            "target is large (a note says so)"
        ),
    )


def _add_train_network(train: argparse.ArgumentParser) -> None:
    """``glassnet train``'s network options: the network, then how it is trained."""
    model = train.add_argument_group("network")
    _add_network_layers(model)
    _add_network_training(model)


def _add_network_layers(model: argparse._ArgumentGroup) -> None:
    """The network options that say what is trained: layers, loss, optimizer and penalty."""
    model.add_argument(
        "--hidden",
        type=_hidden,
        default=(25, 50, 25),
        help="hidden layer sizes, comma-separated ('none' for no hidden layer)",
    )
    model.add_argument(
        "--activation",
        type=_name_in(activations.names, "activation"),
        default="relu",
        help=f"hidden activation: {', '.join(activations.names())}",
    )
    model.add_argument(
        "--loss",
        type=_name_in(losses.names, "loss"),
        default=None,
        help="default: cross_entropy for classification, mse for regression; also "
        + ", ".join(losses.names()),
    )
    model.add_argument(
        "--optimizer",
        type=_name_in(optimizers.names, "optimizer"),
        default="adam",
        help=", ".join(optimizers.names()),
    )
    model.add_argument(
        "--lr",
        type=_positive_float,
        default=None,
        help="learning rate (default: the optimizer's, 0.01 for sgd, 0.001 for adam)",
    )
    model.add_argument("--momentum", type=_fraction, default=0.0, help="momentum, for sgd")
    model.add_argument(
        "--l2", type=_non_negative_float, default=0.0, help="L2 penalty on the weights"
    )


def _add_network_training(model: argparse._ArgumentGroup) -> None:
    """The network options that say how it is trained: batches, epochs, seed and precision."""
    model.add_argument(
        "--batch-size",
        type=_positive_int,
        default=32,
        help="samples per step (1: the post's per-sample descent)",
    )
    model.add_argument(
        "--epochs",
        type=_positive_int,
        default=100,
        help=(
            "passes over the training data (default: 100); with --resume, a new total for the "
            "run (default there: the checkpoint's)"
        ),
    )
    model.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="draws the split, the initial weights and the shuffling",
    )
    model.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default="float64",
        help="floating-point precision",
    )


def _add_train_run(train: argparse.ArgumentParser) -> None:
    """``glassnet train``'s run options."""
    run = train.add_argument_group("run")
    run.add_argument("--out", default=os.path.join("runs", "train"), help="folder for the outputs")
    run.add_argument(
        "--checkpoint",
        metavar="PATH",
        default=None,
        help=(
            "save a checkpoint here while training; Ctrl-C saves one too, writes the outputs "
            "so far and exits with 130"
        ),
    )
    run.add_argument(
        "--checkpoint-every", type=_positive_int, default=1, help="epochs between checkpoints"
    )
    run.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        default=None,
        help=(
            "continue the run a checkpoint was saved from: its data and settings are reused, so "
            "the other data and network flags are refused, except --epochs (a new total: more "
            "continues the run, fewer stops it early); --out, --checkpoint (default: continue "
            "writing CHECKPOINT) and --quiet apply"
        ),
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--page",
        action="store_true",
        help=(
            "also write page.html, the interactive page of the run (see glassnet page), and "
            "snapshots.safetensors, the parameters it replays"
        ),
    )


def _add_predict(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``glassnet predict``."""
    predict = commands.add_parser(
        "predict",
        formatter_class=_Formatter,
        help="predict for the rows of a CSV file",
        description=(
            "Predict with a saved model for every row of a CSV file (same feature columns as in "
            "training)."
        ),
    )
    predict.add_argument("model", help="a model file saved by glassnet")
    predict.add_argument("data", help="a CSV file with a header row")
    predict.add_argument(
        "--output",
        metavar="FILE",
        default=None,
        help="write the predictions there as CSV ('-': standard output, the default)",
    )
    predict.set_defaults(handler=run_predict)


def _add_evaluate(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``glassnet evaluate``."""
    evaluate = commands.add_parser(
        "evaluate",
        formatter_class=_Formatter,
        help="score a saved model on a labelled CSV file",
        description="Score a saved model on a CSV file that has the target column; prints JSON.",
    )
    evaluate.add_argument("model", help="a model file saved by glassnet")
    evaluate.add_argument("data", help="a CSV file with a header row")
    evaluate.add_argument(
        "--target", required=True, metavar="COLUMN", help="the column holding the true values"
    )
    evaluate.set_defaults(handler=run_evaluate)


def _add_study(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``glassnet study``."""
    study = commands.add_parser(
        "study",
        formatter_class=_Formatter,
        help="the seed's configuration over many seeds",
        description=(
            "Train the post's configuration and a modern one on data seeds 0..RUNS-1 and write "
            "seed-study.md/.png/.json."
        ),
    )
    study.add_argument("--runs", type=_positive_int, default=20, help="data seeds to run")
    study.add_argument(
        "--jobs",
        type=_positive_int,
        help=(
            "processes to run in parallel (default: 1); with --scheduler local, the local "
            "cluster's worker processes (default: about one per core)"
        ),
    )
    study.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=(
            "run the seeds as tasks on a Dask cluster: a scheduler's address "
            "(tcp://HOST:8786; waits at most 10 s for it to answer), or 'local' for a cluster of "
            "worker processes on 127.0.0.1 started and stopped by the command "
            "(needs pip install glassnet[dask])"
        ),
    )
    study.add_argument(
        "--epochs", type=_positive_int, default=500, help="epochs of the seed configuration"
    )
    study.add_argument(
        "--out", default="docs", help="folder for seed-study.md, seed-study.png and seed-study.json"
    )
    study.set_defaults(handler=run_study)


def _add_export(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``glassnet export``."""
    export = commands.add_parser(
        "export",
        formatter_class=_Formatter,
        help="write a saved model as an ONNX file",
        description=(
            "Write a saved model (a network or an estimator) as an ONNX model that onnxruntime "
            "and other ONNX runtimes run: input X, outputs 'variable' or 'label' and "
            "'probabilities'. Needs the onnx package (pip install glassnet[onnx])."
        ),
    )
    export.add_argument("model", help="a model file saved by glassnet")
    export.add_argument("--to", required=True, metavar="FILE", help="the ONNX file to write")
    export.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default=None,
        help="what the graph computes in (default: the model's dtype)",
    )
    export.add_argument(
        "--opset",
        type=_positive_int,
        default=None,
        help="the ONNX operator set, 13 or newer (default: 17)",
    )
    export.set_defaults(handler=run_export)


def _add_inspect(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``glassnet inspect``."""
    inspect = commands.add_parser(
        "inspect",
        formatter_class=_Formatter,
        help="look inside a saved model: layers, units, activations",
        description=(
            "Look inside a saved model: summary.txt (its layers), network.png (its weights as a\n"
            "graph, or heatmaps for layers over 50 units), neurons.png (every unit over the input\n"
            "plane, for two inputs) and, with data, activations.csv (each layer's activation\n"
            "statistics on it)."
        ),
    )
    inspect.add_argument("model", help="a model file saved by glassnet")
    inspect.add_argument(
        "--data", metavar="CSV", help="a CSV file with the model's feature columns"
    )
    inspect.add_argument("--dataset", choices=BUILTIN, help="a built-in dataset instead of --data")
    inspect.add_argument(
        "--out", default=os.path.join("runs", "inspect"), help="folder for the outputs"
    )
    inspect.set_defaults(handler=run_inspect)


def _add_page(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``glassnet page``."""
    page = commands.add_parser(
        "page",
        formatter_class=_Formatter,
        help="an interactive HTML page of a run or a model",
        description=(
            "Write one self-contained HTML page (no network access, opens from disk) of a run\n"
            "folder (glassnet train or demo: model.safetensors, with snapshots.safetensors and\n"
            "monitor.json when there) or a model file: the network as a graph and weight\n"
            "heatmaps, every unit over the input plane (two inputs), an epoch slider and a\n"
            "play button over the snapshots, the loss and monitor curves, and any point's\n"
            "forward pass, computed in the page from the embedded parameters as glassnet does."
        ),
    )
    page.add_argument("model", metavar="RUN_DIR_OR_MODEL", help="a run folder or a model file")
    page.add_argument(
        "--data",
        metavar="CSV",
        help=(
            "points to draw: a CSV file with the model's feature columns (default: the run's "
            "own data, read again)"
        ),
    )
    page.add_argument(
        "--out",
        metavar="HTML",
        default=None,
        help="the page to write (default: RUN_DIR/page.html, or MODEL.html beside a model file)",
    )
    page.set_defaults(handler=run_page)
