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
"""The running guests of a host, and each real-time one's drift report.

libvirt keeps each running QEMU domain's live XML, with the QEMU's PID,
in /run/libvirt/qemu/NAME.xml (``<domstatus state='running' pid='N'>``
around the ``<domain>``): read there, under the host root, the watch
needs no libvirt connection and runs on a recorded tree as on the host.
"""

import dataclasses
import typing as ty
from xml.etree import ElementTree

from nova_rt.host import reader as host_reader
from nova_rt.watch import drift
from nova_rt.watch import expected
from nova_rt.watch import threads

STATUS_DIR = 'run/libvirt/qemu'


@dataclasses.dataclass(frozen=True)
class RunningGuest:
    name: str
    pid: int
    settings: expected.GuestSettings


def _unknown(name, reason):
    return drift.GuestReport(name, None, (drift.Difference(
        'guest', '', reason, unknown=True),))


class StatusCache(object):
    """Each status file's RunningGuest while the file is unchanged (its
    size and modification time): libvirt rewrites it when the domain
    changes, and parsing it is most of a guest's check. One per
    long-lived watcher (the compute's audit service).
    """

    def __init__(self):
        self._entries = {}

    def read(self, reader, filename):
        path = '%s/%s' % (STATUS_DIR, filename)
        key = (reader.root, path)
        signature = reader.signature(path)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == signature:
            return entry[1]
        guest = read_status(reader, filename)
        self._entries[key] = (signature, guest)
        return guest

    def keep_only(self, reader, filenames):
        """Forget the files no longer there (guests gone)."""
        wanted = {(reader.root, '%s/%s' % (STATUS_DIR, f))
                  for f in filenames}
        for key in list(self._entries):
            if key[0] == reader.root and key not in wanted:
                del self._entries[key]


def read_status(reader, filename):
    """The RunningGuest of one libvirt status file; None when its domain
    is not running. Raises HostFileError or DomainInvalid.
    """
    path = '%s/%s' % (STATUS_DIR, filename)
    try:
        root = ElementTree.fromstring(reader.read(path))
    except ElementTree.ParseError as e:
        raise host_reader.HostFileInvalid(path, 'not XML: %s' % e)
    if root.tag != 'domstatus':
        raise host_reader.HostFileInvalid(path, 'a <%s>, not a <domstatus>'
                                          % root.tag)
    if root.get('state') not in ('running', 'paused'):
        return None
    pid, domain = root.get('pid') or '', root.find('domain')
    if not pid.isdigit() or domain is None:
        raise host_reader.HostFileInvalid(
            path, 'no QEMU pid or no <domain> in its <domstatus>')
    settings = expected.from_element(domain)
    return RunningGuest(settings.name, int(pid), settings)


def check_guest(reader, guest):
    """The drift report of one running guest."""
    try:
        found = threads.read_threads(reader, guest.pid)
    except host_reader.HostFileError as e:
        return _unknown(guest.name, 'its QEMU (pid %d): %s' % (guest.pid,
                                                              e))
    try:
        locked = threads.locked_kib(reader, guest.pid)
    except host_reader.HostFileError as e:
        locked = e
    return drift.check(guest.settings, found, locked, guest.pid)


def check_host(reader, names=None, realtime_only=True, cache=None):
    """The drift reports of the host's running guests (only those whose
    domain name or instance UUID is in ``names``, when given; only the
    real-time ones unless
    ``realtime_only`` is False), sorted by name. A status file that
    cannot be read or parsed is a guest reported unknown; a host without
    libvirt's status directory raises HostFileError (nothing can be said
    of any guest). ``cache``: a StatusCache kept between calls.
    """
    reports: ty.List[drift.GuestReport] = []
    filenames = [f for f in reader.listdir(STATUS_DIR) if f.endswith('.xml')]
    if cache is None:
        cache = StatusCache()
    cache.keep_only(reader, filenames)
    for filename in filenames:
        name = filename[:-len('.xml')]
        try:
            guest = cache.read(reader, filename)
        except (host_reader.HostFileError, expected.DomainInvalid) as e:
            if names is None or name in names:
                reports.append(_unknown(name, str(e)))
            continue
        if guest is None or (names is not None and name not in names and
                             guest.settings.uuid not in names):
            continue
        if realtime_only and not guest.settings.realtime_vcpus:
            continue
        reports.append(check_guest(reader, guest))
    return sorted(reports, key=lambda r: r.name)


def reports_or_problem(root, cache=None):
    """(check_host's reports, None), or (None, why) when the host's guests
    cannot be listed: what the metrics show either way.
    """
    try:
        return check_host(host_reader.HostReader(root), cache=cache), None
    except host_reader.HostFileError as e:
        return None, str(e)
