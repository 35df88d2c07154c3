"""``glassnet train``: a network on a CSV file or a built-in dataset, and its outputs."""

from __future__ import annotations

import argparse
import os
import time
import warnings
from typing import Any, TypeAlias

import numpy as np

from .. import metrics, plotting
from ..datasets import Dataset, load_csv, load_dataset, validation_split
from ..io import read_file, resume, save
from ..model import rules
from ..model.targets import encode_labels
from ..network import NeuralNetwork
from ..optim import optimizers
from .common import (
    CommandError,
    note,
    say,
    staging,
    standardize,
    train_quietly,
    versions,
    write_history,
    write_json,
)

#: what `glassnet train` records in a checkpoint, so that `--resume` can redo the same run
SETTINGS = (
    "data",
    "target",
    "dataset",
    "n_samples",
    "noise",
    "task",
    "validation_split",
    "standardize",
    "hidden",
    "activation",
    "loss",
    "optimizer",
    "lr",
    "momentum",
    "l2",
    "batch_size",
    "epochs",
    "seed",
    "dtype",
)

#: the held-out ``(x, y)``, if any
_Validation: TypeAlias = "tuple[np.ndarray, np.ndarray] | None"
#: ``(x, y, validation)``: what a run trains on
_TrainingData: TypeAlias = "tuple[np.ndarray, np.ndarray, _Validation]"


def _load_data(settings: dict[str, Any]) -> Dataset:
    if settings["data"] is not None:
        if settings["target"] is None:
            raise CommandError("--data needs --target COLUMN: the column to predict")
        if settings["n_samples"] is not None or settings["noise"] is not None:
            raise CommandError("--n-samples and --noise apply to --dataset only")
        return load_csv(settings["data"], settings["target"])
    if settings["dataset"] is None:
        raise CommandError("give --data CSV --target COLUMN, or --dataset NAME")
    return load_dataset(
        settings["dataset"], settings["n_samples"], settings["noise"], settings["seed"]
    )


def _targets(dataset: Dataset, task: str, info: dict[str, Any]) -> np.ndarray:
    """The target column as class indices (recording the classes in ``info``) or numbers."""
    name = dataset.target
    if task == "regression":
        if dataset.y.dtype.kind not in "biuf":
            raise CommandError(
                f"the target {name!r} holds text; regression needs numbers "
                "(use --task classification)"
            )
        info["classes"] = None
        return dataset.y.astype(float)
    if dataset.y.dtype.kind == "f" and not np.all(dataset.y == np.round(dataset.y)):
        raise CommandError(
            f"the target {name!r} holds non-integer numbers; classification needs labels "
            "(integers or text), or use --task regression"
        )
    classes, labels = encode_labels(dataset.y)
    if len(classes) < 2:
        raise CommandError(
            f"the target {name!r} has a single class ({classes[0]!r}); classification needs "
            "at least 2"
        )
    info["classes"] = classes.tolist()
    if dataset.class_names is not None and len(dataset.class_names) == len(classes):
        info["class_names"] = dataset.class_names
    return labels


def _standardize(
    x: np.ndarray, x_val: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None, dict[str, list[float]]]:
    """Features scaled to mean 0 and standard deviation 1 by the training part's statistics."""
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    statistics = {"mean": x.mean(axis=0).tolist(), "scale": scale.tolist()}
    x_val = None if x_val is None else standardize(x_val, statistics)
    return standardize(x, statistics), x_val, statistics


