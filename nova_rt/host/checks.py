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
"""The host audit: a table of small checks over a ``HostProfile``.

Each check is a function of a ``Context`` (the profile, nova.conf's CPU
sets, the vCPU priority) returning a ``Result``; the table gives its name,
whether it is critical, what is expected and the usual remedy. Nothing here
reads a file: ``nova_rt.host.profile`` did.

A host is ready when no critical check fails and every CPU of
``[compute] cpu_dedicated_set`` is known to be isolated (isolcpus domain,
nohz_full and rcu_nocbs). A critical check that is ``unknown`` does not by
itself make a host unready; the isolation sets must be positively known.
"""

import dataclasses
import typing

from nova_rt import cpuset
from nova_rt.host import plan as host_plan
from nova_rt.host import profile as host_profile
from nova_rt.host import reader as host_reader

PASS, WARN, FAIL, UNKNOWN = 'pass', 'warn', 'fail', 'unknown'
STATUSES = (PASS, WARN, FAIL, UNKNOWN)

# An idle state whose exit takes longer than this is "deep": C1E exits in
# about 10 us, C3/C6 in 40-130 us on current Xeon and EPYC.
MAX_IDLE_EXIT_LATENCY_US = 10

# How many items an "observed" text lists before "and N more".
_SHOWN = 6

known = host_profile.known
fmt = cpuset.format


@dataclasses.dataclass(frozen=True)
class Finding:
    check: str
    status: str
    observed: str
    expected: str
    remediation: str
    critical: bool

    def to_dict(self):
        return {'check': self.check, 'status': self.status,
                'observed': self.observed, 'expected': self.expected,
                'remediation': self.remediation}


@dataclasses.dataclass(frozen=True)
class Report:
    ready: bool
    kernel: str
    isolated_cpus: typing.FrozenSet[int]
    findings: typing.Tuple[Finding, ...]

    def finding(self, check):
        for f in self.findings:
            if f.check == check:
                return f
        raise KeyError(check)

    @property
    def blocking(self):
        """The critical findings that fail."""
        return tuple(f for f in self.findings
                     if f.critical and f.status == FAIL)

    def to_dict(self):
        return {'ready': self.ready, 'kernel': self.kernel,
                'isolated_cpus': fmt(self.isolated_cpus),
                'findings': [f.to_dict() for f in self.findings]}


@dataclasses.dataclass(frozen=True)
class Result:
    status: str
    observed: str
    # None: the check's default from the table
    expected: typing.Optional[str] = None
    remediation: typing.Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Context:
    profile: host_profile.HostProfile
    dedicated: typing.FrozenSet[int]     # configured, else the isolated set
    shared: typing.FrozenSet[int]
    configured: bool
    vcpu_priority: int

    @property
    def judged(self):
        """The CPUs the per-CPU power checks look at: the dedicated ones,
        or every online CPU when none is dedicated."""
        return self.dedicated or self.profile.online_cpus

    @property
    def judged_note(self):
        return '' if self.dedicated else ' (no dedicated CPUs: all online)'

    @property
    def housekeeping(self):
        return frozenset(self.profile.online_cpus - self.dedicated)

    def suggested_isolated(self):
        """The dedicated set, or the plan's isolated set when none."""
        if self.dedicated:
            return self.dedicated
        try:
            p = self.profile
            return frozenset(p.online_cpus - host_plan.housekeeping(p))
        except host_plan.PlanError:
            return frozenset()


def _few(items):
    items = list(items)
    text = ', '.join(str(i) for i in items[:_SHOWN])
    if len(items) > _SHOWN:
        text += ' and %d more' % (len(items) - _SHOWN)
    return text


def _no_dedicated():
    return Result(UNKNOWN, 'no dedicated or isolated CPUs to judge')


# --- the checks -----------------------------------------------------------

def check_kernel(ctx):
    p = ctx.profile
    if not known(p.kernel_evidence):
        return Result(UNKNOWN, str(p.kernel_evidence))
    observed = '%s (%s)' % (p.kernel, p.kernel_evidence)
    if p.kernel == host_profile.KERNEL_PREEMPT_RT:
        return Result(PASS, observed)
    if p.kernel == host_profile.KERNEL_PREEMPT:
        return Result(WARN, observed)
    return Result(FAIL, observed)


