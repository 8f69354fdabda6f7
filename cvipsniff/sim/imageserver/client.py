"""The reference client on a real TCP socket (asyncio).

Runs one script per connection with :class:`~.client_logic.ScenarioClient` and returns its
structured results. Time is bounded twice: each step by its own wait, and each connection
by an overall limit, so a silent or hostile server cannot hang the client.
"""

from __future__ import annotations

import asyncio
import contextlib

from cvipsniff.sim.imageserver.client_logic import ScenarioClient, StepResult
from cvipsniff.sim.imageserver.scripts import SCRIPTS, ClientOptions, context_for

CONNECT_TIMEOUT_S = 5.0
CONNECTION_LIMIT_S = 120.0
READ_SIZE = 64 * 1024


async def run_script(host: str, port: int, script: str, opts: ClientOptions,
                     limit_s: float = CONNECTION_LIMIT_S) -> list[StepResult]:
    """Run the named script on a new connection; raises OSError if it cannot connect."""
    steps = SCRIPTS[script](opts)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                            CONNECT_TIMEOUT_S)
    loop = asyncio.get_running_loop()
    origin = loop.time()

    def now() -> float:
        return (loop.time() - origin) * 1000.0

    client = ScenarioClient(steps, context_for(opts, script), start_ms=0.0)
    try:
        while now() < limit_s * 1000.0:
            for request in client.poll(now()):
                writer.write(request.data)
            await writer.drain()
            if client.done:
                break
            deadline = client.next_deadline()
            wait_ms = limit_s * 1000.0 - now()
            if deadline is not None:
                wait_ms = min(wait_ms, deadline - now())
            try:
                data = await asyncio.wait_for(reader.read(READ_SIZE),
                                              max(0.0, wait_ms) / 1000.0)
            except TimeoutError:
                continue
            if not data:
                client.connection_closed(now())
                break
            client.receive(data, now())
        else:
            client.connection_closed(now(), f"time limit of {limit_s:.0f} s reached")
    except (ConnectionError, OSError):
        client.connection_closed(now())
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
    return client.results


async def run_scripts(host: str, port: int, names: list[str], opts: ClientOptions
                      ) -> dict[str, list[StepResult]]:
    """Each script on its own connection, one after the other."""
    return {name: await run_script(host, port, name, opts) for name in names}
