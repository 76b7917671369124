"""Session files: ids, round trips, corruption, atomic writes and concurrent appends."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from claif import _fileio as fileio
from claif.cli.main import SessionsCommands
from claif.common.errors import AuthenticationError, ClaifError, SessionError, ValidationError
from claif.common.options import ClaifOptions
from claif.common.types import ImageBlock, Message, TextBlock, ToolResultBlock, ToolUseBlock
from claif.sessions import (
    SESSION_FORMAT_VERSION,
    Session,
    SessionManager,
    default_root,
    history_options,
)
from claif.streaming import collect
from claif.testing import MockProvider

from .call_fixtures import Scripted
from .test_fileio import deep_json, finishes, link_to_dev_zero, make_fifo, make_sparse, posix_only

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture
def manager(tmp_path: Path) -> SessionManager:
    return SessionManager(tmp_path / "sessions")


def files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_root_follows_env(tmp_path, monkeypatch):
    """CLAIF_SESSIONS_DIR chooses the sessions folder."""
    monkeypatch.setenv("CLAIF_SESSIONS_DIR", str(tmp_path))
    assert SessionManager().root == tmp_path


def test_root_default_is_platform_data_dir(monkeypatch):
    """Without the variable, sessions live in the platform's claif data dir."""
    import platformdirs

    monkeypatch.delenv("CLAIF_SESSIONS_DIR", raising=False)
    assert default_root() == platformdirs.user_data_path("claif") / "sessions"


def test_round_trip_keeps_every_block(manager):
    """Text, image, tool use and tool result blocks survive a save and a load."""
    messages = [
        Message("user", [ImageBlock.from_bytes(PNG)]),
        Message("assistant", [ToolUseBlock("calc", {"x": 1}, id="t1")], {"model": "m"}),
        Message("tool", [ToolResultBlock("calc", 2, tool_use_id="t1")]),
        Message("assistant", "ünïcode answer"),
    ]
    manager.append("chat-1", messages)
    loaded = manager.load("chat-1")
    assert loaded.messages == messages
    assert loaded.version == SESSION_FORMAT_VERSION


def test_save_writes_metadata_and_updates_time(manager):
    """save() stores provider and model and moves ``updated`` forward."""
    session = Session(id="meta", provider="myp", model="m1")
    before = session.updated
    manager.save(session)
    loaded = manager.load("meta")
    assert (loaded.provider, loaded.model) == ("myp", "m1")
    assert loaded.updated >= before
    written = json.loads(manager.path_for("meta").read_text())
    assert written["version"] == SESSION_FORMAT_VERSION == 2


@pytest.mark.parametrize("bad", ["../x", ".hidden", "", "x" * 300, "a/b", "a\\b", "-dash"])
def test_unsafe_ids_are_refused(manager, bad):
    """Ids that are empty, hidden, too long or hold separators raise SessionError."""
    with pytest.raises(SessionError, match="invalid session id") as caught:
        manager.path_for(bad)
    assert isinstance(caught.value.__cause__, ValidationError)
    with pytest.raises(SessionError):
        manager.append(bad, [Message("user", "hi")])
    assert not manager.root.exists()


@settings(max_examples=150, deadline=None)
@given(session_id=st.text(max_size=140))
def test_any_id_stays_inside_root_or_is_refused(session_id):
    """A generated id either round-trips as a file directly inside root or is refused."""
    with tempfile.TemporaryDirectory() as folder:
        manager = SessionManager(Path(folder) / "sessions")
        try:
            path = manager.path_for(session_id)
        except SessionError:
            return
        assert path.resolve().parent == manager.root.resolve()
        manager.append(session_id, [Message("user", "hi")])
        assert manager.load(session_id).messages == [Message("user", "hi")]
        assert files_in(Path(folder)) == ["sessions"]


def test_missing_session_is_an_error(manager):
    """Loading an unknown id raises SessionError saying there is no such session."""
    with pytest.raises(SessionError, match="no session 'nope'"):
        manager.load("nope")


