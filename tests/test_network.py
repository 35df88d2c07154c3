import itertools

import numpy as np
import pytest

import glassnet as gn
from conftest import assert_unchanged, network_state, run_in_threads


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def seed_network(random_state=0, sizes=(2, 25, 50, 25, 2), dtype="float64"):
    net = gn.NeuralNetwork(
        loss="mse", optimizer=gn.SGD(learning_rate=0.01), random_state=random_state, dtype=dtype
    )
    for n_in, n_out in itertools.pairwise(sizes):
        net.add_layer(gn.Layer(n_in, n_out, "sigmoid", "seed"))
    return net


def test_one_hand_computed_step_of_the_seed():
    """One per-sample step of the seed's algorithm, written out with its errors fixed."""
    net = seed_network(sizes=(2, 3, 2))
    w1 = np.array([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]])
    b1 = np.array([0.01, -0.02, 0.03])
    w2 = np.array([[0.7, -0.8], [0.9, 0.1], [-0.3, 0.2]])
    b2 = np.array([0.05, -0.05])
    net.layers[0].weights, net.layers[0].bias = w1, b1
    net.layers[1].weights, net.layers[1].bias = w2, b2
    x = np.array([[0.5, -1.5]])
    t = np.array([[0.0, 1.0]])  # label 1, one-hot

    a1 = sigmoid(x @ w1 + b1)
    a2 = sigmoid(a1 @ w2 + b2)
    dz2 = (a2 - t) * a2 * (1 - a2)  # Loss = ½(y − t)², dLoss/dy = y − t
    dw2, db2 = a1.T @ dz2, dz2.sum(axis=0)
    dz1 = (dz2 @ w2.T) * a1 * (1 - a1)  # uses w2 before the update, as the seed does
    dw1, db1 = x.T @ dz1, dz1.sum(axis=0)

    history = net.train(x, [1], epochs=1, batch_size=1, shuffle=False)
    np.testing.assert_allclose(net.layers[0].weights, w1 - 0.01 * dw1, rtol=1e-14)
    np.testing.assert_allclose(net.layers[0].bias, b1 - 0.01 * db1, rtol=1e-14)
    np.testing.assert_allclose(net.layers[1].weights, w2 - 0.01 * dw2, rtol=1e-14)
    np.testing.assert_allclose(net.layers[1].bias, b2 - 0.01 * db2, rtol=1e-14)
    assert history.loss == [pytest.approx(0.5 * ((a2 - t) ** 2).sum(), rel=1e-14)]


def test_exact_outputs_through_two_layers():
    net = gn.NeuralNetwork(random_state=0)
    net.add_layer(gn.Layer(2, 2, "relu"))
    net.add_layer(gn.Layer(2, 1, "identity"))
    net.layers[0].weights, net.layers[0].bias = [[1, 2], [3, -4]], [0, 1]
    net.layers[1].weights, net.layers[1].bias = [[2], [-1]], [0.5]
    out = net.forward([[1, 1], [2, 0]])
    # hidden: [[4, 0 (relu of -1)], [2, 5]] → output: [[8.5], [-0.5]]
    np.testing.assert_array_equal(out, [[8.5], [-0.5]])


def test_backward_fills_gradients_and_changes_no_parameter():
    net = seed_network()
    before = net.parameters.copy()
    x = np.random.default_rng(0).normal(size=(5, 2))
    loss = net.backward(x, [0, 1, 1, 0, 1])
    assert loss > 0
    np.testing.assert_array_equal(net.parameters, before)
    assert all(np.abs(layer.grad_weights).sum() > 0 for layer in net.layers)


