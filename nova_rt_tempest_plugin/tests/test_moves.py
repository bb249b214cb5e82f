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
"""Real-time servers moved between compute hosts by every move Nova has,
each checked on the host where the server is now and on the one it left:
the domain and the live QEMU threads show exactly what the flavor asked,
the source keeps no domain and no thread, placement moved the PCPUs.
"""

import contextlib
import json
import time

from nova_rt_tempest_plugin import hostside
from nova_rt_tempest_plugin.tests import base
from nova_rt_tempest_plugin.tests import test_cloud
from oslo_log import log as logging
from tempest.common import waiters
from tempest import config
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc
from tempest.lib.services.compute import base_compute_client
from tempest.lib.services.placement import base_placement_client

CONF = config.CONF
LOG = logging.getLogger(__name__)

# Not the host default (priority 1, fifo): an RR class on the real-time
# vCPU and a FIFO emulator, so a move that re-derives from the host's
# settings instead of the flavor shows.
MOVER = {'hw:cpu_policy': 'mixed', 'hw:cpu_realtime': 'yes',
         'hw:cpu_realtime_mask': '^0', 'rt:vcpu_scheduler': 'rr',
         'rt:vcpu_priority': '17', 'rt:emulator_scheduler': 'fifo',
         'rt:emulator_priority': '3'}
MOVER_CHECK = dict(realtime_vcpus={1}, scheduler='rr', priority=17,
                   emulator=('fifo', 3))


class MovesTest(test_cloud.CloudTest):
    """Two computes or more; migrations enabled in tempest.conf."""

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if CONF.compute.min_compute_nodes < 2:
            raise cls.skipException('needs 2 compute hosts '
                                    '([compute] min_compute_nodes)')

    def setUp(self):
        super().setUp()
        # One dedicated CPU a host: the scheduler must see the CPUs the
        # previous test freed.
        self.wait_usage_settled()

    @contextlib.contextmanager
    def microversion(self, version):
        """One call at another compute microversion.

        Not tempest's fixture: its cleanup resets the class's microversion.
        """
        saved = base_compute_client.COMPUTE_MICROVERSION
        base_compute_client.COMPUTE_MICROVERSION = version
        try:
            yield
        finally:
            base_compute_client.COMPUTE_MICROVERSION = saved

    def force_down(self, service_id, down):
        with self.microversion('2.53'):
            self.os_admin.services_client.update_service(
                service_id, forced_down=down)

    def mover(self, specs=None):
        self.require_pcpus(1, 'the real-time vCPU')
        server = self.boot(self.flavor(2, dict(MOVER, **(specs or {}))))
        self.assert_realtime(server['id'], **MOVER_CHECK)
        return server

    def snapshot(self, server_id):
        """(host, domain name, QEMU pid) of a server now."""
        host, name = self.where(server_id)
        threads = self.threads(server_id)
        return host, name, min(t.tid for t in threads)

    def provider_of(self, host):
        for rp in self.os_admin.resource_providers_client \
                .list_resource_providers(name=host)['resource_providers']:
            return rp['uuid']
        self.fail('no resource provider for %s' % host)

    def assert_moved(self, server_id, before, check=None):
        """On the new host: exactly the flavor's real-time settings; on the
        old one: no domain, no QEMU; placement: PCPU on the new host only.
        """
        source, name, pid = before
        host, _ = self.where(server_id)
        self.assertNotEqual(source, host, 'the server did not move')
        dom = self.assert_realtime(server_id, **(check or MOVER_CHECK))
        self.assertIn('org.openstack.nova-rt.realtime-vcpus=1',
                      dom.oem_strings)
        self.record_ps(server_id)
        self.assertNotIn(name, self.host_access.domain_names(source),
                         'domain left on the source %s' % source)
        self.assert_qemu_gone(source, pid)
        allocations = self.allocations(server_id)
        self.assertEqual([self.provider_of(host)], list(allocations))
        self.assertEqual(1, list(allocations.values())[0]['resources']
                         .get('PCPU'))
        return host

    def slow_live_migrations(self, host):
        """Live migrations from ``host`` slow enough to be caught
        running: 2 MiB/s for ~100 MiB; back to full speed at cleanup.
        """
        self.cloud('config', host, 'libvirt', 'live_migration_bandwidth',
                   '2')
        self.addCleanup(self.wait_computes_enabled)
        self.addCleanup(self.cloud, 'restart', 'nova-compute@%s' % host)
        self.addCleanup(self.cloud, 'config', host, 'libvirt',
                        'live_migration_bandwidth', '0')
        self.cloud('restart', 'nova-compute@%s' % host)
        self.wait_computes_enabled()

    def assert_qemu_gone(self, host, pid):
        """The QEMU process ``pid`` no longer runs on ``host``."""
        self.assertEqual('', self.host_access.run(
            host, '[ -d /proc/%d ] && echo alive; true' % pid).strip(),
            'the QEMU on %s (pid %d) still runs' % (host, pid))

    def last_migration(self, server_id):
        """The server's newest migration record, or None."""
        migrations = self.os_admin.migrations_client.list_migrations(
            instance_uuid=server_id)['migrations']
        return max(migrations, key=lambda m: m['id']) if migrations else None

    def wait_migration(self, server_id, status='completed', timeout=300):
        deadline = time.monotonic() + timeout
        while True:
            last = self.last_migration(server_id)
            if last and last['status'] == status:
                return last
            if last and last['status'] in ('error', 'failed', 'cancelled') \
                    and status not in ('error', 'failed', 'cancelled'):
                self.fail('migration %s: %s' % (last['id'], last['status']))
            self.assertLess(time.monotonic(), deadline,
                            'migration of %s not %s: %s' % (
                                server_id, status, last))
            time.sleep(2)


