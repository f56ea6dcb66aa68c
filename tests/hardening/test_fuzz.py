"""API fuzzing: schemathesis against the OpenAPI document, every operation, signed in where needed.

CI runs a sample (``KORPU_FUZZ_EXAMPLES`` examples per operation and mode, 8 by default, with a
fixed seed); the longer run is the same test with more examples, see docs/operations.md::

    KORPU_FUZZ_EXAMPLES=200 .venv/bin/python -m pytest tests/hardening/test_fuzz.py
"""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.hardening.fuzzing import Credentials, PartnerSigner, fuzz
from tests.hardening.world import World

EXAMPLES = int(os.environ.get("KORPU_FUZZ_EXAMPLES", "8"))


@pytest.mark.slow
async def test_every_operation_answers_in_its_documented_shapes(world: World, live_server: str) -> None:
    staff = await world.staff_factory("officer", "senior_officer", "policy_analyst", "operator")
    spare_staff = await world.staff_factory("officer")

    bank = world.partners["partner_a"]
    signer = PartnerSigner(bank.key_id, bank.secret)

    def credentials(path: str) -> Credentials:
        if path.startswith("/v1/auth/"):
            return Credentials(world.spare.headers)  # the fuzzer may lock this session's PIN or sign it out
        if path.startswith("/v1/"):
            return Credentials(world.sender.headers)
        if path == "/backoffice/v1/auth/logout":
            return Credentials(spare_staff)
        if path.startswith(("/backoffice/", "/policy/")):
            return Credentials(staff)
        if path.startswith("/partner/"):
            return Credentials(auth=signer)
        return Credentials()

    report = await asyncio.to_thread(
        fuzz,
        live_server,
        credentials,
        world.ids,
        max_examples=EXAMPLES,
        last=("/logout",),
    )
    summary = "\n".join(
        f"{label}: {dict(counter)} in {report.seconds[label]:.1f} s"
        for label, counter in report.statuses.items()
    )
    print(f"\n{report.requests} requests\n{summary}")
    assert not report.failures, "\n\n".join(report.failures)
    # The credentials worked: no operation refused every request as unauthenticated or forbidden.
    shut = [label for label, counter in report.statuses.items() if set(counter) <= {401, 403}]
    assert not shut, shut
