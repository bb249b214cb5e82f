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
# Every service of the cloud: how it starts (service_start) and when it is
# ready (service_wait), one case each. Per-host services are named
# SERVICE@HOST (libvirtd@compute1); their PID files, when the daemon writes
# one, go to the host's own /run/libvirt (the machine's /run is shared).
# Sourced by tools/cloud.
# shellcheck shell=bash
# Variables are shared between the sourced modules and tools/cloud.
# shellcheck disable=SC2034,SC2154

# The real tier (tests/real/host.py) holds this lock while it runs its own
# libvirtd; the cloud holds it while up, so neither changes the machine's
# libvirt and QEMU underneath the other.
LIBVIRT_LOCK=/run/lock/nova-rt-real-tier.lock

CONTROLLER_SERVICES=(lock mariadb epmd rabbitmq memcached keystone placement
                     glance neutron nova-api nova-conductor nova-scheduler)
HOST_SERVICES=(host sshd virtlogd libvirtd nova-compute)
# What can create or change a guest: stopped first by `down`.
GUEST_MAKERS=(nova-api nova-conductor nova-scheduler)

# Every service in start order; `down` stops in reverse.
all_services() {
    local s i
    printf '%s\n' "${CONTROLLER_SERVICES[@]}"
    for i in $(host_indexes); do
        for s in "${HOST_SERVICES[@]}"; do
            echo "$s@$(host_name "$i")"
        done
    done
}

# expand NAME: a service name as given on the command line; a per-host
# service without @HOST means it on every host.
expand() {
    local name=$1 i known
    # Not `all_services | grep -q`: grep's early exit fails the pipe
    # under pipefail.
    known=$(all_services)
    if grep -qxF -- "$name" <<<"$known"; then
        echo "$name"
    elif grep -qxF -- "$name" <<<"$(printf '%s\n' "${HOST_SERVICES[@]}")"; then
        for i in $(host_indexes); do
            echo "$name@$(host_name "$i")"
        done
    else
        return 1
    fi
}

uwsgi_service() {
    # uwsgi_service NAME PORT MODULE:APP SCRIPT ENV...: the release's WSGI
    # module, or where it has none (keystone, placement and nova before
    # 2025.1) its WSGI script (- : nova-rt's own module); one process of two threads, or two of one
    # where the application runs on eventlet (api_native_threads).
    local name=$1 port=$2 module=$3 script=$4
    shift 4
    local app=(--module "$module") workers=(--processes 1 --threads 2)
    if [[ $script != - ]] &&
        ! "$PY" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec(sys.argv[1]) is None)' \
            "${module%%:*}" 2>/dev/null; then
        [[ -x $VENV/bin/$script ]] || die "$name: neither ${module%%:*} nor $VENV/bin/$script in Nova $RELEASE's venv"
        app=(--wsgi-file "$VENV/bin/$script")
    fi
    if [[ $name == nova-api ]] && ! api_native_threads; then
        workers=(--processes 2 --threads 1)
    fi
    start "$name" env "$@" "$VENV/bin/uwsgi" --http-socket "$HOST:$port" \
        "${app[@]}" --master "${workers[@]}" \
        --die-on-term --lazy-apps --need-app --buffer-size 65535 \
        --add-header "Connection: close" --home "$VENV"
}

# api_native_threads: Nova's API runs on native threads (2026.1 on: its
# WSGI module patches with backend='threading'). Before, the API is
# eventlet's, and a second uwsgi thread strands oslo.messaging's reply
# listener in the other thread's hub: an RPC call from the API (a live
# migration to a named host) times out after 60 s although the conductor
# answered at once (seen on 2025.1).
api_native_threads() {
    local dir
    dir=$("$PY" -c 'import importlib.util as u; print(u.find_spec("nova.wsgi").submodule_search_locations[0])' 2>/dev/null) ||
        return 1
    grep -qs "backend='threading'" "$dir/osapi_compute.py"
}

# mysql_q SQL [OPTION...]: SQL as the cloud's database root.
mysql_q() { mariadb --no-defaults -S "$SOCK" -u root "${@:2}" -e "$1"; }

