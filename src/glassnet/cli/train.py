"""``glassnet train``: a network on a CSV file or a built-in dataset, and its outputs.

Everything that can be checked is checked before training: the settings, the data, the output
folder and each name written into it, the checkpoint's place and the memory the network needs.
What is left to fail afterwards (a full disk, say) leaves ``--out`` as it was. The data are
loaded and prepared by :mod:`.data`.
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
from typing import Any, cast

import numpy as np

from .. import metrics, plotting
from ..io import ModelFileError, load, read_file, resume, save
from ..model import rules
from ..network import NeuralNetwork
from ..optim import optimizers
from ..training.callbacks import NonFiniteLossError
from ..training.monitor import Monitor
from .common import (
    EXIT_INTERRUPTED,
    CommandError,
    note,
    pass_on_warnings,
    ready_compiled,
    say,
    train_quietly,
    versions,
    write_history,
    write_json,
)
from .data import Prepared, prepare
from .demo import (
    PAGE_SNAPSHOTS,
    snapshot_epochs,
    write_pictures,
    write_run_page,
    write_snapshot_file,
)
from .memory import check_memory
from .modelinfo import SETTINGS, ModelInfo, check_settings
from .outputs import OutputFolder, check_output_file

#: the flags that may come with --resume (the rest are the checkpoint's)
_WITH_RESUME = {"resume", "epochs", "out", "checkpoint", "quiet", "page"}


@dataclass(frozen=True)
class _Checkpoint:
    """What ``--resume`` continues: the run's settings and how far it got."""

    settings: dict[str, Any]
    done: int
    planned: int
    finished: bool
    checkpoint_every: int


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
    if settings["optimizer"] == "lbfgs" and settings["lr"] is not None:
        raise CommandError("--lr is for sgd, adam and adamw: lbfgs chooses its own step sizes")
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
    monitor = None
    with outputs.staging() as stage:
        loading = None
        if checkpoint is None:  # (a resumed run's network is read by the training call)
            loading = ready_compiled(network, run.x, run.y, settings["batch_size"])
        started = time.perf_counter()
        try:
            if checkpoint is None:
                monitor = _monitor(settings, run, args.page, network.parameters.size)
                if monitor.snapshot_epochs:  # the initial parameters too, as the demo keeps
                    monitor.snapshot(network, 0)
                interrupted = _train_new(args, settings, run, network, monitor)
            else:
                network, interrupted = _resume(args, checkpoint, run)
        except NonFiniteLossError as error:
            raise CommandError(f"{error}{f' ({run.advice})' if run.advice else ''}") from None
        seconds = time.perf_counter() - started
        scores = _report(network, run)
        notes = _write_outputs(stage, outputs, network, run)
        if monitor is not None:
            notes += _write_monitor(stage, outputs, network, run, monitor)
            if not write_snapshot_file(stage, network, monitor):
                outputs.discard("snapshots.safetensors")  # an older run's would not fit
        if args.page:
            title = os.path.basename(os.path.normpath(args.out))
            notes += _write_page(stage, network, run, monitor, title)
        summary = {
            **scores,
            "task": run.info.task,
            "data": run.description,
            "epochs": len(network.history),
            "interrupted": interrupted,
            "training_seconds": seconds,
            "kernel_ready_seconds": loading,
            "backend": network.backend,
            "training_path": network.training_path,
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
        names += ["decision_boundary.png", "training.gif"]
    return [*names, *_MONITOR_OUTPUTS, "snapshots.safetensors", "page.html"]


#: what the monitor of a new run writes (neurons.png for two inputs)
_MONITOR_OUTPUTS = ("monitor.json", "monitor.csv", "dynamics.png", "network.png", "neurons.png")


#: the most memory the page's snapshots may take while training
_PAGE_SNAPSHOT_BYTES = 256 * 2**20


def _monitor(
    settings: dict[str, Any], run: Prepared, page: bool = False, n_parameters: int = 0
) -> Monitor:
    """A monitor of the new run on (up to 256 rows of) its training data, with snapshots for
    training.gif when it can be drawn, and for the page's replay (``--page``: fewer for a
    network too big to keep 50 copies of in 256 MiB)."""
    epochs = settings["epochs"]
    animated = run.x.shape[1] == 2 and run.info.task == "classification"
    frames = min(PAGE_SNAPSHOTS, max(2, _PAGE_SNAPSHOT_BYTES // max(8 * n_parameters, 1)))
    wanted = snapshot_epochs(epochs, frames) if page else snapshot_epochs(epochs)
    return Monitor(run.x, run.y, snapshot_epochs=wanted if animated or page else None)


def _write_page(
    stage: str, network: NeuralNetwork, run: Prepared, monitor: Monitor | None, title: str
) -> list[str]:
    """page.html of the run (``--page``), with its points in the data's own units, and
    snapshots.safetensors; returns the page's notes."""
    info = run.info
    undo = info.standardize.undo if info.standardize is not None else (lambda v: v)
    test = None if run.validation is None else (undo(run.validation[0]), run.validation[1])
    return write_run_page(stage, network, monitor, (undo(run.x), run.y), test, title)


def _write_monitor(
    stage: str, outputs: OutputFolder, network: NeuralNetwork, run: Prepared, monitor: Monitor
) -> list[str]:
    """Say the diagnosis; write monitor.json/.csv and the pictures of the run's insides. Pictures
    that cannot be drawn are left out with a note, as the other figures are."""
    from ..diagnosis import diagnose

    say("diagnosis (glassnet.diagnose on the recorded dynamics):")
    for line in diagnose(monitor):
        say(f"  - {line}")
    labels = run.y if run.info.task == "classification" else None
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            write_pictures(stage, network, monitor, run.x, labels)
    except OSError:
        raise
    except Exception as error:  # a picture is worth less than the trained model
        return [f"the monitor's pictures were not all drawn ({type(error).__name__}: {error})"]
    finally:
        for name in _MONITOR_OUTPUTS:
            if not os.path.exists(os.path.join(stage, name)):
                outputs.discard(name)
    return []


def _train_new(
    args: argparse.Namespace,
    settings: dict[str, Any],
    run: Prepared,
    network: NeuralNetwork,
    monitor: Monitor,
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
        callbacks=[monitor],
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
    _save_model(network, os.path.join(stage, "model.safetensors"))
    write_history(network.history, os.path.join(stage, "history.csv"))
    return _draw_figures(stage, outputs, _figures(network, run))


def _save_model(network: NeuralNetwork, model_path: str) -> None:
    """Save the model at ``model_path``; refuse it if it cannot be read back."""
    save(network, model_path)
    try:  # what predict, evaluate and --resume will read
        load(model_path)
    except ModelFileError as error:
        reason = str(error).rsplit("glassnet model file", 1)[-1].lstrip(": ")
        raise CommandError(
            f"training left a model that cannot be read back ({reason}); nothing was written "
            "(inputs this large train better with --standardize)"
        ) from None


def _figures(network: NeuralNetwork, run: Prepared) -> list[tuple[str, Callable[[str], None]]]:
    """The run's figures: each file's name and what draws it at a path."""
    info = run.info
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
    return figures


def _draw_figures(
    stage: str, outputs: OutputFolder, figures: list[tuple[str, Callable[[str], None]]]
) -> list[str]:
    """Draw each figure into the staging folder; one that fails is left out (and an older file
    of its name discarded from the folder). Returns notes naming those left out."""
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
