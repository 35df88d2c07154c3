"""The modelling rules every front end shares (glassnet.model.rules), and their users."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.cli.train import build_network
from glassnet.model import rules


@pytest.mark.parametrize(
    ("activation", "expected"),
    [
        ("relu", "he_uniform"),
        ("ReLU", "he_uniform"),
        ("leaky_relu", "he_uniform"),
        ("tanh", "glorot_uniform"),
        (gn.activations.ReLU(), "he_uniform"),
        ({"name": "sigmoid"}, "glorot_uniform"),
    ],
)
def test_default_weight_init(activation, expected):
    assert rules.default_weight_init(activation) == expected


@pytest.mark.parametrize(
    ("loss", "task", "expected"),
    [
        ("cross_entropy", "classification", "softmax"),
        ("binary_cross_entropy", "classification", "sigmoid"),
        ("mse", "classification", "sigmoid"),
        ("mse", "regression", "identity"),
        ("huber", "regression", "identity"),
        ("poisson", "regression", "exp"),
    ],
)
def test_output_activation_for(loss, task, expected):
    assert rules.output_activation_for(loss, task) == expected


def test_n_outputs_for():
    assert rules.n_outputs_for("cross_entropy", "classification", 3, 1) == 3
    assert rules.n_outputs_for("binary_cross_entropy", "classification", 2, 1) == 1
    assert rules.n_outputs_for("mse", "regression", None, 4) == 4


def test_check_loss_for_task_names_the_loss():
    rules.check_loss_for_task("mse", "classification", 3)
    with pytest.raises(
        ValueError, match="loss 'huber' is for regression, but the task is classification"
    ):
        rules.check_loss_for_task("huber", "classification", 2)
    with pytest.raises(ValueError, match="--loss bce is for classification"):
        rules.check_loss_for_task("bce", "regression", label="--loss bce")
    with pytest.raises(ValueError, match="needs 2 classes; the target has 3"):
        rules.check_loss_for_task("binary_cross_entropy", "classification", 3)


def test_the_builder_and_the_front_ends_follow_the_same_rules():
    # the network's builder, the estimators and the command line build the same network
    built = gn.NeuralNetwork.from_sizes(
        [2, 8, 3],
        activation="relu",
        weight_init="auto",
        loss="cross_entropy",
        task="classification",
    )
    assert [layer.weight_init for layer in built.layers] == ["he_uniform", "he_uniform"]
    assert built.layers[-1].activation.name == "softmax"
    mse = gn.NeuralNetwork.from_sizes([2, 4, 3], loss="mse", task="classification")
    assert mse.layers[-1].activation.name == "sigmoid"
    assert (
        gn.NeuralNetwork.from_sizes([2, 4, 1], loss="mse").layers[-1].activation.name == "identity"
    )
    x = np.random.default_rng(0).normal(size=(30, 2))
    y = (x[:, 0] > 0).astype(int)
    estimator = gn.NeuralNetworkClassifier(
        hidden_layer_sizes=(8,), activation="tanh", loss="mse", max_iter=1
    ).fit(x, y)
    assert [layer.weight_init for layer in estimator.network_.layers] == ["glorot_uniform"] * 2
    assert estimator.network_.layers[-1].activation.name == "sigmoid"
    settings = {
        "loss": None,
        "lr": None,
        "optimizer": "adam",
        "momentum": 0.0,
        "hidden": (8,),
        "activation": "tanh",
        "l2": 0.0,
        "seed": 0,
        "dtype": "float64",
    }
    info = {"task": "classification", "classes": [0, 1, 2], "task_reason": "test"}
    cli_network = build_network(settings, info, 2)
    assert [layer.weight_init for layer in cli_network.layers] == ["glorot_uniform"] * 2
    assert cli_network.layers[-1].activation.name == "softmax" and cli_network.n_outputs == 3


def test_multilabel_rules():
    from glassnet.model import rules as multilabel_rules

    assert multilabel_rules.default_loss("multilabel") == "cross_entropy"
    for loss in ("binary_cross_entropy", "mse"):
        assert multilabel_rules.output_activation_for(loss, "multilabel") == "sigmoid"
        assert multilabel_rules.n_outputs_for(loss, "multilabel", 5, 1) == 5
        multilabel_rules.check_loss_for_task(loss, "multilabel", 5)
    with pytest.raises(ValueError, match="sigmoid output per label"):
        multilabel_rules.check_loss_for_task("cross_entropy", "multilabel", 5)
    with pytest.raises(ValueError, match="for regression"):
        multilabel_rules.check_loss_for_task("mae", "multilabel", 5)
