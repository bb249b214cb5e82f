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
"""The certificate: what certify refuses, and when it stops counting."""

import dataclasses
import datetime
import json
import os
import tempfile

import testtools

from nova_rt.latency import certificate
from nova_rt.latency import identity
from nova_rt.latency import result as result_mod
from tests.unit.latency import captured

RELEASE = '6.18.44-fc-v595'     # the kernel the captured runs saw
CMDLINE = 'BOOT_IMAGE=/vmlinuz root=/dev/vda ro isolcpus=1 nohz_full=1'
HOST = identity.Identity(
    kernel_release=RELEASE,
    kernel_cmdline_sha256=identity.cmdline_sha256(CMDLINE + '\n'),
    isolated_cpus=frozenset({1}), preempt_rt=False,
    online_cpus=frozenset({0, 1}))
# one-cpu-no-overflow.json: CPU 1, 5 s, max 3009 us, ended at 09:13:53.
MEASURED = datetime.datetime(2026, 11, 29, 9, 13, 53,
                             tzinfo=datetime.timezone.utc)
SOON = MEASURED + datetime.timedelta(hours=1)


def run(name='one-cpu-no-overflow.json', **changes):
    return dataclasses.replace(result_mod.load(captured(name)), **changes)


class BuildTest(testtools.TestCase):

    def test_certificate_fields(self):
        doc = certificate.build(run(), HOST, min_duration_s=5)
        self.assertEqual({
            'max_latency_us': 3009,
            'percentiles_us': {'50': 45, '99': 89, '99.9': 286,
                               '99.99': 3009, '99.999': 3009},
            'duration_s': 5.0, 'load': None,
            'measured_at': '2026-11-29T09:13:53Z',
            'kernel_release': RELEASE,
            'kernel_cmdline_sha256': HOST.kernel_cmdline_sha256,
            'isolated_cpus': '1'}, doc)
        self.assertEqual(sorted(certificate.FIELDS), sorted(doc))

    def assertRefused(self, result, fragment, ident=HOST, minimum=5):
        e = self.assertRaises(certificate.CertificateRefused,
                              certificate.build, result, ident, minimum)
        self.assertIn(fragment, str(e))

    def test_too_short(self):
        self.assertRefused(run(), 'lasted 5.0 s, less than [nova_rt] '
                                  'latency_min_duration = 30 s', minimum=30)

    def test_incomplete(self):
        self.assertRefused(run('sigint.json'), 'incomplete', minimum=1)

    def test_isolated_cpus_not_covered(self):
        ident = dataclasses.replace(HOST, isolated_cpus=frozenset({1, 2}))
        self.assertRefused(run(), 'not every isolated CPU (2 missing',
                           ident)
        # two-cpus.json measured 0 and 1: it covers {1}
        certificate.build(run('two-cpus.json'), HOST, 5)

    def test_other_kernel(self):
        ident = dataclasses.replace(HOST, kernel_release='6.1.0-rt')
        self.assertRefused(run(), 'measured on kernel %s, this host runs '
                                  '6.1.0-rt' % RELEASE, ident)

    def test_other_command_line(self):
        self.assertRefused(run(kernel_cmdline_sha256='0' * 64),
                           'another kernel command line')

    def test_guest_run(self):
        self.assertRefused(run(where='guest'), 'inside a guest')

    def test_unknown_identity(self):
        ident = dataclasses.replace(HOST, isolated_cpus=None,
                                    problems=('cannot read /sys/x',))
        self.assertRefused(run(), 'cannot read /sys/x', ident)


class VerdictTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.doc = certificate.build(run(), HOST, min_duration_s=5)

    def verdict(self, doc=None, ident=HOST, now=SOON, days=30, minimum=5):
        return certificate.verdict(doc or self.doc, ident, now, days,
                                   minimum)

    def assertUncertified(self, fragment, **kwargs):
        v = self.verdict(**kwargs)
        self.assertEqual((False, None), (v.certified, v.max_latency_us))
        self.assertIn(fragment, v.reason)

    def test_fresh_and_matching(self):
        v = self.verdict()
        self.assertEqual((True, 3009), (v.certified, v.max_latency_us))
        self.assertIn('valid until 2026-12-29T09:13:53Z', v.reason)
        self.assertEqual({'certified', 'max_latency_us', 'reason'},
                         set(v.to_dict()))

    def test_kernel_changed(self):
        self.assertUncertified(
            'kernel changed: certified on %s, running 6.19.0' % RELEASE,
            ident=dataclasses.replace(HOST, kernel_release='6.19.0'))

    def test_cmdline_changed(self):
        self.assertUncertified(
            'kernel command line changed',
            ident=dataclasses.replace(
                HOST, kernel_cmdline_sha256=identity.cmdline_sha256(
                    CMDLINE + ' idle=poll')))

    def test_isolated_cpus_changed(self):
        self.assertUncertified(
            'isolated CPUs changed: certified 1, now 1-3',
            ident=dataclasses.replace(HOST,
                                      isolated_cpus=frozenset({1, 2, 3})))

    def test_expired(self):
        self.assertUncertified(
            'expired', now=MEASURED + datetime.timedelta(days=30, seconds=1))
        self.assertTrue(self.verdict(
            now=MEASURED + datetime.timedelta(days=30)).certified)

    def test_from_the_future(self):
        self.assertUncertified(
            'in the future', now=MEASURED - datetime.timedelta(hours=1))

    def test_too_short_for_the_current_minimum(self):
        self.assertUncertified('too short', minimum=60)

    def test_unreadable_identity(self):
        self.assertUncertified(
            'cannot read /proc/cmdline', ident=dataclasses.replace(
                HOST, kernel_cmdline_sha256=None,
                problems=('cannot read /proc/cmdline: Permission denied',)))

    def test_malformed_or_forged(self):
        cases = [
            ({'max_latency_us': 0}, 'not a positive integer'),
            ({'max_latency_us': True}, 'not a positive integer'),
            ({'max_latency_us': '18'}, 'not a positive integer'),
            # a max below its own percentiles: edited
            ({'max_latency_us': 50}, 'disagree with max_latency_us'),
            ({'percentiles_us': {'50': 9}}, 'percentiles_us is'),
            ({'duration_s': -1}, 'duration_s'),
            ({'measured_at': 'last week'}, 'not an ISO 8601 date'),
            ({'isolated_cpus': 'one'}, 'not a valid CPU set'),
        ]
        for change, fragment in cases:
            doc = dict(self.doc, **change)
            self.assertUncertified(fragment, doc=doc)
        doc = dict(self.doc)
        del doc['load']
        self.assertUncertified('missing load', doc=doc)
        self.assertUncertified('not a JSON object', doc=[1])


class FileTest(testtools.TestCase):

    def test_evaluate_reads_under_root(self):
        with tempfile.TemporaryDirectory() as root:
            path = '/etc/nova/cert.json'
            v = certificate.evaluate(root, path, HOST, 30, 5, now=SOON)
            self.assertIn('no latency certificate at /etc/nova/cert.json',
                          v.reason)
            certificate.write(certificate.build(run(), HOST, 5),
                              os.path.join(root, 'etc/nova/cert.json'))
            v = certificate.evaluate(root, path, HOST, 30, 5, now=SOON)
            self.assertEqual(3009, v.max_latency_us)
            full = os.path.join(root, 'etc/nova/cert.json')
            self.assertEqual(0o644, os.stat(full).st_mode & 0o777)
            with open(full) as f:
                self.assertEqual(3009, json.load(f)['max_latency_us'])
            with open(full, 'w') as f:
                f.write('{"max_latency_us": 3')
            v = certificate.evaluate(root, path, HOST, 30, 5, now=SOON)
            self.assertIn('malformed certificate', v.reason)


class IdentityTest(testtools.TestCase):

    def test_reads_a_tree(self):
        with tempfile.TemporaryDirectory() as root:
            for rel, content in (
                    (identity.OSRELEASE, RELEASE + '\n'),
                    (identity.CMDLINE, CMDLINE + '\n'),
                    (identity.ISOLATED, '1\n'),
                    (identity.ONLINE, '0-1\n'),
                    (identity.REALTIME, '1\n')):
                os.makedirs(os.path.join(root, os.path.dirname(rel)),
                            exist_ok=True)
                with open(os.path.join(root, rel), 'w') as f:
                    f.write(content)
            self.assertEqual(dataclasses.replace(HOST, preempt_rt=True),
                             identity.read(root))
            os.unlink(os.path.join(root, identity.ISOLATED))
            ident = identity.read(root)
            self.assertIsNone(ident.isolated_cpus)
            self.assertIn('cannot read /%s' % identity.ISOLATED,
                          ident.problems[0])
