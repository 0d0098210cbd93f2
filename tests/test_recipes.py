"""The shared homes the lessons use instead of re-typing them: the SGD preset, the seeded trained models,
top-1 accuracy from outputs, the calibration sample and the byte counts."""
import numpy as np
import pytest

from course_lib.core.data import calibration_sample, load_digits_split
from course_lib.core.layers import digits_cnn
from course_lib.core.measure import packed_bytes
from course_lib.core.nn import MLP, accuracy, top1_accuracy, train
from course_lib.core.recipes import DIGITS_SGD, trained_cnn, trained_mlp
from course_lib.quantization import ptq

D = load_digits_split()


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.W, b.W)) and all(np.array_equal(x, y) for x, y in zip(a.b, b.b))


def test_trained_mlp_is_the_model_and_loop_written_out():
    mine = trained_mlp(3, [64, 16, 10], epochs=2)
    by_hand = MLP([64, 16, 10], activation="relu", seed=3)
    train(by_hand, D.X_train, D.y_train, epochs=2, lr=0.05, batch_size=32, momentum=0.9, seed=3)
    assert _same(mine, by_hand)
    assert _same(mine, trained_mlp(3, [64, 16, 10], epochs=2))
    assert not _same(mine, trained_mlp(4, [64, 16, 10], epochs=2))
    assert DIGITS_SGD == dict(lr=0.05, batch_size=32, momentum=0.9)


def test_trained_mlp_trains_on_the_data_it_is_given():
    d64 = load_digits_split(dtype=np.float64)
    assert trained_mlp(0, [64, 8, 10], epochs=1, data=d64).W[0].dtype == np.float64


def test_trained_cnn_is_the_course_cnn_trained_with_the_preset():
    mine = trained_cnn(1, epochs=1)
    by_hand = digits_cnn(1)
    train(by_hand, D.X_train, D.y_train, 1, seed=1, **DIGITS_SGD)
    assert _same(mine, by_hand)


def test_top1_accuracy_by_hand_and_first_maximum_wins_a_tie():
    z = np.array([[0.1, 0.9], [2.0, 2.0], [5.0, -1.0], [0.0, 1.0]])
    assert top1_accuracy(z, np.array([1, 0, 1, 1])) == 0.75      # the tie in row 1 goes to class 0, as argmax does
    assert top1_accuracy(z, np.array([[1], [1], [0], [0]])) == 0.5  # a column of labels is accepted
    with pytest.raises(ValueError, match="y must have 4 entries"):
        top1_accuracy(z, np.array([1, 0]))


def test_accuracy_of_a_model_is_top1_of_its_outputs():
    m = MLP([64, 8, 10], activation="relu", seed=0)
    assert accuracy(m, D.X_test, D.y_test) == top1_accuracy(m.forward(D.X_test), D.y_test)
    with pytest.raises(ValueError, match="y must have 360 entries"):
        accuracy(m, D.X_test, D.y_test[:5])


def test_calibration_sample_draws_distinct_rows_with_its_seed():
    X = np.arange(20.0)[:, None] * np.ones((1, 3))
    s = calibration_sample(X, 5, seed=100)
    assert s.shape == (5, 3) and len(set(s[:, 0])) == 5
    assert np.array_equal(s, X[np.random.default_rng(100).choice(20, 5, replace=False)])
    assert np.array_equal(np.sort(calibration_sample(X, 20, 1)[:, 0]), np.arange(20.0))  # all rows, each once
    with pytest.raises(ValueError, match="n must be at most len"):
        calibration_sample(X, 21, 0)


def test_packed_bytes_by_hand():
    W, b = [np.zeros((3, 5)), np.zeros((2, 3))], [np.zeros(3), np.zeros(2)]
    # 15 codes of 4 bits -> 8 bytes (a half byte rounds up), 3 scales, 3 biases; 6 codes -> 3 bytes, 2 + 2 floats
    assert packed_bytes(W, b, 4) == (8 + 12 + 12) + (3 + 8 + 8)
    assert packed_bytes(W, b, 1) == (2 + 12 + 12) + (1 + 8 + 8)
    with pytest.raises(ValueError, match="biases must have one array per weight matrix"):
        packed_bytes(W, b[:1], 4)


def test_int8_model_bytes_with_and_without_scales():
    m = trained_mlp(0, [64, 8, 10], epochs=1)
    q = ptq.convert(m, calibration_sample(D.X_train, 32, 100))
    weights, biases = 64 * 8 + 8 * 10, 4 * (8 + 10)
    assert q.n_bytes() == weights + biases
    per_channel = sum(np.size(L.w_scale) for L in q.layers if L.q_w is not None)
    assert q.n_bytes(scales=True) == weights + biases + 4 * per_channel
    with pytest.raises(TypeError, match="scales must be True or False"):
        q.n_bytes(scales=1)
