#!/usr/bin/env bash
# Fuzzes stepcart with cargo-fuzz + libFuzzer + AddressSanitizer. Each fuzzed crate has its own
# cargo-fuzz workspace in CRATE/fuzz (excluded from the root workspace):
#   crates/asl/fuzz             definition, jsonpath, intrinsics, jsonata (the ASL engine)
#   crates/domain/fuzz          request_model (the checkout request model vs the saga's parser)
#   crates/stripe-webhook/fuzz  signature_header (the Stripe-Signature check)
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]    each target (default: all) for SECONDS (default 60)
#
# Only the stable toolchain is needed: cargo-fuzz passes nightly-only flags (-Zsanitizer=address,
# ...), which RUSTC_BOOTSTRAP=1 unlocks on stable. Set FUZZ_SANITIZER=none to fuzz without ASan
# (faster, still catches panics). New corpus entries go to CRATE/fuzz/corpus/TARGET (gitignored;
# the checked-in seeds are in CRATE/fuzz/seeds/TARGET); a crash is written to
# CRATE/fuzz/artifacts/TARGET/ and the script exits non-zero after running every target.
# Reproduce one with: cd CRATE && RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET fuzz/artifacts/TARGET/...
# Minimise it with:   cd CRATE && RUSTC_BOOTSTRAP=1 cargo fuzz tmin TARGET fuzz/artifacts/TARGET/...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
case "$seconds" in
  '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac
crates=(crates/asl crates/domain crates/stripe-webhook)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz from crates.io" >&2
  cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
sanitizer=${FUZZ_SANITIZER:-address}
wanted=("$@")

# Every requested target must exist in one of the crates.
if [ "${#wanted[@]}" -gt 0 ]; then
  all=()
  for crate in "${crates[@]}"; do
    mapfile -t -O "${#all[@]}" all < <(cd "$root/$crate" && cargo fuzz list)
  done
  for target in "${wanted[@]}"; do
    case " ${all[*]} " in
      *" $target "*) ;;
      *) echo "no fuzz target $target (there are: ${all[*]})" >&2; exit 2 ;;
    esac
  done
fi

failed=()
for crate in "${crates[@]}"; do
  cd "$root/$crate"
  mapfile -t listed < <(cargo fuzz list)
  targets=()
  for target in "${listed[@]}"; do
    if [ "${#wanted[@]}" -eq 0 ] || [[ " ${wanted[*]} " == *" $target "* ]]; then
      targets+=("$target")
    fi
  done
  [ "${#targets[@]}" -eq 0 ] && continue

  cargo fuzz build -O --sanitizer "$sanitizer" >&2

  for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    seeds=()
    [ -d "fuzz/seeds/$target" ] && seeds=("fuzz/seeds/$target")
    echo "== $crate $target: ${seconds}s (sanitizer: $sanitizer, load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    start=$(date +%s)
    if cargo fuzz run -O --sanitizer "$sanitizer" "$target" "fuzz/corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1; then
      echo "== $crate $target: no crash in $(( $(date +%s) - start ))s" >&2
    else
      echo "== $crate $target: CRASH (see $crate/fuzz/artifacts/$target/)" >&2
      failed+=("$target")
    fi
  done
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "crashes in: ${failed[*]}" >&2
  exit 1
fi
