"""``glassnet train``: a network on a CSV file or a built-in dataset, and its outputs.

Everything that can be checked is checked before training: the settings, the data, the output
folder and each name written into it, the checkpoint's place and the memory the network needs.
What is left to fail afterwards (a full disk, say) leaves ``--out`` as it was.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import numpy as np

from .. import metrics, plotting
from ..datasets import SYNTHETIC, Dataset, load_csv, load_dataset, validation_split
from ..io import ModelFileError, load, read_file, resume, save
from ..model import rules
from ..model.targets import encode_labels
from ..network import NeuralNetwork
from ..optim import optimizers
from ..training.callbacks import NonFiniteLossError
from .common import (
    EXIT_INTERRUPTED,
    CommandError,
    OutputFolder,
    check_memory,
    check_output_file,
    note,
    pass_on_warnings,
    say,
    train_quietly,
    versions,
    write_history,
    write_json,
)
from .modelinfo import SETTINGS, Label, ModelInfo, Scaling, check_settings

#: the flags that may come with --resume (the rest are the checkpoint's)
_WITH_RESUME = {"resume", "epochs", "out", "checkpoint", "quiet"}
#: regression targets whose standard deviation or mean is larger than this in size train badly
#: unless they are standardised
_LARGE_TARGET = 1e3
#: bytes of memory per sample of a synthetic dataset (its columns, the split, copies)
_BYTES_PER_SYNTHETIC_SAMPLE = 256

#: the held-out ``(x, y)``, if any
_Validation: TypeAlias = "tuple[np.ndarray, np.ndarray] | None"


@dataclass(frozen=True)
class Prepared:
    """The data a run trains on, as the settings say (also on resume: the same rows are held
    out). ``y`` is class indices, or numbers (standardised with ``--standardize-target``)."""

    x: np.ndarray
    y: np.ndarray
    validation: _Validation
    info: ModelInfo
    description: str
    #: advice to give with the results (a regression target too large to learn well)
    advice: str | None


@dataclass(frozen=True)
class _Checkpoint:
    """What ``--resume`` continues: the run's settings and how far it got."""

    settings: dict[str, Any]
    done: int
    planned: int
    finished: bool
    checkpoint_every: int


# ====================================================================== the data
def _load_data(settings: dict[str, Any]) -> Dataset:
    if settings["data"] is not None:
        if settings["target"] is None:
            raise CommandError("--data needs --target COLUMN: the column to predict")
        if settings["n_samples"] is not None or settings["noise"] is not None:
            raise CommandError("--n-samples and --noise apply to --dataset only")
        labels = settings["task"] == "classification"
        return load_csv(settings["data"], settings["target"], labels=labels)
    if settings["dataset"] is None:
        raise CommandError("give --data CSV --target COLUMN, or --dataset NAME")
    n_samples = settings["n_samples"]
    if settings["dataset"] in SYNTHETIC and n_samples is not None:
        check_memory(
            n_samples * _BYTES_PER_SYNTHETIC_SAMPLE,
            f"--dataset {settings['dataset']} with --n-samples {n_samples}",
            "choose a smaller --n-samples",
        )
    return load_dataset(settings["dataset"], n_samples, settings["noise"], settings["seed"])


def _label(value: Any) -> Label:
    """A class label as JSON keeps it: an integral float becomes an int (``0``, not ``0.0``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _targets(dataset: Dataset, task: str) -> tuple[np.ndarray, list[Label] | None]:
    """The target column as class indices (with the classes) or numbers (with None)."""
    name = dataset.target
    if task == "regression":
        if dataset.y.dtype.kind not in "biuf":
            raise CommandError(
                f"the target {name!r} holds text; regression needs numbers "
                "(use --task classification)"
            )
        return dataset.y.astype(float), None
    if dataset.y.dtype.kind == "f" and not np.all(dataset.y == np.round(dataset.y)):
        raise CommandError(
            f"the target {name!r} holds non-integer numbers; classification needs labels "
            "(integers or text), or use --task regression"
        )
    classes, labels = encode_labels(dataset.y)
    if len(classes) < 2:
        raise CommandError(
            f"the target {name!r} has a single class ({_label(classes[0].item())!r}); "
            "classification needs at least 2"
        )
    return labels, [_label(c) for c in classes.tolist()]


def _scaling(values: np.ndarray, names: list[str], flag: str, *parts: np.ndarray) -> Scaling:
    """The training part's statistics, checked to standardise every part to finite values."""
    scaling = Scaling.of(values)
    for part in (values, *parts):
        finite = np.isfinite(scaling.apply(part)).all(axis=0)
        if not finite.all():
            column = int(np.argmin(finite))
            peak = float(np.abs(part[:, column]).max())
            raise CommandError(
                f"{flag}: the column {names[column]!r} cannot be standardised: its values "
                f"(up to {peak:.3g} in size) are too large"
            )
    return scaling


