"""ClaudeProvider and the real SDK against the fake API: what the suite does not check."""

from __future__ import annotations

import inspect
import subprocess
import sys

import anthropic
import httpx2
import pytest

from claif.common.errors import (
    AuthenticationError,
    ClaifError,
    ConfigurationError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    TransportError,
    ValidationError,
)
from claif.common.options import ClaifOptions
from claif_cla import ClaudeProvider
from claif_cla.testing import HARNESS_KEY, Failure, FakeAnthropic, Script
from claif_cla.transport import error_from_sdk

pytestmark = pytest.mark.anyio

ONCE = ClaifOptions(max_retries=0, timeout=20)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def provider_for(api: FakeAnthropic):
    """Providers on the fake, each disconnected (its SDK client closed) after the test."""
    made: list[ClaudeProvider] = []

    def make(api: FakeAnthropic = api, **settings) -> ClaudeProvider:
        made.append(ClaudeProvider(**{"api_key": HARNESS_KEY, "base_url": api.url, **settings}))
        return made[-1]

    yield make
    for provider in made:
        await provider.disconnect()


async def drain(provider: ClaudeProvider, prompt: str = "hi", **options):
    return [m async for m in provider.query(prompt, ONCE.replace(**options))]


def sdk_exception_classes() -> list[type[BaseException]]:
    """Every exception class the SDK exports."""
    return sorted(
        {
            value
            for name in dir(anthropic)
            if inspect.isclass(value := getattr(anthropic, name))
            and issubclass(value, BaseException)
            and value.__module__.startswith("anthropic")
        },
        key=lambda cls: cls.__name__,
    )


def instance_of(cls: type[BaseException]) -> BaseException:
    """An instance built the way the SDK builds it, whatever its constructor needs."""
    request = httpx2.Request("POST", "http://127.0.0.1/v1/messages")
    if issubclass(cls, anthropic.APIStatusError):
        status = getattr(cls, "status_code", None) or 418
        response = httpx2.Response(status if isinstance(status, int) else 418, request=request)
        return cls("boom", response=response, body=None)
    if issubclass(cls, anthropic.APIResponseValidationError):
        return cls(response=httpx2.Response(200, request=request), body=None)
    if issubclass(cls, anthropic.APIConnectionError):
        return cls(request=request)
    if issubclass(cls, anthropic.APIError):
        return cls("boom", request, body=None)
    try:
        return cls("boom")
    except TypeError:
        return cls.__new__(cls)


@pytest.mark.parametrize("cls", sdk_exception_classes(), ids=lambda cls: cls.__name__)
def test_every_sdk_exception_has_a_mapping(cls):
    """Each exception class the SDK exports becomes a claif error (never escapes as itself)."""
    mapped = error_from_sdk(instance_of(cls))
    assert isinstance(mapped, ClaifError)
    assert mapped.provider == "claude"


@pytest.mark.parametrize(
    ("status", "kind", "error"),
    [
        (400, "invalid_request_error", ProviderError),
        (401, "authentication_error", AuthenticationError),
        (403, "permission_error", AuthenticationError),
        (404, "not_found_error", NotFoundError),
        (429, "rate_limit_error", RateLimitError),
        (500, "api_error", ProviderError),
        (529, "overloaded_error", ProviderError),
    ],
)
async def test_statuses_keep_status_and_message(
    api: FakeAnthropic, provider_for, status, kind, error
):
    """The status picks the class; the API's own message and the status are kept."""
    api.enqueue(Failure(status, kind, f"the {kind} words"))
    with pytest.raises(error) as caught:
        await drain(provider_for())
    assert caught.value.status == status
    assert f"the {kind} words" in str(caught.value)
    assert isinstance(caught.value.__cause__, anthropic.APIStatusError)
    assert caught.value.retryable == (status >= 500 or status == 429)


@pytest.mark.parametrize(
    ("kind", "error", "retryable"),
    [
        ("overloaded_error", ProviderError, True),
        ("rate_limit_error", RateLimitError, True),
        ("authentication_error", AuthenticationError, False),
        ("invalid_request_error", ProviderError, False),
    ],
)
async def test_an_error_event_under_status_200_is_classed_by_its_type(
    api: FakeAnthropic, provider_for, kind, error, retryable
):
    """The SDK raises a bare APIStatusError(200) for `event: error`; its type decides here."""
    api.enqueue(Script(text=("part",), error_event=kind))
    with pytest.raises(error) as caught:
        await drain(provider_for())
    assert type(caught.value) is error
    assert caught.value.retryable is retryable