def test_minibatch_gradient_is_the_mean_of_per_sample_gradients():
    net = gn.NeuralNetwork.from_sizes(
        [3, 6, 4], activation="tanh", loss="cross_entropy", random_state=0
    )
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(7, 3)), rng.integers(0, 4, 7)
    batch_loss = net.backward(x, y)
    batch_grads = net.gradients.copy()
    per_sample = []
    losses = []
    for i in range(7):
        losses.append(net.backward(x[i : i + 1], y[i : i + 1]))
        per_sample.append(net.gradients.copy())
    np.testing.assert_allclose(batch_grads, np.mean(per_sample, axis=0), rtol=1e-12, atol=1e-15)
    assert batch_loss == pytest.approx(np.mean(losses), rel=1e-12)


def test_layers_are_views_of_one_parameter_vector():
    net = seed_network()
    assert net.parameters.size == sum(layer.n_parameters for layer in net.layers) == 2702
    net.layers[2].weights[0, 0] = 123.0
    assert 123.0 in net.parameters
    net.parameters[...] = 0
    assert not net.layers[1].bias.any()


def test_same_seed_gives_identical_weights_and_history(moons):
    x, y = moons
    runs = []
    for _ in range(2):
        net = gn.NeuralNetwork.from_sizes(
            [2, 8, 2], activation="relu", loss="cross_entropy", optimizer="adam", random_state=42
        )
        history = net.train(x, y, epochs=3, batch_size=16, validation_data=(x[:50], y[:50]))
        runs.append((net.parameters.copy(), history.as_dict()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1]["loss"] == runs[1][1]["loss"]
    assert runs[0][1]["val_accuracy"] == runs[1][1]["val_accuracy"]
    other = gn.NeuralNetwork.from_sizes(
        [2, 8, 2], activation="relu", loss="cross_entropy", random_state=43
    )
    assert not np.array_equal(other.parameters, runs[0][0])


def test_generator_as_random_state_is_used_not_copied():
    rng = np.random.default_rng(3)
    net = gn.NeuralNetwork.from_sizes([2, 3, 1], random_state=rng)
    assert net.rng is rng


def test_no_global_random_state_is_touched(moons):
    x, y = moons
    np.random.seed(0)  # noqa: NPY002 (the global state is what this test watches)
    expected = np.random.random()  # noqa: NPY002
    np.random.seed(0)  # noqa: NPY002
    net = gn.NeuralNetwork.from_sizes(
        [2, 5, 2], activation="relu", loss="cross_entropy", random_state=None
    )
    net.train(x, y, epochs=1)
    assert np.random.random() == expected  # noqa: NPY002


def test_float32_end_to_end(moons):
    x, y = moons
    net = gn.NeuralNetwork.from_sizes(
        [2, 16, 2],
        activation="relu",
        loss="cross_entropy",
        optimizer="adam",
        dtype="float32",
        random_state=0,
    )
    net.train(x, y, epochs=2, batch_size=32)
    assert net.parameters.dtype == np.float32 and net.gradients.dtype == np.float32
    for layer in net.layers:
        assert layer.weights.dtype == layer.grad_weights.dtype == np.float32
    for step in net.step_plan(32).steps:
        assert all(
            array.dtype == np.float32 for array in (step.z, step.dz, step.output, step.grad_input)
        )
    for slot in net.optimizer.state_dict()["slots"]:
        assert all(array.dtype == np.float32 for array in slot.values())
    assert net.predict_output(x).dtype == np.float32
    assert net.predict_proba(x).dtype == np.float32


def test_any_number_of_classes():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = np.argmax(x @ rng.normal(size=(4, 5)), axis=1)
    net = gn.NeuralNetwork.from_sizes(
        [4, 16, 5],
        activation="relu",
        loss="cross_entropy",
        optimizer="adam",
        learning_rate=0.01,
        random_state=0,
    )
    net.train(x, y, epochs=60, batch_size=20)
    assert net.accuracy(x, y) > 0.9
    proba = net.predict_proba(x)
    assert proba.shape == (200, 5)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert set(net.predict(x)) <= set(range(5))


def test_single_sigmoid_output_binary():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    net = gn.NeuralNetwork.from_sizes(
        [2, 1], loss="binary_cross_entropy", optimizer="adam", learning_rate=0.05, random_state=0
    )
    net.train(x, y, epochs=50)
    assert net.task == "classification" and net.n_classes == 2
    assert net.accuracy(x, y) > 0.95
    proba = net.predict_proba(x)
    np.testing.assert_array_equal(net.predict(x), (proba[:, 1] >= 0.5).astype(int))


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_regression_targets_1d_and_2d(loss):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(300, 2))
    y = x[:, 0] * 2 - x[:, 1]
    net = gn.NeuralNetwork.from_sizes(
        [2, 16, 1],
        activation="tanh",
        loss=loss,
        optimizer="adam",
        learning_rate=0.01,
        random_state=0,
    )
    net.train(x, y, epochs=80, batch_size=16)
    assert net.task == "regression"
    prediction = net.predict(x)
    assert prediction.shape == (300,)
    assert np.mean((prediction - y) ** 2) < 0.02
    y2 = np.column_stack([y, -y])
    net2 = gn.NeuralNetwork.from_sizes(
        [2, 16, 2],
        activation="tanh",
        loss=loss,
        optimizer="adam",
        learning_rate=0.01,
        random_state=0,
    )
    net2.train(x, y2, epochs=80, batch_size=16)
    assert net2.predict(x).shape == (300, 2)


