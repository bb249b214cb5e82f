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
"""What a live migration costs a real-time guest, seen from inside it.

The latency image's guest runs ``nova-rt-guest latency run`` at boot
(cyclictest on the real-time vCPU its OEM strings name, one slice a
second) and prints the result on its console. The server is live-migrated
while the run goes on; the result comes back on the destination's
console. Every slice must be there (the guest measured through the move);
the figures (the worst latency of the slices during the migration beside
the others) are reported, not judged: the test cloud's guests run under
TCG on a nested machine, where latencies are milliseconds.
"""

import json
import os
import shlex
import statistics
import time

from nova_rt_tempest_plugin import hostside
from nova_rt_tempest_plugin.tests import test_moves
from oslo_log import log as logging
from tempest.common import waiters
from tempest import config
from tempest.lib import decorators

from nova_rt.latency import result as result_mod

CONF = config.CONF
LOG = logging.getLogger(__name__)

# Seconds after BEGIN the migration starts: the guest's Python starts
# cyclictest 9.5-11 s after BEGIN under TCG on the test cloud (measured
# 2026-12-07), later on a busier machine; the run lasts 90 s.
LEAD_S = 40
# The guest's boot under TCG: the kernel unpacks an initramfs that
# carries Python, nova_rt and cyclictest.
BOOT_S = 240
# How often the console is read while its lines are timed.
POLL_S = 0.5


class LiveMigrationLatencyTest(test_moves.MovesTest):

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.nova_rt.latency_image_ref:
            raise cls.skipException('no latency guest image ([nova_rt] '
                                    'latency_image_ref)')

    def latency_lines(self, server_id):
        """The guest's NRT-LATENCY lines, from its console log on the host
        it runs on: Nova's console API returns the last 100 KiB only, and
        the result's JSON alone can be longer (its RC line was cut off).
        """
        host, _ = self.where(server_id)
        path = os.path.join(CONF.nova_rt.instances_path, server_id,
                            'console.log')
        return hostside.latency_console(self.host_access.run(
            host, 'cat %s\n' % shlex.quote(path)))

    def wait_tag(self, server_id, tag, timeout):
        """The guest's latency lines once ``tag`` shows, and the time
        (this machine's clock) it was first seen: polled every POLL_S.
        """
        deadline = time.monotonic() + timeout
        while True:
            lines = self.latency_lines(server_id)
            if lines.get(tag):
                return lines, time.time()
            self.assertLess(time.monotonic(), deadline,
                            'no NRT-LATENCY-%s line on the console of %s '
                            'within %d s' % (tag, server_id, timeout))
            time.sleep(POLL_S)

    @decorators.idempotent_id('5a2c4e6f-8b1d-4c3e-9f0a-1b2c3d4e5f11')
    def test_guest_latency_across_a_live_migration(self):
        self.require_pcpus(1, 'the real-time vCPU')
        run_s = CONF.nova_rt.latency_run_seconds
        server = self.boot(self.flavor(2, test_moves.MOVER, ram=256),
                           image=CONF.nova_rt.latency_image_ref)
        sid = server['id']
        self.assert_realtime(sid, **test_moves.MOVER_CHECK)
        # One clock, this machine's: BEGIN carries the guest's clock (whole
        # seconds) as the guest printed it; seen here within a poll.
        lines, begun = self.wait_tag(sid, 'BEGIN', BOOT_S)
        try:
            guest_begun = int(lines['BEGIN'][-1])
        except ValueError:
            self.fail('the latency guest printed no clock on BEGIN (%r): '
                      'an image older than this test' % lines['BEGIN'])
        time.sleep(LEAD_S)
        before = self.snapshot(sid)
        moving = time.time()
        self.assertEqual([], self.latency_lines(sid)['RC'],
                         'the run ended before the migration began')
        self.admin_servers_client.live_migrate_server(
            sid, host=None, block_migration='auto')
        waiters.wait_for_server_status(self.servers_client, sid, 'ACTIVE')
        self.wait_migration(sid)
        moved = time.time()
        host = self.assert_moved(sid, before)

        lines, _ = self.wait_tag(sid, 'END', run_s + 120)
        self.assertEqual(['0'], lines['RC'], 'nova-rt-guest latency run '
                         'failed in the guest:\n' + '\n'.join(lines['ERR']))
        result = result_mod.from_dict(json.loads('\n'.join(lines['JSON'])),
                                      'guest result')
        self.assertEqual('guest', result.where)
        self.assertTrue(result.complete)
        self.assertEqual([1], [s.cpu for s in result.cpus])
        # The guest measured through the move: a slice every second, each
        # with samples (a failed slice has no worst latency).
        self.assertGreaterEqual(len(result.slices), run_s - 1)
        worst = [s.max_us.get(1) for s in result.slices]
        self.assertNotIn(None, worst)

        # The guest's clock is this machine's plus an offset between
        # [low, high]: BEGIN was printed at most a poll before it was seen,
        # and within the second its guest time names. A slice counts as
        # during the migration only when it overlaps the migration's window
        # at both ends of that span, and as elsewhere only when at neither.
        low, high = begun - POLL_S - guest_begun - 1, begun - guest_begun
        earliest = result.start.timestamp() + low
        latest = result.start.timestamp() + high

        def overlaps(s, start):
            return (start + s.offset_s - s.duration_s <= moved and
                    start + s.offset_s >= moving)

        during, others = [], []
        for s, w in zip(result.slices, worst):
            if overlaps(s, earliest) and overlaps(s, latest):
                during.append(w)
            elif not overlaps(s, earliest) and not overlaps(s, latest):
                others.append(w)
        self.assertTrue(during, 'no measured slice overlaps the migration '
                        '(%.1f-%.1f s after BEGIN; the run started %.1f-%.1f '
                        's after BEGIN)' % (moving - begun, moved - begun,
                                            earliest - begun,
                                            latest - begun))
        LOG.info('the guest\'s clock runs %.1f to %.1f s behind this '
                 'machine\'s; its run started %.1f-%.1f s after BEGIN was '
                 'seen', low, high, earliest - begun, latest - begun)
        LOG.info(
            'guest latency across a live migration to %s (TCG: reported, '
            'not judged): overall min/avg/max %s/%s/%s us over %d slices; '
            'the migration took %.1f s (%.1f-%.1f s after BEGIN): worst '
            '%s us in its %d slices, %s us elsewhere (median of the other '
            'slices\' worst %s us); per slice: %s',
            host, result.overall.min_us, result.overall.avg_us,
            result.overall.max_us, len(worst), moved - moving,
            moving - begun, moved - begun, max(during, default=None),
            len(during), max(others, default=None),
            statistics.median(others) if others else None,
            ' '.join(str(w) for w in worst))
        measured = {
            'migration_latency.slices': len(worst),
            'migration_latency.migration_s': round(moved - moving, 1),
            'migration_latency.slices_during': len(during),
            'migration_latency.worst_during_ms': round(max(during) / 1000,
                                                      1),
            'migration_latency.run_start_after_begin_s': round(
                latest - begun, 1)}
        if others:
            measured.update({
                'migration_latency.slices_elsewhere': len(others),
                'migration_latency.worst_elsewhere_ms': round(
                    max(others) / 1000, 1),
                'migration_latency.median_elsewhere_ms': round(
                    statistics.median(others) / 1000, 1)})
        self.record_figures('migration-latency', measured)
