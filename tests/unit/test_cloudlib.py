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
"""The test cloud's Python (tools/cloudlib): the cloud tiers' skip check
(skips.py) with the tree's own allow-list (allowed-skips.txt), what
``up`` waits for (bootstrap.py), and tools/cloud's refusals of a release
it cannot bring up or upgrade to."""

import hashlib
import os
import subprocess
import sys
import tempfile
import time

import fixtures
import testtools

from tests import cloudlib

TOOL = os.path.join(cloudlib.CLOUDLIB, 'skips.py')
ALLOWED = os.path.join(cloudlib.CLOUDLIB, 'allowed-skips.txt')
skips = cloudlib.load('skips')

# subunit-trace's lines, as tempest run prints them.
LOG = """\
{0} nova_rt_tempest_plugin.tests.test_moves.ColdMoveTest.test_cold_migration_confirmed [37.085957s] ... ok
{0} setUpClass (nova_rt_tempest_plugin.tests.test_migration_latency.MigrationLatencyTest) ... SKIPPED: no latency guest image ([nova_rt] latency_image_ref)
{0} nova_rt_tempest_plugin.tests.test_realtime.RealtimeServerTest.test_isolated_emulator [0.5s] ... SKIPPED: needs 2 dedicated host CPUs (the emulator); the compute has 1 (1)
{0} nova_rt_tempest_plugin.tests.test_osc.MetricsTest.test_promtool ... FAILED
"""  # noqa: E501

ENTRY = """\
# a comment
test: nova_rt_tempest_plugin\\.tests\\.test_realtime\\.RealtimeServerTest\\.test_isolated_emulator
why: one dedicated CPU per host on a 2-CPU machine
runs when: a compute with 2 dedicated CPUs
"""  # noqa: E501


class SkipsTest(testtools.TestCase):

    def test_class_and_test_skips_found_other_results_ignored(self):
        self.assertEqual([
            ('nova_rt_tempest_plugin.tests.test_migration_latency.'
             'MigrationLatencyTest',
             'no latency guest image ([nova_rt] latency_image_ref)'),
            ('nova_rt_tempest_plugin.tests.test_realtime.RealtimeServerTest.'
             'test_isolated_emulator',
             'needs 2 dedicated host CPUs (the emulator); the compute has 1 '
             '(1)')], skips.skipped(LOG))

    def test_an_allowed_skip_passes_the_others_are_named(self):
        allowed = skips.parse_allowed(ENTRY)
        self.assertEqual(1, len(allowed))
        self.assertEqual('a compute with 2 dedicated CPUs', allowed[0][2])
        bad = skips.unexpected(allowed, LOG)
        self.assertEqual(['nova_rt_tempest_plugin.tests.'
                          'test_migration_latency.MigrationLatencyTest'],
                         [test for test, _ in bad])

    def test_an_entry_matches_the_whole_id(self):
        allowed = skips.parse_allowed(
            'test: nova_rt_tempest_plugin\\.tests\\.test_realtime\n'
            'why: w\nruns when: r\n')
        self.assertEqual(2, len(skips.unexpected(allowed, LOG)))

    def test_damaged_allow_lists_are_refused_by_line(self):
        for text, says in (
                ('test: a\nwhy: b\n', ':1: entry without runs when'),
                ('test: a\nwhy: b\nruns when: c\nwhy: d\n',
                 ':4: why given twice'),
                ('test: a\nbecause: b\n', ":2: expected one of test:, why:, "
                 "runs when:, not 'because: b'"),
                ('test: (\nwhy: b\nruns when: c\n', ':1: test \'(\''),
                ('\n\ntest: a\nruns when: c\n', ':3: entry without why')):
            e = self.assertRaises(skips.AllowListError, skips.parse_allowed,
                                  text, 'list')
            self.assertIn('list' + says, str(e))

    def test_command_exit_codes(self):
        with tempfile.TemporaryDirectory() as tmp:
            allowed = os.path.join(tmp, 'allowed')
            log = os.path.join(tmp, 'log')
            with open(allowed, 'w') as f:
                f.write(ENTRY)
            with open(log, 'w') as f:
                f.write(LOG)

            def run(*args):
                return subprocess.run([sys.executable, TOOL] + list(args),
                                      capture_output=True, text=True)

            proc = run('check', allowed, log)
            self.assertEqual(1, proc.returncode)
            self.assertEqual(
                'unexpected skip: nova_rt_tempest_plugin.tests.'
                'test_migration_latency.MigrationLatencyTest: no latency '
                'guest image ([nova_rt] latency_image_ref)\n', proc.stdout)
            with open(log, 'w') as f:
                f.write(LOG.splitlines()[2] + '\n')
            self.assertEqual(0, run('check', allowed, log).returncode)
            proc = run('check', os.path.join(tmp, 'missing'), log)
            self.assertEqual(2, proc.returncode)
            self.assertIn('No such file', proc.stdout)
            self.assertEqual(2, run('check', allowed).returncode)

    def test_the_trees_allow_list_is_short_and_reasoned(self):
        with open(ALLOWED) as f:
            allowed = skips.parse_allowed(f.read(), ALLOWED)
        self.assertLessEqual(len(allowed), 8)
        for pattern, why, runs_when in allowed:
            self.assertTrue(pattern.pattern.startswith(
                'nova_rt_tempest_plugin\\.tests\\.'), pattern.pattern)
            self.assertGreater(len(why), 20, pattern.pattern)
            self.assertGreater(len(runs_when), 10, pattern.pattern)


