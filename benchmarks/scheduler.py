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
"""Scheduler benchmarks: cost of RealtimeFilter, packing of RealtimeWeigher.

Run from the repository root::

    python benchmarks/scheduler.py [--quick]

1. cost: RealtimeFilter vs NUMATopologyFilter, timed side by side over the
   same 1,000 and 10,000 synthetic hosts (2-8 NUMA cells, mixed occupancy)
   and the same real-time request. Target: RealtimeFilter costs at most a
   tenth of NUMATopologyFilter.
2. packing: a seeded random mix of real-time flavors is placed into a
   200-host fleet of real shapes (real HostState objects, consumed with
   Nova's own NUMA fitting) until the first NoValidHost, once with Nova's
   default weighers and once with RealtimeWeigher added; the share of
   isolated CPUs in use is printed. Target: at least 90 %, and at least 10
   points above the default weighers.

Exit status 0 when every target is met, 1 otherwise.
"""

import argparse
import random
import sys
import time

if __name__ == '__main__' and __package__ in (None, ''):
    import os
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

import tests  # noqa: F401  (nova's monkey patching first)

from nova import objects  # noqa: E402,I100
from nova.scheduler.filters import numa_topology_filter  # noqa: E402
from nova.scheduler import weights as nova_weights  # noqa: E402

from benchmarks import stats  # noqa: E402
from nova_rt import conf as nova_rt_conf  # noqa: E402
from nova_rt.host import facts as host_facts  # noqa: E402
from nova_rt import scheduler  # noqa: E402
from nova_rt.scheduler import filters as rt_filters  # noqa: E402
from nova_rt.scheduler import weights as rt_weights  # noqa: E402
from tests import scheduler_fakes  # noqa: E402

cost_fleet = scheduler_fakes.cost_fleet
FLEET_MIX = scheduler_fakes.FLEET_MIX
flavor_spec = scheduler_fakes.flavor_spec
fresh_candidates = scheduler_fakes.fresh_candidates
host_state = scheduler_fakes.host_state
SHAPES = scheduler_fakes.SHAPES

CONF = nova_rt_conf.nova_conf()
objects.register_all()

COST_TARGET = 0.10
SHARE_TARGET = 0.90
GAIN_TARGET = 0.10
# RealtimeWeigher's multiplier in the packing run: the option's default,
# above the sum of Nova's default spreading multipliers.
PACKING_MULTIPLIER = {opt.name: opt.default for opt in nova_rt_conf.OPTS}[
    'realtime_weight_multiplier']


# --- 1. cost ----------------------------------------------------------------


def _timed(func, before=None):
    """Seconds ``func()`` takes; ``before()`` runs first, untimed."""
    if before is not None:
        before()
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def cost(count, seed=1, rounds=3):
    """-> {'cold': [s], 'warm': [s], 'numa': [s], 'passed_rt',
    'passed_numa'}: one sample of each a round, interleaved in rotating
    order, so a noisy machine slows all three alike.

    Cold: the caches forgotten before the run (untimed), so every host's
    facts and capacity are parsed; warm: the scheduler's steady state.
    """
    fleet = cost_fleet(count, seed)
    spec = flavor_spec(4, emulator_isolate=True)
    rt_filter = rt_filters.RealtimeFilter()
    numa_filter = numa_topology_filter.NUMATopologyFilter()

    def run_rt():
        return list(rt_filter.filter_all(fleet, spec))

    def run_numa():
        return list(numa_filter.filter_all(fleet, spec))

    scheduler.clear_caches()
    passed_rt = run_rt()
    fresh_candidates(fleet)
    passed_numa = run_numa()
    assert set(passed_numa) <= set(passed_rt), 'RealtimeFilter rejected a fit'
    runs = {'cold': (run_rt, scheduler.clear_caches), 'warm': (run_rt, None),
            'numa': (run_numa, lambda: fresh_candidates(fleet))}
    samples = {kind: [] for kind in runs}
    for r in range(rounds):
        for kind in stats.rotated(('cold', 'numa', 'warm'), r):
            func, before = runs[kind]
            if kind == 'warm':
                run_rt()   # warm means warm, whatever ran before
            samples[kind].append(_timed(func, before))
    samples.update(passed_rt=len(passed_rt), passed_numa=len(passed_numa))
    return samples


# --- 2. packing -------------------------------------------------------------

def packing_fleet(count, seed):
    rng = random.Random(seed)
    return [host_state('pack%04d' % i, *SHAPES[rng.choice(FLEET_MIX)])
            for i in range(count)]


def flavor_mix(seed):
    """An endless seeded stream of real-time flavors."""
    rng = random.Random(seed)
    while True:
        if rng.random() < 0.25:
            yield rng.choice((4, 6, 8, 10, 12)), rng.random() < 0.3, 2
        else:
            yield rng.randint(2, 12), rng.random() < 0.3, 1


