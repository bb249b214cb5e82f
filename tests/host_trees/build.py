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
"""Build a host tree (the /sys, /proc, /dev, /etc a host shows) from a
description, so a new host shape is a short YAML file.

The tree holds exactly the files nova-rt's reader uses on such a host
(tests/unit/host/test_trees.py keeps the two in step), with the content
and the quirks of real kernels: /proc/<pid>/stat lines of 52 fields whose
comm may hold spaces and parentheses, cpuN/cpufreq as a symlink to its
policy, /dev/cpu/N/msr answering at the MSR's offset, and so on.

    python -m tests.host_trees.build NAME DEST   # or a path to a .yaml
"""

import datetime
import hashlib
import json
import os
import struct
import sys

import yaml

from nova_rt.core import cpuset
from nova_rt.host import reader

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = ('tuned-dual-socket', 'stock', 'half-tuned', 'big-256')

_POLICIES = {'other': 0, 'fifo': 1, 'rr': 2, 'batch': 3, 'idle': 5}


def load(name):
    """The description called ``name`` (or at path ``name``)."""
    path = name if name.endswith('.yaml') else os.path.join(
        HERE, name + '.yaml')
    with open(path) as f:
        return yaml.safe_load(f)


class Topology(object):
    """CPU numbering of a description's topology.

    ``split``: the first threads of all cores come first, so CPU N and
    N + cores are siblings (Intel, and AMD under Linux); ``adjacent``:
    siblings are 2k and 2k+1 (some BIOSes and most VMs).
    """

    def __init__(self, desc):
        self.nodes = desc['nodes']
        self.cores_per_node = desc['cores_per_node']
        self.threads = desc.get('threads', 1)
        self.numbering = desc.get('numbering', 'split')
        self.l3_per_node = desc.get('l3_per_node', 1)
        self.cores = self.nodes * self.cores_per_node
        self.cpus = frozenset(range(self.cores * self.threads))

    def core_cpus(self, core):
        if self.numbering == 'split':
            return [core + t * self.cores for t in range(self.threads)]
        return [core * self.threads + t for t in range(self.threads)]

    def node_cpus(self, node):
        first = node * self.cores_per_node
        return frozenset(c for core in range(first,
                                             first + self.cores_per_node)
                         for c in self.core_cpus(core))

    def l3_domains(self):
        per = self.cores_per_node // self.l3_per_node
        for core in range(0, self.cores, per):
            yield frozenset(c for k in range(core, core + per)
                            for c in self.core_cpus(k))


def _cpus(spec):
    return cpuset.parse(str(spec), 'host tree')


