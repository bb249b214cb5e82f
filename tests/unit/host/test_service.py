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
"""The compute driver's host-audit service: refresh interval, clock and
readiness transitions, without Nova.
"""

import os

import fixtures

from nova_rt.cmd import common
from nova_rt import conf as rt_conf
from nova_rt.host import service
from tests.unit.host import base


class Clock(object):
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class HostAuditServiceTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.root, self.desc = base.variant('tuned-dual-socket')
        self.conf = common.load_conf(
            [os.path.join(self.root, 'etc/nova/nova.conf')],
            register=rt_conf.register_migration_opts)
        self.conf.set_override('host_root', self.root, group='nova_rt')
        self.conf.set_override('facts_refresh_interval', 600,
                               group='nova_rt')
        self.clock = Clock()
        self.audit = service.HostAuditService(self.conf, clock=self.clock)
        self.logged = self.useFixture(fixtures.FakeLogger(
            name='nova_rt.host.service'))

    def break_isolation(self):
        with open(os.path.join(
                self.root, 'sys/devices/system/cpu/isolated'), 'w') as f:
            f.write('\n')

    def test_cached_for_the_interval(self):
        first = self.audit.current()
        self.assertTrue(first.facts.ready)
        self.break_isolation()
        self.clock.now += 599
        self.assertIs(first, self.audit.current())
        self.clock.now += 1
        second = self.audit.current()
        self.assertFalse(second.facts.ready)
        self.assertEqual(self.clock.now, second.when)

    def test_refresh_now(self):
        self.audit.current()
        self.break_isolation()
        self.assertFalse(self.audit.current(refresh=True).facts.ready)

    def test_each_transition_logged_once(self):
        self.audit.current()
        self.audit.current(refresh=True)
        self.assertEqual(1, self.logged.output.count('is now ready'))
        self.break_isolation()
        self.audit.current(refresh=True)
        self.audit.current(refresh=True)
        self.assertEqual(1, self.logged.output.count('is not ready'))
        self.assertIn('cpu.isolated', self.logged.output)

    def test_root_read_once(self):
        self.audit.current()
        self.conf.set_override('host_root', '/nonexistent', group='nova_rt')
        self.assertTrue(self.audit.current(refresh=True).facts.ready)

    def test_live_migration_settings_warn_and_keep_the_host_ready(self):
        finding = self.audit.current().report.finding('nova.live_migration')
        self.assertEqual('pass', finding.status)
        self.conf.set_override('live_migration_permit_post_copy', True,
                               group='libvirt')
        host = self.audit.current(refresh=True)
        finding = host.report.finding('nova.live_migration')
        self.assertEqual('warn', finding.status)
        self.assertIn('live_migration_permit_post_copy = True',
                      finding.observed)
        self.assertTrue(host.facts.ready)
