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
"""Live migration and nova.conf's ``[libvirt]`` settings: a source host
that permits auto-converge or post-copy does not live-migrate a real-time
instance (nova_rt.core.migration), and leaves ordinary instances alone.
Nor does it move one whose destination did not claim its CPUs (no
NUMA-aware live migration): nova-rt could not derive the guest's pins and
priorities there, and never falls back to Nova's host-wide priority.
"""

from unittest import mock

import fixtures
from nova import context as nova_context
from nova import objects
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional.libvirt import base
from nova.virt.libvirt import driver as libvirt_driver

from tests.functional import realtime_base as rb
from tests.functional import test_driver

# The flags nova-rt keeps away from real-time guests.
HARMFUL = fakelibvirt.VIR_MIGRATE_AUTO_CONVERGE | \
    fakelibvirt.VIR_MIGRATE_POSTCOPY


class LiveMigrationSettingsTest(test_driver.RealtimeDomainMixin,
                                base.LibvirtMigrationMixin,
                                rb.RealtimeDriverTestBase):

    FLAVOR = {'hw:cpu_realtime_mask': '^0', 'rt:vcpu_priority': '20'}

    def setUp(self):
        super().setUp()
        self.migrated_flags = None

    def start(self, realtime=True, **libvirt_flags):
        """Two computes with ``[libvirt]`` set as given before they start
        (nova derives its migration flags at start), and a server.
        """
        if libvirt_flags:
            self.flags(group='libvirt', **libvirt_flags)
        for name in ('rt1', 'rt2'):
            self.start_realtime_compute(name, nodes=2, cores_per_node=6,
                                        housekeeping={0, 6})
        if realtime:
            self.server = self.boot(**self.FLAVOR)
        else:
            flavor = self._create_flavor(vcpu=1, memory_mb=1024)
            self.server = self._create_server(flavor_id=flavor,
                                              networks='none')
        self.src = self.computes[self.server['OS-EXT-SRV-ATTR:host']]
        self.dest = self.computes['rt2' if self.src.host == 'rt1' else 'rt1']

    def _migrate_stub(self, domain, destination, params, flags):
        self.migrated_flags = flags
        super()._migrate_stub(domain, destination, params, flags)

    def allocations(self):
        """provider -> resources the server holds (generations left out:
        a refused migration moves the allocation to the migration and
        back).
        """
        return {rp: found['resources'] for rp, found in
                self._get_allocations_by_server_uuid(
                    self.server['id']).items()}

    def assert_running_on_the_source(self):
        """The server ACTIVE and running where it was; libvirt never asked
        to migrate it.
        """
        server = self._wait_for_state_change(self.server, 'ACTIVE')
        self.assertEqual(self.src.host, server['OS-EXT-SRV-ATTR:host'])
        self.assertFalse(self.migrate_stub_ran)
        conn = self.src.driver._host.get_connection()
        self.assertTrue(conn.lookupByUUIDString(server['id']).isActive())
        return server

    def assert_refused(self, option):
        self.assert_refused_because(
            '[libvirt] %s = True: ' % option)

    def assert_refused_because(self, reason):
        source = self.src.host
        before = self.allocations()
        # The CastAsCallFixture brings the conductor's NoValidHost (no
        # destination left once the pre-check refused) back to the API as
        # a 500, as in nova's own NUMA live migration tests; a real API
        # answers 202 and the migration ends in error.
        self.api.api_post(
            '/servers/%s/action' % self.server['id'],
            {'os-migrateLive': {'host': None, 'block_migration': 'auto'}},
            check_response_status=[500])
        self._wait_for_migration_status(self.server, ['error'])
        server = self.assert_running_on_the_source()
        # With no allocation left behind.
        self.assertEqual(before, self.allocations())
        self.assertEqual({self._get_provider_uuid_by_host(source)},
                         set(before))
        # The reason is on the source's pre-check event, for the operator.
        event = self._wait_for_action_fail_completion(
            server, 'live-migration', 'compute_check_can_live_migrate_source')
        self.assertIn('Migration pre-check error: nova-rt: %s does not '
                      'live-migrate real-time instances: %s'
                      % (source, reason), event['details'])
        # Its real-time domain is untouched.
        self.assert_realtime_domain(server)

    def test_post_copy_permitted_refuses_realtime(self):
        self.start(live_migration_permit_post_copy=True)
        self.assert_refused('live_migration_permit_post_copy')

    def test_auto_converge_permitted_refuses_realtime(self):
        self.start(live_migration_permit_auto_converge=True)
        self.assert_refused('live_migration_permit_auto_converge')

    def test_ordinary_instance_keeps_the_operators_choice(self):
        self.start(realtime=False, live_migration_permit_post_copy=True)
        server = self._live_migrate(self.server)
        self.assertEqual(self.dest.host, server['OS-EXT-SRV-ATTR:host'])
        self.assertTrue(self.migrated_flags &
                        fakelibvirt.VIR_MIGRATE_POSTCOPY)

    def test_defaults_migrate_realtime_without_harmful_flags(self):
        self.start()
        server = self._live_migrate(self.server)
        self.assertEqual(self.dest.host, server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(0, self.migrated_flags & HARMFUL)

    def test_force_complete_timeout_action_only_warns(self):
        self.start(live_migration_timeout_action='force_complete')
        server = self._live_migrate(self.server)
        self.assertEqual(self.dest.host, server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(0, self.migrated_flags & HARMFUL)
        finding = self.computes[self.dest.host].driver.realtime_host(
            refresh=True).report.finding('nova.live_migration')
        self.assertEqual('warn', finding.status)

    def test_destination_without_numa_aware_migration_refused_first(self):
        """An older or RPC-pinned destination: refused at the source's
        pre-check, before anything moved.
        """
        self.start()
        real = libvirt_driver.LibvirtDriver.check_can_live_migrate_destination

        def old_destination(driver, *args, **kwargs):
            data = real(driver, *args, **kwargs)
            del data.dst_supports_numa_live_migration
            return data

        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.driver.LibvirtDriver.'
            'check_can_live_migrate_destination', old_destination))
        self.assert_refused_because(
            'the destination did not claim its CPUs for it (no NUMA-aware '
            'live migration')

    def test_destination_pins_missing_fails_closed_before_libvirt(self):
        """No ``dst_numa_info`` when the source starts the migration (a
        future Nova, a mixed pair that slipped the pre-check): rolled back
        before libvirt starts it, the guest ACTIVE where it was, never
        moved with the source's XML.
        """
        self.start()
        source = self.src.host
        with mock.patch.object(
                libvirt_driver.LibvirtDriver, 'post_claim_migrate_data',
                side_effect=lambda context, instance, data, claim: data):
            self.api.post_server_action(
                self.server['id'],
                {'os-migrateLive': {'host': None,
                                    'block_migration': 'auto'}})
            # 'failed', as Nova marks a libvirt job that failed.
            self._wait_for_migration_status(self.server, ['failed'])
        server = self.assert_running_on_the_source()
        reason = ('nova-rt: %s does not live-migrate real-time instance '
                  '%s: the destination %s did not claim its CPUs' % (
                      source, server['id'], self.dest.host))
        self.assertIn(reason, self.stdlog.logger.output)
        # Rolled back as a failed libvirt job is: no allocation on the
        # destination, the fault recorded for the operator.
        self.assertEqual({self._get_provider_uuid_by_host(source)},
                         set(self.allocations()))
        faults = objects.InstanceFaultList.get_latest_by_instance_uuids(
            nova_context.get_admin_context(), [server['id']])
        self.assertIn(reason, faults[0].message)
        self.assert_realtime_domain(server)
