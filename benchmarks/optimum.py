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
"""The offline optimum of the packing benchmark, by an integer program.

The scheduler places a sequence of real-time flavors one at a time, never
moving one, until the first NoValidHost. The offline optimum knows the
whole sequence in advance: the longest prefix of the same sequence that
fits the same empty fleet at once. Its share of isolated CPUs in use is
what no online scheduler can beat on that sequence.

The integer program (solved by HiGHS through ``scipy.optimize.milp``):
binary ``x_i`` "item i placed", with ``x_i >= x_(i+1)`` (a prefix);
flavors of the same shape are interchangeable, so integer counts per
shape and host NUMA cell (one-node flavors) or per shape, host and
ordered pair of its cells (two-node flavors: Nova splits the vCPUs evenly,
the larger half and an isolated emulator's CPU on the first cell) must
add up to the placed items of that shape, within every cell's isolated
CPUs. Maximise the CPUs placed. A time limit keeps it bounded: the result
then carries the solver's proven upper bound too.
"""

import collections
import itertools

import numpy as np
from scipy import optimize
from scipy import sparse


def _split(vcpus, nodes, emulator):
    """Host CPUs per guest cell, Nova's even split (the emulator's on 0)."""
    base, extra = divmod(vcpus, nodes)
    halves = [base + (1 if i < extra else 0) for i in range(nodes)]
    halves[0] += 1 if emulator else 0
    return tuple(halves)


def _capacity_prefix(items, capacity):
    """Items beyond the total capacity can never be placed."""
    total = 0
    for i, (vcpus, emulator, _) in enumerate(items):
        total += vcpus + (1 if emulator else 0)
        if total > capacity:
            return i
    return len(items)


def solve(hosts, items, time_limit=60.0):
    """The longest prefix of ``items`` that fits ``hosts`` at once.

    :param hosts: [[isolated CPUs of each NUMA cell], ...], all free
    :param items: [(vcpus, emulator_isolated, numa_nodes), ...] in order
    :returns: {'placed': items in the best prefix found, 'cpus': its host
        CPUs, 'bound_cpus': the solver's proven upper bound on them,
        'optimal': bool, 'capacity': the fleet's isolated CPUs}
    """
    cells = [(h, c, cap) for h, caps in enumerate(hosts)
             for c, cap in enumerate(caps)]
    capacity = sum(cap for _, _, cap in cells)
    items = list(items[:_capacity_prefix(items, capacity)])
    shapes = sorted({_split(v, n, e) for v, e, n in items})
    of_shape = [shapes.index(_split(v, n, e)) for v, e, n in items]
    columns = []          # (shape, ((cell index, cpus), ...))
    by_host = collections.defaultdict(list)
    for index, (h, _, _) in enumerate(cells):
        by_host[h].append(index)
    for s, split in enumerate(shapes):
        if len(split) == 1:
            columns.extend((s, ((i, split[0]),)) for i in range(len(cells)))
            continue
        for members in by_host.values():
            for pair in itertools.permutations(members, len(split)):
                columns.append((s, tuple(zip(pair, split))))
    n_items, n_cols = len(items), len(columns)
    size = np.array([sum(_split(v, n, e)) for v, e, n in items], float)
    # Variables: x (items) then the counts of each column.
    c = np.concatenate([-size, np.zeros(n_cols)])
    integrality = np.ones(n_items + n_cols)
    upper = np.concatenate([np.ones(n_items), np.full(n_cols, np.inf)])
    rows, cols, vals, lower_b, upper_b = [], [], [], [], []
    row = 0
    # Cell capacities.
    for j, (_, parts) in enumerate(columns):
        for cell, cpus in parts:
            rows.append(cell)
            cols.append(n_items + j)
            vals.append(cpus)
    lower_b += [-np.inf] * len(cells)
    upper_b += [cap for _, _, cap in cells]
    row = len(cells)
    # Counts of each shape placed = items of that shape placed.
    for s in range(len(shapes)):
        for i in range(n_items):
            if of_shape[i] == s:
                rows.append(row)
                cols.append(i)
                vals.append(1.0)
        for j, (shape, _) in enumerate(columns):
            if shape == s:
                rows.append(row)
                cols.append(n_items + j)
                vals.append(-1.0)
        lower_b.append(0.0)
        upper_b.append(0.0)
        row += 1
    # A prefix: x_i >= x_(i+1).
    for i in range(n_items - 1):
        rows += [row, row]
        cols += [i, i + 1]
        vals += [1.0, -1.0]
        lower_b.append(0.0)
        upper_b.append(np.inf)
        row += 1
    matrix = sparse.csr_array((vals, (rows, cols)),
                              shape=(row, n_items + n_cols))
    result = optimize.milp(
        c, integrality=integrality,
        bounds=optimize.Bounds(np.zeros(n_items + n_cols), upper),
        constraints=optimize.LinearConstraint(matrix, lower_b, upper_b),
        options={'time_limit': time_limit, 'disp': False})
    if result.x is None:
        raise RuntimeError('HiGHS found no packing: %s' % result.message)
    placed = int(round(sum(result.x[:n_items])))
    bound = getattr(result, 'mip_dual_bound', None)
    return {'placed': placed,
            'cpus': int(round(-result.fun)),
            'bound_cpus': (int(np.floor(-bound + 1e-6)) if bound is not None
                           else int(round(-result.fun))),
            'optimal': result.status == 0,
            'capacity': capacity}
