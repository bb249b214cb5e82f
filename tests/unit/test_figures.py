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
"""A run's figures: recorded by their producers, collected and stamped,
rendered into the docs' figure blocks (nova_rt_tempest_plugin.figures and
tools/figures.py)."""

import json
import os
import subprocess
import sys

import fixtures
from nova_rt_tempest_plugin import figures
import testtools

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TOOL = os.path.join(TOP, 'tools', 'figures.py')

# Lines of a faults tier's output (the 2026-12-07 03:00 cloud), one of
# them a failure and one a skip.
STESTR = """\
{0} nova_rt_tempest_plugin.tests.faults.test_kills.ComputeKilledTest.\
test_compute_sigkilled_during_delete [21.332564s] ... ok
{0} nova_rt_tempest_plugin.tests.faults.test_kills.ComputeKilledTest.\
test_compute_sigtermed_during_spawn [18.769391s] ... FAILED
{0} nova_rt_tempest_plugin.tests.test_moves.EvacuateTest.\
test_evacuate_from_a_stopped_forced_down_compute [44.391919s] ... ok
{0} tests.real.test_real.domains.emulator-share.boot ... SKIPPED: not \
bootable by its expectations
"""


class RecordTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def read(self, source):
        with open(os.path.join(self.dir, source + '.json')) as f:
            return json.load(f)

    def test_record_merges_and_replaces(self):
        figures.record(self.dir, 'load', {'load.cycles': 40,
                                          'load.seconds': 150})
        figures.record(self.dir, 'load', {'load.seconds': 153,
                                          'load.note': 'TCG'})
        self.assertEqual({'load.cycles': 40, 'load.seconds': 153,
                          'load.note': 'TCG'}, self.read('load'))
        self.assertEqual(['load.json'], os.listdir(self.dir))

    def test_bad_figures_are_refused_and_nothing_written(self):
        for bad in ({'Load.cycles': 1}, {'cycles': 1}, {'load.x y': 1},
                    {'load.ok': True}, {'load.ok': None},
                    {'load.ok': [1]}):
            self.assertRaises(figures.FiguresError, figures.record,
                              self.dir, 'load', bad)
        self.assertRaises(figures.FiguresError, figures.record, self.dir,
                          '../load', {'load.ok': 1})
        self.assertEqual([], os.listdir(self.dir))

    def test_a_damaged_source_is_an_error(self):
        with open(os.path.join(self.dir, 'load.json'), 'w') as f:
            f.write('{"load.cycles": ')
        e = self.assertRaises(figures.FiguresError, figures.record,
                              self.dir, 'load', {'load.cycles': 1})
        self.assertIn('load.json: not JSON', str(e))

    def test_test_times(self):
        self.assertEqual(
            {'test.test_kills.test_compute_sigkilled_during_delete_s': 21.3,
             'test.test_moves.'
             'test_evacuate_from_a_stopped_forced_down_compute_s': 44.4},
            figures.test_times(STESTR))
        self.assertEqual({}, figures.test_times(''))


class CollectTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def test_collect_stamps_every_source(self):
        figures.record(self.dir, 'load', {'load.cycles': 40})
        figures.record(self.dir, 'cloud-up', {'cloud.up_fresh_s': 136})
        doc = figures.collect(self.dir, 'ci-x', 'abc1234', '2 CPUs',
                              now=0)
        self.assertEqual({'run': 'ci-x', 'date': '1970-01-01 00:00 UTC',
                          'commit': 'abc1234', 'machine': '2 CPUs',
                          'figures': {'cloud.up_fresh_s': 136,
                                      'load.cycles': 40}}, doc)

    def test_one_key_two_producers_is_an_error(self):
        figures.record(self.dir, 'a', {'load.cycles': 40})
        figures.record(self.dir, 'b', {'load.cycles': 41})
        e = self.assertRaises(figures.FiguresError, figures.collect,
                              self.dir, 'r', 'c', 'm')
        self.assertIn('load.cycles recorded by both a.json and b.json',
                      str(e))

    def test_nothing_recorded_is_an_error(self):
        self.assertRaises(figures.FiguresError, figures.collect, self.dir,
                          'r', 'c', 'm')

    def test_load_wants_a_collected_file(self):
        path = os.path.join(self.dir, 'x.json')
        self.assertRaises(figures.FiguresError, figures.load, path)
        with open(path, 'w') as f:
            json.dump({'load.cycles': 40}, f)
        e = self.assertRaises(figures.FiguresError, figures.load, path)
        self.assertIn('not a collected figures file', str(e))

    def test_machine_names_cpus(self):
        self.assertIn('%d CPUs (' % os.cpu_count(), figures.machine())


