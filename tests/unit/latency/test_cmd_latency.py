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
"""``nova-rt latency report|certify`` and ``nova-rt-guest latency report``
as an operator runs them: exit codes, messages, files.
"""

import io
import json
import os
import shutil
import tempfile
from unittest import mock

import testtools

from nova_rt.cmd import guest as cmd_guest
from nova_rt.cmd import latency as cmd_latency
from nova_rt.cmd import main as cmd_main
from nova_rt.latency import identity
from nova_rt.latency import plot
from nova_rt.latency import result as result_mod
from nova_rt.latency import runner
from tests.unit.latency import captured
from tests.unit.latency import text


def call(main, argv):
    out, err = io.StringIO(), io.StringIO()
    with mock.patch('sys.stdout', out), mock.patch('sys.stderr', err):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


def nova_rt(*argv):
    return call(cmd_main.main, list(argv))


class ReportTest(testtools.TestCase):

    def test_text_report(self):
        code, out, err = nova_rt('latency', 'report', '--input',
                                 captured('one-cpu.json'))
        self.assertEqual(0, code, err)
        self.assertIn('unknown beyond 400 us', out)
        self.assertIn('8 of 2998 samples', out)

    def test_json_report(self):
        code, out, _ = nova_rt('latency', 'report', '--format', 'json',
                               '--input', captured('two-cpus.json'))
        self.assertEqual(0, code)
        doc = json.loads(out)
        self.assertEqual([0, 1], [c['cpu'] for c in doc['cpus']])
        self.assertNotIn('histogram', doc['cpus'][0])
        self.assertIsNone(doc['overall']['percentiles_us']['99.99'])
        self.assertIsNone(doc['gate'])

    def test_gate(self):
        # two-cpus.json: worst 3445 us
        code, out, _ = nova_rt('latency', 'report', '--input',
                               captured('two-cpus.json'),
                               '--max-latency-us', '3445')
        self.assertEqual(0, code)
        self.assertIn('PASSED', out)
        code, out, _ = nova_rt('latency', 'report', '--input',
                               captured('two-cpus.json'),
                               '--max-latency-us', '3444', '--format',
                               'json')
        self.assertEqual(1, code)
        self.assertEqual({'max_latency_us': 3444, 'passed': False},
                         json.loads(out)['gate'])

    def test_bad_input_exits_2_without_traceback(self):
        whole = text('one-cpu.json')
        with tempfile.TemporaryDirectory() as tmp:
            for name, content, message in (
                    ('empty.json', '', 'empty file'),
                    ('truncated.json', whole[:700], 'not valid JSON'),
                    ('other.json', '{"a": 1}', 'neither cyclictest')):
                path = os.path.join(tmp, name)
                with open(path, 'w') as f:
                    f.write(content)
                for main, prog in ((cmd_main.main, 'nova-rt'),
                                   (cmd_guest.main, 'nova-rt-guest')):
                    code, out, err = call(main, ['latency', 'report',
                                                 '--input', path])
                    self.assertEqual(2, code, err)
                    self.assertEqual('', out)
                    self.assertIn('%s: error: %s: %s' % (prog, path,
                                                         message), err)
                    self.assertNotIn('Traceback', err)

    def test_usage_errors_exit_2(self):
        code, _, err = nova_rt('latency', 'report')
        self.assertEqual(2, code)
        self.assertIn('--input', err)
        code, _, err = nova_rt('latency', 'run', '--duration', 'soon')
        self.assertEqual(2, code)
        self.assertIn("'soon' is not a duration", err)
        code, _, err = nova_rt('latency', 'run', '--priority', '100')
        self.assertEqual(2, code)

    def test_run_needs_root(self):
        with mock.patch('os.geteuid', return_value=1000):
            for main in (cmd_main.main, cmd_guest.main):
                code, _, err = call(main, ['latency', 'run', '--duration',
                                           '1s'])
                self.assertEqual(2, code)
                self.assertIn('error: latency run needs root', err)

    def test_saved_result_reports_the_same(self):
        r = result_mod.load(captured('two-cpus.json'))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'r.json')
            result_mod.dump(r, path)
            _, saved, _ = nova_rt('latency', 'report', '--input', path)
        _, raw, _ = nova_rt('latency', 'report', '--input',
                            captured('two-cpus.json'))
        self.assertEqual(raw, saved)

    def test_plots(self):
        with tempfile.TemporaryDirectory() as tmp:
            with mock.patch.object(plot, 'available', return_value=False):
                code, _, err = nova_rt('latency', 'report', '--input',
                                       captured('one-cpu.json'),
                                       '--plot', tmp)
            self.assertEqual(0, code)
            self.assertIn('no plots: plots need matplotlib: pip install '
                          '"nova-rt[plot]"', err)
            self.assertEqual([], os.listdir(tmp))
            if not plot.available():
                self.skipTest('matplotlib is not installed')
            code, _, err = nova_rt('latency', 'report', '--input',
                                   captured('one-cpu.json'),
                                   '--plot', tmp, '--max-latency-us', '100')
            self.assertEqual(1, code)
            self.assertEqual(['histogram.png'], os.listdir(tmp))
            with open(os.path.join(tmp, 'histogram.png'), 'rb') as f:
                self.assertEqual(b'\x89PNG', f.read(4))


