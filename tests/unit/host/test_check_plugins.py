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
"""Host checks are stevedore extensions: a vendor package adds its own
without patching nova-rt, and ``nova-rt host check`` runs it.
"""

import json
import os
import sys
import textwrap

import fixtures

from nova_rt.host import checks
from tests.unit.host import base
from tests.unit.host import test_cmd_host

VENDOR_MODULE = textwrap.dedent('''
    from nova_rt.host import checks


    @checks.check('vendor.bios_profile', critical=False,
                  expected='the vendor real-time BIOS profile',
                  remediation='select the real-time BIOS profile')
    def check_bios_profile(ctx):
        return checks.Result(checks.WARN, 'BIOS profile unknown to %d CPUs'
                             % len(ctx.profile.online_cpus))


    def not_declared(ctx):
        return checks.Result(checks.PASS, 'never run')
    ''')


def install_vendor_distribution(test, entry_points):
    """A distribution on sys.path as pip would leave it: a module and its
    dist-info with the entry points. Removed from sys.path afterwards.
    """
    top = test.useFixture(fixtures.TempDir()).path
    with open(os.path.join(top, 'nova_rt_vendor_checks.py'), 'w') as f:
        f.write(VENDOR_MODULE)
    info = os.path.join(top, 'nova_rt_vendor_checks-1.0.dist-info')
    os.mkdir(info)
    with open(os.path.join(info, 'METADATA'), 'w') as f:
        f.write('Metadata-Version: 2.1\nName: nova-rt-vendor-checks\n'
                'Version: 1.0\n')
    with open(os.path.join(info, 'entry_points.txt'), 'w') as f:
        f.write('[nova_rt.host_checks]\n' + ''.join(
            '%s = %s\n' % item for item in entry_points))
    test.useFixture(fixtures.MonkeyPatch('sys.path', [top] + sys.path))
    # stevedore keeps each namespace's entry points for the process's life
    # (a service sees new plugins after a restart): start from none.
    test.useFixture(fixtures.MonkeyPatch(
        'stevedore.ExtensionManager.ENTRY_POINT_CACHE', {}))
    test.addCleanup(sys.modules.pop, 'nova_rt_vendor_checks', None)


class VendorCheckTest(base.TestCase):

    def test_builtin_checks_in_their_order(self):
        names = checks.check_names()
        self.assertEqual(22, len(names))
        self.assertEqual(('kernel.preempt_rt', 'nova.cpu_dedicated_set'),
                         names[:2])
        self.assertEqual('nova.live_migration', names[-1])

    def test_a_vendor_check_runs_in_host_check(self):
        install_vendor_distribution(self, [
            ('vendor.bios_profile',
             'nova_rt_vendor_checks:check_bios_profile')])
        stock = base.tree('stock')
        code, out, err = test_cmd_host.main(
            ['host', 'check', '--root', stock, '--format', 'json',
             '--smi-interval', '0'])
        self.assertEqual(('', 1), (err, code))
        findings = json.loads(out)['findings']
        self.assertEqual(23, len(findings))
        # After nova-rt's own, in a stable order.
        self.assertEqual({
            'check': 'vendor.bios_profile', 'status': 'warn',
            'observed': 'BIOS profile unknown to 8 CPUs',
            'expected': 'the vendor real-time BIOS profile',
            'remediation': 'select the real-time BIOS profile'},
            findings[-1])

    def test_a_plugin_that_cannot_load_blocks_readiness(self):
        install_vendor_distribution(self, [
            ('vendor.plain', 'nova_rt_vendor_checks:not_declared'),
            ('vendor.other_name',
             'nova_rt_vendor_checks:check_bios_profile'),
            ('vendor.missing', 'nova_rt_vendor_checks:no_such_function')])
        loaded = checks.load()
        self.assertEqual(25, len(loaded))
        report = base.audit('tuned-dual-socket')
        self.assertFalse(report.ready)
        self.assertEqual(['vendor.missing', 'vendor.other_name',
                          'vendor.plain'],
                         [f.check for f in report.blocking])
        self.assertIn('could not be loaded',
                      report.finding('vendor.plain').observed)

    def test_a_check_that_raises_cannot_judge(self):
        def broken(ctx):
            raise KeyError('oops')
        spec = checks.Check('vendor.broken', True, broken, 'x')
        report = checks.audit(base.profile('tuned-dual-socket'),
                              checks=checks.load() + (spec,))
        finding = report.finding('vendor.broken')
        self.assertEqual(checks.UNKNOWN, finding.status)
        self.assertIn("KeyError: 'oops'", finding.observed)
        self.assertFalse(report.ready)
