"""Sparse formats and granularity masks: equal to scipy.sparse and torch, exactly."""
import numpy as np
import pytest
import scipy.sparse as sp

from course_lib.pruning.masks import granularity_mask, magnitude_mask, masked_update
from course_lib.coding.sparse_formats import bitmask_bytes, csr_bytes, csr_matmul, csr_to_dense, dense_bytes, from_bitmask, to_bitmask, to_csr


def _sparse(shape, density, seed):
    rng = np.random.default_rng(seed)
    return np.where(rng.random(shape) < density, rng.normal(size=shape), 0.0).astype(np.float32)


EDGE = [np.zeros((3, 4), np.float32), np.eye(4, dtype=np.float32), np.ones((1, 5), np.float32),
        np.array([[0.0], [2.0], [0.0]], np.float32), np.array([[-0.0, 1.0]], np.float32)]
RANDOM = [_sparse(shape, d, i) for i, (shape, d) in enumerate([((7, 9), 0.3), ((16, 16), 0.05), ((5, 3), 0.9),
                                                               ((1, 1), 1.0), ((30, 2), 0.5)])]


@pytest.mark.parametrize("w", EDGE + RANDOM, ids=lambda w: f"{w.shape}-nnz{np.count_nonzero(w)}")
def test_csr_equals_scipy_and_round_trips(w):
    data, indices, indptr = to_csr(w)
    ref = sp.csr_matrix(w)
    ref.eliminate_zeros()
    assert np.array_equal(data, ref.data) and np.array_equal(indices, ref.indices)
    assert np.array_equal(indptr, ref.indptr)
    assert np.array_equal(csr_to_dense(data, indices, indptr, w.shape), w)
    X = np.random.default_rng(0).normal(size=(w.shape[1], 3)).astype(np.float32)
    assert np.allclose(csr_matmul(data, indices, indptr, X), w @ X, atol=1e-5)  # float32 sums in another order


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
@pytest.mark.parametrize("w", EDGE[1:] + RANDOM, ids=lambda w: f"{w.shape}-nnz{np.count_nonzero(w)}")
def test_csr_equals_torch_sparse_csr(w):
    from course_lib.frameworks import import_torch
    torch = import_torch()
    t = torch.tensor(w).to_sparse_csr()
    data, indices, indptr = to_csr(w)
    assert np.array_equal(t.crow_indices().numpy(), indptr) and np.array_equal(t.col_indices().numpy(), indices)
    assert np.array_equal(t.values().numpy(), data)


@pytest.mark.parametrize("w", EDGE + RANDOM, ids=lambda w: f"{w.shape}-nnz{np.count_nonzero(w)}")
def test_bitmask_round_trips_and_bytes_are_real(w):
    bits, values = to_bitmask(w)
    assert np.array_equal(from_bitmask(bits, values, w.shape), w)
    assert bits.nbytes + values.nbytes == bitmask_bytes(w.shape, np.count_nonzero(w), 32)
    ref = sp.csr_matrix(w)
    ref.eliminate_zeros()
    ref.indices, ref.indptr = ref.indices.astype(np.int32), ref.indptr.astype(np.int32)
    assert ref.data.nbytes + ref.indices.nbytes + ref.indptr.nbytes == csr_bytes(w.shape, ref.nnz, 32, 32)
    assert w.nbytes == dense_bytes(w.shape, 32)


def test_byte_formulas_cross_where_algebra_says():
    shape = (1000, 1000)
    # CSR with 32-bit indices beats dense float32 below density ~0.5; bitmask beats dense below ~0.97
    assert csr_bytes(shape, 499_000) < dense_bytes(shape) < csr_bytes(shape, 500_000)
    assert bitmask_bytes(shape, 968_000) < dense_bytes(shape) < bitmask_bytes(shape, 969_000)
    with pytest.raises(ValueError, match="nnz must be <= the number of entries 1000000"):
        csr_bytes(shape, 10**7)


@pytest.fixture(scope="module")
def torch():
    from course_lib.frameworks import import_torch
    return import_torch(seed=0)


@pytest.mark.torch
@pytest.mark.parametrize("gran, method, kw", [("element", "l1_unstructured", {}),
                                              ("filter", "ln_structured", {"n": 1, "dim": 0}),
                                              ("channel", "ln_structured", {"n": 1, "dim": 1})])
@pytest.mark.parametrize("s", [0.0, 0.25, 0.5, 0.875])
def test_granularity_masks_equal_torch(torch, gran, method, kw, s):
    import torch.nn.utils.prune as prune
    w = np.random.default_rng(5).normal(size=(8, 4, 3, 3)).astype(np.float32)
    conv = torch.nn.Conv2d(4, 8, 3, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(w))
    getattr(prune, method)(conv, "weight", amount=s, **kw)
    assert np.array_equal(granularity_mask(w, s, gran), conv.weight_mask.numpy().astype(bool))


@pytest.mark.parametrize("gran, group", [("vector", (1, 1, 1, 3)), ("kernel", (1, 1, 3, 3))])
def test_vector_and_kernel_masks_prune_whole_groups_by_l1(gran, group):
    w = np.random.default_rng(6).normal(size=(8, 4, 3, 3))
    m = granularity_mask(w, 0.5, gran)
    gm = m.reshape(-1, int(np.prod(group)))
    assert np.all(gm.all(1) | ~gm.any(1)) and (~gm.all(1)).sum() == round(0.5 * len(gm))
    norms = np.abs(w).reshape(len(gm), -1).sum(1)
    assert norms[gm.all(1)].min() >= norms[~gm.all(1)].max()


@pytest.mark.torch
def test_masked_update_equals_a_torch_pruned_sgd_step(torch):
    import torch.nn.utils.prune as prune
    rng = np.random.default_rng(1)
    w, X, y = rng.normal(size=(5, 6)), rng.normal(size=(10, 6)), rng.normal(size=(10, 5))
    mask = magnitude_mask(w, 0.6)
    lin = torch.nn.Linear(6, 5, bias=False, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(w))
    prune.custom_from_mask(lin, "weight", torch.tensor(mask))
    loss = ((lin(torch.tensor(X)) - torch.tensor(y)) ** 2).mean()
    loss.backward()
    grad_orig = lin.weight_orig.grad.numpy()
    assert np.all(grad_orig[~mask] == 0)  # torch masks the gradient through weight = weight_orig * mask
    torch.optim.SGD(lin.parameters(), lr=0.1).step()
    grad_full = 2 * (X @ (w * mask).T - y).T @ X / y.size  # d loss / d weight, not masked
    assert np.allclose(grad_orig, grad_full * mask, atol=1e-12)
    ours = masked_update(w * mask, grad_full, mask, 0.1)
    lin(torch.tensor(X))  # the forward pre-hook recomputes weight = weight_orig * mask
    assert np.allclose(lin.weight.detach().numpy(), ours, atol=1e-12, rtol=0)