def test_get_or_create_returns_a_new_unsaved_session(manager):
    """get_or_create gives an empty session without writing a file."""
    session = manager.get_or_create("fresh")
    assert (session.id, session.messages) == ("fresh", [])
    assert not manager.path_for("fresh").exists()


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"version": 1, "id": "bad", "messages": "oops"}',
        '{"version": 1, "id": "bad", "created": "x", "updated": "x", "messages": []}',
        '{"version": 1, "id": "bad", "created": "2024-01-01T00:00:00", '
        '"updated": "2024-01-01T00:00:00", "messages": [{"role": "wizard"}]}',
        '{"version": 1, "id": "other", "created": "2024-01-01T00:00:00", '
        '"updated": "2024-01-01T00:00:00", "messages": []}',
    ],
)
def test_corrupt_file_is_reported_with_its_path(manager, content):
    """A session file that is not what we wrote raises SessionError naming the file."""
    path = manager.path_for("bad")
    manager.root.mkdir()
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SessionError) as caught:
        manager.load("bad")
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("version", [None, 0, "1", True])
def test_unknown_version_is_refused(manager, version):
    """A missing or malformed version is an unknown format, reported with the path."""
    manager.save(Session(id="v"))
    path = manager.path_for("v")
    payload = json.loads(path.read_text())
    payload["version"] = version
    path.write_text(json.dumps(payload))
    with pytest.raises(SessionError, match="unknown format version") as caught:
        manager.load("v")
    assert str(path) in str(caught.value)


def test_newer_version_asks_for_an_upgrade(manager):
    """A file from a newer claif says to upgrade rather than calling it corrupt."""
    manager.save(Session(id="future"))
    path = manager.path_for("future")
    payload = json.loads(path.read_text())
    payload["version"] = SESSION_FORMAT_VERSION + 1
    path.write_text(json.dumps(payload))
    with pytest.raises(SessionError, match="upgrade claif"):
        manager.load("future")


def test_list_summarises_newest_first_and_flags_corrupt_files(manager):
    """list() gives id, count and time per session, keeps broken ones and skips strays."""
    manager.append("old", [Message("user", "a")])
    time.sleep(0.01)
    manager.append("new", [Message("user", "a"), Message("assistant", "b")])
    (manager.root / "broken.json").write_text("{", encoding="utf-8")
    (manager.root / "notes.txt").write_text("x", encoding="utf-8")
    (manager.root / ".x.json.abc.tmp").write_text("x", encoding="utf-8")
    summaries = manager.list()
    good = [(s.id, s.message_count) for s in summaries if s.error is None]
    assert good == [("new", 2), ("old", 1)]
    assert [s.id for s in summaries if s.error] == ["broken"]


def test_list_without_a_root_is_empty(manager):
    """Listing before any session exists gives an empty list and creates nothing."""
    assert manager.list() == []
    assert not manager.root.exists()


def test_delete_removes_the_session(manager):
    """delete() removes the file; deleting again is an error."""
    manager.append("gone", [Message("user", "a")])
    manager.delete("gone")
    assert not manager.path_for("gone").exists()
    with pytest.raises(SessionError, match="no session 'gone'"):
        manager.delete("gone")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_session_files_are_private(manager):
    """Conversations are written 0600 in a 0700 folder."""
    manager.append("private", [Message("user", "a")])
    assert stat.S_IMODE(os.stat(manager.path_for("private")).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(manager.root).st_mode) == 0o700


def test_writes_leave_no_temp_files(manager):
    """After many writes only the session file and its lock remain."""
    for index in range(5):
        manager.append("tidy", [Message("user", str(index))])
    assert files_in(manager.root) == ["tidy.json", "tidy.lock"]


def test_unserialisable_message_leaves_the_old_file_intact(manager):
    """A message that cannot become JSON fails without touching the saved file."""
    manager.append("keep", [Message("user", "a")])
    before = manager.path_for("keep").read_bytes()
    with pytest.raises(SessionError, match="cannot be saved"):
        manager.append("keep", [Message("user", "b", {"bad": object()})])
    assert manager.path_for("keep").read_bytes() == before
    assert files_in(manager.root) == ["keep.json", "keep.lock"]


