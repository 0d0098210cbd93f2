"""Move values between the grader and a student's kernel as plain data, never as code.

The grader sends a call's arguments to the student's kernel (pickled: the kernel may run anything
anyway) and reads the answer back through `decode`, which builds only numbers, strings, numpy
arrays (`allow_pickle=False`), tuples, lists, dicts and instances of course_lib's own classes
(attributes set one by one, no code of the student's runs). Whatever the kernel writes, the
grader's process runs none of it: a verdict is computed from data only.

This file runs on both sides: the grader imports it; the kernel receives its source text.
"""
import base64
import io
import json

import numpy as np

MAX_DEPTH = 40             # nesting deeper than this is refused (no recursion bomb)
MAX_BYTES = 256 * 2 ** 20  # an answer larger than this is refused


def _npy(a):
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _fields(x):
    """The attributes of an instance: its __dict__ (plain classes, dataclasses) or a NamedTuple's fields."""
    if isinstance(x, tuple) and hasattr(type(x), "_fields"):
        return dict(zip(type(x)._fields, x))
    return dict(vars(x)) if hasattr(x, "__dict__") else None


def encode(x, depth=0):
    """Return a JSON-able description of x (kind-tagged); unknown kinds become 'opaque'."""
    if depth > MAX_DEPTH:
        raise ValueError("the value is nested too deeply")
    t, d = type(x), depth + 1
    if x is None:
        return {"t": "none"}
    if t in (bool, int, float, str):
        return {"t": t.__name__, "v": repr(x) if t is float else (str(x) if t is int else x)}
    if isinstance(x, np.ndarray) and x.dtype != object:
        return {"t": "ndarray", "v": _npy(x)}
    if isinstance(x, np.ndarray):
        return {"t": "ndobject", "shape": list(x.shape), "v": [encode(i, d) for i in x.ravel().tolist()]}
    if isinstance(x, np.generic) and not isinstance(x, np.object_):
        return {"t": "npscalar", "v": _npy(np.asarray(x))}
    module = getattr(t, "__module__", "") or ""
    if module.split(".")[0] == "course_lib" and _fields(x) is not None:
        return {"t": "object", "class": f"{module}:{t.__qualname__}",
                "v": [[k, encode(v, d)] for k, v in _fields(x).items()]}
    if t in (tuple, list):
        return {"t": t.__name__, "v": [encode(i, d) for i in x]}
    if t is dict:
        return {"t": "dict", "v": [[encode(k, d), encode(v, d)] for k, v in x.items()]}
    return {"t": "opaque", "v": f"{module}.{t.__qualname__}".lstrip(".")}


class Opaque:
    """A value the grader does not rebuild (e.g. a torch tensor): shows its type, equals nothing."""

    def __init__(self, kind):
        self.kind = kind

    def __repr__(self):
        return f"<a {self.kind} object>"


def _class(name, modules):
    """Return the course_lib class named 'module:qualname', only from modules already imported."""
    module, _, qualname = name.partition(":")
    if module.split(".")[0] != "course_lib" or module not in modules or "<" in qualname:
        raise ValueError(f"not a course_lib class: {name!r}")
    obj = modules[module]
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not isinstance(obj, type):
        raise ValueError(f"not a class: {name!r}")
    return obj


def _instance(cls, fields):
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return cls(**fields)
    obj = cls.__new__(cls)
    for k, v in fields.items():
        object.__setattr__(obj, k, v)
    return obj


def decode(d, modules, depth=0):
    """Rebuild a value from `encode`'s description; raise ValueError on anything unexpected."""
    if depth > MAX_DEPTH or not isinstance(d, dict) or not isinstance(d.get("t"), str):
        raise ValueError("malformed value")
    t, v, n = d["t"], d.get("v"), depth + 1
    if t == "none":
        return None
    if t == "bool" and isinstance(v, bool):
        return v
    if t == "int" and isinstance(v, str):
        return int(v)
    if t == "float" and isinstance(v, str):
        return float(v)
    if t == "str" and isinstance(v, str):
        return v
    if t in ("ndarray", "npscalar") and isinstance(v, str):
        a = np.load(io.BytesIO(base64.b64decode(v, validate=True)), allow_pickle=False)
        return a if t == "ndarray" else a[()]
    if t == "ndobject" and isinstance(v, list):
        a = np.empty(len(v), dtype=object)
        a[:] = [decode(i, modules, n) for i in v]
        return a.reshape([int(s) for s in d["shape"]])
    if t in ("tuple", "list") and isinstance(v, list):
        items = [decode(i, modules, n) for i in v]
        return tuple(items) if t == "tuple" else items
    if t == "dict" and isinstance(v, list):
        return {decode(k, modules, n): decode(x, modules, n) for k, x in v}
    if t == "object" and isinstance(v, list):
        fields = {str(k): decode(x, modules, n) for k, x in v}
        return _instance(_class(d["class"], modules), fields)
    if t == "opaque" and isinstance(v, str):
        return Opaque(v[:80])
    raise ValueError(f"malformed value of kind {t!r}")


def read_answer(text, modules):
    """Parse one answer file strictly: exactly one JSON object with status, result and the arguments after the call."""
    if len(text) > MAX_BYTES:
        raise ValueError("the answer is too large")
    msg = json.loads(text)
    if not isinstance(msg, dict) or msg.get("status") not in ("ok", "not done", "raised", "missing"):
        raise ValueError("malformed answer")
    if msg["status"] != "ok":
        return msg["status"], str(msg.get("error", ""))[:500], None, None
    return "ok", decode(msg["result"], modules), decode(msg["args"], modules), decode(msg["kwargs"], modules)


# ------------------------------------------------------------------------------ the kernel side

def kernel_call(namespace, name, request, path):
    """In the student's kernel: call namespace[name](*args, **kwargs) and write one answer file."""
    import pickle

    fn = namespace.get(name)
    if not callable(fn):
        msg = {"status": "missing", "error": f"`{name}` is not defined: run its cell (and the cells above it)"}
    else:
        args, kwargs = pickle.loads(base64.b64decode(request))
        try:
            result = fn(*args, **kwargs)
            msg = {"status": "ok", "result": encode(result), "args": encode(args), "kwargs": encode(kwargs)}
        except NotImplementedError:
            msg = {"status": "not done"}
        except BaseException as e:  # noqa: B036 -- a student's SystemExit is an answer too
            msg = {"status": "raised", "error": f"{type(e).__name__}: {e}"}
    with open(path, "w") as f:
        f.write(json.dumps(msg))


def kernel_value(namespace, expr, path):
    """In the student's kernel: evaluate a checker's extra argument (e.g. `quad`) and write it as data."""
    try:
        msg = {"status": "ok", "result": encode(eval(expr, namespace)), "args": encode(()), "kwargs": encode({})}
    except NameError as e:
        msg = {"status": "missing", "error": f"{e}: run the cells above the check"}
    except BaseException as e:  # noqa: B036
        msg = {"status": "raised", "error": f"{type(e).__name__}: {e}"}
    with open(path, "w") as f:
        f.write(json.dumps(msg))