def check_dedicated_set(ctx):
    p = ctx.profile
    if not ctx.configured:
        suggested = ctx.suggested_isolated()
        return Result(
            WARN, '[compute] cpu_dedicated_set not set: the isolated CPUs '
            '(%s) are judged as if dedicated' % (fmt(ctx.dedicated) or 'none'),
            remediation='[compute] cpu_dedicated_set = %s, cpu_shared_set = '
            '%s in nova.conf (nova-rt host plan)'
            % (fmt(suggested) or '<isolated CPUs>',
               fmt(p.online_cpus - suggested) or '<housekeeping CPUs>'))
    if not ctx.dedicated:
        return Result(FAIL, '[compute] cpu_dedicated_set is empty')
    overlap = ctx.dedicated & ctx.shared
    if overlap:
        return Result(FAIL, 'CPUs %s are in both cpu_dedicated_set and '
                      'cpu_shared_set' % fmt(overlap),
                      remediation='remove %s from cpu_shared_set'
                      % fmt(overlap))
    offline = ctx.dedicated - p.online_cpus if p.online_cpus else set()
    if offline:
        return Result(FAIL, 'CPUs %s of cpu_dedicated_set are not online'
                      % fmt(offline),
                      remediation='remove %s from cpu_dedicated_set or bring '
                      'them online' % fmt(offline))
    return Result(PASS, 'cpu_dedicated_set = %s, cpu_shared_set = %s'
                  % (fmt(ctx.dedicated), fmt(ctx.shared) or 'unset'))


def _coverage(ctx, cpus, arg):
    """Every dedicated CPU in ``cpus`` (a profile set)?"""
    if not known(cpus):
        return Result(UNKNOWN, str(cpus))
    target = ctx.dedicated
    want = ctx.suggested_isolated()
    remedy = '%s=%s on the kernel command line' % (arg, fmt(want | cpus)
                                                   if want else '<CPUs>')
    if not target:
        return Result(FAIL, 'no dedicated or isolated CPUs (%s: %s)'
                      % (arg, fmt(cpus) or 'none'), remediation=remedy)
    missing = target - cpus
    if missing:
        return Result(FAIL, 'dedicated CPUs %s are not in %s (%s)'
                      % (fmt(missing), arg, fmt(cpus) or 'empty'),
                      remediation=remedy)
    return Result(PASS, 'every dedicated CPU is in %s (%s)'
                  % (arg, fmt(cpus)))


def check_isolated(ctx):
    p = ctx.profile
    result = _coverage(ctx, p.isolated_cpus, 'isolcpus')
    if result.status == UNKNOWN:
        return result
    want = ctx.suggested_isolated()
    remedy = 'isolcpus=managed_irq,domain,%s on the kernel command line' % (
        fmt(want | p.isolated_cpus) if want else '<CPUs>')
    observed = result.observed + ' [from %s]' % p.isolated_evidence
    if p.isolcpus_flags and 'domain' not in p.isolcpus_flags:
        # isolcpus=managed_irq,2-7 isolates nothing from the scheduler:
        # with flags, only the flags given apply.
        observed += '; isolcpus= has flags (%s) without "domain"' % ','.join(
            sorted(p.isolcpus_flags))
    if result.status == PASS and p.online_cpus and \
            p.online_cpus <= p.isolated_cpus:
        return Result(FAIL, 'every online CPU is isolated: no housekeeping '
                      'CPU is left', remediation='leave one core per NUMA '
                      'node out of isolcpus= (nova-rt host plan)')
    return Result(result.status, observed, remediation=remedy)


def check_nohz_full(ctx):
    result = _coverage(ctx, ctx.profile.nohz_full_cpus, 'nohz_full')
    if result.status == FAIL:
        return dataclasses.replace(result, remediation=result.remediation
                                   + ' (with nohz=on)')
    return result


def check_rcu_nocbs(ctx):
    return _coverage(ctx, ctx.profile.rcu_nocbs_cpus, 'rcu_nocbs')


