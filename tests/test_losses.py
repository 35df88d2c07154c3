import numpy as np
import pytest

from glassnet import losses
from glassnet.model.activations import Sigmoid, Softmax

rng = np.random.default_rng(0)


def one_hot(labels, k):
    out = np.zeros((len(labels), k))
    out[np.arange(len(labels)), labels] = 1
    return out


def numeric_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        grad[index] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def test_mse_is_the_seeds_loss():
    a = np.array([[0.2, 0.9], [0.6, 0.1]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    mse = losses.get("mse")
    # per sample ½·Σ(a − y)², averaged over the batch
    expected = (0.5 * (0.2**2 + 0.1**2) + 0.5 * (0.4**2 + 0.1**2)) / 2
    assert mse.value(a, y) == pytest.approx(expected, rel=1e-14)
    # gradient per sample a − y, divided by the batch size
    np.testing.assert_allclose(mse.gradient(a, y), (a - y) / 2)


@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_output_losses_gradient(name):
    loss = losses.get(name)
    a = rng.normal(size=(5, 3))
    y = rng.normal(size=(5, 3))
    np.testing.assert_allclose(
        loss.gradient(a, y), numeric_gradient(lambda v: loss.value(v, y), a), rtol=1e-6, atol=1e-9
    )
    out = np.empty_like(a)
    value = loss.value_and_gradient(a, y, out=out)
    assert value == pytest.approx(loss.value(a, y))
    np.testing.assert_allclose(out, loss.gradient(a, y))


def test_huber_is_quadratic_then_linear():
    huber = losses.Huber(delta=1.0)
    a = np.array([[0.5, 3.0]])
    assert huber.value(a, np.zeros((1, 2))) == pytest.approx(0.5 * 0.25 + (3.0 - 0.5))


@pytest.mark.parametrize(
    ("name", "activation"), [("cross_entropy", Softmax()), ("binary_cross_entropy", Sigmoid())]
)
def test_cross_entropies_from_logits(name, activation):
    loss = losses.get(name)
    z = rng.normal(scale=2, size=(6, 3))
    if name == "cross_entropy":
        y = one_hot(rng.integers(0, 3, 6), 3)
        reference = -(y * np.log(activation.forward(z))).sum(axis=1).mean()
    else:
        y = rng.integers(0, 2, (6, 3)).astype(float)
        p = activation.forward(z)
        reference = -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(axis=1).mean()
    assert loss.value_from_logits(z, y) == pytest.approx(reference, rel=1e-12)
    out = np.empty_like(z)
    value = loss.value_and_gradient_from_logits(z, y, out=out)
    assert value == pytest.approx(reference, rel=1e-12)
    # the fused gradient a − y is the derivative with respect to the logits
    np.testing.assert_allclose(out, (activation.forward(z) - y) / 6, rtol=1e-10)
    np.testing.assert_allclose(
        out, numeric_gradient(lambda v: loss.value_from_logits(v, y), z), rtol=1e-6, atol=1e-9
    )


@pytest.mark.parametrize("name", ["cross_entropy", "binary_cross_entropy"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropies_are_finite_for_huge_logits(name, dtype):
    loss = losses.get(name)
    z = np.array([[1e4, -1e4], [-1e4, 1e4]], dtype=dtype)
    y = np.array([[0.0, 1.0], [0.0, 1.0]], dtype=dtype)
    out = np.empty_like(z)
    with np.errstate(all="raise"):
        value = loss.value_and_gradient_from_logits(z, y, out=out)
    assert np.isfinite(value) and np.all(np.isfinite(out))
    assert value == pytest.approx(1e4, rel=1e-6)  # the first sample is 2e4 wrong, the second right
    assert out.dtype == dtype


def test_sample_weights_make_a_weighted_mean():
    mse = losses.get("mse")
    a = rng.normal(size=(4, 2))
    y = rng.normal(size=(4, 2))
    w = np.array([1.0, 0.0, 2.0, 1.0])
    per_sample = 0.5 * ((a - y) ** 2).sum(axis=1)
    assert mse.value(a, y, w) == pytest.approx((per_sample * w).sum() / w.sum())
    np.testing.assert_allclose(mse.gradient(a, y, w), (a - y) * (w / w.sum())[:, None])


def test_unknown_loss():
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'.*cross_entropy.*mse"):
        losses.get("hinge")


def test_aliases():
    assert isinstance(losses.get("log_loss"), losses.CrossEntropy)
    assert isinstance(losses.get("squared_error"), losses.MeanSquaredError)
    with pytest.raises(ValueError, match="delta must be > 0"):
        losses.Huber(delta=0)


# ------------------------------------------------------------------ poisson
def poisson_data(seed=0, shape=(6, 3)):
    generator = np.random.default_rng(seed)
    z = generator.normal(size=shape)
    y = generator.poisson(2.0, size=shape).astype(float)
    y[0, 0] = 0.0  # 0·log 0 = 0
    return z, y


def test_poisson_is_half_the_deviance_of_exp_z():
    from sklearn.metrics import mean_poisson_deviance
    from sklearn.neural_network._base import poisson_loss

    loss = losses.get("poisson")
    assert loss.fused_activation == "exp" and loss.for_classification is False
    z, y = poisson_data()
    # the formula as implemented: Σ_j (exp(z) − y·z) plus the constant Σ_j (y·log y − y)
    y_log_y = np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0.0)
    direct = (np.exp(z) - y * z + y_log_y - y).sum(axis=1).mean()
    assert loss.value_from_logits(z, y) == pytest.approx(direct, rel=1e-12)
    # scikit-learn's MLPRegressor(loss="poisson") loss, with its output exp(z)
    assert loss.value_from_logits(z, y) == pytest.approx(poisson_loss(y, np.exp(z)), rel=1e-12)
    # half the mean Poisson deviance per output column, summed over the outputs
    half_deviance = sum(mean_poisson_deviance(y[:, j], np.exp(z[:, j])) / 2 for j in range(3))
    assert loss.value_from_logits(z, y) == pytest.approx(half_deviance, rel=1e-12)
    # the same from the outputs exp(z), for reporting
    np.testing.assert_allclose(
        loss.per_sample(np.exp(z), y), loss.per_sample_from_logits(z, y), rtol=1e-12
    )
    # zero for a perfect fit
    counts = np.array([[1.0, 4.0, 0.5]])
    assert loss.value_from_logits(np.log(counts), counts) == pytest.approx(0.0, abs=1e-14)


@pytest.mark.parametrize("weighted", [False, True])
def test_poisson_gradient_is_exp_z_minus_y(weighted):
    loss = losses.get("poisson")
    z, y = poisson_data(1)
    w = np.array([1.0, 0.0, 2.0, 0.5, 1.0, 3.0]) if weighted else None
    scale = (w / w.sum())[:, None] if weighted else 1 / 6
    out = np.empty_like(z)
    value = loss.value_and_gradient_from_logits(z, y, w, out=out)
    assert value == pytest.approx(loss.value_from_logits(z, y, w), rel=1e-12)
    np.testing.assert_allclose(out, (np.exp(z) - y) * scale, rtol=1e-12)
    np.testing.assert_allclose(loss.gradient_from_logits(z, y, w), out, rtol=1e-12)
    np.testing.assert_allclose(
        out, numeric_gradient(lambda v: loss.value_from_logits(v, y, w), z), rtol=1e-6, atol=1e-9
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_poisson_is_finite_for_huge_logits(dtype):
    loss = losses.get("poisson")
    z = np.array([[1e4, -1e4], [-1e4, 1e4]], dtype=dtype)
    y = np.array([[0.0, 3.0], [2.0, 0.0]], dtype=dtype)
    out = np.empty_like(z)
    with np.errstate(all="raise"):
        value = loss.value_and_gradient_from_logits(z, y, out=out)
        per_sample = loss.per_sample_from_logits(z, y)
    assert np.isfinite(value) and np.all(np.isfinite(out)) and np.all(np.isfinite(per_sample))
    assert out.dtype == dtype and value > 1e4


def test_poisson_refuses_negative_targets():
    import glassnet as gn

    net = gn.NeuralNetwork.from_sizes([2, 1], loss="poisson", random_state=0)
    assert net.layers[-1].activation.name == "exp"
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"y for 'poisson' must be non-negative .*got -1\.0"):
        net.train(x, np.array([1.0, -1.0, 0.0]), epochs=1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_two_class_cross_entropy_per_sample(dtype):
    # two columns take their own formula (between epochs, for speed): the same losses as
    # −Σ_j y_j·log softmax(z)_j, soft targets included, for logits of any size
    loss = losses.get("cross_entropy")
    z = rng.normal(0.0, 4.0, (500, 2))
    z[:3] = [[0.0, 0.0], [800.0, -800.0], [-30.0, 30.0]]
    y = one_hot(rng.integers(0, 2, 500), 2)
    y[:100] = rng.dirichlet([1.0, 1.0], 100)
    lse = np.logaddexp(z[:, 0], z[:, 1])
    expected = y[:, 0] * (lse - z[:, 0]) + y[:, 1] * (lse - z[:, 1])
    with np.errstate(all="raise"):
        per_sample = loss.per_sample_from_logits(z.astype(dtype), y.astype(dtype))
    assert per_sample.dtype == dtype and per_sample.shape == (500,)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(per_sample, expected, rtol=rtol, atol=rtol)
    # its mean is the loss that training minimises, and it depends on the logits' difference
    # only: shifting both by 2²⁰ (exactly, for logits on a grid of 2⁻²⁰) costs no precision,
    # where logsumexp(z) − y·z would lose about 1e-10
    if dtype == np.float64:
        assert per_sample.mean() == pytest.approx(loss.value_from_logits(z, y), rel=1e-12)
        grid = np.round(z * 2.0**20) / 2.0**20
        np.testing.assert_allclose(
            loss.per_sample_from_logits(grid + 2.0**20, y),
            loss.per_sample_from_logits(grid, y),
            rtol=1e-14,
            atol=1e-14,
        )
