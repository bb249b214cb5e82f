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

# Seconds the run goes on on the source before the migration starts.
LEAD_S = 10
# The guest's boot under TCG: the kernel unpacks an initramfs that
# carries Python, nova_rt and cyclictest.
BOOT_S = 240


class LiveMigrationLatencyTest(test_moves.MovesTest):

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.nova_rt.latency_image_ref:
            raise cls.skipException('no latency guest image ([nova_rt] '
                                    'latency_image_ref)')

    def wait_result(self, server_id, timeout):
        deadline = time.monotonic() + timeout
        while True:
            lines = hostside.latency_console(
                self.servers_client.get_console_output(server_id)['output'])
            if 'END' in lines:
                return lines
            self.assertLess(time.monotonic(), deadline,
                            'no latency result on the console of %s '
                            'within %d s' % (server_id, timeout))
            time.sleep(3)

    @decorators.idempotent_id('5a2c4e6f-8b1d-4c3e-9f0a-1b2c3d4e5f11')
    def test_guest_latency_across_a_live_migration(self):
        self.require_pcpus(1, 'the real-time vCPU')
        run_s = CONF.nova_rt.latency_run_seconds
        server = self.boot(self.flavor(2, test_moves.MOVER, ram=256),
                           image=CONF.nova_rt.latency_image_ref)
        sid = server['id']
        self.assert_realtime(sid, **test_moves.MOVER_CHECK)
        self.console_line(sid, 'NRT-LATENCY-BEGIN:', timeout=BOOT_S)
        time.sleep(LEAD_S)
        before = self.snapshot(sid)
        moving = time.time()
        self.admin_servers_client.live_migrate_server(
            sid, host=None, block_migration='auto')
        waiters.wait_for_server_status(self.servers_client, sid, 'ACTIVE')
        self.wait_migration(sid)
        moved = time.time()
        host = self.assert_moved(sid, before)

        lines = self.wait_result(sid, run_s + 120)
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

        # The slices the migration overlapped, by the host's clock and the
        # guest's start time (both UTC; the guest read its clock at boot).
        start = result.start.timestamp()
        during, others = [], []
        for s, w in zip(result.slices, worst):
            overlaps = (s.offset_s >= moving - start and
                        s.offset_s - s.duration_s <= moved - start)
            (during if overlaps else others).append(w)
        LOG.info(
            'guest latency across a live migration to %s (TCG: reported, '
            'not judged): overall min/avg/max %s/%s/%s us over %d slices; '
            'the migration took %.1f s (run offsets %.1f-%.1f s): worst '
            '%s us in its %d slices, %s us elsewhere (median of the other '
            'slices\' worst %s us); per slice: %s',
            host, result.overall.min_us, result.overall.avg_us,
            result.overall.max_us, len(worst), moved - moving,
            moving - start, moved - start, max(during, default=None),
            len(during), max(others, default=None),
            statistics.median(others) if others else None,
            ' '.join(str(w) for w in worst))
