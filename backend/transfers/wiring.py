"""Builds the transfer and wallet services for an app and connects them to the partner and
compliance capabilities (which call back into them)."""

from __future__ import annotations

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.backoffice.hooks import ComplianceHooks, hooks_of
from backend.group_commit import GroupCommit, GroupCommitConfig, Prefetch
from backend.metrics import GROUP_COMMIT_RERUNS, GROUP_COMMIT_UNITS
from backend.quotes import quote_service
from backend.settings import Settings
from backend.transfers.outcomes import PayoutOutcomes
from backend.transfers.party_screening import ScreenerParties
from backend.transfers.prefetch import CreationPrefetch
from backend.transfers.service import TransferService
from backend.transfers.wallet import WalletService
from compliance.monitoring import RuleCache
from compliance.privacy import BlindIndex, Sealer
from compliance.screening import Screener, derive_fingerprint_key

__all__ = ["install_transfer_services"]


def install_transfer_services(state: State, settings: Settings, engine: AsyncEngine) -> None:
    """Put ``screener``, ``monitoring_rules`` (the rules cache, which a saved rule invalidates),
    ``transfers``, ``wallets``, ``payout_outcomes`` and ``partner_group_commit`` on ``state`` and
    tell compliance where to send officers' decisions about transfers."""
    sealer = Sealer(settings.secrets.data_keys)
    personal = state.identity.personal_data
    screener = state.get("screener") or Screener(
        fingerprint_key=derive_fingerprint_key(settings.secrets.secret_key)
    )
    state["screener"] = screener
    rules = state.get("monitoring_rules") or RuleCache()
    state["monitoring_rules"] = rules
    transfers = TransferService(
        engine,
        personal=personal,
        sealer=sealer,
        blind_index=BlindIndex(settings.secrets.secret_key),
        quotes=quote_service(state),
        screen=ScreenerParties(screener),
        rules=rules,
        group_commit=_group_commit(
            settings, engine, "create", defer_inserts=True, prefetch=CreationPrefetch(personal)
        ),
    )
    wallets = WalletService(engine, personal=personal, sealer=sealer)
    state["transfers"] = transfers
    state["wallets"] = wallets
    state["payout_outcomes"] = PayoutOutcomes(transfers, wallets)
    # A payout's outcome runs code shared with other paths, not written for rows that stay unwritten
    # until the end of the batch: its rows are written as usual, only its ledger post waits.
    state["partner_group_commit"] = _group_commit(settings, engine, "payout_outcome", defer_inserts=False)
    hooks = hooks_of(state)
    state["compliance_hooks"] = ComplianceHooks(transfers=transfers, set_tier=hooks.set_tier)


def _group_commit(
    settings: Settings,
    engine: AsyncEngine,
    work: str,
    *,
    defer_inserts: bool,
    prefetch: Prefetch | None = None,
) -> GroupCommit | None:
    """Group commit on PostgreSQL (on SQLite writers queue on one lock anyway, and rows are not
    collected into one ``INSERT``)."""
    if engine.dialect.name != "postgresql" or settings.group_commit_batch < 2:
        return None
    return GroupCommit(
        engine,
        GroupCommitConfig(max_batch=settings.group_commit_batch, defer_inserts=defer_inserts),
        on_commit=GROUP_COMMIT_UNITS.labels(work=work).observe,
        on_rerun=GROUP_COMMIT_RERUNS.labels(work=work).inc,
        prefetch=prefetch,
    )
