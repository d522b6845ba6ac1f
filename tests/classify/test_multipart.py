"""multipart/form-data: parts, their headers, and the limits on reading them."""

from __future__ import annotations

from toyaudit.classify.multipart import Part, boundary_of, split_parts

_BOUNDARY = "----toyaudit7MA4YWxk"


def _body(parts: list[tuple[str, bytes]], newline: bytes = b"\r\n") -> bytes:
    """A body of parts given as (header lines, content), closed (RFC 2046)."""
    out = b""
    for headers, content in parts:
        head = headers.encode().replace(b"\n", newline)
        out += b"--" + _BOUNDARY.encode() + newline + head + newline * 2
        out += content + newline
    return out + b"--" + _BOUNDARY.encode() + b"--" + newline


_UPLOAD = [
    ('Content-Disposition: form-data; name="kid"', b"Mia"),
    (
        'Content-Disposition: form-data; name="voice"; filename="hi.wav"\n'
        "Content-Type: audio/wav; rate=16000",
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
    ),
]


def test_multipart_boundary_of_reads_quoted_and_bare_values() -> None:
    assert boundary_of(f'multipart/form-data; boundary="{_BOUNDARY}"') == _BOUNDARY
    assert boundary_of(f"multipart/form-data; boundary={_BOUNDARY}") == _BOUNDARY
    assert boundary_of("multipart/form-data") is None


def test_multipart_split_parts_reads_names_files_and_types() -> None:
    split = split_parts(_body(_UPLOAD), _BOUNDARY, 64, 1 << 20)

    assert split is not None
    assert split.parts == [
        Part("kid", None, "", b"Mia", 3),
        Part("voice", "hi.wav", "audio/wav", b"RIFF\x00\x00\x00\x00WAVEfmt ", 16),
    ]
    assert split.limit is None


def test_multipart_split_parts_accepts_bare_line_feeds() -> None:
    split = split_parts(_body(_UPLOAD, b"\n"), _BOUNDARY, 64, 1 << 20)

    assert split is not None
    assert [(part.name, part.content) for part in split.parts] == [
        ("kid", b"Mia"),
        ("voice", b"RIFF\x00\x00\x00\x00WAVEfmt "),
    ]


def test_multipart_cut_body_gives_its_last_part_to_the_end() -> None:
    body = _body(_UPLOAD)
    cut = body[: body.index(b"WAVE") + 4]

    split = split_parts(cut, _BOUNDARY, 64, 1 << 20)

    assert split is not None
    assert split.parts[-1].content == b"RIFF\x00\x00\x00\x00WAVE"


def test_multipart_part_limit_stops_reading_and_says_so() -> None:
    parts = [(f'Content-Disposition: form-data; name="p{n}"', b"x") for n in range(5)]

    split = split_parts(_body(parts), _BOUNDARY, 3, 1 << 20)

    assert split is not None
    assert [part.name for part in split.parts] == ["p0", "p1", "p2"]
    assert split.limit == "max_parts"


def test_multipart_content_is_cut_but_size_is_whole() -> None:
    parts = [('Content-Disposition: form-data; name="clip"', bytes(5000))]

    split = split_parts(_body(parts), _BOUNDARY, 64, 100)

    assert split is not None
    [part] = split.parts
    assert (len(part.content), part.size) == (100, 5000)


def test_multipart_body_without_its_boundary_is_refused() -> None:
    assert split_parts(b"name=Mia&age=7", _BOUNDARY, 64, 1 << 20) is None
