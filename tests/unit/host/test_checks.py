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
"""Each check reaches each of its statuses on purpose, and readiness
follows the documented rule.
"""

import dataclasses
import os

import testscenarios

from nova_rt.core import migration as rt_migration
from nova_rt.host import checks
from nova_rt.host import model as host_model
from nova_rt.host import profile as host_profile
from tests.unit.host import base

load_tests = testscenarios.load_tests_apply_scenarios

U = host_model.Unknown('unreadable on purpose')


def rep(**changes):
    return lambda p: dataclasses.replace(p, **changes)


def cgroup(**changes):
    return lambda p: dataclasses.replace(
        p, cgroup=dataclasses.replace(p.cgroup, **changes))


def cmdline(raw):
    return rep(cmdline=host_model.Cmdline.parse(raw))


def no_smt(p):
    return dataclasses.replace(p, smt_siblings=tuple(
        frozenset((c,)) for c in sorted(p.online_cpus)))


def all_isolated(p):
    return dataclasses.replace(p, isolated_cpus=p.online_cpus,
                               nohz_full_cpus=p.online_cpus,
                               rcu_nocbs_cpus=p.online_cpus)


def idle(**changes):
    return lambda p: dataclasses.replace(
        p, cpuidle=dataclasses.replace(p.cpuidle, **changes))


