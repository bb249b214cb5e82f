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
stay runnable. Only this tier imports benchmarks/; the unit tier never
does.
"""

from benchmarks import scheduler as bench
import testtools

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
        cold, warm, numa, n_rt, n_numa = bench.cost(30, repeat=1)
        self.assertGreaterEqual(n_rt, n_numa)
