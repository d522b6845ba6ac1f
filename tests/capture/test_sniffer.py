"""PacketRecorder on a real veth pair: filtering, live file, failures.

A namespace plays the toy: it sends UDP datagrams from its own address and,
on the same wire, raw frames from another MAC and IP address (a second
device on the hotspot) that the BPF filter must leave out. The recorder
runs on the host end. Privilege and libpcap failures are produced for real
in child processes (capabilities dropped with setpriv, libpcap hidden in a
private mount namespace); the full disk is a 64 KiB tmpfs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path

import pytest

from tests.capture.netns import (
    VethNamespace,
    create_veth_namespace,
    delete_veth_namespace,
    require_root_tools,
    run_checked,
)
from toyaudit.capture.sniffer import PCAPNG_FILE, PacketRecorder, capture_filter
from toyaudit.errors import CaptureError
from toyaudit.ingest.coverage import Coverage
from toyaudit.ingest.pcapfile import read_frames

TOY_MAC = "02:00:00:00:77:02"
"""MAC of the toy's end of the veth pair."""
OTHER_MAC = "02:00:00:00:99:03"
"""Source MAC of the second device, whose frames the filter must drop."""

TRAFFIC = r"""
import socket, struct, sys

iface, toy_ip, host_ip, host_mac, other_mac, other_ip, count, size = sys.argv[1:9]
count, size = int(count), int(size)

def checksum(header):
    total = sum(struct.unpack("!10H", header))
    total = (total & 0xFFFF) + (total >> 16)
    return ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF

def frame(payload):
    udp = struct.pack("!HHHH", 40000, 9, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     socket.inet_aton(other_ip), socket.inet_aton(host_ip))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    mac = lambda text: bytes.fromhex(text.replace(":", ""))
    return mac(host_mac) + mac(other_mac) + b"\x08\x00" + ip + udp

toy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
toy.bind((toy_ip, 0))
other = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
other.bind((iface, 0))
for number in range(count):
    padding = b"." * max(0, size - 12)
    toy.sendto(b"toy-%04d" % number + padding, (host_ip, 9))
    other.send(frame(b"other-%04d" % number))
"""

START = r"""
import json, sys
from pathlib import Path
from toyaudit.capture.sniffer import PacketRecorder
from toyaudit.errors import CaptureError

recorder = PacketRecorder(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
try:
    recorder.start()
except CaptureError as error:
    print(json.dumps({"message": error.message, "hint": error.hint}))
    sys.exit(7)
recorder.stop()
print(json.dumps({"started": True}))
"""


@pytest.fixture
def lab() -> Iterator[VethNamespace]:
    """A toy namespace joined to the host by a veth pair; deleted afterwards."""
    require_root_tools()
    lab = create_veth_namespace("tys", inner_mac=TOY_MAC)
    try:
        yield lab
    finally:
        delete_veth_namespace(lab)


@pytest.fixture
def recorders() -> Iterator[list[PacketRecorder]]:
    """Recorders a test started; stopped afterwards even when it fails."""
    started: list[PacketRecorder] = []
    yield started
    for recorder in started:
        recorder.stop()


def send_traffic(lab: VethNamespace, count: int = 5, size: int = 12) -> None:
    """Send ``count`` toy datagrams and ``count`` frames from the other device."""
    lab.run(
        sys.executable,
        "-c",
        TRAFFIC,
        lab.inner_interface,
        lab.inner_address,
        lab.host_address,
        lab.host_mac,
        OTHER_MAC,
        lab.host_address.rsplit(".", 1)[0] + ".3",
        str(count),
        str(size),
    )


def frames_in(path: Path) -> tuple[list[bytes], Coverage]:
    """Read every frame of a capture file with toyaudit's own reader."""
    coverage = Coverage()
    content = path.read_bytes()
    frames = [
        frame[3]
        for frame in read_frames(BytesIO(content), path.name, coverage, len(content))
    ]
    return frames, coverage


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``condition`` every 50 ms until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def toy_frames(path: Path) -> list[bytes]:
    """Frames the toy sent with one of its datagrams (not the ICMP errors
    quoting them on the way back)."""
    toy_mac = bytes.fromhex(TOY_MAC.replace(":", ""))
    frames = frames_in(path)[0]
    return [frame for frame in frames if frame[6:12] == toy_mac and b"toy-" in frame]


