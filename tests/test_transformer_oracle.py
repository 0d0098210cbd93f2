"""The numpy TinyGPT equals its torch twin (nn.Embedding, nn.LayerNorm, nn.Linear, nn.GELU("tanh"), SDPA)."""
import numpy as np
import pytest

from course_lib.core.transformer import GPTConfig, TinyGPT, load_tiny_gpt, linear
from course_lib.frameworks import import_torch
from course_lib.frameworks.torch_transformer import TorchTinyGPT, from_torch, to_torch

pytestmark = pytest.mark.torch

# float32 tolerance, relative to the largest |logit|: both sides compute in float32 but sum in different
# orders (BLAS blocking in numpy vs torch's kernels; SDPA scales q and k by d_k^-1/4 each where we divide
# q k^T by sqrt(d_k)); each sum then differs by a few ulps (2^-24 ~ 6e-8 relative) and LayerNorm and
# softmax carry the differences through the blocks. Measured <= 2e-5 with weights of std 0.3.
RTOL = 1e-4
CONFIGS = [  # (vocab, context, d_model, n_head, n_layer): one head, several heads, d_k = 1, one block
    (11, 16, 12, 1, 2), (11, 16, 12, 3, 2), (7, 8, 8, 8, 1), (96, 32, 16, 4, 3),
]


def _max_rel(a, b):
    return float(np.max(np.abs(a - b))) / max(1.0, float(np.max(np.abs(b))))


def _random_model(cfg, seed, scale=0.3):
    rng = np.random.default_rng(seed)
    base = TinyGPT.init(cfg, seed)
    return TinyGPT(cfg, {k: a + rng.normal(0.0, scale, a.shape).astype(np.float32) for k, a in base.params.items()})


def _torch_logits(model, tokens):
    torch = import_torch(0)
    with torch.no_grad():
        return model.to_torch()(torch.from_numpy(np.asarray(tokens, np.int64))).numpy()


@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("time", [1, 5, "full"])
def test_logits_equal_torch_on_random_models(cfg, time):
    config = GPTConfig(*cfg)
    t = config.context if time == "full" else time
    model = _random_model(config, seed=sum(cfg))
    x = np.random.default_rng(t).integers(0, config.vocab_size, (3, t))
    ours, theirs = model.forward(x), _torch_logits(model, x)
    assert ours.dtype == theirs.dtype == np.float32 and ours.shape == theirs.shape
    assert _max_rel(ours, theirs) <= RTOL


def test_edge_tokens_and_a_padded_batch_equal_torch():
    config = GPTConfig(11, 16, 12, 3, 2)
    model = _random_model(config, seed=5)
    x = np.zeros((4, 16), np.int64)
    x[1] = 10                                 # the largest id everywhere
    x[2, :3] = [4, 9, 1]                      # a short sequence, right-padded with 0
    x[3] = np.arange(16) % 11
    assert _max_rel(model.forward(x), _torch_logits(model, x)) <= RTOL


def test_pretrained_model_equals_torch_and_round_trips():
    model = load_tiny_gpt()
    x = np.random.default_rng(0).integers(0, model.config.vocab_size, (2, model.config.context))
    assert _max_rel(model.forward(x), _torch_logits(model, x)) <= RTOL
    back = from_torch(model.to_torch())
    assert all(np.array_equal(back[k], a) for k, a in model.params.items())


def test_calibration_inputs_equal_torch_linear_inputs():
    torch = import_torch(0)
    model = _random_model(GPTConfig(11, 16, 12, 3, 2), seed=6)
    x = np.random.default_rng(1).integers(0, 11, (2, 16))
    module, seen = model.to_torch(), {}

    def record(name):
        def hook(_, args):  # returns None: a pre-hook's return value would replace the input
            seen[name] = args[0].reshape(-1, args[0].shape[-1]).clone()
        return hook

    for name, sub in module.named_modules():
        if isinstance(sub, torch.nn.Linear):
            sub.register_forward_pre_hook(record(name))
    with torch.no_grad():
        module(torch.from_numpy(x))
    ours = model.calibration_inputs(x)
    assert list(ours) == list(seen) == model.linear_names()  # same names, same (forward) order
    for name, X in ours.items():
        assert X.shape == tuple(seen[name].shape) and _max_rel(X, seen[name].numpy()) <= RTOL, name


def test_linear_equals_torch_linear():
    torch = import_torch(0)
    rng = np.random.default_rng(2)
    x, W, b = (rng.normal(size=s).astype(np.float32) for s in ((2, 3, 5), (4, 5), (4,)))
    theirs = torch.nn.functional.linear(*(torch.from_numpy(a) for a in (x, W, b))).numpy()
    assert np.max(np.abs(linear(x, W, b) - theirs)) < 1e-6


def test_to_torch_rejects_other_models():
    with pytest.raises(TypeError, match="model must be a TinyGPT"):
        to_torch("gpt")
    with pytest.raises(TypeError, match="module must be a TorchTinyGPT"):
        from_torch(object())
    with pytest.raises(TypeError, match="config must be a GPTConfig"):
        TorchTinyGPT({"d_model": 8})


@pytest.mark.parametrize("prefix", [1, 6])
def test_torch_kv_cache_equals_numpy_kv_cache_and_full_forward(prefix):
    torch = import_torch(0)
    model = _random_model(GPTConfig(11, 16, 12, 3, 2), seed=7)
    x = np.random.default_rng(3).integers(0, 11, (2, 16))
    module, np_cache = model.to_torch(), model.new_cache()
    cache = module.new_cache()
    steps = [(0, prefix), (prefix, prefix + 3)] + [(i, i + 1) for i in range(prefix + 3, 16)]  # a chunk, then singles
    with torch.no_grad():
        theirs = np.concatenate([module(torch.from_numpy(x[:, a:b]), cache).numpy() for a, b in steps], axis=1)
    ours = np.concatenate([model.forward(x[:, a:b], cache=np_cache) for a, b in steps], axis=1)
    assert _max_rel(theirs, _torch_logits(model, x)) <= RTOL and _max_rel(ours, theirs) <= RTOL
    assert cache[0][0].shape == np_cache.k[0].shape == (2, 3, 16, 4)
