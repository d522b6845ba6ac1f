"""Say what an unrecognised payload looks like: text, compressed, media, ciphertext.

A toy may talk a protocol toyaudit does not parse: a vendor's binary
protocol over TCP, audio over UDP. Such bytes still matter to an audit: a
plaintext stream can be searched for personal data, a WAV file shows the
toy records its surroundings, and high-entropy bytes without a known format
are most likely encrypted. :func:`classify_payload` decides from a bounded
sample, in this order:

1. magic bytes of a known container (compressed archives, audio, video,
   images), which give the ``media_type``;
2. the share of printable characters (ASCII, or UTF-8 that decodes): 90 % or
   more means plaintext;
3. Shannon entropy over the sample, with the Miller–Madow correction so that
   a short sample of random bytes is not mistaken for structured data:
   7.2 bits per byte or more, with no magic, means encrypted (or random);
4. anything else is an unknown binary protocol.

Brotli has no magic number, so a brotli body without its HTTP header looks
encrypted; that is the one known confusion.

:class:`RawStreamReader` applies this to one direction of a TCP stream of no
recognised protocol, keeping at most :data:`SAMPLE_LIMIT` bytes.
"""

from __future__ import annotations

import codecs
import math
from collections import Counter
from typing import Protocol

from toyaudit.ingest.records import PayloadKind
from toyaudit.ingest.streambuf import StreamBuffer

SAMPLE_LIMIT = 64 << 10
"""Bytes kept per stream direction (or UDP flow window) for classification."""
ENTROPY_SAMPLE = 8 << 10
"""Bytes the entropy and printable share are measured over."""
ENCRYPTED_ENTROPY = 7.2
"""Bits per byte from which a payload without magic counts as encrypted."""
PRINTABLE_SHARE = 0.9
"""Share of printable characters from which a payload counts as plaintext."""
MIN_ENTROPY_SAMPLE = 32
"""Fewer bytes than this are too few to call encrypted."""

_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\n\r"
_LN2 = math.log(2)

