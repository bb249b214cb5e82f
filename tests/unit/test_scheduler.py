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
"""RealtimeFilter and RealtimeWeigher against real Nova HostState and
NUMATopology objects.
"""

import random
from unittest import mock

import fixtures
from nova import objects
from nova.scheduler.filters import numa_topology_filter
from nova.scheduler import weights as nova_weights
import testtools

from nova_rt import conf as rt_conf
from nova_rt.core import fitting
from nova_rt.core import request as rt_request
from nova_rt.host import facts as host_facts
from nova_rt import scheduler
from nova_rt.scheduler import filters as rt_filters
from nova_rt.scheduler import weights as rt_weights
from tests import scheduler_fakes as fakes

CONF = rt_conf.nova_conf()


def host(name='h1', cells=2, cores=6, threads=1, housekeeping=1,
         pinned=(), **facts_kw):
    """A HostState: cells x cores x threads, ``housekeeping`` cores per cell
    not isolated, the CPUs in ``pinned`` already pinned.
    """
    state = fakes.host_state(name, cells, cores, threads, housekeeping)
    if facts_kw or pinned:
        facts = host_facts.from_stats(state.stats)
        values = dict(ready=facts.ready, kernel=facts.kernel,
                      isolated_cpus=facts.isolated_cpus,
                      kthread_prio=facts.kthread_prio)
        values.update(facts_kw)
        state.stats = host_facts.to_stats(host_facts.HostFacts(**values))
        new_cells = []
        for cell in state.numa_topology.cells:
            new = cell.obj_clone()
            new.pinned_cpus = set(pinned) & cell.pcpuset
            new_cells.append(new)
        state.numa_topology = objects.NUMATopology(cells=new_cells)
    return state


def spec(vcpus=4, emulator=False, nodes=1, **extra):
    s = fakes.flavor_spec(vcpus, emulator, nodes)
    if extra:
        s.flavor.extra_specs.update(
            {k.replace('__', ':'): v for k, v in extra.items()})
    return s


def plain_spec(vcpus=2):
    s = fakes.flavor_spec(vcpus)
    s.flavor.extra_specs = {}
    s.numa_topology = None
    return s


class Base(testtools.TestCase):

    def setUp(self):
        super().setUp()
        scheduler.clear_caches()
        self.filter = rt_filters.RealtimeFilter()

    def flags(self, group='nova_rt', **kw):
        for name, value in kw.items():
            CONF.set_override(name, value, group=group)
            self.addCleanup(CONF.clear_override, name, group=group)

    def reason(self, state, spec_obj):
        return scheduler.verdict(state, scheduler.ask(spec_obj)).reason


