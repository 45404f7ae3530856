"""Cross-cutting guards around every HTTP request: security headers and body size limits.

Both are plain ASGI middleware so they cover every route, including those other modules add
later, without each route remembering them.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privacy_waybill.api.problems import problem_response

# Pages load scripts and styles from /static only; 'wasm-unsafe-eval' lets the vendored
# barcode decoder (WebAssembly) run; blob: and data: carry camera frames and chart images.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The Swagger UI page starts itself with one inline script.
DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self' 'wasm-unsafe-eval'", "script-src 'self' 'unsafe-inline'"
)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "geolocation=(), microphone=(), camera=(self)",
}
# API answers can carry personal data (reveals, labels, sessions): no cache may keep them.
NO_STORE = "no-store"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        policy = DOCS_CONTENT_SECURITY_POLICY if path.startswith("/docs") else CONTENT_SECURITY_POLICY
        api = path.startswith("/api/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control" or not api]
                headers += [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
                headers.append((b"content-security-policy", policy.encode()))
                if api or path.startswith("/t/"):
                    headers.append((b"cache-control", NO_STORE.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyTooLarge(HTTPException):
    """Raised while reading a body over its route's limit; an HTTPException so FastAPI's body
    parsing passes it through instead of turning it into a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is over the limit of {limit} bytes for this route.")
        self.limit = limit


DEFAULT_BODY_LIMIT = 64 * 1024


class BodySizeLimits:
    """Refuses bodies over a per-route limit with 413, before or while they are read.

    `limits` maps path prefixes (longest match wins) to byte limits; other requests get
    `default`. A declared Content-Length over the limit is refused before any byte is read;
    a chunked body is counted as it arrives, so nothing over the limit is ever parsed.
    """

    def __init__(self, app: ASGIApp, limits: Mapping[str, int], default: int = DEFAULT_BODY_LIMIT) -> None:
        self.app = app
        self.limits = sorted(limits.items(), key=lambda item: len(item[0]), reverse=True)
        self.default = default

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self.limits if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and not declared.isdigit():
            not_a_number = problem_response(400, "Bad request", "The Content-Length header is not a number.")
            await not_a_number(scope, receive, send)
            return
        if declared is not None and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


def _too_large(limit: int) -> JSONResponse:
    return problem_response(413, "Request body too large", f"The request body is over the limit of {limit} bytes.")
