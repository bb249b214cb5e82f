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
"""Host facts: the compute host's real-time profile as the scheduler sees
it, in the compute node stats (strings) and as placement traits.

``facts_from_report`` and ``to_stats``/``to_traits`` run on the compute
host; ``from_stats`` is their inverse on the scheduler side. A malformed
stats value raises ``InvalidHostFacts`` naming the key (the filter rejects
that host and logs why) rather than being guessed at.
"""

import dataclasses
import re
import typing

from oslo_log import log as logging

from nova_rt.core import cpuset
from nova_rt.core import exception
from nova_rt.core import priority as rt_priority
from nova_rt.host import model as host_model
from nova_rt.host import reader as host_reader
from nova_rt.latency import certificate as latency_certificate
from nova_rt.latency import identity as latency_identity

LOG = logging.getLogger(__name__)

STAT_READY = 'nova_rt_ready'
STAT_KERNEL = 'nova_rt_kernel'
STAT_ISOLATED_CPUS = 'nova_rt_isolated_cpus'
STAT_KTHREAD_PRIO = 'nova_rt_kthread_prio'
STAT_LATENCY_MAX_US = 'nova_rt_latency_max_us'
STAT_CAT_L3_KIB = 'nova_rt_cat_l3_kib'
STAT_CAT_MIN_KIB = 'nova_rt_cat_min_kib'
STAT_CAT_DOMAINS = 'nova_rt_cat_domains'
# Present ('true') only on a host in [nova_rt] lab_mode that is not ready.
STAT_LAB = 'nova_rt_lab_mode'
STAT_KEYS = (STAT_READY, STAT_KERNEL, STAT_ISOLATED_CPUS, STAT_KTHREAD_PRIO,
             STAT_LATENCY_MAX_US, STAT_CAT_L3_KIB, STAT_CAT_MIN_KIB,
             STAT_CAT_DOMAINS, STAT_LAB)
STAT_PREFIX = 'nova_rt_'

TRAIT_READY = 'CUSTOM_NOVA_RT_READY'
TRAIT_PREEMPT_RT = 'CUSTOM_NOVA_RT_PREEMPT_RT'
TRAIT_CAT = 'CUSTOM_NOVA_RT_CAT'
TRAIT_LAB = 'CUSTOM_NOVA_RT_LAB'
TRAITS = (TRAIT_READY, TRAIT_PREEMPT_RT, TRAIT_CAT, TRAIT_LAB)

KERNELS = (host_model.KERNEL_PREEMPT_RT, host_model.KERNEL_PREEMPT,
           host_model.KERNEL_NONE)


# What to_stats writes: ASCII digits, short enough to convert at once.
_INTEGER = re.compile(r'-?[0-9]{1,18}')


class InvalidHostFacts(exception.NovaRTError):
    msg_fmt = 'compute node stat %(key)s = %(value)r: %(reason)s'

    def __init__(self, key, value, reason):
        self.key = key
        super().__init__(key=key, value=exception.shortened(value),
                         reason=reason)


@dataclasses.dataclass(frozen=True)
class HostFacts:
    ready: bool
    kernel: str
    isolated_cpus: typing.FrozenSet[int]
    # Lowest RT priority of ksoftirqd/ktimers/rcuc on isolated CPUs; 0 when
    # one runs outside the RT classes; None when none is bound there.
    kthread_prio: typing.Optional[int] = None
    latency_max_us: typing.Optional[int] = None
    # L3 KiB of one cache domain that CAT can hand out, and one way of it.
    cat_l3_kib: typing.Optional[int] = None
    cat_min_kib: typing.Optional[int] = None
    # (L3 cache id, its CPUs) pairs: libvirt's cachetune names caches by
    # id, and a live migration's source needs the destination's.
    cat_domains: typing.Optional[
        typing.Tuple[typing.Tuple[int, typing.FrozenSet[int]], ...]] = None
    # A host that is not ready but lets a lab scheduler use its dedicated
    # CPUs ([nova_rt] lab_mode); the other facts stay what the audit found.
    lab: bool = False


def kthread_prio(profile):
    """The ``nova_rt_kthread_prio`` of a profile (see ``HostFacts``)."""
    if not (host_model.known(profile.kthreads)
            and host_model.known(profile.isolated_cpus)):
        return None
    return rt_priority.lowest_kthread_priority(profile.kthreads,
                                               profile.isolated_cpus)


def facts_from_report(profile, report, latency_max_us=None, lab=False):
    """The facts to publish for a profile and its audit ``Report``.

    ``lab`` (``[nova_rt] lab_mode``) marks a host that is not ready as a lab
    host; a ready host is never one.
    """
    cat = profile.cat
    l3 = min_kib = domains = None
    if host_model.known(cat) and cat.l3_kib and cat.ways:
        # The smallest domain bounds what an instance can get anywhere.
        l3 = min(cat.l3_kib.values())
        min_kib = l3 // cat.ways
        domains = tuple(sorted(cat.l3_cpus.items())) or None
    return HostFacts(ready=report.ready, kernel=profile.kernel,
                     isolated_cpus=report.isolated_cpus,
                     kthread_prio=kthread_prio(profile),
                     latency_max_us=latency_max_us,
                     cat_l3_kib=l3, cat_min_kib=min_kib,
                     cat_domains=domains,
                     lab=bool(lab) and not report.ready)


# --- the latency certificate (nova_rt/latency/certificate.py) ---------------

# The last verdict logged per certificate path, so each change of verdict
# is logged once rather than at every refresh.
_LOGGED_VERDICTS = {}


def latency_verdict(root, path, max_age_days, min_duration_s, now=None):
    """Whether the certificate at ``path`` under ``root`` certifies the
    running host: a ``nova_rt.latency.certificate.Verdict``.
    """
    ident = latency_identity.read(root)
    return latency_certificate.evaluate(root, path, ident, max_age_days,
                                        min_duration_s, now=now)


