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
"""The host side of the tier: libvirt's daemons, virsh, QEMU's threads.

One ``Host`` serves the whole tier: it starts ``virtlogd`` and ``libvirtd``
by hand (the machines have no systemd), waits a bounded time for libvirtd
to answer, and stops both by the PIDs it started. A daemon that was already
running is used and left alone. ``qemu.conf`` gets the ``cgroup_controllers``
setting without the ``cpu`` controller (see ``ensure_qemu_conf``).
"""

import fcntl
import grp
import json
import os
import re
import signal
import subprocess
import time

from tests.real import checks

URI = 'qemu:///system'
LIBVIRTD = '/usr/sbin/libvirtd'
VIRTLOGD = '/usr/sbin/virtlogd'
QEMU_CONF = '/etc/libvirt/qemu.conf'
QEMU_LOG_DIR = '/var/log/libvirt/qemu'
QEMU_RUN_DIR = '/run/libvirt/qemu'
LOCK_FILE = '/run/lock/nova-rt-real-tier.lock'

# What the tier runs; each missing one is reported with the package that
# ships it (tools/ci-real-deps.sh installs them all).
COMMANDS = {
    LIBVIRTD: 'libvirt-daemon-system',
    VIRTLOGD: 'libvirt-daemon-system',
    'virsh': 'libvirt-clients',
    'virt-xml-validate': 'libvirt-clients',
    'xmllint': 'libxml2-utils',
    'qemu-system-x86_64': 'qemu-system-x86',
    '/bin/busybox': 'busybox-static',
}

# libvirt gives every new cgroup of the cpu controller cpu.rt_runtime_us=0
# on a kernel with RT group scheduling, so sched_setscheduler(SCHED_FIFO)
# of a vCPU thread fails with EPERM. Leaving the cpu controller to the
# kernel's root group avoids it (doc/source/real-tier.rst, "the cgroup
# rt_runtime trap").
CGROUP_CONTROLLERS = '[ "devices", "memory", "blkio", "cpuset", "cpuacct" ]'
_BLOCK_BEGIN = '# BEGIN nova-rt real tier (tests/real/host.py)'
_BLOCK_END = '# END nova-rt real tier'

DAEMON_START_TIMEOUT = 90

# libvirtd log lines that say nothing about a failing step on these
# machines (no udev, D-Bus, dnsmasq or /dev/mem; QMP use taints domains).
LOG_NOISE = ('udevGetDMIData', 'virGDBusGetSystemBus', 'DBus not available',
             'Unable to open vhost-net', 'dnsmasqCapsNewFromBinary',
             'dmidecode', '/dev/mem', 'tainted: custom-monitor',
             ': info : ')
POLICY_NAMES = {0: 'other', 1: 'fifo', 2: 'rr', 3: 'batch', 5: 'idle',
                6: 'deadline'}


class HostError(Exception):
    """The host cannot run the tier: says what is missing or what failed."""


def which(cmd):
    if os.path.isabs(cmd):
        return cmd if os.access(cmd, os.X_OK) else None
    for d in os.environ.get('PATH', '/usr/bin:/bin').split(os.pathsep) + [
            '/usr/sbin', '/sbin']:
        path = os.path.join(d, cmd)
        if os.access(path, os.X_OK):
            return path
    return None


