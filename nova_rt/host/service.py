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
"""The compute host's audit as a service of the compute driver.

Audits the host (profile, checks, facts) at most once every ``[nova_rt]
facts_refresh_interval`` seconds, under a lock, and logs each readiness
transition once; writes the Prometheus metrics file (``[nova_rt]
metrics_file``) when asked. No Nova import: the driver hands in its
configuration and its domains, and adapts the result to Nova.
"""

import dataclasses
import threading
import time
import typing

from oslo_log import log as logging

from nova_rt import conf as nova_rt_conf
from nova_rt.core import cat
from nova_rt.core import cpuset
from nova_rt.host import checks
from nova_rt.host import facts as host_facts
from nova_rt.host import metrics
from nova_rt.host import model
from nova_rt.host import pinning
from nova_rt.host import profile as host_profile
from nova_rt.latency import certificate
from nova_rt.watch import guests

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class AuditedHost:
    """The audited host: profile, report and facts, and when."""

    profile: typing.Optional[model.HostProfile]    # None: audit failed
    report: checks.Report
    facts: host_facts.HostFacts
    when: float
    layout: typing.Optional[cat.CacheLayout]
    # The certificate's verdict (None: audit failed), the wall-clock time
    # of the audit, and [compute] cpu_dedicated_set: for the metrics.
    latency: typing.Any = None
    audited_at: float = 0.0
    dedicated: typing.FrozenSet[int] = frozenset()


class HostAuditService:
    """This host's audited real-time state, refreshed every interval.

    :param conf: the configuration holding ``[nova_rt]``, ``[compute]``
        and ``[libvirt]``'s live migration options
    :param clock: seconds, monotonic (the tests inject theirs)
    :param wall_clock: seconds since the epoch, for the metrics
    :param domains: returns the XML of every domain defined on this host
        (the driver's libvirt), for the PCPUs of the metrics

    ``[nova_rt] host_root`` is read once, when the service starts: the
    directory standing for ``/`` does not move under a running service.
    """

    def __init__(self, conf, clock=time.monotonic, wall_clock=time.time,
                 domains=None):
        self._conf = conf
        self._root = conf.nova_rt.host_root
        self._clock = clock
        self._wall_clock = wall_clock
        self._domains = domains
        self._lock = threading.Lock()
        self._current = None
        self._metrics_problem = None
        self._status_cache = guests.StatusCache()

    def current(self, refresh=False):
        """The audited host, audited again when older than the interval."""
        with self._lock:
            now = self._clock()
            previous = self._current
            if not (refresh or self._expired(previous, now)):
                return previous
            self._current = self._audit_or_not_ready(now)
            current = self._current
        _log_transition(previous, current)
        return current

    def _expired(self, audited, now):
        return audited is None or (
            now - audited.when >= self._conf.nova_rt.facts_refresh_interval)

    def _audit_or_not_ready(self, now):
        try:
            return self._audit(now)
        except Exception as e:
            # Never crash the compute service over the audit: say why, and
            # report the host not ready until an audit succeeds.
            LOG.exception('nova-rt: the host audit failed')
            return _not_audited(now, e, self._wall_clock())

    def _audit(self, now):
        group = self._conf.nova_rt
        root = self._root
        profile = host_profile.read_profile(root)
        dedicated, shared = nova_rt_conf.compute_cpu_sets(self._conf)
        report = checks.audit(
            profile, dedicated_cpus=dedicated, shared_cpus=shared,
            vcpu_priority=group.default_vcpu_priority,
            migration=nova_rt_conf.migration_settings(self._conf))
        latency = host_facts.logged_latency_verdict(
            root, group.latency_certificate, group.latency_max_age_days,
            group.latency_min_duration)
        facts = host_facts.facts_from_report(
            profile, report, latency.max_latency_us, lab=group.lab_mode)
        if facts.lab:
            LOG.warning('nova-rt: LAB MODE ([nova_rt] lab_mode): this host '
                        'is NOT ready for real-time instances and a lab '
                        'scheduler places them here anyway, on %s, with no '
                        'latency guarantee. Never on a production host.',
                        cpuset.format(dedicated or ()))
        return AuditedHost(profile, report, facts, now,
                           cat.cache_layout(facts), latency=latency,
                           audited_at=self._wall_clock(),
                           dedicated=frozenset(dedicated or ()))

    # --- the metrics file ---------------------------------------------

    def export_metrics(self):
        """Write ``[nova_rt] metrics_file`` (when set) from the current
        audit and the domains' pins. Never raises: a file that cannot be
        written is logged once per distinct reason, and the compute goes on.
        """
        path = self._conf.nova_rt.metrics_file
        if not path:
            return
        problem = None
        try:
            metrics.write_textfile(path, metrics.render(self.snapshot()))
        except metrics.MetricsFileError as e:
            problem = str(e)
        except Exception as e:
            LOG.debug('nova-rt: metrics failed', exc_info=True)
            problem = 'nova-rt metrics: %s: %s' % (type(e).__name__, e)
        # Logged outside the handlers: one line, no exception appended.
        if problem is not None:
            self._metrics_failed(problem)
        elif self._metrics_problem is not None:
            LOG.info('nova-rt: metrics written to %s again', path)
            self._metrics_problem = None

    def _metrics_failed(self, problem):
        if problem != self._metrics_problem:
            LOG.error('nova-rt: %s', problem)
        self._metrics_problem = problem

    def snapshot(self):
        """The current audit as a ``metrics.Snapshot``."""
        audited = self.current()
        latency = audited.latency
        if latency is None:
            latency = certificate.Verdict(False, None, 'the audit failed')
        usage, problem = None, 'no domain reader'
        if self._domains is not None:
            usage, problem = pinning.count(audited.dedicated, self._domains)
        reports, guests_problem = guests.reports_or_problem(
            self._root, self._status_cache)
        return metrics.Snapshot(
            report=audited.report, lab=audited.facts.lab, latency=latency,
            audited_at=audited.audited_at or self._wall_clock(),
            pcpus=usage, pcpus_problem=problem, guests=reports,
            guests_problem=guests_problem)


def _not_audited(now, error, wall):
    finding = checks.Finding(
        check='nova_rt.audit', status=checks.UNKNOWN,
        observed='the host audit failed: %s: %s'
        % (type(error).__name__, error),
        expected='a complete audit of the host',
        remediation='see the nova-compute log', critical=True)
    report = checks.Report(ready=False, kernel=model.KERNEL_NONE,
                           isolated_cpus=frozenset(), findings=(finding,))
    facts = host_facts.HostFacts(ready=False, kernel=model.KERNEL_NONE,
                                 isolated_cpus=frozenset())
    return AuditedHost(None, report, facts, now, None, audited_at=wall)


def _log_transition(previous, current):
    """One warning each time the host becomes ready or stops being ready."""
    if previous is not None and previous.facts.ready == current.facts.ready:
        return
    if current.facts.ready:
        LOG.warning('nova-rt: this host is now ready for real-time '
                    'instances (isolated CPUs %s)',
                    cpuset.format(current.facts.isolated_cpus))
    else:
        LOG.warning('nova-rt: this host is not ready for real-time '
                    'instances: %s', '; '.join(
                        '%s: %s' % (f.check, f.observed)
                        for f in current.report.blocking))
