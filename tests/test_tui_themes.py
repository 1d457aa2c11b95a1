"""Themes: shipped palettes load and validate, user themes overlay them, the choice and NO_COLOR hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.filter import Monochrome

from de_agent import paths
from de_agent.config import Settings
from de_agent.tui import themes
from de_agent.tui.app import DeAgentApp
from de_agent.tui.widgets.chat import NoticeEntry
from tests.support.tui import StubHost, settle, wait_for

GOOD = 'dark = true\n[colors]\nprimary = "#112233"\nbackground = "#000000"\n'


def make_app(theme: str = "dark") -> DeAgentApp:
    return DeAgentApp(Settings(model="openai/test-model", theme=theme), Path("/tmp"), host=StubHost(),
                      cursor_blink=False)


def test_shipped_themes_load_and_become_textual_themes():
    found, problems = themes.discover()
    assert problems == []
    assert {"dark", "light", "high-contrast"} <= set(found)
    assert found["light"].dark is False and found["dark"].dark is True
    theme = themes.to_textual(found["high-contrast"])
    assert theme.name == "high-contrast" and theme.background == "#000000"
    assert "border: heavy" in found["high-contrast"].tcss


@pytest.mark.parametrize(("text", "complaint"), [
    ('dark = true\n[colors]\nprimary = "not-a-colour"\n', "colors.primary"),
    ('dark = true\n[colors]\nbackground = "#000000"\n', "at least 'primary'"),
    ('[colors]\nprimary = "#112233"\n', "'dark' must be true or false"),
    ('dark = true\nsparkle = 1\n[colors]\nprimary = "#112233"\n', "unknown key(s) sparkle"),
    ('dark = true\n[colors]\nprimary = "#112233"\nglow = "#FFFFFF"\n', "unknown colour(s) glow"),
    ('dark = true\n[colors]\nprimary = "#112233"\n[variables]\nborder = 3\n', "[variables]"),
    ("dark = tru\n", "dark.toml"),
])
def test_invalid_theme_files_are_skipped_with_a_reason(tmp_path, text, complaint):
    (tmp_path / "dark.toml").write_text(text)
    found, problems = themes.discover([tmp_path])
    assert found == {}
    assert len(problems) == 1 and complaint in problems[0] and "dark.toml" in problems[0]


def test_user_theme_folder_overlays_the_shipped_one():
    user = paths.user_themes_dir()
    user.mkdir(parents=True)
    (user / "dark.toml").write_text(GOOD)
    (user / "mine.toml").write_text(GOOD.replace("#112233", "#AA5500"))
    (user / "mine.tcss").write_text("#chat { border: double $primary; }\n")
    found, problems = themes.discover()
    assert problems == []
    assert found["dark"].colors["primary"] == "#112233"
    assert found["mine"].colors["primary"] == "#AA5500"
    assert themes.scoped_css(found["mine"]).startswith(".-theme-mine {")


def test_shipped_dir_prefers_the_packaged_copy(tmp_path):
    package = tmp_path / "de_agent"
    (package / "tui").mkdir(parents=True)
    (tmp_path / "themes").mkdir()
    assert themes.shipped_dir(package) == tmp_path / "themes"
    (package / "_themes").mkdir()
    assert themes.shipped_dir(package) == package / "_themes"


async def test_settings_choose_the_theme_and_its_tcss_applies_only_while_active():
    app = make_app("high-contrast")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.theme == "high-contrast"
        chat = app.query_one("#chat")
        assert chat.styles.border_top[0] == "heavy"
        app.theme = "dark"
        await settle(pilot)
        assert chat.styles.border_top[0] == "round"


async def test_user_theme_can_be_chosen_with_the_slash_command():
    user = paths.user_themes_dir()
    user.mkdir(parents=True)
    (user / "mine.toml").write_text(GOOD)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.status.session_id, what="session start")
        app.prompt.value = "/theme mine"
        await pilot.press("enter")
        await settle(pilot)
        assert app.theme == "mine"


async def test_unknown_theme_falls_back_to_dark_and_says_so():
    app = make_app("neon")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.theme == "dark"
        warnings = [w.text for w in app.chat.entries if isinstance(w, NoticeEntry) and w.level == "warning"]
        assert any("Unknown theme 'neon'" in w for w in warnings)


async def test_no_color_is_honoured(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.no_color
        assert any(isinstance(f, Monochrome) for f in app._filters)
