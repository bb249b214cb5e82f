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
# Compute hosts. Each compute (compute1, compute2, ...) is a host of its
# own as far as Nova and libvirt can tell, on this one machine:
#
# * a UTS namespace (its hostname) and a mount namespace, held open by a
#   holder process (service host@computeN), in which its private
#   directories stand over /run/libvirt, /var/lib/libvirt, /etc/libvirt and
#   the instances path: its own libvirtd, virtlogd, domains and disks;
# * its own loopback address, 127.0.0.(N+1): nova's my_ip, libvirtd's TCP
#   listener (migrations) and live_migration_inbound_addr. Loopback only:
#   no traffic leaves the machine, and the network stack is the machine's;
# * its own libvirt host_uuid and nova-cpu.conf ([DEFAULT] host);
# * its own sshd (sshd@computeN) for the disk copies of cold migrations.
#
# virtlogd@, libvirtd@ and nova-compute@ run inside the host's namespaces
# (nsenter); `tools/cloud exec HOST -- CMD` runs anything else there.
# Sourced by tools/cloud.
# shellcheck shell=bash
# Variables are shared between the sourced modules and tools/cloud.
# shellcheck disable=SC2034,SC2154

HOSTS_DIR=$DATA/hosts
# Every compute sees its own disks at the same path, as on real hosts (a
# block migration keeps the disk paths of the domain).
INSTANCES=$DATA/nova/instances
# Its Prometheus textfile ([nova_rt] metrics_file), at the same path too.
METRICS_DIR=$DATA/nova/metrics

host_name() { echo "compute$1"; }
host_addr() { echo "127.0.0.$(($1 + 1))"; }
host_dir() { echo "$HOSTS_DIR/$(host_name "$1")"; }

# The configured hosts, one index a line (run/computes, written by up).
host_indexes() {
    local n
    n=$(cat "$RUN/computes" 2>/dev/null || echo 1)
    seq 1 "$n"
}

# host_index NAME: computeN -> N, or fail.
host_index() {
    [[ $1 =~ ^compute([1-9][0-9]?)$ ]] || return 1
    local i=${BASH_REMATCH[1]}
    grep -qx "$i" <<<"$(host_indexes)" || return 1
    echo "$i"
}

# A compute left on an older release by `upgrade --keep` (a rolling
# upgrade, doc/source/upgrade.rst) records it in run/release@HOST; every
# other compute runs the controllers' release, $RELEASE.
host_release() {
    cat "$RUN/release@$1" 2>/dev/null || echo "$RELEASE"
}
host_venv() { cloud_venv "$(host_release "$1")"; }

# The computes on an older release than the controllers, one a line.
kept_hosts() {
    local i
    for i in $(host_indexes); do
        [[ -f $RUN/release@$(host_name "$i") ]] && host_name "$i"
    done
    return 0
}

# A stable UUID per host and cloud directory: libvirt refuses to migrate
# between two hosts with the same host_uuid.
host_uuid() {
    "$PY" -c 'import sys, uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, sys.argv[1]))' \
        "nova-rt-cloud:$CLOUD_DIR:$(host_name "$1")"
}

# The host's private copy of /etc/libvirt, with the test environment's
# settings in it; the machine's own /etc/libvirt is never changed.
write_host_libvirt() {
    local i=$1 dir
    dir=$(host_dir "$i")
    mkdir -p "$dir"/{run,lib,instances,lock,state,metrics}
    if [[ ! -f $dir/etc/libvirtd.conf ]]; then
        mkdir -p "$dir/etc"
        cp -a /etc/libvirt/. "$dir/etc/"
    fi
    mkdir -p "$dir/lib/qemu" "$dir/lib/images"
    local conf=$dir/etc/libvirtd.conf
    "$PY" - "$conf" "$(host_uuid "$i")" "$(host_addr "$i")" <<'PYEOF'
import sys
path, uuid, addr = sys.argv[1:]
begin, end = '# BEGIN nova-rt cloud', '# END nova-rt cloud'
lines = open(path).read().split('\n')
if begin in lines:
    del lines[lines.index(begin):lines.index(end) + 1]
lines += [begin,
          'host_uuid = "%s"' % uuid,
          # Migrations between the test hosts, on loopback only. Plain TCP
          # without authentication: TEST ENVIRONMENT ONLY (production: TLS).
          'listen_tls = 0', 'listen_tcp = 1',
          'listen_addr = "%s"' % addr, 'auth_tcp = "none"',
          end]
open(path, 'w').write('\n'.join(lines) + '\n')
PYEOF
    conf=$dir/etc/qemu.conf
    "$PY" - "$conf" <<'PYEOF'
import sys
path = sys.argv[1]
begin, end = '# BEGIN nova-rt cloud', '# END nova-rt cloud'
lines = open(path).read().split('\n')
if begin in lines:
    del lines[lines.index(begin):lines.index(end) + 1]
lines = [line for line in lines
         if not line.lstrip().startswith('cgroup_controllers')]
lines += [begin,
          # This sandbox has no CAP_SYS_RESOURCE: QEMU runs as root and
          # keeps its capabilities so that its mlockall() for <locked/>
          # memory succeeds. TEST ENVIRONMENT ONLY.
          'user = "root"', 'group = "root"',
          'clear_emulator_capabilities = 0',
          # The cgroup rt_runtime trap (doc/source/real-tier.rst): without
          # libvirt's cpu controller a vCPU's SCHED_FIFO is not refused.
          'cgroup_controllers = [ "devices", "memory", "blkio", "cpuset", '
          '"cpuacct" ]',
          end]
open(path, 'w').write('\n'.join(lines) + '\n')
PYEOF
}

