"""A bleak backend that replays a recorded ``ble.jsonl`` session.

:func:`replay_backend` turns a recording (tests/capture/recorded/) into the
scanner, client and adapter monitor a :class:`~toyaudit.capture.ble.BleRecorder`
takes as its ``backend``: real subclasses of bleak's ``BaseBleakScanner``
and ``BaseBleakClient``, driven by bleak's own ``BleakScanner`` and
``BleakClient`` (capture-notes section 3.3, item 1). What reaches the
backend (connections, reads, writes, subscriptions, pairing requests) is
kept in a :class:`ReplayLog` for the tests to check.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError

from toyaudit.capture.bleplatform import BleBackend

RECORDED = Path(__file__).parent / "recorded"
ADVERTISEMENT_GAP = 0.005
"""Seconds between two replayed advertisements."""


@dataclass
class Recording:
    """A recorded session, split into what the scanner and the client serve."""

    advertisements: list[dict[str, Any]]
    table: list[dict[str, Any]]
    values: dict[int, bytes] = field(default_factory=dict)
    read_errors: dict[int, int] = field(default_factory=dict)
    write_errors: dict[int, int] = field(default_factory=dict)
    notifications: dict[int, list[bytes]] = field(default_factory=dict)


def load_recording(path: Path) -> Recording:
    """Read a recorded ble.jsonl; a missing file fails the test."""
    lines = [json.loads(text) for text in path.read_text("utf-8").splitlines() if text]
    recording = Recording(
        advertisements=[line for line in lines if line["type"] == "advertisement"],
        table=[line for line in lines if line["type"] == "characteristic"],
    )
    for line in lines:
        if line["type"] != "gatt":
            continue
        handle, value = line["handle"], bytes.fromhex(line["value"])
        if line["operation"] == "read":
            recording.values[handle] = value
        elif line["operation"] in ("notify", "indicate"):
            recording.notifications.setdefault(handle, []).append(value)
        elif line["operation"] == "error" and line["request"] == "read":
            recording.read_errors[handle] = line["error_code"]
        elif line["operation"] == "error" and line["request"] == "write":
            recording.write_errors[handle] = line["error_code"]
    return recording


@dataclass
class ReplayLog:
    """What reached the replayed backend, in order."""

    connections: list[str] = field(default_factory=list)
    reads: list[int] = field(default_factory=list)
    writes: list[tuple[int, bytes, bool]] = field(default_factory=list)
    """(handle, value, with response) of every characteristic write."""
    descriptor_writes: list[int] = field(default_factory=list)
    subscriptions: list[int] = field(default_factory=list)
    pairings: int = 0
    lost: asyncio.Event | None = None
    """Set when the replayed adapter disappears; made by the monitor."""


class ReplayScanner(BaseBleakScanner):
    """Replays the recording's advertisements once scanning starts."""

    recording: ClassVar[Recording]
    log: ClassVar[ReplayLog]
    lose_adapter_after: ClassVar[int | None] = None
    start_error: ClassVar[BaseException | None] = None
    gap: ClassVar[float] = ADVERTISEMENT_GAP
    hang_on_stop: ClassVar[bool] = False

    def __init__(
        self,
        detection_callback: Callable[[BLEDevice, AdvertisementData], None] | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Fail as configured, or start replaying."""
        if self.start_error is not None:
            raise self.start_error
        self._task = asyncio.create_task(self._replay())

    async def stop(self) -> None:
        """Stop replaying, or hang as a stuck stack would."""
        if self.hang_on_stop:
            await asyncio.Event().wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _replay(self) -> None:
        for number, line in enumerate(self.recording.advertisements):
            if number == self.lose_adapter_after and self.log.lost is not None:
                self.log.lost.set()
                return
            await asyncio.sleep(self.gap)
            device, advertisement = _advertised(line)
            seen = self.create_or_update_device(
                device.address,
                device.address,
                device.name,
                device.details,
                advertisement,
            )
            self.call_detection_callbacks(seen, advertisement)


def _advertised(line: dict[str, Any]) -> tuple[BLEDevice, AdvertisementData]:
    """A device and advertisement shaped as BlueZ gives them to bleak."""
    properties = {"Address": line["address"], "AddressType": line["address_type"]}
    details = {"path": f"/replay/{line['address']}", "props": properties}
    advertisement = AdvertisementData(
        local_name=line["name"],
        manufacturer_data={
            int(key, 16): bytes.fromhex(value)
            for key, value in line["manufacturer_data"].items()
        },
        service_data={
            key: bytes.fromhex(value) for key, value in line["service_data"].items()
        },
        service_uuids=line["service_uuids"],
        tx_power=line["tx_power"],
        rssi=line["rssi"],
        platform_data=(details["path"], properties),
    )
    return BLEDevice(line["address"], line["name"], details), advertisement


class ReplayClient(BaseBleakClient):
    """Serves the recorded GATT table, values, errors and notifications."""

    recording: ClassVar[Recording]
    log: ClassVar[ReplayLog]
    connect_error: ClassVar[BaseException | None] = None
    hang_on_connect: ClassVar[bool] = False

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        services: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.get("disconnected_callback"),
            timeout=kwargs.get("timeout", 10.0),
        )
        self._connected = False

    @property
    def mtu_size(self) -> int:
        """The minimum ATT MTU."""
        return 23

    @property
    def is_connected(self) -> bool:
        """Whether connect() succeeded and disconnect() did not follow."""
        return self._connected

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, counting a pairing request if one is made."""
        self.log.connections.append(self.address)
        if pair:
            self.log.pairings += 1
        if self.connect_error is not None:
            raise self.connect_error
        if self.hang_on_connect:
            await asyncio.Event().wait()
        self.services = _collection(self.recording.table)
        self._connected = True

    async def disconnect(self) -> None:
        """Disconnect."""
        self._connected = False

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Count the request; the replayed toy never pairs."""
        self.log.pairings += 1
        raise BleakError("the replayed toy does not pair")

    async def unpair(self) -> None:
        """Nothing to undo."""

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, **kwargs: Any
    ) -> bytearray:
        """The recorded value, or the recorded ATT error."""
        self.log.reads.append(characteristic.handle)
        code = self.recording.read_errors.get(characteristic.handle)
        if code is not None:
            raise BleakGATTProtocolError(code)
        return bytearray(self.recording.values[characteristic.handle])

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, **kwargs: Any
    ) -> bytearray:
        """Descriptors are not replayed."""
        raise BleakGATTProtocolError(0x02)

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        """Log the write; refuse it if the recording shows a refusal."""
        self.log.writes.append((characteristic.handle, bytes(data), response))
        code = self.recording.write_errors.get(characteristic.handle)
        if code is not None:
            raise BleakGATTProtocolError(code)

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: Any
    ) -> None:
        """Log the write."""
        self.log.descriptor_writes.append(descriptor.handle)

    async def start_notify(
        self,
        characteristic: BleakGATTCharacteristic,
        callback: NotifyCallback,
        **kwargs: Any,
    ) -> None:
        """Send the recorded notifications, a few milliseconds apart."""
        self.log.subscriptions.append(characteristic.handle)
        loop = asyncio.get_running_loop()
        values = self.recording.notifications.get(characteristic.handle, [])
        for number, value in enumerate(values):
            loop.call_later(0.005 * (number + 1), callback, bytearray(value))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Nothing to stop."""


def _collection(table: list[dict[str, Any]]) -> BleakGATTServiceCollection:
    """The GATT table, added in reverse handle order as BlueZ may give it."""
    collection = BleakGATTServiceCollection()
    for line in sorted(table, key=lambda line: -line["handle"]):
        service = collection.get_service(line["service_handle"])
        if service is None:
            service = BleakGATTService(None, line["service_handle"], line["service"])
            collection.add_service(service)
        characteristic = BleakGATTCharacteristic(
            None, line["handle"], line["uuid"], line["properties"], lambda: 20, service
        )
        collection.add_characteristic(characteristic)
        for descriptor in line["descriptors"]:
            collection.add_descriptor(
                BleakGATTDescriptor(
                    None, descriptor["handle"], descriptor["uuid"], characteristic
                )
            )
    return collection


class ReplayMonitor:
    """The adapter monitor of a replay: the adapter vanishes when told to."""

    def __init__(self, log: ReplayLog, adapter: str, paired: bool) -> None:
        self.log = log
        self.adapter = adapter
        self._paired = paired

    async def open(self) -> None:
        """The replayed adapter is always there at first."""
        self.log.lost = asyncio.Event()

    async def wait_lost(self) -> str:
        """Wait for the replay to unplug the adapter."""
        assert self.log.lost is not None
        await self.log.lost.wait()
        return f"Bluetooth adapter {self.adapter} disappeared during the capture"

    async def paired(self, address: str) -> bool | None:
        """Whether the link counts as paired, as the test chose."""
        return self._paired

    async def close(self) -> None:
        """Nothing to close."""


def replay_backend(
    recording: str = "bramble-bear.jsonl",
    *,
    lose_adapter_after: int | None = None,
    start_error: BaseException | None = None,
    connect_error: BaseException | None = None,
    paired: bool = False,
    gap: float = ADVERTISEMENT_GAP,
    hang: str | None = None,
) -> tuple[BleBackend, ReplayLog]:
    """A backend replaying ``recorded/<recording>``, and the log of what it got.

    ``lose_adapter_after``: the adapter vanishes after that many
    advertisements. ``start_error``: scanning fails to start with it.
    ``connect_error``: connecting fails with it. ``paired``: what the
    monitor answers when asked whether the link is paired (as BlueZ may pair
    on its own when a pairing agent runs). ``gap``: seconds between two
    advertisements. ``hang``: ``"stop"`` or ``"connect"`` never returns, as
    a stuck Bluetooth stack would.
    """
    session = load_recording(RECORDED / recording)
    log = ReplayLog()
    scanner = type(
        "ReplayScanner",
        (ReplayScanner,),
        {
            "recording": session,
            "log": log,
            "lose_adapter_after": lose_adapter_after,
            "start_error": start_error,
            "gap": gap,
            "hang_on_stop": hang == "stop",
        },
    )
    client = type(
        "ReplayClient",
        (ReplayClient,),
        {
            "recording": session,
            "log": log,
            "connect_error": connect_error,
            "hang_on_connect": hang == "connect",
        },
    )

    def monitor(adapter: str) -> ReplayMonitor:
        return ReplayMonitor(log, adapter, paired)

    return BleBackend(scanner, client, monitor), log


def jsonl_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a ble.jsonl written by the recorder."""
    return [json.loads(text) for text in path.read_text("utf-8").splitlines()]


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Poll ``condition`` until it holds; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still waiting after {seconds} s"
        time.sleep(0.01)