def test_integer_regression_target_with_one_output_is_regression():
    net = gn.NeuralNetwork.from_sizes([1, 1], random_state=0)
    net.train(np.arange(10.0).reshape(-1, 1), np.arange(10), epochs=1)
    assert net.task == "regression"


def test_summary_lists_layers_and_parameter_counts():
    text = seed_network().summary()
    assert "2 → 25" in text and "1,300" in text and "total parameters: 2,702" in text
    assert "sigmoid" in text and "mse" in text


def test_copy_and_astype_are_independent():
    net = seed_network()
    clone = net.copy()
    clone.parameters[...] = 0
    assert net.parameters.any()
    assert (
        clone.layers[0].weights is not net.layers[0].weights and not clone.layers[0].weights.any()
    )
    f32 = net.astype("float32")
    assert f32.parameters.dtype == np.float32
    np.testing.assert_allclose(f32.parameters, net.parameters, rtol=1e-6)


def test_pickle_round_trip_keeps_layers_tied_to_the_vector():
    import pickle

    net = seed_network()
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(restored.parameters, net.parameters)
    restored.parameters[...] = 1.0
    assert (restored.layers[3].bias == 1.0).all()


def test_add_layer_after_training_keeps_existing_weights(moons):
    x, y = moons
    net = gn.NeuralNetwork(random_state=0, loss="cross_entropy")
    net.add_layer(gn.Layer(2, 4, "relu"))
    weights = net.layers[0].weights.copy()
    net.add_layer(gn.Layer(4, 2, "softmax"))
    np.testing.assert_array_equal(net.layers[0].weights, weights)
    net.train(x, y, epochs=1)


# --------------------------------------------------------------- errors: clear, and nothing changes
def test_mismatched_layer_sizes_name_both_layers():
    net = seed_network(sizes=(2, 25, 50))
    before = network_state(net)
    with pytest.raises(
        ValueError,
        match=(
            r"layer 2 \(Layer\(40, 2.*takes 40 inputs, "
            r"but layer 1 \(Layer\(25, 50.*has 50 outputs"
        ),
    ):
        net.add_layer(gn.Layer(40, 2, "sigmoid"))
    assert_unchanged(net, before)


