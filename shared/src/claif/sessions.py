"""Saved conversations: one JSON file per session, safe against crashes and rivals.

Each session is ``<root>/<id>.json``; ``root`` is ``$CLAIF_SESSIONS_DIR`` or
``sessions`` in the platform data dir. Writes are atomic (temp file, fsync,
rename, fsync of the folder), so a reader never meets half a file. Every
read-modify-write holds a per-session lock (``<id>.lock``, flock or msvcrt), so
two processes appending at once never lose a message. Ids are checked by
:func:`claif.common.options.validate_session_id`, so none can leave ``root``.

Reads trust nothing: a FIFO, device or folder named ``<id>.json``, a file over
:data:`MAX_SESSION_BYTES`, invalid UTF-8, JSON nested too deeply or of the wrong
shape are each a :class:`SessionError` naming the file, never a hang or a crash.

File format (``version`` 2)::

    {"version": 2, "id": "...", "created": "<ISO 8601 UTC>", "updated": "...",
     "provider": null, "model": null, "system_prompt": null,
     "native": {"<provider>": "<that backend's own session id>"},
     "messages": [<Message.to_dict()>, ...]}

Version 1 files (without ``system_prompt`` and ``native``) are still read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._fileio import atomic_write, exclusive_lock, parse_json, read_regular_file
from .common.errors import SessionError, ValidationError
from .common.options import ClaifOptions, validate_session_id
from .common.types import Message

__all__ = [
    "Session",
    "SessionManager",
    "SessionSummary",
    "history_options",
]

SESSION_FORMAT_VERSION = 2
SESSIONS_ENV = "CLAIF_SESSIONS_DIR"
# A session file larger than this is refused rather than read: 64 MiB holds a very
# long conversation with images, and bounds what a hostile file can make us allocate.
MAX_SESSION_BYTES = 64 * 1024 * 1024


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Session:
    """One conversation: its messages in order, timestamps and what answered it.

    ``native`` maps a provider name to that backend's own session or thread id
    (a Gemini CLI session, a Codex thread), for backends that keep history
    themselves.
    """

    id: str
    messages: list[Message] = field(default_factory=list)
    created: datetime = field(default_factory=_now)
    updated: datetime = field(default_factory=_now)
    provider: str | None = None
    model: str | None = None
    system_prompt: str | None = None
    native: dict[str, str] = field(default_factory=dict)
    version: int = SESSION_FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form written to the session file."""
        return {
            "version": SESSION_FORMAT_VERSION,
            "id": self.id,
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
            "provider": self.provider,
            "model": self.model,
            "system_prompt": self.system_prompt,
            "native": dict(self.native),
            "messages": [message.to_dict() for message in self.messages],
        }

    @classmethod
    def from_dict(cls, payload: Any, *, source: Path) -> Session:
        """Rebuild a session read from ``source``; anything unexpected is a SessionError."""
        if not isinstance(payload, dict):
            raise SessionError(f"session file {source} does not hold a JSON object")
        _check_version(payload.get("version"), source)
        try:
            session = cls(
                id=str(payload["id"]),
                messages=_messages_from(payload["messages"]),
                created=_parse_time(payload["created"]),
                updated=_parse_time(payload["updated"]),
                provider=_optional_str(payload, "provider"),
                model=_optional_str(payload, "model"),
                system_prompt=_optional_str(payload, "system_prompt"),
                native=_native_from(payload.get("native", {})),
            )
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            raise SessionError(f"session file {source} is corrupt: {exc!r}") from exc
        if session.id != source.stem:
            raise SessionError(f"session file {source} holds the id {session.id!r} instead")
        return session


def _parse_time(raw: Any) -> datetime:
    """An ISO 8601 time; a hand-edited one without a zone is taken as UTC."""
    parsed = datetime.fromisoformat(raw)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _messages_from(raw: Any) -> list[Message]:
    """The ``messages`` list, each checked for shape before it is rebuilt."""
    if not isinstance(raw, list):
        raise TypeError(f"'messages' must be a list, not {type(raw).__name__}")
    return [_message_from(index, item) for index, item in enumerate(raw)]


