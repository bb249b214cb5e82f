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

import dataclasses

import hypothesis
from hypothesis import strategies as st
import testtools

from nova_rt.core import exception
from nova_rt.core import request as rt

BASE = {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
        'hw:cpu_realtime_mask': '^0'}


def build(vcpus=4, image=None, policy=None, **specs):
    extra = dict(BASE)
    for key, value in specs.items():
        name = key.replace('__', ':')
        if value is None:
            extra.pop(name, None)
        else:
            extra[name] = value
    return rt.build_request(vcpus, extra, image, policy)


class NotRealtimeTest(testtools.TestCase):

    def test_plain_flavor(self):
        self.assertIsNone(rt.build_request(2, {}))
        self.assertIsNone(rt.build_request(2, {'hw:cpu_policy': 'dedicated'}))

    def test_realtime_false(self):
        for value in ('no', 'false', '0', 'off', 'bogus'):
            self.assertIsNone(rt.build_request(
                2, {'hw:cpu_realtime': value, 'hw:cpu_policy': 'dedicated'}))

    def test_rt_key_without_realtime(self):
        e = self.assertRaises(
            exception.InvalidRealtimeRequest, rt.build_request, 2,
            {'rt:vcpu_priority': '5', 'rt:guest_tuning': 'none'})
        self.assertEqual(('rt:guest_tuning', 'rt:vcpu_priority'), e.keys)
        self.assertIn('hw:cpu_realtime=yes', str(e))

    def test_bad_rt_value_reported_before_realtime_rule(self):
        e = self.assertRaises(exception.InvalidRealtimeRequest,
                              rt.build_request, 2,
                              {'rt:vcpu_scheduler': 'deadline'})
        self.assertEqual(('rt:vcpu_scheduler',), e.keys)

    def test_image_cannot_enable_realtime(self):
        self.assertIsNone(rt.build_request(
            2, {'hw:cpu_policy': 'dedicated'},
            {'hw_cpu_realtime': True, 'hw_cpu_realtime_mask': '^0'}))


class DefaultsTest(testtools.TestCase):

    def test_defaults(self):
        r = build()
        self.assertEqual(frozenset({1, 2, 3}), r.realtime_vcpus)
        self.assertEqual(frozenset({0}), r.housekeeping_vcpus)
        self.assertEqual(rt.ThreadClass('fifo', 1), r.vcpu_thread)
        self.assertEqual(rt.ThreadClass('other'), r.emulator_thread)
        self.assertFalse(r.emulator_thread.realtime)
        self.assertIsNone(r.emulator_threads_policy)
        self.assertIsNone(r.cpu_thread_policy)
        self.assertEqual(1, r.numa_nodes)
        self.assertEqual('auto', r.guest_tuning)
        self.assertFalse(r.guest_idle_poll)
        self.assertEqual((), r.guest_extra_args)
        self.assertIsNone(r.l3_cache_kib)
        self.assertIsNone(r.max_latency_us)
        self.assertEqual('preempt_rt', r.host_kernel)
        self.assertFalse(r.pmu)
        self.assertIsNone(r.mem_page_size)
        self.assertEqual(4, r.pcpus)

    def test_policy_defaults(self):
        r = build(policy=rt.RequestPolicy(default_vcpu_priority=7,
                                          max_vcpu_priority=20,
                                          require_preempt_rt=False))
        self.assertEqual(7, r.vcpu_thread.priority)
        self.assertEqual('any', r.host_kernel)

    def test_immutable(self):
        r = build()
        self.assertRaises(dataclasses.FrozenInstanceError, setattr, r,
                          'vcpus', 8)


