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
"""Reproducers of the fail-closed report (issue 11), one test each, named
after what went wrong."""

from nova_rt import exception
from nova_rt import request as rt_request
from tests.unit import test_cmd_flavor
from tests.unit import test_cmd_guest

RT = {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
      'hw:cpu_realtime_mask': '^0'}


class DashedDerivedKeysTest(test_cmd_guest.GuestBase):
    """The kernel reads '-' and '_' alike in parameter names."""

    def test_flavor_cannot_undo_partitioning_with_dashes(self):
        for value in ('nohz-full=0 rcu-nocbs=0', 'quiet rcu-nocbs=0',
                      'nohz-full=1'):
            e = self.assertRaises(
                exception.InvalidRealtimeRequest, rt_request.build_request,
                4, dict(RT, **{'rt:guest_kernel_args': value}))
            self.assertEqual(('rt:guest_kernel_args',), e.keys)
            self.assertIn('the kernel reads', str(e))

    def test_flavor_explain_says_so(self):
        code, out, err = test_cmd_flavor.run(
            'flavor', 'explain', '--vcpus', '4', *test_cmd_flavor.RT,
            '--property', 'rt:guest_kernel_args=nohz-full=0 rcu-nocbs=0')
        self.assertEqual((1, ''), (code, err))
        self.assertIn("'nohz-full' is derived by nova-rt", out)

    def test_guest_refuses_a_dashed_second_value(self):
        self.entries(test_cmd_guest.oem(test_cmd_guest.RT_ARGS
                                        + ' nohz-full=0'))
        code, _, err = self.apply()
        self.assertEqual(2, code)
        self.assertIn("'nohz_full' given twice", err)

    def test_grubby_removes_the_admins_dashed_spelling(self):
        self.grubby('ro nohz-full=0 rcu-nocbs=5 quiet')
        self.entries(test_cmd_guest.oem())
        self.assertEqual(0, self.apply()[0])
        args = self.grubby_kernels()[0].split()
        self.assertEqual(['ro', 'quiet'] + test_cmd_guest.RT_ARGS.split(),
                         args)

    def test_kernel_install_removes_the_admins_dashed_spelling(self):
        self.tool('kernel-install')
        self.write('usr/lib/modules/%s/vmlinuz' % test_cmd_guest.RELEASE,
                   'kernel')
        self.write('etc/kernel/cmdline', 'root=UUID=1 rcu-nocbs=5 rw\n')
        self.entries(test_cmd_guest.oem())
        self.assertEqual(0, self.apply('--method', 'kernel-install')[0])
        self.assertEqual('root=UUID=1 rw %s\n' % test_cmd_guest.RT_ARGS,
                         self.read('etc/kernel/cmdline'))
