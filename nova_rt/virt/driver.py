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

Supported on nova 29 (2024.1) to 34 (2026.2), ``nova_rt.releases``. Nova's
private driver methods change between releases, so every one this class
overrides is here and nowhere else (their signatures in each release are
in ``nova_rt.releases``):

* ``_get_guest_config``: every path that writes a domain (spawn, hard
  reboot, stop/start, resize, cold migration, evacuate, rebuild, unshelve,
  rescue) builds its XML through it;
* ``_live_migration_operation``: the destination XML of a live migration is
  rewritten from the source's, not rebuilt, so the real-time elements are
  re-derived there.

The public methods add the host facts (``get_available_resource``,
``update_provider_tree``; the former also writes ``[nova_rt]
metrics_file``), refuse a real-time spawn, or an incoming live migration,
this host cannot honour before anything is created (``spawn``,
``check_can_live_migrate_destination``), and refuse to live-migrate a
real-time instance from a host whose ``[libvirt]`` settings permit
auto-converge or post-copy (``check_can_live_migrate_source``, the source's
pre-check: its settings decide the migration, and nothing has moved yet;
the rule is ``nova_rt.core.migration``), and refuse one whose destination
did not claim its CPUs for it: in the source's pre-check when the
destination offers no NUMA-aware live migration, and in ``live_migration``,
rolled back before libvirt starts, when its pins did not arrive (never the
source's XML with Nova's host-wide priority). After the host boots
(``resume_state_on_host_boot``), a real-time guest is started again only if
the host's fresh audit can still honour it; otherwise it stays off, Nova
sets it to ERROR and its fault says why (doc/source/driver.rst). What goes
into the domain is decided by ``nova_rt.virt.designer``; what the host is, by
``nova_rt.host``.
"""

from nova.compute import power_state
from nova.compute import utils as compute_utils
from nova import exception as nova_exception
from nova import objects
from nova.virt.libvirt import driver as libvirt_driver
from oslo_log import log as logging

from nova_rt import conf as nova_rt_conf
from nova_rt.core import cat
from nova_rt.core import exception
from nova_rt.core import fitting
from nova_rt.core import migration as rt_migration
from nova_rt.core import request as rt_request
from nova_rt.host import facts as host_facts
from nova_rt.host import service as host_service
from nova_rt import releases
from nova_rt.virt import designer


LOG = logging.getLogger(__name__)

try:
    RELEASE = releases.require_supported_nova()
except releases.UnsupportedNova as e:
    # Outside the releases nova-rt is tested with, its overrides of Nova's
    # private methods may not hold. Nova loads compute_driver by import:
    # an ImportError is its "Unable to load the virtualization driver",
    # and nova-compute exits before any guest is touched.
    raise ImportError('nova-rt: %s' % e) from None


def realtime_request(flavor, image_meta):
    """The RealtimeRequest of an instance's flavor and image, or None."""
    props = None
    if image_meta is not None and 'properties' in image_meta:
        props = image_meta.properties
    return rt_request.remembered_request(
        flavor.vcpus, flavor.extra_specs or {},
        rt_request.image_properties(props),
        rt_request.RequestPolicy.from_conf(nova_rt_conf.nova_conf()))


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
        try:
            return self._guest.migrate(destination, *args,
                                       destination_xml=destination_xml,
                                       **kwargs)
        except libvirt_driver.libvirt.libvirtError as e:
            # An aborted job (``server migration abort``, the abort timeout
            # action) is the migration monitor's to roll back, as
            # "cancelled": raised here as well, Nova 34's _live_migration
            # rolls back a second time and sets the server to ERROR although
            # it never left the source (seen in the integration tier).
            if (e.get_error_code() !=
                    libvirt_driver.libvirt.VIR_ERR_OPERATION_ABORTED):
                raise
            LOG.info('nova-rt: live migration to %s aborted; the guest '
                     'stays on the source', destination)
            return None


