"""RFC 9457 problem details for every error, each with a stable machine ``code``.

Domain errors raised by ``ledger``, ``fx``, ``compliance`` and the services follow one duck-typed
contract, so the libraries stay free of the web layer: the exception class has a ``code`` (stable,
snake_case) and a ``status`` (the HTTP status it maps to), and ``str(exc)`` is a human explanation
safe to show to the caller. Optional ``extra`` (a dict) is merged into the problem document.
Anything else becomes a 500 ``internal_error`` whose detail reveals nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from backend.i18n import translator_for
from backend.logs import request_id_var

__all__ = ["Problem", "exception_handlers", "problem_details_plugin"]

logger = logging.getLogger("korpu.errors")

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class Problem(ProblemDetailsException):
    """An HTTP error with a stable ``code``; raise it from controllers and services."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            detail=detail,
            status_code=status,
            headers=headers,
            extra={"code": code, **(extra or {})},
            type_=f"https://korpu.az/problems/{code}",
            title=title or code.replace("_", " ").capitalize(),
        )
        self.code = code


def _handle(request: Request[Any, Any, Any], exc: ProblemDetailsException) -> Response[Any]:
    exc.instance = request.url.path
    extra = dict(exc.extra) if isinstance(exc.extra, dict) else {}
    extra.setdefault("code", _CODES_BY_STATUS.get(exc.status_code, "error"))
    request_id = request_id_var.get()
    if request_id:
        extra["requestId"] = request_id
    exc.extra = extra
    if exc.type_ is None:
        exc.type_ = f"https://korpu.az/problems/{extra['code']}"
    # Titles and details that are catalog message ids come out in the caller's language.
    translator = translator_for(request.headers.get("accept-language"))
    if exc.title:
        exc.title = translator.gettext(exc.title)
    if exc.detail:
        exc.detail = translator.gettext(exc.detail)
    exc.headers = {**(exc.headers or {}), "Content-Language": translator.language}
    return exc.to_response(request)


def _from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    if isinstance(exc, ProblemDetailsException):
        return exc
    extra: dict[str, Any] = {"code": _CODES_BY_STATUS.get(exc.status_code, "error")}
    detail = exc.detail
    if isinstance(exc, ValidationException):
        extra["code"] = "validation_error"
        if exc.extra:
            extra["errors"] = exc.extra
        detail = detail or "The request is not valid."
    elif isinstance(exc.extra, dict):
        extra.update(exc.extra)
    return ProblemDetailsException(
        detail=detail,
        status_code=exc.status_code,
        headers=exc.headers,
        extra=extra,
        title=extra["code"].replace("_", " ").capitalize(),
        type_=f"https://korpu.az/problems/{extra['code']}",
    )


def _from_any_exception(exc: Exception) -> ProblemDetailsException:
    code = getattr(exc, "code", None)
    status = getattr(exc, "status", None)
    if isinstance(code, str) and isinstance(status, int):
        extra = getattr(exc, "extra", None)
        title = getattr(exc, "title", None)
        headers = getattr(exc, "headers", None)
        return Problem(
            status,
            code,
            str(exc),
            title=title if isinstance(title, str) else None,
            extra=extra if isinstance(extra, dict) else None,
            headers=headers if isinstance(headers, dict) and headers else None,
        )
    logger.error("unhandled error", exc_info=exc)
    return Problem(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "Something went wrong on our side.")


def problem_details_plugin() -> ProblemDetailsPlugin:
    """The plugin that renders :class:`ProblemDetailsException` (and :class:`Problem`)."""
    return ProblemDetailsPlugin(ProblemDetailsConfig(exception_handler=_handle))


def exception_handlers() -> ExceptionHandlersMap:
    """Handlers that turn every other exception into problem+json through :func:`_handle`."""

    def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
        return _handle(request, _from_http_exception(exc))

    def any_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        return _handle(request, _from_any_exception(exc))

    return {HTTPException: http_error, Exception: any_error}
