#!/usr/bin/env bash
# Docker's engine from Debian's packages, for the container hosts (no image registry is needed).
# Usage: scripts/docker.sh start|stop|clean|status
#   start   installs docker.io and mmdebstrap when missing (as root, with apt-get) and starts dockerd when
#           no daemon answers: overlay2 storage, else vfs (USR_HARNESS_DOCKER_STORAGE="vfs" picks one). Exits 0 saying why when Docker cannot run here
#           (not root, no apt-get, dockerd does not come up): the container drills then skip with a reason.
#           Prints `started` on stdout when it started dockerd, so a caller stops only what it started.
#   stop    removes the harness's containers (by label) and stops dockerd only if `start` started it.
#   clean   removes the harness's containers (by label) only.
#   status  says whether a daemon answers and whether this script started it.
# The images stay in Docker's data root between runs: a second run reuses them (they are tagged by a
# hash of what they are built from).
set -euo pipefail
state=${USR_HARNESS_DOCKER_STATE:-${TMPDIR:-/tmp}/usr-harness-dockerd}
pid_file=$state/dockerd.pid
log=$state/dockerd.log
label=org.usr-harness.host
wait_seconds=${USR_HARNESS_DOCKER_WAIT:-60}
storage_drivers=${USR_HARNESS_DOCKER_STORAGE:-overlay2 vfs}  # tried in order

say() { echo "docker.sh: $*" >&2; }

answers() { command -v docker >/dev/null 2>&1 && docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

our_pid() {
  # The dockerd this script started, if it still runs (checked by its command line, never by name).
  [ -f "$pid_file" ] || return 1
  local pid argv
  pid=$(cat "$pid_file")
  argv=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $argv == "dockerd "* ]] || return 1
  echo "$pid"
}

install_missing() {
  local need=()
  command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
  command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
  [ ${#need[@]} -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "cannot install ${need[*]}: needs root and apt-get"
    return 1
  fi
  say "installing ${need[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

launch() {
  local driver=$1 pid
  say "starting dockerd (storage $driver), log $log"
  setsid dockerd --storage-driver "$driver" >>"$log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pid_file"
  for _ in $(seq "$wait_seconds"); do
    if answers; then
      say "dockerd $pid answers (storage $driver)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  say "dockerd with storage $driver did not come up; its log ends: $(tail -n 3 "$log" | tr '\n' ' ')"
  stop_ours
  return 1
}

stop_ours() {
  local pid
  pid=$(our_pid) || { rm -f "$pid_file"; return 0; }
  kill -TERM "$pid"
  for _ in $(seq 30); do
    [ -d "/proc/$pid" ] || break
    sleep 1
  done
  if [ -d "/proc/$pid" ]; then
    say "dockerd $pid ignored TERM for 30 s; killing it"
    kill -KILL "$pid"
  fi
  rm -f "$pid_file"
  say "stopped dockerd $pid"
}

remove_our_containers() {
  answers || return 0
  local ids
  ids=$(docker ps -aq --filter "label=$label")
  [ -z "$ids" ] || { say "removing the harness's containers: $(echo "$ids" | tr '\n' ' ')"; docker rm -f $ids >/dev/null; }
}

case "${1:-}" in
  start)
    mkdir -p "$state"
    install_missing || exit 0
    if answers; then
      say "a Docker daemon already answers; leaving it as it is"
      exit 0
    fi
    if [ "$(id -u)" != 0 ]; then
      say "no Docker daemon answers and starting one needs root: the container drills will skip"
      exit 0
    fi
    for driver in $storage_drivers; do
      launch "$driver" && echo started && exit 0
    done
    say "Docker cannot run here: the container drills will skip"
    ;;
  stop)
    remove_our_containers
    stop_ours
    ;;
  clean)
    remove_our_containers
    ;;
  status)
    if answers; then say "a daemon answers"; else say "no daemon answers"; fi
    if pid=$(our_pid); then say "dockerd $pid was started by this script"; fi
    ;;
  *)
    echo "usage: scripts/docker.sh start|stop|clean|status" >&2
    exit 2
    ;;
esac
