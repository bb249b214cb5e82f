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
"""Placement's first cut: the ready trait a real-time flavor asks for, in
the core, ``nova-rt flavor explain`` and the scheduler's warning.
"""

import json

import fixtures
import testtools

from nova_rt.host import facts as host_facts
from nova_rt import scheduler
from nova_rt.scheduler import filters as rt_filters
from nova_rt.scheduler import prefilter
from tests import scheduler_fakes as fakes
from tests.unit import test_cmd_flavor

RT = {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
      'hw:cpu_realtime_mask': '^0'}
READY = 'trait:CUSTOM_NOVA_RT_READY'
LAB = 'trait:CUSTOM_NOVA_RT_LAB'


def cut(lab_mode=False, **specs):
    return prefilter.placement_cut(dict(RT, **specs), lab_mode)


class PlacementCutTest(testtools.TestCase):

    def test_the_trait_of_each_mode(self):
        self.assertEqual(host_facts.TRAIT_READY, prefilter.required_trait())
        self.assertEqual(host_facts.TRAIT_LAB,
                         prefilter.required_trait(lab_mode=True))
        self.assertEqual({READY: 'required'}, prefilter.trait_spec())
        self.assertEqual({LAB: 'required'}, prefilter.trait_spec(True))

    def test_asked(self):
        found = prefilter.placement_cut(dict(RT, **{READY: 'required'}))
        self.assertEqual(prefilter.ASKED, found.state)
        self.assertTrue(found.asked)
        # Placement's own spelling is case-sensitive, nova's value is not.
        self.assertTrue(prefilter.placement_cut(
            dict(RT, **{READY: 'Required'})).asked)
        self.assertTrue(prefilter.placement_cut(
            dict(RT, **{LAB: 'required'}), lab_mode=True).asked)

    def test_missing_says_what_to_add(self):
        found = prefilter.placement_cut(RT)
        self.assertEqual(prefilter.MISSING, found.state)
        self.assertFalse(found.asked)
        self.assertIn('add trait:CUSTOM_NOVA_RT_READY=required',
                      found.message)
        self.assertIn('add trait:CUSTOM_NOVA_RT_LAB=required',
                      prefilter.placement_cut(RT, lab_mode=True).message)

    def test_conflicts(self):
        forbidden = prefilter.placement_cut(dict(RT, **{READY: 'forbidden'}))
        self.assertEqual(prefilter.CONFLICT, forbidden.state)
        # A production scheduler never uses lab hosts, and a lab cloud has
        # no ready host.
        lab_in_production = prefilter.placement_cut(
            dict(RT, **{LAB: 'required'}))
        self.assertEqual(prefilter.CONFLICT, lab_in_production.state)
        self.assertIn('use trait:CUSTOM_NOVA_RT_READY=required',
                      lab_in_production.message)
        self.assertEqual(prefilter.CONFLICT, prefilter.placement_cut(
            dict(RT, **{READY: 'required'}), lab_mode=True).state)

    def test_other_traits_do_not_count(self):
        found = prefilter.placement_cut(dict(
            RT, **{'trait:CUSTOM_NOVA_RT_PREEMPT_RT': 'required',
                   'trait:HW_CPU_X86_AVX2': 'required'}))
        self.assertEqual(prefilter.MISSING, found.state)

    def test_not_realtime(self):
        found = prefilter.placement_cut({READY: 'forbidden'})
        self.assertEqual(prefilter.NOT_REALTIME, found.state)

    def test_to_dict(self):
        self.assertEqual(
            {'trait': 'CUSTOM_NOVA_RT_READY', 'state': 'asked',
             'asked': True,
             'message': 'trait:CUSTOM_NOVA_RT_READY=required: placement '
                        'offers only ready hosts'},
            cut(**{READY: 'required'}).to_dict())


