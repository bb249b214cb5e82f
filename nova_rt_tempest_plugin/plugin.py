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
"""The tempest.test_plugins entry point of nova-rt."""

import os

from nova_rt_tempest_plugin import config as rt_config
from tempest import config
from tempest.test_discover import plugins


class NovaRTTempestPlugin(plugins.TempestPlugin):

    def load_tests(self):
        base = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        test_dir = 'nova_rt_tempest_plugin/tests'
        return os.path.join(base, test_dir), base

    def register_opts(self, conf):
        config.register_opt_group(conf, config.service_available_group,
                                  [rt_config.service_option])
        config.register_opt_group(conf, rt_config.GROUP, rt_config.OPTS)

    def get_opt_lists(self):
        return [(rt_config.GROUP.name, rt_config.OPTS),
                ('service_available', [rt_config.service_option])]
