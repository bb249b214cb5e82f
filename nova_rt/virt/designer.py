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
"""Policy: a real-time request applied to the domain config Nova built.

Small functions in the spirit of ``nova.virt.libvirt.designer``: each takes
the config object Nova has just built for this guest (never a shared one)
and the RealtimeRequest, and fills in what real-time needs on top of
upstream's ``hw:cpu_realtime`` handling. They never duplicate an element
Nova emits: the vCPU ``<vcpusched>`` Nova writes with its host-wide priority
is replaced by the flavor's.

Refusals raise RequestNotHonourable before anything reaches libvirt.
"""

from lxml import etree
from nova.virt.libvirt import config as vconfig

from nova_rt.core import cat
from nova_rt.core import cpuset
from nova_rt.core import exception
from nova_rt.core import guest_args
from nova_rt import releases
from nova_rt.virt import libvirt_config


def vcpu_pins(cputune):
    """vCPU -> the host CPUs Nova pinned it to."""
    return {pin.id: frozenset(pin.cpuset or ()) for pin in cputune.vcpupin}


def realtime_pcpus(request, pins):
    pcpus = set()
    for vcpu in request.realtime_vcpus:
        pcpus |= pins.get(vcpu, frozenset())
    return frozenset(pcpus)


def check_thread_placement(request, pins, emulator_cpus, iothread_cpus):
    """Emulator, I/O and housekeeping threads never on a real-time pCPU.

    Upstream derives the emulator pinning from the emulator thread policy
    and ``[compute] cpu_shared_set``; this checks the result rather than
    trusting the derivation.
    """
    missing = request.realtime_vcpus - frozenset(pins)
    if missing:
        raise exception.RequestNotHonourable(
            reason='real-time vCPU(s) %s are not pinned'
            % cpuset.format(missing))
    for vcpu in request.realtime_vcpus:
        if len(pins[vcpu]) != 1:
            raise exception.RequestNotHonourable(
                reason='real-time vCPU %d floats over host CPUs %s'
                % (vcpu, cpuset.format(pins[vcpu])))
    rt_cpus = realtime_pcpus(request, pins)
    if not emulator_cpus:
        raise exception.RequestNotHonourable(
            reason='no host CPU is left for the emulator threads')
    for what, cpus in [('emulator threads', emulator_cpus)] + [
            ('I/O thread %d' % iothread, cpus)
            for iothread, cpus in sorted(iothread_cpus.items())] + [
            ('housekeeping vCPU %d' % vcpu, pins.get(vcpu, frozenset()))
            for vcpu in sorted(request.housekeeping_vcpus)]:
        shared = frozenset(cpus) & rt_cpus
        if shared:
            raise exception.RequestNotHonourable(
                reason='%s would run on host CPU(s) %s of the real-time '
                       'vCPUs' % (what, cpuset.format(shared)))


def vcpu_sched(request):
    sched = vconfig.LibvirtConfigGuestCPUTuneVCPUSched()
    sched.vcpus = set(request.realtime_vcpus)
    sched.scheduler = request.vcpu_thread.scheduler
    sched.priority = request.vcpu_thread.priority
    return sched


def cache_tune(request, rt_cpus, layout):
    """One ``<cachetune>`` for the real-time vCPUs: the asked KiB, rounded
    up to whole ways, in every L3 domain their host CPUs use.
    """
    if not request.l3_cache_kib:
        return None
    if layout is None:
        raise exception.RequestNotHonourable(
            reason='rt:l3_cache_kib=%d but the host has no Cache Allocation '
                   'Technology (resctrl L3)' % request.l3_cache_kib)
    size = cat.reserved_kib(request.l3_cache_kib, layout.way_kib)
    unknown = frozenset(c for c in rt_cpus if c not in layout.cache_of_cpu)
    if unknown:
        raise exception.RequestNotHonourable(
            reason='host CPU(s) %s belong to no known L3 cache'
            % cpuset.format(unknown))
    caches = []
    for cache_id in sorted({layout.cache_of_cpu[cpu] for cpu in rt_cpus}):
        if size > layout.domain_kib:
            raise exception.RequestNotHonourable(
                reason='rt:l3_cache_kib=%d needs %d KiB of L3 cache %d, '
                       'which has %d KiB' % (request.l3_cache_kib, size,
                                             cache_id,
                                             layout.domain_kib))
        caches.append(libvirt_config.CacheTuneCache(cache_id, size))
    return libvirt_config.CacheTune(request.realtime_vcpus, caches)


def fill_thread_scheds(tune, request, iothreads):
    """Emulator and I/O threads get the flavor's emulator class.

    Nothing for SCHED_OTHER: it is what they run under anyway, and libvirt
    (9.0) refuses ``scheduler='other'`` on these elements.
    """
    emulator = request.emulator_thread
    if not emulator.realtime:
        tune.emulatorsched = None
        tune.iothreadsched = []
        return
    tune.emulatorsched = libvirt_config.EmulatorSched(emulator.scheduler,
                                                      emulator.priority)
    tune.iothreadsched = [libvirt_config.IOThreadSched(
        frozenset(iothreads), emulator.scheduler,
        emulator.priority)] if iothreads else []


def realtime_cputune(cputune, request, layout):
    """Nova's ``<cputune>`` with per-flavor classes, priorities and CAT."""
    pins = vcpu_pins(cputune)
    emulator_cpus = frozenset(cputune.emulatorpin.cpuset or ()) \
        if cputune.emulatorpin is not None else frozenset()
    iothreads = {pin.iothread: frozenset(pin.cpuset or ())
                 for pin in releases.iothread_pins(cputune)
                 if pin.iothread is not None}
    check_thread_placement(request, pins, emulator_cpus, iothreads)

    tune = libvirt_config.RealtimeCPUTune.from_nova(cputune)
    # Replace upstream's host-wide FIFO entry rather than adding a second
    # one for the same vCPUs.
    tune.vcpusched = [vcpu_sched(request)]
    fill_thread_scheds(tune, request, iothreads)
    cache = cache_tune(request, realtime_pcpus(request, pins), layout)
    tune.cachetune = [cache] if cache is not None else []
    return tune


