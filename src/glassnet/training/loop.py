"""The training loop: batching, the epoch's loss, history, early stopping, callbacks, checkpoints.

Data flows one way: validate → batches → step (forward, loss gradient, backward: the network's
:class:`~glassnet.model.plan.StepPlan`) → optimizer step → history. Per step the loop makes one
call to the plan and one to the optimizer, on buffers built once per batch size, so the blog post's
per-sample training (thousands of tiny steps) pays almost nothing for the Python around them. Each
batch's output is kept, and the epoch's loss is evaluated from all of them at once after the epoch:
the same numbers as batch by batch, in one vectorised pass.
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from typing import TYPE_CHECKING

import numpy as np

from .._validation import check_bool, check_int
from ..model import kernels
from .callbacks import Callback, EarlyStopping, History, NonFiniteLossError
from .checkpoint import CheckpointWriter, Position, ResumePoint, RunSettings, fingerprint
from .full_batch import check as check_full_batch
from .full_batch import minimize
from .progress import Interrupt, Progress
from .scores import validation_logs

if TYPE_CHECKING:
    from ..model.plan import StepPlan
    from ..network import NeuralNetwork, PreparedData

__all__ = ["train"]

#: shuffle by copying the whole training set once per epoch when it is at most this big;
#: bigger sets are gathered batch by batch into a reused buffer (less memory, same batches)
_EPOCH_COPY_LIMIT = 32 * 2**20

#: samples per call of the compiled kernel (between two calls Ctrl-C can stop)
_COMPILED_CHUNK = 4096
#: mini-batches train in the compiled epoch kernel (kernels._batch_epoch) when the network's
#: parameters times the batch size are at most this: where NumPy's per-call overhead, not the
#: products, takes most of a step (see benchmarks/README.md, case B)
BATCH_KERNEL_LIMIT = 2**21

#: a loss more than this many times the run's best marks a diverging run (see train's Raises)
HEALTHY_GROWTH = 1000.0

#: a batch as the plan takes it: inputs, inputs transposed, targets, weights, output rows
Batch = tuple[np.ndarray, np.ndarray, np.ndarray, "np.ndarray | None", np.ndarray]


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
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 1,
    resume: ResumePoint | None = None,
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
        Each batch's loss is the weighted mean of its samples' losses. Samples of weight 0 are
        left out before batching, as if they were not there.
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
    resume : ResumePoint, optional
        Continue a checkpointed run (what :func:`glassnet.resume` passes): train up to its
        ``target_epochs`` instead of ``epochs`` more, from its position in the epoch.

    With a full-batch optimizer (:class:`~glassnet.optim.optimizers.LBFGS`) one call is one
    L-BFGS-B minimisation of the mean (weighted) loss with its L2 penalty over all the data, for
    up to the optimizer's ``max_iter`` iterations and ``max_fun`` evaluations: ``epochs``,
    ``batch_size`` and ``shuffle`` are checked but do not apply; each iteration is one entry of
    the history (with the validation scores when ``validation_data`` is given) and is passed to
    the callbacks (True stops); ``early_stopping``, ``checkpoint`` and ``resume`` raise
    ``ValueError``. The result is written into ``network.parameters``.

    Ctrl-C stops training after the current step (saving a checkpoint when ``checkpoint`` is
    given) and returns the network trained so far, with a ``RuntimeWarning``; a second Ctrl-C
    interrupts at once. The compiled epochs stop after the current call of their kernel (at most
    4,096 samples), inside the epoch as NumPy's path does: the network keeps every step taken
    (as in Keras and PyTorch), the history only the finished epochs, and the checkpoint resumes
    at that step, bit for bit as an uninterrupted run on the same path.

    Returns
    -------
    History
        ``network.history``, which grows over calls.

    Raises
    ------
    NonFiniteLossError
        If the loss becomes NaN or infinite; the message names the epoch and batch. The network
        is reset to its last healthy parameters, with the optimizer state of that moment: those
        at the start of the latest epoch of this run that followed an epoch whose loss was within
        :data:`HEALTHY_GROWTH` times the run's best (or at the start of the run), so a run whose
        loss grew by orders of magnitude before it overflowed keeps the parameters from before
        the growth. The losses are evaluated together at the end of each epoch, so training
        notices there, silently.
    """
    trainer = _Trainer(
        network,
        x,
        y,
        epochs,
        batch_size,
        shuffle,
        validation_data,
        verbose,
        sample_weight,
        early_stopping,
        callbacks,
        checkpoint,
        checkpoint_every,
        resume,
    )
    interrupted = trainer.run()
    if interrupted is not None:
        warnings.warn(interrupted, RuntimeWarning, stacklevel=3)
    elif trainer.diverging():
        losses = network.history.loss
        warnings.warn(
            f"the training loss grew from {trainer.best_loss:.4g} to {losses[-1]:.4g}: the run "
            "is diverging, and the network keeps the parameters of its last epoch; a smaller "
            "learning rate usually helps",
            RuntimeWarning,
            stacklevel=3,
        )
    return network.history


