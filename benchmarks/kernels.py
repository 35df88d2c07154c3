"""Kernel choices of the engine, each beside the form it replaced, in one process.

    .venv/bin/python benchmarks/kernels.py

- ReLU: ``np.maximum`` against an array of zeros (what :class:`glassnet.ReLU` does) and against
  the scalar 0, for the shapes of cases B and C.
- Adam: glassnet's update, scaling each moment in place (``m *= b1; m += (1 - b1) g``), and the
  lerp form ``m += (1 - b1) (g - m)``, on case C's 535,818 float32 parameters.

- With numba (``glassnet[fast]``), the compiled mini-batch kernels of
  :mod:`glassnet.model.kernels` against NumPy's passes: the fused optimizer update on case C's
  parameters (float32) and the moons network's (float64), alone and right after a matrix
  product, serial and split over the cores with ``prange`` (a form kept here only, to measure),
  and with numba's default ``error_model="python"`` (the form that stayed scalar); the
  activations' one-pass backward and ReLU's forward; softmax with its cross-entropy gradient
  (left to NumPy).

The forms take turns; each line gives the median over the repetitions, in µs per call.
"""

from __future__ import annotations

import time
from functools import partial
from statistics import median

import numpy as np

import glassnet as gn


def timed(function, calls: int) -> float:
    """µs per call; a function that returns its own seconds (see _after) is timed by them."""
    started = time.perf_counter()
    own = 0.0
    for _ in range(calls):
        own += function() or 0.0
    if own:
        return 1e6 * own / calls
    return 1e6 * (time.perf_counter() - started) / calls


def compare(label: str, forms: dict, calls: int, repeats: int = 9) -> None:
    times: dict = {name: [] for name in forms}
    for _ in range(repeats):
        for name, function in forms.items():
            times[name].append(timed(function, calls))
    print(
        f"{label:44s} "
        + "   ".join(f"{name}: {median(values):8.2f}" for name, values in times.items())
    )