class MaskTest(testtools.TestCase):

    def test_masks(self):
        for vcpus, mask, realtime in [
            (4, '^0', {1, 2, 3}),
            (4, '^0-1', {2, 3}),
            (4, '^0,^3', {1, 2}),
            (4, '1-3', {1, 2, 3}),
            (4, '2', {2}),
            (4, '0-3,^0', {1, 2, 3}),
            (2, '^0', {1}),
            (64, '^0-1', set(range(2, 64))),
            (64, '1-63', set(range(1, 64))),
            (64, '^0,^32', set(range(64)) - {0, 32}),
        ]:
            with self.subTest(vcpus=vcpus, mask=mask):
                r = build(vcpus, hw__cpu_realtime_mask=mask)
                self.assertEqual(frozenset(realtime), r.realtime_vcpus)
                self.assertEqual(frozenset(range(vcpus)) - r.realtime_vcpus,
                                 r.housekeeping_vcpus)

    def test_image_mask_wins(self):
        r = build(image={'hw_cpu_realtime_mask': '^0-1'})
        self.assertEqual(frozenset({2, 3}), r.realtime_vcpus)

    def test_image_mask_without_flavor_mask(self):
        r = build(hw__cpu_realtime_mask=None,
                  image={'hw_cpu_realtime_mask': '^3'})
        self.assertEqual(frozenset({0, 1, 2}), r.realtime_vcpus)

    def test_bad_masks(self):
        for mask, fragment in [
            ('^0-3', 'leaves no real-time vCPU'),
            ('4', 'vCPU(s) 4 do not exist in a 4-vCPU flavor'),
            ('2-9', 'vCPU(s) 4-9 do not exist'),
            ('x', "'x' is not N, N-M or ^N"),
            ('3-1', 'runs backwards'),
        ]:
            with self.subTest(mask=mask):
                e = self.assertRaises(exception.InvalidRealtimeRequest,
                                      build, hw__cpu_realtime_mask=mask)
                self.assertEqual(('hw:cpu_realtime_mask',), e.keys)
                self.assertIn(fragment, str(e))

    def test_bad_image_mask_names_the_image_property(self):
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              image={'hw_cpu_realtime_mask': '^0-9'})
        self.assertEqual(('hw_cpu_realtime_mask',), e.keys)
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              image={'hw_cpu_realtime_mask': 5})
        self.assertEqual(('hw_cpu_realtime_mask',), e.keys)

    def test_all_realtime_needs_emulator_policy(self):
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              hw__cpu_realtime_mask=None)
        self.assertIn('hw:emulator_threads_policy', e.keys)
        self.assertIn('every vCPU is real-time', str(e))

    def test_all_realtime_needs_guest_tuning_none(self):
        e = self.assertRaises(
            exception.InvalidRealtimeRequest, build,
            hw__cpu_realtime_mask='0-3',
            hw__emulator_threads_policy='isolate')
        self.assertIn('rt:guest_tuning', e.keys)
        self.assertIn('the guest needs partitioning too', str(e))
        r = build(hw__cpu_realtime_mask='0-3', rt__guest_tuning='none',
                  hw__emulator_threads_policy='isolate')
        self.assertEqual(frozenset(range(4)), r.realtime_vcpus)
        self.assertEqual(frozenset(), r.housekeeping_vcpus)
        self.assertEqual(5, r.pcpus)

    def test_one_vcpu(self):
        r = build(1, hw__cpu_realtime_mask=None, rt__guest_tuning='none',
                  hw__emulator_threads_policy='isolate')
        self.assertEqual(frozenset({0}), r.realtime_vcpus)
        self.assertRaises(exception.InvalidRealtimeRequest, build, 1)


