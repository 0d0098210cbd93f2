"""course_lib.quantization.qat equals the frameworks: STE masks exactly, gradients to 1e-6 (or a stated tolerance).

torch: autograd through fake_quantize_per_tensor/per_channel_affine (integer-domain mask),
_fake_quantize_learnable_per_tensor_affine (LSQ), fuse_conv_bn_eval (batch-norm folding), and a torch twin
of a fake-quantized numpy MLP and CNN. TensorFlow: tf.GradientTape through fake_quant_with_min_max_vars
(real-domain mask, gradients w.r.t. min and max).
"""
import warnings

import numpy as np
import pytest

from course_lib.core import layers, nn
from course_lib.quantization import qat
from course_lib.quantization import primitives as Q


def _torch():
    from course_lib.frameworks import import_torch

    warnings.filterwarnings("ignore", category=UserWarning)
    return import_torch(0)


def _boundary_inputs(seed, scale, zp, q_min, q_max):
    """Random values, plus values ON and half a step around the ends of the integer range."""
    rng = np.random.default_rng(seed)
    ends = np.array([q_min - zp, q_max - zp], dtype=np.float64)
    offsets = np.array([-0.75, -0.5, -0.49, -0.25, 0.0, 0.25, 0.49, 0.5, 0.51, 0.75])
    edge = ((ends[:, None] + offsets[None]).reshape(-1) * scale).astype(np.float32)
    rand = rng.normal(0, (q_max - q_min) * scale / 3, 200).astype(np.float32)
    return np.concatenate([edge, rand, np.float32([0.0])])


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("q_min, q_max", [(-128, 127), (0, 255), (-8, 7), (0, 3), (-2, 1)])
def test_ste_mask_equals_torch_autograd_per_tensor(seed, q_min, q_max):
    torch = _torch()
    scale = float(np.float32(np.random.default_rng(seed).uniform(0.01, 0.3)))
    zp = (q_min + q_max + 1) // 2 if q_min == 0 else 0
    x = _boundary_inputs(seed, scale, zp, q_min, q_max)
    dy = np.random.default_rng(seed + 100).normal(size=x.size).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    out = torch.fake_quantize_per_tensor_affine(xt, scale, zp, q_min, q_max)
    out.backward(torch.tensor(dy))
    x_hat, mask = qat.fake_quantize_ste(x, scale, zp, q_min, q_max, rule="torch")
    assert mask.dtype == bool
    assert np.array_equal(mask, xt.grad.numpy() != 0)  # dy has no zeros
    assert np.array_equal(dy * mask, xt.grad.numpy())
    assert np.array_equal(x_hat, out.detach().numpy())


@pytest.mark.torch
def test_ste_mask_at_the_half_step_follows_round_half_to_even():
    torch = _torch()
    x = np.float32([127.5, -128.5, 126.5, -127.5, 128.0, -129.0])  # scale 1: exact halves
    xt = torch.tensor(x, requires_grad=True)
    torch.fake_quantize_per_tensor_affine(xt, 1.0, 0, -128, 127).sum().backward()
    expected = np.array([False, True, True, True, False, False])  # 127.5 -> 128 (out), -128.5 -> -128 (in)
    assert np.array_equal(xt.grad.numpy() != 0, expected)
    assert np.array_equal(qat.ste_mask(x, 1.0, 0, -128, 127, rule="torch"), expected)
    assert np.array_equal(qat.ste_mask(x, 1.0, 0, -128, 127), expected)


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("axis", [0, 1])
def test_ste_mask_equals_torch_autograd_per_channel(seed, axis):
    torch = _torch()
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (6, 5)).astype(np.float32)
    n = x.shape[axis]
    scale = rng.uniform(0.005, 0.05, n).astype(np.float32)
    zp = np.zeros(n, np.int64)
    x[0, 0], x[1, 1] = 7.5 * scale[0], -8.5 * scale[1]  # exact halves at the ends of [-8, 7]
    xt = torch.tensor(x, requires_grad=True)
    out = torch.fake_quantize_per_channel_affine(xt, torch.tensor(scale), torch.tensor(zp, dtype=torch.int32),
                                                 axis, -8, 7)
    dy = rng.normal(size=x.shape).astype(np.float32)
    out.backward(torch.tensor(dy))
    mask = qat.ste_mask(x, scale, zp, -8, 7, axis=axis, rule="torch")
    assert np.array_equal(dy * mask, xt.grad.numpy())
    assert 0 < mask.sum() < mask.size  # both sides of the boundary are exercised