def test_failed_write_leaves_the_old_file_and_no_temp(manager, monkeypatch):
    """If the rename fails midway the old file stays whole and the temp file is removed."""
    manager.append("crash", [Message("user", "a")])
    before = manager.path_for("crash").read_bytes()

    def failing_replace(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", failing_replace)
    with pytest.raises(SessionError, match="cannot write session file"):
        manager.append("crash", [Message("user", "b")])
    monkeypatch.undo()
    assert manager.path_for("crash").read_bytes() == before
    assert files_in(manager.root) == ["crash.json", "crash.lock"]


WORKER = """
import sys, time
from pathlib import Path
from claif.common.types import Message
from claif.sessions import SessionManager

root, name, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
manager = SessionManager(root)
while not go.exists():
    time.sleep(0.001)
for index in range(50):
    manager.append("shared", [Message("user", f"{name}-{index}")])
"""


def test_two_processes_appending_lose_nothing(tmp_path):
    """Two real processes appending 50 messages each leave exactly 100, in each one's order."""
    root, go = tmp_path / "sessions", tmp_path / "go"
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(root), name, str(go)])
        for name in ("a", "b")
    ]
    go.touch()
    path = root / "shared.json"
    while any(worker.poll() is None for worker in workers):
        if path.exists():
            json.loads(path.read_bytes())  # readers only ever see a whole file
    assert [worker.wait(timeout=60) for worker in workers] == [0, 0]
    texts = [message.text for message in SessionManager(root).load("shared").messages]
    assert len(texts) == 100
    for name in ("a", "b"):
        assert [t for t in texts if t.startswith(name)] == [f"{name}-{i}" for i in range(50)]


def test_history_options_puts_the_session_first():
    """The session's messages become the options' history, before any history given."""
    session = Session(id="h", messages=[Message("user", "q"), Message("assistant", "a")])
    extra = Message("user", "more")
    options = ClaifOptions(model="m", history=[extra])
    merged = history_options(options, session)
    assert list(merged.history) == [*session.messages, extra]
    assert merged.model == "m"
    assert options.history == (extra,)


def write_payload(manager: SessionManager, session_id: str, **changes: Any) -> Path:
    """A session file as version 2 writes it, with ``changes`` applied (None deletes a key)."""
    payload: dict[str, Any] = {
        "version": SESSION_FORMAT_VERSION,
        "id": session_id,
        "created": "2024-01-01T00:00:00+00:00",
        "updated": "2024-01-01T00:00:00+00:00",
        "messages": [],
    }
    payload.update(changes)
    path = manager.path_for(session_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: v for k, v in payload.items() if v is not None}))
    return path


def assert_refused(manager: SessionManager, session_id: str, reason: str) -> None:
    """load() raises SessionError naming the file and ``reason``; list() shows it with the error."""
    path = manager.path_for(session_id)
    with pytest.raises(SessionError, match=reason) as caught:
        manager.load(session_id)
    assert str(path) in str(caught.value)
    listed = {summary.id: summary.error for summary in manager.list()}
    assert listed[session_id] is not None
    assert str(path) in listed[session_id]


def test_version_1_file_is_still_read(manager):
    """A version 1 file, without system_prompt and native, loads with those fields empty."""
    write_payload(manager, "old", version=1, provider="p", model="m")
    session = manager.load("old")
    assert (session.provider, session.model, session.system_prompt) == ("p", "m", None)
    assert session.native == {}


def test_new_fields_round_trip(manager):
    """system_prompt and native survive a save and a load."""
    manager.save(Session(id="n", system_prompt="be brief", native={"gemini": "g-1"}))
    loaded = manager.load("n")
    assert (loaded.system_prompt, loaded.native) == ("be brief", {"gemini": "g-1"})


def test_manager_takes_a_str_folder(tmp_path):
    """SessionManager(session_dir) accepts a plain string as well as a Path."""
    assert SessionManager(str(tmp_path)).root == tmp_path


