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

    python benchmarks/scheduler.py [--quick] [--json FILE]

1. cost: RealtimeFilter, with its caches cold and warm, and
   NUMATopologyFilter over the same 1,000 and 10,000 synthetic hosts (2-8
   NUMA cells, mixed occupancy) and the same real-time request, timed in
   interleaved rounds; each figure is the median of the rounds' ratios.
   Goals at 10,000 hosts: cold at most 0.02, warm at most 0.012.
2. packing: a seeded random mix of real-time flavors is placed into a
   200-host fleet of real shapes (real HostState objects, consumed with
   Nova's own NUMA fitting) until the first NoValidHost, with Nova's
   default weighers and with RealtimeWeigher added; the share of isolated
   CPUs in use is set beside the offline optimum for the same flavor
   sequence, an integer program solved by HiGHS (benchmarks/optimum.py).
   Goal: at least 99 %, or within 1 point of the optimum.
"""

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
from benchmarks import table  # noqa: E402
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


COLD_GOAL = 0.02
WARM_GOAL = 0.012
GOAL_HOSTS = 10000
OPTIMUM_SECONDS = 120.0


def cost_rows(sizes, rounds):
    rows = []
    for count in sizes:
        samples = cost(count, rounds=rounds[count])
        for kind, goal in (('cold', COLD_GOAL), ('warm', WARM_GOAL)):
            s = stats.compare(samples['numa'], samples[kind])
            at_goal = count == GOAL_HOSTS
            rows.append(table.Row(
                'RealtimeFilter %s / NUMATopologyFilter, %d hosts'
                % (kind, count),
                '<= %g' % goal if at_goal else '-',
                '%.1f vs %.0f ms' % (s['other'] * 1e3, s['base'] * 1e3),
                stats.verdict_of(s, goal) if at_goal else stats.INFO,
                ratio=s['ratio'], low=s['low'], high=s['high'],
                note='' if kind == 'warm' else (
                    'median of %d interleaved rounds; %d / %d hosts pass'
                    % (s['n'], samples['passed_rt'],
                       samples['passed_numa']))))
    return rows


def packing_rows(hosts, seed=7, time_limit=OPTIMUM_SECONDS):
    from benchmarks import optimum
    (n_base, base), [(n_rt, share)] = packing(
        hosts, seed=seed, multipliers=(PACKING_MULTIPLIER,))
    fleet = packing_fleet(hosts, seed)
    cells = []
    for state in fleet:
        isolated = host_facts.from_stats(state.stats).isolated_cpus
        cells.append([len(isolated & cell.pcpuset)
                      for cell in state.numa_topology.cells])
    items = []
    for item in flavor_mix(seed):
        items.append(item)
        if sum(v + e for v, e, _ in items) > sum(map(sum, cells)):
            break
    best = optimum.solve(cells, items, time_limit=time_limit)
    opt_share = best['cpus'] / best['capacity']
    bound_share = best['bound_cpus'] / best['capacity']
    gap = bound_share - share
    ok = share >= 0.99 or gap <= 0.01
    return [
        table.Row('packing: default weighers', '-',
                  '%.1f %% (%d instances)' % (base * 100, n_base),
                  stats.INFO),
        table.Row('packing: + RealtimeWeigher x%g' % PACKING_MULTIPLIER,
                  '>= 99 % or <= 1 pt from optimum',
                  '%.1f %% (%d), %.1f pt below' % (
                      share * 100, n_rt, gap * 100),
                  stats.PASS if ok else stats.FAIL,
                  ratio=share / bound_share,
                  note='isolated CPUs in use at the first NoValidHost, '
                       '%d hosts; ratio: to the optimum' % hosts),
        table.Row('packing: offline optimum (HiGHS)', '-',
                  '%.2f %% (%d instances)%s' % (
                      opt_share * 100, best['placed'],
                      '' if best['optimal'] else
                      ', bound %.2f %%' % (bound_share * 100)),
                  stats.INFO,
                  note='the longest prefix of the same flavor sequence '
                       'that fits the empty fleet; %s' % (
                           'proven optimal' if best['optimal'] else
                           'time limit reached, bound shown')),
    ]


def figures(quick=False):
    CONF([], project='nova', default_config_files=[])
    if quick:
        rows = cost_rows((1000,), {1000: 6})
        return rows + packing_rows(40, time_limit=30.0)
    rows = cost_rows((1000, GOAL_HOSTS), {1000: 15, GOAL_HOSTS: 7})
    return rows + packing_rows(200)


def main(argv=None):
    return table.module_main(figures, __doc__.splitlines()[0], argv)


if __name__ == '__main__':
    sys.exit(main())
