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
"""The pure core: capacity, verdicts and their boundaries, score."""

import random

import testtools

from nova_rt.core import fitting
from nova_rt.core import request as rt_request
from nova_rt.host import facts as host_facts

RT = {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
      'hw:cpu_realtime_mask': '^0'}


def req(vcpus=4, **specs):
    extra = dict(RT)
    extra.update({k.replace('__', ':'): v for k, v in specs.items()})
    return rt_request.build_request(vcpus, extra)


def facts(**kw):
    values = dict(ready=True, kernel='preempt_rt',
                  isolated_cpus=frozenset(range(2, 16)), kthread_prio=50)
    values.update(kw)
    return host_facts.HostFacts(**values)


def cell(cid, free, cores=None, threads=1):
    cores = free if cores is None else cores
    return fitting.CellCapacity(cid, free, free, cores, threads)


class CapacityTest(testtools.TestCase):

    def test_free_isolated_per_cell(self):
        cap = fitting.capacity(facts(isolated_cpus=frozenset(range(1, 8))), [
            (0, {0, 1, 2, 3}, {1}, [{0}, {1}, {2}, {3}]),
            (1, {4, 5, 6, 7}, set(), [{4}, {5}, {6}, {7}])])
        self.assertEqual([(3, 2), (4, 4)],
                         [(c.isolated, c.free) for c in cap.cells])
        self.assertEqual(7, cap.isolated)
        self.assertEqual(6, cap.free)

    def test_counts_the_same_however_the_cell_is_given(self):
        # Every dedicated CPU isolated (counted without new sets), or not,
        # or given as lists, or with a pinned CPU outside the dedicated
        # set: the same counts as the set arithmetic.
        isolated = frozenset(range(1, 8))
        for pcpus, pinned in (({1, 2, 3}, {2}), ({0, 1, 2, 3}, {1}),
                              ([1, 2, 3], [2]), ({1, 2, 3}, {2, 9}),
                              (frozenset({4, 5}), frozenset())):
            usable = isolated & set(pcpus)
            c = fitting.cell_capacity(0, pcpus, pinned, [], isolated)
            self.assertEqual((len(usable), len(usable - set(pinned))),
                             (c.isolated, c.free), (pcpus, pinned))

    def test_whole_cores_need_every_sibling_free(self):
        cap = fitting.capacity(facts(isolated_cpus=frozenset(range(8))), [
            (0, set(range(8)), {0, 5},
             [{0, 4}, {1, 5}, {2, 6}, {3, 7}])])
        (only,) = cap.cells
        self.assertEqual((6, 2, 2), (only.free, only.free_cores,
                                     only.threads))

    def test_counts_from_the_cell_equal_given_counts(self):
        # The cores are counted when first asked; the result compares
        # equal to a CellCapacity given the same counts.
        lazy = fitting.cell_capacity(
            3, {0, 1, 2, 3, 4, 5, 6, 7}, {0, 5}, [{0, 4}, {1, 5}, {2, 6},
                                                 {3, 7}],
            frozenset(range(1, 8)))
        self.assertEqual(fitting.CellCapacity(3, 7, 6, 2, 2), lazy)
        self.assertEqual((2, 2), (lazy.free_cores, lazy.threads))
        self.assertEqual(hash(fitting.CellCapacity(3, 7, 6, 2, 2)),
                         hash(lazy))
        self.assertIn('free_cores=2', repr(lazy))

    def test_counts_first_cells_when_asked(self):
        # The scheduler's cold pass counts free CPUs only; the cells built
        # later from the same data equal a Capacity given them.
        raw = [(0, {1, 2, 3}, {2}, [{1}, {2}, {3}]),
               (1, {4, 5, 6, 7}, set(), [{4, 6}, {5, 7}])]
        cap = fitting.capacity(facts(isolated_cpus=frozenset(range(1, 8))),
                               raw)
        self.assertEqual((2, 4), cap.frees)
        self.assertEqual(6, cap.free)
        eager = fitting.Capacity([
            fitting.cell_capacity(cid, p, pin, sib, frozenset(range(1, 8)))
            for cid, p, pin, sib in raw])
        self.assertEqual(eager, cap)
        self.assertEqual(hash(eager), hash(cap))
        self.assertEqual(2, cap.cells[1].free_cores)
        self.assertIn('free=4', repr(cap))

    def test_no_sibling_information_means_no_smt(self):
        cap = fitting.capacity(facts(isolated_cpus=frozenset({0, 1})),
                               [(0, {0, 1}, set(), [])])
        self.assertEqual(2, cap.cells[0].free_cores)


