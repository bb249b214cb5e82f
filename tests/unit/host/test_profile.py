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
"""Reading: kernel quirks, one at a time, on small variants of the
recorded trees.
"""

import os
import struct

from nova_rt.host import model as host_model
from nova_rt.host import profile as host_profile
from nova_rt.host import reader as host_reader
from nova_rt.host import scheduling as host_scheduling
from tests.host_trees import build
from tests.unit.host import base

Cmdline = host_model.Cmdline


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


class TestCmdline(base.TestCase):

    def test_quotes_dashes_and_init_arguments(self):
        c = Cmdline.parse('BOOT_IMAGE=/vmlinuz ro "isolcpus=domain,2-3" '
                          'rcu-nocbs=2-3 acpi="a b" quiet -- nohz_full=1\n')
        self.assertEqual('domain,2-3', c.value('isolcpus'))
        self.assertEqual('2-3', c.value('rcu_nocbs'))
        self.assertEqual('a b', c.value('acpi'))
        self.assertTrue(c.has('quiet'))
        self.assertIsNone(c.value('quiet'))
        # after "--": init's, not the kernel's
        self.assertFalse(c.has('nohz_full'))

    def test_last_value_wins(self):
        c = Cmdline.parse('preempt=none preempt=full')
        self.assertEqual('full', c.value('preempt'))
        self.assertEqual(('none', 'full'), c.values('preempt'))


class TestKthreadStat(base.TestCase):

    def _stat(self, comm, ppid=2, policy=1, prio=5):
        fields = ['0'] * 52
        fields[:4] = ['42', '(%s)' % comm, 'S', str(ppid)]
        fields[39], fields[40] = str(prio), str(policy)
        return ' '.join(fields)

    def test_fields_40_and_41(self):
        t = host_scheduling.parse_kthread_stat('42', self._stat('rcuc/7'))
        self.assertEqual(('rcuc', 7, 1, 5), (t.kind, t.cpu, t.policy,
                                             t.priority))

    def test_comm_with_spaces_and_parentheses(self):
        stat = self._stat('ksoftirqd/3) S 2 (x')
        self.assertIsNone(host_scheduling.parse_kthread_stat('42', stat))
        self.assertIsNone(host_scheduling.parse_kthread_stat(
            '42', self._stat('tmux: server')))

    def test_user_process_named_like_a_kthread(self):
        self.assertIsNone(host_scheduling.parse_kthread_stat(
            '42', self._stat('ksoftirqd/3', ppid=1)))

    def test_truncated_stat(self):
        self.assertIsNone(host_scheduling.parse_kthread_stat(
            '42', '42 (ksoftirqd/3) S 2 0'))

    def test_scan_without_proc_children(self):
        # stock and half-tuned record no /proc/2/task/2/children: the
        # reader scans /proc, meets user processes and skips them.
        p = base.profile('half-tuned')
        names = {t.name for t in p.kthreads}
        self.assertEqual({'ksoftirqd/%d' % c for c in range(16)}, names)
        self.assertEqual((1, 1), next((t.policy, t.priority)
                                      for t in p.kthreads
                                      if t.name == 'ksoftirqd/2'))


class TestKernel(base.TestCase):

    def _kernel(self, version, realtime=None, debug=None, cmdline='ro'):
        root, _ = base.variant('stock', cmdline=cmdline)
        write(root, 'proc/version', version + '\n')
        if realtime is not None:
            write(root, 'sys/kernel/realtime', realtime)
        if debug is not None:
            write(root, 'sys/kernel/debug/sched/preempt', debug)
        return host_profile.read_profile(root).kernel

    def test_variants(self):
        v = 'Linux version 6.8.0 (b@h) (gcc 13) #1 SMP %s Fri Aug 30 2024'
        self.assertEqual('preempt_rt', self._kernel(v % 'PREEMPT_RT'))
        self.assertEqual('preempt_rt', self._kernel(v % '', realtime='1\n'))
        self.assertEqual('preempt', self._kernel(v % 'PREEMPT'))
        self.assertEqual('none', self._kernel(v % ''))
        self.assertEqual('preempt', self._kernel(
            v % 'PREEMPT_DYNAMIC', debug='none voluntary (full) lazy\n'))
        self.assertEqual('none', self._kernel(
            v % 'PREEMPT_DYNAMIC', debug='none (voluntary) full\n'))
        self.assertEqual('preempt', self._kernel(
            v % 'PREEMPT_DYNAMIC', cmdline='ro preempt=full'))
        self.assertEqual('none', self._kernel(v % 'PREEMPT_DYNAMIC'))

    def test_unreadable_version_is_unknown(self):
        root, _ = base.variant('stock')
        os.unlink(os.path.join(root, 'proc/version'))
        p = host_profile.read_profile(root)
        self.assertFalse(host_model.known(p.kernel_evidence))
        self.assertIn('/proc/version', p.kernel_evidence.reason)


