"""The numpy TinyGPT: shapes, causality, the KV cache, the calibration hook, errors, text, counts, shipped files."""
import hashlib
import math
import sys

import numpy as np
import pytest

from course_lib.core import measure, text, transformer as tr
from course_lib.core.transformer import GPTConfig, KVCache, TinyGPT, load_tiny_gpt

# SHA-256 of the shipped files (data/make_tiny_gpt.py regenerates both byte for byte; data/README.md)
CORPUS_SHA256 = "040b414699d4a91d0eb5784c701f70052007885538cf8931bfcd335f25745f13"
WEIGHTS_SHA256 = "b0d9b62cb4633a12d8a6da4d4372148a1f8e7680b4ab66109a88b764d4015dc3"
SMALL = GPTConfig(vocab_size=11, context=16, d_model=12, n_head=3, n_layer=2)
# Same-shape tolerance for two float32 computations of the same logits whose matmuls have different
# shapes (a KV-cache step multiplies one row, the full pass all rows; a padded batch has more rows):
# BLAS then blocks the sums differently, each sum differs by a few ulps (2^-24 ~ 6e-8 relative), and
# LayerNorm and softmax carry that through the blocks. Measured <= 2e-5 of the largest |logit|.
RTOL = 1e-4


def _close(a, b, rtol=RTOL):
    return a.shape == b.shape and float(np.max(np.abs(a - b))) <= rtol * max(1.0, float(np.max(np.abs(b))))


def _random_model(config=SMALL, seed=0, scale=0.3):
    """A model with large random weights (N(0, 0.02) barely mixes tokens; this stresses every path)."""
    rng = np.random.default_rng(seed)
    base = TinyGPT.init(config, seed)
    return TinyGPT(config, {k: a + rng.normal(0.0, scale, a.shape).astype(np.float32) for k, a in base.params.items()})


def _tokens(config, batch, time, seed=1):
    return np.random.default_rng(seed).integers(0, config.vocab_size, (batch, time))


def test_forward_returns_float32_logits_of_batch_time_vocab():
    m = _random_model()
    for b, t in ((1, 1), (3, 7), (2, SMALL.context)):
        z = m.forward(_tokens(SMALL, b, t))
        assert z.dtype == np.float32 and z.shape == (b, t, SMALL.vocab_size) and np.all(np.isfinite(z))


@pytest.mark.parametrize("n_head", [1, 2, 4])
def test_changing_a_later_token_never_changes_an_earlier_logit(n_head):
    cfg = GPTConfig(vocab_size=13, context=12, d_model=8, n_head=n_head, n_layer=2)
    m, x = _random_model(cfg, seed=n_head), _tokens(cfg, 2, 12)
    z = m.forward(x)
    for j in (0, 5, 11):
        y = x.copy()
        y[:, j] = (y[:, j] + 1) % cfg.vocab_size
        zy = m.forward(y)
        assert np.array_equal(zy[:, :j], z[:, :j])  # masked keys get exp(-inf) = 0 exactly
        assert not np.allclose(zy[:, j], z[:, j])   # ... and the changed position does change


@pytest.mark.parametrize("prefix", [1, 5, 16])
def test_kv_cache_steps_equal_the_full_forward(prefix):
    m, x = _random_model(), _tokens(SMALL, 3, SMALL.context)
    cache = m.new_cache()
    parts = [m.forward(x[:, :prefix], cache=cache)]
    parts += [m.forward(x[:, i:i + 1], cache=cache) for i in range(prefix, SMALL.context)]
    assert cache.length == SMALL.context
    assert _close(np.concatenate(parts, axis=1), m.forward(x))
    assert cache.nbytes == SMALL.context * measure.kv_cache_bytes_per_token(SMALL.d_model, SMALL.n_layer) * 3


def test_kv_cache_rejects_tokens_beyond_the_context():
    m = _random_model()
    cache = m.new_cache()
    m.forward(_tokens(SMALL, 1, 10), cache=cache)
    with pytest.raises(ValueError, match=r"tokens must have time <= 6 \(context 16, 10 cached\), got 7"):
        m.forward(_tokens(SMALL, 1, 7), cache=cache)


