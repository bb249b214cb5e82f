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
"""The host plan: housekeeping = first core of each node, and what
follows from it.
"""

import dataclasses
import json

from nova_rt.core import cpuset
from nova_rt.host import model as host_model
from nova_rt.host import plan as host_plan
from tests.host_trees import build
from tests.unit.host import base


def items(seq):
    return {i.name: i.value for i in seq}


class TestPlan(base.TestCase):

    def test_plan_matches_the_tuned_trees(self):
        # The tuned trees were partitioned the way the plan says.
        for name in ('tuned-dual-socket', 'big-256'):
            conf = build.load(name)['nova_conf']
            p = host_plan.plan(base.profile(name))
            self.assertEqual(conf, {k: v for k, v in items(
                p.nova_conf).items()}, name)
            self.assertEqual(cpuset.parse(conf['cpu_dedicated_set']),
                             p.isolated_cpus)

    def test_kernel_arguments(self):
        p = host_plan.plan(base.profile('tuned-dual-socket'))
        args = items(p.kernel_args)
        iso = '1-7,9-15,17-23,25-31'
        self.assertEqual('managed_irq,domain,' + iso, args['isolcpus'])
        self.assertEqual(iso, args['nohz_full'])
        self.assertEqual(iso, args['rcu_nocbs'])
        self.assertEqual('0,8,16,24', args['irqaffinity'])
        self.assertEqual('0,8,16,24', args['kthread_cpus'])
        self.assertEqual('disable', args['intel_pstate'])
        self.assertIn('nosoftlockup', args)
        self.assertIn('skew_tick=1 tsc=reliable nosoftlockup', p.cmdline)
        self.assertEqual({'kvm.kvmclock_periodic_sync': '0',
                          'kvm_intel.ple_gap': '0'}, items(p.module_options))
        self.assertEqual(iso, items(p.tuned_variables)['isolated_cores'])
        self.assertEqual('1G', items(
            p.optional_kernel_args)['default_hugepagesz'])
        # cgroup v2 without RT group scheduling: qemu.conf can stay
        self.assertEqual((), p.qemu_conf)

    def test_amd_and_rt_group_sched(self):
        p = host_plan.plan(base.profile('big-256'))
        self.assertNotIn('intel_pstate', items(p.kernel_args))
        self.assertEqual('0', items(
            p.module_options)['kvm_amd.pause_filter_count'])
        self.assertNotIn('"cpu"', p.qemu_conf[0].value)

    def test_two_housekeeping_cores_per_node(self):
        p = host_plan.plan(base.profile('tuned-dual-socket'),
                           housekeeping_per_node=2)
        self.assertEqual(frozenset({0, 1, 16, 17, 8, 9, 24, 25}),
                         p.housekeeping_cpus)

    def test_kthreads_above_the_highest_vcpu_priority(self):
        p = host_plan.plan(base.profile('stock'), max_vcpu_priority=20)
        self.assertEqual('21', items(
            p.kthread_priorities)['rcutree.kthread_prio'])
        self.assertIn('0:f:21:', items(
            p.kthread_priorities)['group.ksoftirqd'])

    def test_errors(self):
        self.assertRaises(host_plan.PlanError, host_plan.plan,
                          base.profile('stock'), housekeeping_per_node=4)
        self.assertRaises(host_plan.PlanError, host_plan.plan,
                          base.profile('stock'), housekeeping_per_node=0)
        empty = dataclasses.replace(base.profile('stock'),
                                    online_cpus=frozenset())
        self.assertRaises(host_plan.PlanError, host_plan.plan, empty)

    def test_unknown_siblings_mean_one_cpu_cores(self):
        p = dataclasses.replace(base.profile('stock'),
                                smt_siblings=host_model.Unknown('x'))
        self.assertEqual(frozenset({0}), host_plan.plan(p).housekeeping_cpus)

    def test_renderings(self):
        p = host_plan.plan(base.profile('half-tuned'))
        doc = json.loads(json.dumps(p.to_dict()))
        self.assertEqual('0,8', doc['housekeeping_cpus'])
        self.assertEqual(p.cmdline, doc['kernel_args'])
        text = host_plan.render_text(p)
        self.assertIn(p.cmdline, text)
        self.assertIn('options kvm kvmclock_periodic_sync=0', text)
        self.assertIn('cpu_dedicated_set = 1-7,9-15', text)
        self.assertIn('kernel.sched_rt_runtime_us = -1', text)
