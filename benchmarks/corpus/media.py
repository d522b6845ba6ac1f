"""Small media files with correct signatures, for uploads and downloads.

Each file starts the way its format specifies (the bytes a file(1)-style
sniffer or a content rule looks at) and continues with seeded noise; none is
playable, none needs to be. Formats are the ones the issue names: WAV,
Ogg/Opus, MP3, AMR, FLAC, AAC (ADTS), M4A, WebM, JPEG, PNG, HEIC, GIF,
WebP and MP4.
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MediaKind:
    """A media format: its content type, a file name extension and its category."""

    name: str
    content_type: str
    extension: str
    category: str
    """``voice-recording`` for audio, ``image`` for pictures and video."""
    build: Callable[[random.Random], bytes]


def _box(kind: bytes, body: bytes) -> bytes:
    """An ISO base media file format box (ISO/IEC 14496-12 section 4.2)."""
    return struct.pack(">I", 8 + len(body)) + kind + body


def _ftyp(brand: bytes, compatible: bytes) -> bytes:
    return _box(b"ftyp", brand + struct.pack(">I", 0) + compatible)


def wav(rng: random.Random) -> bytes:
    """RIFF/WAVE, 16 kHz 16-bit mono PCM, a quarter second."""
    pcm = rng.randbytes(8000)
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    chunks = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    chunks += b"data" + struct.pack("<I", len(pcm)) + pcm
    return b"RIFF" + struct.pack("<I", len(chunks)) + chunks


def ogg_opus(rng: random.Random) -> bytes:
    """An Ogg page (RFC 3533) holding the OpusHead packet (RFC 7845), then audio."""
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 16000, 0, 0)
    page = b"OggS" + bytes([0, 2]) + struct.pack("<qIII", 0, rng.getrandbits(32), 0, 0)
    page += bytes([1, len(head)]) + head
    return page + b"OggS" + bytes([0, 0]) + rng.randbytes(1200)


def mp3(rng: random.Random) -> bytes:
    """An ID3v2.4 tag, then MPEG-1 Layer III frame headers (ISO/IEC 11172-3)."""
    tag = b"ID3" + bytes([4, 0, 0, 0, 0, 0, 0])
    frame = b"\xff\xfb\x90\x64" + rng.randbytes(413)
    return tag + frame * 4


def amr(rng: random.Random) -> bytes:
    """AMR narrow-band storage format (RFC 4867 section 5): '#!AMR\\n', frames."""
    return b"#!AMR\n" + (b"\x3c" + rng.randbytes(31)) * 10


def flac(rng: random.Random) -> bytes:
    """'fLaC' and a STREAMINFO block (xiph.org FLAC format), then frames."""
    info = struct.pack(">HH", 4096, 4096) + rng.randbytes(30)
    return b"fLaC" + b"\x80\x00\x00\x22" + info + rng.randbytes(600)


def aac(rng: random.Random) -> bytes:
    """Raw AAC in ADTS frames (ISO/IEC 13818-7): sync word 0xFFF, MPEG-4, LC."""
    header = b"\xff\xf1\x50\x80\x05\x9f\xfc"
    return (header + rng.randbytes(37)) * 8


def m4a(rng: random.Random) -> bytes:
    """An MPEG-4 audio file: ftyp 'M4A ', then a media data box."""
    return _ftyp(b"M4A ", b"M4A isommp42") + _box(b"mdat", rng.randbytes(900))


def _element(element_id: bytes, body: bytes) -> bytes:
    """An EBML element (RFC 8794 section 4): its id, a one-byte size, its body."""
    return element_id + bytes([0x80 | len(body)]) + body


def _webm(rng: random.Random, track_type: int, codec: bytes, settings: bytes) -> bytes:
    """A WebM file (RFC 9559) as a recorder writes it: EBML header, then a
    Segment of unknown size holding Info, Tracks with one track, and a
    Cluster of noise. A reader learns what it holds from the Tracks element:
    TrackType (1 video, 2 audio) and CodecID (section 5.1.4.1.4)."""
    header = _element(
        b"\x1a\x45\xdf\xa3",
        _element(b"\x42\x86", b"\x01") + _element(b"\x42\x82", b"webm"),
    )
    info = _element(
        b"\x15\x49\xa9\x66",
        _element(b"\x2a\xd7\xb1", b"\x0f\x42\x40")
        + _element(b"\x4d\x80", b"ToyRecorder"),
    )
    entry = (
        _element(b"\xd7", b"\x01")
        + _element(b"\x73\xc5", rng.randbytes(4))
        + _element(b"\x83", bytes([track_type]))
        + _element(b"\x86", codec)
        + settings
    )
    tracks = _element(b"\x16\x54\xae\x6b", _element(b"\xae", entry))
    segment = b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff"
    cluster = b"\x1f\x43\xb6\x75\x01\xff\xff\xff\xff\xff\xff\xff"
    return header + segment + info + tracks + cluster + rng.randbytes(1100)


def webm_audio(rng: random.Random) -> bytes:
    """A WebM recording with one Opus audio track, 48 kHz mono."""
    audio = _element(
        b"\xe1",
        _element(b"\xb5", struct.pack(">f", 48000.0)) + _element(b"\x9f", b"\x01"),
    )
    return _webm(rng, 2, b"A_OPUS", audio)


def webm_video(rng: random.Random) -> bytes:
    """A WebM video with one VP8 video track, 640x480."""
    video = _element(
        b"\xe0",
        _element(b"\xb0", struct.pack(">H", 640))
        + _element(b"\xba", struct.pack(">H", 480)),
    )
    return _webm(rng, 1, b"V_VP8", video)


def jpeg(rng: random.Random) -> bytes:
    """JFIF: SOI, APP0 'JFIF', then entropy-coded noise and EOI (ITU T.81)."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + b"\xff\xda" + rng.randbytes(1500) + b"\xff\xd9"


