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
"""``nova-rt fleet``: the cloud's compute hosts as nova-rt sees them.

Authenticated as every OpenStack client is (``--os-cloud`` and clouds.yaml,
or the ``OS_*`` environment), with an admin role. What is read, and how, is
``nova_rt.operator.fleet``'s, shared with ``openstack realtime host list``;
this module renders it.
"""

import json
import os
import sys

import openstack

from nova_rt.core import exception
from nova_rt.operator import fleet as fleet_model


def _yes_no(value):
    return {True: 'yes', False: 'no', None: 'unknown'}[value]


def render_text(hosts):
    if not hosts:
        return 'no compute hosts\n'
    header = ('HOST', 'STATE', 'READY', 'PREEMPT_RT', 'CAT',
              'PCPU USED/TOTAL', 'FREE', 'RT INSTANCES')
    rows = [header]
    for h in hosts:
        name = h.host if h.host == h.node else '%s (%s)' % (h.host, h.node)
        rows.append((name, '%s/%s' % (h.state, h.status), _yes_no(h.ready),
                     _yes_no(h.preempt_rt), _yes_no(h.cat),
                     '%d/%d' % (h.pcpu_used, h.pcpu_total),
                     str(h.pcpu_free), str(len(h.realtime_instances))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ['  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
             for r in rows]
    ready = [h for h in hosts if h.ready]
    lines += ['', '%d of %d hosts ready for real-time guests, %d isolated '
              'cores free on them' % (len(ready), len(hosts),
                                      sum(h.pcpu_free for h in ready))]
    instances = [(h, i) for h in hosts for i in h.realtime_instances]
    if instances:
        lines += ['', 'Real-time instances:']
        lines += ['  %s: %s (%s) %s, %d vCPUs, flavor %s'
                  % (h.host, i.name, i.id, i.status, i.vcpus, i.flavor)
                  for h, i in instances]
    return '\n'.join(lines) + '\n'


def register(commands):
    parser = commands.add_parser(
        'fleet', help="the cloud's compute hosts: real-time readiness, "
                      'free isolated cores, real-time instances')
    parser.add_argument(
        '--os-cloud', metavar='NAME', default=os.environ.get('OS_CLOUD'),
        help='cloud of clouds.yaml to use (default: $OS_CLOUD, else the '
             'OS_* environment variables)')
    parser.add_argument(
        '--os-region-name', metavar='REGION',
        default=os.environ.get('OS_REGION_NAME'),
        help='region (default: $OS_REGION_NAME)')
    parser.add_argument('--format', choices=('text', 'json'),
                        default='text')
    parser.set_defaults(func=show_fleet)


def connect(args):
    try:
        return openstack.connect(cloud=args.os_cloud,
                                 region_name=args.os_region_name)
    except fleet_model.CLOUD_ERRORS as e:
        raise exception.NovaRTError('cannot connect to the cloud: %s' % e)


def show_fleet(args, out=None, conn=None):
    out = out or sys.stdout
    conn = conn or connect(args)
    try:
        hosts = fleet_model.collect(conn)
    except fleet_model.CLOUD_ERRORS as e:
        raise exception.NovaRTError('reading the cloud failed: %s' % e)
    if args.format == 'json':
        json.dump({'hosts': [h.to_dict() for h in hosts]}, out, indent=2)
        out.write('\n')
    else:
        out.write(render_text(hosts))
    return 0
