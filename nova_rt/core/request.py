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
"""The real-time request model: a flavor (and its image) -> RealtimeRequest.

Every rule that spans keys lives here, once; the API validators, the
scheduler filter, the driver and ``nova-rt flavor explain`` all call
``build_request``. Upstream ``hw:`` keys keep their upstream meaning: this
module reads them as Nova's ``nova.virt.hardware`` does and never redefines
them. Image properties are set by tenants, so they are untrusted: only the
upstream ``hw_`` properties Nova itself honours are read, each validated and
named in errors, and nothing a tenant sets can raise a priority or add a
kernel argument.
"""

import dataclasses
import functools
import typing as ty

from oslo_utils import strutils

from nova_rt.core import cpuset
from nova_rt.core import exception
from nova_rt.core import guest_args
from nova_rt.core import priority as rt_priority

RT_PREFIX = 'rt:'

SCHEDULERS_VCPU = ('fifo', 'rr')
SCHEDULERS_EMULATOR = ('other', 'fifo', 'rr')
GUEST_TUNING = ('auto', 'none')
HOST_KERNELS = ('preempt_rt', 'any')
CPU_POLICIES = ('shared', 'dedicated', 'mixed')
THREAD_POLICIES = ('prefer', 'isolate', 'require')
EMULATOR_POLICIES = ('share', 'isolate')
PRIORITY_MIN = rt_priority.PRIORITY_MIN
PRIORITY_MAX = rt_priority.PRIORITY_MAX


@dataclasses.dataclass(frozen=True)
class RequestPolicy:
    """The operator's ``[nova_rt]`` settings the request model needs."""

    default_vcpu_priority: int = rt_priority.DEFAULT_VCPU_PRIORITY
    max_vcpu_priority: int = rt_priority.DEFAULT_MAX_VCPU_PRIORITY
    require_preempt_rt: bool = True

    @classmethod
    def from_conf(cls, conf):
        group = conf.nova_rt
        return cls(default_vcpu_priority=group.default_vcpu_priority,
                   max_vcpu_priority=group.max_vcpu_priority,
                   require_preempt_rt=group.require_preempt_rt)


@dataclasses.dataclass(frozen=True)
class ThreadClass:
    """A Linux scheduling class and its real-time priority (None: other)."""

    scheduler: str
    priority: ty.Optional[int] = None

    @property
    def realtime(self):
        return self.scheduler in ('fifo', 'rr')

    def __str__(self):
        if self.priority is None:
            return self.scheduler
        return '%s:%d' % (self.scheduler, self.priority)