class CpusFitTest(testtools.TestCase):

    def test_boundary_one_cell(self):
        self.assertTrue(fitting.cpus_fit([cell(0, 4)], (4,)))
        self.assertFalse(fitting.cpus_fit([cell(0, 3)], (4,)))

    def test_emulator_extra_on_one_cell_only(self):
        cells = [cell(0, 5), cell(1, 4)]
        self.assertTrue(fitting.cpus_fit(cells, (4, 4), emulator_extra=1))
        self.assertFalse(fitting.cpus_fit([cell(0, 4), cell(1, 4)], (4, 4),
                                          emulator_extra=1))

    def test_cells_are_distinct(self):
        self.assertFalse(fitting.cpus_fit([cell(0, 8), cell(1, 1)], (2, 2)))
        self.assertFalse(fitting.cpus_fit([cell(0, 8)], (2, 2)))

    def test_largest_need_on_roomiest_cell(self):
        cells = [cell(0, 2), cell(1, 5), cell(2, 3)]
        self.assertTrue(fitting.cpus_fit(cells, (2, 5, 3)))
        self.assertFalse(fitting.cpus_fit(cells, (2, 5, 4)))

    def test_isolate_counts_whole_cores(self):
        # 6 free threads but only 2 whole cores.
        c = cell(0, 6, cores=2, threads=2)
        self.assertTrue(fitting.cpus_fit([c], (2,), isolate=True))
        self.assertFalse(fitting.cpus_fit([c], (3,), isolate=True))

    def test_isolate_emulator_needs_a_thread_outside_the_cores(self):
        self.assertTrue(fitting.cpus_fit([cell(0, 5, cores=2, threads=2)],
                                         (2,), 1, isolate=True))
        self.assertFalse(fitting.cpus_fit([cell(0, 4, cores=2, threads=2)],
                                          (2,), 1, isolate=True))

    def test_counts_agree_with_cells(self):
        # frees_fit, the scheduler's path for requests that do not
        # isolate, answers as cpus_fit over the same cells.
        rng = random.Random(3)
        for _ in range(2000):
            frees = [rng.randrange(0, 9) for _ in range(rng.randrange(1, 5))]
            guest = tuple(rng.randrange(1, 7)
                          for _ in range(rng.randrange(1, 4)))
            extra = rng.randrange(0, 2)
            cells = [cell(i, f) for i, f in enumerate(frees)]
            self.assertEqual(fitting.cpus_fit(cells, guest, extra),
                             fitting.frees_fit(tuple(frees), guest, extra),
                             (frees, guest, extra))


class VerdictTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cap = fitting.Capacity((cell(0, 8), cell(1, 8)))

    def check(self, request, host_facts_=None, cap=None, **kw):
        return fitting.verdict(request, host_facts_ or facts(),
                               cap or self.cap, **kw)

    def test_passes(self):
        self.assertIs(fitting.PASS, self.check(req()))
        self.assertTrue(self.check(req()))

    def test_shortage_names_the_need_and_the_free_cpus(self):
        cap = fitting.Capacity((cell(0, 3), cell(1, 2)))
        v = self.check(req(hw__emulator_threads_policy='isolate'), cap=cap)
        self.assertEqual(fitting.ISOLATED_CPUS, v.reason)
        self.assertEqual('needs 4 CPUs (+1) on 1 cell(s), free per cell: '
                         '3,2', v.detail)
        self.assertEqual(fitting.Verdict(fitting.ISOLATED_CPUS, v.detail), v)
        self.assertIn("detail='needs 4 CPUs", repr(v))
        v = self.check(req(hw__cpu_thread_policy='isolate'),
                       cap=fitting.Capacity((cell(0, 6, cores=1,
                                                  threads=2),)))
        self.assertEqual('needs 4 whole cores (+0) on 1 cell(s), free per '
                         'cell: 1', v.detail)
        v = self.check(req(hw__numa_nodes='4'))
        self.assertEqual((fitting.NUMA_CELLS, 'needs 4 NUMA cells, host has '
                          '2'), (v.reason, v.detail))

    def test_not_ready(self):
        self.assertEqual(fitting.NOT_READY, fitting.verdict(
            req(), None, self.cap).reason)
        self.assertEqual(fitting.NOT_READY, self.check(
            req(), facts(ready=False)).reason)
        self.assertEqual(fitting.NOT_READY, fitting.verdict(
            req(), facts(), None).reason)

    def test_kernel(self):
        v = self.check(req(), facts(kernel='preempt'))
        self.assertEqual(fitting.KERNEL, v.reason)
        self.assertIn('preempt_rt', v.detail)
        self.assertTrue(self.check(req(rt__host_kernel='any'),
                                   facts(kernel='none')))

    def test_kthread_priority_boundary(self):
        self.assertTrue(self.check(req(rt__vcpu_priority='49'),
                                   facts(kthread_prio=50)))
        self.assertEqual(fitting.KTHREAD_PRIORITY, self.check(
            req(rt__vcpu_priority='49'), facts(kthread_prio=49)).reason)
        self.assertEqual(fitting.KTHREAD_PRIORITY, self.check(
            req(), facts(kthread_prio=0)).reason)
        self.assertTrue(self.check(req(rt__vcpu_priority='49'),
                                   facts(kthread_prio=None)))

    def test_isolated_rt_emulator_counts_too(self):
        r = req(hw__emulator_threads_policy='isolate',
                rt__emulator_scheduler='fifo', rt__emulator_priority='20')
        self.assertTrue(self.check(r, facts(kthread_prio=21)))
        self.assertEqual(fitting.KTHREAD_PRIORITY,
                         self.check(r, facts(kthread_prio=20)).reason)

    def test_latency_boundary(self):
        r = req(rt__max_latency_us='20')
        self.assertTrue(self.check(r, facts(latency_max_us=20)))
        self.assertEqual(fitting.LATENCY, self.check(
            r, facts(latency_max_us=21)).reason)
        self.assertEqual(fitting.LATENCY, self.check(r, facts()).reason)
        self.assertTrue(self.check(req(), facts()))

    def test_l3_cache_boundary_and_granule(self):
        r = req(rt__l3_cache_kib='2048')
        self.assertTrue(self.check(r, facts(cat_l3_kib=2048)))
        self.assertEqual(fitting.L3_CACHE, self.check(
            r, facts(cat_l3_kib=2047)).reason)
        self.assertEqual(fitting.L3_CACHE, self.check(r, facts()).reason)
        # 2048 KiB in 1536 KiB ways takes two ways.
        self.assertTrue(self.check(r, facts(cat_l3_kib=3072,
                                            cat_min_kib=1536)))
        self.assertEqual(fitting.L3_CACHE, self.check(
            r, facts(cat_l3_kib=3071, cat_min_kib=1536)).reason)

    def test_ram_overcommit(self):
        self.assertTrue(self.check(req(), ram_allocation_ratio=1.0,
                                   forbid_ram_overcommit=True))
        self.assertEqual(fitting.RAM_OVERCOMMIT, self.check(
            req(), ram_allocation_ratio=1.5,
            forbid_ram_overcommit=True).reason)
        self.assertTrue(self.check(req(), ram_allocation_ratio=1.5,
                                   forbid_ram_overcommit=False))

    def test_numa_cells(self):
        v = self.check(req(4, hw__numa_nodes='2'),
                       cap=fitting.Capacity((cell(0, 16),)))
        self.assertEqual(fitting.NUMA_CELLS, v.reason)

    def test_isolated_cpus_boundary(self):
        self.assertTrue(self.check(req(8)))
        v = self.check(req(9))
        self.assertEqual(fitting.ISOLATED_CPUS, v.reason)
        self.assertIn('8,8', v.detail)
        self.assertTrue(self.check(req(16, hw__numa_nodes='2')))
        self.assertTrue(self.check(
            req(7, hw__emulator_threads_policy='isolate')))
        self.assertFalse(self.check(
            req(8, hw__emulator_threads_policy='isolate')))

    def test_guest_cells_from_nova(self):
        self.assertFalse(self.check(req(12, hw__numa_nodes='2'),
                                    guest_cells=(9, 3)))
        self.assertTrue(self.check(req(12, hw__numa_nodes='2'),
                                   guest_cells=(8, 4)))

    def test_thread_isolate(self):
        cap = fitting.Capacity((cell(0, 8, cores=3, threads=2),))
        self.assertTrue(self.check(req(3, hw__cpu_thread_policy='isolate'),
                                   cap=cap))
        self.assertEqual(fitting.ISOLATED_CPUS, self.check(
            req(4, hw__cpu_thread_policy='isolate'), cap=cap).reason)

    def test_non_realtime(self):
        self.assertTrue(self.check(None))
        self.assertTrue(fitting.verdict(None, None, None,
                                        dedicate_hosts=True))
        self.assertTrue(self.check(None, facts(ready=False),
                                   dedicate_hosts=True))
        self.assertEqual(fitting.DEDICATED_HOST, self.check(
            None, dedicate_hosts=True).reason)

    def test_even_split(self):
        self.assertEqual((3, 3), fitting.even_split(6, 2))
        self.assertEqual((3, 2, 2), fitting.even_split(7, 3))

    def test_dedicated_split(self):
        self.assertEqual((3, 3), fitting.dedicated_split(
            req(6, hw__numa_nodes='2')))
        # Mixed: vCPU 0 (cell 0) floats on the shared CPUs.
        self.assertEqual((2, 3), fitting.dedicated_split(
            req(6, hw__numa_nodes='2', hw__cpu_policy='mixed')))

    def test_mixed_needs_only_the_realtime_vcpus_isolated(self):
        cap = fitting.Capacity((cell(0, 3),))
        self.assertFalse(self.check(req(4), cap=cap))
        self.assertTrue(self.check(req(4, hw__cpu_policy='mixed'), cap=cap))
        self.assertEqual(fitting.ISOLATED_CPUS, self.check(
            req(5, hw__cpu_policy='mixed'), cap=cap).reason)