def test_layer_cannot_join_two_networks():
    layer = gn.Layer(2, 2)
    gn.NeuralNetwork([layer])
    with pytest.raises(ValueError, match="already belongs to a network"):
        gn.NeuralNetwork([layer])
    with pytest.raises(TypeError, match="add_layer expects a glassnet.Layer"):
        gn.NeuralNetwork().add_layer("dense")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"loss": "hinge"}, ValueError, "unknown loss 'hinge'.*valid names"),
        ({"optimizer": "rmsprop"}, ValueError, "unknown optimizer 'rmsprop'.*valid names"),
        ({"dtype": "float16"}, ValueError, "dtype must be 'float32' or 'float64'"),
        ({"task": "ranking"}, ValueError, "task must be"),
        ({"l2": -1.0}, ValueError, "l2 must be >= 0"),
        ({"random_state": "seed"}, TypeError, "random_state must be None"),
        ({"optimizer": gn.Adam(), "learning_rate": 0.1}, ValueError, "already an optimizer object"),
    ],
)
def test_constructor_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        gn.NeuralNetwork(**kwargs)


X_OK = np.random.default_rng(0).normal(size=(6, 2))
Y_OK = np.array([0, 1, 0, 1, 1, 0])


@pytest.mark.parametrize(
    ("x", "y", "error", "match"),
    [
        (
            X_OK,
            Y_OK[:5],
            ValueError,
            "inconsistent numbers of samples: x has 6 samples but y has 5",
        ),
        (X_OK[:, :1], Y_OK, ValueError, "x has 1 features, but the network expects 2"),
        (np.where(np.eye(6, 2) > 0, np.nan, X_OK), Y_OK, ValueError, "Input x contains NaN"),
        (np.where(np.eye(6, 2) > 0, np.inf, X_OK), Y_OK, ValueError, "Input x contains infinity"),
        (X_OK, [0, 1, 0, 1, np.nan, 0], ValueError, "Input y contains NaN"),
        (X_OK, [0, 1, 0, 1, np.inf, 0], ValueError, "Input y contains infinity"),
        (X_OK, [0, 1, 0, 1, 2, 0], ValueError, r"label 2.*labels must be integers in \[0, 1\]"),
        (X_OK, [0, 1, 0, 1, -1, 0], ValueError, r"label -1.*labels must be integers in \[0, 1\]"),
        (X_OK, [0, 1, 0, 1, 0.5, 0], ValueError, "integer class labels"),
        (np.empty((0, 2)), [], ValueError, "0 sample"),
        (X_OK[0], Y_OK, ValueError, "Expected a 2D array.*reshape"),
        (X_OK[None], Y_OK, ValueError, "Expected a 2D array for x.*got 3D"),
        (X_OK + 1j, Y_OK, ValueError, "Complex data not supported"),
        (np.array([["a", "b"]] * 6), Y_OK, TypeError, "array of strings"),
        ([[1, 2], [3]] * 3, Y_OK, ValueError, "rectangular"),
        (X_OK, "abcdef", TypeError, "y must be array-like of numbers"),
        (None, Y_OK, TypeError, "x must be array-like of numbers, got None"),
        ({"a": 1}, Y_OK, TypeError, "got a dict"),
        (
            np.array([[1.0, None]] * 6, dtype=object),
            Y_OK,
            TypeError,
            "x must contain only numbers, but it contains None",
        ),
        (
            np.array([["2020-01-01", "2020-01-02"]] * 6, dtype="datetime64[D]"),
            Y_OK,
            TypeError,
            "dtype datetime64",
        ),
        (X_OK, [["0"], ["1"]] * 3, TypeError, "array of strings"),
        (X_OK, np.zeros((6, 2, 1)), ValueError, "y must be 1D"),
        (X_OK, np.zeros((6, 3)), ValueError, r"y has 3 column\(s\).*2 output unit"),
    ],
)
def test_train_rejects_bad_data_and_changes_nothing(x, y, error, match):
    net = seed_network(sizes=(2, 4, 2))
    net.task = "classification"
    before = network_state(net)
    with pytest.raises(error, match=match):
        net.train(x, y, epochs=1)
    assert_unchanged(net, before)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"epochs": 0}, ValueError, "epochs must be >= 1"),
        ({"epochs": 1.5}, TypeError, "epochs must be an integer"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
        (
            {"validation_data": ([[1.0, 2.0]], [0, 1])},
            ValueError,
            "inconsistent numbers of samples",
        ),
        ({"validation_data": [[1.0, 2.0]]}, TypeError, "validation_data must be a tuple"),
        ({"sample_weight": [1, 1, 1]}, ValueError, "sample_weight.shape"),
        ({"sample_weight": [-1, 1, 1, 1, 1, 1]}, ValueError, "Negative values"),
        ({"sample_weight": [0, 0, 0, 0, 0, 0]}, ValueError, "at least one non-zero"),
        ({"callbacks": [3]}, TypeError, "callbacks must be callables"),
    ],
)
def test_train_rejects_bad_options_and_changes_nothing(kwargs, error, match):
    net = seed_network(sizes=(2, 4, 2))
    before = network_state(net)
    with pytest.raises(error, match=match):
        net.train(X_OK, Y_OK, **kwargs)
    assert_unchanged(net, before)


