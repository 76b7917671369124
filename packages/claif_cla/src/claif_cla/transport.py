"""The anthropic SDK, held at arm's length: imported lazily, its errors mapped in one place.

``import anthropic`` takes one to two seconds, so nothing imports this module
until a provider connects. One ``AsyncAnthropic`` per provider instance, with
``max_retries=0``: core's loop is the only retry loop. The SDK runs on
``httpx2``; no httpx object is ever handed to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from claif.common.errors import (
    AuthenticationError,
    ClaifError,
    ConfigurationError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    TransportError,
    ValidationError,
    parse_retry_after,
)

from .client import error_event
from .types import PROVIDER_NAME, ClaudeSettings

if TYPE_CHECKING:
    import anthropic

__all__ = ["SdkClient", "error_from_sdk", "load_sdk"]

INSTALL_HINT = "pip install 'anthropic>=2,<3'"


def load_sdk() -> Any:
    """The anthropic module; missing, a ConfigurationError with the pip command."""
    try:
        import anthropic
    except ImportError as exc:
        raise ConfigurationError(
            f"the anthropic SDK is not installed: {INSTALL_HINT}", provider=PROVIDER_NAME
        ) from exc
    return anthropic


class SdkClient:
    """One ``AsyncAnthropic`` for one provider instance."""

    def __init__(self, settings: ClaudeSettings) -> None:
        sdk = load_sdk()
        import httpx2

        self.sdk = sdk
        self.client: anthropic.AsyncAnthropic = sdk.AsyncAnthropic(
            api_key=settings.api_key.reveal(),
            base_url=settings.base_url,
            max_retries=0,
            timeout=httpx2.Timeout(settings.idle_timeout, connect=settings.connect_timeout),
        )

    async def aclose(self) -> None:
        await self.client.close()

    async def create(self, request: dict[str, Any], timeout: float | None) -> Any:
        """A whole reply (``stream=False``)."""
        try:
            return await self.client.messages.create(**request, **_timeout(timeout))
        except Exception as exc:
            raise error_from_sdk(exc) from exc

    async def open_stream(self, request: dict[str, Any], timeout: float | None) -> Any:
        """The SDK's raw event stream (close it when done); a refused request is a claif error.

        Errors while iterating it go through :func:`error_from_sdk` with ``reading=True``
        at the caller, which iterates it directly: one async hop less per event.
        """
        try:
            return await self.client.messages.create(**request, stream=True, **_timeout(timeout))
        except Exception as exc:
            raise error_from_sdk(exc) from exc


def _timeout(timeout: float | None) -> dict[str, Any]:
    return {} if timeout is None else {"timeout": timeout}


def error_from_sdk(exc: BaseException, *, reading: bool = False) -> ClaifError:
    """Every exception the SDK (or httpx2 under it) raises, as the matching claif error.

    ``reading``: raised while the stream was being read, where a ValueError is
    an event the SDK could not parse, not a request it refused.
    """
    if isinstance(exc, ClaifError):
        return exc
    if reading and isinstance(exc, ValueError | KeyError | AttributeError | TypeError):
        return TransportError(
            f"the API sent an event that cannot be read: {type(exc).__name__}: {exc}",
            provider=PROVIDER_NAME,
        )
    import anthropic
    import httpx2

    if isinstance(exc, anthropic.APIStatusError):
        return _from_status(exc)
    if isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException):
        return TransportError(f"the API did not answer in time: {exc}", provider=PROVIDER_NAME)
    if isinstance(exc, anthropic.APIConnectionError | httpx2.TransportError):
        cause = exc.__cause__ or exc
        return TransportError(
            f"cannot reach the API: {type(cause).__name__}: {cause}", provider=PROVIDER_NAME
        )
    if isinstance(exc, anthropic.APIResponseValidationError):
        return TransportError(
            f"the API sent a reply of the wrong shape: {exc}", provider=PROVIDER_NAME
        )
    if isinstance(exc, TypeError) and "authentication" in str(exc):
        return ConfigurationError(str(exc), provider=PROVIDER_NAME)
    if isinstance(exc, anthropic.AnthropicError | ValueError | TypeError):
        return ValidationError(f"the SDK refused the request: {exc}", provider=PROVIDER_NAME)
    return ProviderError(f"the SDK failed: {type(exc).__name__}: {exc}", provider=PROVIDER_NAME)


def _from_status(exc: Any) -> ClaifError:
    status = exc.status_code
    message = getattr(exc, "api_message", None) or getattr(exc, "message", None) or str(exc)
    if status == 200:  # an `event: error` inside the stream
        return error_event(str(getattr(exc, "type", None) or "error"), str(message))
    kwargs: dict[str, Any] = {"provider": PROVIDER_NAME, "status": status}
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    if status in (401, 403):
        return AuthenticationError(f"authentication failed: {message}", **kwargs)
    if status == 404:
        return NotFoundError(f"not found: {message}", **kwargs)
    if status == 429:
        return RateLimitError(
            f"rate limited: {message}", retry_after=parse_retry_after(dict(headers)), **kwargs
        )
    retryable = status in (408, 409) or status >= 500
    error = ProviderError(f"backend error: {message}", retryable=retryable, **kwargs)
    if retryable:
        error.retry_after = parse_retry_after(dict(headers))
    return error
