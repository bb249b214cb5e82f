#!/bin/sh
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
#
# nova-rt's first boot step, run once by cloud-init (runcmd) as root:
# install nova-rt-guest (downloaded and checked against its sha256 unless
# the cloud-config wrote it already), make the real-time kernel arguments
# the host delivered persistent in the boot loader, and leave a marker
# for cloud-init's power_state to reboot once when the running kernel does
# not have them yet. A guest without nova-rt's OEM strings (not real-time)
# is left alone. Arguments are passed to `nova-rt-guest apply`.
# Written by `nova-rt guest bundle`: see doc/source/guest-bundle.rst.
set -u
url=@URL@
sha256=@SHA256@
app=${NOVA_RT_GUEST_APP:-/usr/local/bin/nova-rt-guest}
state=${NOVA_RT_GUEST_STATE:-/run/nova-rt-guest}
me=nova-rt-guest-firstboot

mkdir -p "$state" "$(dirname "$app")" || exit 2
rm -f "$state/reboot"
if [ ! -x "$app" ]; then
    if [ -z "$url" ]; then
        echo "$me: $app is missing and there is no URL to fetch it from" >&2
        exit 2
    fi
    # Download to a temporary file beside it; install only a file whose
    # sha256 matches, so a failure leaves nothing half-written.
    if ! python3 - "$url" "$sha256" "$app" <<'PY'
import hashlib, os, sys, tempfile, urllib.request
url, digest, app = sys.argv[1:]
try:
    with urllib.request.urlopen(url, timeout=60) as response:
        data = response.read(64 * 1024 * 1024)
except (OSError, ValueError) as e:
    sys.exit('nova-rt-guest-firstboot: cannot download %s: %s' % (url, e))
got = hashlib.sha256(data).hexdigest()
if got != digest:
    sys.exit('nova-rt-guest-firstboot: %s has sha256 %s, not %s'
             % (url, got, digest))
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(app), prefix='.nova-rt-guest.')
try:
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
    os.chmod(tmp, 0o755)
    os.replace(tmp, app)
except OSError as e:
    os.unlink(tmp)
    sys.exit('nova-rt-guest-firstboot: cannot install %s: %s' % (app, e))
PY
    then
        exit 2
    fi
fi

"$app" apply --format json "$@" >"$state/apply.json"
rc=$?
case $rc in
    0)
        if grep -q '"reboot_needed": true' "$state/apply.json"; then
            : >"$state/reboot"
            echo "$me: kernel arguments made persistent; rebooting once"
        else
            echo "$me: the running kernel has the kernel arguments already"
        fi ;;
    1)
        echo "$me: not a nova-rt real-time guest (no nova-rt OEM strings):" \
             "nothing to do" ;;
    *)
        echo "$me: nova-rt-guest apply failed (exit $rc)" >&2
        exit "$rc" ;;
esac
exit 0
