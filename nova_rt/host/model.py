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
"""The host's real-time profile as data: what ``nova_rt.host.profile``
read, before any judgement.

Any value whose source cannot be read is an ``Unknown`` carrying the
reason, so a missing MSR driver or an unmounted resctrl becomes "unknown,
because ..." in the audit instead of a crash or a silent default.
"""

import dataclasses
import typing

from nova_rt.core import kernel_args

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
# processing (rcuc/N, with RCU_BOOST or PREEMPT_RT).
ESSENTIAL_KTHREADS = ('ksoftirqd', 'ktimers', 'ktimersoftd', 'rcuc')


@dataclasses.dataclass(frozen=True)
class Unknown:
    """A value that could not be read, and why."""

    reason: str

    def __str__(self):
        return self.reason


def known(value):
    return not isinstance(value, Unknown)


def unknown_from(exc):
    """The Unknown a reader error becomes."""
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
        for token in map(kernel_args.unquote, kernel_args.split_cmdline(raw)):
            # Everything after a bare "--" is for init, not the kernel.
            if token == '--':
                break
            name, sep, value = token.partition('=')
            args.append((kernel_args.param_name(name),
                         value if sep else None))
        return cls(raw=raw.strip(), args=tuple(args))

    def values(self, name):
        name = kernel_args.param_name(name)
        return tuple(v for n, v in self.args if n == name)

    def value(self, name):
        """The last value of ``name`` (later settings win for the
        parameters nova-rt reads), None when absent or a bare flag.
        """
        values = self.values(name)
        return values[-1] if values else None

    def has(self, name):
        return bool(self.values(name))


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
