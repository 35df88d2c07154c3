"""ONNX export: onnxruntime and onnx.reference give glassnet's outputs (glassnet.export)."""

import json
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet import cli, experiments
from glassnet.estimators import NeuralNetworkClassifier, NeuralNetworkRegressor

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx.reference import ReferenceEvaluator  # noqa: E402

from glassnet.export import to_onnx  # noqa: E402

#: float64 and float32 parity, relative to the largest magnitude of each output
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
NAMES = gn.activations.names()


def run(proto, x):
    """The outputs of onnxruntime and of onnx.reference on ``x``, checked to agree; by name."""
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    results = dict(zip(names, session.run(None, {"X": x})))
    reference = dict(zip(names, ReferenceEvaluator(proto).run(None, {"X": x})))
    for name in names:
        assert results[name].shape == reference[name].shape, name
        if results[name].dtype.kind in "fc":
            assert_close(reference[name], results[name], results[name].dtype.name)
        else:
            np.testing.assert_array_equal(reference[name].astype(str), results[name].astype(str))
    return results


def relative_error(actual, expected):
    expected = np.asarray(expected)
    scale = np.max(np.abs(expected))
    return float(np.max(np.abs(actual - expected)) / scale) if scale else 0.0


def assert_close(expected, actual, dtype):
    assert actual.dtype == np.dtype(dtype)
    assert actual.shape == np.shape(expected)
    assert relative_error(actual, expected) <= TOLERANCE[dtype]


def random_network(rng, hidden, output, depth, dtype, n_outputs=3):
    sizes = [4, *rng.integers(2, 9, depth - 1).tolist(), n_outputs]
    return gn.NeuralNetwork.from_sizes(
        sizes, activation=hidden, output_activation=output, random_state=rng, dtype=dtype
    )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hidden", NAMES)
def test_networks_of_every_activation_and_depth_match(hidden, dtype):
    rng = np.random.default_rng(NAMES.index(hidden))
    for index, output in enumerate(NAMES):
        depth = 1 + (NAMES.index(hidden) + index) % 5
        network = random_network(rng, hidden, output, depth, dtype)
        proto = to_onnx(network)
        for n in (1, 37):
            x = (rng.normal(size=(n, 4)) * 3).astype(dtype)
            result = run(proto, x)
            assert list(result) == ["variable"]
            assert_close(network.predict_output(x), result["variable"], dtype)


def test_leaky_relu_keeps_its_float64_slope():
    network = gn.NeuralNetwork([gn.Layer(2, 2, {"name": "leaky_relu", "alpha": 0.3})])
    x = np.array([[-1.0, 2.0], [3.0, -4.0]])
    np.testing.assert_allclose(run(to_onnx(network), x)["variable"], network.predict_output(x))


def test_extreme_inputs_follow_glassnet_floors_and_ceilings():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(50, 3)) * 1e3
    for name in NAMES:
        network = gn.NeuralNetwork([gn.Layer(3, 4, name)], random_state=rng)
        result = run(to_onnx(network), x)["variable"]
        expected = network.predict_output(x)
        assert np.isfinite(result).all() == np.isfinite(expected).all()
        assert relative_error(result, expected) <= 1e-12, name


def test_float32_export_of_a_float64_network():
    rng = np.random.default_rng(3)
    network = random_network(rng, "tanh", "softmax", 4, "float64")
    x = rng.normal(size=(37, 4))
    result = run(to_onnx(network, dtype="float32"), x.astype(np.float32))
    assert_close(network.predict_output(x), result["variable"], "float32")


def test_the_demo_model():
    x_train, x_test, y_train, _ = experiments.moons_split(0, n_samples=300)
    network = experiments.seed_network(random_state=0)
    network.train(x_train, y_train, epochs=3, batch_size=1)
    result = run(to_onnx(network), x_test)
    assert list(result) == ["variable", "label", "probabilities"]
    assert_close(network.predict_output(x_test), result["variable"], "float64")
    assert_close(network.predict_proba(x_test), result["probabilities"], "float64")
    np.testing.assert_array_equal(result["label"], network.predict(x_test))
    assert result["label"].dtype == np.int64


def test_a_one_unit_classification_network():
    network = gn.NeuralNetwork.from_sizes(
        [2, 5, 1], "relu", loss="binary_cross_entropy", task="classification", random_state=0
    )
    x = np.random.default_rng(0).normal(size=(37, 2))
    result = run(to_onnx(network), x)
    assert_close(network.predict_proba(x), result["probabilities"], "float64")
    np.testing.assert_array_equal(result["label"], network.predict(x))


def _quietly_fitted(estimator, x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(x, y)


def _data(n=60, n_features=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_features))
    return x, x @ rng.normal(size=n_features)


CLASSIFIERS = [
    pytest.param([3, 7], {}, id="binary-int"),
    pytest.param(["ant", "bee", "cat"], {}, id="multiclass-str"),
    pytest.param([0, 1, 2, 5], {"loss": "mse"}, id="mse-sigmoid"),
    pytest.param(["no", "yes"], {"loss": "mse", "output_activation": "identity"}, id="mse-id"),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("classes", "options"), CLASSIFIERS)
