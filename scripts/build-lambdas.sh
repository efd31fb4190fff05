#!/usr/bin/env bash
# Builds every Lambda function (tasks/lambdas/src/bin/*.rs) for provided.al2023 on arm64, one zip per
# function, with cargo-lambda (PyPI `cargo-lambda`, cross-linking with PyPI `ziglang`).
#
#   scripts/build-lambdas.sh            release build into target/lambda/<function>/bootstrap.zip
#
# Environment: STEPCART_LAMBDA_ZIP_DIR (default target/lambda), STEPCART_TOOLS_DIR (default .tools).
# Prints each zip's size and fails if one is over 8 MB (the project's budget; Lambda allows 50 MB).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools="${STEPCART_TOOLS_DIR:-$root/.tools}"
out="${STEPCART_LAMBDA_ZIP_DIR:-$root/target/lambda}"
budget=$((8 * 1024 * 1024))

venv="$tools/lambda-py"
if [ ! -x "$venv/bin/cargo-lambda" ]; then
  echo "installing cargo-lambda and ziglang into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check cargo-lambda ziglang
fi
export PATH="$venv/bin:$PATH"
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu >&2
fi

cargo lambda build --release --arm64 --output-format zip --package stepcart-lambdas --lambda-dir "$out" >&2

status=0
printf '%-32s %12s\n' function "zip bytes"
for zip in "$out"/*/bootstrap.zip; do
  name=$(basename "$(dirname "$zip")")
  size=$(stat -c %s "$zip")
  flag=""
  if [ "$size" -gt "$budget" ]; then flag="  OVER 8 MB"; status=1; fi
  printf '%-32s %12d%s\n' "$name" "$size" "$flag"
done
exit "$status"
