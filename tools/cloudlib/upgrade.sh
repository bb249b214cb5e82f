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
#
# With --keep HOST (a rolling upgrade), HOST's nova-compute runs on, on
# the older release, through all of it; the other services send it what
# that release understands ([upgrade_levels] compute = auto). A second
# `upgrade --to` the same release then finishes: the kept computes move
# too, and every Nova service restarts without the cap.
cmd_upgrade() {
    local to='' keep=() h
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --to) to=${2:-}; shift 2 || usage ;;
            --keep) keep+=("${2:-}"); shift 2 || usage ;;
            *) usage ;;
        esac
    done
    [[ -n $to ]] || usage
    known_release "$to"
    [[ -f $RUN/computes ]] || die "no cloud here (tools/cloud up first)"
    local from=$RELEASE kept
    kept=$(kept_hosts)
    for h in "${keep[@]}"; do
        host_index "$h" >/dev/null || die "--keep: no compute host '$h'"
    done
    if [[ $to == "$from" ]]; then
        [[ -n $kept ]] || die "the cloud runs Nova $from already"
        ((${#keep[@]} == 0)) || die "--keep: the controllers run Nova $to already; upgrade --to $to finishes the rolling upgrade"
        finish_rolling_upgrade
        return
    fi
    [[ -z $kept ]] || die "computes $(echo "$kept" | tr '\n' ' ')run an older release than the controllers: tools/cloud upgrade --to $from first"
    [[ $(printf '%s\n' "$from" "$to" | sort -V | tail -n 1) == "$to" ]] ||
        die "Nova $from cannot be downgraded to $to"
    local name
    for name in keystone placement glance neutron nova-api nova-conductor nova-scheduler; do
        alive "$name" || die "$name is not running: an upgrade starts from a running cloud"
    done
    for h in "${keep[@]}"; do
        alive "nova-compute@$h" || die "nova-compute@$h is not running: a kept compute runs on"
    done
    local t0=$SECONDS i
    "$top/tools/cloud-deps.sh" --release "$to" || die "cannot install Nova $to's services"
    log "upgrade $from -> $to: stopping the services (the guests run on)${keep[*]:+; ${keep[*]} kept on $from}"
    local services=(nova-api nova-scheduler nova-conductor) moving=()
    for i in $(host_indexes); do
        h=$(host_name "$i")
        if printf '%s\n' "${keep[@]}" | grep -qxF "$h"; then
            echo "$from" >"$RUN/release@$h"
        else
            moving+=("nova-compute@$h")
        fi
    done
    stop_all "${services[@]}" "${moving[@]}" neutron glance placement keystone ||
        die "a service did not stop"
    local t_down=$SECONDS
    use_release "$to"
    echo "$RELEASE" >"$RUN/release"
    write_configs
    configure_nova "$(cat "$RUN/computes")"
    db_upgrade
    # The API services answer on their own: started together. Nova's
    # after them (each calls keystone and placement as it starts).
    start_nova keystone placement glance neutron
    start_nova nova-conductor nova-scheduler nova-api
    start_nova "${moving[@]}"
    local t_up=$SECONDS
    upgrade_checks
    # The tests' nova-rt command is the new release's.
    ini "$CLOUD_DIR/tempest.conf" nova_rt host_nova_rt "$VENV/bin/nova-rt"
    local key="upgrade.${from//./_}_to_${to//./_}"
    [[ ${#keep[@]} == 0 ]] || key+=_rolling
    log "cloud upgraded from Nova $from to $to${keep[*]:+ but ${keep[*]}} in $((SECONDS - t0)) s (services down $((t_up - t_down)) s)"
    record_figures "upgrade-${from}-${to}" "${key}_s=$((SECONDS - t0))" \
        "${key}_down_s=$((t_up - t_down))"
}

# The end of a rolling upgrade: each kept compute to the controllers'
# release, then every Nova service restarted without [upgrade_levels]
# (each had capped what it sends at the oldest compute's version).
finish_rolling_upgrade() {
    local t0=$SECONDS h kept=() services=(nova-conductor nova-scheduler nova-api) i
    mapfile -t kept < <(kept_hosts)
    log "upgrade: finishing the rolling upgrade to $RELEASE: ${kept[*]}"
    for h in "${kept[@]}"; do
        alive "nova-compute@$h" || die "nova-compute@$h is not running"
    done
    for i in $(host_indexes); do
        services+=("nova-compute@$(host_name "$i")")
    done
    stop_all "${services[@]}" || die "a service did not stop"
    for h in "${kept[@]}"; do
        rm -f "$RUN/release@$h"
    done
    # nova-rt is in this release's venv since the upgrade's first step.
    configure_nova "$(cat "$RUN/computes")" post-config
    start_nova "${services[@]}"
    upgrade_checks
    log "rolling upgrade to Nova $RELEASE finished in $((SECONDS - t0)) s"
    record_figures "upgrade-rolling-${RELEASE}" \
        "upgrade.rolling_finish_${RELEASE//./_}_s=$((SECONDS - t0))"
}

# start_nova NAME...: start each, then wait for each (they start together).
start_nova() {
    local name
    for name in "$@"; do
        service_start "$name"
    done
    for name in "$@"; do
        service_wait "$name"
    done
}

# upgrade_checks: Nova's online data migrations until none is left (exit
# 1: it did some), then Nova's, placement's and, on each compute with its
# own release, nova-rt's upgrade checks must say Success.
upgrade_checks() {
    local rc=1 nc=$ETC/nova/nova.conf i h
    while [[ $rc == 1 ]]; do
        rc=0
        "$VENV/bin/nova-manage" --config-file "$nc" db online_data_migrations \
            >>"$LOGS/upgrade.log" 2>&1 || rc=$?
    done
    [[ $rc == 0 ]] || { show_log upgrade; die "nova-manage db online_data_migrations exited $rc"; }
    # Side by side: each is a Python start-up of seconds, little else.
    local checks=()
    upgrade_check "$VENV/bin/nova-status" --config-file "$nc" upgrade check &
    checks+=($!)
    upgrade_check "$VENV/bin/placement-status" \
        --config-file "$ETC/placement/placement.conf" upgrade check &
    checks+=($!)
    for i in $(host_indexes); do
        h=$(host_name "$i")
        upgrade_check "$(host_venv "$h")/bin/nova-rt" status upgrade check \
            --config-file "$(host_dir "$i")/nova-cpu.conf" &
        checks+=($!)
    done
    local pid failed=0
    for pid in "${checks[@]}"; do
        wait "$pid" || failed=1
    done
    ((failed == 0)) || die "an upgrade check was not clean (its report above)"
}

# db_sync NAME CMD...: CMD, its output in logs/upgrade-db-NAME.log.
db_sync() {
    local name=$1
    shift
    "$@" >>"$LOGS/upgrade-db-$name.log" 2>&1
}

# db_upgrade: each service's schema to the running release's: the
# services' databases side by side (each its own), Nova's API database
# before its cell's; each command's output in logs/upgrade-db-NAME.log.
db_upgrade() {
    local nc=$ETC/nova/nova.conf name failed=()
    local -A syncs=()
    db_sync keystone "$VENV/bin/keystone-manage" \
        --config-file "$ETC/keystone/keystone.conf" db_sync &
    syncs[keystone]=$!
    db_sync placement "$VENV/bin/placement-manage" \
        --config-file "$ETC/placement/placement.conf" db sync &
    syncs[placement]=$!
    db_sync glance "$VENV/bin/glance-manage" \
        --config-file "$ETC/glance/glance-api.conf" db_sync &
    syncs[glance]=$!
    db_sync neutron "$VENV/bin/neutron-db-manage" \
        --config-file "$ETC/neutron/neutron.conf" upgrade heads &
    syncs[neutron]=$!
    { db_sync nova "$VENV/bin/nova-manage" --config-file "$nc" api_db sync &&
        db_sync nova "$VENV/bin/nova-manage" --config-file "$nc" db sync; } &
    syncs[nova]=$!
    for name in "${!syncs[@]}"; do
        wait "${syncs[$name]}" || failed+=("$name")
    done
    for name in "${failed[@]}"; do
        show_log "upgrade-db-$name"
    done
    ((${#failed[@]} == 0)) || die "a database schema upgrade failed: ${failed[*]}"
}

# upgrade_check PATH ARG...: an oslo.upgradecheck command must say Success (0);
# a warning (1) or failure (2) stops the upgrade with its report.
upgrade_check() {
    local out rc=0 conf i
    for ((i = 1; i < $#; i++)); do
        [[ ${!i} == --config-file ]] && conf=${*:i+1:1}
    done
    out=$("$@" 2>&1) || rc=$?
    printf '%s\n%s\n' "$*" "$out" >>"$LOGS/upgrade.log"
    if [[ $rc != 0 ]]; then
        echo "$out" >&2
        die "${1##*/} upgrade check exited $rc (1: warning, 2: failure)"
    fi
    log "${1##*/} upgrade check: success (${1%/bin/*}, ${conf#"$CLOUD_DIR"/})"
}
