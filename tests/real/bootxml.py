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
"""Variants of a scenario's domain XML for each step of the tier.

Only what the sandbox cannot run changes; ``cputune`` (pins and scheduling
classes) and ``sysinfo`` are what is under test and are never touched.
Every function takes a parsed domain and returns a new one.
"""

import copy
import re
import xml.etree.ElementTree as ET

# Names of the domains the tier defines start with this, so a rerun can
# clean up what an interrupted run left behind.
PREFIX = 'nrt-'

# Kernel arguments the test guest always gets: its console on the first
# serial port (last console= wins /dev/console), quiet so markers are not
# interleaved with kernel messages, and a panic ends the domain.
GUEST_CONSOLE_ARGS = 'console=ttyS0 quiet panic=-1'

# Devices the boot variant keeps; every other device is dropped (disks,
# interfaces, graphics, consoles, input: they point at host resources that
# do not exist here or are not needed).
_KEEP_DEVICES = ('controller', 'memballoon', 'rng', 'emulator')


def domain_name(scenario_name, suffix=''):
    clean = re.sub(r'[^A-Za-z0-9_.-]', '_', scenario_name)
    return PREFIX + clean + suffix


def for_define(root, name):
    """The XML exactly as generated, renamed so scenarios do not collide.

    Nova names every first instance ``instance-00000001``; the UUID stays
    (``sysinfo`` repeats it and libvirt checks they agree).
    """
    out = copy.deepcopy(root)
    _set_text(out, 'name', name)
    return out


def for_argv(root, name):
    """What ``domxml-to-native`` can translate on a host without hugetlbfs.

    libvirt refuses to build a command line for ``hugepages`` when no
    hugetlbfs of that page size is mounted; the tier does not check huge
    pages in the argv, so they go. Returns ``(root, changes)``.
    """
    out = for_define(root, name)
    changes = []
    backing = out.find('memoryBacking')
    if backing is not None:
        for hp in backing.findall('hugepages'):
            backing.remove(hp)
            changes.append('memoryBacking/hugepages removed (no hugetlbfs)')
    return out, changes


def for_boot(root, name, expect, kernel, initrd, console_log):
    """A variant that boots under TCG with the test guest.

    Changes (each returned in ``changes``): ``type='qemu'``; the CPU becomes
    ``qemu64`` (topology and NUMA cells kept; ``pmu`` and ``hint-dedicated``
    stay: QEMU 7.2 under TCG only warns that it cannot offer the KVM hint);
    ``<locked/>``, huge
    pages and ``cachetune`` go (no CAP_SYS_RESOURCE, hugetlbfs or resctrl
    here); disks and other devices are replaced by direct kernel boot of
    the test guest and a serial port logged to ``console_log``. For a
    direct-kernel-boot scenario the generated ``<cmdline>`` is kept and the
    console arguments appended; a disk-image scenario gets only the console
    arguments, so the derived arguments reach the guest only through the
    OEM strings.
    """
    out = for_define(root, name)
    out.set('type', 'qemu')
    changes = ["domain type='qemu' (TCG)"]
    changes += _tcg_cpu(out)
    changes += _drop_host_memory(out)
    changes += _drop_cachetune(out)
    changes += _boot_test_guest(out, expect, kernel, initrd)
    changes += _serial_console_only(out, console_log)
    for tag, value in (('on_poweroff', 'destroy'), ('on_reboot', 'destroy'),
                       ('on_crash', 'destroy')):
        _set_text(out, tag, value)
    return out, changes


def _tcg_cpu(out):
    """A qemu64 CPU with the generated topology and NUMA cells."""
    cpu = out.find('cpu')
    if cpu is None:
        cpu = ET.SubElement(out, 'cpu')
    keep = [c for c in cpu if c.tag in ('topology', 'numa')]
    for child in list(cpu):
        cpu.remove(child)
    cpu.attrib.clear()
    cpu.set('mode', 'custom')
    cpu.set('match', 'exact')
    model = ET.SubElement(cpu, 'model')
    model.set('fallback', 'forbid')
    model.text = 'qemu64'
    for child in keep:
        cpu.append(child)
    return ['cpu: qemu64']


def _drop_host_memory(out):
    """No locked memory or huge pages: no CAP_SYS_RESOURCE or hugetlbfs."""
    changes = []
    backing = out.find('memoryBacking')
    if backing is None:
        return changes
    for tag in ('locked', 'hugepages'):
        for el in backing.findall(tag):
            backing.remove(el)
            changes.append('memoryBacking/%s removed' % tag)
    if not len(backing):
        out.remove(backing)
    return changes


def _drop_cachetune(out):
    changes = []
    tune = out.find('cputune')
    if tune is not None:
        for el in tune.findall('cachetune'):
            tune.remove(el)
            changes.append('cputune/cachetune removed (no resctrl)')
    return changes


def _boot_test_guest(out, expect, kernel, initrd):
    """Direct kernel boot of the test guest, keeping a generated cmdline."""
    os_el = out.find('os')
    for tag in ('boot', 'kernel', 'initrd', 'loader', 'nvram', 'bootmenu'):
        for el in os_el.findall(tag):
            os_el.remove(el)
    old_cmdline = os_el.find('cmdline')
    generated = ''
    if old_cmdline is not None:
        generated = old_cmdline.text or ''
        os_el.remove(old_cmdline)
    # <kernel>, <initrd>, <cmdline> follow <type> in libvirt's schema order
    # only loosely (interleave); append them.
    _sub(os_el, 'kernel', kernel)
    _sub(os_el, 'initrd', initrd)
    if expect['direct_kernel_boot']:
        cmdline = (generated + ' ' + GUEST_CONSOLE_ARGS).strip()
        change = 'os/cmdline: %r appended' % GUEST_CONSOLE_ARGS
    else:
        cmdline = GUEST_CONSOLE_ARGS
        change = 'os: disk boot replaced by the test guest kernel'
    _sub(os_el, 'cmdline', cmdline)
    return [change]


def _serial_console_only(out, console_log):
    """Only the devices in _KEEP_DEVICES, and a serial port to a file."""
    devices = out.find('devices')
    if devices is None:
        devices = ET.SubElement(out, 'devices')
    for dev in list(devices):
        if dev.tag not in _KEEP_DEVICES:
            devices.remove(dev)
    serial = ET.SubElement(devices, 'serial', type='file')
    ET.SubElement(serial, 'source', path=console_log)
    ET.SubElement(serial, 'target', port='0')
    return ['devices: only %s kept, serial to %s'
            % (', '.join(_KEEP_DEVICES), console_log)]


def _sub(parent, tag, text):
    el = ET.SubElement(parent, tag)
    el.text = text
    return el


def _set_text(root, tag, text):
    el = root.find(tag)
    if el is None:
        el = ET.SubElement(root, tag)
    el.text = text


def to_string(root):
    return ET.tostring(root, encoding='unicode')
