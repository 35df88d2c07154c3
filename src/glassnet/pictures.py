"""Pictures of a network's insides (needs ``matplotlib``): every unit over the input plane,
the network as a graph of its weights, the training dynamics a
:class:`~glassnet.training.monitor.Monitor` recorded, and an animation of the decision boundary
over training.

Figures are drawn on the Agg canvas through :mod:`glassnet.plotting`'s helpers; nothing here
touches pyplot's global state.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .network import NeuralNetwork
from .plotting import _colours, _to_rgb, new_figure, save_figure

if TYPE_CHECKING:
    from .training.monitor import Monitor

__all__ = [
    "animate_training",
    "layer_activations",
    "plot_network_graph",
    "plot_neuron_maps",
    "plot_training_dynamics",
    "plot_weight_heatmaps",
]

#: layers wider than this are drawn as weight heatmaps instead of a graph
GRAPH_MAX_UNITS = 50
#: unit maps per row in :func:`plot_neuron_maps`
_MAP_COLUMNS = 10


def layer_activations(network: NeuralNetwork, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's activations for ``x``: a list of ``(n_samples, n_units)`` arrays.

    The same arithmetic as prediction (``a = f(x @ W + b)`` layer after layer), keeping each
    layer's output.
    """
    current = network.check_x(x)
    outputs = []
    with np.errstate(over="ignore", invalid="ignore"):
        for layer in network.layers:
            current = layer.activation.forward(current @ layer.weights + layer.bias)
            outputs.append(current)
    return outputs


def _plane(x: np.ndarray | None, resolution: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    """A grid over the data's box (padded by a tenth), or over [-3, 3]² without data."""
    if x is None or len(x) == 0:
        low, high = np.array([-3.0, -3.0]), np.array([3.0, 3.0])
    else:
        low, high = x[:, :2].min(axis=0), x[:, :2].max(axis=0)
        pad = 0.1 * (high - low) + 1e-9
        low, high = low - pad, high + pad
    grid_x, grid_y = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )
    extent = (low[0], high[0], low[1], high[1])
    return grid_x, grid_y, extent


def _require_two_inputs(network: NeuralNetwork, what: str) -> None:
    if network.n_inputs != 2:
        raise ValueError(
            f"{what} draws networks with 2 inputs over the input plane; this one has "
            f"{network.n_inputs}"
        )


