#!/usr/bin/env bash
# Run nova-rt's test suite: unit, functional, then the real libvirt/QEMU
# tier. Creates .venv (or $NOVA_RT_VENV) when missing and installs nova-rt
# with its test requirements into it.
#
#   tools/run-tests.sh              # unit, functional and real
#   tools/run-tests.sh unit         # one tier: unit, functional or real
#   tools/run-tests.sh integration  # a real cloud (tools/cloud up), nova-rt's
#                                   # tempest plugin against it, cloud down
#   tools/run-tests.sh faults       # the same cloud under faults and load
#                                   # (nova_rt_tempest_plugin.tests.faults)
#   tools/run-tests.sh integration faults   # both on one cloud, then down
#   NOVA_RT_CLOUD_RELEASE=2025.1 NOVA_RT_CLOUD_DIR=.artifacts/cloud-2025.1 \
#       tools/run-tests.sh integration   # the cloud tiers on an older Nova
#   tools/run-tests.sh upgrade      # a cloud of the SLURP release before the
#                                   # newest SLURP, real-time guests on it,
#                                   # upgraded to that newest SLURP release
#                                   # (NOVA_RT_UPGRADE_FROM/_TO), then down
#   tools/run-tests.sh --release 2025.1 unit functional
#                                   # on another supported Nova release:
#                                   # .venv-2025.1, with that release's
#                                   # upper-constraints (tools/releases/)
#   tools/run-tests.sh --matrix     # unit on every other release,
#                                   # functional on the SLURP ones
#   tools/run-tests.sh [--matrix|--release R] --install-only [upgrade]
#                                   # the venv(s) only, no tier (with
#                                   # upgrade: its releases' services too)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
python=${PYTHON:-python3}

matrix=0
if [ "${1:-}" = --matrix ]; then
    matrix=1
    shift
