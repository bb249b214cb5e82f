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
"""``openstack realtime flavor explain`` and ``openstack realtime flavor
create``.

``explain`` reads a flavor's extra specs through nova's API and runs
``nova-rt flavor explain``'s core on them. ``create`` builds every extra
spec a real-time flavor needs (``nova_rt.operator.realtime_flavor``), checks
them with the same core BEFORE anything is created, then creates the flavor
and sets them; when nova refuses the extra specs the new flavor is deleted
again, so nothing is left half-made.

The ``[nova_rt]`` policy (default and maximum vCPU priority, PREEMPT_RT
requirement) is read as ``nova-rt flavor explain`` reads it: from
``--config-file``, else /etc/nova/nova.conf when it exists, else the
defaults.
"""

from cliff import columns
from openstack import exceptions as sdk_exceptions
from osc_lib.cli import format_columns
from osc_lib.cli import parseractions
from osc_lib.command import command
from osc_lib import exceptions

from nova_rt.cmd import args as cmd_args
from nova_rt.cmd import common
from nova_rt.cmd import flavor as flavor_cmd
from nova_rt.core import exception
from nova_rt.core import request as rt_request
from nova_rt.operator import fleet as fleet_model
from nova_rt.operator import realtime_flavor

FLAVOR_FIELDS = ('id', 'name', 'vcpus', 'ram', 'disk', 'is_public')
# nova-api validates extra specs (nova's and nova-rt's validators) from
# this microversion on; openstacksdk's own call uses an older one.
EXTRA_SPECS_MICROVERSION = '2.86'


def set_extra_specs(compute, flavor, specs):
    """Set the extra specs of ``flavor`` at a microversion where nova-api
    validates each key, so it refuses what it does not know.

    :raises: an openstacksdk error naming nova's answer
    """
    response = compute.post('/flavors/%s/os-extra_specs' % flavor.id,
                            json={'extra_specs': specs},
                            microversion=EXTRA_SPECS_MICROVERSION)
    sdk_exceptions.raise_from_response(response)


def _one_line(error):
    return ' '.join(str(error).split())


def _add_config_file(parser):
    parser.add_argument(
        '--config-file', action='append', default=[], metavar='<file>',
        help='nova.conf whose [nova_rt] policy applies (repeatable; '
             'default: %s when it exists)'
             % ', '.join(common.DEFAULT_CONFIG_FILES))


def _policy(parsed_args):
    try:
        conf = common.read_conf(parsed_args.config_file)
    except exception.NovaRTError as e:
        raise exceptions.CommandError(str(e))
    return rt_request.RequestPolicy.from_conf(conf)


class KernelArgsColumn(columns.FormattableColumn):
    """Kernel arguments in their order, as a command line reads them."""

    def human_readable(self):
        return ' '.join(self._value)


class LinesColumn(columns.FormattableColumn):
    """One item a line, in order (OEM strings are long)."""

    def human_readable(self):
        return '\n'.join(self._value)


_LIST_COLUMNS = {'guest_kernel_args': KernelArgsColumn,
                 'oem_strings': LinesColumn}


def _columns(fields, values):
    shown = []
    for field, value in zip(fields, values):
        if isinstance(value, list):
            value = _LIST_COLUMNS.get(field, format_columns.ListColumn)(value)
        elif isinstance(value, dict):
            value = format_columns.DictColumn(value)
        shown.append(value)
    return tuple(fields), shown


