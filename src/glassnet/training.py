"""The training loop: batching, history, early stopping, callbacks and progress.

Data flows one way: validate → batches → forward → loss → backward → optimizer step → history.
The loop is written for the small batches the seed uses (batch size 1) as much as for big ones:
per step it makes one forward/backward pass into buffers the layers own and calls the optimizer
once on the network's single flat parameter vector. The steps themselves run in
:mod:`glassnet._fast_loop` (the same arithmetic, with the per-step Python taken out) whenever the
epoch's inputs are in memory; each batch's output is kept, and the epoch's loss is evaluated from
all of them at once after the epoch.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import _fast_loop
from ._validation import as_numeric_array, check_bool, check_float, check_int, check_sample_weight

if TYPE_CHECKING:
    from .network import NeuralNetwork

__all__ = ["EarlyStopping", "History", "NonFiniteLossError", "train"]

#: shuffle by copying the whole training set once per epoch when it is at most this big;
#: bigger sets are gathered batch by batch into a reused buffer (less memory, same batches)
_EPOCH_COPY_LIMIT = 32 * 2**20

Callback = Callable[["NeuralNetwork", int, dict], object]


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

    def _append(self, logs: dict[str, float]) -> None:
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

    def __init__(self, monitor: str = "val_loss", patience: int = 10, min_delta: float = 1e-4, restore_best: bool = True):
        if monitor not in ("loss", "val_loss", "val_accuracy", "val_r2"):
            raise ValueError(f"monitor must be 'loss', 'val_loss', 'val_accuracy' or 'val_r2', got {monitor!r}")
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

    def update(self, network: NeuralNetwork, epoch: int, logs: dict[str, float]) -> bool:
        """Record ``logs`` of ``epoch``; return True when training should stop."""
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which this run does not compute (it has {sorted(logs)}); pass validation_data")
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

    def restore(self, network: NeuralNetwork) -> None:
        """Put the best epoch's parameters back into ``network``."""
        if self.restore_best and self.best_parameters is not None:
            network.parameters[...] = self.best_parameters


def _check_validation_data(network, validation_data, task):
    if validation_data is None:
        return None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise TypeError("validation_data must be a tuple (x_val, y_val)")
    x_val = network._check_x(validation_data[0], "x_val")
    t_val = network._encode_targets(validation_data[1], x_val.shape[0], task, "y_val")
    return x_val, t_val


def _validation_logs(network, x_val, t_val, task) -> dict[str, float]:
    loss, output = network._evaluate_arrays(x_val, t_val)
    logs = {"val_loss": loss}
    if task == "classification":
        truth = network._classes_from_output(t_val)
        logs["val_accuracy"] = float(np.mean(network._classes_from_output(output) == truth))
    else:
        spread = float(((t_val - t_val.mean(axis=0)) ** 2).sum())
        residual = float(((t_val - output) ** 2).sum())
        # constant targets (one sample, say): 1 for a perfect fit, else 0, as scikit-learn does
        logs["val_r2"] = 1.0 - residual / spread if spread > 0 else float(residual == 0.0)
    return logs