class FilterRulesTest(Base):

    def test_ready_host_passes(self):
        self.assertTrue(self.filter.host_passes(host(), spec()))

    def test_host_without_facts_is_not_ready(self):
        state = host()
        state.stats = {'num_instances': '0'}
        self.assertEqual(fitting.NOT_READY, self.reason(state, spec()))
        del state.stats
        self.assertFalse(self.filter.host_passes(state, spec()))

    def test_host_without_numa_topology_is_not_ready(self):
        state = host()
        state.numa_topology = None
        self.assertEqual(fitting.NOT_READY, self.reason(state, spec()))

    def test_not_ready_facts(self):
        self.assertEqual(fitting.NOT_READY,
                         self.reason(host(ready=False), spec()))

    def test_malformed_facts_reject_without_raising(self):
        state = host()
        state.stats = dict(state.stats, nova_rt_kernel='bogus')
        v = scheduler.verdict(state, scheduler.ask(spec()))
        self.assertEqual(fitting.NOT_READY, v.reason)
        self.assertIn('nova_rt_kernel', v.detail)
        # ...but non-real-time requests do not care.
        self.assertTrue(self.filter.host_passes(state, plain_spec()))

    def test_kernel(self):
        self.assertEqual(fitting.KERNEL,
                         self.reason(host(kernel='preempt'), spec()))
        self.assertIsNone(self.reason(host(kernel='preempt'),
                                      spec(rt__host_kernel='any')))
        self.flags(require_preempt_rt=False)
        self.assertIsNone(self.reason(host(kernel='none'), spec()))

    def test_kthread_priority_boundary(self):
        s = spec(rt__vcpu_priority='10')
        self.assertIsNone(self.reason(host(kthread_prio=11), s))
        self.assertEqual(fitting.KTHREAD_PRIORITY,
                         self.reason(host(kthread_prio=10), s))
        self.assertEqual(fitting.KTHREAD_PRIORITY,
                         self.reason(host(kthread_prio=0), s))

    def test_latency_boundary(self):
        s = spec(rt__max_latency_us='30')
        self.assertIsNone(self.reason(host(latency_max_us=30), s))
        self.assertEqual(fitting.LATENCY,
                         self.reason(host(latency_max_us=31), s))
        self.assertEqual(fitting.LATENCY, self.reason(host(), s))

    def test_l3_cache_boundary(self):
        s = spec(rt__l3_cache_kib='4096')
        self.assertIsNone(self.reason(
            host(cat_l3_kib=4096, cat_min_kib=1024), s))
        self.assertEqual(fitting.L3_CACHE, self.reason(
            host(cat_l3_kib=3072, cat_min_kib=1024), s))
        self.assertEqual(fitting.L3_CACHE, self.reason(host(), s))

    def test_ram_overcommit(self):
        state = host()
        state.ram_allocation_ratio = 1.5
        self.assertEqual(fitting.RAM_OVERCOMMIT, self.reason(state, spec()))
        self.flags(forbid_ram_overcommit=False)
        self.assertIsNone(self.reason(state, spec()))

    def test_numa_cells(self):
        self.assertEqual(fitting.NUMA_CELLS,
                         self.reason(host(cells=1, cores=12),
                                     spec(4, nodes=2)))

    def test_free_isolated_cpus_boundary(self):
        # 2 cells x 6 cores, 1 housekeeping: 5 isolated CPUs per cell.
        self.assertIsNone(self.reason(host(), spec(5)))
        self.assertEqual(fitting.ISOLATED_CPUS, self.reason(host(), spec(6)))
        self.assertIsNone(self.reason(host(), spec(4, emulator=True)))
        self.assertEqual(fitting.ISOLATED_CPUS,
                         self.reason(host(), spec(5, emulator=True)))
        self.assertIsNone(self.reason(host(), spec(10, nodes=2)))
        # One pinned CPU in cell 0 and one in cell 1.
        busy = host(pinned={1, 7})
        self.assertIsNone(self.reason(busy, spec(4)))
        self.assertEqual(fitting.ISOLATED_CPUS, self.reason(busy, spec(5)))
        self.assertEqual(fitting.ISOLATED_CPUS,
                         self.reason(busy, spec(10, nodes=2)))

    def test_thread_isolate_counts_whole_cores(self):
        # SMT: 5 isolated cores x 2 threads per cell; pin one thread of
        # each of two cores in cell 0: 3 whole cores left there, 5 in 1.
        state = host(threads=2, pinned={1, 2}, cells=1)
        self.assertIsNone(self.reason(
            state, spec(3, hw__cpu_thread_policy='isolate')))
        self.assertEqual(fitting.ISOLATED_CPUS, self.reason(
            state, spec(4, hw__cpu_thread_policy='isolate')))

    def test_invalid_flavor_goes_only_to_nova_rt_hosts(self):
        # A filter can only say NoValidHost; nova-rt's driver fails the
        # build with the reason as the instance fault. A host without
        # nova-rt's driver would boot it as an ordinary guest: rejected.
        s = spec(rt__vcpu_priority='99')
        not_ready = host('b', ready=False)
        plain = host('plain')
        plain.stats = {}
        hosts = [host('a'), not_ready, plain]
        self.assertEqual(hosts[:2], list(self.filter.filter_all(hosts, s)))
        self.assertEqual(fitting.INVALID_REQUEST, self.reason(plain, s))

    def test_dedicate_hosts(self):
        ready, other = host('ready'), host('other', ready=False)
        plain = host('plain')
        plain.stats = {}
        hosts = [ready, other, plain]
        self.assertEqual(hosts, list(self.filter.filter_all(
            hosts, plain_spec())))
        self.flags(dedicate_hosts=True)
        self.assertEqual([other, plain], list(self.filter.filter_all(
            hosts, plain_spec())))
        self.assertEqual(fitting.DEDICATED_HOST,
                         self.reason(ready, plain_spec()))

    def test_rebuild_is_not_filtered(self):
        s = spec(rt__vcpu_priority='99')
        s.scheduler_hints = {'_nova_check_type': ['rebuild']}
        hosts = [host()]
        self.assertEqual(hosts, list(self.filter.filter_all(hosts, s)))

    def test_runs_for_every_instance_of_a_request(self):
        self.assertFalse(self.filter.run_filter_once_per_request)


