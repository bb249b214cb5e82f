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
"""nova-rt's tests.

Nova's eventlet monkey patching must happen before anything imports nova,
and this package is imported before any test module.
"""

import os
import sysconfig

from nova_rt import releases

releases.monkey_patch_eventlet()

# Nova's test configuration looks for api-paste.ini inside site-packages,
# but the wheel installs it under the environment's data directory.
os.environ.setdefault(
    'OS_WSGI__API_PASTE_CONFIG',
    os.path.join(sysconfig.get_path('data'), 'etc', 'nova', 'api-paste.ini'))

# The compute driver shim lives in this tree's nova/virt/nova_rt; Nova
# imports compute drivers as nova.virt.<name>. An installed wheel puts the
# shim inside site-packages/nova/virt, an editable install cannot, so the
# tests look here too (tests/functional/test_packaging.py checks the wheel).
import nova.virt  # noqa: E402,I100,I202

_SHIM_DIR = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'nova', 'virt')
if _SHIM_DIR not in nova.virt.__path__:
    nova.virt.__path__.append(_SHIM_DIR)

# The CLI reads /etc/nova/nova.conf when no --config-file is given; the
# tests never do, so a nova installed on the same machine (devstack) cannot
# change their results. tests/unit/test_cmd_common.py covers the defaults.
from nova_rt.cmd import common as _cmd_common  # noqa: E402

_cmd_common.DEFAULT_CONFIG_FILES = ()
_cmd_common.DEFAULT_CONFIG_DIRS = ()