def png(rng: random.Random) -> bytes:
    """The PNG signature and an IHDR chunk with its CRC (ISO/IEC 15948)."""
    ihdr = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
    crc = zlib.crc32(b"IHDR" + ihdr)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", crc)
    return b"\x89PNG\r\n\x1a\n" + chunk + rng.randbytes(1200)


def heic(rng: random.Random) -> bytes:
    """A HEIF image (ISO/IEC 23008-12): ftyp 'heic', then a meta box."""
    return _ftyp(b"heic", b"mif1heic") + _box(b"meta", rng.randbytes(1000))


def gif(rng: random.Random) -> bytes:
    """GIF89a header and logical screen descriptor, then image data."""
    return b"GIF89a" + struct.pack("<HH", 64, 64) + b"\xf7\x00\x00" + rng.randbytes(900)


def webp(rng: random.Random) -> bytes:
    """RIFF/WEBP with a lossy 'VP8 ' chunk (Google WebP container spec)."""
    vp8 = rng.randbytes(900)
    chunks = b"WEBP" + b"VP8 " + struct.pack("<I", len(vp8)) + vp8
    return b"RIFF" + struct.pack("<I", len(chunks)) + chunks


def mp4(rng: random.Random) -> bytes:
    """An MPEG-4 video: ftyp 'isom', then a media data box."""
    return _ftyp(b"isom", b"isomiso2avc1mp41") + _box(b"mdat", rng.randbytes(1500))


AUDIO = (
    MediaKind("WAV", "audio/wav", "wav", "voice-recording", wav),
    MediaKind("Ogg/Opus", "audio/ogg", "opus", "voice-recording", ogg_opus),
    MediaKind("MP3", "audio/mpeg", "mp3", "voice-recording", mp3),
    MediaKind("AMR", "audio/amr", "amr", "voice-recording", amr),
    MediaKind("FLAC", "audio/flac", "flac", "voice-recording", flac),
    MediaKind("AAC", "audio/aac", "aac", "voice-recording", aac),
    MediaKind("M4A", "audio/mp4", "m4a", "voice-recording", m4a),
    MediaKind("WebM audio", "audio/webm", "webm", "voice-recording", webm_audio),
)
"""Recordings a toy's microphone produces."""

PICTURES = (
    MediaKind("JPEG", "image/jpeg", "jpg", "image", jpeg),
    MediaKind("PNG", "image/png", "png", "image", png),
    MediaKind("HEIC", "image/heic", "heic", "image", heic),
    MediaKind("GIF", "image/gif", "gif", "image", gif),
    MediaKind("WebP", "image/webp", "webp", "image", webp),
    MediaKind("MP4 video", "video/mp4", "mp4", "image", mp4),
    MediaKind("WebM video", "video/webm", "webm", "image", webm_video),
)
"""Photos and videos a toy's camera (or the app) produces; video counts as
``image``, whose label in rules/categories.yaml is "photos or videos"."""
