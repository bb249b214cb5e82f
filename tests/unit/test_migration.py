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
"""Live migration settings and real time (nova_rt.core.migration), read from
nova.conf (nova_rt.conf) and judged by ``nova-rt host check``.
"""

import json
import os
import tempfile

from nova.conf import libvirt as nova_libvirt_conf
from oslo_config import cfg
import testtools

from nova_rt import conf as rt_conf
from nova_rt.core import migration
from tests.unit.host import base as hostbase
from tests.unit.host import test_cmd_host

Settings = migration.MigrationSettings


class RuleTest(testtools.TestCase):

    def test_nova_defaults_are_safe(self):
        self.assertEqual((), migration.hazards(Settings()))
        self.assertIsNone(migration.refusal(Settings()))

    def test_auto_converge_and_post_copy_are_refused(self):
        for settings, option in (
                (Settings(permit_auto_converge=True), migration.AUTO_CONVERGE),
                (Settings(permit_post_copy=True), migration.POST_COPY)):
            (hazard,) = migration.hazards(settings)
            self.assertEqual((option, 'True', migration.REFUSE),
                             (hazard.option, hazard.value, hazard.action))
            reason = migration.refusal(settings)
            self.assertTrue(reason.startswith('[libvirt] %s = True: '
                                              % option), reason)

    def test_force_complete_only_warns(self):
        settings = Settings(timeout_action='force_complete')
        (hazard,) = migration.hazards(settings)
        self.assertEqual(migration.WARN, hazard.action)
        self.assertIn('pauses the guest', str(hazard))
        self.assertIsNone(migration.refusal(settings))

    def test_everything_on_most_serious_first(self):
        settings = Settings(True, True, 'force_complete')
        self.assertEqual(
            [migration.POST_COPY, migration.AUTO_CONVERGE,
             migration.TIMEOUT_ACTION],
            [h.option for h in migration.hazards(settings)])
        reason = migration.refusal(settings)
        self.assertIn(migration.POST_COPY, reason)
        self.assertIn(migration.AUTO_CONVERGE, reason)
        self.assertNotIn(migration.TIMEOUT_ACTION, reason)

    def test_describe_names_every_setting(self):
        self.assertEqual(
            'live_migration_permit_auto_converge = False, '
            'live_migration_permit_post_copy = True, '
            'live_migration_timeout_action = abort',
            Settings(permit_post_copy=True).describe())

    def test_bad_values_are_refused_naming_the_option(self):
        for kwargs, option in (
                ({'permit_auto_converge': 'yes'}, migration.AUTO_CONVERGE),
                ({'permit_post_copy': 1}, migration.POST_COPY),
                ({'permit_post_copy': None}, migration.POST_COPY),
                ({'timeout_action': 'pause'}, migration.TIMEOUT_ACTION),
                ({'timeout_action': 'x' * 5000}, migration.TIMEOUT_ACTION),
                ({'timeout_action': None}, migration.TIMEOUT_ACTION)):
            e = self.assertRaises(migration.InvalidMigrationSettings,
                                  Settings, **kwargs)
            self.assertTrue(str(e).startswith('[libvirt] %s: ' % option),
                            str(e))
            self.assertLess(len(str(e)), 200)
            self.assertNotIn('\n', str(e))


def conf_with(text):
    conf = cfg.ConfigOpts()
    rt_conf.register_migration_opts(conf)
    with tempfile.NamedTemporaryFile('w', suffix='.conf',
                                     delete=False) as f:
        f.write(text)
    conf(['--config-file', f.name])
    os.unlink(f.name)
    return conf


class DestinationTest(testtools.TestCase):

    def test_a_numa_aware_destination_is_fine(self):
        self.assertIsNone(migration.destination_refusal(True, 'rt2'))

    def test_otherwise_refused_naming_the_destination(self):
        self.assertEqual(
            'the destination rt2 did not claim its CPUs for it (no '
            'NUMA-aware live migration: a nova-compute too old for it, or '
            'an RPC version pinned below it), so its real-time pins and '
            'priorities cannot be derived there',
            migration.destination_refusal(False, 'rt2'))
        self.assertTrue(migration.destination_refusal(None).startswith(
            'the destination did not claim its CPUs'))


