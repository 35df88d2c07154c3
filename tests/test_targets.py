"""Tasks, labels and their encoding (glassnet.model.targets); the shared validation split."""

import numpy as np
import pytest

import glassnet as gn
from glassnet._validation import check_random_state
from glassnet.datasets import validation_split
from glassnet.model import targets


def test_infer_task_from_the_loss_then_the_targets():
    mse, ce, huber = gn.losses.get("mse"), gn.losses.get("cross_entropy"), gn.losses.get("huber")
    assert targets.infer_task(ce, np.array([0.5]), 1) == "classification"
    assert targets.infer_task(huber, np.array([0, 1]), 2) == "regression"
    assert targets.infer_task(mse, np.array([0, 1, 1]), 2) == "classification"  # the seed's setting
    assert targets.infer_task(mse, np.array([0, 1, 1]), 1) == "regression"
    assert targets.infer_task(mse, np.array([0.5, 1.0]), 2) == "regression"


def test_guess_task_from_a_column():
    assert targets.guess_task(np.array(["a", "b"]), "y")[0] == "classification"
    assert targets.guess_task(np.arange(20.0), "y")[0] == "classification"
    task, reason = targets.guess_task(np.arange(21.0), "price")
    assert task == "regression" and "'price' holds real numbers" in reason


def test_encode_labels_and_its_unknown_labels():
    classes, indices = targets.encode_labels(np.array(["b", "a", "b", "c"]))
    assert classes.tolist() == ["a", "b", "c"] and indices.tolist() == [1, 0, 1, 2]
    _, again = targets.encode_labels(np.array(["c", "a"]), classes)
    assert again.tolist() == [2, 0]
    with pytest.raises(ValueError, match=r"labels \['z'\] not among the classes"):
        targets.encode_labels(np.array(["a", "z"]), classes)


def test_encode_targets_one_hot_and_a_single_unit():
    ce, bce = gn.losses.get("cross_entropy"), gn.losses.get("binary_cross_entropy")
    one_hot = targets.encode_targets([2, 0], 2, "classification", 3, ce, np.dtype("float32"))
    np.testing.assert_array_equal(one_hot, [[0, 0, 1], [1, 0, 0]])
    assert one_hot.dtype == np.float32
    column = targets.encode_targets([1, 0], 2, "classification", 1, bce, np.dtype("float64"))
    np.testing.assert_array_equal(column, [[1.0], [0.0]])
    with pytest.raises(ValueError, match="labels must be integers in \\[0, 2\\]"):
        targets.encode_targets([3], 1, "classification", 3, ce, np.dtype("float64"))


def test_classes_from_output():
    np.testing.assert_array_equal(
        targets.classes_from_output(np.array([[0.2, 0.8], [0.9, 0.1]])), [1, 0]
    )
    np.testing.assert_array_equal(targets.classes_from_output(np.array([[0.7], [0.3]])), [1, 0])


def test_validation_split_stratifies_when_it_can():
    x = np.arange(40.0).reshape(20, 2)
    labels = np.array([0] * 10 + [1] * 10)
    _, x_held, _, y_held = validation_split(x, labels, fraction=0.2, random_state=0, labels=labels)
    assert len(x_held) == 4 and np.bincount(y_held).tolist() == [2, 2]
    rare = np.array([0] * 19 + [1])  # one sample of a class: cannot stratify, still splits
    pieces = validation_split(x, rare, fraction=0.2, random_state=0, labels=rare)
    assert len(pieces[1]) == 4
    with pytest.raises(ValueError, match="train set will be empty"):
        validation_split(x[:2], rare[:2], fraction=0.99, random_state=0)


def test_check_random_state_accepts_what_scikit_learn_users_pass():
    generator = np.random.default_rng(3)
    assert check_random_state(generator) is generator
    assert check_random_state(7).integers(100) == np.random.default_rng(7).integers(100)
    legacy = check_random_state(np.random.RandomState(0))
    assert isinstance(legacy, np.random.Generator)
    with pytest.raises(ValueError, match="random_state must be a non-negative integer"):
        check_random_state(-1)
    with pytest.raises(TypeError, match="random_state must be None, a non-negative int"):
        check_random_state("seed")
