"""The network: layers composed in order, one loss, one optimizer, one random generator.

:class:`NeuralNetwork` keeps every parameter in one flat vector (the layers' arrays are views into
it), validates what users pass, and hands the arithmetic to :mod:`glassnet.model.plan` and the
training loop to :mod:`glassnet.training`.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple

import numpy as np

from ._validation import (
    all_finite,
    as_numeric_array,
    check_dtype,
    check_float,
    check_random_state,
    check_sample_weight,
    check_x,
    quote,
)
from .metrics import accuracy
from .model import activations, kernels, losses, targets
from .model.layers import Layer
from .model.plan import StepPlan, infer, l2_penalty
from .model.probabilities import class_probabilities, warn_if_overflowed
from .model.rules import default_weight_init, output_activation_for
from .optim import optimizers
from .training import loop as training_loop
from .training.callbacks import Callback, EarlyStopping, History
from .training.loop import train

__all__ = ["NeuralNetwork", "PreparedData"]

TASKS = targets.TASKS
#: how the L2 penalty relates to a batch (see NeuralNetwork's ``l2_scaling``)
L2_SCALINGS = ("constant", "batch")
#: which code trains (see NeuralNetwork's ``backend``)
BACKENDS = ("auto", "numpy", "numba")
#: bytes of activations one prediction pass may hold; bigger inputs are predicted in chunks
_PREDICT_BYTES = 32 * 2**20
#: the fewest rows a chunk has
_MIN_CHUNK = 1024
#: step plans kept per network: a training batch, a last batch, and a little more
_MAX_PLANS = 4


class PreparedData(NamedTuple):
    """Validated data, ready for the network's arithmetic.

    Attributes
    ----------
    x : ndarray of shape (n_samples, n_inputs)
        In the network's dtype, C-ordered.
    targets : ndarray of shape (n_samples, n_outputs)
        Encoded as the loss compares them with the output (one-hot rows for class labels).
    sample_weight : ndarray of shape (n_samples,) or None
    task : {"classification", "regression"}
    """

    x: np.ndarray
    targets: np.ndarray
    sample_weight: np.ndarray | None
    task: str


class NeuralNetwork:
    """A fully-connected feed-forward network trained by gradient descent.

    Parameters
    ----------
    layers : sequence of Layer, optional
        Layers in order; more can be added with :meth:`add_layer`.
    loss : str or Loss, default="mse"
        One of :func:`glassnet.losses.names`. ``"mse"`` is the seed's ``½·Σ(a − y)²`` per sample.
    optimizer : str or Optimizer, default="sgd"
        One of :func:`glassnet.optimizers.names`, or an optimizer object.
    learning_rate : float, optional
        Used when ``optimizer`` is a name (default: that optimizer's own default).
    l2 : float, default=0.0
        L2 penalty: ``½·l2·Σ‖W‖²`` over the weights (not the biases) is added to the loss.
    l2_scaling : {"constant", "batch"}, default="constant"
        ``"constant"`` adds ``½·l2·Σ‖W‖²`` to each batch's mean loss; ``"batch"`` divides it by
        the batch's size (the sum of its sample weights), which adds ``½·l2·Σ‖W‖²`` to the
        batch's *summed* loss before the mean: scikit-learn's MLP ``alpha``.
    task : {"classification", "regression"} or None, default=None
        None decides at the first :meth:`train`: the cross-entropies mean classification, ``mae``
        and ``huber`` regression; with ``mse``, 1-D integer targets and two or more outputs mean
        classification (the seed's setting), anything else regression.
    random_state : int, numpy.random.Generator or None, default=None
        The one source of randomness: initialises layers added before they were built, and
        shuffles the training data.
    dtype : {"float64", "float32"}, default="float64"
        Parameters, activations, gradients and optimizer state all use this dtype.
    backend : {"auto", "numpy", "numba"}, default="auto"
        What trains: ``"auto"`` the compiled kernels (:mod:`glassnet.model.kernels`) where
        numba is installed and the configuration is covered, NumPy otherwise (``verbose`` says
        which); ``"numpy"`` always NumPy; ``"numba"`` the kernels or a ``ValueError`` saying
        why they cannot. One sample per step (``batch_size=1``) runs a whole epoch compiled;
        so do mini-batches of small networks (parameters × batch size up to about 2 million),
        with BLAS's products called from the compiled loop; bigger ones train with NumPy's
        products and a compiled optimizer update (bit-identical to NumPy's). The compiled
        epochs give NumPy's parameters to rounding (1e-12 relative in float64), as far as the
        run does not amplify rounding: one that would move as far for a one-ulp change of its
        own starting point moves as far between the paths.
        :attr:`training_path` says which code ran. Not part of :meth:`get_config`: a choice of
        the machine, not of the model.

    Attributes
    ----------
    layers : tuple of Layer
    history : History
        Per-epoch losses (and validation scores) over every :meth:`train` call so far.
    metadata : dict
        Plain data (JSON-able) that :func:`glassnet.save` writes with the model.
    training_path : str or None
        Which code ran the last training step: ``"numba-sample"`` (the compiled per-sample
        epoch), ``"numba-batch"`` (the compiled mini-batch epoch), ``"numpy+numba-update"``
        (NumPy's products, the optimizer's update and the activations' element-wise passes
        compiled), ``"numpy+numba-activations"`` (an optimizer without a compiled update: only
        the activations' passes compiled), ``"numpy"``, or None before any.
    """

    def __init__(
        self,
        layers: Iterable[Layer] | None = None,
        *,
        loss: str | dict | losses.Loss = "mse",
        optimizer: str | dict | optimizers.Optimizer = "sgd",
        learning_rate: float | None = None,
        l2: float = 0.0,
        l2_scaling: str = "constant",
        task: str | None = None,
        random_state: int | np.random.Generator | None = None,
        dtype: str | np.dtype = "float64",
        backend: str = "auto",
    ) -> None:
        self.dtype = check_dtype(dtype)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be 'auto', 'numpy' or 'numba', got {quote(backend)}")
        self.backend = backend
        self.loss = losses.get(loss)
        if learning_rate is not None:
            self.optimizer = optimizers.get(optimizer, learning_rate=learning_rate)
        else:
            self.optimizer = optimizers.get(optimizer)
        self.l2 = check_float(l2, "l2", minimum=0.0)
        if l2_scaling not in L2_SCALINGS:
            raise ValueError(f"l2_scaling must be 'constant' or 'batch', got {quote(l2_scaling)}")
        self.l2_scaling = l2_scaling
        if task is not None and task not in TASKS:
            raise ValueError(f"task must be 'classification', 'regression' or None, got {task!r}")
        self.task = task
        self.random_state = random_state
        self.rng = check_random_state(random_state)
        self.history = History()
        #: which code ran the last training step (see Attributes)
        self.training_path: str | None = None
        #: plain JSON-able data saved with the model (the command line keeps its class names here)
        self.metadata: dict = {}
        self._layers: list[Layer] = []
        # held while training or computing gradients: they write the network's shared buffers
        self._lock = threading.RLock()
        self._pack()
        for layer in layers or ():
            self.add_layer(layer)

    # ----------------------------------------------------------------- structure
    @property
    def layers(self) -> tuple[Layer, ...]:
        return tuple(self._layers)

    @property
    def n_inputs(self) -> int | None:
        return self._layers[0].n_inputs if self._layers else None

    @property
    def n_outputs(self) -> int | None:
        return self._layers[-1].n_outputs if self._layers else None

    @property
    def n_classes(self) -> int | None:
        """Number of classes a classifier tells apart (2 for a single output unit)."""
        if not self._layers:
            return None
        return max(self._layers[-1].n_outputs, 2)

    @property
    def parameters(self) -> np.ndarray:
        """Every weight and bias in one flat vector (the layers' arrays are views into it)."""
        return self._params

    @property
    def gradients(self) -> np.ndarray:
        """The gradients, laid out like :attr:`parameters`."""
        return self._grads

    @property
    def weight_mask(self) -> np.ndarray:
        """1 where :attr:`parameters` holds a weight, 0 where it holds a bias (read-only)."""
        return self._weight_mask

    def add_layer(self, layer: Layer) -> NeuralNetwork:
        """Append ``layer``; its ``n_inputs`` must equal the previous layer's ``n_outputs``.

        A layer whose parameters were not initialised yet is initialised now from the network's
        random generator. Returns the network, so calls can be chained.
        """
        if not isinstance(layer, Layer):
            raise TypeError(
                f"add_layer expects a glassnet.Layer, got {type(layer).__name__} {layer!r:.80}"
            )
        if layer.in_network:
            raise ValueError(
                f"{layer!r} already belongs to a network; a layer can be in one network only "
                "(make a new Layer, or copy the network)"
            )
        if layer.requested_dtype is not None and layer.requested_dtype != self.dtype:
            raise ValueError(
                f"{layer!r} has dtype {layer.requested_dtype}, but the network computes in "
                f"{self.dtype}; create the layer with dtype=None to take the network's"
            )
        if self._layers:
            index = len(self._layers)
            previous = self._layers[-1]
            if previous.n_outputs != layer.n_inputs:
                raise ValueError(
                    f"layer {index} ({layer!r}) takes {layer.n_inputs} inputs, but layer "
                    f"{index - 1} ({previous!r}) has {previous.n_outputs} outputs; they must be "
                    "equal"
                )
        if not layer.built:
            layer.build(self.rng, self.dtype)
        layer.join_network()
        self._layers.append(layer)
        self._pack()
        return self

    def _pack(self) -> None:
        """Gather all parameters into one flat vector, layer after layer.

        Each layer's block is its ``(n_inputs + 1, n_outputs)`` packed array: the weights row
        by row, then the bias (see :class:`Layer`). The optimizer updates everything in a few
        whole-vector passes.
        """
        sizes = [(layer.n_inputs + 1) * layer.n_outputs for layer in self._layers]
        params = np.empty(sum(sizes), self.dtype)
        grads = np.zeros(sum(sizes), self.dtype)
        weight_mask = np.zeros(sum(sizes), self.dtype)
        offset = 0
        for layer, size in zip(self._layers, sizes):
            shape = (layer.n_inputs + 1, layer.n_outputs)
            layer.adopt(
                params[offset : offset + size].reshape(shape),
                grads[offset : offset + size].reshape(shape),
            )
            weight_mask[offset : offset + size - layer.n_outputs] = 1
            offset += size
        weight_mask.flags.writeable = False
        self._params, self._grads, self._weight_mask = params, grads, weight_mask
        # new list objects tell the optimizer that its state must be rebuilt
        self._param_list = [params]
        self._grad_list = [grads]
        self._plans: dict[tuple, StepPlan] = {}
        #: the last compiled epoch (sample_epoch) and what it was made from
        self._sample_epoch: tuple[tuple, kernels.SampleEpoch] | None = None

    def file_order(self) -> np.ndarray:
        """Indices that put :attr:`parameters` in the order model files use.

        Files keep flat vectors (optimizer state, early stopping's best parameters) with every
        layer's weights first and then every layer's bias, independent of the layout in memory:
        ``flat[network.file_order()]`` is that order.
        """
        is_weight = self._weight_mask.astype(bool)
        return np.concatenate([np.flatnonzero(is_weight), np.flatnonzero(~is_weight)])

    # ----------------------------------------------------------------- checks
    def _require_layers(self) -> None:
        if not self._layers:
            raise ValueError("the network has no layers yet; add some with add_layer(Layer(...))")

    def check_loss_pairing(self) -> bool:
        """Whether the loss is fused with the output activation (and an error if it must be
        but is not)."""
        self._require_layers()
        fused = self.loss.fused_activation
        if fused is None:
            return False
        output = self._layers[-1].activation.name
        if output != fused:
            raise ValueError(
                f"loss {self.loss.name!r} is computed from logits and needs a {fused!r} output "
                f"layer, but the last layer (layer {len(self._layers) - 1}) uses {output!r}"
            )
        return True

    def resolved_task(self, method: str = "this") -> str:
        """The network's task: set, or implied by its loss; else a ``ValueError`` naming
        ``method``, which needs it."""
        task = self.task or targets.task_of_loss(self.loss)
        if task is None:
            raise ValueError(
                f"{method}() needs to know whether the network is a classifier: train it first, "
                "or create it with task='classification' or task='regression'"
            )
        return task

    def check_x(self, x: object, name: str = "x") -> np.ndarray:
        """``x`` validated: shape ``(n_samples, n_inputs)``, finite, in the network's dtype."""
        self._require_layers()
        return check_x(x, self.dtype, name, self._layers[0].n_inputs)

    def encode_targets(self, y: object, n_samples: int, task: str, name: str = "y") -> np.ndarray:
        """``y`` validated and encoded for the output layer (see
        :func:`glassnet.model.targets.encode_targets`), shape ``(n_samples, n_outputs)``."""
        return targets.encode_targets(
            y, n_samples, task, self._layers[-1].n_outputs, self.loss, self.dtype, name
        )

    def prepare(self, x: object, y: object, sample_weight: object = None) -> PreparedData:
        """Validate ``(x, y, sample_weight)`` for training or scoring, changing nothing.

        The task is the network's, or, if it has none yet, inferred from the loss and ``y``.
        """
        self.check_loss_pairing()
        x_arr = self.check_x(x)
        task = self.task or targets.infer_task(
            self.loss, as_numeric_array(y, "y"), self._layers[-1].n_outputs
        )
        encoded = self.encode_targets(y, x_arr.shape[0], task)
        weights = check_sample_weight(sample_weight, x_arr.shape[0], self.dtype)
        return PreparedData(x_arr, encoded, weights, task)

    # ----------------------------------------------------------------- computation
    def step_plan(self, n_samples: int) -> StepPlan:
        """The :class:`~glassnet.model.plan.StepPlan` for batches of ``n_samples``, built on
        first use and kept while the layers, their activations, the loss and ``l2`` stay."""
        key = (
            n_samples,
            self.loss,
            self.l2,
            self.l2_scaling,
            self.backend,
            *(layer.activation for layer in self._layers),
        )
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            fused = self.loss.fused_activation is not None
            flat = (self._params, self._grads, self._weight_mask)
            compiled = self.backend != "numpy"  # where numba runs (kernels.activation_passes)
            plan = StepPlan(
                self._layers, n_samples, self.loss, fused, self.l2, flat, self.l2_scaling, compiled
            )
            self._plans[key] = plan
        return plan

    @contextlib.contextmanager
    def exclusive(self, what: str) -> Iterator[None]:
        """Hold the network alone for ``what`` (training); raise ``RuntimeError`` at once if
        another thread holds it. Prediction never needs it."""
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(
                f"{what} needs this network alone, but another thread is training it or "
                "computing its gradients; train a copy instead (network.copy())"
            )
        try:
            yield
        finally:
            self._lock.release()

    def compiled_training(self) -> str | None:
        """Why per-sample training does not run the compiled kernel (``backend="numpy"``, numba
        unavailable, or a configuration it does not cover), or None when it does."""
        if self.backend == "numpy":
            return "backend='numpy'"
        self._require_layers()
        return kernels.unavailable() or kernels.not_covered(self._layers, self.loss, self.optimizer)

    def sample_epoch(self, batch: int = 1) -> kernels.SampleEpoch:
        """The compiled training of this network as it is now (see :meth:`compiled_training`),
        ``batch`` samples per step, sharing its parameters and optimizer state."""
        self.training_path = "numba-sample" if batch == 1 else "numba-batch"
        slots = self.optimizer.bind(self._param_list)
        state = slots[0] if slots else {}
        # kept from the last call while nothing it was built from changed (built anew it costs
        # about 40 µs, each epoch: 2% of an epoch of case B)
        made_from = (
            batch,
            self.optimizer,
            self.loss,
            self._params,
            *state.values(),
            *(layer.activation for layer in self._layers),
        )
        kept = self._sample_epoch
        if (
            kept is not None
            and len(kept[0]) == len(made_from)
            and all(a is b for a, b in zip(kept[0], made_from))
            and (kept[1].l2, kept[1].l2_by_batch) == (float(self.l2), self.l2_scaling == "batch")
        ):
            return kept[1]
        run = kernels.SampleEpoch(
            self._layers,
            self.loss,
            self.optimizer,
            state,
            self._params,
            self._grads,
            self.l2,
            self.l2_scaling,
            batch,
        )
        self._sample_epoch = (made_from, run)
        return run

    def compiled_update(self) -> str | None:
        """Why a mini-batch's optimizer step does not run compiled
        (:class:`~glassnet.model.kernels.FlatStep`), or None when it does."""
        if self.backend == "numpy":
            return "backend='numpy'"
        return kernels.unavailable() or kernels.optimizer_not_covered(self.optimizer)

    def optimizer_stepper(self) -> Callable[[], None]:
        """A function that applies one optimizer step to :attr:`parameters` from
        :attr:`gradients` (see :meth:`Optimizer.stepper`); valid until the optimizer changes.
        Fused into one compiled pass where :meth:`compiled_update` allows (the same numbers)."""
        stepper = self.optimizer.stepper(self._param_list, self._grad_list)
        if self.compiled_update() is not None:
            # an optimizer without a compiled update: the activations' passes may still be
            compiled = self.backend != "numpy" and kernels.unavailable() is None
            self.training_path = "numpy+numba-activations" if compiled else "numpy"
            return stepper
        self.training_path = "numpy+numba-update"

        def fallback() -> None:  # numba failed to compile the update (warned once)
            self.training_path = "numpy"
            stepper()

        slots = self.optimizer.bind(self._param_list)
        return kernels.FlatStep(
            self.optimizer, slots[0] if slots else {}, self._params, self._grads, fallback
        )

    def _infer(self, x: np.ndarray, activate_output: bool = True) -> np.ndarray:
        """Network output (or the output layer's logits) for validated ``x``, caching nothing
        (so that several threads may predict at once).

        Inputs large enough to overflow give infinite or NaN outputs without a warning; the
        callers decide what those mean (see :meth:`predict_proba` and :meth:`predict`).
        """
        if x.shape[0] > _MIN_CHUNK:  # (fewer rows are never split: skip the sizing)
            widest = max(layer.n_outputs for layer in self._layers)
            chunk = max(_MIN_CHUNK, _PREDICT_BYTES // (widest * x.dtype.itemsize))
            if x.shape[0] > chunk:
                pieces = [
                    self._infer(x[i : i + chunk], activate_output)
                    for i in range(0, x.shape[0], chunk)
                ]
                return np.concatenate(pieces)
        with np.errstate(over="ignore", invalid="ignore"):
            return infer(self._layers, x, activate_output)

    def loss_and_output(
        self, x: np.ndarray, encoded: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        """Loss (with the L2 penalty) and output on validated data, touching no gradient."""
        if self.loss.fused_activation is not None:
            logits = self._infer(x, activate_output=False)
            loss = self.loss.value_from_logits(logits, encoded, sample_weight)
            output = self._layers[-1].activation.forward(logits, out=logits)
        else:
            output = self._infer(x)
            loss = self.loss.value(output, encoded, sample_weight)
        return loss + l2_penalty(self._layers, self.l2_for(x.shape[0], sample_weight)), output

    def l2_for(self, n_samples: int, sample_weight: np.ndarray | None = None) -> float:
        """The L2 coefficient of one batch of ``n_samples`` (with ``sample_weight``): ``l2``, or
        ``l2`` over the batch's size with ``l2_scaling="batch"``."""
        if self.l2_scaling == "constant" or not self.l2:
            return self.l2
        return self.l2 / (n_samples if sample_weight is None else float(sample_weight.sum()))

    # ----------------------------------------------------------------- public API
    def forward(self, x: object) -> np.ndarray:
        """The network's output for ``x``, computed by the training step's forward pass (in
        buffers of its own, so that many threads may call it at once).

        Parameters
        ----------
        x : array-like of shape (n_samples, n_inputs)

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
            A new array.
        """
        x_arr = self.check_x(x)
        return StepPlan(self._layers, x_arr.shape[0]).forward(x_arr)

    def backward(
        self,
        x: object,
        y: object,
        *,
        sample_weight: object = None,
        return_input_gradient: bool = False,
    ) -> float | tuple[float, np.ndarray]:
        """Forward and backward pass: fill every layer's gradients and return the loss.

        No parameter changes; :meth:`train` is what applies the optimizer. Calls from several
        threads take turns (the gradients are the network's own arrays).

        Parameters
        ----------
        x : array-like of shape (n_samples, n_inputs)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels or targets, as for :meth:`train`.
        sample_weight : array-like of shape (n_samples,), optional
        return_input_gradient : bool, default=False
            Also return ``dL/dx``, shape ``(n_samples, n_inputs)``.

        Returns
        -------
        loss : float
            The batch's mean loss (weighted, with the L2 penalty).
        input_gradient : ndarray, only when ``return_input_gradient``
        """
        data = self.prepare(x, y, sample_weight)
        with self._lock:
            plan = self.step_plan(data.x.shape[0])
            loss, grad_input = plan.value_and_gradients(
                data.x, data.targets, data.sample_weight, return_input_gradient
            )
            if grad_input is not None:
                grad_input = grad_input.copy()
        if return_input_gradient:
            return loss, grad_input  # type: ignore[return-value]
        return loss

    def train(
        self,
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
    ) -> History:
        """Train for ``epochs`` passes over ``(x, y)``; see :func:`glassnet.training.train`.

        ``batch_size=1`` is the seed's per-sample gradient descent, ``None`` the full batch.
        Returns :attr:`history`, which keeps growing over calls.
        """
        return train(
            self,
            x,
            y,
            epochs,
            batch_size,
            shuffle,
            validation_data,
            verbose,
            sample_weight=sample_weight,
            early_stopping=early_stopping,
            callbacks=callbacks,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
        )

    def predict_output(self, x: object) -> np.ndarray:
        """The raw network output, shape ``(n_samples, n_outputs)`` (no caching)."""
        return self._infer(self.check_x(x))

    def predict(self, x: object) -> np.ndarray:
        """Class labels (classification) or outputs (regression).

        Returns
        -------
        ndarray of shape (n_samples,) of int
            For classification: the argmax of the outputs, or ``output >= 0.5`` for one unit.
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            For regression: the outputs (one column is returned flat).
        """
        x_arr = self.check_x(x)
        if self.resolved_task("predict") == "classification":
            if self._layers[-1].activation.name in ("softmax", "sigmoid"):
                # both are increasing: the largest logit is the most probable class, so skip them
                logits = self._infer(x_arr, activate_output=False)
                if all_finite(logits):
                    if logits.shape[1] == 1:
                        return (logits[:, 0] >= 0).astype(np.intp)
                    return logits.argmax(axis=1)
            return self.class_probabilities(x_arr).argmax(axis=1)
        output = warn_if_overflowed(self._infer(x_arr))
        return output[:, 0] if output.shape[1] == 1 else output

    def predict_proba(self, x: object) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)``; each row sums to 1.

        A softmax output is returned as it is; a single output unit ``p`` gives ``[1 − p, p]``;
        other outputs (the seed's sigmoid units trained with MSE, say) are clipped to be
        non-negative and scaled to sum to 1.
        """
        x_arr = self.check_x(x)
        if self.resolved_task("predict_proba") != "classification":
            raise ValueError("predict_proba() is for classifiers; this network does regression")
        return self.class_probabilities(x_arr)

    def class_probabilities(self, x: np.ndarray) -> np.ndarray:
        """Rows of class probabilities for validated ``x`` (see :meth:`predict_proba`)."""
        activation = self._layers[-1].activation
        squashing = activation.name in ("softmax", "sigmoid")
        return class_probabilities(self._infer(x, activate_output=not squashing), activation)

    def accuracy(self, x: object, y: object) -> float:
        """Fraction of samples whose predicted class equals ``y`` (integer labels)."""
        x_arr = self.check_x(x)
        if self.resolved_task("accuracy") != "classification":
            raise ValueError(
                "accuracy() is for classifiers; this network does regression (use evaluate())"
            )
        encoded = self.encode_targets(y, x_arr.shape[0], "classification")
        return accuracy(targets.classes_from_output(encoded), self.predict(x_arr))

    def evaluate(self, x: object, y: object, sample_weight: object = None) -> dict[str, float]:
        """Loss (and accuracy for a classifier) on ``(x, y)``, changing nothing.

        Returns
        -------
        dict
            ``{"loss": float}``, plus ``"accuracy"`` for classification.
        """
        data = self.prepare(x, y, sample_weight)
        loss, output = self.loss_and_output(data.x, data.targets, data.sample_weight)
        result = {"loss": loss}
        if data.task == "classification":
            truth = targets.classes_from_output(data.targets)
            predicted = targets.classes_from_output(output)
            result["accuracy"] = accuracy(truth, predicted, data.sample_weight)
        return result

    def summary(self) -> str:
        """A table of the layers: shapes, activations and parameter counts."""
        rows = [("layer", "activation", "output shape", "parameters")]
        for index, layer in enumerate(self._layers):
            rows.append(
                (
                    f"{index}: Layer({layer.n_inputs} → {layer.n_outputs})",
                    layer.activation.name,
                    f"(None, {layer.n_outputs})",
                    f"{layer.n_parameters:,}",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        line = "-" * (sum(widths) + 6)
        text = [line, "  ".join(cell.ljust(w) for cell, w in zip(rows[0], widths)), line]
        text += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows[1:]]
        total = sum(layer.n_parameters for layer in self._layers)
        rate = self.optimizer.current_learning_rate
        text += [
            line,
            f"total parameters: {total:,}   loss: {self.loss.name}   optimizer: "
            f"{self.optimizer.name} (learning rate {rate:g})   dtype: {self.dtype}",
            f"per-sample training: {self._path_text()}",
            f"mini-batches of up to {training_loop.BATCH_KERNEL_LIMIT:,} parameters × samples: "
            f"{self._path_text(batches=True)}",
            f"mini-batch optimizer update: {self._update_text()}",
        ]
        return "\n".join(text)

    def _update_text(self) -> str:
        reason = self.compiled_update()
        return "numba (compiled, one pass)" if reason is None else f"numpy ({reason})"

    def _path_text(self, batches: bool = False) -> str:
        reason = self.compiled_training() if self._layers else "no layers"
        if reason is None and batches:  # the compiled mini-batch epoch also needs SciPy's BLAS
            reason = kernels.batches_unavailable()
        if reason is None:
            return f"numba (compiled kernel; backend={self.backend!r})"
        return f"numpy ({reason}; backend={self.backend!r})"

    # ----------------------------------------------------------------- copies and configs
    def copy(self) -> NeuralNetwork:
        """An independent deep copy (parameters, optimizer state, history, generator state)."""
        return copy.deepcopy(self)

    def astype(self, dtype: object) -> NeuralNetwork:
        """A copy computing in ``dtype`` (optimizer state converted too)."""
        dtype = check_dtype(dtype)
        clone = self.copy()
        if dtype == clone.dtype:
            return clone
        clone.dtype = dtype
        state = clone.optimizer.state_dict()
        for layer in clone._layers:
            layer.convert(dtype)
        clone._pack()
        state["slots"] = [{k: v.astype(dtype) for k, v in slot.items()} for slot in state["slots"]]
        clone.optimizer.load_state_dict(state)
        return clone

    def get_config(self) -> dict:
        """Plain data describing the network (parameters and state excluded);
        :meth:`from_config` is its inverse."""
        return {
            "layers": [layer.get_config() for layer in self._layers],
            "loss": self.loss.get_config(),
            "optimizer": self.optimizer.get_config(),
            "l2": self.l2,
            "l2_scaling": self.l2_scaling,
            "task": self.task,
            "dtype": str(self.dtype),
        }

    @classmethod
    def from_config(
        cls,
        config: dict,
        random_state: int | np.random.Generator | None = None,
        parameters: Sequence[tuple[object, object]] | None = None,
    ) -> NeuralNetwork:
        """A new network as :meth:`get_config` describes it.

        Its parameters are ``parameters``, one ``(weights, bias)`` pair per layer, when given
        (nothing is drawn then); otherwise they are freshly drawn from ``random_state``.

        Raises
        ------
        ValueError, TypeError
            For a malformed configuration, naming what is wrong.
        """
        if not isinstance(config, dict):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        expected = {"layers", "loss", "optimizer", "l2", "task", "dtype"}
        if not expected <= set(config) <= expected | {"l2_scaling"}:  # older configs lack it
            raise ValueError(
                f"config must have the keys {sorted(expected)} (and optionally 'l2_scaling'), "
                f"got {sorted(config)!r:.200}"
            )
        if not isinstance(config["l2"], (int, float)) or isinstance(config["l2"], bool):
            raise TypeError(f"config l2 must be a number, got {config['l2']!r:.40}")
        if not isinstance(config["layers"], list):
            raise TypeError("config layers must be a list of layer configs")
        network = cls(
            loss=losses.get(_plain_dict(config["loss"], "loss")),
            optimizer=optimizers.get(_plain_dict(config["optimizer"], "optimizer")),
            l2=config["l2"],
            l2_scaling=config.get("l2_scaling", "constant"),
            task=config["task"],
            random_state=random_state,
            dtype=config["dtype"],
        )
        if parameters is not None and len(parameters) != len(config["layers"]):
            raise ValueError(
                f"parameters has {len(parameters)} (weights, bias) pairs for "
                f"{len(config['layers'])} layers"
            )
        for index, layer_config in enumerate(config["layers"]):
            layer = Layer.from_config(layer_config, f"layers[{index}]")
            if parameters is not None:  # set before the layer joins: nothing is drawn
                layer.weights, layer.bias = parameters[index]
            network.add_layer(layer)
        network.check_loss_pairing()
        return network

    def __repr__(self) -> str:
        sizes = [self._layers[0].n_inputs, *(layer.n_outputs for layer in self._layers)]
        shape = "-".join(map(str, sizes)) if self._layers else "empty"
        return f"NeuralNetwork({shape}, loss={self.loss.name!r}, optimizer={self.optimizer.name!r})"

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        # the flat vectors are rebuilt from the layers on unpickling (views do not survive)
        keys = (
            "_params",
            "_grads",
            "_param_list",
            "_grad_list",
            "_weight_mask",
            "_plans",
            "_sample_epoch",
            "_lock",
        )
        for key in keys:
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("backend", "auto")  # pickled before glassnet had kernels
        self.__dict__.setdefault("training_path", None)
        self._lock = threading.RLock()
        for layer in self._layers:
            layer.convert(layer.dtype)
        self._pack()

    @classmethod
    def from_sizes(
        cls,
        sizes: Sequence[int],
        activation: str | activations.Activation = "relu",
        output_activation: str | activations.Activation | None = None,
        weight_init: str = "glorot_uniform",
        **kwargs: object,
    ) -> NeuralNetwork:
        """Build a network from layer sizes, e.g. ``[2, 25, 50, 25, 2]``.

        Hidden layers use ``activation``; the last uses ``output_activation`` (default:
        :func:`glassnet.model.rules.output_activation_for` the loss and ``task``: the activation
        a cross-entropy is fused with, a sigmoid for classification with another loss, else the
        identity). ``weight_init="auto"`` picks the initialisation that suits the hidden
        activation (:func:`glassnet.model.rules.default_weight_init`). The other keyword
        arguments are :class:`NeuralNetwork`'s.
        """
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output size, got {sizes}")
        network = cls(**kwargs)  # type: ignore[arg-type]
        if output_activation is None:
            output_activation = output_activation_for(network.loss, network.task or "regression")
        if weight_init == "auto":
            weight_init = default_weight_init(activation)
        for index, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            last = index == len(sizes) - 2
            layer_activation = output_activation if last else activation
            network.add_layer(Layer(n_in, n_out, layer_activation, weight_init))
        return network


def _plain_dict(value: object, what: str) -> dict:
    if not isinstance(value, dict):
        raise TypeError(f"config {what} must be a dict with a 'name', got {value!r:.60}")
    return dict(value)
