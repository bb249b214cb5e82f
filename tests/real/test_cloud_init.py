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
"""The cloud-config of ``nova-rt guest bundle`` through cloud-init's own
schema check (``cloud-init schema --config-file``): the user-data that
downloads nova-rt-guest, and the cloud-config inside nova's vendordata
that embeds it; a broken cloud-config must fail the same check.

Needs Debian's ``cloud-init`` (tools/ci-real-deps.sh installs it); no
libvirt, no root. Booting a cloud image that runs it is not done here
(doc/source/guest-bundle.rst says what was run instead). Skips with the
reason, or fails under CI=true / NOVA_RT_REAL_REQUIRE=1. Runs alone with
``.venv/bin/python -m testtools.run tests.real.test_cloud_init``.
"""

import json
import os
import shutil
import subprocess
import tempfile

from nova_rt import guest_bundle
from tests.real import test_real

CLOUD_INIT = 'cloud-init'


class CloudInitSchemaTest(test_real.RealTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix='nova-rt-cloud-init-')
        cls.zipapp = guest_bundle.build_zipapp(
            os.path.join(cls.tmp, guest_bundle.ZIPAPP_NAME))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.need([] if shutil.which(CLOUD_INIT) else
                  ['cloud-init not installed (tools/ci-real-deps.sh: '
                   'cloud-init)'])

    def schema(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        return subprocess.run([CLOUD_INIT, 'schema', '--config-file', path],
                              capture_output=True, text=True, timeout=120)

    def assertValid(self, name, text):
        result = self.schema(name, text)
        self.assertEqual(0, result.returncode,
                         result.stdout + result.stderr)
        self.assertIn('Valid cloud-config', result.stdout)

    def test_user_data(self):
        self.assertValid('user-data.yaml', guest_bundle.user_data(
            self.zipapp, url='https://example.org/nova-rt-guest.pyz'))

    def test_vendor_data(self):
        doc = json.loads(guest_bundle.vendor_data(self.zipapp))
        self.assertValid('vendor-data.yaml', doc['cloud-init'])

    def test_a_broken_config_fails_the_check(self):
        text = guest_bundle.user_data(
            self.zipapp, url='https://example.org/nova-rt-guest.pyz')
        result = self.schema('broken.yaml',
                             text.replace('mode: reboot', 'mode: sometimes'))
        self.assertNotEqual(0, result.returncode)
        self.assertIn('power_state.mode', result.stdout + result.stderr)
