from __future__ import annotations

import json

import pytest

from rcsgate.kit.nesting import nested_deeper_than


def nest(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"{}", 1),
        (b'"[[[[["', 0),
        (b"12", 0),
        (json.dumps({"a": [{"b": [1, 2, {"c": "]]]}"}]}, [], {}]}).encode(), 5),
        (json.dumps(['\\"[[[', [[["x"]]]]).encode(), 4),
        (b"[" + b"[]," * 10_000 + b"[]]", 2),
        (b'{"a": {"b": {"c": [[[]]]}}}', 6),
        (nest(64), 64),
    ],
)
def test_depth_is_found_exactly(text: bytes, depth: int) -> None:
    assert not nested_deeper_than(text, depth)
    if depth > 0:
        assert nested_deeper_than(text, depth - 1)


def test_a_hundred_thousand_levels_are_refused() -> None:
    assert nested_deeper_than(nest(100_000), 64)


def test_unbalanced_text_deeper_than_the_cap_is_refused() -> None:
    assert nested_deeper_than(b"[" * 65, 64)
    assert not nested_deeper_than(b"[[", 64)  # shallow: left to the parser