class RealtimeLibvirtDriver(libvirt_driver.LibvirtDriver):

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi, read_only)
        self._rt_audit = host_service.HostAuditService(
            nova_rt_conf.nova_conf(), domains=self._realtime_domain_xmls)
        if releases.mend_live_migration_without_iothread():
            # Every pinned guest started before the upgrade to 2026.1
            # would fail its next live migration (and go to ERROR).
            LOG.warning('nova-rt: this Nova (%s) fails the live migration '
                        'of a pinned guest started before 2026.1 (it has '
                        'no IOThread; fixed in Nova 34): nova-rt mends it '
                        'on this compute', releases.installed_nova())

    def _realtime_domain_xmls(self):
        """The XML of every domain libvirt has defined on this host, for
        the PCPUs of the metrics (``nova_rt.host.pinning``).
        """
        return [guest.get_xml_desc()
                for guest in self._host.list_guests(only_running=False)]

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
        # The resource tracker's periodic update: the metrics follow the
        # instances (pins) at its pace, the audit at its own interval.
        self._rt_audit.export_metrics()
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

    def _host_verdict(self, request):
        """What this host's own fresh facts say of a real-time request."""
        facts = self.realtime_host().facts
        conf = nova_rt_conf.nova_conf()
        if conf.nova_rt.lab_mode:
            dedicated, _ = nova_rt_conf.compute_cpu_sets(conf)
            facts = fitting.lab_facts(facts, dedicated or ())
        return fitting.facts_verdict(request, facts)

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        request = self._realtime_request(instance, image_meta)
        if request is not None:
            found = self._host_verdict(request)
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

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  *args, **kwargs):
        # *args: 2025.1 added share_info before block_device_info.
        # [DEFAULT] resume_guests_state_on_host_boot: the host rebooted and
        # its evidence may have changed (a kernel without isolation, say).
        # A real-time guest is not started without its real-time host: it
        # stays off, Nova sets it to ERROR on our error, and the fault tells
        # the user and the operator why. A guest still running is left be.
        request = self._realtime_request(instance, instance.image_meta)
        if request is not None and not self._guest_running(instance):
            found = self._host_verdict(request)
            if not found:
                refusal = nova_exception.ComputeResourcesUnavailable(
                    reason='nova-rt: %s: %s: the real-time guest is not '
                           'started again on %s after its boot' % (
                               found.reason, found.detail,
                               self._host.get_hostname()))
                compute_utils.add_instance_fault_from_exc(
                    context, instance, refusal,
                    fault_message=refusal.format_message())
                LOG.error('%s', refusal.format_message(), instance=instance)
                raise refusal
        return super().resume_state_on_host_boot(
            context, instance, network_info, *args, **kwargs)

    def _guest_running(self, instance):
        try:
            guest = self._host.get_guest(instance)
            return guest.get_power_state(self._host) == power_state.RUNNING
        except (nova_exception.InternalError,
                nova_exception.InstanceNotFound):
            return False

    def check_can_live_migrate_destination(self, context, instance,
                                           src_compute_info, dst_compute_info,
                                           block_migration=False,
                                           disk_over_commit=False):
        # On the destination, before anything moves: a forced migration
        # skips the scheduler, and a host may have changed since it was
        # chosen. The refusal reaches the caller with nova-rt's reason and
        # the server stays where it is.
        request = self._realtime_request(instance, instance.image_meta)
        if request is not None:
            found = self._host_verdict(request)
            if not found:
                raise nova_exception.MigrationPreCheckError(
                    reason='nova-rt: %s: %s on %s' % (
                        found.reason, found.detail, self._host.get_hostname()))
        return super().check_can_live_migrate_destination(
            context, instance, src_compute_info, dst_compute_info,
            block_migration=block_migration,
            disk_over_commit=disk_over_commit)

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

    # --- live migration ---------------------------------------------------

    def check_can_live_migrate_source(self, context, instance,
                                      dest_check_data,
                                      block_device_info=None):
        if self._realtime_request(instance, instance.image_meta) is not None:
            reason = rt_migration.refusal(nova_rt_conf.migration_settings(
                nova_rt_conf.nova_conf())) or rt_migration.destination_refusal(
                    'dst_supports_numa_live_migration' in dest_check_data and
                    dest_check_data.dst_supports_numa_live_migration)
            if reason:
                # A pre-check error: nothing has moved, the conductor gives
                # up and the instance stays ACTIVE where it is.
                raise nova_exception.MigrationPreCheckError(
                    reason='nova-rt: %s does not live-migrate real-time '
                           'instances: %s' % (instance.host, reason))
        return super().check_can_live_migrate_source(
            context, instance, dest_check_data,
            block_device_info=block_device_info)

    def live_migration(self, context, instance, dest, post_method,
                       recover_method, block_migration=False,
                       migrate_data=None):
        if self._realtime_request(instance, instance.image_meta) is not None:
            reason = rt_migration.destination_refusal(
                'dst_numa_info' in migrate_data and
                migrate_data.dst_numa_info is not None, dest)
            if reason:
                # Fail closed before libvirt starts, as a failed libvirt
                # job would: Nova rolls the migration back, the guest runs
                # on here, ACTIVE, and the fault says why.
                error = nova_exception.MigrationError(
                    reason='nova-rt: %s does not live-migrate real-time '
                           'instance %s: %s' % (instance.host,
                                                instance.uuid, reason))
                LOG.error('%s', error, instance=instance)
                compute_utils.add_instance_fault_from_exc(context, instance,
                                                          error)
                recover_method(context, instance, dest, migrate_data)
                return
        return super().live_migration(
            context, instance, dest, post_method, recover_method,
            block_migration=block_migration, migrate_data=migrate_data)

    def _live_migration_operation(self, context, instance, dest,
                                  block_migration, migrate_data, guest,
                                  device_names):
        request = self._realtime_request(instance, instance.image_meta)
        if request is not None:
            # live_migration refused a real-time instance without them.
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
            return cat.cache_layout(host_facts.from_stats(node.stats))
        except host_facts.InvalidHostFacts as e:
            raise exception.RequestNotHonourable(
                reason='destination %s: %s' % (dest, e))
