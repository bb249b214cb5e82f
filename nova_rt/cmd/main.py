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
"""The ``nova-rt`` command: ``flavor explain``, ``host check``, ``host plan``,
``latency run|report|certify``, ``fleet``, ``status``, ``guest bundle``,
``guest check``.

Exit codes: 0 success (a valid flavor, a ready host), 1 a negative answer
(an invalid flavor, a host that is not ready), 2 a usage or internal error.
The sub-commands raise nova-rt errors; only this module turns them into exit
codes, so no traceback ever reaches an operator.
"""

import sys

from oslo_log import log as logging

from nova_rt.cmd import args as cmd_args
from nova_rt.cmd import bundle
from nova_rt.cmd import common
from nova_rt.cmd import flavor
from nova_rt.cmd import fleet
from nova_rt.cmd import host
from nova_rt.cmd import latency
from nova_rt.cmd import status
from nova_rt.cmd import watch

LOG = logging.getLogger(__name__)


def build_parser():
    parser = cmd_args.Parser(
        prog='nova-rt',
        description='Real-time virtual machines for OpenStack Nova.')
    parser.add_argument('--debug', action='store_true',
                        help='log debug messages to stderr')
    commands = parser.add_subparsers(dest='command', metavar='COMMAND',
                                     parser_class=cmd_args.Parser)
    commands.required = True
    flavor.register(commands)
    watch.register(bundle.register(commands))
    fleet.register(commands)
    host.register(commands)
    latency.register(commands, common.load_conf)
    status.register(commands)
    return parser


def _setup_logging(debug):
    conf = logging.cfg.ConfigOpts()
    logging.register_options(conf)
    conf([], project='nova-rt', default_config_files=[])
    conf.set_override('debug', debug)
    # Not oslo.log's fallback, stdout: the commands' output goes there.
    conf.set_override('use_stderr', True)
    logging.setup(conf, 'nova-rt')


def main(argv=None):
    parser = build_parser()
    parsed = parser.parse_args(sys.argv[1:] if argv is None else argv)
    _setup_logging(parsed.debug)
    return cmd_args.run_guarded(
        'nova-rt', lambda: parsed.func(parsed),
        on_internal_error=lambda: LOG.debug('nova-rt failed', exc_info=True))


if __name__ == '__main__':
    sys.exit(main())
