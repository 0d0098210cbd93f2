"""The conv core equals torch (forward and backward, float64) and Keras (forward, NHWC), exactly in shape."""
import numpy as np
import pytest

from course_lib.core import layers as L, ops
from course_lib.core.data import load_digits_split
from course_lib.frameworks import import_torch
from course_lib.core.nn import train

GRID = [  # (n, c_in, h, w, c_out, k, stride, padding)
    (2, 1, 8, 8, 3, 3, 1, 1), (3, 2, 7, 9, 4, 3, 2, 1), (1, 3, 5, 5, 2, 5, 1, 0), (2, 2, 6, 6, 3, 1, 1, 0),
    (2, 4, 9, 7, 2, 2, 3, 2), (1, 1, 4, 4, 1, 4, 1, 0), (2, 3, 10, 6, 5, 3, 2, 0),
]


def _torch_conv(x, W, b, stride, padding, dy):
    torch = import_torch(0)
    xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    y = torch.nn.functional.conv2d(xt, Wt, bt, stride=stride, padding=padding)
    y.backward(torch.tensor(dy))
    return y.detach().numpy(), xt.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()


@pytest.mark.torch
@pytest.mark.parametrize("n, c, h, w, o, k, s, p", GRID)
def test_conv2d_forward_and_backward_equal_torch(n, c, h, w, o, k, s, p):
    rng = np.random.default_rng(n * 100 + c * 10 + k)
    layer = L.Conv2d(c, o, k, stride=s, padding=p)
    x, W, b = rng.normal(size=(n, c, h, w)), rng.normal(size=(o, c, k, k)), rng.normal(size=o)
    y = layer.forward(x, W, b)
    dy = rng.normal(size=y.shape)
    dx, dW, db = layer.backward(dy)
    for ours, theirs in zip((y, dx, dW, db), _torch_conv(x, W, b, s, p, dy)):
        assert ours.shape == theirs.shape and np.max(np.abs(ours - theirs)) < 1e-10


@pytest.mark.torch
@pytest.mark.parametrize("pool, k, s", [("max", 2, None), ("max", 3, 1), ("avg", 2, None), ("avg", 3, 2)])
def test_pooling_equals_torch_ties_included(pool, k, s):
    torch = import_torch(0)
    rng = np.random.default_rng(k)
    x = rng.integers(0, 3, size=(2, 3, 7, 7)).astype(float)  # small integers: many ties inside windows
    layer = (L.MaxPool2d if pool == "max" else L.AvgPool2d)(k, s)
    y = layer.forward(x)
    dy = rng.normal(size=y.shape)
    xt = torch.tensor(x, requires_grad=True)
    f = torch.nn.functional.max_pool2d if pool == "max" else torch.nn.functional.avg_pool2d
    yt = f(xt, k, s)
    yt.backward(torch.tensor(dy))
    assert np.array_equal(y, yt.detach().numpy())
    assert np.max(np.abs(layer.backward(dy) - xt.grad.numpy())) < 1e-12  # ties: the first maximum gets it


def test_output_size_and_im2col_index_map():
    assert ops.conv_output_size(8, 3, 1, 1) == 8 and ops.conv_output_size(7, 3, 2, 1) == 4
    ch, row, col = ops.im2col_indices(1, 3, 3, 2, 2)
    assert row.shape == (4, 4) and row[:, 0].tolist() == [0, 0, 1, 1] and col[:, 0].tolist() == [0, 1, 0, 1]
    with pytest.raises(ValueError, match="k must be <= n"):
        ops.conv_output_size(2, 5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k_h, k_w, stride, padding", [(1, 1, 1, 0), (3, 3, 1, 1), (2, 3, 2, 0), (4, 2, 3, 2), (3, 3, 3, 0),
                                                      (2, 2, 3, 1), (5, 1, 2, 0), (1, 4, 1, 2), (4, 4, 1, 0)])
def test_col2im_adds_overlaps_in_np_add_at_order_bit_for_bit(k_h, k_w, stride, padding, dtype):
    """col2im equals np.add.at over im2col's index map exactly: the same additions in the same order."""
    rng = np.random.default_rng(k_h * 100 + stride * 10 + padding)
    x_shape = (2, 3, 7, 8)
    ch, row, col = ops.im2col_indices(*x_shape[1:], k_h, k_w, stride, padding)
    shape = (2,) + np.broadcast(ch, row, col).shape                # (n, c k_h k_w, h_out w_out)
    cols = (rng.standard_normal(shape) * 10.0 ** rng.integers(-8, 8, shape)).astype(dtype)  # sums that round
    cols[0, :, 0] = -0.0                                            # signed zeros: 0.0 + -0.0 stays 0.0
    ref = np.zeros((2, 3, 7 + 2 * padding, 8 + 2 * padding), dtype=dtype)
    np.add.at(ref, (slice(None), ch, row, col), cols)
    got = ops.col2im(cols, x_shape, k_h, k_w, stride, padding)
    want = ref[:, :, padding:padding + 7, padding:padding + 8]
    assert got.dtype == dtype and got.tobytes() == want.tobytes()
    for bad in (cols[:, 1:], cols[:1], cols[..., :-1]):             # a row, an example, an output position short
        with pytest.raises(ValueError, match="cols must have shape"):
            ops.col2im(bad, x_shape, k_h, k_w, stride, padding)


