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
"""The libvirt domain elements Nova's config classes lack.

Nova (34) has no ``<emulatorsched>``, ``<iothreadsched>``, ``<cachetune>``,
SMBIOS ``<oemStrings>``, ``<kvm><hint-dedicated>`` or
``<tcg><tb-cache>``. Each class here renders
and parses one of them in Nova's ``LibvirtConfigObject`` style, so the driver
can hang them on the config objects Nova builds.
"""

from lxml import etree
from nova.virt.libvirt import config as vconfig

from nova_rt.core import cpuset


class _ThreadSched(vconfig.LibvirtConfigObject):
    """A ``scheduler=``/``priority=`` pair on some element."""

    def __init__(self, root_name, scheduler=None, priority=None, **kwargs):
        super().__init__(root_name=root_name, **kwargs)
        self.scheduler = scheduler
        self.priority = priority

    def _format_sched(self, root):
        root.set('scheduler', self.scheduler)
        if self.priority is not None:
            root.set('priority', str(self.priority))
        return root

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        self.scheduler = xmldoc.get('scheduler')
        priority = xmldoc.get('priority')
        self.priority = int(priority) if priority is not None else None


class EmulatorSched(_ThreadSched):
    """``<emulatorsched scheduler= priority=/>``: the emulator threads."""

    def __init__(self, scheduler=None, priority=None, **kwargs):
        super().__init__('emulatorsched', scheduler, priority, **kwargs)

    def format_dom(self):
        return self._format_sched(super().format_dom())


class IOThreadSched(_ThreadSched):
    """``<iothreadsched iothreads= scheduler= priority=/>``."""

    def __init__(self, iothreads=frozenset(), scheduler=None, priority=None,
                 **kwargs):
        super().__init__('iothreadsched', scheduler, priority, **kwargs)
        self.iothreads = frozenset(iothreads)

    def format_dom(self):
        root = super().format_dom()
        root.set('iothreads', cpuset.format(self.iothreads))
        return self._format_sched(root)

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        self.iothreads = cpuset.parse(xmldoc.get('iothreads', ''),
                                      what='iothreadsched iothreads')


class CacheTuneCache(vconfig.LibvirtConfigObject):
    """``<cache id= level='3' type='both' size= unit='KiB'/>``."""

    def __init__(self, cache_id=None, size_kib=None, level=3, type='both',
                 **kwargs):
        super().__init__(root_name='cache', **kwargs)
        self.id = cache_id
        self.level = level
        self.type = type
        self.size_kib = size_kib

    def format_dom(self):
        root = super().format_dom()
        root.set('id', str(self.id))
        root.set('level', str(self.level))
        root.set('type', self.type)
        root.set('size', str(self.size_kib))
        root.set('unit', 'KiB')
        return root

    _UNITS = {'B': 1.0 / 1024, 'KiB': 1, 'MiB': 1024, 'GiB': 1024 ** 2}

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        self.id = int(xmldoc.get('id'))
        self.level = int(xmldoc.get('level'))
        self.type = xmldoc.get('type')
        unit = xmldoc.get('unit', 'B')
        self.size_kib = int(int(xmldoc.get('size')) * self._UNITS[unit])


class CacheTune(vconfig.LibvirtConfigObject):
    """``<cachetune vcpus=>``: a CAT allocation for some vCPUs."""

    def __init__(self, vcpus=frozenset(), caches=(), **kwargs):
        super().__init__(root_name='cachetune', **kwargs)
        self.vcpus = frozenset(vcpus)
        self.caches = list(caches)

    def format_dom(self):
        root = super().format_dom()
        root.set('vcpus', cpuset.format(self.vcpus))
        for cache in self.caches:
            root.append(cache.format_dom())
        return root

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        self.vcpus = cpuset.parse(xmldoc.get('vcpus', ''),
                                  what='cachetune vcpus')
        self.caches = []
        for child in xmldoc.findall('cache'):
            cache = CacheTuneCache()
            cache.parse_dom(child)
            self.caches.append(cache)


