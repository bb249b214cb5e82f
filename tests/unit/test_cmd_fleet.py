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
"""What ``nova-rt fleet`` does without a cloud; tests/functional/test_fleet.py
runs it against nova's and placement's APIs.
"""

import contextlib
import io
import os

import fixtures
import testtools

from nova_rt.cmd import fleet
from nova_rt.cmd import main
from nova_rt.operator import fleet as fleet_model


class FleetWithoutCloudTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        clouds = os.path.join(tmp, 'clouds.yaml')
        with open(clouds, 'w') as f:
            f.write('clouds:\n  other:\n    auth:\n'
                    '      auth_url: http://192.0.2.1:5000/v3\n')
        # No OS_* credentials of the machine running the tests leak in.
        for name in [n for n in os.environ if n.startswith('OS_')]:
            self.useFixture(fixtures.EnvironmentVariable(name))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', clouds))

    def run_fleet(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main.main(['fleet', *argv])
        return code, out.getvalue(), err.getvalue()

    def test_unknown_cloud_is_one_line_exit_2(self):
        code, out, err = self.run_fleet('--os-cloud', 'nope')
        self.assertEqual(2, code)
        self.assertEqual('', out)
        self.assertEqual('nova-rt: error: cannot connect to the cloud: '
                         'Cloud nope was not found.\n', err)

    def test_os_cloud_from_environment(self):
        self.useFixture(fixtures.EnvironmentVariable('OS_CLOUD', 'nope'))
        code, _, err = self.run_fleet()
        self.assertEqual(2, code)
        self.assertIn('Cloud nope was not found', err)

    def test_realtime_flavors(self):
        is_realtime = fleet_model.is_realtime
        self.assertTrue(is_realtime({'hw:cpu_realtime': 'yes'}))
        self.assertTrue(is_realtime({'hw:cpu_realtime': 'True'}))
        self.assertFalse(is_realtime({'hw:cpu_realtime': 'no'}))
        self.assertFalse(is_realtime({'hw:cpu_policy': 'dedicated'}))
        self.assertFalse(is_realtime(None))

    def test_no_hosts(self):
        self.assertEqual('no compute hosts\n', fleet.render_text([]))

    def test_unknown_readiness_is_not_ready(self):
        host = fleet_model.Host(host='c1', node='c1', state='up',
                                status='enabled', pcpu_total=8, pcpu_used=2)
        text = fleet.render_text([host])
        self.assertEqual(['c1', 'up/enabled', 'unknown', 'unknown',
                          'unknown', '2/8', '6', '0'],
                         text.splitlines()[1].split())
        self.assertIn('0 of 1 hosts ready for real-time guests, 0 isolated '
                      'cores free on them', text)