class LiveMigrationTest(MovesTest):

    @decorators.idempotent_id('5a2c4e6f-8b1d-4c3e-9f0a-1b2c3d4e5f01')
    def test_block_live_migration_keeps_every_setting(self):
        server = self.mover()
        before = self.snapshot(server['id'])
        started = time.monotonic()
        self.admin_servers_client.live_migrate_server(
            server['id'], host=None, block_migration='auto')
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'ACTIVE')
        self.wait_migration(server['id'])
        through_api = time.monotonic() - started
        LOG.info('live migration of %s: %.1f s through the API',
                 server['id'], through_api)
        host = self.assert_moved(server['id'], before)
        # libvirt's own figures of the incoming migration.
        text = self.host_access.virsh(host, 'domjobinfo', before[1],
                                      '--completed')
        LOG.info('virsh domjobinfo --completed on %s:\n%s', host, text)
        job = hostside.parse_jobinfo(text)
        for field in ('Time elapsed', 'Total downtime'):
            self.assertIsInstance(job.get(field), int,
                                  '%s of the completed migration' % field)
        LOG.info('live migration of %s: libvirt\'s job took %d ms, QEMU '
                 'downtime %d ms', server['id'], job['Time elapsed'],
                 job['Total downtime'])
        measured = {'live_migration.api_s': round(through_api, 1)}
        # What libvirt gave; a field it left out is no figure (a docs
        # block that names it fails to build).
        for field, key in (('Time elapsed', 'job_ms'),
                           ('Total downtime', 'downtime_ms'),
                           ('Setup time', 'setup_ms'),
                           ('Memory processed', 'memory_processed'),
                           ('Memory total', 'memory_total'),
                           ('Memory bandwidth', 'memory_bandwidth'),
                           ('Iteration', 'iterations')):
            if field in job:
                measured['live_migration.' + key] = job[field]
        self.record_figures('live-migration', measured)


class ColdMoveTest(MovesTest):

    @decorators.idempotent_id('5a2c4e6f-8b1d-4c3e-9f0a-1b2c3d4e5f02')
    def test_cold_migration_confirmed(self):
        server = self.mover()
        before = self.snapshot(server['id'])
        self.admin_servers_client.migrate_server(server['id'])
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'VERIFY_RESIZE')
        self.servers_client.confirm_resize_server(server['id'])
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'ACTIVE')
        self.assert_moved(server['id'], before)

    @decorators.idempotent_id('5a2c4e6f-8b1d-4c3e-9f0a-1b2c3d4e5f03')
    def test_resize_to_the_other_host_confirmed_and_reverted(self):
        server = self.mover()
        bigger = self.flavor(2, dict(MOVER, **{'rt:vcpu_priority': '23'}),
                             ram=192)
        # Revert: back on the source with the old flavor's settings.
        before = self.snapshot(server['id'])
        self.servers_client.resize_server(server['id'], bigger)
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'VERIFY_RESIZE')
        resized = self.snapshot(server['id'])
        moved_to = resized[0]
        self.assertNotEqual(before[0], moved_to)
        self.assert_realtime(server['id'], **dict(MOVER_CHECK, priority=23))
        self.servers_client.revert_resize_server(server['id'])
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'ACTIVE')
        self.assertEqual(before[0], self.where(server['id'])[0])
        self.assert_realtime(server['id'], **MOVER_CHECK)
        self.assertNotIn(before[1], self.host_access.domain_names(moved_to))
        # The destination's QEMU is gone, and placement holds the PCPU on
        # the source only.
        self.assert_qemu_gone(moved_to, resized[2])
        allocations = self.allocations(server['id'])
        self.assertEqual([self.provider_of(before[0])], list(allocations))
        self.assertEqual(1, list(allocations.values())[0]['resources']
                         .get('PCPU'))
        # The reverted claim's CPU is free on the other host only once its
        # resource tracker has audited after the revert (Nova's lag).
        lag = self.wait_usage_settled()
        LOG.info('after the revert: %.1f s until %s counted its CPU free',
                 lag, moved_to)
        self.record_figures('resize-revert', {
            'resize_revert.usage_lag_s': round(lag, 1)})
        # Confirm: on the other host with the new flavor's settings.
        before = self.snapshot(server['id'])
        self.servers_client.resize_server(server['id'], bigger)
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'VERIFY_RESIZE')
        self.servers_client.confirm_resize_server(server['id'])
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'ACTIVE')
        self.assert_moved(server['id'], before,
                          dict(MOVER_CHECK, priority=23))


