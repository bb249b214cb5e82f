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
import importlib.metadata
import inspect
import io
import json
import os
import tempfile

import fixtures
from nova.virt.libvirt import driver as libvirt_driver
import testtools

from nova_rt.cmd import main
from nova_rt.cmd import status
from nova_rt import releases
from nova_rt.virt import driver as rt_driver

SCHEDULER = """
[filter_scheduler]
available_filters = nova.scheduler.filters.all_filters
available_filters = nova_rt.scheduler.filters.RealtimeFilter
enabled_filters = ComputeFilter,RealtimeFilter,NUMATopologyFilter
weight_classes = nova.scheduler.weights.all_weighers,\
nova_rt.scheduler.weights.RealtimeWeigher
"""


class StatusBase(testtools.TestCase):

    def conf_file(self, text):
        with tempfile.NamedTemporaryFile('w', suffix='.conf',
                                         delete=False) as f:
            f.write(text)
        self.addCleanup(os.unlink, f.name)
        return f.name

    def check(self, conf_text='', *extra):
        out, err = io.StringIO(), io.StringIO()
        argv = ['status', 'upgrade', 'check', '--json',
                '--config-file', self.conf_file(conf_text), *extra]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main.main(argv)
        return code, {c['check']: c for c in json.loads(out.getvalue())[
            'checks']} if out.getvalue() else None, err.getvalue()


class UpgradeCheckTest(StatusBase):

    def test_passes_here(self):
        code, checks, _ = self.check(SCHEDULER)
        self.assertEqual(0, code, checks)
        self.assertEqual(
            ['nova version', 'LibvirtDriver methods nova-rt overrides',
             'nova-rt options', 'compute driver',
             'live migration of real-time instances'], list(checks))
        release = releases.release_of(releases.installed_nova())
        self.assertIn('nova %d.' % release.nova,
                      checks['nova version']['details'])
        self.assertIn('(%s)' % release.name,
                      checks['nova version']['details'])

    def test_table_output(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main.main(['status', 'upgrade', 'check', '--config-file',
                              self.conf_file(SCHEDULER)])
        self.assertEqual(0, code)
        self.assertIn('nova-rt Upgrade Check Results', out.getvalue())
        self.assertIn('Check: LibvirtDriver methods nova-rt overrides',
                      out.getvalue())

    def test_table_is_what_the_driver_overrides(self):
        overridden = {name for name, value in
                      vars(rt_driver.RealtimeLibvirtDriver).items()
                      if callable(value) and
                      hasattr(libvirt_driver.LibvirtDriver, name)}
        self.assertEqual(overridden, set(releases.DRIVER_SIGNATURES))

    def test_installed_nova_has_a_known_signature_of_its_release(self):
        # Run on every supported release (tools/run-tests.sh --release):
        # the table says which releases have each signature.
        release = releases.release_of(releases.installed_nova())
        names = [r.name for r in releases.RELEASES]
        for name, known in releases.DRIVER_SIGNATURES.items():
            found = str(inspect.signature(
                getattr(libvirt_driver.LibvirtDriver, name)))
            self.assertIn(found, known, name)
            first, _, last = known[found].partition('-')
            self.assertTrue(
                names.index(first) <= names.index(release.name) <=
                names.index(last or first),
                '%s%s is said to be in %s, found in %s' % (
                    name, found, known[found], release.name))

    def test_overridden_method_gone_fails_naming_it(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.driver.LibvirtDriver.'
            '_live_migration_operation', fixtures.MonkeyPatch.delete))
        code, checks, _ = self.check(SCHEDULER)
        self.assertEqual(2, code)
        found = checks['LibvirtDriver methods nova-rt overrides']
        self.assertEqual(2, found['result'])
        self.assertIn('LibvirtDriver._live_migration_operation no longer '
                      'exists', found['details'])
        self.assertNotIn('_get_guest_config', found['details'])

    def test_unknown_signature_warns_naming_it(self):
        def _get_guest_config(self, instance, network_info, image_meta,
                              disk_info, rescue=None, share_info=None):
            pass

        self.useFixture(fixtures.MockPatchObject(
            libvirt_driver.LibvirtDriver, '_get_guest_config',
            _get_guest_config))
        code, checks, _ = self.check(SCHEDULER)
        self.assertEqual(1, code)
        found = checks['LibvirtDriver methods nova-rt overrides']
        self.assertEqual(1, found['result'])
        self.assertIn('LibvirtDriver._get_guest_config(self, instance, '
                      'network_info, image_meta, disk_info, rescue=None, '
                      'share_info=None) (known: ', found['details'])
        self.assertIn('in 2024.1-2024.2', found['details'])
        self.assertNotIn('spawn', found['details'])

    def test_nova_version_outside_range(self):
        real = importlib.metadata.version

        def version(name, found):
            return found if name == 'nova' else real(name)

        for found, code, said in (
                ('28.3.1', 2, 'outside what nova-rt supports (nova 29 '
                              '(2024.1) to 34 (2026.2))'),
                ('35.0.0', 2, 'outside what nova-rt supports'),
                ('29.4.0', 0, '(2024.1)'),
                ('32.2.1', 0, '(2025.2)'),
                ('34.2.1', 0, '(2026.2)')):
            with fixtures.MonkeyPatch(
                    'importlib.metadata.version',
                    lambda name: version(name, found)):
                result = status.check_nova_version(None)
            self.assertEqual(code, result.code, result.details)
            self.assertIn('nova %s ' % found, result.details)
            self.assertIn(said, result.details)

    def test_no_nova_installed(self):
        def version(name):
            raise importlib.metadata.PackageNotFoundError(name)

        self.useFixture(fixtures.MonkeyPatch('importlib.metadata.version',
                                             version))
        result = status.check_nova_version(None)
        self.assertEqual(2, result.code)
        self.assertIn('nova is not installed', result.details)

    def test_default_priority_above_max(self):
        code, checks, _ = self.check(
            SCHEDULER + '[nova_rt]\ndefault_vcpu_priority = 20\n'
            'max_vcpu_priority = 10\n')
        self.assertEqual(2, code)
        self.assertIn('default_vcpu_priority 20 is above max_vcpu_priority '
                      '10', checks['nova-rt options']['details'])

    def test_filter_enabled_not_available(self):
        code, checks, _ = self.check(
            '[filter_scheduler]\nenabled_filters = RealtimeFilter\n'
            'weight_classes = nova_rt.scheduler.weights.RealtimeWeigher\n')
        self.assertEqual(2, code)
        self.assertIn('available_filters does not list '
                      'nova_rt.scheduler.filters.RealtimeFilter',
                      checks['nova-rt options']['details'])

    def test_dedicate_hosts_without_filter(self):
        code, checks, _ = self.check('[nova_rt]\ndedicate_hosts = true\n')
        self.assertEqual(2, code)
        self.assertIn('dedicate_hosts is true but',
                      checks['nova-rt options']['details'])

    def test_weigher_missing_warns(self):
        code, checks, _ = self.check(SCHEDULER.replace(
            ',nova_rt.scheduler.weights.RealtimeWeigher', ''))
        self.assertEqual(1, code)
        self.assertIn('weight_classes lacks',
                      checks['nova-rt options']['details'])

    def test_compute_driver(self):
        code, checks, _ = self.check(
            '[DEFAULT]\ncompute_driver = nova_rt.driver.RealtimeLibvirtDriver'
            '\n')
        self.assertEqual(0, checks['compute driver']['result'],
                         checks['compute driver'])
        self.assertIn('loads nova_rt.virt.driver.RealtimeLibvirtDriver',
                      checks['compute driver']['details'])
        code, checks, _ = self.check(
            '[DEFAULT]\ncompute_driver = nova_rt.drivers.Realtime\n')
        self.assertEqual(2, code)
        self.assertIn('nova would import nova.virt.nova_rt.drivers.Realtime',
                      checks['compute driver']['details'])

    def test_not_nova_rt_compute(self):
        code, checks, _ = self.check(
            '[DEFAULT]\ncompute_driver = libvirt.LibvirtDriver\n')
        self.assertEqual(0, checks['compute driver']['result'])
        self.assertIn('not a nova-rt compute host',
                      checks['compute driver']['details'])

    def test_check_that_raises_exits_255(self):
        def broken(conf):
            raise RuntimeError('boom')

        self.useFixture(fixtures.MonkeyPatch(
            'nova_rt.cmd.status.check_options', broken))
        code, checks, err = self.check(SCHEDULER)
        self.assertEqual(255, code)
        self.assertIn('a check could not run: RuntimeError: boom', err)
        self.assertNotIn('Traceback', err)


