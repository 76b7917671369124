"""Saved conversations: one JSON file per session, safe against crashes and rivals.

Each session is ``<root>/<id>.json``; ``root`` is ``$CLAIF_SESSIONS_DIR`` or
``sessions`` in the platform data dir. Writes are atomic (temp file, fsync,
rename, fsync of the folder), so a reader never meets half a file. Every
read-modify-write holds a per-session lock (``<id>.lock``, flock or msvcrt), so
two processes appending at once never lose a message. Ids are checked by
:func:`claif.common.options.validate_session_id`, so none can leave ``root``.

File format (``version`` 1)::

    {"version": 1, "id": "...", "created": "<ISO 8601 UTC>", "updated": "...",
     "provider": null, "model": null, "messages": [<Message.to_dict()>, ...]}
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .common.errors import SessionError, ValidationError
from .common.options import ClaifOptions, validate_session_id
from .common.types import Message
from .fileio import atomic_write, exclusive_lock

__all__ = [
    "SESSIONS_ENV",
    "SESSION_FORMAT_VERSION",
    "Session",
    "SessionManager",
    "SessionSummary",
    "history_options",
]

SESSION_FORMAT_VERSION = 1
SESSIONS_ENV = "CLAIF_SESSIONS_DIR"


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Session:
    """One conversation: its messages in order, timestamps and what answered it."""

    id: str
    messages: list[Message] = field(default_factory=list)
    created: datetime = field(default_factory=_now)
    updated: datetime = field(default_factory=_now)
    provider: str | None = None
    model: str | None = None
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
                messages=[Message.from_dict(item) for item in payload["messages"]],
                created=_parse_time(payload["created"]),
                updated=_parse_time(payload["updated"]),
                provider=payload.get("provider"),
                model=payload.get("model"),
            )
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            raise SessionError(f"session file {source} is corrupt: {exc!r}") from exc
        if session.id != source.stem:
            raise SessionError(f"session file {source} holds the id {session.id!r} instead")
        return session


def _parse_time(raw: str) -> datetime:
    """An ISO 8601 time; a hand-edited one without a zone is taken as UTC."""
    parsed = datetime.fromisoformat(raw)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


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

    def __init__(self, root: Path | None = None) -> None:
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

    def save(self, session: Session) -> None:
        """Write the whole session, replacing the file; ``updated`` becomes now."""
        path = self.path_for(session.id)
        with self._lock(session.id):
            session.updated = _now()
            self._write(path, session)

    def append(self, session_id: str, messages: Iterable[Message]) -> Session:
        """Add messages under the lock, so concurrent appends from other processes survive."""
        path = self.path_for(session_id)
        new = list(messages)
        with self._lock(session_id):
            session = self._read(path) or Session(id=session_id)
            session.messages.extend(new)
            session.updated = _now()
            self._write(path, session)
        return session

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
            mtime = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            return SessionSummary(path.stem, 0, mtime, error=exc.message)
        if session is None:
            return None  # deleted while we listed
        return SessionSummary(session.id, len(session.messages), session.updated)

    def _lock(self, session_id: str) -> AbstractContextManager[None]:
        return exclusive_lock(self.root / f"{session_id}.lock")

    @staticmethod
    def _read(path: Path) -> Session | None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SessionError(f"cannot read session file {path}: {exc.strerror}") from exc
        try:
            payload = json.loads(raw)
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


def history_options(options: ClaifOptions, session: Session) -> ClaifOptions:
    """Options whose ``history`` is the session's messages, then any history already given.

    This is how a continued session reaches a provider: as ordinary history.
    """
    return options.replace(history=(*session.messages, *options.history))
