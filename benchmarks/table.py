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
"""The benchmarks' one output: rows of (figure, goal, measured, ratio,
verdict), printed as a table and written as JSON. No Nova imports.

Each benchmark module has ``figures(quick) -> [Row]`` and a ``main`` that
prints its own rows; ``benchmarks/run.py`` runs them all and prints one
table.
"""

import argparse
import dataclasses
import json
import sys
import typing as ty

from nova_rt_tempest_plugin import figures as run_figures

from benchmarks import stats


@dataclasses.dataclass
class Row:
    """One figure: ``measured`` is the text a reader sees; ``ratio`` and
    its interval are the numbers the verdict came from (None when the
    figure is not a ratio).
    """

    figure: str
    goal: str
    measured: str
    verdict: str
    ratio: ty.Optional[float] = None
    low: ty.Optional[float] = None
    high: ty.Optional[float] = None
    note: str = ''

    def ratio_text(self):
        if self.ratio is None:
            return '-'
        if self.low is None:
            return '%.3f' % self.ratio
        return '%.3f [%.3f, %.3f]' % (self.ratio, self.low, self.high)


HEADERS = ('figure', 'goal', 'measured', 'ratio [95% interval]', 'verdict')


def render(rows):
    """The rows as one text table (notes below it)."""
    cells = [HEADERS] + [(r.figure, r.goal, r.measured, r.ratio_text(),
                          r.verdict) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADERS))]
    rule = '  '.join('-' * w for w in widths)
    lines = [rule, '  '.join(h.ljust(w) for h, w in zip(HEADERS, widths)),
             rule]
    lines += ['  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
              for row in cells[1:]]
    lines.append(rule)
    notes = [(i, r.note) for i, r in enumerate(rows, 1) if r.note]
    for i, note in notes:
        lines.append('(%d) %s: %s' % (i, rows[i - 1].figure, note))
    return '\n'.join(lines) + '\n'


def figures(rows):
    """The rows as the docs' figures (nova_rt_tempest_plugin.figures):
    bench.table, the whole table, and bench.FIGURE.measured, .verdict,
    .ratio, .low and .high of each row (FIGURE its name as a key word).
    """
    measured = {'bench.table': render(rows).rstrip('\n')}
    for row in rows:
        key = 'bench.' + run_figures.slug(row.figure)
        measured[key + '.measured'] = row.measured
        measured[key + '.verdict'] = row.verdict
        for name in ('ratio', 'low', 'high'):
            value = getattr(row, name)
            if value is not None:
                measured['%s.%s' % (key, name)] = value
    return measured


def to_json(rows):
    return [dataclasses.asdict(r) for r in rows]


def from_json(items):
    return [Row(**item) for item in items]


def worst(rows):
    """The run's exit status: 1 when any figure FAILs, else 0."""
    return 1 if any(r.verdict == stats.FAIL for r in rows) else 0


def error_row(figure, goal, reason):
    """A figure that could not be measured: a failure, with the reason."""
    return Row(figure, goal, 'not measured', stats.FAIL,
               note=reason.strip().splitlines()[-1] if reason.strip()
               else 'no reason given')


def module_main(figures, description, argv=None):
    """The ``main`` of a benchmark module: ``--quick`` for a smoke run,
    ``--json FILE`` to write its rows for the runner.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--quick', action='store_true',
                        help='smaller sizes and fewer rounds (a smoke run)')
    parser.add_argument('--json', metavar='FILE',
                        help='also write the rows to FILE')
    args = parser.parse_args(argv)
    rows = figures(args.quick)
    sys.stdout.write(render(rows))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(to_json(rows), f, indent=2)
    return worst(rows)
