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
"""The Nova releases nova-rt supports, and every difference between them.

nova-rt runs on 2024.1 (nova 29) through 2026.2 (nova 34) from one code
base. What differs between those releases and touches nova-rt is here and
nowhere else: the table of releases, the signatures of the private
``LibvirtDriver`` methods ``nova_rt.virt.driver`` overrides as each release
has them, and probes of the installed Nova. A probe asks Nova whether it
has a thing, not which version it is, so a backport or a distribution's
patch is seen for what it is. Nova is imported inside functions only: the
``nova-rt`` command line reads the table without Nova's services.

tools/releases/ holds each release's upper-constraints, with which
``tools/run-tests.sh --release`` tests it (doc/source/releases.rst).
"""

import collections
import importlib.metadata

from packaging import version as pkg_version

Release = collections.namedtuple('Release', 'name nova placement')

# Oldest first. The SLURP releases (one upgrade may skip the release after
# each) are 2024.1, 2025.1 and 2026.1.
RELEASES = (
    Release('2024.1', 29, 11),
    Release('2024.2', 30, 12),
    Release('2025.1', 31, 13),
    Release('2025.2', 32, 14),
    Release('2026.1', 33, 15),
    Release('2026.2', 34, 16),
)
SLURP = ('2024.1', '2025.1', '2026.1')
OLDEST, NEWEST = RELEASES[0], RELEASES[-1]
# The requirement setup.cfg's requirements.txt must state (a unit test
# keeps them equal).
NOVA_REQUIREMENT = 'nova>=%d.0.0,<%d' % (OLDEST.nova, NEWEST.nova + 1)


def supported_range():
    """How the docs and the refusals name what nova-rt supports."""
    return 'nova %d (%s) to %d (%s)' % (OLDEST.nova, OLDEST.name,
                                       NEWEST.nova, NEWEST.name)


def release_of(nova_version):
    """The supported Release a nova version string belongs to, or None."""
    major = pkg_version.Version(nova_version).major
    for release in RELEASES:
        if release.nova == major:
            return release
    return None


def installed_nova():
    """The installed nova's version string, or None."""
    try:
        return importlib.metadata.version('nova')
    except importlib.metadata.PackageNotFoundError:
        return None


class UnsupportedNova(Exception):
    def __init__(self, found):
        self.found = found
        super().__init__(
            'nova-rt supports %s; this environment has %s' % (
                supported_range(),
                'nova %s' % found if found else 'no nova installed'))


def require_supported_nova():
    """The installed nova's Release; UnsupportedNova outside the range."""
    found = installed_nova()
    release = release_of(found) if found else None
    if release is None:
        raise UnsupportedNova(found)
    return release


# Every LibvirtDriver method nova_rt.virt.driver.RealtimeLibvirtDriver
# overrides, with each signature a supported release has (read from each
# release's installed nova). The overrides take and pass on what every one
# of them takes; ``nova-rt status upgrade check`` compares the installed
# nova with this table, and a unit test keeps its keys equal to what the
# driver overrides.
_GUEST_CONFIG_29 = ('(self, instance, network_info, image_meta, disk_info, '
                    'rescue=None, block_device_info=None, context=None, '
                    'mdevs=None, accel_info=None')
DRIVER_SIGNATURES = {
    '__init__': {'(self, virtapi, read_only=False)': '2024.1-2026.2'},
    'get_available_resource': {'(self, nodename)': '2024.1-2026.2'},
    'update_provider_tree': {
        '(self, provider_tree, nodename, allocations=None)':
            '2024.1-2026.2'},
    'spawn': {
        '(self, context, instance, image_meta, injected_files, '
        'admin_password, allocations, network_info=None, '
        'block_device_info=None, power_on=True, accel_info=None)':
            '2024.1-2026.2'},
    '_get_guest_config': {
        _GUEST_CONFIG_29 + ')': '2024.1-2024.2',
        _GUEST_CONFIG_29 + ', share_info=None)': '2025.1-2025.2',
        _GUEST_CONFIG_29 + ', share_info=None, old_guest=None)':
            '2026.1-2026.2'},
    'live_migration': {
        '(self, context, instance, dest, post_method, recover_method, '
        'block_migration=False, migrate_data=None)': '2024.1-2026.2'},
    '_live_migration_operation': {
        '(self, context, instance, dest, block_migration, migrate_data, '
        'guest, device_names)': '2024.1-2026.2'},
    'check_can_live_migrate_destination': {
        '(self, context, instance, src_compute_info, dst_compute_info, '
        'block_migration=False, disk_over_commit=False)': '2024.1-2026.2'},
    'check_can_live_migrate_source': {
        '(self, context, instance, dest_check_data, '
        'block_device_info=None)': '2024.1-2026.2'},
    'resume_state_on_host_boot': {
        '(self, context, instance, network_info, block_device_info=None)':
            '2024.1-2024.2',
        '(self, context, instance, network_info, share_info, '
        'block_device_info=None)': '2025.1-2026.2'},
}


