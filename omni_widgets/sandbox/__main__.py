"""`python -m omni_widgets.sandbox` (the `omni-sandbox` script): serve the sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from ._auth import SPECIAL_KEYS
from ._dialect import DEFAULT_GATEWAY, GATEWAYS
from ._faults import Fault
from ._guard import MAX_BODY
from ._render import DEFAULT_RESOLUTION, RESOLUTIONS
from ._server import Sandbox
from ._shared import Discovery, remove_discovery, write_discovery
from ._state import DEFAULT_SPEED, DEFAULT_TTL
from ._tasks import DEFAULT_RECORD_TTL

EPILOG = f"""\
fault SPEC is kind[:key=value,...], kind one of rate_limit, server_error, drop, malformed, truncate,
html, latency; keys on=create|query|both|download|any, count=N, every=N, rate=P, retry_after=S
(rate_limit), seconds=S (latency), after=true (drop, server_error: process first),
body=truncated|text (malformed), content_length=false (truncate: send none). Examples:
  --fault rate_limit:on=create,count=2,retry_after=1   the next 2 creates get 429
  --fault server_error:on=query,every=5                 every 5th query gets 500
  --fault server_error:on=create,count=1,after=true     the next create makes its task, then 500
  --fault truncate:on=download,content_length=false     downloads are cut in half, no length
  --fault html:on=download,every=3                      every 3rd download is a proxy's HTML page
  --fault latency:seconds=0.5                           every API request waits 0.5 s

Keys: only the key printed at start (or given with --key) works, unless --any-key; the
/_sandbox/ endpoints always need that key. Special keys, always accepted:
{", ".join(f"{key} -> {status}" for key, status in SPECIAL_KEYS.items())}.
A prompt with [[fail:content_policy_violation]] (or another vendor failure code) fails its task.
--gateway toapis speaks ToAPIs instead: GET /v1/videos/generations/{{id}}, video_... ids, flat
bodies, queued/in_progress; a prompt with [[refuse]] gets its 422 content_policy_violation.
Faults can be changed while running: POST/DELETE {{base}}/_sandbox/faults.
Refused: a Host header other than 127.0.0.1, localhost, [::1], --host or --allowed-host with the
port (421); a POST that is not application/json (415); a body over --max-body bytes (413).
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line, shared with `--help`."""
    parser = argparse.ArgumentParser(
        prog="omni-sandbox",
        description="Serve a local emulator of EvoLink's (or ToAPIs') Gemini Omni Flash video "
        "API that renders real MP4s.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--gateway",
        choices=GATEWAYS,
        default=DEFAULT_GATEWAY,
        help="whose API to speak: paths, bodies, statuses, ids, errors (%(default)s)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (%(default)s)")
    parser.add_argument("--port", type=int, default=8765, help="port, 0 for any free (%(default)s)")
    parser.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help="vendor seconds per real second; 'inf' finishes tasks at once (%(default)s)",
    )
    parser.add_argument(
        "--ttl",
        type=float,
        default=DEFAULT_TTL,
        help="seconds result URLs stay valid after completion (%(default)s)",
    )
    parser.add_argument(
        "--record-ttl",
        type=float,
        default=DEFAULT_RECORD_TTL,
        help="seconds task records are kept after creation, then 404 (%(default)s)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="keep task records and the key in this folder, so a restart knows earlier tasks",
    )
    parser.add_argument(
        "--discovery-file",
        type=Path,
        default=None,
        help="write URL, pid and key here (mode 0600) once serving; removed at exit",
    )
    parser.add_argument(
        "--idle-exit",
        type=float,
        default=0,
        metavar="SECONDS",
        help="exit after this many seconds without requests (0: never, the default)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for ids, timings, faults")
    parser.add_argument(
        "--fault",
        dest="faults",
        metavar="SPEC",
        action="append",
        type=_fault,
        default=[],
        help="add a fault rule (repeatable); see below",
    )
    parser.add_argument(
        "--allow-loopback-callbacks",
        action="store_true",
        help="accept callback URLs on 127.0.0.1/localhost, http or https",
    )
    parser.add_argument(
        "--key", default=None, help="the API key to accept (default: a fresh random one, printed)"
    )
    parser.add_argument(
        "--any-key",
        action="store_true",
        help="accept any non-empty API key, as the in-process Sandbox() does",
    )
    parser.add_argument(
        "--allowed-host",
        dest="allowed_hosts",
        metavar="NAME",
        action="append",
        default=[],
        help="another name clients may reach the server by (repeatable)",
    )
    parser.add_argument(
        "--max-body",
        type=int,
        default=MAX_BODY,
        help="largest request body in bytes (%(default)s)",
    )
    parser.add_argument(
        "--resolution",
        choices=list(RESOLUTIONS),
        default=DEFAULT_RESOLUTION,
        help="size of rendered clips: %(default)s (default, quick) or the services' 720p/1080p",
    )
    return parser


def _announce(sandbox: Sandbox, discovery_file: Path | None) -> None:
    """Say where the sandbox serves; the key goes to the discovery file if there is one."""
    url, key = sandbox.base_url, sandbox.api_key
    speaks = "" if sandbox.gateway == DEFAULT_GATEWAY else f" (speaking {sandbox.gateway})"
    print(f"omni-widgets sandbox serving at {url}{speaks}", flush=True)
    if discovery_file is not None:
        write_discovery(discovery_file, Discovery(url, os.getpid(), key, sandbox.gateway))
        print(f"URL, pid and key written to {discovery_file}", flush=True)
        return
    accepted = "any non-empty key works" if sandbox.any_key else "only this key works"
    print(f"API key: {key} ({accepted})", flush=True)
    python, shell = "", ""
    if sandbox.gateway != DEFAULT_GATEWAY:
        python, shell = f", gateway={sandbox.gateway!r}", f" OMNI_GATEWAY={sandbox.gateway}"
    print(
        f"  in Python:  OmniClient(api_key={key!r}, base_url={url!r}{python})\n"
        f"  in a shell: export OMNI_BASE_URL={url} OMNI_API_KEY={key}{shell}\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )


def _fault(spec: str) -> Fault:
    try:
        return Fault.parse(spec)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, start the sandbox, print where it is, and serve until interrupted."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.key is not None and not args.key.strip():
        parser.error("--key must not be empty")
    if args.max_body <= 0:
        parser.error("--max-body must be a positive number of bytes")
    logging.basicConfig(level=logging.WARNING, format="omni-sandbox: %(levelname)s: %(message)s")
    sandbox = Sandbox(
        gateway=args.gateway,
        speed=args.speed,
        ttl=args.ttl,
        seed=args.seed,
        host=args.host,
        port=args.port,
        faults=args.faults,
        allow_loopback_callbacks=args.allow_loopback_callbacks,
        api_key=args.key,
        any_key=args.any_key,
        allowed_hosts=args.allowed_hosts,
        max_body=args.max_body,
        state_dir=args.state_dir,
        record_ttl=args.record_ttl,
        resolution=args.resolution,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    try:
        sandbox.start()
    except OSError as exc:
        print(f"omni-sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    _announce(sandbox, args.discovery_file)
    try:
        while not stop.is_set() and sandbox.running:
            stop.wait(0.5)
            if args.idle_exit and sandbox.idle_seconds > args.idle_exit:
                print(f"no request for {args.idle_exit:g} s: exiting", flush=True)
                break
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        if args.discovery_file is not None:
            remove_discovery(args.discovery_file, os.getpid())
    print("omni-widgets sandbox stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
