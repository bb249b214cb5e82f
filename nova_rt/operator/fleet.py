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


def _capacity(inventory):
    """What placement can allocate of one inventory record."""
    return int((inventory.total - (inventory.reserved or 0)) *
               (inventory.allocation_ratio or 1.0))


def _provider_view(placement, provider):
    traits = placement.get_resource_provider_trait(provider).traits or []
    pcpu = [inv for inv in placement.resource_provider_inventories(provider)
            if inv.resource_class == 'PCPU']
    usages = placement.fetch_resource_provider_usages(provider).usages or {}
    return {
        'traits': tuple(sorted(t for t in traits
                               if t.startswith(TRAIT_PREFIX))),
        'pcpu_total': sum(_capacity(inv) for inv in pcpu),
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
