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
"""The two pictures of a run, as PNG, when matplotlib is importable.

``histogram.png``: how many wake-ups took how long, one line per CPU,
counts on a log scale (the rare slow wake-ups are what matters), the
bound and the histogram limit marked. ``worst-per-slice.png``: the worst
wake-up of each slice of the run over time, per CPU (the talk's "jitter
plot"), for runs done in slices.
"""

import os

from nova_rt.latency import LatencyError

HINT = ('plots need matplotlib: pip install "nova-rt[plot]" (or apt-get '
        'install python3-matplotlib)')


def available():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot
    return pyplot


def _title(result):
    where = result.where or 'cyclictest'
    kernel = result.kernel_release or 'unknown kernel'
    rt = ' PREEMPT_RT' if result.preempt_rt else ''
    return '%s, kernel %s%s, %s s, load: %s' % (
        where, kernel, rt, ('%.0f' % result.duration_s),
        result.load or 'none')


def _save(pyplot, fig, ax, path):
    """Write one finished chart to ``path`` and free its figure."""
    ax.legend(fontsize=8, loc='upper right')
    fig.tight_layout()
    fig.savefig(path)
    pyplot.close(fig)
    return path


def histogram(result, path, bound_us=None):
    pyplot = _pyplot()
    fig, ax = pyplot.subplots(figsize=(9, 5.5), dpi=100)
    highest = 1
    for s in result.cpus:
        if not s.histogram:
            continue
        low, high = min(s.histogram), max(s.histogram)
        highest = max(highest, high)
        # Empty buckets are masked on the log scale: the line breaks
        # there instead of bridging them, and a lone bucket is a dot.
        buckets = list(range(low, high + 1))
        counts = [s.histogram.get(b, 0) for b in buckets]
        ax.plot(buckets, counts, drawstyle='steps-mid', marker='.',
                markersize=3, linewidth=1,
                label='CPU %d: max %s us, %d samples%s' % (
                    s.cpu, s.max_us, s.samples,
                    ', %d beyond the limit' % s.overflows
                    if s.overflows else ''))
    overall = result.overall
    if overall.max_us:
        ax.axvline(overall.max_us, color='black', linestyle=':',
                   label='worst wake-up: %d us' % overall.max_us)
    if bound_us:
        ax.axvline(bound_us, color='red', linestyle='--',
                   label='bound: %d us' % bound_us)
    if result.histogram_limit_us and overall.overflows:
        ax.axvline(result.histogram_limit_us, color='grey',
                   linestyle='-.', label='histogram limit: %d us'
                   % result.histogram_limit_us)
    ax.set_yscale('log', nonpositive='mask')
    lowest = min((min(s.histogram) for s in result.cpus if s.histogram),
                 default=1)
    right = max(highest, overall.max_us or 1, bound_us or 1)
    if right / max(lowest, 1) > 50:
        ax.set_xscale('log')
    ax.set_xlabel('wake-up latency (microseconds)')
    ax.set_ylabel('number of wake-ups (log scale)')
    ax.set_title('Latency histogram: %s' % _title(result), fontsize=10)
    ax.grid(True, which='major', alpha=0.3)
    return _save(pyplot, fig, ax, path)


def worst_per_slice(result, path, bound_us=None):
    pyplot = _pyplot()
    fig, ax = pyplot.subplots(figsize=(9, 5.5), dpi=100)
    cpus = sorted({c for s in result.slices for c in s.max_us})
    values = []
    for cpu in cpus:
        xs = [s.offset_s for s in result.slices
              if s.max_us.get(cpu) is not None]
        ys = [s.max_us[cpu] for s in result.slices
              if s.max_us.get(cpu) is not None]
        values += ys
        ax.plot(xs, ys, marker='o', markersize=3, linewidth=1,
                label='CPU %d' % cpu)
    if bound_us:
        ax.axhline(bound_us, color='red', linestyle='--',
                   label='bound: %d us' % bound_us)
    if values and max(values) > 20 * max(1, sorted(values)[len(values) // 2]):
        ax.set_yscale('log')
    slice_s = result.slices[0].duration_s if result.slices else 0
    ax.set_xlabel('time since the start of the run (seconds)')
    ax.set_ylabel('worst wake-up latency in the slice (microseconds)')
    ax.set_title('Worst latency per %.0f s slice: %s'
                 % (slice_s, _title(result)), fontsize=10)
    ax.grid(True, alpha=0.3)
    return _save(pyplot, fig, ax, path)


def plot(result, directory, bound_us=None):
    """Write the PNGs into ``directory``; their paths.

    :raises: LatencyError without matplotlib (``HINT`` says how to get it)
    """
    if not available():
        raise LatencyError(HINT)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise LatencyError('cannot create %s: %s' % (directory, e.strerror))
    paths = [histogram(result, os.path.join(directory, 'histogram.png'),
                       bound_us)]
    if len(result.slices) > 1:
        paths.append(worst_per_slice(
            result, os.path.join(directory, 'worst-per-slice.png'),
            bound_us))
    return paths
