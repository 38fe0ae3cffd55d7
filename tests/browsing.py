"""Debian's Chromium driven by Playwright, with no request allowed outside the app under test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launched() -> Iterator[object]:
    """One Chromium for the session; skips when Playwright or Debian's chromium is missing."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextmanager
def local_only(
    browser, url: str, width: int, height: int, locale: str = "fr-FR"
) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A browser context, in `locale`, that must make no request outside the app at `url`."""
    ctx = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    requests: list[str] = []
    ctx.on("request", lambda r: requests.append(r.url))
    yield ctx
    ctx.close()
    origin = url.rstrip("/")
    outside = [u for u in requests if not (u.startswith(origin + "/") or u == origin)]
    outside = [u for u in outside if not u.startswith(("data:", "blob:"))]
    assert outside == [], f"requests outside the local server: {outside}"


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """A full-page screenshot in artifacts/screenshots, for reviewing the chat by eye."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