def _check_float32(x: np.ndarray, y: np.ndarray | None, names: list[str]) -> None:
    """Refuse values that float32 cannot hold, naming the column."""
    largest = float(np.finfo(np.float32).max)
    columns = x if y is None else np.column_stack([x, y])
    too_large = (np.abs(columns) > largest).any(axis=0)
    if too_large.any():
        column = int(np.argmax(too_large))
        peak = float(np.abs(columns[:, column]).max())
        hint = "--standardize-target" if column == x.shape[1] else "--standardize"
        raise CommandError(
            f"--dtype float32: the column {names[column]!r} holds values too large for float32 "
            f"(up to {peak:.3g}); use {hint} or --dtype float64"
        )


def _advice(y: np.ndarray, target: str) -> str | None:
    """Advice for a regression target too large (in spread or size) to learn well as it is."""
    scaling = Scaling.of(y[:, None])
    mean, spread = float(scaling.mean[0]), float(scaling.scale[0])
    if spread > _LARGE_TARGET or abs(mean) > _LARGE_TARGET:
        return (
            f"the target {target!r} has mean {mean:.3g} and standard deviation {spread:.3g}; "
            "a network learns such large numbers slowly if at all: --standardize-target "
            "usually helps"
        )
    return None


def _split(
    settings: dict[str, Any], x: np.ndarray, y: np.ndarray, task: str
) -> tuple[np.ndarray, np.ndarray, _Validation]:
    fraction = settings["validation_split"]
    if fraction == 0:
        return x, y, None
    try:
        x, x_val, y, y_val = validation_split(
            x,
            y,
            fraction=fraction,
            random_state=settings["seed"],
            labels=y if task == "classification" else None,
            name="--validation-split",
        )
    except ValueError as error:
        raise CommandError(
            f"cannot hold out --validation-split {fraction} of {len(y)} samples: {error}"
        ) from None
    return x, y, (x_val, y_val)


def prepare(settings: dict[str, Any]) -> Prepared:
    """Data → what the run trains on, exactly as the settings say."""
    dataset = _load_data(settings)
    task, reason = dataset.guess_task()
    if settings["task"] != "auto":
        task, reason = settings["task"], "--task"
    if settings["standardize_target"] and task != "regression":
        raise CommandError(f"--standardize-target is for regression; the task is {task} ({reason})")
    y, classes = _targets(dataset, task)
    if len(y) < 2:
        raise CommandError(f"{dataset.description}: at least 2 samples are needed to train")
    x, y, validation = _split(settings, dataset.x, y, task)
    x_val, y_val = (None, None) if validation is None else validation
    standardize = target_standardize = None
    if settings["standardize"]:
        held_out = () if x_val is None else (x_val,)
        standardize = _scaling(x, dataset.feature_names, "--standardize", *held_out)
        x = standardize.apply(x)
        x_val = None if x_val is None else standardize.apply(x_val)
    advice = None
    if settings["standardize_target"]:
        held_out = () if y_val is None else (y_val[:, None],)
        target_standardize = _scaling(
            y[:, None], [dataset.target], "--standardize-target", *held_out
        )
        y = target_standardize.apply(y[:, None])[:, 0]
        y_val = None if y_val is None else target_standardize.apply(y_val[:, None])[:, 0]
    elif task == "regression":
        advice = _advice(y, dataset.target)
    if settings["dtype"] == "float32":
        names = [*dataset.feature_names, dataset.target]
        _check_float32(x, y if task == "regression" else None, names)
        if x_val is not None and y_val is not None:
            _check_float32(x_val, y_val if task == "regression" else None, names)
    info = ModelInfo(
        task=task,
        features=dataset.feature_names,
        target=dataset.target,
        classes=classes,
        class_names=(
            dataset.class_names
            if classes is not None
            and dataset.class_names is not None
            and len(dataset.class_names) == len(classes)
            else None
        ),
        standardize=standardize,
        target_standardize=target_standardize,
        task_reason=reason,
        settings={**settings, "hidden": list(settings["hidden"])},
    )
    validation = None if x_val is None or y_val is None else (x_val, y_val)
    return Prepared(x, y, validation, info, dataset.description, advice)