class TestIsolation(base.TestCase):

    def test_isolcpus_flags_without_domain_isolate_nothing(self):
        root, _ = base.variant(
            'stock', cmdline='ro isolcpus=nohz,managed_irq,2-7 rcu_nocbs=all')
        os.unlink(os.path.join(root, 'sys/devices/system/cpu/isolated'))
        os.unlink(os.path.join(root, 'sys/devices/system/cpu/nohz_full'))
        p = host_profile.read_profile(root)
        self.assertEqual(frozenset({'nohz', 'managed_irq'}), p.isolcpus_flags)
        self.assertEqual(frozenset(), p.isolated_cpus)
        # isolcpus=nohz sets the nohz_full mask; rcu_nocbs=all is all.
        self.assertEqual(frozenset(range(2, 8)), p.nohz_full_cpus)
        self.assertEqual(frozenset(range(8)), p.rcu_nocbs_cpus)

    def test_isolcpus_without_flags_means_domain(self):
        root, _ = base.variant('stock', cmdline='ro isolcpus=4-7')
        os.unlink(os.path.join(root, 'sys/devices/system/cpu/isolated'))
        p = host_profile.read_profile(root)
        self.assertEqual(frozenset(range(4, 8)), p.isolated_cpus)
        self.assertIn('command line', p.isolated_evidence)

    def test_null_nohz_full_mask(self):
        self.assertEqual(frozenset(), base.profile('stock').nohz_full_cpus)

    def test_nohz_full_cpus_are_rcu_nocbs(self):
        p = base.profile('big-256')
        self.assertFalse(p.cmdline.has('rcu_nocbs'))
        self.assertEqual(p.nohz_full_cpus, p.rcu_nocbs_cpus)
        self.assertEqual(240, len(p.rcu_nocbs_cpus))

    def test_bad_cpu_list_is_unknown(self):
        root, _ = base.variant('stock', cmdline='ro rcu_nocbs=1-3:1/2')
        p = host_profile.read_profile(root)
        self.assertFalse(host_model.known(p.rcu_nocbs_cpus))
        self.assertIn('rcu_nocbs=', p.rcu_nocbs_cpus.reason)


class TestTopology(base.TestCase):

    def test_tuned_dual_socket(self):
        p = base.profile('tuned-dual-socket')
        self.assertEqual(frozenset(range(32)), p.online_cpus)
        self.assertEqual({0: frozenset(list(range(8)) + list(range(16, 24))),
                          1: frozenset(list(range(8, 16)) +
                                       list(range(24, 32)))},
                         dict(p.numa_nodes))
        self.assertEqual(16, len(p.smt_siblings))
        self.assertEqual(frozenset({3, 19}), p.siblings_of(3))

    def test_adjacent_siblings(self):
        p = base.profile('stock')
        self.assertEqual(frozenset({2, 3}), p.siblings_of(3))

    def test_cat_per_cache_domain(self):
        cat = base.profile('big-256').cat
        self.assertEqual(16, len(cat.l3_kib))
        self.assertEqual({32768}, set(cat.l3_kib.values()))
        self.assertEqual(16, cat.ways)
        self.assertEqual(frozenset(list(range(8)) + list(range(128, 136))),
                         cat.l3_cpus[0])

    def test_cat_with_an_l3_smaller_than_its_ways_is_unknown(self):
        # Found by test_damaged_trees: a size file cut to "1" gave a 1 KiB
        # L3 and a published way of 0 KiB, which the scheduler refused.
        root, _ = base.variant('tuned-dual-socket')
        size = os.path.join(root, 'sys/devices/system/cpu/cpu0/cache/'
                                  'index3/size')
        with open(size, 'w') as f:
            f.write('1\n')
        cat = host_profile.read_profile(root).cat
        self.assertFalse(host_model.known(cat))
        self.assertEqual('L3 cache 0 is 1 KiB, less than 1 KiB for each of '
                         'its 11 ways (7ff)', cat.reason)