def _message_from(index: int, raw: Any) -> Message:
    """One message; a shape the codec would trip over is a TypeError naming its index."""
    if not (
        isinstance(raw, dict)
        and _is_content(raw.get("content", []))
        and isinstance(raw.get("metadata") or {}, dict)
    ):
        raise TypeError(f"message {index} is not a message object")
    return Message.from_dict(raw)


def _is_content(content: Any) -> bool:
    """A string, or a list of block objects: the two forms a message's content takes."""
    if isinstance(content, list):
        return all(isinstance(block, dict) for block in content)
    return isinstance(content, str)


def _optional_str(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{key!r} must be a string or null")
    return value


def _native_from(raw: Any) -> dict[str, str]:
    """The provider -> native session id map; anything but strings to strings is refused."""
    if not isinstance(raw, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in raw.items()
    ):
        raise TypeError("'native' must map provider names to session ids")
    return dict(raw)


def _check_version(version: Any, source: Path) -> None:
    """Refuse a format this claif cannot read, telling a newer file from a broken one."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SessionError(f"session file {source} has an unknown format version {version!r}")
    if version > SESSION_FORMAT_VERSION:
        raise SessionError(
            f"session file {source} uses format version {version}, newer than the "
            f"{SESSION_FORMAT_VERSION} this claif reads: upgrade claif"
        )


@dataclass(frozen=True)
class SessionSummary:
    """One line of ``claif sessions list``; ``error`` says why a file could not be read."""

    id: str
    message_count: int
    updated: datetime
    error: str | None = None


def default_root() -> Path:
    """``$CLAIF_SESSIONS_DIR``, else ``sessions`` in the platform data dir."""
    override = os.environ.get(SESSIONS_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs  # deferred: only needed when no override is set

    return platformdirs.user_data_path("claif") / "sessions"


class SessionManager:
    """Load, save and append to sessions under one root folder."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def path_for(self, session_id: str) -> Path:
        """The session's file; an unsafe id is refused before any path is built."""
        try:
            validate_session_id(session_id)
        except ValidationError as exc:
            raise SessionError(f"invalid session id: {exc.message}") from exc
        return self.root / f"{session_id}.json"

    def load(self, session_id: str) -> Session:
        """The saved session; a missing one is a SessionError."""
        session = self._read(self.path_for(session_id))
        if session is None:
            raise SessionError(f"no session {session_id!r} in {self.root}")
        return session

    def get_or_create(self, session_id: str) -> Session:
        """The saved session, or a new empty one (not written until saved or appended to)."""
        path = self.path_for(session_id)
        return self._read(path) or Session(id=session_id)

    async def get_session(self, session_id: str) -> Session:
        """:meth:`get_or_create` in a worker thread, so an event loop never waits on the disk."""
        import anyio.to_thread  # deferred: importing claif.sessions stays cheap

        return await anyio.to_thread.run_sync(self.get_or_create, session_id)

    def save(self, session: Session) -> None:
        """Write the whole session, replacing the file; ``updated`` becomes now."""
        path = self.path_for(session.id)
        with self._lock(session.id):
            session.updated = _now()
            self._write(path, session)

    async def save_session(self, session: Session) -> None:
        """:meth:`save` in a worker thread, so an event loop never waits on the disk."""
        import anyio.to_thread  # deferred: importing claif.sessions stays cheap

        await anyio.to_thread.run_sync(self.save, session)

    def append(self, session_id: str, messages: Iterable[Message]) -> Session:
        """Add messages under the lock, so concurrent appends from other processes survive."""
        new = list(messages)
        return self._update(session_id, lambda session: session.messages.extend(new))

    def record_turn(
        self,
        session_id: str,
        messages: Sequence[Message],
        *,
        provider: str | None,
        model: str | None,
        system_prompt: str | None = None,
        native_id: str | None = None,
    ) -> Session:
        """Append one exchange and note who answered it, in one locked read-modify-write.

        ``provider``, ``model`` and ``system_prompt`` replace the stored ones when
        given; ``native_id`` (the backend's own session id) is kept under ``provider``.
        """
        if native_id is not None and not provider:
            raise ValidationError("a native session id needs its provider", field="provider")
        new = list(messages)

        def change(session: Session) -> None:
            session.messages.extend(new)
            session.provider = provider or session.provider
            session.model = model or session.model
            session.system_prompt = system_prompt or session.system_prompt
            if provider and native_id is not None:
                session.native[provider] = native_id

        return self._update(session_id, change)

    def delete(self, session_id: str) -> None:
        """Remove the session file; a missing session is a SessionError."""
        path = self.path_for(session_id)
        with self._lock(session_id):
            try:
                path.unlink()
            except FileNotFoundError as exc:
                raise SessionError(f"no session {session_id!r} in {self.root}") from exc

    def list(self) -> list[SessionSummary]:
        """Every saved session, newest first; an unreadable file is listed with its error."""
        if not self.root.is_dir():
            return []
        summaries = [self._summary(path) for path in self.root.glob("*.json")]
        return sorted(
            (summary for summary in summaries if summary is not None),
            key=lambda summary: summary.updated,
            reverse=True,
        )

    def _summary(self, path: Path) -> SessionSummary | None:
        try:
            validate_session_id(path.stem)
        except ValidationError:
            return None  # not a file this manager could have written
        try:
            session = self._read(path)
        except SessionError as exc:
            return SessionSummary(path.stem, 0, _mtime(path), error=exc.message)
        if session is not None:
            return SessionSummary(session.id, len(session.messages), session.updated)
        if path.is_symlink():
            return SessionSummary(path.stem, 0, _mtime(path), error=f"{path} links to nothing")
        return None  # deleted while we listed

    def _update(self, session_id: str, change: Callable[[Session], None]) -> Session:
        """Read (or start) the session, change it and write it back, all under its lock."""
        path = self.path_for(session_id)
        with self._lock(session_id):
            session = self._read(path) or Session(id=session_id)
            change(session)
            session.updated = _now()
            self._write(path, session)
        return session

    @contextmanager
    def _lock(self, session_id: str) -> Iterator[None]:
        """The session's lock; failing to take it is a SessionError naming the lock file."""
        lock_path = self.root / f"{session_id}.lock"
        with ExitStack() as stack:
            try:
                stack.enter_context(exclusive_lock(lock_path))
            except OSError as exc:
                raise SessionError(f"cannot lock {lock_path}: {exc.strerror or exc}") from exc
            yield

    @staticmethod
    def _read(path: Path) -> Session | None:
        try:
            raw = read_regular_file(path, max_bytes=MAX_SESSION_BYTES)
        except OSError as exc:
            raise SessionError(f"cannot read session file {path}: {exc.strerror or exc}") from exc
        if raw is None:
            return None
        try:
            payload = parse_json(raw)
        except ValueError as exc:
            raise SessionError(f"session file {path} is not valid JSON: {exc}") from exc
        return Session.from_dict(payload, source=path)

    @staticmethod
    def _write(path: Path, session: Session) -> None:
        # Serialise first: a message that cannot be encoded fails before the file is touched.
        try:
            data = json.dumps(session.to_dict(), ensure_ascii=False, indent=1).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise SessionError(f"session {session.id!r} cannot be saved as JSON: {exc}") from exc
        try:
            atomic_write(path, data + b"\n", mode=0o600)
        except OSError as exc:
            raise SessionError(f"cannot write session file {path}: {exc.strerror}") from exc


def _mtime(path: Path) -> datetime:
    """When ``path`` last changed (not following a symlink); the epoch if even that fails."""
    try:
        return datetime.fromtimestamp(path.lstat().st_mtime, timezone.utc)
    except (OSError, ValueError, OverflowError):
        return datetime.fromtimestamp(0, timezone.utc)


def history_options(options: ClaifOptions, session: Session) -> ClaifOptions:
    """Options whose ``history`` is the session's messages, then any history already given.

    This is how a continued session reaches a provider: as ordinary history.
    """
    return options.replace(history=(*session.messages, *options.history))
