"""Failure behaviours an HTTP operator simulator can be switched into at run time (tests)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


@dataclass
class Faults:
    """`errors`: answer the next n requests 500; `throttled`: the next n 429 with Retry-After;
    `hold`: keep every answer back this many seconds (longer than a client's timeout)."""

    errors: int = 0
    throttled: int = 0
    retry_after: float = 1.0
    hold: float = 0.0

    async def intercept(self, request: Request) -> Response | None:
        if self.hold:
            await asyncio.sleep(self.hold)
        if self.errors > 0:
            self.errors -= 1
            return JSONResponse({"error": {"code": 500, "status": "INTERNAL"}}, status_code=500)
        if self.throttled > 0:
            self.throttled -= 1
            return JSONResponse(
                {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}},
                status_code=429,
                headers={"Retry-After": f"{self.retry_after:g}"},
            )
        return None
