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
"""The devstack plugin writes the nova.conf of the deployment guide.

devstack's own functions are replaced by small bash stand-ins that record
what the plugin asks for, so the plugin's logic runs for real.
"""

import os
import subprocess
import tempfile

import testtools

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

STUBS = r'''
DEST=/opt/stack
NOVA_CONF=/etc/nova/nova.conf
trueorfalse() { local default=$1 var=$2; echo "${!var:-$default}"; }
is_service_enabled() {
    local s; for s in "$@"; do [[ ",$SERVICES," == *",$s,"* ]] && return 0; done
    return 1
}
iniset() { echo "iniset $1 [$2] $3 = $4" >> "$LOG"; }
iniadd() { echo "iniadd $1 [$2] $3 = $4" >> "$LOG"; }
iniget() { echo "$EXISTING_FILTERS"; }
setup_develop() { echo "setup_develop $1" >> "$LOG"; }
echo_summary() { :; }
'''


class PluginTest(testtools.TestCase):

    def run_plugin(self, phase, services='n-api,n-sch,n-cpu', filters='',
                   **env):
        log = tempfile.NamedTemporaryFile(delete=False)
        log.close()
        self.addCleanup(os.unlink, log.name)
        script = STUBS + '\nsource %s/devstack/settings\nsource ' \
            '%s/devstack/plugin.sh stack %s\n' % (TOP, TOP, phase)
        environ = dict(os.environ, LOG=log.name, SERVICES=services,
                       EXISTING_FILTERS=filters, **env)
        subprocess.run(['bash', '-c', script], check=True, env=environ,
                       timeout=60)
        with open(log.name) as f:
            return f.read().splitlines()

    def test_install(self):
        self.assertEqual(['setup_develop /opt/stack/nova-rt'],
                         self.run_plugin('install'))

    def test_post_config_all_in_one(self):
        lines = self.run_plugin('post-config')
        self.assertIn('iniset /etc/nova/nova.conf [DEFAULT] compute_driver '
                      '= nova_rt.driver.RealtimeLibvirtDriver', lines)
        self.assertIn('iniset /etc/nova/nova.conf [filter_scheduler] '
                      'available_filters = '
                      'nova.scheduler.filters.all_filters', lines)
        self.assertIn('iniadd /etc/nova/nova.conf [filter_scheduler] '
                      'available_filters = '
                      'nova_rt.scheduler.filters.RealtimeFilter', lines)
        self.assertIn('iniset /etc/nova/nova.conf [filter_scheduler] '
                      'weight_classes = nova.scheduler.weights.all_weighers,'
                      'nova_rt.scheduler.weights.RealtimeWeigher', lines)
        self.assertIn('iniset /etc/nova/nova.conf [nova_rt] '
                      'require_preempt_rt = False', lines)
        enabled = [line for line in lines if 'enabled_filters' in line]
        self.assertEqual(1, len(enabled))
        self.assertTrue(enabled[0].endswith(
            'ServerGroupAffinityFilter,RealtimeFilter,NUMATopologyFilter'))

    def test_realtime_filter_goes_before_numa(self):
        lines = self.run_plugin(
            'post-config', filters='ComputeFilter,NUMATopologyFilter,Other')
        self.assertIn('iniset /etc/nova/nova.conf [filter_scheduler] '
                      'enabled_filters = ComputeFilter,RealtimeFilter,'
                      'NUMATopologyFilter,Other', lines)

    def test_filter_not_added_twice(self):
        lines = self.run_plugin(
            'post-config', filters='RealtimeFilter,NUMATopologyFilter')
        self.assertIn('iniset /etc/nova/nova.conf [filter_scheduler] '
                      'enabled_filters = RealtimeFilter,NUMATopologyFilter',
                      lines)

    def test_api_only_node(self):
        lines = self.run_plugin('post-config', services='n-api')
        self.assertEqual([], [line for line in lines
                              if 'compute_driver' in line or
                              'filter_scheduler' in line])

    def test_switches(self):
        lines = self.run_plugin('post-config', NOVA_RT_ENABLE_DRIVER='False',
                                NOVA_RT_REQUIRE_PREEMPT_RT='True')
        self.assertEqual([], [line for line in lines
                              if 'compute_driver' in line])
        self.assertIn('iniset /etc/nova/nova.conf [nova_rt] '
                      'require_preempt_rt = True', lines)
