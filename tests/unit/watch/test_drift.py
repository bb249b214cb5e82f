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
"""A running guest's drift, on real /proc trees and domains
(tests/unit/captured/watch/README.rst): the integration cloud's guests, and
a QEMU set as rt.small's domain asks, then changed behind it with chrt and
taskset.
"""

import os
import shutil

import fixtures
import testtools

from nova_rt.host import checks
from nova_rt.host import metrics
from nova_rt.host import reader
from nova_rt.latency import certificate
from nova_rt.watch import drift
from nova_rt.watch import expected
from nova_rt.watch import guests
from nova_rt.watch import threads

WATCH = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'captured', 'watch')


class CapturedGuest(object):
    """A captured guest: its domain and its QEMU's /proc files, copied to
    a scratch root a test may change.
    """

    def __init__(self, test, name):
        self.root = test.useFixture(fixtures.TempDir()).path
        shutil.copytree(os.path.join(WATCH, name), self.root,
                        dirs_exist_ok=True)
        self.pid = int(os.listdir(os.path.join(self.root, 'proc'))[0])
        with open(os.path.join(self.root, 'domain.xml')) as f:
            self.settings = expected.from_domain(f.read())
        self.reader = reader.HostReader(self.root)

    def task(self, comm):
        """The tid of the thread named ``comm``."""
        for tid, thread in threads.read_threads(self.reader,
                                                self.pid).items():
            if thread.comm == comm:
                return tid
        raise AssertionError('no thread %s' % comm)

    def path(self, tid, name):
        return os.path.join(self.root, 'proc', str(self.pid), 'task',
                            str(tid), name)

    def edit(self, tid, name, old, new):
        path = self.path(tid, name)
        with open(path) as f:
            text = f.read()
        assert old in text, (old, text)
        with open(path, 'w') as f:
            f.write(text.replace(old, new, 1))

    def report(self):
        try:
            locked = threads.locked_kib(self.reader, self.pid)
        except reader.HostFileError as e:
            locked = e
        return drift.check(self.settings,
                           threads.read_threads(self.reader, self.pid),
                           locked, self.pid)


class ExpectedTest(testtools.TestCase):

    def test_mixed_guest(self):
        settings = CapturedGuest(self, 'rt-small-healthy').settings
        self.assertEqual('instance-0000002a', settings.name)
        self.assertEqual('f69fef98-5ebb-416a-9bd0-d5293ce28b0d',
                         settings.uuid)
        self.assertEqual(
            {0: expected.ThreadSettings(frozenset([0]), ('other', 0)),
             1: expected.ThreadSettings(frozenset([1]), ('fifo', 10))},
            settings.vcpus)
        self.assertEqual(expected.ThreadSettings(frozenset([0]),
                                                 ('other', 0)),
                         settings.emulator)
        self.assertEqual({1: expected.ThreadSettings(frozenset([0]),
                                                     ('other', 0))},
                         settings.iothreads)
        self.assertEqual(128 * 1024, settings.locked_kib)
        self.assertEqual([1], settings.realtime_vcpus)
        self.assertEqual(frozenset([1]), settings.realtime_cpus)

    def test_ordinary_guest(self):
        settings = CapturedGuest(self, 'ordinary-healthy').settings
        self.assertEqual([], settings.realtime_vcpus)
        self.assertIsNone(settings.locked_kib)

    def test_damaged_domains_are_refused_by_name(self):
        with open(os.path.join(WATCH, 'rt-small-healthy',
                               'domain.xml')) as f:
            xml = f.read()
        for old, new, says in (
                ("<vcpusched vcpus='1' scheduler='fifo' priority='10'/>",
                 "<vcpusched vcpus='1' scheduler='fifo'/>",
                 "vcpusched fifo priority None"),
                ("<vcpusched vcpus='1' scheduler='fifo' priority='10'/>",
                 "<vcpusched vcpus='1' scheduler='edf' priority='10'/>",
                 "vcpusched scheduler 'edf'"),
                ("<vcpupin vcpu='1' cpuset='1'/>",
                 "<vcpupin vcpu='1' cpuset='1-x'/>", 'vcpupin'),
                ("<vcpupin vcpu='1' cpuset='1'/>",
                 "<vcpupin vcpu='one' cpuset='1'/>",
                 "<vcpupin vcpu='one'>"),
                ("<vcpu placement='static'>2</vcpu>",
                 "<vcpu placement='static'>two</vcpu>", "<vcpu> 'two'")):
            self.assertIn(old, xml)
            e = self.assertRaises(expected.DomainInvalid,
                                  expected.from_domain,
                                  xml.replace(old, new))
            self.assertIn('instance-0000002a', str(e))
            self.assertIn(says, str(e))
        e = self.assertRaises(expected.DomainInvalid, expected.from_domain,
                              '<domain')
        self.assertIn('not XML', str(e))


