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
"""The devstack plugin, run for real against real config files.

devstack's functions come from tools/cloudlib/devstack-compat.sh over the
ini tool tools/cloudlib/ini.py (tested here first), the same layer
tools/cloud runs the plugin's phases with. Only package installation is
recorded instead of run.
"""

import os
import subprocess
import sys
import tempfile

import testtools
import yaml

from nova_rt.scheduler import prefilter
from tests import cloudlib

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


ini = cloudlib.load('ini')

COMPAT = os.path.join(TOP, 'tools', 'cloudlib', 'devstack-compat.sh')

SAMPLE = '''# a comment kept as it is
[DEFAULT]
debug = true

[filter_scheduler]
available_filters = nova.scheduler.filters.all_filters
enabled_filters = ComputeFilter,NUMATopologyFilter
'''


class TmpDir(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp()
        self.addCleanup(subprocess.run, ['rm', '-rf', self.dir])

    def path(self, name, content=None):
        path = os.path.join(self.dir, name)
        if content is not None:
            with open(path, 'w') as f:
                f.write(content)
        return path

    def text(self, name):
        with open(self.path(name)) as f:
            return f.read()


class IniToolTest(TmpDir):

    def test_set_replaces_in_its_section_and_keeps_the_rest(self):
        f = self.path('a.conf', SAMPLE)
        ini.set_value(f, 'DEFAULT', 'debug', 'false')
        text = self.text('a.conf')
        self.assertIn('# a comment kept as it is\n[DEFAULT]\ndebug = false\n',
                      text)
        self.assertIn('enabled_filters = ComputeFilter,NUMATopologyFilter',
                      text)

    def test_set_creates_file_section_and_option(self):
        f = self.path('new.conf')
        ini.set_value(f, 'nova_rt', 'lab_mode', 'True')
        ini.set_value(f, 'compute', 'cpu_dedicated_set', '0-1')
        ini.set_value(f, 'nova_rt', 'require_preempt_rt', 'False')
        self.assertEqual('[nova_rt]\nlab_mode = True\n'
                         'require_preempt_rt = False\n\n[compute]\n'
                         'cpu_dedicated_set = 0-1\n', self.text('new.conf'))

    def test_set_leaves_one_line_of_a_multi_valued_option(self):
        f = self.path('a.conf', SAMPLE)
        ini.add_values(f, 'filter_scheduler', 'available_filters', ['x.Y'])
        ini.set_value(f, 'filter_scheduler', 'available_filters', 'z.W')
        self.assertEqual(['z.W'], ini.get_all(f, 'filter_scheduler',
                                              'available_filters'))

    def test_add_keeps_values_and_adds_each_once(self):
        f = self.path('a.conf', SAMPLE)
        for _ in range(2):
            ini.add_values(f, 'filter_scheduler', 'available_filters',
                           ['nova_rt.scheduler.filters.RealtimeFilter'])
        self.assertEqual(['nova.scheduler.filters.all_filters',
                          'nova_rt.scheduler.filters.RealtimeFilter'],
                         ini.get_all(f, 'filter_scheduler',
                                     'available_filters'))
        # Added right after the option's other lines, in its section.
        lines = self.text('a.conf').splitlines()
        at = lines.index('available_filters = '
                         'nova_rt.scheduler.filters.RealtimeFilter')
        self.assertEqual('available_filters = '
                         'nova.scheduler.filters.all_filters', lines[at - 1])

    def test_same_option_in_other_sections_is_untouched(self):
        f = self.path('a.conf', '[a]\nx = 1\n[b]\nx = 2\n')
        ini.set_value(f, 'b', 'x', '3')
        ini.delete(f, 'a', 'x')
        self.assertEqual('[a]\n[b]\nx = 3\n', self.text('a.conf'))

    def test_cli_get_exit_status_and_usage(self):
        f = self.path('a.conf', SAMPLE)
        tool = os.path.join(TOP, 'tools', 'cloudlib', 'ini.py')
        out = subprocess.run([sys.executable, tool, 'get', f, 'DEFAULT',
                              'debug'], capture_output=True, text=True)
        self.assertEqual((0, 'true\n'), (out.returncode, out.stdout))
        out = subprocess.run([sys.executable, tool, 'get', f, 'DEFAULT',
                              'missing'], capture_output=True, text=True)
        self.assertEqual(1, out.returncode)
        out = subprocess.run([sys.executable, tool, 'set', f, 'DEFAULT'],
                             capture_output=True, text=True)
        self.assertEqual(2, out.returncode)
        self.assertIn('usage', out.stderr)


def bash(script, **env):
    environ = dict(os.environ, NOVA_RT_PYTHON=sys.executable, **env)
    out = subprocess.run(['bash', '-c', 'set -eu\nsource %s\n%s'
                          % (COMPAT, script)], capture_output=True,
                         text=True, env=environ, timeout=60)
    if out.returncode != 0:
        raise AssertionError('bash exited %d: %s' % (out.returncode,
                                                     out.stderr))
    return out.stdout


class CompatTest(TmpDir):

    def test_trueorfalse_as_devstack(self):
        cases = {'1': 'True', 'yes': 'True', 'Yes': 'True', 'TRUE': 'True',
                 'true': 'True', '0': 'False', 'no': 'False',
                 'False': 'False', 'NO': 'False', '': 'Dflt',
                 'maybe': 'Dflt', 'on': 'Dflt'}
        for value, expected in cases.items():
            self.assertEqual(expected + '\n', bash(
                'trueorfalse Dflt V', V=value), value)
        self.assertEqual('Dflt\n', bash('unset V; trueorfalse Dflt V'))

    def test_is_service_enabled_any_of(self):
        out = bash('for s in n-cpu n-api "n-sch q-svc" tempest; do '
                   'if is_service_enabled $s; then echo "$s yes"; '
                   'else echo "$s no"; fi; done',
                   ENABLED_SERVICES='key,n-api,q-svc')
        self.assertEqual(['n-cpu no', 'n-api yes', 'n-sch q-svc yes',
                          'tempest no'], out.splitlines())

    def test_ini_functions_edit_the_file(self):
        f = self.path('n.conf', SAMPLE)
        out = bash('iniset -sudo %(f)s DEFAULT debug false\n'
                   'iniadd %(f)s filter_scheduler available_filters a.B c.D\n'
                   'iniget %(f)s DEFAULT debug\n'
                   'echo "[$(iniget %(f)s DEFAULT missing)]"\n'
                   'inidelete %(f)s filter_scheduler enabled_filters\n'
                   % {'f': f})
        self.assertEqual(['false', '[]'], out.splitlines())
        self.assertEqual(
            ['nova.scheduler.filters.all_filters', 'a.B', 'c.D'],
            ini.get_all(f, 'filter_scheduler', 'available_filters'))
        self.assertEqual([], ini.get_all(f, 'filter_scheduler',
                                         'enabled_filters'))

    def test_iniset_refuses_a_wrong_argument_count(self):
        f = self.path('n.conf', SAMPLE)
        self.assertRaises(AssertionError, bash,
                          'iniset %s DEFAULT debug' % f)


ALL_IN_ONE = 'key,n-api,n-cond,n-sch,n-cpu,placement-api,g-api,tempest'


class PluginBase(TmpDir):
    """devstack/plugin.sh phases on real files, as devstack runs them."""

    def run_plugin(self, *phases, services=ALL_IN_ONE, cpu_conf=True, **env):
        nova = self.path('nova.conf')
        if not os.path.exists(nova):
            self.path('nova.conf', SAMPLE)
        cpu = self.path('nova-cpu.conf')
        if cpu_conf and not os.path.exists(cpu):
            self.path('nova-cpu.conf', '[DEFAULT]\n')
        script = ['setup_install() { echo "setup_install $1"; }',
                  'pip_uninstall() { echo "pip_uninstall $*"; }',
                  'nova-rt() { echo "nova-rt $*"; }',
                  # No flavor yet: "flavor show" fails.
                  'openstack() { echo "openstack $*"; '
                  '[[ "$*" != *"flavor show"* ]]; }',
                  'source %s/devstack/settings' % TOP]
        for phase in phases:
            args = phase.split()
            if len(args) == 1:
                args = ['stack', phase]
            script.append('source %s/devstack/plugin.sh %s'
                          % (TOP, ' '.join(args)))
        base = dict(DEST='/opt/stack', NOVA_CONF=nova, NOVA_CPU_CONF=cpu,
                    TEMPEST_CONFIG=self.path('tempest.conf'),
                    ENABLED_SERVICES=services, NOVA_RT_NCPUS='2')
        base.update(env)
        return bash('\n'.join(script), **base).splitlines()

    def get(self, name, section, option):
        values = ini.get_all(self.path(name), section, option)
        return values[-1] if values else None


class PluginTest(PluginBase):

    def test_settings_define_the_plugin(self):
        out = bash('source %s/devstack/settings\n'
                   'echo $NOVA_RT_DEFINED_PLUGINS' % TOP,
                   DEST='/opt/stack')
        self.assertEqual('nova-rt', out.strip())

    def test_install(self):
        self.assertEqual(['nova-rt plugin: Installing nova-rt',
                          'setup_install /opt/stack/nova-rt'],
                         self.run_plugin('install'))

    def test_post_config_all_in_one(self):
        self.run_plugin('post-config')
        for name in ('nova.conf', 'nova-cpu.conf'):
            self.assertEqual('nova_rt.driver.RealtimeLibvirtDriver',
                             self.get(name, 'DEFAULT', 'compute_driver'))
            self.assertEqual('False', self.get(name, 'nova_rt',
                                               'require_preempt_rt'))
            self.assertEqual('True', self.get(name, 'nova_rt', 'lab_mode'))
            self.assertEqual('1', self.get(name, 'compute',
                                           'cpu_dedicated_set'))
            self.assertEqual('0', self.get(name, 'compute', 'cpu_shared_set'))
        self.assertEqual(
            ['nova.scheduler.filters.all_filters',
             'nova_rt.scheduler.filters.RealtimeFilter'],
            ini.get_all(self.path('nova.conf'), 'filter_scheduler',
                        'available_filters'))
        self.assertEqual('ComputeFilter,RealtimeFilter,NUMATopologyFilter',
                         self.get('nova.conf', 'filter_scheduler',
                                  'enabled_filters'))
        self.assertEqual('nova.scheduler.weights.all_weighers,'
                         'nova_rt.scheduler.weights.RealtimeWeigher',
                         self.get('nova.conf', 'filter_scheduler',
                                  'weight_classes'))
        self.assertEqual('True', self.get('nova.conf', 'workarounds',
                                          'disable_fallback_pcpu_query'))

    def test_metrics_file_under_devstack_data_dir(self):
        data = self.path('data')
        self.run_plugin('post-config', 'test-config', DATA_DIR=data)
        path = os.path.join(data, 'nova-rt', 'metrics', 'nova-rt.prom')
        for name in ('nova.conf', 'nova-cpu.conf'):
            self.assertEqual(path, self.get(name, 'nova_rt', 'metrics_file'))
        self.assertTrue(os.path.isdir(os.path.dirname(path)))
        self.assertEqual(path, self.get('tempest.conf', 'nova_rt',
                                        'metrics_file'))

    def test_no_metrics_file_without_data_dir(self):
        self.run_plugin('post-config')
        self.assertIsNone(self.get('nova.conf', 'nova_rt', 'metrics_file'))

    def test_restack_keeps_the_compute_settings(self):
        # devstack's start_nova_compute copies nova.conf over nova-cpu.conf
        # on every stack, after post-config.
        self.run_plugin('post-config', cpu_conf=False)
        with open(self.path('nova.conf')) as f:
            self.path('nova-cpu.conf', f.read())
        self.run_plugin('post-config', 'test-config')
        self.assertEqual('nova_rt.driver.RealtimeLibvirtDriver',
                         self.get('nova-cpu.conf', 'DEFAULT',
                                  'compute_driver'))
        self.assertEqual(['nova.scheduler.filters.all_filters',
                          'nova_rt.scheduler.filters.RealtimeFilter'],
                         ini.get_all(self.path('nova.conf'),
                                     'filter_scheduler', 'available_filters'))
        self.assertEqual('ComputeFilter,RealtimeFilter,NUMATopologyFilter',
                         self.get('nova.conf', 'filter_scheduler',
                                  'enabled_filters'))

    def test_cpu_sets_for_a_bigger_vm_and_overridden(self):
        self.run_plugin('post-config', NOVA_RT_NCPUS='8')
        self.assertEqual('1-7', self.get('nova-cpu.conf', 'compute',
                                         'cpu_dedicated_set'))
        self.assertEqual('0', self.get('nova-cpu.conf', 'compute',
                                       'cpu_shared_set'))
        self.run_plugin('post-config', NOVA_RT_CPU_DEDICATED_SET='2-5',
                        NOVA_RT_CPU_SHARED_SET='0-1', NOVA_RT_NCPUS='8')
        self.assertEqual('2-5', self.get('nova.conf', 'compute',
                                         'cpu_dedicated_set'))
        self.assertEqual('0-1', self.get('nova.conf', 'compute',
                                         'cpu_shared_set'))

    def test_production_host_switches(self):
        self.run_plugin('post-config', NOVA_RT_LAB_MODE='False',
                        NOVA_RT_REQUIRE_PREEMPT_RT='True')
        self.assertEqual('False', self.get('nova-cpu.conf', 'nova_rt',
                                           'lab_mode'))
        self.assertEqual('True', self.get('nova.conf', 'nova_rt',
                                          'require_preempt_rt'))

    def test_driver_switch_and_api_only_node(self):
        self.run_plugin('post-config', NOVA_RT_ENABLE_DRIVER='False')
        self.assertIsNone(self.get('nova.conf', 'DEFAULT', 'compute_driver'))
        self.assertIsNone(self.get('nova-cpu.conf', 'DEFAULT',
                                   'compute_driver'))
        self.path('nova.conf', SAMPLE)
        self.run_plugin('post-config', services='n-api', cpu_conf=False)
        self.assertIsNone(self.get('nova.conf', 'DEFAULT', 'compute_driver'))
        self.assertEqual('ComputeFilter,NUMATopologyFilter',
                         self.get('nova.conf', 'filter_scheduler',
                                  'enabled_filters'))

    def test_default_filters_when_none_are_set(self):
        self.path('nova.conf', '[DEFAULT]\n')
        self.run_plugin('post-config')
        self.assertTrue(self.get('nova.conf', 'filter_scheduler',
                                 'enabled_filters').endswith(
            'ServerGroupAffinityFilter,RealtimeFilter,NUMATopologyFilter'))

    def test_test_config_writes_the_tempest_plugin_options(self):
        self.run_plugin('test-config')
        self.assertEqual('True', self.get('tempest.conf', 'service_available',
                                          'nova_rt'))
        self.assertEqual('local', self.get('tempest.conf', 'nova_rt',
                                           'host_access'))
        # A 2-CPU VM: CPU 0 shared, CPU 1 dedicated.
        self.assertEqual('1', self.get('tempest.conf', 'nova_rt',
                                       'dedicated_cpus'))
        self.assertEqual('0', self.get('tempest.conf', 'nova_rt',
                                       'shared_cpus'))
        self.assertIsNone(self.get('tempest.conf', 'nova_rt', 'ssh_user'))
        self.assertIsNone(self.get('tempest.conf', 'nova_rt',
                                   'host_command'))
        self.assertIsNone(self.get('tempest.conf', 'nova_rt',
                                   'cloud_command'))
        self.run_plugin('test-config', NOVA_RT_TEMPEST_HOST_ACCESS='ssh',
                        NOVA_RT_TEMPEST_SSH_USER='zuul',
                        NOVA_RT_TEMPEST_SSH_HOSTS='cpu1:10.0.0.2')
        self.assertEqual('zuul', self.get('tempest.conf', 'nova_rt',
                                          'ssh_user'))
        self.assertEqual('cpu1:10.0.0.2', self.get('tempest.conf', 'nova_rt',
                                                   'ssh_hosts'))

    def test_test_config_with_a_host_command(self):
        self.run_plugin('test-config', NOVA_RT_TEMPEST_HOST_ACCESS='command',
                        NOVA_RT_TEMPEST_HOST_COMMAND='cloud exec {host} --',
                        NOVA_RT_TEMPEST_CLOUD_COMMAND='/x/tools/cloud')
        self.assertEqual('command', self.get('tempest.conf', 'nova_rt',
                                             'host_access'))
        self.assertEqual('cloud exec {host} --', self.get(
            'tempest.conf', 'nova_rt', 'host_command'))
        self.assertEqual('/x/tools/cloud', self.get(
            'tempest.conf', 'nova_rt', 'cloud_command'))

    def test_cpu_sets_of_a_two_and_a_one_cpu_vm(self):
        self.run_plugin('post-config')
        self.assertEqual(('1', '0'), (
            self.get('nova-cpu.conf', 'compute', 'cpu_dedicated_set'),
            self.get('nova-cpu.conf', 'compute', 'cpu_shared_set')))
        self.run_plugin('post-config', NOVA_RT_NCPUS='1')
        self.assertIsNone(self.get('nova-cpu.conf', 'compute',
                                   'cpu_dedicated_set'))
        self.assertEqual('0', self.get('nova-cpu.conf', 'compute',
                                       'cpu_shared_set'))

    def test_extra_creates_the_flavor_with_the_admin_cloud(self):
        out = self.run_plugin('extra', NOVA_RT_ADMIN_CLOUD='my-admin')
        self.assertIn('openstack --os-cloud my-admin flavor create rt.small '
                      '--vcpus 2 --ram 512 --disk 1 '
                      '--property hw:cpu_policy=mixed '
                      '--property hw:cpu_realtime=yes '
                      '--property hw:cpu_realtime_mask=^0 '
                      '--property rt:vcpu_priority=10 '
                      '--property rt:host_kernel=any '
                      '--property trait:CUSTOM_NOVA_RT_LAB=required', out)
        self.assertIn('nova-rt host check --config-file %s'
                      % self.path('nova-cpu.conf'), out)

    def test_the_flavor_asks_placement_as_the_core_says(self):
        for lab in (True, False):
            with self.subTest(lab=lab):
                (key, value), = prefilter.trait_spec(lab_mode=lab).items()
                out = self.run_plugin('extra',
                                      NOVA_RT_LAB_MODE=str(lab))
                created = [line for line in out if 'flavor create' in line]
                self.assertEqual(1, len(created), out)
                self.assertTrue(created[0].endswith(
                    '--property %s=%s' % (key, value)), created[0])

    def test_clean_uninstalls(self):
        self.assertIn('pip_uninstall nova-rt', self.run_plugin('clean clean'))


# The services devstack's multi-node jobs run on a subnode (the "devstack"
# job's group-vars.subnode in devstack's .zuul.yaml): a compute, no API,
# no scheduler, no tempest.
SUBNODE = ('dstat,memory_tracker,file_tracker,tls-proxy,n-cpu,'
           'placement-client,ovn-controller,ovs-vswitchd,ovsdb-server,'
           'q-ovn-agent,c-bak,c-vol')

MULTINODE_JOB = 'nova-rt-tempest-realtime-multinode'


def zuul_job(name):
    with open(os.path.join(TOP, '.zuul.yaml')) as f:
        for item in yaml.safe_load(f):
            if item.get('job', {}).get('name') == name:
                return item['job']
    raise AssertionError('no job %s in .zuul.yaml' % name)


def localrc(variables):
    """devstack_localrc as devstack's write-devstack-local-conf role writes
    it into localrc (YAML booleans as True and False).
    """
    return {name: str(value) for name, value in variables.items()}


class MultinodeTest(PluginBase):
    """The plugin on each node of the multi-node job, with the job's own
    localrc: compute settings on the compute-only subnode and nothing of
    the scheduler's or tempest's there; the controller's tempest reaches the
    computes over SSH.
    """

    def setUp(self):
        super().setUp()
        self.job = zuul_job(MULTINODE_JOB)
        self.controller = localrc(self.job['vars']['devstack_localrc'])
        self.subnode = localrc(
            self.job['group-vars']['subnode']['devstack_localrc'])

    def test_compute_only_subnode_gets_the_compute_settings_only(self):
        # A fresh subnode: no nova-cpu.conf before devstack starts n-cpu.
        out = self.run_plugin('install', 'post-config', services=SUBNODE,
                              cpu_conf=False, **self.subnode)
        self.assertIn('setup_install /opt/stack/nova-rt', out)
        self.assertEqual('nova_rt.driver.RealtimeLibvirtDriver',
                         self.get('nova.conf', 'DEFAULT', 'compute_driver'))
        self.assertEqual(('True', 'False'), (
            self.get('nova.conf', 'nova_rt', 'lab_mode'),
            self.get('nova.conf', 'nova_rt', 'require_preempt_rt')))
        self.assertEqual(('1', '0'), (
            self.get('nova.conf', 'compute', 'cpu_dedicated_set'),
            self.get('nova.conf', 'compute', 'cpu_shared_set')))
        # No scheduler here: its options stay as devstack wrote them.
        self.assertEqual(['nova.scheduler.filters.all_filters'],
                         ini.get_all(self.path('nova.conf'),
                                     'filter_scheduler', 'available_filters'))
        self.assertEqual('ComputeFilter,NUMATopologyFilter',
                         self.get('nova.conf', 'filter_scheduler',
                                  'enabled_filters'))
        self.assertIsNone(self.get('nova.conf', 'filter_scheduler',
                                   'weight_classes'))
        # start_nova_compute copies nova.conf over nova-cpu.conf; then the
        # extra and test-config phases run.
        with open(self.path('nova.conf')) as f:
            self.path('nova-cpu.conf', f.read())
        out = self.run_plugin('extra', 'test-config', services=SUBNODE,
                              **self.subnode)
        self.assertEqual('nova_rt.driver.RealtimeLibvirtDriver',
                         self.get('nova-cpu.conf', 'DEFAULT',
                                  'compute_driver'))
        self.assertEqual(['nova-rt host check --config-file %s'
                          % self.path('nova-cpu.conf')], out)
        self.assertFalse(os.path.exists(self.path('tempest.conf')))

    def test_controller_has_the_scheduler_and_tempest_over_ssh(self):
        self.run_plugin('post-config', 'test-config', **self.controller)
        self.assertIn('RealtimeFilter', self.get(
            'nova.conf', 'filter_scheduler', 'enabled_filters'))
        self.assertTrue(self.get('nova.conf', 'filter_scheduler',
                                 'weight_classes').endswith(
            'nova_rt.scheduler.weights.RealtimeWeigher'))
        self.assertEqual('nova_rt.driver.RealtimeLibvirtDriver',
                         self.get('nova-cpu.conf', 'DEFAULT',
                                  'compute_driver'))
        self.assertEqual(
            ('ssh', 'stack', '/home/tempest/.ssh/id_rsa', ''),
            tuple(self.get('tempest.conf', 'nova_rt', option) for option in
                  ('host_access', 'ssh_user', 'ssh_key_file', 'ssh_hosts')))
        self.assertIsNone(self.get('tempest.conf', 'nova_rt',
                                   'host_command'))

    def test_both_computes_run_the_same_real_time_setup(self):
        for name in ('NOVA_RT_LAB_MODE', 'NOVA_RT_REQUIRE_PREEMPT_RT',
                     'LIBVIRT_TYPE'):
            self.assertEqual(self.controller[name], self.subnode[name], name)
        # The tempest node is the controller, and only it runs tempest.
        self.assertNotIn('NOVA_RT_TEMPEST_HOST_ACCESS', self.subnode)

    def test_the_ssh_key_is_the_one_the_pre_run_playbook_gives(self):
        path = os.path.join(TOP, self.job['pre-run'])
        with open(path) as f:
            (play,) = yaml.safe_load(f)
        (task,) = play['tasks']
        self.assertEqual('copy-build-sshkey', task['include_role']['name'])
        user = task['vars']['copy_sshkey_target_user']
        self.assertEqual('/home/%s/.ssh/id_rsa' % user,
                         self.controller['NOVA_RT_TEMPEST_SSH_KEY'])
        self.assertEqual('openstack-two-node-noble', self.job['nodeset'])
        self.assertEqual(['nova-rt'], self.job['vars']['tempest_plugins'])