take_libvirt_lock() {
    if alive lock; then
        return 0
    fi
    mkdir -p "$(dirname "$LIBVIRT_LOCK")"
    local holders
    holders=$(lock_holders "$LIBVIRT_LOCK")
    if [[ -n $holders ]]; then
        die "$LIBVIRT_LOCK is held by pid $holders (the real tier's libvirtd, or another cloud): wait for it, or stop it: kill $holders"
    fi
    # A holder process keeps the lock until `down` stops it by PID.
    start lock flock -x -n "$LIBVIRT_LOCK" \
        sh -c "echo locked; exec sleep 2147483647"
    wait_for lock "$LIBVIRT_LOCK" grep -q locked "$LOGS/lock.log"
}

# lock_holders FILE: PIDs holding a lock on FILE (/proc/locks).
lock_holders() {
    local inode
    [[ -e $1 ]] || return 0
    inode=$(stat -c %i "$1")
    awk -v ino=":$inode\$" '$6 ~ ino {print $5}' /proc/locks | sort -u | tr '\n' ' ' | sed 's/ $//'
}

service_start() {
    local name=$1 base=${1%@*} hostname=${1#*@}
    case "$base" in
        lock) take_libvirt_lock ;;
        mariadb)
            local datadir=$DATA/mysql
            if [[ ! -d $datadir/mysql ]]; then
                mkdir -p "$datadir"
                mariadb-install-db --no-defaults --datadir="$datadir" --user=root \
                    --auth-root-authentication-method=normal --skip-test-db \
                    >>"$LOGS/mariadb.log" 2>&1 || {
                        show_log mariadb
                        die "mariadb-install-db failed"
                    }
            fi
            start mariadb /usr/sbin/mariadbd --no-defaults --datadir="$datadir" \
                --socket="$SOCK" --skip-networking --user=root \
                --pid-file="$RUN/mariadbd.pidfile" --innodb-buffer-pool-size=64M \
                --max-connections=400 --skip-log-bin ;;
        epmd) start epmd env ERL_EPMD_ADDRESS="$HOST" /usr/bin/epmd -address "$HOST" ;;
        rabbitmq)
            mkdir -p "$DATA/rabbitmq/mnesia" "$LOGS/rabbitmq"
            # Debian's /usr/sbin/rabbitmq-server switches to a user that
            # cannot write the cloud's directories: the real script.
            start rabbitmq env HOME="$DATA/rabbitmq" ERL_EPMD_ADDRESS="$HOST" \
                ERL_CRASH_DUMP="$LOGS/erl_crash.dump" \
                RABBITMQ_NODENAME=rabbit@localhost \
                RABBITMQ_NODE_IP_ADDRESS="$HOST" RABBITMQ_NODE_PORT=5672 \
                RABBITMQ_DIST_PORT=25672 \
                RABBITMQ_MNESIA_BASE="$DATA/rabbitmq/mnesia" \
                RABBITMQ_LOG_BASE="$LOGS/rabbitmq" \
                RABBITMQ_LOGS=- RABBITMQ_ENABLED_PLUGINS_FILE="$DATA/rabbitmq/enabled_plugins" \
                RABBITMQ_CONFIG_FILE="$DATA/rabbitmq/rabbitmq" \
                /usr/lib/rabbitmq/bin/rabbitmq-server ;;
        memcached) start memcached /usr/bin/memcached -u root -l "$HOST" -p 11211 -m 64 ;;
        keystone)
            uwsgi_service keystone 5000 keystone.wsgi.api:application keystone-wsgi-public \
                OS_KEYSTONE_CONFIG_DIR="$ETC/keystone" OS_KEYSTONE_CONFIG_FILES=keystone.conf ;;
        placement)
            uwsgi_service placement 8778 placement.wsgi.api:application placement-api \
                OS_PLACEMENT_CONFIG_DIR="$ETC/placement" ;;
        glance)
            uwsgi_service glance 9292 nova_rt_cloud_glance:application - \
                PYTHONPATH="$lib" OS_GLANCE_CONFIG_DIR="$ETC/glance" ;;
        neutron)
            uwsgi_service neutron 9696 nova_rt_cloud_neutron:application - \
                PYTHONPATH="$lib" OS_NEUTRON_CONFIG_DIR="$ETC/neutron" \
                OS_NEUTRON_CONFIG_FILES=neutron.conf ;;
        nova-api)
            uwsgi_service nova-api 8774 nova.wsgi.osapi_compute:application nova-api-wsgi \
                OS_NOVA_CONFIG_DIR="$ETC/nova" OS_NOVA_CONFIG_FILES="api-paste.ini;nova.conf" ;;
        nova-conductor|nova-scheduler)
            start "$base" "$VENV/bin/$base" --config-file "$ETC/nova/nova.conf" ;;
        host) start_host "$(host_index "$hostname")" ;;
        sshd) start "$name" nsenter --target "$(ns_pid "$hostname")" --mount --uts -- \
                /usr/sbin/sshd -D -e -f "$HOSTS_DIR/$hostname/ssh/sshd_config" ;;
        virtlogd) start "$name" nsenter --target "$(ns_pid "$hostname")" --mount --uts -- \
                /usr/sbin/virtlogd --pid-file /run/libvirt/virtlogd.pid ;;
        libvirtd)
            start "$name" nsenter --target "$(ns_pid "$hostname")" --mount --uts -- \
                env LD_PRELOAD="$RUN/memlock-shim.so" \
                LIBVIRT_LOG_FILTERS="1:qemu.qemu_monitor" \
                LIBVIRT_LOG_OUTPUTS="1:file:$LOGS/$name-debug.log" \
                /usr/sbin/libvirtd --listen --pid-file /run/libvirt/libvirtd.pid ;;
        nova-compute)
            start "$name" nsenter --target "$(ns_pid "$hostname")" --mount --uts -- \
                "$(host_venv "$hostname")/bin/nova-compute" --config-file "$HOSTS_DIR/$hostname/nova-cpu.conf" ;;
        *) die "unknown service $name" ;;
    esac
}

