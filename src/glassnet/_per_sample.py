"""Per-sample training (batch size 1, the seed's setting) with the Python overhead taken out.

A per-sample step is some forty NumPy calls on arrays of a few dozen numbers, each costing well
under a microsecond, so the Python around them (method lookups, buffer bookkeeping, turning each
step's loss into a float) would cost as much as the arithmetic. :func:`run` does exactly the
arithmetic of the general loop in :mod:`glassnet.training`, with the same layer buffers,
activation and loss functions and optimizer, so the parameters come out bit for bit the same;
it looks everything up once per epoch instead of once per step, and it leaves the loss value to
the end of the epoch: each sample's output (or logits) goes into a row of ``outputs``, and the
caller evaluates the loss on all rows at once, which gives the same per-sample losses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .network import NeuralNetwork


def usable(network: NeuralNetwork, batch: int, sample_weight: np.ndarray | None, x_source: np.ndarray) -> bool:
    """Whether :func:`run` can train this run: one sample per step, no sample weights, no L2
    (whose penalty depends on the parameters of each step), inputs with the ones column."""
    return batch == 1 and sample_weight is None and not network.l2 and x_source.shape[1] == network.n_inputs + 1


def run(network: NeuralNetwork, x: np.ndarray, targets: np.ndarray, outputs: np.ndarray, start: int, fused: bool, interrupt) -> int:
    """Train on the rows ``start:`` of ``x``, one sample per step, in order.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_inputs + 1)
        The inputs with a last column of ones.
    targets : ndarray of shape (n_samples, n_outputs)
    outputs : ndarray of shape (n_samples, n_outputs)
        Receives each sample's output before its step (its logits when ``fused``).
    interrupt : object with a ``requested`` attribute
        Checked after every step.

    Returns
    -------
    int
        The index after the last sample trained on: ``len(x)``, or less after an interrupt.
    """
    layers = network._layers
    dtype = network.dtype
    dot, multiply = np.dot, np.multiply
    # the hidden layers' outputs side by side in one row, each followed by a 1 (which folds the
    # next layer's bias into its product); consecutive layers with the same activation then get
    # the derivatives of that activation in one pass, d[k] = f'(a[k])
    widths = [layer.n_outputs + 1 for layer in layers[:-1]]
    ends = np.cumsum(widths).tolist()
    outputs_row = np.ones((1, sum(widths)), dtype)
    derivatives_row = np.empty_like(outputs_row)
    plans, groups = [], []
    for k, layer in enumerate(layers):
        z, _, _, dz, grad_input, keeps_z, activation, _, _ = layer._buffers_of(1)
        forward, backward, derivative = activation.kernels(dtype)
        if k < len(layers) - 1:
            offset = ends[k] - widths[k]
            output, a = outputs_row[:, offset : ends[k]], outputs_row[:, offset : ends[k] - 1]
            saved = z if keeps_z else a
            if derivative is not None and not keeps_z:
                config = activation.get_config()
                if groups and groups[-1][0] == config and groups[-1][3] == offset - 1:
                    groups[-1][3] = ends[k] - 1
                else:
                    groups.append([config, derivative, offset, ends[k] - 1])
                backward, saved = multiply, derivatives_row[:, offset : ends[k] - 1]
        else:
            output = a = saved = None
        plans.append((layer._packed, layer._grad_packed, layer._weights.T, z, output, a, dz, grad_input, forward, backward, saved))
    groups = [(derivative, outputs_row[:, first:last], derivatives_row[:, first:last]) for _, derivative, first, last in groups]
    hidden = plans[:-1]
    # the backward pass of hidden layers above the first: (input^T, backward, saved, dz, grad, W^T, dL/dinput)
    upper = [
        (plans[k - 1][4].T, plans[k][9], plans[k][10], plans[k][6], plans[k][1], plans[k][2], plans[k][7])
        for k in range(len(plans) - 2, 0, -1)
    ]
    out_packed, out_grad, out_wt, out_z, _, _, out_dz, out_gi, out_forward, out_backward, _ = plans[-1]
    out_keeps_z = layers[-1].activation.derivative_uses == "z"
    loss = network.loss
    gradient = loss.gradient_from_logits if fused else loss.gradient
    loss_grad = np.empty_like(out_z)
    step = network.optimizer.stepper(network._param_list, network._grad_list)
    if hidden:
        first_backward, first_saved, first_dz, first_grad = plans[0][9], plans[0][10], plans[0][6], plans[0][1]
        top_input_t = plans[-2][4].T
    rows = zip(x[start:, None], x[start:, :, None], targets[start:, None], outputs[start:, None])
    for i, (row, column, target, out_row) in enumerate(rows, start):
        h = row
        for packed, _, _, z, output, a, _, _, forward, _, _ in hidden:
            dot(h, packed, z)
            forward(z, out=a)
            h = output
        for derivative, values, into in groups:
            derivative(values, out=into)
        if fused:
            dot(h, out_packed, out_row)  # the logits
            dz = gradient(out_row, target, None, out=out_dz)
        else:
            dot(h, out_packed, out_z)
            out_forward(out_z, out=out_row)
            gradient(out_row, target, None, out=loss_grad)
            dz = out_backward(loss_grad, out_z if out_keeps_z else out_row, out=out_dz)
        if hidden:
            dot(top_input_t, dz, out_grad)
            g = dot(dz, out_wt, out_gi)
            for inputs_t, backward, saved, dz_buffer, grad, weights_t, grad_input in upper:
                dz = backward(g, saved, out=dz_buffer)
                dot(inputs_t, dz, grad)
                g = dot(dz, weights_t, grad_input)
            dz = first_backward(g, first_saved, out=first_dz)
            dot(column, dz, first_grad)
        else:
            dot(column, dz, out_grad)
        step()
        if interrupt.requested:
            return i + 1
    return x.shape[0]
