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
"""``nova-rt guest bundle``: nova-rt-guest for stock cloud images.

Writes the standard-library zipapp ``nova-rt-guest.pyz`` (the release
artifact), nova's StaticJSON vendordata that installs and runs it on every
server's first boot, and the user-data that does the same for one server
(which embeds the zipapp only while it fits nova's user_data limit;
otherwise ``--url`` names where guests download it, checked against its
sha256). See doc/source/guest-bundle.rst.
"""

import argparse
import hashlib
import os
import sys
import urllib.parse

from nova_rt.cmd import args as cmd_args
from nova_rt.core import exception
from nova_rt import guest_bundle

URL_SCHEMES = ('http', 'https', 'file')


def _url(text):
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme not in URL_SCHEMES or not (parsed.netloc or
                                                parsed.path):
        raise argparse.ArgumentTypeError(
            '%r is not an %s URL' % (text, '/'.join(URL_SCHEMES)))
    return text


def register(commands):
    parser = commands.add_parser(
        'guest', help='nova-rt-guest for stock cloud images; the running '
                      'guests\' drift')
    actions = parser.add_subparsers(dest='action', metavar='ACTION')
    actions.required = True
    bundle = actions.add_parser(
        'bundle', help='write the nova-rt-guest zipapp and the cloud-init '
                       'user-data and vendordata that run it on first boot')
    bundle.add_argument('--output-dir', required=True, metavar='DIR',
                        help='existing directory to write the files to')
    bundle.add_argument('--url', type=_url, metavar='URL',
                        help='where guests download nova-rt-guest.pyz from '
                             '(the user-data fetches it and checks its '
                             'sha256); without it the user-data embeds the '
                             'zipapp, when that fits nova\'s limit')
    bundle.set_defaults(func=write_bundle)
    return actions


def write_bundle(args, out=None):
    out = out or sys.stdout
    if not os.path.isdir(args.output_dir):
        raise exception.NovaRTError('output directory %s is not a directory'
                                    % args.output_dir)
    data, written, skipped = guest_bundle.write_bundle(args.output_dir,
                                                       args.url)
    out.write('%s: %d bytes, sha256 %s\n' % (
        written['zipapp'], len(data), hashlib.sha256(data).hexdigest()))
    out.write('%s: nova\'s [api] vendordata_jsonfile_path (StaticJSON)\n'
              % written['vendor_data'])
    if 'user_data' in written:
        out.write('%s: openstack server create --user-data ...\n'
                  % written['user_data'])
    else:
        out.write('no user-data: %s\n' % skipped)
    return cmd_args.EXIT_OK
