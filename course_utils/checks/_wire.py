"""A safe file format for the values checkers exchange (introduced in 01_minimax_game).

A value is ``None``, a bool, int, float or str, a list, a dict with str keys, or
a NumPy array of numbers or bools, nested in any way. It is stored as a ``.npz``
archive: the arrays as ``.npy`` entries and the structure as JSON text. Reading
never unpickles anything (``allow_pickle=False``), refuses object arrays and
stops at a size limit, so a file written by untrusted code can be read safely.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["dumps", "loads", "save", "load", "WireError", "MAX_BYTES"]

MAX_BYTES = 64 * 2**20
_ARRAY_KEY = "__array__"


class WireError(ValueError):
    """The data is not a value of this format."""


def _pack(value, arrays: list):
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if type(value) in (list, tuple):
        return [_pack(v, arrays) for v in value]
    if type(value) is dict:
        if any(type(k) is not str for k in value) or _ARRAY_KEY in value:
            raise WireError("dict keys must be strings")
        return {k: _pack(v, arrays) for k, v in value.items()}
    if type(value) is np.ndarray:
        if value.dtype.kind not in "biuf":
            raise WireError(f"arrays of dtype {value.dtype} are not allowed")
        arrays.append(value)
        return {_ARRAY_KEY: len(arrays) - 1}
    raise WireError(f"values of type {type(value).__name__} are not allowed")


def dumps(value) -> bytes:
    arrays: list = []
    tree = _pack(value, arrays)
    buf = io.BytesIO()
    entries = {f"a{i}": a for i, a in enumerate(arrays)}
    entries["tree"] = np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8)
    np.savez(buf, **entries)
    return buf.getvalue()


def _unpack(node, arrays: dict, depth: int = 0):
    if depth > 64:
        raise WireError("nested too deeply")
    if node is None or type(node) in (bool, int, float, str):
        return node
    if type(node) is list:
        return [_unpack(v, arrays, depth + 1) for v in node]
    if type(node) is dict:
        if set(node) == {_ARRAY_KEY}:
            key = f"a{node[_ARRAY_KEY]}"
            if key not in arrays:
                raise WireError("reference to a missing array")
            return arrays[key]
        return {k: _unpack(v, arrays, depth + 1) for k, v in node.items()}
    raise WireError("bad structure")


def loads(data: bytes, max_bytes: int = MAX_BYTES):
    if len(data) > max_bytes:
        raise WireError(f"more than {max_bytes} bytes")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if sum(i.file_size for i in zf.infolist()) > max_bytes:
                raise WireError(f"more than {max_bytes} bytes once unpacked")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except WireError:
        raise
    except Exception as exc:  # noqa: BLE001 - any malformed file
        raise WireError(f"unreadable: {type(exc).__name__}: {exc}") from None
    tree = arrays.pop("tree", None)
    if tree is None or tree.dtype != np.uint8 or tree.ndim != 1:
        raise WireError("no structure entry")
    for a in arrays.values():
        if a.dtype.kind not in "biuf":
            raise WireError(f"arrays of dtype {a.dtype} are not allowed")
    try:
        node = json.loads(tree.tobytes().decode())
        return _unpack(node, arrays)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"bad structure: {exc}") from None
    except RecursionError:  # structure text nested deeper than Python recurses
        raise WireError("bad structure: nested too deeply") from None


def save(path, value) -> None:
    Path(path).write_bytes(dumps(value))


def load(path, max_bytes: int = MAX_BYTES):
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        raise WireError(f"{path.name} is not a plain file")
    if path.stat().st_size > max_bytes:
        raise WireError(f"more than {max_bytes} bytes")
    return loads(path.read_bytes(), max_bytes)
