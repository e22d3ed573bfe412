"""Page arithmetic and the Link header, without a database."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.datastructures import URL

from rcsgate.kit.pagination import Order, PageParams, link_header, page_starts


@pytest.mark.parametrize(
    ("start", "limit", "total", "expected"),
    [
        (0, 50, 0, {"self": 0, "first": 0, "last": 0}),
        (0, 10, 30, {"self": 0, "first": 0, "next": 10, "last": 20}),
        (20, 10, 30, {"self": 20, "first": 0, "prev": 10, "last": 20}),
        (10, 10, 25, {"self": 10, "first": 0, "prev": 0, "next": 20, "last": 20}),
        (3, 10, 25, {"self": 3, "first": 0, "prev": 0, "next": 13, "last": 23}),
        (100, 10, 25, {"self": 100, "first": 0, "prev": 20, "last": 20}),
        (5, 10, 5, {"self": 5, "first": 0, "prev": 0, "last": 0}),
    ],
)
def test_page_starts(start: int, limit: int, total: int, expected: dict[str, int]) -> None:
    assert page_starts(PageParams(start, limit), total) == expected


def test_link_header_keeps_filters_and_sets_paging() -> None:
    url = URL("https://api.example/v3/bundles?tag=a&tag=b&start=10&limit=10&order=desc")
    header = link_header(url, PageParams(10, 10, Order.DESC), 35)

    links = dict(_parse(header))
    assert set(links) == {"self", "first", "prev", "next", "last"}
    for rel, start in (
        ("self", "10"),
        ("first", "0"),
        ("prev", "0"),
        ("next", "20"),
        ("last", "30"),
    ):
        parts = urlsplit(links[rel])
        query = parse_qs(parts.query)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", "api.example", "/v3/bundles")
        assert query == {"tag": ["a", "b"], "start": [start], "limit": ["10"], "order": ["DESC"]}


def _parse(header: str) -> list[tuple[str, str]]:
    pairs = []
    for part in header.split(", <"):
        target, rel = part.split(">; rel=")
        pairs.append((rel.strip('"'), target.lstrip("<")))
    return pairs