def test_padded_batch_gives_each_sequence_its_own_logits():
    m, rng = _random_model(), np.random.default_rng(3)
    lengths = [5, 16, 1]
    seqs = [rng.integers(0, SMALL.vocab_size, n) for n in lengths]
    padded = np.zeros((3, 16), np.int64)  # right padding with token 0: causal attention never looks right
    for i, s in enumerate(seqs):
        padded[i, :len(s)] = s
    z = m.forward(padded)
    for i, s in enumerate(seqs):
        assert _close(z[i, :len(s)], m.forward(s[None])[0])


def test_calibration_inputs_are_exactly_each_linear_layers_input():
    m, x = _random_model(), _tokens(SMALL, 2, 9)
    X, p = m.calibration_inputs(x), m.params
    assert list(X) == m.linear_names() and len(X) == 4 * SMALL.n_layer + 1
    h = p["wte"][x] + p["wpe"][:9]
    for l in range(SMALL.n_layer):
        P = lambda n: (p[f"h.{l}.{n}.weight"], p[f"h.{l}.{n}.bias"])  # noqa: E731
        assert np.array_equal(X[f"h.{l}.attn.c_attn"], tr.layer_norm(h, *P("ln_1")).reshape(-1, 12))
        qkv = tr.linear(X[f"h.{l}.attn.c_attn"].reshape(2, 9, 12), *P("attn.c_attn"))
        q, k, v = (tr.split_heads(a, 3) for a in np.split(qkv, 3, axis=-1))
        a = tr.merge_heads(tr.attention(q, k, v))
        assert np.array_equal(X[f"h.{l}.attn.c_proj"], a.reshape(-1, 12))
        h = h + tr.linear(a, *P("attn.c_proj"))
        assert np.array_equal(X[f"h.{l}.mlp.c_fc"], tr.layer_norm(h, *P("ln_2")).reshape(-1, 12))
        g = tr.gelu(tr.linear(X[f"h.{l}.mlp.c_fc"], *P("mlp.c_fc")))
        assert np.array_equal(X[f"h.{l}.mlp.c_proj"], g)
        h = h + tr.linear(g, *P("mlp.c_proj")).reshape(2, 9, 12)
    logits = tr.linear(X["lm_head"], p["lm_head.weight"], p["lm_head.bias"])
    assert np.array_equal(logits.reshape(2, 9, -1), m.forward(x))


def test_hook_sees_every_linear_once_per_forward_and_changes_nothing():
    m, x = _random_model(), _tokens(SMALL, 2, 5)
    seen = []
    z = m.forward(x, hook=lambda name, a: seen.append((name, a.shape)))
    assert [n for n, _ in seen] == m.linear_names() and seen[0][1] == (2, 5, SMALL.d_model)
    assert np.array_equal(z, m.forward(x))


def test_attention_pieces_follow_their_equations():
    rng = np.random.default_rng(0)
    assert np.array_equal(tr.causal_mask(3, 3), np.tril(np.ones((3, 3), bool)))
    assert np.array_equal(tr.causal_mask(1, 4), np.ones((1, 4), bool))  # a cached step sees every key
    x = rng.normal(size=(2, 5, 12)).astype(np.float32)
    assert np.array_equal(tr.merge_heads(tr.split_heads(x, 3)), x)
    assert np.array_equal(tr.split_heads(x, 3)[:, 1], x[:, :, 4:8])
    q = rng.normal(size=(1, 1, 4, 6)).astype(np.float32)
    out = tr.attention(q, q, q)
    assert np.allclose(out[0, 0, 0], q[0, 0, 0])  # the first token attends only to itself
    y = tr.layer_norm(x, np.ones(12, np.float32), np.zeros(12, np.float32))
    assert np.allclose(y.mean(-1), 0, atol=1e-6) and np.allclose(y.var(-1), 1, atol=1e-3)
    g = np.array([-3.0, 0.0, 1.0], np.float32)
    assert np.allclose(tr.gelu(g), 0.5 * g * (1 + np.tanh(math.sqrt(2 / math.pi) * (g + 0.044715 * g ** 3))))
    assert tr.gelu(x).dtype == y.dtype == tr.attention(q, q, q).dtype == np.float32


