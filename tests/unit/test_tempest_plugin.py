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
"""The host-side reading of nova-rt's tempest plugin, on what it read from
a real-time server of the integration cloud (tools/cloud; rt.small: two
vCPUs, vCPU 1 fifo 10, captured under tests/unit/captured)."""

import copy
import json
import os
import subprocess
import sys
import traceback
from unittest import mock

import fixtures
from nova_rt_tempest_plugin import faultdetails
from nova_rt_tempest_plugin import hostside
from nova_rt_tempest_plugin import servicestate
import testtools

from nova_rt.core import cpuset

CAPTURED = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'captured')


# Two threads that start and join short-lived threads, forever.
CHURN = """
import threading
def churn():
    while True:
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
for _ in range(2):
    threading.Thread(target=churn, daemon=True).start()
print('churning', flush=True)
threading.Event().wait()
"""


def captured(name):
    with open(os.path.join(CAPTURED, name)) as f:
        return f.read()


class ThreadsTest(testtools.TestCase):

    def test_threads_of_a_realtime_guest(self):
        threads = hostside.parse_threads(
            captured('cloud-rt-small-threads.txt'))
        self.assertEqual(8, len(threads))
        vcpus = {t.vcpu: t for t in threads if t.vcpu is not None}
        self.assertEqual({0, 1}, set(vcpus))
        rt = vcpus[1]
        self.assertEqual(('CPU 1/TCG', 'fifo', 10, 1, frozenset({1})),
                         (rt.comm, rt.policy, rt.priority, rt.last_cpu,
                          rt.allowed))
        self.assertEqual(('other', 0, frozenset({0})),
                         (vcpus[0].policy, vcpus[0].priority,
                          vcpus[0].allowed))
        main = min(threads, key=lambda t: t.tid)
        self.assertEqual(('qemu-system-x86', 'other', None),
                         (main.comm, main.policy, main.vcpu))
        self.assertEqual('IO mon_iothread', threads[5].comm)

    def test_stat_with_parentheses_and_spaces_in_comm(self):
        # proc(5): field 39 processor, 40 rt_priority, 41 policy.
        fields = ['S'] + ['0'] * 49
        fields[39 - 3], fields[40 - 3], fields[41 - 3] = '3', '7', '2'
        stat = '42 (a (b) c) ' + ' '.join(fields)
        self.assertEqual(('a (b) c', 'rr', 7, 3), hostside.parse_stat(stat))
        self.assertRaises(ValueError, hostside.parse_stat, 'garbage')

    def test_threads_that_exit_while_read_are_skipped(self):
        # QEMU's workers come and go (a live migration's end, an aborted
        # one): the reading of a process whose threads churn must never
        # see half a thread. Before the script skipped them, 165 of 200
        # readings of such a process failed. The churn runs in a child
        # process: this one's threads are eventlet's (nova's tests).
        pidfile = self.useFixture(fixtures.TempDir()).join('pid')
        child = subprocess.Popen([sys.executable, '-c', CHURN],
                                 stdout=subprocess.PIPE, text=True)
        self.addCleanup(child.wait)
        self.addCleanup(child.kill)
        self.assertEqual('churning\n', child.stdout.readline())
        with open(pidfile, 'w') as f:
            f.write(str(child.pid))
        for _ in range(50):
            out = subprocess.run(
                ['sh', '-c', hostside.THREADS_SCRIPT % {'pidfile': pidfile}],
                capture_output=True, text=True, check=True).stdout
            tids = {t.tid for t in hostside.parse_threads(out)}
            self.assertIn(child.pid, tids)
            self.assertGreater(len(tids), 1)


