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
# What a cloud leaves behind, found and removed by PID or by path, never by
# name pattern: guests' QEMU processes, domain definitions, stale PID files.
# `up` clears an earlier cloud's leftovers before it starts anything;
# `down` ends by proving nothing is left. Sourced by tools/cloud.
# shellcheck shell=bash
# Variables are shared between the sourced modules and tools/cloud.
# shellcheck disable=SC2034,SC2154

# qemu_pids: PIDs of QEMU processes running a Nova guest (instance-*), read
# from /proc/PID/cmdline (-name guest=instance-...).
qemu_pids() {
    local d pid cmd
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        cmd=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue
        case "$cmd" in
            *qemu-system*guest=instance-*) echo "$pid" ;;
        esac
    done
}

qemu_guest() { tr '\0' '\n' 2>/dev/null <"/proc/$1/cmdline" | sed -n 's/^guest=\([^,]*\).*/\1/p'; }

# kill_qemus WHY: SIGKILL every guest QEMU, saying which.
kill_qemus() {
    local why=$1 pid
    for pid in $(qemu_pids); do
        log "$why: QEMU of $(qemu_guest "$pid") (pid $pid): SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        gone "$pid" 10 || die "QEMU pid $pid survived SIGKILL"
    done
}

# domain_files: the domain definitions and status files of our hosts.
domain_files() {
    local dir
    for dir in "$HOSTS_DIR"/compute*; do
        [[ -d $dir ]] || continue
        find "$dir/etc/qemu" "$dir/run/qemu" -maxdepth 1 \
            -name 'instance-*' 2>/dev/null || true
    done
}

# remove_domains HOST: destroy and undefine every Nova guest of a host
# whose libvirtd answers.
remove_domains() {
    local name=$1 dom
    for dom in $(host_virsh "$name" list --all --name 2>/dev/null | grep '^instance-' || true); do
        host_virsh "$name" destroy "$dom" >/dev/null 2>&1 || true
        host_virsh "$name" undefine --nvram "$dom" >/dev/null 2>&1 ||
            host_virsh "$name" undefine "$dom" >/dev/null 2>&1 || true
        log "removed domain $dom from $name"
    done
}

# clear_leftovers: before `up` starts anything. A service whose PID file
# names a live process is running (up resumes it); everything of an earlier
# cloud that is not is removed, saying what.
clear_leftovers() {
    local f pid name running=0
    for f in "$RUN"/*.pid; do
        [[ -e $f ]] || continue
        name=$(basename "$f" .pid)
        pid=$(cat "$f" 2>/dev/null || true)
        if [[ -n $pid ]] && running "$pid"; then
            running=1
            continue
        fi
        log "leftover: stale PID file $name.pid (pid ${pid:-none}, not running): removed"
        rm -f "$f"
    done
    rm -f "$RUN"/host@*.ns.tmp
    local libvirtds=0
    for f in "$RUN"/libvirtd@*.pid; do
        [[ -e $f ]] && libvirtds=1
    done
    if ((libvirtds == 0)); then
        # No libvirtd of ours: every guest QEMU and domain file is an
        # earlier cloud's.
        kill_qemus "leftover"
        for f in $(domain_files); do
            log "leftover: $f: removed"
            rm -rf "$f"
        done
    fi
    # Domains of the machine's own libvirt are not ours to remove.
    local foreign
    foreign=$(ls /etc/libvirt/qemu/instance-*.xml 2>/dev/null || true)
    if [[ -n $foreign ]]; then
        die "Nova domains defined in the machine's own libvirt ($(echo "$foreign" | tr '\n' ' ')), from an earlier cloud: virsh -c qemu:///system undefine NAME for each (destroy first if running), then tools/cloud up"
    fi
    ((running == 0)) || log "some services are running: up resumes them"
}

# check_clean: after `down`, nothing of the cloud may be left.
check_clean() {
    local left=()
    local f
    for f in "$RUN"/*.pid; do
        [[ -e $f ]] && left+=("PID file $(basename "$f")")
    done
    local pid
    for pid in $(qemu_pids); do
        left+=("QEMU of $(qemu_guest "$pid") (pid $pid)")
    done
    for f in $(domain_files); do
        left+=("domain file $f")
    done
    if grep -q " $INSTANCES " /proc/mounts 2>/dev/null; then
        left+=("a mount on $INSTANCES")
    fi
    ((${#left[@]} == 0)) || die "left behind: ${left[*]}"
}
