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
"""Driver benchmark: what nova-rt adds to building a guest's config.

Run from the repository root::

    python benchmarks/driver.py [--quick] [--json FILE]

Boots one real-time instance in Nova's in-process cloud (fake libvirt, the
functional test framework), then times, on the same instance, Nova's own
``LibvirtDriver._get_guest_config`` (A) and nova-rt's override (B: the
same call plus the request model and the designer) in interleaved rounds:
each round calls A and B alternately, call by call (B first every other
round), and gives one ratio B/A of their CPU time (another process's load
does not count). The figure is the median of the rounds' ratios with its
95 % interval. Goal: at most 2 % added, the whole interval within it.
"""

import importlib
import os
import sys
import time
import unittest

if __name__ == '__main__' and __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

# The tests package applies Nova's monkey patching, which must come before
# anything imports nova.
importlib.import_module('tests')

from nova import context as nova_context  # noqa: E402
from nova import objects  # noqa: E402
from nova.virt.libvirt import blockinfo  # noqa: E402
from nova.virt.libvirt import driver as libvirt_driver  # noqa: E402

from benchmarks import stats  # noqa: E402
from benchmarks import table  # noqa: E402
from tests.functional import realtime_base as rb  # noqa: E402

GOAL = 0.02
RESULT = {}


class GuestConfigBenchmark(rb.RealtimeDriverTestBase):

    ROUNDS = 150
    BATCH = 6

    def test_guest_config_cost(self):
        self.start_realtime_compute('rt1', nodes=2, cores_per_node=6,
                                    housekeeping={0, 6})
        flavor = self._create_flavor(vcpu=4, memory_mb=1024, extra_spec=dict(
            rb.RT, **{'hw:cpu_realtime_mask': '^0', 'rt:vcpu_priority': '10',
                      'rt:emulator_scheduler': 'fifo',
                      'rt:emulator_priority': '2',
                      'rt:l3_cache_kib': '2560'}))
        server = self._create_server(flavor_id=flavor, networks='none')
        driver = self.computes['rt1'].driver
        ctxt = nova_context.get_admin_context()
        instance = objects.Instance.get_by_uuid(
            ctxt, server['id'], expected_attrs=['numa_topology', 'flavor',
                                                'system_metadata'])
        image_meta = instance.image_meta
        disk_info = blockinfo.get_disk_info('kvm', instance, image_meta)
        args = (instance, [], image_meta, disk_info)
        nova_own = libvirt_driver.LibvirtDriver._get_guest_config
        sides = {'nova': lambda: nova_own(driver, *args),
                 'nova-rt': lambda: driver._get_guest_config(*args)}
        for _ in range(20):
            for call in sides.values():
                call()
        samples = {side: [] for side in sides}
        clock = time.process_time
        for r in range(self.ROUNDS):
            spent = dict.fromkeys(sides, 0.0)
            # Call by call, A B A B ... (B first every other round): the
            # two sides of a round see the same moment of the machine.
            order = stats.rotated(tuple(sides), r)
            for _ in range(self.BATCH):
                for side in order:
                    start = clock()
                    sides[side]()
                    spent[side] += clock() - start
            for side in sides:
                samples[side].append(spent[side] / self.BATCH)
        RESULT.update(samples)


def measure(rounds=GuestConfigBenchmark.ROUNDS):
    """-> {'nova': [s], 'nova-rt': [s]}, one batch mean per round."""
    GuestConfigBenchmark.ROUNDS = rounds
    RESULT.clear()
    result = unittest.TestResult()
    GuestConfigBenchmark('test_guest_config_cost').run(result)
    if not result.wasSuccessful():
        raise RuntimeError(''.join(
            trace for _, trace in result.errors + result.failures))
    return dict(RESULT)


def figures(quick=False):
    samples = measure(rounds=30 if quick else 150)
    s = stats.compare(samples['nova'], samples['nova-rt'])
    return [table.Row(
        'spawn: _get_guest_config added', '<= +%d %%' % (GOAL * 100),
        '%+.2f %% (%.2f vs %.2f ms)' % ((s['ratio'] - 1) * 100,
                                        s['other'] * 1e3, s['base'] * 1e3),
        stats.verdict_of(s, 1 + GOAL), ratio=s['ratio'], low=s['low'],
        high=s['high'],
        note='nova-rt / Nova, median of %d interleaved rounds of %d calls '
             'each, CPU time' % (s['n'], GuestConfigBenchmark.BATCH))]


def main(argv=None):
    return table.module_main(figures, __doc__.splitlines()[0], argv)


if __name__ == '__main__':
    sys.exit(main())