def check_smt(ctx):
    p = ctx.profile
    if not known(p.smt_siblings):
        return Result(UNKNOWN, str(p.smt_siblings))
    if not ctx.dedicated:
        return _no_dedicated()
    if all(len(g) == 1 for g in p.smt_siblings):
        return Result(PASS, 'no SMT siblings online')
    in_shared, busy = {}, {}
    for cpu in sorted(ctx.dedicated):
        for sib in p.siblings_of(cpu) - {cpu}:
            if sib in ctx.shared:
                in_shared[cpu] = sib
            elif sib not in ctx.dedicated and (
                    not known(p.isolated_cpus) or
                    sib not in p.isolated_cpus):
                busy[cpu] = sib
    if in_shared:
        return Result(FAIL, 'siblings of dedicated CPUs are in '
                      'cpu_shared_set: %s' % _few(
                          '%d~%d' % kv for kv in in_shared.items()),
                      remediation='dedicate whole cores: move %s out of '
                      'cpu_shared_set (into cpu_dedicated_set), or boot with '
                      'nosmt' % fmt(in_shared.values()))
    if busy:
        return Result(WARN, 'siblings of dedicated CPUs run host work: %s'
                      % _few('%d~%d' % kv for kv in busy.items()),
                      remediation='isolate %s too, or add them to '
                      'cpu_dedicated_set' % fmt(busy.values()))
    return Result(PASS, 'every dedicated CPU\'s SMT siblings are dedicated '
                  'or isolated')


def check_irq_affinity(ctx):
    p = ctx.profile
    if not known(p.irq_affinity):
        return Result(UNKNOWN, str(p.irq_affinity))
    if not ctx.dedicated:
        return _no_dedicated()
    # IRQ 0 is the legacy PIT timer: the kernel refuses to move it and it
    # stops firing once the local APIC timers run.
    offenders = [(irq, cpus) for irq, cpus in sorted(p.irq_affinity.items())
                 if irq != 0 and cpus & ctx.dedicated]
    if offenders:
        hk = fmt(ctx.housekeeping) or '<housekeeping CPUs>'
        return Result(
            FAIL, '%d IRQs may fire on dedicated CPUs: %s' % (
                len(offenders),
                _few('%d (%s)' % (irq, fmt(cpus)) for irq, cpus in offenders)),
            remediation='irqaffinity=%s on the kernel command line, and '
            'IRQBALANCE_BANNED_CPULIST=%s for irqbalance (tuned\'s '
            'realtime-virtual-host profile does both)'
            % (hk, fmt(ctx.dedicated)))
    return Result(PASS, '%d IRQs, none on dedicated CPUs'
                  % len(p.irq_affinity))


def check_workqueue(ctx):
    p = ctx.profile
    if not known(p.workqueue_cpus):
        return Result(UNKNOWN, str(p.workqueue_cpus))
    if not ctx.dedicated:
        return _no_dedicated()
    overlap = p.workqueue_cpus & ctx.dedicated
    if overlap:
        return Result(
            WARN, 'unbound workqueues may run on dedicated CPUs %s'
            % fmt(overlap),
            remediation='echo %s > /sys/devices/virtual/workqueue/cpumask '
            '(tuned does it from isolated_cores)'
            % host_reader.format_mask(ctx.housekeeping))
    return Result(PASS, 'unbound workqueues on %s' % fmt(p.workqueue_cpus))


def check_kthreads(ctx):
    p = ctx.profile
    if not known(p.kthreads):
        return Result(UNKNOWN, str(p.kthreads))
    if not ctx.dedicated:
        return _no_dedicated()
    bound = [t for t in p.kthreads if t.cpu in ctx.dedicated]
    if not bound:
        return Result(UNKNOWN, 'no ksoftirqd/ktimers/rcuc thread bound to '
                      'the dedicated CPUs was found')
    prio = ctx.vcpu_priority + 1
    remedy = ('run them SCHED_FIFO above the vCPUs: tuned [scheduler] '
              'group.ksoftirqd=0:f:%(p)d:*:^\\[ksoftirqd (and ktimers, rcuc), '
              'rcutree.kthread_prio=%(p)d on the kernel command line'
              % {'p': prio})
    starved = [t for t in bound if not t.is_rt]
    if starved:
        return Result(FAIL, '%d not real-time, could starve under a '
                      'SCHED_FIFO vCPU: %s' % (len(starved), _few(
                          '%s %s' % (t.name, t.policy_name) for t in starved)),
                      remediation=remedy)
    low = [t for t in bound if t.priority <= ctx.vcpu_priority]
    if low:
        return Result(FAIL, '%d at or below the vCPU priority %d: %s' % (
            len(low), ctx.vcpu_priority, _few(
                '%s %s %d' % (t.name, t.policy_name, t.priority)
                for t in low)), remediation=remedy)
    lowest = min(bound, key=lambda t: t.priority)
    return Result(PASS, 'lowest is %s %s %d, above the vCPU priority %d'
                  % (lowest.name, lowest.policy_name, lowest.priority,
                     ctx.vcpu_priority))