def test_predict_errors():
    net = seed_network(sizes=(2, 4, 2))
    with pytest.raises(ValueError, match="needs to know whether the network is a classifier"):
        net.predict(X_OK)
    net.train(X_OK, Y_OK)
    with pytest.raises(ValueError, match="x has 3 features, but the network expects 2"):
        net.predict(np.ones((2, 3)))
    with pytest.raises(ValueError, match="contains NaN"):
        net.predict_proba([[np.nan, 1.0]])
    with pytest.raises(ValueError, match="no layers yet"):
        gn.NeuralNetwork().predict(X_OK)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_check_x_passes_a_valid_array_through_and_refuses_what_the_slow_path_does(dtype):
    net = gn.NeuralNetwork.from_sizes([2, 3, 2], random_state=0, dtype=dtype)
    x = np.arange(6, dtype=dtype).reshape(3, 2)
    assert net.check_x(x) is x  # no copy for an array that is already right
    fortran = np.asfortranarray(np.arange(8, dtype=dtype).reshape(4, 2))
    converted = net.check_x(fortran)
    assert converted.flags.c_contiguous and np.array_equal(converted, fortran)
    bad = [
        (np.array([[np.nan, 1.0]], dtype), "Input x contains NaN"),
        (np.array([[1.0, -np.inf]], dtype), "Input x contains infinity"),
        (np.ones(2, dtype), "Expected a 2D array for x"),
        (np.ones((0, 2), dtype), r"Found array with 0 sample\(s\)"),
        (np.ones((1, 3), dtype), "x has 3 features, but the network expects 2"),
    ]
    big_nan = np.ones((5000, 2), dtype)  # past the counting of small inputs: the sum
    big_nan[4321, 1] = np.nan
    bad.append((big_nan, "Input x contains NaN"))
    some_inf = np.ones((100, 2), dtype)  # between a row and the summing path: counted flags
    some_inf[50, 0] = np.inf
    bad.append((some_inf, "Input x contains infinity"))
    for value, match in bad:
        with pytest.raises(ValueError, match=match):
            net.check_x(value)
    huge = np.full((5000, 2), np.finfo(dtype).max, dtype)  # finite, though its sum is not
    assert net.check_x(huge) is huge


def test_one_row_predictions_are_the_formula_bit_for_bit():
    net = gn.NeuralNetwork.from_sizes(
        [2, 5, 4, 3], loss="cross_entropy", task="classification", random_state=0
    )
    layers = net.layers

    def logits(x):  # the formula, with NumPy's operations in the order infer uses
        for layer in layers[:-1]:
            x = np.maximum(x @ layer.weights + layer.bias, 0.0)
        return x @ layers[-1].weights + layers[-1].bias

    x = np.random.default_rng(0).normal(size=(7, 2))
    for rows in [x[i : i + 1] for i in range(7)] + [x]:
        expected = logits(rows)
        np.testing.assert_array_equal(net.predict(rows), expected.argmax(axis=1))
        output = layers[-1].activation.forward(expected.copy())
        np.testing.assert_array_equal(net.predict_output(rows), output)


