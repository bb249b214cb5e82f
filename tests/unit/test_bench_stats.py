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
"""The benchmarks' pure parts: statistics, the table, the packing
optimum. Untimed: no test here measures anything.
"""

import json
import math

from nova_rt_tempest_plugin import figures as run_figures
import testtools

from benchmarks import optimum
from benchmarks import stats
from benchmarks import table


class MedianIntervalTest(testtools.TestCase):

    def test_ranks_of_the_binomial_interval(self):
        # n = 30: the 10th and 21st values (coverage 95.7 %); n = 6: the
        # extremes (96.9 %); n = 11: the 2nd and 10th (98.8 %, the 3rd
        # and 9th cover only 93.5 %).
        self.assertEqual((9, 20), stats.median_interval(range(30)))
        self.assertEqual((0, 5), stats.median_interval(range(6)))
        self.assertEqual((1, 9), stats.median_interval(range(11)))

    def test_coverage_is_at_least_the_confidence(self):
        for n in range(6, 80):
            low, high = stats.median_interval(range(n))
            k = low + 1
            coverage = 1 - 2 * sum(math.comb(n, i)
                                   for i in range(k)) / 2 ** n
            self.assertGreaterEqual(coverage, 0.95, n)
            self.assertEqual(n - k, high, n)
            # One rank further in would cover less.
            tighter = 1 - 2 * sum(math.comb(n, i)
                                  for i in range(k + 1)) / 2 ** n
            self.assertLess(tighter, 0.95, n)

    def test_unordered_input(self):
        self.assertEqual((1, 6), stats.median_interval([6, 1, 4, 3, 2, 5]))

    def test_too_few_values(self):
        self.assertRaises(ValueError, stats.median_interval, range(5))


class CompareTest(testtools.TestCase):

    def test_paired_ratios_cancel_a_common_slowdown(self):
        # The machine slows down through the run: each round's ratio is
        # still 1.02, the medians of each side alone differ far more.
        base = [1.0 + i for i in range(12)]
        other = [b * 1.02 for b in base]
        s = stats.compare(base, other)
        self.assertAlmostEqual(1.02, s['ratio'])
        self.assertAlmostEqual(1.02, s['low'])
        self.assertAlmostEqual(1.02, s['high'])
        self.assertEqual(12, s['n'])

    def test_unpaired_samples_refused(self):
        self.assertRaises(ValueError, stats.compare, [1.0] * 6, [1.0] * 7)
        self.assertRaises(ValueError, stats.compare, [], [])

    def test_verdicts(self):
        self.assertEqual(stats.PASS, stats.verdict_at_most(0.9, 1.0, 1.0))
        self.assertEqual(stats.FAIL, stats.verdict_at_most(1.01, 1.2, 1.0))
        self.assertEqual(stats.UNSURE, stats.verdict_at_most(0.9, 1.1, 1.0))
        self.assertEqual(stats.PASS, stats.verdict_at_least(0.99, 0.99))
        self.assertEqual(stats.FAIL, stats.verdict_at_least(0.98, 0.99))

    def test_rotation_puts_each_first_in_turn(self):
        items = ('a', 'b', 'c')
        self.assertEqual([('a', 'b', 'c'), ('b', 'c', 'a'), ('c', 'a', 'b'),
                          ('a', 'b', 'c')],
                         [stats.rotated(items, r) for r in range(4)])


class TableTest(testtools.TestCase):

    def rows(self):
        return [table.Row('a figure', '<= 1.0', '5 vs 6 ms', stats.PASS,
                          ratio=0.833, low=0.8, high=0.9, note='why'),
                table.Row('another', '-', '3 s', stats.INFO)]

    def test_render_one_line_per_figure_and_the_notes(self):
        text = table.render(self.rows())
        lines = text.splitlines()
        self.assertIn('a figure', lines[3])
        self.assertIn('0.833 [0.800, 0.900]', lines[3])
        self.assertTrue(lines[3].endswith('PASS'))
        self.assertIn('another', lines[4])
        self.assertIn('(1) a figure: why', text)

    def test_json_round_trip(self):
        rows = self.rows()
        self.assertEqual(rows, table.from_json(json.loads(json.dumps(
            table.to_json(rows)))))

    def test_figures_for_the_docs(self):
        rows = self.rows()
        measured = table.figures(rows)
        self.assertEqual(table.render(rows).rstrip('\n'),
                         measured['bench.table'])
        self.assertEqual(0.833, measured['bench.a_figure.ratio'])
        self.assertEqual(0.9, measured['bench.a_figure.high'])
        self.assertEqual('PASS', measured['bench.a_figure.verdict'])
        self.assertEqual('3 s', measured['bench.another.measured'])
        self.assertNotIn('bench.another.ratio', measured)
        # A block renders the table as a literal block, indented.
        doc = run_figures.document('bench-x', 'abc', '2 CPUs', measured)
        text = run_figures.render('Table::\n\n    {bench.table}\n', doc)
        body = text.split('\n')[2:-1]
        self.assertEqual(len(table.render(rows).splitlines()), len(body))
        self.assertTrue(all(line.startswith('    ') for line in body))

    def test_exit_status(self):
        rows = self.rows()
        self.assertEqual(0, table.worst(rows))
        rows.append(table.Row('x', '-', '-', stats.UNSURE))
        self.assertEqual(0, table.worst(rows))
        rows.append(table.error_row('y', '-', 'Traceback...\nBoom: no'))
        self.assertEqual(1, table.worst(rows))
        self.assertEqual('Boom: no', rows[-1].note)


class OptimumTest(testtools.TestCase):

    def test_longest_prefix_not_the_most_items(self):
        # Two cells of 4: 3, 3, 2, 2 -> the prefix 3, 3 fits; 3, 3, 2
        # does not (the 2 has no room), though 2, 2 and one 3 would fit
        # more of the later items.
        found = optimum.solve([[4, 4]], [(3, False, 1), (3, False, 1),
                                         (2, False, 1), (2, False, 1)])
        self.assertEqual(2, found['placed'])
        self.assertEqual(6, found['cpus'])
        self.assertTrue(found['optimal'])
        self.assertEqual(8, found['capacity'])

    def test_two_node_flavors_split_over_two_cells_of_one_host(self):
        # 6 vCPUs on two nodes: 3 + 3, the emulator's CPU on the first
        # cell. Two hosts of one 4-CPU cell each cannot take it; one host
        # of two 4-CPU cells can.
        item = [(6, True, 2)]
        self.assertEqual(0, optimum.solve([[4], [4]], item)['placed'])
        found = optimum.solve([[4, 4]], item)
        self.assertEqual(1, found['placed'])
        self.assertEqual(7, found['cpus'])

    def test_items_beyond_the_capacity_are_never_considered(self):
        found = optimum.solve([[4]], [(4, False, 1)] + [(12, False, 1)] * 50)
        self.assertEqual(1, found['placed'])
