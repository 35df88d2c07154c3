"""Two kernel choices of the engine, each beside the form it replaced, in one process.

    .venv/bin/python benchmarks/kernels.py

- ReLU: ``np.maximum`` against an array of zeros (what :class:`glassnet.ReLU` does) and against
  the scalar 0, for the shapes of cases B and C.
- Adam: glassnet's update, scaling each moment in place (``m *= b1; m += (1 - b1) g``), and the
  lerp form ``m += (1 - b1) (g - m)``, on case C's 535,818 float32 parameters.

The two forms take turns; each line gives the median over the repetitions, in µs per call.
"""

from __future__ import annotations

import time
from statistics import median

import numpy as np

import glassnet as gn


def timed(function, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        function()
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


if __name__ == "__main__":
    relu_forms()
    adam_forms()