# A real-time guest's memory is locked (<locked/>, QEMU's mem-lock=on), and
# under TCG QEMU then locks its translation cache as well: 1 GiB by default
# on a 64-bit host, VmLck 1.8 GiB for a 128 MiB guest here, and its start
# took 0.17-1.40 s against 0.08 s with 64 MiB (doc/source/performance.rst).
# TCG runs real-time flavors only in test clouds.
TCG_TB_CACHE_MIB = 64


def realtime_features(features, request, virt_type, cpu_mode):
    """PMU off unless asked for; ``hint-dedicated`` on KVM guests; a
    translation cache of ``TCG_TB_CACHE_MIB`` under TCG.
    """
    kept = [f for f in features if f.root_name not in ('pmu', 'kvm')]
    if virt_type == 'qemu' and not any(f.root_name == 'tcg' for f in kept):
        kept.append(libvirt_config.TcgFeature(TCG_TB_CACHE_MIB))
    # Keep Nova's hw:hide_hypervisor_id: <kvm> holds both children.
    hidden = any(
        isinstance(f, vconfig.LibvirtConfigGuestFeatureKvmHidden) or
        getattr(f, 'hidden', False) for f in features if f.root_name == 'kvm')
    kept.append(vconfig.LibvirtConfigGuestFeaturePMU(request.pmu))
    # hint-dedicated is a KVM paravirtual CPUID hint: meaningless (and
    # refused) without KVM, and only reaches the guest when libvirt passes
    # the KVM CPUID leaves, which it does for every mode but none.
    hint = virt_type == 'kvm' and cpu_mode is not None
    if hidden or hint:
        kept.append(libvirt_config.KvmFeature(hidden=hidden,
                                              hint_dedicated=hint))
    return kept


def realtime_memory(membacking):
    """Locked, unshared memory: upstream sets it for real-time; make sure."""
    if membacking is None:
        membacking = vconfig.LibvirtConfigGuestMemoryBacking()
    membacking.locked = True
    membacking.sharedpages = False
    return membacking


def realtime_sysinfo(sysinfo, request):
    """SMBIOS type 11 OEM strings carrying the guest arguments."""
    info = libvirt_config.SysinfoWithOEMStrings.from_nova(
        sysinfo if sysinfo is not None
        else vconfig.LibvirtConfigGuestSysinfo())
    info.oem_strings = list(guest_args.oem_strings(request))
    return info


def realtime_cmdline(cmdline, request):
    """Direct kernel boot: the derived arguments after the image's own."""
    args = guest_args.cmdline(request)
    if not args:
        return cmdline
    return '%s %s' % (cmdline, args) if cmdline else args


def apply(guest, request, layout=None):
    """Make ``guest`` (a LibvirtConfigGuest Nova just built) real-time.

    :raises: RequestNotHonourable when the pinning Nova chose, or this
        host, cannot give the request what it asks
    """
    if guest.cputune is None:
        raise exception.RequestNotHonourable(
            reason='the guest has no CPU pinning (no NUMA topology)')
    guest.cputune = realtime_cputune(guest.cputune, request, layout)
    guest.features = realtime_features(
        guest.features, request, guest.virt_type,
        guest.cpu.mode if guest.cpu is not None else None)
    guest.membacking = realtime_memory(guest.membacking)
    if guest_args.oem_strings(request):
        guest.sysinfo = realtime_sysinfo(guest.sysinfo, request)
        if guest.os_smbios is None:
            guest.os_smbios = vconfig.LibvirtConfigGuestSMBIOS()
    if guest.os_kernel:
        guest.os_cmdline = realtime_cmdline(guest.os_cmdline, request)


def rewrite_migration_xml(xml, request, dst_pins, dst_emulator_cpus,
                          layout=None):
    """The destination domain XML of a live migration, re-derived.

    Nova rewrites the pins and one ``fifo`` ``<vcpusched>`` for the
    destination and copies the rest from the source; this re-derives every
    real-time element of ``<cputune>`` for the destination's host CPUs, so
    the flavor's scheduling classes and the CAT allocation hold there
    whatever the source XML carried.

    :param dst_pins: vCPU -> host CPUs on the destination
    :param dst_emulator_cpus: the destination's emulator/I/O thread CPUs
    """
    doc = etree.fromstring(xml)
    cputune = doc.find('cputune')
    if cputune is None:
        raise exception.RequestNotHonourable(
            reason='the migrating domain has no <cputune>')
    iothreads = {int(e.get('iothread')): dst_emulator_cpus
                 for e in cputune.findall('iothreadpin')}
    check_thread_placement(request, dst_pins, dst_emulator_cpus, iothreads)
    for old in list(cputune):
        if old.tag in ('vcpusched', 'iothreadsched', 'emulatorsched',
                       'cachetune'):
            cputune.remove(old)
    tune = libvirt_config.RealtimeCPUTune()
    tune.vcpusched = [vcpu_sched(request)]
    fill_thread_scheds(tune, request, iothreads)
    cache = cache_tune(request, realtime_pcpus(request, dst_pins), layout)
    tune.cachetune = [cache] if cache is not None else []
    # Only the real-time children: pins and the rest stay as Nova wrote.
    for element in tune.format_dom():
        cputune.append(element)
    return etree.tostring(doc, encoding='unicode')
