"""What happens inside each layer while a network trains: :class:`Monitor`, a callback.

A monitor is a callback (``callback(network, epoch, logs)``, see :mod:`.callbacks`) that, every
``every`` epochs, looks at each layer on a fixed probe batch and keeps a few numbers: the norm of
its weights, of their gradient and of their change since the previous record, the mean and
standard deviation of its pre-activations ``z`` and activations ``a``, and the fraction of its
units that are saturated (sigmoid, tanh) or dead (ReLU). It keeps statistics only, never copies
of activations, so its memory does not grow with the layers' widths; copies of the parameters
are kept only at the epochs named in ``snapshot_epochs`` (for pictures of training).

A callback does not see the training data, so the probe batch is given as in Keras, where
callbacks that look at data take it when they are made: ``Monitor(x, y)``, or
``monitor.attach(x, y)`` before training (both keep at most ``probe_size`` rows, evenly spaced).
Training is unchanged when no monitor is passed.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._validation import check_float, check_int

__all__ = ["Monitor"]

#: the per-layer statistics, in the order of :meth:`Monitor.as_dict` and the CSV columns
LAYER_STATISTICS = (
    "weight_norm",
    "grad_norm",
    "update_norm",
    "update_ratio",
    "z_mean",
    "z_std",
    "a_mean",
    "a_std",
    "saturated",
    "dead",
)

#: activations whose units can saturate (a derivative that vanishes for large ``|z|``), with the
#: largest value the derivative takes
_SATURATING = {"sigmoid": 0.25, "tanh": 1.0}
#: activations whose units can die (output zero, so gradient zero, for every input)
_DYING = ("relu",)


class Monitor:
    """Record per-layer training dynamics on a fixed probe batch (a training callback).

    Parameters
    ----------
    probe_x : array-like of shape (n_samples, n_inputs), optional
        Inputs to look at the layers on; may be given later with :meth:`attach`.
    probe_y : array-like of shape (n_samples,) or (n_samples, n_outputs), optional
        Their targets, for the gradient norms and the probe loss (without them those are NaN).
    every : int, default=1
        Record every ``every`` epochs (and always at the first epoch a monitor sees).
    saturation_threshold : float, default=0.05
        A sigmoid or tanh unit is saturated on a sample when its derivative ``f'(z)`` is below
        this fraction of the derivative's largest value (0.25 for sigmoid, 1 for tanh): for the
        default, ``|z| > 4.4`` for sigmoid and ``|z| > 2.2`` for tanh. It counts as saturated
        when it is so on more than half of the probe samples.
    dead_threshold : float, default=0.9
        A ReLU unit is dead when its output is zero on at least this fraction of the probe.
    snapshot_epochs : iterable of int, optional
        Epoch numbers (counted from 1, as in ``history.csv``) at which to keep a copy of the
        parameters, in :attr:`snapshots`.
    probe_size : int, default=256
        The most rows kept from ``probe_x``.

    Attributes
    ----------
    epochs : list of int
        The epoch numbers (from 1) recorded.
    loss, val_loss : list of float
        The training loss (and validation loss, where computed) of every epoch seen, recorded
        or not, so that a monitor alone is enough for :func:`glassnet.diagnose`.
    probe_loss : list of float
        The loss on the probe batch at each record.
    layers : list of str
        ``"layer 1 (sigmoid, 25 units)"`` and so on.
    units : list of int
        The layers' widths.
    snapshots : dict of int to ndarray
        Copies of the flat parameter vector, by epoch number (0: before training, when
        :meth:`snapshot` was called then).

    Examples
    --------
    >>> monitor = Monitor(x_train, y_train)                       # doctest: +SKIP
    >>> network.train(x_train, y_train, callbacks=[monitor])      # doctest: +SKIP
    >>> monitor.series("grad_norm")[:, 0]  # the first layer's gradient norms  # doctest: +SKIP
    """

    def __init__(
        self,
        probe_x: object = None,
        probe_y: object = None,
        every: int = 1,
        saturation_threshold: float = 0.05,
        dead_threshold: float = 0.9,
        snapshot_epochs: Iterable[int] | None = None,
        probe_size: int = 256,
    ) -> None:
        self.every = check_int(every, "every", minimum=1)
        self.saturation_threshold = check_float(
            saturation_threshold, "saturation_threshold", minimum=0.0, maximum=1.0
        )
        self.dead_threshold = check_float(
            dead_threshold, "dead_threshold", minimum=0.0, maximum=1.0
        )
        self.probe_size = check_int(probe_size, "probe_size", minimum=1)
        wanted = [] if snapshot_epochs is None else list(snapshot_epochs)
        for epoch in wanted:
            if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
                raise ValueError(
                    f"snapshot_epochs must be epoch numbers >= 0, got {epoch!r} in {wanted!r:.80}"
                )
        self.snapshot_epochs = frozenset(int(epoch) for epoch in wanted)
        self.probe_x: np.ndarray | None = None
        self.probe_y: np.ndarray | None = None
        if probe_x is not None:
            self.attach(probe_x, probe_y)
        self.reset()

    def reset(self) -> None:
        """Forget everything recorded (the probe batch stays)."""
        self.epochs: list[int] = []
        self.loss: list[float] = []
        self.val_loss: list[float] = []
        self.probe_loss: list[float] = []
        self.layers: list[str] = []
        self.units: list[int] = []
        self.snapshots: dict[int, np.ndarray] = {}
        self._rows: list[np.ndarray] = []
        self._recorded_loss: list[float] = []  # one (n_layers, n_statistics) array per record
        self._previous: list[np.ndarray] | None = None
        self._seen = 0

    def attach(self, x: object, y: object = None) -> Monitor:
        """Use up to ``probe_size`` evenly spaced rows of ``(x, y)`` as the probe batch."""
        x_arr = np.asarray(x)
        if x_arr.ndim != 2 or x_arr.shape[0] == 0:
            raise ValueError(
                f"probe_x must be a non-empty 2-D array (n_samples, n_inputs), got shape "
                f"{x_arr.shape}"
            )
        rows = np.unique(np.linspace(0, x_arr.shape[0] - 1, self.probe_size).astype(np.intp))
        self.probe_x = np.ascontiguousarray(x_arr[rows])
        if y is None:
            self.probe_y = None
        else:
            y_arr = np.asarray(y)
            if y_arr.shape[0] != x_arr.shape[0]:
                raise ValueError(
                    f"probe_y must have one row per row of probe_x ({x_arr.shape[0]}), got "
                    f"{y_arr.shape[0]}"
                )
            self.probe_y = y_arr[rows]
        return self

    # ------------------------------------------------------------------ recording
    def __call__(self, network: Any, epoch: int, logs: dict) -> bool:
        """Record ``logs`` and, on recording epochs, the layers' statistics; never stops."""
        number = epoch + 1
        self.loss.append(float(logs.get("loss", np.nan)))
        if "val_loss" in logs:
            self.val_loss.append(float(logs["val_loss"]))
        if self._seen % self.every == 0:
            self.record(network, number, self.loss[-1])
        self._seen += 1
        if number in self.snapshot_epochs:
            self.snapshots[number] = network.parameters.copy()
        return False

    def snapshot(self, network: Any, epoch: int = 0) -> None:
        """Keep a copy of ``network``'s parameters as epoch ``epoch`` (0: before training)."""
        self.snapshots[int(epoch)] = network.parameters.copy()

    def record(self, network: Any, epoch: int, loss: float = float("nan")) -> None:
        """Compute and keep every layer's statistics on the probe batch, as epoch ``epoch``
        (whose training loss was ``loss``)."""
        if self.probe_x is None:
            raise ValueError(
                "this Monitor has no probe batch: pass Monitor(x, y) or call "
                "monitor.attach(x, y) before training"
            )
        layers = network.layers
        if not self.layers:
            self.units = [layer.n_outputs for layer in layers]
            self.layers = [
                f"layer {i + 1} ({layer.activation.name}, {n} unit{'s' if n > 1 else ''})"
                for i, (layer, n) in enumerate(zip(layers, self.units, strict=True))
            ]
        grads = self._gradients(network)
        row = np.full((len(layers), len(LAYER_STATISTICS)), np.nan)
        x = network.check_x(self.probe_x)
        current = [layer.weights.copy() for layer in layers]
        with np.errstate(all="ignore"):
            for index, layer in enumerate(layers):
                z = x @ layer.weights + layer.bias
                a = layer.activation.forward(z.copy())
                stats = row[index]
                stats[0] = np.linalg.norm(layer.weights)
                if grads is not None:
                    stats[1] = np.linalg.norm(grads[index])
                if self._previous is not None:
                    stats[2] = np.linalg.norm(current[index] - self._previous[index])
                    stats[3] = stats[2] / stats[0] if stats[0] > 0 else np.nan
                stats[4:8] = z.mean(), z.std(), a.mean(), a.std()
                stats[8], stats[9] = self._saturated_and_dead(layer.activation, z, a)
                x = a
        self._previous = current
        self._rows.append(row)
        self._recorded_loss.append(float(loss))
        self.epochs.append(int(epoch))

    def _gradients(self, network: Any) -> list[np.ndarray] | None:
        """The weights' gradients on the probe batch; the network's own gradient buffer is put
        back as it was (a full-batch optimizer may still read it)."""
        if self.probe_y is None:
            self.probe_loss.append(float("nan"))
            return None
        saved = network.gradients.copy()
        try:
            self.probe_loss.append(float(network.backward(self.probe_x, self.probe_y)))
            return [layer.grad_weights.copy() for layer in network.layers]
        finally:
            network.gradients[...] = saved

    def _saturated_and_dead(
        self, activation: Any, z: np.ndarray, a: np.ndarray
    ) -> tuple[float, float]:
        """Fractions of the layer's units saturated and dead on the probe (NaN: cannot be)."""
        saturated = dead = np.nan
        name = activation.name
        if name in _SATURATING:
            derivative = activation.derivative(a.copy() if activation.derivative_uses == "a" else z)
            flat = derivative < self.saturation_threshold * _SATURATING[name]
            saturated = float(np.mean(flat.mean(axis=0) > 0.5))
        if name in _DYING:
            dead = float(np.mean((a <= 0).mean(axis=0) >= self.dead_threshold))
        return saturated, dead

    # ------------------------------------------------------------------ reading
    def series(self, name: str) -> np.ndarray:
        """One statistic over the records: shape ``(n_records, n_layers)``."""
        if name not in LAYER_STATISTICS:
            raise ValueError(
                f"unknown statistic {name!r}; choose from {', '.join(LAYER_STATISTICS)}"
            )
        if not self._rows:
            return np.empty((0, len(self.layers)))
        return np.stack(self._rows)[:, :, LAYER_STATISTICS.index(name)]

    def recorded_loss(self) -> np.ndarray:
        """The training loss at each recorded epoch, shape ``(n_records,)``."""
        return np.array(self._recorded_loss, dtype=float)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (lists; NaN as None) for JSON: ``epoch``, ``loss``, ``probe_loss``,
        ``layers`` and each statistic as a list of per-layer lists, one per record."""
        data: dict[str, Any] = {
            "every": self.every,
            "saturation_threshold": self.saturation_threshold,
            "dead_threshold": self.dead_threshold,
            "layers": list(self.layers),
            "epoch": list(self.epochs),
            "loss": _plain(self.recorded_loss()),
            "probe_loss": _plain(np.array(self.probe_loss)),
            "all_loss": _plain(np.array(self.loss)),
        }
        if self.val_loss:
            data["all_val_loss"] = _plain(np.array(self.val_loss))
        for name in LAYER_STATISTICS:
            data[name] = _plain(self.series(name))
        return data

    def write_json(self, path: str | os.PathLike[str]) -> None:
        """:meth:`as_dict` as a JSON file."""
        with open(path, "w") as handle:
            json.dump(self.as_dict(), handle, indent=1)
            handle.write("\n")

    def write_csv(self, path: str | os.PathLike[str]) -> None:
        """One row per record: ``epoch, loss, probe_loss`` and ``<statistic>_<layer>`` columns
        (layers counted from 1; empty where a statistic does not apply)."""
        n_layers = len(self.layers)
        columns = [f"{name}_{i + 1}" for name in LAYER_STATISTICS for i in range(n_layers)]
        table = np.stack(self._rows) if self._rows else np.empty((0, n_layers, 0))
        loss = self.recorded_loss()
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["epoch", "loss", "probe_loss", *columns])
            for r, epoch in enumerate(self.epochs):
                values = table[r].T.ravel()  # statistic-major, as the columns
                writer.writerow(
                    [epoch, *(_cell(v) for v in (loss[r], self.probe_loss[r], *values))]
                )


def _plain(values: np.ndarray) -> list:
    """``values`` as (nested) lists of floats, NaN as None (JSON has no NaN)."""
    return [
        _plain(item) if np.ndim(item) else (None if not np.isfinite(item) else float(item))
        for item in values
    ]


def _cell(value: float) -> str:
    return repr(float(value)) if np.isfinite(value) else ""
