"""``glassnet demo``: the blog post's experiment, end to end."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from .. import experiments, plotting
from ..io import save
from ..network import NeuralNetwork
from ..training.monitor import Monitor
from .common import (
    EXIT_INTERRUPTED,
    note,
    ready_compiled,
    say,
    seed_study_digest,
    train_quietly,
    versions,
    write_history,
    write_json,
)
from .outputs import OutputFolder

#: what the demo writes into --out
_OUTPUTS = (
    "data.png",
    "loss.png",
    "decision_boundary.png",
    "model.safetensors",
    "metrics.json",
    "history.csv",
    "monitor.json",
    "monitor.csv",
    "neurons.png",
    "network.png",
    "dynamics.png",
    "training.gif",
    "snapshots.safetensors",
    "page.html",
)

#: the widest layer drawn unit by unit in neurons.png
_MAP_UNITS = 100
#: frames of training.gif: denser early, where the loss moves fastest
_FRAMES = 40
#: epochs whose parameters the page replays (with the initial ones, 50 for 500 epochs)
PAGE_SNAPSHOTS = 54


def snapshot_epochs(epochs: int, frames: int = _FRAMES) -> list[int]:
    """Epoch numbers for the animation's frames: half spaced geometrically, half evenly."""
    early = np.geomspace(1, epochs, frames // 2)
    even = np.linspace(1, epochs, frames - frames // 2)
    return sorted({round(float(e)) for e in np.concatenate([early, even])})


def run_demo(args: argparse.Namespace) -> int:
    seed = args.seed
    x_train, x_test, y_train, y_test = experiments.moons_split(seed)
    network = experiments.seed_network(seed)
    network.metadata = {
        "demo": {"seed": seed},  # glassnet page draws the run's moons again from it
        "cli": {
            "task": "classification",
            "features": ["x1", "x2"],
            "target": "class",
            "classes": [0, 1],
            "standardize": None,
        }
    }
    outputs = OutputFolder(args.out, "--out", "glassnet demo")
    names = _OUTPUTS if args.page else _OUTPUTS[:-1]
    outputs.check_names(names)
    _introduce(seed, args.epochs)
    with outputs.staging() as stage:
        plotting.plot_data(
            x_train,
            y_train,
            os.path.join(stage, "data.png"),
            title=f"moons: the {len(y_train)} training samples",
        )
        frames = PAGE_SNAPSHOTS if args.page else _FRAMES
        monitor = Monitor(x_train, y_train, snapshot_epochs=snapshot_epochs(args.epochs, frames))
        monitor.snapshot(network, 0)
        loading = ready_compiled(network, x_train, y_train, 1)
        started = time.perf_counter()
        interrupted = train_quietly(
            network,
            x_train,
            y_train,
            epochs=args.epochs,
            batch_size=1,
            shuffle=False,
            validation_data=(x_test, y_test),
            verbose=0 if args.quiet else 1,
            callbacks=[monitor],
        )
        seconds = time.perf_counter() - started
        accuracy, final_loss, stalled = _report(network, x_test, y_test, seconds)
        _explain(monitor, seed, accuracy)
        _plot_results(stage, network, x_test, y_test, accuracy)
        write_pictures(stage, network, monitor, x_train, y_train)
        save(network, os.path.join(stage, "model.safetensors"))
        write_snapshot_file(stage, network, monitor)
        if args.page:
            for text in write_run_page(
                stage, network, monitor, (x_train, y_train), (x_test, y_test), "glassnet demo"
            ):
                note(text)
        write_history(network.history, os.path.join(stage, "history.csv"))
        write_json(
            _metrics(network, accuracy, final_loss, stalled, interrupted, (seconds, loading), seed),
            os.path.join(stage, "metrics.json"),
        )
    say(f"wrote {', '.join(names[:-1])} and {names[-1]} to {args.out}")
    return EXIT_INTERRUPTED if interrupted else 0


def _introduce(seed: int, epochs: int) -> None:
    """Say what the demo runs."""
    say(f"glassnet demo: the blog post's experiment, seed {seed}")
    say("  data: make_moons(n_samples=3000, noise=0.2), 2400 training and 600 test samples")
    say("  network: 2-25-50-25-2, sigmoid everywhere, the post's initialisation, squared error,")
    say(f"           SGD with learning rate 0.01, one sample per step, {epochs} epochs")


def _report(
    network: NeuralNetwork, x_test: np.ndarray, y_test: np.ndarray, seconds: float
) -> tuple[float, float, bool]:
    """Say how the run went → ``(test accuracy, final training loss, stalled)``."""
    accuracy = network.accuracy(x_test, y_test)
    history = network.history
    final_loss = history.loss[-1] if history.loss else float("nan")
    stalled = final_loss > experiments.STALL_LOSS
    steps = network.optimizer.iterations
    say(f"test accuracy: {accuracy:.4f}")
    per_step = 1e6 * seconds / max(steps, 1)
    say(
        f"training time: {seconds:.1f} s for {len(history)} epochs "
        f"({per_step:.1f} µs per step, validation included)"
    )
    for line in _where_it_sits(accuracy, final_loss, stalled, len(history)):
        say(line)
    return accuracy, final_loss, stalled


def _explain(monitor: Monitor, seed: int, accuracy: float) -> None:
    """Print the diagnosis of the run, and what a straight boundary gets on the same split."""
    from ..diagnosis import diagnose

    say("diagnosis (glassnet.diagnose on the recorded dynamics):")
    for line in diagnose(monitor):
        say(f"  - {line}")
    linear = experiments.linear_accuracy(seed)
    say(
        f"  - how close to a straight line: a logistic regression scores {linear:.4f} on the "
        f"same split, this network {accuracy:.4f} ({accuracy - linear:+.4f})"
    )


def write_pictures(
    folder: str,
    network: NeuralNetwork,
    monitor: Monitor,
    x: np.ndarray,
    labels: np.ndarray | None,
) -> list[str]:
    """Write the pictures of a run's insides into ``folder``: ``monitor.json``, ``monitor.csv``,
    ``dynamics.png``, ``network.png`` and, for two inputs, ``neurons.png`` (layers of at most
    100 units) and ``training.gif`` (with class ``labels`` and snapshots). Returns the names
    written; notes the plane pictures skipped for other input counts."""
    from .. import pictures
    from ..diagnosis import find_plateau
    from .common import note

    monitor.write_json(os.path.join(folder, "monitor.json"))
    monitor.write_csv(os.path.join(folder, "monitor.csv"))
    written = ["monitor.json", "monitor.csv"]
    if monitor.epochs:
        plateau = find_plateau(monitor.loss)
        pictures.plot_training_dynamics(
            monitor,
            os.path.join(folder, "dynamics.png"),
            plateau=None if plateau is None else (plateau.start, plateau.end),
        )
        written.append("dynamics.png")
    pictures.plot_network_graph(network, os.path.join(folder, "network.png"))
    written.append("network.png")
    if network.n_inputs != 2:
        note(
            f"the network has {network.n_inputs} inputs, not 2: neurons.png and training.gif "
            "(pictures over the input plane) are skipped"
        )
        return written
    if max(layer.n_outputs for layer in network.layers) <= _MAP_UNITS:
        pictures.plot_neuron_maps(network, os.path.join(folder, "neurons.png"), x, labels)
        written.append("neurons.png")
    if monitor.snapshots and labels is not None:
        pictures.animate_training(
            network,
            monitor.snapshots,
            x,
            labels,
            os.path.join(folder, "training.gif"),
            losses=monitor.loss,
        )
        written.append("training.gif")
    return written


def write_snapshot_file(folder: str, network: NeuralNetwork, monitor: Monitor) -> bool:
    """Write the monitor's snapshots, if it kept any, to ``folder/snapshots.safetensors``;
    returns whether it did."""
    from ..files.snapshots import FILE_NAME, write_snapshots

    if not monitor.snapshots:
        return False
    sizes = [network.layers[0].n_inputs] + [layer.n_outputs for layer in network.layers]
    write_snapshots(os.path.join(folder, FILE_NAME), monitor.snapshots, sizes)
    return True


def write_run_page(
    folder: str,
    network: NeuralNetwork,
    monitor: Monitor | None,
    data: tuple[np.ndarray, np.ndarray],
    test_data: tuple[np.ndarray, np.ndarray] | None,
    title: str,
) -> list[str]:
    """Write ``page.html`` into ``folder``; returns the page's notes. ``data`` and
    ``test_data`` are in the model's input units, before any standardisation."""
    from ..page import write_page

    snapshots = monitor.snapshots if monitor is not None else None
    result = write_page(
        network,
        os.path.join(folder, "page.html"),
        data=data,
        test_data=test_data,
        snapshots=snapshots,
        monitor=monitor,
        title=title,
    )
    return result.notes


def _plot_results(
    stage: str, network: NeuralNetwork, x_test: np.ndarray, y_test: np.ndarray, accuracy: float
) -> None:
    """Write ``loss.png`` and ``decision_boundary.png`` into ``stage``."""
    plotting.plot_loss(
        network.history,
        os.path.join(stage, "loss.png"),
        title="seed configuration: loss per epoch",
        loss_name="½·Σ(a − y)² per sample (mse)",
        validation_label="test set, held out",
    )
    plotting.plot_decision_boundary(
        network.predict_proba,
        x_test,
        y_test,
        os.path.join(stage, "decision_boundary.png"),
        title=(
            f"learned decision boundary, with the {len(y_test)} test points "
            f"(accuracy {accuracy:.3f})"
        ),
    )


def _metrics(
    network: NeuralNetwork,
    accuracy: float,
    final_loss: float,
    stalled: bool,
    interrupted: bool,
    times: tuple[float, float | None],
    seed: int,
) -> dict[str, Any]:
    """What ``metrics.json`` holds; ``times`` are the training's seconds and those that made
    its compiled kernel ready (None on NumPy's path)."""
    seconds, loading = times
    history = network.history
    steps = network.optimizer.iterations
    return {
        "experiment": (
            "blog post seed: 2-25-50-25-2 sigmoid, seed init, mse, SGD lr 0.01, batch 1"
        ),
        "test_accuracy": accuracy,
        "final_training_loss": final_loss,
        "final_validation_loss": history.val_loss[-1] if history.val_loss else None,
        "stalled": bool(stalled),
        "epochs": len(history),
        "interrupted": interrupted,
        "training_seconds": seconds,
        "seconds_per_step": seconds / max(steps, 1),
        "kernel_ready_seconds": loading,
        "backend": network.backend,
        "training_path": network.training_path,
        "seed": seed,
        "versions": versions(),
    }


def _where_it_sits(accuracy: float, final_loss: float, stalled: bool, epochs: int) -> list[str]:
    digest = seed_study_digest()
    if epochs < 500:
        return [
            f"(after {epochs} epochs instead of the post's 500 this run cannot be compared with "
            "the study of full runs)"
        ]
    lines = []
    if stalled:
        lines.append(
            f"this run STALLED on the plateau: its final training loss {final_loss:.4f} is above "
            f"{experiments.STALL_LOSS} (runs that learn the moons end near 0.02-0.03); "
            "try another --seed"
        )
    else:
        lines.append(
            f"this run did not stall: final training loss {final_loss:.4f} "
            "(stalled runs stay near 0.09)"
        )
    if digest:
        s = digest["seed_accuracy"]
        stalled_range = digest.get("stalled_accuracy")
        if stalled_range:
            stall_text = (
                f"{digest['stalled']} of {digest['runs']} stalled at "
                f"{stalled_range['min']:.3f}-{stalled_range['max']:.3f}"
            )
        else:
            stall_text = f"none of {digest['runs']} stalled"
        lines.append(
            f"over {digest['runs']} data draws and initialisations (docs/seed-study.md) this "
            f"configuration reached a median of {s['median']:.4f} "
            f"(range {s['min']:.3f}-{s['max']:.3f}); {stall_text}"
        )
        place = "below" if accuracy < s["median"] else "at or above"
        lines.append(f"this run's {accuracy:.4f} is {place} that median")
    return lines
