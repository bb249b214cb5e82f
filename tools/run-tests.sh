#!/usr/bin/env bash
# Run nova-rt's test suite: unit, functional, then the real libvirt/QEMU
# tier. Creates .venv (or $NOVA_RT_VENV) when missing and installs nova-rt
# with its test requirements into it.
#
#   tools/run-tests.sh              # unit, functional and real
#   tools/run-tests.sh unit         # one tier: unit, functional or real
#   tools/run-tests.sh integration  # a real cloud (tools/cloud up), nova-rt's
#                                   # tempest plugin against it, cloud down
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
venv=${NOVA_RT_VENV:-$top/.venv}
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
stamp="$venv/.nova-rt-installed"
if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || \
        [ test-requirements.txt -nt "$stamp" ] || [ setup.cfg -nt "$stamp" ]; then
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q -r requirements.txt -r test-requirements.txt
    "$venv/bin/pip" install -q --no-deps -e .
    touch "$stamp"
fi

tiers=${*:-unit functional real}
for tier in $tiers; do
    case "$tier" in
        unit|functional|real|integration) ;;
        *) echo "run-tests.sh: unknown tier '$tier' (unit, functional, real, integration)" >&2
           exit 2 ;;
    esac
done

# stestr's closing totals of the tier just run ("0" when absent).
count() {
    local n
    n=$(sed -n "s/^ - $1: //p" "$log" | tail -n 1)
    echo "${n:-0}"
}

# The integration tier: cloud up, tempest with nova-rt's plugin (one test
# at a time: the compute has few CPUs), cloud down whatever happened.
cloud_up=0
cloud_down() {
    if [ "$cloud_up" = 1 ]; then
        cloud_up=0
        "$top/tools/cloud" down || status=1
    fi
}
run_integration() {
    local dir=${NOVA_RT_CLOUD_DIR:-$top/.artifacts/cloud}
    # NOVA_RT_CLOUD_COMPUTES: how many compute hosts (tools/cloud up
    # --computes); the last cloud's number, else 1.
    if ! "$top/tools/cloud" up ${NOVA_RT_CLOUD_COMPUTES:+--computes "$NOVA_RT_CLOUD_COMPUTES"}; then
        echo "integration: the cloud did not come up (logs in $dir/logs)"
        return 1
    fi
    local venv_cloud=${NOVA_RT_CLOUD_VENV:-$top/.venv-cloud}
    # A workspace registry of its own: tempest refuses to register the
    # same directory twice in ~/.tempest.
    rm -rf "$dir/tempest" "$dir/tempest-workspace.yaml"
    if ! "$venv_cloud/bin/tempest" init \
            --workspace-path "$dir/tempest-workspace.yaml" \
            --name nova-rt-integration "$dir/tempest" \
            >"$dir/logs/tempest-init.log" 2>&1; then
        echo "integration: tempest init failed:"
        tail -n 20 "$dir/logs/tempest-init.log"
        return 1
    fi
    cp "$dir/tempest.conf" "$dir/tempest/etc/tempest.conf"
    (cd "$dir/tempest" &&
        timeout "${NOVA_RT_TEMPEST_TIMEOUT:-2400}" "$venv_cloud/bin/tempest" \
            run --concurrency 1 --regex '^nova_rt_tempest_plugin\.')
}

passed=0 failed=0 skipped=0 status=0
log=$(mktemp)
trap 'cloud_down; rm -f "$log"' EXIT
for tier in $tiers; do
    echo "=== nova-rt $tier tests ==="
    args=()
    case "$tier" in
        functional)
            # The functional scenarios write the domains the real tier
            # checks: start from none, so no stale scenario is checked.
            rm -rf "${NOVA_RT_DOMAIN_DIR:-$top/.artifacts/domains}" ;;
        real)
            # One libvirtd for the whole tier.
            args=(--serial) ;;
    esac
    if [ "$tier" = integration ]; then
        # Set here, not in the piped subshell: the EXIT trap must see it.
        cloud_up=1
        if ! run_integration 2>&1 | tee "$log"; then
            status=1
        fi
        cloud_down
    elif ! "$venv/bin/stestr" --test-path "tests/$tier" run "${args[@]}" \
            2>&1 | tee "$log"; then
        status=1
    fi
    # A tier that could not even run its tests counts as failed.
    if ! grep -q '^ - Passed: ' "$log"; then
        status=1
    fi
    passed=$((passed + $(count Passed)))
    failed=$((failed + $(count Failed)))
    skipped=$((skipped + $(count Skipped)))
done
echo "nova-rt: $passed passed, $failed failed, $skipped skipped"
exit $status
