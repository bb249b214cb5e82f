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
"""``nova-rt fleet`` against the cloud's own APIs, as an operator runs it."""

import json
import shlex

from nova_rt_tempest_plugin.tests import base
import openstack
from tempest import config
from tempest.lib import decorators

from nova_rt.host import facts as host_facts
from nova_rt.operator import fleet

CONF = config.CONF


class FleetTest(base.RealtimeTest):
    """The fleet view lists every compute with what placement and nova
    know of it, and a real-time server where it runs.
    """

    def admin_connection(self):
        """An openstacksdk connection with tempest's admin credentials,
        through the catalog as `nova-rt fleet --os-cloud` would go.
        """
        creds = self.os_admin.credentials
        conn = openstack.connect(
            auth_url=CONF.identity.uri_v3, username=creds.username,
            password=creds.password, project_name=creds.project_name,
            user_domain_name=creds.user_domain_name,
            project_domain_name=creds.project_domain_name,
            region_name=CONF.identity.region or None)
        self.addCleanup(conn.close)
        return conn

    @decorators.idempotent_id('c2b7a0d4-5e61-4f3a-8b9c-0d1e2f3a4b01')
    def test_fleet_lists_the_compute_and_its_realtime_server(self):
        self.require_pcpus(1, 'the real-time vCPU')
        flavor = self.flavor(2, dict(base.RT_TWO))
        server = self.boot(flavor)
        compute = self.admin_show(server['id'])['OS-EXT-SRV-ATTR:host']

        hosts = fleet.collect(self.admin_connection())

        by_host = {h.host: h for h in hosts}
        self.assertIn(compute, by_host)
        host = by_host[compute]
        self.assertEqual([server['id']],
                         [i.id for i in host.realtime_instances])
        self.assertEqual(len(self.dedicated), host.pcpu_total)
        # A mixed flavor pins only its real-time vCPU: one PCPU.
        self.assertEqual(1, host.pcpu_used)
        # Ready as the host's own audit finds it (nova-rt host check on
        # the compute, exit 0 ready, 1 not ready), and a lab compute never.
        audit = json.loads(self.host_access.run(
            self.address_of(compute),
            '%s host check --format json --config-file %s\n'
            'rc=$?; [ "$rc" -le 1 ] || exit "$rc"\n' % (
                shlex.quote(CONF.nova_rt.host_nova_rt),
                shlex.quote(CONF.nova_rt.host_nova_conf.format(
                    host=compute)))))
        self.assertIs(audit['ready'] and not CONF.nova_rt.lab_mode,
                      host.ready, 'ready as nova-rt fleet lists %s' % compute)
        if CONF.nova_rt.lab_mode:
            self.assertFalse(host.ready)
            self.assertNotIn(host_facts.TRAIT_READY, host.traits)
