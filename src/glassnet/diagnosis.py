"""What went on in a training run, in plain sentences with numbers: :func:`diagnose`.

It reads the losses of a :class:`~glassnet.training.callbacks.History` (or of a
:class:`~glassnet.training.monitor.Monitor`, which keeps them too) and, when a monitor recorded
them, the layers' gradient norms, pre-activations and saturated or dead units, and looks for the
cases people meet: a plateau (and whether and how the run left it), divergence, exploding or
vanishing gradients, dead ReLUs, saturated units, and overfitting.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .network import NeuralNetwork
from .training.callbacks import History
from .training.monitor import Monitor

__all__ = [
    "LayerState",
    "Plateau",
    "RunDynamics",
    "diagnose",
    "find_plateau",
    "layer_state",
    "run_dynamics",
]

#: a plateau: the loss changes by less than this fraction over :data:`PLATEAU_WINDOW` epochs
PLATEAU_TOLERANCE = 0.02
PLATEAU_WINDOW = 20
#: the fewest epochs a flat stretch lasts to count as a plateau
PLATEAU_MIN_EPOCHS = 50
#: a run has left a plateau when its loss falls below this fraction of the plateau's level
ESCAPE_FRACTION = 0.75


@dataclass(frozen=True)
class Plateau:
    """A flat stretch of the training loss: epochs ``start`` to ``end`` (from 1), the loss at
    both ends, and the epoch at which the run left it (None: it had not by the end)."""

    start: int
    end: int
    loss_start: float
    loss_end: float
    left_at: int | None


def find_plateau(loss: list[float] | np.ndarray) -> Plateau | None:
    """The first stretch where the loss moves by less than 2% per 20 epochs for at least 50
    epochs, or None.

    The first, not the longest: a run that leaves a plateau and learns ends flat as well, and
    that last stretch is where it converged, not where it was stuck.
    """
    values = np.asarray(loss, dtype=float)
    w = PLATEAU_WINDOW
    if values.size < w + PLATEAU_MIN_EPOCHS or not np.isfinite(values).all():
        return None
    change = np.abs(values[w:] - values[:-w]) <= PLATEAU_TOLERANCE * np.abs(values[:-w])
    best: tuple[int, int] | None = None
    start = None
    for index, flat in enumerate(np.append(change, False)):
        if flat and start is None:
            start = index
        elif not flat and start is not None:
            # change[i] compares epoch i with epoch i + w (0-based): the stretch runs from the
            # first compared epoch to the last
            if index - 1 + w - start + 1 >= PLATEAU_MIN_EPOCHS:
                best = (start, index - 1 + w)
                break
            start = None
    if best is None:
        return None
    first, last = best
    level = values[first : last + 1].mean()
    below = np.nonzero(values[last + 1 :] < ESCAPE_FRACTION * level)[0]
    left_at = int(last + 1 + below[0]) + 1 if below.size else None
    return Plateau(first + 1, last + 1, float(values[first]), float(values[last]), left_at)


def diagnose(
    source: History | Monitor | NeuralNetwork, monitor: Monitor | None = None
) -> list[str]:
    """Plain sentences, with numbers, about what went on in a training run.

    Parameters
    ----------
    source : History, Monitor or NeuralNetwork
        The losses to read (a network's :attr:`~NeuralNetwork.history`); a monitor brings its
        per-layer records as well.
    monitor : Monitor, optional
        The per-layer records, when ``source`` is a history or a network.

    Returns
    -------
    list of str
        One finding per sentence; the last ones say what could not be judged and why.
    """
    if isinstance(source, NeuralNetwork):
        source = source.history
    if isinstance(source, Monitor):
        monitor = source
        loss, val_loss = list(source.loss), list(source.val_loss)
    elif isinstance(source, History):
        loss, val_loss = list(source.loss), list(source.val_loss)
    else:
        raise TypeError(
            f"diagnose takes a History, a Monitor or a NeuralNetwork, got {type(source).__name__}"
        )
    if monitor is not None and not monitor.epochs:
        monitor = None
    if not loss:
        return ["nothing was recorded: the network has not been trained"]
    lines: list[str] = []
    diverged = _divergence(loss)
    lines += diverged
    if not diverged:
        lines += _plateau(loss, monitor)
    if monitor is not None:
        lines += _gradients(monitor)
        lines += _units(monitor)
    lines += _overfitting(loss, val_loss)
    if not lines:
        lines.append(
            f"nothing unusual: the training loss went from {loss[0]:.4g} to {loss[-1]:.4g} "
            f"over {len(loss)} epochs"
        )
    if monitor is None:
        lines.append(
            "no per-layer dynamics were recorded (gradient norms, saturated and dead units), so "
            "plateaus, saturation, dead ReLUs and vanishing or exploding gradients cannot be "
            "explained: train with callbacks=[glassnet.Monitor(x, y)]"
        )
    if not val_loss:
        lines.append(
            "no validation loss was recorded, so overfitting cannot be judged: pass validation_data"
        )
    return lines


def _divergence(loss: list[float]) -> list[str]:
    values = np.asarray(loss, dtype=float)
    bad = np.nonzero(~np.isfinite(values))[0]
    if bad.size:
        return [f"divergence: the training loss became {values[bad[0]]} at epoch {bad[0] + 1}"]
    best = int(values.argmin())
    if values.size >= 3 and values[-1] > 2 * values[best] and values[-1] > values[0]:
        return [
            f"divergence: the training loss rose from {values[best]:.4g} at epoch {best + 1} to "
            f"{values[-1]:.4g} at epoch {values.size}, above where it started "
            f"({values[0]:.4g}); try a smaller learning rate"
        ]
    return []


def _record_at(monitor: Monitor, epoch: int) -> int:
    """The index of the record nearest to ``epoch``."""
    return int(np.abs(np.asarray(monitor.epochs) - epoch).argmin())


def _norms(values: np.ndarray) -> str:
    return ", ".join(f"{v:.2g}" for v in values)


def _plateau(loss: list[float], monitor: Monitor | None) -> list[str]:
    plateau = find_plateau(loss)
    if plateau is None:
        return []
    length = plateau.end - plateau.start + 1
    lines = []
    if plateau.left_at is None:
        lines.append(
            f"plateau: the training loss has been flat from epoch {plateau.start} to the end "
            f"(epoch {plateau.end}, {length} epochs), {plateau.loss_start:.4f} → "
            f"{plateau.loss_end:.4f}, less than {PLATEAU_TOLERANCE:.0%} per "
            f"{PLATEAU_WINDOW} epochs"
        )
    else:
        after = min(len(loss), plateau.left_at + PLATEAU_WINDOW)
        lines.append(
            f"plateau: the training loss was flat from epoch {plateau.start} to {plateau.end} "
            f"({length} epochs, near {plateau.loss_end:.4f}); the run left it at epoch "
            f"{plateau.left_at} and reached {loss[after - 1]:.4f} by epoch {after} and "
            f"{loss[-1]:.4f} at the end"
        )
    if monitor is None:
        return lines
    grads = monitor.series("grad_norm")
    if np.isfinite(grads).all() and grads.shape[0] > 1:
        first = grads[0]
        peak = np.nanmax(grads[: _record_at(monitor, plateau.start) + 1], axis=0)
        on = grads[_record_at(monitor, plateau.end)]
        lines.append(
            f"on the plateau (epoch {monitor.epochs[_record_at(monitor, plateau.end)]}) the "
            f"layers' gradient norms are {_norms(on)}: {_ratio_text(first, on)} at epoch "
            f"{monitor.epochs[0]} ({_norms(first)}) and {_ratio_text(peak, on)} at their peak "
            f"before it ({_norms(peak)})"
        )
    lines += _plateau_layers(monitor, plateau)
    if plateau.left_at is not None:
        lines += _what_changed(monitor, plateau)
    return lines


def _ratio_text(reference: np.ndarray, now: np.ndarray) -> str:
    ratio = float(np.median(reference / np.where(now > 0, now, np.nan)))
    if ratio >= 1:
        return f"{ratio:.1f} times smaller (median over the layers) than"
    return f"{1 / ratio:.1f} times larger (median over the layers) than"


def _plateau_layers(monitor: Monitor, plateau: Plateau) -> list[str]:
    """Which layers are saturated on the plateau, or, if none, how linear they are."""
    at = _record_at(monitor, plateau.end)
    saturated = monitor.series("saturated")[at]
    z_std = monitor.series("z_std")[at]
    names = monitor.layers
    hit = [f"{names[i]}: {saturated[i]:.0%}" for i in range(len(names)) if saturated[i] > 0]
    if hit:
        return [f"saturated units on the plateau (epoch {monitor.epochs[at]}): {'; '.join(hit)}"]
    hidden = [i for i in range(len(names) - 1) if np.isfinite(saturated[i])]
    if not hidden:
        return []
    stds = ", ".join(f"{z_std[i]:.2f}" for i in hidden)
    return [
        f"no unit is saturated on the plateau (epoch {monitor.epochs[at]}): the hidden layers' "
        f"pre-activations have standard deviations {stds}, mostly in the nearly straight middle of "
        "their activation, so the hidden layers act almost linearly and the network draws "
        "little more than a straight boundary"
    ]


def _what_changed(monitor: Monitor, plateau: Plateau) -> list[str]:
    assert plateau.left_at is not None
    before = _record_at(monitor, plateau.end)
    after = _record_at(monitor, min(plateau.left_at + PLATEAU_WINDOW, monitor.epochs[-1]))
    if after <= before:
        return []
    grads = monitor.series("grad_norm")
    z_std = monitor.series("z_std")
    line = (
        f"leaving it (epoch {monitor.epochs[before]} → {monitor.epochs[after]}) the gradient "
        f"norms went {_norms(grads[before])} → {_norms(grads[after])} and the pre-activations' "
        f"standard deviations {_norms(z_std[before])} → {_norms(z_std[after])}"
    )
    grew = [
        f"layer {i + 1}"
        for i in range(len(monitor.layers) - 1)
        if z_std[after, i] > 1.3 * z_std[before, i]
    ]
    if grew:
        line += (
            f": the units of {', '.join(grew)} spread out of their nearly linear middle, so "
            "the boundary could bend"
        )
    return [line]


def _gradients(monitor: Monitor) -> list[str]:
    grads = monitor.series("grad_norm")
    if not np.isfinite(grads).any() or grads.shape[0] == 0:
        return []
    lines = []
    first, last = grads[0], grads[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.nanmax(grads, axis=0) / first
    for i in np.nonzero(growth > 100)[0]:
        peak = int(np.nanargmax(grads[:, i]))
        lines.append(
            f"exploding gradients: {monitor.layers[i]}'s gradient norm grew from {first[i]:.3g} "
            f"at epoch {monitor.epochs[0]} to {grads[peak, i]:.3g} at epoch "
            f"{monitor.epochs[peak]} ({growth[i]:.0f} times)"
        )
    if grads.shape[1] > 1 and last[0] > 0 and np.isfinite(last).all():
        ratio = float(np.max(last) / last[0])
        if ratio > 1000 or float(np.max(last)) < 1e-8:
            lines.append(
                f"vanishing gradients: at epoch {monitor.epochs[-1]} the first layer's gradient "
                f"norm is {last[0]:.3g}, {ratio:.0f} times smaller than the largest layer's "
                f"({np.max(last):.3g})"
            )
    return lines


def _units(monitor: Monitor) -> list[str]:
    """Dead ReLUs and saturated units at the last record."""
    lines = []
    dead = monitor.series("dead")[-1]
    saturated = monitor.series("saturated")[-1]
    epoch = monitor.epochs[-1]
    for i, name in enumerate(monitor.layers):
        units = monitor.units[i] if i < len(monitor.units) else 0
        if np.isfinite(dead[i]) and dead[i] > 0:
            lines.append(
                f"dead ReLUs: {name} has {dead[i]:.0%} of its units ({round(dead[i] * units)}) "
                f"dead at epoch {epoch} (zero on at least {monitor.dead_threshold:.0%} of the "
                "probe samples, so they no longer learn)"
            )
        # a saturated output unit is a confident one: only hidden layers are flagged
        if i < len(monitor.layers) - 1 and np.isfinite(saturated[i]) and saturated[i] >= 0.25:
            lines.append(
                f"saturation: {name} has {saturated[i]:.0%} of its units "
                f"({round(saturated[i] * units)}) saturated at epoch {epoch} (derivative below "
                f"{monitor.saturation_threshold:g} of its largest value on most probe samples)"
            )
    return lines


def _overfitting(loss: list[float], val_loss: list[float]) -> list[str]:
    if len(val_loss) < 10 or not np.isfinite(val_loss).all():
        return []
    values = np.asarray(val_loss, dtype=float)
    best = int(values.argmin())
    train = np.asarray(loss[: values.size], dtype=float)
    if values[-1] > 1.1 * values[best] and train[-1] < train[best] and best < values.size - 5:
        return [
            f"overfitting: the validation loss rose from {values[best]:.4g} at epoch {best + 1} "
            f"to {values[-1]:.4g} at epoch {values.size} while the training loss fell from "
            f"{train[best]:.4g} to {train[-1]:.4g}; stop earlier (EarlyStopping) or regularise"
        ]
    return []


# ---------------------------------------------------------------------- a run's dynamics in numbers
#: the per-layer statistics a :class:`LayerState` keeps
STATE_STATISTICS = ("weight_norm", "grad_norm", "z_std", "saturated")


@dataclass(frozen=True)
class LayerState:
    """The layers' statistics at one recorded epoch, or their medians over the records of epochs
    ``first`` to ``last``; one value per layer (None where a statistic does not apply, such as
    saturation for ReLU), and ``loss``, the loss on the monitor's probe batch."""

    first: int
    last: int
    loss: float | None
    weight_norm: list[float | None]
    grad_norm: list[float | None]
    z_std: list[float | None]
    saturated: list[float | None]

    def as_dict(self) -> dict[str, object]:
        """Plain data for JSON."""
        return {
            "first": self.first,
            "last": self.last,
            "loss": self.loss,
            **{name: list(getattr(self, name)) for name in STATE_STATISTICS},
        }


def layer_state(monitor: Monitor, first: int, last: int | None = None) -> LayerState | None:
    """The layers' statistics recorded at epoch ``first`` or, with ``last``, their medians over the
    records from ``first`` to ``last``; None when no record falls there."""
    last = first if last is None else last
    epochs = np.asarray(monitor.epochs)
    chosen = np.nonzero((epochs >= first) & (epochs <= last))[0]
    if chosen.size == 0:
        return None
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: a statistic that
        # does not apply (saturation of ReLU) or was not computed (gradients without targets)
        values = {
            name: _finite_list(np.nanmedian(monitor.series(name)[chosen], axis=0))
            for name in STATE_STATISTICS
        }
        probe_loss = np.asarray(monitor.probe_loss, dtype=float)
        loss = np.nanmedian(probe_loss[chosen]) if probe_loss.size == epochs.size else np.nan
    return LayerState(
        int(epochs[chosen[0]]),
        int(epochs[chosen[-1]]),
        float(loss) if np.isfinite(loss) else None,
        **values,
    )


def _finite_list(values: np.ndarray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


@dataclass(frozen=True)
class RunDynamics:
    """A monitored run's dynamics in numbers, for comparing runs (see :func:`run_dynamics`).

    ``plateau`` is :func:`find_plateau` of the training loss and ``plateau_loss`` the median loss
    on it; ``start`` is the first record (epoch 0, before training, when the monitor recorded
    it), ``on_plateau`` the medians over the plateau's records, ``end`` the last record, and
    ``at`` the records at chosen epochs (by epoch number; absent when the run was shorter).
    """

    epochs: int
    layers: list[str]
    plateau: Plateau | None
    plateau_loss: float | None
    start: LayerState
    on_plateau: LayerState | None
    end: LayerState
    at: dict[int, LayerState]

    @property
    def gradient_ratio(self) -> list[float | None] | None:
        """Each layer's gradient norm on the plateau over its gradient norm at the start."""
        if self.on_plateau is None:
            return None
        return [
            None if on is None or first is None or first == 0 else on / first
            for on, first in zip(self.on_plateau.grad_norm, self.start.grad_norm, strict=True)
        ]

    def as_dict(self) -> dict[str, object]:
        """Plain data for JSON (epochs in ``at`` as strings, as JSON keys are)."""
        plateau = self.plateau
        return {
            "epochs": self.epochs,
            "layers": list(self.layers),
            "plateau": None
            if plateau is None
            else {
                "start": plateau.start,
                "end": plateau.end,
                "left_at": plateau.left_at,
                "loss": self.plateau_loss,
            },
            "gradient_ratio": self.gradient_ratio,
            "start": self.start.as_dict(),
            "on_plateau": None if self.on_plateau is None else self.on_plateau.as_dict(),
            "end": self.end.as_dict(),
            "at": {str(epoch): state.as_dict() for epoch, state in sorted(self.at.items())},
        }


def run_dynamics(monitor: Monitor, at_epochs: tuple[int, ...] = ()) -> RunDynamics:
    """A monitored run's plateau and its layers' statistics at the start, on the plateau, at the
    end and at the epochs ``at_epochs`` (those the monitor recorded).

    Parameters
    ----------
    monitor : Monitor
        A monitor that recorded at least once (``monitor.record(network, 0)`` before training
        makes the start the untrained network).
    at_epochs : tuple of int
        Epoch numbers (0: before training) to keep the statistics of.
    """
    if not monitor.epochs:
        raise ValueError("run_dynamics needs a monitor that recorded at least once, got none")
    plateau = find_plateau(monitor.loss)
    plateau_loss = None
    on_plateau = None
    if plateau is not None:
        plateau_loss = float(np.median(monitor.loss[plateau.start - 1 : plateau.end]))
        on_plateau = layer_state(monitor, plateau.start, plateau.end)
    start = layer_state(monitor, monitor.epochs[0])
    end = layer_state(monitor, monitor.epochs[-1])
    assert start is not None and end is not None  # both are records
    states = {epoch: layer_state(monitor, epoch) for epoch in at_epochs}
    return RunDynamics(
        epochs=len(monitor.loss),
        layers=list(monitor.layers),
        plateau=plateau,
        plateau_loss=plateau_loss,
        start=start,
        on_plateau=on_plateau,
        end=end,
        at={epoch: state for epoch, state in states.items() if state is not None},
    )
