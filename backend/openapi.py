"""The OpenAPI document says what the API really answers on errors: RFC 9457 problem+json.

Litestar documents a validation error as ``application/json`` with its own exception shape, while
:mod:`backend.problems` answers every error as ``application/problem+json`` with a ``code``. After
the app is built, :func:`document_problems` declares on every documented operation a ``400`` and a
``default`` response carrying :class:`ProblemDocument`, so that clients (and the API fuzzer in
tests/hardening) read and check the errors the service actually sends.
"""

from __future__ import annotations

from typing import Any, cast

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PROBLEM_MEDIA_TYPE", "ProblemDocument", "document_problems"]

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemDocument(BaseModel):
    """An RFC 9457 problem document; other members may follow (e.g. ``errors``, ``retryAfter``)."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="A URI naming the kind of problem.")
    title: str = Field(description="A short human summary, in the caller's language.")
    status: int = Field(ge=400, le=599, description="The HTTP status code.")
    detail: str | None = Field(default=None, description="What went wrong this time, for a human.")
    instance: str | None = Field(default=None, description="The path of the request.")
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Stable machine code, e.g. `quote_expired`.")
    requestId: str | None = Field(default=None, description="The X-Request-ID of the request, for support.")


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=ProblemDocument,
        media_type=PROBLEM_MEDIA_TYPE,
        description=description,
        generate_examples=False,
    )


# "default" is OpenAPI's response for every status an operation does not list; Litestar passes
# the key through as text although its annotation says int.
_PROBLEM_RESPONSES = cast(
    "dict[int, ResponseSpec]",
    {
        400: _problem("The request is not valid (`validation_error` lists the fields in `errors`)."),
        "default": _problem("Any other error, as a problem document with a stable `code`."),
    },
)


def document_problems(app: Litestar) -> None:
    """Declare problem+json error responses on every documented HTTP operation of ``app``.

    Call it before the OpenAPI document is first built (Litestar builds it on first request).
    A handler's own ``responses`` win over these.
    """
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if isinstance(handler, HTTPRouteHandler) and handler.resolve_include_in_schema():
                own: dict[Any, ResponseSpec] = dict(handler.responses or {})
                handler.responses = {**_PROBLEM_RESPONSES, **own}
