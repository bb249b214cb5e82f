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
"""The fuzz tier: random damage never makes nova-rt unsafe.

Bounded in time (a few hundred examples each, no shrinking database), so
it runs with the unit tests:

* random corruptions of every recorded host tree never turn a not-ready
  tree into a ready one, and a damaged tree is ready only when every
  critical check positively passes;
* random compute-node stats never make RealtimeFilter or RealtimeWeigher
  raise;
* random extra specs and image properties give a request or the typed
  error, never another exception, and never a guest argument whose name
  (dashes and underscores folded) is one nova-rt derives.
"""

import os
import shutil
import tempfile

import hypothesis
from hypothesis import strategies as st
import testtools

from nova_rt.core import exception
from nova_rt.core import kernel_args
from nova_rt.core import request as rt_request
from nova_rt.host import checks
from nova_rt.host import profile as host_profile
from nova_rt import scheduler
from nova_rt.scheduler import filters as rt_filters
from nova_rt.scheduler import weights as rt_weights
from tests import scheduler_fakes
from tests.unit.host import base

# NOVA_RT_FUZZ_SCALE=N runs N times the examples (a longer campaign than
# the unit tier's, e.g. before a release).
SCALE = max(1, int(os.environ.get('NOVA_RT_FUZZ_SCALE', '1')))
FUZZ = hypothesis.settings(max_examples=100 * SCALE, deadline=None,
                           database=None,
                           suppress_health_check=list(
                               hypothesis.HealthCheck))


class DamagedTreesTest(base.TestCase):
    """Random corruptions of each recorded tree: a tree that was not ready
    stays not ready, and a damaged tree is ready only when every critical
    check positively passes. The 256-CPU tree takes ten times longer to
    read, so it gets fewer examples.
    """

    def damaged_report(self, name, damage):
        scratch = tempfile.mkdtemp(prefix='nova-rt-fuzz-', dir=base.TMP_BASE)
        try:
            reader = base.DamagedReader(base.tree(name), scratch)
            for rel, action, junk in damage:
                reader.damage(rel, action, junk)
            p = host_profile.read_profile(reader.root, smi_interval=0.01,
                                          reader=reader, sleep=base.no_sleep)
            return base.audit(name, p)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def fuzz(self, name, examples):
        files = base.files(base.tree(name))
        was_ready = base.audit(name).ready
        tried = []

        @hypothesis.settings(FUZZ, max_examples=examples * SCALE)
        @hypothesis.given(st.lists(st.tuples(
            st.sampled_from(files), st.sampled_from(base.DAMAGES),
            st.binary(max_size=64)), min_size=1, max_size=8))
        def check(damage):
            tried.append(damage)
            report = self.damaged_report(name, damage)
            if not was_ready:
                self.assertFalse(report.ready, damage)
            if report.ready:
                unsure = [f.check for f in report.findings
                          if f.critical and f.status != checks.PASS]
                self.assertEqual([], unsure, damage)

        check()
        self.assertGreaterEqual(len(tried), examples * SCALE // 2)

    def test_tuned_dual_socket(self):
        self.fuzz('tuned-dual-socket', 30)

    def test_half_tuned(self):
        self.fuzz('half-tuned', 15)

    def test_stock(self):
        self.fuzz('stock', 15)

    def test_big_256(self):
        self.fuzz('big-256', 3)


_STAT_KEYS = ('nova_rt_ready', 'nova_rt_kernel', 'nova_rt_isolated_cpus',
              'nova_rt_kthread_prio', 'nova_rt_latency_max_us',
              'nova_rt_cat_l3_kib', 'nova_rt_cat_min_kib',
              'nova_rt_cat_domains')
_STAT_VALUES = st.one_of(
    st.sampled_from(['true', 'false', 'preempt_rt', 'none', '0-3', '1-7',
                     '0-' + '9' * 5000, '^0', '', ' ', '50', '-1',
                     '0=0-3;1=4-7', '0=', 'x=1', '9' * 5000, '0-99999']),
    st.text(max_size=20), st.integers(-5, 10 ** 6))


class RandomStatsTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        scheduler.clear_caches()
        self.hosts = [scheduler_fakes.host_state('h%d' % i, 2, 6, 2, 1)
                      for i in range(3)]
        self.specs = [scheduler_fakes.flavor_spec(4),
                      scheduler_fakes.flavor_spec(2)]
        self.specs[1].flavor.extra_specs = {}

    @FUZZ
    @hypothesis.given(stats=st.lists(st.dictionaries(
        st.sampled_from(_STAT_KEYS), _STAT_VALUES), min_size=1, max_size=3))
    def test_filter_and_weigher_never_raise(self, stats):
        for host, values in zip(self.hosts, stats):
            host.stats = dict(values)
        rt_filter = rt_filters.RealtimeFilter()
        weigher = rt_weights.RealtimeWeigher()
        for spec in self.specs:
            passed = list(rt_filter.filter_all(self.hosts, spec))
            weights = weigher.weigh_objects(
                [mock_weighed(h) for h in self.hosts], spec)
            self.assertEqual(len(self.hosts), len(weights))
            if spec.flavor.extra_specs == {}:
                # Not real-time: bad records are neutral.
                self.assertEqual(len(self.hosts), len(passed))


class _Weighed(object):
    def __init__(self, obj):
        self.obj = obj
        self.weight = 0.0


def mock_weighed(host):
    return _Weighed(host)


_KEYS = sorted(rt_request.RT_KEYS) + [
    'hw:cpu_realtime', 'hw:cpu_policy', 'hw:cpu_realtime_mask',
    'hw:emulator_threads_policy', 'hw:cpu_thread_policy', 'hw:pmu',
    'hw:numa_nodes', 'hw:mem_page_size']
_VALUES = st.one_of(
    st.sampled_from(['yes', 'dedicated', '^0', '^0-1', '1-' + '9' * 5000,
                     '9' * 5000, 'nohz-full=0', 'rcu-nocbs=0 quiet',
                     'isolcpus=1', 'IRQAFFINITY=0', 'irq-affinity=0',
                     'nohz=off', 'a=b c', '\u0663', '0 - 3']),
    st.text(max_size=16))


class RandomFlavorsTest(testtools.TestCase):

    @FUZZ
    @hypothesis.given(
        vcpus=st.integers(-1, 40),
        specs=st.builds(
            lambda base_specs, extra: {**base_specs, **extra},
            st.just({'hw:cpu_realtime': 'yes',
                     'hw:cpu_policy': 'dedicated',
                     'hw:cpu_realtime_mask': '^0'}),
            st.dictionaries(st.sampled_from(_KEYS), _VALUES)),
        image=st.dictionaries(st.sampled_from(
            list(rt_request.IMAGE_PROPERTIES)),
            st.one_of(_VALUES, st.integers(-3, 10 ** 6), st.booleans())))
    def test_request_or_typed_error(self, vcpus, specs, image):
        try:
            request = rt_request.build_request(vcpus, specs, image)
        except exception.InvalidRealtimeRequest as e:
            self.assertTrue(e.keys)
            return
        if request is None:
            return
        derived = request.guest_kernel_args()[:5]
        for token in request.guest_kernel_args()[5:]:
            self.assertFalse(kernel_args.is_derived(token), token)
        self.assertEqual(len(kernel_args.DERIVED_KEYS), len(
            {kernel_args.key_of(t) for t in derived}))
