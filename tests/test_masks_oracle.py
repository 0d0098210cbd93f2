"""Oracle tests: course_lib.pruning.masks equals torch.nn.utils.prune and tfmot's prune_low_magnitude, exactly.

Random inputs are continuous (no ties), so the frameworks' unspecified tie order cannot matter there;
inputs with ties are checked separately against each framework's documented tie rule.
"""
import zlib

import numpy as np
import pytest

import course_lib  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)
from course_lib.pruning.masks import block_mask, global_magnitude_masks, magnitude_mask, structured_mask


@pytest.fixture(scope="module")
def torch():
    from course_lib.frameworks import import_torch
    return import_torch(seed=0)


def _torch_mask(torch, w, method, **kw):
    import torch.nn.utils.prune as prune
    module = torch.nn.Module()
    module.weight = torch.nn.Parameter(torch.tensor(w))
    getattr(prune, method)(module, "weight", **kw)
    return module.weight_mask.numpy().astype(bool)


SIZES = [1, 2, 3, 5, 7, 10, 64, 101, (3, 4), (8, 5), (2, 3, 4)]
AMOUNTS = [0.0, 0.1, 0.25, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0]


@pytest.mark.torch
@pytest.mark.parametrize("shape", SIZES, ids=str)
@pytest.mark.parametrize("amount", AMOUNTS)
def test_l1_unstructured_equals_torch(torch, shape, amount):
    w = np.random.default_rng(zlib.crc32(f"{shape}{amount}".encode())).normal(size=shape).astype(np.float32)
    expected = _torch_mask(torch, w, "l1_unstructured", amount=amount)
    got = magnitude_mask(w, amount, rule="torch")
    assert got.dtype == bool and np.array_equal(got, expected)


@pytest.mark.torch
@pytest.mark.parametrize("n, amount", [(5, 0.5), (7, 0.5), (3, 0.5), (9, 0.5), (10, 0.25), (6, 0.25), (1, 0.5)])
def test_torch_rounds_half_to_even(torch, n, amount):
    w = np.random.default_rng(n).normal(size=n).astype(np.float32)
    expected = _torch_mask(torch, w, "l1_unstructured", amount=amount)
    got = magnitude_mask(w, amount)
    assert np.array_equal(got, expected)
    assert int((~got).sum()) == round(amount * n)  # Python's round: round(2.5) == 2, round(3.5) == 4


@pytest.mark.torch
@pytest.mark.parametrize("w", [np.zeros(8), np.ones((3, 3)), np.array([1., -1., 2., -2., 1., 3.]),
                               np.array([0., 0., 5., 0.])], ids=["zeros", "ones", "signed-ties", "mostly-zero"])
@pytest.mark.parametrize("amount", [0.25, 0.5, 0.75])
def test_l1_unstructured_ties_prune_the_same_count_and_a_valid_set(torch, w, amount):
    w = w.astype(np.float32)
    expected = _torch_mask(torch, w, "l1_unstructured", amount=amount)
    got = magnitude_mask(w, amount)
    assert (~got).sum() == (~expected).sum()
    # both keep a set whose smallest |w| is >= the largest pruned |w|
    for m in (got, expected):
        if m.any() and (~m).any():
            assert np.abs(w[m]).min() >= np.abs(w[~m]).max()
    # course_lib's documented tie rule: among equal |w| the lower flat index is pruned first
    order = np.argsort(np.abs(w).ravel(), kind="stable")[: int((~got).sum())]
    assert set(np.flatnonzero(~got.ravel())) == set(order)


