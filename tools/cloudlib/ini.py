#!/usr/bin/env python3
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
"""Edit oslo.config style ini files in place, as devstack's inifile does.

    ini.py get FILE SECTION OPTION         # the last value; exit 1 if unset
    ini.py getall FILE SECTION OPTION      # every value, one a line
    ini.py set FILE SECTION OPTION VALUE   # one value, replacing all others
    ini.py add FILE SECTION OPTION VALUE...  # keep the values, add new ones
    ini.py del FILE SECTION OPTION         # remove the option

Other lines, comments and their order are kept. Options may repeat (oslo's
MultiStrOpt): ``set`` leaves exactly one line, ``add`` appends the values
not yet present, and ``get`` prints the last one, the value oslo.config
uses for a single-valued option. A missing file or section is created by
``set`` and ``add``.
"""

import os
import re
import sys

SECTION = re.compile(r'^\s*\[([^\]]+)\]\s*$')
OPTION = re.compile(r'^\s*([^#;=\s][^=]*?)\s*=\s?(.*)$')


class IniError(Exception):
    pass


def _read(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def _write(path, lines):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(''.join(line + '\n' for line in lines))
    if os.path.exists(path):
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
    os.replace(tmp, path)


def _section_bounds(lines, section):
    """(header index, end index) of ``section``, or None."""
    start = None
    for i, line in enumerate(lines):
        m = SECTION.match(line)
        if not m:
            continue
        if start is not None:
            return start, i
        if m.group(1).strip() == section:
            start = i
    return (start, len(lines)) if start is not None else None


def _options(lines, bounds, option):
    """Indexes and values of ``option`` in the section."""
    if bounds is None:
        return []
    found = []
    for i in range(bounds[0] + 1, bounds[1]):
        m = OPTION.match(lines[i])
        if m and m.group(1) == option:
            found.append((i, m.group(2).rstrip()))
    return found


def get_all(path, section, option):
    lines = _read(path)
    return [v for _, v in _options(lines, _section_bounds(lines, section),
                                   option)]


def _ensure_section(lines, section):
    bounds = _section_bounds(lines, section)
    if bounds is None:
        if lines and lines[-1].strip():
            lines.append('')
        lines.append('[%s]' % section)
        bounds = (len(lines) - 1, len(lines))
    return bounds


def _insert_at(lines, bounds):
    """After the section's last non-blank line."""
    end = bounds[1]
    while end - 1 > bounds[0] and not lines[end - 1].strip():
        end -= 1
    return end


def set_value(path, section, option, value):
    lines = _read(path)
    bounds = _ensure_section(lines, section)
    found = _options(lines, bounds, option)
    line = '%s = %s' % (option, value)
    if found:
        lines[found[0][0]] = line
        for i, _ in reversed(found[1:]):
            del lines[i]
    else:
        lines.insert(_insert_at(lines, bounds), line)
    _write(path, lines)


def add_values(path, section, option, values):
    lines = _read(path)
    bounds = _ensure_section(lines, section)
    present = [v for _, v in _options(lines, bounds, option)]
    at = _insert_at(lines, bounds)
    found = _options(lines, bounds, option)
    if found:
        at = found[-1][0] + 1
    for value in values:
        if value in present:
            continue
        lines.insert(at, '%s = %s' % (option, value))
        present.append(value)
        at += 1
    _write(path, lines)


def delete(path, section, option):
    lines = _read(path)
    found = _options(lines, _section_bounds(lines, section), option)
    for i, _ in reversed(found):
        del lines[i]
    if found:
        _write(path, lines)


USAGE = __doc__.split('\n\n')[1]


def main(argv):
    if len(argv) < 4:
        sys.stderr.write('usage:\n%s\n' % USAGE)
        return 2
    command, path, section, option = argv[:4]
    rest = argv[4:]
    if command == 'get' and not rest:
        values = get_all(path, section, option)
        if not values:
            return 1
        print(values[-1])
    elif command == 'getall' and not rest:
        for value in get_all(path, section, option):
            print(value)
    elif command == 'set' and len(rest) == 1:
        set_value(path, section, option, rest[0])
    elif command == 'add' and rest:
        add_values(path, section, option, rest)
    elif command == 'del' and not rest:
        delete(path, section, option)
    else:
        sys.stderr.write('usage:\n%s\n' % USAGE)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
