"""Which bytes count as text: the ASCII fast path agrees with the Unicode rule."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from toyaudit.classify.fields import printable_text

_LAYOUT = str.maketrans("", "", "\r\n\t")


def _by_unicode_rule(raw: bytes) -> str | None:
    """The definition: UTF-8 whose characters, layout aside, are all printable."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.translate(_LAYOUT).isprintable() else None


def test_json_body_is_text() -> None:
    body = b'{"child": "Mia",\r\n\t"age": 7}'
    assert printable_text(body) == body.decode()


def test_control_and_delete_bytes_are_not_text() -> None:
    assert printable_text(b"name=Mia\x00") is None
    assert printable_text(b"name=Mia\x7f") is None
    assert printable_text(b"\x1b[31mred") is None


def test_non_ascii_text_takes_the_unicode_rule() -> None:
    assert printable_text("Zoë Müller".encode()) == "Zoë Müller"
    assert printable_text("Zoë\u200b".encode()) is None  # a zero-width space
    assert printable_text(b"\xff\xfe") is None


@given(st.binary(max_size=64))
def test_any_bytes_agree_with_the_unicode_rule(raw: bytes) -> None:
    assert printable_text(raw) == _by_unicode_rule(raw)


@given(st.text(max_size=64))
def test_any_text_agrees_with_the_unicode_rule(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    assert printable_text(raw) == _by_unicode_rule(raw)
