"""Call a probe of the server in this container: for health checks that run a command.

    python -m ecomind_core.probes.call {healthz,readyz} [--port 8000] [--timeout 3]

Exits 0 when the probe answers 200, and 1 otherwise (another status, or no
answer within the timeout), as Docker and ECS health checks read it; Docker
reserves exit 2, so "could not reach the server" is 1 as well. The image has
no curl: this needs only the standard library and imports nothing of
Django, so each call costs milliseconds.
"""

import argparse
import http.client
import sys

from ecomind_core.management.exit_codes import ExitCode

PROBES = ("healthz", "readyz")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m ecomind_core.probes.call", description=__doc__.splitlines()[0])
    parser.add_argument("probe", choices=PROBES)
    parser.add_argument("--port", type=int, default=8000, help="the server's port on 127.0.0.1 (default 8000)")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the answer (default 3)")
    args = parser.parse_args(argv)
    server = http.client.HTTPConnection("127.0.0.1", args.port, timeout=args.timeout)
    try:
        server.request("GET", f"/{args.probe}")
        response = server.getresponse()
        body = response.read().decode(errors="replace")
    except OSError as exc:
        print(f"{args.probe}: no answer from 127.0.0.1:{args.port} ({exc})", file=sys.stderr)
        return ExitCode.FOUND
    finally:
        server.close()
    if response.status != 200:
        print(f"{args.probe}: {response.status} {body}", file=sys.stderr)
        return ExitCode.FOUND
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
