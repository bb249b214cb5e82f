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
"""How a compute host should be partitioned for real-time guests.

The plan is data, in the manner of tuned's realtime-virtual-host profile:
from the host's topology it derives the housekeeping CPUs (the first core,
with all its SMT siblings, of each NUMA node), and from them every setting
that follows: kernel arguments, sysctls, tuned variables, kernel thread
priorities, kvm module options, libvirt's qemu.conf and nova.conf's CPU
sets. Each item carries why it is there, which the text rendering shows.
"""

import dataclasses
import typing

from nova_rt.core import cpuset
from nova_rt.core import exception
from nova_rt.core import kernel_args as kargs
from nova_rt.core import priority as rt_priority
from nova_rt.host import model

# Kernel threads go one above the highest vCPU priority flavors may ask
# for ([nova_rt] max_vcpu_priority).
DEFAULT_MAX_VCPU_PRIORITY = rt_priority.DEFAULT_MAX_VCPU_PRIORITY

# Why each partitioning argument (nova_rt.core.kernel_args) is on a host.
_PARTITIONING_WHY = {
    'isolcpus': 'take the real-time CPUs out of the scheduler domains (no '
                'load balancing onto them) and keep managed interrupts off '
                'them',
    'nohz': 'tickless idle, needed by nohz_full',
    'nohz_full': 'stop the scheduler tick while one task (a vCPU) runs',
    'rcu_nocbs': 'run RCU callbacks on housekeeping CPUs, not the real-time '
                 'ones',
    'irqaffinity': 'default affinity of device interrupts',
    'skew_tick': 'offset the ticks of the housekeeping CPUs so they do not '
                 'contend on the same locks',
    'tsc': 'no clocksource watchdog on the TSC: its periodic checks '
           'interrupt every CPU',
    'nosoftlockup': 'a vCPU busy-polling for minutes is not a soft lockup; '
                    'the detector\'s timer would interrupt it',
}


class PlanError(exception.NovaRTError):
    msg_fmt = 'cannot plan this host: %(reason)s'


@dataclasses.dataclass(frozen=True)
class Item:
    """One setting: ``name`` (``value``), because ``why``."""

    name: str
    value: typing.Optional[str]
    why: str

    def render(self, sep='='):
        return self.name if self.value is None else '%s%s%s' % (
            self.name, sep, self.value)

    def to_dict(self):
        return {'name': self.name, 'value': self.value, 'why': self.why}


@dataclasses.dataclass(frozen=True)
class HostPlan:
    housekeeping_cpus: typing.FrozenSet[int]
    isolated_cpus: typing.FrozenSet[int]
    kernel_args: typing.Tuple[Item, ...]
    optional_kernel_args: typing.Tuple[Item, ...]
    sysctls: typing.Tuple[Item, ...]
    tuned_profile: str
    tuned_variables: typing.Tuple[Item, ...]
    kthread_priorities: typing.Tuple[Item, ...]
    module_options: typing.Tuple[Item, ...]
    qemu_conf: typing.Tuple[Item, ...]
    nova_conf: typing.Tuple[Item, ...]

    @property
    def cmdline(self):
        return ' '.join(item.render() for item in self.kernel_args)

    def to_dict(self):
        def items(seq):
            return [i.to_dict() for i in seq]
        return {
            'housekeeping_cpus': cpuset.format(self.housekeeping_cpus),
            'isolated_cpus': cpuset.format(self.isolated_cpus),
            'kernel_args': self.cmdline,
            'kernel_arg_items': items(self.kernel_args),
            'optional_kernel_args': items(self.optional_kernel_args),
            'sysctls': items(self.sysctls),
            'tuned': {'profile': self.tuned_profile,
                      'variables': items(self.tuned_variables)},
            'kthread_priorities': items(self.kthread_priorities),
            'module_options': items(self.module_options),
            'qemu_conf': items(self.qemu_conf),
            'nova_conf': items(self.nova_conf),
        }


