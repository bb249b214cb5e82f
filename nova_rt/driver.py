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

import functools

from nova.compute import utils as compute_utils
from nova import exception as nova_exception
from nova import objects
from nova.virt.libvirt import driver as libvirt_driver

from nova_rt import conf as nova_rt_conf
from nova_rt import designer
from nova_rt import exception
from nova_rt import fitting
from nova_rt.host import facts as host_facts
from nova_rt.host import service as host_service
from nova_rt import request as rt_request


def _image_properties(props):
    """The allow-listed image properties that are set.

    Nova's ImageMetaProps keeps a set field as ``_obj_<name>``
    (oslo.versionedobjects); reading it there skips ``get``, whose
    ``obj_attr_is_set`` rebuilds the list of ~200 fields for each of the
    names, on every guest config. Anything else goes through the core.
    """
    if props is None or not hasattr(props, 'obj_attr_is_set'):
        return rt_request.image_properties(props)
    found = {}
    for name in rt_request.IMAGE_PROPERTIES:
        value = getattr(props, '_obj_' + name, None)
        if value is not None:
            found[name] = value
    return found


def realtime_request(flavor, image_meta):
    """The RealtimeRequest of an instance's flavor and image, or None."""
    props = None
    if image_meta is not None and 'properties' in image_meta:
        props = image_meta.properties
    extra_specs = dict(flavor.extra_specs or {})
    image_properties = _image_properties(props)
    policy = rt_request.RequestPolicy.from_conf(nova_rt_conf.nova_conf())
    try:
        key = (flavor.vcpus, frozenset(extra_specs.items()),
               frozenset(image_properties.items()), policy)
        hash(key)
    except TypeError:
        key = None
    if key is None:
        return rt_request.build_request(flavor.vcpus, extra_specs,
                                        image_properties, policy)
    return _cached_request(*key)


@functools.lru_cache(maxsize=256)
def _cached_request(vcpus, extra_specs, image_properties, policy):
    """build_request of hashable inputs: the driver asks again for every
    guest config (spawn, reboot, migration) of the same few flavors. An
    invalid flavor raises every time (exceptions are not cached).
    """
    return rt_request.build_request(vcpus, dict(extra_specs),
                                    dict(image_properties), policy)


class _MigratingGuest:
    """The source guest of a live migration, with the destination XML
    re-derived for real-time just before it is handed to libvirt.
    """

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
        self._rt_audit = host_service.HostAuditService(
            nova_rt_conf.nova_conf())

    # --- host facts -------------------------------------------------------

    def realtime_host(self, refresh=False):
        """The host's audited real-time state, cached for
        ``[nova_rt] facts_refresh_interval`` seconds.
        """
        return self._rt_audit.current(refresh)

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
            conf = nova_rt_conf.nova_conf()
            if conf.nova_rt.lab_mode:
                dedicated, _ = nova_rt_conf.compute_cpu_sets(conf)
                facts = fitting.lab_facts(facts, dedicated or ())
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
            return designer.cache_layout(host_facts.from_stats(node.stats))
        except host_facts.InvalidHostFacts as e:
            raise exception.RequestNotHonourable(
                reason='destination %s: %s' % (dest, e))
