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
"""``nova-rt guest check [GUEST...]``: each running real-time guest of this
compute against its domain (nova_rt.watch): its threads' classes,
priorities and CPUs, its locked memory. Exit 0 when every guest checked
is as its domain asks, 1 when one drifted or could not be read (unknown
is never fine), 2 on an error.
"""

import json
import sys

from nova_rt.cmd import args as cmd_args
from nova_rt.cmd import common
from nova_rt.core import exception
from nova_rt.host import reader as host_reader
from nova_rt.watch import drift
from nova_rt.watch import guests


def register(actions):
    """``check`` under ``nova-rt guest``."""
    check = actions.add_parser(
        'check', help='compare each running real-time guest\'s threads '
                      'with its domain (exit 0 as asked, 1 drifted or '
                      'unknown)')
    check.add_argument('guests', nargs='*', metavar='GUEST',
                       help='domain names (instance-...) or instance UUIDs '
                            '(default: every real-time guest)')
    common.add_root_argument(check)
    common.add_config_file_argument(check)
    check.add_argument('--format', choices=('text', 'json'),
                       default='text')
    check.set_defaults(func=check_guests)


def _doc(report):
    return {'name': report.name, 'uuid': report.uuid,
            'status': report.status,
            'differences': [{'what': d.what, 'expected': d.expected,
                             'found': d.found, 'unknown': d.unknown}
                            for d in report.differences]}


def check_guests(args, out=None):
    out = out or sys.stdout
    conf = common.load_conf(args)
    root = common.host_root(args, conf)
    names = set(args.guests) or None
    try:
        reports = guests.check_host(host_reader.HostReader(root), names)
    except host_reader.HostFileError as e:
        raise exception.NovaRTError(
            'cannot list the running guests: %s (libvirt\'s status files; '
            'run as root on the compute)' % e)
    missing = sorted((names or set()) - {r.name for r in reports} -
                     {r.uuid for r in reports})
    if args.format == 'json':
        json.dump({'guests': [_doc(r) for r in reports],
                   'not_found': missing}, out, indent=2, sort_keys=True)
        out.write('\n')
    else:
        for report in reports:
            out.write('%-8s %s%s\n' % (report.status.upper(), report.name,
                                       ' (%s)' % report.uuid
                                       if report.uuid else ''))
            for difference in report.differences:
                out.write('    %s\n' % difference)
        for name in missing:
            out.write('%-8s %s: no running real-time guest of that name '
                      'or UUID\n' % ('MISSING', name))
        if not reports and not missing:
            out.write('no running real-time guest\n')
    healthy = all(r.status == drift.OK for r in reports)
    return cmd_args.EXIT_OK if healthy and not missing \
        else cmd_args.EXIT_NEGATIVE