def check_rt_runtime(ctx):
    value, period = ctx.profile.sched_rt_runtime_us, \
        ctx.profile.sched_rt_period_us
    if not known(value):
        return Result(UNKNOWN, str(value))
    if value < 0:
        return Result(PASS, 'kernel.sched_rt_runtime_us = -1 (no RT '
                      'throttling)')
    if known(period) and period > value:
        return Result(FAIL, 'kernel.sched_rt_runtime_us = %d of %d: a busy '
                      'SCHED_FIFO vCPU is stopped %d ms every %d ms' % (
                          value, period, (period - value) // 1000,
                          period // 1000))
    return Result(FAIL, 'kernel.sched_rt_runtime_us = %d (RT throttling on)'
                  % value)


def check_cgroup_rt(ctx):
    cg = ctx.profile.cgroup
    if not known(cg):
        return Result(UNKNOWN, str(cg))
    runtime = ctx.profile.sched_rt_runtime_us
    if cg.rt_group_sched is False:
        return Result(PASS, 'no RT group scheduling (%s, %s)'
                      % (cg.version, cg.evidence))
    if not known(cg.rt_group_sched):
        if known(runtime) and runtime < 0:
            return Result(PASS, 'RT group scheduling unknown, but '
                          'sched_rt_runtime_us = -1 disables RT bandwidth')
        return Result(UNKNOWN, str(cg.rt_group_sched))
    observed = 'RT group scheduling on (%s)' % cg.evidence
    if cg.machine_rt_runtime_us is not None:
        observed += ', machine slice cpu.rt_runtime_us = %d' % (
            cg.machine_rt_runtime_us)
    controllers = cg.libvirt_controllers
    if known(controllers) and controllers is not None \
            and 'cpu' not in controllers:
        return Result(PASS, observed + '; qemu.conf cgroup_controllers '
                      'leaves out "cpu"')
    if known(runtime) and runtime < 0:
        # sched_setscheduler() checks the group budget only while RT
        # bandwidth is enforced (rt_bandwidth_enabled()).
        return Result(PASS, observed + '; sched_rt_runtime_us = -1 turns '
                      'the budget check off')
    return Result(FAIL, observed + ': libvirt\'s new vCPU cgroups get '
                  'cpu.rt_runtime_us = 0 and SCHED_FIFO fails with EPERM')


def check_kvmclock(ctx):
    params = ctx.profile.kvm_params
    if not known(params):
        return Result(UNKNOWN, str(params))
    value = params.get('kvm.kvmclock_periodic_sync')
    if value is None:
        return Result(UNKNOWN, 'kvm has no readable kvmclock_periodic_sync '
                      'parameter')
    if value in ('N', 'n', '0'):
        return Result(PASS, 'kvmclock_periodic_sync = %s' % value)
    return Result(WARN, 'kvmclock_periodic_sync = %s: every vCPU gets a '
                  'clock update each 300 s' % value)


def check_tsc(ctx):
    p = ctx.profile
    for value in (p.clocksource, p.cpu_flags):
        if not known(value):
            return Result(UNKNOWN, str(value))
    missing = {'constant_tsc', 'nonstop_tsc'} - p.cpu_flags
    if missing:
        return Result(FAIL, 'clocksource %s; CPU lacks %s' % (
            p.clocksource, ', '.join(sorted(missing))),
            remediation='a CPU with an invariant TSC (constant_tsc, '
            'nonstop_tsc); in the BIOS, disable options that stop the TSC '
            'in deep C-states')
    if p.clocksource != 'tsc':
        return Result(FAIL, 'clocksource %s with an invariant TSC '
                      '(the watchdog may have marked the TSC unstable)'
                      % p.clocksource)
    return Result(PASS, 'clocksource tsc, constant_tsc and nonstop_tsc')


def check_governor(ctx):
    govs = ctx.profile.governors
    if not known(govs):
        return Result(UNKNOWN, str(govs))
    judged = [c for c in sorted(ctx.judged) if c in govs]
    if not judged:
        return Result(UNKNOWN, 'no scaling_governor for the judged CPUs')
    slow = [c for c in judged if govs[c] != 'performance']
    if slow:
        names = sorted({govs[c] for c in slow})
        return Result(WARN, 'CPUs %s use %s%s' % (
            fmt(slow), '/'.join(names), ctx.judged_note),
            remediation='cpupower -c %s frequency-set -g performance (tuned: '
            'governor=performance); BIOS power profile: maximum performance'
            % fmt(slow))
    return Result(PASS, 'performance on %s%s' % (fmt(judged),
                                                  ctx.judged_note))


def check_cstates(ctx):
    p = ctx.profile
    if known(p.cmdline) and p.cmdline.value('idle') == 'poll':
        return Result(PASS, 'idle=poll: the CPUs never enter C-states')
    idle = p.cpuidle
    if not known(idle):
        return Result(UNKNOWN, str(idle))
    if idle.driver == 'none' or not idle.states:
        return Result(PASS, 'no cpuidle driver: idle is HLT (C1) only')
    qos = idle.qos_latency_us if known(idle.qos_latency_us) else None
    deep = [s for s in idle.states
            if s.latency_us > MAX_IDLE_EXIT_LATENCY_US
            and (qos is None or s.latency_us <= qos)]
    judged = [c for c in sorted(ctx.judged) if c in idle.disabled]
    if not judged:
        return Result(UNKNOWN, 'cpuidle state of the judged CPUs unreadable')
    bad = {}
    for cpu in judged:
        for state in deep:
            if state.index not in idle.disabled[cpu]:
                bad.setdefault(state.name, set()).add(cpu)
    if bad:
        return Result(WARN, 'enabled with exit latency > %d us: %s%s' % (
            MAX_IDLE_EXIT_LATENCY_US, '; '.join(
                '%s (%d us) on %s' % (name, next(
                    s.latency_us for s in deep if s.name == name),
                    fmt(cpus)) for name, cpus in sorted(bad.items())),
            ctx.judged_note),
            remediation='cpupower -c %s idle-set -D %d (or tuned '
            'force_latency), or processor.max_cstate=1 '
            'intel_idle.max_cstate=0; BIOS: limit C-states to C1'
            % (fmt(set().union(*bad.values())), MAX_IDLE_EXIT_LATENCY_US))
    why = 'driver %s' % idle.driver
    if qos is not None and any(s.latency_us > qos for s in idle.states):
        why += ', PM QoS limit %d us' % qos
    return Result(PASS, 'no state slower than %d us enabled on %s (%s)%s'
                  % (MAX_IDLE_EXIT_LATENCY_US, fmt(judged), why,
                     ctx.judged_note))


def check_thp(ctx):
    thp = ctx.profile.thp
    if not known(thp):
        return Result(UNKNOWN, str(thp))
    if thp == 'always':
        return Result(WARN, 'transparent_hugepage = always: khugepaged '
                      'compaction and THP faults on the host')
    return Result(PASS, 'transparent_hugepage = %s' % thp)


def check_swap(ctx):
    swaps = ctx.profile.swaps
    if not known(swaps):
        return Result(UNKNOWN, str(swaps))
    if swaps:
        return Result(WARN, 'swap on: %s' % _few(swaps))
    return Result(PASS, 'no swap')


def check_ksm(ctx):
    run = ctx.profile.ksm_run
    if not known(run):
        return Result(UNKNOWN, str(run))
    if run == 1:
        return Result(WARN, 'ksmd is merging pages (ksm/run = 1)')
    return Result(PASS, 'ksm/run = %d' % run)


def check_hugepages(ctx):
    p = ctx.profile
    if not known(p.hugepages):
        return Result(UNKNOWN, str(p.hugepages))
    nodes = sorted({p.node_of(c) for c in ctx.judged} - {None})
    if not nodes:
        # Found by the damaged-tree test: nothing to judge must not pass
        # silently with an empty observation.
        return Result(UNKNOWN, 'no dedicated CPU on a known NUMA node')
    without = [n for n in nodes
               if not any(p.hugepages.get(n, {}).values())]
    counts = '; '.join('node %d: %s' % (n, ', '.join(
        '%d x %d kB' % (count, size) for size, count in sorted(
            p.hugepages.get(n, {}).items()) if count) or 'none')
        for n in nodes)
    if without:
        return Result(WARN, 'no huge pages on node(s) %s (%s)' % (
            ', '.join(map(str, without)), counts))
    return Result(PASS, counts)


def check_smi(ctx):
    smi = ctx.profile.smi
    if not known(smi):
        return Result(UNKNOWN, str(smi))
    if smi.count:
        return Result(FAIL, '%d SMIs in %.2f s (MSR_SMI_COUNT, CPU %d)'
                      % (smi.count, smi.interval, smi.cpu))
    return Result(PASS, 'no SMI in %.2f s' % smi.interval)


def check_cat(ctx):
    p = ctx.profile
    cat = p.cat
    if known(cat):
        sizes = sorted(set(cat.l3_kib.values()))
        return Result(PASS, 'L3 CAT: %d ways, %d CLOSIDs, %d cache '
                      'domain(s) of %s KiB' % (
                          cat.ways, cat.num_closids, len(cat.l3_kib),
                          '/'.join(map(str, sizes))))
    if known(p.cpu_flags) and 'cat_l3' in p.cpu_flags:
        return Result(WARN, 'the CPU has L3 CAT (cat_l3) but resctrl is not '
                      'mounted: %s' % cat.reason)
    return Result(UNKNOWN, '%s; the CPU flags do not show cat_l3'
                  % cat.reason)


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    critical: bool
    func: typing.Callable
    expected: str
    remediation: str


CHECKS = (
    Check('kernel.preempt_rt', False, check_kernel,
          'a PREEMPT_RT kernel',
          'boot a PREEMPT_RT kernel (kernel-rt on RHEL and CentOS Stream, '
          'linux-image-rt-amd64 on Debian, linux-realtime on Ubuntu Pro; '
          'CONFIG_PREEMPT_RT=y in mainline since 6.12)'),
    Check('nova.cpu_dedicated_set', True, check_dedicated_set,
          '[compute] cpu_dedicated_set set, online, apart from '
          'cpu_shared_set',
          'set [compute] cpu_dedicated_set and cpu_shared_set in nova.conf '
          '(nova-rt host plan)'),
    Check('cpu.isolated', True, check_isolated,
          'every dedicated CPU in the isolcpus domain set, '
          'some CPU left for housekeeping', ''),
    Check('cpu.nohz_full', True, check_nohz_full,
          'every dedicated CPU in nohz_full', ''),
    Check('cpu.rcu_nocbs', True, check_rcu_nocbs,
          'every dedicated CPU in rcu_nocbs (nohz_full CPUs count)', ''),
    Check('smt.siblings', True, check_smt,
          'SMT siblings of dedicated CPUs dedicated or isolated, never in '
          'cpu_shared_set', ''),
    Check('irq.affinity', False, check_irq_affinity,
          'no device IRQ allowed on a dedicated CPU', ''),
    Check('workqueue.cpumask', False, check_workqueue,
          'unbound workqueues on housekeeping CPUs only', ''),
    Check('kthread.priority', True, check_kthreads,
          'ksoftirqd, ktimers and rcuc of dedicated CPUs SCHED_FIFO above '
          'the vCPU priority', ''),
    Check('sched.rt_runtime', True, check_rt_runtime,
          'kernel.sched_rt_runtime_us = -1',
          'sysctl -w kernel.sched_rt_runtime_us=-1, persisted in '
          '/etc/sysctl.d/ (tuned realtime-virtual-host sets it)'),
    Check('cgroup.rt_runtime', True, check_cgroup_rt,
          'SCHED_FIFO allowed in libvirt\'s vCPU cgroups',
          'in /etc/libvirt/qemu.conf set cgroup_controllers = [ "devices", '
          '"memory", "blkio", "cpuset", "cpuacct" ] (no "cpu") and restart '
          'libvirtd, or kernel.sched_rt_runtime_us=-1, or a kernel without '
          'CONFIG_RT_GROUP_SCHED'),
    Check('kvm.kvmclock_periodic_sync', False, check_kvmclock,
          'kvm kvmclock_periodic_sync = N',
          'options kvm kvmclock_periodic_sync=0 in '
          '/etc/modprobe.d/nova-rt.conf, then reload kvm or reboot'),
    Check('clock.tsc', True, check_tsc,
          'clocksource tsc with constant_tsc and nonstop_tsc',
          'echo tsc > /sys/devices/system/clocksource/clocksource0/'
          'current_clocksource, and clocksource=tsc tsc=reliable on the '
          'kernel command line'),
    Check('cpufreq.governor', False, check_governor,
          'governor performance on the dedicated CPUs', ''),
    Check('cpuidle.cstates', False, check_cstates,
          'no C-state with exit latency above %d us enabled on the '
          'dedicated CPUs' % MAX_IDLE_EXIT_LATENCY_US, ''),
    Check('mm.thp', False, check_thp,
          'transparent_hugepage madvise or never',
          'transparent_hugepage=never on the kernel command line (now: echo '
          'never > /sys/kernel/mm/transparent_hugepage/enabled)'),
    Check('mm.swap', False, check_swap, 'no swap',
          'swapoff -a and remove swap from /etc/fstab'),
    Check('mm.ksm', False, check_ksm, 'KSM off',
          'echo 0 > /sys/kernel/mm/ksm/run; systemctl disable --now ksm '
          'ksmtuned'),
    Check('mm.hugepages', False, check_hugepages,
          'huge pages reserved on every NUMA node with dedicated CPUs',
          'default_hugepagesz=1G hugepagesz=1G hugepages=<N> on the kernel '
          'command line (or per node: echo <N> > /sys/devices/system/node/'
          'node<X>/hugepages/hugepages-1048576kB/nr_hugepages); flavors set '
          'hw:mem_page_size'),
    Check('smi.count', False, check_smi, 'no SMI while sampling',
          'BIOS: disable what runs in SMM (legacy USB emulation, firmware '
          'power and thermal management: choose OS control, memory patrol '
          'scrub, error logging by firmware); load the msr module to sample'),
    Check('cat.resctrl', False, check_cat,
          'resctrl mounted with L3 CAT (for rt:l3_cache_kib)',
          'mount -t resctrl resctrl /sys/fs/resctrl (CONFIG_X86_CPU_RESCTRL; '
          'rdt=l3cat on the kernel command line if it is off)'),
)

CHECK_NAMES = tuple(c.name for c in CHECKS)


def _run(check, ctx):
    result = check.func(ctx)
    if result.status == PASS:
        remedy = ''
    else:
        remedy = result.remediation or check.remediation
    return Finding(check=check.name, status=result.status,
                   observed=result.observed,
                   expected=result.expected or check.expected,
                   remediation=remedy, critical=check.critical)


def audit(profile, dedicated_cpus=None, shared_cpus=None, vcpu_priority=1):
    """Judge ``profile`` against nova.conf's CPU sets.

    :param dedicated_cpus: ``[compute] cpu_dedicated_set`` as a frozenset,
        or None when not configured: the isolated CPUs stand for it and
        ``nova.cpu_dedicated_set`` warns
    :param shared_cpus: ``[compute] cpu_shared_set``, or None
    :param vcpu_priority: the SCHED_FIFO priority vCPUs will get; the
        essential kernel threads must be above it
    :returns: a ``Report``
    """
    configured = dedicated_cpus is not None
    isolated = profile.isolated_cpus if known(profile.isolated_cpus) \
        else frozenset()
    dedicated = frozenset(dedicated_cpus if configured else isolated)
    ctx = Context(profile=profile, dedicated=dedicated,
                  shared=frozenset(shared_cpus or ()),
                  configured=configured, vcpu_priority=vcpu_priority)
    findings = tuple(_run(check, ctx) for check in CHECKS)
    sets = (profile.isolated_cpus, profile.nohz_full_cpus,
            profile.rcu_nocbs_cpus)
    isolated_everywhere = bool(dedicated) and all(
        known(s) and dedicated <= s for s in sets)
    ready = isolated_everywhere and not any(
        f.critical and f.status == FAIL for f in findings)
    return Report(ready=ready, kernel=profile.kernel,
                  isolated_cpus=isolated, findings=findings)