@dataclasses.dataclass(frozen=True)
class RealtimeRequest:
    """What a real-time flavor asks of the host and of the guest."""

    vcpus: int
    realtime_vcpus: frozenset
    housekeeping_vcpus: frozenset
    vcpu_thread: ThreadClass
    emulator_thread: ThreadClass
    emulator_threads_policy: ty.Optional[str]
    cpu_thread_policy: ty.Optional[str]
    numa_nodes: int
    guest_tuning: str
    guest_idle_poll: bool
    guest_extra_args: tuple
    l3_cache_kib: ty.Optional[int]
    max_latency_us: ty.Optional[int]
    host_kernel: str
    pmu: bool
    mem_page_size: ty.Optional[str]
    # Upstream's ``hw:cpu_policy``: ``dedicated`` pins every vCPU to a host
    # CPU of its own; ``mixed`` only the real-time ones, and the others
    # float on the host's ``[compute] cpu_shared_set``.
    cpu_policy: str = 'dedicated'

    @property
    def dedicated_vcpus(self):
        """The vCPUs pinned one-to-one to host CPUs (PCPU in placement)."""
        if self.cpu_policy == 'mixed':
            return self.realtime_vcpus
        return frozenset(range(self.vcpus))

    @property
    def emulator_isolated(self):
        """``hw:emulator_threads_policy=isolate``: the emulator and I/O
        threads get a host CPU of their own, an isolated one.
        """
        return self.emulator_threads_policy == 'isolate'

    @property
    def emulator_pcpus(self):
        """Host CPUs the emulator threads take beyond the vCPUs' (an
        isolated emulator takes one more pCPU).
        """
        return 1 if self.emulator_isolated else 0

    @property
    def pcpus(self):
        """Host CPUs the instance pins: one a dedicated vCPU, plus the
        emulator's.
        """
        return len(self.dedicated_vcpus) + self.emulator_pcpus

    @property
    def isolated_priority(self):
        """The highest real-time priority the instance runs on isolated
        host CPUs: its vCPUs', or its isolated emulator's when higher.
        """
        prio = self.vcpu_thread.priority or 0
        if self.emulator_isolated and self.emulator_thread.realtime:
            prio = max(prio, self.emulator_thread.priority or 0)
        return prio

    def guest_kernel_args(self):
        """The guest kernel arguments, or () with ``rt:guest_tuning=none``."""
        return guest_args.derive(self)

    def to_dict(self):
        """A JSON-ready view, cpusets in canonical range form."""
        return {
            'vcpus': self.vcpus,
            'realtime_vcpus': cpuset.format(self.realtime_vcpus),
            'housekeeping_vcpus': cpuset.format(self.housekeeping_vcpus),
            'cpu_policy': self.cpu_policy,
            'dedicated_vcpus': cpuset.format(self.dedicated_vcpus),
            'vcpu_scheduler': self.vcpu_thread.scheduler,
            'vcpu_priority': self.vcpu_thread.priority,
            'emulator_scheduler': self.emulator_thread.scheduler,
            'emulator_priority': self.emulator_thread.priority,
            'emulator_threads_policy': self.emulator_threads_policy,
            'cpu_thread_policy': self.cpu_thread_policy,
            'host_pcpus': self.pcpus,
            'numa_nodes': self.numa_nodes,
            'host_kernel': self.host_kernel,
            'l3_cache_kib': self.l3_cache_kib,
            'max_latency_us': self.max_latency_us,
            'pmu': self.pmu,
            'mem_page_size': self.mem_page_size,
            'guest_tuning': self.guest_tuning,
            'guest_idle_poll': self.guest_idle_poll,
            'guest_kernel_args': list(guest_args.derive(self)),
            'oem_strings': list(guest_args.oem_strings(self)),
        }


# --- the rt: keys ----------------------------------------------------------

def _enum(choices):
    def parse(key, value):
        if value not in choices:
            raise exception.InvalidRealtimeRequest(
                key, '%r is not one of: %s' % (
                    exception.shortened(value), ', '.join(choices)))
        return value
    return parse


def _int_range(low, high=None):
    def parse(key, value):
        try:
            number = int(str(value).strip(), 10)
        except ValueError:
            raise exception.InvalidRealtimeRequest(
                key, '%r is not an integer' % (exception.shortened(value),))
        if number < low or (high is not None and number > high):
            bound = ('%d..%d' % (low, high) if high is not None
                     else 'at least %d' % low)
            raise exception.InvalidRealtimeRequest(
                key, '%d is out of range (%s)' % (number, bound))
        return number
    return parse


def _bool(key, value):
    try:
        return strutils.bool_from_string(value, strict=True)
    except ValueError:
        raise exception.InvalidRealtimeRequest(
            key, '%r is not a boolean (true/false, yes/no, 1/0, on/off)'
            % (exception.shortened(value),))


def _kernel_args(key, value):
    return guest_args.parse_extra(value)


@dataclasses.dataclass(frozen=True)
class RtKey:
    """One ``rt:`` flavor key: how its value parses and what it means."""

    name: str
    parse: ty.Callable
    values: str
    description: str
    choices: tuple = ()
    minimum: ty.Optional[int] = None
    maximum: ty.Optional[int] = None


