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
"""The Prometheus exposition of the host's real-time state, the atomic
writer of the textfile-collector file, and the PCPU counts from domain
XML. tests/real/test_metrics.py checks the same output with promtool and
scrapes it through a real node_exporter.
"""

import datetime
import json
import os
import re
import shutil
import stat

import fixtures

from nova_rt.cmd import common
from nova_rt import conf as rt_conf
from nova_rt.host import checks
from nova_rt.host import metrics
from nova_rt.host import pinning
from nova_rt.host import service
from nova_rt.latency import certificate
from tests.unit.host import base
from tests.unit.host import test_cmd_host
from tests.unit.watch import test_drift

CAPTURED = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                        'captured', 'cloud-rt-small-domain.xml')
UTC = datetime.timezone.utc
# One sample line: name, optional labels, a value.
SAMPLE = re.compile(r'^([a-z_]+)(\{[^}]*\})? (\S+)$')


def samples(text):
    """{(name, labels): value} of an exposition, refusing junk lines."""
    found = {}
    for line in text.splitlines():
        if line.startswith('#'):
            continue
        match = SAMPLE.match(line)
        assert match, 'not a sample line: %r' % line
        name, labels, value = match.groups()
        found[(name, labels or '')] = float(value)
    return found


def finding(check, status, critical=True):
    return checks.Finding(check=check, status=status, observed='o',
                          expected='e', remediation='r', critical=critical)


def report(ready=True, findings=None):
    return checks.Report(
        ready=ready, kernel='preempt_rt', isolated_cpus=frozenset({2, 3}),
        findings=tuple(findings or (finding('cpu.isolated', 'pass'),
                                    finding('mm.thp', 'warn', False))))


CERTIFIED = certificate.Verdict(
    True, 18, 'certified', datetime.datetime(2026, 11, 1, tzinfo=UTC),
    datetime.datetime(2026, 12, 1, tzinfo=UTC))


class RenderTest(base.TestCase):

    def render(self, **kwargs):
        args = dict(report=report(), lab=False, latency=CERTIFIED,
                    audited_at=1796400000.5,
                    pcpus=pinning.PcpuUsage(total=6, realtime=3, other=1,
                                            free=2, realtime_instances=2))
        args.update(kwargs)
        return metrics.render(metrics.Snapshot(**args))

    def test_every_family_has_help_and_type(self):
        text = self.render()
        names = {name for name, _ in samples(text)}
        for name in names:
            self.assertIn('# HELP %s ' % name, text)
            self.assertIn('# TYPE %s gauge\n' % name, text)
            self.assertTrue(name.startswith('nova_rt_'), name)

    def test_values(self):
        found = samples(self.render())
        self.assertEqual(1, found[('nova_rt_host_ready', '')])
        self.assertEqual(0, found[('nova_rt_host_lab_mode', '')])
        self.assertEqual(2, found[('nova_rt_host_isolated_cpus', '')])
        self.assertEqual(1, found[(
            'nova_rt_host_info',
            '{kernel="preempt_rt",isolated_cpus="2-3"}')])
        self.assertEqual(1.8e-05, found[
            ('nova_rt_latency_certified_max_seconds', '')])
        self.assertEqual(CERTIFIED.measured_at.timestamp(), found[
            ('nova_rt_latency_certificate_measured_timestamp_seconds', '')])
        self.assertEqual(CERTIFIED.expires_at.timestamp(), found[
            ('nova_rt_latency_certificate_expiry_timestamp_seconds', '')])
        self.assertEqual(1796400000.5, found[
            ('nova_rt_host_audit_timestamp_seconds', '')])
        self.assertEqual({'realtime': 3, 'other': 1, 'free': 2}, {
            state: found[('nova_rt_pcpus', '{state="%s"}' % state)]
            for state in metrics.PCPU_STATES})
        self.assertEqual(2, found[('nova_rt_realtime_instances', '')])

    def test_one_status_set_per_check(self):
        found = samples(self.render())
        self.assertEqual(1, found[(
            'nova_rt_host_check_status',
            '{check="cpu.isolated",critical="true",status="pass"}')])
        self.assertEqual(0, found[(
            'nova_rt_host_check_status',
            '{check="cpu.isolated",critical="true",status="fail"}')])
        for check in ('cpu.isolated', 'mm.thp'):
            values = [v for (name, labels), v in found.items()
                      if 'check="%s"' % check in labels]
            self.assertEqual([0, 0, 0, 1], sorted(values))

    def test_not_certified(self):
        expired = certificate.Verdict(
            False, None, 'expired: measured 2026-01-01T00:00:00Z',
            CERTIFIED.measured_at, CERTIFIED.expires_at)
        text = self.render(latency=expired)
        found = samples(text)
        self.assertEqual(0, found[('nova_rt_latency_certified', '')])
        self.assertNotIn(('nova_rt_latency_certified_max_seconds', ''),
                         found)
        # An expired certificate still has its dates: the alert needs them.
        self.assertIn(
            ('nova_rt_latency_certificate_expiry_timestamp_seconds', ''),
            found)
        self.assertIn('# nova-rt: not certified: expired: measured '
                      '2026-01-01T00:00:00Z\n', text)
        none = certificate.Verdict(False, None, 'no latency certificate')
        self.assertNotIn('timestamp_seconds{', self.render(latency=none))
        self.assertNotIn('nova_rt_latency_certificate_',
                         self.render(latency=none))

    def test_pcpus_unknown_is_said_not_guessed(self):
        text = self.render(pcpus=None, pcpus_problem='cannot list the '
                           'domains: libvirtError: no\nconnection')
        self.assertNotIn('nova_rt_pcpus', text)
        self.assertIn('# nova-rt: PCPU usage not counted: cannot list the '
                      'domains: libvirtError: no connection\n', text)

    def test_label_values_escaped(self):
        text = self.render(report=report(findings=[
            finding('vendor."odd"\\check\nname', 'fail')]))
        self.assertIn(r'check="vendor.\"odd\"\\check\nname"', text)
        samples(text)

    def test_not_ready_lab(self):
        found = samples(self.render(report=report(ready=False), lab=True))
        self.assertEqual(0, found[('nova_rt_host_ready', '')])
        self.assertEqual(1, found[('nova_rt_host_lab_mode', '')])


class WriteTextfileTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'nova-rt.prom')

    def test_replaces_atomically_and_readable(self):
        with open(self.path, 'w') as f:
            f.write('old\n')
        metrics.write_textfile(self.path, 'new\n')
        with open(self.path) as f:
            self.assertEqual('new\n', f.read())
        self.assertEqual(0o644, stat.S_IMODE(os.stat(self.path).st_mode))
        self.assertEqual(['nova-rt.prom'], os.listdir(self.dir))

    def test_unwritable_directory(self):
        os.chmod(self.dir, 0o555)
        self.addCleanup(os.chmod, self.dir, 0o755)
        if os.access(self.dir, os.W_OK):
            # root ignores the mode: a missing directory fails for all.
            self.path = os.path.join(self.dir, 'missing', 'nova-rt.prom')
        e = self.assertRaises(metrics.MetricsFileError,
                              metrics.write_textfile, self.path, 'x\n')
        self.assertIn('cannot write the metrics file %s: ' % self.path,
                      str(e))
        self.assertNotIn('\n', str(e))
        self.assertEqual([], os.listdir(self.dir))

    def test_failed_rename_leaves_nothing(self):
        # A directory where the file should go: the rename fails after the
        # temporary file was written.
        os.mkdir(self.path)
        e = self.assertRaises(metrics.MetricsFileError,
                              metrics.write_textfile, self.path, 'x\n')
        self.assertIn('Is a directory', str(e))
        self.assertEqual(['nova-rt.prom'], os.listdir(self.dir))

    def test_name_must_end_in_prom(self):
        path = os.path.join(self.dir, 'nova-rt.txt')
        e = self.assertRaises(metrics.MetricsFileError,
                              metrics.write_textfile, path, 'x\n')
        self.assertIn('the name must end in .prom', str(e))
        self.assertEqual([], os.listdir(self.dir))


