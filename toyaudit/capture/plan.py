"""Turn what the user asked for into a capture run with its recorders.

``toyaudit capture`` collects its options into a :class:`CaptureOptions`;
:func:`plan_capture` checks that they make sense together (packets need an
interface and a toy; transparent interception needs both too) and builds
the recorders and network changes, without starting anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from toyaudit import __version__
from toyaudit.capture.recorder import Recorder
from toyaudit.capture.run import CaptureRun, NetworkChanges
from toyaudit.capture.sessionfile import CaptureDescription
from toyaudit.errors import CaptureError
from toyaudit.session.records import Toy

logger = logging.getLogger(__name__)

PROXY_MODES = ("transparent", "wireguard", "regular", "off")
"""How HTTPS is intercepted; see docs/capture-guide.md for when to use which."""


@dataclass(frozen=True, slots=True)
class CaptureOptions:
    """Everything ``toyaudit capture`` was told, before anything starts."""

    folder: Path
    interface: str | None = None
    """The Wi-Fi hotspot interface the toy is connected to."""
    toy: str | None = None
    """The toy's MAC or IP address on that interface."""
    phone: str | None = None
    """The companion phone's MAC or IP, to record its traffic too."""
    proxy_mode: str = "off"
    proxy_port: int | None = None
    """mitmdump's port; default 8080, or UDP 51820 in WireGuard mode."""
    ble: bool = False
    ble_device: str | None = None
    ble_all: bool = False
    """Record every Bluetooth device in range, not just the toy (a shielded lab)."""
    ble_connect: bool = False
    ble_allow_writes: bool = False
    ble_adapter: str = "hci0"
    duration: float | None = None
    persona: Path | None = None
    toy_name: str = "unnamed toy"
    vendor: str = ""
    vendor_domains: tuple[str, ...] = ()
    captured_by: str = ""
    ca_installed: bool = False
    """The user installed the capture's CA on the device (phone apps only)."""
    mitmdump: Path | None = None
    confdir: Path | None = None
    proxy_options: tuple[str, ...] = field(default=())
    """Extra ``--set name=value`` options for mitmdump (for labs and tests)."""


def plan_capture(options: CaptureOptions) -> CaptureRun:
    """Check the options and build the run, its recorders and network changes."""
    _check(options)
    recorders: list[Recorder] = []
    network: NetworkChanges | None = None
    if options.interface is not None and options.toy is not None:
        recorders.append(_packet_recorder(options))
    if options.proxy_mode != "off":
        recorders.append(_proxy_recorder(options))
        if options.proxy_mode == "transparent":
            network = _transparent_changes(options)
    if options.ble:
        recorders.append(_ble_recorder(options))
    if not recorders:
        raise CaptureError(
            "nothing to capture: no interface and toy, no proxy and no Bluetooth",
            "give --interface and --toy, --proxy, or --ble",
        )
    return CaptureRun(
        options.folder,
        _description(options),
        recorders,
        persona=options.persona,
        network=network,
        duration=options.duration,
    )


def _check(options: CaptureOptions) -> None:
    if options.proxy_mode not in PROXY_MODES:
        raise CaptureError(
            f"--proxy {options.proxy_mode!r} is not a proxy mode",
            "use one of: " + ", ".join(PROXY_MODES),
        )
    if (options.interface is None) != (options.toy is None):
        raise CaptureError(
            "recording packets needs both --interface and --toy",
            "give the hotspot interface (see 'ip link') and the toy's MAC or IP",
        )
    if options.phone is not None and options.interface is None:
        raise CaptureError(
            "--phone records the phone's packets beside the toy's, which needs "
            "--interface and --toy",
            "give them too, or leave out --phone (with --proxy wireguard the "
            "phone app's HTTPS is recorded without it)",
        )
    if options.proxy_mode == "transparent" and options.interface is None:
        raise CaptureError(
            "transparent interception needs --interface and --toy",
            "give them, or use --proxy wireguard for a phone app",
        )
    if options.ble_allow_writes and not options.ble_connect:
        raise CaptureError(
            "--ble-allow-writes needs --ble-connect", "add --ble-connect"
        )
    if (
        options.ble_connect or options.ble_device or options.ble_all
    ) and not options.ble:
        raise CaptureError("Bluetooth options need --ble", "add --ble")
    if options.ble and options.ble_device is None and not options.ble_all:
        # household privacy: the neighbours' phones, watches and cars advertise too
        raise CaptureError(
            "--ble needs the toy's Bluetooth name or address (--ble-device), so "
            "that only the toy is recorded",
            "the app or the box usually shows its name; 'bluetoothctl scan le' "
            "lists what is in range; --ble-all records every device instead",
        )
    if options.duration is not None and options.duration <= 0:
        raise CaptureError("--duration must be positive", "give seconds, e.g. 600")


def _description(options: CaptureOptions) -> CaptureDescription:
    settings: dict[str, object] = {
        "toyaudit_version": __version__,
        "interface": options.interface,
        "toy": options.toy,
        "phone": options.phone,
        "proxy_mode": options.proxy_mode,
        "ble": options.ble,
        "ble_device": options.ble_device,
        "ble_all": options.ble_all or None,
        "ble_connect": options.ble_connect,
        "ble_allow_writes": options.ble_allow_writes,
        "ble_adapter": options.ble_adapter if options.ble else None,
        "ca_installed_on_device": options.ca_installed,
    }
    return CaptureDescription(
        toy=Toy(name=options.toy_name, vendor=options.vendor),
        first_party_domains=options.vendor_domains,
        captured_by=options.captured_by,
        settings={key: value for key, value in settings.items() if value is not None},
    )


def _packet_recorder(options: CaptureOptions) -> Recorder:
    from toyaudit.capture.sniffer import PacketRecorder

    assert options.interface is not None and options.toy is not None  # noqa: S101
    return PacketRecorder(options.folder, options.interface, options.toy, options.phone)


def _proxy_recorder(options: CaptureOptions) -> Recorder:
    from toyaudit.capture.proxy import ProxyRecorder

    return ProxyRecorder(
        options.folder,
        options.proxy_mode,
        listen_port=options.proxy_port,
        confdir=options.confdir,
        mitmdump=options.mitmdump,
        extra_options=options.proxy_options,
    )


def _transparent_changes(options: CaptureOptions) -> NetworkChanges:
    from toyaudit.capture.netsetup import NetworkChanges as Changes
    from toyaudit.capture.netsetup import plan_transparent
    from toyaudit.capture.proxy import ProxyMode

    assert options.interface is not None and options.toy is not None  # noqa: S101
    port = options.proxy_port or ProxyMode.TRANSPARENT.default_port
    plan = plan_transparent(options.folder.name, options.interface, options.toy, port)
    return Changes(options.folder, plan)


def _ble_recorder(options: CaptureOptions) -> Recorder:
    from toyaudit.capture.ble import BleRecorder

    return BleRecorder(
        options.folder,
        target=options.ble_device,
        connect=options.ble_connect,
        allow_writes=options.ble_allow_writes,
        adapter=options.ble_adapter,
    )
