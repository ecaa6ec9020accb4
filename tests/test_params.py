"""Parameter specs: file (bytes) parameters from the CLI, bake files and the wire."""

from __future__ import annotations

import hashlib

import pytest

from gamegen.generators.params import Param, ParamError, parse_assignments, validate

UPLOAD = Param("exemplar", "bytes", None, "an image to imitate", lo=1, hi=4096, what="a PNG or JPEG image")


def test_bytes_param_reads_files_and_names_uploads_by_content(tmp_path):
    f = tmp_path / "rock.png"
    f.write_bytes(b"\x89PNG not really")
    got = parse_assignments([UPLOAD], [f"exemplar=@{f}"])
    assert got == {"exemplar": b"\x89PNG not really"}
    assert UPLOAD.text(got["exemplar"]) == "sha256:" + hashlib.sha256(b"\x89PNG not really").hexdigest()
    assert validate([UPLOAD], {}) == {"exemplar": None} and UPLOAD.text(None) == "none"


@pytest.mark.parametrize("value, words", [
    (b"", ["exemplar", "empty (0 bytes)", "1 byte to 4 KiB"]),
    (b"x" * 5000, ["exemplar", "5000 bytes", "4 KiB"]),
    ("text", ["exemplar", "bytes", "str"]),
])
def test_bytes_param_rejects_empty_oversized_and_non_bytes(value, words):
    with pytest.raises(ParamError) as ei:
        validate([UPLOAD], {"exemplar": value})
    assert ei.value.field == "exemplar"
    for w in words:
        assert w in str(ei.value), (w, str(ei.value))


def test_bytes_param_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ParamError) as ei:
        parse_assignments([UPLOAD], [f"exemplar=@{tmp_path / 'nope.png'}"])
    assert ei.value.field == "exemplar" and "cannot read file" in str(ei.value) and "nope.png" in str(ei.value)