class LatencyConsoleTest(testtools.TestCase):

    def test_tags_in_order_after_kernel_output_and_carriage_returns(self):
        console = ('[    1.2] Run /init as init process\r\n'
                   'NRT-LATENCY-BEGIN:\r\n'
                   '[    9.9] random: crng init doneNRT-LATENCY-RC:0\n'
                   'NRT-LATENCY-JSON:{"a":\n'
                   'NRT-LATENCY-JSON: 1}\n'
                   'NRT-READY:\n'
                   'NRT-LATENCY-END:\n')
        lines = hostside.latency_console(console)
        self.assertEqual({'BEGIN': [''], 'RC': ['0'],
                          'JSON': ['{"a":', ' 1}'], 'ERR': [], 'END': ['']},
                         lines)

    def test_nothing_printed_yet(self):
        self.assertEqual({'JSON': [], 'ERR': [], 'RC': []},
                         hostside.latency_console('booting\n'))


class DomainTest(testtools.TestCase):

    def test_domain_of_a_realtime_guest(self):
        dom = hostside.parse_domain(captured('cloud-rt-small-domain.xml'))
        self.assertEqual(2, dom.vcpus)
        self.assertEqual({0: frozenset({0}), 1: frozenset({1})},
                         dom.vcpupins)
        self.assertEqual(frozenset({0}), dom.emulatorpin)
        self.assertEqual({1: ('fifo', 10)}, dom.vcpusched)
        self.assertIsNone(dom.emulatorsched)
        self.assertEqual('off', dom.pmu)
        self.assertTrue(dom.locked)
        # TCG: the translation cache nova-rt bounds, as libvirt wrote it
        # back (65536 KiB).
        self.assertEqual(('qemu', 64), (dom.virt_type, dom.tb_cache_mib))
        self.assertIn('org.openstack.nova-rt.vcpu-scheduler=fifo:10',
                      dom.oem_strings)
        self.assertTrue(dom.cmdline.startswith('console=ttyS0 '))
        self.assertIn('nohz_full=1 rcu_nocbs=1 irqaffinity=0', dom.cmdline)


class ComputeRecordTest(testtools.TestCase):
    """``tools/cloud usage`` of a compute holding a real-time server's
    CPU, captured during a resize of the integration cloud.
    """

    def test_pinned_cpus_and_stats(self):
        record = hostside.parse_compute_record(
            captured('cloud-compute-record-pinned.json'))
        self.assertEqual('compute1', record.host)
        self.assertEqual(frozenset({1}), record.pinned)
        self.assertEqual('true', record.stats['nova_rt_lab_mode'])
        self.assertNotIn('nova_rt_latency_max_us', record.stats)

    def test_cells_add_up(self):
        doc = json.loads(captured('cloud-compute-record-pinned.json'))
        cells = doc['numa_topology']['nova_object.data']['cells']
        other = copy.deepcopy(cells[0])
        other['nova_object.data'].update(id=1, pinned_cpus=[5, 7])
        cells.append(other)
        self.assertEqual(frozenset({1, 5, 7}), hostside.parse_compute_record(
            json.dumps(doc)).pinned)

    def test_damaged_records_are_refused_by_name(self):
        doc = json.loads(captured('cloud-compute-record-pinned.json'))
        no_topology = dict(doc, numa_topology=None)
        no_pins = copy.deepcopy(doc)
        del no_pins['numa_topology']['nova_object.data']['cells'][0][
            'nova_object.data']['pinned_cpus']
        for text, says in (('', 'JSONDecodeError'),
                           (json.dumps(no_topology), 'no NUMA topology'),
                           (json.dumps(no_pins), "KeyError: 'pinned_cpus'"),
                           ('[]', 'TypeError')):
            e = self.assertRaises(ValueError, hostside.parse_compute_record,
                                  text)
            self.assertIn('not a compute node record', str(e))
            self.assertIn(says, str(e))


