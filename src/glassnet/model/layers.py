"""The fully-connected layer."""

from __future__ import annotations

import numpy as np

from .._validation import check_dtype, check_int, check_random_state, check_x
from . import activations, initializers
from .plan import StepPlan

__all__ = ["Layer"]


class Layer:
    """A fully-connected layer: ``z = x @ weights + bias``, ``a = activation(z)``.

    Parameters
    ----------
    n_inputs : int
        Number of input features (columns of ``x``).
    n_outputs : int
        Number of units.
    activation : str or Activation, default="identity"
        One of :func:`glassnet.activations.names`, or an :class:`~glassnet.activations.Activation`.
    weight_init : str, default="glorot_uniform"
        One of :func:`glassnet.initializers.names`; ``"seed"`` is the blog post's.
    random_state : int, numpy.random.Generator or None, default=None
        Draws the initial parameters of a layer used on its own. A layer added to a
        :class:`~glassnet.NeuralNetwork` before it was initialised draws from the network's
        generator instead, so the network's ``random_state`` alone fixes every weight.
    dtype : {"float64", "float32"} or None, default=None
        The parameters' dtype; None takes the network's (float64 on its own).

    Attributes
    ----------
    weights : ndarray of shape (n_inputs, n_outputs)
    bias : ndarray of shape (n_outputs,)
    grad_weights : ndarray of shape (n_inputs, n_outputs)
        Gradient of the loss with respect to ``weights``, averaged over the last batch.
    grad_bias : ndarray of shape (n_outputs,)
        Gradient with respect to ``bias``, averaged over the last batch.

    Notes
    -----
    Input shape ``(n_samples, n_inputs)``, output shape ``(n_samples, n_outputs)``.

    ``backward`` receives ``dL/da`` and applies the chain rule through ``a = f(z)`` and
    ``z = x W + b``::

        dL/dz = dL/da * f'(.)        (the shared factor, computed once)
        dL/dW = x^T @ dL/dz          (sums over the batch; the loss already carries 1/n)
        dL/db = sum over the batch of dL/dz
        dL/dx = dL/dz @ W^T          (passed to the layer below)

    ``weights`` and ``bias`` are views of one ``(n_inputs + 1, n_outputs)`` array, the bias its
    last row, and so are their gradients: an input with a last column of ones then gets
    ``x @ weights + bias`` from one matrix product and both gradients from one more (training
    does this; see docs/derivation.md). Setting ``weights`` or ``bias`` copies the new values
    into the existing array, so a layer in a network stays tied to the network's parameter
    vector.
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        activation: str | activations.Activation = "identity",
        weight_init: str = "glorot_uniform",
        *,
        random_state: int | np.random.Generator | None = None,
        dtype: str | np.dtype | None = None,
    ) -> None:
        self.n_inputs = check_int(n_inputs, "n_inputs", minimum=1)
        self.n_outputs = check_int(n_outputs, "n_outputs", minimum=1)
        self.activation = activations.get(activation)
        initializers.get(weight_init)  # reject unknown names now, not at first use
        self.weight_init = initializers.canonical(weight_init)
        self.random_state = random_state
        self._dtype = None if dtype is None else check_dtype(dtype)
        self._weights: np.ndarray | None = None
        self._bias: np.ndarray | None = None
        self._bias_row: np.ndarray | None = None
        self._grad_weights: np.ndarray | None = None
        self._grad_bias: np.ndarray | None = None
        self._packed: np.ndarray | None = None
        self._grad_packed: np.ndarray | None = None
        self._in_network = False
        self._reset_cache()

    # ----------------------------------------------------------------- parameters
    @property
    def built(self) -> bool:
        """Whether the parameters exist yet."""
        return self._weights is not None

    @property
    def dtype(self) -> np.dtype:
        if self._weights is not None:
            return self._weights.dtype
        return self._dtype or np.dtype(np.float64)

    def build(self, rng: np.random.Generator | None = None, dtype: object = None) -> Layer:
        """Draw the initial parameters (from ``rng``, else from ``random_state``)."""
        if dtype is not None:
            self._dtype = check_dtype(dtype)
        if rng is None:
            rng = check_random_state(self.random_state)
        init = initializers.get(self.weight_init)
        weights, bias = init(self.n_inputs, self.n_outputs, rng, self.dtype)
        self._set_parameters(
            np.ascontiguousarray(weights, self.dtype), np.ascontiguousarray(bias, self.dtype)
        )
        return self

    def _set_parameters(self, weights: np.ndarray, bias: np.ndarray) -> None:
        packed = np.empty((self.n_inputs + 1, self.n_outputs), weights.dtype)
        packed[:-1] = weights
        packed[-1] = bias
        self._use_storage(packed, np.zeros_like(packed))

    def _use_storage(self, packed: np.ndarray, grad_packed: np.ndarray) -> None:
        """Keep weights and bias in one ``(n_inputs + 1, n_outputs)`` array, the bias as its last
        row.

        An input with a trailing column of ones then gets ``x @ weights + bias`` from one matrix
        product, and the gradient of both from one more.
        """
        self._packed, self._grad_packed = packed, grad_packed
        self._weights, self._bias = packed[:-1], packed[-1]
        self._bias_row = packed[-1:]
        self._grad_weights, self._grad_bias = grad_packed[:-1], grad_packed[-1]
        self._reset_cache()

    def adopt(self, packed: np.ndarray, grad_packed: np.ndarray) -> None:
        """Move the parameters and gradients into ``packed`` and ``grad_packed`` (views of a
        network's flat vectors, shape ``(n_inputs + 1, n_outputs)``) and use them from now on."""
        packed[...] = self.packed
        grad_packed[...] = self.grad_packed
        self._use_storage(packed, grad_packed)

    def convert(self, dtype: object) -> None:
        """Keep the parameters in new arrays of ``dtype`` (gradients reset to zero)."""
        dtype = check_dtype(dtype)
        self._set_parameters(self.weights.astype(dtype), self.bias.astype(dtype))
        if self._dtype is not None:
            self._dtype = dtype

    @property
    def in_network(self) -> bool:
        """Whether a network owns the layer (a layer can be in one network only)."""
        return self._in_network

    @property
    def requested_dtype(self) -> np.dtype | None:
        """The dtype the layer was created with, or None to take the network's."""
        return self._dtype

    def join_network(self) -> None:
        """Mark the layer as owned by a network (see :meth:`NeuralNetwork.add_layer`)."""
        self._in_network = True

    def _checked_values(self, value: object, name: str, shape: tuple[int, ...]) -> np.ndarray:
        array = np.asarray(value)
        if array.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be real numbers, got dtype {array.dtype}")
        if not np.isfinite(array).all():
            raise ValueError(f"{name} must be finite, got NaN or infinity")
        return array

    @property
    def weights(self) -> np.ndarray:
        if self._weights is None:
            self.build()
        return self._weights  # type: ignore[return-value]

    @weights.setter
    def weights(self, value: object) -> None:
        array = self._checked_values(value, "weights", (self.n_inputs, self.n_outputs))
        if self._weights is None:
            self._set_parameters(
                np.array(array, dtype=self.dtype), np.zeros(self.n_outputs, self.dtype)
            )
        else:
            self._weights[...] = array

    @property
    def bias(self) -> np.ndarray:
        if self._bias is None:
            self.build()
        return self._bias  # type: ignore[return-value]

    @bias.setter
    def bias(self, value: object) -> None:
        array = self._checked_values(value, "bias", (self.n_outputs,))
        if self._bias is None:
            self._set_parameters(
                np.zeros((self.n_inputs, self.n_outputs), self.dtype),
                np.array(array, dtype=self.dtype),
            )
        else:
            self._bias[...] = array

    @property
    def bias_row(self) -> np.ndarray:
        """``bias`` as a ``(1, n_outputs)`` view, which adds to a batch's rows more cheaply."""
        if self._bias_row is None:
            self.build()
        return self._bias_row  # type: ignore[return-value]

    @property
    def grad_weights(self) -> np.ndarray | None:
        """``dL/dweights`` from the last backward pass, shape ``(n_inputs, n_outputs)``."""
        return self._grad_weights

    @property
    def grad_bias(self) -> np.ndarray | None:
        """``dL/dbias`` from the last backward pass, shape ``(n_outputs,)``."""
        return self._grad_bias

    @property
    def n_parameters(self) -> int:
        return self.n_inputs * self.n_outputs + self.n_outputs

    @property
    def packed(self) -> np.ndarray:
        """The ``(n_inputs + 1, n_outputs)`` array holding ``weights`` above ``bias``."""
        self.weights  # noqa: B018 (builds the parameters on first use)
        return self._packed  # type: ignore[return-value]

    @property
    def grad_packed(self) -> np.ndarray:
        """The gradients laid out like :attr:`packed`."""
        self.weights  # noqa: B018
        return self._grad_packed  # type: ignore[return-value]

    # ----------------------------------------------------------------- forward / backward
    def _reset_cache(self) -> None:
        # the forward pass of a lone layer, kept for its backward (see forward)
        self._plan: StepPlan | None = None
        self._x: np.ndarray | None = None

    def forward(self, x: object) -> np.ndarray:
        """Compute the layer's output and cache what :meth:`backward` needs.

        Parameters
        ----------
        x : array-like of shape (n_samples, n_inputs)

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
            ``activation(x @ weights + bias)``, a new array.
        """
        x = check_x(x, self.dtype, "x", self.n_inputs)
        self.weights  # noqa: B018 (builds the parameters on first use)
        plan = self._plan
        if (
            plan is None
            or plan.n_samples != x.shape[0]
            or plan.activations[0] is not self.activation
        ):
            plan = self._plan = StepPlan([self], x.shape[0])
        self._x = x
        return plan.forward(x).copy()

    def backward(self, grad_output: object) -> np.ndarray:
        """Back-propagate through the last :meth:`forward` and set the parameter gradients.

        Parameters
        ----------
        grad_output : array-like of shape (n_samples, n_outputs)
            Gradient of the loss with respect to this layer's output ``a``.

        Returns
        -------
        ndarray of shape (n_samples, n_inputs)
            Gradient of the loss with respect to this layer's input ``x``.
        """
        if self._x is None or self._plan is None:
            raise RuntimeError("backward() needs a forward() first: there is no cached input")
        expected = (self._x.shape[0], self.n_outputs)
        grad = np.array(grad_output, dtype=self.dtype)  # a copy: the caller's array is not touched
        if grad.shape != expected:
            raise ValueError(
                f"grad_output must have shape {expected} (that of the last output), "
                f"got {grad.shape}"
            )
        return self._plan.backward_from_output(grad, self._x).copy()

    # ----------------------------------------------------------------- description
    def get_config(self) -> dict:
        """Plain data describing the layer (parameters excluded)."""
        return {
            "n_inputs": self.n_inputs,
            "n_outputs": self.n_outputs,
            "activation": self.activation.get_config(),
            "weight_init": self.weight_init,
        }

    @classmethod
    def from_config(cls, config: object, where: str = "layer") -> Layer:
        """A new, unbuilt layer from what :meth:`get_config` returned.

        Raises
        ------
        ValueError, TypeError
            For a malformed config, naming ``where`` it is.
        """
        keys = {"n_inputs", "n_outputs", "activation", "weight_init"}
        if not isinstance(config, dict) or set(config) != keys:
            raise ValueError(f"{where} must be a dict with the keys {sorted(keys)}")
        if not isinstance(config["activation"], dict):
            raise ValueError(f"{where}.activation is malformed")
        if not isinstance(config["weight_init"], str):
            raise ValueError(f"{where}.weight_init is malformed")
        activation = activations.get(dict(config["activation"]), f"{where}.activation")
        initializers.get(config["weight_init"], f"{where}.weight_init")
        return cls(config["n_inputs"], config["n_outputs"], activation, config["weight_init"])

    def __repr__(self) -> str:
        return f"Layer({self.n_inputs}, {self.n_outputs}, activation={self.activation.name!r})"

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        # the plan is scratch space and the forward cache refers into it; weights and bias are
        # views of the packed array, which views do not survive copying, so they are rebuilt
        state.update(_plan=None, _x=None)
        for key in ("_weights", "_bias", "_bias_row", "_grad_weights", "_grad_bias"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._weights = self._bias = self._bias_row = self._grad_weights = self._grad_bias = None
        if self._packed is not None and self._grad_packed is not None:
            self._use_storage(self._packed, self._grad_packed)
