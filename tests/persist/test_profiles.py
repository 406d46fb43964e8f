"""Profiles: round trips, hand edits, broken and newer files, concurrent saves, failing disks."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import tomllib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import platformdirs
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpufit.core.catalog import Catalog
from gpufit.persist.profiles import (
    Profile,
    ProfileExists,
    ProfileNotFound,
    ProfileProblem,
    ProfileStore,
    ProfileWriteError,
    missing_from_catalog,
    profiles_dir,
)

T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


class Clock:
    """A clock that moves one minute on every reading, so each save has a distinct time."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start - timedelta(minutes=1)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def basic(name: str = "Home box", **changes: Any) -> Profile:
    values: dict[str, Any] = {"gpu": "rtx-4090", "model": "llama-3.1-8b", "quant": "Q4_K_M"}
    values.update(changes)
    return Profile(name=name, **values)


@pytest.fixture
def store(tmp_path: Path) -> ProfileStore:
    return ProfileStore(tmp_path / "profiles", clock=Clock())


def leftovers(directory: Path) -> list[str]:
    """Temporary files a failed write might have left behind."""
    return sorted(path.name for path in directory.iterdir()
                  if path.name.endswith(".tmp") or path.name.startswith("."))


# Round trips


def test_every_field_survives_a_round_trip(store: ProfileStore) -> None:
    original = Profile(
        name="4xA100 Llama 70B 32k", gpu="a100-80gb-sxm", model="llama-3.3-70b", quant="Q4_K_M",
        gpu_count=4, memory_override_bytes=80_000_000_000, context_tokens=32768, sequences=3,
        kv_cache_dtype="q8_0", engine="vllm", note="our training box\nsecond line \"quoted\"",
    )
    saved = store.save(original)
    loaded = ProfileStore(store.directory).load("4xA100 Llama 70B 32k")

    assert loaded == saved
    assert (loaded.gpu, loaded.model, loaded.quant) == ("a100-80gb-sxm", "llama-3.3-70b", "Q4_K_M")
    assert (loaded.gpu_count, loaded.memory_override_bytes) == (4, 80_000_000_000)
    assert (loaded.context_tokens, loaded.sequences) == (32768, 3)
    assert (loaded.kv_cache_dtype, loaded.engine) == ("q8_0", "vllm")
    assert loaded.note == "our training box\nsecond line \"quoted\""
    assert loaded.created == T0 and loaded.updated == T0
    assert loaded.created.utcoffset() == timedelta(0)


def test_no_memory_override_stays_none_and_is_absent_from_the_file(store: ProfileStore) -> None:
    store.save(basic(memory_override_bytes=None))
    [path] = store.directory.glob("*.toml")
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    assert "memory_override_bytes" not in document["hardware"]
    assert ProfileStore(store.directory).load("Home box").memory_override_bytes is None


def test_the_file_uses_the_documented_tables(store: ProfileStore) -> None:
    store.save(basic(gpu_count=2, context_tokens=4096))
    document = tomllib.loads((store.directory / "home-box.toml").read_text(encoding="utf-8"))
    assert document["schema_version"] == 1
    assert document["name"] == "Home box"
    assert document["hardware"] == {"gpu": "rtx-4090", "count": 2}
    assert document["model"] == {"id": "llama-3.1-8b", "quant": "Q4_K_M"}
    assert document["workload"] == {"context_tokens": 4096, "sequences": 1, "kv_cache_dtype": "f16",
                                    "engine": "llama.cpp", "flash_attention": "auto",
                                    "include_vision": False}
    assert document["created"] == T0


HAND_EDITED = """\
# my notes about this box
schema_version = 1
name = "Lab box"   # renamed by hand
created = 2026-01-02T03:04:05+02:00
updated = 2026-01-02T03:04:05   # no offset: taken as UTC
favourite = true
[hardware]
gpu = "rtx-4090"
count = 2
fan_curve = "quiet"
[model]
id = "llama-3.1-8b"
quant = "Q4_K_M"
[workload]
context_tokens = 16384
batch_hint = [1, 2, 4]
[plugins.grafana]
url = "http://example.invalid"
"""


