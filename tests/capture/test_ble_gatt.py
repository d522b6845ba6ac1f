"""How the GATT probe names a refused request: the ATT error code it stands for."""

from __future__ import annotations

import pytest
from bleak.exc import (
    BleakDBusError,
    BleakError,
    BleakGATTProtocolError,
    BleakGATTProtocolErrorCode,
)

from toyaudit.capture.gatt import READ, SUBSCRIBE, WRITE, att_error_code, describe


@pytest.mark.parametrize(
    ("error", "asked", "code"),
    [
        (
            BleakGATTProtocolError(BleakGATTProtocolErrorCode.INSUFFICIENT_ENCRYPTION),
            READ,
            0x0F,
        ),
        (BleakGATTProtocolError(0x80), WRITE, 0x80),
        # BlueZ folds 0x05, 0x0F and 0x0C into one error (src/gatt-client.c).
        (BleakDBusError("org.bluez.Error.NotPermitted", ["Not paired"]), READ, 0x05),
        (BleakDBusError("org.bluez.Error.NotPermitted", ["Not paired"]), WRITE, 0x05),
        (BleakDBusError("org.bluez.Error.NotPermitted", []), READ, 0x02),
        (BleakDBusError("org.bluez.Error.NotPermitted", []), WRITE, 0x03),
        (BleakDBusError("org.bluez.Error.NotAuthorized", []), READ, 0x08),
        (BleakDBusError("org.bluez.Error.NotSupported", []), READ, 0x06),
        # StartNotify answers NotSupported before asking the toy anything.
        (BleakDBusError("org.bluez.Error.NotSupported", []), SUBSCRIBE, None),
        (BleakDBusError("org.bluez.Error.Failed", ["Operation failed"]), READ, None),
        (TimeoutError(), READ, None),
        (BleakError("Not connected"), WRITE, None),
    ],
)
def test_att_error_code_of_refusals(
    error: Exception, asked: str, code: int | None
) -> None:
    assert att_error_code(error, asked) == code


def test_describe_names_the_error_and_its_text() -> None:
    error = BleakDBusError("org.bluez.Error.NotPermitted", ["Not paired"])

    assert (
        describe(error) == "BleakDBusError: [org.bluez.Error.NotPermitted] Not paired"
    )
    assert describe(TimeoutError()) == "TimeoutError"
