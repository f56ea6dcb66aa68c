"""The app factory: the one place that knows every part of Körpü.

``create_app`` wires settings, the database engine, OpenAPI, problem details, request ids and the
routers of every capability into one Litestar application.
"""

from __future__ import annotations

from collections.abc import Sequence

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.plugins.pydantic import PydanticPlugin
from litestar.types import ControllerRouterHandler
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.backoffice import BACKOFFICE_CONTROLLERS, ComplianceHooks
from backend.db import create_engine
from backend.health import HealthController
from backend.identity.container import build_identity
from backend.identity.dev_inbox import DevSmsController, dev_inbox_enabled
from backend.identity.guards import CustomerAuthMiddleware, identity_dependencies
from backend.input_guard import NulCharacterMiddleware
from backend.kyc import KycService, identity_set_tier
from backend.logs import configure_logging
from backend.metrics import MetricsController, prometheus_config
from backend.middleware import RequestIdMiddleware
from backend.openapi import document_problems
from backend.policy.api import PolicyApiController
from backend.policy.dashboard import PolicyDashboardController
from backend.policy.our_price_fx import QuoteEngineOurPrice
from backend.problems import exception_handlers, problem_details_plugin
from backend.profiling import install_signal_profiler
from backend.quotes import quote_service
from backend.screening import build_screener, load_screening_lists, screening_refresher
from backend.settings import Settings, get_settings
from backend.staff.controllers import StaffAuthController
from backend.staff.guards import staff_dependencies
from backend.stores import store_registry
from backend.transfers.pilot_costs import TransferPilotCosts
from backend.transfers.wiring import install_transfer_services
from mobile_api.auth import AuthController
from mobile_api.compare import CompareController
from mobile_api.kyc import KycController
from mobile_api.me import MeController
from mobile_api.quotes import QuotesController
from mobile_api.recipients import RecipientsController
from mobile_api.transfers import TransfersController
from mobile_api.wallet import WalletController

__all__ = ["create_app"]

API_DESCRIPTION = """Körpü remittance pilot API.

* `/v1/...` for the mobile app, `/partner/v1/...` for partner banks,
  `/backoffice/v1/...` for staff, `/policy/v1/...` for the policy team.
* Amounts are decimal strings with an ISO 4217 currency code.
* Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code`.
"""


def route_handlers(settings: Settings) -> Sequence[ControllerRouterHandler]:
    """Every router of the service; capabilities add theirs here."""
    import backend.outbox.metrics  # noqa: F401  (registers the outbox lag gauge's scrape hook)
    from backend.partners.api import partner_router
    from backend.partners.backoffice import PartnerBackofficeController

    handlers: list[ControllerRouterHandler] = [
        HealthController,
        MetricsController,
        StaffAuthController,
        *BACKOFFICE_CONTROLLERS,
        AuthController,
        MeController,
        KycController,
        RecipientsController,
        QuotesController,
        TransfersController,
        WalletController,
        partner_router(),
        PartnerBackofficeController,
    ]
    if dev_inbox_enabled(settings):
        handlers.append(DevSmsController)
    handlers += [PolicyApiController, PolicyDashboardController, CompareController]
    return handlers


async def _profile_on_signal(app: Litestar) -> None:
    """With ``KORPU_PROFILE_DIR`` set, profile this process between SIGUSR1 and SIGUSR2."""
    settings: Settings = app.state.settings
    if settings.profile_dir is not None:
        app.state.profiler = install_signal_profiler(settings.profile_dir)


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> Litestar:
    """Build the application; ``engine`` may be passed in by tests that own it."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    owns_engine = engine is None
    # No overflow: a request past the pool waits for a connection (up to 30 s) rather than opening
    # one for a moment and closing it again. Under load that churn cost a new PostgreSQL backend,
    # a refused TLS attempt and asyncpg's type introspection every few requests, and every statement
    # prepared afresh on the new connection (docs/performance.md). No request holds two
    # connections at once (tests/test_one_connection.py), so waiting cannot deadlock.
    engine = engine or create_engine(settings.database_url, pool_size=settings.db_pool_size, max_overflow=0)
    stores = store_registry(settings)
    state = State(
        {"settings": settings, "engine": engine, "identity": build_identity(settings, engine, stores)}
    )

    state["our_price_source"] = QuoteEngineOurPrice(quote_service(state))
    state["screener"] = build_screener(settings)
    state["kyc"] = KycService.for_state(state)
    # KYC approvals change identity's tier; install_transfer_services keeps this set_tier and adds
    # transfers= (a hook not wired answers 503 compliance_hook_not_wired).
    state["compliance_hooks"] = ComplianceHooks(set_tier=identity_set_tier)
    install_transfer_services(state, settings, engine)
    state["pilot_costs"] = TransferPilotCosts()

    async def dispose_engine(app: Litestar) -> None:
        if owns_engine:
            await app.state.engine.dispose()

    app = Litestar(
        route_handlers=list(route_handlers(settings)),
        state=state,
        openapi_config=OpenAPIConfig(
            title="Körpü",
            version="1.0.0",
            description=API_DESCRIPTION,
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(path="/"), JsonRenderPlugin(path="/openapi.json")],
        ),
        # prefer_alias: replies and the OpenAPI document use the camelCase aliases of the models.
        plugins=[problem_details_plugin(), PydanticPlugin(prefer_alias=True)],
        exception_handlers=exception_handlers(),
        stores=stores,
        # Every /v1 route needs a signed-in customer unless its opt says otherwise (backend.identity.guards).
        middleware=[prometheus_config().middleware, CustomerAuthMiddleware, NulCharacterMiddleware],
        dependencies={**staff_dependencies, **identity_dependencies()},
        on_startup=[load_screening_lists, _profile_on_signal],
        lifespan=[screening_refresher],
        on_shutdown=[dispose_engine],
        debug=False,
        logging_config=None,  # backend.logs owns logging: one JSON line per record
    )
    document_problems(app)
    # Outermost, around Litestar's own router, so that unrouted requests (404, 405) carry an id too.
    app.asgi_handler = RequestIdMiddleware(app.asgi_handler)
    return app
