"""The network's arithmetic: the forward pass, the loss gradient and the backward pass.

This module is the one place where they are written. A :class:`StepPlan` holds, for one batch
size, every buffer a step needs (each layer's ``z``, output, ``dL/dz`` and ``dL/dx``) and the
functions it calls, all looked up once when the plan is built; its methods are the formulas of
``docs/derivation.md`` applied layer after layer. Training runs every batch size through it (the
per-sample step of the blog post, mini-batches, the last smaller batch, the full batch), and so do
``NeuralNetwork.forward``/``backward`` and ``Layer.forward``/``backward``. :func:`infer` is the same
forward pass for prediction, into new arrays and caching nothing.

Two shapes of the same computation make small steps fast:

* A layer's weights and bias are one ``(n_inputs + 1, n_outputs)`` array, the bias its last row,
  and every layer's output carries a trailing column of ones: ``x @ W + b`` is then one matrix
  product, and so are both gradients (``[x, 1]^T @ dz`` has ``dL/dW`` above ``dL/db``). An input
  without that column (the data as the user gave it) takes ``x @ W`` and then adds ``b``.
* With one sample per step, the hidden layers' outputs sit side by side in one row, so that
  consecutive layers with the same element-wise activation get their derivatives in one call.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

# by their own names: these run thousands of times a second on a few dozen numbers, where
# `np.dot` costs a second dictionary lookup per call
from numpy import add, dot, multiply

from . import kernels

if TYPE_CHECKING:
    from .layers import Layer
    from .losses import Loss

__all__ = ["LayerStep", "StepPlan", "infer", "l2_penalty"]


@dataclass(slots=True, eq=False)
class LayerStep:
    """One layer's arrays and functions for batches of ``n`` samples.

    Attributes
    ----------
    n_inputs : int
    packed, grad_packed : ndarray of shape (n_inputs + 1, n_outputs)
        The layer's weights over its bias, and their gradients (the layer's own arrays).
    weights, grad_weights : ndarray of shape (n_inputs, n_outputs)
        Views of the rows above the bias.
    bias_row, grad_bias : ndarray of shape (1, n_outputs) and (n_outputs,)
    weights_t : ndarray of shape (n_outputs, n_inputs)
        ``weights.T``, which turns ``dL/dz`` into ``dL/dx``.
    z, dz : ndarray of shape (n, n_outputs)
        The pre-activation and ``dL/dz``.
    output : ndarray of shape (n, n_outputs + 1)
        ``a`` with a trailing column of ones (the next layer's bias rides on its product).
    a : ndarray of shape (n, n_outputs)
        ``output`` without the ones.
    grad_input : ndarray of shape (n, n_inputs)
        ``dL/dx``, handed to the layer below as its ``dL/da``.
    activate : callable ``activate(z, out)``
        The activation's forward.
    backward : callable ``backward(grad_a, saved, out)``
        ``dL/da → dL/dz``: the activation's backward, or, where the derivative was computed for
        several layers at once, a plain multiplication by it.
    saved : ndarray
        What ``backward`` takes: ``z``, ``a`` or the precomputed derivative.
    """

    n_inputs: int
    packed: np.ndarray
    grad_packed: np.ndarray
    weights: np.ndarray
    grad_weights: np.ndarray
    bias_row: np.ndarray
    grad_bias: np.ndarray
    weights_t: np.ndarray
    z: np.ndarray
    dz: np.ndarray
    output: np.ndarray
    a: np.ndarray
    grad_input: np.ndarray
    ones: np.ndarray
    activate: Callable[..., np.ndarray]
    backward: Callable[..., np.ndarray]
    saved: np.ndarray

    @classmethod
    def build(
        cls, layer: Layer, n_samples: int, output: np.ndarray, compiled: bool = False
    ) -> LayerStep:
        """Buffers for ``layer`` on ``n_samples`` rows; ``output`` is where its ``a`` goes (with
        a trailing column of ones). With ``compiled``, the activation's forward and backward
        are numba's one-pass loops where :func:`kernels.activation_passes` has them."""
        dtype = layer.packed.dtype
        z = np.empty((n_samples, layer.n_outputs), dtype)
        dz = np.empty_like(z)
        a = output[:, :-1]
        grad_input = np.empty((n_samples, layer.n_inputs), dtype)
        activation = layer.activation
        forward, backward = activation.forward, activation.backward
        if compiled:
            # dL/da arrives in the next layer's grad_input, of this layer's width
            fused_forward, fused_backward = kernels.activation_passes(
                activation, z, a, dz, np.empty_like(z)
            )
            forward = fused_forward or forward
            backward = fused_backward or backward
        return cls(
            n_inputs=layer.n_inputs,
            packed=layer.packed,
            grad_packed=layer.grad_packed,
            weights=layer.weights,
            grad_weights=layer.grad_packed[:-1],
            bias_row=layer.packed[-1:],
            grad_bias=layer.grad_packed[-1],
            weights_t=layer.weights.T,
            z=z,
            dz=dz,
            output=output,
            a=a,
            grad_input=grad_input,
            ones=np.ones(n_samples, dtype),
            activate=forward,
            backward=backward,
            saved=z if activation.derivative_uses == "z" else a,
        )


def _shared_row(layers: Sequence[Layer]) -> tuple[np.ndarray, list[int]]:
    """For one sample per step: one row holding every hidden layer's output side by side, each
    followed by the 1 that the next layer's bias multiplies; and where each output starts."""
    widths = [layer.n_outputs + 1 for layer in layers[:-1]]
    starts = [0, *np.cumsum(widths)[:-1].tolist()]
    return np.ones((1, sum(widths)), layers[0].packed.dtype), starts


def _group_derivatives(
    layers: Sequence[Layer], steps: list[LayerStep], row: np.ndarray, starts: list[int]
) -> list[tuple[Callable[..., np.ndarray], np.ndarray, np.ndarray]]:
    """Give adjacent hidden layers with the same element-wise activation of ``a`` one derivative
    call on the shared row; each such layer's ``backward`` becomes a multiplication by its slice
    of the result. Returns ``(derivative, values, into)`` per run of layers."""
    derivatives = np.empty_like(row)
    runs: list[list] = []  # [config, derivative, first column, last column]
    for layer, step, first in zip(layers[:-1], steps, starts):
        activation = layer.activation
        if not (
            activation.elementwise
            and activation.derivative_uses == "a"
            and activation.derivative_writes_out
        ):
            continue
        last = first + layer.n_outputs  # the column of the 1 after this layer's output
        step.backward, step.saved = multiply, derivatives[:, first:last]
        config = activation.get_config()
        if runs and runs[-1][0] == config and runs[-1][3] == first - 1:
            runs[-1][3] = last
        else:
            runs.append([config, activation.derivative, first, last])
    return [(d, row[:, first:last], derivatives[:, first:last]) for _, d, first, last in runs]


class StepPlan:
    """Everything one training step on ``n_samples`` rows needs, built once and reused.

    Parameters
    ----------
    layers : sequence of Layer
        In order; their parameter arrays are used in place.
    n_samples : int
        Rows per batch.
    loss : Loss or None
        The loss whose gradient starts the backward pass (None: only :meth:`forward` and
        :meth:`backward_from_output` are used, as by a lone layer).
    fused : bool
        Whether ``loss`` is computed from the output layer's logits (softmax or sigmoid with
        their cross-entropy, whose gradient with respect to ``z`` is ``a - y``).
    l2 : float
        The L2 penalty ``½·l2·Σ‖W‖²``, whose gradient ``l2·W`` is added after the backward pass.
    flat : tuple (parameters, gradients, weight_mask), optional
        The network's flat vectors (``weight_mask`` is 1 where a weight is and 0 where a bias
        is); needed when ``l2`` is not 0.
    l2_scaling : {"constant", "batch"}
        With ``"batch"``, ``l2`` is divided by the batch's size (the sum of its sample weights)
        at every step: scikit-learn's ``alpha``.
    compiled : bool
        For batches of more than one sample: use numba's one-pass loops for the activations'
        element-wise work where they exist (:func:`kernels.activation_passes`; the same
        numbers). The matrix products stay with NumPy's BLAS.
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        n_samples: int,
        loss: Loss | None = None,
        fused: bool = False,
        l2: float = 0.0,
        flat: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        l2_scaling: str = "constant",
        compiled: bool = False,
    ) -> None:
        self.n_samples = n_samples
        self.loss = loss
        self.fused = fused
        self.l2 = l2
        self.l2_by_batch = l2_scaling == "batch"
        self.layers = tuple(layers)
        #: the activations the plan was built with (a layer's may be replaced later)
        self.activations = tuple(layer.activation for layer in layers)
        dtype = layers[0].packed.dtype
        if n_samples == 1:
            row, starts = _shared_row(layers)
            outputs = [row[:, s : s + layer.n_outputs + 1] for layer, s in zip(layers[:-1], starts)]
        else:
            outputs = [np.ones((n_samples, layer.n_outputs + 1), dtype) for layer in layers[:-1]]
        outputs.append(np.ones((n_samples, layers[-1].n_outputs + 1), dtype))
        compiled = compiled and n_samples > 1  # one sample: the per-sample kernel's domain
        steps = [
            LayerStep.build(layer, n_samples, out, compiled) for layer, out in zip(layers, outputs)
        ]
        self.groups = _group_derivatives(layers, steps, row, starts) if n_samples == 1 else []
        self.steps = steps
        self.hidden = steps[:-1]
        self.top = steps[-1]
        self.first = steps[0]
        #: the layers above the first, top first, each with the one below and its input
        #: transposed: the backward pass's loop
        pairs = itertools.pairwise(steps)
        self.upper = [(step, below, below.output.T) for below, step in pairs][::-1]
        top_activation = layers[-1].activation
        self.top_keeps_z = top_activation.derivative_uses == "z"
        self.loss_grad = np.empty_like(self.top.z)
        if loss is not None:
            self.loss_gradient = loss.gradient_from_logits if fused else loss.gradient
        self._l2_arrays = None
        if l2:
            if flat is None:
                raise ValueError("an L2 penalty needs the network's flat parameter vectors")
            self._l2_arrays = (*flat, np.empty_like(flat[0]))

    # ------------------------------------------------------------------ forward
    def forward_z(self, x: np.ndarray, top_z: np.ndarray) -> np.ndarray:
        """Run ``x`` through the hidden layers (keeping what the backward pass needs) and write
        the output layer's ``z`` into ``top_z``, which is returned.

        ``x`` has shape ``(n, n_inputs + 1)`` with a last column of ones, or ``(n, n_inputs)``.
        Per layer: ``z = [x, 1] @ [W; b]``, ``a = f(z)``.
        """
        h = x
        for step in self.hidden:
            if h is x and x.shape[1] == step.n_inputs:  # an input without the ones column
                _input_product(x, step.weights, step.z)
                step.z += step.bias_row
            else:
                dot(h, step.packed, step.z)
            step.activate(step.z, step.a)
            h = step.output
        for derivative, values, into in self.groups:
            derivative(values, into)
        top = self.top
        if h is x and x.shape[1] == top.n_inputs:
            _input_product(x, top.weights, top_z)
            top_z += top.bias_row
        else:
            dot(h, top.packed, top_z)
        return top_z

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Every layer's forward pass, keeping what :meth:`backward_from_output` needs.

        Returns the output ``a`` of shape ``(n, n_outputs)``, a buffer of the plan.
        """
        top = self.top
        return top.activate(self.forward_z(x, top.z), top.a)

    # ------------------------------------------------------------------ one training step
    def train_step(
        self,
        x: np.ndarray,
        x_t: np.ndarray,
        target: np.ndarray,
        weight: np.ndarray | None,
        output_rows: np.ndarray,
    ) -> float:
        """Forward pass, loss gradient and backward pass for one batch; fills the gradients.

        ``x_t`` is ``x.T``; ``output_rows`` receives the batch's output (its logits when the
        loss is fused), from which the caller evaluates the loss later. Returns the L2 penalty
        of the parameters the step started from (0 without L2).
        """
        top = self.top
        if self.fused:  # the gradient with respect to the logits is a - y (see losses)
            dz = self.loss_gradient(self.forward_z(x, output_rows), target, weight, top.dz)
        else:
            top.activate(self.forward_z(x, top.z), output_rows)
            self.loss_gradient(output_rows, target, weight, self.loss_grad)
            saved = top.z if self.top_keeps_z else output_rows
            dz = top.backward(self.loss_grad, saved, top.dz)
        self.backward(dz, x_t)
        return self.add_l2(weight) if self.l2 else 0.0

    def value_and_gradients(
        self, x: np.ndarray, target: np.ndarray, weight: np.ndarray | None, input_gradient: bool
    ) -> tuple[float, np.ndarray | None]:
        """Like :meth:`train_step`, returning the batch's mean loss (with the L2 penalty) and,
        if asked, ``dL/dx``."""
        top, loss = self.top, self.loss
        if self.fused:
            logits = self.forward_z(x, top.z)
            value = loss.value_and_gradient_from_logits(logits, target, weight, top.dz)  # type: ignore[union-attr]
            dz = top.dz
        else:
            top.activate(self.forward_z(x, top.z), top.a)
            value = loss.value_and_gradient(top.a, target, weight, self.loss_grad)  # type: ignore[union-attr]
            dz = top.backward(self.loss_grad, top.saved, top.dz)
        grad_input = self.backward(dz, x.T, input_gradient)
        if self.l2:
            value += self.add_l2(weight)
        return value, grad_input

    # ------------------------------------------------------------------ backward
    def backward(
        self, dz: np.ndarray, x_t: np.ndarray, input_gradient: bool = False
    ) -> np.ndarray | None:
        """From the output layer's ``dL/dz`` down to the first layer, filling every gradient.

        Per layer: ``dL/dW`` and ``dL/db`` are ``[x, 1]^T @ dz`` (the batch's sum; the loss
        already carries ``1/n``), ``dL/dx = dz @ W^T``, and the layer below turns that into its
        own ``dL/dz`` with its activation's derivative. Returns ``dL/dx`` of the first layer's
        input when asked (a buffer of the plan), else None.
        """
        for step, below, input_t in self.upper:
            dot(input_t, dz, step.grad_packed)
            g = dot(dz, step.weights_t, step.grad_input)
            dz = below.backward(g, below.saved, below.dz)
        first = self.first
        if x_t.shape[0] == first.n_inputs:  # an input without the ones column
            _input_product(x_t, dz, first.grad_weights)
            if dz.shape[0] == 1:
                np.copyto(first.grad_bias, dz[0])
            else:
                dot(first.ones, dz, first.grad_bias)
        else:
            dot(x_t, dz, first.grad_packed)
        if input_gradient:
            return dot(dz, first.weights_t, first.grad_input)
        return None

    def backward_from_output(self, grad_output: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The backward pass from ``dL/da`` of the output (after :meth:`forward` of ``x``);
        returns ``dL/dx``."""
        top = self.top
        dz = top.backward(grad_output, top.saved, top.dz)
        return self.backward(dz, x.T, input_gradient=True)  # type: ignore[return-value]

    def add_l2(self, weight: np.ndarray | None = None) -> float:
        """Add the L2 penalty's gradient ``l2·W`` (0 for biases) to the gradients; return the
        penalty ``½·l2·Σ‖W‖²`` of the current parameters. With ``l2_scaling="batch"``, ``l2``
        is first divided by the batch's size, or by the sum of its sample weights ``weight``."""
        if self._l2_arrays is None:
            return 0.0
        parameters, gradients, weight_mask, scratch = self._l2_arrays
        l2 = self.l2
        if self.l2_by_batch:
            l2 /= self.n_samples if weight is None else float(weight.sum())
        penalty = l2_penalty(self.layers, l2)
        np.multiply(parameters, weight_mask, scratch)
        scratch *= l2
        gradients += scratch
        return penalty


def _input_product(x: np.ndarray, matrix: np.ndarray, out: np.ndarray) -> None:
    """``out = x @ matrix`` for the data as the user gave it: an array, or a SciPy sparse
    matrix (the first layer's products on a sparse batch, ``x @ W`` forward and ``x.T @ dz``
    backward, without writing its zeros out)."""
    if x.__class__ is np.ndarray:
        dot(x, matrix, out)
    else:
        np.copyto(out, x @ matrix)


def l2_penalty(layers: Sequence[Layer], l2: float) -> float:
    """``½·l2·Σ‖W‖²`` over the layers' weights (not their biases)."""
    if not l2:
        return 0.0
    return 0.5 * l2 * sum(float(np.vdot(layer.weights, layer.weights)) for layer in layers)


def infer(layers: Sequence[Layer], x: np.ndarray, activate_output: bool = True) -> np.ndarray:
    """The forward pass for prediction: ``a = f(x @ W + b)`` layer after layer, into new arrays.

    Caches nothing, so any number of threads may predict at once. Returns the output, or the
    output layer's ``z`` (its logits) when ``activate_output`` is false.
    """
    below, top = layers[0], layers[-1]
    # `ndarray.dot` is `np.dot` (the same product) without its dispatch to other array types:
    # only the data as the user gave it may be one (a SciPy sparse matrix), never the arrays
    # the layers pass up
    z = x.dot(below.weights) if x.__class__ is np.ndarray else np.asarray(x @ below.weights)
    for layer in layers[1:]:
        # the bias as a (1, n_outputs) row: the same sums as `z += bias`, and for a few rows
        # much cheaper than broadcasting the 1-D bias
        add(z, below.bias_row, z)
        z = below.activation.forward(z, z).dot(layer.weights)
        below = layer
    add(z, top.bias_row, z)
    return top.activation.forward(z, z) if activate_output else z