class CpuPolicyTest(testtools.TestCase):

    def test_needs_dedicated_or_mixed(self):
        for value in (None, 'shared'):
            with self.subTest(value=value):
                e = self.assertRaises(exception.InvalidRealtimeRequest,
                                      build, hw__cpu_policy=value)
                self.assertIn('hw:cpu_policy=dedicated or mixed', str(e))

    def test_dedicated_pins_every_vcpu(self):
        r = build()
        self.assertEqual('dedicated', r.cpu_policy)
        self.assertEqual(frozenset(range(4)), r.dedicated_vcpus)
        self.assertEqual(4, r.pcpus)

    def test_mixed_pins_only_the_realtime_vcpus(self):
        # Upstream: with mixed and real-time, the real-time mask is the
        # dedicated mask; the other vCPUs float on cpu_shared_set.
        r = build(hw__cpu_policy='mixed')
        self.assertEqual('mixed', r.cpu_policy)
        self.assertEqual(frozenset({1, 2, 3}), r.dedicated_vcpus)
        self.assertEqual(frozenset({0}), r.housekeeping_vcpus)
        self.assertEqual(3, r.pcpus)
        self.assertEqual(4, build(hw__cpu_policy='mixed',
                                  hw__emulator_threads_policy='isolate')
                         .pcpus)
        d = r.to_dict()
        self.assertEqual(('mixed', '1-3', 3),
                         (d['cpu_policy'], d['dedicated_vcpus'],
                          d['host_pcpus']))
        self.assertEqual('mixed', build(
            hw__cpu_policy=None, image={'hw_cpu_policy': 'mixed'}).cpu_policy)

    def test_mixed_needs_a_shared_vcpu(self):
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              hw__cpu_policy='mixed',
                              hw__cpu_realtime_mask='0-3',
                              rt__guest_tuning='none',
                              hw__emulator_threads_policy='isolate')
        self.assertEqual(('hw:cpu_policy', 'hw:cpu_realtime_mask'), e.keys)
        self.assertIn('outside the real-time mask', str(e))

    def test_mixed_refuses_a_dedicated_mask(self):
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              hw__cpu_policy='mixed',
                              hw__cpu_dedicated_mask='^0')
        self.assertEqual(('hw:cpu_dedicated_mask', 'hw:cpu_realtime_mask'),
                         e.keys)

    def test_bad_policy_value(self):
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              hw__cpu_policy='pinned')
        self.assertEqual(('hw:cpu_policy',), e.keys)

    def test_image_policy_when_flavor_silent(self):
        r = build(hw__cpu_policy=None, image={'hw_cpu_policy': 'dedicated'})
        self.assertEqual(frozenset({1, 2, 3}), r.realtime_vcpus)
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              hw__cpu_policy=None,
                              image={'hw_cpu_policy': 'shared'})
        self.assertIn('hw_cpu_policy', e.keys)
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              image={'hw_cpu_policy': 'bogus'})
        self.assertEqual(('hw_cpu_policy',), e.keys)

    def test_flavor_policy_over_image(self):
        r = build(image={'hw_cpu_policy': 'shared'})
        self.assertIsNotNone(r)

    def test_thread_policy(self):
        for value in rt.THREAD_POLICIES:
            self.assertEqual(value,
                             build(hw__cpu_thread_policy=value)
                             .cpu_thread_policy)
        self.assertEqual('isolate', build(
            image={'hw_cpu_thread_policy': 'isolate'}).cpu_thread_policy)
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              hw__cpu_thread_policy='prefer',
                              image={'hw_cpu_thread_policy': 'isolate'})
        self.assertEqual(('hw:cpu_thread_policy', 'hw_cpu_thread_policy'),
                         e.keys)
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              hw__cpu_thread_policy='never')
        self.assertEqual(('hw:cpu_thread_policy',), e.keys)

    def test_emulator_policy(self):
        self.assertEqual(5, build(hw__emulator_threads_policy='isolate').pcpus)
        self.assertEqual(4, build(hw__emulator_threads_policy='share').pcpus)
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              hw__emulator_threads_policy='pinned')
        self.assertEqual(('hw:emulator_threads_policy',), e.keys)


class PriorityTest(testtools.TestCase):

    def test_vcpu_priority_bounds(self):
        policy = rt.RequestPolicy(max_vcpu_priority=99)
        for value, ok in [('1', True), ('99', True), ('0', False),
                          ('100', False), ('-1', False), ('5.5', False),
                          ('', False), ('ten', False), (' 7 ', True)]:
            with self.subTest(value=value):
                if ok:
                    r = build(rt__vcpu_priority=value, policy=policy)
                    self.assertEqual(int(value), r.vcpu_thread.priority)
                else:
                    e = self.assertRaises(exception.InvalidRealtimeRequest,
                                          build, rt__vcpu_priority=value,
                                          policy=policy)
                    self.assertEqual(('rt:vcpu_priority',), e.keys)

    def test_capped_by_max(self):
        policy = rt.RequestPolicy(max_vcpu_priority=20)
        self.assertEqual(20, build(rt__vcpu_priority='20',
                                   policy=policy).vcpu_thread.priority)
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              rt__vcpu_priority='21', policy=policy)
        self.assertIn('max_vcpu_priority=20', str(e))

    def test_default_above_max_is_a_config_error(self):
        policy = rt.RequestPolicy(default_vcpu_priority=30,
                                  max_vcpu_priority=20)
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              policy=policy)
        self.assertEqual(('[nova_rt] default_vcpu_priority',), e.keys)

    def test_vcpu_scheduler(self):
        self.assertEqual('rr', build(rt__vcpu_scheduler='rr')
                         .vcpu_thread.scheduler)
        for bad in ('other', 'FIFO', 'deadline', ''):
            e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                                  rt__vcpu_scheduler=bad)
            self.assertEqual(('rt:vcpu_scheduler',), e.keys)

    def test_emulator_class(self):
        r = build(rt__emulator_scheduler='fifo', rt__emulator_priority='5')
        self.assertEqual(rt.ThreadClass('fifo', 5), r.emulator_thread)
        self.assertEqual('fifo:5', str(r.emulator_thread))
        r = build(rt__emulator_scheduler='rr', rt__emulator_priority='49')
        self.assertEqual(rt.ThreadClass('rr', 49), r.emulator_thread)
        self.assertEqual('other', str(build().emulator_thread))

    def test_emulator_priority_required_with_rt_class(self):
        for sched in ('fifo', 'rr'):
            e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                                  rt__emulator_scheduler=sched)
            self.assertIn('needs rt:emulator_priority', str(e))

    def test_emulator_priority_refused_with_other(self):
        for specs in ({'rt__emulator_priority': '5'},
                      {'rt__emulator_priority': '5',
                       'rt__emulator_scheduler': 'other'}):
            e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                                  **specs)
            self.assertIn('rt:emulator_priority', e.keys)

    def test_emulator_priority_capped(self):
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              rt__emulator_scheduler='fifo',
                              rt__emulator_priority='50')
        self.assertEqual(('rt:emulator_priority',), e.keys)
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              rt__emulator_scheduler='fifo',
                              rt__emulator_priority='0')
        self.assertEqual(('rt:emulator_priority',), e.keys)


