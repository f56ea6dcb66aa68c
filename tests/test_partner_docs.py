"""docs/partners.md is what an integrator copies: its worked signature examples are recomputed here
from the code, and every endpoint it names exists in the OpenAPI document."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from httpx import AsyncClient

from backend.outbox.worker import WorkerConfig, backoff_delay
from backend.partners.signing import request_signature, signing_string, verify_webhook, webhook_signature

DOC = (Path(__file__).resolve().parent.parent / "docs" / "partners.md").read_text()


def example(name: str) -> dict[str, str]:
    block = re.search(rf"<!-- example:{name} -->\n```\n(.*?)```\n<!-- /example -->", DOC, re.S)
    assert block is not None, f"docs/partners.md has no example {name}"
    return {
        key.strip(): value.strip()
        for key, _, value in (line.partition(":") for line in block[1].splitlines())
    }


def test_the_request_signature_example_is_what_the_code_computes() -> None:
    e = example("request-signature")
    body = e["body"].encode()
    assert hashlib.sha256(body).hexdigest() == e["body sha256"]
    assert signing_string(int(e["t"]), e["n"], e["method"], e["target"], body) == e["signing string"]
    assert request_signature(e["secret"], int(e["t"]), e["n"], e["method"], e["target"], body) == e["v1"]
    header = f"Korpu-Signature: t={e['t']},n={e['n']},v1={e['v1']}"
    assert header in DOC  # the request shown on the page carries the computed header


def test_the_webhook_example_verifies_like_a_receiver_would() -> None:
    e = example("webhook-signature")
    body = e["body"].encode()
    assert webhook_signature(e["secret"], e["webhook-id"], int(e["timestamp"]), body) == e["signature"]
    headers = {
        "webhook-id": e["webhook-id"],
        "webhook-timestamp": e["timestamp"],
        "webhook-signature": e["signature"],
    }
    assert verify_webhook(e["secret"], headers, body, now=int(e["timestamp"]) + 60) == e["webhook-id"]


def test_the_retry_schedule_on_the_page_is_the_workers() -> None:
    config = WorkerConfig()
    assert "24 attempts" in DOC
    assert config.max_attempts == 24
    longest = sum(backoff_delay(n, config, _Fixed(1.0)) for n in range(1, config.max_attempts))
    shortest = sum(backoff_delay(n, config, _Fixed(0.0)) for n in range(1, config.max_attempts))
    assert shortest >= 6 * 3600 and longest <= 13.2 * 3600  # "spans 6 to 13 hours"


class _Fixed:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


async def test_every_partner_endpoint_on_the_page_exists(http: AsyncClient) -> None:
    paths = (await http.get("/schema/openapi.json")).json()["paths"]
    path = r"(/partner/v1/(?:[^`?\s{]|\{[^}]*\})+)"
    documented = set(re.findall(rf"`(?:GET|POST) {path}", DOC))
    documented |= {p for p in re.findall(rf"^(?:GET|POST) {path}", DOC, re.M) if "{" in p}
    assert len(documented) >= 8
    templates = {re.sub(r"\{[^}]+\}", "{}", p) for p in paths}
    missing = [p for p in documented if re.sub(r"\{[^}]+\}", "{}", p) not in templates]
    assert missing == []
