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
"""Each rule nova-rt applies in more than one place is one function; these
tests pin the rule and that every caller goes through it.
"""

import io
from unittest import mock

from oslo_config import cfg
import testtools

from nova_rt.cmd import args as cmd_args
from nova_rt.cmd import common
from nova_rt import conf as rt_conf
from nova_rt.core import cat
from nova_rt.core import exception
from nova_rt.core import fitting
from nova_rt.core import guest_args
from nova_rt.core import kernel_args
from nova_rt.core import priority
from nova_rt.core import request as rt_request
from nova_rt.host import facts as host_facts
from nova_rt.host import model
from nova_rt.host import plan as host_plan
from nova_rt.virt import designer
from tests.unit.host import base


def request(vcpus=4, **specs):
    extra = {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
             'hw:cpu_realtime_mask': '^0'}
    extra.update(specs)
    return rt_request.build_request(vcpus, extra)


class CommandLineTest(testtools.TestCase):
    """One tokenizer for /proc/cmdline, boot loader files and the guest."""

    def test_split_like_next_arg_keeping_quotes(self):
        self.assertEqual(
            ['ro', 'foo="a b"', '"bar=c d"', 'x'],
            kernel_args.split_cmdline(' ro  foo="a b"\t"bar=c d" x\n'))
        self.assertEqual(['a="unclosed rest'],
                         kernel_args.split_cmdline('a="unclosed rest'))
        self.assertEqual([], kernel_args.split_cmdline(''))
        self.assertEqual([], kernel_args.split_cmdline(None))

    def test_host_cmdline_drops_the_quotes(self):
        line = model.Cmdline.parse('foo="a b" nohz-full=2-3 -- init=x')
        self.assertEqual((('foo', 'a b'), ('nohz_full', '2-3')), line.args)
        self.assertEqual('2-3', line.value('nohz-full'))

    def test_parameter_names_fold_dashes(self):
        self.assertEqual('rcu_nocbs', kernel_args.param_name('rcu-nocbs'))
        self.assertEqual('nohz_full', kernel_args.key_of('nohz-full=0'))
        self.assertEqual('isolcpus', kernel_args.key_of('"isolcpus=1"'))


class PartitioningArgsTest(testtools.TestCase):
    """The 8 partitioning arguments, the same on the host and the guest."""

    def test_guest_and_host_share_them(self):
        r = request(4)
        guest = guest_args.derive(r)[:8]
        self.assertEqual(
            tuple(kernel_args.render(n, v)
                  for n, v in kernel_args.partitioning_args('1-3', '0')),
            guest)
        p = host_plan.plan(base.profile('stock'))
        host = [i.name for i in p.kernel_args]
        names = [n for n, _ in kernel_args.partitioning_args('1', '0')]
        self.assertEqual(names, [n for n in host if n in names])
        self.assertEqual(host.index('irqaffinity') + 1,
                         host.index('kthread_cpus'))


