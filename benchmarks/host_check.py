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
"""Benchmark: the host audit (read_profile + audit) at 64, 256 and 1,024
CPUs.

The 256-CPU tree is the recorded ``big-256`` host (8 NUMA nodes x 16 cores
x 2 threads, PREEMPT_RT, tuned); 64 and 1,024 CPUs are the same host with
2 and 32 nodes (every CPU list, the boot command line and the per-node
files scaled with it). The sizes are timed in rotating order, round after
round; each figure is the median with its 95 % interval. Time is the
process's CPU time (user + system): the audit never waits, so on a quiet
machine it is the wall time, and on a shared one another process's load
does not count. SMI sampling is excluded (smi_interval=0): its interval is
a sleep. Goal: at most 0.05 s at 256 CPUs.

    python benchmarks/host_check.py [--quick] [--json FILE]

Run it without Nova's eventlet monkey patching (nova 34's default
threading mode, and the ``nova-rt host check`` command):
``benchmarks/run.py`` sets ``OS_NOVA_DISABLE_EVENTLET_PATCHING``.
"""

import copy
import os
import sys
import tempfile
import time

if __name__ == '__main__' and __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from benchmarks import stats  # noqa: E402
from benchmarks import table  # noqa: E402
from nova_rt.core import cpuset  # noqa: E402
from nova_rt.host import checks  # noqa: E402
from nova_rt.host import profile  # noqa: E402
from tests.host_trees import build  # noqa: E402

GOAL_SECONDS = 0.05
GOAL_CPUS = 256
CORES_PER_NODE = 16


def scaled(nodes):
    """The big-256 description with ``nodes`` NUMA nodes (32 CPUs each):
    the first core of each node (both threads) for housekeeping, the rest
    isolated.
    """
    desc = copy.deepcopy(build.load('big-256'))
    old_isolated = desc['isolated']
    old_housekeeping = desc['nova_conf']['cpu_shared_set']
    cores = nodes * CORES_PER_NODE
    housekeeping = set()
    for node in range(nodes):
        first = node * CORES_PER_NODE
        housekeeping |= {first, first + cores}
    isolated = cpuset.format(set(range(2 * cores)) - housekeeping)
    hk = cpuset.format(housekeeping)
    desc['topology']['nodes'] = nodes
    desc['cmdline'] = desc['cmdline'].replace(
        old_isolated, isolated).replace(old_housekeeping, hk).replace(
        'hugepages=64', 'hugepages=%d' % (8 * nodes))
    desc['isolated'] = desc['nohz_full'] = isolated
    desc['irqs']['affinity'] = desc['workqueue'] = hk
    desc['cpuidle']['disabled'] = {isolated: ['C2']}
    desc['hugepages'] = {1048576: [8] * nodes}
    desc['nova_conf'] = {'cpu_dedicated_set': isolated,
                         'cpu_shared_set': hk}
    return desc


def _audit(root, dedicated, shared):
    start = time.process_time()
    report = checks.audit(profile.read_profile(root, smi_interval=0),
                          dedicated, shared)
    return time.process_time() - start, report.ready


def measure(sizes=(64, 256, 1024), rounds=21):
    """-> {cpus: [CPU seconds]}, the sizes interleaved round by round."""
    with tempfile.TemporaryDirectory(prefix='nova-rt-bench-') as top:
        trees = {}
        for cpus in sizes:
            desc = scaled(cpus // (2 * CORES_PER_NODE))
            root = os.path.join(top, str(cpus))
            build.build(desc, root)
            conf = desc['nova_conf']
            trees[cpus] = (root, cpuset.parse(conf['cpu_dedicated_set']),
                           cpuset.parse(conf['cpu_shared_set']))
            _, ready = _audit(*trees[cpus])
            if not ready:
                raise RuntimeError('the %d-CPU tree audits not ready'
                                   % cpus)
        times = {cpus: [] for cpus in sizes}
        for r in range(rounds):
            for cpus in stats.rotated(sizes, r):
                times[cpus].append(_audit(*trees[cpus])[0])
    return times


def figures(quick=False):
    sizes = (64, 256) if quick else (64, 256, 1024)
    times = measure(sizes, rounds=7 if quick else 21)
    rows = []
    base = stats.median(times[GOAL_CPUS])
    for cpus in sizes:
        s = stats.spread(times[cpus])
        measured = '%.3f s [%.3f, %.3f]' % (s['median'], s['low'], s['high'])
        if cpus == GOAL_CPUS:
            rows.append(table.Row(
                'host audit, %d CPUs' % cpus, '<= %.2f s' % GOAL_SECONDS,
                measured, stats.verdict_of(s, GOAL_SECONDS),
                note='CPU time of read_profile + audit, median of %d'
                     % s['n']))
        else:
            rows.append(table.Row(
                'host audit, %d CPUs' % cpus, 'curve', measured,
                stats.INFO, ratio=s['median'] / base,
                note='ratio: to the %d-CPU median' % GOAL_CPUS))
    return rows


def main(argv=None):
    return table.module_main(figures, __doc__.splitlines()[0], argv)


if __name__ == '__main__':
    sys.exit(main())
