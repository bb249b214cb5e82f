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
"""Real-time guests carried across a Nova upgrade (grenade's shape, in
nova-rt's test cloud): four guests run while every service goes to
``[nova_rt] upgrade_to`` through the cloud command's ``upgrade --to``; after
it each guest is the same QEMU with the same domain, threads, database
pins and placement allocations, a new real-time server boots on the new
release, and every guest live-migrates and keeps its settings.

The upgrade tier (``tools/run-tests.sh upgrade``) runs this alone, on a
cloud brought up on the older release; the integration tier leaves it out.
"""

import time

from nova_rt_tempest_plugin import hostside
from nova_rt_tempest_plugin.tests import test_moves
from oslo_log import log as logging
from tempest.common import waiters
from tempest import config
from tempest.lib import decorators

from nova_rt.core import cpuset

CONF = config.CONF
LOG = logging.getLogger(__name__)

# name -> (vCPUs, extra specs, assert_realtime's arguments or None for a
# guest that is not real-time). Each but the ordinary one holds one
# dedicated CPU.
GUESTS = {
    # Real-time, every vCPU dedicated, FIFO 12 from the flavor, the
    # emulator threads on the shared CPUs.
    'rt_fifo': (1, {'hw:cpu_policy': 'dedicated', 'hw:cpu_realtime': 'yes',
                    'hw:emulator_threads_policy': 'share',
                    'rt:vcpu_priority': '12', 'rt:guest_tuning': 'none'},
                dict(realtime_vcpus={0}, scheduler='fifo', priority=12)),
    # Mixed: a housekeeping vCPU on the shared CPUs, a real-time one on a
    # dedicated CPU at RR 17, a FIFO 3 emulator.
    'rt_mixed_rr': (2, test_moves.MOVER, test_moves.MOVER_CHECK),
    'dedicated': (1, {'hw:cpu_policy': 'dedicated'}, None),
    'ordinary': (1, {}, None),
}
PINNED = ('rt_fifo', 'rt_mixed_rr', 'dedicated')


def _sched(value):
    return '%s:%s' % value if value else None


def _release(name):
    return tuple(int(part) for part in name.split('.'))


