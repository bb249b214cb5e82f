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
"""cyclictest's JSON, the statistics and the result, on captured runs."""

import datetime
import json
import os
import tempfile

import testtools

from nova_rt.latency import cyclictest
from nova_rt.latency import LatencyError
from nova_rt.latency import result as result_mod
from nova_rt.latency import stats
from tests.unit.latency import captured
from tests.unit.latency import text

NONE = {'50': None, '99': None, '99.9': None, '99.99': None, '99.999': None}


class PercentileTest(testtools.TestCase):
    """The contract's definition, on histograms small enough to count."""

    def test_small_histogram_by_hand(self):
        # 100 samples: 50 at 10 us, 40 at 11, 9 at 12, 1 beyond the limit.
        hist = {10: 50, 11: 40, 12: 9}
        self.assertEqual(10, stats.percentile(hist, 100, '50'))
        # 99 % of 100 = 99 samples: 50 + 40 + 9 reach it at 12.
        self.assertEqual(12, stats.percentile(hist, 100, '99'))
        # 99.9 needs 99.9 samples at or below: only the overflow has it.
        self.assertIsNone(stats.percentile(hist, 100, '99.9'))

    def test_threshold_is_exact(self):
        # 99.99 % of 10000 is exactly 9999: reached at bucket 7, no float
        # rounding pushes it to the next bucket.
        self.assertEqual(7, stats.percentile({5: 9990, 7: 9, 9: 1},
                                             10000, '99.99'))
        self.assertEqual(9, stats.percentile({5: 9990, 7: 9, 9: 1},
                                             10000, '99.999'))

    def test_no_samples(self):
        self.assertIsNone(stats.percentile({}, 0, '50'))

    def test_merge_weights_the_average(self):
        a = stats.Stats(0, 10, 5, 10.0, 20, {10: 10}, 100)
        b = stats.Stats(1, 30, 3, 20.0, 90, {20: 29}, 50)
        m = stats.merge([a, b])
        self.assertEqual((40, 3, 17.5, 90, 1, 50),
                         (m.samples, m.min_us, m.avg_us, m.max_us,
                          m.overflows, m.histogram_limit_us))
        self.assertEqual({10: 10, 20: 29}, m.histogram)