def _tf():
    from course_lib.frameworks import import_tf

    return import_tf(0)[0]


def _tf_grads(tf, x, dy, x_min, x_max, bits, narrow_range):
    xv, lo, hi = tf.Variable(x), tf.Variable(np.float32(x_min)), tf.Variable(np.float32(x_max))
    with tf.GradientTape() as tape:
        out = tf.quantization.fake_quant_with_min_max_vars(xv, lo, hi, num_bits=bits, narrow_range=narrow_range)
        loss = tf.reduce_sum(out * dy)
    g = tape.gradient(loss, [xv, lo, hi])
    return out.numpy(), [t.numpy() for t in g]


@pytest.mark.tf
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("bits, narrow_range", [(8, False), (8, True), (4, False), (2, False), (3, True)])
def test_fake_quant_with_min_max_grad_equals_tf_gradient_tape(seed, bits, narrow_range):
    tf = _tf()
    rng = np.random.default_rng(seed)
    x_min, x_max = float(np.float32(-rng.uniform(0.1, 2))), float(np.float32(rng.uniform(0.1, 2)))
    n_min, n_max, scale = qat.nudged_range(x_min, x_max, bits, narrow_range)
    edges = np.float32([n_min, n_max, np.nextafter(n_min, np.float32(-9)), np.nextafter(n_max, np.float32(9)),
                        np.nextafter(n_min, np.float32(9)), np.nextafter(n_max, np.float32(-9)), x_min, x_max, 0.0])
    x = np.concatenate([edges, rng.uniform(x_min - 1, x_max + 1, 200).astype(np.float32)])
    dy = rng.normal(size=x.size).astype(np.float32)
    out, (dx_tf, dmin_tf, dmax_tf) = _tf_grads(tf, x, dy, x_min, x_max, bits, narrow_range)
    dx, dmin, dmax = qat.fake_quant_with_min_max_grad(dy, x, x_min, x_max, bits, narrow_range)
    assert np.array_equal(dx, dx_tf)  # the mask, exactly
    assert np.array_equal(dx[:6] != 0, [True, True, False, False, True, True])  # the ends are INSIDE
    # sums of ~100 float32 values: TF's Eigen reduction adds in another order, so 1e-5 relative
    assert abs(dmin - dmin_tf) <= 1e-5 * max(1.0, abs(dmin_tf))
    assert abs(dmax - dmax_tf) <= 1e-5 * max(1.0, abs(dmax_tf))
    assert np.array_equal(Q.fake_quant_with_min_max(x, x_min, x_max, bits, narrow_range), out)