RT_KEYS = {k.name: k for k in (
    RtKey('rt:vcpu_scheduler', _enum(SCHEDULERS_VCPU), 'fifo, rr',
          'Host scheduling class of the real-time vCPU threads '
          '(default fifo).', choices=SCHEDULERS_VCPU),
    RtKey('rt:vcpu_priority', _int_range(PRIORITY_MIN, PRIORITY_MAX),
          '1-99',
          'Real-time priority of the real-time vCPU threads (default '
          '[nova_rt] default_vcpu_priority, at most [nova_rt] '
          'max_vcpu_priority).', minimum=PRIORITY_MIN, maximum=PRIORITY_MAX),
    RtKey('rt:emulator_scheduler', _enum(SCHEDULERS_EMULATOR),
          'other, fifo, rr',
          'Host scheduling class of the emulator and I/O threads '
          '(default other).', choices=SCHEDULERS_EMULATOR),
    RtKey('rt:emulator_priority', _int_range(PRIORITY_MIN, PRIORITY_MAX),
          '1-99',
          'Real-time priority of the emulator and I/O threads; required '
          'with rt:emulator_scheduler fifo or rr, refused with other.',
          minimum=PRIORITY_MIN, maximum=PRIORITY_MAX),
    RtKey('rt:guest_tuning', _enum(GUEST_TUNING), 'auto, none',
          'auto: derive the guest kernel arguments and deliver them to the '
          'guest (default); none: leave the guest alone.',
          choices=GUEST_TUNING),
    RtKey('rt:guest_idle_poll', _bool, 'true, false',
          'Add idle=poll to the guest kernel arguments (default false).'),
    RtKey('rt:guest_kernel_args', _kernel_args,
          'space-separated key or key=value tokens of [A-Za-z0-9_.,=:/+-]',
          'Extra guest kernel arguments appended to the derived ones.'),
    RtKey('rt:l3_cache_kib', _int_range(1), 'integer > 0',
          'L3 cache (KiB) reserved for the real-time vCPUs with Cache '
          'Allocation Technology.', minimum=1),
    RtKey('rt:max_latency_us', _int_range(1), 'integer > 0',
          'Only hosts whose certified worst-case latency (microseconds) is '
          'at most this.', minimum=1),
    RtKey('rt:host_kernel', _enum(HOST_KERNELS), 'preempt_rt, any',
          'Required host kernel (default preempt_rt unless [nova_rt] '
          'require_preempt_rt is false).', choices=HOST_KERNELS),
)}


def parse_rt_value(key, value):
    """Parse one ``rt:`` value alone, as the API does for each key."""
    try:
        spec = RT_KEYS[key]
    except KeyError:
        raise exception.InvalidRealtimeRequest(
            key, 'unknown nova-rt key; known keys: %s'
            % ', '.join(sorted(RT_KEYS)))
    if not isinstance(value, str):
        raise exception.InvalidRealtimeRequest(
            key, '%r is not a string' % (exception.shortened(value),))
    return spec.parse(key, value)


# --- upstream hw: keys, read with upstream semantics -----------------------

def _flavor_or_image(extra_specs, image_properties, name, choices=None):
    """Nova's precedence: the flavor's ``hw:NAME`` over the image's
    ``hw_NAME``; a conflict between them is an error, as upstream.
    """
    flavor_key, image_key = 'hw:' + name, 'hw_' + name
    flavor_value = extra_specs.get(flavor_key)
    image_value = image_properties.get(image_key)
    for key, value in ((flavor_key, flavor_value), (image_key, image_value)):
        if value is not None and choices and value not in choices:
            raise exception.InvalidRealtimeRequest(
                key, '%r is not one of: %s' % (
                    exception.shortened(value), ', '.join(choices)))
    if (flavor_value is not None and image_value is not None and
            flavor_value != image_value):
        raise exception.InvalidRealtimeRequest(
            (flavor_key, image_key),
            'the image asks for %r, the flavor for %r' % (
                exception.shortened(image_value),
                exception.shortened(flavor_value)))
    return flavor_value if flavor_value is not None else image_value


