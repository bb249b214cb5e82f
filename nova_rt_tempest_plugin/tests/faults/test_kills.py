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
"""nova-compute killed in the middle of a real-time spawn or delete, then
started again: the server ends ACTIVE with every real-time setting, or in
ERROR and deleted without a trace; never ACTIVE without its settings.
"""

import time

from nova_rt_tempest_plugin.tests.faults import base
from oslo_log import log as logging
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

LOG = logging.getLogger(__name__)

# The build step that makes the domain: killed there, the compute leaves
# a guest that may run, disks, and allocations behind it.
SPAWNING = ('spawning',)
ATTEMPTS = 4


class ComputeKilledTest(base.FaultsTest):

    def catch(self, server_id, task_states):
        """Poll until the server is in one of ``task_states`` on a host:
        (host, task state), or None once it went past them.
        """
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = self.admin_show(server_id)
            task = state.get('OS-EXT-STS:task_state')
            host = state.get('OS-EXT-SRV-ATTR:host')
            if task in task_states and host:
                return host, task
            if state['status'] in base.FINAL and not task:
                return None
            time.sleep(0.05)
        self.fail('server %s never reached %s' % (server_id, task_states))

    def state_now(self, server_id):
        """(status, task state) of a server now; ('DELETED', None) once it
        is gone.
        """
        try:
            state = self.admin_show(server_id)
        except lib_exc.NotFound:
            return 'DELETED', None
        return state['status'], state.get('OS-EXT-STS:task_state')

    def kill_during(self, task_states, signal, start, act):
        """``start()`` a server operation, send ``signal`` to nova-compute
        while the server is in ``task_states``, start it again once it is
        gone: (server id, instance name, task state at the signal).

        Proof that the signal landed inside the operation: the server's
        state is read as soon as the signal is out. Nova records the end
        of a build's or a delete's step only when the step is done, so a
        state still in ``task_states`` then is a signal that reached the
        compute inside it. (SIGKILL ends the compute there; SIGTERM lets
        it stop gracefully, and it may finish the step first.) A signal
        that landed after the operation (the state moved on) is retried,
        and the test fails when no attempt landed.
        """
        missed = []
        for attempt in range(1, ATTEMPTS + 1):
            server = start()
            caught = self.catch(server['id'], task_states) \
                if act is None else act(server)
            if caught is None:
                missed.append('attempt %d: went past %s before the signal'
                              % (attempt, '/'.join(task_states)))
                LOG.info('%s', missed[-1])
                self.delete_as_admin(server['id'])
                self.wait_usage_settled()
                continue
            host, task = caught
            name = self.admin_show(server['id'])[
                'OS-EXT-SRV-ATTR:instance_name']
            started = time.monotonic()
            (status, landed), out = self.signal_and_look(
                signal, 'nova-compute@%s' % host,
                lambda: self.state_now(server['id']))
            self.assertIn('killed nova-compute@%s' % host, out,
                          'nova-compute@%s survived SIG%s' % (host, signal))
            gone_in = self.state_now(server['id'])
            self.cloud('start', 'nova-compute@%s' % host)
            LOG.info('SIG%s to nova-compute@%s in %s/%s (caught in %s), '
                     'gone in %s/%s, back after %.1f s', signal, host,
                     status, landed, task, gone_in[0], gone_in[1],
                     time.monotonic() - started)
            if landed not in task_states:
                missed.append('attempt %d: the signal landed in %s/%s, '
                              'after %s' % (attempt, status, landed,
                                            '/'.join(task_states)))
                LOG.info('%s', missed[-1])
                self.wait_computes_enabled()
                self.delete_as_admin(server['id'])
                self.wait_usage_settled()
                continue
            return server['id'], name, landed
        self.fail('the signal never landed inside %s: %s' % (
            '/'.join(task_states), '; '.join(missed)))

    def check_spawn_killed(self, signal):
        flavor = self.realtime_flavor()
        server_id, name, task = self.kill_during(
            SPAWNING, signal, lambda: self.create(flavor), None)
        state = self.wait_final(server_id, timeout=300)
        LOG.info('spawn killed (SIG%s in %s): server ended %s', signal,
                 task, state['status'])
        if state['status'] == 'ACTIVE':
            # Never ACTIVE without its real-time settings.
            self.assert_realtime(server_id, {1}, 'fifo', 10)
        else:
            self.assert_clean_fault(state)
        self.delete_as_admin(server_id)
        self.assert_no_leftovers({server_id: name})
        # And the compute builds real-time servers again.
        self.wait_computes_enabled()
        self.wait_usage_settled()
        again = self.create(flavor)
        self.assertEqual('ACTIVE', self.wait_final(again['id'])['status'])
        self.assert_realtime(again['id'], {1}, 'fifo', 10)

    @decorators.idempotent_id('7c1d3e5f-0a2b-4c4d-8e6f-1a2b3c4d5e11')
    def test_compute_sigkilled_during_spawn(self):
        self.check_spawn_killed('KILL')

    @decorators.idempotent_id('7c1d3e5f-0a2b-4c4d-8e6f-1a2b3c4d5e12')
    def test_compute_sigtermed_during_spawn(self):
        self.check_spawn_killed('TERM')

    @decorators.idempotent_id('7c1d3e5f-0a2b-4c4d-8e6f-1a2b3c4d5e13')
    def test_compute_sigkilled_during_delete(self):
        flavor = self.realtime_flavor()

        def active():
            server = self.create(flavor)
            self.assertEqual('ACTIVE',
                             self.wait_final(server['id'])['status'])
            return server

        def delete(server):
            self.servers_client.delete_server(server['id'])
            return self.catch(server['id'], ('deleting',))

        server_id, name, _ = self.kill_during(('deleting',), 'KILL', active,
                                              delete)
        # The restarted compute finishes the delete it was killed in.
        self.wait_gone(server_id, timeout=300)
        self.assert_no_leftovers({server_id: name})