def test_a_hand_edited_file_loads_and_keeps_unknown_keys_when_saved(store: ProfileStore) -> None:
    store.directory.mkdir(parents=True)
    (store.directory / "whatever I like.toml").write_text(HAND_EDITED, encoding="utf-8")

    loaded = store.load("lab box")
    assert (loaded.name, loaded.gpu_count, loaded.context_tokens) == ("Lab box", 2, 16384)
    assert loaded.engine == "llama.cpp"  # defaults fill what the hand edit left out
    assert loaded.created == datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert loaded.updated == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    store.save(replace(loaded, note="edited in the app"), overwrite=True)
    document = tomllib.loads((store.directory / "whatever I like.toml").read_text(encoding="utf-8"))
    assert document["favourite"] is True
    assert document["plugins"] == {"grafana": {"url": "http://example.invalid"}}
    assert document["hardware"]["fan_curve"] == "quiet"
    assert document["workload"]["batch_hint"] == [1, 2, 4]
    assert document["note"] == "edited in the app"
    assert document["created"] == datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert store.problems == []


# Broken files


def test_corrupt_toml_is_moved_aside_and_the_others_still_list(store: ProfileStore) -> None:
    store.save(basic("Good one"))
    broken = store.directory / "broken.toml"
    original = b'name = "half written\n[hardware\n'
    broken.write_bytes(original)

    assert [profile.name for profile in store.list()] == ["Good one"]
    assert not broken.exists()
    [aside] = store.directory.glob("broken.toml.corrupt-*")
    assert aside.read_bytes() == original
    [problem] = store.problems
    assert problem.path == broken
    assert "broken.toml" in str(problem) and aside.name in problem.message
    assert "TOML" in problem.message


def document(top: str = 'name = "x"', hardware: str = 'gpu = "g"', model: str = 'id = "m"\nquant = "q"',
             workload: str = "") -> str:
    """A small profile file; each part can be replaced by a broken one."""
    return f"{top}\n[hardware]\n{hardware}\n[model]\n{model}\n[workload]\n{workload}\n"


@pytest.mark.parametrize(("body", "blamed"), [
    (document(hardware='gpu = "g"\ncount = "four"'), "hardware.count"),
    (document(hardware='gpu = "g"\ncount = 0'), "hardware.count"),
    (document(hardware='gpu = "g"\ncount = 17'), "hardware.count"),
    (document(hardware='gpu = "g"\ncount = true'), "hardware.count"),
    (document(hardware='gpu = "g"\nmemory_override_bytes = 1.5e10'), "hardware.memory_override_bytes"),
    (document(top=""), "name"),
    (document(top='name = "   "'), "name"),
    (document(hardware=""), "hardware.gpu"),
    (document(model='id = "m"'), "model.quant"),
    (document(top='name = "x"\ncreated = 2026-01-01'), "created"),
    (document(workload="engine = 3"), "workload.engine"),
    (document(workload='kv_cache_dtype = "f17"'), "workload.kv_cache_dtype"),
    (document(workload="context_tokens = -1"), "workload.context_tokens"),
    (document(top='schema_version = "1"\nname = "x"'), "schema_version"),
    ('name = "x"\nhardware = "rtx"\n[model]\nid = "m"\nquant = "q"\n', "hardware"),
])
def test_wrong_types_are_moved_aside_and_named(store: ProfileStore, body: str, blamed: str) -> None:
    store.save(basic("Survivor"))
    bad = store.directory / "bad.toml"
    bad.write_text(body, encoding="utf-8")

    assert [profile.name for profile in store.list()] == ["Survivor"]
    [aside] = store.directory.glob("bad.toml.corrupt-*")
    assert aside.read_text(encoding="utf-8") == body
    [problem] = store.problems
    assert problem.path == bad and f"'{blamed}'" in problem.message


def test_not_utf8_is_moved_aside(store: ProfileStore) -> None:
    store.directory.mkdir(parents=True)
    (store.directory / "latin.toml").write_bytes(b'name = "caf\xe9"\n')
    assert store.list() == []
    [aside] = store.directory.glob("latin.toml.corrupt-*")
    assert aside.read_bytes() == b'name = "caf\xe9"\n'
    assert "UTF-8" in store.problems[0].message


def test_an_existing_corrupt_copy_is_never_overwritten(store: ProfileStore,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "strftime", lambda _format, *_args: "20260101-120000")
    store.directory.mkdir(parents=True)
    earlier = store.directory / "box.toml.corrupt-20260101-120000"
    earlier.write_bytes(b"earlier broken copy")
    (store.directory / "box.toml").write_bytes(b"= broken again")

    assert store.list() == []
    assert earlier.read_bytes() == b"earlier broken copy"
    assert (store.directory / "box.toml.corrupt-20260101-120000-2").read_bytes() == b"= broken again"


