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
"""What every nova-rt tempest test shares: flavors made by the admin,
servers booted by the tenant, and the compute host read from outside."""

import time

from nova_rt_tempest_plugin import figures
from nova_rt_tempest_plugin import hostside
from oslo_log import log as logging
from tempest.api.compute import base
from tempest.common import waiters
from tempest import config
from tempest.lib.common.utils import data_utils
from tempest.lib import exceptions as lib_exc

from nova_rt.core import cpuset

CONF = config.CONF
LOG = logging.getLogger(__name__)

# A 2-vCPU real-time flavor with one housekeeping vCPU: vCPU 1 real-time
# on a dedicated host CPU, vCPU 0 floating on the shared ones.
RT_TWO = {'hw:cpu_policy': 'mixed', 'hw:cpu_realtime': 'yes',
          'hw:cpu_realtime_mask': '^0'}
# The same with every vCPU pinned.
RT_TWO_DEDICATED = dict(RT_TWO, **{'hw:cpu_policy': 'dedicated'})
PINNED = {'hw:cpu_policy': 'dedicated'}
# An ordinary server: no policy, its vCPUs float on the shared CPUs.
UNPINNED = {}


class RealtimeTest(base.BaseV2ComputeAdminTest):

    # Flavor extra-spec validation (our rt: validators) needs 2.86.
    min_microversion = '2.86'
    max_microversion = 'latest'

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.service_available.nova_rt:
            raise cls.skipException('nova-rt is not available '
                                    '([service_available] nova_rt)')

    @classmethod
    def resource_setup(cls):
        super().resource_setup()
        group = CONF.nova_rt
        cls.host_access = hostside.HostAccess(
            group.host_access, group.ssh_user, group.ssh_key_file,
            group.libvirt_uri, host_command=group.host_command)
        cls.dedicated = cpuset.parse(group.dedicated_cpus,
                                     '[nova_rt] dedicated_cpus') \
            if group.dedicated_cpus else frozenset()
        cls.shared = cpuset.parse(group.shared_cpus,
                                  '[nova_rt] shared_cpus') \
            if group.shared_cpus else frozenset()

    def record_figures(self, source, measured):
        """Write what this test measured ({key: value}) for the docs'
        figure blocks, when ``[nova_rt] figures_dir`` is set.
        """
        LOG.info('figures %s: %s', source, measured)
        if CONF.nova_rt.figures_dir:
            figures.record(CONF.nova_rt.figures_dir, source, measured)

    # -- capacity ---------------------------------------------------------
    def require_pcpus(self, count, why):
        """Skip when the compute has too few dedicated CPUs for the test.

        The reason names the CPUs missing: hardware, not configuration.
        """
        if len(self.dedicated) < count:
            raise self.skipException(
                'needs %d dedicated host CPUs (%s); the compute has %d (%s)'
                % (count, why, len(self.dedicated),
                   cpuset.format(self.dedicated) or 'none'))

    # -- flavors and servers -----------------------------------------------
    def flavor(self, vcpus, specs, ram=128):
        name = data_utils.rand_name(prefix=CONF.resource_name_prefix,
                                    name='nrt-flavor')
        flavor = self.admin_flavors_client.create_flavor(
            name=name, ram=ram, vcpus=vcpus, disk=1)['flavor']
        self.addCleanup(self.admin_flavors_client.delete_flavor,
                        flavor['id'])
        if specs:
            self.admin_flavors_client.set_flavor_extra_spec(flavor['id'],
                                                            **specs)
        return flavor['id']

    def boot(self, flavor, wait='ACTIVE', **kwargs):
        """A server of the tenant (of ``client``'s project when given),
        deleted (and waited for) at cleanup.
        """
        name = data_utils.rand_name(prefix=CONF.resource_name_prefix,
                                    name='nrt-server')
        started = time.monotonic()
        client = kwargs.pop('client', self.servers_client)
        server = client.create_server(
            name=name, imageRef=kwargs.pop('image', CONF.compute.image_ref),
            flavorRef=flavor, networks='none', **kwargs)['server']
        self.addCleanup(self.delete_server_and_wait, server['id'], client)
        if wait:
            waiters.wait_for_server_status(client, server['id'],
                                           wait,
                                           raise_on_error=wait != 'ERROR')
            LOG.info('server %s %s after %.1f s', server['id'], wait,
                     time.monotonic() - started)
        return server

    def delete_server_and_wait(self, server_id, client=None):
        client = client or self.servers_client
        try:
            client.delete_server(server_id)
        except lib_exc.NotFound:
            return
        # A server in ERROR stays ERROR while it is deleted: wait for it
        # to go, within the build timeout, instead of failing at once.
        waiters.wait_for_server_termination(client, server_id,
                                            ignore_error=True)

    def admin_show(self, server_id):
        return self.admin_servers_client.show_server(server_id)['server']

    def allocations(self, server_id):
        return self.os_admin.placement_client.list_allocations(
            server_id)['allocations']

    def allocations_left(self, server_ids, timeout=30):
        """{server id: allocations} of deleted servers that still hold
        some after ``timeout`` seconds: nova-compute deletes a server's
        allocations just after the server itself, so an allocation can
        outlive the server's 404 by a moment.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = {sid: a for sid in server_ids
                    for a in [self.allocations(sid)] if a}
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(1)

    def where(self, server_id):
        """(compute address, libvirt domain name) of a server; with
        ``host_access = command`` the address is the compute's host name.
        """
        server = self.admin_show(server_id)
        return (self.address_of(server['OS-EXT-SRV-ATTR:host']),
                server['OS-EXT-SRV-ATTR:instance_name'])

    def address_of(self, host):
        """Where the tests reach compute ``host`` (its service host)."""
        group = CONF.nova_rt
        if group.host_access == 'local':
            return 'localhost'
        if group.host_access == 'command':
            return host
        if host in group.ssh_hosts:
            return group.ssh_hosts[host]
        for hyp in self.os_admin.hypervisor_client.list_hypervisors(
                detail=True)['hypervisors']:
            if hyp.get('service', {}).get('host') == host:
                return hyp['host_ip']
        raise AssertionError('no address for compute host %s' % host)

    def held_pins(self, host):
        """The dedicated CPUs the libvirt domains of ``host`` (an address
        of ``address_of``) hold.
        """
        held = set()
        for name in self.host_access.domain_names(host):
            try:
                dom = self.host_access.domain(host, name)
            except hostside.HostAccessError:
                # Undefined between the listing and the read (a delete):
                # it holds nothing once it is gone, and only then.
                if name in self.host_access.domain_names(host):
                    raise
                continue
            held |= hostside.domain_pins(dom, self.dedicated)
        return frozenset(held)

    def domain(self, server_id):
        return self.host_access.domain(*self.where(server_id))

    def threads(self, server_id):
        return self.host_access.threads(*self.where(server_id))

    def console_line(self, server_id, prefix, timeout=90):
        """The first console line starting with ``prefix``."""
        deadline = time.monotonic() + timeout
        output = ''
        while time.monotonic() < deadline:
            output = self.servers_client.get_console_output(
                server_id)['output']
            for line in output.splitlines():
                if line.startswith(prefix):
                    return line[len(prefix):]
            time.sleep(3)
        self.fail('no %r line in the console within %d s; last lines:\n%s'
                  % (prefix, timeout, '\n'.join(output.splitlines()[-20:])))

    def console_after(self, server_id, boot_id, timeout=120):
        """The console lines of the guest's boot after ``boot_id`` (None:
        of its first boot), once it printed NRT-READY.
        """
        deadline = time.monotonic() + timeout
        while True:
            lines = self.servers_client.get_console_output(
                server_id)['output'].splitlines()
            boots = [n for n, line in enumerate(lines)
                     if line.startswith('NRT-BOOT:')]
            if boots and lines[boots[-1]] != 'NRT-BOOT:%s' % boot_id:
                this = lines[boots[-1]:]
                if 'NRT-READY:' in this:
                    return this
            self.assertLess(time.monotonic(), deadline,
                            'no new boot in the console of %s after %s'
                            % (server_id, boot_id))
            time.sleep(3)

    def record_ps(self, server_id):
        """The QEMU threads as ``ps`` shows them, into the test log."""
        lines = self.host_access.ps_lines(*self.where(server_id))
        LOG.info('ps -eLo pid,tid,cls,rtprio,psr,comm of server %s:\n%s',
                 server_id, '\n'.join(lines))
        return lines

    # -- assertions ---------------------------------------------------------
    def assert_realtime(self, server_id, realtime_vcpus, scheduler='fifo',
                        priority=1, emulator=None, wait=None):
        """The domain and the QEMU threads of a real-time server.

        ``emulator``: (class, priority) of the emulator thread, None for the
        default ``other``.
        """
        wait = wait or CONF.nova_rt.vcpu_thread_timeout
        dom = self.domain(server_id)
        self.assertEqual({v: (scheduler, priority) for v in realtime_vcpus},
                         dom.vcpusched)
        self.assertEqual(emulator, dom.emulatorsched)
        self.assertEqual('off', dom.pmu)
        self.assertTrue(dom.locked, '<memoryBacking><locked/> missing')
        if dom.virt_type == 'qemu':
            # Locked memory under TCG: QEMU's translation cache is locked too,
            # so nova-rt bounds it (nova_rt.virt.designer.TCG_TB_CACHE_MIB).
            self.assertEqual(64, dom.tb_cache_mib)
        self.assertEqual(set(range(dom.vcpus)), set(dom.vcpupins))
        rt_cpus = frozenset().union(*(dom.vcpupins[v]
                                      for v in realtime_vcpus))
        for vcpu in realtime_vcpus:
            self.assertEqual(1, len(dom.vcpupins[vcpu]),
                             'real-time vCPU %d pinned to one CPU' % vcpu)
        if self.dedicated:
            self.assertLessEqual(rt_cpus, self.dedicated)
        self.assertTrue(dom.emulatorpin)
        self.assertFalse(dom.emulatorpin & rt_cpus,
                         'emulator threads pinned onto real-time CPUs')
        # libvirt applies vcpusched as the guest starts: read until the
        # class shows, within a bound.
        deadline = time.monotonic() + wait
        while True:
            threads = self.threads(server_id)
            vcpu_threads = {t.vcpu: t for t in threads
                            if t.vcpu is not None}
            if all(vcpu_threads.get(v) is not None and
                   vcpu_threads[v].policy == scheduler
                   for v in realtime_vcpus) or time.monotonic() > deadline:
                break
            time.sleep(1)
        self.assertEqual(set(range(dom.vcpus)), set(vcpu_threads))
        for vcpu, thread in vcpu_threads.items():
            pins = dom.vcpupins[vcpu]
            self.assertEqual(pins, thread.allowed, 'vCPU %d affinity' % vcpu)
            self.assertIn(thread.last_cpu, pins, 'vCPU %d last ran' % vcpu)
            if vcpu in realtime_vcpus:
                self.assertEqual((scheduler, priority),
                                 (thread.policy, thread.priority),
                                 'vCPU %d thread' % vcpu)
            else:
                self.assertEqual('other', thread.policy,
                                 'housekeeping vCPU %d thread' % vcpu)
        main = [t for t in threads if t.tid == min(t.tid for t in threads)]
        self.assertEqual(emulator or ('other', 0),
                         (main[0].policy, main[0].priority),
                         'emulator (main QEMU) thread')
        for thread in threads:
            if thread.vcpu in realtime_vcpus:
                continue
            self.assertFalse(thread.allowed & rt_cpus,
                             '%s (%d) may run on real-time CPUs %s'
                             % (thread.comm, thread.tid,
                                cpuset.format(rt_cpus)))
        return dom

    def assert_not_realtime(self, server_id):
        dom = self.domain(server_id)
        self.assertEqual({}, dom.vcpusched)
        self.assertIsNone(dom.emulatorsched)
        self.assertFalse([e for e in dom.oem_strings
                          if 'nova-rt' in e or 'kernel-cmdline' in e])
        self.assertFalse(dom.locked)
        for thread in self.threads(server_id):
            self.assertEqual('other', thread.policy,
                             '%s (%d)' % (thread.comm, thread.tid))
        return dom
