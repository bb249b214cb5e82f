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
"""A compute host's real-time profile, read once, judged elsewhere.

``read_profile(root)`` reads what the kernel exposes under /sys, /proc, /dev
and /etc (through ``HostReader``) into frozen dataclasses. It never judges:
the checks in ``nova_rt.host.checks`` are small functions of the profile.

Any value whose source cannot be read is an ``Unknown`` carrying the
reason, so a missing MSR driver or an unmounted resctrl becomes "unknown,
because ..." in the audit instead of a crash or a silent default.
"""

import dataclasses
import re
import struct
import time
import types
import typing

from nova_rt import cpuset
from nova_rt import exception
from nova_rt.host import reader as host_reader

KERNEL_PREEMPT_RT = 'preempt_rt'
KERNEL_PREEMPT = 'preempt'
KERNEL_NONE = 'none'

# /proc/<pid>/stat scheduling policies (include/uapi/linux/sched.h).
SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, \
    SCHED_DEADLINE = 0, 1, 2, 3, 5, 6
POLICY_NAMES = {SCHED_OTHER: 'other', SCHED_FIFO: 'fifo', SCHED_RR: 'rr',
                SCHED_BATCH: 'batch', SCHED_IDLE: 'idle',
                SCHED_DEADLINE: 'deadline'}
RT_POLICIES = frozenset((SCHED_FIFO, SCHED_RR, SCHED_DEADLINE))

# The per-CPU kernel threads a busy SCHED_FIFO vCPU can starve: softirq
# processing (ksoftirqd/N; on PREEMPT_RT also the timer softirq thread,
# ktimers/N since 6.x, ktimersoftd/N in 4.x RT patches) and RCU callback
# processing (rcuc/N, with RCU_BOOST or PREEMPT_RT). The number after the
# slash is the CPU the smpboot thread is bound to.
ESSENTIAL_KTHREADS = ('ksoftirqd', 'ktimers', 'ktimersoftd', 'rcuc')
_KTHREAD_NAME = re.compile(r'^(%s)/(\d+)$' % '|'.join(ESSENTIAL_KTHREADS))
KTHREADD_PID = 2

# MSR_SMI_COUNT (Intel SDM vol. 4): SMIs since reset, 32 significant bits.
MSR_SMI_COUNT = 0x34

_CPU_DIR = 'sys/devices/system/cpu'
_NODE_DIR = 'sys/devices/system/node'


@dataclasses.dataclass(frozen=True)
class Unknown:
    """A value that could not be read, and why."""

    reason: str

    def __str__(self):
        return self.reason


def known(value):
    return not isinstance(value, Unknown)


def _unknown(exc):
    return Unknown(str(exc))


@dataclasses.dataclass(frozen=True)
class Cmdline:
    """The kernel command line, split the way the kernel splits it.

    ``args`` is the ordered tuple of ``(name, value)`` pairs, ``value`` None
    for a bare flag. Names are normalised with ``_`` for ``-``: the kernel's
    parameq() treats them as the same character.
    """

    raw: str
    args: typing.Tuple[typing.Tuple[str, typing.Optional[str]], ...]

    @classmethod
    def parse(cls, raw):
        args = []
        for token in _split_cmdline(raw):
            # Everything after a bare "--" is for init, not the kernel.
            if token == '--':
                break
            name, sep, value = token.partition('=')
            args.append((name.replace('-', '_'), value if sep else None))
        return cls(raw=raw.strip(), args=tuple(args))

    def values(self, name):
        name = name.replace('-', '_')
        return tuple(v for n, v in self.args if n == name)

    def value(self, name):
        """The last value of ``name`` (later settings win for the
        parameters nova-rt reads), None when absent or a bare flag."""
        values = self.values(name)
        return values[-1] if values else None

    def has(self, name):
        return bool(self.values(name))


def _split_cmdline(raw):
    # The kernel's next_arg(): whitespace separates arguments except inside
    # double quotes, which may open anywhere (param="a b" or "param=a b")
    # and are dropped.
    tokens, current, quoted, started = [], [], False, False
    for ch in raw:
        if ch == '"':
            quoted = not quoted
            started = True
        elif ch.isspace() and not quoted:
            if started:
                tokens.append(''.join(current))
            current, started = [], False
        else:
            current.append(ch)
            started = True
    if started:
        tokens.append(''.join(current))
    return tokens


