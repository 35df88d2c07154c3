import numpy as np
import pytest

import glassnet as gn


def test_exact_outputs_from_hand_set_weights():
    layer = gn.Layer(2, 2, "relu")
    layer.weights = [[1.0, -1.0], [2.0, 0.0]]
    layer.bias = [0.5, -3.0]
    out = layer.forward([[1.0, 2.0], [-1.0, 1.0]])
    # z = [[5.5, -4.0], [1.5, -2.0]]
    np.testing.assert_array_equal(out, [[5.5, 0.0], [1.5, 0.0]])


def test_shapes_and_conventions():
    layer = gn.Layer(3, 5, "tanh", random_state=0)
    assert layer.weights.shape == (3, 5)
    assert layer.bias.shape == (5,)
    out = layer.forward(np.ones((7, 3)))
    assert out.shape == (7, 5)
    grad_in = layer.backward(np.ones((7, 5)))
    assert grad_in.shape == (7, 3)
    assert layer.grad_weights.shape == (3, 5)
    assert layer.grad_bias.shape == (5,)


def test_backward_reduces_over_the_batch():
    rng = np.random.default_rng(0)
    layer = gn.Layer(3, 4, "sigmoid", random_state=1)
    x = rng.normal(size=(6, 3))
    g = rng.normal(size=(6, 4))
    a = layer.forward(x)
    grad_x = layer.backward(g)
    dz = g * a * (1 - a)
    np.testing.assert_allclose(layer.grad_weights, x.T @ dz)
    np.testing.assert_allclose(
        layer.grad_bias, dz.sum(axis=0)
    )  # one value per unit, not per sample
    np.testing.assert_allclose(grad_x, dz @ layer.weights.T)


def test_backward_does_not_modify_its_argument():
    layer = gn.Layer(2, 3, "sigmoid", random_state=0)
    layer.forward(np.ones((2, 2)))
    g = np.ones((2, 3))
    layer.backward(g)
    np.testing.assert_array_equal(g, np.ones((2, 3)))


def test_forward_returns_a_new_array_each_time():
    layer = gn.Layer(2, 2, "identity", random_state=0)
    first = layer.forward(np.ones((1, 2)))
    second = layer.forward(np.zeros((1, 2)))
    assert not np.shares_memory(first, second)
    assert not np.array_equal(first, second)


def test_random_state_reproduces_initialisation():
    a = gn.Layer(4, 3, weight_init="he_normal", random_state=5)
    b = gn.Layer(4, 3, weight_init="he_normal", random_state=5)
    np.testing.assert_array_equal(a.weights, b.weights)


def test_setter_checks_shape_and_values():
    layer = gn.Layer(2, 3)
    with pytest.raises(ValueError, match=r"weights must have shape \(2, 3\), got \(3, 2\)"):
        layer.weights = np.zeros((3, 2))
    with pytest.raises(ValueError, match="bias must be finite"):
        layer.bias = [0.0, np.nan, 1.0]
    with pytest.raises(TypeError, match="real numbers"):
        layer.bias = ["a", "b", "c"]


def test_bias_row_is_a_view_of_the_bias_whatever_changes_it():
    layer = gn.Layer(2, 3, random_state=0)
    assert layer.bias_row.shape == (1, 3)
    layer.bias = [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(layer.bias_row[0], [1.0, 2.0, 3.0])
    layer.bias[1] = -5.0
    assert layer.bias_row[0, 1] == -5.0
    net = gn.NeuralNetwork(layers=[layer])  # moved into the network's parameter vector
    net.parameters[-3:] = [7.0, 8.0, 9.0]
    np.testing.assert_array_equal(layer.bias_row[0], [7.0, 8.0, 9.0])
    copied = net.copy().layers[0]
    copied.bias[0] = 0.5
    assert copied.bias_row[0, 0] == 0.5 and layer.bias_row[0, 0] == 7.0


def test_invalid_construction():
    with pytest.raises(ValueError, match="n_inputs must be >= 1"):
        gn.Layer(0, 3)
    with pytest.raises(TypeError, match="n_outputs must be an integer"):
        gn.Layer(2, 2.5)
    with pytest.raises(ValueError, match="unknown activation 'relu6'"):
        gn.Layer(2, 2, "relu6")
    with pytest.raises(ValueError, match="unknown weight initializer"):
        gn.Layer(2, 2, weight_init="orthogonal")
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'"):
        gn.Layer(2, 2, dtype="int8")


def test_forward_input_errors():
    layer = gn.Layer(2, 3, random_state=0)
    with pytest.raises(ValueError, match="x has 3 features, but the network expects 2"):
        layer.forward(np.ones((4, 3)))
    with pytest.raises(RuntimeError, match="needs a forward"):
        gn.Layer(2, 2).backward(np.ones((1, 2)))
    layer.forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"grad_output must have shape \(4, 3\)"):
        layer.backward(np.ones((4, 2)))


def test_float32_layer():
    layer = gn.Layer(3, 2, "sigmoid", dtype="float32", random_state=0)
    out = layer.forward(np.ones((2, 3)))
    assert layer.weights.dtype == np.float32 and out.dtype == np.float32
    assert layer.backward(np.ones((2, 2))).dtype == np.float32
    assert layer.grad_weights.dtype == np.float32


def test_a_replaced_activation_is_used_by_the_next_forward():
    layer = gn.Layer(3, 2, "relu", random_state=0)
    x = np.random.default_rng(1).normal(size=(4, 3))
    layer.forward(x)
    layer.activation = gn.activations.get("identity")
    np.testing.assert_allclose(layer.forward(x), x @ layer.weights + layer.bias, rtol=1e-12)
