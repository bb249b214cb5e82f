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
"""Cache Allocation Technology as resctrl shows it, with the L3 domains."""

import re

from nova_rt.host import model
from nova_rt.host import reader as host_reader


def _size_kib(text):
    # cache/indexN/size: "32768K"; sysfs writes KiB with a K suffix.
    match = re.match(r'^([0-9]{1,12})([KMG]?)$', text.strip())
    if not match:
        raise ValueError('%r is not a cache size' % text)
    return int(match.group(1)) * {'': 1, 'K': 1, 'M': 1024,
                                  'G': 1024 * 1024}[match.group(2)]


def _l3_index(r, cache):
    """The cache/indexN directory of the level 3 cache, or None."""
    for name in r.listdir(cache):
        if (name.startswith('index') and r.read_line(
                '%s/%s/level' % (cache, name)) == '3'):
            return name
    return None


def _l3_domains(r, online):
    """(cache id -> KiB, cache id -> CPUs), or an Unknown.

    One CPU of each L3 domain is enough, the others are in its
    shared_cpu_list; the index of the L3 is the same on every CPU.
    """
    l3, l3_cpus, covered, index = {}, {}, set(), None
    for cpu in sorted(online):
        if cpu in covered:
            continue
        cache = '%s/cpu%d/cache' % (host_reader.CPU_DIR, cpu)
        index = index or _l3_index(r, cache)
        if index is None:
            return model.Unknown('no level 3 cache under /%s' % cache)
        cache = '%s/%s' % (cache, index)
        cache_id = r.read_int(cache + '/id')
        l3[cache_id] = _size_kib(r.read_line(cache + '/size'))
        sharing = host_reader.read_cpulist(
    r, cache + '/shared_cpu_list') | {cpu}
        l3_cpus[cache_id] = frozenset(sharing & online)
        covered |= sharing
    return l3, l3_cpus


def read_cat(r, online):
    base = 'sys/fs/resctrl/info/L3'
    try:
        mask = r.read_line(base + '/cbm_mask')
        info = {'cbm_mask': int(mask, 16),
                'num_closids': r.read_int(base + '/num_closids'),
                'min_cbm_bits': r.read_int(base + '/min_cbm_bits')}
    except host_reader.HostFileError as e:
        return model.unknown_from(e)
    except ValueError:
        return model.Unknown('%s/cbm_mask: %r is not hex' % (base, mask))
    try:
        domains = _l3_domains(r, online)
    except host_reader.HostFileError as e:
        return model.unknown_from(e)
    except ValueError as e:
        return model.Unknown(str(e))
    if not model.known(domains):
        return domains
    l3, l3_cpus = domains
    if not l3:
        return model.Unknown('no L3 cache found')
    cat = model.CatInfo(l3_kib=host_reader.freeze(sorted(l3.items())),
                        l3_cpus=host_reader.freeze(sorted(l3_cpus.items())),
                        **info)
    for cache_id, kib in cat.l3_kib.items():
        # A way of less than 1 KiB is no real cache: a damaged size file.
        if kib < cat.ways:
            return model.Unknown(
                'L3 cache %d is %d KiB, less than 1 KiB for each of its %d '
                'ways (%s)' % (cache_id, kib, cat.ways, mask))
    return cat