@dataclasses.dataclass(frozen=True)
class KThread:
    pid: int
    name: str
    kind: str      # ksoftirqd, ktimers, ktimersoftd, rcuc
    cpu: int       # the CPU it is bound to
    policy: int
    priority: int  # rt_priority: 0 for the non-real-time classes

    @property
    def policy_name(self):
        return POLICY_NAMES.get(self.policy, str(self.policy))

    @property
    def is_rt(self):
        return self.policy in RT_POLICIES


@dataclasses.dataclass(frozen=True)
class CgroupInfo:
    """What decides whether libvirt can make a vCPU SCHED_FIFO.

    With CONFIG_RT_GROUP_SCHED every new cgroup of the cpu controller
    starts with ``cpu.rt_runtime_us = 0``, and sched_setscheduler() refuses
    SCHED_FIFO in a zero-budget group with EPERM while RT bandwidth is
    enforced (``sched_rt_runtime_us`` >= 0).
    """

    version: str                      # 'v1' or 'v2'
    rt_group_sched: typing.Union[bool, Unknown]
    evidence: str
    machine_rt_runtime_us: typing.Optional[int]
    # qemu.conf cgroup_controllers; None when not set (libvirt's default
    # uses every controller, cpu included); Unknown when unreadable.
    libvirt_controllers: typing.Union[typing.Tuple[str, ...], None, Unknown]


@dataclasses.dataclass(frozen=True)
class IdleState:
    index: int
    name: str
    latency_us: int


@dataclasses.dataclass(frozen=True)
class IdleInfo:
    driver: str
    states: typing.Tuple[IdleState, ...]
    # CPU -> indexes of the states disabled on it (stateN/disable = 1).
    disabled: typing.Mapping[int, typing.FrozenSet[int]]
    # The PM QoS CPU latency limit (/dev/cpu_dma_latency), which tuned's
    # force_latency holds open: states slower than it are not entered.
    qos_latency_us: typing.Union[int, Unknown]


@dataclasses.dataclass(frozen=True)
class CatInfo:
    """Cache Allocation Technology as resctrl shows it."""

    cbm_mask: int
    num_closids: int
    min_cbm_bits: int
    # L3 cache id -> size in KiB
    l3_kib: typing.Mapping[int, int]
    # L3 cache id -> the CPUs sharing it (cachetune names caches by id)
    l3_cpus: typing.Mapping[int, typing.FrozenSet[int]]

    @property
    def ways(self):
        return bin(self.cbm_mask).count('1')


@dataclasses.dataclass(frozen=True)
class SmiSample:
    cpu: int
    count: int          # SMIs during the interval
    interval: float


@dataclasses.dataclass(frozen=True)
class HostProfile:
    root: str
    online_cpus: typing.FrozenSet[int]
    # NUMA node -> its online CPUs (one node 0 on a kernel without NUMA).
    numa_nodes: typing.Mapping[int, typing.FrozenSet[int]]
    smt_siblings: typing.Union[typing.Tuple[typing.FrozenSet[int], ...],
                               Unknown]
    kernel: str
    kernel_evidence: typing.Union[str, Unknown]
    cmdline: typing.Union[Cmdline, Unknown]
    isolcpus_flags: typing.FrozenSet[str]
    isolated_cpus: typing.Union[typing.FrozenSet[int], Unknown]
    isolated_evidence: str
    nohz_full_cpus: typing.Union[typing.FrozenSet[int], Unknown]
    rcu_nocbs_cpus: typing.Union[typing.FrozenSet[int], Unknown]
    irq_affinity: typing.Union[typing.Mapping[int, typing.FrozenSet[int]],
                               Unknown]
    workqueue_cpus: typing.Union[typing.FrozenSet[int], Unknown]
    # "module.parameter" -> value, for the kvm parameters nova-rt judges.
    kvm_params: typing.Union[typing.Mapping[str, str], Unknown]
    sched_rt_runtime_us: typing.Union[int, Unknown]
    sched_rt_period_us: typing.Union[int, Unknown]
    cgroup: typing.Union[CgroupInfo, Unknown]
    kthreads: typing.Union[typing.Tuple[KThread, ...], Unknown]
    clocksource: typing.Union[str, Unknown]
    cpu_vendor: typing.Union[str, Unknown]
    cpu_flags: typing.Union[typing.FrozenSet[str], Unknown]
    governors: typing.Union[typing.Mapping[int, str], Unknown]
    cpuidle: typing.Union[IdleInfo, Unknown]
    thp: typing.Union[str, Unknown]
    ksm_run: typing.Union[int, Unknown]
    swaps: typing.Union[typing.Tuple[str, ...], Unknown]
    # node -> page size in KiB -> pages reserved
    hugepages: typing.Union[
        typing.Mapping[int, typing.Mapping[int, int]], Unknown]
    cat: typing.Union[CatInfo, Unknown]
    smi: typing.Union[SmiSample, Unknown]

    def siblings_of(self, cpu):
        """The SMT group of ``cpu`` (itself alone when unknown)."""
        if known(self.smt_siblings):
            for group in self.smt_siblings:
                if cpu in group:
                    return group
        return frozenset((cpu,))

    def node_of(self, cpu):
        for node, cpus in self.numa_nodes.items():
            if cpu in cpus:
                return node
        return None


