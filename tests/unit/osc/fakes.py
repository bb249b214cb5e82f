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
"""A cloud as openstacksdk shows it to nova-rt's fleet model and flavor
commands: the few proxy methods they call, over plain data.
tests/functional/test_osc.py runs the same commands against nova's and
placement's real APIs.
"""

import json
import types

from openstack import exceptions as sdk_exceptions
import requests


def ns(**kwargs):
    return types.SimpleNamespace(**kwargs)


def response(body, status_code=200):
    """A JSON response, as keystoneauth returns it."""
    r = requests.Response()
    r.status_code = status_code
    r.headers['Content-Type'] = 'application/json'
    r._content = json.dumps(body).encode()
    r.url = 'http://placement.example/'
    return r


class FakePlacement:
    """Placement's REST API as an openstacksdk proxy serves it."""

    def __init__(self, providers):
        # name -> (traits, PCPU total, PCPU used)
        self._providers = providers
        self.microversions = set()

    def resource_providers(self):
        return [ns(id='uuid-' + name, name=name)
                for name in sorted(self._providers)]

    def get(self, path, microversion=None):
        self.microversions.add(microversion)
        _, collection, uuid, what = path.split('/')
        traits, total, used = self._providers[uuid[len('uuid-'):]]
        body = {
            'traits': {'traits': list(traits)},
            'inventories': {'inventories': {
                'VCPU': {'total': 2, 'reserved': 0,
                         'allocation_ratio': 16.0},
                'PCPU': {'total': total, 'reserved': 0,
                         'allocation_ratio': 1.0}}},
            'usages': {'usages': {'PCPU': used}},
        }[what]
        return response(body)


class FakeCompute:
    def __init__(self, hypervisors=(), servers=(), flavors=()):
        self._hypervisors = list(hypervisors)
        self._servers = list(servers)
        self.flavors = {f.id: f for f in flavors}
        self.created = []
        self.deleted = []
        self.refuse_extra_specs = None
        self.posted = []

    def hypervisors(self, details=False):
        return list(self._hypervisors)

    def servers(self, details=False, all_projects=False):
        return list(self._servers)

    def find_flavor(self, name_or_id, ignore_missing=True,
                    get_extra_specs=False):
        for flavor in self.flavors.values():
            if name_or_id in (flavor.id, flavor.name):
                return flavor
        raise sdk_exceptions.ResourceNotFound(
            'No Flavor found for %s' % name_or_id)

    def create_flavor(self, **attrs):
        flavor = ns(id=attrs.pop('id', 'f-%d' % (len(self.flavors) + 1)),
                    extra_specs={}, **attrs)
        self.flavors[flavor.id] = flavor
        self.created.append(flavor)
        return flavor

    def post(self, url, json=None, microversion=None):
        """What set_extra_specs calls: nova's os-extra_specs API."""
        self.posted.append((url, microversion))
        if self.refuse_extra_specs:
            raise self.refuse_extra_specs
        flavor_id = url.split('/')[2]
        self.flavors[flavor_id].extra_specs.update(json['extra_specs'])
        return ns(status_code=200)

    def delete_flavor(self, flavor, ignore_missing=True):
        self.flavors.pop(flavor.id, None)
        self.deleted.append(flavor.id)


def hypervisor(name, host=None, state='up', status='enabled'):
    return ns(name=name, state=state, status=status,
              service_details={'host': host or name})


def flavor(name, vcpus, extra_specs, flavor_id=None):
    return ns(id=flavor_id or 'id-' + name, name=name, vcpus=vcpus,
              ram=512, disk=1, is_public=True, extra_specs=dict(extra_specs))


def server(server_id, name, node, flavor_spec, status='ACTIVE'):
    return ns(id=server_id, name=name, status=status,
              hypervisor_hostname=node,
              flavor=ns(vcpus=flavor_spec.vcpus,
                        original_name=flavor_spec.name, name=None,
                        extra_specs=dict(flavor_spec.extra_specs)))


class FakeConnection:
    def __init__(self, compute=None, placement=None):
        self.compute = compute or FakeCompute()
        self.placement = placement or FakePlacement({})
