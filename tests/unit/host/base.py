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
"""Shared helpers: recorded trees built once per test process."""

import atexit
import copy
import os
import shutil
import tempfile

import testtools

from nova_rt import cpuset
from nova_rt.host import checks
from nova_rt.host import profile as host_profile
from tests.host_trees import build

_TREES = {}
_TMP = []

# Trees are thousands of tiny files in as many directories: on a tmpfs they
# build and copy two orders of magnitude faster than on a disk-backed /tmp.
TMP_BASE = '/dev/shm' if os.access('/dev/shm', os.W_OK) else None


def _tmpdir():
    path = tempfile.mkdtemp(prefix='nova-rt-tree-', dir=TMP_BASE)
    _TMP.append(path)
    return path


@atexit.register
def _cleanup():
    for path in _TMP:
        shutil.rmtree(path, ignore_errors=True)


def tree(name):
    """The root of the recorded tree ``name``, built once per process."""
    if name not in _TREES:
        _TREES[name] = build.build(build.load(name), _tmpdir())
    return _TREES[name]


def variant(name, **changes):
    """A fresh tree: description ``name`` with top-level keys replaced
    (a value of None removes the key's files)."""
    desc = copy.deepcopy(build.load(name))
    desc.update(changes)
    return build.build(desc, _tmpdir()), desc


def no_sleep(seconds):
    pass


def profile(name, smi_interval=0.01):
    return host_profile.read_profile(tree(name), smi_interval=smi_interval,
                                     sleep=no_sleep)


def conf_sets(desc):
    conf = desc.get('nova_conf') or {}
    sets = [conf.get(k) for k in ('cpu_dedicated_set', 'cpu_shared_set')]
    return tuple(None if s is None else cpuset.parse(s) for s in sets)


def audit(name, p=None, **kwargs):
    desc = build.load(name)
    dedicated, shared = conf_sets(desc)
    kwargs.setdefault('dedicated_cpus', dedicated)
    kwargs.setdefault('shared_cpus', shared)
    return checks.audit(p if p is not None else profile(name), **kwargs)


class TestCase(testtools.TestCase):
    def assertStatus(self, report, check, status):
        finding = report.finding(check)
        self.assertEqual(status, finding.status,
                         '%s: %s' % (check, finding.observed))
        return finding
