"""The dashboard in a real browser: an analyst signs in like a person and the chart draws its points.

Runs headless Debian Chromium through Playwright (never a browser Playwright downloads). Without
/usr/bin/chromium the test is skipped on a developer's machine, and fails in CI (CI=true), where
.ci/run installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.settings import Settings
from fx.market.imports import FileKind
from tests.policy_helpers import PASSWORD, import_shipped, make_analyst, serve_with_pilot, totp_now

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_chromium() -> None:
    if Path(CHROMIUM).exists() and shutil.which("chromium"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run must install Debian's chromium")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")


@pytest.fixture
async def dashboard_url(settings: Settings, engine: AsyncEngine) -> AsyncIterator[str]:
    await import_shipped(engine, FileKind.RPW_AVERAGES, FileKind.PROVIDER_LIST)
    async for base_url in serve_with_pilot(settings, engine):
        yield base_url


async def test_analyst_signs_in_and_sees_the_fee_trend(
    dashboard_url: str, engine: AsyncEngine, settings: Settings, tmp_path: Path
) -> None:
    _require_chromium()
    from playwright.async_api import async_playwright

    secret = await make_analyst(engine, settings, "ayla")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 1000})
            await page.goto(f"{dashboard_url}/policy")
            assert page.url.endswith("/policy/sign-in")  # not signed in: sent to the form

            await page.fill("#username", "ayla")
            await page.fill("#password", "not the password")
            await page.fill("#totp", totp_now(secret))
            await page.click("button[type=submit]")
            assert "wrong" in await page.inner_text("[role=alert]")

            await page.fill("#username", "ayla")
            await page.fill("#password", PASSWORD)
            await page.fill("#totp", totp_now(secret))  # a failed attempt does not spend the code
            await page.click("button[type=submit]")
            await page.wait_for_selector("svg.chart circle.point")
            assert page.url.endswith("/policy")

            market = page.locator('svg.chart circle.point[data-series="market"]')
            pilot = page.locator('svg.chart circle.point[data-series="pilot"]')
            assert await market.count() == 23  # RPW RUS-AZE, 2016_2Q to 2021_4Q
            assert await pilot.count() == 2  # the pilot's two quarters
            last = page.locator('circle.point[data-series="market"][data-period="2021_4Q"]')
            assert await last.get_attribute("data-value") == "1.765000"
            levels = await page.locator("svg.chart line.reference").evaluate_all(
                "lines => lines.map(line => line.dataset.level)"
            )
            assert levels == ["3", "5"]
            # The points really were laid out by the browser, inside the plot.
            box = await last.bounding_box()
            assert box is not None
            assert box["width"] > 0
            assert await page.locator("#corridor-table tbody tr").count() == 23
            await page.screenshot(path=str(tmp_path / "policy-dashboard.png"), full_page=True)

            # Another corridor, from the provider list: labelled illustrative.
            await page.select_option("#corridor", "TURAZE")
            await page.click("form[action='/policy'] button[type=submit]")
            await page.wait_for_selector('circle.point[data-series="market"]')
            assert "illustrative" in await page.inner_text("#corridor-table")

            cookies = await page.context.cookies()
            session = next(cookie for cookie in cookies if cookie["name"] == "korpu_staff")
            assert session["httpOnly"]
            assert session["sameSite"] == "Strict"
        finally:
            await browser.close()
    assert (tmp_path / "policy-dashboard.png").stat().st_size > 10_000
