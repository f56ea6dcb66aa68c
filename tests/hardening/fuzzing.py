"""Schemathesis over real HTTP: every operation of the OpenAPI document, with credentials.

:func:`fuzz` loads ``/schema/openapi.json`` from a running server and, for each operation, lets
Hypothesis draw requests from schemathesis's strategies: valid ones (positive) and invalid ones
(negative); valid ones once with generated path parameters and once with the ids of real objects,
so that the handlers' deeper paths run. Every answer is checked:

* no 5xx;
* every 4xx/5xx is ``application/problem+json`` whose ``code`` is a snake_case string;
* the status and content type are documented and the body matches the documented schema;
* invalid input is refused with a 4xx (negative mode).

It is synchronous (``requests`` under schemathesis): run it in a thread beside the event loop that
serves the app. It returns the failures, one text per operation and mode, instead of stopping at
the first, so one run lists every bug.
"""

from __future__ import annotations

import itertools
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)

from backend.partners.signing import request_signature_header

__all__ = ["Credentials", "FuzzReport", "PartnerSigner", "fuzz", "problem_json"]

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_client_numbers = itertools.count(1)


def problem_json(ctx: Any, response: Response, case: Case) -> bool | None:
    """A schemathesis check: every error answer is RFC 9457 problem+json with a stable ``code``."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), (
        f"{response.status_code} answered as {content_type!r}, not application/problem+json"
    )
    body = response.json()
    assert isinstance(body, dict), f"problem document is not an object: {body!r}"
    assert isinstance(body.get("code"), str) and _CODE.match(body["code"]), f"no snake_case code in {body!r}"
    assert body.get("status") == response.status_code, (
        f"status {body.get('status')} in a {response.status_code}"
    )
    return None


class PartnerSigner(requests.auth.AuthBase):
    """Signs a ``requests`` request as a partner bank does (see backend/partners/signing.py)."""

    def __init__(self, key_id: str, secret: str) -> None:
        self.key_id = key_id
        self.secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else body
        request.headers["Korpu-Key"] = self.key_id
        request.headers["Korpu-Signature"] = request_signature_header(
            self.secret, int(time.time()), request.method or "GET", request.path_url, raw
        )
        return request


@dataclass(frozen=True)
class Credentials:
    """What a caller sends: headers, and a request signer for partners."""

    headers: Mapping[str, str] = field(default_factory=dict)
    auth: requests.auth.AuthBase | None = None


def _client_address() -> str:
    """A distinct client address per request (in the 198.18.0.0/15 benchmarking range, never dialled):
    the per-address rate limits of the sign-in endpoints would otherwise answer 429 to most of the run."""
    n = next(_client_numbers)
    return f"198.18.{n // 256 % 256}.{n % 256}"


@dataclass
class FuzzReport:
    """What a run did and what it found."""

    failures: list[str] = field(default_factory=list)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    """Operation label -> how often each status came back (shows how deep the run got)."""
    seconds: Counter[str] = field(default_factory=Counter)
    """Operation label -> time spent on it."""

    @property
    def requests(self) -> int:
        return sum(sum(counter.values()) for counter in self.statuses.values())


def fuzz(
    base_url: str,
    credentials: Callable[[str], Credentials],
    known_ids: Mapping[str, str],
    *,
    max_examples: int,
    last: tuple[str, ...] = (),
) -> FuzzReport:
    """Fuzz every operation of the server at ``base_url``.

    ``credentials(path)`` gives what to send for an operation's path; ``known_ids`` maps path
    parameter names to ids of real objects; operations whose path ends with one of ``last`` run
    after all others (signing out spends a session).
    """
    schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")
    report = FuzzReport()
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda operation: operation.path.endswith(last) if last else False)
    for operation in operations:
        caller = credentials(operation.path)
        names = [parameter.name for parameter in operation.path_parameters]
        fixed = {name: known_ids[name] for name in names if name in known_ids}
        variants: list[dict[str, str] | None] = [None] + ([fixed] if fixed else [])
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # Invalid input is refused before any id is looked up: known ids add nothing there.
            for path_parameters in variants if mode is GenerationMode.POSITIVE else [None]:
                label = f"{operation.label} [{mode.value}{', known ids' if path_parameters else ''}]"
                started = time.perf_counter()
                failure = _run(operation, mode, path_parameters, base_url, caller, max_examples, report)
                report.seconds[operation.label] += time.perf_counter() - started
                if failure:
                    report.failures.append(f"{label}: {failure}")
    return report


def _run(
    operation: Any,
    mode: GenerationMode,
    path_parameters: dict[str, str] | None,
    base_url: str,
    caller: Credentials,
    max_examples: int,
    report: FuzzReport,
) -> str | None:
    checks = [not_a_server_error, content_type_conformance, response_schema_conformance]
    if mode is GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)
    statuses = report.statuses.setdefault(operation.label, Counter())

    @settings(
        max_examples=max_examples,
        derandomize=True,  # the same requests on every run: a CI failure reproduces on a laptop
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def run(case: Case) -> None:
        request_headers = {**caller.headers, "X-Forwarded-For": _client_address()}
        response = case.call(base_url=base_url, headers=request_headers, timeout=30, auth=caller.auth)
        statuses[response.status_code] += 1
        case.validate_response(
            response, checks=checks, additional_checks=[problem_json], headers=request_headers
        )

    try:
        run()
    except Unsatisfiable:
        return None  # nothing to generate (negative data for an operation that takes no input)
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis reports failures as a group
        return str(exc)[:4000]
    return None
