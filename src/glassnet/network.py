"""The network: layers composed in order, one loss, one optimizer, one random generator."""

from __future__ import annotations

import copy
import itertools
import warnings
from collections.abc import Iterable, Sequence

import numpy as np

from . import losses, optimizers
from ._validation import (
    as_numeric_array,
    check_dtype,
    check_finite,
    check_float,
    check_sample_weight,
    check_x,
)
from .activations import Activation, exp_floor
from .layers import Layer
from .training import History, train

__all__ = ["NeuralNetwork", "check_random_state"]

TASKS = ("classification", "regression")
#: bytes of activations one prediction pass may hold; bigger inputs are predicted in chunks
_PREDICT_BYTES = 32 * 2**20


def check_random_state(random_state: object, name: str = "random_state") -> np.random.Generator:
    """Turn None, an int or a Generator into a :class:`numpy.random.Generator`.

    A Generator is used as it is (shared, not copied); None draws fresh entropy from the OS.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or (isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool)):
        if random_state is not None and random_state < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {random_state}")
        return np.random.default_rng(random_state)
    raise TypeError(
        f"{name} must be None, a non-negative int or a numpy.random.Generator, "
        f"got {type(random_state).__name__} {random_state!r}"
    )


def _normalise_rows(scores: np.ndarray) -> np.ndarray:
    """Clip finite scores to be non-negative and scale each row to sum to 1 (all-zero → uniform)."""
    scores = np.clip(scores, 0.0, None)
    peak = scores.max(axis=1, keepdims=True)  # dividing by it first keeps the sum finite
    empty = peak[:, 0] == 0
    scores[empty] = 1.0
    peak[empty] = 1.0
    scores /= peak
    return scores / scores.sum(axis=1, keepdims=True)


def _warn_if_overflowed(output: np.ndarray) -> np.ndarray:
    if not np.isfinite(output).all():
        rows = int((~np.isfinite(output)).any(axis=1).sum())
        warnings.warn(
            f"the network's output overflowed (is infinite or NaN) for {rows} sample(s): their "
            "inputs are too large for its weights",
            RuntimeWarning,
            stacklevel=3,
        )
    return output


def _robust_probabilities(raw: np.ndarray, activation: str) -> np.ndarray:
    """Class probabilities from outputs (or logits) that contain NaN or infinity."""
    raw = raw.copy()
    nan = np.isnan(raw)
    if raw.shape[1] == 1:
        if activation == "sigmoid":
            raw = np.where(np.isposinf(raw), 1.0, np.where(np.isneginf(raw), 0.0, raw))
        p = np.clip(np.where(nan, 0.5, raw[:, :]), 0.0, 1.0)[:, 0]
        if activation == "sigmoid":
            finite = np.isfinite(raw[:, 0]) & ~nan[:, 0]
            p[finite] = 0.5 * np.tanh(0.5 * raw[finite, 0]) + 0.5
        return np.column_stack([1.0 - p, p])
    if activation == "softmax":
        raw[nan] = -np.inf
        peak = raw.max(axis=1, keepdims=True)
        finite_rows = np.isfinite(peak[:, 0])
        shifted = raw[finite_rows] - peak[finite_rows]
        scores = np.zeros_like(raw)
        scores[finite_rows] = np.exp(np.maximum(shifted, exp_floor(raw.dtype)))
        scores[~finite_rows] = np.isposinf(raw[~finite_rows])
        return _normalise_rows(scores)
    if activation == "sigmoid":
        raw = np.where(nan, 0.0, 0.5 * np.tanh(0.5 * np.where(nan, 0.0, raw)) + 0.5)
    else:
        raw[nan] = 0.0
    infinite_rows = np.isposinf(raw).any(axis=1)
    raw[infinite_rows] = np.isposinf(raw[infinite_rows])
    return _normalise_rows(raw)


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
    task : {"classification", "regression"} or None, default=None
        None decides at the first :meth:`train`: the cross-entropies mean classification, ``mae``
        and ``huber`` regression; with ``mse``, 1-D integer targets and two or more outputs mean
        classification (the seed's setting), anything else regression.
    random_state : int, numpy.random.Generator or None, default=None
        The one source of randomness: initialises layers added before they were built, and
        shuffles the training data.
    dtype : {"float64", "float32"}, default="float64"
        Parameters, activations, gradients and optimizer state all use this dtype.

    Attributes
    ----------
    layers : tuple of Layer
    history : History
        Per-epoch losses (and validation scores) over every :meth:`train` call so far.
    metadata : dict
        Plain data (JSON-able) that :func:`glassnet.save` writes with the model.
    """

    def __init__(
        self,
        layers: Iterable[Layer] | None = None,
        *,
        loss: str | losses.Loss = "mse",
        optimizer: str | optimizers.Optimizer = "sgd",
        learning_rate: float | None = None,
        l2: float = 0.0,
        task: str | None = None,
        random_state: int | np.random.Generator | None = None,
        dtype: str | np.dtype = "float64",
    ) -> None:
        self.dtype = check_dtype(dtype)
        self.loss = losses.get(loss)
        if learning_rate is not None:
            self.optimizer = optimizers.get(optimizer, learning_rate=learning_rate)
        else:
            self.optimizer = optimizers.get(optimizer)
        self.l2 = check_float(l2, "l2", minimum=0.0)
        if task is not None and task not in TASKS:
            raise ValueError(f"task must be 'classification', 'regression' or None, got {task!r}")
        self.task = task
        self.random_state = random_state
        self.rng = check_random_state(random_state)
        self.history = History()
        #: plain JSON-able data saved with the model (the command line keeps its class names here)
        self.metadata: dict = {}
        self._layers: list[Layer] = []
        self._params = np.empty(0, self.dtype)
        self._grads = np.empty(0, self.dtype)
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

    def add_layer(self, layer: Layer) -> NeuralNetwork:
        """Append ``layer``; its ``n_inputs`` must equal the previous layer's ``n_outputs``.

        A layer whose parameters were not initialised yet is initialised now from the network's
        random generator. Returns the network, so calls can be chained.
        """
        if not isinstance(layer, Layer):
            raise TypeError(f"add_layer expects a glassnet.Layer, got {type(layer).__name__} {layer!r:.80}")
        if layer._in_network:
            raise ValueError(
                f"{layer!r} already belongs to a network; a layer can be in one network only "
                "(make a new Layer, or copy the network)"
            )
        if layer._dtype is not None and layer._dtype != self.dtype:
            raise ValueError(
                f"{layer!r} has dtype {layer._dtype}, but the network computes in {self.dtype}; "
                "create the layer with dtype=None to take the network's"
            )
        if self._layers:
            index = len(self._layers)
            previous = self._layers[-1]
            if previous.n_outputs != layer.n_inputs:
                raise ValueError(
                    f"layer {index} ({layer!r}) takes {layer.n_inputs} inputs, but layer {index - 1} "
                    f"({previous!r}) has {previous.n_outputs} outputs; they must be equal"
                )
        if not layer.built:
            layer.build(self.rng, self.dtype)
        layer._in_network = True
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
        # 1 where a weight is, 0 where a bias is: what the L2 penalty applies to
        weight_mask = np.zeros(sum(sizes), self.dtype)
        offset = 0
        for layer, size in zip(self._layers, sizes):
            shape = (layer.n_inputs + 1, layer.n_outputs)
            layer._adopt(params[offset : offset + size].reshape(shape), grads[offset : offset + size].reshape(shape))
            weight_mask[offset : offset + size - layer.n_outputs] = 1
            offset += size
        self._params, self._grads = params, grads
        self._weight_mask = weight_mask
        self._hidden = tuple(self._layers[:-1])
        self._hidden_reversed = self._hidden[::-1]
        # new list objects tell the optimizer that its state must be rebuilt
        self._param_list = [params]
        self._grad_list = [grads]
        self._l2_scratch = np.empty(params.size, self.dtype)
        self._loss_buffers: dict[int, np.ndarray] = {}

    def _file_order(self) -> np.ndarray:
        """Indices that put :attr:`parameters` in the order model files use.

        Files keep flat vectors (optimizer state, early stopping's best parameters) with every
        layer's weights first and then every layer's bias, independent of the layout in memory:
        ``flat[network._file_order()]`` is that order.
        """
        is_weight = self._weight_mask.astype(bool)
        return np.concatenate([np.flatnonzero(is_weight), np.flatnonzero(~is_weight)])

    # ----------------------------------------------------------------- checks
    def _require_layers(self) -> None:
        if not self._layers:
            raise ValueError("the network has no layers yet; add some with add_layer(Layer(...))")

    def _check_loss_pairing(self) -> bool:
        """Whether the loss is fused with the output activation (and an error if it must be)."""
        fused = self.loss.fused_activation
        if fused is None:
            return False
        output = self._layers[-1].activation.name
        if output != fused:
            raise ValueError(
                f"loss {self.loss.name!r} is computed from logits and needs a {fused!r} output layer, "
                f"but the last layer (layer {len(self._layers) - 1}) uses {output!r}"
            )
        return True

    def _infer_task(self, y: np.ndarray | None) -> str:
        if self.task is not None:
            return self.task
        if self.loss.for_classification is not None:
            return "classification" if self.loss.for_classification else "regression"
        if (
            y is not None
            and y.dtype.kind in "biu"
            and (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1))
            and self._layers[-1].n_outputs >= 2
        ):
            return "classification"
        return "regression"

    def _resolved_task(self, method: str) -> str:
        task = self.task
        if task is None and self.loss.for_classification is not None:
            task = "classification" if self.loss.for_classification else "regression"
        if task is None:
            raise ValueError(
                f"{method}() needs to know whether the network is a classifier: train it first, "
                "or create it with task='classification' or task='regression'"
            )
        return task

    def _check_x(self, x: object, name: str = "x") -> np.ndarray:
        self._require_layers()
        return check_x(x, self.dtype, name, self._layers[0].n_inputs)

    def _encode_targets(self, y: object, n_samples: int, task: str, name: str = "y") -> np.ndarray:
        """Validate ``y`` and return the training targets, shape ``(n_samples, n_outputs)``.

        Class labels (integers in ``[0, n_classes)``) become one-hot rows, or a 0/1 column for
        a single output unit; regression targets of shape ``(n,)`` become a column.
        """
        target = as_numeric_array(y, name)
        n_outputs = self._layers[-1].n_outputs
        if target.ndim == 0 or target.ndim > 2:
            raise ValueError(f"{name} must be 1D (n_samples,) or 2D (n_samples, n_outputs), got shape {target.shape}")
        if target.shape[0] != n_samples:
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: x has {n_samples} "
                f"samples but {name} has {target.shape[0]}"
            )
        if target.size == 0:
            raise ValueError(f"{name} is empty (shape {target.shape})")
        if target.dtype.kind == "f":
            check_finite(target, name)
        if task == "classification" and (target.ndim == 1 or (target.shape[1] == 1 and n_outputs > 1)):
            labels = target.reshape(-1)
            if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
                bad = labels[labels != np.round(labels)][0].item()
                raise ValueError(f"{name} must hold integer class labels for classification, got {bad!r}")
            n_classes = max(n_outputs, 2)
            low, high = labels.min(), labels.max()
            if low < 0 or high >= n_classes:
                bad = (low if low < 0 else high).item()
                raise ValueError(
                    f"{name} contains the label {bad!r}, but the network's {n_outputs} output unit(s) "
                    f"tell apart {n_classes} classes: labels must be integers in [0, {n_classes - 1}]"
                )
            labels = labels.astype(np.intp)
            if n_outputs == 1:
                return labels.astype(self.dtype).reshape(-1, 1)
            encoded = np.zeros((n_samples, n_outputs), self.dtype)
            encoded[np.arange(n_samples), labels] = 1
            return encoded
        if target.ndim == 1:
            target = target.reshape(-1, 1)
        if target.shape[1] != n_outputs:
            raise ValueError(
                f"{name} has {target.shape[1]} column(s) (shape {target.shape}), but the network has "
                f"{n_outputs} output unit(s)"
            )
        encoded = np.array(target, dtype=self.dtype, order="C")
        check_finite(encoded, name)
        if self.loss.fused_activation == "softmax":
            if (encoded < 0).any() or not np.allclose(encoded.sum(axis=1), 1.0, atol=1e-6):
                raise ValueError(
                    f"{name} given as rows of class probabilities for {self.loss.name!r} must be "
                    "non-negative and sum to 1 in every row"
                )
        if self.loss.fused_activation == "sigmoid" and ((encoded < 0).any() or (encoded > 1).any()):
            raise ValueError(f"{name} for {self.loss.name!r} must lie in [0, 1]")
        return encoded

    def _prepare_data(self, x: object, y: object, task: str, x_name: str = "x", y_name: str = "y"):
        x_checked = self._check_x(x, x_name)
        targets = self._encode_targets(y, x_checked.shape[0], task, y_name)
        return x_checked, targets

    # ----------------------------------------------------------------- computation
    def _loss_buffer(self, n_samples: int) -> np.ndarray:
        buffer = self._loss_buffers.get(n_samples)
        if buffer is None:
            if len(self._loss_buffers) >= 4:
                self._loss_buffers.clear()
            buffer = self._loss_buffers[n_samples] = np.empty((n_samples, self._layers[-1].n_outputs), self.dtype)
        return buffer

    def _forward_backward(
        self,
        x: np.ndarray,
        targets: np.ndarray,
        sample_weight: np.ndarray | None = None,
        input_gradient: bool = False,
        fused: bool = False,
        outputs: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray | None]:
        """One forward and backward pass on validated data; fills every gradient.

        ``x`` may carry a last column of ones (see :class:`Layer`). ``fused`` says the loss is
        computed from the output layer's logits (see :mod:`glassnet.losses`). Returns the loss
        (with the L2 penalty) and, if asked, ``dL/dx``. Given ``outputs`` (shape of
        ``targets``), the network's output (its logits when ``fused``) is copied there and the
        loss value is left to the caller: the returned value is then only the L2 penalty.
        """
        layers = self._layers
        output_layer = layers[-1]
        activation = x
        for layer in self._hidden:
            activation = layer._forward(activation)
        grad = self._loss_buffer(x.shape[0])
        loss = 0.0
        if fused:
            logits = output_layer._forward(activation, activate=False)
            if outputs is None:
                loss = self.loss.value_and_gradient_from_logits(logits, targets, sample_weight, out=grad)
            else:
                np.copyto(outputs, logits)
                self.loss.gradient_from_logits(logits, targets, sample_weight, out=grad)
        else:
            output = output_layer._forward(activation)[:, :-1]
            if outputs is None:
                loss = self.loss.value_and_gradient(output, targets, sample_weight, out=grad)
            else:
                np.copyto(outputs, output)
                self.loss.gradient(output, targets, sample_weight, out=grad)
        grad = output_layer._backward(grad, input_gradient or len(layers) > 1, fused)
        for layer in self._hidden_reversed:
            grad = layer._backward(grad, input_gradient or layer is not layers[0])
        if self.l2:
            loss += self._l2_penalty()
            scratch = np.multiply(self._params, self._weight_mask, out=self._l2_scratch)  # the weights, 0 for biases
            scratch *= self.l2
            self._grads += scratch
        return loss, (grad.copy() if input_gradient else None)

    def _infer(self, x: np.ndarray, activate_output: bool = True) -> np.ndarray:
        """Network output (or the output layer's logits) for validated ``x``, caching nothing.

        Inputs large enough to overflow give infinite or NaN outputs without a warning; the
        callers decide what those mean (see :meth:`predict_proba` and :meth:`predict`).
        """
        widest = max(layer.n_outputs for layer in self._layers)
        chunk = max(1024, _PREDICT_BYTES // (widest * x.itemsize))
        if x.shape[0] > chunk:
            return np.concatenate([self._infer(x[i : i + chunk], activate_output) for i in range(0, x.shape[0], chunk)])
        with np.errstate(over="ignore", invalid="ignore"):
            for layer in self._layers[:-1]:
                x = layer._infer(x)
            return self._layers[-1]._infer(x, activate_output)

    def _l2_penalty(self) -> float:
        if not self.l2:
            return 0.0
        return 0.5 * self.l2 * sum(float(np.vdot(layer.weights, layer.weights)) for layer in self._layers)

    def _evaluate_arrays(
        self, x: np.ndarray, targets: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        """Loss and network output on validated data, touching no cache or gradient."""
        if self.loss.fused_activation is not None:
            logits = self._infer(x, activate_output=False)
            loss = self.loss.value_from_logits(logits, targets, sample_weight)
            output = self._layers[-1].activation.forward(logits, out=logits)
        else:
            output = self._infer(x)
            loss = self.loss.value(output, targets, sample_weight)
        return loss + self._l2_penalty(), output

    @staticmethod
    def _classes_from_output(output: np.ndarray) -> np.ndarray:
        if output.shape[1] == 1:
            return (output[:, 0] >= 0.5).astype(np.intp)
        return output.argmax(axis=1)

    # ----------------------------------------------------------------- public API
    def forward(self, x: object) -> np.ndarray:
        """The network's output for ``x``, caching each layer's values for a backward pass.

        Parameters
        ----------
        x : array-like of shape (n_samples, n_inputs)

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
            A new array.
        """
        x = self._check_x(x)
        for layer in self._layers:
            x = layer._forward(x)
        return x[:, :-1].copy()

    def backward(self, x: object, y: object, *, sample_weight: object = None, return_input_gradient: bool = False):
        """Forward and backward pass: fill every layer's gradients and return the loss.

        No parameter changes; :meth:`train` is what applies the optimizer.

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
        self._require_layers()
        fused = self._check_loss_pairing()
        x_arr = self._check_x(x)
        task = self._infer_task(as_numeric_array(y, "y"))
        targets = self._encode_targets(y, x_arr.shape[0], task)
        weights = check_sample_weight(sample_weight, x_arr.shape[0], self.dtype)
        loss, input_grad = self._forward_backward(x_arr, targets, weights, return_input_gradient, fused)
        return (loss, input_grad) if return_input_gradient else loss

    def train(
        self,
        x: object,
        y: object,
        epochs: int = 1,
        batch_size: int | None = 32,
        shuffle: bool = True,
        validation_data: tuple | None = None,
        verbose: int = 0,
        **options,
    ) -> History:
        """Train for ``epochs`` passes over ``(x, y)``; see :func:`glassnet.training.train`.

        ``batch_size=1`` is the seed's per-sample gradient descent, ``None`` the full batch.
        Returns :attr:`history`, which keeps growing over calls.
        """
        return train(
            self, x, y, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
            validation_data=validation_data, verbose=verbose, **options,
        )

    def predict_output(self, x: object) -> np.ndarray:
        """The raw network output, shape ``(n_samples, n_outputs)`` (no caching)."""
        return self._infer(self._check_x(x))

    def predict(self, x: object) -> np.ndarray:
        """Class labels (classification) or outputs (regression).

        Returns
        -------
        ndarray of shape (n_samples,) of int
            For classification: the argmax of the outputs, or ``output >= 0.5`` for one unit.
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            For regression: the outputs (one column is returned flat).
        """
        x = self._check_x(x)
        if self._resolved_task("predict") == "classification":
            activation = self._layers[-1].activation.name
            if activation in ("softmax", "sigmoid"):
                # both are increasing: the largest logit is the most probable class, so skip them
                logits = self._infer(x, activate_output=False)
                if np.isfinite(logits).all():
                    if logits.shape[1] == 1:
                        return (logits[:, 0] >= 0).astype(np.intp)
                    return logits.argmax(axis=1)
            return self._class_probabilities(x).argmax(axis=1)
        output = _warn_if_overflowed(self._infer(x))
        return output[:, 0] if output.shape[1] == 1 else output

    def predict_proba(self, x: object) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)``; each row sums to 1.

        A softmax output is returned as it is; a single output unit ``p`` gives ``[1 − p, p]``;
        other outputs (the seed's sigmoid units trained with MSE, say) are clipped to be
        non-negative and scaled to sum to 1.
        """
        x = self._check_x(x)
        if self._resolved_task("predict_proba") != "classification":
            raise ValueError("predict_proba() is for classifiers; this network does regression")
        return self._class_probabilities(x)

    def _class_probabilities(self, x: np.ndarray) -> np.ndarray:
        """Rows of class probabilities for validated ``x`` (see :meth:`predict_proba`).

        Inputs so large that the arithmetic overflows still give valid rows: NaN outputs count
        as no evidence, infinite ones take all the mass.
        """
        activation = self._layers[-1].activation.name
        squashing = activation in ("softmax", "sigmoid")
        raw = self._infer(x, activate_output=not squashing)
        if not np.isfinite(raw).all():
            return _robust_probabilities(raw, activation)
        if activation == "softmax":
            return self._layers[-1].activation.forward(raw, out=raw)
        if activation == "sigmoid":
            self._layers[-1].activation.forward(raw, out=raw)
        if raw.shape[1] == 1:
            p = np.clip(raw[:, 0], 0.0, 1.0)
            return np.column_stack([1.0 - p, p])
        return _normalise_rows(raw)

    def accuracy(self, x: object, y: object) -> float:
        """Fraction of samples whose predicted class equals ``y`` (integer labels)."""
        x_arr = self._check_x(x)
        if self._resolved_task("accuracy") != "classification":
            raise ValueError("accuracy() is for classifiers; this network does regression (use evaluate())")
        labels = self._labels(y, x_arr.shape[0])
        return float(np.mean(self.predict(x_arr) == labels))

    def _labels(self, y: object, n_samples: int) -> np.ndarray:
        """Integer labels from ``y`` given as labels or as one-hot rows."""
        return self._classes_from_output(self._encode_targets(y, n_samples, "classification"))

    def evaluate(self, x: object, y: object, sample_weight: object = None) -> dict[str, float]:
        """Loss (and accuracy for a classifier) on ``(x, y)``, changing nothing.

        Returns
        -------
        dict
            ``{"loss": float}``, plus ``"accuracy"`` for classification.
        """
        self._check_loss_pairing()
        x_arr = self._check_x(x)
        task = self._infer_task(as_numeric_array(y, "y"))
        targets = self._encode_targets(y, x_arr.shape[0], task)
        weights = check_sample_weight(sample_weight, x_arr.shape[0], self.dtype)
        loss, output = self._evaluate_arrays(x_arr, targets, weights)
        result = {"loss": loss}
        if task == "classification":
            truth = self._classes_from_output(targets)
            result["accuracy"] = float(np.average(self._classes_from_output(output) == truth, weights=weights))
        return result

    def summary(self) -> str:
        """A table of the layers: shapes, activations and parameter counts."""
        rows = [("layer", "activation", "output shape", "parameters")]
        for index, layer in enumerate(self._layers):
            rows.append((
                f"{index}: Layer({layer.n_inputs} → {layer.n_outputs})",
                layer.activation.name,
                f"(None, {layer.n_outputs})",
                f"{layer.n_parameters:,}",
            ))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        line = "-" * (sum(widths) + 6)
        text = [line, "  ".join(cell.ljust(w) for cell, w in zip(rows[0], widths)), line]
        text += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows[1:]]
        total = sum(layer.n_parameters for layer in self._layers)
        text += [
            line,
            f"total parameters: {total:,}   loss: {self.loss.name}   optimizer: {self.optimizer.name}"
            f" (learning rate {self.optimizer.current_learning_rate:g})   dtype: {self.dtype}",
        ]
        return "\n".join(text)

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
            layer._set_parameters(layer.weights.astype(dtype), layer.bias.astype(dtype))
            if layer._dtype is not None:
                layer._dtype = dtype
        clone._pack()
        state["slots"] = [{k: v.astype(dtype) for k, v in slot.items()} for slot in state["slots"]]
        clone.optimizer.load_state_dict(state)
        return clone

    def get_config(self) -> dict:
        """Plain data describing the network (parameters and state excluded)."""
        return {
            "layers": [layer.get_config() for layer in self._layers],
            "loss": self.loss.get_config(),
            "optimizer": self.optimizer.get_config(),
            "l2": self.l2,
            "task": self.task,
            "dtype": str(self.dtype),
        }

    def __repr__(self) -> str:
        sizes = [self._layers[0].n_inputs, *(layer.n_outputs for layer in self._layers)] if self._layers else []
        shape = "-".join(map(str, sizes)) or "empty"
        return f"NeuralNetwork({shape}, loss={self.loss.name!r}, optimizer={self.optimizer.name!r})"

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        # the flat vectors are rebuilt from the layers on unpickling (views do not survive)
        for key in ("_params", "_grads", "_param_list", "_grad_list", "_l2_scratch", "_weight_mask", "_loss_buffers"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for layer in self._layers:
            layer._set_parameters(np.array(layer._weights), np.array(layer._bias))
        self._pack()

    @classmethod
    def from_sizes(
        cls,
        sizes: Sequence[int],
        activation: str | Activation = "relu",
        output_activation: str | Activation | None = None,
        weight_init: str = "glorot_uniform",
        **kwargs,
    ) -> NeuralNetwork:
        """Build a network from layer sizes, e.g. ``[2, 25, 50, 25, 2]``.

        Hidden layers use ``activation``; the last uses ``output_activation`` (default: what the
        loss is fused with, else the identity).
        """
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output size, got {sizes}")
        network = cls(**kwargs)
        if output_activation is None:
            output_activation = network.loss.fused_activation or "identity"
        for index, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            last = index == len(sizes) - 2
            network.add_layer(Layer(n_in, n_out, output_activation if last else activation, weight_init))
        return network
