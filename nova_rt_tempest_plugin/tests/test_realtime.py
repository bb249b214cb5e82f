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
"""Real-time servers booted by a tenant through the API, checked on the
compute: libvirt's domain, QEMU's threads in /proc, the guest's console."""

from nova_rt_tempest_plugin.tests import base
from tempest.common import waiters
from tempest import config
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc
from tempest.lib.services.placement import base_placement_client

CONF = config.CONF

DERIVED = ('isolcpus=managed_irq,domain,1 nohz=on nohz_full=1 rcu_nocbs=1 '
           'irqaffinity=0 skew_tick=1 tsc=reliable nosoftlockup')


class RealtimeShapesTest(base.RealtimeTest):
    """Each real-time shape the compute's CPUs allow."""

    @decorators.idempotent_id('6a0c3f8e-1b2d-4e5f-8a9b-0c1d2e3f4a01')
    def test_two_vcpus_fifo_one_housekeeping(self):
        self.require_pcpus(1, 'the real-time vCPU; the housekeeping vCPU '
                              'floats on the shared CPUs')
        flavor = self.flavor(2, dict(base.RT_TWO, **{
            'rt:vcpu_priority': '10', 'rt:host_kernel': 'any'}))
        server = self.boot(flavor)
        dom = self.assert_realtime(server['id'], {1}, 'fifo', 10)
        if self.shared:
            self.assertEqual(self.shared, dom.vcpupins[0],
                             'housekeeping vCPU of a mixed flavor')
        self.record_ps(server['id'])
        self.assertIn('io.systemd.stub.kernel-cmdline-extra=' + DERIVED,
                      dom.oem_strings)
        self.assertIn('org.openstack.nova-rt.realtime-vcpus=1',
                      dom.oem_strings)
        # Direct kernel boot: the arguments follow the image's own.
        self.assertTrue(dom.cmdline.endswith(' ' + DERIVED), dom.cmdline)
        # The guest booted with them (its init prints /proc/cmdline).
        cmdline = self.console_line(server['id'], 'NRT-CMDLINE:')
        self.assertIn(DERIVED, cmdline)
        self.assertEqual('1', self.console_line(server['id'],
                                                'NRT-ISOLATED:').strip())

    @decorators.idempotent_id('6a0c3f8e-1b2d-4e5f-8a9b-0c1d2e3f4a02')
    def test_rr_with_fifo_emulator_and_guest_args(self):
        self.require_pcpus(1, 'the real-time vCPU')
        flavor = self.flavor(2, dict(base.RT_TWO, **{
            'rt:vcpu_scheduler': 'rr', 'rt:vcpu_priority': '20',
            'rt:emulator_scheduler': 'fifo', 'rt:emulator_priority': '5',
            'rt:guest_idle_poll': 'true',
            'rt:guest_kernel_args': 'nrt_mark=1'}))
        server = self.boot(flavor)
        dom = self.assert_realtime(server['id'], {1}, 'rr', 20,
                                   emulator=('fifo', 5))
        self.assertTrue(dom.cmdline.endswith(
            DERIVED + ' idle=poll nrt_mark=1'), dom.cmdline)
        cmdline = self.console_line(server['id'], 'NRT-CMDLINE:')
        self.assertIn('idle=poll nrt_mark=1', cmdline)

    @decorators.idempotent_id('6a0c3f8e-1b2d-4e5f-8a9b-0c1d2e3f4a03')
    def test_one_vcpu_isolated_emulator_no_guest_tuning(self):
        self.require_pcpus(2, '1 vCPU + 1 for the isolated emulator threads')
        flavor = self.flavor(1, {
            'hw:cpu_policy': 'dedicated', 'hw:cpu_realtime': 'yes',
            'hw:emulator_threads_policy': 'isolate',
            'rt:vcpu_priority': '15', 'rt:guest_tuning': 'none'})
        server = self.boot(flavor)
        dom = self.assert_realtime(server['id'], {0}, 'fifo', 15)
        self.assertFalse([e for e in dom.oem_strings
                          if 'kernel-cmdline' in e or 'kernel-args' in e])
        self.assertNotIn('isolcpus', dom.cmdline)

    @decorators.idempotent_id('6a0c3f8e-1b2d-4e5f-8a9b-0c1d2e3f4a06')
    def test_one_vcpu_emulator_on_the_shared_cpus(self):
        self.require_pcpus(1, 'the real-time vCPU')
        if not self.shared:
            raise self.skipException('needs [compute] cpu_shared_set '
                                     '([nova_rt] shared_cpus) for the '
                                     'emulator threads')
        flavor = self.flavor(1, {
            'hw:cpu_policy': 'dedicated', 'hw:cpu_realtime': 'yes',
            'hw:emulator_threads_policy': 'share',
            'rt:vcpu_priority': '12', 'rt:guest_tuning': 'none'})
        server = self.boot(flavor)
        dom = self.assert_realtime(server['id'], {0}, 'fifo', 12)
        self.assertEqual(self.shared, dom.emulatorpin)

    @decorators.idempotent_id('6a0c3f8e-1b2d-4e5f-8a9b-0c1d2e3f4a07')
    def test_two_vcpus_all_dedicated(self):
        self.require_pcpus(2, '2 vCPUs, both pinned (hw:cpu_policy='
                              'dedicated)')
        flavor = self.flavor(2, dict(base.RT_TWO_DEDICATED, **{
            'rt:vcpu_priority': '10'}))
        server = self.boot(flavor)
        dom = self.assert_realtime(server['id'], {1}, 'fifo', 10)
        self.assertLessEqual(dom.vcpupins[0], self.dedicated)

    @decorators.idempotent_id('6a0c3f8e-1b2d-4e5f-8a9b-0c1d2e3f4a04')
    def test_four_vcpus_two_realtime_isolated_emulator(self):
        self.require_pcpus(5, '4 vCPUs + 1 for the isolated emulator threads')
        flavor = self.flavor(4, {
            'hw:cpu_policy': 'dedicated', 'hw:cpu_realtime': 'yes',
            'hw:cpu_realtime_mask': '^0-1',
            'hw:emulator_threads_policy': 'isolate',
            'rt:vcpu_priority': '10'})
        server = self.boot(flavor)
        self.assert_realtime(server['id'], {2, 3}, 'fifo', 10)

    @decorators.idempotent_id('6a0c3f8e-1b2d-4e5f-8a9b-0c1d2e3f4a05')
    def test_compute_publishes_honest_facts(self):
        # A lab compute is not ready and says so; only the lab trait is
        # added. Read through placement as the scheduler does (traits of a
        # provider: placement 1.6).
        # Not tempest's APIMicroversionFixture: its cleanup resets the
        # compute microversion too, which the class set once for all tests.
        self.addCleanup(setattr, base_placement_client,
                        'PLACEMENT_MICROVERSION',
                        base_placement_client.PLACEMENT_MICROVERSION)
        base_placement_client.PLACEMENT_MICROVERSION = '1.6'
        rps = self.os_admin.resource_providers_client.list_resource_providers(
        )['resource_providers']
        self.assertTrue(rps)
        for rp in rps:
            traits = set(self.os_admin.resource_providers_client
                         .list_resource_provider_traits(rp['uuid'])['traits'])
            if CONF.nova_rt.lab_mode:
                self.assertIn('CUSTOM_NOVA_RT_LAB', traits)
                self.assertNotIn('CUSTOM_NOVA_RT_READY', traits)
            else:
                self.assertNotIn('CUSTOM_NOVA_RT_LAB', traits)


