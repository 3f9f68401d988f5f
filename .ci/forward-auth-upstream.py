#!/usr/bin/env python3
"""The app behind nginx in .ci/forward-auth.sh (deploy/nginx.conf).

    forward-auth-upstream.py PORT            answers every request with what nginx passed on, as JSON:
        {"method", "path", "user": [values of X-Auth-Request-User], "role": [...],
         "identity_headers": how many received headers read as either name once '_' is '-',
         "body_bytes"}
    forward-auth-upstream.py PORT --fail-closed
        plays a session server whose revocation check fails closed: 503 to everything.

Listens on 127.0.0.1 only.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IDENTITY = {"x-auth-request-user", "x-auth-request-role"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # nginx keeps connections to its upstreams alive
    fail_closed = False

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.fail_closed:
            status = 503
            doc = {"error": "service_unavailable", "message": "revocation cannot be checked"}
        else:
            status = 200
            doc = {
                "method": self.command,
                "path": self.path,
                "user": self.headers.get_all("X-Auth-Request-User") or [],
                "role": self.headers.get_all("X-Auth-Request-Role") or [],
                "identity_headers": sum(
                    1 for name in self.headers.keys() if name.lower().replace("_", "-") in IDENTITY
                ),
                "body_bytes": len(body),
            }
        out = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer


def main():
    port = int(sys.argv[1])
    Handler.fail_closed = "--fail-closed" in sys.argv[2:]
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