def test_capture_filter_selects_mac_ip_and_companion() -> None:
    assert capture_filter("02:00:00:00:77:02") == "ether host 02:00:00:00:77:02"
    assert capture_filter("02-00-00-00-77-0A") == "ether host 02:00:00:00:77:0a"
    assert capture_filter("10.42.0.17", "fd00::5") == "host 10.42.0.17 or host fd00::5"
    with pytest.raises(CaptureError, match="neither a MAC nor an IP"):
        capture_filter("toybear.local")


def test_packet_recorder_keeps_only_the_toys_packets_readable_while_running(
    lab: VethNamespace, tmp_path: Path, recorders: list[PacketRecorder]
) -> None:
    recorder = PacketRecorder(tmp_path, lab.host_interface, lab.inner_mac)
    recorders.append(recorder)
    recorder.start()
    send_traffic(lab, count=5)

    path = tmp_path / PCAPNG_FILE
    assert wait_for(lambda: len(toy_frames(path)) == 5), "toy packets not on disk"
    assert recorder.status().running
    stopped_at = time.monotonic()
    status = recorder.stop()

    assert time.monotonic() - stopped_at < 3
    frames, coverage = frames_in(path)
    assert coverage.problems == []
    assert not [frame for frame in frames if b"other-" in frame]
    toy_mac = bytes.fromhex(lab.inner_mac.replace(":", ""))
    assert all(toy_mac in (frame[:6], frame[6:12]) for frame in frames)
    assert path.stat().st_mode & 0o777 == 0o600
    assert status.counts["packets"] == len(frames)
    assert status.counts["dropped"] == 0
    assert status.counts["bytes"] == sum(len(frame) for frame in frames)
    assert (status.running, status.failure, status.files) == (
        False,
        None,
        (PCAPNG_FILE,),
    )


def test_packet_recorder_keeps_the_interface_name(
    lab: VethNamespace, tmp_path: Path, recorders: list[PacketRecorder]
) -> None:
    from scapy.utils import rdpcap

    recorder = PacketRecorder(tmp_path, lab.host_interface, lab.inner_address)
    recorders.append(recorder)
    recorder.start()
    send_traffic(lab, count=2)
    assert wait_for(lambda: len(toy_frames(tmp_path / PCAPNG_FILE)) == 2)
    recorder.stop()

    packets = rdpcap(str(tmp_path / PCAPNG_FILE))
    assert {packet.sniffed_on for packet in packets} == {lab.host_interface}


def test_packet_recorder_writes_a_valid_empty_file_before_any_packet(
    lab: VethNamespace, tmp_path: Path, recorders: list[PacketRecorder]
) -> None:
    recorder = PacketRecorder(tmp_path, lab.host_interface, "02:00:00:00:55:55")
    recorders.append(recorder)
    recorder.start()

    frames, coverage = frames_in(tmp_path / PCAPNG_FILE)
    assert (frames, coverage.problems) == ([], [])
    assert recorder.stop().counts == {"packets": 0, "bytes": 0, "dropped": 0}
    assert recorder.stop().running is False  # idempotent


def test_packet_recorder_missing_interface_raises_with_ip_link_hint(
    tmp_path: Path,
) -> None:
    recorder = PacketRecorder(tmp_path, "toyaudit-none0", "02:00:00:00:77:02")

    with pytest.raises(CaptureError) as raised:
        recorder.start()
    assert "'toyaudit-none0' does not exist" in raised.value.message
    assert "ip link" in raised.value.hint
    assert not (tmp_path / PCAPNG_FILE).exists()
    assert recorder.stop().running is False


