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
"""The ``[nova_rt]`` options.

Registered on whatever ``ConfigOpts`` the caller hands in (nova's global
``CONF`` in services, a private one in the CLI and tests) and listed for
``oslo-config-generator --namespace nova_rt``.
"""

import functools
import warnings

from oslo_config import cfg

from nova_rt.core import exception
from nova_rt.core import migration as rt_migration
from nova_rt.core import priority as rt_priority

GROUP = cfg.OptGroup(
    'nova_rt',
    title='nova-rt options',
    help='Real-time instances: defaults and limits for the rt: flavor keys, '
         'host readiness and scheduling.')

OPTS = [
    cfg.IntOpt(
        'default_vcpu_priority',
        default=rt_priority.DEFAULT_VCPU_PRIORITY,
        min=rt_priority.PRIORITY_MIN, max=rt_priority.PRIORITY_MAX,
        help="""
Real-time priority of the real-time vCPU threads of a flavor that does not
set ``rt:vcpu_priority``.

Possible values:

* 1-99, at most ``max_vcpu_priority``.

Related options:

* ``max_vcpu_priority``
* ``[libvirt] realtime_scheduler_priority``: upstream Nova's host-wide value,
  which nova-rt replaces per flavor.
"""),
    cfg.IntOpt(
        'max_vcpu_priority',
        default=rt_priority.DEFAULT_MAX_VCPU_PRIORITY,
        min=rt_priority.PRIORITY_MIN, max=rt_priority.PRIORITY_MAX,
        help="""
Highest real-time priority any flavor may give its vCPU, emulator or I/O
threads. A flavor asking for more is refused, with an error naming the key.

The default stays below the priority 50 that a PREEMPT_RT kernel gives its
threaded interrupt handlers, so a busy guest cannot starve the host's
interrupts. Each host also enforces its own bound: the vCPU priority must be
below its essential per-CPU kernel threads (``nova_rt_kthread_prio``).

Possible values:

* 1-99

Related options:

* ``default_vcpu_priority``
"""),
    cfg.BoolOpt(
        'require_preempt_rt',
        default=True,
        help="""
Whether real-time flavors need a PREEMPT_RT host kernel unless they set
``rt:host_kernel=any``. When false, ``rt:host_kernel`` defaults to ``any``.
"""),
    cfg.BoolOpt(
        'dedicate_hosts',
        default=False,
        help="""
Keep instances of non-real-time flavors off hosts that are ready for
real-time work, so their isolated cores stay free for real-time instances.

Related options:

* ``[filter_scheduler] enabled_filters`` must include ``RealtimeFilter``.
"""),
    cfg.BoolOpt(
        'forbid_ram_overcommit',
        default=True,
        help="""
Refuse real-time instances on hosts whose ``ram_allocation_ratio`` is above
1.0: a real-time guest's memory is locked, and an overcommitted host would
have to swap or kill to honour it.
"""),
    cfg.IntOpt(
        'facts_refresh_interval',
        default=600, min=0,
        help="""
Seconds between two audits of the host's real-time profile by the compute
service. The audit reads /sys and /proc only; 0 audits at every resource
update.
"""),
    cfg.StrOpt(
        'latency_certificate',
        default='/etc/nova/nova-rt-latency.json',
        help="""
Path of the latency certificate of this compute host, written by ``nova-rt
latency certify`` from a ``nova-rt latency run``. The compute publishes its
maximum (``nova_rt_latency_max_us``) only while the certificate matches the
running kernel, kernel command line and isolated CPUs and is younger than
``latency_max_age_days``; otherwise, or when the file is missing, the host
has no certified latency and flavors that set ``rt:max_latency_us`` do not
land on it. Read under ``host_root``.

Related options:

* ``latency_min_duration``, ``latency_max_age_days``
"""),
    cfg.IntOpt(
        'latency_min_duration',
        default=30, min=1,
        help="""
Shortest measurement, in seconds, that ``nova-rt latency certify`` accepts
and the compute honours. The default lets a first run certify; a bound a
tenant relies on wants hours under load (``nova-rt latency run --duration 2h
--load stress-ng``): rare latencies need many samples to show.

Related options:

* ``latency_certificate``
"""),
    cfg.IntOpt(
        'latency_max_age_days',
        default=30, min=1,
        help="""
Days a latency certificate stays valid. An older one no longer publishes
``nova_rt_latency_max_us``: firmware, microcode and workloads drift, so the
host has to be measured again.

Related options:

* ``latency_certificate``
"""),
    cfg.FloatOpt(
        'realtime_weight_multiplier',
        default=10.0,
        help="""
Multiplier of RealtimeWeigher. Positive values pack real-time instances onto
the hosts with the fewest free isolated cores (keeping whole hosts and NUMA
cells free for larger flavors); negative values spread them. The aggregate
metadata key ``realtime_weight_multiplier`` overrides it per aggregate.

The default outweighs Nova's spreading weighers (RAM, CPU, disk, I/O ops,
each with multiplier 1.0) for real-time requests only: the weigher gives
every host 0 for other requests. benchmarks/scheduler.py measures the
packing it gives.
"""),
    cfg.BoolOpt(
        'lab_mode',
        default=False,
        help="""
TEST AND CI CLOUDS ONLY. Lets real-time flavors land on compute hosts that
are not ready for real-time work (no isolated CPUs, no PREEMPT_RT kernel),
so a lab or CI cloud runs the whole real-time path: scheduling, pinning,
``vcpusched``, guest arguments. It gives no latency guarantee at all.

It takes effect only when it is set on both sides: on a compute host it
marks the host as a lab host (stat ``nova_rt_lab_mode``, trait
``CUSTOM_NOVA_RT_LAB``, a warning at every audit) while its published facts
stay what the audit found (``nova_rt_ready`` false, no
``CUSTOM_NOVA_RT_READY``); on the scheduler it lets real-time requests use
the ``[compute] cpu_dedicated_set`` of such lab hosts in place of isolated
CPUs. A host that is ready never becomes a lab host, and a production
scheduler (default false) never places a real-time instance on one.
"""),
    cfg.StrOpt(
        'metrics_file',
        default=None,
        help="""
File that the compute service writes its real-time state to, as Prometheus
metrics, for node_exporter's textfile collector: readiness, each host
check's status, the certified latency and the certificate's dates, and the
``[compute] cpu_dedicated_set`` CPUs pinned by real-time instances, by other
instances, and free. Written atomically (a temporary file beside it, then a
rename) at every resource update of the compute service; the name must end
in ``.prom``, in the directory node_exporter reads
(``--collector.textfile.directory``). Unset (the default): no file.
``nova-rt host check --format prometheus`` prints the same metrics.

Related options:

* ``facts_refresh_interval``: how often the host is audited again
* ``latency_certificate``, ``latency_max_age_days``
"""),
    cfg.StrOpt(
        'host_root',
        default='/',
        help="""
Directory that stands for ``/`` when nova-rt reads the host's state (/sys,
/proc, /dev, /etc). Set it for containerised compute services that mount the
host's /sys and /proc elsewhere.
"""),
]


