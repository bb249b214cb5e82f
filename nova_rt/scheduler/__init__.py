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
"""What the filter and the weigher share: the request and the host, parsed
once.

A scheduling request is parsed once per ``filter_all``/``weigh_objects``
call, not once per host. A host's facts are parsed once per facts version
(the raw ``nova_rt_*`` strings), and its capacity once per NUMA usage: the
scheduler replaces ``HostState.stats`` and ``HostState.numa_topology`` with
new objects when they change (a compute node update, or
``consume_from_request`` placing an instance), so the cached view is reused
while both objects are the very same ones.
"""

import dataclasses
import functools
import operator
import typing as ty

import cachetools
from oslo_log import log as logging

from nova_rt import conf as rt_conf
from nova_rt.core import exception
from nova_rt.core import fitting
from nova_rt.core import request as rt_request
from nova_rt.host import facts as host_facts
from nova_rt.scheduler import packing
from nova_rt.scheduler import prefilter

LOG = logging.getLogger(__name__)

# Bounds of the two caches: far above any fleet, low enough to stay small.
MAX_HOSTS = 65536
MAX_FACT_VERSIONS = 4096

# (host, node) -> (stats, topology, lab, HostView): reused while the
# scheduler keeps the very same stats and topology objects. A plain dict,
# its oldest entry dropped when full: read for every host of every request,
# and an LRU's bookkeeping cost more than the rest of a warm lookup.
_hosts = {}
# (host, node, stats version) already warned about.
_logged = cachetools.LRUCache(maxsize=MAX_HOSTS)
# (flavor, what is wrong) already warned about: a flavor that does not
# ask placement for the ready trait, said once per flavor.
_flavors_warned = cachetools.LRUCache(maxsize=MAX_FACT_VERSIONS)


@dataclasses.dataclass(frozen=True)
class Policy:
    """The scheduler's ``[nova_rt]`` options, read once per request."""

    lab_mode: bool = False
    forbid_ram_overcommit: bool = False
    dedicate_hosts: bool = False
    # Nova's [compute] packing_host_numa_cells_allocation_strategy: which
    # host cells Nova's fitting tries first, for the weigher.
    pack_cells: bool = False

    @classmethod
    def from_conf(cls):
        conf = rt_conf.nova_conf()
        group = conf.nova_rt
        return cls(group.lab_mode, group.forbid_ram_overcommit,
                   group.dedicate_hosts,
                   conf.compute.packing_host_numa_cells_allocation_strategy)


@dataclasses.dataclass(frozen=True)
class Ask:
    """A scheduling request as nova-rt sees it."""

    request: ty.Optional[rt_request.RealtimeRequest]
    error: ty.Optional[exception.InvalidRealtimeRequest] = None
    guest_cells: ty.Optional[tuple] = None
    policy: Policy = dataclasses.field(default_factory=Policy.from_conf)
    placement: ty.Optional[prefilter.PlacementCut] = None

    @property
    def realtime(self):
        return self.request is not None or self.error is not None


class HostView:
    """A host's parsed facts (HostFacts or None), its capacity
    (fitting.Capacity or None) and why its facts are unusable (or None).
    """

    __slots__ = ('facts', 'capacity', 'error')

    def __init__(self, facts, capacity, error=None):
        self.facts = facts
        self.capacity = capacity
        self.error = error


def clear_caches():
    """Forget every parsed host (the tests and benchmarks start cold)."""
    _hosts.clear()
    _logged.clear()
    _flavors_warned.clear()
    _facts_of_version.cache_clear()


def _image_properties(spec_obj):
    if 'image' in spec_obj and spec_obj.image is not None and \
            'properties' in spec_obj.image:
        return rt_request.image_properties(spec_obj.image.properties)
    return {}