class ThreadsTest(testtools.TestCase):

    def test_threads_of_a_mixed_guest(self):
        guest = CapturedGuest(self, 'rt-small-healthy')
        found = threads.read_threads(guest.reader, guest.pid)
        self.assertEqual(
            [('qemu-system-x86', ('emulator', None)),
             ('qemu-system-x86', ('emulator', None)),
             ('IO iothread1', ('iothread', 1)),
             ('worker', ('emulator', None)),
             ('IO mon_iothread', ('emulator', None)),
             ('CPU 0/TCG', ('vcpu', 0)),
             ('CPU 1/TCG', ('vcpu', 1))],
            [(t.comm, t.role) for _, t in sorted(found.items())])
        vcpu1 = found[guest.task('CPU 1/TCG')]
        self.assertEqual(('fifo', 10, frozenset([1]), 1),
                         (vcpu1.policy, vcpu1.priority, vcpu1.allowed,
                          vcpu1.last_cpu))
        # Alone on its CPU: 2.3 ms waited in all, two preemptions.
        self.assertEqual((2326844, 2), (vcpu1.run_delay_ns,
                                        vcpu1.involuntary_switches))
        self.assertEqual(807972, threads.locked_kib(guest.reader,
                                                    guest.pid))

    def test_a_thread_gone_mid_read_is_left_out(self):
        guest = CapturedGuest(self, 'rt-small-healthy')
        worker = guest.task('worker')
        os.remove(guest.path(worker, 'schedstat'))
        self.assertNotIn(worker, threads.read_threads(guest.reader,
                                                      guest.pid))

    def test_an_unreadable_thread_is_unknown_with_its_reason(self):
        guest = CapturedGuest(self, 'rt-small-healthy')
        vcpu1 = guest.task('CPU 1/TCG')
        guest.edit(vcpu1, 'status', 'Cpus_allowed_list:', 'Cpus_allowed:')
        thread = threads.read_threads(guest.reader, guest.pid)[vcpu1]
        self.assertIsNone(thread.role)
        self.assertIn('no Cpus_allowed_list', thread.unknown)
        self.assertIn('/proc/%d/task/%d' % (guest.pid, vcpu1),
                      thread.unknown)

    def test_a_process_gone_is_an_error(self):
        guest = CapturedGuest(self, 'rt-small-healthy')
        self.assertRaises(reader.HostFileMissing, threads.read_threads,
                          guest.reader, guest.pid + 1)

    def test_stat_lines(self):
        self.assertEqual(('a) (b', 'rr', 5, 3), threads.parse_stat(
            '7 (a) (b) S' + ' 0' * 35 + ' 3 5 2 0'))
        self.assertRaises(ValueError, threads.parse_stat, 'no comm')
        self.assertRaises(ValueError, threads.parse_stat, '7 (x) S 1 2')
        self.assertRaises(ValueError, threads.parse_schedstat, '1 2')