def _cpu_policy(extra_specs, image_properties):
    # Upstream lets an image choose a policy only where the flavor did not.
    flavor_value = extra_specs.get('hw:cpu_policy')
    image_value = image_properties.get('hw_cpu_policy')
    for key, value in (('hw:cpu_policy', flavor_value),
                       ('hw_cpu_policy', image_value)):
        if value is not None and value not in CPU_POLICIES:
            raise exception.InvalidRealtimeRequest(
                key, '%r is not one of: %s' % (
                    exception.shortened(value), ', '.join(CPU_POLICIES)))
    if flavor_value is not None:
        return flavor_value, 'hw:cpu_policy'
    return image_value, 'hw_cpu_policy'


def _realtime_mask(vcpus, extra_specs, image_properties):
    """The real-time vCPUs, as ``nova.virt.hardware`` computes them.

    The image's mask wins over the flavor's; a leading ``^`` excludes from
    all vCPUs; no mask at all means every vCPU is real-time.
    """
    image_mask = image_properties.get('hw_cpu_realtime_mask')
    flavor_mask = extra_specs.get('hw:cpu_realtime_mask')
    if image_mask:
        mask, key = image_mask, 'hw_cpu_realtime_mask'
    elif flavor_mask:
        mask, key = flavor_mask, 'hw:cpu_realtime_mask'
    else:
        return frozenset(range(vcpus)), None
    if not isinstance(mask, str):
        raise exception.InvalidRealtimeRequest(
            key, '%r is not a CPU mask string' % (exception.shortened(mask),))
    if mask.strip().startswith('^'):
        spec = '0-%d,%s' % (vcpus - 1, mask)
    else:
        spec = mask
    try:
        realtime = cpuset.parse(spec, what=key)
    except exception.InvalidCPUSet as e:
        raise exception.InvalidRealtimeRequest(key, e.kwargs['reason'])
    if not realtime:
        raise exception.InvalidRealtimeRequest(
            key, '%r leaves no real-time vCPU' % (exception.shortened(mask),))
    outside = realtime - frozenset(range(vcpus))
    if outside:
        raise exception.InvalidRealtimeRequest(
            key, 'vCPU(s) %s do not exist in a %d-vCPU flavor'
            % (cpuset.format(outside), vcpus))
    return realtime, key


def _numa_nodes(extra_specs, image_properties, vcpus):
    value = _flavor_or_image(extra_specs, image_properties, 'numa_nodes')
    if value is None:
        return 1
    key = 'hw:numa_nodes' if 'hw:numa_nodes' in extra_specs else \
        'hw_numa_nodes'
    try:
        nodes = int(str(value), 10)
    except ValueError:
        raise exception.InvalidRealtimeRequest(
            key, '%r is not an integer' % (exception.shortened(value),))
    if nodes < 1 or nodes > vcpus:
        raise exception.InvalidRealtimeRequest(
            key, '%d NUMA nodes for %d vCPUs' % (nodes, vcpus))
    return nodes


def _pmu(extra_specs, image_properties):
    flavor_value = extra_specs.get('hw:pmu')
    image_value = image_properties.get('hw_pmu')
    if flavor_value is not None:
        flavor_value = _bool('hw:pmu', flavor_value)
    if image_value is not None and not isinstance(image_value, bool):
        image_value = _bool('hw_pmu', str(image_value))
    if (flavor_value is not None and image_value is not None and
            flavor_value != image_value):
        raise exception.InvalidRealtimeRequest(
            ('hw:pmu', 'hw_pmu'),
            'the image asks for %s, the flavor for %s' % (image_value,
                                                          flavor_value))
    # The vPMU costs exits on every context switch in the guest: off
    # unless someone asked for it.
    return bool(flavor_value if flavor_value is not None else image_value)


