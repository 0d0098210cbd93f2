"""Oracle tests for course_lib.lowrank: torch's SVD, TensorLy's Tucker (HOOI) and PEFT's LoRA layer."""
import numpy as np
import pytest

from course_lib.frameworks import import_torch
from course_lib.lowrank import lora, svd, tucker

pytestmark = pytest.mark.torch
SHAPES = [(1, 1), (1, 7), (7, 1), (8, 5), (5, 8), (64, 128), (10, 64)]


@pytest.mark.parametrize("shape", SHAPES)
def test_svd_equals_torch_after_the_sign_rule(shape):
    torch = import_torch(0)
    W = np.random.default_rng(sum(shape)).normal(size=shape)
    U, s, Vt = svd.svd(W)
    tU, ts, tVt = torch.linalg.svd(torch.tensor(W), full_matrices=False)
    tU, tVt = svd.svd_flip(tU.numpy(), tVt.numpy())
    # float64 LAPACK routines of numpy and torch: agree to round-off (1e-10), not bit for bit
    np.testing.assert_allclose(s, ts.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(U, tU, atol=1e-10)
    np.testing.assert_allclose(Vt, tVt, atol=1e-10)


@pytest.mark.parametrize("rank", [1, 3, 5])
def test_low_rank_factors_equal_torch_lowrank_product(rank):
    torch = import_torch(0)
    W = np.random.default_rng(rank).normal(size=(9, 6))
    A, B = svd.low_rank_factors(W, rank)
    tU, ts, tVt = torch.linalg.svd(torch.tensor(W), full_matrices=False)
    ref = (tU[:, :rank] * ts[:rank]) @ tVt[:rank]
    np.testing.assert_allclose(A @ B, ref.numpy(), atol=1e-10)


@pytest.mark.parametrize("shape,ranks", [((8, 6, 3, 3), (4, 3)), ((16, 8, 3, 3), (8, 4)), ((4, 1, 3, 3), (2, 1)),
                                         ((6, 5, 1, 1), (5, 5)), ((12, 10, 5, 5), (3, 7))])
def test_tucker2_equals_tensorly_partial_tucker(shape, ranks):
    tl_dec = pytest.importorskip("tensorly.decomposition")
    K = np.random.default_rng(sum(shape)).normal(size=shape)
    core, U_out, U_in = tucker.tucker2(K, ranks, n_iter_max=100, tol=1e-4)
    (t_core, t_factors), _ = tl_dec.partial_tucker(K, rank=list(ranks), modes=[0, 1], n_iter_max=100, tol=1e-4)
    # same HOSVD start, same HOOI sweeps and stopping rule: the same subspaces; factors differ by column signs only,
    # so compare sign-free quantities (projectors and the reconstruction) to float64 round-off
    np.testing.assert_allclose(U_out @ U_out.T, t_factors[0] @ t_factors[0].T, atol=1e-9)
    np.testing.assert_allclose(U_in @ U_in.T, t_factors[1] @ t_factors[1].T, atol=1e-9)
    ref = tucker.tucker2_reconstruct(t_core, t_factors[0], t_factors[1])
    np.testing.assert_allclose(tucker.tucker2_reconstruct(core, U_out, U_in), ref, atol=1e-9)


def _peft_linear(torch, W, b, A, B, alpha):
    from peft import LoraConfig, inject_adapter_in_model
    net = torch.nn.Sequential(torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(W))
        net[0].bias.copy_(torch.tensor(b))
    cfg = LoraConfig(r=A.shape[0], lora_alpha=alpha, target_modules=["0"], lora_dropout=0.0)
    net = inject_adapter_in_model(cfg, net)
    layer = net[0]
    with torch.no_grad():
        layer.lora_A["default"].weight.copy_(torch.tensor(A))
        layer.lora_B["default"].weight.copy_(torch.tensor(B))
    return net, layer


@pytest.mark.parametrize("n_out,n_in,r,alpha", [(5, 7, 2, 4), (3, 3, 1, 1), (16, 8, 8, 16), (10, 64, 4, 8)])
def test_lora_forward_grads_and_merge_equal_peft(n_out, n_in, r, alpha):
    torch = import_torch(0)
    pytest.importorskip("peft")
    rng = np.random.default_rng(n_out * n_in + r)
    W, b, x = rng.normal(size=(n_out, n_in)), rng.normal(size=n_out), rng.normal(size=(2, 3, n_in))
    A, B = rng.normal(size=(r, n_in)), rng.normal(size=(n_out, r))  # B != 0: the update is switched on
    net, layer = _peft_linear(torch, W, b, A, B, alpha)
    xt = torch.tensor(x, requires_grad=True)
    h = net(xt)
    dh = rng.normal(size=h.shape)
    h.backward(torch.tensor(dh))
    np.testing.assert_allclose(lora.lora_forward(x, W, b, A, B, alpha), h.detach().numpy(), rtol=0, atol=1e-12)
    dA, dB, dx = lora.lora_grads(x, dh, W, A, B, alpha)
    np.testing.assert_allclose(dA, layer.lora_A["default"].weight.grad.numpy(), atol=1e-11)
    np.testing.assert_allclose(dB, layer.lora_B["default"].weight.grad.numpy(), atol=1e-11)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-11)
    assert layer.base_layer.weight.grad is None or not layer.base_layer.weight.requires_grad
    layer.merge()
    np.testing.assert_allclose(lora.lora_merge(W, A, B, alpha), layer.base_layer.weight.detach().numpy(), atol=1e-12)


def test_peft_starts_as_the_frozen_layer_like_lora_init():
    torch = import_torch(0)
    pytest.importorskip("peft")
    from peft import LoraConfig, inject_adapter_in_model
    net = inject_adapter_in_model(LoraConfig(r=4, lora_alpha=8, target_modules=["0"]),
                                  torch.nn.Sequential(torch.nn.Linear(10, 6)))
    A_t, B_t = net[0].lora_A["default"].weight.detach().numpy(), net[0].lora_B["default"].weight.detach().numpy()
    A, B = lora.lora_init(6, 10, 4, seed=0)
    assert A.shape == A_t.shape and B.shape == B_t.shape
    assert np.all(B_t == 0) and np.all(B == 0)  # B = 0: the adapted layer equals the frozen one at step 0
    bound = 1 / np.sqrt(10)  # kaiming_uniform(a=sqrt(5)) on a (4, 10) weight: U(-1/sqrt(10), 1/sqrt(10))
    assert np.abs(A_t).max() <= bound and np.abs(A).max() <= bound