class FilterAgreesWithNovaTest(Base):
    """The check is necessary: never rejects what NUMATopologyFilter takes,
    and on these shapes, exact.
    """

    def test_random_hosts_and_flavors(self):
        rng = random.Random(3)
        numa = numa_topology_filter.NUMATopologyFilter()
        hosts = fakes.cost_fleet(30, seed=5)
        for _ in range(15):
            s = spec(rng.choice((2, 4, 6, 8)), rng.random() < 0.5,
                     rng.choice((1, 1, 2)))
            ours = set(h.host for h in self.filter.filter_all(hosts, s))
            fakes.fresh_candidates(hosts)
            novas = set(h.host for h in numa.filter_all(hosts, s))
            self.assertLessEqual(novas, ours)
            self.assertEqual(novas, ours)


class FilterLoggingTest(Base):

    def test_one_debug_line_per_rejection_and_one_summary(self):
        logger = self.useFixture(fixtures.FakeLogger(level='DEBUG'))
        hosts = [host('ok'), host('old', kernel='preempt'),
                 host('down', ready=False), host('busy', pinned={1, 7})]
        passed = list(self.filter.filter_all(hosts, spec(5)))
        self.assertEqual(['ok'], [h.host for h in passed])
        lines = [line for line in logger.output.splitlines()
                 if 'fails real-time requirements' in line]
        self.assertEqual(3, len(lines))
        self.assertIn('old, old fails real-time requirements: kernel',
                      logger.output)
        self.assertIn('RealtimeFilter rejected 3 of 4 host(s): '
                      'isolated_cpus=1, kernel=1, not_ready=1',
                      logger.output)


class CachingTest(Base):

    def test_request_parsed_once_per_call(self):
        hosts = [host(str(i)) for i in range(5)]
        with mock.patch.object(rt_request, 'build_request',
                               wraps=rt_request.build_request) as build:
            list(self.filter.filter_all(hosts, spec()))
        self.assertEqual(1, build.call_count)

    def test_facts_parsed_once_per_version(self):
        hosts = [host(str(i)) for i in range(5)]
        with mock.patch.object(host_facts, 'from_stats',
                               wraps=host_facts.from_stats) as parse:
            list(self.filter.filter_all(hosts, spec()))
            list(self.filter.filter_all(hosts, spec()))
        self.assertEqual(1, parse.call_count)

    def test_capacity_follows_consumption(self):
        state = host(cells=1)
        s = spec(4)
        self.assertTrue(self.filter.host_passes(state, s))
        list(numa_topology_filter.NUMATopologyFilter().filter_all([state], s))
        state.consume_from_request(s)
        self.assertEqual(fitting.ISOLATED_CPUS, self.reason(state, spec(2)))
        self.assertEqual(1, scheduler.host_view(state).capacity.free)

    def test_host_cache_is_bounded(self):
        self.useFixture(fixtures.MockPatchObject(scheduler, 'MAX_HOSTS', 3))
        hosts = [host(str(i)) for i in range(5)]
        list(self.filter.filter_all(hosts, spec()))
        keys = [(h.host, h.nodename) for h in hosts]
        # The oldest are dropped; the newest still answer from the cache.
        self.assertEqual(keys[2:], list(scheduler._hosts))
        view = scheduler._hosts[keys[4]][3]
        self.assertIs(view, scheduler.host_view(hosts[4]))
        # A dropped host is parsed again, and judged the same.
        self.assertTrue(self.filter.host_passes(hosts[0], spec()))
        self.assertEqual(keys[3:] + keys[:1], list(scheduler._hosts))


