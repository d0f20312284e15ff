"""``survstudy app [--port N] [--no-browser]``: the local point-and-click web app.

Binds 127.0.0.1 only, prints a URL carrying a random access token and opens it
in the browser (unless ``--no-browser``). ``--port 0`` takes a free port. Uploads
and outputs live in a temporary folder deleted when the server stops — by Ctrl+C,
SIGTERM (``kill``, a service manager) or SIGHUP (a closed terminal) — and a folder
left by an app that was killed outright (SIGKILL, a power cut) is removed at the next
start (:mod:`survstudy.app.folders`). The web
stack (starlette, uvicorn; the ``app`` extra) is imported only inside the command.
"""

from __future__ import annotations

from typing import Annotated

import typer

from survstudy.cli.main import app


@app.command(name="app")
def app_command(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: a free one).")
    ] = 8765,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the URL but do not open a browser.")
    ] = False,
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", min=0.001, help="Largest upload accepted, in MB.")
    ] = 50.0,
    max_rows: Annotated[
        int, typer.Option("--max-rows", min=1, help="Most data rows accepted in an upload.")
    ] = 100_000,
) -> None:
    """Start the local web app: upload a spreadsheet, define endpoints, run, download."""
    import socket
    import sys
    import tempfile
    import threading
    import webbrowser

    from survstudy.errors import SurvstudyError

    try:
        import uvicorn

        from survstudy.app import AppConfig, create_app
    except ImportError as exc:
        raise SurvstudyError(
            f"the web app needs the 'app' extra ({exc.name} is not installed)",
            code="APP-DEPENDENCY",
            hint="pip install 'survstudy[app]' (in a clone of the repository: pip install -e '.[app]')",
        ) from None

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise SurvstudyError(
            f"cannot listen on 127.0.0.1:{port} ({exc.strerror})",
            code="APP-PORT",
            hint="choose another --port, or --port 0 for a free one",
        ) from None
    sock.listen(128)
    bound = sock.getsockname()[1]
    config = AppConfig(
        port=bound,
        token=_token(),
        max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        max_rows=max_rows,
    )
    url = f"http://127.0.0.1:{bound}/?token={config.token}"
    from survstudy.app.folders import DataFolder, remove_abandoned

    removed = remove_abandoned()
    if removed:
        print(
            f"removed {removed} data folder(s) left by an earlier survstudy app that "
            "stopped without cleaning up",
            file=sys.stderr,
            flush=True,
        )
    with DataFolder() as folder:
        # Any temporary file of this process (an upload spooled to disk while it is
        # parsed, a plotting cache) goes into the folder deleted on shutdown, too.
        tempfile.tempdir = str(folder.path)
        asgi = create_app(config, folder.path)
        server = uvicorn.Server(
            uvicorn.Config(asgi, log_level="warning", access_log=False, lifespan="on")
        )
        folder.on_stop_signal(lambda: setattr(server, "should_exit", True))
        print(f"survstudy app: listening on 127.0.0.1:{bound}", flush=True)
        print(f"open {url}", flush=True)
        print(f"data folder: {folder.path} (deleted when the app stops)", flush=True)
        print("press Ctrl+C to stop", file=sys.stderr, flush=True)
        if not no_browser:
            threading.Timer(0.5, webbrowser.open, args=(url,)).start()
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass  # uvicorn re-raises the Ctrl+C it handled; stopping is the normal end
        finally:
            sock.close()
    print("survstudy app stopped; the uploaded data were deleted", file=sys.stderr, flush=True)


def _token() -> str:
    from survstudy.app.security import new_token

    return new_token()
