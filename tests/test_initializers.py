import numpy as np
import pytest

from glassnet import initializers


@pytest.mark.parametrize("name", initializers.names())
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shapes_and_dtype(name, dtype):
    weights, bias = initializers.get(name)(30, 20, np.random.default_rng(0), np.dtype(dtype))
    assert weights.shape == (30, 20) and bias.shape == (20,)
    assert weights.dtype == dtype and bias.dtype == dtype


def test_seed_initializer_is_the_posts():
    # weights randn(in, out) * sqrt(1/out), bias randn(1, out) * 0.1, drawn in that order
    weights, bias = initializers.get("seed")(2, 25, np.random.default_rng(7), np.dtype(np.float64))
    rng = np.random.default_rng(7)
    np.testing.assert_array_equal(weights, rng.standard_normal((2, 25)) * np.sqrt(1 / 25))
    np.testing.assert_array_equal(bias, rng.standard_normal(25) * 0.1)


@pytest.mark.parametrize(
    ("name", "std"),
    [
        ("glorot_uniform", np.sqrt(2 / (400 + 300))),
        ("glorot_normal", np.sqrt(2 / (400 + 300))),
        ("he_uniform", np.sqrt(2 / 400)),
        ("he_normal", np.sqrt(2 / 400)),
        ("seed", np.sqrt(1 / 300)),
    ],
)
def test_scales(name, std):
    weights, bias = initializers.get(name)(400, 300, np.random.default_rng(0), np.dtype(np.float64))
    assert weights.std() == pytest.approx(std, rel=0.02)
    assert abs(weights.mean()) < 0.01 * std * 10
    if name != "seed":
        assert not bias.any()


def test_uniform_bounds():
    weights, _ = initializers.get("he_uniform")(
        50, 10, np.random.default_rng(0), np.dtype(np.float64)
    )
    assert np.abs(weights).max() <= np.sqrt(6 / 50)


def test_zeros_and_unknown():
    weights, bias = initializers.get("zeros")(3, 2, np.random.default_rng(0), np.dtype(np.float64))
    assert not weights.any() and not bias.any()
    with pytest.raises(
        ValueError, match=r"unknown weight initializer 'lecun'.*glorot_uniform.*seed"
    ):
        initializers.get("lecun")
    assert initializers.canonical("xavier_uniform") == "glorot_uniform"
