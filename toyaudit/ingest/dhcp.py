"""Read what a device says about itself in DHCP requests.

Before it can talk, a toy asks for an address (RFC 2131), and in doing so
names itself: its hardware address, often a host name (option 12) and a
vendor class (option 60) that give away maker and firmware. Only messages a
client sends (BOOTREQUEST, op 1) are read.

Options follow RFC 2132: pad (0) and end (255) have no length; option 52
("overload") says that the ``file`` and/or ``sname`` header fields hold more
options, read after the options field in that order (RFC 2131 §4.1); an
option split into several instances is joined (RFC 3396). Every length is
bounds-checked, and a message whose fixed header is cut short is not read.
"""

from __future__ import annotations

import logging
import socket
from typing import NamedTuple

logger = logging.getLogger(__name__)

SERVER_PORT = 67
CLIENT_PORT = 68
MAGIC_COOKIE = b"\x63\x82\x53\x63"
"""First four bytes of the options field (RFC 2131 §3)."""

_BOOTREQUEST = 1
_ETHERNET = 1
_OPTIONS = 240
_SNAME = slice(44, 108)
_FILE = slice(108, 236)
_PAD = 0
_END = 255
_MESSAGE_TYPE = 53
_HOST_NAME = 12
_VENDOR_CLASS = 60
_REQUESTED_ADDRESS = 50
_OVERLOAD = 52


class DhcpRequest(NamedTuple):
    """The fields of a client's DHCP message the audit looks at."""

    client_mac: str
    message_type: int
    host_name: str | None
    vendor_class: str | None
    requested_address: str | None


def parse_dhcp(payload: bytes) -> DhcpRequest | None:
    """Read a client's DHCP (or BOOTP) message; None for replies and junk."""
    if len(payload) < _OPTIONS or payload[0] != _BOOTREQUEST:
        return None
    if payload[236:240] != MAGIC_COOKIE:
        return None
    options = _options(payload)
    address_length = min(payload[2], 16)
    hardware = payload[28 : 28 + address_length]
    if payload[1] == _ETHERNET and address_length == 6:
        client_mac = ":".join(f"{byte:02x}" for byte in hardware)
    else:
        client_mac = hardware.hex(":")
    message_type = options.get(_MESSAGE_TYPE, b"")
    requested = options.get(_REQUESTED_ADDRESS, b"")
    return DhcpRequest(
        client_mac=client_mac,
        message_type=message_type[0] if message_type else 0,
        host_name=_text(options.get(_HOST_NAME)),
        vendor_class=_text(options.get(_VENDOR_CLASS)),
        requested_address=socket.inet_ntoa(requested) if len(requested) == 4 else None,
    )


def _options(payload: bytes) -> dict[int, bytes]:
    """Every option of the message, instances of one code joined (RFC 3396)."""
    options: dict[int, bytes] = {}
    _read_area(payload[_OPTIONS:], options)
    overload = options.get(_OVERLOAD, b"\x00")[0]
    if overload & 1:
        _read_area(payload[_FILE], options)
    if overload & 2:
        _read_area(payload[_SNAME], options)
    return options


def _read_area(area: bytes, options: dict[int, bytes]) -> None:
    """Read code-length-value options from one area until end or its last byte."""
    position = 0
    while position < len(area):
        code = area[position]
        if code == _END:
            return
        if code == _PAD:
            position += 1
            continue
        if position + 1 >= len(area):
            logger.debug("DHCP option %d has no length byte", code)
            return
        length = area[position + 1]
        value = area[position + 2 : position + 2 + length]
        if len(value) < length:
            logger.debug("DHCP option %d runs past the end of its area", code)
            return
        options[code] = options.get(code, b"") + value
        position += 2 + length


def _text(value: bytes | None) -> str | None:
    """An option's bytes as text, without the NUL padding some clients add."""
    if value is None:
        return None
    return value.rstrip(b"\x00").decode("utf-8", "backslashreplace")
