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
"""nova-rt-guest as a standard-library zipapp, and the cloud-init
user-data and vendordata that install and run it on first boot.

The zipapp runs with ``python3 -I -S`` (no site-packages at all) on fake
guest roots; the first-boot script the cloud-config carries runs for real
with ``sh``, downloads the zipapp from a file:// URL, checks its sha256 and
applies to a fake root. tests/real/test_cloud_init.py checks the
cloud-config with cloud-init's own schema.
"""

import base64
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

from nova_rt.guest import bootloader
from nova_rt import guest_bundle
from tests.unit.host import test_cmd_host
from tests.unit import test_cmd_guest


@functools.lru_cache(maxsize=None)
def built():
    """(path, bytes) of one zipapp built from this tree for the module."""
    directory = tempfile.mkdtemp(prefix='nova-rt-zipapp-')
    path = os.path.join(directory, guest_bundle.ZIPAPP_NAME)
    return path, guest_bundle.build_zipapp(path)


def run_zipapp(*argv, env=None):
    # -I: no user site or PYTHON* variables; -S: no site-packages at all.
    return subprocess.run([sys.executable, '-I', '-S', built()[0]] +
                          list(argv), capture_output=True, text=True,
                          timeout=120, env=env)


class ZipappTest(test_cmd_guest.GuestBase):

    def test_standard_library_modules_only(self):
        files = guest_bundle.guest_modules()
        self.assertIn('nova_rt/cmd/guest.py', files)
        self.assertIn('nova_rt/guest/bootloader.py', files)
        # Nothing of the host side, the scheduler or the driver.
        for rel in files:
            self.assertFalse(rel.startswith(('nova_rt/host/',
                                             'nova_rt/scheduler/')), rel)
        self.assertNotIn('nova_rt/core/request.py', files)

    def test_reproducible(self):
        path, data = built()
        other = os.path.join(os.path.dirname(path), 'again.pyz')
        self.assertEqual(data, guest_bundle.build_zipapp(other))
        self.assertTrue(data.startswith(b'#!/usr/bin/env python3\n'))
        self.assertTrue(os.access(path, os.X_OK))

    def test_help(self):
        for argv in ([], ['apply'], ['show'], ['latency', 'run']):
            result = run_zipapp(*argv, '--help')
            self.assertEqual(0, result.returncode, result.stderr)
            self.assertIn('usage: nova-rt-guest', result.stdout)

    def test_apply_dry_run_writes_nothing(self):
        self.write('etc/default/grub', 'GRUB_CMDLINE_LINUX="quiet"\n')
        self.tool('update-grub')
        self.entries(test_cmd_guest.oem())
        before = self.snapshot()
        result = run_zipapp('apply', '--root', self.root, '--dry-run',
                            '--format', 'json',
                            env={'PATH': self.bin})
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual({'method': 'grub.d',
                          'args': test_cmd_guest.RT_ARGS.split(),
                          'changed': True, 'reboot_needed': True},
                         json.loads(result.stdout))
        self.assertEqual(before, self.snapshot())
        self.assertEqual([], self.calls())

    def test_guest_without_oem_strings(self):
        result = run_zipapp('apply', '--root', self.root)
        self.assertEqual(1, result.returncode)
        self.assertEqual('', result.stderr)
        self.assertEqual(1, len(result.stdout.splitlines()))
        self.assertIn('not a nova-rt real-time guest, nothing to apply',
                      result.stdout)

    def test_bad_oem_string_is_one_line_exit_2(self):
        self.entries(test_cmd_guest.oem(args='nohz_full=1-3 --'))
        result = run_zipapp('show', '--root', self.root)
        self.assertEqual(2, result.returncode)
        self.assertNotIn('Traceback', result.stderr)
        self.assertEqual(1, len(result.stderr.splitlines()), result.stderr)
        self.assertTrue(result.stderr.startswith('nova-rt-guest: error: '))