# (check, status, tree, profile change or None, audit kwargs)
CASES = [
    ('kernel.preempt_rt', 'pass', 'tuned-dual-socket', None, {}),
    ('kernel.preempt_rt', 'warn', 'half-tuned', None, {}),
    ('kernel.preempt_rt', 'fail', 'stock', None, {}),
    ('kernel.preempt_rt', 'unknown', 'tuned-dual-socket',
     rep(kernel_evidence=U), {}),
    ('nova.cpu_dedicated_set', 'pass', 'tuned-dual-socket', None, {}),
    ('nova.cpu_dedicated_set', 'warn', 'stock', None, {}),
    ('nova.cpu_dedicated_set', 'fail', 'tuned-dual-socket', None,
     {'dedicated_cpus': frozenset({1, 2}), 'shared_cpus': frozenset({2})}),
    ('nova.cpu_dedicated_set', 'fail', 'tuned-dual-socket', None,
     {'dedicated_cpus': frozenset({1, 99})}),
    ('nova.cpu_dedicated_set', 'fail', 'tuned-dual-socket', None,
     {'dedicated_cpus': frozenset()}),
    ('cpu.isolated', 'pass', 'tuned-dual-socket', None, {}),
    ('cpu.isolated', 'fail', 'stock', None, {}),
    ('cpu.isolated', 'fail', 'half-tuned', None,
     {'dedicated_cpus': frozenset({1, 2})}),
    ('cpu.isolated', 'fail', 'tuned-dual-socket', all_isolated,
     {'dedicated_cpus': None}),
    ('cpu.isolated', 'unknown', 'tuned-dual-socket', rep(isolated_cpus=U),
     {}),
    ('cpu.nohz_full', 'pass', 'tuned-dual-socket', None, {}),
    ('cpu.nohz_full', 'fail', 'half-tuned', None, {}),
    ('cpu.nohz_full', 'unknown', 'tuned-dual-socket', rep(nohz_full_cpus=U),
     {}),
    ('cpu.rcu_nocbs', 'pass', 'tuned-dual-socket', None, {}),
    ('cpu.rcu_nocbs', 'fail', 'stock', None, {}),
    ('cpu.rcu_nocbs', 'unknown', 'tuned-dual-socket', rep(rcu_nocbs_cpus=U),
     {}),
    ('smt.siblings', 'pass', 'tuned-dual-socket', None, {}),
    ('smt.siblings', 'pass', 'half-tuned', no_smt, {}),
    ('smt.siblings', 'fail', 'half-tuned', None, {}),
    ('smt.siblings', 'warn', 'stock', None,
     {'dedicated_cpus': frozenset({2}), 'shared_cpus': frozenset({0})}),
    ('smt.siblings', 'unknown', 'tuned-dual-socket', rep(smt_siblings=U),
     {}),
    ('smt.siblings', 'unknown', 'stock', None, {}),
    ('irq.affinity', 'pass', 'tuned-dual-socket', None, {}),
    ('irq.affinity', 'fail', 'half-tuned', None, {}),
    ('irq.affinity', 'unknown', 'tuned-dual-socket', rep(irq_affinity=U),
     {}),
    ('workqueue.cpumask', 'pass', 'tuned-dual-socket', None, {}),
    ('workqueue.cpumask', 'warn', 'half-tuned', None, {}),
    ('workqueue.cpumask', 'unknown', 'tuned-dual-socket',
     rep(workqueue_cpus=U), {}),
    ('kthread.priority', 'pass', 'tuned-dual-socket', None, {}),
    ('kthread.priority', 'fail', 'half-tuned', None, {}),
    # ksoftirqd at FIFO 2 is not above a vCPU at FIFO 2.
    ('kthread.priority', 'fail', 'tuned-dual-socket', None,
     {'vcpu_priority': 2}),
    ('kthread.priority', 'unknown', 'tuned-dual-socket', rep(kthreads=U),
     {}),
    ('kthread.priority', 'unknown', 'tuned-dual-socket', rep(kthreads=()),
     {}),
    ('sched.rt_runtime', 'pass', 'tuned-dual-socket', None, {}),
    ('sched.rt_runtime', 'fail', 'half-tuned', None, {}),
    ('sched.rt_runtime', 'unknown', 'tuned-dual-socket',
     rep(sched_rt_runtime_us=U), {}),
    ('cgroup.rt_runtime', 'pass', 'tuned-dual-socket', None, {}),
    ('cgroup.rt_runtime', 'pass', 'big-256', None, {}),
    ('cgroup.rt_runtime', 'pass', 'half-tuned',
     cgroup(libvirt_controllers=('devices', 'memory', 'cpuset')), {}),
    ('cgroup.rt_runtime', 'fail', 'half-tuned', None, {}),
    # Unreadable cgroups do not matter while sched_rt_runtime_us = -1 ...
    ('cgroup.rt_runtime', 'pass', 'tuned-dual-socket', rep(cgroup=U), {}),
    # ... and do while RT bandwidth is enforced.
    ('cgroup.rt_runtime', 'unknown', 'half-tuned', rep(cgroup=U), {}),
    ('cgroup.rt_runtime', 'unknown', 'tuned-dual-socket',
     rep(cgroup=U, sched_rt_runtime_us=U), {}),
    ('cgroup.rt_runtime', 'unknown', 'half-tuned', cgroup(rt_group_sched=U),
     {}),
    ('kvm.kvmclock_periodic_sync', 'pass', 'tuned-dual-socket', None, {}),
    ('kvm.kvmclock_periodic_sync', 'warn', 'stock', None, {}),
    ('kvm.kvmclock_periodic_sync', 'unknown', 'tuned-dual-socket',
     rep(kvm_params=U), {}),
    ('kvm.kvmclock_periodic_sync', 'unknown', 'tuned-dual-socket',
     rep(kvm_params={}), {}),
    ('clock.tsc', 'pass', 'tuned-dual-socket', None, {}),
    ('clock.tsc', 'fail', 'half-tuned', None, {}),
    ('clock.tsc', 'fail', 'tuned-dual-socket', rep(clocksource='hpet'), {}),
    ('clock.tsc', 'unknown', 'tuned-dual-socket', rep(clocksource=U), {}),
    ('cpufreq.governor', 'pass', 'tuned-dual-socket', None, {}),
    ('cpufreq.governor', 'warn', 'stock', None, {}),
    ('cpufreq.governor', 'unknown', 'tuned-dual-socket', rep(governors=U),
     {}),
    ('cpuidle.cstates', 'pass', 'tuned-dual-socket', None, {}),
    ('cpuidle.cstates', 'pass', 'big-256', None, {}),
    ('cpuidle.cstates', 'pass', 'stock', cmdline('ro idle=poll'), {}),
    ('cpuidle.cstates', 'warn', 'stock', None, {}),
    # Without tuned's PM QoS request, C6 is back on the tuned host.
    ('cpuidle.cstates', 'warn', 'tuned-dual-socket',
     idle(qos_latency_us=2000000000), {}),
    ('cpuidle.cstates', 'unknown', 'tuned-dual-socket', rep(cpuidle=U), {}),
    ('mm.thp', 'pass', 'tuned-dual-socket', None, {}),
    ('mm.thp', 'warn', 'half-tuned', None, {}),
    ('mm.thp', 'unknown', 'tuned-dual-socket', rep(thp=U), {}),
    ('mm.swap', 'pass', 'tuned-dual-socket', None, {}),
    ('mm.swap', 'warn', 'stock', None, {}),
    ('mm.swap', 'unknown', 'tuned-dual-socket', rep(swaps=U), {}),
    ('mm.ksm', 'pass', 'tuned-dual-socket', None, {}),
    ('mm.ksm', 'warn', 'half-tuned', None, {}),
    ('mm.ksm', 'unknown', 'tuned-dual-socket', rep(ksm_run=U), {}),
    ('mm.hugepages', 'pass', 'tuned-dual-socket', None, {}),
    ('mm.hugepages', 'warn', 'stock', None, {}),
    ('mm.hugepages', 'unknown', 'tuned-dual-socket', rep(hugepages=U), {}),
    ('smi.count', 'pass', 'tuned-dual-socket', None, {}),
    ('smi.count', 'fail', 'tuned-dual-socket',
     rep(smi=host_model.SmiSample(cpu=0, count=3, interval=0.25)), {}),
    ('smi.count', 'unknown', 'stock', None, {}),
    ('cat.resctrl', 'pass', 'tuned-dual-socket', None, {}),
    ('cat.resctrl', 'warn', 'half-tuned', None, {}),
    ('cat.resctrl', 'unknown', 'stock', None, {}),
    ('nova.live_migration', 'pass', 'tuned-dual-socket', None,
     {'migration': rt_migration.MigrationSettings()}),
    ('nova.live_migration', 'warn', 'tuned-dual-socket', None,
     {'migration': rt_migration.MigrationSettings(permit_post_copy=True)}),
    ('nova.live_migration', 'warn', 'tuned-dual-socket', None,
     {'migration': rt_migration.MigrationSettings(
         timeout_action='force_complete')}),
    ('nova.live_migration', 'unknown', 'tuned-dual-socket', None, {}),
]

