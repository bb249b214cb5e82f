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
"""Latency for real: cyclictest on this machine, and inside the TCG guest.

``HostLatencyTest`` runs ``nova-rt latency run`` for a few seconds here as
an operator would (a subprocess of the console entry point), then
``report``, ``--plot`` (when matplotlib is installed), ``certify`` into a
temporary path, and reads the certificate back the way the compute's host
facts do. This machine isolates no CPU, so the run measures the last
online CPU with ``--cpus`` and the certificate's identity is this
machine's own kernel, command line and (empty) isolated set: nothing is
faked. Mechanics only: the numbers are printed, never judged.

``GuestLatencyTest`` boots the real tier's direct-kernel-boot sample under
TCG with an initramfs that carries Python, nova_rt and cyclictest
(``tests/real/guest.py``), where /init runs ``nova-rt-guest latency run``
on the real-time vCPU the OEM strings name, and brings the result back
over the serial console. TCG inside a nested VM gives milliseconds: the
numbers are reported, not judged.

Needs root and rt-tests (and, for the guest, what the real tier needs);
skips with the reason, or fails under CI=true / NOVA_RT_REAL_REQUIRE=1.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from nova_rt_tempest_plugin import hostside

from nova_rt.host import facts as host_facts
from nova_rt.latency import plot
from nova_rt.latency import result as result_mod
from tests.real import guest
from tests.real import host as host_mod
from tests.real import scenarios as scenarios_mod
from tests.real import test_real
from tests.real import tier as tier_mod

REPO = test_real.REPO
SAMPLE = os.path.join(REPO, 'tests', 'unit', 'latency', 'captured',
                      'one-cpu.json')


def _say(msg):
    sys.stderr.write('%s\n' % msg)
    sys.stderr.flush()


def nova_rt(*argv, **kwargs):
    """The nova-rt console script, as a new process."""
    return subprocess.run(
        [sys.executable, '-m', 'nova_rt.cmd.main'] + list(argv),
        capture_output=True, text=True, cwd=REPO, timeout=300, **kwargs)


def _missing_host():
    reasons = []
    if os.geteuid() != 0:
        reasons.append('not root (cyclictest needs SCHED_FIFO and mlock)')
    if not shutil.which('cyclictest'):
        reasons.append('no cyclictest (run tools/ci-real-deps.sh: rt-tests)')
    return reasons


class HostLatencyTest(test_real.RealTestCase):

    def setUp(self):
        super().setUp()
        self.need(_missing_host())
        self.tmp = tempfile.mkdtemp(prefix='nova-rt-latency-')
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.cpu = max(os.sched_getaffinity(0))

    def test_run_report_plot_certify_then_host_facts(self):
        result_path = os.path.join(self.tmp, 'result.json')
        proc = nova_rt('latency', 'run', '--duration', '4s', '--slice', '1',
                       '--cpus', str(self.cpu), '--output', result_path)
        self.assertEqual(0, proc.returncode, proc.stderr)
        _say('\n--- nova-rt latency run on this machine (CPU %d) ---\n%s'
             % (self.cpu, proc.stdout))
        with open(result_path) as f:
            doc = json.load(f)
        self.assertEqual('host', doc['where'])
        self.assertTrue(doc['complete'])
        self.assertEqual([self.cpu], [c['cpu'] for c in doc['cpus']])
        # 4 one-second slices at 1000 us: about 1000 wake-ups each.
        self.assertEqual(4, len(doc['slices']))
        self.assertGreater(doc['overall']['samples'], 2000)
        self.assertLessEqual(doc['overall']['samples'], 4100)
        self.assertEqual(49, doc['priority'])     # max_vcpu_priority
        self.assertEqual(4, len(doc['cyclictest_json']))
        for rel in doc['cyclictest_json']:
            self.assertTrue(os.path.isfile(os.path.join(self.tmp, rel)))
        self.assertIn('--affinity=%d' % self.cpu, doc['tool']['cmdline'])

        plots = os.path.join(self.tmp, 'plots')
        proc = nova_rt('latency', 'report', '--input', result_path,
                       '--format', 'json', '--plot', plots)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertEqual(doc['overall'], json.loads(proc.stdout)['overall'])
        if plot.available():
            self.assertEqual(['histogram.png', 'worst-per-slice.png'],
                             sorted(os.listdir(plots)))
        else:
            self.assertIn('plots need matplotlib', proc.stderr)

        cert = os.path.join(self.tmp, 'cert.json')
        conf = os.path.join(self.tmp, 'nova.conf')
        with open(conf, 'w') as f:
            f.write('[nova_rt]\nlatency_certificate = %s\n'
                    'latency_min_duration = 3\n' % cert)
        proc = nova_rt('latency', 'certify', '--input', result_path,
                       '--config-file', conf)
        self.assertEqual(0, proc.returncode, proc.stderr)
        with open(cert) as f:
            certificate = json.load(f)
        self.assertEqual(doc['overall']['max_us'],
                         certificate['max_latency_us'])
        # What the compute publishes, reading this machine as it is.
        self.assertEqual(certificate['max_latency_us'],
                         host_facts.read_latency_certificate(
                             '/', cert, max_age_days=30, min_duration_s=3))
        proc = nova_rt('host', 'check', '--format', 'json',
                       '--smi-interval', '0', '--config-file', conf)
        self.assertEqual(
            {'certified': True,
             'max_latency_us': certificate['max_latency_us']},
            {k: json.loads(proc.stdout)['latency'][k]
             for k in ('certified', 'max_latency_us')})
        # A longer minimum than was measured: no longer certified.
        self.assertIsNone(host_facts.read_latency_certificate(
            '/', cert, max_age_days=30, min_duration_s=60))

    def test_sigterm_writes_an_incomplete_result(self):
        result_path = os.path.join(self.tmp, 'result.json')
        proc = subprocess.Popen(
            [sys.executable, '-m', 'nova_rt.cmd.main', 'latency', 'run',
             '--duration', '60s', '--slice', '2', '--cpus', str(self.cpu),
             '--output', result_path],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=REPO)
        time.sleep(5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(1, proc.returncode, err)
        self.assertIn('stopped by SIGTERM: the result is marked incomplete',
                      err)
        with open(result_path) as f:
            doc = json.load(f)
        self.assertFalse(doc['complete'])
        self.assertLess(doc['duration_s'], 30)
        self.assertGreater(doc['overall']['samples'], 0)
        self.assertIn('INCOMPLETE', out)
        # certify refuses it
        conf = os.path.join(self.tmp, 'nova.conf')
        with open(conf, 'w') as f:
            f.write('[nova_rt]\nlatency_min_duration = 1\n'
                    'latency_certificate = %s/cert.json\n' % self.tmp)
        proc = nova_rt('latency', 'certify', '--input', result_path,
                       '--config-file', conf)
        self.assertEqual(1, proc.returncode)
        self.assertIn('incomplete', proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, 'cert.json')))

    def test_load_on_the_housekeeping_cpus(self):
        if not shutil.which('stress-ng'):
            self.need(['no stress-ng (run tools/ci-real-deps.sh)'])
        if len(os.sched_getaffinity(0)) < 2:
            self.skipTest('one CPU: no housekeeping CPU to load')
        result_path = os.path.join(self.tmp, 'result.json')
        proc = nova_rt('latency', 'run', '--duration', '3s', '--cpus',
                       str(self.cpu), '--load', 'stress-ng', '--output',
                       result_path)
        self.assertEqual(0, proc.returncode, proc.stderr)
        _say('\n--- under stress-ng ---\n%s' % proc.stdout)
        with open(result_path) as f:
            doc = json.load(f)
        self.assertTrue(doc['load'].startswith('stress-ng --taskset '))
        self.assertNotIn(str(self.cpu), doc['load'].split()[2].split(','))
        # stress-ng was stopped with the run
        time.sleep(0.5)
        leftover = subprocess.run(['pgrep', '-f', 'stress-ng --taskset'],
                                  capture_output=True, text=True)
        mine = [pid for pid in leftover.stdout.split()
                if os.path.exists('/proc/%s' % pid) and
                str(os.getpid()) in _ancestors(pid)]
        self.assertEqual([], mine)


def _ancestors(pid):
    seen = []
    while pid and pid != '1':
        try:
            with open('/proc/%s/stat' % pid) as f:
                pid = f.read().rsplit(')', 1)[1].split()[1]
        except OSError:
            break
        seen.append(pid)
    return seen


class GuestLatencyTest(test_real.RealTestCase):
    """nova-rt-guest latency inside a TCG guest booted by real libvirt."""

    @classmethod
    def setUpClass(cls):
        cls.missing = host_mod.missing_requirements() + _missing_host()
        cls.host = cls.error = None
        if cls.missing:
            return
        artifacts = os.path.join(test_real.artifacts_dir(), 'latency')
        cls.artifacts = artifacts
        cls.run_dir = tempfile.mkdtemp(prefix='nova-rt-latency-',
                                       dir='/var/tmp')
        os.chmod(cls.run_dir, 0o755)
        try:
            cls.host = host_mod.Host(artifacts, log=_say)
            cls.host.start()
            cache = test_real.cache_dir()
            os.makedirs(cache, exist_ok=True)
            kernel = guest.build_kernel(cache, _say)
            initrd = guest.build_latency_initrd(cache, REPO, SAMPLE)
            cls.tier = tier_mod.Tier(cls.host, artifacts, kernel, initrd,
                                     cls.run_dir)
        except Exception as e:   # reported by the test, never lost
            cls.error = '%s: %s' % (type(e).__name__, e)

    @classmethod
    def tearDownClass(cls):
        if cls.host is not None:
            cls.host.stop()
        if getattr(cls, 'run_dir', None):
            shutil.rmtree(cls.run_dir, ignore_errors=True)

    def test_guest_latency_comes_back(self):
        self.need(list(self.missing))
        if self.error:
            self.fail('latency guest: %s' % self.error)
        scenario = scenarios_mod.load(
            os.path.join(scenarios_mod.SAMPLES_DIR, 'small-dkb.xml'),
            'samples')
        problems = self.tier.boot(scenario, label='latency-guest')
        folder = self.tier.folder(scenario, 'latency-guest')
        with open(os.path.join(folder, 'console.log'),
                  errors='replace') as f:
            console = f.read()
        lines = hostside.latency_console(console)
        # The guest kept working as the tier checks it.
        self.assertEqual([], problems)
        self.assertEqual(['0'], lines['RC'],
                         'nova-rt-guest latency run failed in the guest:\n'
                         + '\n'.join(lines['ERR']))
        doc = json.loads('\n'.join(lines['JSON']))
        with open(os.path.join(folder, 'guest-latency.json'), 'w') as f:
            json.dump(doc, f, indent=2)
        result = result_mod.from_dict(doc, 'guest result')
        _say('\n--- nova-rt-guest latency run inside the TCG guest '
             '(reported, not judged) ---\n%s' % result_mod.render_text(
                 result))
        self.assertEqual('guest', result.where)
        self.assertTrue(result.complete)
        # The real-time vCPU the OEM strings name, pinned; SCHED_FIFO 95.
        self.assertEqual([1], [s.cpu for s in result.cpus])
        self.assertEqual(95, result.priority)
        self.assertGreater(result.overall.samples, 0)
        self.assertEqual(5, len(result.slices))
