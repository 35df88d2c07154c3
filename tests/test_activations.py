import copy

import numpy as np
import pytest

from glassnet import activations

ELEMENTWISE = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "exp"]

REFERENCE = {
    "identity": lambda z: z,
    "relu": lambda z: np.where(z > 0, z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "softplus": lambda z: np.log1p(np.exp(z)),
    "softmax": lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True),
    "exp": np.exp,
}


def test_names_cover_the_issue():
    assert set(activations.names()) == {
        "identity",
        "relu",
        "leaky_relu",
        "sigmoid",
        "tanh",
        "softplus",
        "softmax",
        "exp",
    }


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_forward_matches_the_textbook_formula(name):
    z = np.random.default_rng(0).normal(scale=3.0, size=(6, 4))
    np.testing.assert_allclose(
        activations.get(name).forward(z), REFERENCE[name](z), rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_finite_differences(name):
    activation = activations.get(name)
    z = np.random.default_rng(1).normal(scale=2.0, size=(5, 3))
    z = z[np.abs(z) > 1e-3].reshape(-1, 1)  # away from the kinks of relu and leaky_relu
    eps = 1e-6
    numeric = (activation.forward(z + eps) - activation.forward(z - eps)) / (2 * eps)
    given = z if activation.derivative_uses == "z" else activation.forward(z)
    np.testing.assert_allclose(activation.derivative(given), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_backward_is_the_chain_rule(name):
    activation = activations.get(name)
    rng = np.random.default_rng(2)
    z = rng.normal(size=(4, 3))
    grad = rng.normal(size=(4, 3))
    eps = 1e-6
    numeric = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[index] = eps
        numeric[index] = (
            (activation.forward(z + step) - activation.forward(z - step)) * grad
        ).sum() / (2 * eps)
    given = z if activation.derivative_uses == "z" else activation.forward(z)
    out = np.empty_like(z)
    np.testing.assert_allclose(
        activation.backward(grad, given, out=out), numeric, rtol=1e-6, atol=1e-9
    )


def test_tanh_derivative_is_taken_from_the_output_not_z():
    # the seed's tan_derive(z) returned 1 - z**2; the derivative of tanh at z is 1 - tanh(z)**2
    tanh = activations.get("tanh")
    z = np.array([[2.0]])
    assert tanh.derivative_uses == "a"
    np.testing.assert_allclose(tanh.derivative(tanh.forward(z)), 1 - np.tanh(2.0) ** 2)
    assert not np.isclose(tanh.derivative(tanh.forward(z)), 1 - 2.0**2)


def test_relu_is_elementwise():
    # the seed's np.max(0, x) is a reduction; ReLU keeps the shape
    z = np.array([[-1.0, 2.0], [3.0, -4.0]])
    np.testing.assert_array_equal(activations.get("relu").forward(z), [[0.0, 2.0], [3.0, 0.0]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_forward_with_its_kept_zeros(dtype):
    # forward takes the maximum with an array of zeros kept per shape (the scalar above a size);
    # the results must be those of max(z, 0) at every size, in place or not, strided or not
    relu = activations.ReLU()
    rng = np.random.default_rng(0)
    big = (2, activations.ReLU._MAX_ZEROS // 2 + 1)
    for shape in [(1, 3), (7, 5), (256, 512), big, (7, 5)]:
        z = rng.standard_normal(shape).astype(dtype)
        expected = np.where(z > 0, z, 0)
        np.testing.assert_array_equal(relu.forward(z), expected)
        padded = np.ones((shape[0], shape[1] + 1), dtype)  # a strided output, as layers use
        relu.forward(z, out=padded[:, :-1])
        np.testing.assert_array_equal(padded[:, :-1], expected)
        assert (padded[:, -1] == 1).all()
        relu.forward(z, out=z)
        np.testing.assert_array_equal(z, expected)
    assert all(not zeros.any() and not zeros.flags.writeable for zeros in relu._zeros.values())
    assert len(relu._zeros) <= 4 and all(key[0] != big for key in relu._zeros)
    assert copy.deepcopy(relu)._zeros == {} and relu._zeros


def test_relu_gradient_at_zero_is_zero():
    relu = activations.get("relu")
    out = np.empty((1, 3))
    np.testing.assert_array_equal(
        relu.backward(np.ones((1, 3)), relu.forward(np.array([[-1.0, 0.0, 1.0]])), out=out),
        [[0, 0, 1]],
    )


@pytest.mark.parametrize("name", sorted(REFERENCE))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_inputs_are_finite_and_silent(name, dtype):
    activation = activations.get(name)
    z = np.array([[-1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4]], dtype=dtype)
    with np.errstate(all="raise"):
        a = activation.forward(z.copy())
        grad = activation.backward(
            np.ones_like(z), z if activation.derivative_uses == "z" else a, out=np.empty_like(z)
        )
    assert a.dtype == dtype and grad.dtype == dtype
    if name not in ("identity", "relu", "leaky_relu", "softplus"):
        assert np.all(np.isfinite(a))
    assert np.all(np.isfinite(grad))


def test_sigmoid_and_softmax_limits():
    with np.errstate(all="raise"):
        s = activations.get("sigmoid").forward(np.array([[-1e4, 0.0, 1e4]]))
        p = activations.get("softmax").forward(np.array([[-1e4, 0.0, 1e4]]))
        sp = activations.get("softplus").forward(np.array([[-1e4, 0.0, 1e4]]))
    np.testing.assert_allclose(s, [[0.0, 0.5, 1.0]])
    np.testing.assert_allclose(p, [[0.0, 0.0, 1.0]], atol=1e-29)
    np.testing.assert_allclose(sp, [[0.0, np.log(2.0), 1e4]], atol=1e-29)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exp_is_clipped_to_stay_finite(dtype):
    exp = activations.get("exp")
    ceiling = activations.exp_ceiling(np.dtype(dtype))
    assert ceiling == pytest.approx(np.log(np.finfo(dtype).max) - 20, rel=1e-6)
    with np.errstate(all="raise"):
        a = exp.forward(np.array([[-1e4, 0.0, 1.0, 1e4]], dtype=dtype))
    np.testing.assert_allclose(a[0, 1:3], [1.0, np.e], rtol=1e-6)
    assert a[0, 3] == np.exp(ceiling) and 0 < a[0, 0] < 1e-29
    # f' = a, taken from the output
    assert exp.derivative_uses == "a"
    np.testing.assert_array_equal(exp.derivative(a), a)


def test_softmax_jacobian():
    softmax = activations.get("softmax")
    a = softmax.forward(np.array([[0.1, -0.3, 0.7]]))
    jacobian = softmax.derivative(a)[0]
    np.testing.assert_allclose(jacobian, np.diag(a[0]) - np.outer(a[0], a[0]))


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown activation 'swish'.*relu.*sigmoid"):
        activations.get("swish")


def test_wrong_type_for_name():
    with pytest.raises(TypeError, match="activation must be an activation name"):
        activations.get(3)


def test_aliases_and_configs_round_trip():
    assert activations.get("logistic") == activations.get("sigmoid")
    leaky = activations.get({"name": "leaky_relu", "alpha": 0.2})
    assert leaky.alpha == 0.2
    assert activations.get(leaky.get_config()) == leaky
    with pytest.raises(ValueError, match="alpha must be < 1"):
        activations.LeakyReLU(alpha=1.5)


def test_register_a_custom_activation():
    class Cube(activations.Activation):
        name = "test_cube"
        derivative_uses = "z"

        def forward(self, z, out=None):
            return np.power(z, 3, out=out)

        def derivative(self, z):
            return 3 * z**2

    activations.register(Cube)
    assert isinstance(activations.get("test_cube"), Cube)
    with pytest.raises(TypeError, match="Activation subclass"):
        activations.register(int)


@pytest.mark.parametrize("name", [n for n in activations.names() if n != "softmax"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_derivative_into_out_and_backward_are_the_one_derivative(name, dtype):
    # each derivative is written once: `out=` gives the same numbers, and backward multiplies by it
    activation = activations.get(name)
    z = np.random.default_rng(3).normal(size=(4, 9)).astype(dtype) * 3
    grad = np.random.default_rng(4).normal(size=(4, 9)).astype(dtype)
    a = activation.forward(z)
    v = z if activation.derivative_uses == "z" else a
    derivative = activation.derivative(v)
    assert derivative.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(activation.derivative(v, out=np.empty_like(z)), derivative)
    np.testing.assert_array_equal(
        activation.backward(grad, v, out=np.empty_like(z)), grad * derivative
    )


def test_a_derivative_without_out_still_works():
    class Square(activations.Activation):
        name = "test_square"
        derivative_uses = "z"

        def forward(self, z, out=None):
            return np.multiply(z, z, out=out)

        def derivative(self, z):
            return 2 * z

    assert not Square.derivative_writes_out and activations.Tanh.derivative_writes_out
    z = np.array([[1.0, -2.0]])
    np.testing.assert_array_equal(
        Square().backward(np.ones((1, 2)), z, out=np.empty((1, 2))), [[2.0, -4.0]]
    )
