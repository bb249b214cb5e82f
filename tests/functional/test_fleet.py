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
"""``nova-rt fleet`` and ``openstack realtime ...`` (the OSC plugin's
commands, run by cliff as OSC runs them) through openstacksdk against
nova's and placement's real APIs, in process, with nova-rt's driver on
fake-libvirt computes.
"""

import argparse
import io
import json

import fixtures
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from openstack import connection
from openstack import proxy
from openstack import service_description
from osc_lib import exceptions as osc_exceptions

from nova_rt.cmd import fleet
from nova_rt.osc.v1 import flavor as osc_flavor
from nova_rt.osc.v1 import host as osc_host
from tests.functional import realtime_base
from tests.unit.osc import base as osc_base

# nova's test base stubs the sdk's placement proxy for its own clients
# (OpenStackSDKFixture); fleet is tested with the real one.
REAL_MAKE_PROXY = service_description.ServiceDescription._make_proxy
REAL_GET_ENDPOINT = proxy.Proxy.get_endpoint


class FleetTest(realtime_base.RealtimeDriverTestBase):

    def setUp(self):
        super().setUp()
        self.start_realtime_compute('rt1', 1, 8, {0})
        self.start_realtime_compute('rt2', 1, 8, {0}, ready=False)
        self.plain = self._create_flavor(vcpu=1, memory_mb=512)
        self.rt = self._create_flavor(
            vcpu=4, memory_mb=1024,
            extra_spec=dict(realtime_base.RT, **{
                'hw:cpu_realtime_mask': '^0'}))
        self.server = self._create_server(
            name='rt-vm', flavor_id=self.rt, networks='none')
        self._create_server(name='plain-vm', flavor_id=self.plain,
                            networks='none', host='rt2')
        self.conn = self.sdk_connection()

    def sdk_connection(self):
        """openstacksdk on the in-process APIs, as an admin.

        The test APIs authenticate by headers instead of keystone tokens:
        nova's fixture reads the user, project and roles, placement's
        noauth middleware the token 'admin'.
        """
        self.useFixture(fixtures.MonkeyPatch(
            'openstack.service_description.ServiceDescription._make_proxy',
            REAL_MAKE_PROXY))
        self.useFixture(fixtures.MonkeyPatch(
            'openstack.proxy.Proxy.get_endpoint', REAL_GET_ENDPOINT))
        session = ks_session.Session(auth=noauth.NoAuth(), additional_headers={
            'X-Auth-User': 'admin',
            'X-Auth-Project-Id': self.api_fixture.project_id,
            'X-Roles': 'reader,member,admin',
            'X-Auth-Token': 'admin',
        })
        return connection.Connection(
            session=session,
            compute_endpoint_override=self.api_fixture.admin_api.base_url,
            placement_endpoint_override=self.placement.fixture.endpoint)

    def fleet(self, fmt):
        out = io.StringIO()
        args = argparse.Namespace(format=fmt, os_cloud=None,
                                  os_region_name=None)
        self.assertEqual(0, fleet.show_fleet(args, out=out, conn=self.conn))
        return out.getvalue()

    def test_json(self):
        doc = json.loads(self.fleet('json'))
        hosts = {h['host']: h for h in doc['hosts']}
        self.assertEqual(['rt1', 'rt2'], sorted(hosts))
        rt1, rt2 = hosts['rt1'], hosts['rt2']
        self.assertTrue(rt1['ready'])
        self.assertTrue(rt1['preempt_rt'])
        self.assertIn('CUSTOM_NOVA_RT_READY', rt1['traits'])
        self.assertFalse(rt2['ready'])
        self.assertNotIn('CUSTOM_NOVA_RT_READY', rt2['traits'])
        self.assertEqual(('up', 'enabled'), (rt1['state'], rt1['status']))
        # cpu_dedicated_set is CPUs 1-7 on each: 7 PCPUs; the real-time
        # server holds 4 of rt1's.
        self.assertEqual((7, 4, 3), (rt1['pcpu_total'], rt1['pcpu_used'],
                                     rt1['pcpu_free']))
        self.assertEqual((7, 0), (rt2['pcpu_total'], rt2['pcpu_used']))
        self.assertEqual([{'id': self.server['id'], 'name': 'rt-vm',
                           'status': 'ACTIVE', 'vcpus': 4,
                           'flavor': self.api.get_flavor(self.rt)['name']}],
                         rt1['realtime_instances'])
        # The plain server on rt2 is no real-time instance.
        self.assertEqual([], rt2['realtime_instances'])

    def test_text(self):
        text = self.fleet('text')
        lines = text.splitlines()
        self.assertEqual(['HOST', 'STATE', 'READY', 'PREEMPT_RT', 'CAT',
                          'PCPU', 'USED/TOTAL', 'FREE', 'RT', 'INSTANCES'],
                         lines[0].split())
        self.assertEqual(['rt1', 'up/enabled', 'yes', 'yes', 'yes', '4/7',
                          '3', '1'], lines[1].split())
        self.assertEqual(['rt2', 'up/enabled', 'no', 'yes', 'yes', '0/7',
                          '7', '0'], lines[2].split())
        self.assertIn('1 of 2 hosts ready for real-time guests, 3 isolated '
                      'cores free on them', text)
        self.assertIn('  rt1: rt-vm (%s) ACTIVE, 4 vCPUs' % self.server['id'],
                      text)

    # --- the same cloud through `openstack realtime ...` ----------------

    def osc(self, cls, *argv):
        """A command of the OSC plugin, run by cliff: (exit code, stdout)."""
        stdout = io.StringIO()
        cmd = cls(osc_base.fake_app(stdout, realtime=self.conn), None)
        parsed = cmd.get_parser('openstack').parse_args(list(argv))
        return cmd.run(parsed), stdout.getvalue()

    def test_osc_host_list_is_the_fleet(self):
        code, out = self.osc(osc_host.ListHost, '-f', 'json', '--long')
        self.assertEqual(0, code)
        listed = {h['Host']: h for h in json.loads(out)}
        fleet_doc = {h['host']: h for h in json.loads(self.fleet('json'))[
            'hosts']}
        self.assertEqual(sorted(fleet_doc), sorted(listed))
        for name, host in fleet_doc.items():
            self.assertEqual(
                (host['ready'], host['pcpu_total'], host['pcpu_used'],
                 host['pcpu_free'], len(host['realtime_instances']),
                 host['traits']),
                (listed[name]['Ready'], listed[name]['PCPUs Total'],
                 listed[name]['PCPUs Used'], listed[name]['PCPUs Free'],
                 listed[name]['RT Instances'], listed[name]['Traits']))
        code, out = self.osc(osc_host.ShowHost, 'rt1', '-f', 'json')
        self.assertEqual([self.server['id']], [
            i['id'] for i in json.loads(out)['realtime_instances']])

    def test_osc_flavor_create_and_explain_through_nova(self):
        code, out = self.osc(osc_flavor.CreateFlavor, 'rt.osc', '--vcpus',
                             '4', '--vcpu-priority', '12', '--property',
                             'rt:guest_idle_poll=true', '-f', 'json')
        self.assertEqual(0, code)
        created = json.loads(out)
        specs = self.admin_api.api_get(
            '/flavors/%s/os-extra_specs' % created['id']).body['extra_specs']
        self.assertEqual('required', specs['trait:CUSTOM_NOVA_RT_READY'])
        self.assertEqual('12', specs['rt:vcpu_priority'])
        code, out = self.osc(osc_flavor.ExplainFlavor, 'rt.osc', '-f',
                             'json')
        explained = json.loads(out)
        self.assertEqual('1-3', explained['realtime_vcpus'])
        self.assertIn('idle=poll', explained['guest_kernel_args'])

    def test_osc_flavor_refused_by_nova_is_deleted_again(self):
        # nova-rt's core accepts it; nova-api's validators (microversion
        # 2.86) refuse an unknown hw: key, and the flavor goes again.
        self.assertRaisesRegex(
            osc_exceptions.CommandError,
            "setting the extra specs of flavor rt.refused failed: .*"
            "hw:cpu_foo.*; the flavor was deleted again",
            self.osc, osc_flavor.CreateFlavor, 'rt.refused', '--vcpus', '2',
            '--property', 'hw:cpu_foo=1')
        names = [f['name'] for f in self.api.get_flavors()]
        self.assertNotIn('rt.refused', names)
