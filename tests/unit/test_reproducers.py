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
"""Reproducers of the fail-closed report (issue 11), one test each, named
after what went wrong.
"""

import dataclasses
import json
import os
import time
from unittest import mock

import fixtures
import testtools

from nova_rt.cmd import common
from nova_rt.core import exception
from nova_rt.core import kernel_args
from nova_rt.core import request as rt_request
from nova_rt.guest import bootloader
from nova_rt.host import model as host_model
from nova_rt.host import profile as host_profile
from nova_rt.host import reader as host_reader
from nova_rt.host import service
from nova_rt import scheduler
from nova_rt.scheduler import filters as rt_filters
from nova_rt.scheduler import weights as rt_weights
from tests import scheduler_fakes
from tests.unit.host import base as hostbase
from tests.unit.host import test_cmd_host
from tests.unit import test_cmd_flavor
from tests.unit import test_cmd_guest

RT = {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
      'hw:cpu_realtime_mask': '^0'}


class DashedDerivedKeysTest(test_cmd_guest.GuestBase):
    """The kernel reads '-' and '_' alike in parameter names."""

    def test_flavor_cannot_undo_partitioning_with_dashes(self):
        for value in ('nohz-full=0 rcu-nocbs=0', 'quiet rcu-nocbs=0',
                      'nohz-full=1'):
            e = self.assertRaises(
                exception.InvalidRealtimeRequest, rt_request.build_request,
                4, dict(RT, **{'rt:guest_kernel_args': value}))
            self.assertEqual(('rt:guest_kernel_args',), e.keys)
            self.assertIn('the kernel reads', str(e))

    def test_flavor_explain_says_so(self):
        code, out, err = test_cmd_flavor.run(
            'flavor', 'explain', '--vcpus', '4', *test_cmd_flavor.RT,
            '--property', 'rt:guest_kernel_args=nohz-full=0 rcu-nocbs=0')
        self.assertEqual((1, ''), (code, err))
        self.assertIn("'nohz-full' is derived by nova-rt", out)

    def test_guest_refuses_a_dashed_second_value(self):
        self.entries(test_cmd_guest.oem(test_cmd_guest.RT_ARGS
                                        + ' nohz-full=0'))
        code, _, err = self.apply()
        self.assertEqual(2, code)
        self.assertIn("'nohz_full' given twice", err)

    def test_grubby_removes_the_admins_dashed_spelling(self):
        self.grubby('ro nohz-full=0 rcu-nocbs=5 quiet')
        self.entries(test_cmd_guest.oem())
        self.assertEqual(0, self.apply()[0])
        args = self.grubby_kernels()[0].split()
        self.assertEqual(['ro', 'quiet'] + test_cmd_guest.RT_ARGS.split(),
                         args)

    def test_kernel_install_removes_the_admins_dashed_spelling(self):
        self.tool('kernel-install')
        self.write('usr/lib/modules/%s/vmlinuz' % test_cmd_guest.RELEASE,
                   'kernel')
        self.write('etc/kernel/cmdline', 'root=UUID=1 rcu-nocbs=5 rw\n')
        self.entries(test_cmd_guest.oem())
        self.assertEqual(0, self.apply('--method', 'kernel-install')[0])
        self.assertEqual('root=UUID=1 rw %s\n' % test_cmd_guest.RT_ARGS,
                         self.read('etc/kernel/cmdline'))