_PREFIXES: tuple[tuple[bytes, PayloadKind, str], ...] = (
    (b"\x1f\x8b", PayloadKind.COMPRESSED, "application/gzip"),
    (b"PK\x03\x04", PayloadKind.COMPRESSED, "application/zip"),
    (b"\x28\xb5\x2f\xfd", PayloadKind.COMPRESSED, "application/zstd"),
    (b"OggS", PayloadKind.MEDIA, "audio/ogg"),
    (b"ID3", PayloadKind.MEDIA, "audio/mpeg"),
    (b"fLaC", PayloadKind.MEDIA, "audio/flac"),
    (b"#!AMR", PayloadKind.MEDIA, "audio/amr"),
    (b"\x1a\x45\xdf\xa3", PayloadKind.MEDIA, "video/webm"),
    (b"\xff\xd8\xff", PayloadKind.MEDIA, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", PayloadKind.MEDIA, "image/png"),
    (b"GIF87a", PayloadKind.MEDIA, "image/gif"),
    (b"GIF89a", PayloadKind.MEDIA, "image/gif"),
)
"""Magic numbers at offset 0 (file(1) magic, the formats' own specifications)."""

_RIFF_FORMATS = {
    b"WAVE": "audio/wav",
    b"WEBP": "image/webp",
    b"AVI ": "video/x-msvideo",
}
_FTYP_BRANDS = {
    b"M4A ": "audio/mp4",
    b"M4B ": "audio/mp4",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"avif": "image/avif",
    b"3gp4": "video/3gpp",
    b"3gp5": "video/3gpp",
}


def classify_payload(sample: bytes | bytearray) -> tuple[PayloadKind, str | None]:
    """Return (kind, media type or None) for the first bytes of a payload."""
    magic = media_type(sample)
    if magic is not None:
        return magic
    window = bytes(sample[:ENTROPY_SAMPLE])
    if not window:
        return PayloadKind.BINARY, None
    if printable_share(window) >= PRINTABLE_SHARE:
        return PayloadKind.PLAINTEXT, None
    if len(window) >= MIN_ENTROPY_SAMPLE and entropy(window) >= ENCRYPTED_ENTROPY:
        return PayloadKind.ENCRYPTED, None
    return PayloadKind.BINARY, None


def media_type(sample: bytes | bytearray) -> tuple[PayloadKind, str] | None:
    """(kind, media type) when the payload starts with a known magic number."""
    head = bytes(sample[:16])
    for prefix, kind, media in _PREFIXES:
        if head.startswith(prefix):
            return kind, media
    if head[:4] == b"RIFF" and head[8:12] in _RIFF_FORMATS:
        return PayloadKind.MEDIA, _RIFF_FORMATS[head[8:12]]
    if head[4:8] == b"ftyp":
        return PayloadKind.MEDIA, _FTYP_BRANDS.get(head[8:12], "video/mp4")
    if len(head) >= 2 and head[0] == 0x78 and (head[0] << 8 | head[1]) % 31 == 0:
        return PayloadKind.COMPRESSED, "application/zlib"  # RFC 1950 §2.2 FCHECK
    if len(head) >= 3 and head[0] == 0xFF:
        return _audio_frame(head)
    return None


def _audio_frame(head: bytes) -> tuple[PayloadKind, str] | None:
    """AAC (ADTS) or MPEG audio from a frame header's sync word and fields."""
    second, third = head[1], head[2]
    if second & 0xF6 == 0xF0 and (third >> 2) & 0x0F < 13:
        return PayloadKind.MEDIA, "audio/aac"  # ADTS: sync, layer 0, rate index
    if second & 0xE0 == 0xE0 and second & 0x06 and third >> 4 != 0x0F:
        if third & 0x0C != 0x0C:  # layer, bitrate and sampling rate are valid
            return PayloadKind.MEDIA, "audio/mpeg"
    return None


def printable_share(window: bytes) -> float:
    """Share of bytes that are printable text (ASCII, or UTF-8 that decodes)."""
    unprintable = window.translate(None, _PRINTABLE)
    if not unprintable:
        return 1.0
    if min(unprintable) >= 0x80:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(window, final=False)
        except UnicodeDecodeError:
            pass
        else:
            return 1.0
    return 1 - len(unprintable) / len(window)


def entropy(window: bytes) -> float:
    """Shannon entropy in bits per byte, Miller–Madow corrected, at most 8."""
    total = len(window)
    counts = Counter(window).values()
    shannon = -sum(count * math.log2(count / total) for count in counts) / total
    correction = (len(counts) - 1) / (2 * total * _LN2)
    return min(8.0, shannon + correction)


class RawSink(Protocol):
    """Where a :class:`RawStreamReader` delivers its verdict."""

    def add_raw(
        self,
        side: int,
        sample: bytes,
        size: int,
        frames: list[int],
        verdict: tuple[PayloadKind, str | None],
    ) -> None:
        """One stream direction of no known protocol, classified."""


class RawStreamReader:
    """Counts and samples one TCP stream direction of no recognised protocol.

    The first :data:`SAMPLE_LIMIT` bytes are kept (with the frames that carried
    them); later bytes are counted and dropped. The verdict is delivered once,
    when the stream ends.
    """

    alive = True

    def __init__(self, sink: RawSink, side: int) -> None:
        self.sink = sink
        self.side = side
        self.sample = bytearray()
        self.frames: list[int] = []
        self.size = 0
        self.done = False

    def feed(self, buffer: StreamBuffer) -> None:
        """Sample what fits, count the rest."""
        room = SAMPLE_LIMIT - len(self.sample)
        if room > 0:
            piece = buffer.take(room, self.frames)
            self.sample += piece
            self.size += len(piece)
        rest = len(buffer.data)
        if rest:
            buffer.take(rest)
            self.size += rest

    def gap(self) -> None:
        """Lost bytes change nothing: the sample and the count go on."""

    def close(self) -> None:
        """Classify the sample and deliver it."""
        if self.done or not self.size:
            return
        self.done = True
        verdict = classify_payload(self.sample)
        self.sink.add_raw(
            self.side, bytes(self.sample), self.size, self.frames, verdict
        )
