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

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile

import testtools

from nova_rt.cmd import main

RT = ['--property', 'hw:cpu_realtime=yes',
      '--property', 'hw:cpu_policy=dedicated',
      '--property', 'hw:cpu_realtime_mask=^0']


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main.main(list(argv))
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


class FlavorExplainTest(testtools.TestCase):

    def test_text(self):
        code, out, err = run('flavor', 'explain', '--vcpus', '4', *RT,
                             '--property', 'rt:vcpu_priority=10')
        self.assertEqual(0, code, err)
        self.assertIn('real-time vCPUs:', out)
        self.assertIn('1-3  (SCHED_FIFO priority 10)', out)
        self.assertIn('housekeeping vCPUs:', out)
        self.assertIn('isolcpus=managed_irq,domain,1-3 nohz=on', out)
        self.assertIn('the host CPUs of the housekeeping vCPUs', out)

    def test_json(self):
        code, out, _ = run('flavor', 'explain', '--vcpus', '8', *RT,
                           '--property', 'hw:emulator_threads_policy=isolate',
                           '--property', 'rt:emulator_scheduler=fifo',
                           '--property', 'rt:emulator_priority=3',
                           '--format', 'json')
        self.assertEqual(0, code)
        doc = json.loads(out)
        self.assertTrue(doc['valid'])
        self.assertTrue(doc['realtime'])
        self.assertEqual('1-7', doc['realtime_vcpus'])
        self.assertEqual('0', doc['housekeeping_vcpus'])
        self.assertEqual(9, doc['host_pcpus'])
        self.assertEqual('fifo', doc['emulator_scheduler'])
        self.assertEqual(3, doc['emulator_priority'])

    def test_mixed(self):
        code, out, err = run('flavor', 'explain', '--vcpus', '2',
                             '--property', 'hw:cpu_realtime=yes',
                             '--property', 'hw:cpu_policy=mixed',
                             '--property', 'hw:cpu_realtime_mask=^0')
        self.assertEqual(0, code, err)
        self.assertIn("0  (shared: float on the host's [compute] "
                      "cpu_shared_set)", out)
        self.assertIn('host CPUs pinned:', out)
        line = [x for x in out.splitlines() if 'host CPUs pinned' in x][0]
        self.assertEqual('1', line.split(':', 1)[1].strip())

    def test_not_realtime(self):
        code, out, _ = run('flavor', 'explain', '--vcpus', '2')
        self.assertEqual(0, code)
        self.assertIn('not real-time', out)
        code, out, _ = run('flavor', 'explain', '--vcpus', '2',
                           '--format', 'json')
        self.assertEqual({'valid': True, 'realtime': False}, json.loads(out))

    def test_invalid_flavor_exit_1(self):
        code, out, _ = run('flavor', 'explain', '--vcpus', '4', *RT,
                           '--property', 'rt:vcpu_priority=0')
        self.assertEqual(1, code)
        self.assertIn('invalid flavor: rt:vcpu_priority', out)
        code, out, _ = run('flavor', 'explain', '--vcpus', '4',
                           '--property', 'rt:guest_tuning=none',
                           '--format', 'json')
        self.assertEqual(1, code)
        doc = json.loads(out)
        self.assertFalse(doc['valid'])
        self.assertEqual(['rt:guest_tuning'], doc['keys'])

    def test_image_property(self):
        code, out, _ = run('flavor', 'explain', '--vcpus', '4', *RT,
                           '--image-property', 'hw_cpu_realtime_mask=^0-1',
                           '--format', 'json')
        self.assertEqual(0, code)
        self.assertEqual('2-3', json.loads(out)['realtime_vcpus'])

    def test_usage_errors_exit_2(self):
        for argv in (['flavor', 'explain'],
                     ['flavor', 'explain', '--vcpus', '0'],
                     ['flavor', 'explain', '--vcpus', 'x'],
                     ['flavor', 'explain', '--vcpus', '2', '--property',
                      'novalue'],
                     ['flavor', 'explain', '--vcpus', '2', '--format', 'xml'],
                     ['flavor'], [], ['bogus']):
            with self.subTest(argv=argv):
                code, out, err = run(*argv)
                self.assertEqual(2, code)
                self.assertIn('error', err)
                self.assertNotIn('Traceback', err)

    def test_config_file(self):
        with tempfile.NamedTemporaryFile('w', suffix='.conf',
                                         delete=False) as f:
            f.write('[nova_rt]\ndefault_vcpu_priority = 12\n'
                    'max_vcpu_priority = 15\n')
        self.addCleanup(os.unlink, f.name)
        code, out, _ = run('flavor', 'explain', '--vcpus', '4', *RT,
                           '--config-file', f.name, '--format', 'json')
        self.assertEqual(0, code)
        self.assertEqual(12, json.loads(out)['vcpu_priority'])
        code, out, _ = run('flavor', 'explain', '--vcpus', '4', *RT,
                           '--property', 'rt:vcpu_priority=16',
                           '--config-file', f.name)
        self.assertEqual(1, code)
        self.assertIn('max_vcpu_priority=15', out)

    def test_missing_config_file_exit_2(self):
        code, _, err = run('flavor', 'explain', '--vcpus', '4',
                           '--config-file', '/nonexistent/nova.conf')
        self.assertEqual(2, code)
        self.assertIn('cannot read configuration', err)

    def test_console_script(self):
        # The installed entry point, as an operator runs it.
        exe = os.path.join(os.path.dirname(sys.executable), 'nova-rt')
        if not os.path.exists(exe):
            self.skipTest('nova-rt console script not installed')
        proc = subprocess.run(
            [exe, 'flavor', 'explain', '--vcpus', '2', *RT,
             '--format', 'json'], capture_output=True, text=True,
            timeout=60)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertEqual('1', json.loads(proc.stdout)['realtime_vcpus'])