class PinningTest(base.TestCase):

    def captured(self):
        with open(CAPTURED) as f:
            return f.read()

    def test_captured_cloud_domain(self):
        # A real-time server of the integration cloud: vCPU 1 fifo 10,
        # vCPU 0 and the emulator on CPU 0.
        pins = pinning.domain_pins(self.captured())
        self.assertTrue(pins.realtime)
        self.assertEqual(frozenset({0, 1}), pins.cpus)

    def test_usage(self):
        rt = pinning.DomainPins('rt', True, frozenset({1, 2, 9}))
        other = pinning.DomainPins('pinned', False, frozenset({2, 3}))
        floating = pinning.DomainPins('floating', False, frozenset())
        usage = pinning.usage({1, 2, 3, 4}, [rt, other, floating])
        self.assertEqual(pinning.PcpuUsage(total=4, realtime=2, other=1,
                                           free=1, realtime_instances=1),
                         usage)
        self.assertEqual(
            pinning.PcpuUsage(0, 0, 0, 0, 1), pinning.usage(None, [rt]))

    def test_not_realtime_without_fifo_or_rr(self):
        xml = self.captured().replace("scheduler='fifo'", "scheduler='other'")
        self.assertFalse(pinning.domain_pins(xml).realtime)
        xml = ('<domain><name>d</name><cputune><vcpupin vcpu="0" '
               'cpuset="4-5,^5"/></cputune></domain>')
        self.assertEqual(pinning.DomainPins('d', False, frozenset({4})),
                         pinning.domain_pins(xml))

    def test_count_reports_problems(self):
        usage, problem = pinning.count({1}, lambda: [self.captured()])
        self.assertIsNone(problem)
        self.assertEqual(1, usage.realtime)

        def broken():
            raise OSError('libvirt is gone')
        self.assertEqual(
            (None, 'cannot list the domains: OSError: libvirt is gone'),
            pinning.count({1}, broken))
        usage, problem = pinning.count({1}, lambda: ['<domain'])
        self.assertIsNone(usage)
        self.assertIn('domain XML (unparsable)', problem)
        bad = ('<domain><name>vm</name><cputune><vcpupin vcpu="0" '
               'cpuset="x"/></cputune></domain>')
        usage, problem = pinning.count({1}, lambda: [bad])
        self.assertTrue(problem.startswith('domain XML vm: vcpupin: '))


class ExportMetricsTest(base.TestCase):
    """The compute's audit service writes [nova_rt] metrics_file."""

    def setUp(self):
        super().setUp()
        self.root, _ = base.variant('tuned-dual-socket')
        self.conf = common.load_conf(
            [os.path.join(self.root, 'etc/nova/nova.conf')],
            register=rt_conf.register_migration_opts)
        self.conf.set_override('host_root', self.root, group='nova_rt')
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'nova-rt.prom')
        self.conf.set_override('metrics_file', self.path, group='nova_rt')
        self.logged = self.useFixture(fixtures.FakeLogger(
            name='nova_rt.host.service'))
        with open(CAPTURED) as f:
            self.xml = f.read()
        self.audit = service.HostAuditService(
            self.conf, wall_clock=lambda: 1796400000.0,
            domains=lambda: [self.xml])

    def read(self):
        with open(self.path) as f:
            return f.read()

    def test_written_from_the_audit(self):
        self.audit.export_metrics()
        text = self.read()
        found = samples(text)
        self.assertEqual(1, found[('nova_rt_host_ready', '')])
        self.assertEqual(1796400000.0, found[
            ('nova_rt_host_audit_timestamp_seconds', '')])
        # The captured domain pins CPUs 0-1; of the dedicated CPUs of the
        # tree, CPU 1 is real-time, CPU 0 is not dedicated.
        self.assertEqual(1, found[('nova_rt_pcpus', '{state="realtime"}')])
        self.assertEqual(1, found[('nova_rt_realtime_instances', '')])
        # The same renderer as `nova-rt host check --format prometheus`.
        code, out, err = test_cmd_host.main([
            'host', 'check', '--root', self.root, '--config-file',
            os.path.join(self.root, 'etc/nova/nova.conf'),
            '--smi-interval', '0', '--format', 'prometheus',
            '--libvirt-uri', 'test:///nonexistent'])
        self.assertEqual(0, code, err)
        cli = samples(out)
        del cli[('nova_rt_host_audit_timestamp_seconds', '')]
        for key, value in cli.items():
            self.assertEqual(value, found[key], key)

    def test_the_running_realtime_guests(self):
        # A mixed guest of the integration cloud (its libvirt status file
        # and its QEMU's /proc files) running on this tree.
        shutil.copytree(os.path.join(test_drift.WATCH, 'host-mixed-rr'),
                        self.root, dirs_exist_ok=True)
        self.audit.export_metrics()
        found = samples(self.read())
        self.assertEqual(1, found[('nova_rt_guests', '{status="ok"}')])
        self.assertEqual(0, found[(
            'nova_rt_guest_drift', '{uuid="50b460e6-9ca8-4b8a-9174-'
            '79665f09d24e",domain="instance-00000059"}')])
        code, out, err = test_cmd_host.main([
            'host', 'check', '--root', self.root, '--config-file',
            os.path.join(self.root, 'etc/nova/nova.conf'),
            '--smi-interval', '0', '--format', 'prometheus',
            '--libvirt-uri', 'test:///nonexistent'])
        self.assertIn('nova_rt_guests{status="ok"} 1\n', out)

    def test_guests_not_checked_say_why(self):
        self.audit.export_metrics()
        self.assertIn('# nova-rt: real-time guests not checked: '
                      '/run/libvirt/qemu: missing', self.read())

    def test_unset_writes_nothing(self):
        self.conf.set_override('metrics_file', None, group='nova_rt')
        self.audit.export_metrics()
        self.assertEqual([], os.listdir(self.dir))

    def test_unwritable_logged_once_and_never_raised(self):
        self.conf.set_override('metrics_file',
                               os.path.join(self.dir, 'no', 'x.prom'),
                               group='nova_rt')
        self.audit.export_metrics()
        self.audit.export_metrics()
        self.assertEqual(1, self.logged.output.count(
            'cannot write the metrics file'))
        self.assertEqual([], os.listdir(self.dir))
        self.conf.set_override('metrics_file', self.path, group='nova_rt')
        self.audit.export_metrics()
        self.assertIn('metrics written to %s again' % self.path,
                      self.logged.output)
        self.assertIn('nova_rt_host_ready 1', self.read())

    def test_failing_domain_reader_still_writes(self):
        def broken():
            raise RuntimeError('libvirt said no')
        audit = service.HostAuditService(self.conf, domains=broken)
        audit.export_metrics()
        text = self.read()
        self.assertIn('# nova-rt: PCPU usage not counted: cannot list the '
                      'domains: RuntimeError: libvirt said no', text)
        self.assertIn('nova_rt_host_ready 1', text)


