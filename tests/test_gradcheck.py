import numpy as np
import pytest

import glassnet as gn
from glassnet import activations, losses

WIDTHS = {1: [3, 4], 2: [3, 5, 4], 4: [3, 5, 6, 4, 4]}


def build(activation, loss, depth, dtype="float64", l2=0.0):
    fused = losses.get(loss).fused_activation
    net = gn.NeuralNetwork(loss=loss, l2=l2, random_state=depth, dtype=dtype)
    sizes = WIDTHS[depth]
    for index in range(depth):
        last = index == depth - 1
        act = (fused or activation) if last else activation
        net.add_layer(gn.Layer(sizes[index], sizes[index + 1], act, "glorot_normal"))
    return net


def data(loss, batch, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, 3))
    if losses.get(loss).for_classification:
        return x, rng.integers(0, 4, batch)
    if loss == "poisson":  # counts: negative targets are refused
        return x, rng.poisson(1.5, size=(batch, 4)).astype(float)
    return x, rng.normal(size=(batch, 4))


# exp of exp of exp: the third layer's z reaches hundreds and the output overflows the clip,
# where f' = a is no longer the slope and central differences lose all precision: exp hidden
# layers are checked at depths 1 and 2
COMBINATIONS = [
    (activation, loss, depth)
    for activation in activations.names()
    for loss in losses.names()
    for depth in (1, 2, 4)
    if not (activation == "exp" and depth == 4)
]


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize(("activation", "loss", "depth"), COMBINATIONS)
def test_every_activation_loss_depth_and_batch(activation, loss, depth, batch):
    net = build(activation, loss, depth)
    x, y = data(loss, batch)
    errors = gn.gradcheck(net, x, y, details=True)
    assert max(errors.values()) < 1e-6, errors


def test_l2_and_sample_weights_are_in_the_gradient():
    net = build("tanh", "cross_entropy", 2, l2=0.3)
    x, y = data("cross_entropy", 7)
    weights = np.array([0.5, 1.0, 2.0, 0.0, 1.0, 3.0, 1.0])
    assert gn.gradcheck(net, x, y, sample_weight=weights) < 1e-6


def test_poisson_gradient_with_l2_and_sample_weights():
    net = build("tanh", "poisson", 2, l2=0.3)
    x, y = data("poisson", 7)
    weights = np.array([0.5, 1.0, 2.0, 0.0, 1.0, 3.0, 1.0])
    assert gn.gradcheck(net, x, y, sample_weight=weights) < 1e-6


def test_float32_network_is_checked_in_float64_and_left_alone():
    net = build("sigmoid", "mse", 2, dtype="float32")
    before = net.parameters.copy()
    x, y = data("mse", 7)
    assert gn.gradcheck(net, x, y) < 1e-6
    assert net.parameters.dtype == np.float32
    np.testing.assert_array_equal(net.parameters, before)


def test_a_wrong_derivative_is_caught():
    class WrongTanh(activations.Tanh):
        name = "test_wrong_tanh"

        def derivative(self, a):
            return 1.0 - a  # should be 1 - a**2

        def backward(self, grad_output, a, out=None):
            return np.multiply(grad_output, 1.0 - a, out=out)

    net = gn.NeuralNetwork(random_state=0)
    net.add_layer(gn.Layer(3, 4, WrongTanh()))
    net.add_layer(gn.Layer(4, 4, "identity"))
    x, y = data("mse", 7)
    errors = gn.gradcheck(net, x, y, details=True)
    assert errors["layers.0.weights"] > 1e-2
    assert errors["layers.1.weights"] < 1e-6  # the layer above is unaffected


def test_gradcheck_argument_errors():
    with pytest.raises(TypeError, match="expects a NeuralNetwork"):
        gn.gradcheck("net", [[1.0]], [1.0])
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        gn.gradcheck(build("relu", "mse", 1), np.ones((1, 3)), np.ones((1, 4)), epsilon=0)


def test_units_at_relus_kink_make_the_check_undefined_not_wrong():
    # zero weights and biases put every hidden unit exactly at z = 0, where ReLU has no derivative
    net = gn.NeuralNetwork(loss="mse", random_state=0)
    net.add_layer(gn.Layer(3, 4, "relu", weight_init="zeros"))
    net.add_layer(gn.Layer(4, 2, "identity"))
    x, y = np.ones((5, 3)), np.ones((5, 2))
    with pytest.raises(
        ValueError,
        match=r"undefined here: 20 value\(s\) of layer 0's pre-activation z .* kink at z = 0",
    ):
        gn.gradcheck(net, x, y)
    net.layers[0].bias = np.full(4, 0.5)  # off the kink, the check works
    assert gn.gradcheck(net, x, y) < 1e-6
