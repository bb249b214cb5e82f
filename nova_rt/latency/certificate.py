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
"""The latency certificate: built from a result, judged against the host.

``build`` refuses what must not certify: a guest's run, an incomplete run,
one shorter than ``[nova_rt] latency_min_duration``, one that does not
cover every isolated CPU or that was measured under another kernel or
command line. ``verdict`` is what the compute publishes: the certified
maximum only while the certificate is well formed, matches the running
host (kernel release, command line digest, isolated CPUs) and is younger
than ``[nova_rt] latency_max_age_days``; otherwise the host is uncertified
and the reason says why. Any doubt counts against the certificate.
"""

import dataclasses
import datetime
import json
import os
import typing

from nova_rt.core import cpuset
from nova_rt.core import exception
from nova_rt.latency import LatencyError
from nova_rt.latency import result as result_mod
from nova_rt.latency import stats as stats_mod

FIELDS = ('max_latency_us', 'percentiles_us', 'duration_s', 'load',
          'measured_at', 'kernel_release', 'kernel_cmdline_sha256',
          'isolated_cpus')
# A certificate dated later than this is not from this host's clock.
FUTURE_SLACK = datetime.timedelta(minutes=10)


class CertificateRefused(LatencyError):
    """``certify`` will not certify this result; the reason says why."""


@dataclasses.dataclass(frozen=True)
class Verdict:
    certified: bool
    max_latency_us: typing.Optional[int]
    reason: str
    # When the certificate was measured and when it expires (aware
    # datetimes), whenever the certificate could be parsed, certified or
    # not: an expired or mismatched certificate still has a date.
    measured_at: typing.Optional[datetime.datetime] = None
    expires_at: typing.Optional[datetime.datetime] = None

    def to_dict(self):
        return {'certified': self.certified,
                'max_latency_us': self.max_latency_us,
                'reason': self.reason}


def _refuse(reason):
    raise CertificateRefused('refused to certify: %s' % reason)


def build(result, ident, min_duration_s):
    """The certificate document of a host result.

    :param ident: the running host's ``identity.Identity``
    :raises: CertificateRefused naming the rule that refused it
    """
    if result.where == 'guest':
        _refuse('this run was measured inside a guest; only a run on the '
                'compute host certifies it')
    if not result.complete:
        _refuse('the run is incomplete (stopped before its duration)')
    if result.duration_s < min_duration_s:
        _refuse('the run lasted %s s, less than [nova_rt] '
                'latency_min_duration = %d s' % (result.duration_s,
                                                 min_duration_s))
    if ident.problems or None in (ident.kernel_release,
                                  ident.kernel_cmdline_sha256,
                                  ident.isolated_cpus):
        _refuse('cannot tell which host state it measured: %s'
                % '; '.join(ident.problems or ('identity unknown',)))
    if result.kernel_release != ident.kernel_release:
        _refuse('measured on kernel %s, this host runs %s'
                % (result.kernel_release, ident.kernel_release))
    if result.kernel_cmdline_sha256 not in (None,
                                            ident.kernel_cmdline_sha256):
        _refuse('measured under another kernel command line (sha256 %s, '
                'now %s)' % (result.kernel_cmdline_sha256,
                             ident.kernel_cmdline_sha256))
    missing = ident.isolated_cpus - result.cpu_set
    if missing:
        _refuse('the run measured CPUs %s, not every isolated CPU (%s '
                'missing from %s)' % (cpuset.format(result.cpu_set),
                                      cpuset.format(missing),
                                      cpuset.format(ident.isolated_cpus)))
    overall = result.overall
    if overall.samples == 0 or overall.max_us is None:
        _refuse('the run has no samples')
    return {
        'max_latency_us': max(overall.max_us, 1),
        'percentiles_us': overall.percentiles_us,
        'duration_s': result.duration_s,
        'load': result.load,
        'measured_at': result_mod.isoformat(result.end),
        'kernel_release': ident.kernel_release,
        'kernel_cmdline_sha256': ident.kernel_cmdline_sha256,
        'isolated_cpus': cpuset.format(ident.isolated_cpus),
    }


def write(doc, path):
    """Write the certificate atomically, readable by the compute service."""
    tmp = path + '.tmp'
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(doc, f, indent=2, sort_keys=True)
            f.write('\n')
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        raise LatencyError('cannot write the certificate %s: %s'
                           % (path, e.strerror))


def _uncertified(reason):
    return Verdict(certified=False, max_latency_us=None, reason=reason)


