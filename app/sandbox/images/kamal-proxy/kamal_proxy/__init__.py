"""A stand-in for basecamp/kamal-proxy, for shipdeck's sandbox fleet only.

The real kamal-proxy (Go) cannot be built or pulled on the sandbox machine, so this package
implements the part of its command line and behaviour that Kamal 2 relies on, in Python with the
standard library only:

* `kamal-proxy run` serves HTTP/1.1 on the HTTP port (80) and the HTTPS port (443) and listens for
  commands on a unix socket (`$KAMAL_PROXY_SOCKET`, else `$XDG_RUNTIME_DIR/kamal-proxy.sock`, else
  `/tmp/kamal-proxy.sock`). Port 443 speaks TLS only to clients that start a TLS handshake and only
  for services deployed with `--tls-certificate-path`/`--tls-private-key-path`; otherwise it serves
  plain HTTP. There is no ACME (automatic certificates) and no HTTP/3.
* `deploy` health-checks the new targets, switches the service atomically, drains the old targets and
  only then returns; `remove`, `stop`/`resume` (maintenance), `pause`, and `list` work as documented.
* Routes are saved to `~/.config/kamal-proxy/kamal-proxy.state` after every change and restored by
  `run`. The file format is this stand-in's own JSON, not the real proxy's.

It is not a production proxy and is not meant to be one.
"""

VERSION = "v0.9.2-shipdeck-sandbox"