class FromConfTest(testtools.TestCase):

    def test_nova_definitions_and_defaults(self):
        registered = {o.name: o for o in nova_libvirt_conf.ALL_OPTS}
        conf = conf_with('')
        settings = rt_conf.migration_settings(conf)
        self.assertEqual(Settings(
            registered[migration.AUTO_CONVERGE].default,
            registered[migration.POST_COPY].default,
            registered[migration.TIMEOUT_ACTION].default), settings)

    def test_values_read(self):
        conf = conf_with('[libvirt]\nlive_migration_permit_post_copy = '
                         'true\nlive_migration_timeout_action = '
                         'force_complete\n')
        self.assertEqual(Settings(False, True, 'force_complete'),
                         rt_conf.migration_settings(conf))

    def test_unreadable_value_is_one_line_naming_the_option(self):
        for text, option, why in (
                ('live_migration_permit_auto_converge = maybe',
                 migration.AUTO_CONVERGE, "Unexpected boolean value 'maybe'"),
                ('live_migration_timeout_action = pause',
                 migration.TIMEOUT_ACTION, 'pause')):
            conf = conf_with('[libvirt]\n%s\n' % text)
            e = self.assertRaises(migration.InvalidMigrationSettings,
                                  rt_conf.migration_settings, conf)
            self.assertTrue(str(e).startswith('[libvirt] %s: ' % option))
            self.assertIn(why, str(e))
            self.assertNotIn('LocationInfo', str(e))

    def test_options_not_registered(self):
        e = self.assertRaises(migration.InvalidMigrationSettings,
                              rt_conf.migration_settings, cfg.ConfigOpts())
        self.assertIn(migration.AUTO_CONVERGE, str(e))


class HostCheckTest(hostbase.TestCase):
    """``nova-rt host check`` reads [libvirt] from nova.conf."""

    def run_check(self, libvirt_text):
        root = hostbase.tree('tuned-dual-socket')
        with open(os.path.join(root, 'etc/nova/nova.conf')) as f:
            text = f.read() + '[libvirt]\n' + libvirt_text
        with tempfile.NamedTemporaryFile('w', suffix='.conf',
                                         delete=False) as f:
            f.write(text)
        self.addCleanup(os.unlink, f.name)
        return test_cmd_host.main(
            ['host', 'check', '--root', root, '--format', 'json',
             '--smi-interval', '0', '--config-file', f.name])

    def finding(self, out):
        doc = json.loads(out)
        (found,) = [f for f in doc['findings']
                    if f['check'] == 'nova.live_migration']
        return doc, found

    def test_post_copy_warns_and_the_host_stays_ready(self):
        code, out, err = self.run_check(
            'live_migration_permit_post_copy = true\n')
        self.assertEqual((0, ''), (code, err))
        doc, found = self.finding(out)
        self.assertTrue(doc['ready'])
        self.assertEqual('warn', found['status'])
        self.assertIn('nova-rt refuses to live-migrate real-time '
                      'instances from this host', found['observed'])
        self.assertIn('live_migration_permit_post_copy', found['remediation'])

    def test_defaults_pass(self):
        code, out, err = self.run_check('')
        self.assertEqual((0, ''), (code, err))
        _, found = self.finding(out)
        self.assertEqual(('pass', ''), (found['status'],
                                        found['remediation']))

    def test_bad_value_exits_2_with_one_line(self):
        code, out, err = self.run_check(
            'live_migration_permit_auto_converge = sometimes\n')
        self.assertEqual((2, ''), (code, out))
        self.assertEqual(1, len(err.strip().splitlines()), err)
        self.assertIn('[libvirt] live_migration_permit_auto_converge: '
                      "Unexpected boolean value 'sometimes'", err)