class InventoryClassesTest(testtools.TestCase):
    """What tools/cloud up waits for: the inventory the compute's CPU sets
    imply (a host with no shared CPUs never reports VCPU).
    """

    def classes(self, compute):
        bootstrap = cloudlib.load('bootstrap')
        with tempfile.NamedTemporaryFile('w', suffix='.conf') as f:
            f.write('[filter_scheduler]\navailable_filters = a\n'
                    'available_filters = b\n[compute]\n' + compute)
            f.flush()
            return bootstrap.inventory_classes(f.name)

    def test_shapes(self):
        self.assertEqual({'PCPU', 'VCPU'}, self.classes(
            'cpu_dedicated_set = 1\ncpu_shared_set = 0\n'))
        self.assertEqual({'PCPU'}, self.classes(
            'cpu_dedicated_set = 0-1\ncpu_shared_set =\n'))
        self.assertEqual({'PCPU'}, self.classes('cpu_dedicated_set = 0-1\n'))
        self.assertEqual({'VCPU'}, self.classes('cpu_shared_set = 0-1\n'))
        self.assertEqual({'VCPU'}, self.classes(''))


class EnsureImageTest(testtools.TestCase):
    """tools/cloud up on an earlier cloud's data replaces a guest image
    built from an older checkout (its content or its properties).
    """

    def image(self, data, **fields):
        from openstack.image.v2 import image as image_v2
        return image_v2.Image(
            _synchronized=True, id='img-1', status='active',
            hash_value=hashlib.sha512(data).hexdigest(),
            checksum=hashlib.md5(data).hexdigest(), **fields)

    def test_same_content_and_properties(self):
        bootstrap = cloudlib.load('bootstrap')
        image = self.image(b'initrd', kernel_id='k1',
                           os_command_line='nrt_latency_s=90')
        self.assertTrue(bootstrap.image_is(image, b'initrd', {
            'kernel_id': 'k1', 'os_command_line': 'nrt_latency_s=90'}))
        self.assertFalse(bootstrap.image_is(image, b'initrd2', {}))
        self.assertFalse(bootstrap.image_is(image, b'initrd', {
            'os_command_line': 'nrt_latency_s=60'}))
        self.assertFalse(bootstrap.image_is(image, b'initrd', {
            'kernel_id': 'k2'}))

    def test_md5_when_glance_has_no_multihash(self):
        bootstrap = cloudlib.load('bootstrap')
        image = self.image(b'initrd')
        image.hash_value = None
        self.assertTrue(bootstrap.image_is(image, b'initrd', {}))
        self.assertFalse(bootstrap.image_is(image, b'other', {}))


