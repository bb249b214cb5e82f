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
"""Real Nova scheduler objects for nova-rt's scheduler tests and
benchmarks: HostState objects with libvirt-like NUMA topologies and the
RequestSpec of real-time flavors.
"""

import random

from nova import objects
from nova.scheduler import host_manager
from nova.virt import hardware

from nova_rt.host import facts as host_facts

objects.register_all()

# Real host shapes: (NUMA cells, cores per cell, threads per core,
# housekeeping cores per cell). Every other core is isolated and in
# [compute] cpu_dedicated_set.
SHAPES = {
    '2s-16c-ht': (2, 16, 2, 2),   # dual-socket Xeon, SMT on
    '2s-12c': (2, 12, 1, 2),      # dual-socket, SMT off
    '4n-8c-ht': (4, 8, 2, 1),     # EPYC NPS4, SMT on
    '2s-10c-ht': (2, 10, 2, 2),   # dual-socket, small cores count
    '1s-24c': (1, 24, 1, 2),      # single-socket, SMT off
    '1s-16c': (1, 16, 1, 2),      # single-socket edge box
    '1s-12c-ht': (1, 12, 2, 2),   # single-socket edge box, SMT on
}
FLEET_MIX = tuple(SHAPES)
MB_PER_CELL = 192 * 1024


def host_state(name, cells, cores, threads, housekeeping, facts=None,
               occupancy=0.0, rng=None):
    """A real HostState with a libvirt-like NUMA topology."""
    numa_cells, isolated = [], set()
    cpus_per_cell = cores * threads
    for cell in range(cells):
        base = cell * cpus_per_cell
        # Linux numbering: thread t of core c is base + t * cores + c.
        siblings = [set(base + t * cores + c for t in range(threads))
                    for c in range(cores)]
        shared = set().union(*siblings[:housekeeping])
        dedicated = set().union(*siblings[housekeeping:])
        pinned = set()
        if occupancy and rng is not None:
            pinned = set(rng.sample(sorted(dedicated),
                                    int(len(dedicated) * occupancy *
                                        rng.random())))
        isolated |= dedicated
        numa_cells.append(objects.NUMACell(
            id=cell, socket=cell, cpuset=shared, pcpuset=dedicated,
            memory=MB_PER_CELL, memory_usage=0, cpu_usage=0,
            pinned_cpus=pinned, siblings=siblings,
            mempages=[objects.NUMAPagesTopology(
                size_kb=4, total=MB_PER_CELL * 256, used=0, reserved=0),
                objects.NUMAPagesTopology(
                size_kb=2048, total=0, used=0, reserved=0)]))
    state = host_manager.HostState(name, name, None)
    state.numa_topology = objects.NUMATopology(cells=numa_cells)
    total = cells * cpus_per_cell
    state.vcpus_total = total
    state.vcpus_used = 0
    state.total_usable_ram_mb = state.free_ram_mb = cells * MB_PER_CELL
    state.total_usable_disk_gb = 10000
    state.free_disk_mb = 10000 * 1024
    state.cpu_allocation_ratio = 1.0
    state.ram_allocation_ratio = 1.0
    state.disk_allocation_ratio = 1.0
    state.hypervisor_version = 10000000
    state.allocation_candidates = [{'mappings': {}}]
    if facts is None:
        facts = host_facts.HostFacts(
            ready=True, kernel='preempt_rt',
            isolated_cpus=frozenset(isolated), kthread_prio=50)
    state.stats = host_facts.to_stats(facts)
    return state


def flavor_spec(vcpus, emulator_isolate=False, numa_nodes=1, name='rt'):
    """A RequestSpec as the scheduler gets it, NUMA constraints included."""
    extra = {'hw:cpu_policy': 'dedicated', 'hw:cpu_realtime': 'yes',
             'hw:cpu_realtime_mask': '^0'}
    if emulator_isolate:
        extra['hw:emulator_threads_policy'] = 'isolate'
    if numa_nodes > 1:
        extra['hw:numa_nodes'] = str(numa_nodes)
    flavor = objects.Flavor(name=name, flavorid=name, vcpus=vcpus,
                            memory_mb=1024 * vcpus, root_gb=1,
                            ephemeral_gb=0, swap=0, extra_specs=extra)
    image = objects.ImageMeta.from_dict({'properties': {}})
    spec = objects.RequestSpec(
        flavor=flavor, image=image, num_instances=1,
        instance_uuid='00000000-0000-0000-0000-%012d' % vcpus,
        numa_topology=hardware.numa_get_constraints(flavor, image),
        pci_requests=objects.InstancePCIRequests(requests=[]),
        scheduler_hints={}, requested_resources=[], instance_group=None,
        force_hosts=None, force_nodes=None, ignore_hosts=None)
    return spec


def cost_fleet(count, seed):
    rng = random.Random(seed)
    fleet = []
    for i in range(count):
        cells = rng.choice((2, 2, 4, 8))
        threads = rng.choice((1, 2))
        cores = {2: 16, 4: 8, 8: 6}[cells]
        fleet.append(host_state('cost%05d' % i, cells, cores, threads, 1,
                                occupancy=0.9, rng=rng))
    return fleet


def fresh_candidates(hosts):
    """Each request gets its allocation candidates from placement anew;
    NUMATopologyFilter drops the candidates of the hosts it rejects.
    """
    for state in hosts:
        state.allocation_candidates = [{'mappings': {}}]