class InstancePinsTest(testtools.TestCase):
    """``tools/cloud pins`` of a mixed real-time server (vCPU 0 shared,
    vCPU 1 on CPU 1), captured on the 2025.1 cloud.
    """

    def test_mixed_guest(self):
        pins = hostside.parse_instance_pins(
            captured('cloud-instance-pins-mixed.json'))
        self.assertEqual({1: 1}, pins.vcpus)
        self.assertEqual(frozenset(), pins.emulator)

    def test_isolated_emulator_and_two_cells(self):
        doc = json.loads(captured('cloud-instance-pins-mixed.json'))
        cells = doc['numa_topology']['nova_object.data']['cells']
        cells[0]['nova_object.data']['cpuset_reserved'] = [4]
        other = copy.deepcopy(cells[0])
        other['nova_object.data'].update(id=1, cpu_pinning_raw={'2': 9},
                                         cpuset_reserved=None)
        cells.append(other)
        pins = hostside.parse_instance_pins(json.dumps(doc))
        self.assertEqual({1: 1, 2: 9}, pins.vcpus)
        self.assertEqual(frozenset({4}), pins.emulator)

    def test_damaged_records_are_refused_by_name(self):
        doc = json.loads(captured('cloud-instance-pins-mixed.json'))
        unpinned = dict(doc, numa_topology=None)
        no_cells = copy.deepcopy(doc)
        del no_cells['numa_topology']['nova_object.data']['cells']
        bad_cpu = copy.deepcopy(doc)
        bad_cpu['numa_topology']['nova_object.data']['cells'][0][
            'nova_object.data']['cpu_pinning_raw'] = {'1': 'one'}
        for text, says in (('', 'JSONDecodeError'),
                           (json.dumps(unpinned), 'not pinned'),
                           (json.dumps(no_cells), "KeyError: 'cells'"),
                           (json.dumps(bad_cpu), "'one'"),
                           ('[]', 'TypeError')):
            e = self.assertRaises(ValueError, hostside.parse_instance_pins,
                                  text)
            self.assertIn('not an instance pins record', str(e))
            self.assertIn(says, str(e))


class IOThreadDomainTest(testtools.TestCase):
    """A mixed RR 17 guest booted by Nova 2026.1 with nova-rt: its
    IOThread pinned with the emulator threads, on the shared CPU.
    """

    def test_iothread_pins(self):
        dom = hostside.parse_domain(
            captured('cloud-rt-mixed-2026.1-domain.xml'))
        self.assertEqual({1: frozenset({0})}, dom.iothreadpins)
        self.assertEqual(frozenset({0}), dom.emulatorpin)
        self.assertEqual({1: ('rr', 17)}, dom.vcpusched)
        self.assertEqual(('fifo', 3), dom.emulatorsched)

    def test_none_before_2026_1(self):
        # The same flavor booted by Nova 2025.1 (and the domain exactly
        # so after the upgrade to 2026.1).
        dom = hostside.parse_domain(
            captured('cloud-rt-mixed-2025.1-domain.xml'))
        self.assertEqual({}, dom.iothreadpins)
        self.assertEqual({1: ('rr', 17)}, dom.vcpusched)


class DomainPinsTest(testtools.TestCase):

    def test_mixed_guest_holds_its_realtime_cpu_only(self):
        dom = hostside.parse_domain(captured('cloud-rt-small-domain.xml'))
        # vCPU 0 and the emulator float on shared CPU 0, vCPU 1 on 1.
        self.assertEqual(frozenset({1}),
                         hostside.domain_pins(dom, frozenset({1})))
        self.assertEqual(frozenset(),
                         hostside.domain_pins(dom, frozenset({2, 3})))

    def test_isolated_emulator_cpu_is_held(self):
        dom = hostside.parse_domain(captured('cloud-rt-small-domain.xml'))
        dom.emulatorpin = frozenset({3})
        self.assertEqual(frozenset({1, 3}),
                         hostside.domain_pins(dom, frozenset({1, 3})))


class JobInfoTest(testtools.TestCase):

    def test_completed_incoming_migration(self):
        """virsh domjobinfo --completed on the destination of a live
        migration of the integration cloud.
        """
        job = hostside.parse_jobinfo(
            captured('cloud-domjobinfo-completed.txt'))
        self.assertEqual(1618, job['Time elapsed'])
        self.assertEqual(80, job['Total downtime'])
        self.assertEqual(2, job['Setup time'])
        self.assertEqual('Incoming migration', job['Operation'])
        self.assertEqual('86.906 MiB', job['Data processed'])
        # Not in milliseconds: kept as text.
        self.assertEqual('4096         bytes', job['Page size'])

    def test_no_job(self):
        self.assertEqual({'Job type': 'None'},
                         hostside.parse_jobinfo('Job type:         None\n'))


