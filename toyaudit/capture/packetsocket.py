"""The packet recorder's capture socket: filter, opening, link type, kernel drops.

:func:`capture_filter` turns the toy's (and companion's) address into a BPF
filter; :func:`open_socket` opens scapy's listening socket on the interface
with that filter attached, so a missing privilege or libpcap surfaces at
once, as a :class:`~toyaudit.errors.CaptureError` worded by
:func:`sniffer_error`. :func:`read_drops` reads how many packets the kernel
dropped because the sniffer fell behind. The recorder that uses them is
:class:`~.sniffer.PacketRecorder`.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import re
import socket
import struct
import sys
from typing import Any

from toyaudit.errors import CaptureError

logger = logging.getLogger(__name__)

SOL_PACKET = 263
"""Linux socket level of AF_PACKET options (linux/socket.h)."""
PACKET_STATISTICS = 6
"""getsockopt option returning ``struct tpacket_stats`` (linux/if_packet.h)."""
_MAC = re.compile(r"^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$")


def capture_filter(toy: str, companion: str | None = None) -> str:
    """Return the BPF filter selecting the toy's packets (and the companion's).

    Each address is a MAC (``ether host``) or an IPv4/IPv6 address (``host``).
    Raises :class:`CaptureError` for anything else.
    """
    terms = [_host_term(address) for address in (toy, companion) if address]
    return " or ".join(terms)


def _host_term(address: str) -> str:
    text = address.strip().lower()
    if _MAC.match(text):
        return f"ether host {text.replace('-', ':')}"
    try:
        return f"host {ipaddress.ip_address(text)}"
    except ValueError:
        raise CaptureError(
            f"device address {address!r} is neither a MAC nor an IP address",
            "give the toy as a MAC (aa:bb:cc:dd:ee:ff) or an IP address",
        ) from None


def require_interface(interface: str) -> None:
    """Raise :class:`CaptureError` unless ``interface`` exists."""
    try:
        socket.if_nametoindex(interface)
    except OSError:
        raise CaptureError(
            f"network interface {interface!r} does not exist",
            "check its name with 'ip link' (Linux) or 'ifconfig' (macOS); for a "
            "hotspot it is the Wi-Fi interface the toy joined, e.g. wlan0",
        ) from None


def open_socket(interface: str, bpf: str) -> Any:
    """Open scapy's listening socket with the filter attached."""
    import scapy.layers.l2  # noqa: F401  (registers Ethernet for the link type)
    from scapy.data import ETH_P_ALL
    from scapy.interfaces import resolve_iface

    try:
        listen = resolve_iface(interface).l2listen()
        return listen(iface=interface, type=ETH_P_ALL, filter=bpf)
    except Exception as error:  # scapy raises plain Exceptions; sorted below
        raise sniffer_error(interface, error) from error


def link_type(capture_socket: Any) -> int:
    """The pcapng link type of the socket's frames (Ethernet when unknown)."""
    from scapy.config import conf
    from scapy.data import DLT_EN10MB

    link_layer: Any = getattr(capture_socket, "LL", None)
    return int(conf.l2types.layer2num.get(link_layer, DLT_EN10MB))


def read_drops(capture_socket: Any) -> int:
    """Packets the kernel dropped since the last read (Linux only, else 0).

    The kernel resets its counters on every read.
    """
    if sys.platform != "linux" or capture_socket is None:
        # TODO: read BIOCGSTATS on macOS; until then the user is not told
        # about packets the kernel dropped there.
        return 0
    try:
        raw = capture_socket.ins.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
    except (OSError, AttributeError, ValueError):
        return 0  # closed by scapy after a socket failure
    _seen, dropped = struct.unpack("II", raw)
    return int(dropped)


def sniffer_error(interface: str, error: BaseException | None) -> CaptureError:
    """Turn what scapy raised into a CaptureError with the fix."""
    text = str(error)
    if isinstance(error, PermissionError):
        return CaptureError(
            f"no permission to capture packets on {interface} (CAP_NET_RAW missing)",
            "run toyaudit capture with sudo; or grant cap_net_raw+eip with "
            "setcap, but only to a private copy of the Python interpreter, "
            "since every script that interpreter runs gets the right",
        )
    if "libpcap" in text:
        return CaptureError(
            f"cannot filter packets on {interface}: libpcap is not available",
            "install libpcap (Debian/Ubuntu: apt-get install libpcap0.8; "
            "Fedora: dnf install libpcap)",
        )
    if isinstance(error, OSError) and error.errno in (errno.ENODEV, errno.ENXIO):
        return CaptureError(
            f"network interface {interface!r} disappeared or is not usable",
            "check it with 'ip link' and that the hotspot is running",
        )
    return CaptureError(
        f"cannot capture on {interface}: {type(error).__name__}: {text}",
        "run again with -v for details; check the interface with 'ip link'",
    )
