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
"""CPU isolation checks: the dedicated CPUs, isolcpus, nohz_full,
rcu_nocbs, SMT siblings, interrupts and unbound workqueues.
"""

import dataclasses

from nova_rt.core import cpuset
from nova_rt.host import checks
from nova_rt.host import model
from nova_rt.host import reader as host_reader


@checks.check(
    'nova.cpu_dedicated_set', critical=True, order=20,
    expected=(
        '[compute] cpu_dedicated_set set, online, apart from '
        'cpu_shared_set'),
    remediation=(
        'set [compute] cpu_dedicated_set and cpu_shared_set in nova.conf '
        '(nova-rt host plan)'))
def check_dedicated_set(ctx):
    p = ctx.profile
    if not ctx.configured:
        suggested = ctx.suggested_isolated()
        return checks.Result(
            checks.WARN, '[compute] cpu_dedicated_set not set: the '
            'isolated CPUs (%s) are judged as if dedicated' % (
                cpuset.format(ctx.dedicated) or 'none'),
            remediation='[compute] cpu_dedicated_set = %s, cpu_shared_set = '
            '%s in nova.conf (nova-rt host plan)'
            % (cpuset.format(suggested) or '<isolated CPUs>',
               cpuset.format(p.online_cpus - suggested)
               or '<housekeeping CPUs>'))
    if not ctx.dedicated:
        return checks.Result(
            checks.FAIL, '[compute] cpu_dedicated_set is empty')
    overlap = ctx.dedicated & ctx.shared
    if overlap:
        return checks.Result(
            checks.FAIL, 'CPUs %s are in both cpu_dedicated_set and '
            'cpu_shared_set' % cpuset.format(overlap),
            remediation='remove %s from cpu_shared_set'
            % cpuset.format(overlap))
    offline = ctx.dedicated - p.online_cpus if p.online_cpus else set()
    if offline:
        return checks.Result(
            checks.FAIL, 'CPUs %s of cpu_dedicated_set are not online'
            % cpuset.format(offline),
            remediation='remove %s from cpu_dedicated_set or bring '
            'them online' % cpuset.format(offline))
    return checks.Result(
        checks.PASS, 'cpu_dedicated_set = %s, cpu_shared_set = %s'
        % (cpuset.format(ctx.dedicated), cpuset.format(ctx.shared) or 'unset'))


def _coverage(ctx, cpus, arg):
    """Every dedicated CPU in ``cpus`` (a profile set)?"""
    if not model.known(cpus):
        return checks.Result(checks.UNKNOWN, str(cpus))
    target = ctx.dedicated
    want = ctx.suggested_isolated()
    remedy = '%s=%s on the kernel command line' % (arg, cpuset.format(
        want | cpus)
        if want else '<CPUs>')
    if not target:
        return checks.Result(
            checks.FAIL, 'no dedicated or isolated CPUs (%s: %s)'
            % (arg, cpuset.format(cpus) or 'none'), remediation=remedy)
    missing = target - cpus
    if missing:
        return checks.Result(
            checks.FAIL, 'dedicated CPUs %s are not in %s (%s)'
            % (cpuset.format(missing), arg, cpuset.format(cpus) or 'empty'),
            remediation=remedy)
    return checks.Result(checks.PASS, 'every dedicated CPU is in %s (%s)'
                         % (arg, cpuset.format(cpus)))


@checks.check(
    'cpu.isolated', critical=True, order=30,
    expected=(
        'every dedicated CPU in the isolcpus domain set, '
        'some CPU left for housekeeping'))
def check_isolated(ctx):
    p = ctx.profile
    result = _coverage(ctx, p.isolated_cpus, 'isolcpus')
    if result.status == checks.UNKNOWN:
        return result
    want = ctx.suggested_isolated()
    remedy = 'isolcpus=managed_irq,domain,%s on the kernel command line' % (
        cpuset.format(want | p.isolated_cpus) if want else '<CPUs>')
    observed = result.observed + ' [from %s]' % p.isolated_evidence
    if p.isolcpus_flags and 'domain' not in p.isolcpus_flags:
        # isolcpus=managed_irq,2-7 isolates nothing from the scheduler:
        # with flags, only the flags given apply.
        observed += '; isolcpus= has flags (%s) without "domain"' % ','.join(
            sorted(p.isolcpus_flags))
    if result.status == checks.PASS and p.online_cpus and \
            p.online_cpus <= p.isolated_cpus:
        return checks.Result(
            checks.FAIL, 'every online CPU is isolated: no housekeeping '
            'CPU is left', remediation='leave one core per NUMA '
            'node out of isolcpus= (nova-rt host plan)')
    return checks.Result(result.status, observed, remediation=remedy)


@checks.check(
    'cpu.nohz_full', critical=True, order=40,
    expected='every dedicated CPU in nohz_full')