def _freeze(mapping):
    return types.MappingProxyType(dict(mapping))


def _cpulist(text, what):
    # sysfs prints "(null)" for a cpumask that was never allocated, e.g.
    # nohz_full on kernels booted without nohz_full= before 5.x.
    text = text.strip()
    if text == '(null)':
        return frozenset()
    return cpuset.parse(text, what)


def _read_cpulist(r, rel):
    try:
        return _cpulist(r.read_line(rel), '/' + rel)
    except exception.InvalidCPUSet as e:
        raise host_reader.HostFileInvalid(rel, e.kwargs.get('reason', e))


# --- topology -------------------------------------------------------------

def _online_cpus(r):
    try:
        return _read_cpulist(r, _CPU_DIR + '/online')
    except host_reader.HostFileError:
        pass
    # Fallback: the cpuN directories (they include offline CPUs, but a
    # kernel without /sys/devices/system/cpu/online is too old to care).
    try:
        return frozenset(int(n[3:]) for n in r.listdir(_CPU_DIR)
                         if n.startswith('cpu') and n[3:].isdigit())
    except host_reader.HostFileError:
        return frozenset()


def _numa_nodes(r, online):
    try:
        names = r.listdir(_NODE_DIR)
    except host_reader.HostFileError:
        # No /sys/devices/system/node: a kernel built without CONFIG_NUMA.
        return _freeze({0: online}) if online else _freeze({})
    nodes = {}
    for name in names:
        if not (name.startswith('node') and name[4:].isdigit()):
            continue
        try:
            cpus = _read_cpulist(r, '%s/%s/cpulist' % (_NODE_DIR, name))
        except host_reader.HostFileError:
            continue
        # Memory-only nodes (CXL, HBM) have an empty cpulist: skip them.
        if cpus & online:
            nodes[int(name[4:])] = frozenset(cpus & online)
    if not nodes and online:
        nodes = {0: online}
    return _freeze(sorted(nodes.items()))


def _smt_siblings(r, online):
    if not online:
        return Unknown('online CPUs unreadable')
    groups, seen = [], set()
    for cpu in sorted(online):
        if cpu in seen:
            continue
        try:
            sib = _read_cpulist(
                r, '%s/cpu%d/topology/thread_siblings_list' % (_CPU_DIR, cpu))
        except host_reader.HostFileError as e:
            return _unknown(e)
        group = frozenset((sib & online) | {cpu})
        groups.append(group)
        seen |= group
    return tuple(groups)


# --- kernel ----------------------------------------------------------------

