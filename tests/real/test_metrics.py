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
"""nova-rt's Prometheus metrics through the real tools: ``promtool check
metrics`` on what ``nova-rt host check --format prometheus`` writes for a
recorded host, a real node_exporter (textfile collector, 127.0.0.1 only)
scraping the file, and ``promtool check rules`` / ``promtool test rules``
on the example alerting rules.

Needs Debian's ``prometheus`` (promtool) and ``prometheus-node-exporter``
(tools/ci-real-deps.sh installs both); no libvirt, no root. Skips with the
reason, or fails under CI=true / NOVA_RT_REAL_REQUIRE=1. Runs alone with
``.venv/bin/python -m testtools.run tests.real.test_metrics``.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from tests.host_trees import build
from tests.real import test_real

REPO = test_real.REPO
RULES = os.path.join(REPO, 'etc', 'nova-rt', 'prometheus')
PROMTOOL = 'promtool'
NODE_EXPORTER = 'prometheus-node-exporter'
SCRAPE_TIMEOUT = 30


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class MetricsToolsTest(test_real.RealTestCase):

    def setUp(self):
        super().setUp()
        self.need(['%s not installed (tools/ci-real-deps.sh: %s)'
                   % (tool, package) for tool, package in (
                       (PROMTOOL, 'prometheus'),
                       (NODE_EXPORTER, 'prometheus-node-exporter'))
                   if not shutil.which(tool)])
        self.tmp = tempfile.mkdtemp(prefix='nova-rt-metrics-')
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.textfiles = os.path.join(self.tmp, 'textfile')
        os.mkdir(self.textfiles)
        self.prom = os.path.join(self.textfiles, 'nova-rt.prom')

    def write_metrics(self, tree='tuned-dual-socket'):
        """``nova-rt host check --format prometheus --output`` of a
        recorded host, as a new process; its exit code (0 ready).
        """
        root = build.build(build.load(tree), os.path.join(self.tmp, tree))
        conf = os.path.join(root, 'etc/nova/nova.conf')
        # A tree without nova.conf: an empty one, never the machine's.
        if not os.path.exists(conf):
            os.makedirs(os.path.dirname(conf), exist_ok=True)
            open(conf, 'w').close()
        result = subprocess.run(
            [sys.executable, '-m', 'nova_rt.cmd.main', 'host', 'check',
             '--root', root, '--config-file', conf, '--smi-interval', '0',
             '--format', 'prometheus', '--output', self.prom,
             '--libvirt-uri', 'test:///default'],
            cwd=REPO, capture_output=True, text=True, timeout=120)
        self.assertNotIn('Traceback', result.stderr)
        return result.returncode

    def promtool(self, *args, stdin=None):
        return subprocess.run([PROMTOOL] + list(args), input=stdin,
                              capture_output=True, text=True, timeout=60,
                              cwd=RULES)

    def test_promtool_check_metrics(self):
        for tree, code in (('tuned-dual-socket', 0), ('stock', 1)):
            self.assertEqual(code, self.write_metrics(tree))
            with open(self.prom) as f:
                text = f.read()
            result = self.promtool('check', 'metrics', stdin=text)
            # promtool prints lint problems and exits 1 on any of them.
            self.assertEqual((0, '', ''),
                             (result.returncode, result.stdout,
                              result.stderr), tree)
            self.assertIn('nova_rt_host_ready %d\n' % (1 - code), text)

    def test_alert_rules(self):
        result = self.promtool('check', 'rules', 'nova-rt-alerts.yml')
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)
        self.assertIn('SUCCESS: 7 rules found', result.stdout)
        result = self.promtool('test', 'rules', 'nova-rt-alerts-test.yml')
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)

    def test_node_exporter_scrapes_the_file(self):
        self.assertEqual(0, self.write_metrics())
        port = _free_port()
        log = open(os.path.join(self.tmp, 'node-exporter.log'), 'w')
        self.addCleanup(log.close)
        proc = subprocess.Popen(
            [NODE_EXPORTER, '--web.listen-address=127.0.0.1:%d' % port,
             '--collector.disable-defaults', '--collector.textfile',
             '--collector.textfile.directory=%s' % self.textfiles],
            stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(proc.wait, 10)
        self.addCleanup(proc.terminate)
        body = self.scrape(port, proc)
        self.assertIn('nova_rt_host_ready 1\n', body)
        self.assertIn('# TYPE nova_rt_host_check_status gauge\n', body)
        self.assertIn('nova_rt_host_check_status{check="cpu.isolated",'
                      'critical="true",status="pass"} 1\n', body)
        # node_exporter read the file without complaint.
        self.assertIn('node_textfile_scrape_error 0\n', body)
        self.assertIn('node_textfile_mtime_seconds{file="%s"}' % self.prom,
                      body)
        # The scrape output lints too.
        result = self.promtool('check', 'metrics', stdin=body)
        self.assertNotIn('nova_rt_', result.stdout + result.stderr)

    def scrape(self, port, proc):
        url = 'http://127.0.0.1:%d/metrics' % port
        deadline = time.monotonic() + SCRAPE_TIMEOUT
        while True:
            if proc.poll() is not None:
                with open(os.path.join(self.tmp, 'node-exporter.log')) as f:
                    self.fail('node_exporter exited %d: %s'
                              % (proc.returncode, f.read()[-2000:]))
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    return response.read().decode('utf-8')
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