@pytest.mark.torch
@pytest.mark.parametrize("amount", [0.0, 0.2, 0.5, 0.8, 0.95, 1.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_global_unstructured_equals_torch(torch, amount, seed):
    import torch.nn.utils.prune as prune
    rng = np.random.default_rng(seed)
    shapes = [(16, 8), (4, 16), (3, 4), (7,)]
    ws = [rng.normal(scale=s, size=shape).astype(np.float32) for s, shape in zip((1.0, 0.1, 3.0, 0.5), shapes)]
    modules = []
    for w in ws:
        m = torch.nn.Module()
        m.weight = torch.nn.Parameter(torch.tensor(w))
        modules.append(m)
    prune.global_unstructured([(m, "weight") for m in modules], pruning_method=prune.L1Unstructured, amount=amount)
    got = global_magnitude_masks({f"w{i}": w for i, w in enumerate(ws)}, amount)
    for i, m in enumerate(modules):
        assert np.array_equal(got[f"w{i}"], m.weight_mask.numpy().astype(bool))
    assert sum((~g).sum() for g in got.values()) == round(amount * sum(w.size for w in ws))


@pytest.mark.torch
@pytest.mark.parametrize("shape, dim", [((6, 5), 0), ((6, 5), 1), ((6, 5), -1), ((8, 3, 3, 3), 0),
                                        ((8, 4, 3, 3), 1), ((4, 6, 3, 2), 2), ((4, 6, 3, 2), 3), ((1, 4), 0)],
                         ids=str)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("amount", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_ln_structured_equals_torch(torch, shape, dim, p, amount):
    w = np.random.default_rng(len(shape) * 100 + dim).normal(size=shape).astype(np.float32)
    expected = _torch_mask(torch, w, "ln_structured", amount=amount, n=p, dim=dim)
    got = structured_mask(w, amount, axis=dim, p=p)
    assert np.array_equal(got, expected)


# ---------------------------------------------------------------------------------------------- tfmot

@pytest.fixture(scope="module")
def tfmods():
    from course_lib.frameworks import import_tf
    return import_tf(seed=0)


def _tfmot_masks(tfmods, kernels, sparsity, **prune_kw):
    """Masks tfmot leaves after one training batch at learning rate 0 (weights unchanged), and stripped kernels."""
    tf, keras, tfmot = tfmods
    layers = [keras.layers.Dense(k.shape[1], use_bias=False) for k in kernels]
    base = keras.Sequential([keras.layers.Input((kernels[0].shape[0],)), *layers])
    for layer, k in zip(base.layers, kernels):
        layer.set_weights([k])
    sched = tfmot.sparsity.keras.ConstantSparsity(sparsity, begin_step=0, frequency=1)
    model = tfmot.sparsity.keras.prune_low_magnitude(base, pruning_schedule=sched, **prune_kw)
    model.compile(keras.optimizers.SGD(0.0), "mse", run_eagerly=True)  # one batch: tracing a graph would cost more
    X = np.ones((1, kernels[0].shape[0]), np.float32)
    model.fit(X, np.zeros((1, kernels[-1].shape[1]), np.float32), epochs=1, verbose=0,
              callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    masks = [layer.pruning_vars[0][1].numpy().astype(bool) for layer in model.layers]
    stripped = [layer.get_weights()[0] for layer in tfmot.sparsity.keras.strip_pruning(model).layers]
    return masks, stripped


def _chain(rng, dims):
    return [rng.normal(size=(a, b)).astype(np.float32) for a, b in zip(dims[:-1], dims[1:])]


@pytest.mark.tf
@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.5, 0.75, 0.9, 0.99])
def test_prune_low_magnitude_equals_tfmot_rule(tfmods, sparsity):
    kernels = _chain(np.random.default_rng(int(sparsity * 100)), [7, 5, 3, 1])  # sizes 35, 15, 3
    masks, stripped = _tfmot_masks(tfmods, kernels, sparsity)
    for k, m, s in zip(kernels, masks, stripped):
        ours = magnitude_mask(k, sparsity, rule="tfmot")
        assert np.array_equal(ours, m)
        assert np.array_equal(ours, s != 0) and np.array_equal(s, np.where(ours, k, 0))


@pytest.mark.tf
def test_tfmot_keeps_ties_and_at_least_one(tfmods):
    tied = np.array([[1., -1.], [2., -2.], [1., 3.]], np.float32)
    equal = np.full((2, 3), 0.5, np.float32)
    one = np.array([[4.0]], np.float32)
    for kernels, s in [([tied, _chain(np.random.default_rng(0), [2, 1])[0]], 0.5), ([equal.T, equal], 0.6)]:
        masks, _ = _tfmot_masks(tfmods, kernels, s)
        for k, m in zip(kernels, masks):
            assert np.array_equal(magnitude_mask(k, s, rule="tfmot"), m)
    masks, _ = _tfmot_masks(tfmods, [one], 0.99)
    assert masks[0].all() and magnitude_mask(one, 0.99, rule="tfmot").all()


@pytest.mark.tf
@pytest.mark.torch
def test_where_the_two_rules_disagree_each_matches_its_framework(torch, tfmods):
    """n = 5, s = 0.5: torch prunes round(2.5) = 2; tfmot keeps round(2.5) = 2, i.e. prunes 3."""
    w = np.array([[0.3, -1.2, 0.7, 2.0, -0.1]], np.float32)
    t = _torch_mask(torch, w, "l1_unstructured", amount=0.5)
    masks, _ = _tfmot_masks(tfmods, [w.T], 0.5)
    assert (~t).sum() == 2 and (~masks[0]).sum() == 3
    assert np.array_equal(magnitude_mask(w, 0.5, rule="torch"), t)
    assert np.array_equal(magnitude_mask(w.T, 0.5, rule="tfmot"), masks[0])


@pytest.mark.tf
@pytest.mark.parametrize("pooling", ["AVG", "MAX"])
@pytest.mark.parametrize("block", [(1, 1), (2, 2), (1, 4), (4, 1), (2, 3), (3, 3)], ids=str)
@pytest.mark.parametrize("sparsity", [0.25, 0.5, 0.8])
def test_block_mask_equals_tfmot_block_size(tfmods, pooling, block, sparsity):
    # widths chosen to be divisible and ragged (remainders 1 and 2: TF 'SAME' pads before when >= 2)
    kernels = _chain(np.random.default_rng(sum(block) * 7 + int(sparsity * 10)), [8, 12, 7, 5])
    masks, _ = _tfmot_masks(tfmods, kernels, sparsity, block_size=block, block_pooling_type=pooling)
    for k, m in zip(kernels, masks):
        assert np.array_equal(block_mask(k, sparsity, block, pooling=pooling.lower()), m), (k.shape, block)


@pytest.mark.torch
@pytest.mark.parametrize("shape, amount", [((10, 7), 0.5), ((5,), 0.5), ((3, 4, 2), 0.9), ((64, 128), 0.8)])
def test_random_mask_prunes_as_many_as_torch_random_unstructured(shape, amount):
    from course_lib.frameworks import import_torch
    from course_lib.pruning.masks import random_mask

    torch = import_torch(0)
    from torch.nn.utils import prune as tprune

    lin = torch.nn.Linear(1, 1)
    lin.weight = torch.nn.Parameter(torch.ones(shape))
    tprune.random_unstructured(lin, "weight", amount=amount)
    ours = random_mask(np.ones(shape), amount, seed=3)
    assert ours.dtype == bool and ours.shape == shape
    assert int((~ours).sum()) == int((lin.weight_mask == 0).sum())  # the same count; the choice is random
    assert not np.array_equal(ours, random_mask(np.ones(shape), amount, seed=4)) or amount * np.prod(shape) < 2