def prepare(
    settings: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, dict[str, Any]]:
    """Data → ``(x_train, y_train, x_val, y_val, info)`` exactly as the settings say (also on
    resume, so the same rows are held out)."""
    dataset = _load_data(settings)
    task, reason = dataset.guess_task()
    if settings["task"] != "auto":
        task, reason = settings["task"], "--task"
    info: dict[str, Any] = {
        "task": task,
        "features": dataset.feature_names,
        "target": dataset.target,
        "description": dataset.description,
        "task_reason": reason,
    }
    y = _targets(dataset, task, info)
    x = dataset.x
    if len(y) < 2:
        raise CommandError(f"{dataset.description}: at least 2 samples are needed to train")
    x_val = y_val = None
    fraction = settings["validation_split"]
    if fraction > 0:
        labels = y if task == "classification" else None
        try:
            x, x_val, y, y_val = validation_split(
                x,
                y,
                fraction=fraction,
                random_state=settings["seed"],
                labels=labels,
                name="--validation-split",
            )
        except ValueError as error:
            raise CommandError(
                f"cannot hold out --validation-split {fraction} of {len(y)} samples: {error}"
            ) from None
    info["standardize"] = None
    if settings["standardize"]:
        x, x_val, info["standardize"] = _standardize(x, x_val)
    return x, y, x_val, y_val, info


def build_network(settings: dict[str, Any], info: dict[str, Any], n_features: int) -> NeuralNetwork:
    """The network the settings describe, built by the library's one builder and rules."""
    task = info["task"]
    n_classes = len(info["classes"]) if info["classes"] is not None else None
    loss = settings["loss"] or rules.default_loss(task)
    try:
        rules.check_loss_for_task(loss, task, n_classes, label=f"--loss {loss}")
    except ValueError as error:
        reason = f" ({info['task_reason']})" if "the task is" in str(error) else ""
        raise CommandError(f"{error}{reason}") from None
    kwargs = {} if settings["lr"] is None else {"learning_rate": settings["lr"]}
    if settings["optimizer"] == "sgd":
        kwargs["momentum"] = settings["momentum"]
    elif settings["momentum"]:
        raise CommandError(f"--momentum is for --optimizer sgd, not {settings['optimizer']}")
    n_outputs = rules.n_outputs_for(loss, task, n_classes, 1)
    return NeuralNetwork.from_sizes(
        [n_features, *settings["hidden"], n_outputs],
        activation=settings["activation"],
        output_activation=rules.output_activation_for(loss, task),
        weight_init="auto",
        loss=loss,
        optimizer=optimizers.get(settings["optimizer"], **kwargs),
        l2=settings["l2"],
        task=task,
        random_state=settings["seed"],
        dtype=settings["dtype"],
    )


def _stored_settings(checkpoint: str) -> dict[str, Any]:
    content, _ = read_file(checkpoint)
    stored = content.get("metadata", {}).get("cli", {}).get("settings")
    if not isinstance(stored, dict) or set(stored) != set(SETTINGS):
        raise CommandError(
            f"{checkpoint} is not a checkpoint written by glassnet train (it holds no "
            "command-line settings)"
        )
    settings = dict(stored)
    settings["hidden"] = tuple(settings["hidden"])
    if settings["data"] is not None and not os.path.exists(settings["data"]):
        raise CommandError(
            f"the checkpoint was trained on {settings['data']}, which no longer exists"
        )
    return settings


