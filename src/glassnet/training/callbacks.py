"""What training reports and how it can be steered: the history, early stopping, callbacks.

A callback is any callable ``callback(network, epoch, logs)``, called after every epoch with the
epoch's number (counted over the network's whole history) and its ``logs`` (``loss``, the
validation scores, ``epoch_time``); returning True stops training. :class:`EarlyStopping` is one,
with the state a checkpoint saves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .._validation import check_bool, check_float, check_int

__all__ = ["Callback", "EarlyStopping", "History", "NonFiniteLossError"]

#: ``callback(network, epoch, logs) -> stop?``
Callback = Callable[[Any, int, dict], object]


class _HasParameters(Protocol):
    @property
    def parameters(self) -> np.ndarray: ...


class NonFiniteLossError(ValueError):
    """The training loss became NaN or infinite; training stopped."""


@dataclass
class History:
    """Per-epoch record of training.

    Attributes
    ----------
    loss : list of float
        Mean training loss over each epoch's batches (weighted by batch size), L2 penalty included.
    val_loss, val_accuracy, val_r2 : list of float
        On ``validation_data``, after each epoch; accuracy for classifiers, R² for regressors.
    epoch_time : list of float
        Seconds each epoch took (training and validation).
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    val_r2: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return len(self.loss)

    def __len__(self) -> int:
        return len(self.loss)

    def as_dict(self) -> dict[str, list[float]]:
        """The non-empty series by name."""
        return {name: list(values) for name, values in vars(self).items() if values}

    def append(self, logs: dict[str, float]) -> None:
        """Add one epoch's values (``logs`` maps series names to numbers)."""
        for name, value in logs.items():
            if name != "epoch":
                getattr(self, name).append(value)


class EarlyStopping:
    """Stop training when a monitored quantity stops improving.

    Parameters
    ----------
    monitor : {"loss", "val_loss", "val_accuracy", "val_r2"}, default="val_loss"
        Losses must decrease, scores increase.
    patience : int, default=10
        Epochs without an improvement of at least ``min_delta`` before stopping.
    min_delta : float, default=1e-4
        The smallest change that counts as an improvement.
    restore_best : bool, default=True
        On stopping (or at the end), put back the parameters of the best epoch.

    Attributes
    ----------
    best : float or None
    best_epoch : int or None
        0-based index in the network's history.
    wait : int
        Epochs since the last improvement.
    stopped : bool
        Whether it stopped the last training run.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 1e-4,
        restore_best: bool = True,
    ) -> None:
        if monitor not in ("loss", "val_loss", "val_accuracy", "val_r2"):
            raise ValueError(
                f"monitor must be 'loss', 'val_loss', 'val_accuracy' or 'val_r2', got {monitor!r}"
            )
        self.monitor = monitor
        self.patience = check_int(patience, "patience", minimum=1)
        self.min_delta = check_float(min_delta, "min_delta", minimum=0.0)
        self.restore_best = check_bool(restore_best, "restore_best")
        self.reset()

    def reset(self) -> None:
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped = False
        self.best_parameters: np.ndarray | None = None

    @property
    def higher_is_better(self) -> bool:
        return self.monitor in ("val_accuracy", "val_r2")

    def update(self, network: _HasParameters, epoch: int, logs: dict[str, float]) -> bool:
        """Record ``logs`` of ``epoch``; return True when training should stop."""
        if self.monitor not in logs:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r}, which this run does not compute "
                f"(it has {sorted(logs)}); pass validation_data"
            )
        value = logs[self.monitor]
        sign = 1.0 if self.higher_is_better else -1.0
        if self.best is None or sign * (value - self.best) > self.min_delta:
            self.wait = 0
        else:
            self.wait += 1
        if self.best is None or sign * (value - self.best) > 0:
            self.best, self.best_epoch = value, epoch
            if self.restore_best:
                self.best_parameters = network.parameters.copy()
        if self.wait >= self.patience:
            self.stopped = True
        return self.stopped

    def restore(self, network: _HasParameters) -> None:
        """Put the best epoch's parameters back into ``network``."""
        if self.restore_best and self.best_parameters is not None:
            network.parameters[...] = self.best_parameters