class ScansTest(testtools.TestCase):
    """The leftover scans read for real here, and fail on their own
    errors instead of reporting "nothing left".
    """

    def test_a_guests_qemu_is_found(self):
        fake = subprocess.Popen(
            [sys.executable, '-c', 'import time; time.sleep(60)',
             'qemu-system-x86_64', '-name',
             'guest=instance-00c0ffee,debug-threads=on'])
        self.addCleanup(fake.wait)
        self.addCleanup(fake.kill)
        access = hostside.HostAccess('local')
        if os.geteuid() != 0:
            access.argv = lambda address: ['bash', '-s']
        self.assertIn('instance-00c0ffee', access.qemu_guests('localhost'))

    def test_a_scan_that_read_nothing_is_an_error(self):
        self.assertEqual(['instance-1', 'instance-2'],
                         hostside.parse_qemu_guests(
                             'instance-1\ninstance-2\nscanned 40\n'))
        for text in ('', 'instance-1\n', 'scanned 0\n', 'scanned x\n'):
            self.assertRaises(hostside.HostAccessError,
                              hostside.parse_qemu_guests, text)

    def test_entries_of_a_missing_directory_is_an_error(self):
        access = hostside.HostAccess('local')
        access.argv = lambda address: ['bash', '-s']
        tmp = self.useFixture(fixtures.TempDir()).path
        open(os.path.join(tmp, '.hidden'), 'w').close()
        os.mkdir(os.path.join(tmp, 'abc-uuid'))
        self.assertEqual(['.hidden', 'abc-uuid'],
                         sorted(access.entries('localhost', tmp)))
        e = self.assertRaises(hostside.HostAccessError, access.entries,
                              'localhost', os.path.join(tmp, 'missing'))
        self.assertIn('No such file or directory', str(e))


class HostAccessTest(testtools.TestCase):

    def test_ssh_argv(self):
        access = hostside.HostAccess('ssh', 'zuul', '/k')
        argv = access.argv('10.1.2.3')
        self.assertEqual(['-i', '/k', 'zuul@10.1.2.3', 'sudo -n bash -s'],
                         argv[-4:])
        self.assertIn('BatchMode=yes', argv)
        self.assertEqual('bash -s', hostside.HostAccess(
            'ssh', 'root').argv('h')[-1])
        self.assertRaises(hostside.HostAccessError, hostside.HostAccess,
                          'telnet')

    def test_command_argv_names_the_host(self):
        access = hostside.HostAccess(
            'command', host_command="'/x y/tools/cloud' exec {host} --")
        self.assertEqual(['/x y/tools/cloud', 'exec', 'compute2', '--',
                          'bash', '-s'], access.argv('compute2'))
        for bad in ('', 'tools/cloud exec compute1 --'):
            e = self.assertRaises(hostside.HostAccessError,
                                  hostside.HostAccess, 'command',
                                  host_command=bad)
            self.assertIn('{host}', str(e))

    def test_command_run_reaches_the_script(self):
        access = hostside.HostAccess(
            'command', host_command='env NRT_HOST={host}')
        self.assertEqual('compute1\n',
                         access.run('compute1', 'echo "$NRT_HOST"\n'))

    def test_local_argv_uses_sudo_unless_root(self):
        access = hostside.HostAccess('local')
        with mock.patch('os.geteuid', return_value=0):
            self.assertEqual(['bash', '-s'], access.argv('localhost'))
        with mock.patch('os.geteuid', return_value=1000):
            self.assertEqual(['sudo', '-n', 'bash', '-s'],
                             access.argv('localhost'))

    def test_local_run_and_its_errors(self):
        access = hostside.HostAccess('local', timeout=10)
        self.assertEqual('hi\n', access.run('localhost', 'echo hi\n'))
        e = self.assertRaises(hostside.HostAccessError, access.run,
                              'localhost', 'echo broken >&2; exit 3\n')
        self.assertIn('exited 3: broken', str(e))


