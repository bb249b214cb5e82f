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
"""RealtimeLibvirtDriver: Nova's libvirt driver with real-time guests.

Tested with nova 34 (2026.2); see requirements.txt for the range. Nova's
private driver methods change between releases, so every one this class
overrides is here and nowhere else:

* ``_get_guest_config``: every path that writes a domain (spawn, hard
  reboot, stop/start, resize, cold migration, evacuate, rebuild, unshelve,
  rescue) builds its XML through it;
* ``_live_migration_operation``: the destination XML of a live migration is
  rewritten from the source's, not rebuilt, so the real-time elements are
  re-derived there.

The public methods add the host facts (``get_available_resource``,
``update_provider_tree``) and refuse a real-time spawn this host cannot
honour before anything is created (``spawn``). What goes into the domain is
decided by ``nova_rt.designer``; what the host is, by ``nova_rt.host``.
"""

import threading
import time

from nova.compute import utils as compute_utils
from nova import exception as nova_exception
from nova import objects
from nova.virt.libvirt import driver as libvirt_driver
from oslo_log import log as logging

import nova.conf

from nova_rt import conf as nova_rt_conf
from nova_rt import cpuset
from nova_rt import designer
from nova_rt import exception
from nova_rt import fitting
from nova_rt.host import checks
from nova_rt.host import facts as host_facts
from nova_rt.host import profile as host_profile
from nova_rt import request as rt_request

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF
nova_rt_conf.register_opts(CONF)


def realtime_request(flavor, image_meta):
    """The RealtimeRequest of an instance's flavor and image, or None."""
    image_properties = {}
    if image_meta is not None and 'properties' in image_meta:
        props = image_meta.properties
        image_properties = {name: props.get(name) for name in (
            'hw_cpu_realtime_mask', 'hw_cpu_policy', 'hw_cpu_thread_policy',
            'hw_pmu', 'hw_numa_nodes', 'hw_mem_page_size')
            if props.get(name) is not None}
    return rt_request.build_request(
        flavor.vcpus, dict(flavor.extra_specs or {}), image_properties,
        rt_request.RequestPolicy.from_conf(CONF))


def cache_layout(facts):
    """The CAT layout a host's facts describe, or None without CAT.

    The same function serves this host at spawn and a live migration's
    destination (from its published stats), so both derive ``cachetune``
    alike.
    """
    if facts is None or not (facts.cat_l3_kib and facts.cat_min_kib and
                             facts.cat_domains):
        return None
    cache_of_cpu = {cpu: cache_id for cache_id, cpus in facts.cat_domains
                    for cpu in cpus}
    return designer.CacheLayout(
        cache_of_cpu=cache_of_cpu, way_kib=facts.cat_min_kib,
        domain_kib=facts.cat_l3_kib)


class _HostState:
    """The audited host: profile and facts, refreshed every interval."""

    def __init__(self, profile, report, facts, when):
        self.profile = profile
        self.report = report
        self.facts = facts
        self.when = when
        self.layout = cache_layout(facts)


class _MigratingGuest:
    """The source guest of a live migration, with the destination XML
    re-derived for real-time just before it is handed to libvirt."""

    def __init__(self, guest, rewrite):
        self._guest = guest
        self._rewrite = rewrite

    def __getattr__(self, name):
        return getattr(self._guest, name)

    def migrate(self, destination, *args, destination_xml=None, **kwargs):
        if destination_xml:
            destination_xml = self._rewrite(destination_xml)
        return self._guest.migrate(destination, *args,
                                   destination_xml=destination_xml, **kwargs)