async def test_temperature_goes_in_the_body_and_the_sdk_retries_never(
    api: FakeAnthropic, provider_for
):
    """temperature reaches the API (through extra_body); a 529 is asked once (max_retries=0)."""
    await drain(provider_for(), temperature=0.3)
    assert api.message_requests()[-1]["temperature"] == 0.3
    api.enqueue(Failure(529, "overloaded_error"))
    with pytest.raises(ProviderError):
        await drain(provider_for())
    assert len(api.message_requests()) == 2


async def test_max_tokens_has_a_default_and_thinking_goes_to_metadata(
    api: FakeAnthropic, provider_for
):
    """The API requires max_tokens: the setting's default is sent; thinking is not text."""
    api.enqueue(Script(text=("answer",), thinking="let me think"))
    messages = await drain(provider_for(max_tokens=321))
    assert api.message_requests()[-1]["max_tokens"] == 321
    assert "".join(m.text for m in messages) == "answer"
    assert messages[-1].metadata["reasoning"] == "let me think"
    assert messages[-1].metadata["stop_reason"] == "end_turn"


async def test_a_max_tokens_stop_is_finish_reason_length(api: FakeAnthropic, provider_for):
    api.enqueue(Script(text=("cut sh",), stop_reason="max_tokens"))
    messages = await drain(provider_for())
    assert messages[-1].metadata["finish_reason"] == "length"


async def test_not_streamed_reply_with_a_tool_call(api: FakeAnthropic, provider_for):
    """stream=False uses the whole-reply endpoint: text and tool call in one Message."""
    api.enqueue(Script(text=("Let me look.",), tool=("lookup", {"q": "x"}), stop_reason="tool_use"))
    (message,) = await drain(provider_for(), stream=False)
    assert message.text == "Let me look."
    assert message.tool_uses[0].parameters == {"q": "x"}
    assert message.metadata["finish_reason"] == "tool_use"
    assert message.metadata["usage"]["input_tokens"] == 12


async def test_no_key_is_a_configuration_error(api: FakeAnthropic, provider_for):
    """Without a key anywhere, the error says where to put one; nothing is sent."""
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        await drain(provider_for(api_key=None))
    assert api.message_requests() == []


async def test_a_bad_base_url_is_refused(api: FakeAnthropic, provider_for):
    with pytest.raises(ConfigurationError, match="base_url"):
        await drain(provider_for(base_url="ftp://x"))


async def test_models_and_health(api: FakeAnthropic, provider_for):
    provider = provider_for()
    assert await provider.models() == ["claude-fake-1"]
    report = await provider.health()
    assert report.ok
    assert "lists 1 models" in report.detail
    await provider.disconnect()


async def test_a_refused_connection_is_a_transport_error(provider_for):
    from claif.testing.http import closed_port

    provider = provider_for(base_url=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(TransportError, match="cannot reach"):
        await drain(provider)


def test_listing_providers_never_imports_the_sdk():
    """`claif providers` (and claif-cla --help) run without importing anthropic."""
    code = (
        "import sys\n"
        "sys.argv = ['claif', 'providers']\n"
        "from claif.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.argv = ['claif-cla', '--help']\n"
        "from claif_cla.cli import main as cla\n"
        "try:\n    cla()\nexcept SystemExit:\n    pass\n"
        "print('anthropic' in sys.modules, 'httpx2' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "claude" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "False False"


def test_a_missing_sdk_gives_the_pip_command():
    """With anthropic unimportable, connecting says how to install it."""
    code = (
        "import sys, anyio\n"
        "sys.modules['anthropic'] = None\n"
        "from claif_cla import ClaudeProvider\n"
        "async def main():\n"
        "    try:\n        await ClaudeProvider(api_key='k').connect()\n"
        "    except Exception as e:\n        print(type(e).__name__, e)\n"
        "anyio.run(main)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("ConfigurationError")
    assert "pip install 'anthropic>=2,<3'" in done.stdout


def test_validation_error_class_is_used_for_refused_requests():
    """A request the SDK refuses before sending (its ValueError) is a ValidationError."""
    assert isinstance(error_from_sdk(ValueError("max_tokens too large")), ValidationError)