COMPUTE = '[DEFAULT]\ncompute_driver = nova_rt.driver.RealtimeLibvirtDriver\n'
LIVE_MIGRATION = 'live migration of real-time instances'


class LiveMigrationCheckTest(StatusBase):

    def migration_check(self, libvirt_text, compute=COMPUTE):
        code, checks, err = self.check(compute + '[libvirt]\n' +
                                       libvirt_text)
        self.assertEqual('', err)
        return code, checks[LIVE_MIGRATION]

    def test_defaults_pass(self):
        code, found = self.migration_check('')
        self.assertEqual((0, 0), (code, found['result']))
        self.assertIn('live_migration_permit_post_copy = False',
                      found['details'])

    def test_post_copy_or_auto_converge_warn_that_migrations_are_refused(
            self):
        for option in ('live_migration_permit_post_copy',
                       'live_migration_permit_auto_converge'):
            code, found = self.migration_check('%s = true\n' % option)
            self.assertEqual((1, 1), (code, found['result']), option)
            self.assertIn('[libvirt] %s = True: ' % option,
                          found['details'])
            self.assertIn('nova-rt refuses to live-migrate real-time '
                          'instances from this host', found['details'])

    def test_force_complete_warns_without_refusal(self):
        code, found = self.migration_check(
            'live_migration_timeout_action = force_complete\n')
        self.assertEqual((1, 1), (code, found['result']))
        self.assertIn('pauses the guest', found['details'])
        self.assertNotIn('refuses', found['details'])

    def test_every_hazard_is_named(self):
        code, found = self.migration_check(
            'live_migration_permit_post_copy = true\n'
            'live_migration_permit_auto_converge = true\n'
            'live_migration_timeout_action = force_complete\n')
        self.assertEqual(1, code)
        for option in ('permit_post_copy', 'permit_auto_converge',
                       'timeout_action'):
            self.assertIn('live_migration_%s' % option, found['details'])

    def test_bad_value_fails_naming_the_option(self):
        for text, option in (
                ('live_migration_permit_post_copy = maybe\n',
                 'live_migration_permit_post_copy'),
                ('live_migration_timeout_action = pause\n',
                 'live_migration_timeout_action')):
            code, found = self.migration_check(text)
            self.assertEqual((2, 2), (code, found['result']), text)
            self.assertTrue(found['details'].startswith(
                '[libvirt] %s: ' % option), found['details'])
            self.assertNotIn('LocationInfo', found['details'])

    def test_not_a_nova_rt_compute(self):
        for compute in ('', '[DEFAULT]\ncompute_driver = '
                            'libvirt.LibvirtDriver\n'):
            code, found = self.migration_check(
                'live_migration_permit_post_copy = true\n', compute=compute)
            self.assertEqual(0, found['result'])
            self.assertIn('not a nova-rt compute host', found['details'])
