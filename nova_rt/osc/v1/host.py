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
"""``openstack realtime host list`` and ``openstack realtime host show``:
the compute hosts as ``nova-rt fleet`` shows them, from the same model
(``nova_rt.operator.fleet``), in OSC's formats
(``-f table|json|yaml|value|csv``).
"""

from cliff import columns
from osc_lib.cli import format_columns
from osc_lib.command import command
from osc_lib import exceptions

from nova_rt.operator import fleet as fleet_model

LIST_COLUMNS = (
    ('Host', 'host'), ('Node', 'node'), ('State', 'state'),
    ('Status', 'status'), ('Ready', 'ready'), ('PREEMPT_RT', 'preempt_rt'),
    ('CAT', 'cat'), ('PCPUs Total', 'pcpu_total'),
    ('PCPUs Used', 'pcpu_used'), ('PCPUs Free', 'pcpu_free'),
    ('RT Instances', 'realtime_instance_count'))
LONG_COLUMNS = (('Traits', 'traits'),)
SHOW_FIELDS = ('host', 'node', 'state', 'status', 'ready', 'preempt_rt',
               'cat', 'traits', 'pcpu_total', 'pcpu_used', 'pcpu_free',
               'realtime_instances')


class TriStateColumn(columns.FormattableColumn):
    """True, False, or unknown (placement has no provider for the node:
    nova-rt cannot tell, and does not count it as ready); JSON keeps
    true, false and null.
    """

    def human_readable(self):
        return {True: 'True', False: 'False'}.get(self._value, 'unknown')


class InstancesColumn(columns.FormattableColumn):
    """The real-time instances of a host: one line each for people, a
    list of objects for machines.
    """

    def human_readable(self):
        return '\n'.join('%s (%s) %s, %d vCPUs, flavor %s'
                         % (i.name, i.id, i.status, i.vcpus, i.flavor)
                         for i in self._value)

    def machine_readable(self):
        return [{'id': i.id, 'name': i.name, 'status': i.status,
                 'vcpus': i.vcpus, 'flavor': i.flavor} for i in self._value]


def _value(host, attr):
    if attr in ('ready', 'preempt_rt', 'cat'):
        return TriStateColumn(getattr(host, attr))
    if attr == 'traits':
        return format_columns.ListColumn(list(host.traits))
    if attr == 'realtime_instances':
        return InstancesColumn(host.realtime_instances)
    if attr == 'realtime_instance_count':
        return len(host.realtime_instances)
    return getattr(host, attr)


def read_fleet(app):
    """Every compute host, read with OSC's connection; a cloud that is
    missing, unreachable or refuses becomes one CommandError line.
    """
    try:
        return fleet_model.collect(app.client_manager.realtime)
    except fleet_model.CLOUD_ERRORS as e:
        raise exceptions.CommandError(
            'reading the cloud failed: %s' % ' '.join(str(e).split()))


class ListHost(command.Lister):
    """List compute hosts: real-time readiness, PCPUs, real-time instances.

    Needs an admin role (hypervisors, placement, every project's servers).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--long', action='store_true', default=False,
            help='also list the CUSTOM_NOVA_RT_* traits of each host')
        return parser

    def take_action(self, parsed_args):
        wanted = LIST_COLUMNS + (LONG_COLUMNS if parsed_args.long else ())
        hosts = read_fleet(self.app)
        return ([title for title, _ in wanted],
                [[_value(h, attr) for _, attr in wanted] for h in hosts])


class ShowHost(command.ShowOne):
    """Show one compute host as nova-rt sees it."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'host', metavar='<host>',
            help='compute service host or hypervisor node name')
        return parser

    def take_action(self, parsed_args):
        hosts = read_fleet(self.app)
        try:
            host = fleet_model.find(hosts, parsed_args.host)
        except fleet_model.HostNotFound as e:
            raise exceptions.CommandError(str(e))
        return SHOW_FIELDS, [_value(host, f) for f in SHOW_FIELDS]