def ask(spec_obj):
    """RequestSpec -> Ask; never raises for a bad flavor."""
    flavor = spec_obj.flavor
    try:
        request = rt_request.build_request(
            flavor.vcpus, flavor.extra_specs or {},
            _image_properties(spec_obj),
            rt_request.RequestPolicy.from_conf(rt_conf.nova_conf()))
    except exception.InvalidRealtimeRequest as e:
        return Ask(None, e)
    policy = Policy.from_conf()
    placement = None
    if request is not None:
        placement = prefilter.placement_cut(flavor.extra_specs or {},
                                            policy.lab_mode)
    guest_cells = None
    if request is not None and spec_obj.obj_attr_is_set('numa_topology') \
            and spec_obj.numa_topology:
        # Nova's own split (automatic or hw:numa_cpus.N). A mixed
        # instance pins only its pcpuset; its cpuset floats on shared CPUs.
        guest_cells = tuple(
            len(cell.pcpuset) if request.cpu_policy == 'mixed'
            else len(cell.pcpuset) or len(cell.cpuset)
            for cell in spec_obj.numa_topology.cells)
    return Ask(request, None, guest_cells, policy, placement)


def warn_placement(spec_obj, the_ask):
    """Say, once per flavor, that a real-time flavor does not ask placement
    for the ready trait (or asks for something no host it may use has).

    nova-api validates one extra spec at a time and never sees the whole
    flavor, so this is where a flavor without the trait is first seen.
    """
    cut = the_ask.placement
    if cut is None or cut.asked:
        return
    flavor = spec_obj.flavor
    key = (getattr(flavor, 'flavorid', None) or getattr(flavor, 'name', '?'),
           cut.state, cut.trait)
    if key in _flavors_warned:
        return
    _flavors_warned[key] = True
    if cut.state == prefilter.CONFLICT:
        LOG.warning('nova-rt: real-time flavor %(flavor)s cannot be '
                    'scheduled: %(message)s',
                    {'flavor': key[0], 'message': cut.message},
                    instance_uuid=spec_obj.instance_uuid)
    else:
        LOG.warning('nova-rt: real-time flavor %(flavor)s does not ask '
                    'placement for %(trait)s, so every candidate host is '
                    'loaded and filtered: %(message)s',
                    {'flavor': key[0], 'trait': cut.trait,
                     'message': cut.message},
                    instance_uuid=spec_obj.instance_uuid)


def _facts(stats):
    """(HostFacts or None, error or None) of a host's stats."""
    return _facts_of_version(_version(stats))


def _version(stats):
    """The host's nova_rt_* stats, as a hashable whole."""
    return tuple(sorted((str(k), str(v)) for k, v in stats.items()
                        if str(k).startswith(host_facts.STAT_PREFIX)))


@functools.lru_cache(maxsize=MAX_FACT_VERSIONS)
def _facts_of_version(version):
    try:
        return host_facts.from_stats(dict(version)), None
    except host_facts.InvalidHostFacts as e:
        return None, 'invalid host facts: %s' % e


def _unreadable(host_state, error):
    """Log a host whose facts cannot be used, once per host and stats
    version: the scheduler asks about every host for every request.
    """
    stats = getattr(host_state, 'stats', None) or {}
    try:
        key = (host_state.host, host_state.nodename, _version(stats))
    except Exception:
        key = (id(host_state), None, None)
    if key not in _logged:
        _logged[key] = True
        LOG.warning('nova-rt: %(host)s, %(node)s: real-time requests will '
                    'not land here: %(error)s',
                    {'host': getattr(host_state, 'host', '?'),
                     'node': getattr(host_state, 'nodename', '?'),
                     'error': exception.shortened(str(error), 300)})


# The NUMACell fields the capacity needs, read where oslo.versionedobjects
# stores a set field (``_obj_<name>``, its ``base._get_attrname``): the
# scheduler builds the capacity of every cell of every ready host, and the
# generated getters cost more than the count itself. An unset field falls
# back to the getter.
_CELL_FIELDS = operator.attrgetter(*('_obj_' + name for name in (
    'id', 'pcpuset', 'pinned_cpus', 'siblings')))
_CELLS = '_obj_cells'