# SSH between the hosts, as Nova's cold migration and resize copy a
# guest's disks (``ssh HOST mkdir``, ``scp``): one sshd a host, on its
# address and in its namespaces, and root's client key and config, which
# each host sees as its /root/.ssh. Loopback only; TEST ENVIRONMENT ONLY.
write_host_ssh() {
    local i=$1 dir client=$ETC/ssh/client
    dir=$(host_dir "$i")
    mkdir -p "$client" "$dir/ssh"
    chmod 700 "$client"
    if [[ ! -f $client/id_ed25519 ]]; then
        ssh-keygen -q -t ed25519 -N '' -C nova-rt-cloud -f "$client/id_ed25519"
        cp "$client/id_ed25519.pub" "$client/authorized_keys"
        printf '%s\n' 'Host *' '    StrictHostKeyChecking no' \
            '    UserKnownHostsFile /dev/null' '    LogLevel ERROR' \
            '    IdentityFile /root/.ssh/id_ed25519' >"$client/config"
    fi
    if [[ ! -f $dir/ssh/host_key ]]; then
        ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh/host_key"
    fi
    cat >"$dir/ssh/sshd_config" <<SSHD
ListenAddress $(host_addr "$i")
Port 22
HostKey $dir/ssh/host_key
PidFile none
PermitRootLogin prohibit-password
AuthorizedKeysFile $client/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
Subsystem sftp internal-sftp
SSHD
}

# The compute's nova-cpu.conf: the common one plus what makes it a host.
write_host_conf() {
    local i=$1 dir f
    dir=$(host_dir "$i")
    f=$dir/nova-cpu.conf
    mkdir -p "$dir"
    cp "$ETC/nova/nova-cpu.conf" "$f"
    ini "$f" DEFAULT host "$(host_name "$i")"
    ini "$f" DEFAULT my_ip "$(host_addr "$i")"
    ini "$f" DEFAULT state_path "$dir/state"
    ini "$f" oslo_concurrency lock_path "$dir/lock"
    ini "$f" libvirt live_migration_scheme tcp
    ini "$f" libvirt live_migration_inbound_addr "$(host_addr "$i")"
    # TEST ENVIRONMENT ONLY. Nova's pre_live_migration fetches an AKI/ARI
    # image's kernel and initrd through the deep-inspection path (spawn
    # does not), whose MBR check refuses a bzImage ("Image does not pass
    # safety check"): the test guest boots by direct kernel boot.
    ini "$f" workarounds disable_deep_image_inspection true
    # Each host has one dedicated CPU here: the scheduler must see a CPU
    # freed by a delete or a move soon. The resource tracker's periodic
    # audit (default: every 60 s) corrects the host's NUMA usage that the
    # scheduler filters on; a CPU pinned by a just-deleted server was seen
    # still pinned seconds later. TEST ENVIRONMENT: the default is fine
    # where hosts have more than one free CPU.
    ini "$f" DEFAULT update_resources_interval 5
    # Each host's own latency certificate (nova-rt latency certify writes
    # it there), and an audit at every resource update, so that a changed
    # certificate or host shows within seconds. TEST ENVIRONMENT: a short
    # certifying run is enough here; production keeps the defaults.
    ini "$f" nova_rt latency_certificate "$dir/nova-rt-latency.json"
    ini "$f" nova_rt latency_min_duration 3
    ini "$f" nova_rt facts_refresh_interval 5
    local ctx
    for ctx in nova_sys_admin:nova.privsep.sys_admin_pctxt \
               privsep_osbrick:os_brick.privileged.default; do
        ini "$f" "${ctx%%:*}" helper_command \
            "$(host_venv "$(host_name "$i")")/bin/privsep-helper --config-file $f --privsep_context ${ctx#*:}"
    done
}

