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
"""The host's real-time state as Prometheus metrics: one renderer of the
text exposition format, for nova-compute's textfile-collector file
(``[nova_rt] metrics_file``) and ``nova-rt host check --format
prometheus``, and the atomic writer of that file.

Names follow Prometheus' conventions: the ``nova_rt_`` prefix, base units
(seconds, never microseconds), ``_timestamp_seconds`` for points in time
(an age is ``time() - ...`` in PromQL, so it never goes stale between two
audits), one series per state with values 0 and 1 for a state set
(``nova_rt_host_check_status``), and ``_info`` for labels worth showing.
Standard library only.
"""

import dataclasses
import os
import tempfile
import typing

from nova_rt.core import cpuset
from nova_rt.core import exception
from nova_rt.watch import drift

GAUGE = 'gauge'
COUNTER = 'counter'
# What node_exporter's textfile collector reads from its directory.
SUFFIX = '.prom'
CHECK_STATUSES = ('pass', 'warn', 'fail', 'unknown')
PCPU_STATES = ('realtime', 'other', 'free')


class MetricsFileError(exception.NovaRTError):
    msg_fmt = 'cannot write the metrics file %(path)s: %(reason)s'


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """What the metrics say, gathered by the caller.

    :param report: the audit's ``checks.Report``
    :param lab: the host is a lab host (``HostFacts.lab``)
    :param latency: the certificate's ``certificate.Verdict``
    :param audited_at: when the audit ran, seconds since the epoch
    :param pcpus: ``pinning.PcpuUsage``, or None when it could not be
        counted (``pcpus_problem`` says why)
    :param guests: the running real-time guests' ``drift.GuestReport``
        (nova_rt.watch), or None when they could not be checked
        (``guests_problem`` says why)
    """

    report: typing.Any
    lab: bool
    latency: typing.Any
    audited_at: float
    pcpus: typing.Any = None
    pcpus_problem: typing.Optional[str] = None
    # The running real-time guests' drift.GuestReport, or None when they
    # could not be checked (``guests_problem`` says why).
    guests: typing.Any = None
    guests_problem: typing.Optional[str] = None


def _escape(value):
    return (str(value).replace('\\', r'\\').replace('"', r'\"')
            .replace('\n', r'\n'))


def _number(value):
    if isinstance(value, bool):
        return '1' if value else '0'
    if isinstance(value, int):
        return '%d' % value
    return repr(float(value))


def _sample(name, value, labels=()):
    if labels:
        name += '{%s}' % ','.join('%s="%s"' % (k, _escape(v))
                                  for k, v in labels)
    return '%s %s' % (name, _number(value))


class _Exposition:
    def __init__(self):
        self.lines = []

    def family(self, name, help_text, samples, kind=GAUGE):
        """One metric family: HELP, TYPE, then its samples (value,
        labels); nothing at all when there is no sample.
        """
        samples = list(samples)
        if not samples:
            return
        self.lines.append('# HELP %s %s' % (name, help_text))
        self.lines.append('# TYPE %s %s' % (name, kind))
        self.lines.extend(_sample(name, value, labels)
                          for value, labels in samples)

    def comment(self, text):
        self.lines.append('# %s' % ' '.join(text.split()))

    def text(self):
        return '\n'.join(self.lines) + '\n'


def _host(out, snap):
    report = snap.report
    out.family('nova_rt_host_ready',
               'Whether this compute host is ready for real-time instances.',
               [(report.ready, ())])
    out.family('nova_rt_host_lab_mode',
               'Whether this host is a lab host ([nova_rt] lab_mode, not '
               'ready, no latency guarantee).', [(snap.lab, ())])
    out.family('nova_rt_host_info',
               'The host kernel nova-rt found and its isolated CPUs.',
               [(1, (('kernel', report.kernel),
                     ('isolated_cpus', cpuset.format(report.isolated_cpus))))])
    out.family('nova_rt_host_isolated_cpus',
               'Number of CPUs isolated from the host scheduler.',
               [(len(report.isolated_cpus), ())])
    out.family('nova_rt_host_check_status',
               'Status of each host check: 1 for its current status, 0 for '
               'the others; critical checks decide readiness.',
               [(f.status == status, (('check', f.check),
                                      ('critical', 'true' if f.critical
                                       else 'false'),
                                      ('status', status)))
                for f in report.findings for status in CHECK_STATUSES])
    out.family('nova_rt_host_audit_timestamp_seconds',
               'When the audit behind these values ran, in seconds since '
               'the epoch.', [(snap.audited_at, ())])


