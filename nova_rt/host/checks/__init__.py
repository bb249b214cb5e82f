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
"""The host audit: small checks over a ``HostProfile``, loaded as plugins.

Each check is a function of a ``Context`` (the profile, nova.conf's CPU
sets, the vCPU priority and live migration settings) returning a
``Result``, declared with ``@check``: its name, whether it is critical,
what is expected and the usual remedy sit beside the function. Checks
are stevedore extensions of the entry point namespace
``nova_rt.host_checks`` (nova-rt's own in ``setup.cfg``), so a vendor
package adds checks without patching nova-rt; they run in a stable order
(``order``, then name). Nothing here reads a file:
``nova_rt.host.profile`` did.

A host is ready when every CPU of ``[compute] cpu_dedicated_set`` is known
to be isolated (isolcpus domain, nohz_full and rcu_nocbs) and no critical
check fails or cannot judge: a critical check that is ``unknown`` makes the
host NOT ready (fail closed), its finding saying which evidence was
missing. So does a check that raises, and a registered check that cannot
be loaded. Only warning-level checks may stay unknown; doc/source/design.rst
lists which are not critical, and why.
"""

import dataclasses
import typing

from oslo_log import log as logging
import stevedore

from nova_rt.core import cpuset
from nova_rt.core import exception
from nova_rt.core import migration as rt_migration
from nova_rt.core import priority as rt_priority
from nova_rt.host import model as host_model
from nova_rt.host import plan as host_plan

LOG = logging.getLogger(__name__)

NAMESPACE = 'nova_rt.host_checks'

PASS, WARN, FAIL, UNKNOWN = 'pass', 'warn', 'fail', 'unknown'
STATUSES = (PASS, WARN, FAIL, UNKNOWN)

# Checks without an order run after nova-rt's own, by name.
DEFAULT_ORDER = 10000

# How many items an "observed" text lists before "and N more".
_SHOWN = 6

known = host_model.known
fmt = cpuset.format


@dataclasses.dataclass(frozen=True)
class Finding:
    check: str
    status: str
    observed: str
    expected: str
    remediation: str
    critical: bool

    def to_dict(self):
        return {'check': self.check, 'status': self.status,
                'observed': self.observed, 'expected': self.expected,
                'remediation': self.remediation}


@dataclasses.dataclass(frozen=True)
class Report:
    ready: bool
    kernel: str
    isolated_cpus: typing.FrozenSet[int]
    findings: typing.Tuple[Finding, ...]

    def finding(self, check):
        for f in self.findings:
            if f.check == check:
                return f
        raise KeyError(check)

    @property
    def blocking(self):
        """The critical findings that fail or cannot judge."""
        return tuple(f for f in self.findings if blocks(f))

    def to_dict(self):
        return {'ready': self.ready, 'kernel': self.kernel,
                'isolated_cpus': fmt(self.isolated_cpus),
                'findings': [f.to_dict() for f in self.findings]}


@dataclasses.dataclass(frozen=True)
class Result:
    status: str
    observed: str
    # None: the check's default from the table
    expected: typing.Optional[str] = None
    remediation: typing.Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Context:
    profile: host_model.HostProfile
    dedicated: typing.FrozenSet[int]     # configured, else the isolated set
    shared: typing.FrozenSet[int]
    configured: bool
    vcpu_priority: int
    # nova.conf's [libvirt] live migration settings; None: not given
    migration: typing.Optional[rt_migration.MigrationSettings] = None

    @property
    def judged(self):
        """The CPUs the per-CPU power checks look at: the dedicated ones,
        or every online CPU when none is dedicated.
        """
        return self.dedicated or self.profile.online_cpus

    @property
    def judged_note(self):
        return '' if self.dedicated else ' (no dedicated CPUs: all online)'

    @property
    def housekeeping(self):
        return frozenset(self.profile.online_cpus - self.dedicated)

    def suggested_isolated(self):
        """The dedicated set, or the plan's isolated set when none."""
        if self.dedicated:
            return self.dedicated
        try:
            p = self.profile
            return frozenset(p.online_cpus - host_plan.housekeeping(p))
        except host_plan.PlanError:
            return frozenset()


def blocks(finding):
    """Does this finding keep the host from being ready? Fail closed: a
    critical check that cannot judge blocks like one that fails.
    """
    return finding.critical and finding.status in (FAIL, UNKNOWN)


def few(items):
    """At most a few items, then "and N more"."""
    items = list(items)
    text = ', '.join(str(i) for i in items[:_SHOWN])
    if len(items) > _SHOWN:
        text += ' and %d more' % (len(items) - _SHOWN)
    return text


def no_dedicated():
    return Result(UNKNOWN, 'no dedicated or isolated CPUs to judge')


def unjudged(evidence, dedicated):
    """UNKNOWN when a check about the dedicated CPUs cannot judge: its
    evidence is missing (said first), or there is no dedicated CPU.
    None when it can.
    """
    if not known(evidence):
        return Result(UNKNOWN, str(evidence))
    if not dedicated:
        return no_dedicated()
    return None


# --- declaring and loading checks ----------------------------------------