def test_sequential_gradients_equal_finite_differences():
    rng = np.random.default_rng(0)
    net = L.Sequential([L.Reshape((1, 5, 5)), L.Conv2d(1, 2, 3), L.Activation("tanh"), L.AvgPool2d(3),
                        L.Flatten(), L.Dense(2, 3)], seed=1)
    X, y = rng.normal(size=(4, 25)), np.array([0, 2, 1, 0])
    theta = net.get_flat()
    _, dW, db = net.loss_and_grads(X, y, "cross_entropy")
    from course_lib.core.nn import to_flat
    grad = to_flat(dW, db)
    eps, num = 1e-6, np.zeros_like(theta)
    for i in range(theta.size):
        for sgn in (1, -1):
            net.set_flat(theta + sgn * eps * (np.arange(theta.size) == i))
            num[i] += sgn * net.loss_and_grads(X, y, "cross_entropy")[0] / (2 * eps)
    net.set_flat(theta)
    assert np.max(np.abs(num - grad)) < 1e-7  # central differences: error O(eps^2) plus round-off / eps


@pytest.mark.torch
def test_digits_cnn_bridge_to_torch_gives_equal_outputs():
    torch = import_torch(0)
    d = load_digits_split()
    net = L.digits_cnn(seed=0)
    train(net, d.X_train[:200], d.y_train[:200], epochs=1, seed=0)
    tnet = __import__("course_lib.frameworks.torch_bridge", fromlist=["to_torch"]).to_torch(net)
    with torch.no_grad():
        out = tnet(torch.tensor(d.X_test.astype(float))).numpy()
    assert np.max(np.abs(out - net.forward(d.X_test))) < 1e-10


@pytest.mark.tf
def test_digits_cnn_bridge_to_keras_gives_equal_outputs():
    from course_lib.frameworks.keras_bridge import to_keras

    d = load_digits_split()
    net = L.digits_cnn(seed=1)
    train(net, d.X_train[:200], d.y_train[:200], epochs=1, seed=0)
    out = to_keras(net).predict(d.X_test, verbose=0)
    assert np.max(np.abs(out - net.forward(d.X_test))) < 1e-4  # Keras computes in float32: ~1e-6 relative


@pytest.mark.torch
def test_macs_equal_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode
    from course_lib.frameworks.torch_bridge import to_torch
    from course_lib.core.measure import sequential_macs

    torch = import_torch(0)
    net = L.digits_cnn(seed=0)
    with FlopCounterMode(display=False) as fc:
        to_torch(net)(torch.zeros(1, 64, dtype=torch.float64))
    assert sequential_macs(net, (64,)) == fc.get_total_flops() // 2


def test_masks_stay_zero_while_training():
    d = load_digits_split()
    net = L.digits_cnn(seed=0)
    m = np.random.default_rng(0).random(net.W[1].shape) > 0.5
    net.set_masks([None, m, None])
    train(net, d.X_train[:100], d.y_train[:100], epochs=1, seed=0)
    assert np.all(net.W[1][~m] == 0)


@pytest.mark.tf
@pytest.mark.parametrize("n, c, h, w, o, k, s, padding", [
    (2, 1, 8, 8, 3, 3, 1, "same"), (2, 3, 7, 9, 4, 3, 2, "valid"), (1, 2, 6, 6, 2, 1, 1, "valid"),
    (2, 2, 9, 7, 3, 5, 1, "same"), (1, 4, 10, 10, 2, 2, 3, "valid")])
def test_conv2d_equals_keras_forward_and_backward(n, c, h, w, o, k, s, padding):
    """Keras is NHWC with (k, k, in, out) kernels: transpose in, compare, transpose back (float64)."""
    from course_lib.frameworks import import_tf

    tf, keras, _ = import_tf(0)
    rng = np.random.default_rng(k * 7 + c)
    x, W, b = rng.normal(size=(n, c, h, w)), rng.normal(size=(o, c, k, k)), rng.normal(size=o)
    p = (k - 1) // 2 if padding == "same" else 0
    layer = L.Conv2d(c, o, k, stride=s, padding=p)
    y = layer.forward(x, W, b)
    dy = rng.normal(size=y.shape)
    dx, dW, db = layer.backward(dy)
    conv = keras.layers.Conv2D(o, k, strides=s, padding=padding, dtype="float64")
    xt = tf.Variable(x.transpose(0, 2, 3, 1))
    conv.build(xt.shape)
    conv.set_weights([W.transpose(2, 3, 1, 0), b])
    with tf.GradientTape() as tape:
        yt = conv(xt)
    gx, gW, gb = tape.gradient(yt, [xt] + conv.trainable_weights, output_gradients=tf.constant(dy.transpose(0, 2, 3, 1)))
    assert np.max(np.abs(yt.numpy().transpose(0, 3, 1, 2) - y)) < 1e-10
    assert np.max(np.abs(gx.numpy().transpose(0, 3, 1, 2) - dx)) < 1e-10
    assert np.max(np.abs(gW.numpy().transpose(3, 2, 0, 1) - dW)) < 1e-10 and np.max(np.abs(gb.numpy() - db)) < 1e-10
