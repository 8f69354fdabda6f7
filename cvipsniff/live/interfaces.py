"""Which interfaces can be captured on, with their addresses and state (``tshark -D``).

Two views, one per backend, because they differ:

* the kernel's (``scapy`` backend): every network interface, read by scapy over
  rtnetlink — name, index, addresses, up/down — without any capture rights;
* dumpcap's (``dumpcap -D -M``): what dumpcap itself can open, which adds pseudo
  interfaces (``any``, ``nflog``, D-Bus, Bluetooth monitors); the up/down state comes from
  the kernel where dumpcap's entry is a kernel interface.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Any

from cvipsniff.errors import UsageError

__all__ = ["InterfaceInfo", "dumpcap_interfaces", "interface_line", "kernel_interfaces"]

IFF_UP = 0x1
IFF_LOOPBACK = 0x8
_LIST_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class InterfaceInfo:
    """One interface. ``number`` is what ``-i`` also accepts in its place: the kernel's
    interface index (scapy backend) or dumpcap's list number (dumpcap backend).
    ``up`` is None when unknown (a pseudo interface)."""

    number: int
    name: str
    description: str
    addresses: tuple[str, ...]
    up: bool | None
    loopback: bool

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "name": self.name, "description": self.description,
                "addresses": list(self.addresses), "up": self.up, "loopback": self.loopback}


def kernel_interfaces() -> list[InterfaceInfo]:
    """The kernel's network interfaces in index order, as scapy reads them."""
    import logging

    logging.getLogger("scapy").setLevel(logging.ERROR)
    import scapy.arch.linux  # noqa: F401 - registers the Linux interface provider
    from scapy.config import conf

    conf.ifaces.reload()
    found: list[InterfaceInfo] = []
    for iface in conf.ifaces.data.values():
        flags = int(iface.flags or 0)
        addresses = tuple(addr for version in (4, 6) for addr in iface.ips.get(version, ()))
        loopback = bool(flags & IFF_LOOPBACK)
        found.append(InterfaceInfo(
            number=int(iface.index), name=str(iface.name),
            description="Loopback" if loopback else "", addresses=addresses,
            up=bool(flags & IFF_UP), loopback=loopback))
    return sorted(found, key=lambda info: info.number)


def dumpcap_interfaces(executable: str | None = None) -> list[InterfaceInfo]:
    """What ``dumpcap -D -M`` lists; a UsageError (one line) if dumpcap cannot run."""
    from cvipsniff.live.dumpcap import find_dumpcap

    path = executable or find_dumpcap()
    if path is None:
        raise UsageError("cannot list interfaces: dumpcap is not installed (install it with "
                         "'apt-get install tshark', or use --backend scapy)")
    try:
        done = subprocess.run([path, "-D", "-M"], capture_output=True, check=False,
                              timeout=_LIST_TIMEOUT_S, input=b"")
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"cannot list interfaces: {path} failed: {exc}") from None
    if done.returncode != 0:
        said = [line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines()
                if line.strip()]
        detail = said[-1] if said else f"exit status {done.returncode}"
        raise UsageError(f"cannot list interfaces: dumpcap: {detail}")
    kernel = {info.name: info for info in _kernel_or_nothing()}
    return parse_dumpcap_list(done.stdout.decode("utf-8", "replace"), kernel)


def _kernel_or_nothing() -> list[InterfaceInfo]:
    try:
        return kernel_interfaces()
    except Exception:  # no rtnetlink (not Linux): the state column stays unknown
        return []


def parse_dumpcap_list(text: str, kernel: dict[str, InterfaceInfo] | None = None
                       ) -> list[InterfaceInfo]:
    """``dumpcap -D -M`` lines: ``N. name<TAB>vendor<TAB>friendly name<TAB>type<TAB>
    addresses<TAB>loopback|network``."""
    kernel = kernel or {}
    found: list[InterfaceInfo] = []
    for line in text.splitlines():
        number_text, sep, rest = line.partition(". ")
        if not sep or not number_text.strip().isdigit():
            continue
        fields = rest.split("\t")
        fields += [""] * (6 - len(fields))
        name, vendor, friendly, _type, addresses, kind = fields[:6]
        known = kernel.get(name)
        found.append(InterfaceInfo(
            number=int(number_text), name=name, description=friendly or vendor,
            addresses=tuple(a for a in addresses.split(",") if a),
            up=known.up if known is not None else None,
            loopback=kind.strip() == "loopback"))
    return found


def interface_line(info: InterfaceInfo) -> str:
    """``1. lo (Loopback) [up] 127.0.0.1, ::1`` — tshark -D's line plus state and
    addresses."""
    text = f"{info.number}. {info.name}"
    if info.description:
        text += f" ({info.description})"
    if info.up is not None:
        text += " [up]" if info.up else " [down]"
    if info.addresses:
        text += " " + ", ".join(info.addresses)
    return text