def test_generation_with_and_without_the_cache_agrees_and_sampling_is_seeded():
    m = _random_model(seed=4)
    prompt = np.array([1, 2, 3])
    greedy = m.generate(prompt, 10)
    assert greedy.shape == (13,) and np.array_equal(greedy[:3], prompt)
    assert np.array_equal(greedy, m.generate(prompt, 10, use_cache=False))
    s1, s2 = m.generate(prompt, 10, temperature=1.0, seed=7), m.generate(prompt, 10, temperature=1.0, seed=7)
    assert np.array_equal(s1, s2) and not np.array_equal(s1, m.generate(prompt, 10, temperature=1.0, seed=8))
    assert np.array_equal(m.generate(prompt, 0), prompt)


def test_copy_and_save_round_trip(tmp_path):
    m = _random_model()
    c = m.copy()
    c.params["lm_head.bias"][0] += 1
    assert m.params["lm_head.bias"][0] != c.params["lm_head.bias"][0]
    m.save(tmp_path / "a.npz")
    m.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()  # no time stamps
    back = load_tiny_gpt(tmp_path / "a.npz")
    assert back.config == m.config and all(np.array_equal(back.params[k], a) for k, a in m.params.items())


@pytest.mark.parametrize("call, error, match", [
    (lambda m: m.forward(np.array([[0, 11]])), ValueError, r"tokens must be in \[0, 10\], got values in \[0, 11\]"),
    (lambda m: m.forward(np.array([[-1, 2]])), ValueError, r"tokens must be in \[0, 10\]"),
    (lambda m: m.forward(np.zeros((1, 17), int)), ValueError, r"tokens must have time <= 16"),
    (lambda m: m.forward(np.zeros((1, 3))), TypeError, "tokens must hold integers"),
    (lambda m: m.forward(np.zeros(3, int)), ValueError, r"tokens must have shape \(batch, time\), got shape \(3,\)"),
    (lambda m: m.forward(np.zeros((1, 0), int)), ValueError, "tokens must not be empty"),
    (lambda m: m.forward(np.zeros((1, 2), int), cache=[]), TypeError, "cache must be a KVCache"),
    (lambda m: m.forward(np.zeros((1, 2), int), hook=3), TypeError, "hook must be callable"),
    (lambda m: m.generate([1, 2], 15), ValueError, r"n_new must be in \[0, 14\]"),
    (lambda m: m.generate([1, 2], 3, temperature=-1.0), ValueError, "temperature must be in"),
    (lambda m: m.generate(np.zeros((2, 2), int), 3), ValueError, "prompt must be one sequence"),
    (lambda m: GPTConfig(d_model=10, n_head=4), ValueError, "n_head must divide d_model=10"),
    (lambda m: GPTConfig(n_layer=0), ValueError, "n_layer must be >= 1"),
    (lambda m: TinyGPT(SMALL, {"wte": m.params["wte"]}), ValueError, "params must hold exactly"),
    (lambda m: TinyGPT(SMALL, {}), TypeError, "params must be a non-empty mapping"),
    (lambda m: TinyGPT(SMALL, m.params | {"wte": np.zeros((3, 3))}), ValueError, r"params\['wte'\] must have shape"),
    (lambda m: tr.param_shapes("small"), TypeError, "config must be a GPTConfig"),
    (lambda m: KVCache(2).update(2, None, None), ValueError, r"layer must be in \[0, 1\]"),
    (lambda m: tr.mean_nll("model", np.arange(40)), TypeError, "model must be a TinyGPT"),
    (lambda m: tr.mean_nll(m, np.arange(10) % 11), ValueError, "tokens must hold at least context"),
    (lambda m: tr.mean_nll(m, np.arange(40) % 11, batch_size=0), ValueError, "batch_size must be >= 1"),
    (lambda m: load_tiny_gpt("/no/such/file.npz"), FileNotFoundError, "path must name a weights file"),
])
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call(_random_model())


def test_mean_nll_is_the_cross_entropy_of_full_windows():
    m, t = _random_model(), np.random.default_rng(5).integers(0, 11, 16 * 4 + 3)
    z = m.forward(t[:64].reshape(4, 16)).astype(np.float64)
    y = t[1:65].reshape(4, 16)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    want = -np.take_along_axis(logp, y[..., None], -1).mean()
    assert abs(tr.mean_nll(m, t, batch_size=3) - want) < 1e-9