def housekeeping(profile, per_node=1):
    """The first ``per_node`` cores (each with all its SMT siblings) of
    every NUMA node: interrupts, kernel threads, the host OS and emulator
    threads stay there, near each node's devices and memory.
    """
    if per_node < 1:
        raise PlanError(reason='at least one housekeeping core per node '
                               'is needed, not %d' % per_node)
    if not profile.online_cpus:
        raise PlanError(reason='the online CPUs could not be read')
    chosen = set()
    for node, cpus in sorted(profile.numa_nodes.items()):
        cores, seen = [], set()
        for cpu in sorted(cpus):
            if cpu not in seen:
                group = profile.siblings_of(cpu) & cpus
                cores.append(group)
                seen |= group
        for group in cores[:per_node]:
            chosen |= group
    return frozenset(chosen)


def _vendor(profile):
    return profile.cpu_vendor if model.known(profile.cpu_vendor) \
        else ''


def _flags(profile):
    return profile.cpu_flags if model.known(profile.cpu_flags) \
        else frozenset()


def _kernel_args(hk, iso, intel):
    h = cpuset.format(hk)
    args = []
    for name, value in kargs.partitioning_args(cpuset.format(iso), h):
        args.append(Item(name, value, _PARTITIONING_WHY[name]))
        if name == 'irqaffinity':
            # Host only: a guest's kernel threads follow its housekeeping
            # vCPUs through isolcpus already.
            args.append(Item('kthread_cpus', h,
                             'where unbound kernel threads may run'))
    if intel:
        args += [
            Item('intel_pstate', 'disable',
                 'as tuned\'s realtime profiles do: with intel_pstate in HWP '
                 'mode the hardware picks frequencies itself; acpi-cpufreq '
                 'with the performance governor holds them. Drop it if the '
                 'BIOS already fixes the frequency'),
            Item('intel_idle.max_cstate', '0',
                 'no intel_idle driver: acpi_idle, limited below, takes over'),
        ]
    args += [
        Item('processor.max_cstate', '1',
             'exits from C-states deeper than C1 take tens of microseconds'),
        Item('transparent_hugepage', 'never',
             'no khugepaged compaction and no THP faults on the host; '
             'guests get explicit huge pages'),
    ]
    return tuple(args)


def _optional_kernel_args(profile):
    optional = []
    if 'pdpe1gb' in _flags(profile):
        optional += [
            Item('default_hugepagesz', '1G', 'guest memory in 1 GiB pages '
                 '(hw:mem_page_size=1GB)'),
            Item('hugepagesz', '1G', 'the size the next hugepages= counts'),
            Item('hugepages', '<N>', 'reserve N 1 GiB pages at boot, spread '
                 'over the NUMA nodes: the guest memory this host offers'),
        ]
    else:
        optional.append(Item(
            'hugepages', '<N>', 'reserve N 2 MiB pages at boot for guests '
            'with hw:mem_page_size; this CPU has no 1 GiB pages (pdpe1gb)'))
    optional.append(Item('idle', 'poll', 'never idle at all: the lowest '
                         'wake-up latency, at the cost of full power draw'))
    return tuple(optional)


def _kthread_priorities(max_vcpu_priority):
    prio = rt_priority.kthread_priority_above(max_vcpu_priority)
    kthreads = tuple(
        Item('group.%s' % name, '0:f:%d:*:^\\[%s' % (prio, name),
             'tuned [scheduler] rule: %s/N SCHED_FIFO %d, above every vCPU'
             % (name, prio))
        for name in ('ksoftirqd', 'ktimers', 'rcuc'))
    return kthreads + (Item('rcutree.kthread_prio', str(prio),
                            'the kernel argument that sets rcuc/N at boot'),)


def _module_options(vendor):
    modules = [Item('kvm.kvmclock_periodic_sync', '0',
                    'no clock update of every vCPU each 300 s')]
    if vendor == 'GenuineIntel':
        modules.append(Item('kvm_intel.ple_gap', '0', 'no pause-loop exits: '
                            'a pinned vCPU spinning in the guest keeps its '
                            'CPU'))
    elif vendor == 'AuthenticAMD':
        modules.append(Item('kvm_amd.pause_filter_count', '0',
                            'no pause-loop exits (AMD pause filter)'))
    return tuple(modules)


def _qemu_conf(profile):
    cgroup = profile.cgroup
    if model.known(cgroup) and cgroup.rt_group_sched is False:
        return ()
    return (Item('cgroup_controllers',
                 '[ "devices", "memory", "blkio", "cpuset", "cpuacct" ]',
                 'without the cpu controller, libvirt\'s per-vCPU '
                 'cgroups do not get a zero RT budget '
                 '(CONFIG_RT_GROUP_SCHED), so SCHED_FIFO is allowed'),)


