"""The closed vocabulary of what a provider can do, and the check of options against it."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from ..common.errors import ValidationError
from ..common.options import ClaifOptions

__all__ = [
    "Capability",
    "capabilities_of",
    "check_options",
    "provider_name",
    "required_capabilities",
]


class Capability(str, enum.Enum):
    """One thing a provider can do; providers declare a set of these (or their strings)."""

    TEXT = "text"
    STREAMING = "streaming"
    TOOLS = "tools"
    VISION = "vision"
    SESSIONS = "sessions"
    SYSTEM_PROMPT = "system_prompt"
    MODELS = "models"


def parse_capabilities(
    values: Iterable[Capability | str], *, provider: str | None = None
) -> frozenset[Capability]:
    """Turn declared strings into Capabilities; an unknown word is a ValidationError."""
    if isinstance(values, Mapping | bytes) or not isinstance(values, Iterable):
        raise ValidationError(
            "capabilities must be a set of capability names, "
            f"not {type(values).__name__} {values!r:.60}",
            field="capabilities",
            provider=provider,
        )
    parsed: set[Capability] = set()
    for value in values:
        try:
            parsed.add(Capability(value))
        except ValueError as exc:
            known = ", ".join(sorted(item.value for item in Capability))
            raise ValidationError(
                f"unknown capability {value!r}; known: {known}",
                field="capabilities",
                provider=provider,
            ) from exc
    return frozenset(parsed)


def capabilities_of(provider: Any) -> frozenset[Capability]:
    """A provider's declared capabilities, read from the instance, property or class attribute."""
    declared = getattr(provider, "capabilities", ())
    if isinstance(declared, str):
        declared = (declared,)
    return parse_capabilities(declared, provider=provider_name(provider))


def required_capabilities(options: ClaifOptions | None) -> frozenset[Capability]:
    """What these options need beyond plain text."""
    if options is None:
        return frozenset()
    needed: set[Capability] = set()
    if options.images:
        needed.add(Capability.VISION)
    if options.tools:
        needed.add(Capability.TOOLS)
    if options.history or options.session_id or options.native_session_id:
        needed.add(Capability.SESSIONS)
    if options.system_prompt:
        needed.add(Capability.SYSTEM_PROMPT)
    return frozenset(needed)


def check_options(provider: Any, options: ClaifOptions | None) -> None:
    """Refuse options the provider cannot honour, naming the option and the capability.

    Besides capabilities, fields the provider lists in ``unsupported_options``
    must be unset, and ``extra`` is checked against what the provider declares:
    ``accepted_extras`` (None: any key passes through to the backend) and
    ``reserved_extras`` (keys the provider sets itself, which ``extra`` may not
    override).
    """
    if options is None:
        return
    if not isinstance(options, ClaifOptions):
        raise ValidationError(
            f"options must be ClaifOptions, got {type(options).__name__}",
            field="options",
            provider=provider_name(provider),
        )
    missing = required_capabilities(options) - capabilities_of(provider)
    if missing:
        words = ", ".join(sorted(item.value for item in missing))
        raise ValidationError(
            f"this provider lacks the capability {words} that the options ask for",
            field=_FIELD_FOR[min(missing, key=lambda item: item.value)],
            provider=provider_name(provider),
        )
    for field_name in sorted(getattr(provider, "unsupported_options", ())):
        if getattr(options, field_name, None) is not None:
            raise ValidationError(
                f"this provider cannot honour {field_name}: its backend has no way to take it",
                field=field_name,
                provider=provider_name(provider),
            )
    if options.extra:
        _check_extras(provider, options.extra)


def _check_extras(provider: Any, extra: dict[str, Any]) -> None:
    accepted = getattr(provider, "accepted_extras", None)
    reserved = getattr(provider, "reserved_extras", ())
    for key in sorted(extra):
        if key in reserved:
            raise ValidationError(
                f"extra key {key!r} collides with a field this provider sets itself; "
                "use the matching ClaifOptions field instead",
                field=f"extra.{key}",
                provider=provider_name(provider),
            )
        if accepted is not None and key not in accepted:
            known = ", ".join(sorted(accepted)) or "none"
            raise ValidationError(
                f"extra key {key!r} is not one this provider accepts (accepted: {known})",
                field=f"extra.{key}",
                provider=provider_name(provider),
            )


_FIELD_FOR = {
    Capability.VISION: "images",
    Capability.TOOLS: "tools",
    Capability.SESSIONS: "history",
    Capability.SYSTEM_PROMPT: "system_prompt",
}


def provider_name(provider: Any) -> str:
    """The provider's ``name`` (attribute or property), or its class name without one."""
    name = getattr(provider, "name", None)
    return name if isinstance(name, str) and name else type(provider).__name__
