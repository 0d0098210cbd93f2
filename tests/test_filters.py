"""Filter pruning: torch's ln_structured picks the same filters, and physical removal equals masking."""
import numpy as np
import pytest

from course_lib.pruning import filters as F
from course_lib.core import layers as L
from course_lib.core.data import load_digits_split
from course_lib.frameworks import import_torch
from course_lib.core.measure import sequential_macs
from course_lib.core.nn import accuracy, train


@pytest.fixture(scope="module")
def trained():
    d = load_digits_split()
    net = L.digits_cnn(seed=0)
    train(net, d.X_train, d.y_train, epochs=3, seed=0)
    return net, d


@pytest.mark.torch
@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.75])
def test_keep_equals_torch_ln_structured(trained, fraction):
    torch = import_torch(0)
    from torch.nn.utils import prune
    from course_lib.frameworks.torch_bridge import to_torch

    net, _ = trained
    tnet = to_torch(net)
    convs = [m for m in tnet if isinstance(m, torch.nn.Conv2d)]
    for layer, conv in zip(F.conv_layers(net), convs):
        prune.ln_structured(conv, "weight", amount=fraction, n=1, dim=0)
        kept = conv.weight_mask.detach().numpy().reshape(conv.weight.shape[0], -1).all(axis=1)
        assert np.array_equal(kept, F.filter_keep(net, layer, fraction))


@pytest.mark.parametrize("layer", [0, 1])
def test_removal_equals_zeroing_the_filters_and_their_biases(trained, layer):
    net, d = trained
    keep = F.filter_keep(net, layer, 0.5)
    narrow = F.remove_filters(net, layer, keep)
    masked = net.copy()
    masked.W[layer][~keep], masked.b[layer][~keep] = 0.0, 0.0  # ln_structured keeps the bias: zero it too
    assert np.max(np.abs(narrow.forward(d.X_test) - masked.forward(d.X_test))) < 1e-12
    assert narrow.W[layer].shape[0] == keep.sum() and narrow.n_params < net.n_params


def test_prune_filters_shrinks_params_and_macs_and_trains(trained):
    net, d = trained
    small = F.prune_filters(net, 0.5)
    assert [w.shape for w in small.W] == [(4, 1, 3, 3), (8, 4, 3, 3), (10, 128)]
    assert sequential_macs(small, (64,)) < sequential_macs(net, (64,)) / 2
    train(small, d.X_train, d.y_train, epochs=1, seed=0)
    assert accuracy(small, d.X_test, d.y_test) > 0.5


def test_sensitivity_and_validation(trained):
    net, d = trained
    acc = F.filter_sensitivity(net, 1, [0.0, 0.5, 0.9], d.X_val, d.y_val)
    assert acc[0] == accuracy(net, d.X_val, d.y_val) and acc.shape == (3,)
    with pytest.raises(ValueError, match="layer must be the index of a Conv2d layer"):
        F.filter_norms(net, 2)
    with pytest.raises(ValueError, match="keep must be a bool vector of length 8"):
        F.remove_filters(net, 0, np.ones(3, bool))