# The namespace holder: sets the hostname, mounts the host's directories,
# records its PID (the process others nsenter) and sleeps until stopped.
# Its mounts vanish with it.
start_host() {
    local i=$1 name dir
    name=$(host_name "$i")
    dir=$(host_dir "$i")
    if alive "host@$name" && ns_pid "$name" >/dev/null; then
        log "host@$name already running (pid $(pid_of "host@$name"))"
        return 0
    fi
    mkdir -p /run/libvirt "$INSTANCES" "$METRICS_DIR" /root/.ssh /run/sshd
    rm -f "$RUN/host@$name.ns"
    # shellcheck disable=SC2016 # the script's $1.. are its own arguments
    start "host@$name" unshare --mount --uts --fork --propagation private \
        /bin/sh -c '
            set -e
            hostname "$1"
            mount --bind "$2/run" /run/libvirt
            mount --bind "$2/lib" /var/lib/libvirt
            mount --bind "$2/etc" /etc/libvirt
            mount --bind "$2/instances" "$3"
            mount --bind "$5" /root/.ssh
            mount --bind "$2/metrics" "$6"
            echo $$ >"$4.tmp"
            mv "$4.tmp" "$4"
            exec sleep 2147483647' \
        sh "$name" "$dir" "$INSTANCES" "$RUN/host@$name.ns" "$ETC/ssh/client" \
        "$METRICS_DIR"
    wait_for "host@$name" "its namespaces" test -s "$RUN/host@$name.ns"
}

# ns_pid NAME: the PID to nsenter for host NAME.
ns_pid() {
    local pid
    pid=$(cat "$RUN/host@$1.ns" 2>/dev/null) && running "$pid" \
        || return 1
    echo "$pid"
}

# in_host NAME CMD...: CMD in the host's namespaces (exec'd: same PID).
in_host() {
    local name=$1 pid
    shift
    pid=$(ns_pid "$name") || die "host $name is not up (tools/cloud status)"
    nsenter --target "$pid" --mount --uts -- "$@"
}

host_virsh() {
    local name=$1
    shift
    in_host "$name" virsh -c qemu:///system "$@"
}

# host_qemu_pids NAME: the PIDs of host NAME's guest QEMUs, from its
# libvirt's PID files (a PID is taken only while it is still that guest).
host_qemu_pids() {
    local name=$1 f pid dom
    for f in "$(host_dir "$(host_index "$name")")"/run/qemu/instance-*.pid; do
        [[ -f $f ]] || continue
        pid=$(cat "$f" 2>/dev/null) || continue
        dom=$(basename "$f" .pid)
        [[ $pid =~ ^[0-9]+$ && $(qemu_guest "$pid") == "$dom" ]] && echo "$pid"
    done
    return 0
}

# power_off NAME: host NAME loses power. Every process of the host is
# killed (SIGKILL, by PID; nova-compute first, so that nothing records
# the guests' death), and its /run/libvirt emptied, as a reboot's fresh
# tmpfs would be. Its disks and libvirt's domain definitions stay.
power_off() {
    local name=$1 svc pid n=0
    for svc in nova-compute libvirtd; do
        if alive "$svc@$name"; then kill_one "$svc@$name" KILL; fi
    done
    for pid in $(host_qemu_pids "$name"); do
        kill -KILL "$pid" 2>/dev/null || true
        gone "$pid" 10 || die "QEMU pid $pid survived SIGKILL"
        n=$((n + 1))
    done
    for svc in virtlogd sshd host; do
        if alive "$svc@$name"; then kill_one "$svc@$name" KILL; fi
    done
    rm -f "$RUN/host@$name.ns"
    find "$(host_dir "$(host_index "$name")")/run" -mindepth 1 -delete
    log "$name: power off ($n guest QEMU(s) killed, /run/libvirt emptied)"
}

# power_on NAME: the host boots: its namespaces and services, in order.
power_on() {
    local name=$1 svc
    for svc in host sshd virtlogd libvirtd nova-compute; do
        up_service "$svc@$name"
    done
    log "$name: powered on"
}