# The statuses each check can give; every one must be reached above.
REACHABLE = {name: {'pass', 'fail', 'unknown'} for name in (
    'cpu.isolated', 'cpu.nohz_full', 'cpu.rcu_nocbs', 'irq.affinity',
    'kthread.priority', 'sched.rt_runtime', 'cgroup.rt_runtime', 'clock.tsc',
    'smi.count')}
REACHABLE.update({name: {'pass', 'warn', 'unknown'} for name in (
    'workqueue.cpumask', 'kvm.kvmclock_periodic_sync', 'cpufreq.governor',
    'cpuidle.cstates', 'mm.thp', 'mm.swap', 'mm.ksm', 'mm.hugepages',
    'cat.resctrl')})
REACHABLE['kernel.preempt_rt'] = {'pass', 'warn', 'fail', 'unknown'}
REACHABLE['nova.cpu_dedicated_set'] = {'pass', 'warn', 'fail'}
REACHABLE['smt.siblings'] = {'pass', 'warn', 'fail', 'unknown'}
REACHABLE['nova.live_migration'] = {'pass', 'warn', 'unknown'}


class TestEachStatus(base.TestCase):

    scenarios = [
        ('%s-%s-%d' % (case[0], case[1], i), {'case': case})
        for i, case in enumerate(CASES)]

    def test_status(self):
        check, status, tree, change, kwargs = self.case
        p = base.profile(tree)
        if change is not None:
            p = change(p)
        finding = self.assertStatus(base.audit(tree, p, **kwargs), check,
                                    status)
        self.assertTrue(finding.observed)
        if status == checks.PASS:
            self.assertEqual('', finding.remediation)
        elif status in (checks.FAIL, checks.WARN):
            self.assertTrue(finding.remediation)


