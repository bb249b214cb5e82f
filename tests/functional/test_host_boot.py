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
"""A compute host that boots again with ``[DEFAULT]
resume_guests_state_on_host_boot``: its real-time guests come back with
every real-time setting, unless the host lost what made it ready; then
they stay off, in ERROR, and their fault says why.
"""

from nova import context as nova_context
from nova import objects
from nova.tests.fixtures import libvirt as fakelibvirt

from tests.functional import realtime_base as rb
from tests.functional import test_driver


class HostBootTest(test_driver.RealtimeDomainMixin,
                   rb.RealtimeDriverTestBase):

    def setUp(self):
        super().setUp()
        self.start_realtime_compute('rt1', nodes=2, cores_per_node=6,
                                    housekeeping={0, 6})
        # A fresh audit at every use: what the host is after its boot.
        self.flags(facts_refresh_interval=0, group='nova_rt')
        self.flags(resume_guests_state_on_host_boot=True)
        self.server = self.boot(**{'hw:cpu_realtime_mask': '^0'})
        self.assert_realtime_domain(self.server)

    def domain(self, server):
        conn = self.computes['rt1'].driver._host.get_connection()
        return conn.lookupByUUIDString(server['id'])

    def power_cut(self):
        """Every guest of the host stops at once, as the power goes."""
        self.domain(self.server).destroy()

    def faults(self, server):
        return [f.message for f in
                objects.InstanceFaultList.get_by_instance_uuids(
                    nova_context.get_admin_context(), [server['id']])]

    def restart_and_find_running(self):
        """Start rt1's compute service again; the server is ACTIVE and its
        domain runs.
        """
        self.restart_compute_service('rt1')
        server = self.api.get_server(self.server['id'])
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual(fakelibvirt.VIR_DOMAIN_RUNNING,
                         self.domain(server).info()[0])
        return server

    def test_boot_resumes_the_guest_with_its_settings(self):
        self.power_cut()
        before = len(self.defined[self.server['id']])
        server = self.restart_and_find_running()
        self.assertGreater(len(self.defined[server['id']]), before,
                           'the boot wrote no domain')
        self.assert_realtime_domain(server)

    def test_a_host_no_longer_ready_keeps_the_guest_off(self):
        self.power_cut()
        self.break_isolation('rt1')
        before = len(self.defined[self.server['id']])
        self.restart_compute_service('rt1')
        server = self._wait_for_state_change(self.server, 'ERROR')
        self.assertEqual(fakelibvirt.VIR_DOMAIN_SHUTOFF,
                         self.domain(server).info()[0])
        self.assertEqual(before, len(self.defined[server['id']]),
                         'a domain was written for a host not ready')
        messages = ' | '.join(self.faults(server))
        self.assertIn('nova-rt: not_ready: host is not ready for real-time '
                      'guests', messages)
        self.assertIn('not started again on', messages)

    def test_a_running_guest_is_left_alone(self):
        # A compute service restart, not a host boot: the guest runs on,
        # even on a host that is no longer ready (running guests are
        # untouched, as everywhere in nova-rt).
        self.break_isolation('rt1')
        before = len(self.defined[self.server['id']])
        server = self.restart_and_find_running()
        self.assertEqual(before, len(self.defined[server['id']]))
        self.assertEqual([], self.faults(server))
