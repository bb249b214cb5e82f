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
"""Memory: transparent huge pages, KSM, swap, reserved huge pages."""

import re

from nova_rt.host import model
from nova_rt.host import reader as host_reader


def read_thp(r):
    try:
        text = r.read_line('sys/kernel/mm/transparent_hugepage/enabled')
    except host_reader.HostFileError as e:
        return model.unknown_from(e)
    match = re.search(r'\[(\w+)\]', text)     # "always [madvise] never"
    return match.group(1) if match else model.Unknown(
        'no [selected] mode in %r' % text)


def read_ksm(r):
    try:
        return r.read_int('sys/kernel/mm/ksm/run')
    except host_reader.HostFileError as e:
        return model.unknown_from(e)


def read_swaps(r):
    try:
        lines = r.read('proc/swaps').splitlines()
    except host_reader.HostFileError as e:
        return model.unknown_from(e)
    # First line is the "Filename Type Size Used Priority" header.
    return tuple(line.split()[0] for line in lines[1:] if line.strip())


def read_hugepages(r, nodes):
    result = {}
    for node in nodes:
        base = '%s/node%d/hugepages' % (host_reader.NODE_DIR, node)
        sizes = {}
        try:
            for name in r.listdir(base):
                match = re.match(r'^hugepages-([0-9]{1,9})kB$', name)
                if match:
                    sizes[int(match.group(1))] = r.read_int(
                        '%s/%s/nr_hugepages' % (base, name))
        except host_reader.HostFileError as e:
            return model.unknown_from(e)
        result[node] = host_reader.freeze(sizes)
    if not result:
        return model.Unknown('no NUMA node')
    return host_reader.freeze(result)
