"""HTTP error mapping shared by the HTTP connectors (RBM, MaaP)."""

from __future__ import annotations

import httpx

from rcsgate.connectors.base import ConnectorError, ErrorClass
from rcsgate.kit.http import timed_out


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def raise_for_response(response: httpx.Response, *, not_found: ErrorClass) -> None:
    """Map an operator's non-2xx answer onto the connector error classes."""
    status = response.status_code
    if status < 400:
        return
    reason = f"HTTP {status}: {response.text[:200]}"
    if status == 429:
        raise ConnectorError(
            ErrorClass.THROTTLED, reason, retry_after=retry_after(response), status=status
        )
    if status >= 500 or status == 408:
        raise ConnectorError(ErrorClass.TRANSIENT, reason, status=status)
    if status == 404:
        raise ConnectorError(not_found, reason, status=status)
    raise ConnectorError(ErrorClass.REJECTED, reason, status=status)


async def request(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: object
) -> httpx.Response:
    """One request with transport failures mapped: timeouts to TIMEOUT, the rest TRANSIENT."""
    try:
        return await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    except httpx.TransportError as error:
        error_class = ErrorClass.TIMEOUT if timed_out(error) else ErrorClass.TRANSIENT
        raise ConnectorError(error_class, f"{method} {url}: {error!r}") from error