class SkipLevelUpgradeTest(test_moves.MovesTest):

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.nova_rt.upgrade_to:
            raise cls.skipException('needs [nova_rt] upgrade_to: the '
                                    'release the cloud is upgraded to')

    def setUp(self):
        super().setUp()
        # Three pinned guests, and a free dedicated CPU for each move and
        # for the new server: one more compute than pinned guests.
        if CONF.compute.min_compute_nodes * len(self.dedicated) \
                < len(PINNED) + 1:
            raise self.skipException(
                'needs %d dedicated CPUs over the computes (%d pinned '
                'guests and one free); the cloud has %d computes with %d '
                'each' % (len(PINNED) + 1, len(PINNED),
                          CONF.compute.min_compute_nodes,
                          len(self.dedicated)))

    # -- what a guest is made of ------------------------------------------
    def check(self, name, server_id):
        """The guest's flavor, as the tests of its shape check it."""
        expected = GUESTS[name][2]
        if expected:
            return self.assert_realtime(server_id, **expected)
        return self.assert_not_realtime(server_id)

    def db_pins(self, server_id):
        return hostside.parse_instance_pins(
            self.cloud('pins', server_id, quiet=True))

    def settings(self, name, server_id):
        """Everything of the guest an upgrade could change, as text: its
        host and QEMU, its domain's scheduling, pins and locked memory,
        its live vCPU and emulator threads, its pins in Nova's database
        and its placement allocations.
        """
        dom = self.check(name, server_id)
        host, _ = self.where(server_id)
        threads = self.threads(server_id)
        main = min(threads, key=lambda t: t.tid)
        live = {'main': '%s:%s on %s' % (main.policy, main.priority,
                                         cpuset.format(main.allowed))}
        for t in threads:
            if t.vcpu is not None:
                live['vcpu%d' % t.vcpu] = '%s:%s on %s' % (
                    t.policy, t.priority, cpuset.format(t.allowed))
        found = {
            'host': host,
            'qemu_pid': main.tid,
            'vcpu_sched': {str(v): _sched(s)
                           for v, s in sorted(dom.vcpusched.items())},
            'emulator_sched': _sched(dom.emulatorsched),
            'vcpu_pins': {str(v): cpuset.format(p)
                          for v, p in sorted(dom.vcpupins.items())},
            'emulator_pin': cpuset.format(dom.emulatorpin or ()),
            'iothread_pins': {str(i): cpuset.format(p)
                              for i, p in sorted(dom.iothreadpins.items())},
            'locked': dom.locked,
            'threads': live,
            'allocations': {
                host_rp: alloc['resources'] for host_rp, alloc in
                self.allocations(server_id).items()},
        }
        if name in PINNED:
            pins = self.db_pins(server_id)
            found['db_pins'] = {str(v): c
                                for v, c in sorted(pins.vcpus.items())}
            found['db_emulator'] = cpuset.format(pins.emulator)
            # What Nova will rebuild the guest from is what runs.
            for vcpu, pcpu in pins.vcpus.items():
                self.assertEqual(frozenset({pcpu}), dom.vcpupins[vcpu],
                                 '%s: vCPU %d in the domain and in Nova\'s '
                                 'database' % (name, vcpu))
        self.assert_iothreads_off_realtime(name, dom)
        return found

    def assert_iothreads_off_realtime(self, name, dom):
        expected = GUESTS[name][2]
        realtime = expected['realtime_vcpus'] if expected else ()
        rt_cpus = frozenset().union(*(dom.vcpupins[v] for v in realtime))
        for iothread, pins in dom.iothreadpins.items():
            self.assertFalse(pins & rt_cpus, '%s: IOThread %d pinned onto '
                             'real-time CPUs %s' % (name, iothread,
                                                    cpuset.format(rt_cpus)))
            if dom.emulatorpin:
                self.assertEqual(dom.emulatorpin, pins, '%s: IOThread %d '
                                 'not with the emulator threads'
                                 % (name, iothread))

    @staticmethod
    def portable(found):
        """What a live migration keeps: all but the host, the QEMU and the
        resource provider (every compute here has the same CPU sets, so
        the pins stay the same numbers).
        """
        kept = dict(found)
        for key in ('host', 'qemu_pid'):
            kept.pop(key)
        kept['allocations'] = sorted(
            tuple(sorted(r.items())) for r in found['allocations'].values())
        return kept

    @staticmethod
    def summary(found):
        """One line of a guest's settings, for the docs' figures."""
        parts = ['vCPU %s %s on %s' % (v, found['vcpu_sched'].get(v) or
                                       'other', pins)
                 for v, pins in found['vcpu_pins'].items()]
        if not parts:
            parts.append('vCPUs unpinned (%s)' % found['threads'].get(
                'vcpu0', 'no vCPU thread'))
        parts.append('emulator %s on %s' % (
            found['emulator_sched'] or 'other',
            found['emulator_pin'] or 'any CPU'))
        for iothread, pins in found['iothread_pins'].items():
            parts.append('IOThread %s on %s' % (iothread, pins))
        if found['locked']:
            parts.append('memory locked')
        if 'db_pins' in found:
            parts.append('database pins %s' % ','.join(
                '%s:%s' % item for item in found['db_pins'].items()))
        return '; '.join(parts)

    def live_migrate(self, name, server_id, host=None):
        """The guest live-migrated (to ``host``, or where the scheduler
        picks), its QEMU gone from the source; its settings after.
        """
        source = self.snapshot(server_id)
        self.admin_servers_client.live_migrate_server(
            server_id, host=host, block_migration='auto')
        waiters.wait_for_server_status(self.servers_client, server_id,
                                       'ACTIVE')
        self.wait_migration(server_id)
        self.assertNotEqual(source[0], self.where(server_id)[0],
                            '%s did not move' % name)
        if host:
            self.assertEqual(host, self.where(server_id)[0])
        self.assert_qemu_gone(source[0], source[2])
        moved = self.settings(name, server_id)
        self.wait_usage_settled()
        return moved

    def assert_same(self, expected, found, what):
        for name in expected:
            self.assertEqual(expected[name], found[name],
                             '%s changed %s' % (name, what))

    def rolling_upgrade(self, to, servers, before):
        """The controllers and every compute but the mixed guest's to
        ``to``, guests moved old to new and new to old, then the rest:
        (every guest's settings after it, the figures).
        """
        kept = self.where(servers['rt_mixed_rr'])[0]
        started = time.monotonic()
        self.cloud('upgrade', '--to', to, '--keep', kept, timeout=1800)
        rolling_s = time.monotonic() - started
        self.wait_computes_enabled()
        mixed = {name: self.settings(name, sid)
                 for name, sid in servers.items()}
        self.assert_same(before, mixed, 'across the upgrade to %s of all '
                         'but %s' % (to, kept))

        # Old to new: the mixed guest to the free compute, a new one.
        old_to_new = self.live_migrate('rt_mixed_rr',
                                       servers['rt_mixed_rr'])
        self.assertEqual(self.portable(before['rt_mixed_rr']),
                         self.portable(old_to_new),
                         'rt_mixed_rr changed in its live migration from '
                         '%s (older release) to Nova %s' % (kept, to))
        # New to old: the FIFO guest, hard-rebooted first so that the new
        # release builds its domain (2026.1: with an IOThread), onto the
        # compute still on the older release.
        self.servers_client.reboot_server(servers['rt_fifo'], type='HARD')
        waiters.wait_for_server_status(self.servers_client,
                                       servers['rt_fifo'], 'ACTIVE')
        rebooted = self.settings('rt_fifo', servers['rt_fifo'])
        kept_keys = self.portable(before['rt_fifo'])
        reboot_keys = self.portable(rebooted)
        kept_keys.pop('iothread_pins')
        reboot_keys.pop('iothread_pins')
        self.assertEqual(kept_keys, reboot_keys,
                         'rt_fifo changed in a hard reboot on Nova %s' % to)
        if _release(to) >= (2026, 1):
            self.assertTrue(rebooted['iothread_pins'], 'no IOThread in '
                            'rt_fifo rebuilt by Nova %s' % to)
        new_to_old = self.live_migrate('rt_fifo', servers['rt_fifo'],
                                       host=kept)
        self.assertEqual(self.portable(rebooted), self.portable(new_to_old),
                         'rt_fifo changed in its live migration from Nova '
                         '%s to %s (older release)' % (to, kept))

        # The kept compute too: the upgrade finished.
        started = time.monotonic()
        self.cloud('upgrade', '--to', to, timeout=1800)
        finish_s = time.monotonic() - started
        self.wait_computes_enabled()
        expected = dict(before, rt_mixed_rr=old_to_new, rt_fifo=new_to_old)
        after = {name: self.settings(name, sid)
                 for name, sid in servers.items()}
        LOG.info('after the upgrade to %s: %s', to, after)
        self.assert_same(expected, after, 'across the upgrade to %s' % to)
        return after, {
            'upgrade.rolling_seconds': round(rolling_s, 1),
            'upgrade.finish_seconds': round(finish_s, 1),
            'upgrade.kept': kept,
            'upgrade.rt_mixed_rr.old_to_new': self.summary(old_to_new),
            'upgrade.rt_fifo.rebooted': self.summary(rebooted),
            'upgrade.rt_fifo.new_to_old': self.summary(new_to_old)}

    # -- the upgrade --------------------------------------------------------
    @decorators.idempotent_id('7b3d5f70-9c2e-4d4f-8a1b-2c3d4e5f6a01')
    def test_guests_keep_their_settings_across_the_upgrade(self):
        to = CONF.nova_rt.upgrade_to
        servers = {}
        for name, (vcpus, specs, _) in GUESTS.items():
            servers[name] = self.boot(self.flavor(vcpus, specs),
                                      wait=None)['id']
        for server_id in servers.values():
            waiters.wait_for_server_status(self.servers_client, server_id,
                                           'ACTIVE')
        before = {name: self.settings(name, sid)
                  for name, sid in servers.items()}
        LOG.info('before the upgrade: %s', before)

        measured = {'upgrade.to': to}
        if CONF.nova_rt.upgrade_rolling:
            after, extra = self.rolling_upgrade(to, servers, before)
            measured.update(extra)
        else:
            # Skip-level, all at once: every service and compute.
            started = time.monotonic()
            self.cloud('upgrade', '--to', to, timeout=1800)
            measured['upgrade.seconds'] = round(time.monotonic() - started,
                                                1)
            self.wait_computes_enabled()
            after = {name: self.settings(name, sid)
                     for name, sid in servers.items()}
            LOG.info('after the upgrade to %s: %s', to, after)
            self.assert_same(before, after, 'across the upgrade to %s' % to)

        # A real-time server of the new release, on the free CPU.
        new = self.boot(self.flavor(*GUESTS['rt_fifo'][:2]))['id']
        new_settings = self.settings('rt_fifo', new)
        if _release(to) >= (2026, 1):
            # Nova 2026.1 gives each guest an IOThread with the emulator
            # threads: off the real-time CPU (checked in settings()).
            self.assertTrue(new_settings['iothread_pins'],
                            'no IOThread in a new guest of Nova %s' % to)
        self.delete_server_and_wait(new)
        self.wait_usage_settled()

        # Every guest to the other free host and back into the rotation:
        # one dedicated CPU is free at a time, so they move one by one.
        moved = {}
        for name, sid in servers.items():
            moved[name] = self.live_migrate(name, sid)
            self.assertEqual(self.portable(after[name]),
                             self.portable(moved[name]),
                             '%s changed in its live migration on Nova %s'
                             % (name, to))

        for name in servers:
            measured['upgrade.%s.before' % name] = self.summary(before[name])
            measured['upgrade.%s.after' % name] = self.summary(after[name])
            measured['upgrade.%s.migrated' % name] = self.summary(
                moved[name])
        measured['upgrade.new_rt_fifo'] = self.summary(new_settings)
        self.record_figures('upgrade', measured)
