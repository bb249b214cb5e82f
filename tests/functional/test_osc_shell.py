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
"""The real ``openstack`` command (python-openstackclient) loading
nova-rt's plugin, and its answers when the cloud is missing, unknown or
unreachable: one line, exit 1, never a traceback. The commands against a
cloud: tests/functional/test_fleet.py (nova's and placement's APIs in
process) and the tempest plugin's test_osc (a real cloud).
"""

import os
import subprocess
import sys

import fixtures
import testtools

OPENSTACK = os.path.join(os.path.dirname(sys.executable), 'openstack')


class OpenStackShellTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if not os.access(OPENSTACK, os.X_OK):
            self.skipTest('python-openstackclient is not installed next to '
                          '%s (test-requirements.txt)' % sys.executable)
        tmp = self.useFixture(fixtures.TempDir()).path
        self.clouds = os.path.join(tmp, 'clouds.yaml')
        with open(self.clouds, 'w') as f:
            # Port 9 (discard) on loopback: refused at once.
            f.write('clouds:\n  dead:\n    auth:\n'
                    '      auth_url: http://127.0.0.1:9/v3\n'
                    '      username: u\n      password: p\n'
                    '      project_name: p\n'
                    '      user_domain_name: Default\n'
                    '      project_domain_name: Default\n')
        # Neither the machine's clouds nor its OS_* credentials.
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith('OS_')}
        self.env.update(OS_CLIENT_CONFIG_FILE=self.clouds, HOME=tmp)

    def openstack(self, *argv):
        return subprocess.run([OPENSTACK] + list(argv), env=self.env,
                              capture_output=True, text=True, timeout=120)

    def test_plugin_commands_are_loaded(self):
        result = self.openstack('help', 'realtime')
        self.assertEqual(0, result.returncode, result.stderr)
        for command in ('realtime flavor create', 'realtime flavor explain',
                        'realtime host list', 'realtime host show'):
            self.assertIn(command, result.stdout)
        result = self.openstack('help', 'realtime', 'flavor', 'create')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn('--no-placement-traits', result.stdout)

    def assertOneLineExit1(self, result, message):
        self.assertEqual(1, result.returncode)
        self.assertEqual('', result.stdout)
        self.assertNotIn('Traceback', result.stderr)
        self.assertIn(message, result.stderr.splitlines()[-1])

    def test_missing_cloud(self):
        with open(self.clouds, 'w') as f:
            f.write('clouds: {}\n')
        result = self.openstack('realtime', 'host', 'list')
        self.assertOneLineExit1(result, 'Missing value auth-url required')
        self.assertEqual(1, len(result.stderr.splitlines()), result.stderr)

    def test_unknown_cloud(self):
        result = self.openstack('--os-cloud', 'nope', 'realtime', 'flavor',
                                'explain', 'rt.small')
        self.assertOneLineExit1(result, 'Cloud nope was not found.')
        self.assertEqual(1, len(result.stderr.splitlines()), result.stderr)

    def test_unreachable_cloud(self):
        result = self.openstack('--os-cloud', 'dead', 'realtime', 'host',
                                'list')
        # keystoneauth warns once ("Failed to discover available identity
        # versions") before OSC's own error line.
        self.assertOneLineExit1(result, 'Unable to establish connection to '
                                        'http://127.0.0.1:9/v3/auth/tokens')
