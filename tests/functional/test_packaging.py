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
"""The wheel operators install: what it ships and what it must not."""

import configparser
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import testtools

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class WheelTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.out = tempfile.mkdtemp(prefix='nova-rt-wheel-')
        cls.addClassCleanup(shutil.rmtree, cls.out, ignore_errors=True)
        # stestr may run this class's tests in two workers, each building
        # in the tree's build/ at once ("File exists" from bdist_wheel, seen
        # in CI): one build at a time.
        os.makedirs(os.path.join(TOP, '.artifacts'), exist_ok=True)
        with open(os.path.join(TOP, '.artifacts', 'wheel.lock'), 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            proc = subprocess.run(
                [sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                 '--no-build-isolation', '-w', cls.out, TOP],
                capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise AssertionError('pip wheel failed: %s' % proc.stderr)
        wheel = [f for f in os.listdir(cls.out) if f.endswith('.whl')][0]
        with zipfile.ZipFile(os.path.join(cls.out, wheel)) as zf:
            cls.names = set(zf.namelist())
            info = [n for n in cls.names
                    if n.endswith('.dist-info/entry_points.txt')][0]
            cls.entry_points = configparser.ConfigParser()
            cls.entry_points.read_string(zf.read(info).decode())

    def test_driver_shim_without_nova_package(self):
        self.assertIn('nova/virt/nova_rt/__init__.py', self.names)
        self.assertIn('nova/virt/nova_rt/driver.py', self.names)
        # Installing nova-rt must never replace Nova's own package files.
        self.assertNotIn('nova/__init__.py', self.names)
        self.assertNotIn('nova/virt/__init__.py', self.names)
        self.assertEqual(
            set(), {n for n in self.names if n.startswith('nova/') and
                    not n.startswith('nova/virt/nova_rt/')})

    def test_no_tests_shipped(self):
        self.assertEqual(set(), {n for n in self.names
                                 if n.startswith('tests/')})

    def test_entry_points(self):
        ep = self.entry_points
        self.assertEqual('nova_rt.api.validators',
                         ep['nova.api.extra_spec_validators']['nova_rt'])
        self.assertEqual('nova_rt.conf:list_opts',
                         ep['oslo.config.opts']['nova_rt'])
        self.assertEqual('nova_rt.cmd.main:main',
                         ep['console_scripts']['nova-rt'])
        self.assertEqual('nova_rt.cmd.guest:main',
                         ep['console_scripts']['nova-rt-guest'])
        # Every host check ships as a stevedore extension, named as the
        # check it declares.
        checks = ep['nova_rt.host_checks']
        self.assertEqual(22, len(checks))
        self.assertEqual('nova_rt.host.checks.power:check_tsc',
                         checks['clock.tsc'])
        self.assertEqual('nova_rt.host.checks.migration:'
                         'check_live_migration', checks['nova.live_migration'])
        self.assertIn('nova_rt/guest/bootloader.py', self.names)
        # The OpenStackClient plugin and its commands.
        self.assertEqual('nova_rt.osc.plugin',
                         ep['openstack.cli.extension']['realtime'])
        self.assertEqual(
            {'realtime_host_list': 'nova_rt.osc.v1.host:ListHost',
             'realtime_host_show': 'nova_rt.osc.v1.host:ShowHost',
             'realtime_flavor_explain':
                 'nova_rt.osc.v1.flavor:ExplainFlavor',
             'realtime_flavor_create': 'nova_rt.osc.v1.flavor:CreateFlavor'},
            ep['openstack.realtime.v1'])

    def test_guest_bundle_ships_its_first_boot_script(self):
        # `nova-rt guest bundle` of an installed nova-rt reads it.
        self.assertIn('nova_rt/guest_bundle/firstboot.sh', self.names)

    def test_config_generator_lists_every_option(self):
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable),
                          'oslo-config-generator'), '--namespace', 'nova_rt'],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr)
        from nova_rt import conf
        self.assertIn('[nova_rt]', proc.stdout)
        for opt in conf.OPTS:
            self.assertIn('#%s = ' % opt.name, proc.stdout)