def test_a_newer_schema_is_reported_but_left_in_place(store: ProfileStore) -> None:
    store.directory.mkdir(parents=True)
    future = store.directory / "future.toml"
    body = 'schema_version = 2\nname = "Future"\n[gpus]\nlist = ["a"]\n'
    future.write_text(body, encoding="utf-8")

    assert store.list() == []
    assert store.list() == []  # met twice, said once
    assert future.read_text(encoding="utf-8") == body
    assert list(store.directory.glob("*.corrupt-*")) == []
    [problem] = store.problems
    assert problem.path == future and "schema_version 2" in problem.message

    # A profile saved under the same name must not replace the newer file.
    store.save(basic("Future"))
    assert future.read_text(encoding="utf-8") == body


def test_two_files_with_the_same_name_list_once_and_are_both_kept(store: ProfileStore) -> None:
    store.save(basic("Twin"))
    copy = store.directory / "twin copy.toml"
    copy.write_bytes((store.directory / "twin.toml").read_bytes())

    assert [profile.name for profile in store.list()] == ["Twin"]
    assert copy.exists() and (store.directory / "twin.toml").exists()
    assert [problem.path for problem in store.problems] == [copy]


# Saving, renaming, deleting


def test_saving_an_existing_name_needs_overwrite(store: ProfileStore) -> None:
    first = store.save(basic("Box", context_tokens=1000))
    with pytest.raises(ProfileExists) as caught:
        store.save(basic("BOX", context_tokens=2000))
    assert caught.value.name == "Box"
    assert "'Box'" in str(caught.value)
    assert store.load("Box").context_tokens == 1000

    second = store.save(basic("Box", context_tokens=2000), overwrite=True)
    assert second.created == first.created == T0
    assert second.updated == T0 + timedelta(minutes=1)
    reloaded = ProfileStore(store.directory).load("Box")
    assert (reloaded.context_tokens, reloaded.created, reloaded.updated) == (2000, T0, second.updated)
    assert len(list(store.directory.glob("*.toml"))) == 1


def test_names_that_share_a_file_name_get_their_own_files(store: ProfileStore) -> None:
    store.save(basic("A/B"))
    store.save(basic("a b"))
    store.save(basic("a:b!"))
    assert sorted(path.name for path in store.directory.glob("*.toml")) == ["a-b-2.toml", "a-b-3.toml",
                                                                              "a-b.toml"]
    assert sorted(profile.name for profile in store.list()) == ["A/B", "a b", "a:b!"]


def test_a_name_with_no_safe_characters_still_saves(store: ProfileStore) -> None:
    store.save(basic("日本語"))
    store.save(basic(".."))
    assert sorted(profile.name for profile in store.list()) == ["..", "日本語"]
    assert all(not path.name.startswith(".") for path in store.directory.iterdir())


def test_list_is_sorted_ignoring_case(store: ProfileStore) -> None:
    for name in ("beta", "Alpha", "gamma", "ALPHA two"):
        store.save(basic(name))
    assert [profile.name for profile in store.list()] == ["Alpha", "ALPHA two", "beta", "gamma"]


def test_load_prefers_the_exact_name_then_ignores_case(store: ProfileStore) -> None:
    store.save(basic("Lab Box", context_tokens=111))
    assert store.load("Lab Box").context_tokens == 111
    assert store.load("lab box").context_tokens == 111


def test_a_missing_profile_suggests_similar_names(store: ProfileStore) -> None:
    for name in ("Lab box", "Lab box two", "Laptop", "Cloud"):
        store.save(basic(name))
    with pytest.raises(ProfileNotFound) as caught:
        store.load("lab bx")
    assert caught.value.name == "lab bx"
    assert "Lab box" in caught.value.similar and "Cloud" not in caught.value.similar
    assert "'lab bx'" in str(caught.value) and "\n" not in str(caught.value)
    assert store.similar("lab")[:2] == ["Lab box", "Lab box two"]
    assert store.similar("zzzzzz") == []


def test_rename_moves_the_profile_to_a_new_file(store: ProfileStore) -> None:
    store.save(basic("Old name", note="keep me"))
    renamed = store.rename("old name", "New name")
    assert renamed.name == "New name" and renamed.note == "keep me"
    assert renamed.created == T0 and renamed.updated == T0 + timedelta(minutes=1)
    assert sorted(path.name for path in store.directory.glob("*.toml")) == ["new-name.toml"]
    assert store.load("New name") == renamed
    with pytest.raises(ProfileNotFound):
        store.load("Old name")