class RealtimeLifecycleTest(base.RealtimeTest):
    """Every lifecycle operation keeps the real-time properties."""

    def setUp(self):
        super().setUp()
        self.require_pcpus(1, 'the real-time vCPU')
        self.flavor_id = self.flavor(2, dict(base.RT_TWO, **{
            'rt:vcpu_priority': '10'}))
        self.server = self.boot(self.flavor_id)
        self.sid = self.server['id']
        self.assert_realtime(self.sid, {1}, 'fifo', 10)

    def active_and_realtime(self):
        waiters.wait_for_server_status(self.servers_client, self.sid,
                                       'ACTIVE')
        self.assert_realtime(self.sid, {1}, 'fifo', 10)

    @decorators.idempotent_id('7b1d4f9a-2c3e-4f60-9b0c-1d2e3f4a5b01')
    def test_soft_and_hard_reboot(self):
        self.servers_client.reboot_server(self.sid, type='SOFT')
        self.active_and_realtime()
        self.servers_client.reboot_server(self.sid, type='HARD')
        self.active_and_realtime()

    @decorators.idempotent_id('7b1d4f9a-2c3e-4f60-9b0c-1d2e3f4a5b02')
    def test_stop_start(self):
        self.servers_client.stop_server(self.sid)
        waiters.wait_for_server_status(self.servers_client, self.sid,
                                       'SHUTOFF')
        self.servers_client.start_server(self.sid)
        self.active_and_realtime()

    @decorators.idempotent_id('7b1d4f9a-2c3e-4f60-9b0c-1d2e3f4a5b03')
    def test_pause_unpause(self):
        self.servers_client.pause_server(self.sid)
        waiters.wait_for_server_status(self.servers_client, self.sid,
                                       'PAUSED')
        self.servers_client.unpause_server(self.sid)
        self.active_and_realtime()

    @decorators.idempotent_id('7b1d4f9a-2c3e-4f60-9b0c-1d2e3f4a5b04')
    def test_suspend_resume(self):
        self.servers_client.suspend_server(self.sid)
        waiters.wait_for_server_status(self.servers_client, self.sid,
                                       'SUSPENDED')
        self.servers_client.resume_server(self.sid)
        self.active_and_realtime()

    @decorators.idempotent_id('7b1d4f9a-2c3e-4f60-9b0c-1d2e3f4a5b05')
    def test_shelve_unshelve(self):
        self.servers_client.shelve_server(self.sid)
        waiters.wait_for_server_status(self.servers_client, self.sid,
                                       'SHELVED_OFFLOADED')
        self.servers_client.unshelve_server(self.sid)
        self.active_and_realtime()

    @decorators.idempotent_id('7b1d4f9a-2c3e-4f60-9b0c-1d2e3f4a5b06')
    def test_rebuild(self):
        self.servers_client.rebuild_server(self.sid, CONF.compute.image_ref)
        self.active_and_realtime()

    @decorators.idempotent_id('7b1d4f9a-2c3e-4f60-9b0c-1d2e3f4a5b07')
    def test_resize_to_another_realtime_flavor(self):
        # Until the resize is confirmed both flavors hold their CPUs.
        self.require_pcpus(2, '1 for the old flavor and 1 for the new one '
                              'until the resize is confirmed')
        new = self.flavor(2, dict(base.RT_TWO, **{
            'rt:vcpu_scheduler': 'rr', 'rt:vcpu_priority': '30'}))
        self.servers_client.resize_server(self.sid, new)
        waiters.wait_for_server_status(self.servers_client, self.sid,
                                       'VERIFY_RESIZE')
        self.servers_client.confirm_resize_server(self.sid)
        waiters.wait_for_server_status(self.servers_client, self.sid,
                                       'ACTIVE')
        self.assert_realtime(self.sid, {1}, 'rr', 30)

    @decorators.idempotent_id('7b1d4f9a-2c3e-4f60-9b0c-1d2e3f4a5b08')
    def test_delete_leaves_no_allocation_domain_or_thread(self):
        address, name = self.where(self.sid)
        tids = {t.tid for t in self.threads(self.sid)}
        self.delete_server_and_wait(self.sid)
        self.assertNotIn(name, self.host_access.domain_names(address))
        self.assertEqual({}, self.allocations_left([self.sid]))
        alive = self.host_access.run(address, 'for t in %s; do '
                                     '[ -d /proc/$t ] && echo $t; done; true'
                                     % ' '.join(map(str, sorted(tids))))
        self.assertEqual('', alive.strip())


