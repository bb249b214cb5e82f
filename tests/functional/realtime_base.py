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
"""Nova's in-process cloud with nova-rt's driver on fake-libvirt computes.

Each compute gets a host tree (tests/host_trees) that matches its fake
libvirt topology, so the driver's audit and facts are real. The raw XML the
driver hands to libvirt is captured where it is defined: the fake libvirt's
XMLDesc() drops the elements nova-rt adds.
"""

import copy
import json
import os
import warnings

import fixtures
from lxml import etree
from nova import context as nova_context
from nova import objects
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional.libvirt import base
from sqlalchemy import exc as sa_exc

from nova_rt import conf as rt_conf
from nova_rt.core import cpuset
from nova_rt.core import request as rt_request
from tests.host_trees import build

DOMAIN_DIR = os.environ.get('NOVA_RT_DOMAIN_DIR') or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), '.artifacts', 'domains')

# The fake glance image whose kernel_id makes Nova boot a kernel directly.
DIRECT_KERNEL_IMAGE = 'c905cedb-7281-47e4-8a62-f26bc5fc4c77'

RT = {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated'}


_AS_RECORDED = object()


def host_description(nodes, cores_per_node, housekeeping, kthread_prio=50,
                     ready=True, cat=True, l3_per_node=1,
                     latency_certificate=_AS_RECORDED):
    """A tuned host of ``nodes`` x ``cores_per_node`` CPUs (no SMT) whose
    CPUs outside ``housekeeping`` are isolated. ``latency_certificate``:
    the fields ``tests/host_trees/build.py`` certifies the host with
    (None: never measured; default: the recorded tree's, 18 us).
    """
    desc = copy.deepcopy(build.load('tuned-dual-socket'))
    cpus = frozenset(range(nodes * cores_per_node))
    hk = cpuset.format(housekeeping)
    isolated = cpuset.format(cpus - frozenset(housekeeping))
    desc['topology'] = {'nodes': nodes, 'cores_per_node': cores_per_node,
                        'threads': 1, 'l3_per_node': l3_per_node}
    desc['cmdline'] = (
        'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro skew_tick=1 tsc=reliable '
        'nosoftlockup isolcpus=managed_irq,domain,%(iso)s nohz=on '
        'nohz_full=%(iso)s rcu_nocbs=%(iso)s irqaffinity=%(hk)s '
        'transparent_hugepage=never' % {'iso': isolated, 'hk': hk})
    desc['isolated'] = isolated if ready else ''
    desc['nohz_full'] = isolated
    desc['irqs'] = {'first': 24, 'count': 8, 'affinity': hk}
    desc['workqueue'] = hk
    desc['kthreads'] = {'kinds': {'ksoftirqd': ['fifo', kthread_prio],
                                  'ktimers': ['fifo', kthread_prio + 1],
                                  'rcuc': ['fifo', kthread_prio + 2]},
                        'children_file': True}
    desc['hugepages'] = {1048576: [4] * nodes}
    if not cat:
        desc.pop('resctrl')
    if latency_certificate is not _AS_RECORDED:
        desc['latency_certificate'] = latency_certificate
    desc['nova_conf'] = {'cpu_dedicated_set': isolated,
                         'cpu_shared_set': hk}
    desc.pop('expect', None)
    return desc


class PatientWaits(object):
    """Nova's functional helpers wait for a state with a fixed number of
    polls (10 of 0.5 s: about 5 s). ``.ci/run`` runs the older releases'
    functional tiers niced beside its real clouds, where a reschedule
    through two host audits took longer than that (2024.1, a test's
    server still BUILD after 10 polls in 64 s). Each wait here tries
    Nova's helper again until ``ROUNDS`` of them found nothing: the same
    condition, a bound of minutes instead of seconds.
    """

    ROUNDS = 24

    def _patiently(self, wait, *args, **kwargs):
        for round_ in range(self.ROUNDS):
            try:
                return wait(*args, **kwargs)
            except self.failureException:
                if round_ == self.ROUNDS - 1:
                    raise

    def _wait_for_server_parameter(self, *args, **kwargs):
        return self._patiently(super()._wait_for_server_parameter,
                               *args, **kwargs)

    def _wait_for_migration_status(self, *args, **kwargs):
        return self._patiently(super()._wait_for_migration_status,
                               *args, **kwargs)

    def _wait_for_instance_action_event(self, *args, **kwargs):
        return self._patiently(super()._wait_for_instance_action_event,
                               *args, **kwargs)

    def _wait_for_assert(self, *args, **kwargs):
        return self._patiently(super()._wait_for_assert, *args, **kwargs)


class RealtimeDriverTestBase(PatientWaits, base.ServersTestBase):
    """Computes run nova_rt.driver.RealtimeLibvirtDriver."""

    ADDITIONAL_FILTERS = ['NUMATopologyFilter', 'RealtimeFilter']
    microversion = 'latest'
    ADMIN_API = True

    def setUp(self):
        # [nova_rt] on nova's CONF before self.flags(group='nova_rt').
        rt_conf.nova_conf()
        self.defined = {}
        super().setUp()
        # Nova 34 still calls noload(), which SQLAlchemy 2.1 deprecates and
        # Nova's own warnings fixture turns into an error: setting an
        # instance to ERROR (any failed boot) would fail in Nova itself.
        warnings.filterwarnings(
            'ignore', message='The noload',
            category=sa_exc.SADeprecationWarning)
        real_define = fakelibvirt.Connection.defineXML

        def define(conn, xml):
            name = etree.fromstring(xml).findtext('uuid')
            self.defined.setdefault(name, []).append(xml)
            return real_define(conn, xml)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Connection.defineXML', define))
        self.trees = self.useFixture(fixtures.TempDir()).path
        # hostname -> CPUs per L3 cache domain (cache id = CPU // this)
        self.l3_size = {}
        # hostname -> the root of its recorded host tree
        self.roots = {}

    def _setup_scheduler_service(self):
        self.flags(available_filters=[
            'nova.scheduler.filters.all_filters',
            'nova_rt.scheduler.filters.RealtimeFilter'],
            group='filter_scheduler')
        return super()._setup_scheduler_service()

    def _setup_compute_service(self):
        self.flags(compute_driver='nova_rt.driver.RealtimeLibvirtDriver')

    def start_realtime_compute(self, hostname, nodes, cores_per_node,
                               housekeeping, **desc_kwargs):
        """A compute whose fake libvirt and host tree agree."""
        desc = host_description(nodes, cores_per_node, housekeeping,
                                **desc_kwargs)
        root = build.build(desc, os.path.join(self.trees, hostname))
        self.roots[hostname] = root
        self.l3_size[hostname] = cores_per_node // desc['topology'].get(
            'l3_per_node', 1)
        self.flags(host_root=root, group='nova_rt')
        self.flags(cpu_dedicated_set=desc['nova_conf']['cpu_dedicated_set'],
                   cpu_shared_set=desc['nova_conf']['cpu_shared_set'],
                   group='compute')
        self.start_compute(hostname, host_info=fakelibvirt.HostInfo(
            cpu_nodes=nodes, cpu_sockets=1, cpu_cores=cores_per_node,
            cpu_threads=1, kB_mem=16 * 1024 * 1024))
        return root

    def break_isolation(self, hostname):
        """The host's kernel isolates no CPU any more: not ready."""
        path = self.roots[hostname] + '/sys/devices/system/cpu/isolated'
        with open(path, 'w') as f:
            f.write('\n')

    # --- what the driver wrote -------------------------------------------

    def domain_xml(self, server, index=-1):
        """The raw XML last defined for ``server`` (parsed)."""
        return etree.fromstring(self.defined[server['id']][index])

    def pinning(self, server):
        """vCPU -> host CPU, and the reserved emulator CPUs, from Nova's
        own record of the claim (independent of the XML).
        """
        topology = objects.InstanceNUMATopology.get_by_instance_uuid(
            nova_context.get_admin_context(), server['id'])
        pins, reserved = {}, set()
        for cell in topology.cells:
            pins.update(cell.cpu_pinning)
            reserved |= set(cell.cpuset_reserved or ())
        return pins, frozenset(reserved)

    def request_of(self, server, image_properties=None):
        flavor = self.api.get_server(server['id'])['flavor']
        return rt_request.build_request(
            flavor['vcpus'], flavor['extra_specs'], image_properties,
            rt_request.RequestPolicy())

    def expected_emulator_cpus(self, server, request, shared=None):
        pins, reserved = self.pinning(server)
        if request.emulator_threads_policy == 'isolate':
            return reserved
        if request.emulator_threads_policy == 'share':
            return frozenset(shared)
        return frozenset(pins[v] for v in request.housekeeping_vcpus)

    def facts_of(self, hostname):
        return self.computes[hostname].driver.realtime_host().facts

    # --- for the real libvirt tier ----------------------------------------

    def save_scenario(self, name, server, request, emulator_cpus,
                      direct_kernel_boot=False, cache_kib=None):
        """Write the raw XML and the core's expectations for tests/real."""
        pins, _ = self.pinning(server)
        used = set(pins.values()) | set(emulator_cpus)
        expectations = {
            'name': name,
            'vcpus': request.vcpus,
            'realtime_vcpus': cpuset.format(request.realtime_vcpus),
            'housekeeping_vcpus': cpuset.format(request.housekeeping_vcpus),
            'vcpu_scheduler': request.vcpu_thread.scheduler,
            'vcpu_priority': request.vcpu_thread.priority,
            'emulator_scheduler': request.emulator_thread.scheduler,
            'emulator_priority': request.emulator_thread.priority,
            'vcpu_pins': {str(v): str(p) for v, p in sorted(pins.items())},
            'emulator_cpuset': cpuset.format(emulator_cpus),
            'guest_kernel_args': ' '.join(request.guest_kernel_args()),
            'oem_strings': request.to_dict()['oem_strings'],
            'direct_kernel_boot': direct_kernel_boot,
            'pmu': request.pmu,
            'hint_dedicated': True,
            'locked_memory': True,
            'cachetune': ({'vcpus': cpuset.format(request.realtime_vcpus),
                           'cache_kib': cache_kib} if cache_kib else None),
            'bootable': used <= {0, 1},
        }
        os.makedirs(DOMAIN_DIR, exist_ok=True)
        with open(os.path.join(DOMAIN_DIR, name + '.xml'), 'w') as f:
            f.write(self.defined[server['id']][-1])
        with open(os.path.join(DOMAIN_DIR, name + '.json'), 'w') as f:
            json.dump(expectations, f, indent=2, sort_keys=True)


def element_dict(element):
    """An element as (tag, attributes, text, children) for whole-element
    comparisons that read well in a failure.
    """
    return (element.tag, dict(element.attrib), (element.text or '').strip(),
            [element_dict(child) for child in element])
