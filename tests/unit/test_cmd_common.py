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
"""Where the nova-rt sub-commands find nova.conf, and how they log."""

import argparse
import contextlib
import io
import logging
import os

import fixtures
import testtools

from nova_rt.cmd import common
from nova_rt.cmd import main


class LoadConfTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.nova_conf = self.write('nova.conf', '[nova_rt]\n'
                                    'default_vcpu_priority = 7\n')
        conf_d = os.path.join(self.tmp, 'nova.conf.d')
        os.mkdir(conf_d)
        self.write('nova.conf.d/10-rt.conf', '[nova_rt]\n'
                   'max_vcpu_priority = 30\n')
        self.useFixture(fixtures.MonkeyPatch(
            'nova_rt.cmd.common.DEFAULT_CONFIG_FILES', (self.nova_conf,)))
        self.useFixture(fixtures.MonkeyPatch(
            'nova_rt.cmd.common.DEFAULT_CONFIG_DIRS', (conf_d,)))

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def args(self, *argv):
        parser = argparse.ArgumentParser()
        parser.add_argument('--debug', action='store_true')
        common.add_config_file_argument(parser)
        return parser.parse_args(argv)

    def test_nova_conf_by_default(self):
        conf = common.load_conf(self.args())
        self.assertEqual(7, conf.nova_rt.default_vcpu_priority)
        self.assertEqual(30, conf.nova_rt.max_vcpu_priority)

    def test_missing_defaults_are_skipped(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova_rt.cmd.common.DEFAULT_CONFIG_FILES',
            (os.path.join(self.tmp, 'absent.conf'),)))
        self.useFixture(fixtures.MonkeyPatch(
            'nova_rt.cmd.common.DEFAULT_CONFIG_DIRS',
            (os.path.join(self.tmp, 'absent.d'),)))
        conf = common.load_conf(self.args())
        self.assertEqual(1, conf.nova_rt.default_vcpu_priority)

    def test_config_file_replaces_the_defaults(self):
        other = self.write('other.conf', '[nova_rt]\n'
                           'default_vcpu_priority = 3\n')
        conf = common.load_conf(self.args('--config-file', other))
        self.assertEqual(3, conf.nova_rt.default_vcpu_priority)
        self.assertEqual(49, conf.nova_rt.max_vcpu_priority)

    def test_a_list_of_files(self):
        other = self.write('other.conf', '[nova_rt]\n'
                           'default_vcpu_priority = 3\n')
        self.assertEqual(3, common.load_conf(
            [other]).nova_rt.default_vcpu_priority)
        self.assertEqual(7, common.load_conf(
            []).nova_rt.default_vcpu_priority)

    def test_each_conf_keeps_its_own_overrides(self):
        first = common.load_conf([self.nova_conf])
        second = common.load_conf([self.nova_conf])
        first.set_override('host_root', '/elsewhere', group='nova_rt')
        self.addCleanup(first.clear_override, 'host_root', group='nova_rt')
        self.assertEqual('/elsewhere', first.nova_rt.host_root)
        self.assertEqual('/', second.nova_rt.host_root)
        self.assertEqual('/', common.load_conf(
            [self.nova_conf]).nova_rt.host_root)

    def test_config_dir_alone(self):
        conf = common.load_conf(self.args(
            '--config-dir', os.path.join(self.tmp, 'nova.conf.d')))
        self.assertEqual(1, conf.nova_rt.default_vcpu_priority)
        self.assertEqual(30, conf.nova_rt.max_vcpu_priority)

    def test_logging_follows_the_config(self):
        log_file = os.path.join(self.tmp, 'nova-rt.log')
        conf_file = self.write('log.conf', '[DEFAULT]\nlog_file = %s\n'
                               'debug = true\n' % log_file)
        root = logging.getLogger()
        self.addCleanup(setattr, root, 'handlers', list(root.handlers))
        self.addCleanup(root.setLevel, root.level)
        conf = common.load_conf(self.args('--config-file', conf_file))
        self.assertTrue(conf.debug)
        self.assertFalse(conf.use_stderr)
        logging.getLogger('nova_rt.test').debug('from the test')
        with open(log_file) as f:
            self.assertIn('from the test', f.read())

    def test_debug_flag_forces_debug(self):
        root = logging.getLogger()
        self.addCleanup(setattr, root, 'handlers', list(root.handlers))
        self.addCleanup(root.setLevel, root.level)
        conf = common.load_conf(self.args('--debug'))
        self.assertTrue(conf.debug)
        self.assertTrue(conf.use_stderr)


class EarlyLoggingTest(testtools.TestCase):

    def test_logs_before_the_config_go_to_stderr(self):
        root = logging.getLogger()
        self.addCleanup(setattr, root, 'handlers', list(root.handlers))
        self.addCleanup(root.setLevel, root.level)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main._setup_logging(False)
            logging.getLogger('nova_rt.test').warning('early warning')
        self.assertEqual('', out.getvalue())
        self.assertIn('early warning', err.getvalue())
