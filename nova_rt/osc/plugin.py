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
"""nova-rt's OpenStackClient plugin: ``openstack realtime ...``.

Loaded by OSC through the ``openstack.cli.extension`` entry point; the
commands are the ``openstack.realtime.v1`` entry points. nova-rt has no API
of its own: the commands read nova and placement through the openstacksdk
connection OSC already made (so ``--os-cloud``, the ``OS_*`` variables and
clouds.yaml work as for every other command), and ``realtime`` names the
command group.
"""

import logging

from osc_lib import utils

LOG = logging.getLogger(__name__)

DEFAULT_API_VERSION = '1'
API_VERSION_OPTION = 'os_realtime_api_version'
API_NAME = 'realtime'
API_VERSIONS = ('1',)


def make_client(instance):
    """The client of ``client_manager.realtime``: OSC's openstacksdk
    connection, which ``nova_rt.operator.fleet`` reads nova and placement with.
    """
    LOG.debug('realtime client: the openstacksdk connection of OSC')
    return instance.sdk_connection


def build_option_parser(parser):
    """OSC's hook for global options: the version of the command group."""
    parser.add_argument(
        '--os-realtime-api-version',
        metavar='<realtime-api-version>',
        default=utils.env('OS_REALTIME_API_VERSION',
                          default=DEFAULT_API_VERSION),
        help='nova-rt command group version, default=%s '
             '(Env: OS_REALTIME_API_VERSION)' % DEFAULT_API_VERSION)
    return parser