class WeigherTest(Base):

    def weigh(self, hosts, spec_obj):
        handler = nova_weights.HostWeightHandler()
        return handler.get_weighed_objects([rt_weights.RealtimeWeigher()],
                                           hosts, spec_obj)

    def test_packs_onto_the_fullest_host(self):
        # Free isolated CPUs per cell: 5+5, 3+4, 2+2.
        hosts = [host('empty'), host('fuller', pinned={1, 2, 7}),
                 host('full', pinned={1, 2, 3, 7, 8, 9})]
        ranked = self.weigh(hosts, spec(2))
        self.assertEqual(['full', 'fuller', 'empty'],
                         [w.obj.host for w in ranked])
        self.assertEqual([10.0, 5.0, 0.0], [w.weight for w in ranked])

    def test_does_not_strand_a_cpu_in_the_cell_nova_picks(self):
        # 'strands' has 2+3 free: Nova's default fitting puts 2 vCPUs on
        # the roomier cell and leaves 1 CPU there, which no real-time
        # flavor can use; the emptier host goes first. When Nova packs
        # cells, the same host takes them exactly and goes first.
        hosts = [host('roomy'), host('strands', pinned={1, 2, 3, 7, 8})]
        self.assertEqual(['roomy', 'strands'],
                         [w.obj.host for w in self.weigh(hosts, spec(2))])
        self.flags(packing_host_numa_cells_allocation_strategy=True,
                   group='compute')
        self.assertEqual(['strands', 'roomy'],
                         [w.obj.host for w in self.weigh(hosts, spec(2))])

    def test_negative_multiplier_spreads(self):
        self.flags(realtime_weight_multiplier=-1.0)
        hosts = [host('full', pinned={1, 2, 3}), host('empty')]
        self.assertEqual('empty', self.weigh(hosts, spec(2))[0].obj.host)

    def test_not_ready_hosts_weigh_as_the_emptiest(self):
        hosts = [host('down', ready=False), host('empty'),
                 host('full', pinned={1, 2})]
        weights = {w.obj.host: w.weight
                   for w in self.weigh(hosts, spec(2))}
        self.assertEqual({'full': 10.0, 'empty': 0.0, 'down': 0.0}, weights)

    def test_non_realtime_request_is_neutral(self):
        hosts = [host('a', pinned={1, 2}), host('b')]
        weigher = rt_weights.RealtimeWeigher()
        self.assertEqual([0.0, 0.0], weigher.weigh_objects(
            [nova_weights.HostWeightHandler.object_class(h, 0.0)
             for h in hosts], plain_spec()))

    def test_aggregate_overrides_multiplier(self):
        state = host()
        weigher = rt_weights.RealtimeWeigher()
        self.assertEqual(10.0, weigher.weight_multiplier(state))
        state.aggregates = [objects.Aggregate(
            id=1, name='rt', hosts=[state.host],
            metadata={'realtime_weight_multiplier': '7.5'})]
        self.assertEqual(7.5, weigher.weight_multiplier(state))

    def test_weigh_object(self):
        w = rt_weights.RealtimeWeigher()
        self.assertEqual(-10.0, w._weigh_object(host(), spec(2)))
        self.assertEqual(0.0, w._weigh_object(host(), plain_spec()))
