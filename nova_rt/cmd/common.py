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
"""What the nova-rt sub-commands share: reading nova.conf, logging."""

import argparse
import os

from oslo_config import cfg
from oslo_log import log as logging

from nova_rt import conf as nova_rt_conf
from nova_rt.core import exception

# The two [compute] options of Nova the host audit needs; registered on a
# private ConfigOpts so the CLI never imports Nova's whole configuration.
COMPUTE_OPTS = [
    cfg.StrOpt('cpu_dedicated_set'),
    cfg.StrOpt('cpu_shared_set'),
]


# Where nova's own commands (nova-manage, nova-status) find nova.conf when
# no --config-file is given; each is read only when it exists.
DEFAULT_CONFIG_FILES = ('/etc/nova/nova.conf',)
DEFAULT_CONFIG_DIRS = ('/etc/nova/nova.conf.d',)


def add_config_file_argument(parser):
    parser.add_argument(
        '--config-file', action='append', default=[], metavar='FILE',
        help='nova.conf to read [nova_rt], [compute] and the [DEFAULT] log '
             'options from (repeatable; default: %s when it exists)'
             % ', '.join(DEFAULT_CONFIG_FILES))
    parser.add_argument(
        '--config-dir', action='append', default=[], metavar='DIR',
        help='directory whose files ending in .conf are read after the '
             'config files (repeatable; default: %s when it exists)'
             % ', '.join(DEFAULT_CONFIG_DIRS))


def read_conf(args, register=None):
    """A private ConfigOpts with the [nova_rt] and [compute] options (and
    oslo.log's), read from ``args.config_file`` and ``args.config_dir``,
    or nova's default locations when neither is given. Sets up nothing:
    ``openstack realtime ...`` reads its policy with it inside OSC, whose
    logging is OSC's.

    :param args: the parsed command line, or a list of config files (as
        ``args.config_file``)
    :param register: called with the ConfigOpts to register more options
        before the files are read
    """
    if isinstance(args, (list, tuple)):
        args = argparse.Namespace(config_file=args)
    conf = cfg.ConfigOpts()
    nova_rt_conf.register_opts(conf)
    conf.register_opts(COMPUTE_OPTS, group='compute')
    logging.register_options(conf)
    if register is not None:
        register(conf)
    files = list(getattr(args, 'config_file', None) or [])
    dirs = list(getattr(args, 'config_dir', None) or [])
    if not files and not dirs:
        files = [f for f in DEFAULT_CONFIG_FILES if os.path.isfile(f)]
        dirs = [d for d in DEFAULT_CONFIG_DIRS if os.path.isdir(d)]
    cli = [arg for path in files for arg in ('--config-file', path)]
    cli += [arg for path in dirs for arg in ('--config-dir', path)]
    try:
        conf(cli, project='nova', default_config_files=[],
             default_config_dirs=[], use_env=False)
    except (cfg.Error, OSError) as e:
        raise exception.NovaRTError('cannot read configuration: %s' % e)
    return conf


def load_conf(args, register=None):
    """``read_conf``, then logging set up from the ``[DEFAULT]`` log
    options found there (to stderr when they name no destination;
    ``args.debug`` forces debug).
    """
    conf = read_conf(args, register)
    if getattr(args, 'debug', False):
        conf.set_override('debug', True)
    # oslo.log falls back to stdout, where the command's output goes.
    if not (conf.log_file or conf.log_dir or conf.use_syslog or
            conf.use_journal):
        conf.set_override('use_stderr', True)
    logging.setup(conf, 'nova-rt')
    return conf


def add_root_argument(parser):
    """``--root``: the directory standing for / (a recorded host tree)."""
    parser.add_argument(
        '--root', metavar='DIR',
        help='directory standing for / (default: [nova_rt] host_root)')


def host_root(args, conf):
    """``--root``, else ``[nova_rt] host_root``: an existing directory."""
    root = args.root or conf.nova_rt.host_root
    if not os.path.isdir(root):
        raise exception.NovaRTError('host root %s is not a directory' % root)
    return root
