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
"""End-to-end scheduling at fleet scale: real placement, Nova's scheduler.

Run from the repository root::

    python benchmarks/fleet.py [--quick] [--json FILE]

Placement is openstack-placement's own WSGI application with its own
database (Nova's functional PlacementFixture: in-process, sqlite). The
scheduler is Nova's ``SchedulerManager.select_destinations`` with the
filter chain as deployed (Nova's default filters, RealtimeFilter,
NUMATopologyFilter) and the weighers (Nova's and RealtimeWeigher), over
compute nodes and services in Nova's cell database.

One compute node of each kind is created through the real APIs (placement's
REST API, Nova's objects); the fleet is then cloned from those rows
directly in both databases, which keeps the setup of 10,000 hosts to
seconds. Every host has VCPU and PCPU inventory (shared and dedicated
CPUs); 1 % of them are real-time ready (nova-rt facts in the stats, the
trait ``CUSTOM_NOVA_RT_READY`` in placement), the others publish
not-ready facts.

Three requests are timed, interleaved in rotating order, each round on a
fresh instance UUID (its allocations are removed after, untimed):
an ordinary 2-vCPU flavor, a real-time 4-vCPU flavor asking placement for
the ready trait, and the same real-time flavor without it.
"""

import logging
import os
import sys
import time
import unittest
import uuid
import warnings

if __name__ == '__main__' and __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

import tests  # noqa: F401  (nova's monkey patching first)

from nova import context as nova_context  # noqa: E402,I100
from nova.db.main import api as main_db  # noqa: E402
from nova import objects  # noqa: E402
from nova import test  # noqa: E402
from nova.tests.functional import fixtures as func_fixtures  # noqa: E402
from nova.virt import hardware  # noqa: E402
from placement import db_api as placement_db  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy import exc as sa_exc  # noqa: E402

from benchmarks import stats  # noqa: E402
from benchmarks import table  # noqa: E402
from nova_rt import conf as rt_conf  # noqa: E402
from nova_rt.host import facts as host_facts  # noqa: E402
from nova_rt.scheduler import prefilter  # noqa: E402
from tests import scheduler_fakes  # noqa: E402

READY_SHARE = 0.01
SHAPE = scheduler_fakes.SHAPES['2s-16c-ht']
KINDS = ('ordinary', 'rt_trait', 'rt_no_trait')
RT_SPECS = {'hw:cpu_policy': 'dedicated', 'hw:cpu_realtime': 'yes',
            'hw:cpu_realtime_mask': '^0'}


def _template_state(ready):
    """(stats, numa topology JSON, shared CPUs, dedicated CPUs)."""
    facts = None if ready else host_facts.HostFacts(
        ready=False, kernel='preempt', isolated_cpus=frozenset())
    state = scheduler_fakes.host_state('template', *SHAPE, facts=facts)
    cells = state.numa_topology.cells
    shared = sum(len(c.cpuset) for c in cells)
    dedicated = sum(len(c.pcpuset) for c in cells)
    return (state.stats, state.numa_topology._to_json(), shared, dedicated,
            state.total_usable_ram_mb)


class _Checked:
    """Placement's API client, raising on any error status."""

    def __init__(self, api):
        self._api = api

    def __getattr__(self, verb):
        def call(*args, **kwargs):
            response = getattr(self._api, verb)(*args, **kwargs)
            if response.status >= 400:
                raise RuntimeError('placement %s %s: %d %s' % (
                    verb.upper(), args[0], response.status,
                    response.content))
            return response
        return call


