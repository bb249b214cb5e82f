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
"""nova-rt reads CPU sets and real-time masks the way Nova does, except
where it deliberately refuses more: a differential test against
``nova.virt.hardware.parse_cpu_spec`` and
``get_realtime_cpu_constraint``.

The deliberate differences, each with its own test below:

* spaces inside an item (``'0 - 3'``, ``'^ 0'``): Nova's int() strips
  them; nova-rt refuses, as the kernel and libvirt lists have none;
* what Python's int() accepts beyond digits (``'+3'``, ``'1_0'``): Nova
  takes them; nova-rt refuses;
* CPU numbers above 8191 (the kernel's NR_CPUS limit): Nova builds the
  set; nova-rt refuses, so a typo cannot allocate millions of CPUs.

Everywhere else, when both accept they give the same set, and when one
refuses so does the other.
"""

import hypothesis
from hypothesis import strategies as st
from nova import exception as nova_exception
from nova import objects
from nova.virt import hardware
import testtools

from nova_rt.core import cpuset
from nova_rt.core import exception
from nova_rt.core import request as rt_request

objects.register_all()

_NUMBER = st.integers(0, 40).map(str)
_ITEM = st.one_of(
    _NUMBER,
    st.builds('{}-{}'.format, _NUMBER, _NUMBER),
    st.builds('^{}'.format, _NUMBER),
    st.builds('^{}-{}'.format, _NUMBER, _NUMBER),
    st.sampled_from(['', ' ', '^', '-', 'x', '1-', '-1', '1--2']))
_SPECS = st.lists(_ITEM, max_size=6).map(','.join)


def nova_parse(spec):
    try:
        return frozenset(hardware.parse_cpu_spec(spec))
    except nova_exception.Invalid:
        return None


def ours(spec):
    try:
        return cpuset.parse(spec)
    except exception.InvalidCPUSet:
        return None


class ParseCpuSpecTest(testtools.TestCase):

    @hypothesis.settings(max_examples=300, deadline=None, database=None)
    @hypothesis.given(_SPECS)
    def test_same_as_nova_on_the_common_grammar(self, spec):
        self.assertEqual(nova_parse(spec), ours(spec), spec)

    def test_spaces_inside_an_item_refused(self):
        for spec, novas in (('0 - 3', {0, 1, 2, 3}), ('^ 0', set()),
                            ('0-3,^ 1', {0, 2, 3})):
            self.assertEqual(novas, nova_parse(spec))
            self.assertIsNone(ours(spec))

    def test_python_int_extras_refused(self):
        for spec, novas in (('+3', {3}), ('1_0', {10})):
            self.assertEqual(novas, nova_parse(spec))
            self.assertIsNone(ours(spec))

    def test_cpu_limit(self):
        self.assertEqual({8191}, ours('8191'))
        self.assertEqual({9000}, nova_parse('9000'))
        self.assertIsNone(ours('8192'))


def nova_mask(vcpus, flavor_mask, image_mask, emulator=None):
    specs = {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated'}
    if flavor_mask is not None:
        specs['hw:cpu_realtime_mask'] = flavor_mask
    if emulator:
        specs['hw:emulator_threads_policy'] = emulator
    props = {} if image_mask is None else {'hw_cpu_realtime_mask':
                                           image_mask}
    flavor = objects.Flavor(vcpus=vcpus, extra_specs=specs)
    image = objects.ImageMeta.from_dict({'properties': props})
    try:
        return frozenset(hardware.get_realtime_cpu_constraint(flavor, image))
    except (nova_exception.Invalid,
            nova_exception.RealtimeMaskNotFoundOrInvalid):
        return None


def our_mask(vcpus, flavor_mask, image_mask, emulator=None):
    specs = {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
             # nova-rt's own rule (the guest needs partitioning too) is
             # not Nova's: leave it out of the comparison.
             'rt:guest_tuning': 'none'}
    if flavor_mask is not None:
        specs['hw:cpu_realtime_mask'] = flavor_mask
    if emulator:
        specs['hw:emulator_threads_policy'] = emulator
    image = {} if image_mask is None else {'hw_cpu_realtime_mask':
                                           image_mask}
    try:
        return rt_request.build_request(vcpus, specs, image).realtime_vcpus
    except exception.InvalidRealtimeRequest:
        return None


_MASKS = st.one_of(st.none(), _SPECS, st.builds('^{}'.format, _SPECS))


class RealtimeMaskTest(testtools.TestCase):

    @hypothesis.settings(max_examples=200, deadline=None, database=None)
    @hypothesis.given(vcpus=st.integers(1, 12), flavor_mask=_MASKS,
                      image_mask=_MASKS,
                      emulator=st.sampled_from([None, 'share', 'isolate']))
    def test_same_as_nova(self, vcpus, flavor_mask, image_mask, emulator):
        self.assertEqual(
            nova_mask(vcpus, flavor_mask, image_mask, emulator),
            our_mask(vcpus, flavor_mask, image_mask, emulator))

    def test_image_mask_wins_as_in_nova(self):
        args = (4, '^0', '^1')
        self.assertEqual(frozenset({0, 2, 3}), nova_mask(*args))
        self.assertEqual(nova_mask(*args), our_mask(*args))

    def test_spaces_in_a_mask_refused(self):
        self.assertEqual(frozenset({1, 2, 3}), nova_mask(4, '^ 0', None))
        self.assertIsNone(our_mask(4, '^ 0', None))
