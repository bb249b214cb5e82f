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
"""What the nova-rt sub-commands share: reading nova.conf."""

from oslo_config import cfg

from nova_rt import conf as nova_rt_conf
from nova_rt import exception

# The two [compute] options of Nova the host audit needs; registered on a
# private ConfigOpts so the CLI never imports Nova's whole configuration.
COMPUTE_OPTS = [
    cfg.StrOpt('cpu_dedicated_set'),
    cfg.StrOpt('cpu_shared_set'),
]


def add_config_file_argument(parser):
    parser.add_argument(
        '--config-file', action='append', default=[], metavar='FILE',
        help='nova.conf to read [nova_rt] and [compute] from (repeatable)')


def load_conf(config_files):
    """A private ConfigOpts with the [nova_rt] and [compute] options."""
    conf = cfg.ConfigOpts()
    nova_rt_conf.register_opts(conf)
    conf.register_opts(COMPUTE_OPTS, group='compute')
    args = []
    for path in config_files:
        args.extend(['--config-file', path])
    try:
        conf(args, project='nova', default_config_files=[],
             default_config_dirs=[], use_env=False)
    except (cfg.Error, OSError) as e:
        raise exception.NovaRTError('cannot read configuration: %s' % e)
    return conf
