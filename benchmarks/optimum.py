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


def _columns(cells, shapes):
    """Every way to place one flavor of each shape: (shape, ((cell index,
    CPUs), ...)); a two-node shape on each ordered pair of one host's
    cells.
    """
    by_host = collections.defaultdict(list)
    for index, (host, _, _) in enumerate(cells):
        by_host[host].append(index)
    columns = []
    for s, split in enumerate(shapes):
        if len(split) == 1:
            columns.extend((s, ((i, split[0]),)) for i in range(len(cells)))
            continue
        for members in by_host.values():
            for pair in itertools.permutations(members, len(split)):
                columns.append((s, tuple(zip(pair, split))))
    return columns


class _Rows:
    """A sparse constraint matrix built row by row."""

    def __init__(self):
        self.rows, self.cols, self.vals = [], [], []
        self.lower, self.upper = [], []

    def add(self, entries, lower, upper):
        row = len(self.lower)
        for col, val in entries:
            self.rows.append(row)
            self.cols.append(col)
            self.vals.append(val)
        self.lower.append(lower)
        self.upper.append(upper)

    def constraint(self, n_vars):
        # 32-bit indices: the HiGHS wrapper of older SciPy (1.12, 2024.1's
        # constraints) takes no others.
        index = np.intc
        matrix = sparse.csr_array(
            (np.asarray(self.vals, float),
             (np.asarray(self.rows, index), np.asarray(self.cols, index))),
            shape=(len(self.lower), n_vars))
        matrix.indices = matrix.indices.astype(index)
        matrix.indptr = matrix.indptr.astype(index)
        return optimize.LinearConstraint(matrix, self.lower, self.upper)


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
    splits = [_split(v, n, e) for v, e, n in items]
    shapes = sorted(set(splits))
    columns = _columns(cells, shapes)
    n_items = len(items)
    n_vars = n_items + len(columns)
    rows = _Rows()
    # Variables: x (item i placed), then the count of each column.
    by_cell = collections.defaultdict(list)
    for j, (_, parts) in enumerate(columns):
        for cell, cpus in parts:
            by_cell[cell].append((n_items + j, cpus))
    for index, (_, _, cap) in enumerate(cells):
        rows.add(by_cell[index], -np.inf, cap)
    # Placements of a shape = placed items of that shape.
    for s, split in enumerate(shapes):
        rows.add([(i, 1.0) for i in range(n_items) if splits[i] == split] +
                 [(n_items + j, -1.0) for j, (shape, _) in enumerate(columns)
                  if shape == s], 0.0, 0.0)
    # A prefix: x_i >= x_(i+1).
    for i in range(n_items - 1):
        rows.add([(i, 1.0), (i + 1, -1.0)], 0.0, np.inf)
    size = np.array([sum(split) for split in splits], float)
    result = optimize.milp(
        np.concatenate([-size, np.zeros(len(columns))]),
        integrality=np.ones(n_vars),
        bounds=optimize.Bounds(np.zeros(n_vars), np.concatenate(
            [np.ones(n_items), np.full(len(columns), np.inf)])),
        constraints=rows.constraint(n_vars),
        # No presolve: the HiGHS of SciPy 1.14 and 1.15 (2024.2's and
        # 2026.1's constraints) crashes the process in it on some of these
        # models (SciPy fixed it in 1.17, gh-24141); the optimum is the same.
        options={'time_limit': time_limit, 'disp': False, 'presolve': False})
    if result.x is None:
        raise RuntimeError('HiGHS found no packing: %s' % result.message)
    bound = getattr(result, 'mip_dual_bound', None)
    cpus = int(round(-result.fun))
    return {'placed': int(round(sum(result.x[:n_items]))),
            'cpus': cpus,
            'bound_cpus': (int(np.floor(-bound + 1e-6)) if bound is not None
                           else cpus),
            'optimal': result.status == 0,
            'capacity': capacity}
