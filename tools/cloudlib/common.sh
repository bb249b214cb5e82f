# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
#
# tools/cloud's shared vocabulary: paths, logging, and the life of one
# daemon (started in a session of its own, known by its PID file, stopped
# by signalling that PID's process group). Sourced, never run.
# shellcheck shell=bash
# Variables are shared between the sourced modules and tools/cloud.
# shellcheck disable=SC2034,SC2154

top=${top:?}
lib=$top/tools/cloudlib
CLOUD_DIR=${NOVA_RT_CLOUD_DIR:-$top/.artifacts/cloud}
RUN=$CLOUD_DIR/run
# shellcheck source=releases.sh
source "$lib/releases.sh"
# The Nova release the cloud runs (tools/releases/RELEASE.txt): the newest
# unless `up --release` chose another (run/release) or an upgrade moved it.
# use_release RELEASE: the venv (and its python) every command runs from.
use_release() {
    RELEASE=$1
    VENV=$(cloud_venv "$RELEASE")
    PY=$VENV/bin/python
}
use_release "$(cat "$RUN/release" 2>/dev/null || echo "$NEWEST_RELEASE")"
LOGS=$CLOUD_DIR/logs
ETC=$CLOUD_DIR/etc
DATA=$CLOUD_DIR/data
HOST=127.0.0.1
PASSWORD=${NOVA_RT_CLOUD_PASSWORD:-nova-rt-secret}
SOCK=$RUN/mysql.sock

# Seconds: bounded waits, so a broken service fails the run, not hangs it.
WAIT_SERVICE=${NOVA_RT_CLOUD_WAIT:-120}
STOP_GRACE=${NOVA_RT_CLOUD_STOP_GRACE:-20}
# Lines of a service's log shown when it fails.
LOG_TAIL=30

log() { echo "cloud: $(date -u +%H:%M:%S) $*"; }
# record_figures SOURCE KEY=VALUE...: for the docs (tools/figures.py).
record_figures() { python3 "$top/tools/figures.py" record "$@"; }
die() { echo "cloud: ERROR: $*" >&2; exit 1; }

pid_of() {
    local f=$RUN/$1.pid
    [[ -s $f ]] && cat "$f"
}

# running PID: the process exists and has not exited. An exited daemon
# (its parent, tools/cloud, long gone) stays a zombie until init reaps it,
# which this kind of machine's init does every second or two, and kill -0
# still finds a zombie (measured: 1.3-1.8 s).
running() {
    local stat
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    # The state follows the command name, which may hold spaces.
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# group_running PGID: a process of the group PGID (a service's session,
# started by setsid) has not exited: a service's leader (rabbitmq's
# script, uwsgi's master) can exit before its children do.
group_running() {
    # shellcheck disable=SC2009  # ps: the group and the state of each
    ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'
}

alive() {
    local pid
    pid=$(pid_of "$1") || return 1
    running "$pid"
}

show_log() {
    local name=$1
    if [[ -s $LOGS/$name.log ]]; then
        echo "cloud: last $LOG_TAIL lines of $LOGS/$name.log:" >&2
        tail -n "$LOG_TAIL" "$LOGS/$name.log" >&2 || true
    fi
}

# start NAME CMD...: in its own session (its PID is its process group),
# output to logs/NAME.log.
start() {
    local name=$1
    shift
    if alive "$name"; then
        log "$name already running (pid $(pid_of "$name"))"
        return 0
    fi
    setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
    log "started $name (pid $!)"
}

# wait_for NAME WHAT CMD...: until CMD succeeds, NAME dies or time is up.
wait_for() {
    local name=$1 what=$2
    shift 2
    local deadline=$((SECONDS + WAIT_SERVICE))
    until "$@" >/dev/null 2>&1; do
        if ! alive "$name"; then
            show_log "$name"
            die "$name exited before $what"
        fi
        if ((SECONDS > deadline)); then
            show_log "$name"
            die "$name: no $what within ${WAIT_SERVICE}s"
        fi
        sleep 1
    done
}

# stays_up NAME SECONDS: a daemon with no port to ask is taken as started
# when it is still alive after SECONDS (its start-up errors come sooner).
stays_up() {
    local name=$1 deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        if ! alive "$name"; then
            show_log "$name"
            die "$name exited while starting"
        fi
        sleep 1
    done
}

http_ok() {
    "$PY" - "$1" <<'PYEOF'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=5)
except urllib.error.HTTPError as e:
    sys.exit(0 if e.code < 500 else 1)
except Exception:
    sys.exit(1)
PYEOF
}

port_open() { "$PY" -c "import socket; socket.create_connection(('$1', $2), 2)"; }

# signal_service NAME SIGNAL: the whole process group (uwsgi workers,
# beam's children), which start() created for this PID.
signal_service() {
    local pid=$1 sig=$2
    kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || true
}

# gone PID SECONDS: wait until the process and every other process of its
# group have exited (zombies waiting for init count as exited).
gone() {
    local pid=$1 deadline=$((SECONDS + $2))
    while running "$pid" || group_running "$pid"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# stop_one NAME: SIGTERM, SIGKILL after STOP_GRACE seconds.
stop_one() {
    local name=$1 pid
    pid=$(pid_of "$name") || return 0
    if running "$pid" || group_running "$pid"; then
        signal_service "$pid" TERM
        if ! gone "$pid" "$STOP_GRACE"; then
            log "$name (pid $pid) ignored SIGTERM for ${STOP_GRACE}s: SIGKILL"
        fi
        signal_service "$pid" KILL
        gone "$pid" 10 || die "$name (pid $pid) survived SIGKILL"
        log "stopped $name (pid $pid)"
    fi
    rm -f "$RUN/$name.pid"
}

# kill_one NAME SIGNAL: as a fault would, no grace; the PID file goes once
# the process has (a signal it survives leaves it running and recorded).
kill_one() {
    local name=$1 sig=$2 pid
    pid=$(pid_of "$name") || die "$name is not running (no PID file)"
    running "$pid" || die "$name (pid $pid) is not running"
    signal_service "$pid" "$sig"
    # Printed as soon as the signal is out, so that a caller reading this
    # output can look at the cloud before the process is gone (a SIGTERM
    # lets nova-compute run on for seconds).
    log "sent SIG$sig to $name (pid $pid)"
    # Signals that hold or wake a process, not end it: nothing to wait for.
    [[ $sig =~ ^(STOP|CONT)$ ]] && return 0
    if gone "$pid" "$STOP_GRACE"; then
        rm -f "$RUN/$name.pid"
        log "killed $name (pid $pid) with SIG$sig"
    else
        log "$name (pid $pid) is still running after SIG$sig"
    fi
}