def test_cross_entropy_needs_its_output_activation():
    net = gn.NeuralNetwork.from_sizes(
        [2, 3, 2], output_activation="sigmoid", loss="cross_entropy", random_state=0
    )
    before = network_state(net)
    with pytest.raises(
        ValueError, match=r"loss 'cross_entropy' .* needs a 'softmax' output layer.*uses 'sigmoid'"
    ):
        net.train(X_OK, Y_OK)
    assert_unchanged(net, before)


def test_non_finite_loss_stops_training_and_keeps_finite_weights():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2)) * 1e3
    y = rng.normal(size=64) * 1e3
    net = gn.NeuralNetwork.from_sizes(
        [2, 8, 1], activation="identity", optimizer=gn.SGD(learning_rate=10.0), random_state=0
    )
    with pytest.raises(
        gn.NonFiniteLossError, match=r"loss became (inf|nan) at epoch \d+, batch \d+ of 4"
    ):
        net.train(x, y, epochs=50, batch_size=16)
    assert np.isfinite(net.parameters).all()
    assert all(np.isfinite(loss) for loss in net.history.loss)


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_a_last_step_that_overflows_the_parameters_stops_training(backend):
    """The loss of a step is measured before its update, so an epoch's last step can make a
    parameter infinite while every loss stayed finite: that stops training too, and the
    parameters go back to the epoch's start (it used to end 'ok' with -inf in them)."""
    x, y = np.array([[300.0], [1e300]]), np.array([1.0, 2.0])
    net = gn.NeuralNetwork(
        loss="poisson", optimizer=gn.SGD(1.0), task="regression", backend=backend
    )
    net.add_layer(gn.Layer(1, 1, "exp"))
    net.layers[0].weights[...] = 1.0
    before = net.parameters.copy()
    with pytest.raises(gn.NonFiniteLossError, match=r"a parameter became -inf at epoch 1, batch 1"):
        with np.errstate(over="ignore", invalid="ignore"):
            net.train(x, y, epochs=1, batch_size=2, shuffle=False)
    np.testing.assert_array_equal(net.parameters, before)
    assert len(net.history) == 0


@pytest.mark.parametrize("batch_size", [1, 7, None])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_x_trains_exactly_as_its_dense_copy(batch_size, shuffle, fmt):
    from scipy import sparse

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6))
    x[x < 0.6] = 0.0  # mostly zeros
    y = (x.sum(axis=1) > 1).astype(int)
    dense = gn.NeuralNetwork.from_sizes(
        [6, 5, 2],
        activation="tanh",
        loss="cross_entropy",
        optimizer="adam",
        random_state=1,
        l2=0.01,
    )
    sparse_net = dense.copy()
    dense.train(x, y, epochs=3, batch_size=batch_size, shuffle=shuffle)
    sparse_net.train(
        sparse.coo_matrix(x).asformat(fmt), y, epochs=3, batch_size=batch_size, shuffle=shuffle
    )
    np.testing.assert_allclose(sparse_net.parameters, dense.parameters, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sparse_net.history.loss, dense.history.loss, rtol=1e-12)
    for matrix in (sparse.csr_matrix(x), sparse.csc_array(x)):
        np.testing.assert_allclose(dense.predict_proba(matrix), dense.predict_proba(x), rtol=1e-12)
        np.testing.assert_allclose(dense.forward(matrix), dense.forward(x), rtol=1e-12)
        loss, grad = dense.backward(matrix, y, return_input_gradient=True)
        dense_loss, dense_grad = dense.backward(x, y, return_input_gradient=True)
        assert loss == pytest.approx(dense_loss, rel=1e-12)
        np.testing.assert_allclose(grad, dense_grad, rtol=1e-12, atol=1e-18)


