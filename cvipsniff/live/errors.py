"""The one exception of live capture: a capture that cannot start or cannot go on.

Its text is the single line the user reads, and it names the fix: which interfaces exist,
how to get capture rights, what is wrong with a capture filter. It is a
:class:`~cvipsniff.errors.UsageError`, so the command line prints it as
``cvipsniff: <text>`` and exits with status 2 without any special handling.
"""

from __future__ import annotations

from cvipsniff.errors import UsageError

__all__ = [
    "LiveCaptureError",
    "backend_missing",
    "bad_filter",
    "capture_failed",
    "interface_down",
    "no_such_interface",
    "permission_denied",
]

INTERFACES_HINT = "list interfaces with 'cvipsniff interfaces'"
SETCAP = "sudo setcap cap_net_raw,cap_net_admin+eip $(which dumpcap)"


class LiveCaptureError(UsageError):
    """``cannot capture on 'IFACE': REASON (HINT)``.

    ``kind`` lets a program (the live TUI, the tests) react without parsing the text:
    ``"no-interface"``, ``"permission"``, ``"filter"``, ``"backend"`` (the backend's tool
    is missing or unusable) or ``"failed"`` (anything else, e.g. the interface went away
    while capturing).
    """

    def __init__(self, interface: str, reason: str, *, kind: str = "failed",
                 hint: str | None = None) -> None:
        self.interface = interface
        self.reason = reason
        self.kind = kind
        self.hint = hint
        text = f"cannot capture on {interface!r}: {reason}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


def no_such_interface(interface: str) -> LiveCaptureError:
    return LiveCaptureError(interface, "no such interface", kind="no-interface",
                            hint=INTERFACES_HINT)


def permission_denied(interface: str, backend: str) -> LiveCaptureError:
    """No capture rights. The fix differs by backend: the packet-socket backend needs
    root (CAP_NET_RAW) in this process; dumpcap can carry the capabilities itself."""
    if backend == "dumpcap":
        hint = f"run as root, or grant dumpcap capabilities: '{SETCAP}'"
    else:
        hint = (f"run as root, or grant dumpcap capabilities: '{SETCAP}', "
                "and use --backend dumpcap")
    return LiveCaptureError(interface, "permission denied", kind="permission", hint=hint)


def interface_down(interface: str) -> LiveCaptureError:
    return LiveCaptureError(interface, "the interface is down", kind="failed",
                            hint=f"bring it up first: 'sudo ip link set {interface} up'")


def bad_filter(interface: str, capture_filter: str, detail: str) -> LiveCaptureError:
    reason = f"invalid capture filter {capture_filter!r}"
    if detail:
        reason += f": {detail}"
    return LiveCaptureError(interface, reason, kind="filter",
                            hint="capture filters use the pcap-filter(7) syntax, "
                            "e.g. 'tcp port 7110'")


def backend_missing(interface: str, what: str, hint: str) -> LiveCaptureError:
    return LiveCaptureError(interface, what, kind="backend", hint=hint)


def capture_failed(interface: str, reason: str) -> LiveCaptureError:
    return LiveCaptureError(interface, reason, kind="failed")