def _kernel(r, cmdline):
    """('preempt_rt'|'preempt'|'none', evidence)."""
    try:
        version = r.read_line('proc/version')
    except host_reader.HostFileError as e:
        try:
            version = r.read_line('proc/sys/kernel/version')
        except host_reader.HostFileError:
            version = None
            error = e
    try:
        # The out-of-tree RT patch set adds /sys/kernel/realtime; mainline
        # PREEMPT_RT (6.12+) does not, hence the uname string below.
        if r.read_line('sys/kernel/realtime') == '1':
            return KERNEL_PREEMPT_RT, '/sys/kernel/realtime is 1'
    except host_reader.HostFileError:
        pass
    if version is None:
        return KERNEL_NONE, _unknown(error)
    # uname -v: "#1 SMP PREEMPT_RT ...", "#1 SMP PREEMPT_DYNAMIC ...",
    # "#1 SMP PREEMPT ..." (full preemption) or just "#1 SMP ..."
    # (voluntary or none).
    tokens = set(version.split())
    if 'PREEMPT_RT' in tokens:
        return KERNEL_PREEMPT_RT, 'PREEMPT_RT in /proc/version'
    if 'PREEMPT_DYNAMIC' in tokens:
        mode, source = None, None
        try:
            # debugfs shows the modes with the current one in parentheses:
            # "none voluntary (full) lazy".
            text = r.read_line('sys/kernel/debug/sched/preempt')
            match = re.search(r'\((\w+)\)', text)
            if match:
                mode, source = match.group(1), 'debugfs sched/preempt'
        except host_reader.HostFileError:
            pass
        if mode is None and known(cmdline) and cmdline.value('preempt'):
            mode, source = cmdline.value('preempt'), 'preempt= on cmdline'
        if mode is None:
            return KERNEL_NONE, (
                'PREEMPT_DYNAMIC kernel, mode not visible (no debugfs, no '
                'preempt=): assumed voluntary, the distributions\' default')
        kind = KERNEL_PREEMPT if mode in ('full', 'lazy') else KERNEL_NONE
        return kind, 'PREEMPT_DYNAMIC, mode %s (%s)' % (mode, source)
    if 'PREEMPT' in tokens:
        return KERNEL_PREEMPT, 'PREEMPT in /proc/version'
    return KERNEL_NONE, 'no PREEMPT in /proc/version'


def _cmdline(r):
    try:
        return Cmdline.parse(r.read('proc/cmdline'))
    except host_reader.HostFileError as e:
        return _unknown(e)


def _cmdline_cpus(value, online, what):
    if value is None:
        return frozenset()
    if value.strip() == 'all':      # rcu_nocbs=all (5.x+)
        return online
    return cpuset.parse(value, what)


def _isolcpus(cmdline):
    """(flags, cpus) of isolcpus=; flags come first, each followed by a
    comma, as the kernel's housekeeping_isolcpus_setup() reads them."""
    value = cmdline.value('isolcpus')
    if not value:
        return frozenset(), frozenset()
    flags = []
    rest = value
    while rest[:1].isalpha():
        flag, sep, rest = rest.partition(',')
        flags.append(flag)
        if not sep:
            break
    return frozenset(flags), cpuset.parse(rest, 'isolcpus=')


def _isolation(r, cmdline, online):
    """(flags, isolated, evidence, nohz_full, rcu_nocbs)."""
    flags, iso_cpus, cmd_error = frozenset(), frozenset(), None
    if known(cmdline):
        try:
            flags, iso_cpus = _isolcpus(cmdline)
        except exception.InvalidCPUSet as e:
            cmd_error = Unknown(str(e))
    else:
        cmd_error = cmdline
    # isolcpus= without flags means "domain"; with flags, only the ones
    # given (isolcpus=managed_irq,2-7 does not take 2-7 out of the
    # scheduler domains).
    domain = not flags or 'domain' in flags
    try:
        # Only the isolcpus domain set: the complement of the
        # HK_TYPE_DOMAIN housekeeping mask, never nohz_full.
        isolated = _read_cpulist(r, _CPU_DIR + '/isolated')
        evidence = '/sys/devices/system/cpu/isolated'
    except host_reader.HostFileError as e:
        if cmd_error:
            isolated, evidence = cmd_error, str(e)
        else:
            isolated = iso_cpus if domain else frozenset()
            evidence = 'isolcpus= on the command line'
    try:
        nohz = _read_cpulist(r, _CPU_DIR + '/nohz_full')
    except host_reader.HostFileError:
        # Absent without CONFIG_NO_HZ_FULL; the command line is the
        # fallback. isolcpus=nohz sets the same tick mask as nohz_full=.
        if cmd_error:
            nohz = cmd_error
        else:
            try:
                nohz = _cmdline_cpus(cmdline.value('nohz_full'), online,
                                     'nohz_full=')
            except exception.InvalidCPUSet as e:
                nohz = Unknown(str(e))
            else:
                if 'nohz' in flags:
                    nohz |= iso_cpus
    if cmd_error:
        nocbs = cmd_error
    else:
        try:
            nocbs = _cmdline_cpus(cmdline.value('rcu_nocbs'), online,
                                  'rcu_nocbs=')
        except exception.InvalidCPUSet as e:
            nocbs = Unknown(str(e))
        else:
            # rcu_init_nohz(): nohz_full CPUs are offloaded too.
            if known(nohz):
                nocbs |= nohz
    return flags, isolated, evidence, nohz, nocbs


