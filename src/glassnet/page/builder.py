"""Gather a model, its run and its data into the page's one JSON document, and write the HTML.

Parameters travel as base64 of little-endian float64 bytes (an exact round trip, a third of the
size of 17-digit JSON); the monitor's statistics, which are only drawn, as float32. User strings
(column names, class labels, file names) are data in the JSON document, which is escaped so that
no ``<`` can end its script element; the page puts them in the DOM as text only.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, NamedTuple

import numpy as np

from ..files import snapshots as snapshot_files
from ..files.atomic import PathArgument, atomic_write, display_path
from ..io import load
from ..model.activations import exp_ceiling, exp_floor
from ..model.targets import task_of_loss
from ..network import NeuralNetwork
from ..training.monitor import LAYER_STATISTICS, Monitor

__all__ = ["PageResult", "RunFiles", "read_run", "write_page"]

#: the most points of each part (training, test) drawn on the plane
MAX_POINTS = 3000
#: the most bytes of parameters embedded; more snapshots than this are thinned evenly
MAX_PARAMETER_BYTES = 48 * 2**20
#: the model file and the monitor's files in a run folder
MODEL_FILE = "model.safetensors"
MONITOR_FILE = "monitor.json"
_HISTORY = ("loss", "val_loss", "val_accuracy", "val_r2")


@dataclass(frozen=True)
class PageResult:
    """What :func:`write_page` wrote.

    Attributes
    ----------
    path : str
    size : int
        Bytes written.
    epochs : list of int
        The epochs the page can show (the last is the model as saved).
    replay : bool
        Whether the page replays training (it has snapshots before the final model).
    plane : bool
        Whether it draws the units over the input plane (two inputs).
    notes : list of str
        What the page could not show, and why.
    """

    path: str
    size: int
    epochs: list[int]
    replay: bool
    plane: bool
    notes: list[str]


class RunFiles(NamedTuple):
    """What a run folder (or a model file) holds for a page."""

    model: Any
    snapshots: dict[int, np.ndarray] | None
    monitor: dict[str, Any] | None
    notes: list[str]


def write_page(
    model: object,
    path: PathArgument,
    *,
    data: tuple[object, object] | None = None,
    test_data: tuple[object, object] | None = None,
    snapshots: Mapping[int, np.ndarray] | None = None,
    monitor: Monitor | Mapping[str, Any] | None = None,
    title: str | None = None,
) -> PageResult:
    """Write an interactive page of ``model`` to ``path``: one HTML file that opens from disk.

    Parameters
    ----------
    model : NeuralNetwork, fitted glassnet estimator, or path
        A network, a model file, or a run folder (``model.safetensors``, with its
        ``snapshots.safetensors`` and ``monitor.json`` when they are there).
    path : str or path-like
        The HTML file to write (atomically).
    data, test_data : (x, y), optional
        Points to draw on the output's map, in the model's input units (before any
        standardisation its metadata names): ``x`` of shape ``(n_samples, n_inputs)``, ``y`` the
        class indices ``(n_samples,)`` (ignored for regression). Only for two inputs.
    snapshots : mapping of int to ndarray, optional
        Epoch → flat parameter vector (:attr:`Monitor.snapshots`); the slider replays them.
    monitor : Monitor or its ``as_dict()``, optional
        Its statistics are drawn under the loss, marked at the current epoch.
    title : str, optional
        Shown at the top (escaped); by default the model's file or folder name.

    Returns
    -------
    PageResult

    Raises
    ------
    ModelFileError
        When ``model`` names a file that is not a glassnet model file (or the snapshots file of a
        run folder is not a valid one).
    ValueError, TypeError
        For data or snapshots that do not fit the model.
    """
    notes: list[str] = []
    source = "model"
    if isinstance(model, (str, bytes, os.PathLike)):
        source = os.path.basename(os.path.normpath(display_path(model))) or display_path(model)
        found = read_run(model)
        model, notes = found.model, found.notes
        snapshots = found.snapshots if snapshots is None else snapshots
        monitor = found.monitor if monitor is None else monitor
    network, features, classes = _network_of(model)
    view = _metadata_view(network, features, classes)
    epochs, parameters = _frames(network, snapshots, notes)
    document: dict[str, Any] = {
        "format": 1,
        "title": title if title is not None else source,
        "source": source,
        **view,
        "layers": [
            {
                "inputs": layer.n_inputs,
                "units": layer.n_outputs,
                "activation": layer.activation.name,
                "alpha": float(getattr(layer.activation, "alpha", 0.0)),
            }
            for layer in network.layers
        ],
        "dtype": str(network.dtype),
        "expFloor": float(exp_floor(np.dtype(np.float64))),
        "expCeiling": float(exp_ceiling(np.dtype(np.float64))),
        "epochs": epochs,
        "replay": len(epochs) > 1,
        "parameters": _base64(parameters, "<f8"),
        "history": {
            name: _base64(np.asarray(values, dtype=float), "<f8")
            for name, values in network.history.as_dict().items()
            if name in _HISTORY
        },
        "monitor": _monitor_document(monitor, notes),
    }
    if network.dtype != np.float64:
        notes.append(
            f"the model computes in {network.dtype}; the page computes in float64, so its "
            "numbers differ from the model's in the last float32 digits"
        )
    if network.n_inputs == 2:
        document.update(_plane_document(network, data, test_data, view, notes))
    else:
        document["plane"] = None
        document["defaultRow"] = _default_row(network, data, view)
    if not document["replay"]:
        notes.append(
            "no replay is available: there are no snapshots of the parameters (a run folder "
            "keeps them in snapshots.safetensors)"
        )
    document["notes"] = notes
    text = _html(document)
    atomic_write(path, text.encode("utf-8"))
    return PageResult(
        display_path(path),
        len(text.encode("utf-8")),
        epochs,
        len(epochs) > 1,
        network.n_inputs == 2,
        notes,
    )


# ====================================================================== reading a run
def read_run(location: PathArgument) -> RunFiles:
    """The model, snapshots and monitor record of a run folder (``model.safetensors``,
    ``snapshots.safetensors``, ``monitor.json``), or the model of a model file.

    Raises
    ------
    ModelFileError
        For a model or snapshots file that is not a valid one.
    FileNotFoundError
        For a folder without ``model.safetensors``.
    """
    shown = display_path(location)
    notes: list[str] = []
    if not os.path.isdir(shown):
        return RunFiles(load(shown), None, None, notes)
    model = load(os.path.join(shown, MODEL_FILE))
    snapshots = None
    snapshot_path = os.path.join(shown, snapshot_files.FILE_NAME)
    if os.path.exists(snapshot_path):
        epochs, _, rows = snapshot_files.read_snapshots(snapshot_path)
        snapshots = dict(zip(epochs, rows))
    monitor = None
    monitor_path = os.path.join(shown, MONITOR_FILE)
    if os.path.exists(monitor_path):
        try:
            with open(monitor_path, encoding="utf-8") as handle:
                monitor = json.load(handle)
        except (OSError, ValueError) as error:
            notes.append(f"{MONITOR_FILE} could not be read ({type(error).__name__})")
    return RunFiles(model, snapshots, monitor, notes)


def _network_of(model: object) -> tuple[NeuralNetwork, list[str] | None, list[str] | None]:
    """The network of a network or a fitted estimator, with the estimator's feature names and
    class labels."""
    if isinstance(model, NeuralNetwork):
        return model, None, None
    inner = getattr(model, "network_", None)
    if isinstance(inner, NeuralNetwork):
        names = getattr(model, "feature_names_in_", None)
        labels = getattr(model, "classes_", None)
        return (
            inner,
            None if names is None else [str(n) for n in names],
            None if labels is None or np.ndim(labels) != 1 else [str(c) for c in labels],
        )
    raise TypeError(
        f"write_page draws glassnet networks and estimators, got {type(model).__name__}"
    )


def _label(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _scaling(data: object, size: int) -> dict[str, list[float]] | None:
    """``{"mean", "scale", "power"}`` of a standardisation record, ``power`` being the power of
    two near each scale that ``Scaling.apply`` divides by (see ``glassnet.cli.modelinfo``)."""
    if not isinstance(data, dict):
        return None
    mean = np.asarray(data.get("mean"), dtype=float)
    scale = np.asarray(data.get("scale"), dtype=float)
    if mean.shape != (size,) or scale.shape != (size,):
        raise ValueError(f"the model's standardisation does not have {size} columns")
    _, exponent = np.frexp(scale)
    power = np.ldexp(1.0, exponent - 1)
    return {"mean": mean.tolist(), "scale": scale.tolist(), "power": power.tolist()}


def _metadata_view(
    network: NeuralNetwork, features: list[str] | None, classes: list[str] | None
) -> dict[str, Any]:
    """Feature and class names, the task and the standardisation, from what ``glassnet train``
    keeps in the model's metadata (checked by ``glassnet page`` through ``ModelInfo``)."""
    cli = network.metadata.get("cli") if isinstance(network.metadata, dict) else None
    cli = cli if isinstance(cli, dict) else {}
    n_inputs = int(network.n_inputs or 0)
    named = cli.get("features")
    if features is None and isinstance(named, list) and len(named) == n_inputs:
        features = [str(name) for name in named]
    task = cli.get("task") or network.task or task_of_loss(network.loss) or "regression"
    labels = cli.get("class_names") or cli.get("classes")
    if classes is None and isinstance(labels, list):
        classes = [_label(label) for label in labels]
    n_classes = network.n_classes if task == "classification" else None
    if task == "classification" and (classes is None or len(classes) != n_classes):
        classes = [str(i) for i in range(int(n_classes or 0))]
    return {
        "task": task,
        "features": features or [f"x{i + 1}" for i in range(n_inputs)],
        "target": str(cli.get("target") or ""),
        "classes": classes if task == "classification" else None,
        "scaling": _scaling(cli.get("standardize"), n_inputs),
        "targetScaling": _scaling(cli.get("target_standardize"), int(network.n_outputs or 0)),
    }


