"""The ``scapy`` backend: a Linux packet socket in this process.

Scapy does the set-up it is good at: ``conf.L2listen`` opens the ``AF_PACKET`` socket,
binds it to the interface, has libpcap compile the BPF capture filter and attaches it in
the kernel (so unwanted packets never reach Python), and turns on auxiliary data. Reading
is our own ``recvmsg_into`` loop on that socket, for three things scapy's ``recv`` does
not give:

* the original length (``MSG_TRUNC``), so a frame cut by the snaplen says so;
* nanosecond timestamps kept as integers (scapy converts to a float of seconds);
* the packet type, to drop the *outgoing* copy of every loopback packet: on ``lo`` the
  kernel shows each packet to a packet socket twice, leaving and arriving. libpcap skips
  the outgoing copy on loopback devices, and so do we, so a capture on ``lo`` sees every
  packet once, as tcpdump and dumpcap do.

Drops come from ``PACKET_STATISTICS`` (the kernel's count of packets the socket buffer
had no room for; reading it resets it, so we accumulate).

Needs root or CAP_NET_RAW: creating the socket is what fails otherwise.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import select
import socket
import struct
import time
from typing import Any

from cvipsniff.live.errors import (
    LiveCaptureError,
    backend_missing,
    bad_filter,
    capture_failed,
    interface_down,
    no_such_interface,
    permission_denied,
)
from cvipsniff.live.source import SourceOptions, SourceStats
from cvipsniff.model import LINKTYPE_ETHERNET, LINKTYPE_RAW, Frame, TransportNote

__all__ = ["PacketSocketSource"]

# Kernel ABI constants (linux/if_packet.h, linux/if_arp.h, asm-generic/socket.h).
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4
SO_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
ARPHRD_ETHER = 1
ARPHRD_IEEE802 = 6
ARPHRD_LOOPBACK = 772
ARPHRD_NONE = 0xFFFE

# What a link header looks like on each device type, as our packet decoder knows it.
# The loopback device carries a dummy Ethernet header (all-zero addresses).
_LINKTYPES = {
    ARPHRD_ETHER: LINKTYPE_ETHERNET,
    ARPHRD_IEEE802: LINKTYPE_ETHERNET,
    ARPHRD_LOOPBACK: LINKTYPE_ETHERNET,
    ARPHRD_NONE: LINKTYPE_RAW,  # tun devices: the IP packet, no link header
}

# Per-packet ancillary data: struct timespec and struct tpacket_auxdata. Parsed with
# precompiled structs on the per-packet path.
_TIMESPEC = struct.Struct("@qq")
_TIMESPEC32 = struct.Struct("@ii")
_AUXDATA = struct.Struct("@IIIHHHH")
_VLAN_TAG = struct.Struct("!HH")
_STATS = struct.Struct("@II")
_ANCILLARY_SPACE = 256
_RECV_FLAGS = socket.MSG_DONTWAIT | socket.MSG_TRUNC

# At most this many packets per read(): the session must get back to its timers.
BATCH = 512
# After stop(): how many packets already in the socket buffer are still taken.
DRAIN_LIMIT = 65536


def resolve_interface(name: str) -> str:
    """The kernel name of an interface given by name or by index (``-i 1``), or the
    :class:`LiveCaptureError` saying it does not exist."""
    if name.isdigit():
        try:
            return socket.if_indextoname(int(name))
        except (OSError, OverflowError):
            raise no_such_interface(name) from None
    try:
        socket.if_nametoindex(name)
    except OSError:
        raise no_such_interface(name) from None
    return name


class PacketSocketSource:
    """A :class:`~cvipsniff.live.source.FrameSource` on a Linux packet socket."""

    backend = "scapy"
    latency_ns = 0  # the socket hands packets over as soon as they arrive

    def __init__(self, interface: str, capture_filter: str,
                 options: SourceOptions | None = None) -> None:
        self.interface = interface
        self.capture_filter = capture_filter
        self.options = options or SourceOptions()
        self.error: Exception | None = None
        self._scapy_socket: Any = None
        self._sock: socket.socket | None = None
        self._linktype = LINKTYPE_ETHERNET
        self._loopback = False
        self._buffer = bytearray(max(64, self.options.snaplen))
        self._view = memoryview(self._buffer)
        self._number = 0
        self._dropped = 0
        self._stopping = False
        self._ended = False

    # ---- opening ------------------------------------------------------------------------

    def open(self) -> None:
        if self.interface == "any":
            raise LiveCaptureError(
                "any", "the scapy backend captures on one interface", kind="backend",
                hint="use --backend dumpcap to capture on all interfaces")
        self.interface = resolve_interface(self.interface)
        listener = self._listen()
        self._scapy_socket = listener
        sock: socket.socket = listener.ins
        self._sock = sock
        hatype = sock.getsockname()[3]
        linktype = _LINKTYPES.get(hatype)
        if linktype is None:
            self.close()
            raise LiveCaptureError(
                self.interface, f"its link type (ARPHRD {hatype}) is not supported by the "
                "scapy backend", kind="backend", hint="use --backend dumpcap")
        self._linktype = linktype
        self._loopback = hatype == ARPHRD_LOOPBACK
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._set_buffer(sock, self.options.buffer_mb << 20)
        # Start counting from zero (reading the counters resets them): the socket existed
        # before its filter was attached and its buffer enlarged, and what it dropped then,
        # other traffic on a busy interface, was not the capture's to lose.
        self._take_drops()

    def _listen(self) -> Any:
        """scapy's listening socket, with every failure turned into the line that names
        the fix."""
        # Imported here: scapy takes a noticeable time to import, and only this backend
        # needs it. Its "unable to guess type" warning for lo is noise for our users.
        logging.getLogger("scapy").setLevel(logging.ERROR)
        import scapy.arch.linux  # noqa: F401 - registers the Linux socket classes
        from scapy.config import conf
        from scapy.error import Scapy_Exception

        try:
            return conf.L2listen(iface=self.interface, filter=self.capture_filter or None,
                                 promisc=self.options.promiscuous)
        except PermissionError:
            raise permission_denied(self.interface, self.backend) from None
        except Scapy_Exception as exc:
            text = str(exc)
            if "libpcap is not available" in text:
                raise backend_missing(
                    self.interface, "libpcap is missing (it compiles the capture filter)",
                    "install libpcap0.8, or use --backend dumpcap") from None
            raise bad_filter(self.interface, self.capture_filter, _filter_detail(text)) \
                from None
        except ValueError:  # scapy: "Interface 'x' not found !"
            raise no_such_interface(self.interface) from None
        except OSError as exc:
            raise _os_error(self.interface, exc) from None

    def _set_buffer(self, sock: socket.socket, size: int) -> None:
        """The kernel buffer that absorbs bursts while Python is busy (tshark -B). As root
        SO_RCVBUFFORCE may exceed net.core.rmem_max; otherwise the kernel caps it."""
        if size <= 0:
            return
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
        except OSError:
            # Keep the default if even this fails: smaller, still working.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)

    # ---- reading ------------------------------------------------------------------------

    def read(self, timeout_s: float) -> list[Frame]:
        sock = self._sock
        if sock is None or self._ended:
            return []
        if self._stopping:
            frames = self._receive(DRAIN_LIMIT)
            self._ended = True
            return frames
        try:
            ready, _, _ = select.select([sock], [], [], max(0.0, timeout_s))
        except (OSError, ValueError) as exc:
            self._fail(exc)
            return []
        if not ready:
            return []
        return self._receive(BATCH)

    def _receive(self, limit: int) -> list[Frame]:
        """Up to ``limit`` packets waiting in the socket, without blocking."""
        sock = self._sock
        assert sock is not None
        frames: list[Frame] = []
        view = self._view
        snaplen = len(self._buffer)
        linktype = self._linktype
        skip_outgoing = self._loopback
        recvmsg_into = sock.recvmsg_into
        while len(frames) < limit:
            try:
                origlen, ancillary, _flags, address = recvmsg_into(
                    [view], _ANCILLARY_SPACE, _RECV_FLAGS)
            except BlockingIOError:
                break
            except OSError as exc:  # e.g. ENETDOWN: the interface went down or away
                self._fail(exc)
                break
            if skip_outgoing and address[2] == PACKET_OUTGOING:
                continue  # the same packet comes again as incoming
            caplen = min(origlen, snaplen)
            data = bytes(view[:caplen])
            ts_ns = 0
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    spec = _TIMESPEC if len(value) >= _TIMESPEC.size else _TIMESPEC32
                    seconds, nanos = spec.unpack_from(value)
                    ts_ns = seconds * 1_000_000_000 + nanos
                elif level == SOL_PACKET and kind == PACKET_AUXDATA \
                        and len(value) >= _AUXDATA.size and linktype == LINKTYPE_ETHERNET:
                    status, _len, _snap, _mac, _net, tci, tpid = _AUXDATA.unpack_from(value)
                    if (tci or status & TP_STATUS_VLAN_VALID) and caplen >= 12:
                        # The NIC took the 802.1Q tag off; put it back where it was,
                        # as libpcap does, so VLAN traffic decodes as on the wire.
                        if not status & TP_STATUS_VLAN_TPID_VALID:
                            tpid = 0x8100
                        data = data[:12] + _VLAN_TAG.pack(tpid, tci) + data[12:]
                        caplen += 4
                        origlen += 4
            if not ts_ns:
                ts_ns = time.time_ns()
            self._number += 1
            frames.append(Frame(self._number, ts_ns, caplen, origlen, linktype, data, 0))
        return frames

    def _fail(self, exc: BaseException) -> None:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        self.error = capture_failed(self.interface, f"capture stopped: {reason}")
        self._ended = True

    # ---- the rest of the FrameSource interface -------------------------------------------

    def stop(self) -> None:
        self._stopping = True

    @property
    def ended(self) -> bool:
        return self._ended

    def _take_drops(self) -> int:
        """The packets the socket dropped since the counters were last read (which resets
        them)."""
        sock = self._sock
        if sock is None:
            return 0
        try:
            raw = sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS.size)
        except OSError:
            return 0
        _packets, drops = _STATS.unpack(raw)
        return drops

    def stats(self) -> SourceStats:
        self._dropped += self._take_drops()
        return SourceStats(dropped=self._dropped, final=True)

    def take_notes(self) -> list[TransportNote]:
        return []

    def close(self) -> None:
        if self._scapy_socket is not None:
            self._dropped += self._take_drops()
            with contextlib.suppress(OSError):
                self._scapy_socket.close()
            self._scapy_socket = None
            self._sock = None
        self._ended = True


def _filter_detail(text: str) -> str:
    """What libpcap said is wrong with a filter, from scapy's message
    ``Cannot set filter: Failed to compile filter expression 'x' (unknown port 'y')``."""
    found = re.search(r"\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*$", text)
    return found.group(1) if found else text.removeprefix("Cannot set filter: ")


def _os_error(interface: str, exc: OSError) -> LiveCaptureError:
    if exc.errno in (errno.EPERM, errno.EACCES):
        return permission_denied(interface, "scapy")
    if exc.errno in (errno.ENODEV, errno.ENXIO):
        return no_such_interface(interface)
    if exc.errno == errno.ENETDOWN:
        return interface_down(interface)
    return capture_failed(interface, exc.strerror or str(exc))