class TestCgroup(base.TestCase):

    def test_v1_rt_group_sched(self):
        cg = base.profile('half-tuned').cgroup
        self.assertEqual(('v1', True, 0), (cg.version, cg.rt_group_sched,
                                           cg.machine_rt_runtime_us))
        # the commented-out line does not count
        self.assertIsNone(cg.libvirt_controllers)

    def test_qemu_conf_list_over_lines(self):
        root, _ = base.variant('half-tuned', qemu_conf=(
            'cgroup_controllers = [ "devices", # no cpu\n'
            '   "memory", "cpuset" ]\n'))
        cg = host_profile.read_profile(root).cgroup
        self.assertEqual(('devices', 'memory', 'cpuset'),
                         cg.libvirt_controllers)

    def test_v2_kernel_config(self):
        desc = build.load('stock')
        kernel = dict(desc['kernel'], config={'CONFIG_RT_GROUP_SCHED': 'y'})
        root, _ = base.variant('stock', kernel=kernel)
        self.assertIs(True, host_profile.read_profile(
            root).cgroup.rt_group_sched)
        os.unlink(os.path.join(root, 'boot/config-6.8.0-45-generic'))
        cg = host_profile.read_profile(root).cgroup
        self.assertFalse(host_model.known(cg.rt_group_sched))


class TestSmi(base.TestCase):

    def test_delta_over_the_interval(self):
        root, _ = base.variant('tuned-dual-socket')
        msr = os.path.join(root, 'dev/cpu/0/msr')
        slept = []

        def sleep(seconds):
            # SMIs happen while we wait: the counter moves by 3
            slept.append(seconds)
            with open(msr, 'r+b') as f:
                f.seek(0x34)
                f.write(struct.pack('<Q', 20))

        p = host_profile.read_profile(root, smi_interval=0.25, sleep=sleep)
        self.assertEqual([0.25], slept)
        self.assertEqual((0, 3, 0.25), (p.smi.cpu, p.smi.count,
                                        p.smi.interval))

    def test_not_sampled(self):
        p = host_profile.read_profile(base.tree('tuned-dual-socket'))
        self.assertEqual('not sampled (SMI interval 0)', p.smi.reason)

    def test_no_msr_driver_and_no_register(self):
        self.assertIn('load the msr module', base.profile('stock').smi.reason)
        self.assertIn('short read', base.profile('big-256').smi.reason)


class TestUnreadable(base.TestCase):

    def test_denied_is_told_apart_from_missing(self):
        class Denying(host_reader.HostReader):
            def read_bytes(self, rel):
                if rel.startswith('proc/swaps'):
                    raise host_reader.HostFileDenied(rel, 'not readable '
                                                     '(Permission denied)')
                return super().read_bytes(rel)

        root = base.tree('tuned-dual-socket')
        p = host_profile.read_profile(root, reader=Denying(root))
        self.assertEqual('/proc/swaps: not readable (Permission denied)',
                         p.swaps.reason)
        self.assertIn('missing', base.profile('stock').cat.reason)

    def test_empty_root(self):
        root = base._tmpdir()
        p = host_profile.read_profile(root, smi_interval=0.01,
                                      sleep=base.no_sleep)
        self.assertEqual(frozenset(), p.online_cpus)
        for field in ('isolated_cpus', 'kthreads', 'cgroup', 'cpuidle',
                      'governors', 'thp', 'swaps', 'cat', 'smi',
                      'smt_siblings', 'clocksource', 'kvm_params'):
            value = getattr(p, field)
            self.assertFalse(host_model.known(value), field)
            self.assertTrue(value.reason, field)