# ====================================================================== what the page holds
def _frames(
    network: NeuralNetwork, snapshots: Mapping[int, np.ndarray] | None, notes: list[str]
) -> tuple[list[int], np.ndarray]:
    """The epochs the page shows and their parameter rows: the snapshots taken before the
    final epoch, then the model as saved (which replaces a snapshot of its own epoch: early
    stopping may have restored other parameters)."""
    final = len(network.history)
    size = network.parameters.size
    kept: list[tuple[int, np.ndarray]] = []
    for epoch, vector in sorted((snapshots or {}).items()):
        row = np.asarray(vector, dtype=np.float64).ravel()
        if row.size != size:
            notes.append(
                f"the snapshots have {row.size} parameters, the model {size}: they are not of "
                "this model and are left out"
            )
            kept = []
            break
        if int(epoch) < final:
            kept.append((int(epoch), row))
    most = max(1, MAX_PARAMETER_BYTES // (8 * size) - 1)
    if len(kept) > most:
        chosen = np.unique(np.linspace(0, len(kept) - 1, most).round().astype(int))
        kept = [kept[i] for i in chosen]
        notes.append(f"the snapshots were thinned to {len(kept)} to keep the page small")
    epochs = [epoch for epoch, _ in kept] + [final]
    rows = [row for _, row in kept] + [network.parameters.astype(np.float64)]
    return epochs, np.stack(rows)


def _base64(values: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=dtype).tobytes()).decode("ascii")


