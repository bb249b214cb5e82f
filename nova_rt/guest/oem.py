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
"""SMBIOS type 11 (OEM strings) structures, as the kernel exposes them
under /sys/firmware/dmi/entries.
"""

import os
import re

from nova_rt.guest import GuestError

# Relative to the root standing for '/'.
DMI_ENTRIES = 'sys/firmware/dmi/entries'
SMBIOS_OEM_STRINGS = 11
_ENTRY = re.compile(r'11-([0-9]+)')


def parse_oem_entry(raw, name):
    """The strings of one raw SMBIOS type 11 structure.

    Layout (SMBIOS 3.x, 7.12): type byte (11), length byte of the formatted
    part, 2-byte handle, count byte at offset 4; the strings section starts
    at offset ``length``: NUL-terminated strings, ended by one more NUL
    (two NULs when there are none).

    :param raw: the bytes of ``/sys/firmware/dmi/entries/11-N/raw``
    :param name: the file, for messages
    :returns: a tuple of str
    :raises: GuestError naming the file when it is truncated or corrupt
    """
    if len(raw) < 5:
        raise GuestError(reason='%s: truncated: %d bytes, a type 11 header '
                         'needs 5' % (name, len(raw)))
    if raw[0] != SMBIOS_OEM_STRINGS:
        raise GuestError(reason='%s: structure type %d, not %d (OEM strings)'
                         % (name, raw[0], SMBIOS_OEM_STRINGS))
    length, count = raw[1], raw[4]
    if length < 5:
        raise GuestError(reason='%s: corrupt: header length %d < 5'
                         % (name, length))
    strings = []
    pos = length
    while True:
        end = raw.find(b'\0', pos)
        if end < 0:
            raise GuestError(reason='%s: truncated: the strings section has '
                             'no terminating NUL' % name)
        if end == pos:
            break
        strings.append(raw[pos:end])
        pos = end + 1
    if not strings and raw[pos + 1:pos + 2] != b'\0':
        raise GuestError(reason='%s: truncated: an empty strings section '
                         'needs two NULs' % name)
    if len(strings) != count:
        raise GuestError(reason='%s: corrupt: the count byte says %d strings, '
                         'the section holds %d' % (name, count, len(strings)))
    # Strings we do not own may hold anything; ours are checked later with
    # the grammar, which only allows ASCII.
    return tuple(s.decode('utf-8', 'backslashreplace') for s in strings)


def read_oem_strings(root):
    """Every OEM string of every type 11 entry, in entry order.

    :returns: a list of (raw file, string); empty without DMI entries
    """
    entries = os.path.join(root, DMI_ENTRIES)
    try:
        names = os.listdir(entries)
    except FileNotFoundError:
        return []
    except OSError as e:
        raise GuestError(reason='cannot list %s: %s' % (entries, e.strerror))
    numbered = sorted((int(m.group(1)), n) for n in names
                      for m in [_ENTRY.fullmatch(n)] if m)
    found = []
    for _, entry in numbered:
        raw_file = os.path.join(entries, entry, 'raw')
        try:
            with open(raw_file, 'rb') as f:
                raw = f.read()
        except OSError as e:
            raise GuestError(reason='cannot read %s: %s (run as root)'
                             % (raw_file, e.strerror))
        found.extend((raw_file, s) for s in parse_oem_entry(raw, raw_file))
    return found