def test_classifiers(classes, options, dtype):
    x, score = _data()
    y = np.array(classes)[
        np.digitize(score, np.quantile(score, np.linspace(0, 1, len(classes) + 1)[1:-1]))
    ]
    classifier = NeuralNetworkClassifier(
        (6, 5), activation="tanh", max_iter=5, random_state=0, dtype=dtype, **options
    )
    _quietly_fitted(classifier, x, y)
    x = x.astype(dtype)
    result = run(to_onnx(classifier), x)
    assert list(result) == ["label", "probabilities"]
    assert_close(classifier.predict_proba(x), result["probabilities"], dtype)
    expected = classifier.predict(x)
    assert result["label"].dtype == (object if expected.dtype.kind == "U" else np.int64)
    np.testing.assert_array_equal(result["label"].astype(expected.dtype), expected)


def test_multilabel_classifier():
    x, score = _data()
    y = np.column_stack([score > 0, x[:, 0] > 0, x[:, 1] > 0.5]).astype(int)
    classifier = _quietly_fitted(NeuralNetworkClassifier((8,), max_iter=20, random_state=0), x, y)
    result = run(to_onnx(classifier), x)
    assert_close(classifier.predict_proba(x), result["probabilities"], "float64")
    np.testing.assert_array_equal(result["label"], classifier.predict(x))
    assert result["label"].dtype == np.int64 and result["label"].shape == (60, 3)


@pytest.mark.parametrize(("loss", "n_targets"), [("mse", 1), ("huber", 2), ("poisson", 1)])
def test_regressors(loss, n_targets):
    x, score = _data()
    y = np.exp(score / 4) if loss == "poisson" else np.column_stack([score, -score][:n_targets])
    regressor = NeuralNetworkRegressor(loss, (6,), "softplus", max_iter=5, random_state=0)
    _quietly_fitted(regressor, x, y[:, 0] if n_targets == 1 and y.ndim == 2 else y)
    result = run(to_onnx(regressor), x)
    assert list(result) == ["variable"] and result["variable"].shape == (60, n_targets)
    assert_close(regressor.predict(x).reshape(60, -1), result["variable"], "float64")


@pytest.mark.parametrize("opset", [13, 17, 18, 21])
def test_the_model_is_valid_and_described(opset):
    x, score = _data()
    classifier = _quietly_fitted(
        NeuralNetworkClassifier((5,), max_iter=2, random_state=0), x, score > 0
    )
    proto = to_onnx(classifier, opset=opset)
    onnx.checker.check_model(proto, full_check=True)
    assert [op.version for op in proto.opset_import] == [opset]
    props = {prop.key: prop.value for prop in proto.metadata_props}
    assert props["glassnet_version"] == gn.__version__
    assert props["glassnet_model"] == "NeuralNetworkClassifier"
    assert json.loads(props["glassnet_config"]) == classifier.network_.get_config()
    assert json.loads(props["glassnet_classes"]) == [False, True] or props["glassnet_classes"]
    (given,) = proto.graph.input
    assert given.name == "X"
    dims = given.type.tensor_type.shape.dim
    assert dims[0].dim_param and dims[1].dim_value == 4
    np.testing.assert_array_equal(run(proto, x)["label"], classifier.predict(x).astype(np.int64))


def test_gn_to_onnx_writes_the_file_atomically(tmp_path):
    network = gn.NeuralNetwork.from_sizes([2, 3, 1], random_state=0)
    path = tmp_path / "model.onnx"
    path.write_text("old")
    proto = gn.to_onnx(network, path)
    assert onnx.load(str(path)) == proto
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


class _Cube(gn.activations.Activation):
    name = "cube"

    def forward(self, z, out=None):
        return np.power(z, 3, out=out)

    def derivative(self, z, out=None):
        return np.multiply(3 * z, z, out=out)


class _Sigmoid2(gn.activations.Sigmoid):
    name = "sigmoid"  # a subclass may compute anything: refused as well


@pytest.mark.parametrize("activation", [_Cube(), _Sigmoid2()])
def test_custom_activations_are_refused_by_name(activation, tmp_path):
    network = gn.NeuralNetwork([gn.Layer(2, 3, "relu"), gn.Layer(3, 1, activation)])
    path = tmp_path / "model.onnx"
    with pytest.raises(ValueError, match=f"layer 1 has the activation '{activation.name}'"):
        to_onnx(network, path)
    assert not path.exists()


