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
"""What the plugin reads on a compute host, and how it reads it.

No tempest imports: the parsing is unit-tested (tests/unit) on captured
text. One shell script per question, run locally or over SSH alike, so an
all-in-one job and a multi-node job check the very same things.
"""

import dataclasses
import json
import os
import shlex
import subprocess
import typing as ty
from xml.etree import ElementTree

from nova_rt.core import cpuset
from nova_rt.watch import threads


class HostAccessError(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Thread:
    tid: int
    comm: str
    policy: str
    priority: int
    last_cpu: int
    allowed: ty.FrozenSet[int]

    @property
    def vcpu(self):
        """The vCPU index of a QEMU vCPU thread ("CPU 1/TCG"), else None."""
        if self.comm.startswith('CPU ') and '/' in self.comm:
            try:
                return int(self.comm[4:self.comm.index('/')])
            except ValueError:
                return None
        return None


# (comm, policy, rt_priority, processor) of a /proc/*/stat line: what
# the compute's own guest watch reads.
parse_stat = threads.parse_stat


THREADS_SCRIPT = r'''
pid=$(cat %(pidfile)s) || exit 3
for t in /proc/$pid/task/*; do
    # A QEMU worker may exit between the listing and the read: skip it.
    stat=$(cat $t/stat 2>/dev/null) || continue
    allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' $t/status \
              2>/dev/null) || continue
    [ -n "$stat" ] && [ -n "$allowed" ] || continue
    printf '%%s\t%%s\t%%s\n' "${t##*/}" "$stat" "$allowed"
done
'''


def parse_threads(text):
    """Threads from THREADS_SCRIPT's output."""
    threads = []
    for line in text.splitlines():
        if not line.strip():
            continue
        tid, stat, allowed = line.split('\t')
        comm, policy, prio, cpu = parse_stat(stat)
        threads.append(Thread(int(tid), comm, policy, prio, cpu,
                              cpuset.parse(allowed.strip(), 'Cpus_allowed')))
    return threads


# Every QEMU of a Nova guest names it (-name guest=instance-...). The last
# line counts the processes read: a scan that read none saw nothing.
QEMU_GUESTS_SCRIPT = r'''
read=0
for p in /proc/[0-9]*; do
    # A process may exit between the listing and the read: skip it.
    cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
    read=$((read + 1))
    case $cmd in *qemu-system*guest=instance-*) ;; *) continue ;; esac
    printf '%s\n' "$cmd" | sed -n 's/.*guest=\(instance-[0-9a-f]*\).*/\1/p'
done
echo "scanned $read"
'''


def parse_qemu_guests(text):
    """The instance names of QEMU_GUESTS_SCRIPT's output, one per QEMU."""
    lines = text.split()
    if len(lines) < 2 or lines[-2] != 'scanned' or not lines[-1].isdigit() \
            or int(lines[-1]) == 0:
        raise HostAccessError('the QEMU scan read no process: %r'
                              % text[-200:])
    return lines[:-2]


def parse_jobinfo(text):
    """``virsh domjobinfo --completed``: {field: value}, the values in
    milliseconds where libvirt gives them so (``Time elapsed``, ``Total
    downtime``, ...) as ints, the others as text.
    """
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition(':')
        if not sep:
            continue
        value = value.strip()
        number, _, unit = value.partition(' ')
        info[key.strip()] = int(number) if unit.strip() == 'ms' and \
            number.isdigit() else value
    return info


LATENCY_MARK = 'NRT-LATENCY-'


def latency_console(console):
    """{'BEGIN': [...], 'JSON': [...], 'ERR': [...], 'RC': [...], ...}: the
    ``NRT-LATENCY-<TAG>:<value>`` lines the latency test guest prints on
    its serial console (tests/real/guest.py), by tag, in order. A line may
    follow kernel output on the same console line.
    """
    lines = {'JSON': [], 'ERR': [], 'RC': []}
    for line in console.replace('\r', '').split('\n'):
        idx = line.find(LATENCY_MARK)
        if idx >= 0:
            tag, _, value = line[idx + len(LATENCY_MARK):].partition(':')
            lines.setdefault(tag, []).append(value)
    return lines


@dataclasses.dataclass
class Domain:
    """What the tests check in a libvirt domain XML."""

    vcpus: int
    vcpupins: ty.Dict[int, ty.FrozenSet[int]]
    emulatorpin: ty.Optional[ty.FrozenSet[int]]
    # vCPU -> (scheduler, priority)
    vcpusched: ty.Dict[int, ty.Tuple[str, ty.Optional[int]]]
    emulatorsched: ty.Optional[ty.Tuple[str, ty.Optional[int]]]
    oem_strings: ty.List[str]
    cmdline: ty.Optional[str]
    pmu: ty.Optional[str]
    locked: bool
    # <domain type=...>: 'kvm', or 'qemu' (TCG)
    virt_type: ty.Optional[str] = None
    # <features><tcg><tb-cache> in MiB (None when absent); libvirt writes
    # it back in KiB
    tb_cache_mib: ty.Optional[int] = None
    # IOThread id -> its pins (Nova 2026.1 gives each guest an IOThread,
    # pinned with the emulator threads)
    iothreadpins: ty.Dict[int, ty.FrozenSet[int]] = dataclasses.field(
        default_factory=dict)


def _sched(el):
    prio = el.get('priority')
    return el.get('scheduler'), int(prio) if prio is not None else None


def parse_domain(xml):
    root = ElementTree.fromstring(xml)
    tune = root.find('cputune')
    pins, emulator, vsched, esched, iopins = {}, None, {}, None, {}
    if tune is not None:
        for pin in tune.findall('vcpupin'):
            pins[int(pin.get('vcpu'))] = cpuset.parse(pin.get('cpuset'),
                                                      'vcpupin')
        epin = tune.find('emulatorpin')
        if epin is not None:
            emulator = cpuset.parse(epin.get('cpuset'), 'emulatorpin')
        for el in tune.findall('vcpusched'):
            for vcpu in cpuset.parse(el.get('vcpus'), 'vcpusched'):
                vsched[vcpu] = _sched(el)
        el = tune.find('emulatorsched')
        if el is not None:
            esched = _sched(el)
        for pin in tune.findall('iothreadpin'):
            iopins[int(pin.get('iothread'))] = cpuset.parse(
                pin.get('cpuset'), 'iothreadpin')
    oem = [e.text or '' for e in root.findall('sysinfo/oemStrings/entry')]
    cmdline = root.findtext('os/cmdline')
    pmu = root.find('features/pmu')
    cache = root.find('features/tcg/tb-cache')
    return Domain(
        vcpus=int(root.findtext('vcpu')), vcpupins=pins,
        emulatorpin=emulator, vcpusched=vsched, emulatorsched=esched,
        oem_strings=oem, cmdline=cmdline,
        pmu=pmu.get('state') if pmu is not None else None,
        locked=root.find('memoryBacking/locked') is not None,
        virt_type=root.get('type'),
        tb_cache_mib=_mib(cache) if cache is not None else None,
        iothreadpins=iopins)


@dataclasses.dataclass(frozen=True)
class ComputeRecord:
    """A compute node as its resource tracker last wrote it to Nova's
    database: what NUMATopologyFilter, RealtimeFilter and the compute's
    claim read.
    """

    host: str
    pinned: ty.FrozenSet[int]
    stats: ty.Dict[str, str]


def parse_compute_record(text):
    """A ``ComputeRecord`` from the JSON document of ``tools/cloud usage``:
    ``{"host", "numa_topology": a serialised NUMATopology, "stats"}``.
    """
    try:
        doc = json.loads(text)
        topology = doc['numa_topology']
        if topology is None:
            raise ValueError('no NUMA topology recorded')
        cells = topology['nova_object.data']['cells']
        pinned = frozenset(cpu for cell in cells
                           for cpu in cell['nova_object.data']['pinned_cpus'])
        return ComputeRecord(doc['host'], pinned, dict(doc['stats']))
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError('not a compute node record (%s: %s): %r'
                         % (type(e).__name__, e, text[:200]))


@dataclasses.dataclass(frozen=True)
class InstancePins:
    """A server's pins as Nova's database records them (instance_extra's
    NUMA topology): what a move, a rebuild and the resource tracker read.
    """

    # vCPU -> host CPU, over every NUMA cell of the guest
    vcpus: ty.Dict[int, int]
    # the CPUs reserved for the emulator threads (isolate), else empty
    emulator: ty.FrozenSet[int]


def parse_instance_pins(text):
    """``InstancePins`` from the JSON document of ``tools/cloud pins``:
    ``{"uuid", "numa_topology": a serialised InstanceNUMATopology}``.
    """
    try:
        doc = json.loads(text)
        topology = doc['numa_topology']
        if topology is None:
            raise ValueError('no NUMA topology recorded (not pinned)')
        vcpus, emulator = {}, set()
        for cell in topology['nova_object.data']['cells']:
            data = cell['nova_object.data']
            for vcpu, pcpu in (data.get('cpu_pinning_raw') or {}).items():
                vcpus[int(vcpu)] = int(pcpu)
            emulator |= set(data.get('cpuset_reserved') or ())
        return InstancePins(vcpus, frozenset(emulator))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ValueError('not an instance pins record (%s: %s): %r'
                         % (type(e).__name__, e, text[:200]))


def domain_pins(dom, dedicated):
    """The dedicated CPUs a domain holds: its vCPU and emulator pins on
    ``dedicated`` (a mixed guest's floating vCPUs are pinned to the shared
    CPUs, an isolated emulator to a dedicated one).
    """
    held = set(dom.emulatorpin or ())
    for pins in dom.vcpupins.values():
        held |= pins
    return frozenset(held & dedicated)


# libvirt's binary memory units, in KiB.
_KIB = {'KiB': 1, 'k': 1, 'K': 1, 'MiB': 1024, 'M': 1024,
        'GiB': 1024 ** 2, 'G': 1024 ** 2}


def _mib(el):
    return int(el.text) * _KIB[el.get('unit', 'KiB')] // 1024


class HostAccess:
    """Runs a shell script as root on a compute host: here, or over SSH."""

    def __init__(self, mode='local', ssh_user='root', ssh_key_file='',
                 libvirt_uri='qemu:///system', timeout=60, host_command=''):
        if mode not in ('local', 'ssh', 'command'):
            raise HostAccessError('host_access %r: local, ssh or command'
                                  % mode)
        if mode == 'command' and '{host}' not in host_command:
            raise HostAccessError('host_access = command needs a '
                                  'host_command with {host}, not %r'
                                  % host_command)
        self.mode = mode
        self.ssh_user = ssh_user
        self.ssh_key_file = ssh_key_file
        self.libvirt_uri = libvirt_uri
        self.timeout = timeout
        self.host_command = host_command

    def argv(self, address):
        """The command that runs a script (stdin) as root on ``address``:
        an address to SSH to, or with ``command`` the host's name.
        """
        if self.mode == 'command':
            return [part.replace('{host}', address) for part in
                    shlex.split(self.host_command)] + ['bash', '-s']
        if self.mode == 'local':
            # libvirt's PID files and QEMU's /proc entries are root's.
            return ['bash', '-s'] if os.geteuid() == 0 else \
                ['sudo', '-n', 'bash', '-s']
        argv = ['ssh', '-o', 'BatchMode=yes', '-o',
                'StrictHostKeyChecking=no', '-o',
                'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR']
        if self.ssh_key_file:
            argv += ['-i', self.ssh_key_file]
        remote = 'bash -s' if self.ssh_user == 'root' else 'sudo -n bash -s'
        return argv + ['%s@%s' % (self.ssh_user, address), remote]

    def run(self, address, script):
        try:
            proc = subprocess.run(self.argv(address), input=script,
                                  capture_output=True, text=True,
                                  timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise HostAccessError('%s on %s: no answer in %d s'
                                  % (self.mode, address, self.timeout))
        if proc.returncode != 0:
            raise HostAccessError('%s on %s exited %d: %s' % (
                self.mode, address, proc.returncode,
                (proc.stderr or proc.stdout).strip()[-2000:]))
        return proc.stdout

    def virsh(self, address, *args):
        return self.run(address, 'virsh -c %s %s\n' % (
            shlex.quote(self.libvirt_uri),
            ' '.join(shlex.quote(a) for a in args)))

    def domain(self, address, name):
        return parse_domain(self.virsh(address, 'dumpxml', name))

    def domain_names(self, address):
        return [n for n in self.virsh(address, 'list', '--all',
                                      '--name').split() if n]

    def qemu_guests(self, address):
        """The instance name of every QEMU running on ``address``."""
        return parse_qemu_guests(self.run(address, QEMU_GUESTS_SCRIPT))

    def entries(self, address, path):
        """The names in directory ``path`` on ``address``; a missing or
        unreadable directory is an error, never "empty".
        """
        return self.run(address, 'cd %s && ls -1A\n'
                        % shlex.quote(path)).split()

    def threads(self, address, name):
        pidfile = '/run/libvirt/qemu/%s.pid' % name
        return parse_threads(self.run(
            address, THREADS_SCRIPT % {'pidfile': shlex.quote(pidfile)}))

    def ps_lines(self, address, name):
        """The QEMU threads as ``ps -eLo pid,tid,cls,rtprio,psr,comm`` shows.

        Header first: for the record in the test log.
        """
        pidfile = shlex.quote('/run/libvirt/qemu/%s.pid' % name)
        return self.run(address, 'pid=$(cat %s) || exit 3\n'
                        'ps -eLo pid,tid,cls,rtprio,psr,comm | '
                        'awk -v p="$pid" \'NR == 1 || $1 == p\'\n'
                        % pidfile).splitlines()