class FleetScheduling(test.TestCase):
    """Not a test: the fixtures of Nova's test framework, used to time."""

    SIZES = (1000, 10000)
    ROUNDS = 12
    result = None

    def setUp(self):
        rt_conf.nova_conf()
        super().setUp()
        warnings.filterwarnings('ignore', message=r'The noload\(\) option',
                                category=sa_exc.SADeprecationWarning)
        # Production logs at INFO: debug lines are not even formatted.
        logging.getLogger().setLevel(logging.INFO)
        self.placement = self.useFixture(func_fixtures.PlacementFixture())
        self.flags(service_down_time=86400)
        self.flags(available_filters=[
            'nova.scheduler.filters.all_filters',
            'nova_rt.scheduler.filters.RealtimeFilter'],
            group='filter_scheduler')
        self.flags(enabled_filters=[
            'ComputeFilter', 'ComputeCapabilitiesFilter',
            'ImagePropertiesFilter', 'ServerGroupAntiAffinityFilter',
            'ServerGroupAffinityFilter', 'RealtimeFilter',
            'NUMATopologyFilter'], group='filter_scheduler')
        self.flags(weight_classes=[
            'nova.scheduler.weights.all_weighers',
            'nova_rt.scheduler.weights.RealtimeWeigher'],
            group='filter_scheduler')
        self.ctxt = nova_context.get_admin_context()
        self.cell = self.cell_mappings[test.CELL1_NAME]
        self.hosts = 0
        self.names = []

    # --- the fleet --------------------------------------------------------

    def _placement_provider(self, name, ready):
        """One provider through placement's REST API -> its DB rows."""
        _, _, shared, dedicated, ram = _template_state(ready)
        rp = str(uuid.uuid4())
        api = _Checked(self.placement.api)
        api.post('/resource_providers', {'uuid': rp, 'name': name},
                 version='1.20')
        inventories = {
            'VCPU': {'total': shared, 'allocation_ratio': 4.0},
            'PCPU': {'total': dedicated, 'allocation_ratio': 1.0},
            'MEMORY_MB': {'total': ram, 'allocation_ratio': 1.0},
            'DISK_GB': {'total': 10000, 'allocation_ratio': 1.0}}
        api.put('/resource_providers/%s/inventories' % rp,
                {'resource_provider_generation': 0,
                 'inventories': inventories})
        traits = ['COMPUTE_NODE', 'OWNER_NOVA', 'HW_CPU_X86_AVX2']
        if ready:
            api.put('/traits/%s' % host_facts.TRAIT_READY, None,
                    version='1.6')
            traits.append(host_facts.TRAIT_READY)
        api.put('/resource_providers/%s/traits' % rp,
                {'resource_provider_generation': 1, 'traits': traits},
                version='1.6')
        return rp

    def _nova_node(self, name, rp, ready):
        stats, numa, shared, dedicated, ram = _template_state(ready)
        with nova_context.target_cell(self.ctxt, self.cell) as cctxt:
            service = objects.Service(cctxt, host=name,
                                      binary='nova-compute',
                                      topic='compute', report_count=1)
            service.create()
            node = objects.ComputeNode(
                cctxt, host=name, hypervisor_hostname=name, uuid=rp,
                vcpus=shared + dedicated, memory_mb=ram, local_gb=10000,
                vcpus_used=0, memory_mb_used=0, local_gb_used=0,
                hypervisor_type='QEMU', hypervisor_version=10000000,
                cpu_info='{}', free_ram_mb=ram, free_disk_gb=10000,
                current_workload=0, running_vms=0,
                disk_available_least=10000, host_ip='127.0.0.1',
                supported_hv_specs=[], stats=stats, numa_topology=numa,
                cpu_allocation_ratio=4.0, ram_allocation_ratio=1.0,
                disk_allocation_ratio=1.0, service_id=service.id)
            node.create()

    def grow(self, count):
        """Grow the fleet to ``count`` hosts, 1 % of them ready."""
        templates = {}
        for ready in (True, False):
            name = 'template-%s' % ('ready' if ready else 'plain')
            if self.hosts < 2:
                rp = self._placement_provider(name, ready)
                self._nova_node(name, rp, ready)
                self.names.append(name)
                self.hosts += 1
            templates[ready] = name
        new = []
        every = int(round(1 / READY_SHARE))
        while self.hosts + len(new) < count:
            n = self.hosts + len(new)
            new.append(('host%05d' % n, n % every == 0, str(uuid.uuid4())))
        batches = [(templates[ready], [h for h in new if h[1] == ready])
                   for ready in (True, False)]
        batches = [(t, b) for t, b in batches if b]
        if batches:
            self._clone_placement(batches)
            self._clone_nova(batches)
        self.hosts += len(new)
        self.names.extend(name for name, _, _ in new)

    @staticmethod
    def _one(conn, table, column, value):
        return dict(conn.execute(sa.select(table).where(
            table.c[column] == value)).mappings().one())

    @staticmethod
    def _next_ids(conn, table, count):
        top = conn.execute(sa.select(sa.func.max(table.c.id))).scalar()
        return list(range(top + 1, top + 1 + count))

    def _clone_placement(self, batches):
        """Copies of each template provider: its inventories and traits
        too, in one transaction.
        """
        engine = placement_db.get_placement_engine()
        meta = sa.MetaData()
        rps = sa.Table('resource_providers', meta, autoload_with=engine)
        children = [sa.Table(name, meta, autoload_with=engine)
                    for name in ('inventories', 'resource_provider_traits')]
        with engine.begin() as conn:
            for template, batch in batches:
                row = self._one(conn, rps, 'name', template)
                ids = self._next_ids(conn, rps, len(batch))
                conn.execute(rps.insert(), [
                    dict(row, id=i, uuid=rp, name=name, root_provider_id=i,
                         parent_provider_id=None)
                    for i, (name, _, rp) in zip(ids, batch)])
                for tbl in children:
                    rows = [dict(r) for r in conn.execute(
                        sa.select(tbl).where(
                            tbl.c.resource_provider_id == row['id']
                        )).mappings()]
                    for r in rows:
                        r.pop('id', None)
                    conn.execute(tbl.insert(), [
                        dict(r, resource_provider_id=i)
                        for i in ids for r in rows])

    def _clone_nova(self, batches):
        """Copies of each template's service and compute node."""
        with nova_context.target_cell(self.ctxt, self.cell) as cctxt:
            engine = main_db.get_engine(context=cctxt)
            meta = sa.MetaData()
            services = sa.Table('services', meta, autoload_with=engine)
            nodes = sa.Table('compute_nodes', meta, autoload_with=engine)
            with engine.begin() as conn:
                for template, batch in batches:
                    srow = self._one(conn, services, 'host', template)
                    nrow = self._one(conn, nodes, 'host', template)
                    ids = self._next_ids(conn, services, len(batch))
                    conn.execute(services.insert(), [
                        dict(srow, id=i, host=name, uuid=str(uuid.uuid4()))
                        for i, (name, _, _) in zip(ids, batch)])
                    nrow.pop('id')
                    conn.execute(nodes.insert(), [
                        dict(nrow, host=name, hypervisor_hostname=name,
                             uuid=rp, service_id=i)
                        for i, (name, _, rp) in zip(ids, batch)])

    # --- the requests -----------------------------------------------------

    def spec(self, kind):
        if kind == 'ordinary':
            vcpus, extra = 2, {}
        else:
            vcpus, extra = 4, dict(RT_SPECS)
            if kind == 'rt_trait':
                extra.update(prefilter.trait_spec(lab_mode=False))
        flavor = objects.Flavor(
            name=kind, flavorid=kind, vcpus=vcpus, memory_mb=1024 * vcpus,
            root_gb=1, ephemeral_gb=0, swap=0, extra_specs=extra,
            disabled=False, is_public=True, rxtx_factor=1.0,
            vcpu_weight=0, description=None)
        image = objects.ImageMeta.from_dict({'properties': {}})
        instance_uuid = str(uuid.uuid4())
        spec = objects.RequestSpec.from_components(
            self.ctxt, instance_uuid, image, flavor,
            hardware.numa_get_constraints(flavor, image),
            objects.InstancePCIRequests(requests=[]), {}, None, None,
            user_id='bench-user')
        spec.project_id = 'bench-project'
        return spec

    def schedule(self, manager, kind):
        """-> (seconds, chosen host); the allocations are removed after."""
        spec = self.spec(kind)
        start = time.perf_counter()
        selections = manager.select_destinations(
            self.ctxt, spec_obj=spec, instance_uuids=[spec.instance_uuid],
            return_objects=True, return_alternates=False)
        elapsed = time.perf_counter() - start
        self.placement.api.delete('/allocations/%s' % spec.instance_uuid)
        return elapsed, selections[0][0].service_host

    def test_fleet(self):
        scheduler = self.start_service('scheduler')
        manager = scheduler.manager
        result = {}
        for size in self.SIZES:
            start = time.perf_counter()
            self.grow(size)
            # nova-compute's periodic sync_instance_info tells the
            # scheduler each host's instances: none here.
            for name in self.names:
                manager.host_manager._instance_info[name] = {
                    'instances': {}, 'updated': True}
            setup = time.perf_counter() - start
            # One untimed request of each kind loads the host states.
            for kind in KINDS:
                self.schedule(manager, kind)
            times = {kind: [] for kind in KINDS}
            hosts = {kind: set() for kind in KINDS}
            for r in range(self.ROUNDS):
                for kind in stats.rotated(KINDS, r):
                    elapsed, host = self.schedule(manager, kind)
                    times[kind].append(elapsed)
                    hosts[kind].add(host)
            result[size] = {'setup_s': setup, 'times': times,
                            'hosts': {k: sorted(v) for k, v in hosts.items()}}
        type(self).result = result