@pytest.mark.tf
def test_fake_quant_with_min_max_grad_zero_range_passes_everything():
    tf = _tf()
    x, dy = np.float32([-1.0, 0.0, 2.0]), np.float32([1.0, 2.0, 3.0])
    _, (dx_tf, dmin_tf, dmax_tf) = _tf_grads(tf, x, dy, 0.0, 0.0, 8, False)
    dx, dmin, dmax = qat.fake_quant_with_min_max_grad(dy, x, 0.0, 0.0)
    assert np.array_equal(dx, dx_tf) and dmin == dmin_tf == 0 and dmax == dmax_tf == 0


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_lsq_grads_equal_torch_autograd_twin(seed, bits):
    """LSQ written in torch ops with the paper's STE (detach trick) gives our dv and ds (float64, 1e-9)."""
    torch = _torch()
    rng = np.random.default_rng(seed)
    Q_N, Q_P = 2 ** (bits - 1), 2 ** (bits - 1) - 1
    v = rng.normal(0, 1, 300)
    s = 2.0 ** np.round(np.log2(qat.lsq_init_step(v, Q_P)))  # a power of 2: Q_P s / s == Q_P exactly
    v[:6] = np.array([Q_P, -Q_N, Q_P + 0.3, -Q_N - 0.3, Q_P - 0.3, 0.5]) * s  # ends and a half
    g = qat.lsq_grad_scale(v.size, Q_P)
    dy = rng.normal(size=v.size)
    # torch.clamp passes the gradient AT its ends, the paper (eq. 3 and its STE) does not: compare off the ends,
    # then check the ends against the paper's numbers
    off = np.ones(v.size, bool)
    off[:2] = False
    dy = np.where(off, dy, 0.0)
    vt, st = torch.tensor(v, requires_grad=True), torch.tensor(s, requires_grad=True, dtype=torch.float64)
    s_g = st * g + (st - st * g).detach()             # value s, gradient scaled by g (Esser et al., Fig. 2)
    r = torch.clamp(vt / s_g, -Q_N, Q_P)
    v_hat = (torch.round(r) - r).detach() * s_g + r * s_g  # round with a straight-through gradient
    (v_hat * torch.tensor(dy)).sum().backward()
    assert np.allclose(qat.lsq_quantize(v, s, Q_N, Q_P), v_hat.detach().numpy(), rtol=0, atol=1e-12)
    dv, ds = qat.lsq_grads(dy, v, s, Q_N, Q_P, g)
    assert np.array_equal(dv[off] != 0, vt.grad.numpy()[off] != 0)
    assert np.allclose(dv[off], vt.grad.numpy()[off], rtol=0, atol=1e-12)
    assert abs(ds - st.grad.item()) <= 1e-9 * max(1.0, abs(ds))
    for i, end in ((0, Q_P), (1, -Q_N)):
        one = np.eye(v.size)[i]
        dv_i, ds_i = qat.lsq_grads(one, v, s, Q_N, Q_P, 1.0)
        assert dv_i[i] == 0 and ds_i == end


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_lsq_differs_from_torch_learnable_only_within_half_a_step_outside(seed, bits):
    """torch's learnable fake quant masks in the integer domain: the paper and torch agree everywhere
    except for v / s within half a step outside [-Q_N, Q_P] (and exactly at the ends)."""
    torch = _torch()
    rng = np.random.default_rng(seed)
    Q_N, Q_P = 2 ** (bits - 1), 2 ** (bits - 1) - 1
    v = rng.normal(0, 1, 400).astype(np.float32)
    s = np.float32(qat.lsq_init_step(v, Q_P))
    g = qat.lsq_grad_scale(v.size, Q_P)
    dy = rng.normal(size=v.size).astype(np.float32)
    vt, st = torch.tensor(v, requires_grad=True), torch.tensor([s], requires_grad=True)
    zt = torch.tensor([0.0], requires_grad=True)
    out = torch._fake_quantize_learnable_per_tensor_affine(vt, st, zt, -Q_N, Q_P, g)
    out.backward(torch.tensor(dy))
    r = v.astype(float) / float(s)
    far = (r < -Q_N - 0.5 - 1e-4) | (r > Q_P + 0.5 + 1e-4) | ((r > -Q_N + 1e-4) & (r < Q_P - 1e-4))
    dv, _ = qat.lsq_grads(dy, v, float(s), Q_N, Q_P, g)
    assert np.array_equal(dv[far], vt.grad.numpy()[far])
    assert np.array_equal(qat.lsq_quantize(v, float(s), Q_N, Q_P).astype(np.float32), out.detach().numpy())
    # the step-size gradient over the values where both rules agree; float32 terms summed: 1e-5 relative
    _, ds = qat.lsq_grads(np.where(far, dy, 0).astype(float), v, float(s), Q_N, Q_P, g)
    st.grad = None
    torch._fake_quantize_learnable_per_tensor_affine(vt, st, zt, -Q_N, Q_P, g).backward(torch.tensor(np.where(far, dy, 0)))
    assert abs(ds - st.grad.item()) <= 1e-5 * max(1.0, abs(ds))


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(3))
def test_fold_batch_norm_equals_torch_fuse_conv_bn_eval(seed):
    torch = _torch()
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    torch.manual_seed(seed)
    conv, bn = torch.nn.Conv2d(3, 5, 3, padding=1).double(), torch.nn.BatchNorm2d(5).double()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2), bn.bias.normal_(), bn.running_mean.normal_(), bn.running_var.uniform_(0.1, 3)
    conv.eval(), bn.eval()
    fused = fuse_conv_bn_eval(conv, bn)
    p = lambda t: t.detach().numpy()
    W, b = qat.fold_batch_norm(p(conv.weight), p(conv.bias), p(bn.weight), p(bn.bias), p(bn.running_mean),
                               p(bn.running_var), bn.eps)
    assert np.allclose(W, p(fused.weight), rtol=0, atol=1e-12)
    assert np.allclose(b, p(fused.bias), rtol=0, atol=1e-12)
    x = np.random.default_rng(seed).normal(size=(4, 3, 6, 6))
    with torch.no_grad():
        unfolded = p(bn(conv(torch.tensor(x))))
        ours_bn = qat.batch_norm(p(conv(torch.tensor(x))), p(bn.weight), p(bn.bias), p(bn.running_mean),
                                 p(bn.running_var), bn.eps)
    folded = layers.Conv2d(3, 5, 3, padding=1).forward(x, W, b)
    assert np.allclose(ours_bn, unfolded, rtol=0, atol=1e-10)
    assert np.allclose(folded, unfolded, rtol=0, atol=1e-10)


