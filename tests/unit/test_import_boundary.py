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
"""The packages that never import Nova (doc/source/design.rst, "Which
packages may import Nova"), checked on their source: every import in every
file, at any depth (inside functions too), so a lazy import counts.
"""

import ast
import os

import testtools

import nova_rt

ROOT = os.path.dirname(os.path.abspath(nova_rt.__file__))

# Relative to nova_rt/: whole packages, and the modules of scheduler/ that
# are not its adapters (filters.py and weights.py, which import Nova).
NO_NOVA = (
    'core',
    'guest',
    'guest_bundle',
    'host',
    'latency',
    'operator',
    'scheduler/__init__.py',
    'scheduler/packing.py',
    'scheduler/prefilter.py',
    'watch',
)

# Outside virt/, only the upgrade check loads the driver: it compares the
# methods the driver overrides with the installed Nova's.
VIRT_USERS = (os.path.join('nova_rt', 'cmd', 'status.py'),)

# Calls that import the module named by their first argument.
_IMPORT_CALLS = frozenset(['__import__', 'import_module', 'import_class',
                           'import_object', 'try_import'])


def _is_nova(module):
    return module == 'nova' or module.startswith('nova.')


def _call_name(func):
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _imported(node):
    """The absolute module names ``node`` imports."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        # A relative import stays inside nova_rt.
        return [node.module] if not node.level else []
    if (isinstance(node, ast.Call) and _call_name(node.func) in _IMPORT_CALLS
            and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)):
        return [node.args[0].value]
    return []


def nova_imports(source, filename='<string>'):
    """Sorted (line, module) of every import of Nova in ``source``."""
    return sorted((node.lineno, module)
                  for node in ast.walk(ast.parse(source, filename))
                  for module in _imported(node) if _is_nova(module))


def checked_files():
    """Every .py file of ``NO_NOVA``, relative to nova_rt/'s parent."""
    files = []
    for entry in NO_NOVA:
        path = os.path.join(ROOT, entry)
        if os.path.isfile(path):
            files.append(path)
        for top, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d != '__pycache__')
            files.extend(os.path.join(top, n) for n in sorted(names)
                         if n.endswith('.py'))
    return [os.path.relpath(f, os.path.dirname(ROOT)) for f in files]


class ImportBoundaryTest(testtools.TestCase):

    def test_no_nova_imports(self):
        found = []
        for rel in checked_files():
            with open(os.path.join(os.path.dirname(ROOT), rel)) as f:
                source = f.read()
            found.extend('%s:%d: imports %s' % (rel, line, module)
                         for line, module in nova_imports(source, rel))
        self.assertEqual([], found, 'these packages must not import Nova '
                         '(doc/source/design.rst):\n' + '\n'.join(found))

    def test_only_virt_imports_virt(self):
        """The driver's helpers serve the driver: what the host audit or a
        command shares with it is a rule of core/.
        """
        found = []
        for top, dirs, names in os.walk(ROOT):
            dirs[:] = sorted(d for d in dirs if d != '__pycache__')
            for name in sorted(n for n in names if n.endswith('.py')):
                path = os.path.join(top, name)
                rel = os.path.relpath(path, os.path.dirname(ROOT))
                if rel.startswith(os.path.join('nova_rt', 'virt', '')) or \
                        rel in VIRT_USERS:
                    continue
                with open(path) as f:
                    tree = ast.parse(f.read(), rel)
                found.extend('%s:%d: imports %s' % (rel, node.lineno, module)
                             for node in ast.walk(tree)
                             for module in _imported(node)
                             if module == 'nova_rt.virt' or
                             module.startswith('nova_rt.virt.'))
        self.assertEqual([], found, 'only nova_rt/virt/ may import it:\n'
                         + '\n'.join(found))

    def test_checker_reports_nova_imports(self):
        source = '\n'.join([
            'import os',
            'import nova.objects',
            'from nova import exception',
            'import nova_rt.core',
            'from nova_rt.core import cpuset',
            'import novaclient',
            'from . import sibling',
            '',
            'def f():',
            '    from nova.virt import hardware',
            '    importlib.import_module("nova.conf")',
            '    import os.path, nova',
            '',
        ])
        self.assertEqual([(2, 'nova.objects'), (3, 'nova'),
                          (10, 'nova.virt'), (11, 'nova.conf'),
                          (12, 'nova')], nova_imports(source))

    def test_checker_passes_clean_source(self):
        self.assertEqual([], nova_imports(
            'import nova_rt\nfrom nova_rt.core import request\n'
            'import novaclient\n'))

    def test_what_is_checked_exists(self):
        self.assertTrue(NO_NOVA)
        for entry in NO_NOVA:
            self.assertTrue(os.path.exists(os.path.join(ROOT, entry)), entry)
        files = checked_files()
        for entry in NO_NOVA:
            prefix = os.path.join('nova_rt', entry)
            self.assertTrue([f for f in files if f.startswith(prefix)],
                            '%s has no Python file' % entry)
        self.assertIn(os.path.join('nova_rt', 'core', 'request.py'), files)