def test_record_turn_appends_and_notes_who_answered(manager):
    """record_turn adds the messages and stores provider, model, system prompt and native id."""
    turn = [Message("user", "q"), Message("assistant", "a")]
    manager.record_turn(
        "t", turn, provider="gemini", model="g1", system_prompt="sys", native_id="abc"
    )
    manager.record_turn("t", turn, provider="codex", model=None, native_id="thread-9")
    session = manager.load("t")
    assert session.messages == turn * 2
    assert (session.provider, session.model, session.system_prompt) == ("codex", "g1", "sys")
    assert session.native == {"gemini": "abc", "codex": "thread-9"}


def test_record_turn_without_native_id_keeps_the_old_one(manager):
    """A turn that brings no native id leaves the stored one for that provider alone."""
    manager.record_turn("k", [], provider="gemini", model=None, native_id="abc")
    manager.record_turn("k", [Message("user", "q")], provider="gemini", model=None)
    assert manager.load("k").native == {"gemini": "abc"}


def test_record_turn_needs_a_provider_for_a_native_id(manager):
    """A native id without the provider it belongs to is refused before any file is written."""
    with pytest.raises(ValidationError, match="native session id"):
        manager.record_turn("x", [], provider=None, model=None, native_id="abc")
    assert not manager.root.exists()


async def test_async_get_and_save_session(manager):
    """get_session gives a new or saved session; save_session writes it; both run off-loop."""
    session = await manager.get_session("a1")
    assert (session.id, session.messages) == ("a1", [])
    session.messages.append(Message("user", "hi"))
    await manager.save_session(session)
    assert (await manager.get_session("a1")).messages == [Message("user", "hi")]


@pytest.mark.parametrize(
    "changes",
    [
        {"messages": 5},
        {"messages": {"role": "user"}},
        {"messages": "oops"},
        {"messages": [7]},
        {"messages": [None]},
        {"messages": [{"role": "user", "content": 5}]},
        {"messages": [{"role": "user", "content": [1, 2]}]},
        {"messages": [{"role": "user", "content": "hi", "metadata": "x"}]},
        {"messages": [{"role": "user", "content": "hi", "metadata": [1]}]},
        {"messages": [{"role": "wizard", "content": "hi"}]},
        {"messages": [{"role": ["user"], "content": "hi"}]},
        {"messages": [{"role": "user", "content": [{"type": "image", "data": "é"}]}]},
        {"messages": [{"role": "user", "content": [{"type": "tool_use", "parameters": "x"}]}]},
        {"provider": 5},
        {"system_prompt": ["x"]},
        {"native": ["x"]},
        {"native": {"p": 1}},
        {"created": 5},
        {"id": None},
    ],
)
def test_wrong_shapes_are_corrupt_files(manager, changes):
    """Each wrong shape is a SessionError naming the file, and list() shows it with the error."""
    write_payload(manager, "shape", **changes)
    assert_refused(manager, "shape", "corrupt|JSON object|holds the id")


def test_deeply_nested_json_is_refused(manager):
    """JSON nested 100000 deep is a SessionError, never a RecursionError."""
    manager.root.mkdir()
    manager.path_for("deep").write_text(deep_json())
    assert_refused(manager, "deep", "nested too deeply")


def test_invalid_utf8_is_refused(manager):
    """Bytes that are not UTF-8 are a SessionError naming the file."""
    manager.root.mkdir()
    manager.path_for("bytes").write_bytes(b'{"id": "\xff"}')
    assert_refused(manager, "bytes", "UTF-8")


@posix_only
def test_fifo_named_like_a_session_never_blocks(manager):
    """A FIFO called x.json is refused at once, by load and by list."""
    make_fifo(manager.path_for("x"))
    assert finishes(lambda: assert_refused(manager, "x", "not a regular file")) is None


