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
"""The source's nova-compute SIGKILLed in the middle of a real-time
server's live migration, then started again: the server ends ACTIVE on
exactly one host, running there with every real-time setting of its
flavor, one QEMU and one domain in all, and placement never counts fewer
PCPUs than run.

Found here (Nova 34, not mended by nova-rt): the restarted source aborts
the migration and marks it ``error`` (``ComputeManager._reset_live_migration``)
but leaves placement as the migration had set it: the instance's
allocation on the destination, the source's PCPU held by the migration.
Nothing is double-booked (each host's PCPU stays held), but once the server
is deleted the migration's allocation on the source stays, a dedicated CPU
lost to the scheduler until ``nova-manage placement audit --delete``
removes it. The destination keeps the instance directory that
``pre_live_migration`` made for the disk copy: Nova's periodic
``_cleanup_incomplete_migrations`` looks for migrations in ``error`` but
the delete soft-deleted this one with its instance, so it never finds it.
The test checks exactly those two leftovers, then removes them as an
operator would, so the tests after it start from a clean cloud.
"""

import os
import shlex
import time

from nova_rt_tempest_plugin.tests.faults import base
from nova_rt_tempest_plugin.tests import test_moves
from oslo_log import log as logging
from tempest.lib import decorators

LOG = logging.getLogger(__name__)


class MigrationKilledTest(base.FaultsTest, test_moves.MovesTest):

    def wait_settled(self, server_id, timeout=300):
        """The server once no task runs and its last migration ended."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.admin_show(server_id)
            last = self.last_migration(server_id)
            if not state.get('OS-EXT-STS:task_state') and last['status'] in (
                    'completed', 'error', 'failed', 'cancelled'):
                return state, last
            self.assertLess(time.monotonic(), deadline,
                            'server %s still %s/%s, migration %s' % (
                                server_id, state['status'],
                                state.get('OS-EXT-STS:task_state'),
                                last['status']))
            time.sleep(2)

    @decorators.idempotent_id('7c1d3e5f-0a2b-4c4d-8e6f-1a2b3c4d5e14')
    def test_source_compute_sigkilled_during_live_migration(self):
        server = self.mover()
        source, name, _ = self.snapshot(server['id'])
        threads = self.steady_threads(server['id'])
        other = [h for h in self.hosts() if h != source][0]
        self.slow_live_migrations(source)
        self.admin_servers_client.live_migrate_server(
            server['id'], host=None, block_migration='auto')
        migration = self.wait_migration(server['id'], 'running')
        started = time.monotonic()
        self.cloud('kill', '--signal', 'KILL', 'nova-compute@%s' % source)
        # The source drives the migration: dead, nothing moves its record,
        # so what it says now is where the kill landed.
        at_kill = self.last_migration(server['id'])
        self.cloud('start', 'nova-compute@%s' % source)
        self.assertEqual((migration['id'], 'running'),
                         (at_kill['id'], at_kill['status']),
                         'the kill landed outside the live migration')
        state, last = self.wait_settled(server['id'])
        settled = time.monotonic() - started
        host = state['OS-EXT-SRV-ATTR:host']
        LOG.info('live migration %s killed on %s: migration %s, server %s '
                 'on %s after %.1f s', migration['id'], source,
                 last['status'], state['status'], host, settled)
        self.assertEqual('ACTIVE', state['status'], state.get('fault'))
        # moving-guests.rst: back on the source, the very same guest.
        self.assertEqual(source, host, 'the server after the killed '
                         'migration')
        running = {h: self.host_access.virsh(h, 'domstate', name).strip()
                   for h in (source, other)
                   if name in self.host_access.domain_names(h)}
        self.assertEqual({host: 'running'}, running,
                         'the domain of %s, per host' % server['id'])
        self.assert_realtime(server['id'], **test_moves.MOVER_CHECK)
        self.assertEqual(threads, self.steady_threads(server['id']),
                         'QEMU and vCPU threads (class, priority, CPUs) '
                         'before and after')
        self.record_figures('migration-kill', {
            'migration_kill.settled_s': round(settled, 1),
            'migration_kill.migration_status': last['status']})
        # The hosts share this machine's PIDs: one QEMU of the guest in
        # all, no incoming one left of the destination.
        qemus = self.host_access.qemu_guests(host)
        self.assertEqual(1, qemus.count(name), 'QEMUs of %s' % name)
        # Every host's PCPU in use is held in placement: by the instance
        # or by its failed migration (Nova's leftover shape, above).
        consumers = {server['id']: self.allocations(server['id']),
                     last['uuid']: self.allocations(last['uuid'])}
        LOG.info('placement after the killed migration: %s', consumers)
        holds = {h: n for h, n in self.pcpus_used().items() if n}
        self.assertIn(host, holds, 'the PCPU %s runs on is not held' % host)
        for h, n in holds.items():
            self.assertLessEqual(n, len(self.dedicated), h)
        self.delete_as_admin(server['id'])
        leaked = self.allocations_left([server['id'], last['uuid']],
                                       timeout=10)
        if leaked:
            LOG.warning('Nova left the allocation of migration %s (%s) '
                        'after the delete: %s; removed as nova-manage '
                        'placement audit --delete does', last['id'],
                        last['status'], leaked)
            self.assertEqual([last['uuid']], list(leaked))
            self.os_admin.placement_client.delete(
                '/allocations/%s' % last['uuid'])
        found = self.leftovers({server['id']: name})
        stray = 'instance directory %s on %s' % (server['id'], other)
        if stray in found:
            LOG.warning('Nova left the %s; removed', stray)
            self.host_access.run(other, 'rm -rf %s' % shlex.quote(
                os.path.join(base.CONF.nova_rt.instances_path,
                             server['id'])))
            found.remove(stray)
        self.assertEqual([], found)
        self.assertEqual({}, {h: n for h, n in self.pcpus_used().items()
                              if n})