class ShelveElsewhereTest(MovesTest):

    @decorators.idempotent_id('5a2c4e6f-8b1d-4c3e-9f0a-1b2c3d4e5f04')
    def test_unshelve_onto_the_other_host(self):
        server = self.mover()
        before = self.snapshot(server['id'])
        self.servers_client.shelve_server(server['id'])
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'SHELVED_OFFLOADED')
        other = [h for h in self.hosts() if h != before[0]][0]
        # An admin chooses the host at 2.91.
        with self.microversion('2.91'):
            self.admin_servers_client.unshelve_server(server['id'],
                                                      host=other)
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'ACTIVE')
        self.assertEqual(other, self.assert_moved(server['id'], before))


class EvacuateTest(MovesTest):

    @decorators.idempotent_id('5a2c4e6f-8b1d-4c3e-9f0a-1b2c3d4e5f05')
    def test_evacuate_from_a_stopped_forced_down_compute(self):
        server = self.mover()
        before = self.snapshot(server['id'])
        source = before[0]
        self.cloud('stop', 'nova-compute@%s' % source)
        self.addCleanup(self.wait_computes_enabled)
        self.addCleanup(self.cloud, 'start', 'nova-compute@%s' % source)
        with self.microversion('2.53'):
            service = self.os_admin.services_client.list_services(
                binary='nova-compute', host=source)['services'][0]
        self.force_down(service['id'], True)
        self.addCleanup(self.force_down, service['id'], False)
        self.admin_servers_client.evacuate_server(server['id'])
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'ACTIVE')
        # Nova saves the evacuated server ACTIVE first and its new host
        # after (ResourceTracker.finish_evacuation), then marks the
        # migration done: the host is read once it is.
        self.wait_migration(server['id'], 'done')
        host = self.where(server['id'])[0]
        self.assertNotEqual(source, host)
        self.assert_realtime(server['id'], **MOVER_CHECK)
        # The source comes back and removes the evacuated guest itself.
        self.cloud('start', 'nova-compute@%s' % source)
        self.force_down(service['id'], False)
        self.wait_computes_enabled()
        deadline = time.monotonic() + 120
        while before[1] in self.host_access.domain_names(source):
            self.assertLess(time.monotonic(), deadline,
                            'the evacuated guest stays on %s' % source)
            time.sleep(2)
        self.assert_moved(server['id'], before)


class RefusedMoveTest(MovesTest):

    @decorators.idempotent_id('5a2c4e6f-8b1d-4c3e-9f0a-1b2c3d4e5f06')
    def test_live_migration_to_a_full_host_is_refused(self):
        server = self.mover()
        before = self.snapshot(server['id'])
        other = [h for h in self.hosts() if h != before[0]][0]
        # Fill the other host's only dedicated CPU.
        filler = self.boot(self.flavor(2, MOVER))
        self.assertEqual(other, self.where(filler['id'])[0])
        # The scheduler checks the requested host (2.30, not forced) and
        # refuses at once; nothing moves.
        with self.microversion('2.30'):
            e = self.assertRaises(
                lib_exc.BadRequest,
                self.admin_servers_client.live_migrate_server,
                server['id'], host=other, block_migration='auto')
        self.assertIn('No valid host', str(e))
        self.assertEqual('ACTIVE', self.admin_show(server['id'])['status'])
        self.assertEqual(before, self.snapshot(server['id']))
        self.assert_realtime(server['id'], **MOVER_CHECK)