def _latency(out, verdict):
    out.family('nova_rt_latency_certified',
               'Whether a valid latency certificate matches the running '
               'host.', [(verdict.certified, ())])
    if verdict.certified:
        out.family('nova_rt_latency_certified_max_seconds',
                   'Certified worst-case latency of the isolated CPUs.',
                   [(verdict.max_latency_us / 1e6, ())])
    if verdict.measured_at is not None:
        out.family('nova_rt_latency_certificate_measured_timestamp_seconds',
                   'When the latency certificate was measured, in seconds '
                   'since the epoch.',
                   [(verdict.measured_at.timestamp(), ())])
        out.family('nova_rt_latency_certificate_expiry_timestamp_seconds',
                   'When the latency certificate expires ([nova_rt] '
                   'latency_max_age_days), in seconds since the epoch.',
                   [(verdict.expires_at.timestamp(), ())])
    if not verdict.certified:
        out.comment('nova-rt: not certified: %s' % verdict.reason)


def _pcpus(out, snap):
    usage = snap.pcpus
    if usage is None:
        out.comment('nova-rt: PCPU usage not counted: %s'
                    % (snap.pcpus_problem or 'unknown'))
        return
    out.family('nova_rt_pcpus',
               'CPUs of [compute] cpu_dedicated_set by state: pinned by '
               'real-time instances, pinned by other instances, free.',
               [(getattr(usage, state), (('state', state),))
                for state in PCPU_STATES])
    out.family('nova_rt_realtime_instances',
               'Real-time instances defined on this host, running or not.',
               [(usage.realtime_instances, ())])


def _guests(out, snap):
    reports = snap.guests
    if reports is None:
        out.comment('nova-rt: real-time guests not checked: %s'
                    % (snap.guests_problem or 'unknown'))
        return
    out.family('nova_rt_guests',
               'Running real-time guests by status: as their domain asks '
               '(ok), drifted from it, or not fully readable (unknown).',
               [(sum(r.status == status for r in reports),
                 (('status', status),)) for status in drift.STATUSES])
    # Not 'instance': Prometheus gives the scraped target that label.
    labels = [(r, (('uuid', r.uuid or ''), ('domain', r.name)))
              for r in reports]
    out.family('nova_rt_guest_drift',
               'Differences between a running real-time guest\'s threads '
               'or locked memory and its domain (0: as asked); nova-rt '
               'guest check names them.',
               [(len(r.drifted), lab) for r, lab in labels])
    out.family('nova_rt_guest_unknown',
               'What could not be read of a running real-time guest (0: '
               'everything was).',
               [(len(r.unknown), lab) for r, lab in labels])
    loads = [(load, lab + (('vcpu', str(load.vcpu)),))
             for r, lab in labels for load in r.loads]
    out.family('nova_rt_guest_vcpu_run_delay_seconds_total',
               'Time a real-time vCPU thread waited on a run queue since it '
               'started (schedstat); alone on its isolated CPU it stays '
               'near 0.', [(load.run_delay_ns / 1e9, lab)
                          for load, lab in loads], kind=COUNTER)
    out.family('nova_rt_guest_vcpu_involuntary_switches_total',
               'Times a real-time vCPU thread was preempted since it '
               'started.', [(load.involuntary_switches, lab)
                            for load, lab in loads], kind=COUNTER)


def render(snap):
    """The text exposition of a ``Snapshot``."""
    out = _Exposition()
    _host(out, snap)
    _latency(out, snap.latency)
    _pcpus(out, snap)
    _guests(out, snap)
    return out.text()


def write_textfile(path, text):
    """Replace ``path`` with ``text`` atomically: a reader (node_exporter)
    sees the old file or the new one, never a part. The temporary file
    lives beside it, named so the textfile collector ignores it, and is
    removed on any error.

    :raises: MetricsFileError naming the path and the reason
    """
    if not path.endswith(SUFFIX):
        raise MetricsFileError(path=path, reason='the name must end in %s '
                               "(node_exporter's textfile collector reads "
                               'only those)' % SUFFIX)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(
            dir=directory, prefix='.%s.' % os.path.basename(path),
            suffix='.tmp')
    except OSError as e:
        raise MetricsFileError(path=path, reason=e.strerror or str(e))
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), 0o644)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise MetricsFileError(path=path, reason=e.strerror or str(e))
