"""Device errors. Each message says, in a clerk's words, what happened and what to do next."""


class DeviceError(Exception):
    """Something went wrong with a device; the message is for the person at the counter."""


class DeviceTimeout(DeviceError):
    """The device did not answer in time (unplugged, switched off, wrong port or speed)."""


class DeviceFault(DeviceError):
    """The device answered and reported a fault; `kind` names it (e.g. "cover_open")."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class ProtocolError(DeviceError):
    """The bytes did not make sense: bad checksum, bad length, unexpected reply."""
