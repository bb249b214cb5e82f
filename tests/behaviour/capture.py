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
"""Capture what the ``nova-rt`` commands print, to compare two versions.

Runs ``nova-rt flavor explain`` (text and json) over a deterministic set of
flavors (hand-picked ones from the test fixtures plus seeded random
combinations of every key's values), and ``nova-rt host check --format
json`` and ``host plan --format json`` over every recorded host tree and
over damaged copies of them (each file of the tree deleted, emptied or
filled with garbage, one at a time). Records exit code, stdout and stderr.

    python -m tests.behaviour.capture OUT.json
    python -m tests.behaviour.capture --compare BEFORE.json AFTER.json
"""

import contextlib
import io
import json
import os
import random
import re
import sys
import tempfile

from nova_rt.cmd import main as cmd_main
from tests.host_trees import build

SEED = 12

HAND_PICKED = [
    (2, {}, {}),
    (2, {'hw:cpu_policy': 'dedicated'}, {}),
    (4, {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
         'hw:cpu_realtime_mask': '^0'}, {}),
    (4, {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
         'hw:cpu_realtime_mask': '^0', 'hw:emulator_threads_policy':
         'isolate', 'rt:emulator_scheduler': 'fifo',
         'rt:emulator_priority': '3'}, {}),
    (4, {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated'}, {}),
    (4, {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
         'hw:emulator_threads_policy': 'share',
         'rt:guest_tuning': 'none'}, {}),
    (8, {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
         'hw:cpu_realtime_mask': '0 - 3'}, {}),
    (8, {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
         'hw:cpu_realtime_mask': '^ 0'}, {}),
    (4, {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
         'hw:cpu_realtime_mask': '^0',
         'rt:guest_kernel_args': 'nohz-full=0 rcu-nocbs=0'}, {}),
    (4, {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
         'hw:cpu_realtime_mask': '^0',
         'rt:guest_kernel_args': 'nohz_full=0'}, {}),
    (4, {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
         'hw:cpu_realtime_mask': 'f' * 50}, {}),
    (4, {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
         'hw:cpu_realtime_mask': '1' * 5000}, {}),
    (4, {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
         'rt:l3_cache_kib': '1' * 5000}, {}),
    (4, {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated'},
     {'hw_cpu_realtime_mask': '^0-1', 'hw_pmu': 'yes'}),
    (4, {'hw:cpu_realtime': 'yes'}, {'hw_cpu_policy': 'dedicated'}),
    (3, {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated',
         'hw:cpu_realtime_mask': '^0', 'hw:numa_nodes': '2'}, {}),
    (2, {'rt:vcpu_priority': '5'}, {}),
]

POOLS = {
    'hw:cpu_realtime': ['yes', 'no', 'true', 'garbage'],
    'hw:cpu_policy': ['dedicated', 'shared', 'mixed', 'bogus'],
    'hw:cpu_realtime_mask': ['^0', '^0-1', '1-3', '0', '0-7', '^', '',
                             '^0,^1', '9', '3-1', 'x'],
    'hw:emulator_threads_policy': ['share', 'isolate', 'bad'],
    'hw:cpu_thread_policy': ['prefer', 'isolate', 'require', 'bad'],
    'hw:pmu': ['true', 'false', 'maybe'],
    'hw:numa_nodes': ['1', '2', '0', 'x', '9'],
    'hw:mem_page_size': ['1GB', 'large', '2048'],
    'rt:vcpu_scheduler': ['fifo', 'rr', 'deadline'],
    'rt:vcpu_priority': ['1', '10', '49', '50', '99', '0', 'x'],
    'rt:emulator_scheduler': ['other', 'fifo', 'rr', 'idle'],
    'rt:emulator_priority': ['1', '20', '60', 'x'],
    'rt:guest_tuning': ['auto', 'none', 'manual'],
    'rt:guest_idle_poll': ['true', 'false', 'sometimes'],
    'rt:guest_kernel_args': ['quiet', 'a=b c', 'isolcpus=1', '--',
                             'x;y', 'nohz-full=0', 'mitigations=off'],
    'rt:l3_cache_kib': ['1024', '0', 'x'],
    'rt:max_latency_us': ['20', '0', 'x'],
    'rt:host_kernel': ['preempt_rt', 'any', 'other'],
    'rt:bogus': ['1'],
}
IMAGE_POOLS = {
    'hw_cpu_realtime_mask': ['^0', '^1', '0-1', 'x'],
    'hw_cpu_policy': ['dedicated', 'shared'],
    'hw_cpu_thread_policy': ['prefer', 'isolate'],
    'hw_pmu': ['true', 'false'],
    'hw_numa_nodes': ['1', '2'],
    'hw_mem_page_size': ['large', '1GB'],
}


def flavor_cases(count=600):
    rnd = random.Random(SEED)
    cases = list(HAND_PICKED)
    for _ in range(count):
        vcpus = rnd.choice((1, 2, 3, 4, 8, 16))
        specs = {'hw:cpu_realtime': 'yes', 'hw:cpu_policy': 'dedicated'}
        if rnd.random() < 0.1:
            specs = {}
        for key, pool in POOLS.items():
            if rnd.random() < 0.25:
                specs[key] = rnd.choice(pool)
        image = {key: rnd.choice(pool) for key, pool in IMAGE_POOLS.items()
                 if rnd.random() < 0.1}
        cases.append((vcpus, specs, image))
    return cases


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cmd_main.main(argv)
        except SystemExit as e:
            code = e.code
    return {'exit': code, 'stdout': out.getvalue(), 'stderr': err.getvalue()}


def capture_flavors(results, conf_file):
    for i, (vcpus, specs, image) in enumerate(flavor_cases()):
        argv = ['flavor', 'explain', '--vcpus', str(vcpus)]
        for key, value in sorted(specs.items()):
            argv += ['--property', '%s=%s' % (key, value)]
        for key, value in sorted(image.items()):
            argv += ['--image-property', '%s=%s' % (key, value)]
        for fmt in ('text', 'json'):
            results['flavor/%d/%s' % (i, fmt)] = run(
                argv + ['--format', fmt])
        if i % 10 == 0:
            results['flavor/%d/conf' % i] = run(
                argv + ['--format', 'json', '--config-file', conf_file])


def _host(root, extra=()):
    conf = os.path.join(root, 'etc/nova/nova.conf')
    cfg = ['--config-file', conf] if os.path.exists(conf) else []
    check = run(['host', 'check', '--root', root, '--format', 'json',
                 '--smi-interval', '0'] + cfg + list(extra))
    plan = run(['host', 'plan', '--root', root, '--format', 'json'] + cfg)
    return check, plan


def _files(root):
    found = []
    for top, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(top, name)
            if not os.path.islink(path):
                found.append(path)
    return found


# Damaged copies of the big tree: one file in this many (it has thousands).
BIG_TREE_EVERY = 40


def capture_trees(results, tmp, every=1):
    for name in build.NAMES:
        root = build.build(build.load(name), os.path.join(tmp, name))
        step = every * (BIG_TREE_EVERY if name == 'big-256' else 1)
        check, plan = _host(root)
        results['tree/%s/check' % name] = check
        results['tree/%s/plan' % name] = plan
        files = _files(root)
        for n, path in enumerate(files):
            if n % step:
                continue
            rel = os.path.relpath(path, root)
            with open(path, 'rb') as f:
                saved = f.read()
            for how, data in (('deleted', None), ('empty', b''),
                              ('garbage', b'x\x00\xff 9999999999 (\n')):
                if data is None:
                    os.unlink(path)
                else:
                    with open(path, 'wb') as f:
                        f.write(data)
                check, plan = _host(root)
                key = 'tree/%s/%s/%s' % (name, how, rel)
                results[key + '/check'] = check
                results[key + '/plan'] = plan
                with open(path, 'wb') as f:
                    f.write(saved)


# The recorded trees stamp their latency certificate relative to the
# current time (tests/host_trees/build.py), so two captures of the same code
# differ only there.
_TIMESTAMP = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ')


def normalise(results, roots):
    text = json.dumps(results, sort_keys=True)
    for root in roots:
        text = text.replace(root, '<ROOT>')
    return json.loads(_TIMESTAMP.sub('<TIME>', text))


def capture(every):
    results = {}
    with tempfile.TemporaryDirectory(dir='/dev/shm') as tmp:
        conf = os.path.join(tmp, 'nova.conf')
        with open(conf, 'w') as f:
            f.write('[nova_rt]\ndefault_vcpu_priority = 20\n'
                    'max_vcpu_priority = 10\nrequire_preempt_rt = false\n')
        capture_flavors(results, conf)
        capture_trees(results, tmp, every)
        return normalise(results, [tmp])


def compare(before_file, after_file):
    with open(before_file) as f:
        before = json.load(f)
    with open(after_file) as f:
        after = json.load(f)
    differ = sorted(k for k in set(before) | set(after)
                    if before.get(k) != after.get(k))
    for key in differ[:20]:
        print('DIFFERS: %s\n  before: %r\n  after:  %r'
              % (key, before.get(key), after.get(key)))
    print('%d cases, %d differ' % (len(set(before) | set(after)),
                                   len(differ)))
    return 1 if differ else 0


def main(argv):
    if argv[:1] == ['--compare']:
        return compare(argv[1], argv[2])
    every = int(os.environ.get('NOVA_RT_CAPTURE_EVERY', '1'))
    results = capture(every)
    with open(argv[0], 'w') as f:
        json.dump(results, f, indent=1, sort_keys=True)
    print('%d cases written to %s' % (len(results), argv[0]))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