def _check_validation_data(
    network: NeuralNetwork, validation_data: object, task: str
) -> tuple[np.ndarray, np.ndarray] | None:
    if validation_data is None:
        return None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise TypeError("validation_data must be a tuple (x_val, y_val)")
    x_val = network.check_x(validation_data[0], "x_val")
    t_val = network.encode_targets(validation_data[1], x_val.shape[0], task, "y_val")
    return x_val, t_val


def _check_callbacks(callbacks: Sequence[Callback], early: EarlyStopping | None) -> list:
    checked = list(callbacks)
    for callback in checked:
        if not callable(callback):
            raise TypeError(
                f"callbacks must be callables, got {type(callback).__name__} {callback!r:.60}"
            )
    if early is not None and not isinstance(early, EarlyStopping):
        raise TypeError(f"early_stopping must be an EarlyStopping, got {type(early).__name__}")
    return checked


def _without_weightless(data: PreparedData) -> PreparedData:
    """The samples of non-zero weight: one of weight 0 is left out, as if it were not there
    (scikit-learn's meaning of a zero weight), so that no batch has weights summing to 0,
    whose weighted mean would be 0/0."""
    weights = data.sample_weight
    if weights is None or weights.all():
        return data
    keep = np.flatnonzero(weights)
    return data._replace(x=data.x[keep], targets=data.targets[keep], sample_weight=weights[keep])


def _run_steps(
    plan: StepPlan, batches: Iterable[Batch], stepper: Callable[[], None], interrupt: Interrupt
) -> tuple[int, float]:
    """Train on each batch in turn (one plan step, one optimizer step); stop early when Ctrl-C
    was pressed. Returns the steps taken and the sum of their L2 penalties (weighted by batch)."""
    train_step = plan.train_step
    penalty = 0.0
    steps = 0
    for steps, (inputs, inputs_t, target, weight, output_rows) in enumerate(batches, 1):  # noqa: B007
        batch_penalty = train_step(inputs, inputs_t, target, weight, output_rows)
        if batch_penalty:
            penalty += batch_penalty * (inputs.shape[0] if weight is None else float(weight.sum()))
        stepper()
        if interrupt.requested:
            break
    return steps, penalty


def _stop_non_finite(
    network: NeuralNetwork,
    healthy: tuple[np.ndarray, dict, int] | None,
    loss: float,
    epoch: int,
    batch: int,
    n_batches: int,
    what: str = "the loss",
) -> None:
    healthy_epoch = epoch
    if healthy is not None:  # always, once an epoch has started
        parameters, optimizer_state, healthy_epoch = healthy
        network.parameters[...] = parameters
        network.optimizer.load_state_dict(optimizer_state)
    raise NonFiniteLossError(
        f"training stopped: {what} became {loss} at epoch {epoch + 1}, batch {batch + 1} of "
        f"{n_batches}. The parameters were reset to their last healthy values, those at the "
        f"start of epoch {healthy_epoch + 1}. A smaller learning rate, standardised inputs or a "
        "different initialisation usually help."
    )


