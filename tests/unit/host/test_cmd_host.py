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
"""``nova-rt host check|plan``: exit codes, options, robustness, and a run
on the real machine.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from unittest import mock

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st

from nova_rt.cmd import host as cmd_host
from nova_rt.cmd import main as cmd_main
from nova_rt.host import checks
from nova_rt.host import facts
from nova_rt.host import plan as host_plan
from nova_rt.host import profile as host_profile
from tests.unit.host import base

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


class TTY(io.StringIO):
    def isatty(self):
        return True


def main(argv, stdout=None):
    stdout = stdout or io.StringIO()
    stderr = io.StringIO()
    with mock.patch('sys.stdout', stdout), mock.patch('sys.stderr', stderr):
        try:
            code = cmd_main.main(argv)
        except SystemExit as e:     # argparse usage errors
            code = e.code
    return code, stdout.getvalue(), stderr.getvalue()


class TestCheckCommand(base.TestCase):

    def test_exit_codes(self):
        tuned = base.tree('tuned-dual-socket')
        conf = os.path.join(tuned, 'etc/nova/nova.conf')
        code, out, err = main(['host', 'check', '--root', tuned,
                               '--config-file', conf, '--smi-interval', '0'])
        self.assertEqual((0, ''), (code, err))
        self.assertTrue(out.startswith('READY'))
        code, out, err = main(['host', 'check', '--root',
                               base.tree('stock'), '--smi-interval', '0'])
        self.assertEqual(1, code)
        self.assertTrue(out.startswith('NOT READY'))

    def test_host_root_from_config_and_root_wins(self):
        tuned = base.tree('tuned-dual-socket')
        conf = os.path.join(base._tmpdir(), 'nova.conf')
        with open(conf, 'w') as f:
            f.write('[nova_rt]\nhost_root = %s\n[compute]\n'
                    'cpu_dedicated_set = 1-7,9-15,17-23,25-31\n' % tuned)
        code, out, _ = main(['host', 'check', '--config-file', conf,
                             '--format', 'json', '--smi-interval', '0'])
        self.assertEqual(0, code)
        self.assertEqual('preempt_rt', json.loads(out)['kernel'])
        code, out, _ = main(['host', 'check', '--config-file', conf,
                             '--root', base.tree('stock'), '--format',
                             'json', '--smi-interval', '0'])
        self.assertEqual(1, code)
        self.assertEqual('none', json.loads(out)['kernel'])

    def test_vcpu_priority_from_config(self):
        tuned = base.tree('tuned-dual-socket')
        conf = os.path.join(base._tmpdir(), 'nova.conf')
        with open(conf, 'w') as f:
            f.write('[nova_rt]\ndefault_vcpu_priority = 2\n[compute]\n'
                    'cpu_dedicated_set = 1-7\n')
        code, out, _ = main(['host', 'check', '--root', tuned,
                             '--config-file', conf, '--format', 'json',
                             '--smi-interval', '0'])
        self.assertEqual(1, code)
        found = {f['check']: f['status'] for f in json.loads(out)['findings']}
        self.assertEqual('fail', found['kthread.priority'])

    def test_usage_and_configuration_errors_exit_2(self):
        stock = base.tree('stock')
        bad = os.path.join(base._tmpdir(), 'bad.conf')
        with open(bad, 'w') as f:
            f.write('[compute]\ncpu_dedicated_set = 2-x\n')
        for argv in (['host', 'check', '--format', 'xml'],
                     ['host', 'check', '--smi-interval', 'soon'],
                     ['host', 'check', '--root', '/nonexistent/dir'],
                     ['host', 'check', '--root', stock, '--config-file',
                      '/nonexistent/nova.conf'],
                     ['host', 'check', '--root', stock, '--config-file', bad,
                      '--smi-interval', '0'],
                     ['host', 'plan', '--root', stock,
                      '--housekeeping-per-node', '4'],
                     ['host', 'plan', '--housekeeping-per-node', '0'],
                     ['host']):
            code, out, err = main(argv)
            self.assertEqual(2, code, argv)
            self.assertNotIn('Traceback', err, argv)
            lines = err.strip().splitlines()
            # One line naming the error; argparse puts its usage above.
            self.assertRegex(lines[-1], r'^nova-rt[a-z ]*: error: \S', argv)
            if not lines[0].startswith('usage:'):
                self.assertEqual(1, len(lines), argv)

    def test_colour_only_on_a_tty(self):
        report = base.audit('half-tuned')
        plain = cmd_host.render_table(report, colour=False)
        coloured = cmd_host.render_table(report, colour=True, width=80)
        self.assertNotIn('\033[', plain)
        self.assertIn('\033[31mFAIL', coloured)
        self.assertIn('\033[32mPASS', coloured)
        for line in coloured.split('\n\n')[1].splitlines():
            self.assertLessEqual(len(line) - len('\033[31m\033[0m'), 80)
        code, out, _ = main(['host', 'check', '--root',
                             base.tree('half-tuned'), '--smi-interval', '0'],
                            stdout=TTY())
        self.assertEqual(1, code)
        self.assertIn('\033[', out)

    def test_table_lists_remedies(self):
        text = cmd_host.render_table(base.audit('half-tuned'))
        head, table, remedies = text.split('\n\n')
        self.assertIn('cpu.nohz_full', head)
        self.assertIn('cpu.nohz_full: nohz_full=2-7', remedies)
        self.assertNotIn('mm.hugepages:', remedies)   # it passes


class TestPlanCommand(base.TestCase):

    def test_text_and_json(self):
        root = base.tree('big-256')
        code, out, err = main(['host', 'plan', '--root', root])
        self.assertEqual((0, ''), (code, err))
        self.assertIn('cpu_shared_set = 0,16,32,48,64,80,96,112,128,144,'
                      '160,176,192,208,224,240', out)
        code, out, _ = main(['host', 'plan', '--root', root, '--format',
                             'json', '--housekeeping-per-node', '2'])
        self.assertEqual(0, code)
        self.assertEqual(32, len(host_plan.cpuset.parse(
            json.loads(out)['housekeeping_cpus'])))


class TestRobustness(base.TestCase):
    """Deleting or corrupting any files of a tree never raises."""

    TREES = ('half-tuned', 'tuned-dual-socket')

    def setUp(self):
        super().setUp()
        self.files = {name: base.files(base.tree(name))
                      for name in self.TREES}

    # test_fuzz.DamagedTreesTest runs many more damaged trees for
    # readiness; these few also render and round-trip every output.
    @settings(max_examples=20, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def test_damaged_trees(self, data):
        name = data.draw(st.sampled_from(self.TREES))
        damage = data.draw(st.lists(st.tuples(
            st.sampled_from(self.files[name]), st.sampled_from(base.DAMAGES),
            st.binary(max_size=64)), min_size=1, max_size=12))
        scratch = tempfile.mkdtemp(prefix='nova-rt-damaged-',
                                   dir=base.TMP_BASE)
        try:
            reader = base.DamagedReader(base.tree(name), scratch)
            for rel, action, junk in damage:
                reader.damage(rel, action, junk)
            self._survives(reader.root, reader)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _survives(self, root, reader):
        p = host_profile.read_profile(root, smi_interval=0.01, reader=reader,
                                      sleep=base.no_sleep)
        for dedicated in (None, frozenset({2, 3, 4})):
            report = checks.audit(p, dedicated_cpus=dedicated,
                                  shared_cpus=frozenset({0, 1}))
            doc = json.loads(json.dumps(report.to_dict()))
            self.assertEqual(len(checks.load()), len(doc['findings']))
            for f in report.findings:
                self.assertIn(f.status, checks.STATUSES)
                self.assertTrue(f.observed, f.check)
            stats = facts.to_stats(facts.facts_from_report(p, report))
            self.assertEqual(facts.facts_from_report(p, report),
                             facts.from_stats(stats))
        try:
            cmd_host.render_table(report)
            host_plan.render_text(host_plan.plan(p))
        except host_plan.PlanError:
            pass        # a typed error: the CLI exits 2


class TestConsoleEntryPoint(base.TestCase):
    """The audit through the console entry point, in a process of its own,
    of a recorded stock host (never of the machine the tests run on, whose
    state no test can know).
    """

    def _run(self, *extra):
        env = dict(os.environ, PYTHONPATH=REPO)
        return subprocess.run(
            [sys.executable, '-m', 'nova_rt.cmd.main', 'host', 'check',
             '--root', base.tree('stock'), '--smi-interval', '0.01']
            + list(extra),
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)

    def test_json_not_ready_with_reasons(self):
        result = self._run('--format', 'json')
        self.assertNotIn('Traceback', result.stderr)
        self.assertEqual(1, result.returncode, result.stderr)
        doc = json.loads(result.stdout)
        self.assertIs(False, doc['ready'])
        self.assertEqual(list(checks.check_names()),
                         [f['check'] for f in doc['findings']])
        failing = [f for f in doc['findings'] if f['status'] == 'fail']
        self.assertTrue(failing)
        for f in failing:
            self.assertTrue(f['observed'] and f['remediation'], f)

    def test_table(self):
        # In this process: one subprocess (above) is enough to prove the
        # entry point, and each costs seconds of imports.
        code, out, err = main(['host', 'check', '--root', base.tree('stock'),
                               '--smi-interval', '0.01'])
        self.assertEqual((1, ''), (code, err))
        self.assertTrue(out.startswith('NOT READY'))
        self.assertIn('Remedies', out)