class FaultDetailsTest(testtools.TestCase):
    """Whose code raised the error a server fault records."""

    def test_nova_failure_through_the_spawn_override(self):
        # nova-compute SIGTERMed (with its process group) in a spawn: its
        # qemu-img child died, and Nova aborted the build. The traceback
        # passes through nova-rt's spawn, which only called Nova's.
        details = captured('cloud-fault-spawn-sigterm.txt')
        self.assertIn('/nova_rt/virt/driver.py', details)
        frames = faultdetails.raising_frames(details)
        self.assertEqual(
            ['execute', 'unprivileged_qemu_img_info',
             '_build_and_run_instance'], [f[1] for f in frames])
        self.assertTrue(frames[0][0].endswith(
            'oslo_concurrency/processutils.py'))
        self.assertEqual([], faultdetails.raised_in_nova_rt(details))

    def test_an_error_raised_in_nova_rt(self):
        try:
            try:
                cpuset.parse('1-x')
            except Exception as e:
                raise RuntimeError('build aborted') from e
        except RuntimeError:
            details = traceback.format_exc()
        raised = faultdetails.raised_in_nova_rt(details)
        self.assertEqual(1, len(raised), details)
        self.assertTrue(raised[0][0].endswith('/nova_rt/core/cpuset.py'))

    def test_no_details(self):
        for details in (None, '', 'Build of instance x aborted'):
            self.assertEqual([], faultdetails.raising_frames(details))


class ServiceStateTest(testtools.TestCase):
    """A restarted compute is back once it reported after the restart."""

    # 2026-12-07 15:34:53.2 UTC: when the restart returned.
    DONE = 1796657693.2

    def service(self, updated_at):
        return {'host': 'compute2', 'state': 'up', 'status': 'enabled',
                'updated_at': updated_at}

    def test_the_stopped_process_last_report_does_not_count(self):
        for stamp in ('2026-12-07T15:34:50.000000',
                      '2026-12-07T15:34:53.000000',
                      # rounded up by the database from 15:34:53.6
                      '2026-12-07T15:34:54.000000'):
            self.assertFalse(servicestate.reported_since(
                self.service(stamp), self.DONE), stamp)

    def test_a_report_after_the_restart_counts(self):
        self.assertTrue(servicestate.reported_since(
            self.service('2026-12-07T15:34:58.000000'), self.DONE))
        self.assertTrue(servicestate.reported_since(
            self.service('2026-12-07T15:34:58+00:00'), self.DONE))

    def test_no_report_yet_and_nothing_to_wait_for(self):
        self.assertFalse(servicestate.reported_since(
            self.service(None), self.DONE))
        self.assertTrue(servicestate.reported_since(
            self.service(None), None))

    def test_which_computes_a_command_restarted(self):
        self.assertEqual(['compute2'], servicestate.restarted_hosts(
            ['restart', 'nova-compute@compute2']))
        self.assertEqual(['compute1'], servicestate.restarted_hosts(
            ['poweron', 'compute1']))
        self.assertEqual(['compute1', 'compute2'],
                         servicestate.restarted_hosts(
                             ['start', 'nova-compute@compute1',
                              'nova-compute@compute2']))
        for shared in (['restart', 'libvirtd'],
                       ['start', 'mariadb', 'rabbitmq'], ['up'],
                       ['upgrade', '--to', '2026.1']):
            self.assertEqual(['*'], servicestate.restarted_hosts(shared),
                             shared)
        for other in (['config', 'compute1', 'libvirt', 'x', '1'],
                      ['stop', 'nova-compute@compute1'], ['down'],
                      ['kill', '--signal', 'KILL', 'nova-compute@compute1'],
                      []):
            self.assertEqual([], servicestate.restarted_hosts(other), other)