# The image properties nova-rt reads: the upstream ones Nova itself honours
# for real-time and CPU placement. Tenants set images; nothing else of
# theirs is looked at.
IMAGE_PROPERTIES = ('hw_cpu_realtime_mask', 'hw_cpu_policy',
                    'hw_cpu_thread_policy', 'hw_pmu', 'hw_numa_nodes',
                    'hw_mem_page_size')


def image_properties(props):
    """The allow-listed, set properties of an image (a mapping or Nova's
    ``ImageMetaProps``; None for no image).
    """
    if props is None:
        return {}
    found = {}
    for name in IMAGE_PROPERTIES:
        value = props.get(name)
        if value is not None:
            found[name] = value
    return found


def is_realtime(extra_specs):
    """Nova's test: ``hw:cpu_realtime`` is truthy (lenient, as upstream)."""
    return strutils.bool_from_string(extra_specs.get('hw:cpu_realtime'))


# --- the cross-key rules, one function each --------------------------------
#
# build_request runs them in this order (the order decides which error a
# flavor with several faults gets); each reads the flavor and what the
# earlier rules found, and returns the RealtimeRequest fields it decides.

@dataclasses.dataclass
class _Flavor:
    """A flavor being turned into a RealtimeRequest."""

    vcpus: int
    specs: ty.Mapping
    image: ty.Mapping
    policy: RequestPolicy
    rt: dict                # the parsed rt: values
    found: dict = dataclasses.field(default_factory=dict)

    @property
    def mask_key(self):
        return self.found.get('_mask_key') or 'hw:cpu_realtime_mask'


def check_vcpu_count(vcpus):
    if not isinstance(vcpus, int) or isinstance(vcpus, bool) or vcpus < 1:
        raise exception.InvalidRealtimeRequest(
            'vcpus', '%r is not a positive number of vCPUs'
            % (exception.shortened(vcpus),))


def parse_rt_keys(extra_specs):
    """Every ``rt:`` value of a flavor, parsed (sorted by key)."""
    return {key: parse_rt_value(key, extra_specs[key])
            for key in sorted(k for k in extra_specs
                              if k.startswith(RT_PREFIX))}


def rt_keys_need_realtime(rt_values):
    """Any ``rt:`` key without ``hw:cpu_realtime=yes`` is an error."""
    if rt_values:
        raise exception.InvalidRealtimeRequest(
            tuple(rt_values), 'nova-rt keys need hw:cpu_realtime=yes')


def realtime_needs_pinned_cpus(f):
    """Real-time vCPUs need host CPUs of their own: ``dedicated`` pins
    every vCPU, ``mixed`` (upstream: the real-time mask names the dedicated
    vCPUs) only the real-time ones.
    """
    policy_value, policy_key = _cpu_policy(f.specs, f.image)
    if policy_value not in ('dedicated', 'mixed'):
        raise exception.InvalidRealtimeRequest(
            ('hw:cpu_realtime', policy_key),
            'real-time needs hw:cpu_policy=dedicated or mixed (found %s)'
            % (policy_value or 'no policy'))
    if policy_value == 'mixed' and f.specs.get('hw:cpu_dedicated_mask'):
        # Upstream's RequiredMixedOrRealtimeCPUMask: with real-time, the
        # real-time mask is the dedicated mask.
        raise exception.InvalidRealtimeRequest(
            ('hw:cpu_dedicated_mask', 'hw:cpu_realtime_mask'),
            'with hw:cpu_policy=mixed and hw:cpu_realtime the real-time '
            'mask names the dedicated vCPUs: drop hw:cpu_dedicated_mask')
    return {'cpu_policy': policy_value}