def _cells(topology):
    """((id, pcpuset, pinned_cpus, siblings), ...) of a NUMATopology."""
    try:
        return list(map(_CELL_FIELDS, getattr(topology, _CELLS)))
    except AttributeError:
        # Not set (or not an object): the fields' own getters decide.
        return [(c.id, c.pcpuset, c.pinned_cpus, c.siblings)
                for c in topology.cells]


def host_view(host_state, lab=None):
    """HostState -> HostView (facts and capacity), cached per host.

    ``lab``: the scheduler's ``[nova_rt] lab_mode`` (read when None).
    """
    stats = getattr(host_state, 'stats', None) or {}
    topology = host_state.numa_topology
    key = (host_state.host, host_state.nodename)
    if lab is None:
        lab = rt_conf.nova_conf().nova_rt.lab_mode
    cached = _hosts.get(key)
    if cached is not None and cached[0] is stats and \
            cached[1] is topology and cached[2] == lab:
        return cached[3]
    facts, error = _facts(stats)
    if error is not None:
        _unreadable(host_state, error)
    # A NUMATopology's truth is its cell count, asked once.
    has_cells = bool(topology)
    if facts is not None and facts.lab and lab and has_cells:
        facts = fitting.lab_facts(facts, frozenset().union(
            *(cell.pcpuset for cell in topology.cells)))
    cap = None
    if facts is not None and facts.ready and has_cells:
        cap = fitting.capacity(facts, _cells(topology))
    view = HostView(facts, cap, error)
    if len(_hosts) >= MAX_HOSTS and key not in _hosts:
        del _hosts[next(iter(_hosts))]
    _hosts[key] = (stats, topology, lab, view)
    return view


def _judge(host_state, the_ask):
    group = the_ask.policy
    view = host_view(host_state, group.lab_mode)
    if view.error is not None and the_ask.request is not None:
        return fitting.Verdict(fitting.NOT_READY, view.error)
    return fitting.verdict(
        the_ask.request, view.facts, view.capacity,
        guest_cells=the_ask.guest_cells,
        ram_allocation_ratio=host_state.ram_allocation_ratio,
        forbid_ram_overcommit=group.forbid_ram_overcommit,
        dedicate_hosts=group.dedicate_hosts)


def verdict(host_state, the_ask):
    """HostState + Ask -> fitting.Verdict; never raises into
    nova-scheduler (an exception in a filter fails the whole request): a
    host that cannot be judged is rejected for real-time requests and
    neutral for the others.
    """
    if the_ask.error is not None:
        return _invalid(host_state, the_ask)
    try:
        return _judge(host_state, the_ask)
    except Exception as e:
        _unreadable(host_state, '%s: %s' % (type(e).__name__, e))
        if the_ask.request is None:
            return fitting.PASS
        return fitting.Verdict(fitting.NOT_READY,
                               'host facts cannot be judged')


def _invalid(host_state, the_ask):
    """A flavor that can never be real-time.

    A filter cannot tell the user why (a bare NoValidHost): a host running
    nova-rt's driver fails the build with this reason as the instance
    fault, before anything is created. A host without it would boot the
    flavor as an ordinary guest, so it is refused.
    """
    refused = fitting.Verdict(fitting.INVALID_REQUEST, str(the_ask.error))
    try:
        view = host_view(host_state, the_ask.policy.lab_mode)
    except Exception as e:
        _unreadable(host_state, '%s: %s' % (type(e).__name__, e))
        return refused
    return fitting.PASS if view.facts is not None else refused


def score(host_state, the_ask):
    """The weigher's raw value, or None (weighs as the emptiest host) when
    it does not apply or the host cannot be judged.
    """
    try:
        view = host_view(host_state, the_ask.policy.lab_mode)
        return packing.score(the_ask.request, view.facts, view.capacity,
                             the_ask.policy.pack_cells, the_ask.guest_cells)
    except Exception as e:
        _unreadable(host_state, '%s: %s' % (type(e).__name__, e))
        return None