fi
# The release: the newest unless --release names another; its
# upper-constraints are tools/releases/RELEASE.txt (nova_rt/releases.py).
# shellcheck source=cloudlib/releases.sh
source "$top/tools/cloudlib/releases.sh"
releases=$(release_names)
newest=$NEWEST_RELEASE
release=$newest
if [ "${1:-}" = --release ]; then
    release=${2:-}
    shift $(( $# < 2 ? $# : 2 ))
fi
install_only=0
if [ "${1:-}" = --install-only ]; then
    install_only=1
    shift
fi
constraints=tools/releases/$release.txt
if [ -z "$release" ] || [ ! -f "$constraints" ]; then
    echo "run-tests.sh: unknown release '$release' (known: ${releases//$'\n'/ })" >&2
    exit 2
fi
# How this run's venv, figures and failures are named: by tier, and by
# release when it is not the newest (tier.unit.passed,
# release.2024_1.unit.passed).
if [ "$release" = "$newest" ]; then
    venv=${NOVA_RT_VENV:-$top/.venv}
    figure_prefix=tier label=
else
    venv=${NOVA_RT_VENV:-$top/.venv-$release}
    figure_prefix=release.${release//./_} label=", $release"
fi

# uv installs a release's environment in seconds where pip takes minutes
# (doc/source/releases.rst); it lives in a venv of its own.
uv() {
    local tools=$top/.venv-tools
    if [ ! -x "$tools/bin/uv" ]; then
        "$python" -m venv "$tools"
        "$tools/bin/pip" install -q 'uv==0.13.9'
    fi
    "$tools/bin/uv" "$@"
}

stamp="$venv/.nova-rt-installed"
if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || \
        [ test-requirements.txt -nt "$stamp" ] || [ setup.cfg -nt "$stamp" ] || \
        [ "$constraints" -nt "$stamp" ]; then
    # From scratch: what an older install left would not be what the
    # constraints say. --seed: pip, for the packaging test and the docs.
    echo "run-tests.sh: installing nova-rt for $release into $venv"
    install_started=$SECONDS
    rm -rf "$venv"
    uv venv -q --seed -p "$python" "$venv"
    uv pip install -q -p "$venv/bin/python" -c "$constraints" \
        -r requirements.txt -r test-requirements.txt
    uv pip install -q -p "$venv/bin/python" --no-deps -e .
    echo "$release" >"$stamp"
    "$python" "$top/tools/figures.py" record "install${label:+-$release}" \
        "install.${release//./_}_s=$(( SECONDS - install_started ))"
fi

# The upgrade tier's releases, "FROM TO": the SLURP release before the
# newest SLURP one, and that one, unless NOVA_RT_UPGRADE_FROM/_TO say.
upgrade_releases() {
    local slurp from to
    slurp=$("$venv/bin/python" -c 'from nova_rt import releases; print(*releases.SLURP)')
    to=${NOVA_RT_UPGRADE_TO:-$(tr ' ' '\n' <<<"$slurp" | tail -n 1)}
    from=${NOVA_RT_UPGRADE_FROM:-$(tr ' ' '\n' <<<"$slurp" | grep -B1 -x "$to" | head -n 1)}
    echo "$from $to"
}

# --install-only: the venv; with the upgrade tier named, both of its
# releases' cloud services too (tools/cloud-deps.sh).
if [ "$install_only" = 1 ] && [ "$matrix" = 0 ]; then
    case " $* " in
        *" upgrade "*)
            read -r from to < <(upgrade_releases)
            "$top/tools/cloud-deps.sh" --release "$from"
            "$top/tools/cloud-deps.sh" --release "$to" ;;
    esac
    exit 0
fi

# --matrix: the tiers of the other releases (doc/source/releases.rst):
# unit on every supported release, functional on the SLURP ones too; the
# newest runs everything in a run without --release.
if [ "$matrix" = 1 ]; then
    slurp=$("$venv/bin/python" -c \
        'from nova_rt import releases; print(*releases.SLURP)')
    matrix_status=0
    for other in $releases; do
        [ "$other" = "$newest" ] && continue
        tiers=unit
        case " $slurp " in *" $other "*) tiers="unit functional" ;; esac
        [ "$install_only" = 1 ] && tiers=--install-only
        # shellcheck disable=SC2086  # one word per tier
        NOVA_RT_VENV='' "$0" --release "$other" $tiers || matrix_status=1
    done
    exit $matrix_status
fi

tiers=${*:-unit functional real}
for tier in $tiers; do
    case "$tier" in
        unit|functional|real|integration|faults|upgrade) ;;
        *) echo "run-tests.sh: unknown tier '$tier' (unit, functional, real, integration, faults, upgrade)" >&2
           exit 2 ;;
    esac
done

# The cloud tiers run the newest release: tools/cloud installs no other.
if [ "$release" != "$newest" ]; then
    for tier in $tiers; do
        case "$tier" in
            integration|faults|upgrade)
                echo "run-tests.sh: the $tier tier runs from the newest release's tree only (the upgrade tier picks its releases: NOVA_RT_UPGRADE_FROM/_TO)" >&2
                exit 2 ;;
        esac
    done
fi

# stestr's closing totals of the tier just run ("0" when absent).
count() {
    local n
    n=$(sed -n "s/^ - $1: //p" "$log" | tail -n 1)
    echo "${n:-0}"
}

# The cloud tiers, integration and faults: cloud up (once for both),
# tempest with nova-rt's plugin (one test at a time: the computes have few
# CPUs), cloud down after the last of them whatever happened.
cloud_up=0 cloud_reusable=0
cloud_all_running() {
    local out
    out=$("$top/tools/cloud" status) || return 1
    ! grep -qv ' running (pid ' <<<"$out"
}
cloud_down() {
    if [ "$cloud_up" = 1 ]; then
        cloud_up=0 cloud_reusable=0
        "$top/tools/cloud" down || status=1
    fi
}
# The tests of each cloud tier: the faults package, and all the others.
declare -A tempest_regex=(
    [integration]='^nova_rt_tempest_plugin\.tests\.(?!faults\.|upgrade\.)'
    [faults]='^nova_rt_tempest_plugin\.tests\.faults\.'
    [upgrade]='^nova_rt_tempest_plugin\.tests\.upgrade\.'
)
last_cloud_tier=
for tier in $tiers; do
    case "$tier" in integration|faults) last_cloud_tier=$tier ;; esac