# --- interrupts, workqueues, kvm, scheduler -------------------------------

def _irq_affinity(r):
    try:
        names = r.listdir('proc/irq')
    except host_reader.HostFileError as e:
        return _unknown(e)
    result = {}
    for name in names:
        if not name.isdigit():
            continue
        try:
            result[int(name)] = _read_cpulist(
                r, 'proc/irq/%s/smp_affinity_list' % name)
        except host_reader.HostFileError:
            # An IRQ freed between listdir and read, or a corrupt entry:
            # judge the others.
            continue
    return _freeze(sorted(result.items()))


def _workqueue_cpus(r):
    rel = 'sys/devices/virtual/workqueue/cpumask'
    try:
        return host_reader.parse_mask(r.read_line(rel), rel)
    except host_reader.HostFileError as e:
        return _unknown(e)


KVM_PARAMS = (
    ('kvm', 'kvmclock_periodic_sync'),
    ('kvm', 'halt_poll_ns'),
    ('kvm_intel', 'ple_gap'),
    ('kvm_amd', 'pause_filter_count'),
)


def _kvm_params(r):
    if not r.is_dir('sys/module/kvm/parameters'):
        return Unknown('kvm module not loaded '
                       '(no /sys/module/kvm/parameters)')
    params = {}
    for module, name in KVM_PARAMS:
        try:
            params['%s.%s' % (module, name)] = r.read_line(
                'sys/module/%s/parameters/%s' % (module, name))
        except host_reader.HostFileError:
            continue
    return _freeze(params)


def _sysctl_int(r, name):
    try:
        return r.read_int('proc/sys/kernel/' + name)
    except host_reader.HostFileError as e:
        return _unknown(e)


_V1_CPU_DIRS = ('sys/fs/cgroup/cpu,cpuacct', 'sys/fs/cgroup/cpu',
                'sys/fs/cgroup/cpuacct,cpu')


def _libvirt_controllers(r):
    try:
        text = r.read('etc/libvirt/qemu.conf')
    except host_reader.HostFileMissing:
        return None
    except host_reader.HostFileError as e:
        return _unknown(e)
    # libvirt's config syntax: '#' comments, lists may span lines.
    text = '\n'.join(line.split('#', 1)[0] for line in text.splitlines())
    match = re.search(r'^\s*cgroup_controllers\s*=\s*\[(.*?)\]', text,
                      re.M | re.S)
    if not match:
        return None
    return tuple(re.findall(r'"([^"]*)"', match.group(1)))