class TestCoverage(base.TestCase):

    def test_every_product_check_exists(self):
        product = ('kernel.preempt_rt cpu.isolated cpu.nohz_full '
                   'cpu.rcu_nocbs irq.affinity kvm.kvmclock_periodic_sync '
                   'sched.rt_runtime cgroup.rt_runtime kthread.priority '
                   'clock.tsc cpufreq.governor cpuidle.cstates mm.thp mm.swap '
                   'mm.hugepages smt.siblings smi.count cat.resctrl').split()
        self.assertEqual(set(), set(product) - set(checks.check_names()))
        self.assertEqual(len(checks.check_names()),
                         len(set(checks.check_names())))

    def test_the_docs_list_every_check(self):
        path = os.path.join(os.path.dirname(__file__), '..', '..', '..',
                            'doc', 'source', 'host-checks.rst')
        with open(path) as f:
            doc = f.read()
        for check in checks.load():
            self.assertIn('   * - ``%s``' % check.name, doc)
            self.assertIn('yes' if check.critical else 'no',
                          doc.split('* - ``%s``' % check.name, 1)[1].split(
                              '* - ``', 1)[0].split('\n     - ')[3])

    def test_every_status_of_every_check_is_reached(self):
        reached = {}
        for check, status, _, _, _ in CASES:
            reached.setdefault(check, set()).add(status)
        self.assertEqual(REACHABLE, reached)
        self.assertEqual(set(checks.check_names()), set(REACHABLE))


class TestReadiness(base.TestCase):

    def test_tuned_host_is_ready(self):
        report = base.audit('tuned-dual-socket')
        self.assertTrue(report.ready)
        self.assertEqual((), report.blocking)

    def test_a_critical_failure_blocks(self):
        p = base.profile('tuned-dual-socket')
        p = dataclasses.replace(p, sched_rt_runtime_us=950000)
        report = base.audit('tuned-dual-socket', p)
        self.assertFalse(report.ready)
        self.assertEqual(['sched.rt_runtime'],
                         [f.check for f in report.blocking])

    def test_a_non_critical_failure_does_not_block(self):
        p = dataclasses.replace(base.profile('tuned-dual-socket'),
                                smi=host_model.SmiSample(0, 9, 0.25))
        report = base.audit('tuned-dual-socket', p)
        self.assertStatus(report, 'smi.count', checks.FAIL)
        self.assertTrue(report.ready)

    def test_unknown_isolation_is_not_ready(self):
        p = dataclasses.replace(base.profile('tuned-dual-socket'),
                                rcu_nocbs_cpus=host_model.Unknown('x'))
        self.assertFalse(base.audit('tuned-dual-socket', p).ready)

    def test_a_critical_check_that_cannot_judge_blocks(self):
        # Fail closed: unreadable RT budget evidence is not "ready".
        for field in ('sched_rt_runtime_us', 'clocksource', 'kthreads'):
            p = dataclasses.replace(base.profile('tuned-dual-socket'),
                                    **{field: host_model.Unknown('x')})
            report = base.audit('tuned-dual-socket', p)
            self.assertFalse(report.ready, field)
            self.assertTrue(all(f.status == checks.UNKNOWN
                                for f in report.blocking), field)

    def test_a_warning_check_may_stay_unknown(self):
        p = dataclasses.replace(base.profile('tuned-dual-socket'),
                                smi=host_model.Unknown('no msr module'),
                                governors=host_model.Unknown('no cpufreq'))
        self.assertTrue(base.audit('tuned-dual-socket', p).ready)

    def test_no_dedicated_set_uses_the_isolated_set(self):
        report = base.audit('tuned-dual-socket', dedicated_cpus=None,
                            shared_cpus=None)
        self.assertStatus(report, 'nova.cpu_dedicated_set', checks.WARN)
        self.assertTrue(report.ready)

    def test_a_dedicated_cpu_outside_isolation_is_not_ready(self):
        report = base.audit('tuned-dual-socket',
                            dedicated_cpus=frozenset({0, 1}),
                            shared_cpus=frozenset({8}))
        self.assertFalse(report.ready)
        self.assertIn('0', report.finding('cpu.isolated').observed)

    def test_to_dict_is_the_product_json(self):
        d = base.audit('half-tuned').to_dict()
        self.assertEqual({'ready': False, 'kernel': 'preempt',
                          'isolated_cpus': '2-7,10-15'},
                         {k: d[k] for k in ('ready', 'kernel',
                                            'isolated_cpus')})
        self.assertNotIn('critical', d['findings'][0])

    def test_remedies_name_the_exact_cpus(self):
        report = base.audit('half-tuned')
        self.assertEqual('nohz_full=2-7 on the kernel command line (with '
                         'nohz=on)',
                         report.finding('cpu.nohz_full').remediation)
        self.assertIn('irqaffinity=0-1,8-15',
                      report.finding('irq.affinity').remediation)
        self.assertIn('echo ff03 > /sys/devices/virtual/workqueue/cpumask',
                      report.finding('workqueue.cpumask').remediation)
        self.assertIn('move 10-15 out of cpu_shared_set',
                      report.finding('smt.siblings').remediation)

    def test_isolcpus_flags_without_domain_are_reported(self):
        p = base.profile('half-tuned')
        p = dataclasses.replace(
            p, isolcpus_flags=frozenset({'managed_irq'}),
            isolated_cpus=frozenset())
        finding = self.assertStatus(base.audit('half-tuned', p),
                                    'cpu.isolated', checks.FAIL)
        self.assertIn('without "domain"', finding.observed)


