"""``d2asim app``: start the web app's local server and say where it is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from d2asim.app.inputs import MAX_UPLOAD_BYTES, WORKSPACE_VARIABLE

PAGE = Path(__file__).with_name("page.py")


def server_command(host: str, port: int, open_browser: bool) -> list[str]:
    """The ``streamlit run`` command line of the app."""
    return [sys.executable, "-m", "streamlit", "run", str(PAGE),
            "--server.address", host, "--server.port", str(port),
            "--server.headless", "false" if open_browser else "true",
            "--server.maxUploadSize", str(max(1, MAX_UPLOAD_BYTES // 1_000_000)),
            "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
            "--browser.serverAddress", host, "--global.developmentMode", "false",
            "--client.toolbarMode", "viewer"]


@click.command("app")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on (0.0.0.0: every interface)")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True, help="port to listen on")
@click.option("--no-browser", is_flag=True, help="do not open a browser window")
def app_command(host: str, port: int, no_browser: bool) -> None:
    """Start the web app for planners on a local server (Ctrl-C stops it)."""
    try:
        import streamlit  # noqa: F401
    except ImportError:
        click.echo("error: the app needs Streamlit: pip install 'd2asim[app]'", err=True)
        sys.exit(2)
    click.echo(f"d2asim app: http://{host}:{port}  (Ctrl-C to stop)", err=False)
    with tempfile.TemporaryDirectory(prefix="d2asim-app-") as workspace:
        click.echo("Uploads and results live in a temporary folder that is deleted when the server stops: "
                   "download what you want to keep.", err=False)
        code = serve(server_command(host, port, not no_browser), {**os.environ, WORKSPACE_VARIABLE: workspace})
    sys.exit(code)


class _Stopped(Exception):
    """SIGTERM arrived: stop the server, then clean up."""


def serve(command: list[str], env: dict[str, str]) -> int:
    """Run the server until it ends, Ctrl-C (exit code 130) or SIGTERM (143); the
    server process is stopped before this returns, so no server outlives the command
    and the workspace can be removed."""
    def stop(_signum: int, _frame: object) -> None:
        raise _Stopped

    previous = signal.signal(signal.SIGTERM, stop)
    server = subprocess.Popen(command, env=env)
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 130
    except _Stopped:
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
