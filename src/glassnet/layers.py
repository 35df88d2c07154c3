"""The fully-connected layer."""

from __future__ import annotations

import numpy as np

from . import activations, initializers
from ._validation import check_dtype, check_int, check_x

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
            rng = np.random.default_rng(self.random_state)
        init = initializers.get(self.weight_init)
        weights, bias = init(self.n_inputs, self.n_outputs, rng, self.dtype)
        self._set_parameters(np.ascontiguousarray(weights, self.dtype), np.ascontiguousarray(bias, self.dtype))
        return self

    def _set_parameters(self, weights: np.ndarray, bias: np.ndarray) -> None:
        packed = np.empty((self.n_inputs + 1, self.n_outputs), weights.dtype)
        packed[:-1] = weights
        packed[-1] = bias
        self._use_storage(packed, np.zeros_like(packed))

    def _use_storage(self, packed: np.ndarray, grad_packed: np.ndarray) -> None:
        """Keep weights and bias in one ``(n_inputs + 1, n_outputs)`` array, the bias as its last row.

        An input with a trailing column of ones then gets ``x @ weights + bias`` from one matrix
        product, and the gradient of both from one more.
        """
        self._packed, self._grad_packed = packed, grad_packed
        self._weights, self._bias = packed[:-1], packed[-1]
        self._grad_weights, self._grad_bias = grad_packed[:-1], grad_packed[-1]
        self._reset_cache()

    def _adopt(self, packed: np.ndarray, grad_packed: np.ndarray) -> None:
        """Move the parameters into views of a network's flat parameter and gradient vectors."""
        packed[...] = self._packed
        grad_packed[...] = self._grad_packed
        self._use_storage(packed, grad_packed)

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
            self._set_parameters(np.array(array, dtype=self.dtype), np.zeros(self.n_outputs, self.dtype))
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
            self._set_parameters(np.zeros((self.n_inputs, self.n_outputs), self.dtype), np.array(array, dtype=self.dtype))
        else:
            self._bias[...] = array

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

    # ----------------------------------------------------------------- forward / backward
    def _reset_cache(self) -> None:
        # buffers per batch size, see _buffers_for
        self._buffers: dict[int, tuple] = {}
        self._current: tuple | None = None
        self._x: np.ndarray | None = None
        self._saved: np.ndarray | None = None

    def _buffers_for(self, n_samples: int) -> tuple:
        if len(self._buffers) >= 4:  # a training batch, a last batch, and a little more
            self._buffers.clear()
        dtype = self.dtype
        z = np.empty((n_samples, self.n_outputs), dtype)
        # the output carries a trailing column of ones: the next layer's bias rides on its matmul
        output = np.ones((n_samples, self.n_outputs + 1), dtype)
        a = output[:, :-1]
        dz = np.empty_like(z)
        grad_input = np.empty((n_samples, self.n_inputs), dtype)
        # for an input without the ones column: the bias as a row, and sums over the batch as
        # a matrix-vector product (both faster than the broadcasting alternatives)
        bias_row = self._bias.reshape(1, -1)
        ones = np.ones(n_samples, dtype)
        keeps_z = self.activation.derivative_uses == "z"
        buffers = (z, output, a, dz, grad_input, keeps_z, self.activation, bias_row, ones)
        self._buffers[n_samples] = buffers
        return buffers

    def _buffers_of(self, n_samples: int) -> tuple:
        buffers = self._buffers.get(n_samples)
        if buffers is None or buffers[6] is not self.activation:
            buffers = self._buffers_for(n_samples)
        return buffers

    def _forward(self, x: np.ndarray, activate: bool = True) -> np.ndarray:
        """Forward pass into the layer's own buffers, caching what backward needs.

        ``x`` has shape ``(n, n_inputs)``, or ``(n, n_inputs + 1)`` with a last column of ones
        (which folds the bias into the matrix product), and the layer's dtype. Returns the output
        with such a column of ones appended, shape ``(n, n_outputs + 1)``, or, when ``activate`` is
        false, the pre-activation ``z`` of shape ``(n, n_outputs)``. Both are buffers that the
        next call with the same batch size overwrites.
        """
        self._current = buffers = self._buffers_of(x.shape[0])
        z = buffers[0]
        if x.shape[1] == self.n_inputs:
            np.dot(x, self._weights, z)
            z += buffers[7]
        else:
            np.dot(x, self._packed, z)
        self._x = x
        if not activate:
            self._saved = z
            return z
        a = buffers[6].forward(z, out=buffers[2])
        self._saved = z if buffers[5] else a
        return buffers[1]

    def _backward(self, grad: np.ndarray, input_gradient: bool = True, grad_is_dz: bool = False) -> np.ndarray | None:
        """Backward pass for the last ``_forward``; ``grad`` is ``dL/da`` (or ``dL/dz``)."""
        buffers = self._current
        dz = grad if grad_is_dz else buffers[6].backward(grad, self._saved, out=buffers[3])
        x = self._x
        if x.shape[1] != self.n_inputs:  # the ones column gives the bias gradient as a last row
            np.dot(x.T, dz, self._grad_packed)
        else:
            np.dot(x.T, dz, self._grad_weights)
            if dz.shape[0] == 1:
                np.copyto(self._grad_bias, dz[0])
            else:
                np.dot(buffers[8], dz, self._grad_bias)
        if input_gradient:
            return np.dot(dz, self._weights.T, buffers[4])
        return None

    def _infer(self, x: np.ndarray, activate: bool = True) -> np.ndarray:
        """Forward pass into a new array, caching nothing (for prediction)."""
        z = np.dot(x, self.weights)
        z += self._bias
        return self.activation.forward(z, out=z) if activate else z

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
        return self._forward(x)[:, :-1].copy()

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
        if self._x is None:
            raise RuntimeError("backward() needs a forward() first: there is no cached input")
        expected = (self._x.shape[0], self.n_outputs)
        grad = np.array(grad_output, dtype=self.dtype)  # a copy: the caller's array is not touched
        if grad.shape != expected:
            raise ValueError(f"grad_output must have shape {expected} (that of the last output), got {grad.shape}")
        return self._backward(grad).copy()  # type: ignore[union-attr]

    # ----------------------------------------------------------------- description
    def get_config(self) -> dict:
        """Plain data describing the layer (parameters excluded)."""
        return {
            "n_inputs": self.n_inputs,
            "n_outputs": self.n_outputs,
            "activation": self.activation.get_config(),
            "weight_init": self.weight_init,
        }

    def __repr__(self) -> str:
        return f"Layer({self.n_inputs}, {self.n_outputs}, activation={self.activation.name!r})"

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        # buffers are scratch space; the forward cache refers into them; weights and bias are
        # views of the packed array, which views do not survive copying, so they are rebuilt
        state.update(_buffers={}, _current=None, _x=None, _saved=None)
        for key in ("_weights", "_bias", "_grad_weights", "_grad_bias"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._weights = self._bias = self._grad_weights = self._grad_bias = None
        if self._packed is not None:
            self._use_storage(self._packed, self._grad_packed)