class DamagedEvidenceTest(hostbase.TestCase):
    """A host whose evidence cannot be read is not ready (fail closed)."""

    def damaged(self, name, *damage, root=None):
        scratch = self.useFixture(fixtures.TempDir()).path
        reader = hostbase.DamagedReader(root or hostbase.tree(name), scratch)
        for rel, action in damage:
            reader.damage(rel, action, b'garbage\n')
        p = host_profile.read_profile(reader.root, smi_interval=0.01,
                                      reader=reader, sleep=hostbase.no_sleep)
        return hostbase.audit(name, p)

    def test_unreadable_rt_budget_evidence_is_not_ready(self):
        self.assertTrue(hostbase.audit('tuned-dual-socket').ready)
        for rel in ('proc/sys/kernel/sched_rt_runtime_us',
                    'sys/devices/system/clocksource/clocksource0/'
                    'current_clocksource'):
            for action in ('delete', 'garbage', 'deny'):
                report = self.damaged('tuned-dual-socket', (rel, action))
                self.assertFalse(report.ready, (rel, action))
                self.assertTrue(report.blocking, (rel, action))
                self.assertTrue(all(f.observed for f in report.blocking))

    def test_hpet_with_unreadable_cpuinfo_is_not_ready(self):
        p = dataclasses.replace(
            hostbase.profile('tuned-dual-socket'), clocksource='hpet',
            cpu_flags=host_model.Unknown('/proc/cpuinfo: not readable'))
        report = hostbase.audit('tuned-dual-socket', p)
        self.assertEqual('fail', report.finding('clock.tsc').status)
        self.assertIn('clocksource hpet',
                      report.finding('clock.tsc').observed)
        self.assertFalse(report.ready)

    def test_empty_or_garbage_children_file_falls_back_to_proc(self):
        root, desc = hostbase.variant('tuned-dual-socket', kthreads={
            'kinds': {'ksoftirqd': ['fifo', 2], 'ktimers': ['fifo', 3],
                      'rcuc': ['fifo', 4]},
            'overrides': {'ksoftirqd/2': ['other', 0]},
            'children_file': True})
        for action in ('empty', 'garbage'):
            report = self.damaged('tuned-dual-socket',
                                  ('proc/2/task/2/children', action),
                                  root=root)
            finding = report.finding('kthread.priority')
            self.assertEqual('fail', finding.status, action)
            self.assertIn('ksoftirqd/2 other', finding.observed)


class AuditNeverAbortsTest(hostbase.TestCase):
    """Damaged host files give an unknown finding, never exit 2."""

    def check(self, root, *extra):
        code, out, err = test_cmd_host.main(
            ['host', 'check', '--root', root, '--format', 'json',
             '--smi-interval', '0'] + list(extra))
        self.assertEqual(('', 1), (err, code), out)
        return json.loads(out)

    def test_names_that_isdigit_but_are_not_int(self):
        root, _ = hostbase.variant('half-tuned')
        for rel in ('proc/irq/\u00b2', 'sys/devices/system/node/node\u00b2',
                    'sys/devices/system/cpu/cpu\u00b2',
                    'sys/devices/system/cpu/cpu0/cpuidle/state\u00b2'):
            os.makedirs(os.path.join(root, rel))
        os.unlink(os.path.join(root, 'sys/devices/system/cpu/online'))
        self.check(root)

    def test_huge_files(self):
        root, _ = hostbase.variant('stock')
        for rel in ('proc/cmdline', 'proc/cpuinfo',
                    'sys/kernel/mm/transparent_hugepage/enabled'):
            with open(os.path.join(root, rel), 'wb') as f:
                f.truncate(200 << 20)       # sparse: 200 MiB of NULs
        start = time.monotonic()
        doc = self.check(root)
        self.assertLess(time.monotonic() - start, 10)
        found = {f['check']: f for f in doc['findings']}
        self.assertIn('larger than 1048576 bytes',
                      found['mm.thp']['observed'])

    def test_numbers_over_4300_digits(self):
        root, _ = hostbase.variant('tuned-dual-socket')
        with open(os.path.join(
                root, 'proc/sys/kernel/sched_rt_runtime_us'), 'w') as f:
            f.write('9' * 5000 + '\n')
        conf = os.path.join(root, 'etc/nova/nova.conf')
        found = {f['check']: f for f in self.check(
            root, '--config-file', conf)['findings']}
        self.assertEqual('unknown', found['sched.rt_runtime']['status'])
        self.assertIn('(5000 characters)',
                      found['sched.rt_runtime']['observed'])

    def test_nul_byte_in_osrelease(self):
        root, _ = hostbase.variant('stock')     # cgroup v2: reads it
        with open(os.path.join(root, 'proc/sys/kernel/osrelease'),
                  'wb') as f:
            f.write(b'6.1.0\x00evil\n')
        found = {f['check']: f for f in self.check(root)['findings']}
        self.assertEqual('unknown', found['cgroup.rt_runtime']['status'])

    def test_huge_workqueue_mask_is_refused_fast(self):
        start = time.monotonic()
        e = self.assertRaises(host_reader.HostFileInvalid,
                              host_reader.parse_mask, 'f' * (512 << 10))
        self.assertIn('at most 2048', str(e))
        cpus = host_reader.parse_mask(','.join(['ffffffff'] * 256))
        self.assertEqual(8192, len(cpus))
        self.assertLess(time.monotonic() - start, 1)

    def test_command_line_splitter_is_linear(self):
        start = time.monotonic()
        tokens = kernel_args.split_cmdline('a="' + 'x y ' * 250000)
        self.assertEqual(1, len(tokens))
        self.assertEqual(200000, len(kernel_args.split_cmdline(
            'ab ' * 200000)))
        self.assertLess(time.monotonic() - start, 2)


