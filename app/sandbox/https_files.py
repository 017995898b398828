"""A small HTTPS file server (run as its own process by the sandbox; standard library only).

Usage: https_files.py ADDRESS PORT DIRECTORY CERT KEY. `/` answers with `DIRECTORY/index`, any other
path with the file under DIRECTORY, as get.docker.com serves its script at `/`.
"""

from __future__ import annotations

import functools
import http.server
import ssl
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def translate_path(self, path: str) -> str:
        if path.split("?", 1)[0] in ("", "/"):
            path = "/index"
        return super().translate_path(path)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")
        sys.stderr.flush()


def main(argv: list[str]) -> None:
    address, port, directory, cert, key = argv
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer((address, int(port)), functools.partial(Handler, directory=directory))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
