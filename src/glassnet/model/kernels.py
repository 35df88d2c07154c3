"""Compiled kernels: a whole epoch of training as plain loops, compiled by numba.

The NumPy path (:class:`~glassnet.model.plan.StepPlan` and the optimizers) is the reference. With
one sample per step, or mini-batches of a small network, most of its time is NumPy's per-call
overhead on arrays of a few dozen numbers. The loops here (:func:`_sample_epoch`, and
:func:`_batch_epoch`, which calls BLAS for its matrix products) compute the same formulas
(forward pass, loss gradient, backward pass, L2, optimizer update), step after step, without
leaving compiled code. They are tested equal to
the NumPy path (``tests/test_kernels.py``): to the last bit for the mini-batch passes
(:class:`FlatStep`, :func:`activation_passes`), and to rounding (1e-12 relative in float64) for
the compiled epochs, whose sigmoid, softmax and sums round differently, for speed (see "the
formulas").

numba is optional (``glassnet[fast]``): it is imported on first use, never at import time, and
:func:`unavailable` says why the kernels cannot run (numba missing, or failing to import or to
compile). Compiled code is cached on disk (``cache=True``), so only the first run on a machine
pays for compilation.

Layout of the arrays the kernel reads: the network's flat parameter vector holds each layer's
``(n_inputs + 1, n_outputs)`` block, its weights row by row over its bias; layer ``k`` starts at
``offsets[k]`` and takes ``sizes[k]`` inputs to ``sizes[k + 1]`` outputs. Its ``z``, ``a`` and
``dL/dz`` sit in flat buffers from ``units[k]``.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import activations as act
from . import losses as lo

if TYPE_CHECKING:
    from .layers import Layer

__all__ = [
    "FlatStep",
    "SampleEpoch",
    "activation_passes",
    "not_covered",
    "optimizer_not_covered",
    "unavailable",
]

#: activation codes of the kernels (a custom subclass is not covered: its formula may differ)
_ACTIVATIONS: dict[type, int] = {
    act.Identity: 0,
    act.ReLU: 1,
    act.LeakyReLU: 2,
    act.Sigmoid: 3,
    act.Tanh: 4,
    act.Softplus: 5,
    act.Exponential: 6,
    act.Softmax: 7,
}
_SOFTMAX = 7
#: loss codes; the last three are computed from the output layer's logits
_LOSSES: dict[type, int] = {
    lo.MeanSquaredError: 0,
    lo.MeanAbsoluteError: 1,
    lo.Huber: 2,
    lo.CrossEntropy: 3,
    lo.BinaryCrossEntropy: 4,
    lo.PoissonLoss: 5,
}
#: optimizer codes, from the optimizer's name and settings (see SampleEpoch.__call__)
_SGD, _MOMENTUM, _NESTEROV, _ADAM, _ADAMW = range(5)
_OPTIMIZER_MODULE = "glassnet.optim.optimizers"

# ---------------------------------------------------------------------------------- the formulas
# Each function mirrors the NumPy formula named in its docstring, operation for operation, so the
# two paths round alike; two do not, for speed: the sigmoid (below) and the input gradient's sums
# (_layer_input_gradient). ``c`` holds constants in the parameters' dtype (as the NumPy path's 0-d
# arrays do): c[0] = 0.5, c[1] = 1, c[2] = exp_floor, c[3] = exp_ceiling, c[4] = 0.

# The sigmoid is computed from exp, in float64, with an exp written out below: LLVM cannot
# vectorise a loop that calls the C library's exp or tanh, and the library's tanh (which the NumPy
# path's 0.5·tanh(0.5·z) + 0.5 calls) took a fifth of case A's step (2.57 → 2.07 µs without it).
# Both are within a few units in the last place of the true sigmoid, so the two paths' parameters
# agree to about 1e-15 of the largest after 3 epochs of the seed network, not bit for bit
# (tests/test_kernels.py).
_LOG2_E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 to 32 bits: k·_LN2_HI is exact for |k| < 2^21
_LN2_LO = 1.90821492927058770002e-10  # ln 2 − _LN2_HI
_ROUND = 6755399441055744.0  # 1.5·2^52: (v + _ROUND) − _ROUND is v rounded to an integer
_EXP_FLOOR = -708.3  # exp(x) is a normal float64 above it (2^k of the scaling below too)
#: 1/n! for n = 13, 12, …, 2: exp's Taylor polynomial, within 5e-18 of it for |r| ≤ ln 2 / 2
_TAYLOR = tuple(1.0 / math.factorial(n) for n in range(13, 1, -1))


def _exp_negative(x: float) -> float:
    """``exp(x)`` for ``x ≤ 0``, in float64, to within 1.5 units in the last place (tested), in
    operations LLVM vectorises: ``x = k·ln 2 + r`` with ``k`` an integer and
    ``|r| ≤ ln 2 / 2``, then ``exp(x) = 2^k·exp(r)``, ``2^k`` made from its bits. Below
    ``_EXP_FLOOR`` (where ``exp(x) < 3e-308``) it gives 0; NaN gives NaN."""
    clipped = x if x > _EXP_FLOOR else _EXP_FLOOR  # and NaN → the floor, so k is a valid int
    k = (clipped * _LOG2_E + _ROUND) - _ROUND
    r = (clipped - k * _LN2_HI) - k * _LN2_LO  # the first product and difference are exact
    p = _TAYLOR[0]
    for coefficient in _TAYLOR[1:]:
        p = p * r + coefficient
    p = (p * r + 1.0) * r + 1.0
    two_to_k = np.int64((np.int64(k) + 1023) << 52).view(np.float64)  # its exponent bits
    if x > _EXP_FLOOR:
        return p * two_to_k
    return x if x != x else 0.0


def _sigmoid(z: Any) -> float:
    """``Sigmoid.forward`` in float64: ``1 / (1 + e)`` for ``z ≥ 0`` and ``e / (1 + e)`` below,
    with ``e = exp(−|z|) ≤ 1`` (neither overflows; NaN gives NaN)."""
    e = _exp_negative(-abs(float(z)))
    return 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)


def _activate(code: int, alpha: Any, z: Any, out: Any, c: Any) -> None:
    """``<Activation>.forward`` of ``z`` into ``out`` (both 1-D, of one layer's width)."""
    n = z.shape[0]
    if code == 0:
        for j in range(n):
            out[j] = z[j]
    elif code == 1:  # ReLU: max(z, 0), NaN kept as np.maximum keeps it
        for j in range(n):
            out[j] = z[j] if not z[j] <= c[4] else c[4]
    elif code == 2:  # LeakyReLU: max(z, alpha·z)
        for j in range(n):
            scaled = z[j] * alpha
            out[j] = z[j] if z[j] > scaled else scaled
    elif code == 3:
        for j in range(n):
            out[j] = _sigmoid(z[j])  # rounded to the dtype as it is stored
    elif code == 4:
        for j in range(n):
            out[j] = np.tanh(z[j])
    elif code == 5:  # Softplus: max(z, 0) + log1p(exp(max(−|z|, floor)))
        for j in range(n):
            tail = np.log1p(np.exp(max(-abs(z[j]), c[2])))
            out[j] = (z[j] if z[j] > c[4] else c[4]) + tail
    elif code == 6:  # Exponential: exp(clip(z, floor, ceiling))
        for j in range(n):
            out[j] = np.exp(min(max(z[j], c[2]), c[3]))
    else:  # Softmax: exp(max(z − max z, floor)) / Σ
        top = z[0]
        for j in range(1, n):
            if z[j] > top:
                top = z[j]
        total = c[4]
        for j in range(n):
            out[j] = _exp_negative(max(z[j] - top, c[2]))  # of a value ≤ 0
        for j in range(n):
            total += out[j]
        for j in range(n):
            out[j] /= total


def _backward(code: int, alpha: Any, grad: Any, z: Any, a: Any, out: Any, c: Any) -> None:
    """``<Activation>.backward``: ``out = f'·grad``, ``f'`` from ``z`` or ``a`` as the activation's
    ``derivative_uses`` says (softmax: ``(grad − Σ grad·a)·a``)."""
    n = grad.shape[0]
    if code == 0:
        for j in range(n):
            out[j] = grad[j]
    elif code == 1:  # f' = (z > 0), from z
        for j in range(n):
            out[j] = (c[1] if z[j] > c[4] else c[4]) * grad[j]
    elif code == 2:  # f' = 1 where a > 0, else alpha
        for j in range(n):
            out[j] = (c[1] if a[j] > c[4] else alpha) * grad[j]
    elif code == 3:  # f' = (1 − a)·a
        for j in range(n):
            out[j] = ((c[1] - a[j]) * a[j]) * grad[j]
    elif code == 4:  # f' = 1 − a·a
        for j in range(n):
            out[j] = (c[1] - a[j] * a[j]) * grad[j]
    elif code == 5:  # f' = sigmoid(z), stored (in the dtype) before the product
        for j in range(n):
            out[j] = _sigmoid(z[j])
            out[j] *= grad[j]
    elif code == 6:  # f' = a
        for j in range(n):
            out[j] = grad[j] * a[j]
    else:
        inner = c[4]
        for j in range(n):
            inner += grad[j] * a[j]
        for j in range(n):
            out[j] = (grad[j] - inner) * a[j]


def _activate_rows(
    code: int, alpha: Any, z: Any, out: Any, rows: int, width: int, stride: int, c: Any
) -> None:
    """:func:`_activate` on ``rows`` rows of ``width`` values: ``z``'s side by side, ``out``'s
    every ``stride`` values. The branch on ``code`` comes first, and inside it ``code`` is a
    constant, so that LLVM drops :func:`_activate`'s other branches and vectorises its loop
    (ReLU on 50 values: 33 → 2.7 ns a row; case B 33.2 → 25.7 µs a step with
    :func:`_backward_rows`)."""
    if code == 0:
        for r in range(rows):
            _activate(0, alpha, z[r * width : (r + 1) * width], out[r * stride :], c)
    elif code == 1:
        for r in range(rows):
            _activate(1, alpha, z[r * width : (r + 1) * width], out[r * stride :], c)
    elif code == 2:
        for r in range(rows):
            _activate(2, alpha, z[r * width : (r + 1) * width], out[r * stride :], c)
    elif code == 3:
        for r in range(rows):
            _activate(3, alpha, z[r * width : (r + 1) * width], out[r * stride :], c)
    elif code == 4:
        for r in range(rows):
            _activate(4, alpha, z[r * width : (r + 1) * width], out[r * stride :], c)
    elif code == 5:
        for r in range(rows):
            _activate(5, alpha, z[r * width : (r + 1) * width], out[r * stride :], c)
    elif code == 6:
        for r in range(rows):
            _activate(6, alpha, z[r * width : (r + 1) * width], out[r * stride :], c)
    else:
        for r in range(rows):
            _activate(7, alpha, z[r * width : (r + 1) * width], out[r * stride :], c)


def _backward_rows(
    code: int,
    alpha: Any,
    grad: Any,
    z: Any,
    a: Any,
    out: Any,
    rows: int,
    width: int,
    stride: int,
    c: Any,
) -> None:
    """:func:`_backward` on ``rows`` rows of ``width`` values (``a``'s every ``stride``
    values, the others' side by side), the branch first as in :func:`_activate_rows`."""
    if code == 0:
        for r in range(rows):
            g, zr, ar, o = _row(grad, z, a, out, r, width, stride)
            _backward(0, alpha, g, zr, ar, o, c)
    elif code == 1:
        for r in range(rows):
            g, zr, ar, o = _row(grad, z, a, out, r, width, stride)
            _backward(1, alpha, g, zr, ar, o, c)
    elif code == 2:
        for r in range(rows):
            g, zr, ar, o = _row(grad, z, a, out, r, width, stride)
            _backward(2, alpha, g, zr, ar, o, c)
    elif code == 3:
        for r in range(rows):
            g, zr, ar, o = _row(grad, z, a, out, r, width, stride)
            _backward(3, alpha, g, zr, ar, o, c)
    elif code == 4:
        for r in range(rows):
            g, zr, ar, o = _row(grad, z, a, out, r, width, stride)
            _backward(4, alpha, g, zr, ar, o, c)
    elif code == 5:
        for r in range(rows):
            g, zr, ar, o = _row(grad, z, a, out, r, width, stride)
            _backward(5, alpha, g, zr, ar, o, c)
    elif code == 6:
        for r in range(rows):
            g, zr, ar, o = _row(grad, z, a, out, r, width, stride)
            _backward(6, alpha, g, zr, ar, o, c)
    else:
        for r in range(rows):
            g, zr, ar, o = _row(grad, z, a, out, r, width, stride)
            _backward(7, alpha, g, zr, ar, o, c)


def _row(grad: Any, z: Any, a: Any, out: Any, r: int, width: int, stride: int) -> tuple:
    """Row ``r`` of each of :func:`_backward_rows`'s arrays."""
    side_by_side = slice(r * width, (r + 1) * width)
    return grad[side_by_side], z[side_by_side], a[r * stride :], out[side_by_side]


def _loss_gradient(code: int, delta: Any, a: Any, z: Any, target: Any, out: Any, c: Any) -> None:
    """``<Loss>.gradient`` of one sample (``gradient_from_logits`` of ``z`` for the fused losses),
    before the sample weight's scaling."""
    n = out.shape[0]
    if code == 0:  # a − y
        for j in range(n):
            out[j] = a[j] - target[j]
    elif code == 1:  # sign(a − y)
        for j in range(n):
            d = a[j] - target[j]
            out[j] = c[1] if d > c[4] else (-c[1] if d < c[4] else d)
    elif code == 2:  # clip(a − y, −delta, delta)
        for j in range(n):
            out[j] = min(max(a[j] - target[j], -delta), delta)
    else:  # softmax(z) − y, sigmoid(z) − y, exp(z) − y
        _activate(_SOFTMAX if code == 3 else (3 if code == 4 else 6), c[4], z, out, c)
        for j in range(n):
            out[j] -= target[j]


def _output_gradient(
    fused: bool,
    loss_code: int,
    code: int,
    alpha: Any,
    delta: Any,
    z: Any,
    out: Any,
    target: Any,
    scale: Any,
    scaled: bool,
    loss_grad: Any,
    dz: Any,
    c: Any,
) -> None:
    """One sample's output into ``out`` (its logits for the fused losses) and the loss gradient
    with respect to the output layer's ``z`` into ``dz`` (``StepPlan.train_step``), times
    ``scale`` where ``scaled`` (the sample's share of its batch, as ``_scale_rows`` gives it)."""
    n = out.shape[0]
    if fused:  # the gradient with respect to the logits is a − y (see losses)
        for j in range(n):
            out[j] = z[j]
        _loss_gradient(loss_code, delta, out, z, target, dz, c)
        if scaled:
            for j in range(n):
                dz[j] *= scale
    else:
        _activate(code, alpha, z, out, c)
        _loss_gradient(loss_code, delta, out, z, target, loss_grad, c)
        if scaled:
            for j in range(n):
                loss_grad[j] *= scale
        _backward(code, alpha, loss_grad, z, out, dz, c)


def _add_l2(params: Any, grads: Any, sizes: Any, offsets: Any, l2: float, scalar: Any) -> float:
    """``StepPlan.add_l2``: add ``l2·W`` to the weights' gradients (not the biases'); return the
    penalty ``½·l2·Σ‖W‖²`` of the parameters the step starts from."""
    squares = 0.0
    for k in range(offsets.shape[0]):
        layer_squares = 0.0
        for p in range(offsets[k], offsets[k] + sizes[k] * sizes[k + 1]):
            layer_squares += params[p] * params[p]
        squares += layer_squares
    scalar[0] = l2
    for k in range(offsets.shape[0]):
        for p in range(offsets[k], offsets[k] + sizes[k] * sizes[k + 1]):
            grads[p] += params[p] * scalar[0]
    return 0.5 * l2 * squares


def _update(
    rule: int,
    params: Any,
    grads: Any,
    slot_1: Any,
    slot_2: Any,
    hyper: Any,
    floats: Any,
    rate: float,
    step: int,
    scalar: Any,
) -> None:
    """One optimizer step over the flat vectors: ``SGD._update`` (with momentum or Nesterov),
    ``Adam._update`` or ``AdamW._update``, fused into one pass per rule.

    ``hyper`` holds the rule's constants in the parameters' dtype, ``floats`` those Adam
    computes with in float64 (see :func:`_sample_epoch`); ``rate`` is the learning rate of the
    step, ``step`` the step count after it; ``scalar`` a one-element array of the parameters'
    dtype, through which a float64 value is rounded as NumPy rounds a 0-d array.
    """
    n_parameters = params.shape[0]
    # one loop per rule, with no branch inside the loop: with error_model="numpy" (see
    # unavailable) LLVM turns each into vector instructions, sqrt and division included
    if rule == _SGD:
        scalar[0] = rate
        lr = scalar[0]
        for p in range(n_parameters):
            params[p] -= grads[p] * lr  # p -= lr·g
    elif rule == _MOMENTUM or rule == _NESTEROV:
        scalar[0] = rate
        lr = scalar[0]
        momentum = hyper[0]
        for p in range(n_parameters):
            slot_1[p] = slot_1[p] * momentum - grads[p] * lr  # v = momentum·v − lr·g
        if rule == _MOMENTUM:
            for p in range(n_parameters):
                params[p] += slot_1[p]
        else:
            for p in range(n_parameters):
                params[p] -= grads[p] * lr
                params[p] += slot_1[p] * momentum  # p += momentum·v − lr·g
    else:
        t = float(step)
        scalar[0] = rate * math.sqrt(1.0 - floats[1] ** t) / (1.0 - floats[0] ** t)
        step_size = scalar[0]
        if rule == _ADAMW and floats[2] != 0.0:
            scalar[0] = 1.0 - rate * floats[2]
            shrink = scalar[0]
            for p in range(n_parameters):
                params[p] *= shrink
        b1, one_minus_b1, b2, one_minus_b2, epsilon = (
            hyper[0],
            hyper[1],
            hyper[2],
            hyper[3],
            hyper[4],
        )
        for p in range(n_parameters):
            grad = grads[p]
            m = slot_1[p] * b1 + grad * one_minus_b1  # m = b1·m + (1 − b1)·g
            v = slot_2[p] * b2 + (grad * grad) * one_minus_b2  # v = b2·v + (1 − b2)·g²
            slot_1[p] = m
            slot_2[p] = v
            params[p] -= (m / (np.sqrt(v) + epsilon)) * step_size


# ------------------------------------------------------- a mini-batch's element-wise passes
# NumPy needs two passes (and two calls) for an activation's backward, f' into a buffer and then
# f'·g; these loops make one, over rows of any stride (``a`` is a view beside a column of ones).
# The constants come as scalars of the arrays' dtype: read once, so the loops vectorise.
# Measured (``benchmarks/kernels.py``, 2 shared cores, medians): ReLU's backward 0.40 against
# 1.38 µs for 32×25 float64 and 13.5 against 24.4 µs for 256×512 float32; the sigmoid's 0.50
# against 2.29 µs and 34.9 against 42.0 µs. ReLU's forward into its strided output 0.38 against
# 1.09 µs (32×25) but level at 256×512 (19.2 against 21.3 µs). Softmax with its cross-entropy
# gradient is left to NumPy: the scalar exp made it slower for 256×10 float32 (34.1 against
# 21.9 µs) and no faster for 32×2 (4.2 against 4.9 µs). The forward passes of sigmoid and tanh
# stay with NumPy, whose vectorised tanh the scalar one cannot match.


def _relu_forward(zero: Any, z: Any, out: Any) -> Any:
    """``ReLU.forward``: ``max(z, 0)`` row by row (NaN kept, as ``np.maximum`` keeps it)."""
    for r in range(z.shape[0]):
        z_row, out_row = z[r], out[r]
        for j in range(z_row.shape[0]):
            out_row[j] = z_row[j] if not z_row[j] <= zero else zero
    return out


def _relu_backward(zero: Any, one: Any, grad: Any, z: Any, out: Any) -> Any:
    """``ReLU.backward``: ``(z > 0)·g``, in one pass."""
    for r in range(grad.shape[0]):
        g, z_row, out_row = grad[r], z[r], out[r]
        for j in range(g.shape[0]):
            out_row[j] = (one if z_row[j] > zero else zero) * g[j]
    return out


def _leaky_relu_backward(zero: Any, one: Any, alpha: Any, grad: Any, a: Any, out: Any) -> Any:
    """``LeakyReLU.backward``: ``(1 where a > 0, else alpha)·g``, in one pass."""
    for r in range(grad.shape[0]):
        g, a_row, out_row = grad[r], a[r], out[r]
        for j in range(g.shape[0]):
            out_row[j] = (one if a_row[j] > zero else alpha) * g[j]
    return out


def _sigmoid_backward(one: Any, grad: Any, a: Any, out: Any) -> Any:
    """``Sigmoid.backward``: ``((1 − a)·a)·g``, in one pass."""
    for r in range(grad.shape[0]):
        g, a_row, out_row = grad[r], a[r], out[r]
        for j in range(g.shape[0]):
            out_row[j] = ((one - a_row[j]) * a_row[j]) * g[j]
    return out


def _tanh_backward(one: Any, grad: Any, a: Any, out: Any) -> Any:
    """``Tanh.backward``: ``(1 − a·a)·g``, in one pass."""
    for r in range(grad.shape[0]):
        g, a_row, out_row = grad[r], a[r], out[r]
        for j in range(g.shape[0]):
            out_row[j] = (one - a_row[j] * a_row[j]) * g[j]
    return out


def _layer_forward(h: Any, params: Any, off: int, n_in: int, width: int, z: Any, zero: Any) -> None:
    """``z = [h, 1] @ [W; b]`` of the layer whose block starts at ``off``, row after row of W:
    each unit's sum takes its products in the same order as a sum per unit would (the same
    numbers), but the loop over ``j`` runs along a contiguous row, in vector instructions."""
    # Indices into the layer's own block, from 0 up: an index ``off + i·width + j`` into the
    # whole vector could be negative for all numba knows, and its wrap-around check (negative
    # indices count from the end) kept LLVM from vectorising the loops. Measured (case A's
    # epoch, 2400 steps, medians): 4.1 → 3.1 µs a step with this and the other layer loops.
    block = params[off : off + (n_in + 1) * width]
    # rows too short to vectorise (case A's output layer, 25 → 2: 2.63 → 2.51 µs a step with
    # the column order in _layer_sgd): a sum per unit, in a register, the same numbers
    if width < 4:
        for j in range(width):
            total = zero
            for i in range(n_in):
                total += h[i] * block[i * width + j]
            z[j] = total + block[n_in * width + j]
        return
    for j in range(width):
        z[j] = zero
    for i in range(n_in):
        hi = h[i]
        row = i * width
        for j in range(width):
            z[j] += hi * block[row + j]
    bias = n_in * width
    for j in range(width):
        z[j] += block[bias + j]


def _layer_sgd(h: Any, dz: Any, params: Any, off: int, n_in: int, width: int, lr: Any) -> None:
    """``SGD._update``'s ``p −= lr·g`` of the layer, with ``g = [h, 1]^T dz`` made as it goes
    (and not stored)."""
    block = params[off : off + (n_in + 1) * width]  # indices from 0 (see _layer_forward)
    if width < 4:  # rows too short to vectorise: column after column
        for j in range(width):
            d = dz[j]
            for i in range(n_in):
                block[i * width + j] -= (h[i] * d) * lr
    else:
        for i in range(n_in):
            hi = h[i]
            row = i * width
            for j in range(width):
                block[row + j] -= (hi * dz[j]) * lr
    bias = n_in * width
    for j in range(width):
        block[bias + j] -= dz[j] * lr


def _layer_gradient(h: Any, dz: Any, grads: Any, off: int, n_in: int, width: int) -> None:
    """The layer's ``dL/dW = [h, 1]^T dz`` into its block of ``grads``."""
    block = grads[off : off + (n_in + 1) * width]  # indices from 0 (see _layer_forward)
    for i in range(n_in):
        hi = h[i]
        row = i * width
        for j in range(width):
            block[row + j] = hi * dz[j]
    bias = n_in * width
    for j in range(width):
        block[bias + j] = dz[j]


def _layer_input_gradient(
    dz: Any, params: Any, off: int, n_in: int, width: int, out: Any, zero: Any
) -> None:
    """``dL/dh = dz W^T`` of the layer: one sum over ``j`` per input.

    Compiled with ``fastmath={"reassoc"}`` (see :data:`_FASTMATH`), which lets LLVM add each sum
    in vector lanes, in another order than the NumPy path's: without it each sum is one chain
    of additions, each waiting for the last (case A: 2.07 → 1.75 µs a step with it).
    """
    block = params[off : off + n_in * width]  # indices from 0 (see _layer_forward)
    for i in range(n_in):
        row = i * width
        total = zero
        for j in range(width):
            total += dz[j] * block[row + j]
        out[i] = total


def _sample_epoch(
    x: Any,
    targets: Any,
    weights: Any,
    outputs: Any,
    start: int,
    stop: int,
    params: Any,
    grads: Any,
    sizes: Any,
    offsets: Any,
    units: Any,
    codes: Any,
    alphas: Any,
    c: Any,
    loss_code: int,
    fused: bool,
    delta: Any,
    rule: int,
    hyper: Any,
    floats: Any,
    rates: Any,
    t0: int,
    slot_1: Any,
    slot_2: Any,
    scalar: Any,
    l2: float,
    l2_by_batch: bool,
    z: Any,
    a: Any,
    dz: Any,
    grad_a: Any,
    loss_grad: Any,
) -> float:
    """Train on samples ``start … stop − 1`` one at a time: ``StepPlan.train_step`` then the
    optimizer's ``_update``, in the order of ``training.loop._run_steps``.

    ``x`` is ``(n, n_inputs + 1)`` with a last column of ones (its last column is not read: the
    bias is added as ``1·b``); ``weights`` is ``(n,)``, or empty without sample weights;
    ``outputs`` receives each sample's output (its logits for the fused losses). ``hyper`` holds
    the optimizer's constants in the parameters' dtype (``momentum``; or ``beta_1``,
    ``1 − beta_1``, ``beta_2``, ``1 − beta_2``, ``epsilon``) and ``floats`` those Adam computes
    with in float64 (``beta_1``, ``beta_2``, ``weight_decay``), ``rates`` the
    learning rate of each step, ``t0`` the optimizer's step count before the first. Returns the
    sum of the steps' L2 penalties, each times its sample's weight.
    """
    n_layers = codes.shape[0]
    top = n_layers - 1
    n_out = sizes[n_layers]
    top_units = units[top]
    has_weights = weights.shape[0] > 0
    penalty_sum = 0.0
    # plain SGD without L2: each layer's update is made in the backward pass, p −= lr·(h·dz)
    # with the same operations as SGD._update (the same numbers), without storing the gradient
    # or a second pass over the vector (case A: 3.19 → 3.0 µs a step). The last step stores its
    # gradient and updates as before, so that the network's gradients are the last step's.
    fuse_sgd = rule == _SGD and not l2 > 0.0
    lr = c[4]
    for s in range(start, stop):
        # ---- forward: z = [h, 1] @ [W; b], a = f(z), layer after layer (StepPlan.forward_z)
        for k in range(n_layers):
            n_in, width, off, u = sizes[k], sizes[k + 1], offsets[k], units[k]
            h = x[s] if k == 0 else a[units[k - 1] : units[k - 1] + n_in]
            zk = z[u : u + width]
            _layer_forward(h, params, off, n_in, width, zk, c[4])
            if k < top:
                _activate(codes[k], alphas[k], zk, a[u : u + width], c)
        z_top = z[top_units : top_units + n_out]
        dz_top = dz[top_units : top_units + n_out]
        out_row = outputs[s]
        # ---- the loss gradient with respect to the output layer's z (StepPlan.train_step)
        scale = weights[s] / weights[s] if has_weights else c[1]  # as _scale_rows computes it
        _output_gradient(
            fused,
            loss_code,
            codes[top],
            alphas[top],
            delta,
            z_top,
            out_row,
            targets[s],
            scale,
            has_weights,
            loss_grad,
            dz_top,
            c,
        )
        # ---- backward: dL/dh = dz W^T, then the layer below's f', then dL/dW = [h, 1]^T dz
        # (the input gradient first: it reads the weights a fused update then changes)
        fuse = fuse_sgd and s < stop - 1
        if fuse:
            scalar[0] = rates[s - start]
            lr = scalar[0]
        for k in range(top, -1, -1):
            n_in, width, off, u = sizes[k], sizes[k + 1], offsets[k], units[k]
            h = x[s] if k == 0 else a[units[k - 1] : units[k - 1] + n_in]
            dzk = dz[u : u + width]
            if k > 0:
                below = units[k - 1]
                g = grad_a[:n_in]
                _layer_input_gradient(dzk, params, off, n_in, width, g, c[4])
                zb, ab = z[below : below + n_in], a[below : below + n_in]
                _backward(codes[k - 1], alphas[k - 1], g, zb, ab, dz[below : below + n_in], c)
            if fuse:  # SGD._update fused in: p −= lr·g as each g is made, same numbers
                _layer_sgd(h, dzk, params, off, n_in, width, lr)
            else:
                _layer_gradient(h, dzk, grads, off, n_in, width)
        # ---- L2 (StepPlan.add_l2): the penalty of the parameters the step starts from
        if l2 > 0.0:
            size = float(weights[s]) if has_weights else 1.0
            step_penalty = _add_l2(
                params, grads, sizes, offsets, l2 / size if l2_by_batch else l2, scalar
            )
            if step_penalty != 0.0:
                penalty_sum += step_penalty * size
        # ---- the optimizer's update over the flat vector (SGD._update, Adam._update, ...)
        if fuse:
            continue
        t = t0 + s - start + 1  # the step count after this step, as Adam._prepare reads it
        _update(rule, params, grads, slot_1, slot_2, hyper, floats, rates[s - start], t, scalar)
    return penalty_sum


def _batch_epoch(
    x: Any,
    targets: Any,
    weights: Any,
    outputs: Any,
    start: int,
    stop: int,
    batch: int,
    params: Any,
    grads: Any,
    sizes: Any,
    offsets: Any,
    units: Any,
    a_starts: Any,
    codes: Any,
    alphas: Any,
    c: Any,
    loss_code: int,
    fused: bool,
    delta: Any,
    rule: int,
    hyper: Any,
    floats: Any,
    rates: Any,
    t0: int,
    slot_1: Any,
    slot_2: Any,
    scalar: Any,
    l2: float,
    l2_by_batch: bool,
    z: Any,
    a: Any,
    dz: Any,
    grad_a: Any,
    loss_grad: Any,
) -> float:
    """Train on the batches of samples ``start … stop − 1`` (``start`` a multiple of ``batch``;
    the last batch may be shorter): ``StepPlan.train_step`` then the optimizer's ``_update`` for
    each, in the order of ``training.loop._run_steps``, without returning to Python in between.

    The matrix products are BLAS's, called by numba's ``np.dot`` (through SciPy's BLAS), on
    the same operands as the NumPy path's: ``[h, 1] @ [W; b]`` forward, ``[h, 1]^T @ dz`` for
    the gradients, ``dz @ W^T`` for ``dL/dh``. The element-wise work runs row by row through the
    per-sample kernel's functions. Arguments as :func:`_sample_epoch`'s, except the buffers,
    which hold ``batch`` rows per layer: layer ``k``'s ``z`` and ``dL/dz`` from
    ``batch·units[k]`` in ``z`` and ``dz``, its output from ``a_starts[k]`` in ``a``, each row
    followed by a 1 (its next layer's bias rides on the product, as in ``StepPlan``).
    """
    n_layers = codes.shape[0]
    top = n_layers - 1
    n_out = sizes[n_layers]
    has_weights = weights.shape[0] > 0
    penalty_sum = 0.0
    step = 0
    # each layer's arrays as 2-D views of the flat ones, made once: a reshape calls into
    # numba's C helper, and a step would make about 30 (batch rows; a step takes its first m)
    layers = range(n_layers)
    n_ins, widths, blocks = sizes[:-1], sizes[1:], (sizes[:-1] + 1) * sizes[1:]
    packed = [
        params[offsets[k] : offsets[k] + blocks[k]].reshape(n_ins[k] + 1, widths[k]) for k in layers
    ]
    gradient = [
        grads[offsets[k] : offsets[k] + blocks[k]].reshape(n_ins[k] + 1, widths[k]) for k in layers
    ]
    z_2d = [
        z[batch * units[k] : batch * (units[k] + widths[k])].reshape(batch, widths[k])
        for k in layers
    ]
    dz_2d = [
        dz[batch * units[k] : batch * (units[k] + widths[k])].reshape(batch, widths[k])
        for k in layers
    ]
    grad_2d = [grad_a[: batch * n_ins[k]].reshape(batch, n_ins[k]) for k in layers]
    # hidden layers' outputs: each row followed by the 1 that the next layer's bias multiplies
    a_2d = [
        a[a_starts[k] : a_starts[k] + batch * (widths[k] + 1)].reshape(batch, widths[k] + 1)
        for k in range(top)
    ]
    for first in range(start, stop, batch):
        m = min(batch, stop - first)
        # ---- forward: z = [h, 1] @ [W; b], a = f(z) (StepPlan.forward_z)
        h = x[first : first + m]
        for k in range(n_layers):
            width = sizes[k + 1]
            np.dot(h, packed[k], z_2d[k][:m])
            if k < top:
                row = width + 1
                _activate_rows(
                    codes[k], alphas[k], z[batch * units[k] :], a[a_starts[k] :], m, width, row, c
                )
                h = a_2d[k][:m]
        # ---- the loss gradient with respect to the output layer's z, of the batch's mean
        zs = batch * units[top]
        total, row_scale = c[4], c[1]
        if has_weights:  # _scale_rows: each row times w / Σ w, or 1/m
            for r in range(m):
                total += weights[first + r]
        else:
            scalar[0] = 1.0 / m
            row_scale = scalar[0]
        for r in range(m):
            if has_weights:
                row_scale = weights[first + r] / total
            _output_gradient(
                fused,
                loss_code,
                codes[top],
                alphas[top],
                delta,
                z[zs + r * n_out : zs + (r + 1) * n_out],
                outputs[first + r],
                targets[first + r],
                row_scale,
                has_weights or m != 1,
                loss_grad,
                dz[zs + r * n_out : zs + (r + 1) * n_out],
                c,
            )
        # ---- backward (StepPlan.backward): dL/dW = [h, 1]^T dz, then dL/dh = dz W^T and the
        # layer below's f'
        for k in range(top, -1, -1):
            n_in = sizes[k]
            dzk = dz_2d[k][:m]
            h = x[first : first + m] if k == 0 else a_2d[k - 1][:m]
            np.dot(h.T, dzk, gradient[k])
            if k > 0:
                np.dot(dzk, packed[k][:n_in].T, grad_2d[k][:m])
                below = batch * units[k - 1]
                _backward_rows(
                    codes[k - 1],
                    alphas[k - 1],
                    grad_a,
                    z[below:],
                    a[a_starts[k - 1] :],
                    dz[below:],
                    m,
                    n_in,
                    n_in + 1,
                    c,
                )
        # ---- L2 (StepPlan.add_l2), of the parameters the step starts from
        if l2 > 0.0:
            size = float(total) if has_weights else float(m)
            step_penalty = _add_l2(
                params, grads, sizes, offsets, l2 / size if l2_by_batch else l2, scalar
            )
            if step_penalty != 0.0:
                penalty_sum += step_penalty * size
        # ---- the optimizer's update over the flat vector
        step += 1  # the step count after this step, as Adam._prepare reads it: t0 + step
        _update(
            rule, params, grads, slot_1, slot_2, hyper, floats, rates[step - 1], t0 + step, scalar
        )
    return penalty_sum


# ---------------------------------------------------------------------------------- compilation
_KERNELS = (
    "_exp_negative",
    "_sigmoid",
    "_activate",
    "_backward",
    "_activate_rows",
    "_backward_rows",
    "_row",
    "_loss_gradient",
    "_output_gradient",
    "_add_l2",
    "_update",
    "_layer_forward",
    "_layer_sgd",
    "_layer_gradient",
    "_layer_input_gradient",
    "_sample_epoch",
    "_batch_epoch",
    "_relu_forward",
    "_relu_backward",
    "_leaky_relu_backward",
    "_sigmoid_backward",
    "_tanh_backward",
)
#: inlined into their callers by numba before LLVM sees them: no call with a dozen array
#: arguments (and their reference counts) per layer and sample; case A 3.0 → 2.5 µs a step.
#: Not _exp_negative, _sigmoid and the *_rows functions (which hold eight copies each of
#: _activate or _backward): inlined, they made compiling the mini-batch epoch take 22 s
#: instead of 9.7 s (and the per-sample one 13.7 s instead of 7.1 s), and were no faster
#: (LLVM inlines the small ones itself)
_INLINED = frozenset(
    (
        "_row",
        "_activate",
        "_backward",
        "_loss_gradient",
        "_output_gradient",
        "_add_l2",
        "_update",
        "_layer_forward",
        "_layer_sgd",
        "_layer_gradient",
    )
)
#: compiled with these fastmath flags; a function of its own (not inlined), so that the flag
#: applies to its loops only: reassociation elsewhere could undo _exp_negative's exact steps
_FASTMATH: dict[str, set[str]] = {"_layer_input_gradient": {"reassoc"}}
#: None: not tried yet; "": compiled kernels are in place; otherwise why they cannot be
_status: str | None = None
_warned = False


def unavailable() -> str | None:
    """Why the compiled kernels cannot run here (numba missing, or failing to import or to set
    up its cache), or None when they can. numba is imported on the first call."""
    global _status
    if _status is None:
        try:
            import numba
        except ModuleNotFoundError as error:
            if error.name != "numba":  # numba is there, but something it needs is not
                _status = f"numba failed to import: {type(error).__name__}: {error}"
                _warn_once(_status)
            else:  # not installed: the NumPy path is the expected one, no warning
                _status = f"numba is not installed ({error}); pip install 'glassnet[fast]'"
        except Exception as error:  # a broken installation: say so, train with NumPy
            _status = f"numba failed to import: {type(error).__name__}: {error}"
            _warn_once(_status)
        else:
            try:
                module = globals()
                # error_model="numpy": a division by zero gives inf or nan, as in NumPy, instead
                # of raising; without it numba checks every divisor, which keeps LLVM from
                # vectorising the loops (Adam's update: 934 against 108 µs, benchmarks/kernels.py)
                for name in _KERNELS:  # compiled lazily, on the first call of each dtype
                    if hasattr(module[name], "py_func"):
                        continue  # already numba's (a second try after a failed one)
                    inline: Literal["always", "never"] = "always" if name in _INLINED else "never"
                    module[name] = numba.njit(
                        cache=True,
                        nogil=True,
                        error_model="numpy",
                        inline=inline,
                        fastmath=_FASTMATH.get(name, False),
                    )(module[name])
                _status = ""
            except Exception as error:  # e.g. no writable cache directory
                _status = (
                    f"numba cannot compile glassnet's kernels: {type(error).__name__}: {error}"
                )
                _warn_once(_status)
    return _status or None


def _compile_error(error: Exception) -> bool:
    """Whether ``error``, raised by a kernel's first call for its argument types (numba compiles
    and caches then, before the kernel runs), came from compiling or caching it rather than from
    the arguments: numba's own errors, and an OSError from writing its cache (a cache directory
    that became read-only or full after numba chose it)."""
    return isinstance(error, OSError) or type(error).__module__.startswith("numba")


def _failed(error: Exception) -> None:
    """A kernel failed to compile: say so once; NumPy trains from now on."""
    global _status
    _status = f"numba cannot compile glassnet's kernel: {type(error).__name__}: {error}"
    _warn_once(_status)


def _warn_once(cause: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(f"{cause}; training uses NumPy", RuntimeWarning, stacklevel=4)


def batches_unavailable() -> str | None:
    """Why the compiled mini-batch epoch cannot run where the per-sample one can, or None:
    numba's ``np.dot`` calls SciPy's BLAS, so it needs SciPy (``glassnet[fast]`` has it)."""
    if importlib.util.find_spec("scipy") is None:
        return "SciPy is not installed (numba's matrix products call its BLAS)"
    return None


def not_covered(layers: Sequence[Layer], loss: lo.Loss, optimizer: object) -> str | None:
    """Why the per-sample kernel does not cover this configuration, or None when it does.

    Covered: the built-in activations (softmax on the output layer only), the built-in losses and
    the optimizers SGD (with or without (Nesterov) momentum), Adam and AdamW, at a constant rate
    or a schedule; subclasses are not (their formulas may differ).
    """
    for index, layer in enumerate(layers):
        kind = type(layer.activation)
        if kind not in _ACTIVATIONS:
            return f"layer {index}'s activation {layer.activation.name!r} has no compiled kernel"
        if kind is act.Softmax and index < len(layers) - 1:
            return f"layer {index} is a hidden softmax layer, which has no compiled kernel"
    if type(loss) not in _LOSSES:
        return f"the loss {loss.name!r} has no compiled kernel"
    return optimizer_not_covered(optimizer)


def optimizer_not_covered(optimizer: object) -> str | None:
    """Why the compiled update (:class:`FlatStep`, and the update inside :class:`SampleEpoch`)
    does not cover ``optimizer``, or None when it does: SGD (with or without (Nesterov)
    momentum), Adam and AdamW, not subclasses (their rule may differ)."""
    name = getattr(optimizer, "name", "")
    if type(optimizer).__module__ != _OPTIMIZER_MODULE or name not in ("sgd", "adam", "adamw"):
        return f"the optimizer {type(optimizer).__name__} has no compiled kernel"
    return None


def activation_passes(
    activation: act.Activation, z: np.ndarray, a: np.ndarray, dz: np.ndarray, grad: np.ndarray
) -> tuple[Callable[..., np.ndarray] | None, Callable[..., np.ndarray] | None]:
    """Compiled replacements for ``activation.forward`` and ``activation.backward`` of a
    mini-batch layer (same arguments, the same numbers), each None where NumPy's stays: for
    activations without a kernel, and for all when numba is unavailable or fails to compile.

    ``z``, ``a``, ``dz`` and ``grad`` are the layer's buffers (``z``, its output ``a``, ``dL/dz``
    and the ``dL/da`` it receives): the kernels are compiled for them here, by one call that
    writes only scratch values into ``a`` and ``dz``, so that a failure falls back before
    training starts.
    """
    kind = type(activation)
    if kind not in (act.ReLU, act.LeakyReLU, act.Sigmoid, act.Tanh) or unavailable() is not None:
        return None, None
    dtype = z.dtype.type
    zero, one = dtype(0.0), dtype(1.0)
    forward: Callable[..., np.ndarray] | None = None
    if kind is act.ReLU:
        forward = functools.partial(_relu_forward, zero)
        backward = functools.partial(_relu_backward, zero, one)
    elif kind is act.LeakyReLU:
        alpha = dtype(activation.alpha)  # type: ignore[attr-defined]
        backward = functools.partial(_leaky_relu_backward, zero, one, alpha)
    else:
        kernel = _sigmoid_backward if kind is act.Sigmoid else _tanh_backward
        backward = functools.partial(kernel, one)
    saved = z if activation.derivative_uses == "z" else a
    try:
        if forward is not None:
            forward(z, a)
        backward(grad, saved, dz)
    except Exception as error:
        if not _compile_error(error):
            raise
        _failed(error)
        return None, None
    return forward, backward


def _optimizer_rule(optimizer: Any, dtype: np.dtype) -> tuple[int, np.ndarray, np.ndarray]:
    """The update's code, its constants in the parameters' dtype (as the NumPy path's 0-d
    arrays), and ``beta_1``, ``beta_2``, ``weight_decay`` as the Python floats that Adam's
    bias corrections and AdamW's shrink factor are computed from."""
    if optimizer.name == "sgd":
        # momentum is on where the optimizer keeps a velocity, as in SGD._update: its slots are
        # fixed at construction, so a momentum set on the object later is not followed (and the
        # kernel never writes to a velocity that does not exist)
        if not optimizer.slot_names:
            rule = _SGD
        else:
            rule = _NESTEROV if optimizer.nesterov else _MOMENTUM
        return rule, np.array([optimizer.momentum], dtype), np.zeros(3)
    b1, b2 = optimizer.beta_1, optimizer.beta_2
    decay = getattr(optimizer, "weight_decay", 0.0)
    hyper = np.array([b1, 1.0 - b1, b2, 1.0 - b2, optimizer.epsilon], dtype)
    rule = _ADAMW if optimizer.name == "adamw" else _ADAM
    return rule, hyper, np.array([b1, b2, decay])


class FlatStep:
    """One optimizer step of a mini-batch over the flat parameter vector, in compiled code: the
    rule's whole-array passes (twelve for Adam) fused into one loop, bit-identical to NumPy's
    (the same operations on each element, in the same order and dtype). A function of no
    arguments, like :meth:`Optimizer.stepper`'s, and valid as long as that is (until the
    optimizer's settings change). The matrix products of a mini-batch stay with NumPy's BLAS.

    Measured (``benchmarks/kernels.py``, one process, interleaved, medians; 2 shared cores):
    Adam over case C's 535,818 float32 parameters 105-108 µs against NumPy's 506-510 µs, on
    the moons network's 2,702 float64 parameters 2 µs against 8-10 µs. The same loop split
    over the two cores with ``prange`` took 470 µs alone and 7,100 µs right after a matrix
    product (OpenBLAS's worker spins on the other core), so it runs on one thread.

    Parameters
    ----------
    optimizer : SGD, Adam or AdamW
        Read for its learning rate and step count, which the step advances.
    slots : dict of ndarray
        The optimizer's state for the flat vector (``velocity``, or ``m`` and ``v``).
    parameters, gradients : ndarray of shape (n_parameters,)
    fallback : callable
        The optimizer's own stepper, used when numba fails to compile (warned once).
    """

    def __init__(
        self,
        optimizer: Any,
        slots: dict[str, np.ndarray],
        parameters: np.ndarray,
        gradients: np.ndarray,
        fallback: Callable[[], None],
    ) -> None:
        self.optimizer, self.parameters, self.gradients = optimizer, parameters, gradients
        self.rule, self.hyper, self.floats = _optimizer_rule(optimizer, parameters.dtype)
        empty = np.empty(0, parameters.dtype)
        self.slot_1 = slots.get("velocity", slots.get("m", empty))
        self.slot_2 = slots.get("v", empty)
        self.scalar = np.zeros(1, parameters.dtype)
        self.fallback = fallback
        #: False until the compiled update has run once, and again after it failed to compile
        self.compiled = False

    def __call__(self) -> None:
        optimizer = self.optimizer
        if not self.compiled and unavailable() is not None:
            return self.fallback()
        step = optimizer.iterations + 1
        rate = optimizer.learning_rate
        if rate.__class__ is not float:  # a schedule, or an int or NumPy scalar set later
            rate = float(optimizer.current_learning_rate)
        try:
            _update(
                self.rule,
                self.parameters,
                self.gradients,
                self.slot_1,
                self.slot_2,
                self.hyper,
                self.floats,
                rate,
                step,
                self.scalar,
            )
        except Exception as error:
            if self.compiled or not _compile_error(error):
                raise
            _failed(error)  # compiling comes first: nothing has changed
            return self.fallback()
        self.compiled = True
        optimizer.iterations = step
        return None


class SampleEpoch:
    """The compiled training of one network, for samples ``start … stop − 1``: one sample per
    step (:func:`_sample_epoch`), or batches of ``batch`` samples (:func:`_batch_epoch`).

    Built for the network's layers, loss, L2 penalty and optimizer as they are (the network
    builds one per epoch); call it like ``training.loop._run_steps``.

    Parameters
    ----------
    layers : sequence of Layer
    loss : Loss
    optimizer : SGD, Adam or AdamW
        Read for its settings and its step count; its state arrays are ``slots``.
    slots : dict of ndarray
        The optimizer's state for the flat parameter vector (``velocity``, or ``m`` and ``v``).
    parameters, gradients : ndarray of shape (n_parameters,)
        The network's flat vectors, updated in place.
    l2 : float
    l2_scaling : {"constant", "batch"}
    batch : int, default=1
        Samples per step.
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        loss: lo.Loss,
        optimizer: Any,
        slots: dict[str, np.ndarray],
        parameters: np.ndarray,
        gradients: np.ndarray,
        l2: float,
        l2_scaling: str,
        batch: int = 1,
    ) -> None:
        dtype = parameters.dtype
        sizes = [layers[0].n_inputs, *(layer.n_outputs for layer in layers)]
        self.sizes = np.array(sizes, np.int64)
        blocks = [(n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes)]
        self.offsets = np.cumsum([0, *blocks[:-1]]).astype(np.int64)
        self.units = np.cumsum([0, *sizes[1:-1]]).astype(np.int64)
        width = sum(sizes[1:])
        self.codes = np.array([_ACTIVATIONS[type(layer.activation)] for layer in layers], np.int64)
        self.alphas = np.array([getattr(layer.activation, "alpha", 0.0) for layer in layers], dtype)
        self.constants = np.array(
            [0.5, 1.0, act.exp_floor(dtype), act.exp_ceiling(dtype), 0.0], dtype
        )
        self.loss_code = _LOSSES[type(loss)]
        self.fused = loss.fused_activation is not None
        self.delta = dtype.type(getattr(loss, "delta", 1.0))
        self.optimizer, self.parameters, self.gradients = optimizer, parameters, gradients
        empty = np.empty(0, dtype)
        self.slot_1 = slots.get("velocity", slots.get("m", empty))
        self.slot_2 = slots.get("v", empty)
        self.l2, self.l2_by_batch = float(l2), l2_scaling == "batch"
        self.batch = batch
        if batch == 1:
            self.buffers = tuple(np.zeros(width, dtype) for _ in range(3))
        else:  # batch rows per layer; each hidden layer's output rows end in a 1
            rows = [n + 1 for n in sizes[1:-1]]
            self.a_starts = batch * np.cumsum([0, *rows[:-1]]).astype(np.int64)
            z, dz = np.zeros(batch * width, dtype), np.zeros(batch * width, dtype)
            self.buffers = (z, np.ones(batch * sum(rows), dtype), dz)
        self.grad_a = np.zeros(batch * max(sizes), dtype)
        self.loss_grad = np.zeros(sizes[-1], dtype)
        self.scalar = np.zeros(1, dtype)
        self.no_weights = empty

    @staticmethod
    def _run(batch: int, *arguments: Any) -> float:
        if batch == 1:
            return float(_sample_epoch(*arguments))
        x, targets, weights, outputs, start, stop, parameters, gradients, *rest = arguments
        return float(
            _batch_epoch(
                x, targets, weights, outputs, start, stop, batch, parameters, gradients, *rest
            )
        )

    def __call__(
        self,
        x: np.ndarray,
        targets: np.ndarray,
        weights: np.ndarray | None,
        outputs: np.ndarray,
        start: int,
        stop: int,
    ) -> float | None:
        """Train on samples ``start … stop − 1`` of ``x`` (with its column of ones), ``start`` a
        multiple of the batch; write their outputs into ``outputs``; return the sum of the
        steps' L2 penalties (each times its batch's size or weight).

        Returns None, having changed nothing, when numba fails to compile the kernel (warned
        once; :func:`unavailable` says why from then on): train with NumPy instead.
        """
        optimizer = self.optimizer
        t0 = optimizer.iterations
        n_steps = -(-(stop - start) // self.batch)
        rate = optimizer.learning_rate
        if isinstance(rate, numbers.Real):  # (also an int or NumPy scalar set after construction)
            rates = np.full(n_steps, float(rate))
        else:  # a schedule of the step count, as Optimizer.current_learning_rate reads it
            rates = np.array([float(rate(t)) for t in range(t0, t0 + n_steps)])
        rule, hyper, floats = _optimizer_rule(optimizer, self.parameters.dtype)
        z, a, dz = self.buffers
        layout: tuple[np.ndarray, ...] = (self.sizes, self.offsets, self.units)
        if self.batch != 1:
            layout = (*layout, self.a_starts)
        try:
            penalty = self._run(
                self.batch,
                x,
                targets,
                self.no_weights if weights is None else weights,
                outputs,
                start,
                stop,
                self.parameters,
                self.gradients,
                *layout,
                self.codes,
                self.alphas,
                self.constants,
                self.loss_code,
                self.fused,
                self.delta,
                rule,
                hyper,
                floats,
                rates,
                t0,
                self.slot_1,
                self.slot_2,
                self.scalar,
                self.l2,
                self.l2_by_batch,
                z,
                a,
                dz,
                self.grad_a,
                self.loss_grad,
            )
        except Exception as error:
            # numba compiles on the first call for a dtype, before any sample is trained
            if not _compile_error(error):
                raise
            _failed(error)
            return None
        optimizer.iterations = t0 + n_steps
        return float(penalty)