class PriorityTest(testtools.TestCase):
    """Kernel threads strictly above the vCPUs, written once."""

    def test_rule(self):
        self.assertTrue(priority.below_kthreads(10, 11))
        self.assertFalse(priority.below_kthreads(11, 11))
        self.assertTrue(priority.below_kthreads(99, None))
        self.assertEqual(50, priority.kthread_priority_above(49))
        self.assertEqual(99, priority.kthread_priority_above(99))

    def test_lowest_counts_other_classes_as_zero(self):
        threads = [model.KThread(1, 'ksoftirqd/2', 'ksoftirqd', 2, 1, 60),
                   model.KThread(2, 'rcuc/3', 'rcuc', 3, 0, 0),
                   model.KThread(3, 'ksoftirqd/0', 'ksoftirqd', 0, 1, 5)]
        self.assertEqual(60, priority.lowest_kthread_priority(threads, {2}))
        self.assertEqual(0, priority.lowest_kthread_priority(threads,
                                                             {2, 3}))
        self.assertIsNone(priority.lowest_kthread_priority(threads, {7}))

    def test_every_user_agrees(self):
        # The scheduler, the plan and the audit on the same numbers.
        facts = host_facts.HostFacts(ready=True, kernel='preempt_rt',
                                     isolated_cpus=frozenset({1, 2, 3}),
                                     kthread_prio=6)
        self.assertTrue(fitting.facts_verdict(
            request(4, **{'rt:vcpu_priority': '5'}), facts))
        self.assertEqual(fitting.KTHREAD_PRIORITY, fitting.facts_verdict(
            request(4, **{'rt:vcpu_priority': '6'}), facts).reason)
        kthreads = host_plan.plan(base.profile('stock'),
                                  max_vcpu_priority=5).kthread_priorities
        self.assertEqual('6', kthreads[-1].value)

    def test_defaults_written_once(self):
        defaults = {o.name: o.default for o in rt_conf.OPTS}
        self.assertEqual(priority.DEFAULT_VCPU_PRIORITY,
                         defaults['default_vcpu_priority'])
        self.assertEqual(priority.DEFAULT_MAX_VCPU_PRIORITY,
                         defaults['max_vcpu_priority'])
        policy = rt_request.RequestPolicy()
        self.assertEqual((1, 49), (policy.default_vcpu_priority,
                                   policy.max_vcpu_priority))
        self.assertEqual(49, host_plan.DEFAULT_MAX_VCPU_PRIORITY)


class PriorityCapTest(testtools.TestCase):
    """One cap for the default, the vCPU and the emulator priority."""

    def test_each_source_refused_above_the_cap(self):
        policy = rt_request.RequestPolicy(default_vcpu_priority=20,
                                          max_vcpu_priority=10)
        base_specs = {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
                      'hw:cpu_realtime_mask': '^0'}
        for specs, key in (
                ({}, '[nova_rt] default_vcpu_priority'),
                ({'rt:vcpu_priority': '11'}, 'rt:vcpu_priority'),
                ({'rt:vcpu_priority': '5', 'rt:emulator_scheduler': 'fifo',
                  'rt:emulator_priority': '11'}, 'rt:emulator_priority')):
            e = self.assertRaises(
                exception.InvalidRealtimeRequest, rt_request.build_request,
                4, dict(base_specs, **specs), None, policy)
            self.assertEqual((key,), e.keys)
            self.assertIn('above [nova_rt] max_vcpu_priority=10', str(e))


class EmulatorPcpuTest(testtools.TestCase):
    """An isolated emulator takes one more pCPU, for every caller."""

    def test_isolated_emulator(self):
        r = request(4, **{'hw:emulator_threads_policy': 'isolate'})
        self.assertEqual((1, 5), (r.emulator_pcpus, r.pcpus))
        self.assertEqual(5, r.to_dict()['host_pcpus'])
        shared = request(4, **{'hw:emulator_threads_policy': 'share'})
        self.assertEqual((0, 4), (shared.emulator_pcpus, shared.pcpus))

    def test_fitting_counts_it(self):
        cell = fitting.CellCapacity(0, 4, 4, 4, 1)
        r = request(4, **{'hw:emulator_threads_policy': 'isolate'})
        self.assertEqual(fitting.ISOLATED_CPUS, fitting.verdict(
            r, host_facts.HostFacts(True, 'preempt_rt', frozenset(range(4))),
            fitting.Capacity((cell,))).reason)