done
# The upgrade tier: its own cloud, in a directory of its own, from the
# SLURP release before the newest SLURP one to that one (2025.1 to 2026.1),
# one compute more than its pinned guests (nova_rt_tempest_plugin.tests.
# upgrade): the test itself calls tools/cloud upgrade.
run_upgrade_tier() {
    local from to
    read -r from to < <(upgrade_releases)
    if [ -z "$from" ] || [ "$from" = "$to" ]; then
        echo "upgrade: no release before $to to upgrade from"
        return 1
    fi
    echo "upgrade: Nova $from to $to, in $NOVA_RT_CLOUD_DIR"
    # A cloud of its own each run: its databases are the older release's.
    if [ -d "$NOVA_RT_CLOUD_DIR/run" ]; then
        "$top/tools/cloud" down || return 1
    fi
    rm -rf "$NOVA_RT_CLOUD_DIR"
    # Both releases' services first: the upgrade's own time is then the
    # services' stop, schemas and start, not a download.
    "$top/tools/cloud-deps.sh" --release "$to" || return 1
    # NOVA_RT_UPGRADE_ROLLING=false: skip-level all at once, without the
    # rolling steps ([nova_rt] upgrade_rolling).
    run_cloud_tier upgrade --release "$from" \
        --computes "${NOVA_RT_UPGRADE_COMPUTES:-4}" -- upgrade_to "$to" \
        upgrade_rolling "${NOVA_RT_UPGRADE_ROLLING:-true}"
}