class _Tree(object):
    def __init__(self, dest):
        self.dest = dest

    def write(self, rel, content):
        path = os.path.join(self.dest, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        mode = 'wb' if isinstance(content, bytes) else 'w'
        with open(path, mode) as f:
            f.write(content)

    def line(self, rel, value):
        self.write(rel, '%s\n' % value)

    def symlink(self, target, rel):
        path = os.path.join(self.dest, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)

    def mkdir(self, rel):
        os.makedirs(os.path.join(self.dest, rel), exist_ok=True)


def _per_cpu(table, cpus, default):
    """{cpuset string: value} overrides of ``default`` for ``cpus``."""
    result = {cpu: default for cpu in cpus}
    for spec, value in (table or {}).items():
        for cpu in _cpus(spec):
            if cpu in result:
                result[cpu] = value
    return result


def _stat(pid, comm, ppid, cpu=0, policy='other', prio=0):
    # 52 fields (proc(5), Linux 5.x+): field 18 priority, 39 processor,
    # 40 rt_priority, 41 policy.
    fields = ['0'] * 52
    fields[0], fields[1], fields[2], fields[3] = (
        str(pid), '(%s)' % comm, 'S', str(ppid))
    fields[17] = str(-prio - 1 if policy in ('fifo', 'rr') else 20)
    fields[19], fields[22] = '1', '18446744073709551615'
    fields[38], fields[39], fields[40] = str(cpu), str(prio), str(
        _POLICIES[policy])
    return ' '.join(fields) + '\n'


_SYSD = 'sys/devices/system'


def _numa(t, desc, topo):
    """NUMA nodes with their huge pages, and the SMT sibling groups."""
    t.line(_SYSD + '/cpu/online', cpuset.format(topo.cpus))
    huge = desc.get('hugepages') or {}
    for node in range(topo.nodes):
        base = '%s/node/node%d' % (_SYSD, node)
        t.line(base + '/cpulist', cpuset.format(topo.node_cpus(node)))
        for size in (2048, 1048576):
            counts = huge.get(size) or [0] * topo.nodes
            t.line('%s/hugepages/hugepages-%dkB/nr_hugepages'
                   % (base, size), counts[node])
    # SMT: the reader reads the first CPU of each sibling group only.
    for core in range(topo.cores):
        group = topo.core_cpus(core)
        t.line('%s/cpu/cpu%d/topology/thread_siblings_list'
               % (_SYSD, min(group)), cpuset.format(group))


def _kernel(t, desc, topo):
    """The kernel's version and flavour, and its command line's effect."""
    kernel = desc['kernel']
    t.line('proc/version', kernel['version'])
    if kernel.get('realtime'):
        t.line('sys/kernel/realtime', 1)
    if kernel.get('debug_preempt'):
        t.line('sys/kernel/debug/sched/preempt', kernel['debug_preempt'])
    t.line('proc/cmdline', desc['cmdline'])
    t.line(_SYSD + '/cpu/isolated', desc.get('isolated', ''))
    if desc.get('nohz_full') is not None:
        t.line(_SYSD + '/cpu/nohz_full', desc['nohz_full'])


def _interrupts(t, desc, topo):
    """IRQ affinities (the timer's spans every CPU) and workqueues."""
    cpu_list = cpuset.format(topo.cpus)
    irqs = desc['irqs']
    affinity = _per_cpu(irqs.get('except'), range(
        irqs['first'], irqs['first'] + irqs['count']), irqs['affinity'])
    affinity.update({0: cpu_list} if irqs.get('timer', True) else {})
    for irq, aff in affinity.items():
        t.line('proc/irq/%d/smp_affinity_list' % irq,
               cpuset.format(_cpus(aff)))
    t.line('sys/devices/virtual/workqueue/cpumask',
           reader.format_mask(_cpus(desc.get('workqueue', cpu_list))))


def _kvm(t, desc, topo):
    for module, params in (desc.get('kvm') or {}).items():
        for name, value in params.items():
            t.line('sys/module/%s/parameters/%s' % (module, name), value)


def _sysctls(t, desc, topo):
    for name, value in desc['sysctl'].items():
        t.line('proc/sys/kernel/%s' % name, value)


def _cgroup(t, desc, topo):
    """cgroup v1's RT budget files, or v2 with the kernel's config; none
    at all when ``cgroup`` is null (no cgroup mount visible, as in a
    container that does not mount /sys/fs/cgroup).
    """
    cg = desc['cgroup']
    if cg is None:
        return
    if cg['version'] == 'v1':
        _cgroup_v1(t, cg)
    else:
        _cgroup_v2(t, desc['kernel'])


def _cgroup_v1(t, cg):
    base = 'sys/fs/cgroup/cpu,cpuacct'
    t.symlink('cpu,cpuacct', 'sys/fs/cgroup/cpu')
    if 'rt_runtime_us' in cg:
        t.line(base + '/cpu.rt_runtime_us', cg['rt_runtime_us'])
    else:
        t.line(base + '/cpu.shares', 1024)
    if 'machine_rt_runtime_us' in cg:
        t.line(base + '/machine.slice/cpu.rt_runtime_us',
               cg['machine_rt_runtime_us'])


def _cgroup_v2(t, kernel):
    t.line('sys/fs/cgroup/cgroup.controllers',
           'cpuset cpu io memory hugetlb pids rdma misc')
    release = kernel['release']
    t.line('proc/sys/kernel/osrelease', release)
    t.write('boot/config-%s' % release, ''.join(
        '%s=%s\n' % kv if kv[1] != 'n' else '# %s is not set\n' % kv[0]
        for kv in sorted(kernel.get('config', {}).items())))


def _qemu_conf(t, desc, topo):
    if desc.get('qemu_conf'):
        t.write('etc/libvirt/qemu.conf', desc['qemu_conf'])


def _clocks_and_cpuinfo(t, desc, topo):
    t.line(_SYSD + '/clocksource/clocksource0/current_clocksource',
           desc['clocksource'])
    info = desc['cpuinfo']
    t.write('proc/cpuinfo', ''.join(
        'processor\t: %d\nvendor_id\t: %s\nmodel name\t: %s\n'
        'flags\t\t: %s\n\n' % (cpu, info['vendor'], info['model'],
                               ' '.join(info['flags']))
        for cpu in sorted(topo.cpus)))


def _cpufreq(t, desc, topo):
    """cpuN/cpufreq is a symlink to its policy, as in sysfs."""
    freq = desc.get('cpufreq')
    if not freq:
        return
    governors = _per_cpu(freq.get('per_cpu'), topo.cpus, freq['governor'])
    for cpu in sorted(topo.cpus):
        t.line('%s/cpu/cpufreq/policy%d/scaling_governor' % (_SYSD, cpu),
               governors[cpu])
        t.symlink('../cpufreq/policy%d' % cpu,
                  '%s/cpu/cpu%d/cpufreq' % (_SYSD, cpu))


def _memory(t, desc, topo):
    t.line('sys/kernel/mm/transparent_hugepage/enabled', desc['thp'])
    if desc.get('ksm') is not None:
        t.line('sys/kernel/mm/ksm/run', desc['ksm'])
    t.write('proc/swaps', 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\t'
            'Priority\n' + ''.join(line + '\n'
                                   for line in desc.get('swaps') or ()))


def _msr(t, desc, topo):
    """The SMI counter of the first CPU.

    An AMD CPU has no MSR 0x34 (EIO on a host; here, a file too short to
    hold it).
    """
    msr = desc.get('msr')
    if msr is None:
        return
    count = msr.get('smi_count')
    data = b'\0' * 0x34 + (struct.pack('<Q', count)
                           if count is not None else b'')
    t.write('dev/cpu/%d/msr' % min(topo.cpus), data)


def _nova_files(t, desc, topo):
    """nova.conf and the latency certificate.

    Read by the CLI and the compute driver, not by the profile reader.
    """
    conf = dict(desc.get('nova_conf') or {})
    if conf:
        # [compute] options at the top, other sections as mappings.
        sections = {'compute': {k: v for k, v in conf.items()
                                if not isinstance(v, dict)}}
        sections.update((k, v) for k, v in conf.items()
                        if isinstance(v, dict))
        t.write('etc/nova/nova.conf', ''.join(
            '[%s]\n%s' % (name, ''.join('%s = %s\n' % kv
                                        for kv in opts.items()))
            for name, opts in sections.items()))
    cert = desc.get('latency_certificate')
    if cert:
        t.write('etc/nova/nova-rt-latency.json',
                json.dumps(certificate(desc, cert)))


def _optional(key, writer):
    """A step that writes ``desc[key]`` with ``writer`` when it is set."""
    def step(t, desc, topo):
        value = desc.get(key)
        if value:
            writer(t, value, topo)
    return step


def certificate(desc, given):
    """A certificate measured on this tree's host state ``age_days`` ago.

    ``age_days`` is 1 by default; the certificate's identity is the tree's
    own kernel release, command line and isolated CPUs, and the keys
    ``given`` override any field.
    """
    given = dict(given)
    age = datetime.timedelta(days=given.pop('age_days', 1))
    measured = datetime.datetime.now(datetime.timezone.utc) - age
    worst = given.get('max_latency_us', 1)
    doc = {
        'max_latency_us': worst,
        'percentiles_us': {'50': min(5, worst), '99': worst,
                           '99.9': worst, '99.99': worst, '99.999': None},
        'duration_s': 86400,
        'load': 'stress-ng --taskset 0,8,16,24 --cpu 4 --vm 1 '
                '--vm-bytes 128M --io 1',
        'measured_at': measured.strftime('%Y-%m-%dT%H:%M:%SZ'),
        'kernel_release': desc['kernel'].get('release'),
        'kernel_cmdline_sha256': hashlib.sha256(
            desc['cmdline'].encode()).hexdigest(),
        'isolated_cpus': desc.get('isolated', ''),
    }
    doc.update(given)
    return doc


def _processes(t, desc, topo):
    """kthreadd's children, and user processes."""
    kt = desc['kthreads']
    pid = 2
    procs = [(1, 'systemd', 0, 0, 'other', 0), (2, 'kthreadd', 0, 0,
                                                 'other', 0)]
    overrides = kt.get('overrides') or {}
    for cpu in sorted(topo.cpus):
        for name, spec in [('cpuhp', ['other', 0]),
                           ('migration', ['fifo', 99])] + sorted(
                kt['kinds'].items()):
            comm = '%s/%d' % (name, cpu)
            policy, prio = overrides.get(comm, spec)
            pid += 1
            procs.append((pid, comm, 2, cpu, policy, prio))
        pid += 1
        procs.append((pid, 'kworker/%d:0H-events_highpri' % cpu, 2, cpu,
                      'other', 0))
    if kt.get('children_file', True):
        t.line('proc/2/task/2/children', ' '.join(
            str(p[0]) for p in procs if p[2] == 2))
        procs = [p for p in procs if p[2] == 2]
    else:
        # Without CONFIG_PROC_CHILDREN the reader scans every process,
        # user ones included; comm may hold spaces and parentheses, and a
        # user process may call itself like a kernel thread.
        for comm in ('tmux: server', '(sd-pam)', 'qemu-kvm) S 2 (x',
                     'ksoftirqd/%d' % max(topo.cpus)):
            pid += 1
            procs.append((pid, comm, 1, 0, 'fifo', 1))
    for p in procs:
        t.write('proc/%d/stat' % p[0], _stat(*p))


def _cpuidle(t, idle, topo):
    cpus = topo.cpus
    sysd = 'sys/devices/system/cpu'
    t.line(sysd + '/cpuidle/current_driver', idle['driver'])
    t.write('dev/cpu_dma_latency',
            struct.pack('<i', idle.get('qos_us', 2000000000)))
    states = idle.get('states') or []
    disabled = _per_cpu(idle.get('disabled'), cpus, [])
    first = min(cpus)
    for cpu in sorted(cpus):
        for index, (name, latency) in enumerate(states):
            base = '%s/cpu%d/cpuidle/state%d' % (sysd, cpu, index)
            if cpu == first:
                # The state table is read from the first CPU only.
                t.line(base + '/name', name)
                t.line(base + '/latency', latency)
            t.line(base + '/disable', int(name in disabled[cpu]))


def _resctrl(t, res, topo):
    """CAT: the L3 allocation info and the L3 caches' identities."""
    base = 'sys/fs/resctrl/info/L3'
    t.line(base + '/cbm_mask', res['cbm_mask'])
    t.line(base + '/num_closids', res['num_closids'])
    t.line(base + '/min_cbm_bits', res.get('min_cbm_bits', 1))
    first = True
    for cache_id, domain in enumerate(topo.l3_domains()):
        cache = 'sys/devices/system/cpu/cpu%d/cache' % min(domain)
        if first:
            # index0-2 (L1d, L1i, L2) are looked at for their level.
            for index, level in enumerate((1, 1, 2)):
                t.line('%s/index%d/level' % (cache, index), level)
            t.line(cache + '/index3/level', 3)
            first = False
        t.line(cache + '/index3/id', cache_id)
        t.line(cache + '/index3/size', '%dK' % res['l3_kib'])
        t.line(cache + '/index3/shared_cpu_list', cpuset.format(domain))


# The steps of a build, one per part of the host; each takes the tree, the
# description and its topology, and writes only what the description asks.
_STEPS = (
    _numa,
    _kernel,
    _interrupts,
    _kvm,
    _sysctls,
    _cgroup,
    _qemu_conf,
    _processes,
    _clocks_and_cpuinfo,
    _cpufreq,
    _optional('cpuidle', _cpuidle),
    _memory,
    _optional('resctrl', _resctrl),
    _msr,
    _nova_files,
)


def build(desc, dest):
    """Write the tree ``desc`` describes under ``dest`` (created)."""
    t = _Tree(dest)
    topo = Topology(desc['topology'])
    for step in _STEPS:
        step(t, desc, topo)
    return dest


def main(argv):
    if len(argv) != 3:
        sys.stderr.write('usage: %s NAME|FILE.yaml DEST\n' % argv[0])
        return 2
    build(load(argv[1]), argv[2])
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