def _resume(
    args: argparse.Namespace, data: _TrainingData, info: dict[str, Any]
) -> tuple[NeuralNetwork, bool]:
    x, y, validation = data
    say(f"resuming {args.resume}: {info['description']}, task {info['task']}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        verbose = 0 if args.quiet else 1
        network = resume(args.resume, x, y, validation_data=validation, verbose=verbose)
    for warning in caught:
        note(str(warning.message))
    return network, any("interrupted" in str(w.message) for w in caught)


def _train_new(
    args: argparse.Namespace, settings: dict[str, Any], data: _TrainingData, info: dict[str, Any]
) -> tuple[NeuralNetwork, bool]:
    x, y, validation = data
    network = build_network(settings, info, x.shape[1])
    kept = {k: v for k, v in info.items() if k != "description"}
    network.metadata = {
        "cli": {**kept, "settings": {**settings, "hidden": list(settings["hidden"])}}
    }
    say(f"training on {info['description']}: {info['task']} ({info['task_reason']})")
    sizes = "-".join(str(n) for n in [x.shape[1], *settings["hidden"], network.n_outputs])
    say(
        f"  network {sizes}, {settings['activation']} hidden layers, loss {network.loss.name}, "
        f"{network.optimizer!r}"
    )
    interrupted = train_quietly(
        network,
        x,
        y,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        validation_data=validation,
        verbose=0 if args.quiet else 1,
        checkpoint=args.checkpoint,
        checkpoint_every=args.checkpoint_every,
    )
    return network, interrupted


def run_train(args: argparse.Namespace) -> int:
    if args.resume is not None:
        settings = _stored_settings(args.resume)
    else:
        settings = {name: getattr(args, name) for name in SETTINGS}
        if settings["data"] is not None and settings["dataset"] is not None:
            raise CommandError("give either --data or --dataset, not both")
    x, y, x_val, y_val, info = prepare(settings)
    validation = None if x_val is None or y_val is None else (x_val, y_val)  # both or neither
    with staging(args.out) as stage:
        started = time.perf_counter()
        if args.resume is not None:
            network, interrupted = _resume(args, (x, y, validation), info)
        else:
            network, interrupted = _train_new(args, settings, (x, y, validation), info)
        seconds = time.perf_counter() - started
        scores = _report(network, x, y, validation, info)
        _write_outputs(stage, network, x, y, validation, info, settings)
        save(network, os.path.join(stage, "model.safetensors"))
        write_history(network.history, os.path.join(stage, "history.csv"))
        summary = {
            **scores,
            "task": info["task"],
            "data": info["description"],
            "epochs": len(network.history),
            "interrupted": interrupted,
            "training_seconds": seconds,
            "seed": settings["seed"],
            "settings": {**settings, "hidden": list(settings["hidden"])},
            "versions": versions(),
        }
        write_json(summary, os.path.join(stage, "metrics.json"))
        written = sorted(os.listdir(stage))
    say(f"training time: {seconds:.2f} s")
    say(f"wrote {', '.join(written)} to {args.out}")
    return 0


def _report(
    network: NeuralNetwork,
    x: np.ndarray,
    y: np.ndarray,
    validation: _Validation,
    info: dict[str, Any],
) -> dict[str, dict[str, float]]:
    scores = {"training": network.evaluate(x, y)}
    if validation is not None:
        scores["validation"] = network.evaluate(*validation)
        if info["task"] == "regression":
            predicted = network.predict(validation[0])
            scores["validation"]["r2"] = metrics.r2_score(validation[1], predicted)
    part = "validation" if validation is not None else "training"
    for name, value in scores[part].items():
        say(f"{part} {name}: {value:.4f}")
    return scores


def _write_outputs(
    stage: str,
    network: NeuralNetwork,
    x: np.ndarray,
    y: np.ndarray,
    validation: _Validation,
    info: dict[str, Any],
    settings: dict[str, Any],
) -> None:
    names = [str(c) for c in info.get("class_names") or info["classes"] or []] or None
    if x.shape[1] >= 2:
        plotting.plot_data(
            x,
            y,
            os.path.join(stage, "data.png"),
            title=f"{info['description']}: training part",
            class_names=names,
        )
    plotting.plot_loss(
        network.history,
        os.path.join(stage, "loss.png"),
        title="loss per epoch",
        loss_name=network.loss.name,
    )
    if x.shape[1] == 2 and info["task"] == "classification":
        shown_x, shown_y = validation if validation is not None else (x, y)
        plotting.plot_decision_boundary(
            network.predict_proba,
            shown_x,
            shown_y,
            os.path.join(stage, "decision_boundary.png"),
            title="decision boundary, with the "
            + ("validation" if validation is not None else "training")
            + " points",
            class_names=names,
        )