def register_opts(conf):
    # A group of this conf's own: oslo.config copies a registered group
    # shallowly, so every ConfigOpts given the same OptGroup object would
    # share its options' state, overrides included (a test's override of
    # host_root showed up in another command's configuration).
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title,
                                     help=GROUP.help))
    conf.register_opts(OPTS, group=GROUP.name)


def list_opts():
    return [(GROUP, OPTS)]


@functools.cache
def nova_conf():
    """Nova's global configuration with ``[nova_rt]`` registered.

    For the code that runs inside Nova's services (the scheduler filter and
    weigher, the compute driver): they read nova.conf through this, and the
    options are registered on first use, never at import time.
    """
    import nova.conf
    register_opts(nova.conf.CONF)
    return nova.conf.CONF


@functools.cache
def _nova_hardware():
    # Imported on first use: the nova-rt CLI runs without Nova's services,
    # and futurist warns about eventlet on stderr when nova is imported,
    # which an operator reading `nova-rt host check` has no use for.
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        from nova import exception as nova_exception
        from nova.virt import hardware
    return nova_exception, hardware


def compute_cpu_sets(conf):
    """``[compute] cpu_dedicated_set`` and ``cpu_shared_set`` of ``conf``
    as frozensets (None when unset), parsed by ``nova.virt.hardware`` the way
    nova-compute parses them, so nova-rt never reads them differently.

    :raises: InvalidCPUSet naming the option
    """
    def parse(name):
        value = getattr(conf.compute, name)
        if value is None or not value.strip():
            return None
        nova_exception, hardware = _nova_hardware()
        try:
            return frozenset(hardware.parse_cpu_spec(value))
        except nova_exception.Invalid as e:
            raise exception.InvalidCPUSet(what='[compute] %s' % name,
                                          spec=value, reason=e)

    return parse('cpu_dedicated_set'), parse('cpu_shared_set')


# The [libvirt] options whose values decide what a live migration does to
# a real-time guest (nova_rt.core.migration), by their names there.
_MIGRATION_OPTS = {
    'permit_auto_converge': rt_migration.AUTO_CONVERGE,
    'permit_post_copy': rt_migration.POST_COPY,
    'timeout_action': rt_migration.TIMEOUT_ACTION,
}


def register_migration_opts(conf):
    """Register nova's own definitions of the ``[libvirt]`` live migration
    options nova-rt judges on a private ``ConfigOpts`` (the CLI's), so
    their defaults and choices are nova's.
    """
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        from nova.conf import libvirt as nova_libvirt_conf
    wanted = set(_MIGRATION_OPTS.values())
    conf.register_opts([o for o in nova_libvirt_conf.ALL_OPTS
                        if o.name in wanted], group='libvirt')


def migration_settings(conf):
    """``[libvirt]`` live migration settings of ``conf`` as a
    ``MigrationSettings``.

    :raises: InvalidMigrationSettings naming the option whose value
        oslo.config cannot read
    """
    values = {}
    for field, option in _MIGRATION_OPTS.items():
        try:
            values[field] = getattr(conf.libvirt, option)
        except (cfg.Error, ValueError) as e:
            # oslo.config: "Value for option X from LocationInfo(...) is not
            # valid: <why>"; the why is what the operator needs.
            why = str(e).rpartition(' is not valid: ')[2]
            raise rt_migration.InvalidMigrationSettings(
                '[libvirt] %s: %s' % (option, why))
    return rt_migration.MigrationSettings(**values)