def test_bad_models_and_arguments_are_refused(tmp_path):
    network = gn.NeuralNetwork.from_sizes([2, 3, 1], random_state=0)
    with pytest.raises(ValueError, match="not fitted yet"):
        to_onnx(NeuralNetworkClassifier())
    with pytest.raises(TypeError, match="got LogisticRegression"):
        from sklearn.linear_model import LogisticRegression

        to_onnx(LogisticRegression())
    with pytest.raises(ValueError, match="without any"):
        to_onnx(gn.NeuralNetwork())
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64', got 'int8'"):
        to_onnx(network, dtype="int8")
    with pytest.raises(ValueError, match="opset must be an integer from 13 to .*, got 12"):
        to_onnx(network, opset=12)
    with pytest.raises(IsADirectoryError):
        to_onnx(network, tmp_path)
    with pytest.raises(FileNotFoundError):
        to_onnx(network, tmp_path / "missing" / "model.onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_skl2onnx_converts_a_pipeline(kind):
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, score = _data()
    x = x * 10 + 3
    if kind == "classifier":
        estimator = NeuralNetworkClassifier((6,), max_iter=5, random_state=0)
        y = np.array(["low", "mid", "high"])[np.digitize(score, [-1, 1])]
    else:
        estimator = NeuralNetworkRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0)
        y = score
    pipeline = _quietly_fitted(make_pipeline(StandardScaler(), estimator), x, y)
    options = {id(estimator): {"zipmap": False}} if kind == "classifier" else None
    proto = skl2onnx.to_onnx(pipeline, x[:1], options=options)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    results = session.run(None, {session.get_inputs()[0].name: x})
    if kind == "classifier":
        np.testing.assert_array_equal(results[0], pipeline.predict(x))
        assert_close(pipeline.predict_proba(x), results[1], "float64")
        # the default: probabilities as a list of {class: probability}, like any classifier's
        # (onnxruntime's ZipMap takes float32 only)
        session = ort.InferenceSession(
            skl2onnx.to_onnx(pipeline, x[:1].astype(np.float32)).SerializeToString(),
            providers=["CPUExecutionProvider"],
        )
        labels, maps = session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})
        np.testing.assert_array_equal(labels, pipeline.predict(x))
        assert maps[0].keys() == {"low", "mid", "high"}
    else:
        assert_close(pipeline.predict(x)[:, None], results[0], "float64")
    # float32 data: the converter computes in float32
    proto = skl2onnx.to_onnx(pipeline, x[:1].astype(np.float32), options=options)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    results = session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})
    expected = pipeline.predict_proba(x) if kind == "classifier" else pipeline.predict(x)[:, None]
    assert relative_error(results[-1], expected) < 1e-5


def test_the_command_writes_a_model_that_runs(tmp_path, capsys):
    x, score = _data()
    classifier = _quietly_fitted(
        NeuralNetworkClassifier((5,), max_iter=3, random_state=0), x, score > 0
    )
    gn.save(classifier, tmp_path / "model.safetensors")
    target = tmp_path / "model.onnx"
    status = cli.main(
        ["export", str(tmp_path / "model.safetensors"), "--to", str(target), "--dtype", "float32"]
    )
    said = capsys.readouterr()
    assert status == 0 and "wrote" in said.err + said.out
    result = run(onnx.load(str(target)), x.astype(np.float32))
    assert_close(classifier.predict_proba(x), result["probabilities"], "float32")


def test_the_command_refuses_a_file_that_is_not_a_model(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_text("not a model")
    target = tmp_path / "model.onnx"
    assert cli.main(["export", str(bad), "--to", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a valid glassnet model file" in err
    assert not target.exists()


def _write_csv(path, rng, target, labels=None):
    x = rng.normal(size=(60, 2)) * [1000.0, 0.01] + [5e4, 3.0]
    with open(path, "w") as handle:
        handle.write(f"size,ratio,{target}\n")
        for row in x:
            value = (row[0] - 5e4) / 1000 + (row[1] - 3.0) * 100
            shown = labels[int(value > 0)] if labels else f"{1e6 + 3e4 * value:.2f}"
            handle.write(f"{row[0]:.4f},{row[1]:.6f},{shown}\n")
    return x


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_a_trained_command_line_model_exports_its_standardisation_and_labels(
    tmp_path, capsys, task
):
    from glassnet.cli.modelinfo import ModelInfo

    rng = np.random.default_rng(0)
    labels = ["cheap", "dear"] if task == "classification" else None
    x = _write_csv(tmp_path / "data.csv", rng, "price", labels)
    flags = ["--standardize"] + (["--standardize-target"] if task == "regression" else [])
    args = ["train", "--data", str(tmp_path / "data.csv"), "--target", "price", *flags]
    args += ["--epochs", "5", "--hidden", "4", "--quiet", "--out", str(tmp_path / "run")]
    assert cli.main(args) == 0
    capsys.readouterr()
    model_path = tmp_path / "run" / "model.safetensors"
    assert cli.main(["export", str(model_path), "--to", str(tmp_path / "m.onnx")]) == 0
    network = gn.load(model_path)
    info = ModelInfo.from_metadata(network.metadata, str(model_path), network)
    output = network.predict_output(info.standardize.apply(x))
    result = run(onnx.load(str(tmp_path / "m.onnx")), x)  # the raw columns
    if task == "regression":
        assert_close(info.target_standardize.undo(output), result["variable"], "float64")
    else:
        assert_close(
            network.predict_proba(info.standardize.apply(x)), result["probabilities"], "float64"
        )
        expected = np.array(labels)[network.predict(info.standardize.apply(x))]
        np.testing.assert_array_equal(result["label"], expected)
