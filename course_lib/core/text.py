"""Text for the tiny language model: the corpus, character-level tokens, a fixed train/val/test split.

The corpus (data/python_docstrings.txt, written by data/make_tiny_gpt.py) holds the docstrings of the
top-level modules of CPython 3.11's standard library (PSF licence, see data/README.md), one document
after another, separated by DOC_SEPARATOR. Tokens are characters: the newline and the 95 printable
ASCII characters, so a token id is an index into VOCAB and the vocabulary has 96 entries.

    text = load_corpus()                  # the whole file as one str
    split = corpus_split()                # {"train": str, "val": str, "test": str}
    ids = encode("def f(x):")             # int64 array, one id per character
    decode(ids) == "def f(x):"
"""
from pathlib import Path

import numpy as np

from . import validation as v
from .validation import Array, InstanceOf, Integer, Optional, Text, validate

VOCAB = "\n" + "".join(chr(c) for c in range(32, 127))  # 96 characters: newline + printable ASCII
DOC_SEPARATOR = "\n\n\n"  # between documents; documents themselves never hold three newlines in a row
CORPUS_PATH = Path(__file__).resolve().parents[2] / "data" / "python_docstrings.txt"
SPLIT_PERIOD = 32  # document i goes to test if i % 32 == 0, to val if i % 32 == 16, else to train
_INDEX = {c: i for i, c in enumerate(VOCAB)}
TEXT = Text()


class _Path(InstanceOf):
    """A file name: a str or a pathlib.Path (whether the file exists is checked when it is opened)."""

    def __init__(self):
        super().__init__((str, Path), lambda: CORPUS_PATH, "str or pathlib.Path (or None for the shipped file)")

    def bad(self):
        return [3, b"file.npz"]


PATH = Optional(_Path())


class _Tokens(v.Constraint):
    """Token ids: integers in [0, len(VOCAB) - 1], any shape, empty allowed."""

    def check(self, x, name):
        ids = v.as_array(x, name, allow_empty=True)
        if not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"{name} must hold integers, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= len(VOCAB)):
            raise ValueError(f"{name} must be in [0, {len(VOCAB) - 1}], got values in [{ids.min()}, {ids.max()}]")
        return ids

    def good(self):
        return np.arange(3)

    def bad(self):
        return ["abc", [1.0], [96], [-1], [[0, 1], [2]]]


@validate(text=TEXT)
def encode(text):
    """Return the token ids of `text`: id = VOCAB.index(character)."""
    try:
        return np.fromiter((_INDEX[c] for c in text), dtype=np.int64, count=len(text))
    except KeyError as e:
        pos = next(i for i, c in enumerate(text) if c not in _INDEX)
        raise ValueError(f"text holds {e.args[0]!r} at position {pos}, which is not in the vocabulary "
                         f"(newline and printable ASCII)") from None


@validate(tokens=_Tokens())
def decode(tokens):
    """Return the text of token ids: the inverse of `encode`."""
    return "".join(VOCAB[i] for i in np.asarray(tokens).ravel())


@validate(path=PATH)
def load_corpus(path=None):
    """Return the corpus file as one string (default: the shipped Python docstrings)."""
    path = CORPUS_PATH if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path must name the corpus file (run python data/make_tiny_gpt.py corpus), "
                                f"got {str(path)!r}")
    return path.read_text(encoding="ascii")


@validate(text=TEXT)
def split_documents(text):
    """Return the documents of a corpus string, in order (split at DOC_SEPARATOR)."""
    return [d for d in text.split(DOC_SEPARATOR) if d]


@validate(text=Optional(TEXT))
def corpus_split(text=None):
    """Return {"train", "val", "test"} texts: every 32nd document to test, the 16th of each 32 to val.

    Interleaving the documents keeps the three splits from the same modules (a contiguous split would
    test on the last modules in alphabetical order only). Documents are joined by DOC_SEPARATOR.
    """
    docs = split_documents(load_corpus() if text is None else text)
    parts = {"train": [], "val": [], "test": []}
    for i, d in enumerate(docs):
        parts["test" if i % SPLIT_PERIOD == 0 else "val" if i % SPLIT_PERIOD == SPLIT_PERIOD // 2 else "train"].append(d)
    return {k: DOC_SEPARATOR.join(d) for k, d in parts.items()}


@validate(tokens=Array(ndim=1, integer=True), context=Integer(minimum=1))
def windows(tokens, context):
    """Cut a token stream into non-overlapping (inputs, targets) windows: x = t[s:s+T], y = t[s+1:s+T+1].

    Returns two int64 arrays of shape (n_windows, context); the tail shorter than a window is dropped.
    """
    t = np.asarray(tokens)
    n = (t.size - 1) // context
    if n < 1:
        raise ValueError(f"tokens must hold at least context + 1 = {context + 1} ids, got {t.size}")
    x = t[:n * context].reshape(n, context)
    y = t[1:n * context + 1].reshape(n, context)
    return x.astype(np.int64), y.astype(np.int64)
