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
"""Running cyclictest: the command line, the CPUs, the slices, stopping.

One measuring thread per measured CPU, pinned there, SCHED_FIFO at the
chosen priority, memory locked, a histogram kept, cyclictest's main thread
and nova-rt itself kept on the housekeeping CPUs (the online CPUs not
measured). cyclictest runs in slices (one invocation per slice, each
writing its own ``--json`` file): the worst latency per slice is the
jitter plot, the progress display needs no parsing of cyclictest's
screen, and an interrupted run loses at most the slice in flight's tail,
since cyclictest writes its file on SIGINT too. The gap between two slices
(process start-up, a few ms) is not measured.

``--default-system`` keeps cyclictest from tuning the machine while it
measures (it would otherwise hold ``/dev/cpu_dma_latency`` at 0): what is
certified is the host as its guests find it.
"""

import dataclasses
import datetime
import math
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import typing

from nova_rt.core import cpuset
from nova_rt.latency import cyclictest
from nova_rt.latency import LatencyError
from nova_rt.latency import result as result_mod

INSTALL_HINT = ('install rt-tests: apt-get install rt-tests (Debian, '
                'Ubuntu), dnf install realtime-tests (Fedora, RHEL, '
                'CentOS Stream)')
STRESS_HINT = 'install stress-ng: apt-get install stress-ng / dnf install ' \
              'stress-ng'
LOADS = ('stress-ng',)
MSR_SMI_COUNT = 0x34     # Intel SDM vol. 4: MSR_SMI_COUNT, bits 31:0
_VERSION = re.compile(r'cyclictest V ?([0-9]+)\.([0-9]+)')
# Slices: about this many, each at least one second and at most a minute.
SLICES_WANTED = 60
MAX_SLICE_S = 60


@dataclasses.dataclass(frozen=True)
class Plan:
    cpus: typing.FrozenSet[int]
    housekeeping: typing.FrozenSet[int]
    priority: int
    interval_us: int
    histogram_us: int
    duration_s: int
    slice_s: int
    load: typing.Optional[str] = None


def find_tool(name, hint, search_path=None):
    path = shutil.which(name, path=search_path)
    if path is None:
        raise LatencyError('%s is not on PATH: %s' % (name, hint))
    return path


def tool_version(binary):
    """cyclictest's version as (major, minor); --json needs 2.0 or later."""
    try:
        proc = subprocess.run([binary, '--help'], capture_output=True,
                              text=True, errors='replace', timeout=30,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError) as e:
        raise LatencyError('cannot run %s: %s' % (binary, e))
    m = _VERSION.search(proc.stdout + proc.stderr)
    if not m:
        raise LatencyError('%s --help names no version: is it cyclictest '
                           'from rt-tests?' % binary)
    version = (int(m.group(1)), int(m.group(2)))
    if version < (2, 0):
        raise LatencyError('cyclictest %d.%d has no --json output: %s'
                           % (version + (INSTALL_HINT,)))
    return version


def slice_lengths(duration_s, slice_s):
    """Whole seconds (cyclictest's -D resolution) adding up to duration."""
    full, rest = divmod(duration_s, slice_s)
    return [slice_s] * full + ([rest] if rest else [])


def default_slice(duration_s):
    return max(1, min(MAX_SLICE_S, math.ceil(duration_s / SLICES_WANTED)))


def cyclictest_argv(binary, plan, seconds, json_path):
    argv = [binary, '--mlockall', '--quiet', '--default-system',
            '--policy=fifo', '--priority=%d' % plan.priority,
            '--interval=%d' % plan.interval_us,
            '--histogram=%d' % plan.histogram_us,
            '--threads=%d' % len(plan.cpus),
            '--affinity=%s' % cpuset.format(plan.cpus),
            '--duration=%d' % seconds,
            '--json=%s' % json_path]
    if plan.housekeeping:
        argv.append('--mainaffinity=%s' % cpuset.format(plan.housekeeping))
    return argv


def stress_argv(binary, housekeeping, seconds):
    """CPU, memory and I/O load on the housekeeping CPUs (KVM4NFV-style).

    Its affinity comes from nova-rt's own, already on the housekeeping
    CPUs; ``--taskset`` says so again for anyone reading the result.
    """
    n = len(housekeeping)
    return [binary, '--taskset', cpuset.format(housekeeping),
            '--cpu', str(n), '--vm', '1', '--vm-bytes', '128M',
            '--io', '1', '--timeout', '%ds' % seconds]


def read_smi_count(root, cpu):
    """MSR_SMI_COUNT of ``cpu`` through the msr driver, or None."""
    path = os.path.join(root, 'dev/cpu/%d/msr' % cpu)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        raw = os.pread(fd, 8, MSR_SMI_COUNT)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(raw) != 8:
        return None
    return struct.unpack('<Q', raw)[0] & 0xffffffff


class _Stopper:
    """SIGINT/SIGTERM stop the run: the slice in flight gets SIGINT (so
    cyclictest writes its file), and no new slice starts.
    """

    def __init__(self):
        self.stopped = None
        self.child = None
        self._saved = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame):
        self.stopped = signal.Signals(signum).name
        child = self.child
        if child is not None and child.poll() is None:
            try:
                child.send_signal(signal.SIGINT)
            except OSError:
                pass


