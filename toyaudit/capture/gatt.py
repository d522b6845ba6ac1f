"""Probe the toy's GATT server without pairing: table, reads, optional writes.

With ``--ble-connect`` the recorder connects to the target once it is seen
and, without ever asking to pair:

1. records the GATT table, one ``characteristic`` line per characteristic,
   services and characteristics sorted by handle;
2. reads every characteristic whose properties include ``read`` and records
   the value (``gatt`` ``read``) or the refusal (``gatt`` ``error`` with the
   ATT error code, Core spec Vol 3 Part F 3.4.1.1);
3. only with ``--ble-allow-writes``: writes back to every characteristic that
   can be read and written (with response) the value just read from it, and
   records whether the toy accepted it (``write``) or refused (``error``);
4. subscribes to every ``notify`` or ``indicate`` characteristic for a few
   seconds and records what arrives; subscribing writes the characteristic's
   Client Characteristic Configuration descriptor (0x2902), as any app does.

Each line says whether the link was paired at the time: BlueZ may pair on
its own when a protected characteristic is read and a pairing agent runs,
and reads after that no longer show what anyone nearby could read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakDBusError, BleakError, BleakGATTProtocolError

from toyaudit.capture.blejsonl import (
    JsonRecord,
    characteristic_line,
    connection_line,
    gatt_line,
)

logger = logging.getLogger(__name__)

READ, WRITE, SUBSCRIBE = "read", "write", "subscribe"
"""Requests a ``gatt`` ``error`` line can be the answer to."""
OPERATION_SECONDS = 10.0
"""Longest wait for one read, write or subscription before giving up."""
DISCONNECT_SECONDS = 3.0
"""Longest wait for a clean disconnection."""

INSUFFICIENT_AUTHENTICATION = 0x05
READ_NOT_PERMITTED = 0x02
WRITE_NOT_PERMITTED = 0x03
INSUFFICIENT_AUTHORIZATION = 0x08
REQUEST_NOT_SUPPORTED = 0x06

_PROBE_ERRORS = (BleakError, OSError, TimeoutError, EOFError)
"""What a lost link or a failing stack raises while probing."""

PairedQuery = Callable[[str], Awaitable[bool | None]]
LineWriter = Callable[[JsonRecord], bool]
"""Writes one line of ble.jsonl; False when the file cannot take it."""


class Tally(Protocol):
    """Adds to one of the recorder's running counts."""

    def __call__(self, key: str, amount: int = 1) -> None:
        """Add ``amount`` to the count named ``key``."""
        ...


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    """What the probe may do and with which bleak backend."""

    allow_writes: bool = False
    """Write back the value just read to readable and writable characteristics."""
    notify_seconds: float = 5.0
    """How long to listen to notifications and indications; 0 skips subscribing."""
    connect_seconds: float = 20.0
    """How long bleak may take to connect and resolve the services."""
    adapter: str | None = None
    """BlueZ adapter name (``hci0``); ignored on other platforms."""
    client_backend: type[BaseBleakClient] | None = None
    """bleak client backend class; None for the platform's."""


def att_error_code(error: Exception, request: str) -> int | None:
    """The ATT error code a failed request stands for, when the toy answered one.

    bleak 3 gives the code for most errors. BlueZ folds insufficient
    authentication (0x05), insufficient encryption (0x0F) and key size
    (0x0C) into ``org.bluez.Error.NotPermitted`` "Not paired"
    (src/gatt-client.c, create_gatt_dbus_error); that is written as 0x05.
    A timeout or a lost link has no code.
    """
    if isinstance(error, BleakGATTProtocolError):
        return int(error.code)
    if not isinstance(error, BleakDBusError):
        return None
    name = error.dbus_error.rsplit(".", 1)[-1]
    details = error.dbus_error_details or ""
    if name == "NotPermitted":
        if details.startswith("Not paired"):
            return INSUFFICIENT_AUTHENTICATION
        return WRITE_NOT_PERMITTED if request == WRITE else READ_NOT_PERMITTED
    if name == "NotAuthorized":
        return INSUFFICIENT_AUTHORIZATION
    if name == "NotSupported" and request != SUBSCRIBE:
        return REQUEST_NOT_SUPPORTED
    return None