def test_sparse_x_with_lbfgs_and_float32_and_bad_values():
    from scipy import sparse

    rng = np.random.default_rng(1)
    x = np.where(rng.random((30, 4)) < 0.5, 0.0, rng.normal(size=(30, 4)))
    y = (x[:, 0] > 0).astype(int)
    net = gn.NeuralNetwork.from_sizes(
        [4, 3, 2], loss="cross_entropy", optimizer=gn.LBFGS(max_iter=15), random_state=0
    )
    twin = net.copy()
    net.train(x, y)
    twin.train(sparse.csr_matrix(x), y)
    np.testing.assert_allclose(twin.parameters, net.parameters, rtol=1e-10, atol=1e-13)
    small = gn.NeuralNetwork.from_sizes([4, 3, 2], loss="cross_entropy", dtype="float32")
    small.train(sparse.csr_matrix(x), y, epochs=2)
    assert small.parameters.dtype == np.float32
    bad = sparse.csr_matrix(np.where(x > 1, np.nan, x))
    before = small.parameters.copy()
    with pytest.raises(ValueError, match="Input x contains NaN"):
        small.train(bad, y)
    np.testing.assert_array_equal(small.parameters, before)
    with pytest.raises(ValueError, match="x has 3 features, but the network expects 4"):
        small.predict(sparse.csr_matrix(x[:, :3]))


def test_l2_scaling_batch_divides_the_penalty_by_the_batch_size_or_weight():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(12, 3)), rng.normal(size=12)
    weights = rng.uniform(0.5, 2.0, 12)
    scaled = gn.NeuralNetwork.from_sizes([3, 4, 1], l2=0.3, l2_scaling="batch", random_state=0)
    constant = scaled.copy()
    constant.l2_scaling = "constant"
    for w, size in ((None, 12), (weights, weights.sum())):
        constant.l2 = 0.3 / size
        assert scaled.backward(x, y, sample_weight=w) == pytest.approx(
            constant.backward(x, y, sample_weight=w), rel=1e-14
        )
        scaled_grads = scaled.gradients.copy()
        constant.backward(x, y, sample_weight=w)
        np.testing.assert_allclose(scaled_grads, constant.gradients, rtol=1e-13)
    assert scaled.get_config()["l2_scaling"] == "batch"
    assert gn.NeuralNetwork.from_config(scaled.get_config()).l2_scaling == "batch"
    old_config = {k: v for k, v in scaled.get_config().items() if k != "l2_scaling"}
    assert gn.NeuralNetwork.from_config(old_config).l2_scaling == "constant"  # 0.1's configs
    with pytest.raises(ValueError, match="l2_scaling must be 'constant' or 'batch', got 'mean'"):
        gn.NeuralNetwork(l2_scaling="mean")


def test_from_config_is_the_inverse_of_get_config():
    net = gn.NeuralNetwork.from_sizes(
        [3, 5, 2],
        activation="leaky_relu",
        loss="cross_entropy",
        optimizer=gn.SGD(0.1, momentum=0.5),
        l2=0.01,
        task="classification",
        dtype="float32",
        random_state=0,
    )
    config = net.get_config()
    rebuilt = gn.NeuralNetwork.from_config(config, random_state=0)
    assert rebuilt.get_config() == config
    np.testing.assert_array_equal(
        rebuilt.parameters, net.parameters
    )  # the same draws from the same seed
    assert rebuilt.optimizer is not net.optimizer