# With zero biases a pre-activation is (grid step of x) * (grid step of w) * an integer, and so is the next
# layer's range: x / scale lands EXACTLY on halves, and float32 (torch) and float64 (numpy) round those apart.
# Random biases move the values off that grid; the rounding rule at ties is tested above.
def _torch_fq(torch, t, q):
    """Fake-quantize a torch tensor with the range our quantizer q chose (torch's own op and STE)."""
    scale, zp = q.observer.qparams()
    if np.ndim(scale):
        return torch.fake_quantize_per_channel_affine(t, torch.tensor(scale, dtype=torch.float32),
                                                      torch.tensor(zp, dtype=torch.int32), 0, q.q_min, q.q_max)
    return torch.fake_quantize_per_tensor_affine(t, float(scale), int(zp), q.q_min, q.q_max)


def _assert_same_step(loss, dW, db, lt, Wt, bt):
    """The numpy loss and gradients equal the torch twin's, and the STE masks exactly.

    torch runs in float32 (its fake quant rounds x * (1 / scale) in float32, which rule="torch" matches);
    the numpy network continues in float64 between the quantizers: 1e-5.
    """
    assert len(dW) == len(Wt) and abs(loss - lt.item()) < 1e-5
    for l in range(len(dW)):
        assert np.array_equal(dW[l] == 0, Wt[l].grad.numpy() == 0)  # the STE masks, exactly
        assert np.allclose(dW[l], Wt[l].grad.numpy(), rtol=0, atol=1e-5)
        assert np.allclose(db[l], bt[l].grad.numpy(), rtol=0, atol=1e-5)


@pytest.mark.torch
@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("bits", [8, 3])
def test_fake_quantized_mlp_gradients_equal_torch_twin(per_channel, bits):
    torch = _torch()
    from course_lib.core.data import load_digits_split

    d = load_digits_split(dtype=np.float64)
    X, y = d.X_train[:50], d.y_train[:50]
    m = nn.MLP([64, 16, 10], activation="relu", seed=1)
    m.b = [np.random.default_rng(l).normal(0, 0.1, b.size) for l, b in enumerate(m.b)]  # off the grid (below)
    m = qat.calibrate(qat.attach_fake_quant(m, bits, bits, per_channel, rule="torch"), X)
    loss, dW, db = m.loss_and_grads(X, y, "cross_entropy")
    (wq, iq) = m.fake_quant
    Wt = [torch.tensor(w, dtype=torch.float32, requires_grad=True) for w in m.W]
    bt = [torch.tensor(b, dtype=torch.float32, requires_grad=True) for b in m.b]
    a = torch.tensor(X, dtype=torch.float32)
    for l in range(2):
        z = _torch_fq(torch, a, iq[l]) @ _torch_fq(torch, Wt[l], wq[l]).T + bt[l]
        a = torch.relu(z) if l == 0 else z
    lt = torch.nn.functional.cross_entropy(a, torch.tensor(y))
    lt.backward()
    _assert_same_step(loss, dW, db, lt, Wt, bt)