def missing_requirements():
    """Why this machine cannot run the tier; empty when it can."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append('not root (libvirtd is started by hand as root)')
    lacking = sorted({pkg for cmd, pkg in COMMANDS.items()
                      if not which(cmd)})
    if lacking:
        reasons.append('missing packages %s (run tools/ci-real-deps.sh)'
                       % ' '.join(lacking))
    return reasons


def ensure_qemu_conf(path=QEMU_CONF):
    """Make ``cgroup_controllers`` leave out ``cpu``; idempotent.

    Appends a marked block once. Returns a description of what it did.
    :raises: HostError when an active setting elsewhere includes ``cpu``.
    """
    with open(path) as f:
        text = f.read()
    if _BLOCK_BEGIN in text:
        return 'qemu.conf: nova-rt block already present'
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith('cgroup_controllers'):
            if re.search(r'"cpu"', stripped):
                raise HostError(
                    '%s sets %r: libvirt would put vCPUs into cpu cgroups '
                    'with cpu.rt_runtime_us=0 and SCHED_FIFO would fail; '
                    'remove "cpu" from it' % (path, stripped))
            return 'qemu.conf: cgroup_controllers already without cpu'
    with open(path, 'a') as f:
        f.write('\n%s\n# Without the cpu controller: the cgroup rt_runtime '
                'trap, see doc/source/real-tier.rst.\n'
                'cgroup_controllers = %s\n%s\n'
                % (_BLOCK_BEGIN, CGROUP_CONTROLLERS, _BLOCK_END))
    return 'qemu.conf: cgroup_controllers set without cpu'


def ensure_dev_kvm(path='/dev/kvm', group='kvm'):
    """Give /dev/kvm the owner and mode udev gives it on a normal host.

    Without udev it stays ``root:root 0600``; libvirt then finds KVM
    "enabled when probing but not available now" for the ``libvirt-qemu``
    user and probes QEMU again on every call (4 s each, 40 s under load).
    Returns a description, or None when nothing was needed.
    """
    try:
        st = os.stat(path)
        gid = grp.getgrnam(group).gr_gid
    except (OSError, KeyError):
        return None
    if st.st_gid == gid and st.st_mode & 0o060 == 0o060:
        return None
    os.chown(path, -1, gid)
    os.chmod(path, (st.st_mode & 0o7777) | 0o060)
    return '%s: group %s, mode %o (what udev sets on a normal host)' % (
        path, group, (st.st_mode & 0o7777) | 0o060)


def _is_timeout(exc):
    # Under nova's eventlet monkey patching (tests/__init__.py) the raised
    # TimeoutExpired may be a copy of the stdlib class: match it by name.
    return type(exc).__name__ == 'TimeoutExpired'


def run(argv, timeout=60, input=None):
    """``(rc, stdout, stderr)``; a timeout is rc 124 with a message."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout, input=input)
    except OSError as e:
        return 127, '', '%s: %s' % (argv[0], e)
    except Exception as e:
        if not _is_timeout(e):
            raise
        return 124, '', '%s: timed out after %d s' % (' '.join(argv),
                                                      timeout)
    return proc.returncode, proc.stdout, proc.stderr


def _running(exe):
    """PIDs of processes whose executable is ``exe``."""
    pids = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            if os.readlink('/proc/%s/exe' % entry) == exe:
                pids.append(int(entry))
        except OSError:
            continue
    return pids


def tail(path, lines=40, skip=()):
    """The last ``lines`` lines of a file, leaving out those with ``skip``."""
    try:
        with open(path, errors='replace') as f:
            kept = [ln for ln in f if not any(s in ln for s in skip)]
            return ''.join(kept[-lines:])
    except OSError as e:
        return '(cannot read %s: %s)' % (path, e)