def relu_forms() -> None:
    relu = gn.activations.ReLU()
    rng = np.random.default_rng(0)
    for dtype, shape in [
        (np.float64, (32, 25)),
        (np.float64, (32, 50)),
        (np.float32, (256, 256)),
        (np.float32, (256, 512)),
    ]:
        z = rng.standard_normal(shape).astype(dtype)
        out = np.empty_like(z)
        calls = max(20, 2_000_000 // z.size)
        forms = {
            "zeros array": lambda z=z, out=out: relu.forward(z, out=out),
            "scalar 0": lambda z=z, out=out: np.maximum(
                z, gn.activations.constant(0.0, z.dtype), out=out
            ),  # former
        }
        compare(f"ReLU forward {shape} {np.dtype(dtype).name}", forms, calls)


def adam_forms(n: int = 535_818) -> None:
    rng = np.random.default_rng(0)
    param, grad = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
    adam = gn.Adam(learning_rate=1e-3)
    adam.step([param], [grad])  # binds the slots and scratch
    slot, scratch = adam._slots[0], adam._scratch[0]
    c1, c2, eps, step = (np.array(x, np.float32) for x in (0.1, 0.001, 1e-8, 1e-3))

    def lerp_form():  # the former update
        m, v = slot["m"], slot["v"]
        np.subtract(grad, m, scratch)
        np.multiply(scratch, c1, scratch)
        np.add(m, scratch, m)
        np.multiply(grad, grad, scratch)
        np.subtract(scratch, v, scratch)
        np.multiply(scratch, c2, scratch)
        np.add(v, scratch, v)
        np.sqrt(v, scratch)
        np.add(scratch, eps, scratch)
        np.divide(m, scratch, scratch)
        np.multiply(scratch, step, scratch)
        np.subtract(param, scratch, param)

    forms = {"glassnet": lambda: adam._update(param, grad, slot, scratch), "lerp form": lerp_form}
    compare(f"Adam update, {n:,} float32 parameters", forms, calls=50)


def _after(product, function, *arguments):
    """``function(*arguments)``, after the matrix product ``product = (a, b, out)`` if given;
    then returns the seconds of ``function`` alone."""
    if product is not None:
        np.dot(*product)
        started = time.perf_counter()
        function(*arguments)
        return time.perf_counter() - started
    function(*arguments)
    return None


def compiled_update_forms() -> None:
    import numba

    from glassnet.model import kernels

    if kernels.unavailable():
        print("numba unavailable:", kernels.unavailable())
        return
    update = kernels._update  # the library's kernel: error_model="numpy", serial

    def body(params, grads, m_, v_, b1, omb1, b2, omb2, eps, step):
        for p in range(params.shape[0]):
            g = grads[p]
            m = m_[p] * b1 + g * omb1
            v = v_[p] * b2 + (g * g) * omb2
            m_[p] = m
            v_[p] = v
            params[p] -= (m / (np.sqrt(v) + eps)) * step

    def halves(params, grads, m_, v_, b1, omb1, b2, omb2, eps, step):
        n = params.shape[0]
        size = (n + 1) // 2
        for half in numba.prange(2):
            for p in range(half * size, min(n, (half + 1) * size)):
                g = grads[p]
                m = m_[p] * b1 + g * omb1
                v = v_[p] * b2 + (g * g) * omb2
                m_[p] = m
                v_[p] = v
                params[p] -= (m / (np.sqrt(v) + eps)) * step

    python_model = numba.njit(error_model="python")(body)
    split = numba.njit(error_model="numpy", parallel=True)(halves)
    rng = np.random.default_rng(0)
    for n, dtype in [(535_818, np.float32), (2_702, np.float64)]:
        param = rng.standard_normal(n).astype(dtype)
        grad = rng.standard_normal(n).astype(dtype)
        adam = gn.Adam(learning_rate=1e-3)
        adam.step([param], [grad])
        slot, scratch = adam._slots[0], adam._scratch[0]
        m, v = slot["m"], slot["v"]
        rule, hyper, floats = kernels._optimizer_rule(adam, np.dtype(dtype))
        scalar = np.zeros(1, dtype)
        constants = [dtype(x) for x in (0.9, 0.1, 0.999, 0.001, 1e-8, 1e-3)]
        a = rng.standard_normal((256, 784), dtype=np.float32)  # case C's first product
        w = rng.standard_normal((784, 512), dtype=np.float32)
        product = np.empty((256, 512), np.float32)
        for after_product in (False, True):
            product_first = (a, w, product) if after_product else None
            forms = {
                "NumPy": partial(_after, product_first, adam._update, param, grad, slot, scratch),
                "numba": partial(
                    _after,
                    product_first,
                    update,
                    rule,
                    param,
                    grad,
                    m,
                    v,
                    hyper,
                    floats,
                    1e-3,
                    2,
                    scalar,
                ),
                "numba prange": partial(
                    _after, product_first, split, param, grad, m, v, *constants
                ),
                "error_model=python": partial(
                    _after, product_first, python_model, param, grad, m, v, *constants
                ),
            }
            where = "after a 256x784x512 float32 product" if after_product else "alone"
            label = f"Adam {n:,} {np.dtype(dtype).name}, {where}"
            compare(label, forms, calls=20)


def compiled_activation_forms() -> None:
    from glassnet.model import kernels, losses

    if kernels.unavailable():
        return
    rng = np.random.default_rng(0)
    for dtype, shape in [
        (np.float64, (32, 25)),
        (np.float64, (32, 50)),
        (np.float32, (256, 256)),
        (np.float32, (256, 512)),
    ]:
        z = rng.standard_normal(shape).astype(dtype)
        grad = rng.standard_normal(shape).astype(dtype)
        output = np.ones((shape[0], shape[1] + 1), dtype)
        a, out = output[:, :-1], np.empty_like(z)
        calls = max(20, 2_000_000 // z.size)
        for activation in (gn.activations.ReLU(), gn.activations.Sigmoid()):
            forward, backward = kernels.activation_passes(activation, z, a, out, grad)
            saved = z if activation.derivative_uses == "z" else a
            name = f"{activation.name} {shape} {np.dtype(dtype).name}"
            compare(
                f"{name} backward",
                {
                    "NumPy": partial(activation.backward, grad, saved, out),
                    "numba": partial(backward, grad, saved, out),
                },
                calls,
            )
            if forward is not None:
                compare(
                    f"{name} forward",
                    {
                        "NumPy": partial(activation.forward, z, a),
                        "numba": partial(forward, z, a),
                    },
                    calls,
                )
    compiled = kernels._loss_gradient
    import numba

    @numba.njit(error_model="numpy")
    def softmax_cross_entropy(z, target, out, scale, c):
        for r in range(z.shape[0]):
            compiled(3, c[1], z[r], z[r], target[r], out[r], c)
            for j in range(out.shape[1]):
                out[r, j] *= scale

    loss = losses.CrossEntropy()
    for dtype, shape in [(np.float64, (32, 2)), (np.float32, (256, 10))]:
        z = rng.standard_normal(shape).astype(dtype)
        target = np.eye(shape[1], dtype=dtype)[rng.integers(0, shape[1], shape[0])]
        out = np.empty_like(z)
        c = np.array(
            [0.5, 1, gn.activations.exp_floor(z.dtype), gn.activations.exp_ceiling(z.dtype), 0],
            dtype,
        )
        scale = dtype(1.0 / shape[0])
        compare(
            f"softmax + cross-entropy gradient {shape}",
            {
                "NumPy": partial(loss.gradient_from_logits, z, target, None, out),
                "numba (not used)": partial(softmax_cross_entropy, z, target, out, scale, c),
            },
            2000,
        )


if __name__ == "__main__":
    relu_forms()
    adam_forms()
    compiled_update_forms()
    compiled_activation_forms()