class CertifyTest(testtools.TestCase):
    """certify against a host tree whose identity is the captured run's
    kernel, with CPU 1 isolated.
    """

    def setUp(self):
        super().setUp()
        self.root = self.useFixture_tmp()
        for rel, content in (
                (identity.OSRELEASE, '6.18.44-fc-v595\n'),
                (identity.CMDLINE, 'root=/dev/vda isolcpus=1\n'),
                (identity.ISOLATED, '1\n'),
                (identity.ONLINE, '0-1\n')):
            self.write(rel, content)
        self.cert = os.path.join(self.root, 'cert.json')
        self.conf = self.write('nova.conf', '[nova_rt]\nlatency_min_duration'
                               ' = 5\nlatency_certificate = %s\n' % self.cert)

    def useFixture_tmp(self):
        path = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, path, ignore_errors=True)
        return path

    def write(self, rel, content):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(content)
        return path

    def certify(self, name, *extra):
        return nova_rt('latency', 'certify', '--input', captured(name),
                       '--root', self.root, '--config-file', self.conf,
                       *extra)

    def test_writes_the_configured_certificate(self):
        code, out, err = self.certify('one-cpu-no-overflow.json')
        self.assertEqual(0, code, err)
        with open(self.cert) as f:
            doc = json.load(f)
        self.assertEqual(3009, doc['max_latency_us'])
        self.assertEqual('1', doc['isolated_cpus'])
        self.assertIn('certificate: %s (max 3009 us' % self.cert, out)

    def test_refusals_exit_1_and_write_nothing(self):
        for name, message in (
                ('sigint.json', 'incomplete'),
                ('one-cpu.json', 'lasted 3.0 s, less than'),
                ('no-histogram.json', 'lasted 2.0 s')):
            code, _, err = self.certify(name)
            self.assertEqual(1, code, name)
            self.assertIn('refused to certify: ', err)
            self.assertIn(message, err)
            self.assertFalse(os.path.exists(self.cert))
        self.write(identity.ISOLATED, '0-1\n')
        code, _, err = self.certify('one-cpu-no-overflow.json')
        self.assertEqual(1, code)
        self.assertIn('0 missing from 0-1', err)