def _numbers(values: object) -> np.ndarray:
    """A list of lists with None for NaN, as monitor.json keeps it, as floats."""
    if not isinstance(values, list):
        return np.empty(0)
    return np.array(
        [
            [np.nan if v is None else v for v in row] if isinstance(row, list) else row
            for row in values
        ],
        dtype=float,
    )


def _monitor_document(
    monitor: Monitor | Mapping[str, Any] | None, notes: list[str]
) -> dict[str, Any] | None:
    if monitor is None:
        return None
    record = monitor.as_dict() if isinstance(monitor, Monitor) else dict(monitor)
    try:
        epochs = [int(e) for e in record["epoch"]]
        layers = [str(name) for name in record["layers"]]
        statistics = {}
        for name in LAYER_STATISTICS:
            values = _numbers(record.get(name, []))
            if values.size == 0:
                continue
            if values.shape != (len(epochs), len(layers)):
                raise ValueError(f"{name} has shape {values.shape}")
            statistics[name] = _base64(values, "<f4")
    except (KeyError, TypeError, ValueError) as error:
        notes.append(f"the monitor's record is malformed ({error}); its statistics are left out")
        return None
    if not epochs:
        return None
    return {"epochs": epochs, "layers": layers, "statistics": statistics}


def _raw_inputs(network: NeuralNetwork, part: tuple[object, object] | None, name: str) -> Any:
    if part is None:
        return None
    x = np.asarray(part[0], dtype=np.float64)
    y = np.asarray(part[1])
    if x.ndim != 2 or x.shape[1] != network.n_inputs:
        raise ValueError(
            f"{name}'s x must have shape (n_samples, {network.n_inputs}), got {x.shape}"
        )
    if y.shape[:1] != x.shape[:1]:
        raise ValueError(f"{name}'s y must have {x.shape[0]} rows, got shape {y.shape}")
    finite = np.isfinite(x).all(axis=1)
    return x[finite], y[finite]