def _cgroup(r):
    controllers = _libvirt_controllers(r)
    for rel in _V1_CPU_DIRS:
        if not r.is_dir(rel):
            continue
        try:
            r.read_int(rel + '/cpu.rt_runtime_us')
        except host_reader.HostFileMissing:
            return CgroupInfo('v1', False, 'no cpu.rt_runtime_us in /%s'
                              % rel, None, controllers)
        except host_reader.HostFileError as e:
            return CgroupInfo('v1', _unknown(e), str(e), None, controllers)
        machine = None
        for slice_ in ('machine.slice', 'machine'):
            try:
                machine = r.read_int('%s/%s/cpu.rt_runtime_us'
                                     % (rel, slice_))
                break
            except host_reader.HostFileError:
                continue
        return CgroupInfo('v1', True, 'cpu.rt_runtime_us in /%s' % rel,
                          machine, controllers)
    if not r.exists('sys/fs/cgroup/cgroup.controllers'):
        return Unknown('no cgroup v1 cpu hierarchy and no cgroup v2 '
                       'mount under /sys/fs/cgroup')
    # cgroup v2 has no RT budget files, yet CONFIG_RT_GROUP_SCHED still
    # gives each cpu-controller group a zero budget: only the kernel
    # config tells.
    try:
        release = r.read_line('proc/sys/kernel/osrelease')
        rel = 'boot/config-%s' % release
        line = r.find_line(rel, 'CONFIG_RT_GROUP_SCHED=')
        if line is None:
            return CgroupInfo('v2', False, 'CONFIG_RT_GROUP_SCHED not set '
                              'in /%s' % rel, None, controllers)
        return CgroupInfo('v2', line.endswith('=y'), '%s in /%s'
                          % (line, rel), None, controllers)
    except host_reader.HostFileError as e:
        return CgroupInfo('v2', _unknown(e), 'cgroup v2; kernel config '
                          'unreadable: %s' % e, None, controllers)


def _kthreads(r):
    # Kernel threads are children of kthreadd (pid 2); with
    # CONFIG_PROC_CHILDREN one file lists them, otherwise scan /proc.
    try:
        pids = r.read('proc/%d/task/%d/children'
                      % (KTHREADD_PID, KTHREADD_PID)).split()
    except host_reader.HostFileError:
        try:
            pids = [n for n in r.listdir('proc') if n.isdigit()]
        except host_reader.HostFileError as e:
            return _unknown(e)
    found = []
    for pid in pids:
        if not pid.isdigit():
            continue
        try:
            stat = r.read('proc/%s/stat' % pid)
        except host_reader.HostFileError:
            continue        # exited since the listing
        thread = _parse_kthread_stat(pid, stat)
        if thread is not None:
            found.append(thread)
    return tuple(sorted(found, key=lambda t: (t.cpu, t.kind)))


def _parse_kthread_stat(pid, stat):
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses,
    # so it ends at the LAST ')'. Fields after it are numbered from 3.
    left, right = stat.find('('), stat.rfind(')')
    if left < 0 or right < left:
        return None
    comm = stat[left + 1:right]
    match = _KTHREAD_NAME.match(comm)
    if not match:
        return None
    fields = stat[right + 2:].split()
    try:
        ppid = int(fields[1])                   # field 4
        # field 40 rt_priority, field 41 policy (proc(5)).
        priority, policy = int(fields[37]), int(fields[38])
    except (IndexError, ValueError):
        return None
    if ppid != KTHREADD_PID:
        return None     # a user process named like a kernel thread
    return KThread(pid=int(pid), name=comm, kind=match.group(1),
                   cpu=int(match.group(2)), policy=policy,
                   priority=priority)


# --- clocks, power, memory -----------------------------------------------

def _cpuinfo(r):
    try:
        vendor = r.find_line('proc/cpuinfo', 'vendor_id')
        flags = r.find_line('proc/cpuinfo', 'flags')
    except host_reader.HostFileError as e:
        return _unknown(e), _unknown(e)
    vendor = vendor.partition(':')[2].strip() if vendor else Unknown(
        'no vendor_id in /proc/cpuinfo')
    flags = frozenset(flags.partition(':')[2].split()) if flags else \
        Unknown('no flags in /proc/cpuinfo')
    return vendor, flags


def _clocksource(r):
    try:
        return r.read_line(
            'sys/devices/system/clocksource/clocksource0/current_clocksource')
    except host_reader.HostFileError as e:
        return _unknown(e)


def _governors(r, online):
    try:
        policies = [n for n in r.listdir(_CPU_DIR + '/cpufreq')
                    if n.startswith('policy')]
    except host_reader.HostFileError as e:
        return Unknown('no cpufreq driver (%s)' % e)
    if not policies:
        return Unknown('no cpufreq driver (no cpufreq policies)')
    result = {}
    for cpu in sorted(online):
        try:
            result[cpu] = r.read_line(
                '%s/cpu%d/cpufreq/scaling_governor' % (_CPU_DIR, cpu))
        except host_reader.HostFileError:
            continue
    if not result:
        return Unknown('no readable scaling_governor')
    return _freeze(result)