def thread_policies(f):
    emulator_policy = f.specs.get('hw:emulator_threads_policy')
    if emulator_policy is not None and emulator_policy not in \
            EMULATOR_POLICIES:
        raise exception.InvalidRealtimeRequest(
            'hw:emulator_threads_policy', '%r is not one of: %s'
            % (emulator_policy, ', '.join(EMULATOR_POLICIES)))
    return {'emulator_threads_policy': emulator_policy,
            'cpu_thread_policy': _flavor_or_image(
                f.specs, f.image, 'cpu_thread_policy', THREAD_POLICIES)}


def split_realtime_vcpus(f):
    realtime, mask_key = _realtime_mask(f.vcpus, f.specs, f.image)
    return {'realtime_vcpus': realtime,
            'housekeeping_vcpus': frozenset(range(f.vcpus)) - realtime,
            '_mask_key': mask_key}


def mixed_needs_shared_vcpus(f):
    """With ``mixed``, the vCPUs outside the real-time mask are the
    shared ones: a mask naming every vCPU leaves nothing shared.
    """
    if f.found['cpu_policy'] == 'mixed' and not f.found['housekeeping_vcpus']:
        raise exception.InvalidRealtimeRequest(
            ('hw:cpu_policy', f.mask_key),
            'hw:cpu_policy=mixed needs at least one vCPU outside the '
            'real-time mask (the shared vCPUs); use dedicated to pin them '
            'all')
    return {}


def emulator_threads_need_a_home(f):
    """Upstream's rule: the emulator threads must go somewhere that is not
    a real-time vCPU.
    """
    if (not f.found['housekeeping_vcpus'] and
            f.found['emulator_threads_policy'] is None):
        raise exception.InvalidRealtimeRequest(
            (f.mask_key, 'hw:emulator_threads_policy'),
            'every vCPU is real-time: leave at least one for housekeeping '
            'or set hw:emulator_threads_policy')
    return {}


def capped_priority(key, priority, policy):
    """A real-time priority nova-rt will give, or the error: never above
    ``[nova_rt] max_vcpu_priority`` (refused, not lowered).
    """
    if priority > policy.max_vcpu_priority:
        raise exception.InvalidRealtimeRequest(
            key, '%d is above [nova_rt] max_vcpu_priority=%d'
            % (priority, policy.max_vcpu_priority))
    return priority


def vcpu_thread_class(f):
    if 'rt:vcpu_priority' in f.rt:
        key, priority = 'rt:vcpu_priority', f.rt['rt:vcpu_priority']
    else:
        key = '[nova_rt] default_vcpu_priority'
        priority = f.policy.default_vcpu_priority
    return {'vcpu_thread': ThreadClass(
        f.rt.get('rt:vcpu_scheduler', 'fifo'),
        capped_priority(key, priority, f.policy))}


def emulator_thread_class(f):
    """A priority with fifo or rr, and only with them."""
    scheduler = f.rt.get('rt:emulator_scheduler', 'other')
    priority = f.rt.get('rt:emulator_priority')
    if scheduler == 'other' and priority is not None:
        raise exception.InvalidRealtimeRequest(
            ('rt:emulator_priority', 'rt:emulator_scheduler'),
            'a priority needs rt:emulator_scheduler fifo or rr, not other')
    if scheduler != 'other':
        if priority is None:
            raise exception.InvalidRealtimeRequest(
                ('rt:emulator_scheduler', 'rt:emulator_priority'),
                'rt:emulator_scheduler=%s needs rt:emulator_priority'
                % scheduler)
        capped_priority('rt:emulator_priority', priority, f.policy)
    return {'emulator_thread': ThreadClass(scheduler, priority)}