SYSCTLS = (
    Item('kernel.sched_rt_runtime_us', '-1',
         'no RT throttling: a busy SCHED_FIFO vCPU must not be '
         'stopped 50 ms every second'),
    Item('kernel.timer_migration', '0',
         'timers stay on the CPU that armed them'),
    Item('vm.stat_interval', '10',
         'vmstat updates every 10 s, not every second, on each CPU'),
    Item('kernel.nmi_watchdog', '0',
         'no perf NMI on every CPU for the hard-lockup detector'),
)


def plan(profile, housekeeping_per_node=1,
         max_vcpu_priority=DEFAULT_MAX_VCPU_PRIORITY):
    """The partitioning and settings this host should have.

    :param profile: a ``HostProfile``
    :param housekeeping_per_node: cores kept for the host on each NUMA node
    :param max_vcpu_priority: the highest vCPU priority flavors may use;
        essential kernel threads go one above it
    :raises: PlanError when the topology is unknown or leaves no CPU to
        isolate
    """
    hk = housekeeping(profile, housekeeping_per_node)
    iso = frozenset(profile.online_cpus - hk)
    if not iso:
        raise PlanError(reason='%d housekeeping core(s) per node leave no '
                               'CPU to isolate' % housekeeping_per_node)
    vendor = _vendor(profile)
    h, i = cpuset.format(hk), cpuset.format(iso)
    return HostPlan(
        housekeeping_cpus=hk,
        isolated_cpus=iso,
        kernel_args=_kernel_args(hk, iso, vendor == 'GenuineIntel'),
        optional_kernel_args=_optional_kernel_args(profile),
        sysctls=SYSCTLS,
        tuned_profile='realtime-virtual-host',
        tuned_variables=(
            Item('isolated_cores', i, 'the CPUs tuned isolates: the '
                 'complement of the housekeeping cores'),
            Item('isolate_managed_irq', 'Y', 'adds managed_irq to isolcpus'),
        ),
        kthread_priorities=_kthread_priorities(max_vcpu_priority),
        module_options=_module_options(vendor),
        qemu_conf=_qemu_conf(profile),
        nova_conf=(
            Item('cpu_dedicated_set', i, 'pinned, real-time vCPUs'),
            Item('cpu_shared_set', h, 'emulator threads and floating '
                 'vCPUs, on the housekeeping cores'),
        ),
    )


def render_text(p):
    """The plan as an operator reads and applies it."""
    lines = [
        'Housekeeping CPUs: %s (first core of each NUMA node)'
        % cpuset.format(p.housekeeping_cpus),
        'Isolated CPUs:     %s' % cpuset.format(p.isolated_cpus),
        '',
        'Kernel command line (append):',
        '  ' + p.cmdline,
    ]
    for item in p.kernel_args:
        lines.append('    %-26s %s' % (item.render(), item.why))
    lines += ['', 'Optional kernel arguments:']
    for item in p.optional_kernel_args:
        lines.append('  %-28s %s' % (item.render(), item.why))
    lines += ['', 'sysctl (/etc/sysctl.d/90-nova-rt.conf):']
    for item in p.sysctls:
        lines.append('  %s = %s    # %s' % (item.name, item.value, item.why))
    lines += ['', 'tuned: profile %s, /etc/tuned/%s-variables.conf:'
              % (p.tuned_profile, p.tuned_profile)]
    for item in p.tuned_variables:
        lines.append('  %s    # %s' % (item.render(), item.why))
    lines += ['', 'Kernel thread priorities:']
    for item in p.kthread_priorities:
        lines.append('  %s    # %s' % (item.render(), item.why))
    lines += ['', 'Kernel modules (/etc/modprobe.d/nova-rt.conf):']
    for item in p.module_options:
        module, _, param = item.name.partition('.')
        lines.append('  options %s %s=%s    # %s'
                     % (module, param, item.value, item.why))
    if p.qemu_conf:
        lines += ['', 'libvirt (/etc/libvirt/qemu.conf):']
        for item in p.qemu_conf:
            lines.append('  %s    # %s' % (item.render(' = '), item.why))
    lines += ['', 'nova.conf:', '  [compute]']
    for item in p.nova_conf:
        lines.append('  %s    # %s' % (item.render(' = '), item.why))
    return '\n'.join(lines) + '\n'
