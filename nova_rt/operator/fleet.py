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
"""The fleet model: the cloud's compute hosts as nova-rt sees them.

Read from nova's and placement's APIs with openstacksdk, with an admin
role: the hypervisors, the traits, ``PCPU`` inventory and usage of their
resource providers, and the servers whose flavor asks for
``hw:cpu_realtime``. The certified latency is a compute node stat, which
nova's API does not expose; ``nova-rt host check`` shows it on the host.

One model for both command lines: ``nova-rt fleet`` (``nova_rt.cmd.fleet``)
and ``openstack realtime host list|show`` (``nova_rt.osc.v1.host``).
"""

import dataclasses

from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as sdk_exceptions
from oslo_utils import strutils

from nova_rt.core import exception
from nova_rt.host import facts as host_facts

TRAIT_PREFIX = 'CUSTOM_NOVA_RT_'

# What a missing or wrong cloud configuration, an unreachable or refusing
# API raise: the sdk's own errors and keystoneauth's underneath it.
CLOUD_ERRORS = (sdk_exceptions.SDKException, ks_exceptions.ClientException)


@dataclasses.dataclass(frozen=True)
class Instance:
    id: str
    name: str
    status: str
    vcpus: int
    flavor: str


@dataclasses.dataclass(frozen=True)
class Host:
    """One compute node.

    ``ready``, ``preempt_rt`` and ``cat`` are None when placement has no
    provider for the node: nova-rt cannot tell, so it is not counted as
    ready.
    """

    host: str
    node: str
    state: str
    status: str
    ready: bool = None
    preempt_rt: bool = None
    cat: bool = None
    traits: tuple = ()
    pcpu_total: int = 0
    pcpu_used: int = 0
    realtime_instances: tuple = ()

    @property
    def pcpu_free(self):
        return max(self.pcpu_total - self.pcpu_used, 0)

    def to_dict(self):
        d = dataclasses.asdict(self)
        d['traits'] = list(self.traits)
        d['pcpu_free'] = self.pcpu_free
        d['realtime_instances'] = [dataclasses.asdict(i)
                                   for i in self.realtime_instances]
        return d


def is_realtime(extra_specs):
    return strutils.bool_from_string(
        (extra_specs or {}).get('hw:cpu_realtime'), default=False)


# Placement's own API, not openstacksdk's per-resource helpers: those
# differ between the SDKs of the releases nova-rt supports (2024.1's 3.0
# has no get_resource_provider_trait nor fetch_resource_provider_usages,
# 2026.1's 4.10 no get_resource_provider_trait). 1.6: the first with traits.
PLACEMENT_MICROVERSION = '1.6'


def _placement_get(placement, path):
    response = placement.get(path, microversion=PLACEMENT_MICROVERSION)
    try:
        sdk_exceptions.raise_from_response(response)
    except sdk_exceptions.HttpException:
        # Placement's own reason is in its errors list, which the sdk's
        # message leaves out.
        try:
            details = [err.get('detail') or err.get('title') or ''
                       for err in response.json().get('errors', ())]
        except (ValueError, AttributeError):
            details = []
        raise sdk_exceptions.HttpException(
            message='placement GET %s: HTTP %d%s' % (
                path, response.status_code,
                ''.join(': ' + d for d in details if d)),
            response=response)
    return response.json()


def _capacity(inventory):
    """What placement can allocate of one inventory record."""
    return int((inventory['total'] - inventory.get('reserved', 0)) *
               inventory.get('allocation_ratio', 1.0))


def _provider_view(placement, provider):
    path = '/resource_providers/%s' % provider.id
    traits = _placement_get(placement, path + '/traits')['traits']
    inventories = _placement_get(placement, path + '/inventories')
    pcpu = inventories['inventories'].get('PCPU')
    usages = _placement_get(placement, path + '/usages')['usages']
    return {
        'traits': tuple(sorted(t for t in traits
                               if t.startswith(TRAIT_PREFIX))),
        'pcpu_total': _capacity(pcpu) if pcpu else 0,
        'pcpu_used': int(usages.get('PCPU', 0)),
    }


def _instance(server):
    flavor = server.flavor
    return Instance(id=server.id, name=server.name, status=server.status,
                    vcpus=int(flavor.vcpus or 0),
                    flavor=flavor.original_name or flavor.name or '')


def collect(conn):
    """Every compute node of the cloud ``conn`` reaches, by host name.

    :param conn: an openstack.connection.Connection with an admin role
    :returns: a list of Host
    """
    providers = {rp.name: rp for rp in conn.placement.resource_providers()}
    realtime = {}
    for server in conn.compute.servers(details=True, all_projects=True):
        if server.flavor is not None and is_realtime(
                server.flavor.extra_specs):
            realtime.setdefault(server.hypervisor_hostname, []).append(
                _instance(server))
    hosts = []
    for hyp in conn.compute.hypervisors(details=True):
        provider = providers.get(hyp.name)
        view = {}
        if provider is not None:
            view = _provider_view(conn.placement, provider)
            traits = view['traits']
            view.update(ready=host_facts.TRAIT_READY in traits,
                        preempt_rt=host_facts.TRAIT_PREEMPT_RT in traits,
                        cat=host_facts.TRAIT_CAT in traits)
        instances = sorted(realtime.get(hyp.name, ()),
                           key=lambda i: (i.name, i.id))
        hosts.append(Host(
            host=(hyp.service_details or {}).get('host') or hyp.name,
            node=hyp.name, state=hyp.state, status=hyp.status,
            realtime_instances=tuple(instances), **view))
    return sorted(hosts, key=lambda h: (h.host, h.node))


class HostNotFound(exception.NovaRTError):
    msg_fmt = 'no compute host or node named %(name)s'


def find(hosts, name):
    """The host whose service host or hypervisor node is ``name``.

    :raises: HostNotFound
    """
    for h in hosts:
        if name in (h.host, h.node):
            return h
    raise HostNotFound(name=name)