class OtherKeysTest(testtools.TestCase):

    def test_guest_keys(self):
        r = build(rt__guest_idle_poll='true',
                  rt__guest_kernel_args='quiet mitigations=off')
        self.assertTrue(r.guest_idle_poll)
        self.assertEqual(('quiet', 'mitigations=off'), r.guest_extra_args)
        for value in ('yes', 'on', '1', 'True'):
            self.assertTrue(build(rt__guest_idle_poll=value).guest_idle_poll)
        for value in ('no', 'off', '0', 'false'):
            self.assertFalse(build(rt__guest_idle_poll=value)
                             .guest_idle_poll)
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              rt__guest_idle_poll='maybe')
        self.assertEqual(('rt:guest_idle_poll',), e.keys)

    def test_guest_tuning(self):
        self.assertEqual('none', build(rt__guest_tuning='none').guest_tuning)
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              rt__guest_tuning='manual')
        self.assertEqual(('rt:guest_tuning',), e.keys)

    def test_guest_args_refused_without_tuning(self):
        for key, value in (('rt__guest_idle_poll', 'true'),
                           ('rt__guest_kernel_args', 'quiet')):
            e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                                  rt__guest_tuning='none', **{key: value})
            self.assertIn('rt:guest_tuning', e.keys)

    def test_positive_integers(self):
        for key in ('rt__l3_cache_kib', 'rt__max_latency_us'):
            name = key.replace('__', ':')
            r = build(**{key: '1'})
            self.assertEqual(1, getattr(r, name[3:]))
            r = build(**{key: '4096'})
            self.assertEqual(4096, getattr(r, name[3:]))
            for bad in ('0', '-5', 'x', '1.5', ''):
                e = self.assertRaises(exception.InvalidRealtimeRequest,
                                      build, **{key: bad})
                self.assertEqual((name,), e.keys)

    def test_host_kernel(self):
        self.assertEqual('any', build(rt__host_kernel='any').host_kernel)
        policy = rt.RequestPolicy(require_preempt_rt=False)
        self.assertEqual('preempt_rt', build(rt__host_kernel='preempt_rt',
                                             policy=policy).host_kernel)
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              rt__host_kernel='preempt')
        self.assertEqual(('rt:host_kernel',), e.keys)

    def test_unknown_rt_key(self):
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              rt__vcpu_prio='5')
        self.assertEqual(('rt:vcpu_prio',), e.keys)
        self.assertIn('unknown nova-rt key', str(e))

    def test_non_string_value(self):
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              rt__vcpu_priority=5)
        self.assertEqual(('rt:vcpu_priority',), e.keys)

    def test_pmu(self):
        self.assertFalse(build().pmu)
        self.assertTrue(build(hw__pmu='true').pmu)
        self.assertFalse(build(hw__pmu='false').pmu)
        self.assertTrue(build(image={'hw_pmu': True}).pmu)
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              hw__pmu='true', image={'hw_pmu': False})
        self.assertEqual(('hw:pmu', 'hw_pmu'), e.keys)
        e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                              hw__pmu='sometimes')
        self.assertEqual(('hw:pmu',), e.keys)

    def test_numa_nodes(self):
        self.assertEqual(2, build(hw__numa_nodes='2').numa_nodes)
        self.assertEqual(2, build(image={'hw_numa_nodes': 2}).numa_nodes)
        for bad in ('0', '5', 'two'):
            e = self.assertRaises(exception.InvalidRealtimeRequest, build,
                                  hw__numa_nodes=bad)
            self.assertEqual(('hw:numa_nodes',), e.keys)

    def test_page_size(self):
        self.assertEqual('1GB', build(hw__mem_page_size='1GB').mem_page_size)
        self.assertEqual('large', build(
            image={'hw_mem_page_size': 'large'}).mem_page_size)

    def test_vcpus(self):
        for bad in (0, -1, '4', None, True, 2.0):
            e = self.assertRaises(exception.InvalidRealtimeRequest,
                                  rt.build_request, bad, BASE)
            self.assertEqual(('vcpus',), e.keys)

    def test_to_dict(self):
        d = build(8, hw__cpu_realtime_mask='^0-1', rt__vcpu_priority='10',
                  rt__l3_cache_kib='2048').to_dict()
        self.assertEqual('2-7', d['realtime_vcpus'])
        self.assertEqual('0-1', d['housekeeping_vcpus'])
        self.assertEqual(10, d['vcpu_priority'])
        self.assertEqual(2048, d['l3_cache_kib'])
        self.assertEqual('isolcpus=managed_irq,domain,2-7',
                         d['guest_kernel_args'][0])
        self.assertEqual(6, len(d['oem_strings']))


