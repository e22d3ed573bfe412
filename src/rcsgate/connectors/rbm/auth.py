"""OAuth2 service-account tokens for RBM through google-auth.

google-auth signs the JWT assertion and parses the token answer; it wants a synchronous
`google.auth.transport.Request`, so a small adapter over a synchronous httpx client is given to
it and the refresh (once an hour) runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx
from google.auth import exceptions as auth_exceptions
from google.auth import transport
from google.oauth2 import service_account

from rcsgate.connectors.base import ConnectorError, ErrorClass

RBM_SCOPE = "https://www.googleapis.com/auth/rcsbusinessmessaging"


class _Response(transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class _Request(transport.Request):
    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        try:
            response = self._client.request(
                method, url, content=body, headers=headers, timeout=timeout or 10.0
            )
        except httpx.HTTPError as error:
            raise auth_exceptions.TransportError(str(error)) from error  # type: ignore[no-untyped-call]
        return _Response(response)


class TokenSource:
    """Access tokens for one service account, refreshed shortly before they expire."""

    def __init__(
        self, info: Mapping[str, Any], *, token_uri: str | None = None, verify: bool = True
    ) -> None:
        info = dict(info)
        if token_uri:
            info["token_uri"] = token_uri
        self._credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=[RBM_SCOPE]
        )
        self._http = httpx.Client(verify=verify)
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if not self._credentials.valid:
                await asyncio.to_thread(self._refresh)
            return str(self._credentials.token)

    def forget(self) -> None:
        """Drop the current token (the API refused it); the next call gets a new one."""
        self._credentials.token = None

    def _refresh(self) -> None:
        try:
            self._credentials.refresh(_Request(self._http))
        except auth_exceptions.GoogleAuthError as error:
            raise ConnectorError(ErrorClass.TRANSIENT, f"token refresh failed: {error}") from error

    def close(self) -> None:
        self._http.close()
