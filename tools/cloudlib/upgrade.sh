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
# tools/cloud upgrade: the running cloud to a newer Nova release, its
# guests running (doc/source/upgrade.rst). Sourced, never run.
# shellcheck shell=bash
# Variables are shared between the sourced modules and tools/cloud.
# shellcheck disable=SC2034,SC2154

# Every service to a newer release while the guests run (grenade's order,
# doc/source/upgrade.rst): the new release's venv prepared first, then
# every OpenStack service stopped (libvirtd and QEMU stay: the guests run
# on), the configuration rewritten from the new release (nova-rt installed
# into it), each database's schema upgraded, the services started, Nova's
# online data migrations run, and the upgrade checks of Nova, placement
# and nova-rt required clean before the cloud counts as up.
cmd_upgrade() {
    local to=
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --to) to=${2:-}; shift 2 || usage ;;
            *) usage ;;
        esac
    done
    [[ -n $to ]] || usage
    known_release "$to"
    [[ -f $RUN/computes ]] || die "no cloud here (tools/cloud up first)"
    local from=$RELEASE
    [[ $to != "$from" ]] || die "the cloud runs Nova $from already"
    [[ $(printf '%s\n' "$from" "$to" | sort -V | tail -n 1) == "$to" ]] ||
        die "Nova $from cannot be downgraded to $to"
    local name
    for name in keystone placement glance neutron nova-api nova-conductor nova-scheduler; do
        alive "$name" || die "$name is not running: an upgrade starts from a running cloud"
    done
    local t0=$SECONDS i
    "$top/tools/cloud-deps.sh" --release "$to" || die "cannot install Nova $to's services"
    log "upgrade $from -> $to: stopping the services (the guests run on)"
    local services=(nova-api nova-scheduler nova-conductor)
    for i in $(host_indexes); do
        services+=("nova-compute@$(host_name "$i")")
    done
    stop_all "${services[@]}" neutron glance placement keystone ||
        die "a service did not stop"
    local t_down=$SECONDS
    use_release "$to"
    echo "$RELEASE" >"$RUN/release"
    write_configs
    configure_nova "$(cat "$RUN/computes")"
    db_upgrade
    for name in keystone placement glance neutron; do
        up_service "$name"
    done
    for name in nova-conductor nova-scheduler nova-api; do
        service_start "$name"
    done
    for name in nova-conductor nova-scheduler nova-api; do
        service_wait "$name"
    done
    for i in $(host_indexes); do
        service_start "nova-compute@$(host_name "$i")"
    done
    for i in $(host_indexes); do
        service_wait "nova-compute@$(host_name "$i")"
    done
    local t_up=$SECONDS
    # Until none is left to migrate: nova-manage says 1 while it did some.
    local rc=1 nc=$ETC/nova/nova.conf
    while [[ $rc == 1 ]]; do
        rc=0
        "$VENV/bin/nova-manage" --config-file "$nc" db online_data_migrations \
            >>"$LOGS/upgrade.log" 2>&1 || rc=$?
    done
    [[ $rc == 0 ]] || { show_log upgrade; die "nova-manage db online_data_migrations exited $rc"; }
    upgrade_check nova-status --config-file "$nc" upgrade check
    upgrade_check placement-status --config-file "$ETC/placement/placement.conf" upgrade check
    for i in $(host_indexes); do
        upgrade_check nova-rt status upgrade check \
            --config-file "$(host_dir "$i")/nova-cpu.conf"
    done
    # The tests' nova-rt command is the new release's.
    ini "$CLOUD_DIR/tempest.conf" nova_rt host_nova_rt "$VENV/bin/nova-rt"
    log "cloud upgraded from Nova $from to $to in $((SECONDS - t0)) s (services down $((t_up - t_down)) s)"
    record_figures "upgrade-${from}-${to}" \
        "upgrade.${from//./_}_to_${to//./_}_s=$((SECONDS - t0))" \
        "upgrade.${from//./_}_to_${to//./_}_down_s=$((t_up - t_down))"
}

# db_upgrade: each service's schema to the running release's, in order.
db_upgrade() {
    local nc=$ETC/nova/nova.conf
    {
        "$VENV/bin/keystone-manage" --config-file "$ETC/keystone/keystone.conf" db_sync &&
        "$VENV/bin/placement-manage" --config-file "$ETC/placement/placement.conf" db sync &&
        "$VENV/bin/glance-manage" --config-file "$ETC/glance/glance-api.conf" db_sync &&
        "$VENV/bin/neutron-db-manage" --config-file "$ETC/neutron/neutron.conf" upgrade heads &&
        "$VENV/bin/nova-manage" --config-file "$nc" api_db sync &&
        "$VENV/bin/nova-manage" --config-file "$nc" db sync
    } >>"$LOGS/upgrade.log" 2>&1 || { show_log upgrade; die "a database schema upgrade failed"; }
}

# upgrade_check CMD...: an oslo.upgradecheck command must say Success (0);
# a warning (1) or failure (2) stops the upgrade with its report.
upgrade_check() {
    local out rc=0
    out=$("$VENV/bin/$1" "${@:2}" 2>&1) || rc=$?
    echo "$out" >>"$LOGS/upgrade.log"
    if [[ $rc != 0 ]]; then
        echo "$out" >&2
        die "$1 upgrade check exited $rc (1: warning, 2: failure)"
    fi
    log "$1 upgrade check: success"
}
