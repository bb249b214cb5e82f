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
"""Host facts: to stats and traits, and back."""

import dataclasses
import os
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from nova_rt.core import exception
from nova_rt.host import facts
from nova_rt.host import model as host_model
from tests.unit.host import base


class TestFacts(base.TestCase):

    def test_kthread_prio(self):
        self.assertEqual(2, facts.kthread_prio(base.profile('big-256')))
        # half-tuned: ksoftirqd SCHED_OTHER on isolated CPUs
        self.assertEqual(0, facts.kthread_prio(base.profile('half-tuned')))
        # stock: nothing isolated, so nothing bound there
        self.assertIsNone(facts.kthread_prio(base.profile('stock')))
        p = dataclasses.replace(base.profile('big-256'),
                                kthreads=host_model.Unknown('x'))
        self.assertIsNone(facts.kthread_prio(p))

    def test_latency_certificate(self):
        # The certificate build.py writes was measured on the tree's own
        # kernel, command line and isolated CPUs; the rules themselves are
        # tested in tests/unit/latency/test_certificate.py.
        path = '/etc/nova/nova-rt-latency.json'

        def published(root):
            return facts.read_latency_certificate(root, path,
                                                  max_age_days=30,
                                                  min_duration_s=30)

        self.assertEqual(18, published(base.tree('tuned-dual-socket')))
        self.assertIsNone(published(base.tree('stock')))
        stale, _ = base.variant('tuned-dual-socket', latency_certificate={
            'max_latency_us': 18, 'age_days': 31})
        self.assertIsNone(published(stale))
        verdict = facts.latency_verdict(stale, path, 30, 30)
        self.assertIn('expired', verdict.reason)
        elsewhere, _ = base.variant('tuned-dual-socket', latency_certificate={
            'max_latency_us': 18, 'isolated_cpus': '1-7'})
        self.assertIsNone(published(elsewhere))
        root, _ = base.variant('tuned-dual-socket', latency_certificate={
            'max_latency_us': 18})
        for bad in ('{"max_latency_us": 25}', '[]', 'not json', ''):
            with open(os.path.join(root, path.lstrip('/')), 'w') as f:
                f.write(bad)
            self.assertIsNone(published(root), bad)

    def test_latency_verdict_logged_once_per_change(self):
        path = '/etc/nova/nova-rt-latency.json'
        root, _ = base.variant('tuned-dual-socket', latency_certificate={
            'max_latency_us': 18})
        with mock.patch.object(facts, 'LOG') as log:
            for _ in range(3):
                facts.read_latency_certificate(root, path, 30, 30)
            self.assertEqual(1, log.info.call_count)
            os.unlink(os.path.join(root, path.lstrip('/')))
            for _ in range(3):
                facts.read_latency_certificate(root, path, 30, 30)
            self.assertEqual(1, log.warning.call_count)
            self.assertIn('no latency certificate',
                          log.warning.call_args[0][1])

    def test_absent_values_are_absent_keys(self):
        f = facts.HostFacts(ready=False, kernel='none',
                            isolated_cpus=frozenset())
        self.assertEqual({'nova_rt_ready': 'false', 'nova_rt_kernel': 'none',
                          'nova_rt_isolated_cpus': ''}, facts.to_stats(f))
        self.assertEqual(frozenset(), facts.to_traits(f))
        self.assertTrue(set(facts.to_stats(f)) <= set(facts.STAT_KEYS))

    def test_no_nova_rt_stats(self):
        self.assertIsNone(facts.from_stats({}))
        self.assertIsNone(facts.from_stats(None))
        self.assertIsNone(facts.from_stats({'num_instances': '3'}))

    def test_malformed_values_are_typed_errors(self):
        good = {'nova_rt_ready': 'true', 'nova_rt_kernel': 'preempt_rt',
                'nova_rt_isolated_cpus': '2-7'}
        for key, value in (('nova_rt_ready', 'yes'),
                           ('nova_rt_kernel', 'rt'),
                           ('nova_rt_isolated_cpus', '2-x'),
                           ('nova_rt_kthread_prio', '100'),
                           ('nova_rt_kthread_prio', 'two'),
                           ('nova_rt_latency_max_us', '0'),
                           ('nova_rt_cat_l3_kib', '-1'),
                           ('nova_rt_cat_domains', '0-5'),
                           ('nova_rt_cat_domains', 'a=0-5'),
                           ('nova_rt_cat_domains', '0=0-5;1=6-x')):
            e = self.assertRaises(facts.InvalidHostFacts, facts.from_stats,
                                  dict(good, **{key: value}))
            self.assertEqual(key, e.key)
            self.assertIsInstance(e, exception.NovaRTError)
        stats = dict(good)
        del stats['nova_rt_kernel']
        self.assertRaises(facts.InvalidHostFacts, facts.from_stats, stats)

    @given(ready=st.booleans(),
           kernel=st.sampled_from(facts.KERNELS),
           cpus=st.frozensets(st.integers(0, 511)),
           prio=st.none() | st.integers(0, 99),
           latency=st.none() | st.integers(1, 10 ** 6),
           l3=st.none() | st.integers(1, 1 << 20),
           way=st.none() | st.integers(1, 1 << 16),
           domains=st.none() | st.dictionaries(
               st.integers(0, 63), st.frozensets(st.integers(0, 511),
                                                 min_size=1),
               min_size=1).map(lambda d: tuple(sorted(d.items()))))
    def test_round_trip(self, ready, kernel, cpus, prio, latency, l3, way,
                        domains):
        f = facts.HostFacts(ready, kernel, cpus, prio, latency, l3, way,
                            domains)
        stats = facts.to_stats(f)
        self.assertTrue(all(isinstance(v, str) for v in stats.values()))
        self.assertEqual(f, facts.from_stats(stats))
        traits = facts.to_traits(f)
        self.assertTrue(traits <= set(facts.TRAITS))
        self.assertEqual(ready, facts.TRAIT_READY in traits)
        self.assertEqual(kernel == 'preempt_rt',
                         facts.TRAIT_PREEMPT_RT in traits)
        self.assertEqual(bool(l3), facts.TRAIT_CAT in traits)