class RealtimeRefusalTest(base.RealtimeTest):
    """What can never be real-time is refused with nova-rt's reason."""

    @decorators.idempotent_id('8c2e5a0b-3d4f-4071-8c1d-2e3f4a5b6c01')
    def test_bad_rt_values_are_400_naming_the_key(self):
        flavor = self.flavor(2, None)
        for key, value in (('rt:vcpu_priority', '100'),
                           ('rt:vcpu_scheduler', 'deadline'),
                           ('rt:guest_kernel_args', 'a;b'),
                           ('rt:emulator_scheduler', 'batch')):
            e = self.assertRaises(
                lib_exc.BadRequest,
                self.admin_flavors_client.set_flavor_extra_spec,
                flavor, **{key: value})
            self.assertIn(key, str(e))

    @decorators.idempotent_id('8c2e5a0b-3d4f-4071-8c1d-2e3f4a5b6c02')
    def test_rt_keys_without_realtime_fail_with_nova_rt_reason(self):
        # nova-api's validators see one key at a time, so it stores this
        # flavor; nova-rt's driver fails the build before anything exists.
        flavor = self.flavor(1, dict(base.UNPINNED,
                                     **{'rt:vcpu_priority': '10'}))
        server = self.boot(flavor, wait='ERROR')
        fault = self.admin_show(server['id'])['fault']['message']
        self.assertIn('nova-rt: invalid real-time flavor', fault)
        self.assertIn('hw:cpu_realtime', fault)
        self.assertNotIn('No valid host', fault)

    @decorators.idempotent_id('8c2e5a0b-3d4f-4071-8c1d-2e3f4a5b6c03')
    def test_realtime_without_dedicated_is_refused_at_create(self):
        flavor = self.flavor(2, {'hw:cpu_realtime': 'yes',
                                 'hw:cpu_realtime_mask': '^0',
                                 'rt:vcpu_priority': '10'})
        e = self.assertRaises(lib_exc.BadRequest, self.boot, flavor)
        self.assertIn('dedicated', str(e).lower())