# service_wait NAME: until the service answers (bounded), else its log.
service_wait() {
    local name=$1 base=${1%@*} hostname=${1#*@}
    case "$base" in
        mariadb) wait_for mariadb "its socket" mysql_q "select 1" ;;
        rabbitmq) wait_for rabbitmq "AMQP on 5672" port_open "$HOST" 5672 ;;
        memcached) wait_for memcached "memcached on 11211" port_open "$HOST" 11211 ;;
        sshd) wait_for "$name" "SSH on port 22" port_open \
                "$(host_addr "$(host_index "$hostname")")" 22 ;;
        keystone) wait_for keystone "HTTP on 5000" http_ok "http://$HOST:5000/v3" ;;
        placement) wait_for placement "HTTP on 8778" http_ok "http://$HOST:8778/" ;;
        glance) wait_for glance "HTTP on 9292" http_ok "http://$HOST:9292/" ;;
        neutron) wait_for neutron "HTTP on 9696" http_ok "http://$HOST:9696/" ;;
        nova-api) wait_for nova-api "HTTP on 8774" http_ok "http://$HOST:8774/" ;;
        nova-conductor|nova-scheduler|epmd|virtlogd) stays_up "$name" 3 ;;
        libvirtd) wait_for "$name" "an answer to virsh" \
                host_virsh "$hostname" version ;;
        nova-compute) wait_for "$name" "its service record up" \
                compute_service_up "$hostname" ;;
        lock|host) ;;
        *) die "unknown service $name" ;;
    esac
}

# compute_service_up HOST: nova-compute of HOST reported in since it started.
compute_service_up() {
    "$PY" "$lib/bootstrap.py" service-up --cloud-dir "$CLOUD_DIR" \
        --password "$PASSWORD" --host "$1" \
        --since "$(stat -c %Y "$RUN/nova-compute@$1.pid")"
}