class RtKeyTableTest(testtools.TestCase):

    def test_every_product_key_present(self):
        self.assertEqual(
            {'rt:vcpu_scheduler', 'rt:vcpu_priority',
             'rt:emulator_scheduler', 'rt:emulator_priority',
             'rt:guest_tuning', 'rt:guest_idle_poll',
             'rt:guest_kernel_args', 'rt:l3_cache_kib',
             'rt:max_latency_us', 'rt:host_kernel'},
            set(rt.RT_KEYS))
        for key in rt.RT_KEYS.values():
            self.assertTrue(key.description)
            self.assertTrue(key.values)


_KEYS = sorted(rt.RT_KEYS) + [
    'hw:cpu_realtime', 'hw:cpu_policy', 'hw:cpu_realtime_mask',
    'hw:emulator_threads_policy', 'hw:cpu_thread_policy', 'hw:pmu',
    'hw:numa_nodes', 'hw:mem_page_size', 'rt:bogus']
_VALUES = st.one_of(
    st.sampled_from(['yes', 'no', 'dedicated', 'shared', 'fifo', 'rr',
                     'other', 'auto', 'none', 'isolate', 'share', '0', '1',
                     '5', '49', '99', '100', '^0', '^0-1', '0-3', '1-2',
                     'true', 'quiet a=b', '-- x', 'preempt_rt', 'any',
                     '', ' ']),
    st.text(max_size=12))
_IMAGE_VALUES = st.one_of(_VALUES, st.integers(-2, 9), st.booleans(),
                          st.none())

# Values each key accepts (with the real-time base below they make a
# valid flavor more often than not), so most examples build a request.
_VALID = {
    'rt:vcpu_scheduler': st.sampled_from(['fifo', 'rr']),
    'rt:vcpu_priority': st.integers(1, 49).map(str),
    'rt:guest_tuning': st.just('auto'),
    'rt:guest_idle_poll': st.sampled_from(['true', 'false', 'yes', 'no']),
    'rt:guest_kernel_args': st.sampled_from(['quiet', 'a=b c', 'x.y=1']),
    'rt:l3_cache_kib': st.integers(1, 1 << 20).map(str),
    'rt:max_latency_us': st.integers(1, 1000).map(str),
    'rt:host_kernel': st.sampled_from(['preempt_rt', 'any']),
    'hw:emulator_threads_policy': st.sampled_from(['share', 'isolate']),
    'hw:cpu_thread_policy': st.sampled_from(['prefer', 'isolate',
                                             'require']),
    'hw:pmu': st.sampled_from(['true', 'false']),
    'hw:numa_nodes': st.just('1'),
    'hw:mem_page_size': st.sampled_from(['large', '1GB', '2048']),
}
_REALTIME_SPECS = st.builds(
    lambda mask, valid, wild: {
        'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
        'hw:cpu_realtime_mask': mask, **valid, **wild},
    st.sampled_from(['^0', '^0-1', '1', '1-2', '^0,^3']),
    st.fixed_dictionaries({}, optional=_VALID),
    # Now and then one key with any value: the error paths are reached
    # too, without drowning the valid requests.
    st.integers(0, 6).flatmap(lambda i: st.dictionaries(
        st.sampled_from(_KEYS), _VALUES, min_size=1, max_size=1)
        if i == 6 else st.just({})))