# --- probes of the installed Nova ------------------------------------------

def nova_pins_iothreads():
    """Whether this Nova gives an instance an IOThread, pinned with the
    emulator threads (Nova 33, 2026.1, and later).
    """
    from nova.virt.libvirt import config as vconfig
    return hasattr(vconfig, 'LibvirtConfigGuestCPUTuneIOThreadPin')


def iothread_pins(cputune):
    """The ``<iothreadpin>`` configs of Nova's ``<cputune>``.

    Nova 33 (2026.1) gives every instance an IOThread and pins it with the
    emulator threads; before it, Nova's config object has no
    ``iothreadpin`` and a guest has no IOThread to schedule.
    """
    return list(getattr(cputune, 'iothreadpin', None) or ())


def monkey_patch_eventlet():
    """Nova's eventlet monkey patching, before anything imports Nova.

    Nova 32 (2025.2) made it an explicit ``nova.monkey_patch.patch()``;
    before it, importing ``nova.monkey_patch`` patched.
    """
    from nova import monkey_patch
    patch = getattr(monkey_patch, 'patch', None)
    if patch is not None:
        patch()


# A domain that is everything Nova's NUMA rewrite of a live migration's
# destination XML reads, but an <iothreadpin>: a guest started before Nova
# 33 (2026.1) gave every guest an IOThread.
_IOTHREADLESS_DOMAIN = (
    '<domain><cputune><vcpupin vcpu="0" cpuset="1"/>'
    '<emulatorpin cpuset="0"/></cputune>'
    '<numatune><memory nodeset="0"/><memnode cellid="0" nodeset="0"/>'
    '</numatune></domain>')


def live_migration_fails_without_iothread():
    """Whether this Nova's live migration fails on a pinned guest that has
    no IOThread.

    Nova 33 (2026.1) re-pins the ``<iothreadpin>`` of the destination XML
    of a pinned guest's live migration assuming there is one; a guest
    started before the upgrade to 2026.1 has none until its next hard
    reboot, and its migration fails (AttributeError in
    ``nova.virt.libvirt.migration._update_numa_xml``; the server goes to
    ERROR). Nova 34 checks for the element. Asked of Nova's own function,
    with such a domain.
    """
    from lxml import etree
    from nova import objects
    from nova.virt.libvirt import migration
    objects.register_all()
    data = objects.LibvirtLiveMigrateData(
        dst_numa_info=objects.LibvirtLiveMigrateNUMAInfo(
            cpu_pins={'0': {1}}, cell_pins={'0': {0}}, emulator_pins={0}))
    try:
        migration._update_numa_xml(etree.fromstring(_IOTHREADLESS_DOMAIN),
                                   data)
    except AttributeError:
        return True
    return False


def mend_live_migration_without_iothread():
    """Make this Nova's live migration of a pinned guest without an
    IOThread work, where it fails (``live_migration_fails_without_iothread``):
    Nova's NUMA rewrite runs with a stand-in ``<iothreadpin>`` it may
    re-pin, removed again before the XML goes anywhere, which is what
    Nova 34 does (it skips the missing element). Once per process;
    returns whether this Nova needed it.
    """
    from nova.virt.libvirt import migration
    if getattr(migration._update_numa_xml, 'nova_rt_mended', False):
        return True
    if not live_migration_fails_without_iothread():
        return False
    original = migration._update_numa_xml

    def _update_numa_xml(xml_doc, migrate_data):
        cputune = xml_doc.find('./cputune')
        if cputune is None or cputune.find('./iothreadpin') is not None:
            return original(xml_doc, migrate_data)
        stand_in = cputune.makeelement('iothreadpin', {})
        cputune.append(stand_in)
        try:
            return original(xml_doc, migrate_data)
        finally:
            cputune.remove(stand_in)

    _update_numa_xml.nova_rt_mended = True
    migration._update_numa_xml = _update_numa_xml
    return True