@pytest.mark.torch
def test_fake_quantized_cnn_gradients_equal_torch_twin():
    torch = _torch()
    from course_lib.core.data import load_digits_split

    d = load_digits_split(dtype=np.float64)
    X, y = d.X_train[:20], d.y_train[:20]
    # no max-pool: quantized conv outputs tie exactly inside pooling windows, and float32 (torch) and float64
    # (numpy) sums break those ties apart; the pooling rule itself is tested in test_layers_oracle.py
    L = layers
    m = L.Sequential([L.Reshape((1, 8, 8)), L.Conv2d(1, 3, 3, padding=1), L.Activation("relu"),
                      L.Conv2d(3, 4, 3, stride=2, padding=1), L.Activation("relu"), L.Flatten(), L.Dense(64, 10)], seed=2)
    m.b = [np.random.default_rng(l).normal(0, 0.1, b.size) for l, b in enumerate(m.b)]  # off the grid (below)
    m = qat.calibrate(qat.attach_fake_quant(m, 4, 4, per_channel=True, rule="torch"), X)
    loss, dW, db = m.loss_and_grads(X, y, "cross_entropy")
    wq, iq = m.fake_quant
    F = torch.nn.functional
    Wt = [torch.tensor(w, dtype=torch.float32, requires_grad=True) for w in m.W]
    bt = [torch.tensor(b, dtype=torch.float32, requires_grad=True) for b in m.b]
    fq = lambda l, t: _torch_fq(torch, t, iq[l])
    wfq = lambda l: _torch_fq(torch, Wt[l], wq[l])
    h = F.relu(F.conv2d(fq(0, torch.tensor(X, dtype=torch.float32).reshape(-1, 1, 8, 8)), wfq(0), bt[0], padding=1))
    h = F.relu(F.conv2d(fq(1, h), wfq(1), bt[1], stride=2, padding=1)).flatten(1)
    lt = F.cross_entropy(fq(2, h) @ wfq(2).T + bt[2], torch.tensor(y))
    lt.backward()
    _assert_same_step(loss, dW, db, lt, Wt, bt)


@pytest.mark.torch
def test_fold_batch_norm_of_a_bn_trained_in_torch():
    """Train conv + BN + ReLU + linear on the digits in torch (batch statistics), then fold the BN's running
    statistics into the conv in numpy: the folded numpy conv equals torch's conv + BN in eval mode."""
    torch = _torch()
    from course_lib.core.data import load_digits_split

    d = load_digits_split(dtype=np.float64)
    X, y = torch.tensor(d.X_train).reshape(-1, 1, 8, 8), torch.tensor(d.y_train)
    conv, bn = torch.nn.Conv2d(1, 4, 3, padding=1).double(), torch.nn.BatchNorm2d(4).double()
    net = torch.nn.Sequential(conv, bn, torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(256, 10).double())
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for start in range(0, len(X), 32):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(X[start:start + 32]), y[start:start + 32]).backward()
        opt.step()
    net.eval()
    p = lambda t: t.detach().numpy()
    assert not np.allclose(p(bn.running_var), 1.0)  # the statistics were really learned
    W, b = qat.fold_batch_norm(p(conv.weight), p(conv.bias), p(bn.weight), p(bn.bias), p(bn.running_mean),
                               p(bn.running_var), bn.eps)
    x = d.X_test[:50].reshape(-1, 1, 8, 8)
    with torch.no_grad():
        theirs = p(bn(conv(torch.tensor(x))))
    assert np.allclose(layers.Conv2d(1, 4, 3, padding=1).forward(x, W, b), theirs, rtol=0, atol=1e-10)


