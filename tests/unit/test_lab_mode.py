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
"""Lab mode: real-time flavors on a compute that is not real-time, with
honest facts, and only when both compute and scheduler opt in."""

from nova_rt.core import fitting
from nova_rt.host import checks
from nova_rt.host import facts as host_facts
from nova_rt.host import profile as host_profile
from nova_rt import scheduler
from tests.unit.host import base
from tests.unit import test_scheduler as ts


def audited(tree, dedicated):
    """Profile and audit of a recorded host tree."""
    profile = host_profile.read_profile(base.tree(tree))
    return profile, checks.audit(profile, dedicated_cpus=dedicated,
                                 shared_cpus=None, vcpu_priority=1)


def lab_host(name='lab'):
    return ts.host(name, ready=False, isolated_cpus=frozenset(), lab=True)


class LabFactsTest(ts.Base):

    def test_not_ready_host_in_lab_mode_publishes_lab_not_ready(self):
        # The stock tree: a distribution kernel, nothing isolated.
        profile, report = audited('stock', frozenset({2, 3}))
        self.assertFalse(report.ready)
        facts = host_facts.facts_from_report(profile, report, lab=True)
        self.assertTrue(facts.lab)
        stats = host_facts.to_stats(facts)
        self.assertEqual('false', stats[host_facts.STAT_READY])
        self.assertEqual('true', stats[host_facts.STAT_LAB])
        traits = host_facts.to_traits(facts)
        self.assertIn(host_facts.TRAIT_LAB, traits)
        self.assertNotIn(host_facts.TRAIT_READY, traits)
        self.assertEqual(facts, host_facts.from_stats(stats))

    def test_ready_host_never_becomes_a_lab_host(self):
        profile, report = audited('tuned-dual-socket', None)
        self.assertTrue(report.ready)
        facts = host_facts.facts_from_report(profile, report, lab=True)
        self.assertFalse(facts.lab)
        self.assertNotIn(host_facts.STAT_LAB, host_facts.to_stats(facts))
        self.assertNotIn(host_facts.TRAIT_LAB, host_facts.to_traits(facts))

    def test_without_lab_mode_nothing_changes(self):
        profile, report = audited('stock', frozenset({2, 3}))
        facts = host_facts.facts_from_report(profile, report)
        self.assertFalse(facts.lab)
        self.assertNotIn(host_facts.STAT_LAB, host_facts.to_stats(facts))

    def test_stats_claiming_lab_and_ready_are_refused(self):
        stats = {host_facts.STAT_READY: 'true', host_facts.STAT_KERNEL:
                 'none', host_facts.STAT_ISOLATED_CPUS: '1',
                 host_facts.STAT_LAB: 'true'}
        e = self.assertRaises(host_facts.InvalidHostFacts,
                              host_facts.from_stats, stats)
        self.assertEqual(host_facts.STAT_LAB, e.key)
        stats.update({host_facts.STAT_READY: 'false',
                      host_facts.STAT_LAB: 'yes'})
        self.assertRaises(host_facts.InvalidHostFacts,
                          host_facts.from_stats, stats)

    def test_lab_facts_only_for_lab_hosts(self):
        lab = host_facts.HostFacts(ready=False, kernel='none',
                                   isolated_cpus=frozenset(), lab=True)
        decided = fitting.lab_facts(lab, {0, 1})
        self.assertTrue(decided.ready)
        self.assertEqual(frozenset({0, 1}), decided.isolated_cpus)
        not_lab = host_facts.HostFacts(ready=False, kernel='none',
                                       isolated_cpus=frozenset())
        self.assertIs(not_lab, fitting.lab_facts(not_lab, {0, 1}))
        self.assertIsNone(fitting.lab_facts(None, {0, 1}))


class LabSchedulerTest(ts.Base):

    def test_production_scheduler_never_uses_a_lab_host(self):
        self.assertEqual(fitting.NOT_READY,
                         self.reason(lab_host(), ts.spec(2)))

    def test_lab_scheduler_uses_the_lab_hosts_dedicated_cpus(self):
        self.flags(lab_mode=True)
        state = lab_host()
        self.assertIsNone(self.reason(state, ts.spec(2)))
        # Capacity is the dedicated CPUs of one cell, no more.
        dedicated = max(len(c.pcpuset) for c in state.numa_topology.cells)
        self.assertEqual(fitting.ISOLATED_CPUS,
                         self.reason(state, ts.spec(dedicated + 1)))

    def test_lab_scheduler_still_refuses_not_ready_non_lab_hosts(self):
        self.flags(lab_mode=True)
        self.assertEqual(fitting.NOT_READY,
                         self.reason(ts.host(ready=False), ts.spec(2)))

    def test_lab_mode_switch_is_not_cached_across(self):
        state = lab_host()
        self.assertEqual(fitting.NOT_READY, self.reason(state, ts.spec(2)))
        self.flags(lab_mode=True)
        self.assertIsNone(self.reason(state, ts.spec(2)))

    def test_published_facts_of_a_lab_host_stay_not_ready(self):
        self.flags(lab_mode=True)
        state = lab_host()
        scheduler.host_view(state)
        self.assertEqual('false', state.stats[host_facts.STAT_READY])
        self.assertEqual('', state.stats[host_facts.STAT_ISOLATED_CPUS])