def test_rename_to_a_taken_name_fails_but_a_change_of_case_works(store: ProfileStore) -> None:
    store.save(basic("First"))
    store.save(basic("Second"))
    with pytest.raises(ProfileExists):
        store.rename("First", "SECOND")
    with pytest.raises(ProfileNotFound):
        store.rename("Third", "Fourth")

    store.rename("First", "FIRST")
    assert [profile.name for profile in store.list()] == ["FIRST", "Second"]
    assert sorted(path.name for path in store.directory.glob("*.toml")) == ["first.toml", "second.toml"]


def test_delete(store: ProfileStore) -> None:
    store.save(basic("Doomed"))
    store.save(basic("Kept"))
    store.delete("doomed")
    assert [profile.name for profile in store.list()] == ["Kept"]
    with pytest.raises(ProfileNotFound):
        store.delete("Doomed")


def test_the_last_session_is_hidden_from_the_list(store: ProfileStore) -> None:
    assert store.load_last_session() is None
    store.save(basic("Visible"))
    store.save_last_session(basic("Unsaved setup", context_tokens=777))
    assert [profile.name for profile in store.list()] == ["Visible"]
    last = ProfileStore(store.directory).load_last_session()
    assert last is not None and (last.name, last.context_tokens) == ("Unsaved setup", 777)
    assert last.updated is not None and last.updated.utcoffset() == timedelta(0)


def test_an_unreadable_last_session_is_moved_aside(store: ProfileStore) -> None:
    store.directory.mkdir(parents=True)
    (store.directory / ".last-session.toml").write_text("[[[", encoding="utf-8")
    assert store.load_last_session() is None
    assert len(list(store.directory.glob(".last-session.toml.corrupt-*"))) == 1
    assert len(store.problems) == 1


def test_a_profile_cannot_be_built_with_impossible_values() -> None:
    with pytest.raises(ValueError, match="gpu_count"):
        basic(gpu_count=17)
    with pytest.raises(ValueError, match="engine"):
        basic(engine="ollama")
    with pytest.raises(ValueError, match="time zone"):
        basic(created=datetime(2026, 1, 1))  # the point is the missing zone


# Failing disks


def test_a_config_path_that_is_a_file_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "config"
    blocker.write_text("not a directory", encoding="utf-8")
    store = ProfileStore(blocker / "profiles")
    profile = basic("Stuck")

    with pytest.raises(ProfileWriteError) as caught:
        store.save(profile)
    message = str(caught.value)
    assert message.startswith("Cannot save profile 'Stuck' to ")
    assert str(blocker / "profiles") in message
    assert "Not a directory" in message or "exists" in message
    assert blocker.read_text(encoding="utf-8") == "not a directory"
    assert profile == basic("Stuck")  # the caller's object is untouched
    assert store.list() == []


