"""Fixtures of the console's tests: the console as a process, headless Chromium, screenshots.

Chromium is Debian's (``/usr/bin/chromium``), installed by ``stack.py provision browser`` when
missing; Playwright's own browser downloads are never used.
"""

import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from tandem_chassis.testing import Platform, ServiceProcess

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "deploy" / "local" / "stack.py"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
# The background-networking flags matter on a closed network: without them Chromium keeps
# trying to reach Google's update and sync endpoints.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def start_console(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """``await start_console(env).wait_ready()``; every console started is stopped afterwards."""
    started: list[ServiceProcess] = []

    def start(env: dict[str, str]) -> ServiceProcess:
        console = ServiceProcess("console", env, tmp_path)
        console.start()
        started.append(console)
        return console

    yield start
    for console in started:
        console.stop()


@pytest.fixture
async def console_on(
    platform: Platform, isolated_settings: dict[str, str], start_console: Callable[..., ServiceProcess]
) -> ServiceProcess:
    """The console in dev mode against this test's platform (same topics, groups and secret)."""
    env = isolated_settings | {
        f"TANDEM_{name.upper()}_URL": service.url for name, service in platform.services.items()
    }
    console = start_console(env)
    await console.wait_ready(timeout_s=180)
    return console


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Debian's chromium; installed with apt-get by the local stack when missing."""
    done = subprocess.run(
        [sys.executable, str(STACK), "provision", "browser"], capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0 or not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}:\n{done.stdout}\n{done.stderr}", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium_executable: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def new_context(browser: Browser) -> AsyncIterator[Callable[[], Awaitable[BrowserContext]]]:
    """``await new_context()``: a fresh browser profile (own cookies) at laptop size; closed after."""
    opened: list[BrowserContext] = []

    async def open_one() -> BrowserContext:
        context = await browser.new_context(viewport=LAPTOP, locale="en-GB")
        opened.append(context)
        return context

    yield open_one
    for context in opened:
        await context.close()


@pytest.fixture
def shoot() -> Callable[..., object]:
    """``await shoot(page, "name")``: a full-page PNG under console/tests/artifacts/, every run."""
    ARTIFACTS.mkdir(exist_ok=True)

    async def take(page: Page, name: str, *, phone: bool = False) -> Path:
        path = ARTIFACTS / f"{name}{'-phone' if phone else ''}.png"
        if phone:
            await page.set_viewport_size(PHONE)
        await page.screenshot(path=str(path), full_page=True)
        if phone:
            await page.set_viewport_size(LAPTOP)
        return path

    return take
