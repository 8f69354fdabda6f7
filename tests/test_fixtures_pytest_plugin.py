"""The ``pytest11`` plugin, exercised as another team would: an example test module run
by pytest in a temporary directory (pytester), starting its own server under test."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from tests.conftest import CAPTURES

pytest_plugins = ["pytester"]

EXAMPLE = '''
import asyncio
import threading

import pytest

from cvipsniff.pytest_plugin import iter_transactions
from cvipsniff.sim.cvip.server import CvipServer, ServerConfig

CAPTURE = {capture!r}


@pytest.fixture
def device():
    """The implementation under test: here the reference CVIP device, on a free port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = CvipServer(ServerConfig(host="127.0.0.1", port=0, ping_port=0,
                                     event_interval=0))
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    yield server.ports["tcp"]
    asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_replay_passes(device, cvipsniff_replay):
    verdicts = cvipsniff_replay(CAPTURE, "127.0.0.1", device)
    assert len(verdicts) == 14


def test_recorded_messages_conform(cvipsniff_fixtures, cvipsniff_assert_conforms):
    transactions = list(iter_transactions(cvipsniff_fixtures(CAPTURE)))
    assert [t.method for t in transactions][:2] == ["system.listServices",
                                                    "cviNetwork.listProperties"]
    for t in transactions:
        cvipsniff_assert_conforms(t.request, protocol="cvip")
        for answer in t.answers:
            cvipsniff_assert_conforms(answer, protocol="cvip")


def test_broken_bytes_are_caught(cvipsniff_assert_conforms):
    body = b"<methodResponse><params/></methodResponse>"
    with pytest.raises(AssertionError, match="cvip.header.response_bit"):
        cvipsniff_assert_conforms(b"\\x02\\x01\\x00\\x00\\x07\\x00\\x00\\x00"
                                  + bytes([9 + len(body)]) + body)


def test_my_device_answer(cvipsniff_assert_conforms):
    cvipsniff_assert_conforms(b"\\x02\\x01\\x00\\x80\\x07\\x00\\x00\\x00\\x0dhello")
'''


def test_plugin_is_registered_as_pytest11() -> None:
    names = {e.value for e in entry_points(group="pytest11")}
    assert "cvipsniff.pytest_plugin" in names


def test_example_module_runs_with_the_plugin(pytester: pytest.Pytester) -> None:
    capture = CAPTURES / "scenarios" / "cvip-configure.pcapng"
    pytester.makepyfile(test_example=EXAMPLE.format(capture=str(capture)))
    # in a subprocess, as the other team's CI runs it (the plugin comes from the entry point)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*test_my_device_answer*", "*does not conform*",
                                 "*cvip.xml*"])