def _cpuidle(r, online, cmdline):
    try:
        driver = r.read_line(_CPU_DIR + '/cpuidle/current_driver')
    except host_reader.HostFileError as e:
        return _unknown(e)
    try:
        qos = struct.unpack('<i', r.read_bytes('dev/cpu_dma_latency')[:4])[0]
    except (host_reader.HostFileError, struct.error) as e:
        qos = Unknown(str(e))
    if driver == 'none' or not online:
        return IdleInfo(driver, (), _freeze({}), qos)
    # The state table (names, exit latencies) is the driver's and the
    # same on every CPU; only "disable" is per CPU, so read the table once.
    first = min(online)
    base = '%s/cpu%d/cpuidle' % (_CPU_DIR, first)
    states = []
    try:
        names = [n for n in r.listdir(base) if n.startswith('state')]
        for name in sorted(names, key=lambda n: int(n[5:])):
            states.append(IdleState(
                index=int(name[5:]),
                name=r.read_line('%s/%s/name' % (base, name)),
                latency_us=r.read_int('%s/%s/latency' % (base, name))))
    except (host_reader.HostFileError, ValueError) as e:
        return _unknown(e)
    disabled = {}
    for cpu in sorted(online):
        off = set()
        try:
            for state in states:
                if r.read_line('%s/cpu%d/cpuidle/state%d/disable'
                               % (_CPU_DIR, cpu, state.index)) != '0':
                    off.add(state.index)
        except host_reader.HostFileError:
            continue    # judged unknown for this CPU
        disabled[cpu] = frozenset(off)
    return IdleInfo(driver, tuple(states), _freeze(disabled), qos)


def _thp(r):
    try:
        text = r.read_line('sys/kernel/mm/transparent_hugepage/enabled')
    except host_reader.HostFileError as e:
        return _unknown(e)
    match = re.search(r'\[(\w+)\]', text)     # "always [madvise] never"
    return match.group(1) if match else Unknown(
        'no [selected] mode in %r' % text)


def _ksm(r):
    try:
        return r.read_int('sys/kernel/mm/ksm/run')
    except host_reader.HostFileError as e:
        return _unknown(e)


def _swaps(r):
    try:
        lines = r.read('proc/swaps').splitlines()
    except host_reader.HostFileError as e:
        return _unknown(e)
    # First line is the "Filename Type Size Used Priority" header.
    return tuple(line.split()[0] for line in lines[1:] if line.strip())


def _hugepages(r, nodes):
    result = {}
    for node in nodes:
        base = '%s/node%d/hugepages' % (_NODE_DIR, node)
        sizes = {}
        try:
            for name in r.listdir(base):
                match = re.match(r'^hugepages-(\d+)kB$', name)
                if match:
                    sizes[int(match.group(1))] = r.read_int(
                        '%s/%s/nr_hugepages' % (base, name))
        except host_reader.HostFileError as e:
            return _unknown(e)
        result[node] = _freeze(sizes)
    if not result:
        return Unknown('no NUMA node')
    return _freeze(result)


def _size_kib(text):
    # cache/indexN/size: "32768K"; sysfs writes KiB with a K suffix.
    match = re.match(r'^(\d+)([KMG]?)$', text.strip())
    if not match:
        raise ValueError('%r is not a cache size' % text)
    return int(match.group(1)) * {'': 1, 'K': 1, 'M': 1024,
                                  'G': 1024 * 1024}[match.group(2)]


