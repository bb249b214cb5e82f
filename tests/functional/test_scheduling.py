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
"""RealtimeFilter and RealtimeWeigher in Nova's in-process cloud.

Four fake-libvirt computes, 12 CPUs each, ``[compute] cpu_dedicated_set =
2-11``:

=========  ============  ======================================================
host       NUMA cells    facts
=========  ============  ======================================================
rt-big     2 (6+6)       ready, preempt_rt, kthreads at 50, 20 us, CAT 4 MiB
rt-small   1 (12)        ready, preempt_rt, kthreads at 10, 50 us, no CAT
not-ready  2 (6+6)       not ready
plain      2 (6+6)       none (no nova-rt)
=========  ============  ======================================================

Free isolated CPUs per cell: rt-big 4 and 6, rt-small 10.
"""

import warnings

import fixtures
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional.libvirt import base
from nova.virt.libvirt import driver as libvirt_driver
from sqlalchemy import exc as sa_exc

from nova_rt import conf as rt_conf
from nova_rt.host import facts as host_facts
from nova_rt.scheduler import prefilter
from tests.functional import realtime_base

ISOLATED = frozenset(range(2, 12))
FACTS = {
    'rt-big': host_facts.HostFacts(
        ready=True, kernel='preempt_rt', isolated_cpus=ISOLATED,
        kthread_prio=50, latency_max_us=20, cat_l3_kib=4096,
        cat_min_kib=512),
    'rt-small': host_facts.HostFacts(
        ready=True, kernel='preempt_rt', isolated_cpus=ISOLATED,
        kthread_prio=10, latency_max_us=50),
    'not-ready': host_facts.HostFacts(
        ready=False, kernel='preempt', isolated_cpus=frozenset()),
}
RT = {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
      'hw:cpu_realtime_mask': '^0'}

_get_available_resource = libvirt_driver.LibvirtDriver.get_available_resource
_update_provider_tree = libvirt_driver.LibvirtDriver.update_provider_tree


def get_available_resource(self, nodename):
    """What nova-rt's driver publishes: the host facts in the stats."""
    data = _get_available_resource(self, nodename)
    if nodename in FACTS:
        data['stats'] = dict(data.get('stats') or {},
                             **host_facts.to_stats(FACTS[nodename]))
    return data


def update_provider_tree(self, provider_tree, nodename, allocations=None):
    _update_provider_tree(self, provider_tree, nodename, allocations)
    if nodename in FACTS:
        provider_tree.add_traits(nodename,
                                 *host_facts.to_traits(FACTS[nodename]))


