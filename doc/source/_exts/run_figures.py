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
"""``.. run-figures:: RUN``: a block of figures rendered from
doc/source/figures/RUN.json (a run's collected figures, tools/figures.py),
stamped with the run, its date, commit and machine.

The block's content is reStructuredText with ``{key}`` fields. The build
fails (warnings are errors) on a block without a run, a run without its
file, a field the run did not record, and a section titled "Measured..."
without a figures block: a figure in the docs comes from a run.
"""

import os

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from nova_rt_tempest_plugin import figures
from sphinx.util import logging

LOG = logging.getLogger(__name__)

FIGURES_DIR = 'figures'


class run_figures(nodes.container):
    """The rendered block, kept as a node so the section check finds it."""


class RunFigures(Directive):
    required_arguments = 0
    optional_arguments = 1
    has_content = True

    def run(self):
        env = self.state.document.settings.env
        if not self.arguments:
            raise self.error('run-figures: no run named: a figure block '
                             'needs the run its figures come from')
        run = self.arguments[0]
        rel = os.path.join(FIGURES_DIR, run + '.json')
        path = os.path.join(env.srcdir, rel)
        env.note_dependency(path)
        try:
            document = figures.load(path)
            text = figures.render('\n'.join(self.content), document)
        except figures.FiguresError as e:
            raise self.error('run-figures %s: %s' % (run, e))
        node = run_figures()
        lines = StringList(text.splitlines() + [
            '', '*%s* (``doc/source/%s``)' % (figures.stamp(document),
                                              rel)],
            source=self.state.document.current_source)
        self.state.nested_parse(lines, self.content_offset, node)
        return [node]


def check_measured_sections(app, doctree):
    for section in doctree.findall(nodes.section):
        title = section.next_node(nodes.title)
        if title is None or not title.astext().startswith('Measured'):
            continue
        if next(iter(section.findall(run_figures)), None) is None:
            LOG.warning('section "%s" gives measured figures without a '
                        'run-figures block', title.astext(),
                        location=section)


def visit(self, node):
    self.visit_container(node)


def depart(self, node):
    self.depart_container(node)


def setup(app):
    app.add_node(run_figures, html=(visit, depart))
    app.add_directive('run-figures', RunFigures)
    app.connect('doctree-read', check_measured_sections)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