def _plane_document(
    network: NeuralNetwork,
    data: tuple[object, object] | None,
    test_data: tuple[object, object] | None,
    view: dict[str, Any],
    notes: list[str],
) -> dict[str, Any]:
    """The plane's extent (the data's box padded by a tenth, as ``pictures`` draws it; without
    data, ``[-3, 3]²`` in the network's units) and the points drawn on it."""
    parts = {
        "train": _raw_inputs(network, data, "data"),
        "test": _raw_inputs(network, test_data, "test_data"),
    }
    shown = [p[0] for p in parts.values() if p is not None and len(p[0])]
    if shown:
        box = shown[0]
        low, high = box.min(axis=0), box.max(axis=0)
        pad = 0.1 * (high - low) + 1e-9
        low, high = low - pad, high + pad
    else:
        low, high = np.full(2, -3.0), np.full(2, 3.0)
        if view["scaling"] is not None:
            mean, scale = np.array(view["scaling"]["mean"]), np.array(view["scaling"]["scale"])
            low, high = mean - 3 * scale, mean + 3 * scale
        notes.append("no data was given: the plane shows no points")
    points: dict[str, Any] = {}
    for name, part in parts.items():
        if part is None:
            continue
        x, y = part
        step = max(1, math.ceil(len(x) / MAX_POINTS))
        x, y = x[::step], y[::step]
        labels = (
            np.asarray(y, dtype=np.int64).ravel().tolist()
            if view["task"] == "classification"
            and y.ndim == 1
            and np.issubdtype(y.dtype, np.number)
            else None
        )
        points[name] = {"x": _base64(x, "<f8"), "n": len(x), "labels": labels}
    extent = [float(low[0]), float(high[0]), float(low[1]), float(high[1])]
    return {"plane": {"extent": extent}, "points": points}


def _default_row(
    network: NeuralNetwork, data: tuple[object, object] | None, view: dict[str, Any]
) -> list[float]:
    """The row the forward pass starts with for more than two inputs: the first data row, else
    the standardisation's means, else zeros."""
    if data is not None:
        x = np.asarray(data[0], dtype=np.float64)
        if x.ndim == 2 and len(x) and x.shape[1] == network.n_inputs:
            return [float(v) if math.isfinite(v) else 0.0 for v in x[0]]
    if view["scaling"] is not None:
        return list(view["scaling"]["mean"])
    return [0.0] * int(network.n_inputs or 0)


# ====================================================================== the HTML
_ASSETS = ("page.html", "page.css", "page.js")
_MARKER = re.compile(r"\{\{(TITLE|STYLE|SCRIPT|DATA)\}\}")


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def script_json(document: Mapping[str, Any]) -> str:
    """``document`` as JSON that is safe inside a ``<script>`` element: no ``<``, ``>`` or
    ``&`` (escaped as ``\\u003c`` and so on, which JSON reads back as the same characters), no
    NaN."""
    text = json.dumps(document, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _html(document: Mapping[str, Any]) -> str:
    template, style, script = (_asset(name) for name in _ASSETS)
    for name, text in (("page.css", style), ("page.js", script)):
        if "</" in text.lower().replace("<\\/", ""):
            raise RuntimeError(f"{name} must not contain '</' (it is inlined in the page)")
    parts = {
        "TITLE": html.escape(f"glassnet: {document['title']}"),
        "STYLE": style,
        "SCRIPT": script,
        "DATA": script_json(document),
    }
    return _MARKER.sub(lambda match: parts[match.group(1)], template)
