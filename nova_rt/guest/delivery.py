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
"""What the host delivered: nova-rt's entries among the OEM strings,
validated with the one kernel-argument grammar.
"""

import dataclasses
import re

from nova_rt.core import cpuset
from nova_rt.core import guest_args
from nova_rt.core import kernel_args
from nova_rt.guest import GuestError

KERNEL_ARGS_KEY = guest_args.OEM_PREFIX + 'kernel-args'
VERSION_KEY = guest_args.OEM_PREFIX + 'version'

_VCPU_SCHEDULER = re.compile(r'[a-z]+(:[0-9]{1,2})?')


@dataclasses.dataclass(frozen=True)
class Delivery:
    """What the host delivered in the OEM strings, validated."""

    kernel_args: tuple
    kernel_args_key: str
    version: str = None
    realtime_vcpus: str = None
    housekeeping_vcpus: str = None
    vcpu_scheduler: str = None
    sources: tuple = ()


def parse_args(value, what):
    """Kernel arguments from an untrusted string, with nova-rt's grammar.

    Only ``key`` or ``key=value`` tokens of ``[A-Za-z0-9_.,=:/+-]``, a key
    never starting with ``-``, single spaces: nothing a boot loader
    configuration, a shell or ``--`` could give a second meaning to.

    :raises: GuestError naming ``what``
    """
    try:
        tokens = kernel_args.split_tokens(value, guest_args.MAX_TOTAL_LENGTH)
    except ValueError as e:
        raise GuestError(reason='%s: refused: %s' % (what, e))
    for key in kernel_args.DERIVED_KEYS:
        if len([t for t in tokens if kernel_args.key_of(t) == key]) > 1:
            raise GuestError(reason='%s: refused: %r given twice'
                             % (what, key))
    return tokens


def _ours(string):
    """(key, value) of one of nova-rt's OEM strings, or None."""
    key, sep, value = string.partition('=')
    if sep and (key.startswith(guest_args.OEM_PREFIX)
                or key == guest_args.SYSTEMD_CMDLINE_EXTRA):
        return key, value
    return None


def _collect(oem_strings):
    """(key -> value, key -> source) of nova-rt's OEM strings; a key given
    twice with different values is an error.
    """
    values, sources = {}, {}
    for source, string in oem_strings:
        found = _ours(string)
        if found is None:
            continue
        key, value = found
        if key in values and values[key] != value:
            raise GuestError(reason='%s given twice with different values '
                             '(%s, %s)' % (key, sources[key], source))
        values[key] = value
        sources[key] = source
    if VERSION_KEY in values and values[VERSION_KEY] != guest_args.OEM_VERSION:
        raise GuestError(reason='%s=%r: this nova-rt-guest understands '
                         'version %s only' % (VERSION_KEY, values[VERSION_KEY],
                                              guest_args.OEM_VERSION))
    return values, sources


def _vcpu_fields(values):
    fields = {}
    for name in ('realtime-vcpus', 'housekeeping-vcpus'):
        value = values.get(guest_args.OEM_PREFIX + name)
        if value is not None:
            cpus = cpuset.parse(value, guest_args.OEM_PREFIX + name)
            value = cpuset.format(cpus)
        fields[name.replace('-', '_')] = value
    scheduler = values.get(guest_args.OEM_PREFIX + 'vcpu-scheduler')
    if scheduler is not None and not _VCPU_SCHEDULER.fullmatch(scheduler):
        raise GuestError(reason='%svcpu-scheduler: refused: %r'
                         % (guest_args.OEM_PREFIX, scheduler))
    fields['vcpu_scheduler'] = scheduler
    return fields


def parse_delivery(oem_strings):
    """The nova-rt delivery among the OEM strings, or None without one.

    ``org.openstack.nova-rt.kernel-args`` wins; the systemd-stub string is
    the fallback. A key given twice with different values is an error.
    """
    values, sources = _collect(oem_strings)
    keys = [key for key in (KERNEL_ARGS_KEY, guest_args.SYSTEMD_CMDLINE_EXTRA)
            if key in values]
    if not keys:
        return None
    args_key = keys[0]
    fields = _vcpu_fields(values)
    return Delivery(
        kernel_args=parse_args(values[args_key],
                               '%s (%s)' % (args_key, sources[args_key])),
        kernel_args_key=args_key,
        version=values.get(VERSION_KEY),
        sources=tuple(sorted(set(sources.values()))),
        **fields)