class CacheWaysTest(testtools.TestCase):
    """L3 reservations are whole ways, for the scheduler and the driver."""

    def test_rule(self):
        self.assertEqual(2048, cat.reserved_kib(1025, 1024))
        self.assertEqual(1024, cat.reserved_kib(1024, 1024))
        self.assertEqual(1000, cat.reserved_kib(1000, None))

    def test_scheduler_and_driver_round_alike(self):
        r = request(4, **{'rt:l3_cache_kib': '1500'})
        facts = host_facts.HostFacts(
            True, 'preempt_rt', frozenset(range(8)), cat_l3_kib=2000,
            cat_min_kib=1024, cat_domains=((0, frozenset(range(8))),))
        verdict = fitting.facts_verdict(r, facts)
        self.assertEqual(fitting.L3_CACHE, verdict.reason)
        self.assertIn('needs 2048 KiB', verdict.detail)
        layout = cat.cache_layout(facts)
        e = self.assertRaises(exception.RequestNotHonourable,
                              designer.cache_tune, r, {1}, layout)
        self.assertIn('needs 2048 KiB', str(e))


class ImagePropertiesTest(testtools.TestCase):
    """One allow-list of image properties, for the driver and the
    scheduler.
    """

    def test_allow_list(self):
        props = {'hw_cpu_realtime_mask': '^1', 'hw_pmu': True,
                 'hw_cpu_policy': None, 'os_distro': 'x',
                 'hw_vcpu_priority': '99'}
        self.assertEqual({'hw_cpu_realtime_mask': '^1', 'hw_pmu': True},
                         rt_request.image_properties(props))
        self.assertEqual({}, rt_request.image_properties(None))

    def test_driver_and_scheduler_use_it(self):
        from nova_rt import scheduler
        from nova_rt.virt import driver
        from tests import scheduler_fakes
        spec = scheduler_fakes.flavor_spec(4)
        with mock.patch.object(rt_request, 'image_properties',
                               return_value={}) as allow:
            driver.realtime_request(spec.flavor, spec.image)
            scheduler.ask(spec)
        self.assertEqual([mock.call(spec.image.properties)] * 2,
                         allow.call_args_list)


class ComputeCpuSetsTest(testtools.TestCase):
    """[compute] CPU sets read by nova's own parser, wherever nova-rt needs
    them (the CLI and the compute driver's audit).
    """

    def conf(self, **values):
        conf = common.load_conf([])
        for name, value in values.items():
            conf.set_override(name, value, group='compute')
        return conf

    def test_nova_parser(self):
        self.assertEqual((frozenset({0, 1, 2, 3}), None),
                         rt_conf.compute_cpu_sets(
                             self.conf(cpu_dedicated_set='0 - 3')))
        self.assertEqual((None, frozenset({4, 6})), rt_conf.compute_cpu_sets(
            self.conf(cpu_dedicated_set=' ', cpu_shared_set='4-6,^5')))

    def test_error_names_the_option(self):
        e = self.assertRaises(
            exception.InvalidCPUSet, rt_conf.compute_cpu_sets,
            self.conf(cpu_shared_set='1-x'))
        self.assertIn('[compute] cpu_shared_set', str(e))

    def test_unregistered_options_are_a_config_error(self):
        conf = cfg.ConfigOpts()
        conf([])
        self.assertRaises(cfg.NoSuchOptError, rt_conf.compute_cpu_sets, conf)


class ExitCodesTest(testtools.TestCase):
    """One table of exit codes and one last-resort handler."""

    def run_guarded(self, func):
        err = io.StringIO()
        with mock.patch('sys.stderr', err):
            code = cmd_args.run_guarded('prog', func)
        return code, err.getvalue()

    def test_codes(self):
        self.assertEqual((0, 1, 2), (cmd_args.EXIT_OK,
                                     cmd_args.EXIT_NEGATIVE,
                                     cmd_args.EXIT_ERROR))
        self.assertEqual((1, ''), self.run_guarded(lambda: 1))

    def test_errors_are_one_line(self):
        def typed():
            raise exception.NovaRTError('bad thing')

        def bug():
            raise KeyError('x')

        self.assertEqual((2, 'prog: error: bad thing\n'),
                         self.run_guarded(typed))
        self.assertEqual((2, "prog: internal error: KeyError: 'x'\n"),
                         self.run_guarded(bug))