@posix_only
def test_link_to_dev_zero_is_refused(manager):
    """A session file linked to /dev/zero is refused, not read forever."""
    link_to_dev_zero(manager.path_for("zero"))
    assert finishes(lambda: assert_refused(manager, "zero", "character device")) is None


@posix_only
def test_huge_sparse_session_file_is_refused(manager):
    """A 100 GiB sparse session file is refused by the size cap."""
    make_sparse(manager.path_for("huge"))
    assert finishes(lambda: assert_refused(manager, "huge", "byte limit")) is None


def test_folder_named_like_a_session_is_listed_with_an_error(manager):
    """A folder called x.json is listed with an error, not skipped or raised."""
    manager.path_for("dir").mkdir(parents=True)
    assert_refused(manager, "dir", "cannot read session file")


@posix_only
def test_dangling_symlink_is_listed_with_an_error(manager, tmp_path):
    """A session file linking to nothing is listed with an error; load calls it missing."""
    manager.root.mkdir()
    manager.path_for("ghost").symlink_to(tmp_path / "nowhere.json")
    [summary] = manager.list()
    assert (summary.id, summary.error) == ("ghost", f"{manager.path_for('ghost')} links to nothing")
    with pytest.raises(SessionError, match="no session 'ghost'"):
        manager.load("ghost")


def test_list_survives_a_failing_stat(manager, monkeypatch):
    """If even lstat fails for a broken file, list() still gives it, dated at the epoch."""
    manager.root.mkdir()
    manager.path_for("broken").write_text("{", encoding="utf-8")

    def failing_lstat(self: Path) -> os.stat_result:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "lstat", failing_lstat)
    [summary] = manager.list()
    assert summary.id == "broken"
    assert summary.error is not None
    assert summary.updated.timestamp() == 0


@posix_only
def test_symlinked_lock_file_is_a_session_error(manager, tmp_path):
    """A session's lock file replaced by a symlink gives a SessionError naming the lock."""
    manager.root.mkdir()
    (manager.root / "s.lock").symlink_to(tmp_path / "target")
    with pytest.raises(SessionError, match=r"s\.lock.*symlink"):
        manager.append("s", [Message("user", "a")])
    assert not (tmp_path / "target").exists()


def test_sessions_list_command_shows_unreadable_files(manager, monkeypatch):
    """`claif sessions list` prints a broken session with the reason instead of a count."""
    monkeypatch.setenv("CLAIF_SESSIONS_DIR", str(manager.root))
    manager.append("good", [Message("user", "a")])
    manager.path_for("bad").write_text("{", encoding="utf-8")
    out = io.StringIO()
    SessionsCommands(Console(file=out, force_terminal=False)).list()
    rows = [line.split("\t") for line in out.getvalue().splitlines()]
    assert ["good", "1 messages"] in [row[:2] for row in rows]
    bad = next(row for row in rows if row[0] == "bad")
    assert bad[1].startswith(f"unreadable: session file {manager.path_for('bad')} is not valid")


# --- sessions around the call path, from Python ---


@pytest.fixture
def sessions(manager, monkeypatch) -> SessionManager:
    """The manager the call path uses: CLAIF_SESSIONS_DIR points at a temporary folder."""
    monkeypatch.setenv("CLAIF_SESSIONS_DIR", str(manager.root))
    return manager


EARLIER = [Message("user", "Hi"), Message("assistant", "Hello")]


async def test_session_history_reaches_the_provider(sessions):
    """ClaifOptions(session_id=...) sends the session's earlier turns to the provider as history."""
    sessions.record_turn("chat", EARLIER, provider="mock", model="m")
    provider = MockProvider(["Again?"])
    await collect(provider.query("Again", ClaifOptions(session_id="chat")))
    (received,) = provider.received
    assert list(received.options.history) == EARLIER
    assert received.options.session_id is None  # the attempt sees history; core records