class RealtimeLibvirtDriver(libvirt_driver.LibvirtDriver):

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi, read_only)
        self._rt_lock = threading.Lock()
        self._rt_host = None
        self._rt_root = CONF.nova_rt.host_root

    # --- host facts -------------------------------------------------------

    def _dedicated_cpus(self):
        spec = CONF.compute.cpu_dedicated_set
        return cpuset.parse(spec, '[compute] cpu_dedicated_set') \
            if spec else None

    def _shared_cpus(self):
        spec = CONF.compute.cpu_shared_set
        return cpuset.parse(spec, '[compute] cpu_shared_set') \
            if spec else None

    def realtime_host(self, refresh=False):
        """The host's audited real-time state, cached for
        ``[nova_rt] facts_refresh_interval`` seconds."""
        with self._rt_lock:
            now = time.monotonic()
            current = self._rt_host
            if (current is not None and not refresh and
                    now - current.when < CONF.nova_rt.facts_refresh_interval):
                return current
            root = self._rt_root
            profile = host_profile.read_profile(root)
            report = checks.audit(
                profile, dedicated_cpus=self._dedicated_cpus(),
                shared_cpus=self._shared_cpus(),
                vcpu_priority=CONF.nova_rt.default_vcpu_priority)
            latency = host_facts.read_latency_certificate(
                root, CONF.nova_rt.latency_certificate,
                CONF.nova_rt.latency_max_age_days,
                CONF.nova_rt.latency_min_duration)
            facts = host_facts.facts_from_report(
                profile, report, latency, lab=CONF.nova_rt.lab_mode)
            self._rt_host = _HostState(profile, report, facts, now)
        if facts.lab:
            LOG.warning('nova-rt: LAB MODE ([nova_rt] lab_mode): this host '
                        'is NOT ready for real-time instances and a lab '
                        'scheduler places them here anyway, on %s, with no '
                        'latency guarantee. Never on a production host.',
                        cpuset.format(self._dedicated_cpus() or ()))
        if current is None or current.facts.ready != facts.ready:
            if facts.ready:
                LOG.warning('nova-rt: this host is now ready for real-time '
                            'instances (isolated CPUs %s)',
                            cpuset.format(facts.isolated_cpus))
            else:
                LOG.warning('nova-rt: this host is not ready for real-time '
                            'instances: %s', '; '.join(
                                '%s: %s' % (f.check, f.observed)
                                for f in report.findings
                                if f.status == 'fail' and f.critical))
        return self._rt_host

    def get_available_resource(self, nodename):
        data = super().get_available_resource(nodename)
        stats = dict(data.get('stats') or {})
        stats.update(host_facts.to_stats(self.realtime_host().facts))
        data['stats'] = stats
        return data

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        super().update_provider_tree(provider_tree, nodename,
                                     allocations=allocations)
        # CUSTOM_ traits are dropped from the driver's static traits, so
        # they are set on the provider itself, and the stale ones removed.
        wanted = host_facts.to_traits(self.realtime_host().facts)
        stale = set(host_facts.TRAITS) - set(wanted)
        if wanted:
            provider_tree.add_traits(nodename, *sorted(wanted))
        if stale:
            provider_tree.remove_traits(nodename, *sorted(stale))

    # --- spawn ------------------------------------------------------------

    def _realtime_request(self, instance, image_meta):
        try:
            return realtime_request(instance.flavor, image_meta)
        except exception.InvalidRealtimeRequest as e:
            # Not this host's fault: no other host would do better.
            raise nova_exception.InvalidInput(
                reason='nova-rt: invalid real-time flavor: %s' % e)

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        request = self._realtime_request(instance, image_meta)
        if request is not None:
            facts = self.realtime_host().facts
            if CONF.nova_rt.lab_mode:
                facts = fitting.lab_facts(facts, self._dedicated_cpus() or ())
            found = fitting.facts_verdict(request, facts)
            if not found:
                # Before any disk or domain exists. Nova reschedules on this
                # error but keeps its reason only in logs, so the fault that
                # tells the user why is recorded here.
                refusal = nova_exception.ComputeResourcesUnavailable(
                    reason='nova-rt: %s: %s' % (found.reason, found.detail))
                compute_utils.add_instance_fault_from_exc(
                    context, instance, refusal,
                    fault_message=refusal.format_message())
                raise refusal
        return super().spawn(
            context, instance, image_meta, injected_files, admin_password,
            allocations, network_info=network_info,
            block_device_info=block_device_info, power_on=power_on,
            accel_info=accel_info)

    # --- the domain -------------------------------------------------------

    def _get_guest_config(self, instance, network_info, image_meta,
                          disk_info, *args, **kwargs):
        guest = super()._get_guest_config(instance, network_info, image_meta,
                                          disk_info, *args, **kwargs)
        request = self._realtime_request(instance, image_meta)
        if request is not None:
            try:
                designer.apply(guest, request, self.realtime_host().layout)
            except exception.RequestNotHonourable as e:
                raise nova_exception.ComputeResourcesUnavailable(
                    reason='nova-rt: %s' % e)
        return guest

    def _live_migration_operation(self, context, instance, dest,
                                  block_migration, migrate_data, guest,
                                  device_names):
        request = self._realtime_request(instance, instance.image_meta)
        if request is not None and 'dst_numa_info' in migrate_data:
            info = migrate_data.dst_numa_info
            pins = {int(vcpu): frozenset(cpus)
                    for vcpu, cpus in info.cpu_pins.items()}
            emulator = frozenset(info.emulator_pins)
            layout = self._destination_layout(context, dest) \
                if request.l3_cache_kib else None

            def rewrite(xml):
                return designer.rewrite_migration_xml(
                    xml, request, pins, emulator, layout)

            guest = _MigratingGuest(guest, rewrite)
        return super()._live_migration_operation(
            context, instance, dest, block_migration, migrate_data, guest,
            device_names)

    @staticmethod
    def _destination_layout(context, dest):
        """The destination's CAT layout, from the facts it published."""
        node = objects.ComputeNode.get_first_node_by_host_for_old_compat(
            context, dest)
        try:
            return cache_layout(host_facts.from_stats(node.stats))
        except host_facts.InvalidHostFacts as e:
            raise exception.RequestNotHonourable(
                reason='destination %s: %s' % (dest, e))