class FirstBootTest(test_cmd_guest.GuestBase):
    """The script cloud-init's runcmd runs, run by sh as it would be."""

    def setUp(self):
        super().setUp()
        self.tmp = self._tmpdir()
        self.app = os.path.join(self.tmp, 'usr-local-bin', 'nova-rt-guest')
        self.state = os.path.join(self.tmp, 'run')
        self.write('etc/default/grub', 'GRUB_CMDLINE_LINUX="quiet"\n')
        self.tool('update-grub')

    def _tmpdir(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        return tmp.name

    def config(self, url=None, data=None):
        text = guest_bundle.cloud_config(data or built()[1],
                                         url=url or 'file://' + built()[0])
        return yaml.safe_load(text)

    def firstboot(self, config, *argv):
        files = {f['path']: f for f in config['write_files']}
        script = os.path.join(self.tmp, 'firstboot')
        with open(script, 'w') as f:
            f.write(files[guest_bundle.FIRSTBOOT]['content'])
        env = {'PATH': '%s:/usr/bin:/bin' % self.bin,
               'NOVA_RT_GUEST_APP': self.app,
               'NOVA_RT_GUEST_STATE': self.state}
        return subprocess.run(['sh', script] + list(argv), env=env,
                              capture_output=True, text=True, timeout=120)

    def test_realtime_guest_installs_applies_and_asks_for_a_reboot(self):
        self.entries(test_cmd_guest.oem())
        config = self.config()
        self.assertEqual([[guest_bundle.FIRSTBOOT]], config['runcmd'])
        self.assertEqual({'mode': 'reboot', 'timeout': 30,
                          'condition': ['test', '-e', guest_bundle.MARKER],
                          'message': 'nova-rt-guest rebooting once into the '
                                     'real-time kernel arguments'},
                         config['power_state'])
        result = self.firstboot(config, '--root', self.root)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn('kernel arguments made persistent; rebooting once',
                      result.stdout)
        with open(self.app, 'rb') as f:
            self.assertEqual(built()[1], f.read())
        self.assertTrue(os.path.exists(os.path.join(self.state, 'reboot')))
        self.assertIn(test_cmd_guest.RT_ARGS,
                      self.read(bootloader.GRUB_D_FILE))
        self.assertEqual([['update-grub']], self.calls())
        # The second boot: the kernel runs with them, no second reboot.
        self.write('proc/cmdline', 'ro %s\n' % test_cmd_guest.RT_ARGS)
        result = self.firstboot(config, '--root', self.root)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.state, 'reboot')))

    def test_not_a_realtime_guest_is_left_alone(self):
        result = self.firstboot(self.config(), '--root', self.root)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn('not a nova-rt real-time guest', result.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.state, 'reboot')))
        self.assertFalse(self.exists(bootloader.GRUB_D_FILE))

    def test_wrong_checksum_installs_nothing(self):
        self.entries(test_cmd_guest.oem())
        config = self.config(data=b'another build')
        result = self.firstboot(config, '--root', self.root)
        self.assertEqual(2, result.returncode)
        self.assertIn('has sha256 %s, not %s' % (
            hashlib.sha256(built()[1]).hexdigest(),
            hashlib.sha256(b'another build').hexdigest()), result.stderr)
        self.assertEqual([], os.listdir(os.path.dirname(self.app)))
        self.assertFalse(self.exists(bootloader.GRUB_D_FILE))

    def test_unreachable_url(self):
        config = self.config(url='file:///nonexistent/nova-rt-guest.pyz')
        result = self.firstboot(config, '--root', self.root)
        self.assertEqual(2, result.returncode)
        self.assertIn('cannot download file:///nonexistent/', result.stderr)
        self.assertNotIn('Traceback', result.stderr)

    def test_failed_apply_fails_the_step(self):
        self.entries(test_cmd_guest.oem())
        self.fail('update-grub')
        result = self.firstboot(self.config(), '--root', self.root)
        self.assertEqual(2, result.returncode)
        self.assertIn('nova-rt-guest apply failed (exit 2)', result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.state, 'reboot')))


class CloudConfigTest(test_cmd_guest.GuestBase):

    def test_vendor_data_embeds_the_zipapp(self):
        doc = json.loads(guest_bundle.vendor_data(built()[1]))
        self.assertEqual(['cloud-init'], list(doc))
        config = yaml.safe_load(doc['cloud-init'])
        self.assertTrue(doc['cloud-init'].startswith('#cloud-config\n'))
        files = {f['path']: f for f in config['write_files']}
        app = files[guest_bundle.APP]
        self.assertEqual(('b64', '0755'), (app['encoding'],
                                          app['permissions']))
        self.assertEqual(built()[1], base64.b64decode(app['content']))
        # Embedded: nothing to download.
        self.assertIn("\nurl=''\n",
                      files[guest_bundle.FIRSTBOOT]['content'])

    def test_embedded_user_data_refused_when_too_big(self):
        e = self.assertRaises(guest_bundle.BundleError,
                              guest_bundle.user_data, built()[1])
        self.assertIn("above nova's user_data limit of 65535: give --url",
                      str(e))
        small = guest_bundle.user_data(b'x' * 100)
        self.assertIn('encoding: b64', small)

    def test_command(self):
        out_dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, out_dir)
        code, out, err = test_cmd_host.main(
            ['guest', 'bundle', '--output-dir', out_dir, '--url',
             'https://example.org/nova-rt-guest.pyz'])
        self.assertEqual((0, ''), (code, err))
        self.assertEqual(['nova-rt-guest-user-data.yaml',
                          'nova-rt-guest-vendor_data.json',
                          'nova-rt-guest.pyz'], sorted(os.listdir(out_dir)))
        self.assertIn('sha256 %s' % hashlib.sha256(built()[1]).hexdigest(),
                      out)

    def test_command_bad_input(self):
        code, out, err = test_cmd_host.main(
            ['guest', 'bundle', '--output-dir', '/nonexistent'])
        self.assertEqual((2, ''), (code, out))
        self.assertEqual('nova-rt: error: output directory /nonexistent is '
                         'not a directory\n', err)
        code, _, err = test_cmd_host.main(
            ['guest', 'bundle', '--output-dir', '/tmp', '--url', 'ftp://x'])
        self.assertEqual(2, code)
        self.assertIn("'ftp://x' is not an http/https/file URL", err)
