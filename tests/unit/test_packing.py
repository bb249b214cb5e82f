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
"""RealtimeWeigher's raw value: best fit by host, no stranded CPU."""

import testtools

from nova_rt.core import fitting
from nova_rt.scheduler import packing
from tests.unit import test_fitting

req = test_fitting.req
facts = test_fitting.facts
cell = test_fitting.cell
COST = packing.STRANDED_CELL_COST


def cap(*free):
    return fitting.Capacity(tuple(cell(i, f) for i, f in enumerate(free)))


class RemaindersTest(testtools.TestCase):

    def test_nova_tries_the_roomiest_cell_first_by_default(self):
        self.assertEqual((6,), packing.remainders(cap(3, 8).frees, (2,)))

    def test_pack_tries_the_fullest_cell_that_fits(self):
        frees = cap(8, 1, 3).frees
        self.assertEqual((1,), packing.remainders(frees, (2,),
                                                  pack_cells=True))

    def test_emulator_cpu_goes_with_the_first_guest_cell(self):
        frees = cap(4, 20, 6).frees
        self.assertEqual((0, 3), packing.remainders(frees, (3, 3), 1,
                                                    pack_cells=True))
        self.assertEqual((16, 3), packing.remainders(frees, (3, 3), 1))

    def test_guest_on_every_cell_keeps_the_host_order(self):
        # Nova sorts the host cells only when it has a choice.
        self.assertEqual((5, 0), packing.remainders(cap(8, 3).frees, (3, 3),
                                                    pack_cells=True))

    def test_does_not_fit(self):
        self.assertIsNone(packing.remainders(cap(2, 2).frees, (3,)))
        self.assertIsNone(packing.remainders(cap(9).frees, (2, 2)))
        self.assertIsNone(packing.remainders(cap(4, 4).frees, (4,), 1))


class ScoreTest(testtools.TestCase):

    def test_fuller_scores_higher(self):
        self.assertGreater(packing.score(req(), facts(), cap(5, 6)),
                           packing.score(req(), facts(), cap(8, 8)))
        self.assertEqual(-11, packing.score(req(), facts(), cap(5, 6)))

    def test_a_cell_left_with_one_cpu_costs_the_stranding_price(self):
        # 4 vCPUs on a host with 5 free in its roomiest cell: one left.
        self.assertEqual(-7 - COST, packing.score(req(), facts(), cap(5, 2)))
        # A roomier host where nothing is stranded ranks higher.
        self.assertGreater(packing.score(req(), facts(), cap(8, 6)),
                           packing.score(req(), facts(), cap(5, 2)))
        # An exact fit strands nothing.
        self.assertEqual(-6, packing.score(req(), facts(), cap(4, 2)))

    def test_stranding_follows_the_cell_nova_picks(self):
        host = cap(5, 9)
        self.assertEqual(-14, packing.score(req(), facts(), host))
        self.assertEqual(-14 - COST, packing.score(req(), facts(), host,
                                                   pack_cells=True))

    def test_every_stranded_cell_counts(self):
        two_nodes = req(8, hw__numa_nodes='2')
        self.assertEqual(-10 - 2 * COST,
                         packing.score(two_nodes, facts(), cap(5, 5)))

    def test_nova_split_of_the_guest_cells_when_given(self):
        # hw:numa_cpus.N: 6+2, not the even 4+4 (which does not fit).
        two_nodes = req(8, hw__numa_nodes='2')
        self.assertEqual(-10, packing.score(two_nodes, facts(), cap(7, 3)))
        self.assertEqual(-10 - 2 * COST, packing.score(
            two_nodes, facts(), cap(7, 3), guest_cells=(6, 2)))

    def test_whole_core_requests_rank_by_best_fit_alone(self):
        isolate = req(4, hw__cpu_thread_policy='isolate')
        self.assertEqual(-5, packing.score(isolate, facts(), cap(5)))

    def test_not_applicable(self):
        host = cap(1)
        self.assertIsNone(packing.score(None, facts(), host))
        self.assertIsNone(packing.score(req(), facts(ready=False), host))
        self.assertIsNone(packing.score(req(), None, host))
        self.assertIsNone(packing.score(req(), facts(), None))

    def test_a_host_that_does_not_fit_ranks_by_best_fit(self):
        # The filters judge fitting; the weigher only ranks.
        self.assertEqual(-3, packing.score(req(), facts(), cap(2, 1)))
