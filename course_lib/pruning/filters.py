"""Filter pruning for the conv Sequential: rank filters by L1 norm, remove them physically, and
measure each layer's sensitivity (Li et al. 2017, "Pruning Filters for Efficient ConvNets", ICLR).

Removing filter o of a conv layer removes W[o], b[o] and output channel o, so the NEXT layer loses
its input channel o too: W_next[:, o] for a conv, and the columns of channel o for a Dense after a
Flatten. The result is a narrower dense network: fewer parameters, fewer MACs, and real speed.
"""
import numpy as np

from ..core import validation as v
from ..core.validation import Array, Fraction, InstanceOf, Integer, Sequence, validate
from ..core.layers import Conv2d, Dense, Flatten, Sequential, digits_cnn
from .masks import P_NORM, slice_norms, structured_mask
from ..core.nn import accuracy

CNN = InstanceOf(Sequential, lambda: digits_cnn(0), "course_lib.core.layers.Sequential")


@validate(model=CNN)
def conv_layers(model):
    """Return the indices (into model.W) of the Conv2d layers of a conv Sequential."""
    return [i for i, layer in enumerate(model.param_layers) if isinstance(layer, Conv2d)]


def _check_conv(model, layer):
    convs = conv_layers(model)
    layer = v.integer(layer, "layer")
    if layer not in convs:
        raise ValueError(f"layer must be the index of a Conv2d layer in model.W, one of {convs}, got {layer}")
    return layer


@validate(model=CNN, layer=Integer(), p=P_NORM)
def filter_norms(model, layer, p=1):
    """Return the Lp norm of every filter of conv layer `layer`: ||W[o, :, :, :]||_p (Li et al. 2017, sec. 3.1)."""
    return slice_norms(model.effective_weights()[_check_conv(model, layer)], axis=0, p=p)


@validate(model=CNN, layer=Integer(), fraction=Fraction(), p=P_NORM)
def filter_keep(model, layer, fraction, p=1):
    """Return a bool vector over the filters: False for the round(fraction * n) of smallest Lp norm.

    The same filters as torch.nn.utils.prune.ln_structured(conv, "weight", amount=fraction, n=p, dim=0).
    """
    return structured_mask(model.effective_weights()[_check_conv(model, layer)], fraction, axis=0, p=p)[:, 0, 0, 0]


@validate(model=CNN, layer=Integer(), keep=Array())
def remove_filters(model, layer, keep):
    """Return a NARROWER copy of `model` without the filters of conv `layer` where `keep` is False.

    The next parametrised layer loses the matching input channels (a conv's W[:, o], or a Dense's
    columns of channel o after a Flatten); masks are cut the same way.
    """
    layer = _check_conv(model, layer)
    n = model.W[layer].shape[0]
    keep = np.asarray(keep)
    if keep.dtype != bool or keep.shape != (n,) or not keep.any():
        raise ValueError(f"keep must be a bool vector of length {n} with at least one True, got {keep!r}")
    new = model.copy()
    params = new.param_layers
    conv, nxt = params[layer], params[layer + 1] if layer + 1 < len(params) else None
    cut = _next_layer_columns(new, layer, keep)
    new.W[layer], new.b[layer] = new.W[layer][keep], new.b[layer][keep]
    if new.masks[layer] is not None:
        new.masks[layer] = new.masks[layer][keep]
    conv.out_channels = int(keep.sum())
    if nxt is not None:
        new.W[layer + 1] = new.W[layer + 1][:, cut]
        if new.masks[layer + 1] is not None:
            new.masks[layer + 1] = new.masks[layer + 1][:, cut]
        if isinstance(nxt, Conv2d):
            nxt.in_channels = int(keep.sum())
        else:
            nxt.n_in = int(cut.sum())
    return new


def _next_layer_columns(model, layer, keep):
    """Return the bool selector over the next layer's inputs that belong to the kept channels."""
    params = model.param_layers
    if layer + 1 >= len(params):
        return None
    nxt = params[layer + 1]
    if isinstance(nxt, Conv2d):
        return keep
    between = model.layers[model.layers.index(params[layer]) + 1:model.layers.index(nxt)]
    if not isinstance(nxt, Dense) or not any(isinstance(l, Flatten) for l in between):
        raise ValueError("the layer after a pruned conv must be a Conv2d, or a Dense after a Flatten")
    per_channel = nxt.n_in // keep.size  # a Flatten of (c, h, w): channel o owns columns o*h*w ... (o+1)*h*w - 1
    return np.repeat(keep, per_channel)


@validate(model=CNN, fraction=Fraction(), p=P_NORM)
def prune_filters(model, fraction, p=1):
    """Return a narrower copy: every conv layer loses round(fraction * filters) of smallest Lp norm.

    Filters are ranked on the ORIGINAL weights of each layer (torch's ln_structured on each conv).
    """
    keeps = {l: filter_keep(model, l, fraction, p) for l in conv_layers(model)}
    new = model
    for l in sorted(keeps, reverse=True):  # from the last conv back: indices of earlier layers stay valid
        new = remove_filters(new, l, keeps[l])
    return new


@validate(model=CNN, layer=Integer(), fractions=Sequence(Fraction()), X=Array(), y=Array(), p=P_NORM)
def filter_sensitivity(model, layer, fractions, X, y, p=1):
    """Return the accuracy on (X, y) after removing each fraction of conv `layer`'s filters (smallest
    Lp norm first), one layer at a time, no retraining (Li et al. 2017, sec. 3.2; Distiller's
    filter-wise sensitivity analysis)."""
    out = []
    for f in fractions:
        keep = filter_keep(model, layer, v.fraction(f, "fractions"), p)
        out.append(accuracy(remove_filters(model, layer, keep), X, y) if keep.any() else np.nan)
    return np.array(out)
