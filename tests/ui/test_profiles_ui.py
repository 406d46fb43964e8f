"""Profiles in the app: save, overwrite with confirmation, reopen after a restart, rename, delete."""

from __future__ import annotations

import tomllib

from textual.widgets import Input
from ui_helpers import WIDE, main_screen, wait_until

from gpufit.persist.profiles import ProfileStore, profiles_dir
from gpufit.ui.pilot import settle
from gpufit.ui.screens.profiles import Confirm, NamePrompt, ProfilesScreen, SavePrompt


async def save_as(pilot, name: str) -> None:
    await pilot.press("s")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, SavePrompt))
    box = pilot.app.screen.query_one("#name", Input)
    box.value = name
    await pilot.press("enter")
    await settle(pilot)


async def test_save_quit_reopen_load(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        await pilot.press("2", "j", "j", "right_square_bracket", "plus")
        await settle(pilot)
        wanted = (screen.model_id, screen.context_tokens, screen.gpu_count)
        await save_as(pilot, "big box")
        assert not isinstance(app.screen, SavePrompt)
    stored = tomllib.loads(next(profiles_dir().glob("*.toml")).read_text())
    assert stored["name"] == "big box" and stored["model"]["id"] == wanted[0]
    assert stored["workload"]["context_tokens"] == wanted[1]
    assert stored["hardware"]["count"] == wanted[2]

    again = build_app()
    async with again.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        assert (screen.model_id, screen.gpu_count) != (wanted[0], wanted[2])
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(again.screen, ProfilesScreen))
        await pilot.press("enter")
        await settle(pilot)
        assert (screen.model_id, screen.context_tokens, screen.gpu_count) == wanted
        assert screen.result is not None and screen.result.setup.model_id == wanted[0]


async def test_overwrite_asks_first(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        await save_as(pilot, "p")
        await pilot.press("right_square_bracket")
        await settle(pilot)
        await save_as(pilot, "p")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("n")
        await settle(pilot)
        assert ProfileStore().load("p").context_tokens != screen.context_tokens
        await save_as(pilot, "p")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await settle(pilot)
        assert ProfileStore().load("p").context_tokens == screen.context_tokens


async def test_profile_with_missing_pieces_opens_what_it_can(build_app):
    from gpufit.persist.profiles import Profile

    ProfileStore().save(Profile(name="old", gpu="gone-gpu", model="llama-3.1-70b", quant="Q8_0",
                                context_tokens=4096))
    app = build_app(profile_name="old")
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        assert (screen.model_id, screen.quant_id, screen.context_tokens) == \
            ("llama-3.1-70b", "Q8_0", 4096)
        assert any("gone-gpu" in note.message for note in app._notifications)


async def test_rename_and_delete_from_the_list(build_app):
    from gpufit.persist.profiles import Profile

    store = ProfileStore()
    store.save(Profile(name="first", gpu="rtx-4090", model="llama-3.1-8b", quant="Q4_K_M"))
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, ProfilesScreen))
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NamePrompt))
        app.screen.query_one(Input).value = "renamed"
        await pilot.press("enter")
        await settle(pilot)
        assert [profile.name for profile in store.list()] == ["renamed"]
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await settle(pilot)
        assert store.list() == []


async def test_last_session_is_restored_when_the_setting_is_on(build_app, settings_path):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        # Turn it on with the palette's "restore session" command (Ctrl+L now redraws);
        # it is remembered in settings.toml.
        await app.run_action("app.toggle_restore_session")
        await pilot.press("2", "j", "j", "j")
        await settle(pilot)
        chosen = screen.model_id
    assert tomllib.loads(settings_path.read_text())["restore_last_session"] is True
    again = build_app()
    async with again.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert main_screen(pilot).model_id == chosen
        assert [profile.name for profile in ProfileStore().list()] == []  # hidden, not a profile
