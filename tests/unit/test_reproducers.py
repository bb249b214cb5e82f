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

import dataclasses

import fixtures

from nova_rt import exception
from nova_rt.host import model as host_model
from nova_rt.host import profile as host_profile
from nova_rt import request as rt_request
from tests.unit import test_cmd_flavor
from tests.unit import test_cmd_guest
from tests.unit.host import base as hostbase

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


class DamagedEvidenceTest(hostbase.TestCase):
    """A host whose evidence cannot be read is not ready (fail closed)."""

    def damaged(self, name, *damage, root=None):
        scratch = self.useFixture(fixtures.TempDir()).path
        reader = hostbase.DamagedReader(root or hostbase.tree(name), scratch)
        for rel, action in damage:
            reader.damage(rel, action, b'garbage\n')
        p = host_profile.read_profile(reader.root, smi_interval=0.01,
                                      reader=reader, sleep=hostbase.no_sleep)
        return hostbase.audit(name, p)

    def test_unreadable_rt_budget_evidence_is_not_ready(self):
        self.assertTrue(hostbase.audit('tuned-dual-socket').ready)
        for rel in ('proc/sys/kernel/sched_rt_runtime_us',
                    'sys/devices/system/clocksource/clocksource0/'
                    'current_clocksource'):
            for action in ('delete', 'garbage', 'deny'):
                report = self.damaged('tuned-dual-socket', (rel, action))
                self.assertFalse(report.ready, (rel, action))
                self.assertTrue(report.blocking, (rel, action))
                self.assertTrue(all(f.observed for f in report.blocking))

    def test_hpet_with_unreadable_cpuinfo_is_not_ready(self):
        p = dataclasses.replace(
            hostbase.profile('tuned-dual-socket'), clocksource='hpet',
            cpu_flags=host_model.Unknown('/proc/cpuinfo: not readable'))
        report = hostbase.audit('tuned-dual-socket', p)
        self.assertEqual('fail', report.finding('clock.tsc').status)
        self.assertIn('clocksource hpet',
                      report.finding('clock.tsc').observed)
        self.assertFalse(report.ready)

    def test_empty_or_garbage_children_file_falls_back_to_proc(self):
        root, desc = hostbase.variant('tuned-dual-socket', kthreads={
            'kinds': {'ksoftirqd': ['fifo', 2], 'ktimers': ['fifo', 3],
                      'rcuc': ['fifo', 4]},
            'overrides': {'ksoftirqd/2': ['other', 0]},
            'children_file': True})
        for action in ('empty', 'garbage'):
            report = self.damaged('tuned-dual-socket',
                                  ('proc/2/task/2/children', action),
                                  root=root)
            finding = report.finding('kthread.priority')
            self.assertEqual('fail', finding.status, action)
            self.assertIn('ksoftirqd/2 other', finding.observed)