# ====================================================================== the network
def _loss_and_sizes(
    settings: dict[str, Any], info: dict[str, Any], n_features: int
) -> tuple[str, list[int]]:
    """The loss (checked against the task) and the layer sizes the settings describe."""
    task = info["task"]
    n_classes = len(info["classes"]) if info.get("classes") is not None else None
    loss = settings["loss"] or rules.default_loss(task)
    try:
        rules.check_loss_for_task(loss, task, n_classes, label=f"--loss {loss}")
    except ValueError as error:
        reason = f" ({info.get('task_reason')})" if "the task is" in str(error) else ""
        raise CommandError(f"{error}{reason}") from None
    n_outputs = rules.n_outputs_for(loss, task, n_classes, 1)
    return loss, [n_features, *settings["hidden"], n_outputs]


def build_network(settings: dict[str, Any], info: dict[str, Any], n_features: int) -> NeuralNetwork:
    """The network the settings describe, built by the library's one builder and rules.

    ``info`` is the command line's description of the task (:meth:`ModelInfo.to_json`; its
    ``task``, ``classes`` and ``task_reason`` are read).
    """
    loss, sizes = _loss_and_sizes(settings, info, n_features)
    kwargs = {} if settings["lr"] is None else {"learning_rate": settings["lr"]}
    if settings["optimizer"] == "sgd":
        kwargs["momentum"] = settings["momentum"]
    elif settings["momentum"]:
        raise CommandError(f"--momentum is for --optimizer sgd, not {settings['optimizer']}")
    return NeuralNetwork.from_sizes(
        sizes,
        activation=settings["activation"],
        output_activation=rules.output_activation_for(loss, info["task"]),
        weight_init="auto",
        loss=loss,
        optimizer=optimizers.get(settings["optimizer"], **kwargs),
        l2=settings["l2"],
        task=info["task"],
        random_state=settings["seed"],
        dtype=settings["dtype"],
    )


def _check_network_memory(settings: dict[str, Any], sizes: list[int]) -> None:
    """Refuse a network that cannot fit in memory before allocating any of it.

    Counted: the parameters, their gradients, the optimizer's slots (Adam keeps two) and the
    copy of all of them taken at each epoch's start; and the activations of a training batch
    or of a prediction chunk (at least 1024 rows), a few arrays per layer.
    """
    itemsize = np.dtype(settings["dtype"]).itemsize
    n_parameters = sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))
    slots = 1 if settings["optimizer"] == "sgd" else 2
    rows = max(settings["batch_size"], 1024)
    needed = itemsize * (2 * n_parameters * (2 + slots) + 3 * rows * sum(sizes))
    shape = "-".join(map(str, sizes))
    check_memory(
        needed,
        f"a {shape} network ({n_parameters:,} parameters)",
        "choose smaller --hidden layers or --batch-size",
    )