class Host:
    """libvirtd and virtlogd for the tier, started and stopped by PID."""

    def __init__(self, artifacts, log=print):
        self.artifacts = artifacts
        self.log = log
        self._procs = {}      # name -> Popen we started
        self._lock = None
        self.notes = []

    # -- life cycle --------------------------------------------------------
    def start(self):
        os.makedirs(self.artifacts, exist_ok=True)
        self._take_lock()
        self.notes.append(ensure_qemu_conf())
        kvm = ensure_dev_kvm()
        if kvm:
            self.notes.append(kvm)
        for name, exe, args in (
                ('virtlogd', VIRTLOGD, []),
                ('libvirtd', LIBVIRTD, [])):
            running = _running(exe)
            if running:
                self.notes.append('%s already running (pid %s): used, left '
                                  'alone' % (name, running[0]))
                continue
            self._spawn(name, exe, args)
            if name == 'virtlogd':
                self._wait_for(lambda: os.path.exists(
                    '/run/libvirt/virtlogd-sock'), 20, 'virtlogd socket',
                    name)
        start = time.monotonic()
        self._wait_for(self._answers, DAEMON_START_TIMEOUT,
                       'virsh -c %s version' % URI, 'libvirtd')
        self.notes.append('libvirtd answered after %.1f s'
                          % (time.monotonic() - start))
        self.cleanup_domains()

    def _take_lock(self):
        # Two test processes (stestr without --serial) would each start a
        # libvirtd; the second waits for the first instead.
        os.makedirs(os.path.dirname(LOCK_FILE), exist_ok=True)
        self._lock = open(LOCK_FILE, 'w')
        deadline = time.monotonic() + 600
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise HostError('another real tier run holds %s for '
                                    'over 600 s' % LOCK_FILE)
                time.sleep(1)

    def _spawn(self, name, exe, args):
        logfile = os.path.join(self.artifacts, '%s.log' % name)
        env = dict(os.environ)
        env['LIBVIRT_LOG_OUTPUTS'] = '3:file:%s' % logfile
        out = open(os.path.join(self.artifacts, '%s.stderr' % name), 'a')
        pidfile = os.path.join(self.artifacts, '%s.pid' % name)
        proc = subprocess.Popen([exe, '--pid-file', pidfile] + args,
                                stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        out.close()
        self._procs[name] = proc
        self.log('real tier: started %s, pid %d, log %s'
                 % (name, proc.pid, logfile))

    def _wait_for(self, ready, timeout, what, daemon):
        deadline = time.monotonic() + timeout
        proc = self._procs.get(daemon)
        while time.monotonic() < deadline:
            if ready():
                return
            if proc is not None and proc.poll() is not None:
                raise HostError('%s exited with %s before %s answered:\n%s'
                                % (daemon, proc.returncode, what,
                                   self.daemon_logs(daemon)))
            time.sleep(0.5)
        raise HostError('%s did not answer within %d s (%s):\n%s'
                        % (daemon, timeout, what, self.daemon_logs(daemon)))

    def _answers(self):
        rc, _, _ = run(['virsh', '-c', URI, 'version'], timeout=10)
        return rc == 0

    def daemon_logs(self, *names):
        names = names or ('libvirtd', 'virtlogd')
        out = []
        for name in names:
            for suffix in ('log', 'stderr'):
                path = os.path.join(self.artifacts, '%s.%s' % (name, suffix))
                if os.path.exists(path):
                    out.append('--- tail of %s ---\n%s' % (path, tail(path)))
        return '\n'.join(out)

    def stop(self):
        try:
            if 'libvirtd' in self._procs or self._answers():
                self.cleanup_domains()
        finally:
            for name in ('libvirtd', 'virtlogd'):
                proc = self._procs.pop(name, None)
                if proc is None or proc.poll() is not None:
                    continue
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except Exception as e:
                    if not _is_timeout(e):
                        raise
                    self.log('real tier: %s (pid %d) ignored SIGTERM for '
                             '30 s, killing it' % (name, proc.pid))
                    proc.kill()
                    proc.wait(timeout=10)
            if self._lock is not None:
                self._lock.close()
                self._lock = None

    # -- libvirt -------------------------------------------------------------
    def virsh(self, *args, timeout=60):
        return run(['virsh', '-c', URI] + list(args), timeout=timeout)

    def cleanup_domains(self, prefix='nrt-'):
        """Destroy and undefine the tier's domains (left by any run)."""
        rc, out, _ = self.virsh('list', '--all', '--name')
        for name in out.split():
            if name.startswith(prefix):
                self.remove_domain(name)

    def remove_domain(self, name):
        self.virsh('destroy', name, timeout=30)
        self.virsh('undefine', name, timeout=30)

    def qmp(self, name, command):
        rc, out, err = self.virsh('qemu-monitor-command', name,
                                  json.dumps({'execute': command}))
        if rc != 0:
            raise HostError('QMP %s on %s failed: %s' % (command, name,
                                                         err.strip()))
        return json.loads(out)['return']

    def thread_snapshot(self, name):
        """QEMU's threads of a running domain, for ``checks.check_threads``."""
        with open(os.path.join(QEMU_RUN_DIR, '%s.pid' % name)) as f:
            pid = int(f.read().strip())
        vcpus = {c['cpu-index']: c['thread-id']
                 for c in self.qmp(name, 'query-cpus-fast')}
        iothreads = {}
        for t in self.qmp(name, 'query-iothreads'):
            m = re.search(r'(\d+)$', t['id'])
            if m:
                iothreads[int(m.group(1))] = t['thread-id']
        threads = {}
        for entry in os.listdir('/proc/%d/task' % pid):
            info = read_thread(pid, int(entry))
            if info is not None:
                threads[int(entry)] = info
        return {'pid': pid, 'vcpus': vcpus, 'iothreads': iothreads,
                'threads': threads}


def read_thread(pid, tid, proc='/proc'):
    """Class, priority, affinity and last CPU of one thread, or None."""
    base = '%s/%d/task/%d' % (proc, pid, tid)
    try:
        with open(base + '/stat') as f:
            stat = f.read()
        with open(base + '/status') as f:
            status = f.read()
    except OSError:
        return None      # the thread ended meanwhile
    comm = stat[stat.index('(') + 1:stat.rindex(')')]
    # Fields after the command, numbered as in proc(5): rest[0] is field 3.
    rest = stat[stat.rindex(')') + 2:].split()
    processor, rt_priority, policy = (int(rest[39 - 3]), int(rest[40 - 3]),
                                      int(rest[41 - 3]))
    m = re.search(r'^Cpus_allowed_list:\s*(\S*)', status, re.M)
    return {'comm': comm,
            'policy': POLICY_NAMES.get(policy, str(policy)),
            'priority': rt_priority,
            'affinity': checks.cpus(m.group(1) if m else '',
                                    'Cpus_allowed_list'),
            'processor': processor}