class CloudReleaseArgumentsTest(testtools.TestCase):
    """``tools/cloud up --release`` and ``upgrade --to`` refuse what they
    cannot do, by name, before they touch a service.
    """

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.run_dir = os.path.join(self.dir, 'run')

    def cloud(self, *args):
        env = dict(os.environ, NOVA_RT_CLOUD_DIR=self.dir)
        return subprocess.run(
            [os.path.join(cloudlib.TOP, 'tools', 'cloud')] + list(args),
            capture_output=True, text=True, env=env, timeout=60)

    def a_cloud_of(self, release):
        os.makedirs(os.path.join(self.dir, 'data', 'mysql'))
        os.makedirs(self.run_dir)
        for name, text in (('release', release), ('computes', '2')):
            with open(os.path.join(self.run_dir, name), 'w') as f:
                f.write(text + '\n')

    def assert_refused(self, says, *args, code=1):
        proc = self.cloud(*args)
        self.assertEqual(code, proc.returncode, proc.stderr)
        self.assertIn(says, proc.stderr)

    def test_unknown_release(self):
        self.assert_refused(
            "unknown release '2023.1' (known: 2024.1 2024.2 2025.1 2025.2 "
            "2026.1 2026.2 )", 'up', '--release', '2023.1')
        self.assert_refused("unknown release 'x'", 'upgrade', '--to', 'x')

    def test_up_on_another_releases_databases(self):
        self.a_cloud_of('2026.2')
        self.assert_refused(
            'holds a Nova 2026.2 cloud: tools/cloud upgrade --to 2025.1, or '
            'tools/cloud down and rm -rf %s for a new one' % self.dir,
            'up', '--release', '2025.1')

    def test_upgrade_needs_a_newer_release_and_a_cloud(self):
        self.assert_refused('usage: tools/cloud up', 'upgrade', code=2)
        self.assert_refused('no cloud here', 'upgrade', '--to', '2026.1')
        self.a_cloud_of('2025.1')
        self.assert_refused('Nova 2025.1 cannot be downgraded to 2024.1',
                            'upgrade', '--to', '2024.1')
        self.assert_refused('the cloud runs Nova 2025.1 already',
                            'upgrade', '--to', '2025.1')
        self.assert_refused('keystone is not running: an upgrade starts '
                            'from a running cloud', 'upgrade', '--to',
                            '2026.1')

    def test_rolling_upgrade_refusals(self):
        self.a_cloud_of('2025.1')
        self.assert_refused("--keep: no compute host 'compute3'",
                            'upgrade', '--to', '2026.1', '--keep',
                            'compute3')
        self.assert_refused('usage: tools/cloud up', 'upgrade', '--to',
                            '2026.1', '--keep', code=2)
        # compute2 left on 2024.1 by an earlier rolling upgrade.
        with open(os.path.join(self.run_dir, 'release@compute2'), 'w') as f:
            f.write('2024.1\n')
        self.assert_refused(
            'computes compute2 run an older release than the controllers: '
            'tools/cloud upgrade --to 2025.1 first',
            'upgrade', '--to', '2026.1')
        self.assert_refused(
            '--keep: the controllers run Nova 2025.1 already; upgrade '
            '--to 2025.1 finishes the rolling upgrade',
            'upgrade', '--to', '2025.1', '--keep', 'compute1')
        self.assert_refused('nova-compute@compute2 is not running',
                            'upgrade', '--to', '2025.1')

    def test_pins_takes_a_uuid(self):
        self.a_cloud_of('2025.1')
        self.assert_refused("pins takes a server's UUID, not 'compute1'",
                            'pins', 'compute1')


class StopTest(testtools.TestCase):
    """tools/cloud's stop waits for a service's whole process group, and
    no longer than that.
    """

    def bash(self, script):
        env = dict(os.environ, top=cloudlib.TOP,
                   NOVA_RT_CLOUD_DIR=self.useFixture(
                       fixtures.TempDir()).path)
        return subprocess.run(
            ['bash', '-c', 'set -eu; source "$top/tools/cloudlib/common.sh"; '
             + script], capture_output=True, text=True, env=env, timeout=60)

    def test_gone_waits_for_the_children_of_an_exited_leader(self):
        # The leader (rabbitmq's script, uwsgi's master) exits at once; a
        # child of its group lives on for a second and a half.
        started = time.monotonic()
        proc = self.bash(
            'setsid sh -c "sleep 1.5 & exec sleep 0.1" & leader=$!; '
            'sleep 0.3; '
            'running "$leader" && echo "leader running"; '
            'group_running "$leader" && echo "group running"; '
            'gone "$leader" 10; '
            'group_running "$leader" || echo "group gone"')
        took = time.monotonic() - started
        self.assertEqual('group running\ngroup gone\n', proc.stdout,
                         proc.stderr)
        self.assertGreater(took, 1.4)

    def test_gone_gives_up_at_its_deadline(self):
        proc = self.bash('setsid sleep 30 & pid=$!; '
                         'gone "$pid" 1 || echo "still there"; '
                         'kill "$pid"')
        self.assertEqual('still there\n', proc.stdout, proc.stderr)

    def test_a_zombie_is_not_running(self):
        # The leader exits; its parent (the inner shell, stopped) does not
        # reap it: a zombie, as a daemon stays until init reaps it.
        proc = self.bash(
            'sh -c "sleep 0.1 & echo \\$! >\\"$NOVA_RT_CLOUD_DIR/pid\\"; '
            'kill -STOP \\$\\$" & parent=$!; sleep 0.5; '
            'pid=$(cat "$NOVA_RT_CLOUD_DIR/pid"); '
            'grep -q "^State:.*Z" /proc/$pid/status && echo zombie; '
            'running "$pid" || echo "not running"; '
            'gone "$pid" 5 && echo gone; '
            'kill -9 "$parent"')
        self.assertEqual('zombie\nnot running\ngone\n', proc.stdout,
                         proc.stderr)