class HostCheckPrometheusTest(base.TestCase):
    """``nova-rt host check --format prometheus`` and its bad input."""

    def setUp(self):
        super().setUp()
        self.root = base.tree('tuned-dual-socket')
        self.args = ['host', 'check', '--root', self.root, '--config-file',
                     os.path.join(self.root, 'etc/nova/nova.conf'),
                     '--smi-interval', '0', '--libvirt-uri',
                     'test:///nonexistent']
        self.dir = self.useFixture(fixtures.TempDir()).path

    def test_output_file(self):
        path = os.path.join(self.dir, 'nova-rt.prom')
        code, out, err = test_cmd_host.main(
            self.args + ['--format', 'prometheus', '--output', path])
        self.assertEqual((0, '', ''), (code, out, err))
        with open(path) as f:
            self.assertIn('nova_rt_host_ready 1\n', f.read())

    def test_unwritable_output_is_one_line_exit_2(self):
        path = os.path.join(self.dir, 'missing', 'nova-rt.prom')
        code, out, err = test_cmd_host.main(
            self.args + ['--format', 'prometheus', '--output', path])
        self.assertEqual(2, code)
        self.assertEqual('', out)
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertTrue(err.startswith(
            'nova-rt: error: cannot write the metrics file %s: ' % path))
        self.assertEqual([], os.listdir(self.dir))

    def test_output_needs_prometheus(self):
        code, out, err = test_cmd_host.main(
            self.args + ['--output', os.path.join(self.dir, 'x.prom')])
        self.assertEqual((2, ''), (code, out))
        self.assertEqual('nova-rt: error: --output needs --format '
                         'prometheus\n', err)


class DashboardTest(base.TestCase):
    """The Grafana dashboard in the docs asks only for metrics nova-rt
    writes.
    """

    def test_queries_name_rendered_families(self):
        repo = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.abspath(__file__)))))
        path = os.path.join(repo, 'doc', 'source', '_static',
                            'nova-rt-grafana.json')
        with open(path) as f:
            dashboard = json.load(f)
        exprs = [t['expr'] for p in dashboard['panels']
                 for t in p['targets']]
        used = set(re.findall(r'\bnova_rt_[a-z_]+', ' '.join(exprs)))
        text = metrics.render(metrics.Snapshot(
            report=report(), lab=False, latency=CERTIFIED, audited_at=1.0,
            pcpus=pinning.PcpuUsage(1, 0, 0, 1, 0),
            guests=[test_drift.CapturedGuest(
                self, 'qemu-healthy').report()]))
        rendered = {name for name, _ in samples(text)}
        self.assertTrue(used)
        self.assertEqual(set(), used - rendered)
