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
"""``openstack realtime ...`` through cliff, over a fake cloud
(tests/unit/osc/fakes.py)."""

import argparse
import json

import fixtures
from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as sdk_exceptions
from osc_lib import exceptions
import testtools

from nova_rt.osc import plugin
from nova_rt.osc.v1 import flavor as osc_flavor
from nova_rt.osc.v1 import host as osc_host
from tests.unit.osc import base
from tests.unit.osc import fakes

RT = {'hw:cpu_policy': 'dedicated', 'hw:cpu_realtime': 'yes',
      'hw:cpu_realtime_mask': '^0', 'rt:vcpu_priority': '10'}


class RealtimeCommandTest(base.CommandTestCase):

    def setUp(self):
        super().setUp()
        rt_flavor = fakes.flavor('rt.medium', 4, RT)
        self.compute = fakes.FakeCompute(
            hypervisors=[fakes.hypervisor('c1.example'),
                         fakes.hypervisor('c2.example', host='c2'),
                         fakes.hypervisor('c3.example')],
            servers=[fakes.server('s1', 'vm1', 'c1.example', rt_flavor),
                     fakes.server('s2', 'plain', 'c1.example',
                                  fakes.flavor('m1', 1, {}))],
            flavors=[rt_flavor,
                     fakes.flavor('m1.small', 1, {}),
                     fakes.flavor('bad', 2, {'hw:cpu_realtime': 'yes',
                                             'hw:cpu_realtime_mask': '^0',
                                             'hw:cpu_policy': 'dedicated',
                                             'rt:vcpu_priority': '90'})])
        placement = fakes.FakePlacement({
            'c1.example': (['CUSTOM_NOVA_RT_READY',
                            'CUSTOM_NOVA_RT_PREEMPT_RT', 'HW_CPU_X86_SSE'],
                           8, 4),
            'c2.example': (['CUSTOM_NOVA_RT_LAB'], 2, 0),
        })
        self.app.client_manager.realtime = fakes.FakeConnection(
            self.compute, placement)
        # No nova.conf of the machine running the tests: the defaults.
        for name in ('DEFAULT_CONFIG_FILES', 'DEFAULT_CONFIG_DIRS'):
            self.useFixture(fixtures.MockPatch(
                'nova_rt.cmd.common.' + name, ()))

    def run_cmd(self, cls, argv):
        cmd = cls(self.app, None)
        parsed = self.check_parser(cmd, argv)
        return cmd, parsed, cmd.take_action(parsed)

    def output(self, cls, argv):
        """What the command prints, through cliff's formatter."""
        cmd = cls(self.app, None)
        parsed = self.check_parser(cmd, argv)
        self.assertEqual(0, cmd.run(parsed))
        return self.printed()


class HostCommandTest(RealtimeCommandTest):

    def test_list_columns_and_values(self):
        _, _, (columns, rows) = self.run_cmd(osc_host.ListHost, [])
        self.assertEqual(['Host', 'Node', 'State', 'Status', 'Ready',
                          'PREEMPT_RT', 'CAT', 'PCPUs Total', 'PCPUs Used',
                          'PCPUs Free', 'RT Instances'], columns)
        human = [[c.human_readable() if hasattr(c, 'human_readable') else c
                  for c in row] for row in rows]
        self.assertEqual([
            ['c1.example', 'c1.example', 'up', 'enabled', 'True', 'True',
             'False', 8, 4, 4, 1],
            ['c2', 'c2.example', 'up', 'enabled', 'False', 'False', 'False',
             2, 0, 2, 0],
            # No resource provider: nova-rt cannot tell.
            ['c3.example', 'c3.example', 'up', 'enabled', 'unknown',
             'unknown', 'unknown', 0, 0, 0, 0],
        ], human)

    def test_list_json_keeps_booleans_and_null(self):
        doc = json.loads(self.output(osc_host.ListHost, ['-f', 'json']))
        self.assertEqual([True, False, None], [h['Ready'] for h in doc])
        self.assertEqual([4, 2, 0], [h['PCPUs Free'] for h in doc])

    def test_list_value_format(self):
        # -f value prints machine values, as for every OSC command.
        lines = self.output(osc_host.ListHost,
                            ['-f', 'value', '-c', 'Host', '-c', 'Ready'])
        self.assertEqual('c1.example True\nc2 False\nc3.example None\n',
                         lines)

    def test_list_long_adds_only_nova_rt_traits(self):
        _, _, (columns, rows) = self.run_cmd(osc_host.ListHost, ['--long'])
        self.assertEqual('Traits', columns[-1])
        self.assertEqual(['CUSTOM_NOVA_RT_PREEMPT_RT',
                          'CUSTOM_NOVA_RT_READY'],
                         rows[0][-1].machine_readable())

    def test_show_by_host_or_node(self):
        for name in ('c2', 'c2.example'):
            _, _, (fields, values) = self.run_cmd(osc_host.ShowHost, [name])
            shown = dict(zip(fields, values))
            self.assertEqual('c2.example', shown['node'])
            self.assertEqual(['CUSTOM_NOVA_RT_LAB'],
                             shown['traits'].machine_readable())

    def test_show_json_lists_realtime_instances(self):
        doc = json.loads(self.output(osc_host.ShowHost,
                                     ['c1.example', '-f', 'json']))
        self.assertEqual([{'id': 's1', 'name': 'vm1', 'status': 'ACTIVE',
                           'vcpus': 4, 'flavor': 'rt.medium'}],
                         doc['realtime_instances'])
        self.assertEqual(4, doc['pcpu_free'])
        self.assertIs(True, doc['ready'])

    def test_show_unknown_host(self):
        e = self.assertRaises(exceptions.CommandError, self.run_cmd,
                              osc_host.ShowHost, ['nowhere'])
        self.assertEqual('no compute host or node named nowhere', str(e))

    def test_unreachable_cloud_is_one_line(self):
        def refuse(**kwargs):
            raise ks_exceptions.ConnectFailure(
                'Unable to establish connection to\nhttp://192.0.2.1:8774')
        self.compute.hypervisors = refuse
        self.compute.servers = refuse
        e = self.assertRaises(exceptions.CommandError, self.run_cmd,
                              osc_host.ListHost, [])
        self.assertEqual('reading the cloud failed: Unable to establish '
                         'connection to http://192.0.2.1:8774', str(e))

    def test_placement_read_at_the_traits_microversion(self):
        self.run_cmd(osc_host.ListHost, [])
        placement = self.app.client_manager.realtime.placement
        self.assertEqual({'1.6'}, placement.microversions)

    def test_placement_refusing_is_one_line(self):
        placement = self.app.client_manager.realtime.placement

        def refuse(path, microversion=None):
            return fakes.response(
                {'errors': [{'detail': 'placement is down'}]},
                status_code=503)
        placement.get = refuse
        e = self.assertRaises(exceptions.CommandError, self.run_cmd,
                              osc_host.ListHost, [])
        self.assertEqual('reading the cloud failed: placement GET '
                         '/resource_providers/uuid-c1.example/traits: '
                         'HTTP 503: placement is down', str(e))