def test_packet_recorder_refuses_to_overwrite_a_capture(
    lab: VethNamespace, tmp_path: Path
) -> None:
    (tmp_path / PCAPNG_FILE).write_bytes(b"earlier evidence")
    recorder = PacketRecorder(tmp_path, lab.host_interface, lab.inner_mac)

    with pytest.raises(CaptureError, match="cannot create"):
        recorder.start()
    assert (tmp_path / PCAPNG_FILE).read_bytes() == b"earlier evidence"


def run_start_child(prefix: list[str], folder: Path, interface: str) -> dict[str, str]:
    """Start a recorder in a child process; return what it printed."""
    completed = subprocess.run(
        [*prefix, sys.executable, "-c", START, str(folder), interface, "10.0.0.9"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 7, completed.stderr
    reply: dict[str, str] = json.loads(completed.stdout)
    return reply


def test_packet_recorder_without_cap_net_raw_names_sudo(
    lab: VethNamespace, tmp_path: Path
) -> None:
    require_root_tools("setpriv")
    drop = ["setpriv", "--bounding-set", "-net_raw", "--"]

    reply = run_start_child(drop, tmp_path, lab.host_interface)

    assert "CAP_NET_RAW" in reply["message"]
    assert lab.host_interface in reply["message"]
    assert "sudo" in reply["hint"] and "setcap" in reply["hint"]


def test_packet_recorder_without_libpcap_names_the_package(
    lab: VethNamespace, tmp_path: Path
) -> None:
    require_root_tools("unshare", "mount")
    # In a private mount namespace the linker cache is empty and PATH holds no
    # compiler, so ctypes cannot find libpcap: a host without libpcap0.8.
    hide = 'mount --bind /dev/null /etc/ld.so.cache && PATH=/nonexistent exec "$@"'
    prefix = ["unshare", "--mount", "--propagation", "private", "sh", "-c", hide, "-"]

    reply = run_start_child(prefix, tmp_path, lab.host_interface)

    assert "libpcap is not available" in reply["message"]
    assert "libpcap0.8" in reply["hint"]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs, unmounted afterwards."""
    require_root_tools("mount", "umount")
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    run_checked(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)])
    try:
        yield mount_point
    finally:
        run_checked(["umount", "-l", str(mount_point)], check=False)


def test_packet_recorder_full_disk_fails_and_keeps_whole_packets(
    lab: VethNamespace, tiny_disk: Path, recorders: list[PacketRecorder]
) -> None:
    recorder = PacketRecorder(tiny_disk, lab.host_interface, lab.inner_mac)
    recorders.append(recorder)
    recorder.start()
    send_traffic(lab, count=80, size=1400)

    assert wait_for(lambda: recorder.status().failure is not None)
    status = recorder.status()
    assert status.failure is not None
    assert status.failure.startswith("disk full while writing traffic.pcapng")
    assert wait_for(lambda: not recorder.status().running, timeout=3)

    frames, coverage = frames_in(tiny_disk / PCAPNG_FILE)
    assert coverage.problems == []  # ends exactly after its last whole packet
    assert len(frames) > 10
    assert (tiny_disk / PCAPNG_FILE).stat().st_size <= 64 * 1024
    assert recorder.stop().counts["packets"] == len(frames)
    assert f"first {len(frames)} packets" in status.failure


def test_packet_recorder_reports_an_interface_that_goes_away(
    lab: VethNamespace, tmp_path: Path, recorders: list[PacketRecorder]
) -> None:
    recorder = PacketRecorder(tmp_path, lab.host_interface, lab.inner_mac)
    recorders.append(recorder)
    recorder.start()
    send_traffic(lab, count=2)
    assert wait_for(lambda: len(toy_frames(tmp_path / PCAPNG_FILE)) == 2)

    delete_veth_namespace(lab)

    assert wait_for(lambda: recorder.status().failure is not None)
    status = recorder.status()
    assert status.failure is not None and lab.host_interface in status.failure
    assert not status.running
    assert len(toy_frames(tmp_path / PCAPNG_FILE)) == 2
