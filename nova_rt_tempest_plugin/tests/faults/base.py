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
"""What the faults tier's tests share: servers of several tenants, the
end state of a server after a fault, and the account of everything a
server could leave behind (allocation, domain, QEMU, instance directory).

The faults tier (``tools/run-tests.sh faults``) runs these on the cloud
the integration tier used, one test at a time.
"""

import time

from nova_rt_tempest_plugin import faultdetails
from nova_rt_tempest_plugin.tests import test_cloud
from oslo_log import log as logging
from tempest import config
from tempest.lib.common.utils import data_utils
from tempest.lib import exceptions as lib_exc
from tempest.lib.services.placement import base_placement_client

from nova_rt.core import cpuset

CONF = config.CONF
LOG = logging.getLogger(__name__)

FINAL = ('ACTIVE', 'ERROR')


class FaultsTest(test_cloud.CloudTest):
    """Three tenants (primary, alt, admin) and the cloud's services."""

    credentials = ['primary', 'alt', 'admin']

    def setUp(self):
        super().setUp()
        # One dedicated CPU a host: the scheduler must see the CPUs the
        # previous test freed.
        self.wait_usage_settled()

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        cls.tenants = [cls.os_primary.servers_client,
                       cls.os_alt.servers_client,
                       cls.os_admin.servers_client]

    # -- servers ------------------------------------------------------------
    def create(self, flavor, client=None, **kwargs):
        """A server of a tenant (the primary one unless told), not waited
        for; deleted, and waited for, at cleanup by the admin.
        """
        client = client or self.servers_client
        name = data_utils.rand_name(prefix=CONF.resource_name_prefix,
                                    name='nrt-fault')
        kwargs.setdefault('imageRef', CONF.compute.image_ref)
        server = client.create_server(name=name, flavorRef=flavor,
                                      networks='none', **kwargs)['server']
        self.addCleanup(self.delete_as_admin, server['id'])
        return server

    def delete_as_admin(self, server_id, timeout=None):
        client = self.admin_servers_client
        try:
            client.delete_server(server_id)
        except lib_exc.NotFound:
            return
        self.wait_gone(server_id, timeout)

    def wait_gone(self, server_id, timeout=None):
        deadline = time.monotonic() + (timeout or CONF.compute.build_timeout)
        while True:
            try:
                state = self.admin_show(server_id)
            except lib_exc.NotFound:
                return
            if state['status'] == 'DELETED':
                return
            self.assertLess(time.monotonic(), deadline,
                            'server %s not gone: %s/%s' % (
                                server_id, state['status'],
                                state.get('OS-EXT-STS:task_state')))
            time.sleep(1)

    def wait_final(self, server_id, timeout=None):
        """The server once ACTIVE or ERROR with no task running."""
        deadline = time.monotonic() + (timeout or CONF.compute.build_timeout)
        while True:
            state = self.admin_show(server_id)
            if state['status'] in FINAL and \
                    not state.get('OS-EXT-STS:task_state'):
                return state
            self.assertLess(time.monotonic(), deadline,
                            'server %s still %s/%s' % (
                                server_id, state['status'],
                                state.get('OS-EXT-STS:task_state')))
            time.sleep(1)

    def assert_clean_fault(self, state):
        """An ERROR server failed for Nova's reasons, not through an
        unexpected error in nova-rt: Nova writes an unexpected error's
        traceback to the fault's ``details`` (the admin sees them), and no
        exception of it may have been raised in nova-rt's code.
        """
        fault = state.get('fault') or {}
        details = fault.get('details') or ''
        LOG.info('server %s %s, fault: %s (details: %s)', state['id'],
                 state['status'], fault.get('message'), details[-2000:])
        self.assertEqual([], faultdetails.raised_in_nova_rt(details),
                         'server %s failed in nova-rt: %s' % (
                             state['id'], details))

    def realtime_flavor(self, priority=10):
        self.require_pcpus(1, 'the real-time vCPU')
        return self.flavor(2, dict(test_cloud.base.RT_TWO, **{
            'rt:vcpu_priority': str(priority)}))

    # -- placement ----------------------------------------------------------
    def providers(self):
        """{compute host name: resource provider uuid}."""
        return {rp['name']: rp['uuid'] for rp in
                self.os_admin.resource_providers_client
                .list_resource_providers()['resource_providers']}

    def pcpus_used(self):
        """{host: PCPUs placement counts as used}."""
        client = self.os_admin.resource_providers_client
        return {host: client.list_resource_provider_usages(uuid)[
                    'usages'].get('PCPU', 0)
                for host, uuid in self.providers().items()}

    def traits(self, host):
        self.addCleanup(setattr, base_placement_client,
                        'PLACEMENT_MICROVERSION',
                        base_placement_client.PLACEMENT_MICROVERSION)
        base_placement_client.PLACEMENT_MICROVERSION = '1.6'
        return sorted(self.os_admin.resource_providers_client
                      .list_resource_provider_traits(
                          self.providers()[host])['traits'])

    # -- the host side ------------------------------------------------------
    def realtime_pins(self, server_id):
        """{(host, CPU)} of the real-time vCPUs of a server."""
        host, _ = self.where(server_id)
        dom = self.domain(server_id)
        return {(host, cpu) for vcpu, _ in dom.vcpusched.items()
                for cpu in dom.vcpupins[vcpu]}

    def steady_threads(self, server_id):
        """The QEMU process and its vCPU threads (QEMU's workers come and
        go on their own): {tid: (comm, class, priority, allowed CPUs)}.
        """
        threads = self.threads(server_id)
        pid = min(t.tid for t in threads)
        return {t.tid: (t.comm, t.policy, t.priority, t.allowed)
                for t in threads if t.tid == pid or t.vcpu is not None}

    def leftovers(self, servers):
        """What the deleted ``servers`` ({id: domain name}) left anywhere:
        one line each, none when clean.
        """
        found = ['allocation of %s: %s' % item
                 for item in self.allocations_left(servers).items()]
        names = set(servers.values())
        for host in self.hosts():
            for name in names & set(self.host_access.domain_names(host)):
                found.append('domain %s on %s' % (name, host))
            for name in names & set(self.host_access.qemu_guests(host)):
                found.append('QEMU of %s running (seen from %s)'
                             % (name, host))
            for entry in self.host_access.entries(
                    host, CONF.nova_rt.instances_path):
                if any(entry.startswith(s) for s in servers):
                    found.append('instance directory %s on %s'
                                 % (entry, host))
        return found

    def assert_no_leftovers(self, servers):
        found = self.leftovers(servers)
        LOG.info('leftovers of %d server(s): %d', len(servers), len(found))
        self.assertEqual([], found)

    def assert_pcpus_match_pins(self, server_ids, claimed=()):
        """Placement's PCPU usage is the pins of the ACTIVE real-time
        servers, and no two of them share a CPU; plus the PCPUs placement
        holds for the ``claimed`` servers, which run nowhere (see
        test_outage).
        """
        pins = []
        for server_id in server_ids:
            pins.extend(self.realtime_pins(server_id))
        self.assertEqual(len(pins), len(set(pins)),
                         'real-time pins overlap: %s' % sorted(pins))
        per_host = {}
        for host, _ in pins:
            per_host[host] = per_host.get(host, 0) + 1
        hosts = {uuid: host for host, uuid in self.providers().items()}
        for server_id in claimed:
            for uuid, alloc in self.allocations(server_id).items():
                pcpus = alloc['resources'].get('PCPU', 0)
                if pcpus:
                    per_host[hosts[uuid]] = per_host.get(
                        hosts[uuid], 0) + pcpus
        used = {h: n for h, n in self.pcpus_used().items() if n}
        self.assertEqual(per_host, used, 'placement PCPU usage vs pins')
        return pins

    def free_pcpus(self):
        """Dedicated CPUs no server holds, over every compute."""
        dedicated = len(self.dedicated)
        return sum(dedicated - n for n in self.pcpus_used().values())


def fmt_cpus(pins):
    return ', '.join('%s:%s' % (h, cpuset.format({c})) for h, c in
                     sorted(pins))