# run_cloud_tier TIER [UP-ARGUMENTS...] [-- OPTION VALUE...]: tempest's
# [nova_rt] OPTION set to VALUE for this tier.
run_cloud_tier() {
    local tier=$1 dir=${NOVA_RT_CLOUD_DIR:-$top/.artifacts/cloud}
    shift
    local up_args=() options=()
    while [ $# -gt 0 ]; do
        if [ "$1" = -- ]; then
            shift
            options=("$@")
            break
        fi
        up_args+=("$1")
        shift
    done
    # NOVA_RT_CLOUD_COMPUTES: how many compute hosts (tools/cloud up
    # --computes); the last cloud's number, else 1.
    # The tier after the first goes on with the cloud this run brought up
    # while every service of it runs: up again would redo the schema
    # migrations, the plugin's install and the bootstrap (90 s) for
    # nothing. Otherwise up, which resumes what is missing.
    if [ "$cloud_reusable" = 1 ] && cloud_all_running; then
        echo "$tier: on the cloud of the tier before (every service running)"
    elif ! "$top/tools/cloud" up ${NOVA_RT_CLOUD_COMPUTES:+--computes "$NOVA_RT_CLOUD_COMPUTES"} \
            ${NOVA_RT_CLOUD_RELEASE:+--release "$NOVA_RT_CLOUD_RELEASE"} \
            ${up_args[@]+"${up_args[@]}"}; then
        echo "$tier: the cloud did not come up (logs in $dir/logs)"
        return 1
    fi
    # Tempest and nova-rt's plugin from the venv of the release the cloud
    # came up on (tools/cloud installed nova-rt there).
    local venv_cloud
    venv_cloud=$(cloud_venv "$(cat "$dir/run/release" 2>/dev/null || echo "$newest")")
    # A workspace registry of its own: tempest refuses to register the
    # same directory twice in ~/.tempest.
    rm -rf "$dir/tempest" "$dir/tempest-workspace.yaml"
    if ! "$venv_cloud/bin/tempest" init \
            --workspace-path "$dir/tempest-workspace.yaml" \
            --name nova-rt-integration "$dir/tempest" \
            >"$dir/logs/tempest-init.log" 2>&1; then
        echo "$tier: tempest init failed:"
        tail -n 20 "$dir/logs/tempest-init.log"
        return 1
    fi
    cp "$dir/tempest.conf" "$dir/tempest/etc/tempest.conf"
    # NOVA_RT_LOAD_CYCLES: the faults tier's load test's create/delete
    # cycles ([nova_rt] load_cycles; 200 unless told).
    "$venv_cloud/bin/python" "$top/tools/cloudlib/ini.py" set \
        "$dir/tempest/etc/tempest.conf" nova_rt figures_dir \
        "${NOVA_RT_FIGURES_DIR:-$top/.artifacts/figures}"
    while [ ${#options[@]} -ge 2 ]; do
        "$venv_cloud/bin/python" "$top/tools/cloudlib/ini.py" set \
            "$dir/tempest/etc/tempest.conf" nova_rt "${options[0]}" "${options[1]}"
        options=("${options[@]:2}")
    done
    if [ -n "${NOVA_RT_LOAD_CYCLES:-}" ]; then
        "$venv_cloud/bin/python" "$top/tools/cloudlib/ini.py" set \
            "$dir/tempest/etc/tempest.conf" nova_rt load_cycles \
            "$NOVA_RT_LOAD_CYCLES"
    fi
    (cd "$dir/tempest" &&
        timeout "${NOVA_RT_TEMPEST_TIMEOUT:-2400}" "$venv_cloud/bin/tempest" \
            run --concurrency 1 --regex "${tempest_regex[$tier]}")
}

passed=0 failed=0 skipped=0 status=0
log=$(mktemp) failures=$(mktemp)
trap 'cloud_down; rm -f "$log" "$failures"' EXIT
for tier in $tiers; do
    echo "=== nova-rt $tier tests ==="
    tier_started=$SECONDS
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
    if [ "$tier" = integration ] || [ "$tier" = faults ] || [ "$tier" = upgrade ]; then
        if [ "$tier" = upgrade ]; then
            # One cloud at a time: the tier before's goes first. The
            # upgrade's cloud lives in a directory of its own, set here
            # (not in the piped subshell) for the EXIT trap's down too.
            cloud_down
            export NOVA_RT_CLOUD_DIR=${NOVA_RT_UPGRADE_CLOUD_DIR:-$top/.artifacts/cloud-upgrade}
        fi
        # Set here, not in the piped subshell: the EXIT trap must see it.
        cloud_up=1
        if [ "$tier" = upgrade ]; then
            run_upgrade_tier 2>&1 | tee "$log" || status=1
        elif ! run_cloud_tier "$tier" 2>&1 | tee "$log"; then
            status=1
        fi
        # Under CI a skip fails unless tools/cloudlib/allowed-skips.txt
        # gives its reason (as the real tier fails on a missing need).
        if [ "${CI:-}" = true ] || [ "${NOVA_RT_CLOUD_REQUIRE:-}" = 1 ]; then
            if ! "$python" "$top/tools/cloudlib/skips.py" check \
                    "$top/tools/cloudlib/allowed-skips.txt" "$log" \
                    >"$log.skips"; then
                status=1
                sed "s/^/nova-rt failed ($tier$label): /" "$log.skips" >>"$failures"
            fi
            cat "$log.skips"
            rm -f "$log.skips"
        fi
        if [ "$tier" = "$last_cloud_tier" ] || [ "$tier" = upgrade ]; then
            cloud_down
        else
            cloud_reusable=1
        fi
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
    # The tier's figures for the docs (tools/figures.py): its counts, its
    # time, and each passed cloud test's time.
    "$python" "$top/tools/figures.py" record "tier-$tier${label:+-$release}" \
        "$figure_prefix.$tier.passed=$(count Passed)" \
        "$figure_prefix.$tier.failed=$(count Failed)" \
        "$figure_prefix.$tier.skipped=$(count Skipped)" \
        "$figure_prefix.$tier.seconds=$(( SECONDS - tier_started ))" \
        "$figure_prefix.$tier.minutes=$(( (SECONDS - tier_started + 30) / 60 ))" \
        || status=1
    if [ "$tier" = integration ] || [ "$tier" = faults ] || [ "$tier" = upgrade ]; then
        "$python" "$top/tools/figures.py" tests "tests-$tier" "$log" \
            || status=1
    fi
    # subunit-trace's '{N} test.id [time] ... FAILED' lines, by tier.
    sed -n "s/^{[0-9]*} \(.*\) \.\.\. FAILED\$/nova-rt failed ($tier$label): \1/p" \
        "$log" >>"$failures"
done
# The failed tests' names just above the totals: a CI that shows only the
# end of its output still names them.
cat "$failures"
echo "nova-rt${label:+ $release}: $passed passed, $failed failed, $skipped skipped"
exit $status