def test_encode_decode_round_trip_and_errors():
    s = "def f(x):\n    return x ** 2  # ~{}|"
    ids = text.encode(s)
    assert ids.dtype == np.int64 and len(text.VOCAB) == 96 and text.decode(ids) == s
    assert tr.encode is text.encode and tr.decode is text.decode
    assert text.decode(text.encode("")) == ""
    with pytest.raises(ValueError, match=r"text holds 'é' at position 2"):
        text.encode("caé")
    with pytest.raises(TypeError, match="text must be a str"):
        text.encode(b"abc")
    with pytest.raises(ValueError, match=r"tokens must be in \[0, 95\]"):
        text.decode([96])
    with pytest.raises(TypeError, match="tokens must hold integers"):
        text.decode([1.0])
    with pytest.raises(ValueError, match=r"context must be >= 1"):
        text.windows(np.arange(5), 0)
    with pytest.raises(FileNotFoundError, match="path must name the corpus file"):
        text.load_corpus("/no/such/corpus.txt")
    with pytest.raises(TypeError, match="text must be a str"):
        text.split_documents(3)


def test_windows_shift_targets_by_one():
    x, y = text.windows(np.arange(10), 3)
    assert np.array_equal(x, [[0, 1, 2], [3, 4, 5], [6, 7, 8]]) and np.array_equal(y, x + 1)


def test_corpus_split_partitions_the_documents():
    corpus = text.load_corpus()
    docs, split = text.split_documents(corpus), text.corpus_split(corpus)
    parts = {k: text.split_documents(s) for k, s in split.items()}
    assert sum(len(p) for p in parts.values()) == len(docs)
    assert parts["test"] == docs[::32] and parts["val"] == docs[16::32]
    assert set(corpus) <= set(text.VOCAB) and 300_000 < len(corpus) < 3_000_000


def test_transformer_counts_match_the_model():
    cfg = GPTConfig(vocab_size=11, context=16, d_model=12, n_head=3, n_layer=2)
    m = TinyGPT.init(cfg, 0)
    parts = measure.transformer_params(11, 16, 12, 2)
    assert sum(parts.values()) == m.n_params
    linear = sum(m.params[n + ".weight"].size + m.params[n + ".bias"].size for n in m.linear_names())
    assert parts["attention linears"] + parts["MLP linears"] + parts["head"] == linear
    macs = measure.transformer_macs_per_token(11, 12, 2, n_keys=5)
    assert macs["linears"] == sum(m.params[n + ".weight"].size for n in m.linear_names())
    assert macs["attention"] == 2 * 2 * 5 * 12
    assert measure.kv_cache_bytes_per_token(12, 2, "int8") == 2 * 2 * 12


def test_shipped_files_have_their_checksums():
    assert hashlib.sha256(text.CORPUS_PATH.read_bytes()).hexdigest() == CORPUS_SHA256
    assert hashlib.sha256(tr.WEIGHTS_PATH.read_bytes()).hexdigest() == WEIGHTS_SHA256


def test_pretrained_model_loads_and_predicts_the_corpus():
    m = load_tiny_gpt()
    assert m.config == GPTConfig() and 500_000 <= m.n_params <= 1_000_000
    assert all(a.dtype == np.float32 for a in m.params.values())
    x, _ = text.windows(text.encode(text.corpus_split()["val"]), m.config.context)
    assert math.exp(tr.mean_nll(m, x[:8].ravel())) < 15.0  # uniform guess: 96; character counts (unigram): 27.6


@pytest.mark.skipif(sys.version_info[:3] != (3, 11, 7), reason="the shipped corpus was written from CPython 3.11.7")
def test_corpus_regenerates_byte_for_byte(tmp_path):
    sys.path.insert(0, str(text.CORPUS_PATH.parent))
    import make_tiny_gpt
    assert make_tiny_gpt.write_corpus(tmp_path / "c.txt").read_bytes() == text.CORPUS_PATH.read_bytes()