def run(sizes=FleetScheduling.SIZES, rounds=FleetScheduling.ROUNDS):
    """-> {size: {'setup_s', 'times': {kind: [s]}, 'hosts': ...}}"""
    FleetScheduling.SIZES = tuple(sizes)
    FleetScheduling.ROUNDS = rounds
    FleetScheduling.result = None
    outcome = unittest.TestResult()
    FleetScheduling('test_fleet').run(outcome)
    if not outcome.wasSuccessful():
        raise RuntimeError(''.join(
            trace for _, trace in outcome.errors + outcome.failures))
    return FleetScheduling.result


GOAL = 1.0
GOAL_HOSTS = 10000


def figures(quick=False):
    sizes = (200,) if quick else (1000, GOAL_HOSTS)
    result = run(sizes, rounds=6 if quick else FleetScheduling.ROUNDS)
    rows = []
    for size in sizes:
        r = result[size]
        times = r['times']
        ordinary = stats.median(times['ordinary'])
        for kind, label in (('rt_trait', 'real-time with the ready trait'),
                            ('rt_no_trait', 'real-time without the trait')):
            s = stats.compare(times['ordinary'], times[kind])
            at_goal = size == GOAL_HOSTS and kind == 'rt_trait'
            rows.append(table.Row(
                'select_destinations, %d hosts: %s / ordinary'
                % (size, label),
                '<= %.1f' % GOAL if at_goal else '-',
                '%.0f vs %.0f ms' % (s['other'] * 1e3, ordinary * 1e3),
                stats.verdict_of(s, GOAL) if at_goal else stats.INFO,
                ratio=s['ratio'], low=s['low'], high=s['high'],
                note='' if kind == 'rt_no_trait' else (
                    'real placement + Nova scheduler, 1 %% ready; median '
                    'of %d interleaved rounds; fleet set up in %.1f s'
                    % (s['n'], r['setup_s']))))
    return rows


def main(argv=None):
    return table.module_main(figures, __doc__.splitlines()[0], argv)


if __name__ == '__main__':
    sys.exit(main())
