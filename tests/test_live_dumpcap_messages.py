"""What dumpcap says on standard error and in its interface list, as the dumpcap backend
reads it: the closing drop statistics, and each failure turned into the line that names
the fix. The texts are dumpcap 4.0's own."""

from __future__ import annotations

from cvipsniff.live.dumpcap import DumpcapSource, failure_from_stderr, parse_drop_stats
from cvipsniff.live.interfaces import InterfaceInfo, interface_line, parse_dumpcap_list
from cvipsniff.live.source import SourceOptions

CLOSING = ("Capturing on 'Loopback: lo'\nFile: -\n\rPackets: 3 \rPackets captured: 3\n"
           "Packets received/dropped on interface 'Loopback: lo': 3/0 "
           "(pcap:0/dumpcap:0/flushed:0/ps_ifdrop:0) (100.0%)\n")
NO_DEVICE = ("Capturing on 'eth9'\ndumpcap: There is no device named \"eth9\".\n"
             "(No such device exists)\n")
NO_PERMISSION = (
    "Capturing on 'Loopback: lo'\n"
    "dumpcap: You do not have permission to capture on device \"lo\".\n"
    "(socket: Operation not permitted)\n"
    "Please check to make sure you have sufficient permissions.\n\n"
    "If you did not install Wireshark from a package, ensure that Dumpcap has the needed "
    "CAP_NET_RAW and CAP_NET_ADMIN capabilities by running \n\n"
    "    sudo setcap cap_net_raw,cap_net_admin=ep {path/to/}dumpcap\n")
BAD_FILTER = ("Capturing on 'Loopback: lo'\n"
              "dumpcap: Invalid capture filter \"tcp port foo and\" for interface 'lo'.\n\n"
              "That string isn't a valid capture filter (unknown port 'foo').\n"
              "See the User's Guide for a description of the capture filter syntax.\n")


def test_closing_statistics() -> None:
    assert parse_drop_stats(CLOSING.replace("\r", "\n").splitlines()) == (3, 0, 0)


def test_statistics_of_several_interfaces_add_up() -> None:
    lines = ["Packets received/dropped on interface 'eth0': 1000/12 "
             "(pcap:10/dumpcap:2/flushed:0/ps_ifdrop:5) (98.8%)",
             "Packets received/dropped on interface 'lo': 50/1 (pcap:1/dumpcap:0/flushed:0/"
             "ps_ifdrop:0) (98.0%)"]
    assert parse_drop_stats(lines) == (1050, 13, 5)


def test_no_statistics_when_dumpcap_was_killed() -> None:
    assert parse_drop_stats(["Capturing on 'lo'", "File: -"]) is None


def test_no_such_device() -> None:
    error = failure_from_stderr("eth9", NO_DEVICE, 1)
    assert error.kind == "no-interface"
    assert str(error) == ("cannot capture on 'eth9': no such interface "
                          "(list interfaces with 'cvipsniff interfaces')")


def test_no_permission_names_setcap() -> None:
    error = failure_from_stderr("lo", NO_PERMISSION, 1)
    assert error.kind == "permission"
    assert str(error) == ("cannot capture on 'lo': permission denied (run as root, or grant "
                          "dumpcap capabilities: "
                          "'sudo setcap cap_net_raw,cap_net_admin+eip $(which dumpcap)')")


def test_bad_filter_keeps_libpcaps_reason() -> None:
    error = failure_from_stderr("lo", BAD_FILTER, 1)
    assert error.kind == "filter"
    assert error.reason == "invalid capture filter 'tcp port foo and': unknown port 'foo'"


def test_an_interface_that_is_down() -> None:
    said = "Capturing on 'ifb0'\ndumpcap: Device \"ifb0\" is not up.\n(That device is not up)\n"
    assert str(failure_from_stderr("ifb0", said, 1)) == (
        "cannot capture on 'ifb0': the interface is down "
        "(bring it up first: 'sudo ip link set ifb0 up')")


def test_anything_else_is_dumpcaps_own_line() -> None:
    said = ("Capturing on 'nflog'\ndumpcap: The capture session could not be initiated on "
            "capture device \"nflog\" (Operation not supported).\n")
    error = failure_from_stderr("nflog", said, 1)
    assert error.kind == "failed"
    assert error.reason.startswith("dumpcap: The capture session could not be initiated")
    assert str(failure_from_stderr("x", "", 3)) == "cannot capture on 'x': dumpcap exited " \
        "with status 3"


def test_command_line() -> None:
    default = DumpcapSource("lo", "tcp port 7110").command("/usr/bin/dumpcap")
    assert default == ["/usr/bin/dumpcap", "-i", "lo", "-w", "-", "-f", "tcp port 7110",
                       "-B", "2"]
    tuned = DumpcapSource("eth0", "", SourceOptions(snaplen=128, promiscuous=False,
                                                    buffer_mb=16)).command("dumpcap")
    assert tuned == ["dumpcap", "-i", "eth0", "-w", "-", "-s", "128", "-p", "-B", "16"]


DUMPCAP_LIST = ("1. eth0\t\t\t0\t192.0.2.2,fd00::2,fe80::fc:ff:fe00:1\tnetwork\t\n"
                "2. any\t\t\t0\t\tnetwork\t\n"
                "3. lo\t\tLoopback\t0\t127.0.0.1,::1\tloopback\t\n"
                "4. ifb0\t\t\t0\t\tnetwork\t\n")


def test_dumpcap_interface_list() -> None:
    kernel = {"lo": InterfaceInfo(1, "lo", "Loopback", (), True, True),
              "ifb0": InterfaceInfo(2, "ifb0", "", (), False, False)}
    listed = parse_dumpcap_list(DUMPCAP_LIST, kernel)
    assert [interface_line(i) for i in listed] == [
        "1. eth0 192.0.2.2, fd00::2, fe80::fc:ff:fe00:1",
        "2. any",
        "3. lo (Loopback) [up] 127.0.0.1, ::1",
        "4. ifb0 [down]",
    ]
    assert [i.loopback for i in listed] == [False, False, True, False]
