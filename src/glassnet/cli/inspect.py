"""``glassnet inspect``: look inside a saved model: its layers, its units, its activations."""

from __future__ import annotations

import argparse
import csv
import os

import numpy as np

from ..datasets import load_dataset
from ..io import load
from ..network import NeuralNetwork
from .common import CommandError, network_of, note, say
from .modelinfo import ModelInfo
from .outputs import OutputFolder
from .predict import _model_inputs

#: what inspect may write into --out
_OUTPUTS = ("summary.txt", "network.png", "neurons.png", "activations.csv")
#: columns of activations.csv
_COLUMNS = (
    "layer",
    "activation",
    "units",
    "z_mean",
    "z_std",
    "a_mean",
    "a_std",
    "dead_fraction",
    "saturated_fraction",
)


def run_inspect(args: argparse.Namespace) -> int:
    network = network_of(load(args.model), "inspect looks inside")
    x = _data(args, network)
    outputs = OutputFolder(args.out, "--out", "glassnet inspect")
    outputs.check_names(_OUTPUTS)
    from .. import pictures

    written = ["summary.txt", "network.png"]
    with outputs.staging() as stage:
        summary = network.summary()
        with open(os.path.join(stage, "summary.txt"), "w") as handle:
            handle.write(summary + "\n")
        say(summary)
        pictures.plot_network_graph(network, os.path.join(stage, "network.png"))
        if network.n_inputs == 2:
            pictures.plot_neuron_maps(network, os.path.join(stage, "neurons.png"), x)
            written.append("neurons.png")
        else:
            note(
                f"the model has {network.n_inputs} inputs, not 2: neurons.png (every unit over "
                "the input plane) is skipped"
            )
        if x is not None:
            rows = activation_statistics(network, x)
            _write_rows(rows, os.path.join(stage, "activations.csv"))
            written.append("activations.csv")
            say(f"per-layer activations on {len(x)} samples:")
            for row in rows:
                say(
                    f"  layer {row['layer']} ({row['activation']}, {row['units']} units): "
                    f"z {row['z_mean']:.3g} ± {row['z_std']:.3g}, "
                    f"a {row['a_mean']:.3g} ± {row['a_std']:.3g}" + _fractions(row)
                )
    say(f"wrote {', '.join(written)} to {args.out}")
    return 0


def _fractions(row: dict[str, object]) -> str:
    text = ""
    dead, saturated = row["dead_fraction"], row["saturated_fraction"]
    if isinstance(dead, float) and np.isfinite(dead):
        text += f", dead {dead:.0%}"
    if isinstance(saturated, float) and np.isfinite(saturated):
        text += f", saturated {saturated:.0%}"
    return text


def _data(args: argparse.Namespace, network: NeuralNetwork) -> np.ndarray | None:
    """The inputs of ``--data`` or ``--dataset``, scaled as the model was trained, or None."""
    if args.data is not None and args.dataset is not None:
        raise CommandError("give --data FILE or --dataset NAME, not both")
    if args.data is not None:
        return _model_inputs(args.model, args.data, None).x
    if args.dataset is None:
        return None
    x = load_dataset(args.dataset).x
    info = ModelInfo.from_metadata(network.metadata, args.model, network)
    if info is not None and info.standardize is not None:
        x = info.standardize.apply(x)
    if x.shape[1] != network.n_inputs:
        raise CommandError(
            f"--dataset {args.dataset} has {x.shape[1]} features; the model takes "
            f"{network.n_inputs}"
        )
    return x


def activation_statistics(network: NeuralNetwork, x: np.ndarray) -> list[dict[str, object]]:
    """Per layer: mean and standard deviation of ``z`` and ``a`` on ``x``, and the fractions of
    units dead (ReLU zero on at least 90% of the samples) or saturated (as
    :class:`~glassnet.training.monitor.Monitor` counts them)."""
    from ..training.monitor import Monitor

    monitor = Monitor(x)
    monitor.record(network, 0)
    rows: list[dict[str, object]] = []
    for index, layer in enumerate(network.layers):
        rows.append(
            {
                "layer": index + 1,
                "activation": layer.activation.name,
                "units": layer.n_outputs,
                **{
                    column: float(monitor.series(name)[0, index])
                    for column, name in _STATISTICS.items()
                },
            }
        )
    return rows


_STATISTICS = {
    "z_mean": "z_mean",
    "z_std": "z_std",
    "a_mean": "a_mean",
    "a_std": "a_std",
    "dead_fraction": "dead",
    "saturated_fraction": "saturated",
}


def _write_rows(rows: list[dict[str, object]], path: str) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    key: ("" if isinstance(v, float) and not np.isfinite(v) else v)
                    for key, v in row.items()
                }
            )