# One in eight: any keys with any values.
_SPECS = st.integers(0, 7).flatmap(
    lambda i: st.dictionaries(st.sampled_from(_KEYS), _VALUES)
    if i == 7 else _REALTIME_SPECS)
_IMAGES = st.integers(0, 7).flatmap(
    lambda i: st.dictionaries(st.sampled_from(list(rt.IMAGE_PROPERTIES)),
                              _IMAGE_VALUES)
    if i == 7 else st.fixed_dictionaries({}, optional={
        'hw_cpu_realtime_mask': st.sampled_from(['^0', '^0-1']),
        'hw_pmu': st.booleans(),
        'hw_mem_page_size': st.sampled_from(['large', 'small'])}))


class PropertyTest(testtools.TestCase):
    """Any input yields a RealtimeRequest, None, or the typed error."""

    def test_total(self):
        built = []

        @hypothesis.settings(max_examples=300, deadline=None, database=None,
                             derandomize=True)
        @hypothesis.given(vcpus=st.integers(0, 5).flatmap(
            lambda i: st.integers(-1, 70) if i == 5 else st.integers(3, 16)),
                          specs=_SPECS, image=_IMAGES)
        def check(vcpus, specs, image):
            built.append(self._total(vcpus, specs, image))

        check()
        # The request assertions below must run, not just the error ones.
        self.assertGreaterEqual(sum(built), len(built) / 2)

    def _total(self, vcpus, specs, image):
        try:
            r = rt.build_request(vcpus, specs, image)
        except exception.InvalidRealtimeRequest as e:
            self.assertTrue(e.keys)
            self.assertTrue(e.message)
            return False
        if r is None:
            return False
        self.assertTrue(r.realtime_vcpus)
        self.assertTrue(r.realtime_vcpus <= frozenset(range(vcpus)))
        self.assertEqual(frozenset(range(vcpus)),
                         r.realtime_vcpus | r.housekeeping_vcpus)
        self.assertTrue(1 <= r.vcpu_thread.priority <= 49)
        self.assertEqual(r.vcpus + r.emulator_pcpus, r.pcpus)
        r.to_dict()
        return True


class RememberedRequestTest(testtools.TestCase):

    def test_same_input_same_request(self):
        specs = dict(BASE, **{'rt:vcpu_priority': '10'})
        first = rt.remembered_request(4, specs, {'hw_pmu': True})
        self.assertEqual(rt.build_request(4, specs, {'hw_pmu': True}), first)
        # Another dict with the same items, in another order.
        again = rt.remembered_request(4, dict(reversed(list(specs.items()))),
                                      {'hw_pmu': True})
        self.assertIs(first, again)

    def test_any_difference_is_another_request(self):
        specs = dict(BASE)
        first = rt.remembered_request(4, specs)
        for other in (rt.remembered_request(6, specs),
                      rt.remembered_request(4, dict(specs, **{
                          'rt:vcpu_priority': '12'})),
                      rt.remembered_request(4, specs, {'hw_pmu': True}),
                      rt.remembered_request(
                          4, specs, policy=rt.RequestPolicy(
                              default_vcpu_priority=5))):
            self.assertIsNot(first, other)
            self.assertNotEqual(first, other)

    def test_refused_each_time(self):
        bad = dict(BASE, **{'rt:vcpu_priority': '99'})
        for _ in range(2):
            self.assertRaises(exception.InvalidRealtimeRequest,
                              rt.remembered_request, 4, bad)

    def test_not_realtime(self):
        self.assertIsNone(rt.remembered_request(2, {}))

    def test_unhashable_value_is_built_not_remembered(self):
        image = {'hw_numa_nodes': [2]}
        self.assertEqual(
            _outcome(lambda: rt.build_request(4, dict(BASE), image)),
            _outcome(lambda: rt.remembered_request(4, dict(BASE), image)))


def _outcome(call):
    try:
        return call()
    except exception.InvalidRealtimeRequest as e:
        return str(e)