@pytest.mark.parametrize(
    ("edit", "error", "match"),
    [
        (lambda c: c.pop("loss"), ValueError, "config must have the keys"),
        (lambda c: c.update(l2="x"), TypeError, "config l2 must be a number"),
        (
            lambda c: c["layers"][0].update(activation="relu"),
            ValueError,
            "layers\\[0\\].activation is malformed",
        ),
        (
            lambda c: c["layers"][0]["activation"].update(name="evil"),
            ValueError,
            "unknown activation 'evil'",
        ),
        (
            lambda c: c.update(loss={"name": "cross_entropy"}),
            ValueError,
            "needs a 'softmax' output layer",
        ),
        (lambda c: c.update(task="ranking"), ValueError, "task must be"),
    ],
)
def test_from_config_rejects_a_bad_config(edit, error, match):
    config = gn.NeuralNetwork.from_sizes([3, 4, 2], loss="mse").get_config()
    edit(config)
    with pytest.raises(error, match=match):
        gn.NeuralNetwork.from_config(config)


def test_inference_from_eight_threads_equals_serial_results():

    net = gn.NeuralNetwork.from_sizes(
        [4, 32, 16, 3], activation="tanh", loss="cross_entropy", random_state=0
    )
    inputs = [np.random.default_rng(i).normal(size=(7 + i, 4)) for i in range(8)]
    expected = [(net.forward(x), net.predict(x), net.predict_proba(x)) for x in inputs]
    wrong = []

    def work(index):
        for _ in range(60):
            x = inputs[index]
            got = (net.forward(x), net.predict(x), net.predict_proba(x))
            if not all(np.array_equal(a, b) for a, b in zip(got, expected[index])):
                wrong.append(index)

    run_in_threads(work, 8)
    assert wrong == []


def test_concurrent_backward_calls_each_get_their_own_loss():

    net = gn.NeuralNetwork.from_sizes(
        [3, 8, 2], activation="relu", loss="cross_entropy", random_state=1
    )
    batches = [(np.random.default_rng(i).normal(size=(5, 3)), np.arange(5) % 2) for i in range(4)]
    expected = [net.backward(x, y) for x, y in batches]
    wrong = []

    def work(index):
        for _ in range(100):
            if net.backward(*batches[index]) != expected[index]:
                wrong.append(index)

    run_in_threads(work, 4)
    assert wrong == []


def test_training_one_network_from_two_threads_is_refused():
    import threading

    x = np.random.default_rng(0).normal(size=(64, 2))
    y = (x[:, 0] > 0).astype(int)
    net = gn.NeuralNetwork.from_sizes([2, 8, 2], loss="cross_entropy", random_state=0)
    started, release = threading.Event(), threading.Event()

    def slow_callback(network, epoch, logs):
        started.set()
        release.wait(10)

    thread = threading.Thread(target=lambda: net.train(x, y, epochs=2, callbacks=[slow_callback]))
    thread.start()
    assert started.wait(10)
    before = network_state(net)
    with pytest.raises(RuntimeError, match="another thread is training it"):
        net.train(x, y, epochs=1)
    assert_unchanged(net, before)
    release.set()
    thread.join()
    assert net.history.epochs == 2
    net.train(x, y, epochs=1)  # free again
    assert net.copy().history.epochs == 3  # and copies (which cannot copy a lock) still work


def test_errors_quote_numpy_scalars_as_numbers():
    with pytest.raises(TypeError, match=r"epochs must be an integer, got float64 1\.0$"):
        gn.NeuralNetwork.from_sizes([2, 2]).train(np.ones((2, 2)), [0, 1], epochs=np.float64(1.0))
    with pytest.raises(TypeError, match=r"got int64 3$"):
        gn.NeuralNetwork(l2=0.0).add_layer(gn.Layer(2, 2, np.int64(3)))


def test_a_masked_array_with_masked_values_is_refused():
    net = gn.NeuralNetwork.from_sizes([2, 2], loss="mse", random_state=0)
    x = np.ma.masked_array(np.ones((3, 2)), mask=[[0, 0], [1, 0], [0, 0]])
    with pytest.raises(ValueError, match="x is a masked array with 1 masked value"):
        net.predict_output(x)
    np.testing.assert_array_equal(
        net.predict_output(np.ma.masked_array(np.ones((3, 2)))), net.predict_output(np.ones((3, 2)))
    )