@pytest.mark.tf
def test_litert_predict_equals_keras_for_a_float_model():
    from course_lib.frameworks import import_tf, quiet_native_logs
    from course_lib.frameworks.litert_bridge import litert_predict
    from course_lib.frameworks.keras_bridge import to_keras

    tf, _, _ = import_tf(0)
    m = nn.MLP([64, 8, 10], activation="relu", seed=0)
    k = to_keras(m)
    with quiet_native_logs():
        flat = tf.lite.TFLiteConverter.from_keras_model(k).convert()
    X = np.random.default_rng(0).uniform(0, 1, (5, 64)).astype(np.float32)
    # float32 kernels of two runtimes (XNNPACK vs Eigen): 1e-5
    assert np.allclose(litert_predict(flat, X), k.predict(X, verbose=0), rtol=0, atol=1e-5)


@pytest.mark.torch
def test_torch_train_lowers_the_loss_and_reaches_numpy_accuracy():
    from course_lib.core.data import load_digits_split
    from course_lib.frameworks.torch_bridge import torch_accuracy, torch_train
    from course_lib.frameworks.torch_bridge import to_torch

    _torch()
    d = load_digits_split(dtype=np.float64)
    m = nn.MLP([64, 16, 10], activation="relu", seed=0)
    seq = to_torch(m)
    hist_t = torch_train(seq, d.X_train, d.y_train, 3, lr=0.05, batch_size=32, seed=0)
    hist_n = nn.train(m, d.X_train, d.y_train, 3, lr=0.05, batch_size=32, seed=0)
    # same start, same batches, same SGD with momentum, float64: the same trajectory
    assert np.allclose(hist_t, hist_n, rtol=0, atol=1e-8)
    assert abs(torch_accuracy(seq, d.X_test, d.y_test) - nn.accuracy(m, d.X_test, d.y_test)) < 1e-12


@pytest.mark.torch
@pytest.mark.parametrize("bits", [8, 4])
@pytest.mark.parametrize("seed", range(3))
def test_torchao_qat_fake_quantizers_are_the_course_fake_quantize(bits, seed):
    """torchao 0.18's QAT prepare step (Int8DynamicActivationIntxWeightConfig, per-channel weights): its weight
    fake quantizer is per-channel symmetric full-range (scale = max|w| / ((q_max - q_min) / 2)), its activation
    fake quantizer per-token affine int8: both equal quantization.fake_quantize with quantization.qparams."""
    from course_lib.frameworks import import_torchao

    torch, _ = import_torchao(seed)
    from torchao.quantization import Int8DynamicActivationIntxWeightConfig, PerAxis, quantize_
    from torchao.quantization.qat import QATConfig

    lin = torch.nn.Sequential(torch.nn.Linear(16, 6))
    dtype = {8: torch.int8, 4: torch.int4}[bits]
    quantize_(lin, QATConfig(Int8DynamicActivationIntxWeightConfig(weight_dtype=dtype, weight_granularity=PerAxis(0)),
                             step="prepare"))
    w = lin[0].weight.detach()
    theirs = lin[0].weight_fake_quantizer(w).detach().numpy()
    wn = w.numpy()
    scale, zp = Q.qparams(wn.min(axis=1), wn.max(axis=1), bits=bits, symmetric=True)
    q_min, q_max = Q.q_range(bits)
    assert np.array_equal(Q.fake_quantize(wn, scale, zp, q_min, q_max, axis=0, rule="torch"), theirs)
    x = torch.randn(5, 16)
    xa, xn = lin[0].activation_fake_quantizer(x).numpy(), x.numpy()
    scale, zp = Q.qparams(xn.min(axis=1), xn.max(axis=1), bits=8)
    assert np.array_equal(Q.fake_quantize(xn, scale, zp, -128, 127, axis=0, rule="torch"), xa)


def test_copies_keep_their_own_fake_quantizers():
    from course_lib.core import layers, nn
    from course_lib.quantization import qat
    X = np.random.default_rng(0).random((8, 64))
    for model in (nn.MLP([64, 5, 10], activation="relu", seed=0), layers.digits_cnn(0)):
        qat.calibrate(qat.attach_fake_quant(model, 3, 3), X)
        twin = model.copy()
        assert twin.fake_quant is not None and twin.fake_quant is not model.fake_quant
        assert np.array_equal(twin.forward(X), model.forward(X))
        twin.forward(X * 5, keep=True)              # its observers move; the original's do not
        assert not np.array_equal(twin.forward(X), model.forward(X))
