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
"""A load figure: real-time and ordinary servers created and deleted back
to back by several tenants at once, within a time bound. Every cycle must
end ACTIVE and then gone (0 errors); the log gives the time to ACTIVE of
each kind (p50, p95) and the leak count after (0).

Each compute's dedicated CPUs bound the real-time workers: one per free
dedicated CPU, so that no create is refused for want of a core (the race
test is about that). A real-time worker waits, after its delete, until
the host's NUMA usage as Nova records it counts no CPU that no domain
holds: the scheduler sees a freed CPU once the compute's resource tracker
has counted it.
"""

from concurrent import futures
import threading
import time

from nova_rt_tempest_plugin.tests import base as rt_base
from nova_rt_tempest_plugin.tests.faults import base
from oslo_log import log as logging
from tempest.lib import decorators

CONF = base.CONF
LOG = logging.getLogger(__name__)


def percentile(values, p):
    """The smallest value with at least p % of ``values`` at or below it."""
    ordered = sorted(values)
    if not ordered:
        return float('nan')
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


class LoadTest(base.FaultsTest):

    def cycle(self, kind, flavor, client):
        """One create, ACTIVE, delete, gone: (seconds to ACTIVE, error or
        None, server id, instance name, host).
        """
        started = time.monotonic()
        server_id = name = host = None
        try:
            server_id = self.create(flavor, client)['id']
            state = self.wait_final(server_id)
            to_active = time.monotonic() - started
            name = state['OS-EXT-SRV-ATTR:instance_name']
            host = state['OS-EXT-SRV-ATTR:host']
            if state['status'] != 'ACTIVE':
                return None, '%s %s: %s' % (kind, server_id, (
                    state.get('fault') or {}).get('message')), \
                    server_id, name, host
            self.delete_as_admin(server_id)
            return to_active, None, server_id, name, host
        except Exception as e:  # counted, never hidden
            return None, '%s %s: %s: %s' % (kind, server_id,
                                            type(e).__name__, e), \
                server_id, name, host

    @decorators.idempotent_id('7c1d3e5f-0a2b-4c4d-8e6f-1a2b3c4d5e51')
    def test_create_delete_cycles(self):
        cycles = CONF.nova_rt.load_cycles
        bound = CONF.nova_rt.load_timeout
        realtime_workers = self.free_pcpus()
        self.assertGreater(realtime_workers, 0, 'no free dedicated CPU')
        flavors = {'realtime': self.realtime_flavor(),
                   'ordinary': self.flavor(1, rt_base.UNPINNED)}
        # Half and half; the ordinary servers as many at once as the
        # real-time ones.
        todo = {'realtime': cycles // 2, 'ordinary': cycles - cycles // 2}
        lock = threading.Lock()
        times = {'realtime': [], 'ordinary': []}
        errors = []
        servers = {}
        deadline = time.monotonic() + bound

        def worker(n, kind):
            client = self.tenants[n % len(self.tenants)]
            while time.monotonic() < deadline:
                with lock:
                    if not todo[kind]:
                        return
                    todo[kind] -= 1
                took, error, server_id, name, host = self.cycle(
                    kind, flavors[kind], client)
                with lock:
                    if server_id:
                        servers[server_id] = name
                    if error:
                        errors.append(error)
                    else:
                        times[kind].append(took)
                if kind == 'realtime' and host and not error:
                    self.wait_usage_settled([host], exact=False)

        started = time.monotonic()
        kinds = ['realtime'] * realtime_workers + \
            ['ordinary'] * realtime_workers
        with futures.ThreadPoolExecutor(len(kinds)) as pool:
            list(pool.map(worker, range(len(kinds)), kinds))
        elapsed = time.monotonic() - started
        done = sum(len(t) for t in times.values()) + len(errors)
        for kind in sorted(times):
            LOG.info('load: %s: %d cycles, to ACTIVE p50 %.1f s, p95 '
                     '%.1f s', kind, len(times[kind]),
                     percentile(times[kind], 50),
                     percentile(times[kind], 95))
        found = self.leftovers(
            {sid: name for sid, name in servers.items() if name})
        LOG.info('load: %d of %d cycles in %.0f s (bound %d s, %d '
                 'workers): %d error(s), %d leftover(s)', done, cycles,
                 elapsed, bound, len(kinds), len(errors), len(found))
        self.assertEqual([], errors)
        self.assertEqual(cycles, done,
                         'cycles not done within %d s' % bound)
        self.assertLessEqual(elapsed, bound, 'the last cycles ran past the '
                             'bound')
        self.assertEqual([], found)
        self.assertEqual({}, {h: n for h, n in self.pcpus_used().items()
                              if n})
        measured = {'load.cycles': cycles, 'load.workers': len(kinds),
                    'load.seconds': round(elapsed), 'load.errors': len(errors),
                    'load.leftovers': len(found)}
        for kind in sorted(times):
            measured['load.%s_p50_s' % kind] = round(
                percentile(times[kind], 50), 1)
            measured['load.%s_p95_s' % kind] = round(
                percentile(times[kind], 95), 1)
        self.record_figures('load', measured)
