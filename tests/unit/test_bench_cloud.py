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
"""The real-cloud benchmark's machinery against a fake cloud with a fake
clock: pairing, order, timing arithmetic, clean-up and skipping. The real
cloud runs it for real (benchmarks/cloud.py).
"""

import os
import tempfile

import fixtures
import testtools

from benchmarks import cloud
from benchmarks import stats
from nova_rt.core import request as rt_request
from nova_rt.scheduler import prefilter


class FakeCloud:
    """Servers take ``boot_s[kind]`` to go ACTIVE and ``delete_s[kind]``
    to go, in fake seconds; every call is logged.
    """

    def __init__(self, boot_s, delete_s, fail_at=None):
        self.now = 0.0
        self.boot_s, self.delete_s = boot_s, delete_s
        self.fail_at = fail_at
        self.log = []
        self.flavors = {}
        self.servers = {}       # id -> [kind, active_at, gone_at]

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds

    def image_id(self, name):
        self.log.append(('image', name))
        return 'image-1'

    def create_flavor(self, name, settings, specs):
        kind = 'realtime' if 'realtime' in name else 'ordinary'
        flavor_id = 'flavor-%s' % kind
        self.flavors[flavor_id] = (kind, dict(specs))
        self.log.append(('flavor', kind))
        return flavor_id

    def delete_flavor(self, flavor_id):
        self.log.append(('delete-flavor', flavor_id))
        del self.flavors[flavor_id]

    def boot(self, name, image_id, flavor_id):
        kind = self.flavors[flavor_id][0]
        server_id = 'server-%d' % len(self.servers)
        if self.fail_at == len(self.servers):
            self.servers[server_id] = [kind, None, None]
        else:
            self.servers[server_id] = [kind, self.now + self.boot_s[kind],
                                       None]
        self.log.append(('boot', kind))
        return server_id

    def status(self, server_id):
        kind, active_at, gone_at = self.servers[server_id]
        if gone_at is not None and self.now >= gone_at:
            return None
        if active_at is None:
            return 'ERROR', 'simulated failure'
        return ('ACTIVE' if self.now >= active_at else 'BUILD'), ''

    def delete(self, server_id):
        entry = self.servers[server_id]
        if entry[2] is None:
            entry[2] = self.now + self.delete_s[entry[0]]
            self.log.append(('delete', entry[0]))


class RunPairsTest(testtools.TestCase):

    def run_pairs(self, fake, pairs=6):
        settings = cloud.Settings(pairs=pairs, poll_s=0.5)
        return cloud.run_pairs(fake, settings, clock=fake.clock,
                               sleep=fake.sleep)

    def test_pairs_alternate_and_are_timed(self):
        fake = FakeCloud({'realtime': 12.0, 'ordinary': 10.0},
                         {'realtime': 8.0, 'ordinary': 8.0})
        timings = self.run_pairs(fake)
        boots = [kind for what, kind in fake.log if what == 'boot']
        self.assertEqual(['realtime', 'ordinary', 'ordinary', 'realtime'] * 3,
                         boots)
        self.assertEqual([12.0] * 6, timings.create['realtime'])
        self.assertEqual([10.0] * 6, timings.create['ordinary'])
        self.assertEqual([8.0] * 6, timings.delete['ordinary'])
        # One at a time: each server is gone before the next boots.
        events = [what for what, _ in fake.log if what in ('boot', 'delete')]
        self.assertEqual(['boot', 'delete'] * 12, events)
        # Flavors made first, deleted last.
        self.assertEqual(('image', 'nrt-guest'), fake.log[0])
        self.assertEqual({}, fake.flavors)
        rows = cloud.rows_of(timings)
        self.assertEqual(stats.FAIL, rows[0].verdict)       # +20 %
        self.assertAlmostEqual(1.2, rows[0].ratio)
        self.assertEqual(stats.PASS, rows[1].verdict)       # +0 %
        self.assertIn('+20.0 % (12.0 vs 10.0 s)', rows[0].measured)

    def test_a_failed_server_is_cleaned_up_with_the_flavors(self):
        fake = FakeCloud({'realtime': 2.0, 'ordinary': 2.0},
                         {'realtime': 1.0, 'ordinary': 1.0}, fail_at=3)
        e = self.assertRaises(cloud.CloudError, self.run_pairs, fake)
        self.assertIn('server-3 went to ERROR: simulated failure', str(e))
        self.assertEqual({}, fake.flavors)
        self.assertIsNotNone(fake.servers['server-3'][2])

    def test_a_server_that_never_comes_up_times_out(self):
        fake = FakeCloud({'realtime': 1e9, 'ordinary': 1.0},
                         {'realtime': 1.0, 'ordinary': 1.0})
        e = self.assertRaises(cloud.CloudError, self.run_pairs, fake)
        self.assertIn('not ACTIVE after 300 s', str(e))
        self.assertEqual({}, fake.flavors)


