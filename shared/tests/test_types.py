"""Messages, blocks and options."""

from __future__ import annotations

from pathlib import Path

import pytest

from claif.common import ClaifOptions, ValidationError
from claif.common.types import (
    ImageBlock,
    Message,
    Role,
    TextBlock,
    Tool,
    ToolResultBlock,
    ToolUseBlock,
    make_usage,
)
from claif.testing.conformance import TINY_PNG

from .test_fileio import finishes, link_to_dev_zero, make_fifo, make_sparse, posix_only


def test_str_content_becomes_one_text_block():
    """Message('user', 'hi') holds a single TextBlock."""
    message = Message(Role.USER, "hi")
    assert message.content == [TextBlock("hi")]
    assert message.text == "hi"


def test_unknown_role_is_a_validation_error():
    """A role outside the enum names the field."""
    with pytest.raises(ValidationError) as info:
        Message("wizard", "hi")
    assert info.value.field == "role"


def test_message_round_trips_through_dict():
    """Every block kind survives to_dict and from_dict."""
    message = Message(
        Role.ASSISTANT,
        [
            TextBlock("a"),
            ImageBlock(TINY_PNG, "image/png"),
            ToolUseBlock("calc", {"expression": "1+1"}, id="t1"),
            ToolResultBlock("calc", 2, tool_use_id="t1"),
        ],
        {"model": "m"},
    )
    assert Message.from_dict(message.to_dict()) == message


def test_usage_total_is_derived():
    """make_usage computes the total so it can never disagree."""
    assert make_usage(3, 4) == {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}


def test_image_from_path_sniffs_type(tmp_path: Path):
    """The media type comes from the file's magic bytes, not its name."""
    path = tmp_path / "picture.jpg"
    path.write_bytes(TINY_PNG)
    image = ImageBlock.from_path(path)
    assert image.media_type == "image/png"
    assert image.data_url().startswith("data:image/png;base64,")


def test_image_refuses_non_image(tmp_path: Path):
    """A text file is not accepted as an image."""
    path = tmp_path / "notes.png"
    path.write_text("hello")
    with pytest.raises(ValidationError, match="not a PNG"):
        ImageBlock.from_path(path)


def test_image_size_limit(tmp_path: Path):
    """An image over the limit is refused before it is read."""
    path = tmp_path / "big.png"
    path.write_bytes(TINY_PNG + b"\0" * 100)
    with pytest.raises(ValidationError, match="over the"):
        ImageBlock.from_path(path, max_bytes=50)


def test_missing_image_names_the_path(tmp_path: Path):
    """An image path with nothing there is a ValidationError naming the path and field."""
    with pytest.raises(ValidationError, match="no such file") as info:
        ImageBlock.from_path(tmp_path / "gone.png")
    assert str(tmp_path / "gone.png") in str(info.value)
    assert info.value.field == "images"


@posix_only
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (make_fifo, "not a regular file"),
        (link_to_dev_zero, "character device"),
        (make_sparse, "over the"),
        (lambda path: path.mkdir(), "not a regular file"),
    ],
)
def test_hostile_image_path_is_refused_quickly(tmp_path: Path, make, reason):
    """A FIFO, /dev/zero, a 100 GiB sparse file or a folder as image is refused, never read."""
    path = tmp_path / "image.png"
    make(path)
    error = finishes(lambda: ImageBlock.from_path(path))
    assert isinstance(error, ValidationError), error
    assert error.field == "images"
    assert reason in str(error)
    assert str(path) in str(error)


def test_image_repr_hides_bytes():
    """The repr shows type and size, not megabytes of data."""
    assert (
        repr(ImageBlock(TINY_PNG, "image/png"))
        == f"ImageBlock(media_type='image/png', size={len(TINY_PNG)})"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", -0.1),
        ("temperature", 2.5),
        ("temperature", "hot"),
        ("max_tokens", 0),
        ("max_tokens", -5),
        ("max_tokens", 1.5),
        ("timeout", 0),
        ("timeout", float("nan")),
        ("max_retries", -1),
        ("stream", "yes"),
        ("model", 3),
        ("session_id", "../x"),
    ],
)
def test_options_refuse_bad_values_naming_the_field(field, value):
    """Each bad option raises ValidationError whose field names it."""
    with pytest.raises(ValidationError) as info:
        ClaifOptions(**{field: value})
    assert info.value.field == field


def test_options_unknown_image_file(tmp_path: Path):
    """An image path that does not exist is refused when options are built."""
    with pytest.raises(ValidationError) as info:
        ClaifOptions(images=[tmp_path / "missing.png"])
    assert info.value.field == "images"


def test_options_load_images(tmp_path: Path):
    """Image paths become ImageBlocks on construction."""
    path = tmp_path / "a.png"
    path.write_bytes(TINY_PNG)
    options = ClaifOptions(images=[path])
    assert options.image_blocks == (ImageBlock(TINY_PNG, "image/png"),)


def test_options_refuse_duplicate_tool_names():
    """Two tools with one name would be ambiguous to the model."""
    tool = Tool("t", "d", {"type": "object"})
    with pytest.raises(ValidationError, match="unique"):
        ClaifOptions(tools=[tool, tool])


def test_tool_schema_must_be_object():
    """A tool's parameters must be an object schema."""
    with pytest.raises(ValidationError):
        Tool("t", "d", {"type": "string"})


def test_replace_validates_again():
    """replace() re-runs validation."""
    with pytest.raises(ValidationError):
        ClaifOptions().replace(temperature=9)