class FlavorExplainExitCodeTest(testtools.TestCase):

    def test_huge_mask_is_an_invalid_flavor(self):
        for key, value in (('hw:cpu_realtime_mask', '1' * 5000),
                           ('hw:cpu_realtime_mask', '^0-' + '9' * 5000),
                           ('hw:cpu_realtime_mask', '\u0663'),
                           ('rt:l3_cache_kib', '1' * 5000),
                           ('hw:numa_nodes', '1' * 5000)):
            code, out, err = test_cmd_flavor.run(
                'flavor', 'explain', '--vcpus', '4', *test_cmd_flavor.RT,
                '--property', '%s=%s' % (key, value))
            self.assertEqual((1, ''), (code, err), key)
            self.assertTrue(out.startswith('invalid flavor: %s' % key), out)
            self.assertLess(len(out), 400)


class DriverAuditNeverCrashesTest(hostbase.TestCase):

    def test_unexpected_error_reports_not_ready(self):
        conf = common.load_conf([])
        conf.set_override('host_root', hostbase.tree('tuned-dual-socket'),
                          group='nova_rt')
        audit = service.HostAuditService(conf)
        logged = self.useFixture(fixtures.FakeLogger(
            name='nova_rt.host.service'))
        with mock.patch.object(host_profile, 'read_profile',
                               side_effect=MemoryError('boom')):
            host = audit.current()
        self.assertFalse(host.facts.ready)
        self.assertEqual('nova_rt.audit', host.report.blocking[0].check)
        self.assertIn('MemoryError: boom', host.report.blocking[0].observed)
        self.assertIn('the host audit failed', logged.output)
        self.assertTrue(audit.current(refresh=True).facts.ready is not None)


class GarbageHostRecordTest(testtools.TestCase):
    """One bad compute-node record never fails every scheduling request."""

    def setUp(self):
        super().setUp()
        scheduler.clear_caches()
        self.hosts = [scheduler_fakes.host_state('h%d' % i, 2, 6, 1, 1)
                      for i in range(3)]
        self.logged = self.useFixture(fixtures.FakeLogger(
            name='nova_rt.scheduler'))

    def test_requests_land_on_the_good_hosts(self):
        rt_spec = scheduler_fakes.flavor_spec(4)
        plain = scheduler_fakes.flavor_spec(2)
        plain.flavor.extra_specs = {}
        rt_filter = rt_filters.RealtimeFilter()
        weigher = rt_weights.RealtimeWeigher()
        for garbage in ('0-' + '9' * 5000, '0-99999', '\u0663', 'x' * 9999):
            scheduler.clear_caches()
            self.hosts[1].stats = dict(self.hosts[1].stats,
                                       nova_rt_isolated_cpus=garbage)
            self.assertEqual(['h0', 'h2'], [
                h.host for h in rt_filter.filter_all(self.hosts, rt_spec)])
            self.assertEqual(['h0', 'h1', 'h2'], [
                h.host for h in rt_filter.filter_all(self.hosts, plain)])
            weights = weigher.weigh_objects(
                [mock.Mock(obj=h) for h in self.hosts], rt_spec)
            self.assertEqual(3, len(weights))
        # Once per host and stats version, key named, value shortened.
        self.assertEqual(4, self.logged.output.count(
            'h1, h1: real-time requests will not land here'))
        self.assertIn('nova_rt_isolated_cpus', self.logged.output)
        self.assertIn('(5002 characters)', self.logged.output)

    def test_an_unexpected_error_is_neutral_for_plain_requests(self):
        plain = scheduler_fakes.flavor_spec(2)
        plain.flavor.extra_specs = {}
        rt_spec = scheduler_fakes.flavor_spec(4)
        with mock.patch.object(scheduler.fitting, 'capacity',
                               side_effect=ZeroDivisionError('x')):
            rt_filter = rt_filters.RealtimeFilter()
            self.assertEqual(3, len(list(rt_filter.filter_all(self.hosts,
                                                              plain))))
            scheduler.clear_caches()
            self.assertEqual([], list(rt_filter.filter_all(self.hosts,
                                                           rt_spec)))


