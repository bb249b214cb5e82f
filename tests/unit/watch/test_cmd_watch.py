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
"""``nova-rt guest check`` on a captured compute (the integration cloud's
mixed RR guest, see test_drift.HostTest)."""

import contextlib
import io
import json
import os
import shutil

import fixtures
import testtools

from nova_rt.cmd import main
from tests.unit.watch import test_drift

UUID = '50b460e6-9ca8-4b8a-9174-79665f09d24e'


class GuestCheckTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        shutil.copytree(os.path.join(test_drift.WATCH, 'host-mixed-rr'),
                        self.root, dirs_exist_ok=True)
        self.conf = os.path.join(self.root, 'nova.conf')
        with open(self.conf, 'w') as f:
            f.write('[nova_rt]\nhost_root = %s\n' % self.root)

    def run_check(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main.main(['guest', 'check', '--config-file', self.conf,
                              *argv])
        return code, out.getvalue(), err.getvalue()

    def test_a_healthy_guest(self):
        self.assertEqual(
            (0, 'OK       instance-00000059 (%s)\n' % UUID, ''),
            self.run_check())
        self.assertEqual(0, self.run_check(UUID)[0])

    def test_a_drifted_guest_exits_1_with_each_difference(self):
        vcpu1 = os.path.join(self.root, 'proc', '4546', 'task', '4556',
                             'stat')
        with open(vcpu1) as f:
            stat = f.read()
        self.assertIn('(CPU 1/TCG)', stat)
        with open(vcpu1, 'w') as f:
            # RR 17 -> SCHED_OTHER 0 (chrt -o -p 0): fields 40 and 41.
            f.write(stat.replace(' 1 17 2 ', ' 1 0 0 '))
        code, out, err = self.run_check('--format', 'json')
        self.assertEqual(1, code, err)
        doc = json.loads(out)
        self.assertEqual({'guests': [{
            'name': 'instance-00000059', 'uuid': UUID, 'status': 'drift',
            'differences': [{'what': 'vCPU 1 (thread 4556) scheduling',
                             'expected': 'rr 17', 'found': 'other',
                             'unknown': False}]}], 'not_found': []}, doc)

    def test_an_unknown_guest_is_named(self):
        code, out, err = self.run_check('instance-1', UUID)
        self.assertEqual((1, ''), (code, err))
        self.assertIn('MISSING  instance-1: no running real-time guest',
                      out)

    def test_no_libvirt_here_is_one_line_exit_2(self):
        shutil.rmtree(os.path.join(self.root, 'run'))
        code, out, err = self.run_check()
        self.assertEqual((2, ''), (code, out))
        self.assertEqual(
            "nova-rt: error: cannot list the running guests: "
            "/run/libvirt/qemu: missing (No such file or directory) "
            "(libvirt's status files; run as root on the compute)\n", err)
