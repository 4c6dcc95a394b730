"""``d2asim app``: the server runs with a workspace folder that is deleted when it
stops, and SIGTERM stops the server process too (none outlives the command)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from d2asim.app import inputs

psutil = pytest.importorskip("psutil")
pytest.importorskip("streamlit")


def test_sessions_and_runs_live_in_the_servers_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(inputs.WORKSPACE_VARIABLE, str(tmp_path))
    folder = inputs.new_folder("session-")
    assert folder.parent == tmp_path and folder.name.startswith("session-") and folder.is_dir()


def test_sigterm_stops_the_server_and_removes_the_workspace() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    command = subprocess.Popen([sys.executable, "-m", "d2asim", "app", "--port", str(port), "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.25)
        else:
            pytest.fail("the app's server did not answer in 60 s")
        (server,) = psutil.Process(command.pid).children()
        workspace = Path(server.environ()[inputs.WORKSPACE_VARIABLE])
        assert workspace.is_dir()
        os.kill(command.pid, signal.SIGTERM)
        assert command.wait(timeout=30) == 143
        assert not psutil.pid_exists(server.pid) or server.status() == psutil.STATUS_ZOMBIE
        assert not workspace.exists()
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