class ExplainFlavorTest(RealtimeCommandTest):

    def test_explains_a_realtime_flavor(self):
        _, _, (fields, values) = self.run_cmd(osc_flavor.ExplainFlavor,
                                              ['rt.medium'])
        shown = dict(zip(fields, values))
        self.assertEqual(('flavor', 'id', 'vcpus'), fields[:3])
        self.assertEqual('rt.medium', shown['flavor'])
        self.assertEqual('1-3', shown['realtime_vcpus'])
        self.assertEqual('0', shown['housekeeping_vcpus'])
        self.assertEqual(10, shown['vcpu_priority'])
        self.assertIn('nohz_full=1-3',
                      shown['guest_kernel_args'].machine_readable())
        # People read the arguments as a command line, in order.
        self.assertTrue(shown['guest_kernel_args'].human_readable()
                        .startswith('isolcpus=managed_irq,domain,1-3 nohz=on '
                                    'nohz_full=1-3 '))
        self.assertIn('\norg.openstack.nova-rt.version=1',
                      shown['oem_strings'].human_readable())

    def test_json(self):
        doc = json.loads(self.output(osc_flavor.ExplainFlavor,
                                     ['id-rt.medium', '-f', 'json']))
        self.assertEqual('fifo', doc['vcpu_scheduler'])
        self.assertEqual(4, doc['host_pcpus'])

    def test_image_property_mask_wins(self):
        _, _, (fields, values) = self.run_cmd(
            osc_flavor.ExplainFlavor,
            ['rt.medium', '--image-property', 'hw_cpu_realtime_mask=^0-1'])
        self.assertEqual('2-3', dict(zip(fields, values))['realtime_vcpus'])

    def test_not_realtime_is_an_error(self):
        e = self.assertRaises(exceptions.CommandError, self.run_cmd,
                              osc_flavor.ExplainFlavor, ['m1.small'])
        self.assertEqual('flavor m1.small is not a real-time flavor '
                         '(hw:cpu_realtime is not yes): nova-rt leaves it '
                         'to Nova', str(e))

    def test_invalid_flavor_names_the_key(self):
        e = self.assertRaises(exceptions.CommandError, self.run_cmd,
                              osc_flavor.ExplainFlavor, ['bad'])
        self.assertEqual('flavor bad is not a valid real-time flavor: '
                         'rt:vcpu_priority: 90 is above [nova_rt] '
                         'max_vcpu_priority=49', str(e))

    def test_missing_flavor(self):
        e = self.assertRaises(exceptions.CommandError, self.run_cmd,
                              osc_flavor.ExplainFlavor, ['nope'])
        self.assertEqual('flavor nope: No Flavor found for nope', str(e))

    def test_policy_from_config_file(self):
        conf = self.useFixture(fixtures.TempDir()).join('nova.conf')
        with open(conf, 'w') as f:
            f.write('[nova_rt]\nmax_vcpu_priority = 95\n')
        _, _, (fields, values) = self.run_cmd(
            osc_flavor.ExplainFlavor, ['bad', '--config-file', conf])
        self.assertEqual(90, dict(zip(fields, values))['vcpu_priority'])

    def test_unreadable_config_file(self):
        e = self.assertRaises(exceptions.CommandError, self.run_cmd,
                              osc_flavor.ExplainFlavor,
                              ['rt.medium', '--config-file', '/nonexistent'])
        self.assertIn('cannot read configuration', str(e))