class OrdinaryServersTest(base.RealtimeTest):
    """A non-real-time flavor on the same cloud is left alone."""

    @decorators.idempotent_id('9d3f6b1c-4e50-4182-9d2e-3f4a5b6c7d01')
    def test_ordinary_flavor_untouched(self):
        server = self.boot(self.flavor(1, base.UNPINNED))
        dom = self.assert_not_realtime(server['id'])
        self.assertNotIn('isolcpus', dom.cmdline or '')
        self.assertEqual({}, dom.vcpupins)

    @decorators.idempotent_id('9d3f6b1c-4e50-4182-9d2e-3f4a5b6c7d03')
    def test_ordinary_pinned_flavor_untouched(self):
        self.require_pcpus(1, 'the pinned vCPU')
        server = self.boot(self.flavor(1, base.PINNED))
        dom = self.assert_not_realtime(server['id'])
        self.assertLessEqual(dom.vcpupins[0], self.dedicated)

    @decorators.idempotent_id('9d3f6b1c-4e50-4182-9d2e-3f4a5b6c7d02')
    def test_realtime_and_ordinary_side_by_side(self):
        # The ordinary server is unpinned: it floats on the shared CPUs
        # and never on the real-time server's dedicated CPU.
        self.require_pcpus(1, 'the real-time vCPU')
        rt = self.boot(self.flavor(2, dict(base.RT_TWO, **{
            'rt:vcpu_priority': '10'})))
        host = self.admin_show(rt['id'])['OS-EXT-SRV-ATTR:host']
        # On the real-time server's host (an admin may name it): CPU
        # numbers of two hosts say nothing of each other.
        plain = self.boot(self.flavor(1, base.UNPINNED),
                          client=self.admin_servers_client,
                          availability_zone='nova:%s' % host)
        self.assertEqual(host, self.admin_show(plain['id'])[
            'OS-EXT-SRV-ATTR:host'])
        rt_dom = self.assert_realtime(rt['id'], {1}, 'fifo', 10)
        self.assert_not_realtime(plain['id'])
        for thread in self.threads(plain['id']):
            self.assertFalse(thread.allowed & rt_dom.vcpupins[1],
                             '%s (%d) of the ordinary server may run on '
                             'the real-time CPU' % (thread.comm, thread.tid))
        self.record_ps(plain['id'])