class DriftTest(testtools.TestCase):

    def test_healthy_guests_report_nothing(self):
        for name in ('rt-small-healthy', 'ordinary-healthy'):
            report = CapturedGuest(self, name).report()
            self.assertEqual((drift.OK, ()), (report.status,
                                              report.differences), name)

    def report_of(self, name):
        return [str(d) for d in CapturedGuest(self, name).report()
                .differences]

    def test_a_qemu_set_as_the_domain_asks(self):
        self.assertEqual([], self.report_of('qemu-healthy'))

    def test_a_vcpu_chrt_to_another_priority(self):
        guest = CapturedGuest(self, 'qemu-vcpu-chrt')
        report = guest.report()
        self.assertEqual(drift.DRIFT, report.status)
        self.assertEqual(['vCPU 1 (thread 4682) scheduling: fifo 10 '
                          'expected, fifo 20 found'],
                         [str(d) for d in report.differences])

    def test_a_vcpu_let_onto_every_cpu(self):
        self.assertEqual(['vCPU 1 (thread 4682) affinity: CPUs 1 expected, '
                          'CPUs 0-1 found'],
                         self.report_of('qemu-vcpu-taskset'))

    def test_an_iothread_moved_onto_the_realtime_cpu(self):
        self.assertEqual(['IOThread 1 (thread 4680) affinity: CPUs 0 '
                          'expected, CPUs 1 found'],
                         self.report_of('qemu-iothread-moved'))

    def test_memory_not_locked(self):
        self.assertEqual(['locked memory: at least 131072 KiB expected, 0 '
                          'KiB found'], self.report_of('qemu-unlocked'))

    def test_an_emulator_thread_moved(self):
        guest = CapturedGuest(self, 'rt-small-healthy')
        worker = guest.task('worker')
        guest.edit(worker, 'status', 'Cpus_allowed_list:\t0',
                   'Cpus_allowed_list:\t1')
        self.assertEqual(['emulator thread %d (worker) affinity: CPUs 0 '
                          'expected, CPUs 1 found' % worker],
                         [str(d) for d in guest.report().differences])

    def test_what_cannot_be_read_is_unknown_never_fine(self):
        guest = CapturedGuest(self, 'rt-small-healthy')
        vcpu1 = guest.task('CPU 1/TCG')
        with open(guest.path(vcpu1, 'stat'), 'w') as f:
            f.write('26892 (CPU 1/TCG) S 1\n')
        os.remove(os.path.join(guest.root, 'proc', str(guest.pid),
                               'status'))
        report = guest.report()
        self.assertEqual(drift.UNKNOWN, report.status)
        self.assertEqual(['thread %d', 'vCPU 1', 'locked memory'],
                         [d.what.replace(str(vcpu1), '%d')
                          for d in report.differences])
        self.assertTrue(all(d.unknown for d in report.differences))


class HostTest(testtools.TestCase):
    """The guests of a host, from libvirt's status files: a mixed guest
    (vCPU 1 RR 17 on CPU 1, a FIFO 3 emulator and IOThread on CPU 0).
    """

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        shutil.copytree(os.path.join(WATCH, 'host-mixed-rr'), self.root,
                        dirs_exist_ok=True)
        self.reader = reader.HostReader(self.root)
        self.status_dir = os.path.join(self.root, 'run', 'libvirt', 'qemu')

    def add_status(self, name, text):
        with open(os.path.join(self.status_dir, name), 'w') as f:
            f.write(text)

    def test_a_healthy_mixed_guest(self):
        reports = guests.check_host(self.reader)
        self.assertEqual([('instance-00000059', drift.OK, ())],
                         [(r.name, r.status, r.differences)
                          for r in reports])
        guest = guests.read_status(self.reader, 'instance-00000059.xml')
        self.assertEqual({1: expected.ThreadSettings(frozenset([0]),
                                                     ('fifo', 3))},
                         guest.settings.iothreads)
        self.assertEqual(('fifo', 3), guest.settings.emulator.sched)
        self.assertEqual(('rr', 17), guest.settings.vcpus[1].sched)

    def test_chosen_by_name_or_uuid_and_realtime_only(self):
        with open(os.path.join(self.status_dir,
                               'instance-00000059.xml')) as f:
            status = f.read()
        # The same guest again, its vCPUs not real-time: skipped.
        self.add_status('instance-00000060.xml', status.replace(
            'instance-00000059', 'instance-00000060').replace(
            "<vcpusched vcpus='1' scheduler='rr' priority='17'/>", ''))
        self.assertEqual(['instance-00000059'],
                         [r.name for r in guests.check_host(self.reader)])
        self.assertEqual(
            ['instance-00000059', 'instance-00000060'],
            [r.name for r in guests.check_host(self.reader,
                                               realtime_only=False)])
        self.assertEqual(['instance-00000059'], [
            r.name for r in guests.check_host(
                self.reader, names={'50b460e6-9ca8-4b8a-9174-79665f09d24e'})])
        self.assertEqual([], guests.check_host(self.reader,
                                               names={'instance-1'}))

    def test_damaged_status_files_are_unknown_guests(self):
        self.add_status('instance-00000061.xml', '<domstatus')
        self.add_status('instance-00000062.xml',
                        "<domstatus state='running'><domain/></domstatus>")
        self.add_status('instance-00000063.xml', '<domain/>')
        self.add_status('instance-00000064.xml',
                        "<domstatus state='shutoff'/>")
        reports = {r.name: r for r in guests.check_host(self.reader)}
        self.assertEqual(drift.OK, reports.pop('instance-00000059').status)
        self.assertEqual(
            {'instance-00000061': 'not XML',
             'instance-00000062': 'no QEMU pid or no <domain>',
             'instance-00000063': 'a <domain>, not a <domstatus>'},
            {name: [part for part in ('not XML',
                                      'no QEMU pid or no <domain>',
                                      'a <domain>, not a <domstatus>')
                    if part in r.differences[0].found][0]
             for name, r in reports.items()})
        self.assertTrue(all(r.status == drift.UNKNOWN
                            for r in reports.values()))

    def test_a_guest_whose_qemu_is_gone_is_unknown(self):
        shutil.rmtree(os.path.join(self.root, 'proc'))
        report, = guests.check_host(self.reader)
        self.assertEqual(drift.UNKNOWN, report.status)
        self.assertIn('its QEMU (pid 4546)', report.differences[0].found)

    def test_no_libvirt_status_directory_is_an_error(self):
        shutil.rmtree(self.status_dir)
        self.assertRaises(reader.HostFileMissing, guests.check_host,
                          self.reader)