class RenderTest(testtools.TestCase):

    DOC = {'run': 'ci-x', 'date': '2026-12-07 03:00 UTC', 'commit': 'abc',
           'machine': '2 CPUs (AMD EPYC), 24 GiB, a virtual machine',
           'figures': {'load.cycles': 40, 'load.realtime_p50_s': 9.04,
                       'live_migration.memory_bandwidth': '708.577 MiB/s'}}

    def test_fields_and_formats(self):
        self.assertEqual(
            '40 cycles, p50 9.0 s, 708.577 MiB/s',
            figures.render('{load.cycles} cycles, p50 '
                           '{load.realtime_p50_s:.1f} s, '
                           '{live_migration.memory_bandwidth}', self.DOC))

    def test_a_figure_the_run_did_not_record_is_an_error(self):
        e = self.assertRaises(figures.FiguresError, figures.render,
                              '{load.cycles} in {load.seconds} s', self.DOC)
        self.assertIn('no figure load.seconds in this run', str(e))

    def test_a_bad_template_is_an_error(self):
        for bad in ('{load.cycles', '{load.cycles:.1q}'):
            self.assertRaises(figures.FiguresError, figures.render, bad,
                              self.DOC)

    def test_a_text_of_several_lines_keeps_its_indentation(self):
        doc = dict(self.DOC, figures={'bench.table': 'a  b\nc  d'})
        self.assertEqual('Table::\n\n   a  b\n   c  d',
                         figures.render('Table::\n\n   {bench.table}', doc))

    def test_slug(self):
        self.assertEqual('realtimefilter_cold_numatopologyfilter_1000',
                         figures.slug('RealtimeFilter cold / '
                                      'NUMATopologyFilter, 1000'))

    def test_commit_of_this_checkout(self):
        commit = figures.commit_of(TOP)
        self.assertRegex(commit, r'^[0-9a-f]{7,}(\+dirty)?$')
        self.assertEqual('unknown', figures.commit_of(
            self.useFixture(fixtures.TempDir()).path))

    def test_stamp(self):
        self.assertEqual(
            'Figures of run ci-x (2026-12-07 03:00 UTC, commit abc; 2 CPUs '
            '(AMD EPYC), 24 GiB, a virtual machine).',
            figures.stamp(self.DOC))


class ToolTest(testtools.TestCase):
    """tools/figures.py, as run-tests.sh, tools/cloud and .ci/run run it."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def tool(self, *args):
        return subprocess.run([sys.executable, TOOL, '--dir', self.dir]
                              + list(args), capture_output=True, text=True)

    def test_record_tests_collect_show(self):
        self.assertEqual(0, self.tool('record', 'tier-faults',
                                      'tier.faults.passed=12',
                                      'tier.faults.note=x=y').returncode)
        log = os.path.join(self.dir, 'faults.log')
        with open(log, 'w') as f:
            f.write(STESTR)
        self.assertEqual(0, self.tool('tests', 'tests-faults',
                                      log).returncode)
        os.remove(log)
        out = os.path.join(self.dir, 'figures.json.out')
        done = self.tool('collect', '--run', 'ci-test', '--out', out)
        self.assertEqual(0, done.returncode, done.stderr)
        with open(out) as f:
            document = json.load(f)
        self.assertEqual(12, document['figures']['tier.faults.passed'])
        self.assertEqual('x=y', document['figures']['tier.faults.note'])
        self.assertEqual(4, len(document['figures']))
        shown = self.tool('show', out)
        self.assertIn('Figures of run ci-test', shown.stdout)
        self.assertIn('tier.faults.passed = 12', shown.stdout)

    def test_bad_input_is_one_line_and_exit_1(self):
        for args in (('record', 'x', 'no-equals'),
                     ('record', 'x', 'Bad=1'),
                     ('show', os.path.join(self.dir, 'missing.json'))):
            done = self.tool(*args)
            self.assertEqual(1, done.returncode, args)
            self.assertEqual(1, len(done.stderr.splitlines()), done.stderr)
            self.assertTrue(done.stderr.startswith('figures: '))
