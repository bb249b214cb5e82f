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
"""The recorded host trees, end to end: ``nova-rt host check --format
json`` on each gives the documented JSON and the statuses its description
expects, and the tree holds exactly the files the reader uses.
"""

import io
import json
import os

import testscenarios

from nova_rt.cmd import host as cmd_host
from nova_rt.cmd import main as cmd_main
from nova_rt.host import checks
from nova_rt.host import facts
from nova_rt.host import profile as host_profile
from nova_rt.host import reader as host_reader
from tests.host_trees import build
from tests.unit.host import base

load_tests = testscenarios.load_tests_apply_scenarios


def run_cli(argv):
    out = io.StringIO()
    args = cmd_main.build_parser().parse_args(argv)
    return args.func(args, out=out), out.getvalue()


class TestRecordedTrees(base.TestCase):

    scenarios = [(name, {'name': name}) for name in build.NAMES]

    def setUp(self):
        super().setUp()
        self.desc = build.load(self.name)
        self.root = base.tree(self.name)

    def _check_json(self):
        argv = ['host', 'check', '--root', self.root, '--format', 'json',
                '--smi-interval', '0.01']
        conf = os.path.join(self.root, 'etc/nova/nova.conf')
        if os.path.exists(conf):
            argv += ['--config-file', conf]
        code, out = run_cli(argv)
        return code, json.loads(out)

    def test_json_is_the_documented_document(self):
        code, doc = self._check_json()
        self.assertEqual(['findings', 'isolated_cpus', 'kernel', 'latency',
                          'ready'], sorted(doc))
        # The tree's certificate (when it has one) matches its host state.
        cert = self.desc.get('latency_certificate')
        self.assertEqual({'certified': bool(cert),
                          'max_latency_us': cert and cert['max_latency_us']},
                         {k: doc['latency'][k]
                          for k in ('certified', 'max_latency_us')})
        self.assertTrue(doc['latency']['reason'])
        self.assertIsInstance(doc['ready'], bool)
        self.assertIn(doc['kernel'], facts.KERNELS)
        self.assertEqual(self.desc.get('isolated', ''), doc['isolated_cpus'])
        for finding in doc['findings']:
            self.assertEqual(['check', 'expected', 'observed', 'remediation',
                              'status'], sorted(finding))
            self.assertIn(finding['status'], checks.STATUSES)
            for key in ('observed', 'expected'):
                self.assertTrue(finding[key], '%s: empty %s'
                                % (finding['check'], key))
            if finding['status'] in (checks.FAIL, checks.WARN):
                self.assertTrue(finding['remediation'], finding['check'])
        self.assertEqual(list(checks.check_names()),
                         [f['check'] for f in doc['findings']])

    def test_statuses_and_readiness_as_described(self):
        code, doc = self._check_json()
        expect = self.desc['expect']
        self.assertEqual(expect['statuses'], {
            f['check']: f['status'] for f in doc['findings']})
        self.assertEqual(expect['ready'], doc['ready'])
        self.assertEqual(0 if expect['ready'] else 1, code)

    def test_facts_as_described(self):
        p = base.profile(self.name)
        report = base.audit(self.name, p)
        cert = facts.read_latency_certificate(
            self.root, '/etc/nova/nova-rt-latency.json', max_age_days=30,
            min_duration_s=30)
        host_facts = facts.facts_from_report(p, report, cert)
        expect = self.desc['expect']
        self.assertEqual(expect['facts'], facts.to_stats(host_facts))
        self.assertEqual(frozenset(expect['traits']),
                         facts.to_traits(host_facts))
        self.assertEqual(host_facts, facts.from_stats(
            facts.to_stats(host_facts)))

    def test_tree_holds_exactly_the_files_the_reader_uses(self):
        trace = set()
        reader = host_reader.HostReader(self.root, trace=trace)
        host_profile.read_profile(self.root, smi_interval=0.01,
                                  reader=reader, sleep=base.no_sleep)
        used = {os.path.realpath(reader.path(rel)) for rel in trace}
        used = {p for p in used if os.path.isfile(p)}
        recorded = set()
        for top, dirs, files in os.walk(self.root):
            for name in files:
                path = os.path.join(top, name)
                if not os.path.islink(path):
                    recorded.add(os.path.realpath(path))
        # nova.conf and the latency certificate are the CLI's and the
        # driver's, not the profile reader's.
        recorded = {p for p in recorded
                    if not p.startswith(os.path.join(
                        os.path.realpath(self.root), 'etc/nova/'))}
        self.assertEqual(set(), recorded - used, 'recorded, never read')
        self.assertEqual(set(), used - recorded, 'read, not recorded')

    def test_table_one_line_a_check_failures_first(self):
        report = base.audit(self.name)
        text = cmd_host.render_table(report)
        lines = text.split('\n\n')[1].splitlines()
        self.assertEqual(len(checks.load()), len(lines))
        order = [line.split()[0].lower() for line in lines]
        rank = {s: i for i, s in enumerate(
            (checks.FAIL, checks.WARN, checks.UNKNOWN, checks.PASS))}
        self.assertEqual(sorted(order, key=rank.get), order)
        self.assertNotIn('\033[', text)