def _cat(r, online):
    base = 'sys/fs/resctrl/info/L3'
    try:
        mask = r.read_line(base + '/cbm_mask')
        info = {'cbm_mask': int(mask, 16),
                'num_closids': r.read_int(base + '/num_closids'),
                'min_cbm_bits': r.read_int(base + '/min_cbm_bits')}
    except host_reader.HostFileError as e:
        return _unknown(e)
    except ValueError:
        return Unknown('%s/cbm_mask: %r is not hex' % (base, mask))
    # L3 size per cache id: one CPU of each L3 domain is enough, the
    # others are in its shared_cpu_list.
    l3, l3_cpus, covered, index = {}, {}, set(), None
    try:
        for cpu in sorted(online):
            if cpu in covered:
                continue
            cache = '%s/cpu%d/cache' % (_CPU_DIR, cpu)
            if index is None:
                for name in r.listdir(cache):
                    if (name.startswith('index') and r.read_line(
                            '%s/%s/level' % (cache, name)) == '3'):
                        index = name
                        break
                else:
                    return Unknown('no level 3 cache under /%s' % cache)
            cache = '%s/%s' % (cache, index)
            cache_id = r.read_int(cache + '/id')
            l3[cache_id] = _size_kib(r.read_line(cache + '/size'))
            sharing = _read_cpulist(r, cache + '/shared_cpu_list') | {cpu}
            l3_cpus[cache_id] = frozenset(sharing & online)
            covered |= sharing
    except host_reader.HostFileError as e:
        return _unknown(e)
    except ValueError as e:
        return Unknown(str(e))
    if not l3:
        return Unknown('no L3 cache found')
    return CatInfo(l3_kib=_freeze(sorted(l3.items())),
                   l3_cpus=_freeze(sorted(l3_cpus.items())), **info)


def _smi(r, online, interval, sleep):
    if interval <= 0:
        return Unknown('not sampled (SMI interval 0)')
    if not online:
        return Unknown('online CPUs unreadable')
    # SMIs are broadcast: every logical CPU enters SMM, so one counter
    # tells. The msr driver makes the file offset the register number.
    cpu = min(online)
    rel = 'dev/cpu/%d/msr' % cpu

    def count():
        return struct.unpack('<Q', r.read_at(rel, MSR_SMI_COUNT, 8))[0] \
            & 0xffffffff

    try:
        before = count()
        sleep(interval)
        after = count()
    except host_reader.HostFileMissing as e:
        return Unknown('%s (load the msr module)' % e)
    except host_reader.HostFileError as e:
        return Unknown('%s (MSR_SMI_COUNT needs root and an Intel CPU)' % e)
    return SmiSample(cpu=cpu, count=(after - before) & 0xffffffff,
                     interval=interval)


def read_profile(root='/', smi_interval=0.0, reader=None, sleep=time.sleep):
    """Read the real-time profile of the host whose ``/`` is ``root``.

    :param smi_interval: seconds between the two reads of MSR_SMI_COUNT;
        0 skips the sampling (``smi`` is then Unknown)
    :param reader: a ``HostReader`` to use instead of one on ``root``
    :param sleep: the sleep used for SMI sampling (the tests inject theirs)
    """
    r = reader if reader is not None else host_reader.HostReader(root)
    online = _online_cpus(r)
    nodes = _numa_nodes(r, online)
    cmdline = _cmdline(r)
    kernel, kernel_evidence = _kernel(r, cmdline)
    flags, isolated, iso_evidence, nohz, nocbs = _isolation(r, cmdline,
                                                            online)
    vendor, cpu_flags = _cpuinfo(r)
    return HostProfile(
        root=r.root,
        online_cpus=online,
        numa_nodes=nodes,
        smt_siblings=_smt_siblings(r, online),
        kernel=kernel,
        kernel_evidence=kernel_evidence,
        cmdline=cmdline,
        isolcpus_flags=flags,
        isolated_cpus=isolated,
        isolated_evidence=iso_evidence,
        nohz_full_cpus=nohz,
        rcu_nocbs_cpus=nocbs,
        irq_affinity=_irq_affinity(r),
        workqueue_cpus=_workqueue_cpus(r),
        kvm_params=_kvm_params(r),
        sched_rt_runtime_us=_sysctl_int(r, 'sched_rt_runtime_us'),
        sched_rt_period_us=_sysctl_int(r, 'sched_rt_period_us'),
        cgroup=_cgroup(r),
        kthreads=_kthreads(r),
        clocksource=_clocksource(r),
        cpu_vendor=vendor,
        cpu_flags=cpu_flags,
        governors=_governors(r, online),
        cpuidle=_cpuidle(r, online, cmdline),
        thp=_thp(r),
        ksm_run=_ksm(r),
        swaps=_swaps(r),
        hugepages=_hugepages(r, nodes),
        cat=_cat(r, online),
        smi=_smi(r, online, smi_interval, sleep),
    )