@pytest.mark.parametrize("stream", [True, False])
async def test_successful_call_records_the_turn(sessions, stream):
    """After a whole reply, prompt and reply (tool calls too) are recorded with who answered."""
    call = ToolUseBlock("add", {"a": 1}, "c1")
    provider = MockProvider([["Let me add. ", call]], model="adder-2")
    options = ClaifOptions(session_id="chat", system_prompt="Be brief", stream=stream)
    await collect(provider.query("Add one", options))
    session = sessions.load("chat")
    user, reply = session.messages
    assert (user.role.value, user.text) == ("user", "Add one")
    assert (reply.role.value, reply.content) == ("assistant", [TextBlock("Let me add. "), call])
    assert (session.provider, session.model, session.system_prompt) == (
        "mock",
        "adder-2",
        "Be brief",
    )


async def test_turns_accumulate_across_calls(sessions):
    """A second call sees the first turn as history and adds its own after it."""
    provider = MockProvider(["one", "two"])
    for prompt in ("first", "second"):
        await collect(provider.query(prompt, ClaifOptions(session_id="chat")))
    assert [m.text for m in provider.received[1].options.history] == ["first", "one"]
    assert [m.text for m in sessions.load("chat").messages] == ["first", "one", "second", "two"]


async def test_stream_false_reply_is_recorded_when_taken_alone(sessions):
    """With stream=False the turn is recorded even if the caller takes the one Message and stops."""
    provider = MockProvider(["only"])
    stream = provider.query("hi", ClaifOptions(session_id="chat", stream=False))
    assert (await stream.__anext__()).text == "only"
    await stream.aclose()
    assert [m.text for m in sessions.load("chat").messages] == ["hi", "only"]


class PartThenFail(Scripted):
    """A provider that keeps sessions, yields one part and then fails."""

    def __init__(self):
        super().__init__(
            ["part", AuthenticationError("revoked")], capabilities=["text", "sessions"]
        )


@pytest.mark.parametrize(
    "provider",
    [
        lambda: MockProvider([AuthenticationError("bad key")]),
        PartThenFail,
        lambda: Scripted(KeyError("x"), capabilities=["text", "sessions"]),
    ],
)
async def test_failed_call_records_nothing(sessions, provider):
    """A call that fails, before or after its first Message, leaves the session as it was."""
    sessions.record_turn("chat", EARLIER, provider="mock", model="m")
    with pytest.raises(ClaifError):
        await collect(provider().query("hi", ClaifOptions(session_id="chat")))
    assert sessions.load("chat").messages == EARLIER


async def test_abandoned_stream_records_nothing(sessions):
    """A caller that stops reading before the reply ends records no half turn."""
    provider = MockProvider([["a", "b", "c"]])
    stream = provider.query("hi", ClaifOptions(session_id="fresh"))
    await stream.__anext__()
    await stream.aclose()
    with pytest.raises(SessionError):
        sessions.load("fresh")


async def test_native_session_id_comes_back_next_turn(sessions):
    """A backend's own session id, returned in metadata, reaches the provider next turn."""
    native = Message("assistant", "first", {"native_session_id": "thread-7"})
    provider = MockProvider([native, "second"])
    await collect(provider.query("one", ClaifOptions(session_id="chat")))
    await collect(provider.query("two", ClaifOptions(session_id="chat")))
    first, second = (received.options for received in provider.received)
    assert (first.native_session_id, second.native_session_id) == (None, "thread-7")
    assert sessions.load("chat").native == {"mock": "thread-7"}


async def test_explicit_native_session_id_wins(sessions):
    """A native_session_id the caller sets is used instead of the stored one."""
    sessions.record_turn("chat", EARLIER, provider="mock", model="m", native_id="stored")
    provider = MockProvider(["ok"])
    await collect(provider.query("hi", ClaifOptions(session_id="chat", native_session_id="mine")))
    assert provider.received[0].options.native_session_id == "mine"


async def test_session_needs_the_sessions_capability(sessions):
    """A session on a provider without the sessions capability is refused before any file."""
    provider = Scripted(["never"])
    with pytest.raises(ValidationError) as caught:
        provider.query("hi", ClaifOptions(session_id="chat"))
    assert caught.value.field == "history"
    assert not sessions.root.exists()
