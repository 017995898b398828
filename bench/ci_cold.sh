#!/usr/bin/env bash
# CI from a cold machine, as CI runs it: removes everything the tests and the sandbox build (sandbox fleet
# and dir, namespaces, test and sandbox images, leftover test containers, networks and volumes), then runs
# `.ci/run` in a fresh clone with shared/ beside it, CI=true, no stdin. `--warm` runs it a second time
# right after (the warm path); `--warm-only` runs only on the state as it is. Prints the time of each run. Needs root; destroys the sandbox's state.
#
#   bash bench/ci_cold.sh [--warm | --warm-only]
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$repo/../shared" 2>/dev/null && pwd) || { echo "no shared/ beside $repo" >&2; exit 2; }
work=${CI_COLD_DIR:-/tmp/shipdeck-ci-cold}
lock=/run/lock/shipdeck-sandbox-use.lock  # other users of the sandbox on this machine take it too
mkdir -p "$(dirname "$lock")"
exec 9>"$lock"
flock 9

cold_state() {
  echo "== removing the sandbox, namespaces, images, containers, networks and volumes the suite makes"
  if command -v shipdeck >/dev/null 2>&1; then shipdeck sandbox down --purge >/dev/null 2>&1 || true; fi
  (cd "$repo" && python3 -m app sandbox down --purge >/dev/null 2>&1) || true
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^sandbox-'); do ip netns delete "$ns"; done
  rm -rf /var/lib/shipdeck-sandbox
  if curl -fsS --max-time 2 --unix-socket /var/run/docker.sock http://docker/_ping >/dev/null 2>&1; then
    docker ps -aq | xargs -r docker rm -f -v >/dev/null 2>&1
    docker network prune -f >/dev/null 2>&1
    docker volume prune -af >/dev/null 2>&1
    docker images --format '{{.Repository}}:{{.Tag}}' | grep -E \
      '^(shipdeck|shipdeck-test|shipdeck-exp|sandbox-probe|postgres|redis|basecamp/kamal-proxy|registry|demo|.*/demo)[/:]' \
      | xargs -r docker rmi -f >/dev/null 2>&1
    docker image prune -af >/dev/null 2>&1
    docker builder prune -af >/dev/null 2>&1
  fi
  echo "   images left: $(docker images -q 2>/dev/null | wc -l), netns left: $(ip netns list 2>/dev/null | wc -l)"
}

run_ci() {
  local label=$1 log="$work/$1.log"
  rm -rf "$work/ci" && mkdir -p "$work/ci"
  git clone -q "$repo" "$work/ci/main" && cp -r "$shared" "$work/ci/shared"
  echo "== $label run: log in $log"
  local began=$SECONDS
  (cd "$work/ci/main" && CI=true bash .ci/run </dev/null >"$log" 2>&1)
  local status=$?
  echo "   $label: exit $status in $((SECONDS - began)) s; $(grep -E '^=+ .*(passed|failed).* =+$' "$log" | tail -n 1)"
  return $status
}

mkdir -p "$work"
if [[ "${1:-}" == "--warm-only" ]]; then run_ci warm; exit $?; fi
cold_state
run_ci cold || exit $?
if [[ "${1:-}" == "--warm" ]]; then run_ci warm || exit $?; fi