def isolated_share(fleet):
    used = total = 0
    for state in fleet:
        isolated = host_facts.from_stats(state.stats).isolated_cpus
        for cell in state.numa_topology.cells:
            usable = isolated & cell.pcpuset
            total += len(usable)
            used += len(usable & cell.pinned_cpus)
    return used / total


def pack(fleet, weighers, seed, limit=100000):
    """Place flavors until the first NoValidHost -> (placed, share).

    Filters as deployed, cheapest first: RealtimeFilter on every host, then
    the weighers, then NUMATopologyFilter on the weighed hosts in order
    until one passes: the host Nova's scheduler would select whenever
    RealtimeFilter rejects every host NUMATopologyFilter rejects (which the
    cost benchmark checks), at a fraction of the time.
    """
    rt_filter = rt_filters.RealtimeFilter()
    numa_filter = numa_topology_filter.NUMATopologyFilter()
    handler = nova_weights.HostWeightHandler()
    placed = 0
    for placed, (vcpus, emulator, nodes) in enumerate(flavor_mix(seed)):
        if placed >= limit:
            break
        spec = flavor_spec(vcpus, emulator, nodes)
        hosts = list(rt_filter.filter_all(fleet, spec))
        best = None
        fresh_candidates(hosts)
        for weighed in handler.get_weighed_objects(weighers, hosts, spec):
            if numa_filter.host_passes(weighed.obj, spec):
                best = weighed.obj
                break
        if best is None:
            break
        before = best.numa_topology
        best.consume_from_request(spec)
        if best.numa_topology is before:
            raise RuntimeError('%s did not consume %r' % (best.host, spec))
    return placed, isolated_share(fleet)


def weigher_sets():
    handler = nova_weights.HostWeightHandler()
    default = [cls() for cls in handler.get_matching_classes(
        CONF.filter_scheduler.weight_classes)]
    return default, default + [rt_weights.RealtimeWeigher()]


def packing(hosts=200, seed=7, limit=100000,
            multipliers=(PACKING_MULTIPLIER,)):
    """-> (default weighers' result, [result with RealtimeWeigher at each
    multiplier]); a result is (instances placed, share of isolated CPUs in
    use).
    """
    default, with_rt = weigher_sets()
    base = pack(packing_fleet(hosts, seed), default, seed, limit)
    results = []
    for multiplier in multipliers:
        CONF.set_override('realtime_weight_multiplier', multiplier,
                          group='nova_rt')
        try:
            results.append(pack(packing_fleet(hosts, seed), with_rt, seed,
                                limit))
        finally:
            CONF.clear_override('realtime_weight_multiplier',
                                group='nova_rt')
    return base, results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help='smaller sizes, for a smoke run')
    args = parser.parse_args(argv)
    CONF([], project='nova', default_config_files=[])
    ok = True

    sizes = (1000,) if args.quick else (1000, 10000)
    print('1. cost: RealtimeFilter / NUMATopologyFilter, same hosts, same '
          'request (4 vCPUs, emulator isolated)')
    for count in sizes:
        cold, warm, numa, n_rt, n_numa = cost(count)
        ratio = cold / numa
        verdict = 'PASS' if ratio <= COST_TARGET else 'FAIL'
        ok = ok and ratio <= COST_TARGET
        print('   %6d hosts: RealtimeFilter %7.1f ms cold (%6.1f ms warm), '
              'NUMATopologyFilter %8.1f ms; ratio %.3f cold, %.3f warm '
              '(target <= %.2f) %s; passed %d / %d' % (
                  count, cold * 1e3, warm * 1e3, numa * 1e3, ratio,
                  warm / numa, COST_TARGET, verdict, n_rt, n_numa))

    hosts = 40 if args.quick else 200
    (n_base, base), results = packing(
        hosts, multipliers=(PACKING_MULTIPLIER,))
    (n_rt, share), = results
    gain = share - base
    verdict = ('PASS' if share >= SHARE_TARGET and gain >= GAIN_TARGET
               else 'FAIL')
    ok = ok and verdict == 'PASS'
    print('2. packing: %d hosts, real-time flavors until the first '
          'NoValidHost' % hosts)
    print('   default weighers:               %5.1f %% of isolated CPUs in '
          'use (%d instances)' % (base * 100, n_base))
    print('   default + RealtimeWeigher x%-4g: %5.1f %% of isolated CPUs in '
          'use (%d instances)' % (PACKING_MULTIPLIER, share * 100, n_rt))
    print('   share %.1f %% (target >= %d %%), gain %+.1f points (target >= '
          '%+d) %s' % (share * 100, SHARE_TARGET * 100, gain * 100,
                       GAIN_TARGET * 100, verdict))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
