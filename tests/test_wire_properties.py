"""Properties of the wire format on generated data (Hypothesis).

The grader reads files that code it does not trust has written. Whatever the
bytes, ``loads`` either returns a value of the format or raises ``WireError``,
never another exception; and every value of the format comes back as it went in.
"""

import io
import json
import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_utils.checks import _wire

DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
          np.uint32, np.uint64, np.float16, np.float32, np.float64]

arrays = st.sampled_from(DTYPES).flatmap(
    lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3,
                                                     min_side=0, max_side=4)))
scalars = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(max_size=20))
numpy_scalars = st.sampled_from([np.float64, np.float32, np.int64, np.int32]).flatmap(
    lambda dtype: hnp.from_dtype(np.dtype(dtype)).map(dtype))
keys = st.text(max_size=10).filter(lambda k: k != "__array__")
values = st.recursive(
    scalars | numpy_scalars | arrays,
    lambda inner: (st.lists(inner, max_size=4)
                   | st.lists(inner, max_size=4).map(tuple)
                   | st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)


def expected(value):
    """What the reader should get back: tuples become lists, NumPy scalars Python
    numbers; everything else unchanged."""
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if type(value) in (list, tuple):
        return [expected(v) for v in value]
    if type(value) is dict:
        return {k: expected(v) for k, v in value.items()}
    return value


def same(got, want) -> bool:
    if type(got) is not type(want):
        return False
    if type(want) is float:
        return got == want or (math.isnan(got) and math.isnan(want))
    if type(want) is np.ndarray:
        return (got.dtype == want.dtype and got.shape == want.shape
                and np.array_equal(got, want, equal_nan=want.dtype.kind == "f"))
    if type(want) is list:
        return len(got) == len(want) and all(map(same, got, want))
    if type(want) is dict:
        return got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    return got == want


def of_the_format(value) -> bool:
    """Only the types the format allows, nested in any way."""
    if value is None or type(value) in (bool, int, float, str):
        return True
    if type(value) is list:
        return all(map(of_the_format, value))
    if type(value) is dict:
        return all(type(k) is str for k in value) and all(
            map(of_the_format, value.values()))
    return type(value) is np.ndarray and value.dtype.kind in "biuf"


def npz(**entries) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **entries)
    return buf.getvalue()


def read(data: bytes):
    """``loads(data)``: a value of the format, or None after a ``WireError``.
    Any other exception fails the test."""
    try:
        value = _wire.loads(data)
    except _wire.WireError:
        return None
    assert of_the_format(value)
    return value


@given(values)
def test_every_value_round_trips(value):
    data = _wire.dumps(value)
    assert same(_wire.loads(data), expected(value))
    with pytest.raises(_wire.WireError, match="bytes"):
        _wire.loads(data, max_bytes=len(data) - 1)


@given(st.binary(max_size=2048))
@example(b"")
@example(b"PK\x05\x06" + bytes(18))  # an empty zip archive
def test_arbitrary_bytes_raise_only_wire_errors(data):
    read(data)


@given(values, st.data())
def test_damaged_files_raise_only_wire_errors(value, data):
    """A written file with bytes overwritten, cut off or inserted."""
    raw = bytearray(_wire.dumps(value))
    for _ in range(data.draw(st.integers(1, 4), label="damages")):
        at = data.draw(st.integers(0, len(raw) - 1), label="at")
        kind = data.draw(st.sampled_from(["overwrite", "cut", "insert"]), label="kind")
        if kind == "overwrite":
            raw[at] = data.draw(st.integers(0, 255), label="byte")
        elif kind == "cut":
            del raw[at:]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8), label="bytes")
        if not raw:
            break
    read(bytes(raw))


json_trees = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (st.lists(inner, max_size=3)
                   | st.dictionaries(st.sampled_from(["__array__", "a", "b"]) | keys,
                                     inner, max_size=3)),
    max_leaves=10,
)


@given(st.one_of(json_trees.map(lambda t: json.dumps(t).encode()),
                 st.binary(max_size=64)),
       st.dictionaries(st.sampled_from(["a0", "a1", "ax", "tree2"]), arrays,
                       max_size=2))
def test_any_structure_entry_raises_only_wire_errors(tree, entries):
    """A well-formed archive whose structure text is anything at all."""
    read(npz(tree=np.frombuffer(tree, dtype=np.uint8), **entries))


@given(hnp.arrays(hnp.scalar_dtypes() | hnp.byte_string_dtypes()
                  | hnp.unicode_string_dtypes(), hnp.array_shapes(max_dims=2)))
def test_arrays_of_any_dtype_are_refused_or_numbers(array):
    got = read(npz(tree=np.frombuffer(b'{"__array__": 0}', dtype=np.uint8), a0=array))
    assert (got is None) == (array.dtype.kind not in "biuf")


@pytest.mark.parametrize("depth", [100_000, 5_000])  # beyond what Python recurses into
def test_deeply_nested_structure_text_is_refused(depth):
    with pytest.raises(_wire.WireError):
        _wire.loads(npz(tree=np.frombuffer(b"[" * depth + b"]" * depth,
                                           dtype=np.uint8)))
