"""The back office officers use: KYC review, alerts and cases, four-eyes releases, monitoring rules,
sanctions screening.

Every route is under ``/backoffice/v1`` and needs a staff session (see backend/staff). Compliance
decisions and views of personal data need the ``officer`` or ``senior_officer`` role itself:
``admin`` manages staff but neither sees documents nor decides cases.
"""

from backend.backoffice.cases import CasesController
from backend.backoffice.hooks import ComplianceHooks, HookNotWired
from backend.backoffice.kyc import KycReviewController
from backend.backoffice.monitoring import MonitoringRulesController, MonitoringStatsController
from backend.backoffice.screening import ScreeningController

__all__ = [
    "BACKOFFICE_CONTROLLERS",
    "CasesController",
    "ComplianceHooks",
    "HookNotWired",
    "KycReviewController",
    "MonitoringRulesController",
    "MonitoringStatsController",
    "ScreeningController",
]

BACKOFFICE_CONTROLLERS = (
    KycReviewController,
    CasesController,
    MonitoringRulesController,
    MonitoringStatsController,
    ScreeningController,
)
"""Register these in backend/app.py:route_handlers()."""