class Progress:
    """One updating line on a terminal; nothing otherwise."""

    def __init__(self, stream=None, total_s=0):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.total_s = total_s

    def update(self, elapsed_s, worst):
        if not self.enabled:
            return
        text = ', '.join('CPU %d %s us' % (cpu, '-' if v is None else v)
                         for cpu, v in sorted(worst.items()))
        self.stream.write('\r\033[K%4d/%d s, %d s left; worst so far: %s'
                          % (elapsed_s, self.total_s,
                             max(0, self.total_s - elapsed_s), text))
        self.stream.flush()

    def done(self):
        if self.enabled:
            self.stream.write('\n')
            self.stream.flush()


def _stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _tail(path):
    try:
        with open(path, errors='replace') as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
    except OSError:
        return ''
    return lines[-1] if lines else ''


def _tools(plan, search_path):
    """cyclictest's path, and stress-ng's when the plan loads the host."""
    binary = find_tool('cyclictest', INSTALL_HINT, search_path)
    tool_version(binary)
    stress = None
    if plan.load == 'stress-ng':
        stress = find_tool('stress-ng', STRESS_HINT, search_path)
        if not plan.housekeeping:
            raise LatencyError('--load stress-ng needs housekeeping CPUs '
                               'to load, and every online CPU is measured')
    return binary, stress


def _start_load(stress, plan):
    """The stress-ng process and how the result names the load."""
    argv = stress_argv(stress, plan.housekeeping, plan.duration_s + 30)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            start_new_session=True)
    return proc, ' '.join(['stress-ng'] + argv[1:-2])


def _slice(binary, plan, seconds, path, stopper):
    """One cyclictest invocation: its run (None when stopped before it
    wrote its file) and the seconds it took.
    """
    err_path = path[:-len('.json')] + '.stderr'
    argv = cyclictest_argv(binary, plan, seconds, path)
    began = time.monotonic()
    with open(err_path, 'w') as err:
        stopper.child = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=err, start_new_session=True)
        rc = stopper.child.wait()
        stopper.child = None
    took = time.monotonic() - began
    if os.path.getsize(err_path) == 0:
        os.unlink(err_path)
    if rc != 0 and not stopper.stopped:
        raise LatencyError('cyclictest failed with exit code %d: %s '
                           '(command: %s)' % (rc, _tail(err_path) or
                                              'no message', ' '.join(argv)))
    if not os.path.exists(path) and stopper.stopped:
        return None, took
    return cyclictest.read(path), took


class _Measurement:
    """The slices measured so far."""

    def __init__(self, plan):
        self.runs, self.files, self.durations = [], [], []
        self.worst = {c: None for c in plan.cpus}
        self.elapsed = 0

    def add(self, run, path, seconds, took):
        self.runs.append(run)
        self.files.append(path)
        self.durations.append(float(min(took, seconds)))
        self.elapsed += seconds
        for s in run.cpus:
            if s.max_us is not None and (self.worst.get(s.cpu) is None or
                                         s.max_us > self.worst[s.cpu]):
                self.worst[s.cpu] = s.max_us


def _smi_delta(before, after):
    if before is None or after is None:
        return None
    return (after - before) & 0xffffffff


def measure(plan, json_dir, where, ident, root='/', search_path=None,
            progress=None, log=None):
    """Run cyclictest as planned; the result, complete or not.

    :param json_dir: where cyclictest's own files go (created)
    :param ident: the measured machine's ``identity.Identity``
    :raises: LatencyError when cyclictest (or stress-ng) cannot run
    """
    binary, stress = _tools(plan, search_path)
    try:
        os.makedirs(json_dir, exist_ok=True)
    except OSError as e:
        raise LatencyError('cannot create %s: %s' % (json_dir, e.strerror))
    progress = progress or Progress(total_s=plan.duration_s)
    smi_cpu = min(plan.housekeeping or plan.cpus)
    smi_before = read_smi_count(root, smi_cpu)
    old_affinity = os.sched_getaffinity(0)
    done, load_text, load_proc = _Measurement(plan), None, None
    began = datetime.datetime.now(datetime.timezone.utc)
    with _Stopper() as stopper:
        try:
            if plan.housekeeping:
                # nova-rt and its children stay off the measured CPUs.
                os.sched_setaffinity(0, plan.housekeeping)
            if stress:
                load_proc, load_text = _start_load(stress, plan)
            for n, seconds in enumerate(
                    slice_lengths(plan.duration_s, plan.slice_s), 1):
                if stopper.stopped:
                    break
                path = os.path.join(json_dir, 'slice-%03d.json' % n)
                run, took = _slice(binary, plan, seconds, path, stopper)
                if run is None:
                    break
                done.add(run, path, seconds, took)
                progress.update(done.elapsed, done.worst)
        finally:
            _stop(load_proc)
            progress.done()
            os.sched_setaffinity(0, old_affinity)
    if not done.runs:
        raise LatencyError('stopped by %s before cyclictest wrote any '
                           'result' % stopper.stopped)
    if log and stopper.stopped:
        log('stopped by %s: the result is marked incomplete'
            % stopper.stopped)
    return result_mod.from_runs(
        done.runs, where=where, load=load_text,
        smi_delta=_smi_delta(smi_before, read_smi_count(root, smi_cpu)),
        complete=not stopper.stopped and all(r.complete for r in done.runs),
        cmdline_sha256=ident.kernel_cmdline_sha256, json_files=done.files,
        durations=done.durations, run_start=began)