class _Trainer:
    """One call of :func:`train`: everything validated in ``__init__``, changed in :meth:`run`."""

    def __init__(
        self,
        network: NeuralNetwork,
        x: object,
        y: object,
        epochs: int,
        batch_size: int | None,
        shuffle: bool,
        validation_data: object,
        verbose: int,
        sample_weight: object,
        early_stopping: EarlyStopping | None,
        callbacks: Sequence[Callback],
        checkpoint: str | os.PathLike[str] | None,
        checkpoint_every: int,
        resume: ResumePoint | None,
    ) -> None:
        network.check_loss_pairing()
        self.full_batch = bool(getattr(network.optimizer, "full_batch", False))
        if self.full_batch:
            check_full_batch(network.optimizer.name, early_stopping, checkpoint, resume)
            if network.backend == "numba":
                raise ValueError(
                    f"backend='numba' cannot train this run: {network.optimizer.name} "
                    "minimises the full batch with NumPy; backend='auto' trains it with NumPy"
                )
        epochs = check_int(epochs, "epochs", minimum=1)
        batch_size = check_int(batch_size, "batch_size", minimum=1, allow_none=True)
        shuffle = check_bool(shuffle, "shuffle")
        if isinstance(verbose, bool):
            verbose = int(verbose)
        verbose = check_int(verbose, "verbose", minimum=0)
        data = _without_weightless(network.prepare(x, y, sample_weight))
        self.validation = _check_validation_data(network, validation_data, data.task)
        self.callbacks = _check_callbacks(callbacks, early_stopping)
        if early_stopping is not None and early_stopping.monitor.startswith("val_"):
            if self.validation is None:
                raise ValueError(
                    f"early stopping on {early_stopping.monitor!r} needs validation_data"
                )
        checkpoint_every = check_int(checkpoint_every, "checkpoint_every", minimum=1)
        self.saver = None
        if checkpoint is not None:
            data_fingerprint = fingerprint(data.x, data.targets, data.sample_weight)
            self.saver = CheckpointWriter(checkpoint, data_fingerprint)
        if resume is not None:
            resume.check(data.x.shape[0], batch_size, shuffle)
            known = resume.fingerprint
            if self.saver is not None and known not in (None, self.saver.fingerprint):
                raise ValueError(
                    "x, y and sample_weight differ from the data this checkpoint was trained "
                    "on; resuming needs the same data in the same order"
                )
        self.network, self.data, self.resume = network, data, resume
        self.healthy: tuple[np.ndarray, dict, int] | None = None
        self.best_loss = math.inf  # the run's best epoch loss so far
        self.early_stopping, self.shuffle, self.verbose = early_stopping, shuffle, verbose
        self.n_samples = n = data.x.shape[0]
        self.batch = n if batch_size is None else min(batch_size, n)
        self.n_batches = -(-n // self.batch)
        self.compiled_reason = None if self.full_batch else self._compiled_reason(network)
        first_epoch = network.history.epochs
        self.settings = RunSettings(
            target_epochs=first_epoch + epochs if resume is None else resume.target_epochs,
            batch_size=batch_size,
            shuffle=shuffle,
            checkpoint_every=checkpoint_every,
            validation=self.validation is not None,
            fingerprint=None if self.saver is None else self.saver.fingerprint,
        )

    def _compiled_reason(self, network: NeuralNetwork) -> str | None:
        """Why this run does not train with a compiled epoch (one sample per step, or
        mini-batches of a small network), or None when it does; with ``backend="numba"``, a
        ``ValueError`` instead of a reason when no compiled code runs it (mini-batches still
        run compiled code when the optimizer's update is compiled)."""
        x, targets = self.data.x, self.data.targets
        reason = network.compiled_training()
        if reason is None:
            if x.__class__ is not np.ndarray:
                reason = "a sparse x"
            elif x.nbytes + targets.nbytes > _EPOCH_COPY_LIMIT:
                reason = "data too big to copy once per epoch"
            elif self.batch != 1:
                reason = kernels.batches_unavailable()
                if network.parameters.size * self.batch > BATCH_KERNEL_LIMIT:
                    reason = "a big network or batch"
        if self.batch != 1 and reason is not None:
            update = network.compiled_update()
            if update is not None and network.backend == "numba":
                raise ValueError(
                    f"backend='numba' cannot train this run: {update} (batches of "
                    f"{self.batch} samples); backend='auto' trains it with NumPy"
                )
            reason = f"batches of {self.batch} samples ({reason})"
            return reason if update is None else f"{reason}; {update}"
        if reason is not None and network.backend == "numba":
            raise ValueError(
                f"backend='numba' cannot train this run: {reason}; backend='auto' trains it "
                "with NumPy"
            )
        return reason

    def _path_text(self) -> str:
        """The code this run trains with, for ``verbose``."""
        reason = self.compiled_reason
        if reason is None:
            kind = "per-sample" if self.batch == 1 else f"mini-batch ({self.batch} samples)"
            return f"numba (compiled {kind} kernel)"
        if self.batch != 1 and self.network.compiled_update() is None:
            return (
                f"NumPy's matrix products and numba's compiled optimizer update and activation "
                f"passes ({reason})"
            )
        return f"numpy ({reason})"

    # ------------------------------------------------------------------ the run
    def run(self) -> str | None:
        """Train to the target epoch; returns the message of a Ctrl-C interruption, or None."""
        with self.network.exclusive("training"):
            return self._run()

    def _run(self) -> str | None:
        network, data = self.network, self.data
        network.task = data.task
        if self.full_batch:
            network.training_path = "numpy"
            return minimize(network, data, self.validation, self.callbacks, self.verbose)
        self._arrange_data()
        first_epoch = network.history.epochs
        target = self.settings.target_epochs
        if self.verbose:
            print(f"training with {self._path_text()}", file=sys.stderr)
        progress = Progress(self.verbose, target - first_epoch)
        with Interrupt() as interrupt:
            try:
                for epoch in range(first_epoch, target):
                    outcome = self._epoch(epoch, first_epoch, interrupt, progress)
                    if isinstance(outcome, Position):
                        return self._interrupted(outcome)
                    if outcome:  # early stopping or a callback said stop
                        break
            finally:
                progress.close()
        if self.early_stopping is not None:
            self.early_stopping.restore(network)
        self._save(Position(epoch=network.history.epochs, finished=True))
        return None

    def _arrange_data(self) -> None:
        """Where batches come from: the inputs with a trailing column of ones (which folds the
        first layer's bias into its matrix product) when a copy fits in memory, else the data
        as they are (gathered batch by batch when shuffled)."""
        x = self.data.x
        #: a SciPy sparse x (CSR) is sliced batch by batch and never written out densely
        self.sparse = x.__class__ is not np.ndarray
        self.copy_per_epoch = (
            not self.sparse and (x.nbytes + self.data.targets.nbytes) <= _EPOCH_COPY_LIMIT
        )
        self.x_source = x
        if self.copy_per_epoch:
            self.x_source = np.ones((x.shape[0], x.shape[1] + 1), x.dtype)
            self.x_source[:, : x.shape[1]] = x
        elif self.shuffle and not self.sparse:
            self.x_buffer = np.empty((self.batch, x.shape[1]), x.dtype)
        self.outputs = np.empty_like(self.data.targets)
        loss = self.network.loss
        fused = loss.fused_activation is not None
        self.per_sample_loss = loss.per_sample_from_logits if fused else loss.per_sample

    def diverging(self) -> bool:
        """Whether the run's last epoch lost more than :data:`HEALTHY_GROWTH` times its best."""
        losses = self.network.history.loss
        if not losses:  # an L-BFGS run that converged where it started
            return False
        self.best_loss = min(self.best_loss, losses[-1])
        return bool(losses) and losses[-1] > HEALTHY_GROWTH * self.best_loss

    def _keep_if_healthy(self, epoch: int, first_epoch: int) -> None:
        """Keep the parameters and optimizer state this epoch starts from when the run is
        healthy: at its first epoch, or when the last epoch's loss was within
        :data:`HEALTHY_GROWTH` times the run's best. The previous copy goes first (memory)."""
        if epoch > first_epoch:
            last = self.network.history.loss[-1]
            self.best_loss = min(self.best_loss, last)
            if not last <= HEALTHY_GROWTH * self.best_loss:
                return
        self.healthy = None
        network = self.network
        self.healthy = (network.parameters.copy(), network.optimizer.state_dict(), epoch)

    def _epoch_order(self, epoch: int, first_epoch: int) -> tuple[np.ndarray | None, int, float]:
        """The epoch's sample order (None: as given), first batch and loss so far."""
        resume = self.resume
        if resume is not None and resume.batch and epoch == first_epoch:
            # a checkpoint saved in the middle of this epoch: same order, same position
            return resume.order, resume.batch, resume.total
        order = self.network.rng.permutation(self.n_samples) if self.shuffle else None
        return order, 0, 0.0

    def _epoch(
        self, epoch: int, first_epoch: int, interrupt: Interrupt, progress: Progress
    ) -> Position | bool:
        """Train one epoch and record it. Returns where Ctrl-C stopped it, or whether training
        should stop."""
        started = time.perf_counter()
        self._keep_if_healthy(epoch, first_epoch)
        order, first_batch, total = self._epoch_order(epoch, first_epoch)
        targets, weights = self.data.targets, self.data.sample_weight
        x_epoch: np.ndarray | None = self.x_source
        if order is not None:  # np.take: a tenth of the time of x[order] for narrow rows
            x_epoch = np.take(self.x_source, order, axis=0) if self.copy_per_epoch else None
            targets = np.take(targets, order, axis=0)
            weights = None if weights is None else np.take(weights, order)
        with np.errstate(over="ignore", invalid="ignore"):
            done, penalty = self._train_batches(
                x_epoch, targets, weights, order, first_batch, interrupt
            )
            first = first_batch * self.batch
            losses = self.per_sample_loss(self.outputs[first:done], targets[first:done])
            if weights is not None:
                losses *= weights[first:done]
        total = self._add_up(losses, penalty, total, epoch, first, done)
        if done < self.n_samples:
            return Position(epoch, -(-done // self.batch), total, False, order)
        return self._end_epoch(epoch, first_epoch, total, started, interrupt, progress)

    def _train_batches(
        self,
        x_epoch: np.ndarray | None,
        targets: np.ndarray,
        weights: np.ndarray | None,
        order: np.ndarray | None,
        first_batch: int,
        interrupt: Interrupt,
    ) -> tuple[int, float]:
        """Train on the epoch's batches from ``first_batch`` on; returns how many samples are
        done (fewer than all after Ctrl-C) and the L2 penalties of the steps."""
        if self.compiled_reason is None and x_epoch is not None:
            return self._train_compiled(x_epoch, targets, weights, first_batch, interrupt)
        stepper = self.network.optimizer_stepper()
        n, batch = self.n_samples, self.batch
        n_full = n // batch
        number, penalty = first_batch, 0.0
        if number < n_full:
            batches = self._batches(x_epoch, targets, weights, order, number, n_full)
            steps, penalty = _run_steps(self.network.step_plan(batch), batches, stepper, interrupt)
            number += steps
        if number == n_full < self.n_batches and not interrupt.requested:
            last = self._batches(x_epoch, targets, weights, order, n_full, n_full + 1)
            plan = self.network.step_plan(n - n_full * batch)
            steps, last_penalty = _run_steps(plan, last, stepper, interrupt)
            number, penalty = number + steps, penalty + last_penalty
        return min(number * batch, n), penalty

    def _train_compiled(
        self,
        x_epoch: np.ndarray,
        targets: np.ndarray,
        weights: np.ndarray | None,
        first: int,
        interrupt: Interrupt,
    ) -> tuple[int, float]:
        """The steps of :meth:`_train_batches` in compiled code, from batch ``first`` on, in
        chunks of about :data:`_COMPILED_CHUNK` samples so that Ctrl-C stops between them."""
        batch = self.batch
        run = self.network.sample_epoch(batch)
        penalty, done = 0.0, first * batch
        chunk = max(1, _COMPILED_CHUNK // batch) * batch
        while done < self.n_samples:
            stop = min(done + chunk, self.n_samples)
            chunk_penalty = run(x_epoch, targets, weights, self.outputs, done, stop)
            if chunk_penalty is None:  # numba failed to compile (warned): NumPy from here on
                self.compiled_reason = "the compiled kernel failed to compile"
                number = done // batch
                done, rest = self._train_batches(x_epoch, targets, weights, None, number, interrupt)
                return done, penalty + rest
            penalty += chunk_penalty
            done = stop
            if interrupt.requested:
                break
        return done, penalty

    def _batches(
        self,
        x_epoch: np.ndarray | None,
        targets: np.ndarray,
        weights: np.ndarray | None,
        order: np.ndarray | None,
        first: int,
        stop: int,
    ) -> Iterable[Batch]:
        """Batches ``first … stop − 1`` of the epoch: views of ``x_epoch``, made in one go, or
        rows of the data gathered into a reused buffer when the epoch was not copied."""
        if self.sparse:
            return self._sparse_batches(order, targets, weights, first, stop)
        if x_epoch is None:
            return self._gathered(order, targets, weights, first, stop)  # type: ignore[arg-type]
        batch = self.batch
        start, end = first * batch, min(stop * batch, self.n_samples)
        shape = (stop - first, end - start) if stop - first == 1 else (stop - first, batch)
        inputs = x_epoch[start:end].reshape(*shape, -1)
        return zip(
            inputs,
            inputs.transpose(0, 2, 1),
            targets[start:end].reshape(*shape, -1),
            repeat(None) if weights is None else weights[start:end].reshape(shape),
            self.outputs[start:end].reshape(*shape, -1),
        )

    def _gathered(
        self,
        order: np.ndarray,
        targets: np.ndarray,
        weights: np.ndarray | None,
        first: int,
        stop: int,
    ) -> Iterator[Batch]:
        for number in range(first, stop):
            start = number * self.batch
            end = min(start + self.batch, self.n_samples)
            index = order[start:end]
            out = self.x_buffer[: len(index)]
            inputs = np.take(self.data.x, index, axis=0, out=out, mode="clip")
            sample_weights = None if weights is None else weights[start:end]
            yield inputs, inputs.T, targets[start:end], sample_weights, self.outputs[start:end]

    def _sparse_batches(
        self,
        order: np.ndarray | None,
        targets: np.ndarray,
        weights: np.ndarray | None,
        first: int,
        stop: int,
    ) -> Iterator[Batch]:
        """Batches of a sparse x: its rows sliced (or picked in ``order``) as small CSR
        matrices, which the plan's first layer multiplies as they are."""
        x = self.data.x
        for number in range(first, stop):
            start = number * self.batch
            end = min(start + self.batch, self.n_samples)
            inputs = x[start:end] if order is None else x[order[start:end]]
            sample_weights = None if weights is None else weights[start:end]
            yield inputs, inputs.T, targets[start:end], sample_weights, self.outputs[start:end]

    def _add_up(
        self,
        losses: np.ndarray,
        penalty: float,
        total: float,
        epoch: int,
        first: int,
        done: int,
    ) -> float:
        """The epoch's loss so far, batch by batch, in order (so that an interrupted and
        resumed epoch adds up the same); a non-finite loss stops training."""
        if not np.isfinite(losses).all():
            bad = int(np.argmin(np.isfinite(losses)))
            where = (first + bad) // self.batch
            _stop_non_finite(
                self.network, self.healthy, float(losses[bad]), epoch, where, self.n_batches
            )
        if not math.isfinite(penalty):  # the L2 penalty of weights that overflow when squared
            where = max(done - 1, first) // self.batch
            _stop_non_finite(self.network, self.healthy, penalty, epoch, where, self.n_batches)
        if losses.size:
            with np.errstate(over="ignore"):  # an overflowing sum is caught just below
                sums = np.add.reduceat(losses, np.arange(0, losses.size, self.batch))
            for value in sums.tolist():
                total += value
        total += penalty
        if not math.isfinite(total):  # finite losses whose sum overflows
            where = max(done - 1, first) // self.batch
            _stop_non_finite(self.network, self.healthy, total, epoch, where, self.n_batches)
        parameters = self.network.parameters
        if not np.isfinite(parameters).all():  # a last step that overflowed the parameters
            value = float(parameters[np.argmin(np.isfinite(parameters))])
            where = max(done - 1, first) // self.batch
            _stop_non_finite(
                self.network, self.healthy, value, epoch, where, self.n_batches, "a parameter"
            )
        return total

    def _end_epoch(
        self,
        epoch: int,
        first_epoch: int,
        total: float,
        started: float,
        interrupt: Interrupt,
        progress: Progress,
    ) -> Position | bool:
        """Record the epoch, ask early stopping and the callbacks, write a checkpoint."""
        network, weights = self.network, self.data.sample_weight
        logs = {"loss": total / (self.n_samples if weights is None else float(weights.sum()))}
        if self.validation is not None:
            logs.update(validation_logs(network, *self.validation, self.data.task))
        logs["epoch_time"] = time.perf_counter() - started
        network.history.append(logs)
        progress.update(epoch, logs)
        early = self.early_stopping
        stop = early is not None and early.update(network, epoch, logs)
        for callback in self.callbacks:
            stop = bool(callback(network, epoch, logs)) or stop
        if stop:
            return True
        every = self.settings.checkpoint_every
        if (epoch + 1 - first_epoch) % every == 0 and epoch + 1 < self.settings.target_epochs:
            self._save(Position(epoch + 1))
        if interrupt.requested:
            return Position(epoch + 1)
        return False

    def _save(self, position: Position) -> None:
        if self.saver is not None:
            self.saver.save(self.network, self.settings, position, self.early_stopping)

    def _interrupted(self, position: Position) -> str:
        """Save a checkpoint of where Ctrl-C stopped training; return the message to warn."""
        epoch, next_batch = position.epoch, position.batch
        if next_batch:
            where = f"epoch {epoch + 1}, after batch {next_batch} of {self.n_batches}"
        else:
            where = f"the end of epoch {epoch}"
        message = (
            f"training interrupted (Ctrl-C) at {where}; the network keeps what it learned so far"
        )
        if self.saver is not None:
            self._save(position)
            message += f"; checkpoint saved to {self.saver.path} (continue with glassnet.resume)"
        return message
