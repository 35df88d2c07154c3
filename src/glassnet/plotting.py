"""Pictures of data, training and decision boundaries (needs ``matplotlib``).

Figures are drawn with matplotlib's object API on the Agg canvas: nothing here touches pyplot's
global state or needs a display.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .training.callbacks import History

__all__ = ["plot_data", "plot_decision_boundary", "plot_loss"]

_DARK = {
    "figure.facecolor": "black",
    "axes.facecolor": "black",
    "axes.edgecolor": "white",
    "axes.labelcolor": "white",
    "text.color": "white",
    "xtick.color": "white",
    "ytick.color": "white",
}


def _matplotlib() -> tuple[ModuleType, type[Figure], type[FigureCanvasAgg]]:
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "glassnet's plots need matplotlib: pip install 'glassnet[plot]'"
        ) from None
    return matplotlib, Figure, FigureCanvasAgg


@overload
def new_figure(
    rows: Literal[1] = 1,
    columns: Literal[1] = 1,
    figsize: tuple[float, float] = (8, 6),
    style: dict[str, Any] | None = None,
) -> tuple[Figure, Axes]: ...


@overload
def new_figure(
    rows: int,
    columns: int,
    figsize: tuple[float, float] = (8, 6),
    style: dict[str, Any] | None = None,
) -> tuple[Figure, Any]: ...


def new_figure(
    rows: int = 1,
    columns: int = 1,
    figsize: tuple[float, float] = (8, 6),
    style: dict[str, Any] | None = None,
) -> tuple[Figure, Any]:
    """A figure on the Agg canvas and its axes (one, or an array)."""
    matplotlib, Figure, FigureCanvasAgg = _matplotlib()
    with matplotlib.rc_context(style or {}):
        figure = Figure(figsize=figsize, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(rows, columns)
    return figure, axes


def save_figure(figure: Figure, path: str | os.PathLike[str], dpi: int = 110) -> None:
    figure.savefig(path, dpi=dpi, facecolor=figure.get_facecolor())


def _scatter(
    axes: Axes, x: np.ndarray, labels: np.ndarray, names: Sequence[str] | None, size: float = 14
) -> None:
    classes = np.unique(labels)
    colours = _colours(len(classes))
    for index, label in enumerate(classes):
        mask = labels == label
        name = names[int(label)] if names is not None and len(names) > int(label) else str(label)
        axes.scatter(
            x[mask, 0],
            x[mask, 1],
            s=size,
            color=colours[index],
            label=name,
            edgecolors="none",
            alpha=0.9,
        )


def _colours(n: int) -> list[str | tuple[float, float, float, float]]:
    _, _, _ = _matplotlib()
    from matplotlib import colormaps

    if n <= 2:
        return ["#ffd92f", "#8e44ad"]  # the seed's yellow and purple
    cmap = colormaps["tab10" if n <= 10 else "viridis"]
    return [cmap(i / max(n - 1, 1)) if n > 10 else cmap(i) for i in range(n)]


def plot_data(
    x: np.ndarray,
    labels: np.ndarray,
    path: str | os.PathLike[str],
    title: str = "training data",
    class_names: Sequence[str] | None = None,
) -> None:
    """The first two features as a scatter plot, one colour per class, on a dark background.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_features)
        Only the first two columns are drawn.
    labels : ndarray of shape (n_samples,)
        Integer class labels, or real targets (drawn with a colour scale).
    """
    matplotlib, _, _ = _matplotlib()
    with matplotlib.rc_context(_DARK):  # the seed's dark_background look
        figure, axes = new_figure(figsize=(8, 6))
        if np.issubdtype(np.asarray(labels).dtype, np.integer):
            _scatter(axes, x, labels, class_names)
            if len(np.unique(labels)) <= 20:
                legend = axes.legend(
                    title="class", facecolor="black", edgecolor="white", labelcolor="white"
                )
                legend.get_title().set_color("white")
        else:
            points = axes.scatter(x[:, 0], x[:, 1], c=labels, s=14, cmap="viridis")
            figure.colorbar(points, ax=axes, label="target")
        axes.set_title(title, fontsize=15)
        axes.set_xlabel("x₁ (first feature)")
        axes.set_ylabel("x₂ (second feature)")
        save_figure(figure, path)


def plot_loss(
    history: History,
    path: str | os.PathLike[str],
    title: str = "loss per epoch",
    loss_name: str = "loss",
    validation_label: str = "validation",
) -> None:
    """Training loss per epoch, and the validation loss where there is one."""
    figure, axes = new_figure(figsize=(8, 5))
    epochs = np.arange(1, len(history.loss) + 1)
    axes.plot(
        epochs,
        history.loss,
        label="training (mean over the epoch's steps)",
        color="#1f77b4",
        linewidth=1.6,
    )
    if history.val_loss:
        axes.plot(
            epochs,
            history.val_loss,
            label=f"{validation_label} (after the epoch)",
            color="#ff7f0e",
            linewidth=1.6,
        )
    if min(history.loss) > 0 and max(history.loss) / min(history.loss) > 20:
        axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel(loss_name)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    save_figure(figure, path)


def plot_decision_boundary(
    predict_proba: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    labels: np.ndarray,
    path: str | os.PathLike[str],
    title: str = "decision boundary",
    class_names: Sequence[str] | None = None,
    resolution: int = 300,
) -> None:
    """The predicted class over the input plane (two features), with points on top.

    ``predict_proba`` maps ``(n, 2)`` inputs to ``(n, n_classes)`` probabilities; the colour
    shows the predicted class and its confidence, the black line the boundary.
    """
    pad_x = 0.1 * np.ptp(x[:, 0]) + 1e-9
    pad_y = 0.1 * np.ptp(x[:, 1]) + 1e-9
    grid_x, grid_y = np.meshgrid(
        np.linspace(x[:, 0].min() - pad_x, x[:, 0].max() + pad_x, resolution),
        np.linspace(x[:, 1].min() - pad_y, x[:, 1].max() + pad_y, resolution),
    )
    probabilities = predict_proba(np.column_stack([grid_x.ravel(), grid_y.ravel()]))
    predicted = probabilities.argmax(axis=1).reshape(grid_x.shape)
    confidence = probabilities.max(axis=1).reshape(grid_x.shape)
    n_classes = probabilities.shape[1]
    figure, axes = new_figure(figsize=(8, 6))
    colours = np.array([_to_rgb(c) for c in _colours(n_classes)])
    # blend each class colour towards white where the network is unsure
    # in float64 and clipped: float32 probabilities can round a colour a hair above 1
    strength = (confidence.astype(float) - 1.0 / n_classes) / (1.0 - 1.0 / n_classes)
    image = colours[predicted] * (0.25 + 0.45 * strength[..., None]) + (
        0.75 - 0.45 * strength[..., None]
    )
    image = np.clip(image, 0.0, 1.0)
    axes.imshow(
        image,
        origin="lower",
        extent=(grid_x.min(), grid_x.max(), grid_y.min(), grid_y.max()),
        aspect="auto",
    )
    for boundary in range(n_classes):
        axes.contour(
            grid_x,
            grid_y,
            (predicted == boundary).astype(float),
            levels=[0.5],
            colors="black",
            linewidths=1.2,
        )
    classes = np.unique(labels)
    for _index, label in enumerate(classes):
        mask = labels == label
        name = (
            class_names[int(label)]
            if class_names is not None and len(class_names) > int(label)
            else str(label)
        )
        axes.scatter(
            x[mask, 0],
            x[mask, 1],
            s=16,
            color=colours[int(label) % len(colours)],
            edgecolors="black",
            linewidths=0.4,
            label=name,
        )
    if len(classes) <= 20:
        axes.legend(title="class")
    axes.set_xlabel("x₁")
    axes.set_ylabel("x₂")
    axes.set_title(title)
    save_figure(figure, path)


def _to_rgb(colour: str | tuple[float, float, float, float]) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(colour)