def describe(error: BaseException) -> str:
    """One line naming an error for the ``detail`` of a line."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class GattProbe:
    """Connects once to a device and records what it lets a stranger do."""

    def __init__(
        self,
        write: LineWriter,
        settings: ProbeSettings,
        tally: Tally,
        paired: PairedQuery | None = None,
    ) -> None:
        """Write lines with ``write``, count with ``tally``, ask ``paired``."""
        self.write = write
        self.settings = settings
        self.tally = tally
        self._paired_query = paired
        self._paired = False
        self._address = ""

    async def run(self, device: BLEDevice, stopping: asyncio.Event) -> bool:
        """Probe ``device``; True when it let the capture connect.

        Returns early, disconnecting, when ``stopping`` is set. Raises nothing
        the toy or the stack can cause: failures become lines.
        """
        self._address = device.address
        client = self._client(device)
        try:
            async with asyncio.timeout(self.settings.connect_seconds + 5):
                await client.connect()
        except _PROBE_ERRORS as error:
            logger.warning("could not connect to %s: %s", device.address, error)
            self._connection(False, f"connection failed: {describe(error)}")
            return False
        logger.info("connected to %s without pairing", device.address)
        try:
            await self._refresh_paired()
            self._connection(True, "connected without asking to pair")
            characteristics = self._record_table(client)
            for characteristic in characteristics:
                await self._probe(client, characteristic)
            await self._listen(client, characteristics, stopping)
        except _PROBE_ERRORS as error:
            logger.warning("connection to %s ended: %s", device.address, error)
            self._connection(False, f"the connection ended: {describe(error)}")
            return True
        finally:
            await self._disconnect(client)
        self._connection(False, "disconnected by the capture")
        return True

    def _client(self, device: BLEDevice) -> BleakClient:
        adapter = self.settings.adapter
        return BleakClient(
            device,
            timeout=self.settings.connect_seconds,
            pair=False,
            bluez={} if adapter is None else {"adapter": adapter},
            backend=self.settings.client_backend,
        )

    def _record_table(self, client: BleakClient) -> list[BleakGATTCharacteristic]:
        """Write the GATT table, sorted by handle (BlueZ's order is not)."""
        characteristics: list[BleakGATTCharacteristic] = []
        for service in sorted(client.services, key=lambda service: service.handle):
            for characteristic in sorted(
                service.characteristics, key=lambda item: item.handle
            ):
                descriptors = [
                    (item.handle, item.uuid) for item in characteristic.descriptors
                ]
                self.write(
                    characteristic_line(
                        self._address,
                        (service.handle, service.uuid),
                        (characteristic.handle, characteristic.uuid),
                        list(characteristic.properties),
                        descriptors,
                    )
                )
                characteristics.append(characteristic)
        self.tally("characteristics", len(characteristics))
        return characteristics

    async def _probe(
        self, client: BleakClient, characteristic: BleakGATTCharacteristic
    ) -> None:
        """Read it if readable; write the value back if allowed and writable."""
        if "read" not in characteristic.properties:
            return
        value = await self._read(client, characteristic)
        writable = "write" in characteristic.properties
        if value is not None and writable and self.settings.allow_writes:
            await self._write_back(client, characteristic, value)

    async def _read(
        self, client: BleakClient, characteristic: BleakGATTCharacteristic
    ) -> bytes | None:
        try:
            async with asyncio.timeout(OPERATION_SECONDS):
                value = bytes(await client.read_gatt_char(characteristic))
        except (BleakGATTProtocolError, BleakDBusError, TimeoutError) as error:
            await self._failed(characteristic, READ, error)
            self.tally("read errors")
            return None
        await self._refresh_paired()
        logger.debug("read handle %d: %d bytes", characteristic.handle, len(value))
        self._gatt(READ, characteristic, value)
        self.tally("gatt reads")
        return value

    async def _write_back(
        self, client: BleakClient, characteristic: BleakGATTCharacteristic, value: bytes
    ) -> None:
        """Write the value just read back, with response, so a refusal is seen."""
        try:
            async with asyncio.timeout(OPERATION_SECONDS):
                await client.write_gatt_char(characteristic, value, response=True)
        except (BleakGATTProtocolError, BleakDBusError, TimeoutError) as error:
            await self._failed(characteristic, WRITE, error)
            return
        await self._refresh_paired()
        logger.debug(
            "wrote handle %d back: %d bytes", characteristic.handle, len(value)
        )
        self._gatt(WRITE, characteristic, value)
        self.tally("writes")

    async def _listen(
        self,
        client: BleakClient,
        characteristics: list[BleakGATTCharacteristic],
        stopping: asyncio.Event,
    ) -> None:
        """Subscribe to what the toy can push, listen a while, unsubscribe."""
        if self.settings.notify_seconds <= 0:
            return
        subscribed = []
        for characteristic in characteristics:
            properties = characteristic.properties
            if "notify" in properties or "indicate" in properties:
                if await self._subscribe(client, characteristic):
                    subscribed.append(characteristic)
        if not subscribed:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.notify_seconds):
                await stopping.wait()
        for characteristic in subscribed:
            with contextlib.suppress(*_PROBE_ERRORS):
                async with asyncio.timeout(OPERATION_SECONDS):
                    await client.stop_notify(characteristic)

    async def _subscribe(
        self, client: BleakClient, characteristic: BleakGATTCharacteristic
    ) -> bool:
        operation = "notify" if "notify" in characteristic.properties else "indicate"

        def received(sender: BleakGATTCharacteristic, value: bytearray) -> None:
            self._gatt(operation, sender, bytes(value))
            self.tally("notifications")

        try:
            async with asyncio.timeout(OPERATION_SECONDS):
                await client.start_notify(characteristic, received)
        except (BleakGATTProtocolError, BleakDBusError, TimeoutError) as error:
            await self._failed(characteristic, SUBSCRIBE, error)
            return False
        return True

    async def _failed(
        self, characteristic: BleakGATTCharacteristic, request: str, error: Exception
    ) -> None:
        """Record a refused or failed request as an ``error`` line."""
        code = att_error_code(error, request)
        await self._refresh_paired()
        logger.debug(
            "%s of handle %d failed: %s", request, characteristic.handle, error
        )
        failure = (request, code, describe(error))
        self._gatt("error", characteristic, b"", failure)

    def _gatt(
        self,
        operation: str,
        characteristic: BleakGATTCharacteristic,
        value: bytes,
        failure: tuple[str, int | None, str] | None = None,
    ) -> None:
        target = (characteristic.handle, characteristic.uuid)
        line = gatt_line(self._address, operation, target, value, self._paired, failure)
        self.write(line)

    def _connection(self, connected: bool, detail: str) -> None:
        self.write(connection_line(self._address, connected, self._paired, detail))

    async def _refresh_paired(self) -> None:
        """Ask the platform whether the link is paired now; we never ask to pair."""
        if self._paired_query is None:
            # TODO: only BlueZ is asked: on macOS and Windows, where the system
            # may pair by itself when a protected characteristic is read, lines
            # after such a pairing still say "paired": false and the audit
            # reports them as open to strangers; asking CoreBluetooth or WinRT
            # for the link's protection level would fix it.
            return
        paired = await self._paired_query(self._address)
        if paired is not None:
            if paired and not self._paired:
                logger.warning(
                    "%s became paired during the probe (a pairing agent answered "
                    "the toy); later lines say so",
                    self._address,
                )
            self._paired = paired

    async def _disconnect(self, client: BleakClient) -> None:
        try:
            async with asyncio.timeout(DISCONNECT_SECONDS):
                await client.disconnect()
        except _PROBE_ERRORS as error:
            logger.debug("disconnecting from %s: %r", self._address, error)