def logged_latency_verdict(root, path, max_age_days, min_duration_s,
                           now=None):
    """``latency_verdict``, each change of verdict logged once, with its
    reason.
    """
    verdict = latency_verdict(root, path, max_age_days, min_duration_s,
                              now=now)
    if _LOGGED_VERDICTS.get(path) != verdict:
        _LOGGED_VERDICTS[path] = verdict
        if verdict.certified:
            LOG.info('nova-rt: latency %s', verdict.reason)
        else:
            LOG.warning('nova-rt: this host has no certified latency: %s',
                        verdict.reason)
    return verdict


def read_latency_certificate(root, path, max_age_days, min_duration_s,
                             now=None):
    """The certified worst-case latency the compute publishes, or None
    when the host is not certified (``logged_latency_verdict``).
    """
    return logged_latency_verdict(root, path, max_age_days, min_duration_s,
                                  now=now).max_latency_us


def to_stats(facts):
    stats = {
        STAT_READY: 'true' if facts.ready else 'false',
        STAT_KERNEL: facts.kernel,
        STAT_ISOLATED_CPUS: cpuset.format(facts.isolated_cpus),
    }
    for key, value in ((STAT_KTHREAD_PRIO, facts.kthread_prio),
                       (STAT_LATENCY_MAX_US, facts.latency_max_us),
                       (STAT_CAT_L3_KIB, facts.cat_l3_kib),
                       (STAT_CAT_MIN_KIB, facts.cat_min_kib)):
        if value is not None:
            stats[key] = '%d' % value
    if facts.lab:
        stats[STAT_LAB] = 'true'
    if facts.cat_domains:
        stats[STAT_CAT_DOMAINS] = ';'.join(
            '%d=%s' % (cache_id, cpuset.format(cpus))
            for cache_id, cpus in facts.cat_domains)
    return stats


def to_traits(facts):
    traits = set()
    if facts.ready:
        traits.add(TRAIT_READY)
    if facts.kernel == host_model.KERNEL_PREEMPT_RT:
        traits.add(TRAIT_PREEMPT_RT)
    if facts.cat_l3_kib:
        traits.add(TRAIT_CAT)
    if facts.lab:
        traits.add(TRAIT_LAB)
    return frozenset(traits)


def _required(stats, key):
    if key not in stats:
        raise InvalidHostFacts(key, None, 'missing while other nova_rt_ '
                               'stats are present')
    return str(stats[key]).strip()


def _int(stats, key, low=0, high=None):
    if key not in stats:
        return None
    raw = stats[key]
    text = str(raw).strip()
    if not _INTEGER.fullmatch(text):
        raise InvalidHostFacts(key, raw, 'not an integer')
    value = int(text, 10)
    if value < low or (high is not None and value > high):
        raise InvalidHostFacts(key, raw, 'out of range')
    return value


def _domains(stats):
    """``0=0-5;1=6-11`` -> ((0, {0..5}), (1, {6..11})), or None."""
    if STAT_CAT_DOMAINS not in stats:
        return None
    raw = str(stats[STAT_CAT_DOMAINS])
    domains = []
    for item in raw.split(';'):
        cache_id, sep, cpus = item.partition('=')
        if not (sep and host_reader.is_number(cache_id)):
            raise InvalidHostFacts(STAT_CAT_DOMAINS, raw, '%r is not ID=CPUS'
                                   % exception.shortened(item))
        try:
            domains.append((int(cache_id, 10),
                            cpuset.parse(cpus, STAT_CAT_DOMAINS)))
        except exception.InvalidCPUSet as e:
            raise InvalidHostFacts(STAT_CAT_DOMAINS, raw, str(e))
    return tuple(sorted(domains))


def from_stats(stats):
    """``HostFacts`` from compute node stats; None when the host publishes
    none (a compute host without nova-rt's driver).

    :raises: InvalidHostFacts for a missing or malformed value
    """
    if not stats or not any(str(k).startswith(STAT_PREFIX) for k in stats):
        return None
    ready = _required(stats, STAT_READY)
    if ready not in ('true', 'false'):
        raise InvalidHostFacts(STAT_READY, ready, 'not true or false')
    kernel = _required(stats, STAT_KERNEL)
    if kernel not in KERNELS:
        raise InvalidHostFacts(STAT_KERNEL, kernel,
                               'not one of %s' % ', '.join(KERNELS))
    isolated = _required(stats, STAT_ISOLATED_CPUS)
    try:
        cpus = cpuset.parse(isolated, STAT_ISOLATED_CPUS)
    except exception.InvalidCPUSet as e:
        raise InvalidHostFacts(STAT_ISOLATED_CPUS, isolated,
                               e.kwargs.get('reason', str(e)))
    return HostFacts(
        ready=ready == 'true', kernel=kernel, isolated_cpus=cpus,
        kthread_prio=_int(stats, STAT_KTHREAD_PRIO, 0, 99),
        latency_max_us=_int(stats, STAT_LATENCY_MAX_US, 1),
        cat_l3_kib=_int(stats, STAT_CAT_L3_KIB, 1),
        cat_min_kib=_int(stats, STAT_CAT_MIN_KIB, 1),
        cat_domains=_domains(stats),
        lab=_lab(stats, ready == 'true'))


def _lab(stats, ready):
    if STAT_LAB not in stats:
        return False
    raw = str(stats[STAT_LAB]).strip()
    if raw != 'true':
        raise InvalidHostFacts(STAT_LAB, raw, "only 'true' is published")
    if ready:
        raise InvalidHostFacts(STAT_LAB, raw, 'a ready host is never a lab '
                               'host')
    return True
