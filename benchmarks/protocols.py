"""Payload bytes for the protocols :mod:`toyaudit.synthmessages` does not build.

MQTT 3.1.1 control packets (OASIS standard, section 3), RTP voice packets
(RFC 3550 section 5.1, G.711 payload type 0 of RFC 3551), SSDP discovery
messages (UPnP Device Architecture 2.0, section 1.3) and NTP client requests
(RFC 5905 section 7.3). Only the fields a reader looks at are meaningful;
the rest is fixed or seeded noise.
"""

from __future__ import annotations

import random
import struct

_MQTT_CONNECT = 0x10
_MQTT_CONNACK = 0x20
_MQTT_PUBLISH = 0x30
_MQTT_PINGREQ = 0xC0
_MQTT_PINGRESP = 0xD0
_MQTT_DISCONNECT = 0xE0
_MQTT_LEVEL_3_1_1 = 4
_MQTT_USERNAME_PASSWORD_CLEAN = 0xC2  # username, password and clean-session flags
_RTP_VERSION_2 = 0x80
_RTP_PCMU = 0
RTP_SAMPLES_PER_PACKET = 160
"""20 ms of G.711 at 8 kHz: one byte per sample."""
_NTP_V4_CLIENT = 0x23  # leap 0, version 4, mode 3 (client)


def _remaining_length(length: int) -> bytes:
    """MQTT's variable-length integer: 7 bits a byte, high bit = more (§1.5.5)."""
    encoded = bytearray()
    while True:
        length, digit = divmod(length, 128)
        encoded.append(digit | (0x80 if length else 0))
        if not length:
            return bytes(encoded)


def _mqtt_string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(raw)) + raw


def _mqtt_packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + _remaining_length(len(body)) + body


def mqtt_connect(client_id: str, username: str, password: str) -> bytes:
    """CONNECT with a client id, username and password, keep-alive 60 s (§3.1)."""
    header = _mqtt_string("MQTT") + bytes(
        [_MQTT_LEVEL_3_1_1, _MQTT_USERNAME_PASSWORD_CLEAN]
    )
    header += struct.pack("!H", 60)
    payload = _mqtt_string(client_id) + _mqtt_string(username) + _mqtt_string(password)
    return _mqtt_packet(_MQTT_CONNECT, header + payload)


def mqtt_connack() -> bytes:
    """CONNACK: no session present, connection accepted (§3.2)."""
    return _mqtt_packet(_MQTT_CONNACK, b"\x00\x00")


def mqtt_publish(topic: str, payload: bytes) -> bytes:
    """PUBLISH at QoS 0, which carries no packet identifier (§3.3)."""
    return _mqtt_packet(_MQTT_PUBLISH, _mqtt_string(topic) + payload)


def mqtt_ping() -> tuple[bytes, bytes]:
    """PINGREQ and its PINGRESP (§3.12, §3.13)."""
    return _mqtt_packet(_MQTT_PINGREQ, b""), _mqtt_packet(_MQTT_PINGRESP, b"")


def mqtt_disconnect() -> bytes:
    """DISCONNECT (§3.14)."""
    return _mqtt_packet(_MQTT_DISCONNECT, b"")


def rtp_packet(
    rng: random.Random, sequence: int, timestamp: int, ssrc: int, marker: bool
) -> bytes:
    """One RTP packet of 20 ms of G.711 mu-law noise (RFC 3550 §5.1)."""
    second_byte = (0x80 if marker else 0) | _RTP_PCMU
    header = struct.pack(
        "!BBHII",
        _RTP_VERSION_2,
        second_byte,
        sequence & 0xFFFF,
        timestamp & 0xFFFFFFFF,
        ssrc,
    )
    return header + rng.randbytes(RTP_SAMPLES_PER_PACKET)


def ssdp_search(target: str) -> bytes:
    """An M-SEARCH a phone app multicasts to find devices (UDA 2.0 §1.3.2)."""
    lines = (
        "M-SEARCH * HTTP/1.1",
        "HOST: 239.255.255.250:1900",
        'MAN: "ssdp:discover"',
        "MX: 2",
        f"ST: {target}",
    )
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def ssdp_notify(location: str, device_uuid: str, server: str) -> bytes:
    """A NOTIFY ssdp:alive a device multicasts to announce itself (§1.2.2)."""
    lines = (
        "NOTIFY * HTTP/1.1",
        "HOST: 239.255.255.250:1900",
        "CACHE-CONTROL: max-age=1800",
        f"LOCATION: {location}",
        "NT: upnp:rootdevice",
        "NTS: ssdp:alive",
        f"SERVER: {server}",
        f"USN: uuid:{device_uuid}::upnp:rootdevice",
    )
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def ntp_request(rng: random.Random, transmit_seconds: int) -> bytes:
    """A 48-byte NTPv4 client request with its transmit timestamp set."""
    fraction = rng.getrandbits(32)
    return (
        bytes([_NTP_V4_CLIENT])
        + b"\x00" * 39
        + struct.pack("!II", transmit_seconds & 0xFFFFFFFF, fraction)
    )