def check_nohz_full(ctx):
    result = _coverage(ctx, ctx.profile.nohz_full_cpus, 'nohz_full')
    if result.status == checks.FAIL:
        return dataclasses.replace(result, remediation=result.remediation
                                   + ' (with nohz=on)')
    return result


@checks.check(
    'cpu.rcu_nocbs', critical=True, order=50,
    expected='every dedicated CPU in rcu_nocbs (nohz_full CPUs count)')
def check_rcu_nocbs(ctx):
    return _coverage(ctx, ctx.profile.rcu_nocbs_cpus, 'rcu_nocbs')


def _sibling_conflicts(ctx):
    """(dedicated CPU -> its sibling in cpu_shared_set, dedicated CPU ->
    its sibling that is neither dedicated nor isolated).
    """
    p = ctx.profile
    isolated = p.isolated_cpus if model.known(p.isolated_cpus) else frozenset()
    in_shared, busy = {}, {}
    for cpu in sorted(ctx.dedicated):
        for sib in p.siblings_of(cpu) - {cpu}:
            if sib in ctx.shared:
                in_shared[cpu] = sib
            elif sib not in ctx.dedicated and sib not in isolated:
                busy[cpu] = sib
    return in_shared, busy


@checks.check(
    'smt.siblings', critical=True, order=60,
    expected=(
        'SMT siblings of dedicated CPUs dedicated or isolated, never in '
        'cpu_shared_set'))
def check_smt(ctx):
    p = ctx.profile
    unjudged = checks.unjudged(p.smt_siblings, ctx.dedicated)
    if unjudged:
        return unjudged
    if all(len(g) == 1 for g in p.smt_siblings):
        return checks.Result(checks.PASS, 'no SMT siblings online')
    in_shared, busy = _sibling_conflicts(ctx)
    if in_shared:
        return checks.Result(checks.FAIL, 'siblings of dedicated CPUs are in '
                             'cpu_shared_set: %s' % checks.few(
                          '%d~%d' % kv for kv in in_shared.items()),
                      remediation='dedicate whole cores: move %s out of '
                      'cpu_shared_set (into cpu_dedicated_set), or boot with '
                      'nosmt' % cpuset.format(in_shared.values()))
    if busy:
        return checks.Result(
            checks.WARN, 'siblings of dedicated CPUs run host work: %s'
            % checks.few('%d~%d' % kv for kv in busy.items()),
            remediation='isolate %s too, or add them to '
            'cpu_dedicated_set' % cpuset.format(busy.values()))
    return checks.Result(
        checks.PASS, 'every dedicated CPU\'s SMT siblings are dedicated '
        'or isolated')


@checks.check(
    'irq.affinity', critical=False, order=70,
    expected='no device IRQ allowed on a dedicated CPU')
def check_irq_affinity(ctx):
    p = ctx.profile
    unjudged = checks.unjudged(p.irq_affinity, ctx.dedicated)
    if unjudged:
        return unjudged
    # IRQ 0 is the legacy PIT timer: the kernel refuses to move it and it
    # stops firing once the local APIC timers run.
    offenders = [(irq, cpus) for irq, cpus in sorted(p.irq_affinity.items())
                 if irq != 0 and cpus & ctx.dedicated]
    if offenders:
        hk = cpuset.format(ctx.housekeeping) or '<housekeeping CPUs>'
        return checks.Result(
            checks.FAIL, '%d IRQs may fire on dedicated CPUs: %s' % (
                len(offenders),
                checks.few('%d (%s)' % (irq, cpuset.format(
                    cpus)) for irq, cpus in offenders)),
            remediation='irqaffinity=%s on the kernel command line, and '
            'IRQBALANCE_BANNED_CPULIST=%s for irqbalance (tuned\'s '
            'realtime-virtual-host profile does both)'
            % (hk, cpuset.format(ctx.dedicated)))
    return checks.Result(checks.PASS, '%d IRQs, none on dedicated CPUs'
                         % len(p.irq_affinity))


@checks.check(
    'workqueue.cpumask', critical=False, order=80,
    expected='unbound workqueues on housekeeping CPUs only')
def check_workqueue(ctx):
    p = ctx.profile
    unjudged = checks.unjudged(p.workqueue_cpus, ctx.dedicated)
    if unjudged:
        return unjudged
    overlap = p.workqueue_cpus & ctx.dedicated
    if overlap:
        return checks.Result(
            checks.WARN, 'unbound workqueues may run on dedicated CPUs %s'
            % cpuset.format(overlap),
            remediation='echo %s > /sys/devices/virtual/workqueue/cpumask '
            '(tuned does it from isolated_cores)'
            % host_reader.format_mask(ctx.housekeeping))
    return checks.Result(checks.PASS, 'unbound workqueues on %s' %
                         cpuset.format(p.workqueue_cpus))
