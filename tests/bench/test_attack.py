"""The attack bench, run tiny: two attack classes for a second each beside one legitimate room."""

from __future__ import annotations

from pathlib import Path

from bench import attack


def test_the_attack_bench_measures_and_reports_each_class(tmp_path: Path) -> None:
    rows = attack.main(["--only", "cl-te,slowloris", "--seconds", "1.5", "--settle", "0.2", "--rooms", "1"], tmp_path)
    assert [r["attack"] for r in rows] == ["cl-te", "slowloris"]
    for r in rows:
        assert 0 < int(r["rss_before"]) <= int(r["rss_peak"])  # type: ignore[call-overload]
        assert float(r["join_s"]) > 0 and float(r["baseline_join_s"]) > 0  # type: ignore[arg-type]
        assert r["endings"]
    assert any(k.startswith("http 400 closed") for k in rows[0]["endings"])  # type: ignore[attr-defined]
    assert any(k.startswith("http 503") for k in rows[1]["endings"])  # type: ignore[attr-defined]  # past 64 from one address


def test_held_connections_are_counted_on_the_servers_side_per_address() -> None:
    import os
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        before = attack.held_by_address(os.getpid())[attack.ATTACKER]
        clients = [socket.create_connection(("127.0.0.1", port), source_address=(attack.ATTACKER, 0)) for _ in range(3)]
        accepted = [server.accept()[0] for _ in clients]
        try:
            # this process holds both ends: the accepted sockets' peer is ATTACKER, the clients' is 127.0.0.1
            assert attack.held_by_address(os.getpid())[attack.ATTACKER] == before + 3
            accepted.pop().close()
            assert attack.held_by_address(os.getpid())[attack.ATTACKER] == before + 2  # one the "server" let go
        finally:
            for s in clients + accepted:
                s.close()