class GuestApplyAllOrNothingTest(test_cmd_guest.GuestBase):
    """A failure at any step of nova-rt-guest apply leaves the boot loader
    (and the state file) byte-identical to before, with exit 2.
    """

    def prepare(self, method):
        # A guest nova-rt configured before, now resized.
        self.write(bootloader.STATE_FILE, bootloader.state_text(
            tuple(test_cmd_guest.RT_ARGS.split())))
        if method == 'grubby':
            self.grubby('root=/dev/vda1 ro ' + test_cmd_guest.RT_ARGS,
                        'root=/dev/vda1 ro single nohz-full=9 '
                        + test_cmd_guest.RT_ARGS)
        elif method == 'grub.d':
            self.tool('update-grub')
            self.write('etc/default/grub', 'GRUB_CMDLINE_LINUX=""\n')
            self.write(bootloader.GRUB_D_FILE, bootloader.grub_d_text(
                tuple(test_cmd_guest.RT_ARGS.split())))
        else:
            self.tool('kernel-install')
            self.write('usr/lib/modules/%s/vmlinuz'
                       % test_cmd_guest.RELEASE, 'kernel')
            self.write(bootloader.KERNEL_CMDLINE, 'root=UUID=1 rw %s\n'
                       % test_cmd_guest.RT_ARGS)
        self.entries(test_cmd_guest.oem(test_cmd_guest.RESIZED))

    def fail_at(self, n):
        with open(os.path.join(self.bin, 'fail-at'), 'w') as f:
            f.write(str(n))
        try:
            os.unlink(os.path.join(self.bin, 'count'))
        except FileNotFoundError:
            pass

    def test_failure_at_every_call(self):
        tried = 0
        for method in ('grubby', 'grub.d', 'kernel-install'):
            for n in range(1, 12):
                self.fresh_root()
                self.prepare(method)
                before = self.snapshot()
                self.fail_at(n)
                code, out, err = self.apply('--method', method)
                if code == 0:
                    break       # fewer calls than n: nothing failed
                tried += 1
                self.assertEqual(2, code, (method, n, out))
                self.assertIn('simulated failure of call %d' % n, err)
                self.assertEqual(before, self.snapshot(), (method, n, err))
            self.assertGreater(n, 1, method)
        self.assertGreaterEqual(tried, 6)

    def test_state_file_failure_undoes_the_boot_loader(self):
        for method in ('grubby', 'grub.d', 'kernel-install'):
            self.fresh_root()
            self.prepare(method)
            before = self.snapshot()
            write = bootloader._write_text

            def no_state(path, text):
                if path.endswith(bootloader.STATE_FILE):
                    raise bootloader.GuestError(reason='disk full')
                return write(path, text)

            with mock.patch.object(bootloader, '_write_text', no_state):
                code, _, err = self.apply('--method', method)
            self.assertEqual(2, code, method)
            self.assertIn('nothing was changed', err)
            self.assertEqual(before, self.snapshot(), method)

    def test_planted_temporary_symlink_is_not_followed(self):
        self.prepare('grub.d')
        target = os.path.join(self.root, 'etc', 'shadow')
        self.write('etc/shadow', 'root:secret\n')
        os.symlink(target, self.path(bootloader.GRUB_D_FILE + '.nova-rt-tmp'))
        self.assertEqual(0, self.apply('--method', 'grub.d')[0])
        self.assertEqual('root:secret\n', self.read('etc/shadow'))
        self.assertIn(test_cmd_guest.RESIZED,
                      self.read(bootloader.GRUB_D_FILE))
        self.assertFalse(os.path.lexists(
            self.path(bootloader.GRUB_D_FILE + '.nova-rt-tmp')))
