#!/usr/bin/env bash
# Entrypoint of the sandbox's redis:7 image: give /data to the redis user, then run as that user.
set -Eeuo pipefail
if [ $# -eq 0 ] || [ "${1:0:1}" = '-' ]; then
    set -- redis-server "$@"
fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
    find /data \! -user redis -exec chown redis:redis '{}' +
    umask 0077
    exec setpriv --reuid=redis --regid=redis --init-groups "${BASH_SOURCE[0]}" "$@"
fi
exec "$@"