class _Progress:
    """Progress through ``verbose``: 1 is a tqdm bar (a line per epoch without tqdm), 2 a line per epoch."""

    def __init__(self, verbose: int, epochs: int):
        self.verbose = verbose
        self.bar = None
        if verbose == 1:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                self.verbose = 2
            else:
                self.bar = tqdm(total=epochs, unit="epoch", desc="training", dynamic_ncols=True, leave=True)

    def update(self, epoch: int, logs: dict[str, float]) -> None:
        if not self.verbose:
            return
        shown = {k: f"{v:.4g}" for k, v in logs.items() if k != "epoch_time"}
        if self.bar is not None:
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)
        else:
            text = "  ".join(f"{k}: {v}" for k, v in shown.items())
            print(f"epoch {epoch + 1}  {text}  ({logs['epoch_time']:.2f}s)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def train(
    network: NeuralNetwork,
    x: object,
    y: object,
    epochs: int = 1,
    batch_size: int | None = 32,
    shuffle: bool = True,
    validation_data: tuple | None = None,
    verbose: int = 0,
    *,
    sample_weight: object = None,
    early_stopping: EarlyStopping | None = None,
    callbacks: Sequence[Callback] = (),
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 1,
    _resume: dict | None = None,
) -> History:
    """Train ``network`` on ``(x, y)``.

    Parameters
    ----------
    network : NeuralNetwork
    x : array-like of shape (n_samples, n_inputs)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Integer class labels in ``[0, n_classes)`` (or one-hot rows) for classification;
        targets for regression.
    epochs : int, default=1
        Passes over the data in this call.
    batch_size : int or None, default=32
        Samples per gradient step; 1 is per-sample gradient descent (the seed's), None the full
        batch. The last batch of an epoch may be smaller.
    shuffle : bool, default=True
        Reorder the samples before every epoch (with the network's random generator).
    validation_data : tuple (x_val, y_val), optional
        Evaluated after every epoch: ``val_loss`` and ``val_accuracy`` (or ``val_r2``).
    verbose : int, default=0
        0 silent, 1 a progress bar, 2 a line per epoch (on stderr).
    sample_weight : array-like of shape (n_samples,), optional
        Each batch's loss is the weighted mean of its samples' losses.
    early_stopping : EarlyStopping, optional
    callbacks : sequence of callables ``callback(network, epoch, logs)``
        Called after every epoch (``epoch`` counts from 0 over the network's whole history);
        returning True stops training.
    checkpoint : path, optional
        Save a checkpoint there (atomically) every ``checkpoint_every`` epochs and at the end:
        parameters, optimizer state, step, schedule, early-stopping counters, history and the
        random generator's state. :func:`glassnet.resume` continues from it, in another process
        too, exactly as if training had not stopped.
    checkpoint_every : int, default=1

    Ctrl-C stops training after the current step (saving a checkpoint when ``checkpoint`` is
    given) and returns the network trained so far, with a ``RuntimeWarning``; a second Ctrl-C
    interrupts at once.

    Returns
    -------
    History
        ``network.history``, which grows over calls.

    Raises
    ------
    NonFiniteLossError
        If the loss becomes NaN or infinite; the message names the epoch and batch. The network
        keeps its last finite parameters: the current ones if they are finite, otherwise those of
        the start of that epoch (with the optimizer state of that moment). The losses are
        evaluated together at the end of each epoch, so training notices there, silently, and
        usually falls back to the epoch's start.
    """
    # ---------------------------------------------------------- validate everything first
    network._require_layers()
    fused = network._check_loss_pairing()
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1, allow_none=True)
    shuffle = check_bool(shuffle, "shuffle")
    verbose = check_int(verbose, "verbose", minimum=0) if not isinstance(verbose, bool) else int(verbose)
    x_train = network._check_x(x)
    task = network._infer_task(as_numeric_array(y, "y"))
    targets = network._encode_targets(y, x_train.shape[0], task)
    weights = check_sample_weight(sample_weight, x_train.shape[0], network.dtype)
    validation = _check_validation_data(network, validation_data, task)
    callbacks = list(callbacks)
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(f"callbacks must be callables, got {type(callback).__name__} {callback!r:.60}")
    if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise TypeError(f"early_stopping must be an EarlyStopping, got {type(early_stopping).__name__}")
    if early_stopping is not None and early_stopping.monitor.startswith("val_") and validation is None:
        raise ValueError(f"early stopping on {early_stopping.monitor!r} needs validation_data")

    checkpoint_every = check_int(checkpoint_every, "checkpoint_every", minimum=1)
    saver = None
    if checkpoint is not None:
        from .io import _CheckpointWriter  # needs safetensors, so imported only when asked for

        saver = _CheckpointWriter(checkpoint, x_train, targets, weights)
    resume = _resume or {}
    if resume.get("batch"):
        order = resume.get("order")
        n = x_train.shape[0]
        if (order is None) == shuffle or (order is not None and not np.array_equal(np.sort(order), np.arange(n))):
            raise ValueError(f"the checkpoint's sample order does not fit these data ({n} samples)")
        if resume["batch"] >= -(-n // (n if batch_size is None else min(batch_size, n))):
            raise ValueError("the checkpoint's batch position does not fit these data")
    if resume and saver is not None and resume.get("fingerprint") not in (None, saver.fingerprint):
        raise ValueError(
            "x, y and sample_weight differ from the data this checkpoint was trained on; "
            "resuming needs the same data in the same order"
        )

    # ---------------------------------------------------------- train
    network.task = task
    n_samples = x_train.shape[0]
    batch = n_samples if batch_size is None else min(batch_size, n_samples)
    n_batches = -(-n_samples // batch)
    rng = network.rng
    optimizer, param_list, grad_list = network.optimizer, network._param_list, network._grad_list
    forward_backward = network._forward_backward
    history = network.history
    copy_per_epoch = (x_train.nbytes + targets.nbytes) <= _EPOCH_COPY_LIMIT
    n_features = x_train.shape[1]
    # the inputs get a trailing column of ones, which folds the first layer's bias into its
    # matrix product (see Layer); big data is used as it is instead (gathered batch by batch
    # when shuffled), since a copy would double its memory
    x_source = x_train
    if copy_per_epoch:
        x_source = np.ones((n_samples, n_features + 1), x_train.dtype)
        x_source[:, :n_features] = x_train
    elif shuffle:
        x_buffer = np.empty((batch, n_features), x_train.dtype)
    outputs = np.empty_like(targets)
    per_sample_loss = network.loss.per_sample_from_logits if fused else network.loss.per_sample
    first_epoch = history.epochs
    target_epochs = resume.get("target_epochs", first_epoch + epochs)
    run = {
        "target_epochs": target_epochs,
        "batch_size": batch_size,
        "shuffle": shuffle,
        "checkpoint_every": checkpoint_every,
        "validation": validation is not None,
        "fingerprint": None if saver is None else saver.fingerprint,
    }
    progress = _Progress(verbose, target_epochs - first_epoch)
    stop = False
    with _Interrupt() as interrupt:
        try:
            for epoch in range(first_epoch, target_epochs):
                started = time.perf_counter()
                snapshot = None  # the last epoch's copies go before the new ones are made
                snapshot = (network.parameters.copy(), optimizer.state_dict())
                if resume.get("batch", 0) and epoch == first_epoch:
                    # a checkpoint saved in the middle of this epoch: same order, same position
                    order, first_batch, total = resume["order"], resume["batch"], resume["total"]
                else:
                    order = rng.permutation(n_samples) if shuffle else None
                    first_batch, total = 0, 0.0
                if order is None:
                    x_epoch, t_epoch, w_epoch = x_source, targets, weights
                else:
                    x_epoch = x_source[order] if copy_per_epoch else None
                    t_epoch = targets[order]
                    w_epoch = None if weights is None else weights[order]
                # each batch's output (its logits for a fused loss) goes into `outputs`, and the
                # losses are evaluated all together after the epoch: the same numbers as batch by
                # batch, for one vectorised pass instead of a dozen calls per batch; so a run
                # that diverges is noticed there, silently
                penalty = 0.0
                with np.errstate(over="ignore", invalid="ignore"):
                    next_batch = first_batch
                    if _fast_loop.usable(network, x_epoch):
                        next_batch = _fast_loop.run(
                            network, x_epoch, t_epoch, w_epoch, outputs, first_batch, batch, fused, interrupt
                        )
                    done = n_samples
                    if interrupt.requested:
                        done = min(next_batch * batch, n_samples)
                    else:  # what the fast loop does not do: the last, smaller batch, or everything
                        for number in range(next_batch, n_batches):
                            start = number * batch
                            stop_index = start + batch
                            if x_epoch is None:
                                index = order[start:stop_index]
                                xb = np.take(x_train, index, axis=0, out=x_buffer[: len(index)], mode="clip")
                            else:
                                xb = x_epoch[start:stop_index]
                            wb = None if w_epoch is None else w_epoch[start:stop_index]
                            batch_penalty, _ = forward_backward(xb, t_epoch[start:stop_index], wb, False, fused, outputs[start:stop_index])
                            optimizer.step(param_list, grad_list)
                            if batch_penalty:
                                penalty += batch_penalty * (xb.shape[0] if wb is None else float(wb.sum()))
                            if interrupt.requested:
                                done = min(stop_index, n_samples)
                                break
                    first = first_batch * batch
                    losses = per_sample_loss(outputs[first:done], t_epoch[first:done])
                    if w_epoch is not None:
                        losses *= w_epoch[first:done]
                if not np.isfinite(losses).all():
                    bad = int(np.argmin(np.isfinite(losses)))
                    _stop_non_finite(network, snapshot, float(losses[bad]), epoch, (first + bad) // batch, n_batches)
                if not math.isfinite(penalty):  # the L2 penalty of weights that overflow when squared
                    _stop_non_finite(network, snapshot, penalty, epoch, max(done - 1, first) // batch, n_batches)
                # batch by batch, in order, so that an interrupted and resumed epoch adds up the same
                for value in np.add.reduceat(losses, np.arange(0, losses.size, batch)).tolist() if losses.size else ():
                    total += value
                total += penalty
                if done < n_samples:
                    _interrupted(network, saver, run, epoch, -(-done // batch), n_batches, total, order, early_stopping)
                    return history
                logs = {"loss": total / (n_samples if weights is None else float(weights.sum()))}
                if validation is not None:
                    logs.update(_validation_logs(network, *validation, task))
                logs["epoch_time"] = time.perf_counter() - started
                history._append(logs)
                progress.update(epoch, logs)
                stop = early_stopping is not None and early_stopping.update(network, epoch, logs)
                for callback in callbacks:
                    stop = bool(callback(network, epoch, logs)) or stop
                if stop:
                    break
                if saver is not None and (epoch + 1 - first_epoch) % checkpoint_every == 0 and epoch + 1 < target_epochs:
                    saver.save(network, {**run, "epoch": epoch + 1, "batch": 0, "finished": False}, None, early_stopping)
                if interrupt.requested:
                    _interrupted(network, saver, run, epoch + 1, 0, n_batches, 0.0, None, early_stopping)
                    return history
        finally:
            progress.close()
    if early_stopping is not None:
        early_stopping.restore(network)
    if saver is not None:
        saver.save(network, {**run, "epoch": history.epochs, "batch": 0, "finished": True}, None, early_stopping)
    return history


class _Interrupt:
    """Turn the first Ctrl-C during training into a request to stop after the current step.

    A second Ctrl-C interrupts as usual. Signals can only be caught in the main thread; elsewhere
    this does nothing.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handle)
            except ValueError:  # not the main interpreter
                self._previous = None
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._previous or signal.default_int_handler)

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _interrupted(network, saver, run, epoch, next_batch, n_batches, total, order, early_stopping) -> None:
    where = f"epoch {epoch + 1}, after batch {next_batch} of {n_batches}" if next_batch else f"the end of epoch {epoch}"
    message = f"training interrupted (Ctrl-C) at {where}; the network keeps what it learned so far"
    if saver is not None:
        saver.save(network, {**run, "epoch": epoch, "batch": next_batch, "total": total, "finished": False}, order, early_stopping)
        message += f"; checkpoint saved to {saver.path} (continue with glassnet.resume)"
    warnings.warn(message, RuntimeWarning, stacklevel=4)


def _stop_non_finite(network, snapshot, loss, epoch, batch_number, n_batches) -> None:
    restored = ""
    if not np.isfinite(network.parameters).all():
        network.parameters[...] = snapshot[0]
        network.optimizer.load_state_dict(snapshot[1])
        restored = " Some parameters had become non-finite, so they were reset to their values at the start of that epoch."
    raise NonFiniteLossError(
        f"training stopped: the loss became {loss} at epoch {epoch + 1}, batch {batch_number + 1} of "
        f"{n_batches}.{restored} The network keeps its last finite parameters. A smaller learning "
        "rate, standardised inputs or a different initialisation usually help."
    )
