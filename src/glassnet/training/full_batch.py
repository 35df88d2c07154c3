"""Training with a full-batch optimizer (L-BFGS): one minimisation over all the data.

The objective and its gradient come from the network's :class:`~glassnet.model.plan.StepPlan` on
the whole data; the optimizer (``optim.optimizers.LBFGS``, which this module does not import)
drives the minimisation, and each of its iterations is recorded as one entry of the history.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .callbacks import Callback, EarlyStopping, NonFiniteLossError
from .checkpoint import ResumePoint
from .progress import Interrupt, Progress
from .scores import validation_logs

if TYPE_CHECKING:
    from ..network import NeuralNetwork, PreparedData

__all__ = ["check", "minimize", "objective"]


class _FullBatchOptimizer(Protocol):
    """What the loop uses of an optimizer with ``full_batch`` set (``optim.optimizers.LBFGS``;
    training does not import optim)."""

    name: str
    max_iter: int

    def minimize(
        self,
        objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
        start: np.ndarray,
        callback: Callable[[np.ndarray, float], bool],
    ) -> tuple[np.ndarray, object]: ...


def check(
    name: str,
    early_stopping: EarlyStopping | None,
    checkpoint: str | os.PathLike[str] | None,
    resume: ResumePoint | None,
) -> None:
    """Refuse what a full-batch optimizer (L-BFGS) cannot do: its minimisation is one piece."""
    if early_stopping is not None:
        raise ValueError(
            f"early_stopping is not supported with optimizer {name!r}: L-BFGS minimises the "
            "training loss over all the data to convergence (use max_iter and tol, or a callback "
            "that returns True)"
        )
    if checkpoint is not None:
        raise ValueError(
            f"checkpoint is not supported with optimizer {name!r}: an L-BFGS minimisation cannot "
            "be saved and resumed part-way; save the network after training instead"
        )
    if resume is not None:
        raise ValueError(f"a checkpoint cannot be resumed with optimizer {name!r}")


def objective(
    network: NeuralNetwork, data: PreparedData
) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """The function a full-batch optimizer minimises: float64 parameters → the mean
    (weighted) loss with its L2 penalty on all the data, and its gradient (float64).

    It writes the parameters into ``network.parameters`` (in the network's dtype) and runs
    the whole data through the network's :class:`~glassnet.model.plan.StepPlan`."""
    plan = network.step_plan(data.x.shape[0])
    x, targets, weights = data.x, data.targets, data.sample_weight
    parameters = network.parameters

    def loss_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        parameters[...] = flat
        with np.errstate(over="ignore", invalid="ignore"):
            value, _ = plan.value_and_gradients(x, targets, weights, False)
        return float(value), network.gradients.astype(np.float64)

    return loss_and_gradient


def minimize(
    network: NeuralNetwork,
    data: PreparedData,
    validation: tuple[np.ndarray, np.ndarray] | None,
    callbacks: Sequence[Callback],
    verbose: int,
) -> str | None:
    """Train with a full-batch optimizer (L-BFGS): one minimisation over all the data, each
    of its iterations recorded as one entry of the history. Returns the message of a Ctrl-C
    interruption, or None."""
    optimizer: _FullBatchOptimizer = network.optimizer  # type: ignore[assignment]
    start = network.parameters.copy()
    progress = Progress(verbose, optimizer.max_iter)
    epoch = first_epoch = network.history.epochs
    started = time.perf_counter()

    def after_iteration(flat: np.ndarray, loss: float) -> bool:
        nonlocal epoch, started
        network.parameters[...] = flat
        if not math.isfinite(loss):
            return True  # reported after the minimisation
        logs = {"loss": loss}
        if validation is not None:
            logs.update(validation_logs(network, *validation, data.task))
        logs["epoch_time"] = time.perf_counter() - started
        network.history.append(logs)
        progress.update(epoch, logs)
        stop = False
        for callback in callbacks:
            stop = bool(callback(network, epoch, logs)) or stop
        epoch += 1
        started = time.perf_counter()
        return stop or interrupt.requested

    with Interrupt() as interrupt:
        try:
            flat, _ = optimizer.minimize(objective(network, data), start, after_iteration)
        finally:
            progress.close()
    network.parameters[...] = flat
    loss, _ = network.loss_and_output(data.x, data.targets, data.sample_weight)
    if not math.isfinite(loss):
        network.parameters[...] = start
        raise NonFiniteLossError(
            f"training stopped: the loss became {loss} in L-BFGS iteration "
            f"{epoch - first_epoch + 1}. The parameters were reset to those at the start "
            "of the run. Standardised inputs or a different initialisation usually help."
        )
    if interrupt.requested:
        return (
            f"training interrupted (Ctrl-C) after L-BFGS iteration {epoch}; the network "
            "keeps what it learned so far"
        )
    return None
