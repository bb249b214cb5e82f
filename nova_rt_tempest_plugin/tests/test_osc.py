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
"""The real ``openstack`` client with nova-rt's plugin against the cloud,
as an operator runs it: ``openstack realtime host list``, ``flavor
create`` and ``flavor explain``; and the compute's metrics file through
``promtool`` when the cloud writes one.

The client is the ``openstack`` of tempest's own environment (next to its
python, else on PATH), authenticated with tempest's admin credentials
passed as the ``OS_*`` variables every OpenStack client reads.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import time

from nova_rt_tempest_plugin.tests import base
from tempest import config
from tempest.lib.common.utils import data_utils
from tempest.lib import decorators

CONF = config.CONF


def openstack_binary():
    beside = os.path.join(os.path.dirname(sys.executable), 'openstack')
    return beside if os.access(beside, os.X_OK) else shutil.which(
        'openstack')


class OpenStackClientTest(base.RealtimeTest):

    def setUp(self):
        super().setUp()
        self.binary = openstack_binary()
        if not self.binary:
            raise self.skipException('no openstack client next to tempest '
                                     '(pip install python-openstackclient)')

    def openstack(self, *argv):
        creds = self.os_admin.credentials
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        env.update(OS_AUTH_URL=CONF.identity.uri_v3,
                   OS_IDENTITY_API_VERSION='3',
                   OS_USERNAME=creds.username, OS_PASSWORD=creds.password,
                   OS_PROJECT_NAME=creds.project_name,
                   OS_USER_DOMAIN_NAME=creds.user_domain_name,
                   OS_PROJECT_DOMAIN_NAME=creds.project_domain_name)
        if CONF.identity.region:
            env['OS_REGION_NAME'] = CONF.identity.region
        return subprocess.run([self.binary] + list(argv), env=env,
                              capture_output=True, text=True, timeout=300)

    def ok(self, *argv):
        result = self.openstack(*argv)
        self.assertEqual(0, result.returncode, result.stderr)
        return result.stdout

    @decorators.idempotent_id('5d0b6f3e-8a41-4c8e-9f0e-6b2a7c1d9e21')
    def test_realtime_host_list(self):
        hypervisors = self.os_admin.hypervisor_client.list_hypervisors(
            detail=True)['hypervisors']
        # Against each host's own truth: its configured dedicated CPUs and
        # the ones its libvirt domains hold. Placement frees a deleted
        # server's CPUs a moment after the server is gone: read until the
        # two agree, within a bound.
        deadline = time.monotonic() + 30
        while True:
            listed = json.loads(self.ok('realtime', 'host', 'list', '-f',
                                        'json'))
            wrong = {}
            for host in listed:
                held = self.held_pins(self.address_of(host['Host']))
                want = (len(self.dedicated), len(held),
                        len(self.dedicated - held))
                got = (host['PCPUs Total'], host['PCPUs Used'],
                       host['PCPUs Free'])
                if want != got:
                    wrong[host['Host']] = 'listed %s, the host has %s' % (
                        got, want)
            if not wrong or time.monotonic() > deadline:
                break
            time.sleep(1)
        self.assertEqual({}, wrong, 'PCPUs total, used, free')
        self.assertEqual(sorted(h['hypervisor_hostname']
                                for h in hypervisors),
                         sorted(h['Node'] for h in listed))
        for host in listed:
            if CONF.nova_rt.lab_mode:
                self.assertIs(False, host['Ready'])
        shown = json.loads(self.ok('realtime', 'host', 'show',
                                   listed[0]['Host'], '-f', 'json'))
        self.assertEqual(listed[0]['Node'], shown['node'])

    @decorators.idempotent_id('1f3c2e4a-6b7d-4e8f-9a0b-1c2d3e4f5a62')
    def test_realtime_flavor_create_and_explain(self):
        name = data_utils.rand_name(prefix=CONF.resource_name_prefix,
                                    name='nrt-osc')
        created = json.loads(self.ok(
            'realtime', 'flavor', 'create', name, '--vcpus', '2', '--ram',
            '128', '--vcpu-priority', '5', '-f', 'json'))
        self.addCleanup(self.admin_flavors_client.delete_flavor,
                        created['id'])
        specs = self.admin_flavors_client.list_flavor_extra_specs(
            created['id'])['extra_specs']
        self.assertEqual('required', specs['trait:CUSTOM_NOVA_RT_READY'])
        self.assertEqual('^0', specs['hw:cpu_realtime_mask'])
        self.assertEqual('5', specs['rt:vcpu_priority'])
        explained = json.loads(self.ok('realtime', 'flavor', 'explain',
                                       name, '-f', 'json'))
        self.assertEqual('1', explained['realtime_vcpus'])
        self.assertEqual(5, explained['vcpu_priority'])
        # Refused before anything is created, in one line, exit 1.
        refused = self.openstack('realtime', 'flavor', 'create',
                                 name + '-bad', '--vcpus', '2',
                                 '--vcpu-priority', '99')
        self.assertEqual(1, refused.returncode)
        self.assertIn('nothing created', refused.stderr)
        self.assertNotIn('Traceback', refused.stderr)
        names = [f['name'] for f in
                 self.admin_flavors_client.list_flavors()['flavors']]
        self.assertNotIn(name + '-bad', names)

    @decorators.idempotent_id('8e7d6c5b-4a39-4281-9f0e-2d3c4b5a6f73')
    def test_not_realtime_flavor_is_one_line_exit_1(self):
        flavor = self.flavor(1, {})
        result = self.openstack('realtime', 'flavor', 'explain', flavor)
        self.assertEqual(1, result.returncode)
        self.assertIn('is not a real-time flavor', result.stderr)
        self.assertNotIn('Traceback', result.stderr)

    @decorators.idempotent_id('3b4c5d6e-7f80-4a91-8b2c-3d4e5f6a7b84')
    def test_compute_metrics_file(self):
        path = CONF.nova_rt.metrics_file
        if not path:
            raise self.skipException('no [nova_rt] metrics_file to read')
        promtool = shutil.which('promtool')
        if not promtool:
            raise self.skipException('no promtool (Debian: prometheus)')
        # Each compute's own file, read where it is.
        hosts = ['localhost'] if CONF.nova_rt.host_access == 'local' else [
            h['hypervisor_hostname'] for h in
            self.os_admin.hypervisor_client.list_hypervisors()[
                'hypervisors']]
        for host in hosts:
            text = self.host_access.run(host, 'cat %s\n'
                                        % shlex.quote(path))
            result = subprocess.run([promtool, 'check', 'metrics'],
                                    input=text, capture_output=True,
                                    text=True, timeout=60)
            self.assertEqual(0, result.returncode,
                             '%s: %s' % (host, result.stdout + result.stderr))
            self.assertIn('nova_rt_host_ready ', text)
            if CONF.nova_rt.lab_mode:
                self.assertIn('nova_rt_host_lab_mode 1\n', text)