# ====================================================================== the command
def run_train(args: argparse.Namespace) -> int:
    checkpoint = None
    if args.resume is not None:
        checkpoint = _read_checkpoint(args)
        settings = checkpoint.settings
    else:
        settings = {name: getattr(args, name) for name in SETTINGS}
        if settings["data"] is not None and settings["dataset"] is not None:
            raise CommandError("give either --data or --dataset, not both")
    outputs = OutputFolder(args.out, "--out", "glassnet train")
    if args.checkpoint is not None:
        check_output_file(args.checkpoint, "--checkpoint", screen=False)
    run = prepare(settings)
    outputs.check_names(_output_names(run))
    if checkpoint is None:  # built, its memory checked first, before anything is staged
        info = run.info.to_json()
        _check_network_memory(settings, _loss_and_sizes(settings, info, run.x.shape[1])[1])
        network = build_network(settings, info, run.x.shape[1])
    with outputs.staging() as stage:
        started = time.perf_counter()
        try:
            if checkpoint is None:
                interrupted = _train_new(args, settings, run, network)
            else:
                network, interrupted = _resume(args, checkpoint, run)
        except NonFiniteLossError as error:
            raise CommandError(f"{error}{f' ({run.advice})' if run.advice else ''}") from None
        seconds = time.perf_counter() - started
        scores = _report(network, run)
        notes = _write_outputs(stage, outputs, network, run)
        summary = {
            **scores,
            "task": run.info.task,
            "data": run.description,
            "epochs": len(network.history),
            "interrupted": interrupted,
            "training_seconds": seconds,
            "seed": settings["seed"],
            "settings": network.metadata["cli"]["settings"],
            "versions": versions(),
        }
        write_json(summary, os.path.join(stage, "metrics.json"))
        written = sorted(os.listdir(stage))
    say(f"training time: {seconds:.2f} s")
    say(f"wrote {', '.join(written)} to {args.out}")
    for text in [*notes, *([] if run.advice is None else [run.advice])]:
        note(text)
    return EXIT_INTERRUPTED if interrupted else 0


def _output_names(run: Prepared) -> list[str]:
    names = ["history.csv", "loss.png", "metrics.json", "model.safetensors"]
    if run.x.shape[1] >= 2:
        names.append("data.png")
    if run.x.shape[1] == 2 and run.info.task == "classification":
        names.append("decision_boundary.png")
    return names


def _train_new(
    args: argparse.Namespace, settings: dict[str, Any], run: Prepared, network: NeuralNetwork
) -> bool:
    """Train a new network; returns whether Ctrl-C interrupted it."""
    network.metadata = {"cli": run.info.to_json()}
    say(f"training on {run.description}: {run.info.task} ({run.info.task_reason})")
    sizes = "-".join(str(n) for n in [run.x.shape[1], *settings["hidden"], network.n_outputs])
    say(
        f"  network {sizes}, {settings['activation']} hidden layers, loss {network.loss.name}, "
        f"{network.optimizer!r}"
    )
    return train_quietly(
        network,
        run.x,
        run.y,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        validation_data=run.validation,
        verbose=0 if args.quiet else 1,
        checkpoint=args.checkpoint,
        checkpoint_every=args.checkpoint_every,
        resume_with=args.checkpoint,
    )


# ====================================================================== resuming
def _read_checkpoint(args: argparse.Namespace) -> _Checkpoint:
    """The checkpoint's settings (with ``--epochs`` as the new total) and progress; any other
    training flag is refused."""
    changed = sorted(set(args.given) - _WITH_RESUME)
    if changed:
        raise CommandError(
            f"{args.given[changed[0]]} cannot be changed when resuming: the checkpoint's "
            "settings are reused (only --epochs, --out, --checkpoint and --quiet apply)"
        )
    path = args.resume
    content, _ = read_file(path)
    training = content.get("training")
    if not isinstance(training, dict):
        raise CommandError(f"{path} is a model file, not a checkpoint: it has no training state")
    metadata = content.get("metadata")
    section = metadata.get("cli") if isinstance(metadata, dict) else None
    if not isinstance(section, dict) or "settings" not in section:
        raise CommandError(
            f"{path} is not a checkpoint written by glassnet train (it holds no command-line "
            "settings)"
        )
    settings = check_settings(section["settings"], path)
    ModelInfo.from_metadata({"cli": section}, path)
    numbers = [training.get(key) for key in ("epoch", "target_epochs", "checkpoint_every")]
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers):
        raise CommandError(f"{path} is not a valid glassnet model file: malformed training state")
    done, planned, every = (int(cast(int, n)) for n in numbers)
    finished = bool(training.get("finished")) or done >= planned
    if "epochs" in args.given:
        if args.epochs < done:
            raise CommandError(
                f"--epochs {args.epochs}: the checkpoint has already trained {done} epochs"
            )
        settings["epochs"] = args.epochs
    else:
        settings["epochs"] = done if finished else planned
    if settings["data"] is not None and not os.path.exists(settings["data"]):
        raise CommandError(
            f"the checkpoint was trained on {settings['data']}, which no longer exists"
        )
    return _Checkpoint(settings, done, planned, finished, max(every, 1))