class RealtimeSchedulingTest(realtime_base.PatientWaits,
                             base.ServersTestBase):

    microversion = 'latest'
    ADMIN_API = True

    def _setup_scheduler_service(self):
        self.flags(available_filters=[
            'nova.scheduler.filters.all_filters',
            'nova_rt.scheduler.filters.RealtimeFilter'],
            group='filter_scheduler')
        self.flags(enabled_filters=[
            'ComputeFilter', 'RealtimeFilter', 'NUMATopologyFilter'],
            group='filter_scheduler')
        self.flags(weight_classes=[
            'nova.scheduler.weights.all_weighers',
            'nova_rt.scheduler.weights.RealtimeWeigher'],
            group='filter_scheduler')
        return self.start_service('scheduler')

    def setUp(self):
        # [nova_rt] on nova's CONF before self.flags(group='nova_rt').
        rt_conf.nova_conf()
        super().setUp()
        # nova 34 calls SQLAlchemy's noload(), deprecated in SQLAlchemy 2.1;
        # nova's WarningsFixture turns that into a 500 on some API paths.
        warnings.filterwarnings('ignore', message=r'The noload\(\) option',
                                category=sa_exc.SADeprecationWarning)
        self.flags(sysinfo_serial='none', group='libvirt')
        self.flags(cpu_dedicated_set='2-11', cpu_shared_set='0-1',
                   group='compute')
        self.useFixture(_patch('get_available_resource',
                               get_available_resource))
        self.useFixture(_patch('update_provider_tree', update_provider_tree))
        two_cells = dict(cpu_nodes=2, cpu_sockets=1, cpu_cores=6,
                         cpu_threads=1)
        for name, shape in (('rt-big', two_cells),
                            ('rt-small', dict(cpu_nodes=1, cpu_sockets=1,
                                              cpu_cores=12, cpu_threads=1)),
                            ('not-ready', two_cells), ('plain', two_cells)):
            self.start_compute(name, host_info=fakelibvirt.HostInfo(**shape))

    def flavor(self, vcpus, **extra):
        specs = dict(RT)
        specs.update(extra)
        return self._create_flavor(vcpu=vcpus, memory_mb=1024,
                                   extra_spec=specs)

    def host_of(self, server):
        return server['OS-EXT-SRV-ATTR:host']

    def no_valid_host(self, flavor_id):
        server = self._create_server(flavor_id=flavor_id, networks='none',
                                     expected_state='ERROR')
        self.assertIn('No valid host', server['fault']['message'])
        return server

    def test_realtime_lands_only_where_it_fits(self):
        cases = [
            # Only rt-big has a certified latency this low.
            ({'rt:max_latency_us': '20'}, 4, 'rt-big'),
            # Only rt-big has CAT.
            ({'rt:l3_cache_kib': '1024'}, 4, 'rt-big'),
            # rt-small's kernel threads run at 10.
            ({'rt:vcpu_priority': '10'}, 4, 'rt-big'),
            # Two guest NUMA nodes: rt-small has one cell.
            ({'hw:numa_nodes': '2'}, 4, 'rt-big'),
            # 6 vCPUs + the emulator's core: no rt-big cell has 7 free.
            ({'hw:emulator_threads_policy': 'isolate'}, 6, 'rt-small'),
        ]
        for extra, vcpus, expected in cases:
            with self.subTest(extra=extra):
                server = self._create_server(
                    flavor_id=self.flavor(vcpus, **extra), networks='none')
                self.assertEqual(expected, self.host_of(server))
                self._delete_server(server)

    def test_ready_trait_lets_placement_cut_first(self):
        # With the trait asked for, placement offers only the two ready
        # hosts (the driver publishes CUSTOM_NOVA_RT_READY there), so
        # RealtimeFilter judges 2 hosts, not 4; it still judges them:
        # priority 20 fits only rt-big.
        flavor_id = self.flavor(4, **dict(
            prefilter.trait_spec(), **{'rt:vcpu_priority': '20'}))
        for _ in range(2):
            server = self._create_server(flavor_id=flavor_id,
                                         networks='none')
            self.assertEqual('rt-big', self.host_of(server))
        self.assertIn('RealtimeFilter rejected 1 of 2 host(s): '
                      'kthread_priority=1', self.stdlog.logger.output)
        self.assertNotIn('does not ask placement', self.stdlog.logger.output)

    def test_realtime_flavor_without_the_trait_is_warned_about(self):
        server = self._create_server(flavor_id=self.flavor(4),
                                     networks='none')
        self.assertIn(self.host_of(server), ('rt-big', 'rt-small'))
        self.assertIn('RealtimeFilter rejected 2 of 4 host(s)',
                      self.stdlog.logger.output)
        self.assertIn('does not ask placement for CUSTOM_NOVA_RT_READY',
                      self.stdlog.logger.output)

    def test_no_valid_host_logs_why(self):
        # Placement has 10 PCPUs on each host; RealtimeFilter has the say.
        self.no_valid_host(self.flavor(
            6, **{'hw:emulator_threads_policy': 'isolate',
                  'rt:max_latency_us': '20'}))
        self.assertIn('RealtimeFilter rejected 4 of 4 host(s): '
                      'isolated_cpus=1, latency=1, not_ready=2',
                      self.stdlog.logger.output)

    def test_invalid_flavor_goes_only_to_hosts_with_nova_rt(self):
        # nova-api refuses this flavor at 2.86+ (our validators); older
        # microversions store it, and the scheduler must not raise. A
        # filter can only say NoValidHost, so it lets the request through
        # to hosts whose nova-rt driver fails the build with the reason
        # (test_driver.RefusalTest); here the computes run upstream's
        # driver with nova-rt's facts, so the server boots, never on the
        # host without nova-rt.
        self.api.microversion = '2.85'
        self.admin_api.microversion = '2.85'
        flavor_id = self.flavor(4, **{'rt:vcpu_priority': '60'})
        for _ in range(3):
            server = self._create_server(flavor_id=flavor_id,
                                         networks='none')
            self.assertNotEqual('plain', self.host_of(server))
        self.assertIn('Invalid real-time flavor', self.stdlog.logger.output)
        self.assertIn('invalid_request=1', self.stdlog.logger.output)

    def test_plain_flavors_kept_off_ready_hosts_only_when_dedicated(self):
        plain = self._create_flavor(vcpu=1, memory_mb=512)
        hosts = set()
        for _ in range(4):
            hosts.add(self.host_of(self._create_server(flavor_id=plain,
                                                  networks='none')))
        self.assertTrue(hosts & {'rt-big', 'rt-small'}, hosts)

        self.flags(dedicate_hosts=True, group='nova_rt')
        for _ in range(4):
            self.assertIn(self.host_of(self._create_server(flavor_id=plain,
                                                  networks='none')),
                          ('not-ready', 'plain'))

    def test_race_for_the_last_isolated_cores(self):
        # Priority 20: rt-big only. 5 vCPUs fit its 6-CPU cell once, and
        # placement (10 PCPUs) would take both.
        flavor_id = self.flavor(5, **{'rt:vcpu_priority': '20'})
        posted = [self.api.post_server({'server': self._build_server(
            flavor_id=flavor_id, networks='none')}) for _ in range(2)]
        servers = [self._wait_until_built(s) for s in posted]
        states = sorted((s['status'], self.host_of(s)) for s in servers)
        self.assertEqual([('ACTIVE', 'rt-big'), ('ERROR', None)], states)

    def test_weigher_packs_and_strands_no_cpu(self):
        # Priority 20 lands on rt-big only: 2 vCPUs on its roomier cell
        # (Nova spreads cells by default), so 4+4 free there, 10 on
        # rt-small. Then, among the two ready hosts (the trait):
        # - 2 vCPUs: best fit, the fuller rt-big, although Nova's own
        #   weighers (RAM, CPU) prefer the emptier rt-small;
        # - 3 vCPUs would leave one lone CPU in a rt-big cell: rt-small;
        # - 4 vCPUs fill a rt-big cell exactly: rt-big.
        first = self._create_server(flavor_id=self.flavor(2, **{
            'rt:vcpu_priority': '20'}), networks='none')
        self.assertEqual('rt-big', self.host_of(first))
        trait = prefilter.trait_spec()
        cases = [(2, 'rt-big'), (3, 'rt-small'), (4, 'rt-big')]
        for vcpus, expected in cases:
            with self.subTest(vcpus=vcpus):
                server = self._create_server(
                    flavor_id=self.flavor(vcpus, **trait), networks='none')
                self.assertEqual(expected, self.host_of(server))
                self._delete_server(server)

        # A negative multiplier spreads: the emptier rt-small.
        self.flags(realtime_weight_multiplier=-1.0, group='nova_rt')
        server = self._create_server(flavor_id=self.flavor(2, **trait),
                                     networks='none')
        self.assertEqual('rt-small', self.host_of(server))

    def _wait_until_built(self, server):
        return self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': None})


def _patch(name, func):
    return fixtures.MockPatchObject(libvirt_driver.LibvirtDriver, name,
                                    func)