class TestUnjudged(base.TestCase):
    """The guard of the checks about the dedicated CPUs."""

    def test_missing_evidence_is_said_before_no_dedicated(self):
        result = checks.unjudged(U, frozenset())
        self.assertEqual(checks.UNKNOWN, result.status)
        self.assertEqual(str(U), result.observed)

    def test_no_dedicated(self):
        self.assertEqual(checks.no_dedicated(),
                         checks.unjudged(frozenset({1}), frozenset()))

    def test_judgeable(self):
        self.assertIsNone(checks.unjudged(frozenset(), frozenset({1})))


class TestNoCgroupMount(base.TestCase):
    """A host (or a compute container) with no cgroup mount visible: the
    cgroup RT budget cannot be read, which matters only while the kernel
    enforces RT bandwidth (issue 17).
    """

    def audit_without_cgroups(self, **changes):
        root, _ = base.variant('tuned-dual-socket', cgroup=None, **changes)
        p = host_profile.read_profile(root, smi_interval=0.01,
                                      sleep=base.no_sleep)
        self.assertFalse(host_model.known(p.cgroup))
        return base.audit('tuned-dual-socket', p)

    def test_unthrottled_host_passes_and_stays_ready(self):
        report = self.audit_without_cgroups()
        finding = self.assertStatus(report, 'cgroup.rt_runtime', checks.PASS)
        self.assertIn('no cgroup v1 cpu hierarchy and no cgroup v2 mount',
                      finding.observed)
        self.assertIn('sched_rt_runtime_us = -1', finding.observed)
        self.assertTrue(report.ready)

    def test_throttled_host_cannot_judge_and_is_not_ready(self):
        report = self.audit_without_cgroups(sysctl={
            'sched_rt_runtime_us': 950000, 'sched_rt_period_us': 1000000})
        self.assertStatus(report, 'cgroup.rt_runtime', checks.UNKNOWN)
        self.assertFalse(report.ready)
        self.assertEqual(['sched.rt_runtime', 'cgroup.rt_runtime'],
                         [f.check for f in report.blocking])

    def test_unreadable_runtime_cannot_judge(self):
        report = self.audit_without_cgroups(sysctl={
            'sched_rt_period_us': 1000000})
        self.assertStatus(report, 'cgroup.rt_runtime', checks.UNKNOWN)
        self.assertFalse(report.ready)
