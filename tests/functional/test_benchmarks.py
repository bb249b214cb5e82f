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
"""The benchmarks' machinery, at a small size and untimed: the benchmarks
stay runnable. The benchmarks that load Nova's test framework are
imported only here; the unit tier imports only their pure parts (stats,
table, optimum, cloud).
"""

import testtools

from benchmarks import fleet
from benchmarks import host_check
from benchmarks import scheduler as bench
from nova_rt import conf as rt_conf
from nova_rt import scheduler


class SchedulerBenchmarkTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        scheduler.clear_caches()

    def test_packing_runs(self):
        (n_base, base), [(n_rt, share)] = bench.packing(hosts=6, seed=2,
                                                        limit=40)
        self.assertGreater(n_base, 0)
        self.assertGreater(n_rt, 0)
        self.assertTrue(0.0 < base <= 1.0)
        self.assertTrue(0.0 < share <= 1.0)
        # The run puts the multiplier back.
        self.assertEqual(
            10.0, rt_conf.nova_conf().nova_rt.realtime_weight_multiplier)

    def test_cost_runs(self):
        samples = bench.cost(30, rounds=2)
        for kind in ('cold', 'warm', 'numa'):
            self.assertEqual(2, len(samples[kind]))
        self.assertGreaterEqual(samples['passed_rt'],
                                samples['passed_numa'])


class FleetBenchmarkTest(testtools.TestCase):

    def test_real_placement_and_scheduler_choose_ready_hosts(self):
        result = fleet.run((120,), rounds=1)[120]
        hosts = result['hosts']
        # Every hundredth host is ready: host00100 and the ready template.
        ready = {'host00100', 'template-ready'}
        self.assertTrue(set(hosts['rt_trait']) <= ready, hosts)
        self.assertTrue(set(hosts['rt_no_trait']) <= ready, hosts)
        self.assertEqual(1, len(hosts['ordinary']))
        for kind in fleet.KINDS:
            self.assertEqual(1, len(result['times'][kind]))


class HostCheckBenchmarkTest(testtools.TestCase):

    def test_scaled_trees_audit_ready(self):
        times = host_check.measure(sizes=(64,), rounds=1)
        self.assertEqual(1, len(times[64]))
        desc = host_check.scaled(4)
        self.assertEqual(4, desc['topology']['nodes'])
        self.assertIn('nohz_full=%s' % desc['isolated'], desc['cmdline'])
