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
"""RabbitMQ and the database gone for a minute while real-time servers
are created: each request fails or completes cleanly, and nothing is left
half-made once they are back.
"""

import datetime
import time

from nova_rt_tempest_plugin.tests.faults import base
from oslo_log import log as logging
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

LOG = logging.getLogger(__name__)

OUTAGE_S = 60
# Where Nova leaves a server caught by the outage, on no host, until it is
# deleted (both seen in this test):
# - BUILD, scheduling: the conductor lost the scheduler's reply with
#   RabbitMQ and could not bury the request with the database gone;
# - BUILD, no task: the compute took the build, but its first
#   instance.save through the conductor timed out with RabbitMQ; it
#   reverted the task state and deleted its allocations, and nothing set
#   the server to ERROR.
STUCK = (('BUILD', 'scheduling'), ('BUILD', None))
# A create while the database is down is refused at once (0.1 s seen);
# this bounds "refused, not hung".
REFUSED_WITHIN_S = 30
# The build steps on a compute: the outage must catch one of them.
BUILDING = ('networking', 'block_device_mapping', 'spawning')


class OutageTest(base.FaultsTest):

    def create_during_outage(self, flavor):
        """A create while the database is down: refused, not hung."""
        started = time.monotonic()
        try:
            server = self.create(flavor)
        except (lib_exc.ServerFault, lib_exc.Unauthorized,
                lib_exc.UnexpectedResponseCode) as e:
            took = time.monotonic() - started
            LOG.info('create during the outage refused after %.1f s: %s',
                     took, type(e).__name__)
            self.assertLess(took, REFUSED_WITHIN_S,
                            'a create during the outage hung %.1f s before '
                            'it was refused' % took)
            return None
        LOG.info('create during the outage accepted: %s', server['id'])
        return server['id']

    def settled(self, server_id, timeout=90):
        """The server once ACTIVE or ERROR, or still BUILD after
        ``timeout`` in scheduling or in no task (Nova leaves it there, see
        below).
        """
        deadline = time.monotonic() + timeout
        while True:
            state = self.admin_show(server_id)
            task = state.get('OS-EXT-STS:task_state')
            if state['status'] in base.FINAL and not task:
                return state
            if time.monotonic() > deadline:
                self.assertIn((state['status'], task), STUCK,
                              'server %s after the outage' % server_id)
                return state
            time.sleep(2)

    def building(self, servers, timeout=120):
        """Until one of ``servers`` is being built on a compute (one of
        BUILDING): its id.
        """
        deadline = time.monotonic() + timeout
        while True:
            for sid in servers:
                state = self.admin_show(sid)
                if state.get('OS-EXT-STS:task_state') in BUILDING and \
                        state.get('OS-EXT-SRV-ATTR:host'):
                    return sid
            self.assertLess(time.monotonic(), deadline,
                            'no server reached a compute within %d s'
                            % timeout)
            time.sleep(0.2)

    @decorators.idempotent_id('7c1d3e5f-0a2b-4c4d-8e6f-1a2b3c4d5e31')
    def test_rabbitmq_and_database_stopped_during_creates(self):
        flavor = self.realtime_flavor()
        servers = [self.create(flavor)['id'] for _ in range(2)]
        caught = self.building(servers)
        # The window held open: the caught build's compute frozen (SIGSTOP)
        # while both services go, then thawed into the outage.
        compute = 'nova-compute@%s' % self.admin_show(caught)[
            'OS-EXT-SRV-ATTR:host']
        self.addCleanup(self.cloud, 'kill', '--signal', 'CONT', compute)
        self.cloud('kill', '--signal', 'STOP', compute)
        started = time.monotonic()
        self.addCleanup(self.cloud, 'start', 'mariadb', 'rabbitmq')
        self.cloud('stop', 'rabbitmq', 'mariadb')
        # Both gone: nothing of Nova's can save a server from here on.
        down_at = datetime.datetime.now(datetime.timezone.utc)
        self.cloud('kill', '--signal', 'CONT', compute)
        during = self.create_during_outage(flavor)
        if during:
            servers.append(during)
        time.sleep(max(0, OUTAGE_S - (time.monotonic() - started)))
        self.cloud('start', 'mariadb', 'rabbitmq')
        LOG.info('RabbitMQ and the database back after %.1f s',
                 time.monotonic() - started)
        self.wait_computes_enabled(timeout=300)
        states = {sid: self.settled(sid) for sid in servers}
        # The outage landed inside the caught server's build: it ended
        # (its last save) after both services were down, or never did.
        last = self.admin_show(caught)
        updated = datetime.datetime.fromisoformat(
            last['updated'].replace('Z', '+00:00'))
        LOG.info('server %s was building on %s when the outage began; it '
                 'ended %s/%s, saved last at %s (down at %s)', caught,
                 last['OS-EXT-SRV-ATTR:host'], last['status'],
                 last.get('OS-EXT-STS:task_state'), last['updated'],
                 down_at.isoformat())
        self.assertTrue(
            last['status'] == 'BUILD' or updated > down_at,
            'the build of %s ended at %s, before the outage began at %s'
            % (caught, last['updated'], down_at.isoformat()))
        for sid, state in states.items():
            LOG.info('server %s created around the outage: %s (%s)', sid,
                     state['status'], (state.get('fault') or {}).get(
                         'message', 'no fault'))
            if state['status'] == 'BUILD':
                # Stuck in one of Nova's STUCK states, on no host, until
                # deleted. Nothing of it may exist on a host.
                self.assertIsNone(state.get('OS-EXT-SRV-ATTR:host'))
            elif state['status'] == 'ACTIVE':
                self.assert_realtime(sid, {1}, 'fifo', 10)
            else:
                self.assert_clean_fault(state)
        active = [sid for sid, s in states.items() if s['status'] == 'ACTIVE']
        waiting = [sid for sid, s in states.items() if s['status'] == 'BUILD']
        self.assert_pcpus_match_pins(active, claimed=waiting)
        names = {sid: s['OS-EXT-SRV-ATTR:instance_name']
                 for sid, s in states.items()}
        for sid in names:
            self.delete_as_admin(sid)
        self.assert_no_leftovers(names)
        self.assertEqual({}, {h: n for h, n in self.pcpus_used().items()
                              if n})
        # The cloud builds real-time servers again.
        self.wait_usage_settled()
        again = self.create(flavor)['id']
        self.assertEqual('ACTIVE', self.wait_final(again)['status'])
        self.assert_realtime(again, {1}, 'fifo', 10)
