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
"""Which dedicated host CPUs (PCPUs) this host's instances hold, from the
domain XML libvirt has for them.

An instance holds the host CPUs its ``<vcpupin>``, ``<emulatorpin>`` and
``<iothreadpin>`` elements name; it is real-time when a ``<vcpusched>``
gives a vCPU the ``fifo`` or ``rr`` class (Nova writes one for every
``hw:cpu_realtime`` flavor). Every defined domain counts, running or shut
off: Nova keeps a stopped instance's pinning, and its PCPUs stay claimed.
Only CPUs of ``[compute] cpu_dedicated_set`` are counted; floating
instances on ``cpu_shared_set`` hold none.

This is what libvirt was told, not what placement allocated: the two agree
unless a domain was defined by hand or Nova failed half-way, and then the
host's own view is the one that says which cores are busy.
"""

import dataclasses
import typing
from xml.etree import ElementTree

from nova_rt.core import cpuset
from nova_rt.core import exception

_PINS = ('vcpupin', 'emulatorpin', 'iothreadpin')
_REALTIME_CLASSES = ('fifo', 'rr')


class InvalidDomainXML(exception.NovaRTError):
    msg_fmt = 'domain XML %(name)s: %(reason)s'


@dataclasses.dataclass(frozen=True)
class DomainPins:
    name: str
    realtime: bool
    cpus: typing.FrozenSet[int]


@dataclasses.dataclass(frozen=True)
class PcpuUsage:
    """The dedicated host CPUs by who holds them; the three add up to
    ``total``. A CPU held by a real-time and another instance (which Nova
    never does) counts as real-time.
    """

    total: int
    realtime: int
    other: int
    free: int
    realtime_instances: int


def domain_pins(xml):
    """The pins of one domain XML document.

    :raises: InvalidDomainXML naming the domain (or the XML) at fault
    """
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as e:
        raise InvalidDomainXML(name='(unparsable)', reason=str(e))
    name = root.findtext('name') or '(unnamed)'
    cputune = root.find('cputune')
    if cputune is None:
        return DomainPins(name, False, frozenset())
    cpus = set()
    for tag in _PINS:
        for pin in cputune.iter(tag):
            try:
                cpus |= cpuset.parse(pin.get('cpuset', ''), tag)
            except exception.InvalidCPUSet as e:
                raise InvalidDomainXML(name=name, reason=str(e))
    realtime = any(sched.get('scheduler') in _REALTIME_CLASSES
                   for sched in cputune.iter('vcpusched'))
    return DomainPins(name, realtime, frozenset(cpus))


def usage(dedicated, domains):
    """``PcpuUsage`` of the ``dedicated`` CPUs by ``domains``
    (``DomainPins``).
    """
    dedicated = frozenset(dedicated or ())
    realtime = frozenset().union(
        *(d.cpus for d in domains if d.realtime)) & dedicated
    other = (frozenset().union(
        *(d.cpus for d in domains if not d.realtime)) & dedicated) - realtime
    return PcpuUsage(total=len(dedicated), realtime=len(realtime),
                     other=len(other),
                     free=len(dedicated - realtime - other),
                     realtime_instances=sum(1 for d in domains
                                            if d.realtime))


def count(dedicated, read_domains):
    """``(PcpuUsage, None)``, or ``(None, why)`` when the domains cannot
    be read or parsed.

    :param read_domains: returns the XML of every defined domain (libvirt's
        ``XMLDesc``); whatever it raises is reported, not raised
    """
    try:
        domains = [domain_pins(xml) for xml in read_domains()]
    except InvalidDomainXML as e:
        return None, str(e)
    except Exception as e:
        return None, 'cannot list the domains: %s: %s' % (
            type(e).__name__, e)
    return usage(dedicated, domains), None
