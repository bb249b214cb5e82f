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

from nova_rt.core import cpuset
from nova_rt.host import checks
from nova_rt.host import profile as host_profile
from nova_rt.host import reader as host_reader
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
    (a value of None removes the key's files).
    """
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


DAMAGES = ('delete', 'empty', 'garbage', 'truncate', 'directory',
           'delete-parent', 'deny')


class DamagedReader(host_reader.HostReader):
    """A recorded tree seen with damage, without copying it: files deleted,
    emptied, replaced, truncated, turned into directories, their directory
    deleted, or denied. Reads follow symlinks to the damaged file, as they
    would in a damaged copy of the tree.
    """

    def __init__(self, root, scratch):
        super().__init__(root)
        self.scratch = scratch
        self.redirect = {}      # real path -> the path read instead
        self.gone = []          # real paths of deleted directories
        self.denied = set()
        self._real_dirs = {}

    def _real(self, path):
        # realpath of the directory once per directory: the audit reads
        # thousands of files from a few hundred directories.
        head, tail = os.path.split(path)
        if head not in self._real_dirs:
            self._real_dirs[head] = os.path.realpath(head)
        joined = os.path.join(self._real_dirs[head], tail)
        return os.path.realpath(joined) if os.path.islink(joined) else joined

    def _elsewhere(self, content=None, directory=False):
        path = os.path.join(self.scratch, str(len(os.listdir(self.scratch))))
        if directory:
            os.mkdir(path)
        elif content is not None:
            with open(path, 'wb') as f:
                f.write(content)
        return path     # neither: a path that does not exist

    def damage(self, rel, action, junk=b''):
        real = self._real(super().path(rel))
        if action == 'deny':
            self.denied.add(real)
        elif action == 'delete-parent':
            self.gone.append(os.path.dirname(real))
        elif action == 'directory':
            self.redirect[real] = self._elsewhere(directory=True)
        elif action == 'delete':
            self.redirect[real] = self._elsewhere()
        else:
            with open(real, 'rb') as f:
                content = f.read()
            self.redirect[real] = self._elsewhere({
                'empty': b'', 'garbage': junk,
                'truncate': content[:len(content) // 2]}[action])

    def path(self, rel):
        given = super().path(rel)
        real = self._real(given)
        for gone in self.gone:
            if real == gone or real.startswith(gone + os.sep):
                return os.path.join(self.scratch, 'gone')
        return self.redirect.get(real, given)

    def _check(self, rel):
        if self._real(super().path(rel)) in self.denied:
            raise host_reader.HostFileDenied(rel, 'not readable (test)')

    def read_bytes(self, rel):
        self._check(rel)
        return super().read_bytes(rel)

    def read_at(self, rel, offset, size):
        self._check(rel)
        return super().read_at(rel, offset, size)

    def find_line(self, rel, prefix):
        self._check(rel)
        return super().find_line(rel, prefix)


def files(root):
    """Every regular file of a tree, relative to its root."""
    found = []
    for top, dirs, names in os.walk(root):
        for name in names:
            found.append(os.path.relpath(os.path.join(top, name), root))
    return sorted(found)


class TestCase(testtools.TestCase):
    def assertStatus(self, report, check, status):
        finding = report.finding(check)
        self.assertEqual(status, finding.status,
                         '%s: %s' % (check, finding.observed))
        return finding