def test_a_full_disk_on_replace_keeps_the_old_file_and_no_temporary(store: ProfileStore,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    store.save(basic("Box", context_tokens=1000))
    before = (store.directory / "box.toml").read_bytes()

    def full(*_args: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(ProfileWriteError) as caught:
        store.save(basic("Box", context_tokens=2000), overwrite=True)
    assert str(caught.value) == (f"Cannot save profile 'Box' to {store.directory / 'box.toml'}: "
                                 "No space left on device")
    assert caught.value.reason == "No space left on device"
    assert (store.directory / "box.toml").read_bytes() == before
    assert leftovers(store.directory) == []


@pytest.mark.parametrize("failing", ["fsync", "link"])
def test_a_full_disk_on_a_new_profile_leaves_nothing_behind(store: ProfileStore, failing: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    store.save(basic("Existing"))

    def full(*_args: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, failing, full)
    with pytest.raises(ProfileWriteError, match="No space left on device"):
        store.save(basic("New"))
    monkeypatch.undo()
    assert sorted(path.name for path in store.directory.iterdir()) == ["existing.toml"]


def test_without_hard_links_new_files_are_still_created_and_kept_apart(
        store: ProfileStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*_args: Any) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(os, "link", no_links)
    store.save(basic("X Y"))
    store.save(basic("x-y"))
    assert sorted(path.name for path in store.directory.iterdir()) == ["x-y-2.toml", "x-y.toml"]
    assert [profile.name for profile in store.list()] == ["X Y", "x-y"]


def test_a_failed_delete_is_a_write_error(store: ProfileStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.save(basic("Sticky"))

    def read_only(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(Path, "unlink", read_only)
    with pytest.raises(ProfileWriteError, match="Read-only file system"):
        store.delete("Sticky")
    monkeypatch.undo()
    assert [profile.name for profile in store.list()] == ["Sticky"]


# Two app instances at once

WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from gpufit.persist.profiles import Profile, ProfileStore

    directory, tag, go, rounds = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    store = ProfileStore(directory)
    while not go.exists():
        time.sleep(0.001)
    for number in range(rounds):
        setup = dict(gpu="rtx-4090", model="llama-3.1-8b", quant="Q4_K_M")
        store.save(Profile(name=f"{tag} {number}", context_tokens=1000 + number, **setup))
        store.save(Profile(name=f"{tag} shared", context_tokens=1 + number, **setup), overwrite=True)
    assert store.problems == [], store.problems
""")


def test_two_processes_saving_at_once_both_survive(tmp_path: Path) -> None:
    directory, go, rounds = tmp_path / "profiles", tmp_path / "go", 40
    # "Alpha 3" and "alpha! 3" are different names with the same file name, the hardest case.
    tags = ("Alpha", "alpha!")
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(directory), tag, str(go), str(rounds)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for tag in tags]
    time.sleep(0.3)
    go.touch()
    for worker in workers:
        _out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err

    store = ProfileStore(directory)
    listed = {profile.name: profile for profile in store.list()}
    assert store.problems == []
    for tag in tags:
        for number in range(rounds):
            assert listed[f"{tag} {number}"].context_tokens == 1000 + number
        assert listed[f"{tag} shared"].context_tokens == rounds
    assert len(listed) == 2 * rounds + 2
    assert [path.name for path in directory.iterdir() if not path.name.endswith(".toml")] == []


RIVAL = 'name = "race"\n[hardware]\ngpu = "rtx-4090"\n[model]\nid = "llama-3.1-8b"\nquant = "Q4_K_M"\n'


def test_another_instance_taking_the_file_name_at_the_last_moment_is_not_overwritten(
        store: ProfileStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.directory.mkdir(parents=True)
    real_link = os.link

    def rival_first(source: Any, target: Any) -> None:
        # The other instance finishes its own save of a same-slug name just before ours lands.
        if Path(target).name == "race.toml" and not Path(target).exists():
            Path(target).write_text(RIVAL, encoding="utf-8")
        real_link(source, target)

    monkeypatch.setattr(os, "link", rival_first)
    store.save(basic("Race!"))
    monkeypatch.undo()
    assert (store.directory / "race.toml").read_text(encoding="utf-8") == RIVAL
    assert sorted(profile.name for profile in store.list()) == ["Race!", "race"]


def test_without_hard_links_a_name_taken_after_the_scan_is_not_overwritten(
        store: ProfileStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.directory.mkdir(parents=True)
    real_mkstemp = tempfile.mkstemp

    def rival_during_write(*args: Any, **kwargs: Any) -> tuple[int, str]:
        # Our scan saw no race.toml; the other instance creates it while we write our temporary.
        (store.directory / "race.toml").write_text(RIVAL, encoding="utf-8")
        return real_mkstemp(*args, **kwargs)

    def no_links(*_args: Any) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(tempfile, "mkstemp", rival_during_write)
    monkeypatch.setattr(os, "link", no_links)
    store.save(basic("Race!"))
    monkeypatch.undo()
    assert (store.directory / "race.toml").read_text(encoding="utf-8") == RIVAL
    assert sorted(profile.name for profile in store.list()) == ["Race!", "race"]


def test_an_empty_file_is_reported_but_not_moved(store: ProfileStore) -> None:
    store.directory.mkdir(parents=True)
    (store.directory / "empty.toml").write_bytes(b"")
    assert store.list() == []
    assert (store.directory / "empty.toml").exists()
    assert list(store.directory.glob("*.corrupt-*")) == []
    assert [problem.path.name for problem in store.problems] == ["empty.toml"]


# Locations


def test_the_store_lives_under_the_config_override() -> None:
    expected = Path(os.environ["GPUFIT_CONFIG_DIR"]) / "profiles"
    assert profiles_dir() == expected
    assert ProfileStore().directory == expected


def test_without_the_override_the_store_uses_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GPUFIT_CONFIG_DIR")
    assert ProfileStore().directory == Path(platformdirs.user_config_dir("gpufit-tui")) / "profiles"


def test_a_missing_directory_lists_nothing(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "never" / "made")
    assert store.list() == [] and store.problems == []


# The catalog moving on


def test_a_profile_of_known_ids_misses_nothing(catalog: Catalog) -> None:
    assert missing_from_catalog(basic(), catalog) == []
    assert missing_from_catalog(basic(gpu="detected"), catalog) == []


def test_a_profile_naming_removed_entries_loads_and_says_what_is_missing(store: ProfileStore,
                                                                         catalog: Catalog) -> None:
    store.save(basic("Old rig", gpu="a100-old", model="llama-0-1b", quant="Q9_Z", gpu_count=3))
    loaded = ProfileStore(store.directory).load("Old rig")
    assert (loaded.gpu, loaded.model, loaded.quant, loaded.gpu_count) == ("a100-old", "llama-0-1b", "Q9_Z", 3)
    assert missing_from_catalog(loaded, catalog) == [
        "GPU 'a100-old' is not in the catalog",
        "model 'llama-0-1b' is not in the catalog",
        "quant 'Q9_Z' is not in the catalog",
    ]


@pytest.mark.parametrize("model", ["/models/llama.gguf", "./llama.gguf", "~/m/x.safetensors",
                                   "models/local.gguf"])
def test_a_model_file_path_is_not_checked_against_the_catalog(catalog: Catalog, model: str) -> None:
    assert missing_from_catalog(basic(model=model), catalog) == []


def test_an_org_slash_name_id_is_still_checked(catalog: Catalog) -> None:
    assert missing_from_catalog(basic(model="meta-llama/Unknown-9B"), catalog) == [
        "model 'meta-llama/Unknown-9B' is not in the catalog"]


def test_problem_text_names_the_file() -> None:
    assert str(ProfileProblem(Path("/x/y.toml"), "is broken")) == f"{Path('/x/y.toml')}: is broken"


# Whatever is in the file, listing never raises

_VALID: dict[str, Any] = {
    "schema_version": 1, "name": "Fuzz", "note": "n", "created": T0,
    "hardware": {"gpu": "rtx-4090", "count": 2, "memory_override_bytes": 10**9},
    "model": {"id": "llama-3.1-8b", "quant": "Q4_K_M"},
    "workload": {"context_tokens": 4096, "sequences": 1, "kv_cache_dtype": "f16", "engine": "llama.cpp"},
}
_SLOTS = [(None, key) for key in ("schema_version", "name", "note", "created", "hardware", "extra")] + [
    (table, key) for table in ("hardware", "model", "workload") for key in _VALID[table]]
_SCALARS = st.one_of(
    st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(), st.text(max_size=20),
    st.dates(), st.datetimes(timezones=st.none() | st.just(UTC)), st.times(),
)
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=3), max_leaves=6)


@st.composite
def _mutated_documents(draw: st.DrawFn) -> str:
    document: dict[str, Any] = {key: dict(value) if isinstance(value, dict) else value
                                for key, value in _VALID.items()}
    for table, key in draw(st.lists(st.sampled_from(_SLOTS), max_size=3)):
        target = document.get(table, {}) if table else document
        if not isinstance(target, dict):
            continue
        if draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(_VALUES)
    text = tomli_w.dumps(document)
    return text + draw(st.sampled_from(["", "\n# trailing comment\n", "\n[hardware]\n", "\n= oops\n"]))


def _files() -> st.SearchStrategy[bytes]:
    text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))
    return st.one_of(st.binary(), text.map(str.encode), _mutated_documents().map(str.encode))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=_files())
def test_no_file_content_makes_listing_raise(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        (directory / "fuzz.toml").write_bytes(content)
        store = ProfileStore(directory)
        listed = store.list()
        # Each file is either listed or reported, never silently dropped.
        assert len(listed) + len(store.problems) == 1
        for aside in directory.glob("fuzz.toml.corrupt-*"):
            assert aside.read_bytes() == content
        if listed:
            assert listed[0] == ProfileStore(directory).load(listed[0].name)


def test_a_deeply_nested_profile_file_is_moved_aside_and_the_others_still_list(tmp_path):
    store = ProfileStore(tmp_path)
    store.save(Profile(name="healthy", gpu="rtx-4090", model="llama-3.1-8b", quant="Q4_K_M"))
    (tmp_path / "deep.toml").write_text("x = " + "[" * 600 + "]" * 600 + "\n")
    names = [profile.name for profile in store.list()]
    assert names == ["healthy"]
    assert any("deep.toml" in str(problem) for problem in store.problems)
    assert not (tmp_path / "deep.toml").exists()  # kept aside, never deleted
    assert any(path.name.startswith("deep.toml.corrupt") for path in tmp_path.iterdir())
