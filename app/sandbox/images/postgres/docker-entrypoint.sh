#!/usr/bin/env bash
# Entrypoint of the sandbox's postgres:15 image. It follows the official postgres image's documented
# behaviour: the POSTGRES_* variables only take effect when PGDATA is empty; an initialized PGDATA is
# started as is (a changed POSTGRES_PASSWORD is ignored, exactly like the real image).
set -Eeuo pipefail

log() { printf '%s\n' "$@"; }
fail() { printf '%s\n' "$@" >&2; exit 1; }

# VAR may come from VAR or from the file named by VAR_FILE (Docker secrets), never both.
read_env_or_file() {
    local name="$1" default="${2:-}" file_name="${1}_FILE"
    local direct="${!name:-}" from_file="${!file_name:-}"
    if [ -n "$direct" ] && [ -n "$from_file" ]; then
        fail "error: both $name and $file_name are set (but are exclusive)"
    fi
    local value="$default"
    if [ -n "$direct" ]; then
        value="$direct"
    elif [ -n "$from_file" ]; then
        value="$(< "$from_file")"
    fi
    export "$name"="$value"
    unset "$file_name"
}

load_settings() {
    read_env_or_file POSTGRES_PASSWORD
    read_env_or_file POSTGRES_USER postgres
    read_env_or_file POSTGRES_DB "$POSTGRES_USER"
    read_env_or_file POSTGRES_INITDB_ARGS
    : "${POSTGRES_HOST_AUTH_METHOD:=}"
    : "${POSTGRES_INITDB_WALDIR:=}"
    DATABASE_ALREADY_EXISTS=
    if [ -s "$PGDATA/PG_VERSION" ]; then
        DATABASE_ALREADY_EXISTS=true
    fi
}

prepare_directories() {
    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA" || :
    mkdir -p /var/run/postgresql
    chmod 03775 /var/run/postgresql || :
    if [ -n "$POSTGRES_INITDB_WALDIR" ]; then
        mkdir -p "$POSTGRES_INITDB_WALDIR"
    fi
    if [ "$(id -u)" = 0 ]; then
        find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
        find /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
        if [ -n "$POSTGRES_INITDB_WALDIR" ]; then
            find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres:postgres '{}' +
        fi
    fi
}

require_password() {
    if [ -n "$POSTGRES_PASSWORD" ] || [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
        if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
            log '****************************************************' \
                'WARNING: POSTGRES_HOST_AUTH_METHOD has been set to "trust". Every host that' \
                '         can reach this server may connect as any user without a password.' \
                '****************************************************'
        fi
        return
    fi
    fail 'Error: Database is uninitialized and superuser password is not specified.' \
         '       You must specify POSTGRES_PASSWORD to a non-empty value for the' \
         '       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".' \
         '' \
         '       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all' \
         '       connections without a password. This is *not* recommended.'
}

run_initdb() {
    if [ -n "$POSTGRES_INITDB_WALDIR" ]; then
        POSTGRES_INITDB_ARGS="${POSTGRES_INITDB_ARGS:+$POSTGRES_INITDB_ARGS }--waldir $POSTGRES_INITDB_WALDIR"
    fi
    # The password travels through a process-substitution file, never through argv. The trailing
    # newline keeps --pwfile from rejecting an empty password (trust setups).
    eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"
}

append_host_rule() {
    local method="$POSTGRES_HOST_AUTH_METHOD"
    if [ -z "$method" ]; then
        method="$(postgres -C password_encryption)"
    fi
    # Local socket and loopback keep initdb's "trust"; every other host needs the password.
    printf '\nhost all all all %s\n' "$method" >> "$PGDATA/pg_hba.conf"
}

sql() {
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"
}

create_database() {
    if [ "$POSTGRES_DB" = postgres ]; then
        return
    fi
    local exists
    exists="$(sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<<"SELECT 1 FROM pg_database WHERE datname = :'db' ;")"
    if [ -z "${exists// /}" ]; then
        sql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db" ;'
        log ''
    fi
}

run_init_scripts() {
    local script
    for script in /docker-entrypoint-initdb.d/*; do
        [ -e "$script" ] || continue
        case "$script" in
            *.sh)
                if [ -x "$script" ]; then
                    log "$0: running $script"; "$script"
                else
                    log "$0: sourcing $script"; . "$script"
                fi ;;
            *.sql) log "$0: running $script"; sql --dbname "$POSTGRES_DB" -f "$script"; log '' ;;
            *.sql.gz) log "$0: running $script"; gunzip -c "$script" | sql --dbname "$POSTGRES_DB"; log '' ;;
            *.sql.xz) log "$0: running $script"; xzcat "$script" | sql --dbname "$POSTGRES_DB"; log '' ;;
            *) log "$0: ignoring $script" ;;
        esac
    done
}

initialize() {
    require_password
    run_initdb
    append_host_rule
    export PGPASSWORD="$POSTGRES_PASSWORD"
    # A temporary server on the socket only, so nothing outside sees a half-initialized database.
    PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
    create_database
    run_init_scripts
    PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGPASSWORD
    log '' 'PostgreSQL init process complete; ready for start up.' ''
}

wants_help() {
    local arg
    for arg; do
        case "$arg" in
            -'?'|--help|--describe-config|-V|--version) return 0 ;;
        esac
    done
    return 1
}

main() {
    if [ $# -eq 0 ] || [ "${1:0:1}" = '-' ]; then
        set -- postgres "$@"
    fi
    if [ "$1" = postgres ] && ! wants_help "$@"; then
        load_settings
        prepare_directories
        if [ "$(id -u)" = 0 ]; then
            # Drop to the postgres user, like gosu in the official image.
            exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
        fi
        if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
            initialize
        else
            log '' 'PostgreSQL Database directory appears to contain a database; Skipping initialization' ''
        fi
    fi
    exec "$@"
}

main "$@"