@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    critical: bool
    func: typing.Callable
    expected: str
    remediation: str = ''
    order: int = DEFAULT_ORDER


def check(name, critical, expected, remediation='', order=DEFAULT_ORDER):
    """Declare a host check: ``@check('vendor.thing', critical=False,
    expected='...', remediation='...')`` above ``def f(ctx): -> Result``,
    then register ``f`` under its name in the ``nova_rt.host_checks``
    entry point namespace.
    """
    def declare(func):
        func.nova_rt_check = Check(name, critical, func, expected,
                                   remediation, order)
        return func
    return declare


class NoChecks(exception.NovaRTError):
    msg_fmt = ('no host check could be loaded from the entry point '
               'namespace %(namespace)s: %(reason)s')


def _declared(ext):
    spec = getattr(ext.plugin, 'nova_rt_check', None)
    if not isinstance(spec, Check):
        raise TypeError('%s is not declared with nova_rt.host.checks.check'
                        % ext.entry_point.value)
    if spec.name != ext.name:
        raise ValueError('entry point %s declares the check %s'
                         % (ext.name, spec.name))
    return spec


def load():
    """Every installed check, in their stable order.

    :raises: NoChecks when none loads (nova-rt is not installed)
    """
    failures = []

    def failed(manager, entry_point, exc):
        failures.append((entry_point.name, '%s' % exc))
        LOG.error('Cannot load the host check %s (%s): %s',
                  entry_point.name, entry_point.value, exc)

    manager = stevedore.ExtensionManager(
        NAMESPACE, invoke_on_load=False,
        on_load_failure_callback=failed)
    specs = []
    for ext in manager:
        try:
            specs.append(_declared(ext))
        except (TypeError, ValueError) as e:
            failed(manager, ext.entry_point, e)
    if not specs:
        raise NoChecks(namespace=NAMESPACE,
                       reason='; '.join('%s: %s' % f for f in failures)
                       or 'none registered')
    specs += [_unloadable(name, reason) for name, reason in failures]
    return tuple(sorted(specs, key=lambda c: (c.order, c.name)))


def _unloadable(name, reason):
    """A registered check that cannot run: critical and unknown, since
    nobody can say what it would have found (fail closed).
    """
    def cannot_judge(ctx):
        return Result(UNKNOWN, 'the check could not be loaded: %s' % reason)
    return Check(name, True, cannot_judge, 'the check loads and runs',
                 'reinstall the package that registers %s in %s, or '
                 'uninstall it' % (name, NAMESPACE))


def check_names():
    return tuple(c.name for c in load())


# --- running them -------------------------------------------------------

def _judge(spec, ctx):
    try:
        return spec.func(ctx)
    except Exception as e:
        # A broken check must not abort the audit nor pass silently.
        LOG.exception('Host check %s failed', spec.name)
        return Result(UNKNOWN, 'the check failed: %s: %s'
                      % (type(e).__name__, e))


def _run(spec, ctx):
    result = _judge(spec, ctx)
    if result.status == PASS:
        remedy = ''
    else:
        remedy = result.remediation or spec.remediation
    return Finding(check=spec.name, status=result.status,
                   observed=result.observed,
                   expected=result.expected or spec.expected,
                   remediation=remedy, critical=spec.critical)


def audit(profile, dedicated_cpus=None, shared_cpus=None,
          vcpu_priority=rt_priority.DEFAULT_VCPU_PRIORITY, checks=None,
          migration=None):
    """Judge ``profile`` against nova.conf's CPU sets.

    :param dedicated_cpus: ``[compute] cpu_dedicated_set`` as a frozenset,
        or None when not configured: the isolated CPUs stand for it and
        ``nova.cpu_dedicated_set`` warns
    :param shared_cpus: ``[compute] cpu_shared_set``, or None
    :param vcpu_priority: the SCHED_FIFO priority vCPUs will get; the
        essential kernel threads must be above it
    :param checks: the ``Check`` objects to run; every installed one
        (``load()``) when None
    :param migration: nova.conf's ``[libvirt]`` live migration settings
        (``nova_rt.core.migration.MigrationSettings``), or None when not known
    :returns: a ``Report``
    """
    configured = dedicated_cpus is not None
    isolated = profile.isolated_cpus if known(profile.isolated_cpus) \
        else frozenset()
    dedicated = frozenset(dedicated_cpus if configured else isolated)
    ctx = Context(profile=profile, dedicated=dedicated,
                  shared=frozenset(shared_cpus or ()),
                  configured=configured, vcpu_priority=vcpu_priority,
                  migration=migration)
    findings = tuple(_run(spec, ctx)
                     for spec in (load() if checks is None else checks))
    sets = (profile.isolated_cpus, profile.nohz_full_cpus,
            profile.rcu_nocbs_cpus)
    isolated_everywhere = bool(dedicated) and all(
        known(s) and dedicated <= s for s in sets)
    ready = isolated_everywhere and not any(blocks(f) for f in findings)
    return Report(ready=ready, kernel=profile.kernel,
                  isolated_cpus=isolated, findings=findings)