class CreateFlavorTest(RealtimeCommandTest):

    def test_creates_with_every_key(self):
        _, _, (fields, values) = self.run_cmd(
            osc_flavor.CreateFlavor,
            ['rt.large', '--vcpus', '4', '--ram', '1024',
             '--vcpu-priority', '20', '--property', 'rt:l3_cache_kib=2048'])
        created = self.compute.created[0]
        self.assertEqual(('rt.large', 4, 1024, 0, True),
                         (created.name, created.vcpus, created.ram,
                          created.disk, created.is_public))
        expected = {
            'hw:cpu_policy': 'dedicated', 'hw:cpu_realtime': 'yes',
            'hw:cpu_realtime_mask': '^0', 'rt:vcpu_priority': '20',
            'rt:l3_cache_kib': '2048',
            'trait:CUSTOM_NOVA_RT_READY': 'required',
            'trait:CUSTOM_NOVA_RT_PREEMPT_RT': 'required',
            'trait:CUSTOM_NOVA_RT_CAT': 'required'}
        self.assertEqual(expected, created.extra_specs)
        # At the microversion where nova-api validates every key.
        self.assertEqual([('/flavors/%s/os-extra_specs' % created.id,
                           '2.86')], self.compute.posted)
        shown = dict(zip(fields, values))
        self.assertEqual(expected, shown['properties'].machine_readable())
        self.assertEqual(created.id, shown['id'])

    def test_lab_cloud_without_traits(self):
        self.run_cmd(osc_flavor.CreateFlavor,
                     ['rt.lab', '--vcpus', '2', '--private',
                      '--no-placement-traits', '--property',
                      'rt:host_kernel=any'])
        created = self.compute.created[0]
        self.assertFalse(created.is_public)
        self.assertFalse([k for k in created.extra_specs
                          if k.startswith('trait:')])

    def test_invalid_creates_nothing(self):
        for argv, message in (
                (['--vcpus', '1'], 'hw:emulator_threads_policy: every vCPU '
                 'is real-time'),
                (['--vcpus', '2', '--vcpu-priority', '60'],
                 'rt:vcpu_priority: 60 is above'),
                (['--vcpus', '2', '--property', 'hw:cpu_realtime=no'],
                 "hw:cpu_realtime: given twice, as 'yes' and as 'no'"),
                (['--vcpus', '2', '--property',
                  'trait:CUSTOM_NOVA_RT_READY=forbidden'],
                 'trait:CUSTOM_NOVA_RT_READY: given twice')):
            e = self.assertRaises(exceptions.CommandError, self.run_cmd,
                                  osc_flavor.CreateFlavor, ['x'] + argv)
            self.assertIn(message, str(e))
            self.assertTrue(str(e).startswith('invalid real-time flavor x: '))
            self.assertTrue(str(e).endswith('; nothing created'))
        self.assertEqual([], self.compute.created)

    def test_refused_extra_specs_delete_the_flavor(self):
        self.compute.refuse_extra_specs = sdk_exceptions.BadRequestException(
            'Validation failed; hw:foo is not a valid extra spec')
        e = self.assertRaises(exceptions.CommandError, self.run_cmd,
                              osc_flavor.CreateFlavor,
                              ['rt.x', '--vcpus', '2', '--id', 'fx'])
        self.assertIn('setting the extra specs of flavor rt.x failed', str(e))
        self.assertIn('the flavor was deleted again', str(e))
        self.assertEqual(['fx'], self.compute.deleted)
        self.assertNotIn('fx', self.compute.flavors)

    def test_bad_vcpus_is_a_usage_error(self):
        cmd = osc_flavor.CreateFlavor(self.app, None)
        self.assertRaises(base.ParserError, self.check_parser, cmd,
                          ['x', '--vcpus', '0'])


class PluginTest(testtools.TestCase):

    def test_plugin_interface(self):
        self.assertEqual('realtime', plugin.API_NAME)
        self.assertEqual('os_realtime_api_version', plugin.API_VERSION_OPTION)
        self.assertIn(plugin.DEFAULT_API_VERSION, plugin.API_VERSIONS)
        instance = fakes.ns(sdk_connection=object())
        self.assertIs(instance.sdk_connection, plugin.make_client(instance))

    def test_version_option(self):
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_REALTIME_API_VERSION'))
        parser = plugin.build_option_parser(argparse.ArgumentParser())
        self.assertEqual('1', parser.parse_args([]).os_realtime_api_version)