def plot_neuron_maps(
    network: NeuralNetwork,
    path: str | os.PathLike[str],
    x: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    resolution: int = 48,
    title: str = "every unit over the input plane",
) -> None:
    """Each hidden and output unit's activation over the input plane, layer by layer.

    TensorFlow Playground's view: one small map per unit, a block of maps per layer, with the
    data (``x``, ``labels``) drawn on the output units' maps.

    Parameters
    ----------
    network : NeuralNetwork with 2 inputs
    x : ndarray of shape (n_samples, 2), optional
        Sets the plane's extent, and is drawn on the output maps.
    labels : ndarray of shape (n_samples,), optional
        Integer classes colouring the points.
    """
    _require_two_inputs(network, "plot_neuron_maps")
    grid_x, grid_y, extent = _plane(x, resolution)
    activations = layer_activations(network, np.column_stack([grid_x.ravel(), grid_y.ravel()]))
    n_layers = len(activations)
    rows = [max(1, -(-a.shape[1] // _MAP_COLUMNS)) for a in activations]
    figure, _ = new_figure(figsize=(1.3 * _MAP_COLUMNS, 1.3 * sum(rows) + 0.5 * n_layers + 0.6))
    figure.clear()
    figure.suptitle(title)
    blocks = np.atleast_1d(
        figure.subfigures(n_layers, 1, height_ratios=[r + 0.4 for r in rows])  # type: ignore[arg-type]
    )
    for index, (block, values) in enumerate(zip(blocks, activations, strict=True)):
        layer = network.layers[index]
        last = index == n_layers - 1
        kind = "output" if last else "hidden"
        block.suptitle(
            f"layer {index + 1} ({kind}, {layer.activation.name}, {values.shape[1]} units)",
            fontsize=10,
        )
        axes = np.atleast_1d(block.subplots(rows[index], _MAP_COLUMNS)).ravel()
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        for unit, ax in enumerate(axes):
            ax.set_xticks([])
            ax.set_yticks([])
            if unit >= values.shape[1]:
                ax.set_axis_off()
                continue
            ax.imshow(
                values[:, unit].reshape(grid_x.shape),
                origin="lower",
                extent=extent,
                aspect="auto",
                cmap="RdBu_r",
                vmin=low,
                vmax=high if high > low else low + 1e-9,
            )
            ax.set_title(f"{unit + 1}", fontsize=7, pad=1)
            if last and x is not None:
                colours = None if labels is None else np.asarray(labels).astype(np.intp) % 2
                points = x[:: max(1, len(x) // 400)]
                chosen = None if colours is None else colours[:: max(1, len(x) // 400)]
                ax.scatter(
                    points[:, 0],
                    points[:, 1],
                    s=1.5,
                    c="black" if chosen is None else np.where(chosen == 1, "#4b0082", "#b8860b"),
                    linewidths=0,
                )
    save_figure(figure, path, dpi=80)


def plot_network_graph(
    network: NeuralNetwork,
    path: str | os.PathLike[str],
    title: str = "the network's weights",
) -> None:
    """The network as a graph: a line per weight, red positive and blue negative, as wide as
    the weight is large. Layers wider than :data:`GRAPH_MAX_UNITS` are drawn as weight
    heatmaps instead (:func:`plot_weight_heatmaps`)."""
    layers = network.layers
    sizes = [layers[0].n_inputs] + [layer.n_outputs for layer in layers]
    if max(sizes) > GRAPH_MAX_UNITS:
        plot_weight_heatmaps(network, path, title=title)
        return
    from matplotlib.collections import LineCollection

    figure, axes = new_figure(figsize=(2.2 * len(sizes) + 1, 7))
    positions = [np.linspace(-1, 1, n) if n > 1 else np.zeros(1) for n in sizes]
    largest = max(float(np.abs(layer.weights).max()) for layer in layers) or 1.0
    for index, layer in enumerate(layers):
        weights = layer.weights
        starts = np.repeat(positions[index], weights.shape[1])
        ends = np.tile(positions[index + 1], weights.shape[0])
        segments = np.stack(
            [
                np.column_stack([np.full(starts.size, index), starts]),
                np.column_stack([np.full(ends.size, index + 1), ends]),
            ],
            axis=1,
        )
        flat = weights.ravel()
        strength = np.abs(flat) / largest
        colours = np.where(flat[:, None] >= 0, [[0.85, 0.15, 0.1]], [[0.1, 0.3, 0.85]])
        rgba = np.column_stack([colours, 0.15 + 0.85 * strength])
        axes.add_collection(
            LineCollection(list(segments), colors=rgba, linewidths=0.2 + 3 * strength)
        )
    for index, ys in enumerate(positions):
        axes.scatter(np.full(ys.size, index), ys, s=40, color="white", edgecolors="black", zorder=3)
        name = "inputs" if index == 0 else f"layer {index}\n{layers[index - 1].activation.name}"
        axes.text(index, 1.12, f"{name}\n{sizes[index]}", ha="center", va="bottom", fontsize=9)
    axes.set_xlim(-0.5, len(sizes) - 0.5)
    axes.set_ylim(-1.15, 1.4)
    axes.set_axis_off()
    axes.set_title(f"{title} (red > 0, blue < 0; width ∝ |w|, largest {largest:.3g})")
    save_figure(figure, path)


def plot_weight_heatmaps(
    network: NeuralNetwork,
    path: str | os.PathLike[str],
    title: str = "the network's weights",
) -> None:
    """Each layer's weight matrix ``(n_inputs, n_outputs)`` as a heatmap (red > 0, blue < 0)."""
    layers = network.layers
    figure, axes = new_figure(1, len(layers), figsize=(3.2 * len(layers) + 1, 4))
    for index, (ax, layer) in enumerate(zip(np.atleast_1d(axes), layers, strict=True)):
        limit = float(np.abs(layer.weights).max()) or 1.0
        image = ax.imshow(
            layer.weights,
            aspect="auto",
            cmap="RdBu_r",
            vmin=-limit,
            vmax=limit,
            interpolation="nearest",
        )
        ax.set_title(f"layer {index + 1} ({layer.activation.name})", fontsize=9)
        ax.set_xlabel("unit")
        ax.set_ylabel("input")
        figure.colorbar(image, ax=ax, shrink=0.8)
    figure.suptitle(title)
    save_figure(figure, path)


def plot_training_dynamics(
    monitor: Monitor,
    path: str | os.PathLike[str],
    title: str = "training dynamics",
    plateau: tuple[int, int] | None = None,
) -> None:
    """The loss, each layer's gradient norm and its saturated or dead fraction over epochs.

    Gradient norms and the loss on a log scale; ``plateau`` (first and last epoch) is shaded.
    """
    figure, axes = new_figure(3, 1, figsize=(9, 9))
    all_epochs = np.arange(1, len(monitor.loss) + 1)
    epochs = np.array(monitor.epochs)
    axes[0].plot(all_epochs, monitor.loss, label="training loss", color="#1f77b4")
    if monitor.val_loss:
        axes[0].plot(
            all_epochs[: len(monitor.val_loss)],
            monitor.val_loss,
            label="validation loss",
            color="#ff7f0e",
        )
    axes[0].set_ylabel("loss")
    grads = monitor.series("grad_norm")
    saturated = monitor.series("saturated")
    dead = monitor.series("dead")
    colours = _colours(max(len(monitor.layers), 3))
    for index, name in enumerate(monitor.layers):
        colour = colours[index % len(colours)]
        if np.isfinite(grads[:, index]).any():
            axes[1].plot(epochs, grads[:, index], label=name, color=colour)
        if np.isfinite(saturated[:, index]).any():
            axes[2].plot(epochs, saturated[:, index], label=f"{name}: saturated", color=colour)
        if np.isfinite(dead[:, index]).any():
            axes[2].plot(
                epochs, dead[:, index], label=f"{name}: dead", color=colour, linestyle="--"
            )
    axes[1].set_ylabel("‖∂L/∂W‖ on the probe")
    axes[2].set_ylabel("fraction of units")
    axes[2].set_ylim(-0.02, 1.02)
    axes[2].set_xlabel("epoch")
    for ax, log in zip(axes, (True, True, False), strict=True):
        positive = [line.get_ydata() for line in ax.get_lines()]
        if log and positive and all(np.nanmin(np.asarray(v, float)) > 0 for v in positive):
            ax.set_yscale("log")
        if plateau is not None:
            ax.axvspan(plateau[0], plateau[1], color="grey", alpha=0.15, label=None)
        ax.grid(alpha=0.3)
        if ax.get_lines():
            ax.legend(fontsize=7, loc="best")
    axes[0].set_title(title + ("" if plateau is None else " (grey: the plateau)"))
    save_figure(figure, path)


def animate_training(
    network: NeuralNetwork,
    snapshots: dict[int, np.ndarray],
    x: np.ndarray,
    labels: np.ndarray,
    path: str | os.PathLike[str],
    resolution: int = 80,
    fps: int = 4,
    losses: Sequence[float] | None = None,
) -> int:
    """A GIF of the decision boundary and the output unit's map at each snapshot epoch.

    Parameters
    ----------
    network : NeuralNetwork with 2 inputs
        Its shape and activations; the parameters come from ``snapshots`` (it is not changed).
    snapshots : dict of int to ndarray
        Flat parameter vectors by epoch number (:attr:`Monitor.snapshots`).
    x, labels : the points drawn, shapes (n_samples, 2) and (n_samples,)
    losses : sequence of float, optional
        The training loss per epoch, for the frame titles.

    Returns
    -------
    int
        The number of frames written.
    """
    _require_two_inputs(network, "animate_training")
    if not snapshots:
        raise ValueError("animate_training needs at least one snapshot; none were taken")
    from matplotlib.animation import PillowWriter

    copy = network.copy()
    grid_x, grid_y, extent = _plane(x, resolution)
    plane = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    figure, axes = new_figure(1, 2, figsize=(10, 4.6))
    writer = PillowWriter(fps=fps)
    colours = np.array([_to_rgb(c) for c in _colours(2)])
    step = max(1, len(x) // 600)
    with writer.saving(figure, os.fspath(path), dpi=70):
        for epoch in sorted(snapshots):
            copy.parameters[...] = snapshots[epoch]
            output = layer_activations(copy, plane)[-1]
            unit = output[:, -1].reshape(grid_x.shape)
            for ax in axes:
                ax.clear()
                ax.set_xticks([])
                ax.set_yticks([])
            predicted = output.argmax(axis=1) if output.shape[1] > 1 else output[:, 0] >= 0.5
            axes[0].imshow(
                colours[predicted.reshape(grid_x.shape).astype(np.intp) % 2] * 0.45 + 0.55,
                origin="lower",
                extent=extent,
                aspect="auto",
            )
            axes[0].contour(
                grid_x,
                grid_y,
                predicted.reshape(grid_x.shape).astype(float),
                levels=[0.5],
                colors="black",
                linewidths=1.2,
            )
            axes[0].scatter(
                x[::step, 0],
                x[::step, 1],
                s=5,
                color=colours[np.asarray(labels)[::step].astype(np.intp) % 2],
                edgecolors="black",
                linewidths=0.2,
            )
            axes[1].imshow(
                unit,
                origin="lower",
                extent=extent,
                aspect="auto",
                cmap="RdBu_r",
                vmin=float(np.nanmin(unit)),
                vmax=float(np.nanmax(unit)) + 1e-9,
            )
            loss = (
                f", loss {losses[epoch - 1]:.4f}"
                if losses is not None and 0 < epoch <= len(losses)
                else ""
            )
            axes[0].set_title(f"epoch {epoch}{loss}: decision boundary")
            axes[1].set_title(f"output unit {output.shape[1]}")
            writer.grab_frame()
    return len(snapshots)