class ExplainTest(testtools.TestCase):

    def test_text_says_it_is_missing(self):
        code, out, _ = test_cmd_flavor.run(
            'flavor', 'explain', '--vcpus', '4', *test_cmd_flavor.RT)
        self.assertEqual(0, code)
        self.assertIn('placement:', out)
        self.assertIn('not asked: add trait:CUSTOM_NOVA_RT_READY=required',
                      out)

    def test_json_and_lab_mode_from_the_config(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = '%s/nova.conf' % tmp
        with open(conf, 'w') as f:
            f.write('[nova_rt]\nlab_mode = true\n')
        code, out, _ = test_cmd_flavor.run(
            'flavor', 'explain', '--vcpus', '4', *test_cmd_flavor.RT,
            '--property', 'trait:CUSTOM_NOVA_RT_LAB=required',
            '--config-file', conf, '--format', 'json')
        self.assertEqual(0, code)
        placement = json.loads(out)['placement']
        self.assertEqual('CUSTOM_NOVA_RT_LAB', placement['trait'])
        self.assertTrue(placement['asked'])

    def test_conflict_is_shouted(self):
        code, out, _ = test_cmd_flavor.run(
            'flavor', 'explain', '--vcpus', '4', *test_cmd_flavor.RT,
            '--property', 'trait:CUSTOM_NOVA_RT_READY=forbidden')
        self.assertEqual(0, code)
        self.assertIn('placement:', out)
        self.assertIn('WRONG: trait:CUSTOM_NOVA_RT_READY=forbidden', out)


class SchedulerWarningTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        scheduler.clear_caches()
        self.log = self.useFixture(fixtures.FakeLogger(
            name='nova_rt.scheduler'))
        self.filter = rt_filters.RealtimeFilter()
        self.hosts = [fakes.host_state('h%d' % i, *fakes.SHAPES['1s-16c'])
                      for i in range(2)]

    def schedule(self, nodes=1, **extra):
        spec = fakes.flavor_spec(4, numa_nodes=nodes)
        spec.flavor.extra_specs.update(extra)
        return list(self.filter.filter_all(self.hosts, spec))

    def test_once_per_flavor_when_missing(self):
        self.assertEqual(2, len(self.schedule()))
        self.schedule()
        self.assertEqual(1, self.log.output.count(
            'does not ask placement for CUSTOM_NOVA_RT_READY'))

    def test_silent_when_asked(self):
        self.assertEqual(2, len(self.schedule(**{READY: 'required'})))
        self.assertNotIn('placement', self.log.output)

    def test_lab_mode_wants_the_lab_trait(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova_rt.scheduler.Policy.from_conf',
            classmethod(lambda cls: cls(lab_mode=True))))
        self.schedule(**{LAB: 'required'})
        self.assertNotIn('placement', self.log.output)
        self.schedule(**{READY: 'required'})
        self.assertIn('cannot be scheduled', self.log.output)

    def test_the_filter_still_judges(self):
        # The trait says ready; the count still decides what fits: two
        # guest NUMA nodes need two host cells.
        self.assertEqual([], self.schedule(nodes=2, **{READY: 'required'}))


class RequiredTraitsTest(testtools.TestCase):

    def request(self, **specs):
        from nova_rt.core import request as rt_request
        return rt_request.build_request(4, dict(RT, **specs), {}, None)

    def test_ready_and_the_facts_asked_for(self):
        self.assertEqual(
            {READY: 'required',
             'trait:CUSTOM_NOVA_RT_PREEMPT_RT': 'required'},
            prefilter.required_traits(self.request()))
        self.assertEqual(
            {READY: 'required', 'trait:CUSTOM_NOVA_RT_CAT': 'required'},
            prefilter.required_traits(self.request(
                **{'rt:host_kernel': 'any', 'rt:l3_cache_kib': '1024'})))

    def test_lab_mode_asks_the_lab_trait(self):
        self.assertEqual({LAB: 'required'}, prefilter.required_traits(
            self.request(**{'rt:host_kernel': 'any'}), lab_mode=True))

    def test_what_it_asks_is_what_placement_cut_calls_asked(self):
        for lab in (False, True):
            specs = dict(RT, **prefilter.required_traits(
                self.request(), lab_mode=lab))
            self.assertTrue(prefilter.placement_cut(specs, lab).asked)