class ExplainFlavor(command.ShowOne):
    """Explain what nova-rt makes of a flavor: real-time and housekeeping
    vCPUs, thread classes and priorities, guest kernel arguments.

    A flavor that is not real-time, or that nova-rt cannot honour, is an
    error naming why.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('flavor', metavar='<flavor>',
                            help='flavor to explain (name or ID)')
        parser.add_argument(
            '--image-property', metavar='<key=value>',
            action=parseractions.KeyValueAction,
            help='an image property the servers will boot with, e.g. '
                 'hw_cpu_realtime_mask=^0 (repeatable)')
        _add_config_file(parser)
        return parser

    def take_action(self, parsed_args):
        policy = _policy(parsed_args)
        compute = self.app.client_manager.realtime.compute
        try:
            flavor = compute.find_flavor(parsed_args.flavor,
                                         ignore_missing=False,
                                         get_extra_specs=True)
        except fleet_model.CLOUD_ERRORS as e:
            raise exceptions.CommandError('flavor %s: %s'
                                          % (parsed_args.flavor,
                                             _one_line(e)))
        try:
            request, result = flavor_cmd.explain(
                flavor.vcpus, dict(flavor.extra_specs or {}),
                parsed_args.image_property or {}, policy)
        except exception.InvalidRealtimeRequest as e:
            raise exceptions.CommandError(
                'flavor %s is not a valid real-time flavor: %s'
                % (flavor.name, e))
        if request is None:
            raise exceptions.CommandError(
                'flavor %s is not a real-time flavor (hw:cpu_realtime is '
                'not yes): nova-rt leaves it to Nova' % flavor.name)
        del result['valid'], result['realtime'], result['vcpus']
        fields = ['flavor', 'id', 'vcpus'] + list(result)
        return _columns(fields, [flavor.name, flavor.id, flavor.vcpus] +
                        list(result.values()))


class CreateFlavor(command.ShowOne):
    """Create a real-time flavor with every extra spec it needs, checked
    by nova-rt before anything is created.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='<flavor-name>',
                            help='new flavor name')
        parser.add_argument('--id', metavar='<id>',
                            help='unique flavor ID (default: generated)')
        parser.add_argument('--vcpus', type=cmd_args.positive_int,
                            required=True, metavar='<vcpus>',
                            help='number of vCPUs')
        parser.add_argument('--ram', type=cmd_args.positive_int,
                            default=256, metavar='<size-mb>',
                            help='memory size in MB (default 256M)')
        parser.add_argument('--disk', type=int, default=0,
                            metavar='<size-gb>',
                            help='disk size in GB (default 0G)')
        public = parser.add_mutually_exclusive_group()
        public.add_argument('--public', dest='public', action='store_true',
                            default=True,
                            help='flavor is available to other projects '
                                 '(default)')
        public.add_argument('--private', dest='public', action='store_false',
                            help='flavor is not available to other projects')
        parser.add_argument(
            '--realtime-mask', metavar='<mask>',
            help='hw:cpu_realtime_mask (default %s with 2 vCPUs or more: '
                 'vCPU 0 for housekeeping, the others real-time)'
            % realtime_flavor.DEFAULT_MASK)
        parser.add_argument('--vcpu-scheduler', choices=('fifo', 'rr'),
                            help='rt:vcpu_scheduler (default fifo)')
        parser.add_argument(
            '--vcpu-priority', type=cmd_args.positive_int,
            metavar='<priority>',
            help='rt:vcpu_priority (default [nova_rt] default_vcpu_priority)')
        parser.add_argument('--emulator-threads-policy',
                            choices=('share', 'isolate'),
                            help='hw:emulator_threads_policy')
        parser.add_argument(
            '--property', metavar='<key=value>',
            action=parseractions.KeyValueAction,
            help='any other extra spec, e.g. rt:l3_cache_kib=2048 '
                 '(repeatable)')
        parser.add_argument(
            '--no-placement-traits', dest='traits', action='store_false',
            default=True,
            help='do not require the CUSTOM_NOVA_RT_* placement traits '
                 '(lab-mode clouds: their hosts never publish '
                 'CUSTOM_NOVA_RT_READY; RealtimeFilter still decides)')
        _add_config_file(parser)
        return parser

    def take_action(self, parsed_args):
        try:
            specs, _ = realtime_flavor.extra_specs(
                parsed_args.vcpus, realtime_mask=parsed_args.realtime_mask,
                vcpu_scheduler=parsed_args.vcpu_scheduler,
                vcpu_priority=parsed_args.vcpu_priority,
                emulator_threads_policy=parsed_args.emulator_threads_policy,
                properties=parsed_args.property or {},
                policy=_policy(parsed_args), traits=parsed_args.traits)
        except exception.InvalidRealtimeRequest as e:
            raise exceptions.CommandError(
                'invalid real-time flavor %s: %s; nothing created'
                % (parsed_args.name, e))
        flavor = self._create(self.app.client_manager.realtime.compute,
                              parsed_args, specs)
        return _columns(FLAVOR_FIELDS + ('properties',),
                        [getattr(flavor, f) for f in FLAVOR_FIELDS] +
                        [dict(specs)])

    @staticmethod
    def _create(compute, parsed_args, specs):
        attrs = {'name': parsed_args.name, 'vcpus': parsed_args.vcpus,
                 'ram': parsed_args.ram, 'disk': parsed_args.disk,
                 'is_public': parsed_args.public}
        if parsed_args.id:
            attrs['id'] = parsed_args.id
        try:
            flavor = compute.create_flavor(**attrs)
        except fleet_model.CLOUD_ERRORS as e:
            raise exceptions.CommandError('creating flavor %s failed: %s'
                                          % (parsed_args.name, _one_line(e)))
        try:
            set_extra_specs(compute, flavor, specs)
        except fleet_model.CLOUD_ERRORS as e:
            refused = _one_line(e)
            try:
                compute.delete_flavor(flavor, ignore_missing=True)
            except fleet_model.CLOUD_ERRORS as e2:
                raise exceptions.CommandError(
                    'setting the extra specs of flavor %s failed: %s; '
                    'deleting it failed too, delete flavor %s by hand: %s'
                    % (parsed_args.name, refused, flavor.id, _one_line(e2)))
            raise exceptions.CommandError(
                'setting the extra specs of flavor %s failed: %s; the '
                'flavor was deleted again' % (parsed_args.name, refused))
        return flavor
