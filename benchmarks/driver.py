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

    python benchmarks/driver.py [--rounds N]

Boots one real-time instance in Nova's in-process cloud (fake libvirt, the
functional test framework), then times, interleaved on the same instance,
Nova's own ``LibvirtDriver._get_guest_config`` and nova-rt's override (the
same call plus the request model and the designer). Prints the median of
each and the added cost as a ratio. Target: at most 5 % added.

Exit status 0 when the target is met, 1 otherwise.
"""

import importlib
import os
import statistics
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

from tests.functional import realtime_base as rb  # noqa: E402

TARGET = 0.05
RESULT = {}


class GuestConfigBenchmark(rb.RealtimeDriverTestBase):

    ROUNDS = 300

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
        for _ in range(20):
            nova_own(driver, *args)
            driver._get_guest_config(*args)
        base, added = [], []
        for _ in range(self.ROUNDS):
            t0 = time.perf_counter()
            nova_own(driver, *args)
            t1 = time.perf_counter()
            driver._get_guest_config(*args)
            t2 = time.perf_counter()
            base.append(t1 - t0)
            added.append(t2 - t1)
        RESULT['base'] = statistics.median(base)
        RESULT['realtime'] = statistics.median(added)


def main(argv):
    if '--rounds' in argv:
        GuestConfigBenchmark.ROUNDS = int(argv[argv.index('--rounds') + 1])
    suite = unittest.TestSuite([GuestConfigBenchmark(
        'test_guest_config_cost')])
    result = unittest.TestResult()
    suite.run(result)
    if not result.wasSuccessful():
        for _, trace in result.errors + result.failures:
            sys.stderr.write(trace + '\n')
        return 2
    base, rt = RESULT['base'], RESULT['realtime']
    ratio = rt / base - 1.0
    print('guest config, median of %d interleaved rounds:'
          % GuestConfigBenchmark.ROUNDS)
    print('  Nova LibvirtDriver._get_guest_config   %8.3f ms' % (base * 1e3))
    print('  nova-rt RealtimeLibvirtDriver          %8.3f ms' % (rt * 1e3))
    print('  added by nova-rt: %+.1f %% (target <= %.0f %%): %s'
          % (ratio * 100, TARGET * 100,
             'PASS' if ratio <= TARGET else 'FAIL'))
    return 0 if ratio <= TARGET else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
