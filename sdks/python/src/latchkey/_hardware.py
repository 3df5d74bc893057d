"""``hardware_id``: a stable id of this machine that each vendor sees differently."""

from __future__ import annotations

import hashlib
import hmac
import re
import subprocess
import sys
from typing import Optional

_PREFIX = b"latchkey-hardware-id-v1\x00"


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="ascii", errors="strict") as handle:
            value = handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return value or None


def _linux() -> Optional[str]:
    # systemd's machine id; older systems keep D-Bus's copy.
    return _read("/etc/machine-id") or _read("/var/lib/dbus/machine-id")


def _windows() -> Optional[str]:
    if sys.platform != "win32":
        return None
    try:
        import winreg

        access = winreg.KEY_READ | getattr(winreg, "KEY_WOW64_64KEY", 0)
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography", 0,
                            access) as key:
            value, _ = winreg.QueryValueEx(key, "MachineGuid")
    except (ImportError, OSError):
        return None
    return str(value).strip() or None


def _macos() -> Optional[str]:
    try:
        output = subprocess.run(
            ["/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'"IOPlatformUUID"\s*=\s*"([^"]+)"', output)
    return match.group(1) if match else None


def machine_id() -> Optional[str]:
    """The operating system's raw machine id, or ``None`` when it cannot be read."""
    if sys.platform == "win32":
        return _windows()
    if sys.platform == "darwin":
        return _macos()
    return _linux()


def hardware_id(api_key: str) -> str:
    """A stable, privacy-preserving id of this machine for one application.

    It is HMAC-SHA256, keyed with the application's ``api_key``, of the operating system's
    machine id, as 64 lower-case hex characters:

    - Linux (and other Unixes): ``/etc/machine-id`` (or ``/var/lib/dbus/machine-id``);
    - Windows: ``HKLM\\SOFTWARE\\Microsoft\\Cryptography\\MachineGuid``;
    - macOS: ``IOPlatformUUID`` (from ``ioreg``).

    The raw machine id never leaves the machine, and two vendors (two api keys) see
    unrelated ids for the same machine, so they cannot correlate users.

    What changes it: reinstalling the OS, re-imaging or cloning a machine whose id is then
    regenerated (``systemd-machine-id-setup``, Windows sysprep), a new container without a
    persisted ``/etc/machine-id``, a new logic board on a Mac, and a different ``api_key``.
    Note that cloned images that keep the id give every clone the same hardware id.

    Raises:
        RuntimeError: when the machine id cannot be read; pass ``hardware_id=`` to the
            ``Client`` explicitly on such systems.
    """
    raw = machine_id()
    if raw is None:
        raise RuntimeError("cannot read this machine's id; pass hardware_id explicitly")
    return hmac.new(api_key.encode("utf-8"), _PREFIX + raw.encode("utf-8"),
                    hashlib.sha256).hexdigest()
