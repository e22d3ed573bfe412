"""Every failure is problem+json naming the field; never a 500, never a trace."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.test_gate import assert_problem


async def test_malformed_json_is_400(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v3/brands", content=b'{"displayName": ', headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "malformed-json")


async def test_wrong_types_list_every_field_as_a_json_pointer(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v3/brands/none/agents",
        json={
            "displayName": 42,
            "color": "red",
            "phone": "12",
            "logoUrl": "http://x.example/a.png",
        },
    )
    # The brand does not exist, but validation comes first and names every field.
    assert_problem(response, 400, "validation")
    fields = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert set(fields) == {"/displayName", "/color", "/phone", "/logoUrl"}
    assert "https" in fields["/logoUrl"]


async def test_missing_required_field_is_named(api: httpx.AsyncClient) -> None:
    response = await api.post("/v3/brands", json={"website": "https://x.example"})
    assert_problem(response, 400, "validation")
    assert response.json()["errors"] == [{"field": "/displayName", "message": "is required"}]


async def test_a_body_that_is_not_an_object_is_400(api: httpx.AsyncClient) -> None:
    response = await api.post("/v3/brands", json=["displayName"])
    assert_problem(response, 400, "validation")


async def test_unknown_fields_are_ignored(api: httpx.AsyncClient) -> None:
    response = await api.post("/v3/brands", json={"displayName": "Shop", "colour": "blue"})
    assert response.status_code == 201


async def test_unknown_path_is_404(api: httpx.AsyncClient) -> None:
    assert_problem(await api.get("/v3/nothing-here"), 404, "not-found")


async def test_unknown_path_outside_v3_is_404_problem(api: httpx.AsyncClient) -> None:
    assert_problem(await api.get("/nothing-here"), 404, "not-found")


async def test_wrong_method_is_405_with_allow(api: httpx.AsyncClient) -> None:
    response = await api.put("/v3/account", json={})
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET"


async def test_body_over_the_cap_is_413(api: httpx.AsyncClient) -> None:
    # The test settings cap bodies at 4096 bytes.
    response = await api.post("/v3/brands", json={"displayName": "x" * 5000})
    assert_problem(response, 413, "payload-too-large")


async def test_streamed_body_over_the_cap_is_413(api: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"x" * 1000

    response = await api.post(
        "/v3/brands", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413, "payload-too-large")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_body_that_is_not_json_is_415(
    api: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await api.post("/v3/brands", content=b'{"displayName": "X"}', headers=headers)
    assert_problem(response, 415, "unsupported-media-type")


async def test_json_with_charset_is_accepted(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v3/brands",
        content=b'{"displayName": "X"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


async def test_unexpected_failure_is_a_problem_without_a_trace(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    @app.get("/v3/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    response = await api.get("/v3/boom")
    assert_problem(response, 500, "internal")
    assert "secret" not in response.text
    assert "Traceback" not in response.text