class FiguresTest(testtools.TestCase):

    def test_no_clouds_yaml_is_skipped_with_the_reason(self):
        empty = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.EnvironmentVariable('NOVA_RT_CLOUD_DIR',
                                                     empty))
        rows = cloud.figures()
        self.assertEqual([stats.SKIPPED] * 2, [r.verdict for r in rows])
        self.assertEqual('skipped: no cloud (no clouds.yaml in %s)' % empty,
                         rows[0].measured)

    def test_keystone_not_answering_is_skipped(self):
        directory = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(directory, 'clouds.yaml'), 'w') as f:
            f.write('clouds:\n')
            for name in (cloud.ADMIN_CLOUD, cloud.DEMO_CLOUD):
                f.write('  %s:\n    auth:\n      auth_url: '
                        'http://127.0.0.1:9/v3\n      username: u\n'
                        '      password: p\n      project_name: p\n'
                        '      user_domain_name: Default\n'
                        '      project_domain_name: Default\n' % name)
        self.useFixture(fixtures.EnvironmentVariable('NOVA_RT_CLOUD_DIR',
                                                     directory))
        rows = cloud.figures(connect=lambda d: cloud.SdkCloud(d, timeout=5))
        self.assertEqual([stats.SKIPPED] * 2, [r.verdict for r in rows])
        self.assertTrue(rows[0].measured.startswith('skipped: no cloud ('),
                        rows[0].measured)

    def test_a_cloud_error_is_a_failed_figure(self):
        class Broken(FakeCloud):
            def image_id(self, name):
                raise cloud.CloudError('no image named %s' % name)
        rows = cloud.figures(connect=lambda d: Broken({}, {}))
        self.assertEqual([stats.FAIL] * 2, [r.verdict for r in rows])
        self.assertIn('no image named nrt-guest', rows[0].note)

    def test_default_flavors_are_valid_and_ask_placement(self):
        settings = cloud.Settings()
        request = rt_request.build_request(
            settings.vcpus, settings.realtime_specs, {}, None)
        self.assertEqual(frozenset({0}), request.realtime_vcpus)
        self.assertEqual('share', request.emulator_threads_policy)
        self.assertTrue(prefilter.placement_cut(
            settings.realtime_specs, lab_mode=True).asked)
        self.assertIsNone(rt_request.build_request(
            settings.vcpus, settings.ordinary_specs, {}, None))

    def test_cli_replaces_the_specs(self):
        seen = {}

        def fake_figures(quick, settings):
            seen['settings'] = settings
            return []
        self.useFixture(fixtures.MonkeyPatch('benchmarks.cloud.figures',
                                             fake_figures))
        with tempfile.NamedTemporaryFile() as out:
            self.assertEqual(0, cloud.main([
                '--pairs', '12', '--ordinary-spec', 'hw:cpu_policy=dedicated',
                '--json', out.name]))
        settings = seen['settings']
        self.assertEqual(12, settings.pairs)
        self.assertEqual({'hw:cpu_policy': 'dedicated'},
                         settings.ordinary_specs)
        self.assertIn('hw:cpu_realtime', settings.realtime_specs)
