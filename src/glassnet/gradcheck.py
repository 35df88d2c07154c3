"""Finite-difference check of a network's analytic gradients.

Use it when you write your own activation or loss: if ``gradcheck`` returns more than about 1e-6,
the derivative and the function disagree somewhere.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_float
from .network import NeuralNetwork

__all__ = ["gradcheck"]


def _relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = max(float(np.abs(analytic).max(initial=0.0)), float(np.abs(numeric).max(initial=0.0)))
    if scale == 0.0:
        return 0.0
    return float(np.abs(analytic - numeric).max()) / scale


def gradcheck(
    network: NeuralNetwork,
    x: object,
    y: object,
    *,
    sample_weight: object = None,
    epsilon: float = 1e-6,
    details: bool = False,
) -> float | dict[str, float]:
    """Compare back-propagated gradients with central finite differences, in float64.

    Every parameter ``p`` (and every input value) is moved by ``±epsilon`` and the loss
    re-evaluated: ``(L(p + ε) − L(p − ε)) / 2ε`` estimates ``dL/dp`` with an error of order ε².
    The network itself is not changed: the check runs on a float64 copy.

    Parameters
    ----------
    network : NeuralNetwork
    x : array-like of shape (n_samples, n_inputs)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        As for :meth:`NeuralNetwork.train`.
    sample_weight : array-like of shape (n_samples,), optional
    epsilon : float, default=1e-6
        The finite-difference step.
    details : bool, default=False
        Return the error of every array instead of the largest.

    Returns
    -------
    float
        The largest relative error over the parameter arrays and the input, where the error of
        an array is ``max|analytic − numeric| / max(max|analytic|, max|numeric|)``.
    dict, if ``details``
        ``{"layers.0.weights": error, "layers.0.bias": error, ..., "input": error}``.
    """
    if not isinstance(network, NeuralNetwork):
        raise TypeError(f"gradcheck expects a NeuralNetwork, got {type(network).__name__}")
    epsilon = check_float(epsilon, "epsilon", minimum=0.0, include_minimum=False)
    net = network.astype("float64")
    data = net.prepare(x, y, sample_weight)
    x_arr, targets, weights = data.x.copy(), data.targets, data.sample_weight
    plan = net.step_plan(x_arr.shape[0])
    _, input_gradient = plan.value_and_gradients(x_arr, targets, weights, input_gradient=True)
    _refuse_kinks(net, plan.steps, x_arr, epsilon)
    analytic_input = input_gradient.copy()  # type: ignore[union-attr]
    analytic_params = net.gradients.copy()

    def loss() -> float:
        return net.loss_and_output(x_arr, targets, weights)[0]

    def numeric_gradient(values: np.ndarray) -> np.ndarray:
        flat = values.reshape(-1)
        result = np.empty(flat.size)
        for index in range(flat.size):
            original = flat[index]
            flat[index] = original + epsilon
            plus = loss()
            flat[index] = original - epsilon
            minus = loss()
            flat[index] = original
            result[index] = (plus - minus) / (2.0 * epsilon)
        return result.reshape(values.shape)

    numeric_params = numeric_gradient(net.parameters)
    numeric_input = numeric_gradient(x_arr)

    errors: dict[str, float] = {}
    for index, layer in enumerate(net.layers):
        for name, array in (("weights", layer.weights), ("bias", layer.bias)):
            where = _slice_of(net.parameters, array)
            errors[f"layers.{index}.{name}"] = _relative_error(
                analytic_params[where], numeric_params[where]
            )
    errors["input"] = _relative_error(analytic_input, numeric_input)
    return errors if details else max(errors.values())


def _refuse_kinks(net: NeuralNetwork, steps: list, x: np.ndarray, epsilon: float) -> None:
    """Raise ``ValueError`` when a pre-activation sits so close to a kink of its activation
    (ReLU's at 0, say) that a step of ``epsilon`` crosses it: the function has no derivative
    there, so no finite difference can confirm one."""
    layer_input = x
    for index, (layer, step) in enumerate(zip(net.layers, steps)):
        # how far z can move when one weight, bias or input moves by epsilon
        reach = 2 * epsilon * (1 + np.abs(layer_input).max() + np.abs(layer.weights).sum(0).max())
        for kink in layer.activation.kinks:
            close = int((np.abs(step.z - kink) <= reach).sum())
            if close:
                raise ValueError(
                    f"gradcheck is undefined here: {close} value(s) of layer {index}'s "
                    f"pre-activation z lie within {reach:.1g} of {layer.activation.name}'s kink "
                    f"at z = {kink:g}, where it has no derivative; move the inputs or the "
                    "parameters off the kink"
                )
        layer_input = step.a
    return None


def _slice_of(flat: np.ndarray, view: np.ndarray) -> slice:
    """The slice of ``flat`` that ``view`` looks at."""
    start = (
        view.__array_interface__["data"][0] - flat.__array_interface__["data"][0]
    ) // flat.itemsize
    return slice(start, start + view.size)