class CyclictestTest(testtools.TestCase):

    def test_one_cpu_with_overflows(self):
        run = cyclictest.read(captured('one-cpu.json'))
        self.assertEqual('2.40', run.version)
        self.assertTrue(run.cmdline.startswith('cyclictest -m -q -p 80'))
        self.assertEqual((1000, 80, 400, 3),
                         (run.interval_us, run.priority,
                          run.histogram_limit_us, run.requested_s))
        self.assertEqual('6.18.44-fc-v595', run.release)
        self.assertIs(False, run.preempt_rt)
        self.assertTrue(run.complete)
        [cpu] = run.cpus
        self.assertEqual((1, 2998, 17, 47.92, 1699), (
            cpu.cpu, cpu.samples, cpu.min_us, cpu.avg_us, cpu.max_us))
        # cycles counts every sample, the histogram only those below 400.
        self.assertEqual(2990, cpu.in_histogram)
        self.assertEqual(8, cpu.overflows)
        # Hand-computed: the k-th smallest sample, k = ceil(p % * 2998).
        self.assertEqual({'50': 43, '99': 224, '99.9': None, '99.99': None,
                          '99.999': None}, cpu.percentiles_us)

    def test_one_cpu_without_overflows(self):
        [cpu] = cyclictest.read(captured('one-cpu-no-overflow.json')).cpus
        self.assertEqual(0, cpu.overflows)
        self.assertEqual({'50': 45, '99': 89, '99.9': 286, '99.99': 3009,
                          '99.999': 3009}, cpu.percentiles_us)
        self.assertEqual(cpu.max_us, max(cpu.histogram))

    def test_two_cpus(self):
        run = cyclictest.read(captured('two-cpus.json'))
        self.assertEqual([0, 1], [s.cpu for s in run.cpus])
        self.assertEqual(500, run.interval_us)
        self.assertEqual({'50': 37, '99': 57, '99.9': 126, '99.99': None,
                          '99.999': None}, run.cpus[0].percentiles_us)
        self.assertEqual({'50': 38, '99': 84, '99.9': 173, '99.99': None,
                          '99.999': None}, run.cpus[1].percentiles_us)
        overall = stats.merge(run.cpus)
        self.assertEqual((19982, 13, 3445, 2), (
            overall.samples, overall.min_us, overall.max_us,
            overall.overflows))
        self.assertEqual({'50': 38, '99': 73, '99.9': 161, '99.99': None,
                          '99.999': None}, overall.percentiles_us)

    def test_mostly_overflows(self):
        run = cyclictest.read(captured('two-cpus-overflow.json'))
        self.assertEqual([2866, 2108], [s.overflows for s in run.cpus])
        for cpu in run.cpus:
            self.assertEqual(NONE, cpu.percentiles_us)

    def test_no_histogram(self):
        run = cyclictest.read(captured('no-histogram.json'))
        self.assertIsNone(run.histogram_limit_us)
        self.assertEqual(NONE, run.cpus[0].percentiles_us)
        self.assertEqual(207, run.cpus[0].max_us)

    def test_cut_short_by_sigint(self):
        # cyclictest writes its file on SIGINT with return_code 0: only
        # the times say it ran 2 s of the 30 asked.
        run = cyclictest.read(captured('sigint.json'))
        self.assertEqual(0, run.return_code)
        self.assertEqual(30, run.requested_s)
        self.assertEqual(2.0, run.elapsed_s)
        self.assertFalse(run.complete)

    def test_keys_with_and_without_the_trailing_colon(self):
        doc = json.loads(text('one-cpu.json'))
        self.assertIn('cmdline:', doc)
        self.assertIn('rt_test_version:', doc)
        plain = dict(doc)
        plain['cmdline'] = plain.pop('cmdline:')
        plain['rt_test_version'] = plain.pop('rt_test_version:')
        a = cyclictest.parse(doc, 'a')
        b = cyclictest.parse(plain, 'b')
        self.assertEqual((a.cmdline, a.version, a.histogram_limit_us),
                         (b.cmdline, b.version, b.histogram_limit_us))

    def test_option_spellings(self):
        for cmdline in ('cyclictest -h 400', 'cyclictest -h400',
                        'cyclictest --histogram=400',
                        'cyclictest --histogram 400', 'cyclictest -H 400'):
            self.assertEqual('400', cyclictest.option(
                cmdline, ('-h', '--histogram', '-H', '--histofall')),
                cmdline)
        self.assertEqual(7200, cyclictest.parse_duration('2h'))
        self.assertEqual(30, cyclictest.parse_duration('30'))
        self.assertRaises(ValueError, cyclictest.parse_duration, '2 weeks')

    def test_bad_files_name_the_fault(self):
        whole = text('two-cpus.json')
        cases = [
            ('', 'empty file'),
            (whole[:len(whole) // 2], 'not valid JSON'),
            ('{"file_version": 1, "thread": {}}', 'holds no measuring'),
            ('[1, 2]', 'neither cyclictest'),
            (whole.replace('"cycles": 9994', '"cycles": 3'),
             'more than its 3 cycles'),
            (whole.replace('"cycles": 9994', '"cycles": "many"'),
             'cycles is'),
            (whole.replace('"start_time": "Sun, 29 Nov 2026 09:13:53 +0000"',
                           '"start_time": "yesterday"'),
             'start_time'),
        ]
        with tempfile.TemporaryDirectory() as tmp:
            for i, (content, message) in enumerate(cases):
                path = os.path.join(tmp, 'case-%d.json' % i)
                with open(path, 'w') as f:
                    f.write(content)
                e = self.assertRaises(LatencyError, result_mod.load, path)
                self.assertIn(message, str(e))
                self.assertIn(path, str(e))
        e = self.assertRaises(LatencyError, result_mod.load,
                              '/nonexistent/x.json')
        self.assertIn('cannot read /nonexistent/x.json', str(e))


class ResultTest(testtools.TestCase):

    def test_contract_shape(self):
        doc = result_mod.load(captured('two-cpus.json')).with_gate(
            200).to_dict(histograms=False)
        self.assertEqual(sorted([
            'where', 'tool', 'kernel', 'start', 'end', 'duration_s',
            'interval_us', 'priority', 'load', 'histogram_limit_us',
            'complete', 'smi_delta', 'cpus', 'overall', 'gate',
            'slices', 'cyclictest_json']), sorted(doc))
        self.assertEqual({'name', 'version', 'cmdline'}, set(doc['tool']))
        self.assertEqual({'release', 'preempt_rt', 'cmdline_sha256'},
                         set(doc['kernel']))
        stats_keys = {'samples', 'min_us', 'avg_us', 'max_us', 'overflows',
                      'percentiles_us'}
        self.assertEqual(stats_keys | {'cpu'}, set(doc['cpus'][0]))
        self.assertEqual(stats_keys, set(doc['overall']))
        self.assertEqual({'max_latency_us': 200, 'passed': False},
                         doc['gate'])
        self.assertEqual('2026-11-29T09:13:53Z', doc['start'])
        self.assertEqual(5.0, doc['duration_s'])

    def test_saved_result_round_trips(self):
        r = result_mod.load(captured('two-cpus.json'))
        doc = json.loads(json.dumps(r.to_dict()))
        self.assertEqual(doc, result_mod.from_dict(doc, 'x').to_dict())

    def test_edited_result_is_refused(self):
        doc = result_mod.load(captured('two-cpus.json')).to_dict()
        doc['cpus'][0]['percentiles_us']['99.9'] = 20
        e = self.assertRaises(LatencyError, result_mod.from_dict, doc, 'x')
        self.assertIn('do not match its histogram', str(e))
        doc = result_mod.load(captured('two-cpus.json')).to_dict()
        doc['cpus'][0]['max_us'] = 100    # below its own histogram
        self.assertRaises(LatencyError, result_mod.from_dict, doc, 'x')

    def test_slices_merge_per_cpu(self):
        runs = [cyclictest.read(captured(n)) for n in
                ('one-cpu.json', 'one-cpu-no-overflow.json')]
        start = datetime.datetime(2026, 11, 29, 9, 13, 30,
                                  tzinfo=datetime.timezone.utc)
        r = result_mod.from_runs(runs, where='host', durations=[3.0, 5.0],
                                 run_start=start)
        [cpu] = r.cpus
        self.assertEqual((7995, 8, 3009), (cpu.samples, cpu.overflows,
                                           cpu.max_us))
        # the smaller limit of the two slices bounds what is known
        self.assertEqual(400, r.histogram_limit_us)
        self.assertEqual([(3.0, {1: 1699}), (8.0, {1: 3009})],
                         [(s.offset_s, dict(s.max_us)) for s in r.slices])
        self.assertEqual(8.0, r.duration_s)

    def test_text_says_unknown_beyond_the_limit(self):
        out = result_mod.render_text(
            result_mod.load(captured('two-cpus-overflow.json')))
        self.assertIn('unknown beyond 30 us', out)
        self.assertIn('4974 of 5995 samples', out)
        row = [ln for ln in out.splitlines() if ln.startswith('all')][0]
        self.assertEqual(['all', '5995', '14', '40.37', '2759', '4974'] +
                         ['>30'] * 5, row.split())

    def test_text_marks_incomplete(self):
        out = result_mod.render_text(result_mod.load(captured(
            'sigint.json')))
        self.assertIn('INCOMPLETE', out)