def _check_fields(doc):
    """The problem with a certificate's fields, or None."""
    if not isinstance(doc, dict):
        return 'not a JSON object'
    missing = [f for f in FIELDS if f not in doc]
    if missing:
        return 'missing %s' % ', '.join(missing)
    worst = doc['max_latency_us']
    if isinstance(worst, bool) or not isinstance(worst, int) or worst <= 0:
        return 'max_latency_us is %r, not a positive integer' % (worst,)
    pct = doc['percentiles_us']
    if not isinstance(pct, dict) or set(pct) != set(stats_mod.PERCENTILES):
        return 'percentiles_us is %r' % (pct,)
    known = []
    for p in stats_mod.PERCENTILES:
        v = pct[p]
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            return 'percentiles_us[%s] is %r' % (p, v)
        known.append(v)
    # Percentiles never decrease, and the max bounds them all.
    if known != sorted(known) or (known and known[-1] > worst):
        return ('percentiles_us %r disagree with max_latency_us %d'
                % (pct, worst))
    duration = doc['duration_s']
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) \
            or duration <= 0:
        return 'duration_s is %r' % (duration,)
    for key in ('kernel_release', 'kernel_cmdline_sha256', 'isolated_cpus',
                'measured_at'):
        if not isinstance(doc[key], str):
            return '%s is %r' % (key, doc[key])
    return None


def verdict(doc, ident, now, max_age_days, min_duration_s):
    """Whether a certificate document certifies the running host.

    :param doc: the parsed certificate
    :param ident: the running host's ``identity.Identity``
    :param now: an aware datetime
    """
    problem = _check_fields(doc)
    if problem:
        return _uncertified('malformed certificate: %s' % problem)
    try:
        measured = result_mod.parse_time(doc['measured_at'], 'measured_at')
        isolated = cpuset.parse(doc['isolated_cpus'], 'isolated_cpus')
    except (LatencyError, exception.InvalidCPUSet) as e:
        return _uncertified('malformed certificate: %s' % e)
    expires = measured + datetime.timedelta(days=max_age_days)
    return dataclasses.replace(
        _judge(doc, ident, now, max_age_days, min_duration_s, measured,
               isolated, expires),
        measured_at=measured, expires_at=expires)


def _judge(doc, ident, now, max_age_days, min_duration_s, measured,
           isolated, expires):
    if ident.problems or None in (ident.kernel_release,
                                  ident.kernel_cmdline_sha256,
                                  ident.isolated_cpus):
        return _uncertified('cannot read the running host\'s identity: %s'
                            % '; '.join(ident.problems or ('unknown',)))
    if doc['kernel_release'] != ident.kernel_release:
        return _uncertified('kernel changed: certified on %s, running %s'
                            % (doc['kernel_release'], ident.kernel_release))
    if doc['kernel_cmdline_sha256'] != ident.kernel_cmdline_sha256:
        return _uncertified('kernel command line changed since the '
                            'measurement (sha256 %s..., now %s...)'
                            % (doc['kernel_cmdline_sha256'][:12],
                               ident.kernel_cmdline_sha256[:12]))
    if isolated != ident.isolated_cpus:
        return _uncertified('isolated CPUs changed: certified %s, now %s'
                            % (cpuset.format(isolated) or 'none',
                               cpuset.format(ident.isolated_cpus) or 'none'))
    if measured > now + FUTURE_SLACK:
        return _uncertified('measured_at %s is in the future'
                            % doc['measured_at'])
    if now - measured > datetime.timedelta(days=max_age_days):
        return _uncertified('expired: measured %s, older than [nova_rt] '
                            'latency_max_age_days = %d'
                            % (doc['measured_at'], max_age_days))
    if doc['duration_s'] < min_duration_s:
        return _uncertified('too short: %s s of measurement, less than '
                            '[nova_rt] latency_min_duration = %d s'
                            % (doc['duration_s'], min_duration_s))
    return Verdict(certified=True, max_latency_us=doc['max_latency_us'],
                   reason='certified %d us, measured %s for %s s (load: '
                          '%s), valid until %s'
                          % (doc['max_latency_us'], doc['measured_at'],
                             doc['duration_s'], doc['load'] or 'none',
                             result_mod.isoformat(expires)))


def evaluate(root, path, ident, max_age_days, min_duration_s, now=None):
    """``verdict`` of the certificate file at ``path`` under ``root``."""
    full = os.path.join(root, path.lstrip('/'))
    try:
        with open(full, 'rb') as f:
            text = f.read()
    except FileNotFoundError:
        return _uncertified('no latency certificate at %s (nova-rt latency '
                            'run, then nova-rt latency certify)' % path)
    except OSError as e:
        return _uncertified('cannot read the certificate %s: %s'
                            % (path, e.strerror))
    try:
        doc = json.loads(text.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as e:
        return _uncertified('malformed certificate %s: %s' % (path, e))
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return verdict(doc, ident, now, max_age_days, min_duration_s)
