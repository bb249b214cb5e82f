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

import hypothesis
from hypothesis import strategies as st
import testtools

from nova_rt.core import exception
from nova_rt.core import guest_args
from nova_rt.core import kernel_args
from nova_rt.core import request as rt

# Mostly well-formed argument strings (key or key=value tokens of the
# allowed characters), sometimes with any character or a derived key
# spliced in: most examples are accepted and reach the assertions.
_KEY = st.from_regex(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}', fullmatch=True)
_VALUE = st.from_regex(r'[A-Za-z0-9_.,=:/+-]{0,8}', fullmatch=True)
_TOKEN = st.one_of(_KEY, st.builds('{}={}'.format, _KEY, _VALUE))
_ARG_STRINGS = st.one_of(
    st.lists(_TOKEN, min_size=1, max_size=6).map(' '.join),
    st.lists(_TOKEN, min_size=1, max_size=6).map(' '.join),
    st.lists(_TOKEN, min_size=1, max_size=6).map(' '.join),
    st.text(max_size=20),
    st.builds('{} {}=1'.format, _KEY, st.sampled_from(
        kernel_args.DERIVED_KEYS + ('nohz-full', 'rcu-nocbs'))))


def build(vcpus=4, **specs):
    extra = {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
             'hw:cpu_realtime_mask': '^0'}
    extra.update({k.replace('__', ':'): v for k, v in specs.items()})
    return rt.build_request(vcpus, extra)


class DeriveTest(testtools.TestCase):

    def test_product_arguments(self):
        self.assertEqual(
            ('isolcpus=managed_irq,domain,1-3', 'nohz=on', 'nohz_full=1-3',
             'rcu_nocbs=1-3', 'irqaffinity=0', 'skew_tick=1',
             'tsc=reliable', 'nosoftlockup'),
            guest_args.derive(build()))

    def test_canonical_ranges(self):
        args = guest_args.derive(build(
            8, hw__cpu_realtime_mask='^0,^4'))
        self.assertIn('isolcpus=managed_irq,domain,1-3,5-7', args)
        self.assertIn('irqaffinity=0,4', args)
        args = guest_args.derive(build(64, hw__cpu_realtime_mask='^0-1'))
        self.assertIn('nohz_full=2-63', args)
        self.assertIn('irqaffinity=0-1', args)

    def test_idle_poll_then_extra(self):
        args = guest_args.derive(build(rt__guest_idle_poll='yes',
                                       rt__guest_kernel_args='quiet a.b=1'))
        self.assertEqual(('idle=poll', 'quiet', 'a.b=1'), args[-3:])

    def test_none(self):
        r = build(rt__guest_tuning='none')
        self.assertEqual((), guest_args.derive(r))
        self.assertEqual('', guest_args.cmdline(r))
        self.assertEqual((), guest_args.oem_strings(r))

    def test_oem_strings(self):
        r = build(rt__vcpu_priority='10', rt__vcpu_scheduler='rr')
        line = guest_args.cmdline(r)
        self.assertEqual(
            ('io.systemd.stub.kernel-cmdline-extra=' + line,
             'org.openstack.nova-rt.version=1',
             'org.openstack.nova-rt.kernel-args=' + line,
             'org.openstack.nova-rt.realtime-vcpus=1-3',
             'org.openstack.nova-rt.housekeeping-vcpus=0',
             'org.openstack.nova-rt.vcpu-scheduler=rr:10'),
            guest_args.oem_strings(r))

    def test_length_bound(self):
        # 64 vCPUs, every other one real-time: the worst shape for ranges.
        mask = ','.join(str(i) for i in range(1, 64, 2))
        r = build(64, hw__cpu_realtime_mask=mask)
        self.assertLess(len(guest_args.cmdline(r)),
                        guest_args.MAX_TOTAL_LENGTH)
        e = self.assertRaises(
            exception.InvalidRealtimeRequest, build, 256,
            hw__cpu_realtime_mask=','.join(str(i) for i in range(1, 256, 2)))
        self.assertIn('rt:guest_kernel_args', e.keys)
        self.assertIn('at most 1536 fit', str(e))


class ParseExtraTest(testtools.TestCase):

    def test_good(self):
        for value, tokens in [
            ('quiet', ('quiet',)),
            ('a=b', ('a=b',)),
            ('  a=b   c  ', ('a=b', 'c')),
            ('console=ttyS0,115200n8 8250.nr_uarts=4', (
                'console=ttyS0,115200n8', '8250.nr_uarts=4')),
            ('mitigations=off rcu_nocb_poll', ('mitigations=off',
                                              'rcu_nocb_poll')),
            ('root=/dev/vda1 x=a:b+c-d', ('root=/dev/vda1', 'x=a:b+c-d')),
            ('k=', ('k=',)),
            ('k=v=w', ('k=v=w',)),
        ]:
            with self.subTest(value=value):
                self.assertEqual(tokens, guest_args.parse_extra(value))

    def test_injection_refused(self):
        for value, fragment in [
            ('a\nb', "'\\n'"),
            ('a"b', '\'"\''),
            ("a'b", '"\'"'),
            ('a\tb', "'\\t'"),
            ('a\n', "'\\n'"),
            ('a;b', "';'"),
            ('$(reboot)', "'$'"),
            ('a b\x00', "'\\x00'"),
            ('-- init=/bin/sh', "'--' is not key or key=value"),
            ('-x', "'-x' is not key"),
            ('=v', "'=v' is not key"),
            ('.a', "'.a' is not key"),
            ('a:b', "'a:b' is not key"),
            ('', 'no argument given'),
            ('   ', 'no argument given'),
            ('ä', "'ä'"),
        ]:
            with self.subTest(value=value):
                e = self.assertRaises(exception.InvalidGuestKernelArgs,
                                      guest_args.parse_extra, value)
                self.assertEqual(('rt:guest_kernel_args',), e.keys)
                self.assertIn(fragment, str(e))

    def test_derived_keys_refused(self):
        for key in kernel_args.DERIVED_KEYS:
            e = self.assertRaises(exception.InvalidGuestKernelArgs,
                                  guest_args.parse_extra, '%s=1' % key)
            self.assertIn('derived by nova-rt', str(e))

    def test_length(self):
        guest_args.parse_extra('a' * 512)
        e = self.assertRaises(exception.InvalidGuestKernelArgs,
                              guest_args.parse_extra, 'a' * 513)
        self.assertIn('513 characters; at most 512', str(e))

    def test_not_a_string(self):
        self.assertRaises(exception.InvalidGuestKernelArgs,
                          guest_args.parse_extra, 5)

    def test_accepted_tokens_are_safe(self):
        """Whatever parse_extra accepts is safe; at least half of the
        examples are accepted, so the assertions do run.
        """
        accepted = []

        @hypothesis.settings(max_examples=200, deadline=None, database=None,
                             derandomize=True)
        @hypothesis.given(_ARG_STRINGS)
        def check(value):
            try:
                tokens = guest_args.parse_extra(value)
            except exception.InvalidGuestKernelArgs:
                accepted.append(False)
                return
            accepted.append(True)
            for token in tokens:
                self.assertNotIn(' ', token)
                self.assertFalse(token.startswith('-'))
                self.assertTrue(all(c.isascii() and (c.isalnum() or c in
                                                     '_.,=:/+-')
                                    for c in token))
                self.assertFalse(kernel_args.is_derived(token), token)

        check()
        self.assertGreaterEqual(sum(accepted), len(accepted) / 2)