class RunPlanTest(testtools.TestCase):
    """What ``run`` would do, without running it (tests/real runs it)."""

    def args(self, *argv):
        parser = cmd_main.build_parser()
        return parser.parse_args(['latency', 'run'] + list(argv))

    def ident(self, isolated, online='0-3'):
        from nova_rt.core import cpuset
        return identity.Identity('6.1', 'x', cpuset.parse(isolated, 'i'),
                                 False, cpuset.parse(online, 'o'))

    def test_defaults_to_the_isolated_cpus(self):
        ident = self.ident('2-3')
        plan, origin = cmd_latency.plan_run(self.args('--duration', '1h'),
                                            ident, ident.isolated_cpus,
                                            'isolated CPUs', 49)
        self.assertEqual((frozenset({2, 3}), frozenset({0, 1}), 49, 60, 3600),
                         (plan.cpus, plan.housekeeping, plan.priority,
                          plan.slice_s, plan.duration_s))
        self.assertEqual('isolated CPUs', origin)
        argv = runner.cyclictest_argv('/usr/bin/cyclictest', plan, 60,
                                      '/tmp/s.json')
        for option in ('--mlockall', '--policy=fifo', '--priority=49',
                       '--affinity=2-3', '--threads=2', '--duration=60',
                       '--histogram=10000', '--interval=1000',
                       '--mainaffinity=0-1', '--json=/tmp/s.json',
                       '--default-system'):
            self.assertIn(option, argv)

    def test_without_isolated_cpus(self):
        ident = self.ident('')
        plan, origin = cmd_latency.plan_run(self.args(), ident, frozenset(),
                                            'isolated CPUs', 49)
        self.assertEqual(frozenset({1, 2, 3}), plan.cpus)
        self.assertIn('every online CPU but the first', origin)

    def test_cpus_must_be_online(self):
        from nova_rt.latency import LatencyError
        e = self.assertRaises(
            LatencyError, cmd_latency.plan_run,
            self.args('--cpus', '3-5'), self.ident('1'), None, 'x', 49)
        self.assertIn('CPUs 4-5 are not online', str(e))

    def test_slices(self):
        self.assertEqual([1] * 30, runner.slice_lengths(30, 1))
        self.assertEqual([60, 60, 10], runner.slice_lengths(130, 60))
        self.assertEqual(1, runner.default_slice(30))
        self.assertEqual(60, runner.default_slice(86400))

    def test_stress_ng_on_housekeeping(self):
        argv = runner.stress_argv('/usr/bin/stress-ng', frozenset({0, 4}), 90)
        self.assertEqual(['--taskset', '0,4', '--cpu', '2'], argv[1:5])
        self.assertEqual(['--timeout', '90s'], argv[-2:])

    def test_smi_counter(self):
        with tempfile.TemporaryDirectory() as root:
            self.assertIsNone(runner.read_smi_count(root, 0))
            os.makedirs(os.path.join(root, 'dev/cpu/0'))
            with open(os.path.join(root, 'dev/cpu/0/msr'), 'wb') as f:
                f.write(b'\0' * runner.MSR_SMI_COUNT +
                        (7).to_bytes(8, 'little'))
            self.assertEqual(7, runner.read_smi_count(root, 0))

    def test_missing_cyclictest_says_how_to_install(self):
        from nova_rt.latency import LatencyError
        e = self.assertRaises(LatencyError, runner.find_tool, 'cyclictest',
                              runner.INSTALL_HINT, '/nonexistent')
        self.assertIn('apt-get install rt-tests', str(e))
        self.assertIn('dnf install realtime-tests', str(e))


class ProgressTest(testtools.TestCase):

    def test_one_line_on_a_terminal(self):
        class TTY(io.StringIO):
            def isatty(self):
                return True

        tty = TTY()
        progress = runner.Progress(stream=tty, total_s=30)
        progress.update(12, {1: 45, 2: None})
        progress.done()
        self.assertEqual('\r\033[K  12/30 s, 18 s left; worst so far: CPU 1 '
                         '45 us, CPU 2 - us\n', tty.getvalue())

    def test_quiet_otherwise(self):
        out = io.StringIO()
        progress = runner.Progress(stream=out, total_s=30)
        progress.update(12, {1: 45})
        progress.done()
        self.assertEqual('', out.getvalue())