class GuestMetricsTest(testtools.TestCase):
    """The running real-time guests in the metrics file's exposition."""

    def render(self, reports, problem=None):
        snap = metrics.Snapshot(
            report=checks.Report(ready=True, kernel='preempt_rt',
                                 isolated_cpus=frozenset({1}), findings=()),
            lab=False, latency=certificate.Verdict(False, None, 'none'),
            audited_at=1796600000.0, guests=reports, guests_problem=problem)
        return metrics.render(snap)

    def test_a_healthy_and_a_drifted_guest(self):
        healthy = CapturedGuest(self, 'qemu-healthy').report()
        drifted = CapturedGuest(self, 'qemu-vcpu-chrt').report()
        drifted = drift.GuestReport('instance-0000002b', None,
                                    drifted.differences, drifted.loads)
        text = self.render([healthy, drifted])
        uuid = 'f69fef98-5ebb-416a-9bd0-d5293ce28b0d'
        for line in (
                'nova_rt_guests{status="ok"} 1',
                'nova_rt_guests{status="drift"} 1',
                'nova_rt_guests{status="unknown"} 0',
                'nova_rt_guest_drift{uuid="%s",domain="instance-'
                '0000002a"} 0' % uuid,
                'nova_rt_guest_drift{uuid="",'
                'domain="instance-0000002b"} 1',
                'nova_rt_guest_unknown{uuid="%s",domain="instance-'
                '0000002a"} 0' % uuid,
                '# TYPE nova_rt_guest_vcpu_run_delay_seconds_total counter',
                '# TYPE nova_rt_guest_vcpu_involuntary_switches_total '
                'counter'):
            self.assertIn(line + '\n', text)
        # One series per real-time vCPU: vCPU 1 only.
        delays = [line for line in text.splitlines() if line.startswith(
            'nova_rt_guest_vcpu_run_delay_seconds_total{')]
        self.assertEqual(2, len(delays))
        self.assertTrue(all('vcpu="1"' in line for line in delays))
        load = healthy.loads[0]
        self.assertEqual((1, 4682), (load.vcpu, load.tid))
        self.assertIn(
            'nova_rt_guest_vcpu_run_delay_seconds_total{uuid="%s",'
            'domain="instance-0000002a",vcpu="1"} %r\n'
            % (uuid, load.run_delay_ns / 1e9), text)

    def test_guests_not_checked_say_why(self):
        text = self.render(None, '/run/libvirt/qemu: denied')
        self.assertIn('# nova-rt: real-time guests not checked: '
                      '/run/libvirt/qemu: denied\n', text)
        self.assertNotIn('nova_rt_guest', text)