def _resume(
    args: argparse.Namespace, checkpoint: _Checkpoint, run: Prepared
) -> tuple[NeuralNetwork, bool]:
    """Continue the checkpoint's run to ``--epochs`` epochs in all; returns the network and
    whether Ctrl-C interrupted it."""
    total = checkpoint.settings["epochs"]
    saving_to = args.checkpoint if args.checkpoint is not None else args.resume
    say(f"resuming {args.resume}: {run.description}, task {run.info.task}, {total} epochs in all")
    verbose = 0 if args.quiet else 1

    def stop_at_total(network: NeuralNetwork, epoch: int, logs: dict[str, float]) -> bool:
        return epoch + 1 >= total

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        network = resume(
            args.resume,
            run.x,
            run.y,
            validation_data=run.validation,
            verbose=verbose,
            callbacks=[stop_at_total] if total < checkpoint.planned else [],
            checkpoint=args.checkpoint,
        )
    interrupted = pass_on_warnings(caught, saving_to)
    # the model keeps what this run knows of its data, with the new total
    network.metadata = {**network.metadata, "cli": run.info.to_json()}
    if not interrupted and len(network.history) < total:
        interrupted = train_quietly(
            network,
            run.x,
            run.y,
            epochs=total - len(network.history),
            batch_size=checkpoint.settings["batch_size"],
            validation_data=run.validation,
            verbose=verbose,
            checkpoint=saving_to,
            checkpoint_every=checkpoint.checkpoint_every,
            resume_with=saving_to,
        )
    return network, interrupted


# ====================================================================== the results
def _report(network: NeuralNetwork, run: Prepared) -> dict[str, dict[str, float]]:
    scores = {"training": network.evaluate(run.x, run.y)}
    if run.validation is not None:
        scores["validation"] = network.evaluate(*run.validation)
        if run.info.task == "regression":
            predicted = network.predict(run.validation[0])
            scores["validation"]["r2"] = metrics.r2_score(run.validation[1], predicted)
    part = "validation" if run.validation is not None else "training"
    for name, value in scores[part].items():
        say(f"{part} {name}: {value:.4f}")
    return scores


def _write_outputs(
    stage: str, outputs: OutputFolder, network: NeuralNetwork, run: Prepared
) -> list[str]:
    """The model, the history and the figures, into the staging folder. A figure that cannot be
    drawn (of features too large to plot, say) is left out rather than the trained model thrown
    away; returns notes saying so."""
    info = run.info
    model_path = os.path.join(stage, "model.safetensors")
    save(network, model_path)
    try:  # what predict, evaluate and --resume will read
        load(model_path)
    except ModelFileError as error:
        reason = str(error).rsplit("glassnet model file", 1)[-1].lstrip(": ")
        raise CommandError(
            f"training left a model that cannot be read back ({reason}); nothing was written "
            "(inputs this large train better with --standardize)"
        ) from None
    write_history(network.history, os.path.join(stage, "history.csv"))
    names = [str(c) for c in info.class_names or info.classes or []] or None
    x, y = run.x, run.y
    figures: list[tuple[str, Callable[[str], None]]] = []
    if x.shape[1] >= 2:
        figures.append(
            (
                "data.png",
                lambda path: plotting.plot_data(
                    x, y, path, title=f"{run.description}: training part", class_names=names
                ),
            )
        )
    figures.append(
        (
            "loss.png",
            lambda path: plotting.plot_loss(
                network.history, path, title="loss per epoch", loss_name=network.loss.name
            ),
        )
    )
    if x.shape[1] == 2 and info.task == "classification":
        shown = "validation" if run.validation is not None else "training"
        shown_x, shown_y = run.validation if run.validation is not None else (x, y)
        figures.append(
            (
                "decision_boundary.png",
                lambda path: plotting.plot_decision_boundary(
                    network.predict_proba,
                    shown_x,
                    shown_y,
                    path,
                    title=f"decision boundary, with the {shown} points",
                    class_names=names,
                ),
            )
        )
    notes = []
    for name, draw in figures:
        path = os.path.join(stage, name)
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                draw(path)
        except OSError:
            raise
        except Exception as error:  # a figure is worth less than the trained model
            with contextlib.suppress(OSError):
                os.unlink(path)
            outputs.discard(name)
            notes.append(f"{name} was not drawn ({type(error).__name__}: {error})")
    return notes
