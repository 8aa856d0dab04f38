"""The file format between the student's kernel and the grader is safe to read."""

import io
import pickle

import numpy as np
import pytest

from course_utils.checks import _wire


def test_round_trip_keeps_values_and_types():
    value = {
        "a": [1, 2.5, None, True, "text"],
        "b": np.arange(6, dtype=np.float32).reshape(2, 3),
        "c": {"nested": [np.array([1, 2], dtype=np.int64)]},
        "d": np.float64(0.25),
    }
    back = _wire.loads(_wire.dumps(value))
    assert back["a"] == [1, 2.5, None, True, "text"]
    assert back["b"].dtype == np.float32 and back["b"].tolist() == value["b"].tolist()
    assert back["c"]["nested"][0].tolist() == [1, 2]
    assert type(back["d"]) is float and back["d"] == 0.25


@pytest.mark.parametrize(
    "bad",
    [object(), np.array(["x"], dtype=object), {1: 2}, {"__array__": 0}, b"bytes"],
)
def test_only_plain_values_can_be_written(bad):
    with pytest.raises(_wire.WireError):
        _wire.dumps(bad)


class Boom:
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_pickles_are_never_loaded(capsys):
    buf = io.BytesIO()
    np.savez(buf, tree=np.frombuffer(b'{"__array__": 0}', dtype=np.uint8),
             a0=np.array([Boom()], dtype=object))
    with pytest.raises(_wire.WireError):
        _wire.loads(buf.getvalue())
    assert "unpickled" not in capsys.readouterr().out
    with pytest.raises(_wire.WireError):
        _wire.loads(pickle.dumps({"results": []}))


def test_malformed_and_oversized_data_is_refused(tmp_path):
    with pytest.raises(_wire.WireError):
        _wire.loads(b"not a zip file")
    big = _wire.dumps(np.zeros(1000))
    with pytest.raises(_wire.WireError, match="bytes"):
        _wire.loads(big, max_bytes=100)
    # a tree pointing at an array that is not there
    buf = io.BytesIO()
    np.savez(buf, tree=np.frombuffer(b'{"__array__": 3}', dtype=np.uint8))
    with pytest.raises(_wire.WireError, match="missing"):
        _wire.loads(buf.getvalue())


def test_links_are_not_followed(tmp_path):
    target = tmp_path / "real"
    _wire.save(target, [1, 2])
    link = tmp_path / "link"
    link.symlink_to(target)
    assert _wire.load(target) == [1, 2]
    with pytest.raises(_wire.WireError, match="plain file"):
        _wire.load(link)
