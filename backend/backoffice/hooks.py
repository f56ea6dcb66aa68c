"""What the back office needs from other capabilities: telling a transfer about an officer's
decision, and changing a customer's KYC tier on approval.

The app factory puts a :class:`ComplianceHooks` in ``app.state.compliance_hooks``. Until it does,
every decision that needs a hook fails loudly (503 ``compliance_hook_not_wired``) and changes
nothing, rather than losing a release or a tier change silently. The hooks are attributes that may
be set after the app is built (``app.state.compliance_hooks.transfers = sink``), so a capability can
be wired in later; until then its decisions keep answering 503.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncConnection

from compliance.cases import TransferDecisionSink
from compliance.kyc_review import SetTier

__all__ = ["ComplianceHooks", "HookNotWired", "hooks_of"]


class HookNotWired(Exception):
    """The service was started without the hook this decision needs."""

    code = "compliance_hook_not_wired"
    status = 503


class _UnwiredSink:
    async def on_release(self, conn: AsyncConnection, transfer_ref: str) -> None:
        raise HookNotWired("transfers are not wired to compliance decisions yet")

    async def on_hold(self, conn: AsyncConnection, transfer_ref: str) -> None:
        raise HookNotWired("transfers are not wired to compliance decisions yet")

    async def on_block(self, conn: AsyncConnection, transfer_ref: str) -> None:
        raise HookNotWired("transfers are not wired to compliance decisions yet")


async def _unwired_set_tier(conn: AsyncConnection, customer_ref: str, tier: int) -> None:
    raise HookNotWired("customer tiers are not wired to KYC review yet")


@dataclass(slots=True)
class ComplianceHooks:
    """Callbacks into the transfer flow and the identity capability."""

    transfers: TransferDecisionSink = field(default_factory=_UnwiredSink)
    """Told when an officer releases, holds or blocks a transfer (same transaction)."""
    set_tier: SetTier = _unwired_set_tier
    """Changes a customer's KYC tier when an officer approves a submission (same transaction)."""


def hooks_of(state: State) -> ComplianceHooks:
    hooks = state.get("compliance_hooks")
    return hooks if isinstance(hooks, ComplianceHooks) else ComplianceHooks()
