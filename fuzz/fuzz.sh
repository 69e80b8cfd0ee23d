#!/usr/bin/env bash
# The fuzzing verbs behind `make fuzz`, `make fuzz-corpus` and `make fuzz-mutants`
# (see fuzz/README.md). Run from the repository root.
#
#   fuzz/fuzz.sh run [target...]      each target for $FUZZ_SECONDS (60) s; fails if one crashed
#   fuzz/fuzz.sh corpus [target...]   minimise fuzz/corpus-work/<t> into fuzz/corpus/<t>
#   fuzz/fuzz.sh mutants [mutant...]  executions of `schedule` until each mutant's first crash
set -euo pipefail

TARGETS=(group_ops schedule payload)
MUTANTS=(CallOvertakesQueuedSend DoubleStart StaleBinding HangingWaiter OverlappingHandlers AddressOvertakesName
    AnswerInPlaceOvertakes DirectPastLeftovers)
SECONDS_EACH=${FUZZ_SECONDS:-60}
SANITIZER=${FUZZ_SANITIZER:-none}
# Longest input: a scenario's run makes a few hundred decisions.
MAX_LEN=${FUZZ_MAX_LEN:-512}
# cargo-fuzz passes -Z flags to rustc; this stable toolchain accepts them with RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1

ensure_cargo_fuzz() {
    cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
}

# One target for SECONDS_EACH s: new inputs go to corpus-work/, the committed corpus seeds it.
run_one() {
    local t=$1
    mkdir -p "fuzz/corpus-work/$t" "fuzz/corpus/$t"
    cargo fuzz run -s "$SANITIZER" "$t" "fuzz/corpus-work/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$SECONDS_EACH" -max_len="$MAX_LEN" -print_final_stats=1
}

run() {
    local failed=()
    for t in "${@:-${TARGETS[@]}}"; do
        echo "== fuzz $t for ${SECONDS_EACH}s"
        run_one "$t" || failed+=("$t")
    done
    if ((${#failed[@]})); then
        echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
        exit 1
    fi
}

# Keeps one input per newly covered edge (-use_counters=0: hit counts do not count), smallest first.
corpus() {
    for t in "${@:-${TARGETS[@]}}"; do
        local fresh="fuzz/corpus-work/$t.min"
        rm -rf "$fresh" && mkdir -p "$fresh" "fuzz/corpus/$t"
        cargo fuzz run -s "$SANITIZER" "$t" "$fresh" "fuzz/corpus/$t" "fuzz/corpus-work/$t" -- \
            -set_cover_merge=1 -use_counters=0 -use_value_profile=0
        rm -rf "fuzz/corpus/$t" && mv "$fresh" "fuzz/corpus/$t"
        echo "$t: $(ls "fuzz/corpus/$t" | wc -l) inputs"
    done
}

# Executions until the first crash, per mutant and libFuzzer seed, from an empty corpus.
mutants() {
    local seeds=${FUZZ_MUTANT_SEEDS:-5} target_dir=fuzz/target-mutants
    export RUSTFLAGS="--cfg skygroup_mutants"
    for m in "${@:-${MUTANTS[@]}}"; do
        for seed in $(seq 1 "$seeds"); do
            local work log
            work=$(mktemp -d) log=$(mktemp)
            SKYGROUP_FUZZ_MUTANT=$m cargo fuzz run -s "$SANITIZER" --target-dir "$target_dir" schedule "$work" -- \
                -seed="$seed" -max_len="$MAX_LEN" -max_total_time="${FUZZ_MUTANT_SECONDS:-600}" \
                -artifact_prefix="$work/" -print_final_stats=1 >"$log" 2>&1 || true
            local runs found
            runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
            found=$(grep -c 'deadly signal\|panicked' "$log" || true)
            echo "$m seed $seed: ${runs:-?} executions, crash: $([ "$found" -gt 0 ] && echo yes || echo no)"
            rm -rf "$work" "$log"
        done
    done
}

ensure_cargo_fuzz
verb=${1:-run}
shift || true
"$verb" "$@"
