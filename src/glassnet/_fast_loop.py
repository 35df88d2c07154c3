"""The training loop's inner part, with the Python overhead taken out.

For the networks this library is mostly used on, a training step is some forty NumPy calls on
arrays of a few dozen to a few thousand numbers, each costing around a microsecond, so the Python
around them (method lookups, buffer bookkeeping, shape checks) would cost a good part of the
step. :func:`run` does exactly the arithmetic of the general loop in :mod:`glassnet.training`,
with the same layer buffers, activation and loss functions and optimizer, so the parameters come
out bit for bit the same; it looks everything up once per epoch instead of once per step. Like
the general loop, it leaves the loss value to the end of the epoch: each sample's output (or
logits) goes into a row of ``outputs``, and the caller evaluates the loss on all rows at once.

With one sample per step (the seed's setting), the hidden layers' outputs sit side by side in one
row, so that consecutive layers with the same activation get their derivatives in one pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .network import NeuralNetwork


def usable(network: NeuralNetwork, x_epoch: np.ndarray | None) -> bool:
    """Whether :func:`run` can train this run: inputs already in memory with the ones column,
    and no L2 (whose gradient the general loop adds)."""
    return x_epoch is not None and not network.l2 and x_epoch.shape[1] == network.n_inputs + 1


def run(
    network: NeuralNetwork,
    x: np.ndarray,
    targets: np.ndarray,
    sample_weight: np.ndarray | None,
    outputs: np.ndarray,
    first_batch: int,
    batch: int,
    fused: bool,
    interrupt,
) -> int:
    """Train on the full batches of ``x`` from batch number ``first_batch`` on, in order.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_inputs + 1)
        The inputs with a last column of ones.
    targets : ndarray of shape (n_samples, n_outputs)
    sample_weight : ndarray of shape (n_samples,) or None
    outputs : ndarray of shape (n_samples, n_outputs)
        Receives each sample's output before its step (its logits when ``fused``).
    batch : int
        Samples per step. A last, smaller batch is left to the caller.
    interrupt : object with a ``requested`` attribute
        Checked after every step.

    Returns
    -------
    int
        The number of the next batch to train on: that of the last, smaller batch (or the
        number of batches when there is none), or less after an interrupt.
    """
    n_full = x.shape[0] // batch
    if first_batch >= n_full:
        return first_batch
    layers = network._layers
    dtype = network.dtype
    dot, multiply = np.dot, np.multiply
    hidden_layers = layers[:-1]
    if batch == 1:
        # the hidden outputs side by side, each followed by the 1 that folds the next layer's bias
        # into its product; runs of layers with the same activation share one derivative pass
        widths = [layer.n_outputs + 1 for layer in hidden_layers]
        ends = np.cumsum(widths).tolist()
        row = np.ones((1, sum(widths)), dtype)
        derivatives_row = np.empty_like(row)
        hidden_outputs = [row[:, end - width : end] for width, end in zip(widths, ends)]
    else:
        hidden_outputs = [layer._buffers_of(batch)[1] for layer in hidden_layers]
    plans, groups = [], []
    for k, layer in enumerate(layers):
        z, _, _, dz, grad_input, keeps_z, activation, _, _ = layer._buffers_of(batch)
        forward, backward, derivative = activation.kernels(dtype)
        output = a = saved = None
        if k < len(hidden_layers):
            output = hidden_outputs[k]
            a = output[:, :-1]
            saved = z if keeps_z else a
            if batch == 1 and derivative is not None and not keeps_z:
                first, last = ends[k] - widths[k], ends[k] - 1
                config = activation.get_config()
                if groups and groups[-1][0] == config and groups[-1][3] == first - 1:
                    groups[-1][3] = last
                else:
                    groups.append([config, derivative, first, last])
                backward, saved = multiply, derivatives_row[:, first:last]
        plans.append((layer._packed, layer._grad_packed, layer._weights.T, z, output, a, dz, grad_input, forward, backward, saved))
    groups = [(derivative, row[:, first:last], derivatives_row[:, first:last]) for _, derivative, first, last in groups]
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
    # the batches as views, made in one go: (x rows, x rows transposed, targets, weights, outputs)
    start, stop = first_batch * batch, n_full * batch
    shape = (n_full - first_batch, batch)
    batches = zip(
        x[start:stop].reshape(*shape, -1),
        x[start:stop].reshape(*shape, -1).transpose(0, 2, 1),
        targets[start:stop].reshape(*shape, -1),
        [None] * shape[0] if sample_weight is None else sample_weight[start:stop].reshape(shape),
        outputs[start:stop].reshape(*shape, -1),
    )
    for number, (inputs, inputs_t, target, weight, out_rows) in enumerate(batches, first_batch):
        h = inputs
        for packed, _, _, z, output, a, _, _, forward, _, _ in hidden:
            dot(h, packed, z)
            forward(z, out=a)
            h = output
        for derivative, values, into in groups:
            derivative(values, out=into)
        if fused:
            dot(h, out_packed, out_rows)  # the logits
            dz = gradient(out_rows, target, weight, out=out_dz)
        else:
            dot(h, out_packed, out_z)
            out_forward(out_z, out=out_rows)
            gradient(out_rows, target, weight, out=loss_grad)
            dz = out_backward(loss_grad, out_z if out_keeps_z else out_rows, out=out_dz)
        if hidden:
            dot(top_input_t, dz, out_grad)
            g = dot(dz, out_wt, out_gi)
            for inputs_above_t, backward, saved, dz_buffer, grad, weights_t, grad_input in upper:
                dz = backward(g, saved, out=dz_buffer)
                dot(inputs_above_t, dz, grad)
                g = dot(dz, weights_t, grad_input)
            dz = first_backward(g, first_saved, out=first_dz)
            dot(inputs_t, dz, first_grad)
        else:
            dot(inputs_t, dz, out_grad)
        step()
        if interrupt.requested:
            return number + 1
    return n_full