class NotReadyHostTest(MovesTest):
    """One compute loses readiness (lab mode off: an honest CI host)."""

    def make_not_ready(self, host):
        self.cloud('config', host, 'nova_rt', 'lab_mode', 'false')
        self.addCleanup(self.wait_computes_enabled)
        self.addCleanup(self.cloud, 'restart', 'nova-compute@%s' % host)
        self.addCleanup(self.cloud, 'config', host, 'nova_rt', 'lab_mode',
                        'true')
        self.cloud('restart', 'nova-compute@%s' % host)
        self.addCleanup(setattr, base_placement_client,
                        'PLACEMENT_MICROVERSION',
                        base_placement_client.PLACEMENT_MICROVERSION)
        base_placement_client.PLACEMENT_MICROVERSION = '1.6'
        provider = self.provider_of(host)
        deadline = time.monotonic() + 120
        while 'CUSTOM_NOVA_RT_LAB' in self.os_admin.resource_providers_client\
                .list_resource_provider_traits(provider)['traits']:
            self.assertLess(time.monotonic(), deadline,
                            '%s still publishes the lab trait' % host)
            time.sleep(2)

    @decorators.idempotent_id('5a2c4e6f-8b1d-4c3e-9f0a-1b2c3d4e5f07')
    def test_realtime_never_lands_on_a_host_not_ready(self):
        ready, not_ready = sorted(self.hosts())[:2]
        self.make_not_ready(not_ready)
        server = self.mover()
        self.assertEqual(ready, self.where(server['id'])[0])
        before = self.snapshot(server['id'])
        # Forced (2.30): no scheduler; the destination refuses itself,
        # with nova-rt's reason, before anything moves.
        with self.microversion('2.30'):
            e = self.assertRaises(
                lib_exc.BadRequest,
                self.admin_servers_client.live_migrate_server,
                server['id'], host=not_ready, block_migration='auto',
                force=True)
        self.assertIn('nova-rt: not_ready', str(e))
        self.assertEqual(before, self.snapshot(server['id']))
        self.assert_realtime(server['id'], **MOVER_CHECK)
        # The ready host is full: the next real-time server fails rather
        # than land on the host that is not ready...
        refused = self.boot(self.flavor(2, MOVER), wait='ERROR')
        self.assertIn('No valid host',
                      self.admin_show(refused['id'])['fault']['message'])
        # ... where an ordinary pinned server still lands.
        plain = self.boot(self.flavor(1, base.PINNED))
        self.assertEqual(not_ready, self.where(plain['id'])[0])
        self.assert_not_realtime(plain['id'])


class AbortedMoveTest(MovesTest):

    @decorators.idempotent_id('5a2c4e6f-8b1d-4c3e-9f0a-1b2c3d4e5f08')
    def test_aborted_live_migration_stays_on_the_source(self):
        server = self.mover()
        before = self.snapshot(server['id'])
        other = [h for h in self.hosts() if h != before[0]][0]
        self.slow_live_migrations(before[0])
        self.admin_servers_client.live_migrate_server(
            server['id'], host=None, block_migration='auto')
        migration = self.wait_migration(server['id'], 'running')
        # Abort in the memory copy: an abort while a block migration still
        # copies the disks fails the migration instead (nova sets the
        # server to ERROR; seen here), which is not what this test is for.
        deadline = time.monotonic() + 120
        while True:
            with self.microversion('2.23'):
                progress = self.admin_servers_client.get(
                    'servers/%s/migrations/%s' % (server['id'],
                                                  migration['id']))[1]
            progress = json.loads(progress)['migration']
            if (progress.get('memory_processed_bytes') or 0) > 0:
                break
            self.assertLess(time.monotonic(), deadline,
                            'no memory copied: %s' % progress)
            time.sleep(0.5)
        LOG.info('aborting migration %s at %s', migration['id'], progress)
        # openstack server migration abort (2.24).
        with self.microversion('2.24'):
            self.admin_servers_client.delete(
                'servers/%s/migrations/%s' % (server['id'], migration['id']))
        self.wait_migration(server['id'], 'cancelled')
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'ACTIVE')
        # Nova has finished rolling back once the migration holds no
        # allocation (what it held went back to the server, on the source).
        with self.microversion('2.59'):
            rolled_back = self.last_migration(server['id'])['uuid']
        self.assertEqual({}, self.allocations_left([rolled_back], 120),
                         'the aborted migration kept its allocations')
        state = self.admin_show(server['id'])
        self.assertEqual(('ACTIVE', None),
                         (state['status'], state['OS-EXT-STS:task_state']))
        self.assertEqual(before, self.snapshot(server['id']))
        self.assert_realtime(server['id'], **MOVER_CHECK)
        self.assertNotIn(before[1], self.host_access.domain_names(other))
        self.assertEqual([self.provider_of(before[0])],
                         list(self.allocations(server['id'])))
        # Deleted before the cleanups restart the source's nova-compute.
        self.delete_server_and_wait(server['id'])
        self.assert_nothing_of(server['id'], before[1])