class RealtimeCPUTune(vconfig.LibvirtConfigGuestCPUTune):
    """Nova's ``<cputune>`` plus the real-time elements Nova cannot render.

    libvirt's schema orders them: pins, then vcpusched, iothreadsched,
    emulatorsched, then cachetune.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.iothreadsched = []
        self.emulatorsched = None
        self.cachetune = []

    @classmethod
    def from_nova(cls, cputune):
        """Adopt every setting of the ``cputune`` Nova built."""
        tune = cls()
        tune.__dict__.update(
            {k: v for k, v in vars(cputune).items()
             if k not in ('iothreadsched', 'emulatorsched', 'cachetune')})
        return tune

    def format_dom(self):
        root = super().format_dom()
        for sched in self.iothreadsched:
            root.append(sched.format_dom())
        if self.emulatorsched is not None:
            root.append(self.emulatorsched.format_dom())
        for tune in self.cachetune:
            root.append(tune.format_dom())
        return root


class SysinfoWithOEMStrings(vconfig.LibvirtConfigGuestSysinfo):
    """Nova's SMBIOS ``<sysinfo>`` plus type 11 ``<oemStrings>``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.oem_strings = []

    @classmethod
    def from_nova(cls, sysinfo):
        info = cls()
        info.__dict__.update(
            {k: v for k, v in vars(sysinfo).items() if k != 'oem_strings'})
        return info

    def format_dom(self):
        root = super().format_dom()
        if self.oem_strings:
            strings = etree.SubElement(root, 'oemStrings')
            for text in self.oem_strings:
                entry = etree.SubElement(strings, 'entry')
                entry.text = text
        return root

    # <bios>/<system> entry names -> attributes of Nova's class
    _ENTRIES = {('bios', 'vendor'): 'bios_vendor',
                ('bios', 'version'): 'bios_version',
                ('system', 'manufacturer'): 'system_manufacturer',
                ('system', 'product'): 'system_product',
                ('system', 'version'): 'system_version',
                ('system', 'serial'): 'system_serial',
                ('system', 'uuid'): 'system_uuid',
                ('system', 'family'): 'system_family'}

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        self.type = xmldoc.get('type')
        for (section, name), attr in self._ENTRIES.items():
            entry = xmldoc.find("%s/entry[@name='%s']" % (section, name))
            setattr(self, attr, entry.text if entry is not None else None)
        self.oem_strings = parse_oem_strings(xmldoc)


def parse_oem_strings(sysinfo_element):
    """The OEM strings of a parsed ``<sysinfo>`` element, in order."""
    return [entry.text or '' for entry in
            sysinfo_element.findall('oemStrings/entry')]


class KvmFeature(vconfig.LibvirtConfigGuestFeature):
    """``<kvm>`` with ``<hidden>`` (Nova's) and ``<hint-dedicated>``.

    hint-dedicated tells the guest its vCPUs never share a host CPU, so it
    may skip paravirtual spinlocks and poll instead of halting.
    """

    def __init__(self, hidden=False, hint_dedicated=False, **kwargs):
        super().__init__('kvm', **kwargs)
        self.hidden = hidden
        self.hint_dedicated = hint_dedicated

    def format_dom(self):
        root = super().format_dom()
        if self.hidden:
            etree.SubElement(root, 'hidden', state='on')
        if self.hint_dedicated:
            etree.SubElement(root, 'hint-dedicated', state='on')
        return root

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        self.hidden = xmldoc.find("hidden[@state='on']") is not None
        self.hint_dedicated = (
            xmldoc.find("hint-dedicated[@state='on']") is not None)


class TcgFeature(vconfig.LibvirtConfigGuestFeature):
    """``<tcg><tb-cache unit='MiB'>`` (libvirt 8.0): QEMU's translation
    cache under TCG, in MiB.
    """

    def __init__(self, tb_cache_mib=None, **kwargs):
        super().__init__('tcg', **kwargs)
        self.tb_cache_mib = tb_cache_mib

    def format_dom(self):
        root = super().format_dom()
        if self.tb_cache_mib is not None:
            etree.SubElement(root, 'tb-cache', unit='MiB').text = str(
                self.tb_cache_mib)
        return root

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        cache = xmldoc.find('tb-cache')
        self.tb_cache_mib = None
        if cache is not None:
            # libvirt writes the size back in KiB, its default unit.
            unit = cache.get('unit', 'KiB')
            if unit not in _BYTES:
                raise ValueError('tb-cache unit %r' % unit)
            self.tb_cache_mib = int(cache.text) * _BYTES[unit] // 2 ** 20


# libvirt's memory units (scaledInteger), in bytes.
_BYTES = {'b': 1, 'bytes': 1, 'KB': 10 ** 3, 'k': 2 ** 10, 'K': 2 ** 10,
          'KiB': 2 ** 10, 'MB': 10 ** 6, 'M': 2 ** 20, 'MiB': 2 ** 20,
          'GB': 10 ** 9, 'G': 2 ** 30, 'GiB': 2 ** 30}