def guest_needs_partitioning_too(f):
    """``rt:guest_tuning=auto`` needs a housekeeping vCPU in the guest;
    with ``none`` no guest argument is delivered, so none may be asked.
    """
    tuning = f.rt.get('rt:guest_tuning', 'auto')
    if tuning == 'auto' and not f.found['housekeeping_vcpus']:
        raise exception.InvalidRealtimeRequest(
            ('rt:guest_tuning', f.mask_key),
            'the guest needs partitioning too: rt:guest_tuning=auto needs '
            'at least one non-real-time vCPU for the guest kernel\'s '
            'housekeeping')
    if tuning == 'none':
        for key in ('rt:guest_idle_poll', 'rt:guest_kernel_args'):
            if key in f.rt:
                raise exception.InvalidRealtimeRequest(
                    (key, 'rt:guest_tuning'),
                    'guest arguments are not delivered with '
                    'rt:guest_tuning=none')
    return {'guest_tuning': tuning,
            'guest_idle_poll': f.rt.get('rt:guest_idle_poll', False),
            'guest_extra_args': f.rt.get('rt:guest_kernel_args', ())}


def host_requirements(f):
    default_kernel = 'preempt_rt' if f.policy.require_preempt_rt else 'any'
    return {'host_kernel': f.rt.get('rt:host_kernel', default_kernel),
            'l3_cache_kib': f.rt.get('rt:l3_cache_kib'),
            'max_latency_us': f.rt.get('rt:max_latency_us')}


def guest_memory_and_numa(f):
    page_size = _flavor_or_image(f.specs, f.image, 'mem_page_size')
    return {'mem_page_size': None if page_size is None else str(page_size),
            'numa_nodes': _numa_nodes(f.specs, f.image, f.vcpus),
            'pmu': _pmu(f.specs, f.image)}


RULES = (
    realtime_needs_pinned_cpus,
    thread_policies,
    split_realtime_vcpus,
    mixed_needs_shared_vcpus,
    emulator_threads_need_a_home,
    vcpu_thread_class,
    emulator_thread_class,
    guest_needs_partitioning_too,
    host_requirements,
    guest_memory_and_numa,
)


def build_request(vcpus, extra_specs, image_properties=None, policy=None):
    """Return the RealtimeRequest of a flavor, or None if it is not real-time.

    :param vcpus: the flavor's vCPU count
    :param extra_specs: the flavor's extra specs (a mapping of strings)
    :param image_properties: the image's properties (untrusted), a mapping
    :param policy: a RequestPolicy; the defaults when None
    :raises: InvalidRealtimeRequest naming the key(s) at fault
    """
    check_vcpu_count(vcpus)
    rt_values = parse_rt_keys(extra_specs)
    if not is_realtime(extra_specs):
        rt_keys_need_realtime(rt_values)
        return None
    flavor = _Flavor(vcpus, extra_specs, image_properties or {},
                     policy or RequestPolicy(), rt_values)
    for rule in RULES:
        flavor.found.update(rule(flavor))
    fields = {k: v for k, v in flavor.found.items() if not k.startswith('_')}
    request = RealtimeRequest(vcpus=vcpus, **fields)
    guest_args.check_length(request)
    return request


# Distinct (flavor, image properties, policy) a compute host remembers.
REMEMBERED_REQUESTS = 256


@functools.lru_cache(maxsize=REMEMBERED_REQUESTS)
def _remembered(vcpus, specs, props, policy):
    return build_request(vcpus, dict(specs), dict(props), policy)


def remembered_request(vcpus, extra_specs, image_properties=None,
                       policy=None):
    """``build_request``, remembered per distinct input.

    A compute host builds the request of the same few flavors at every
    spawn, reboot and move, inside Nova's own guest config; a
    RealtimeRequest is immutable, so one object serves them all. A
    refused flavor is refused again each time (exceptions are not kept).
    """
    try:
        specs = tuple(sorted(extra_specs.items()))
        props = tuple(sorted((image_properties or {}).items()))
        hash((specs, props))
    except TypeError:
        # An unhashable value: nothing to remember it by.
        return build_request(vcpus, extra_specs, image_properties, policy)
    return _remembered(vcpus, specs, props, policy or RequestPolicy())
