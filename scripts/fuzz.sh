#!/usr/bin/env bash
# Fuzzes the ASL engine (crates/asl/fuzz, cargo-fuzz + libFuzzer + AddressSanitizer).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]    each target (default: all) for SECONDS (default 60)
#
# Only the stable toolchain is needed: cargo-fuzz passes nightly-only flags (-Zsanitizer=address,
# ...), which RUSTC_BOOTSTRAP=1 unlocks on stable. Set FUZZ_SANITIZER=none to fuzz without ASan
# (faster, still catches panics). New corpus entries go to crates/asl/fuzz/corpus/TARGET (gitignored;
# the checked-in seeds are in crates/asl/fuzz/seeds/TARGET); a crash is written to
# crates/asl/fuzz/artifacts/TARGET/ and the script exits non-zero after running every target.
# Reproduce one with: cd crates/asl && RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET artifacts/...
# Minimise it with:   cd crates/asl && RUSTC_BOOTSTRAP=1 cargo fuzz tmin TARGET artifacts/...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
case "$seconds" in
  '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz from crates.io" >&2
  cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
cd "$root/crates/asl"
sanitizer=${FUZZ_SANITIZER:-address}
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build -O --sanitizer "$sanitizer" >&2

failed=()
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  seeds=()
  [ -d "fuzz/seeds/$target" ] && seeds=("fuzz/seeds/$target")
  echo "== $target: ${seconds}s (sanitizer: $sanitizer, load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  start=$(date +%s)
  if cargo fuzz run -O --sanitizer "$sanitizer" "$target" "fuzz/corpus/$target" "${seeds[@]}" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1; then
    echo "== $target: no crash in $(( $(date +%s) - start ))s" >&2
  else
    echo "== $target: CRASH (see crates/asl/fuzz/artifacts/$target/)" >&2
    failed+=("$target")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "crashes in: ${failed[*]}" >&2
  exit 1
fi
