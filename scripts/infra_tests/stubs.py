"""A throwaway copy of the repository's deploy scripts with stub `terraform`, `aws`, `cargo`, `cargo-lambda`
and `curl` executables on a PATH that holds nothing else but basic utilities. Every stub appends its argv to
a log, so a test can read which commands ran, in which order, with which arguments."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from common import ENV_NAMES, ROOT

# Basic utilities the scripts may use (linked into the PATH the scripts see).
UTILITIES = [
    "bash", "env", "sed", "dirname", "basename", "mktemp", "rm", "mkdir", "cat", "tr", "date", "sleep",
    "python3", "grep", "head", "tail", "wc", "sort", "touch", "cp", "ls", "printf", "true", "false",
]

STUB = r"""#!/usr/bin/env bash
# Stub: logs its argv (tab-separated) and answers like the real tool would, as the test configures.
tool=$(basename "$0")
{ printf '%s' "$tool"; for a in "$@"; do printf '\t%s' "$a"; done; printf '\n'; } >> "$STUB_LOG"
fail_on="${STUB_FAIL:-}"
if [ -n "$fail_on" ] && [[ "$tool $*" == *"$fail_on"* ]]; then
  echo "stub $tool: failing as asked ($fail_on)" >&2
  exit 1
fi
case "$tool" in
  aws)
    case "$1 $2" in
      "sts get-caller-identity")
        if [ -n "${STUB_AWS_NO_CREDENTIALS:-}" ]; then
          echo "Unable to locate credentials. You can configure credentials by running \"aws configure\"." >&2
          exit 255
        fi
        echo "123456789012" ;;
      "configure get") exit 1 ;;
      "apigateway get-api-key") echo "stub-api-key-value" ;;
      "s3api head-bucket") [ -n "${STUB_BUCKET_EXISTS:-}" ] || exit 254 ;;
    esac ;;
  terraform)
    args=" $* "
    if [ "$1" = "version" ]; then
      echo "Terraform v${STUB_TERRAFORM_VERSION:-1.11.4}"
      echo "on linux_amd64"
    elif [[ "$args" == *" output -raw api_url "* ]]; then
      echo "https://abc123defg.execute-api.us-east-1.amazonaws.com/v1"
    elif [[ "$args" == *" output -raw api_key_id "* ]]; then
      echo "${STUB_API_KEY_ID-k3y1d}"
    fi ;;
  curl)
    out=""; method=GET; url=""
    while [ "$#" -gt 0 ]; do
      case "$1" in
        -o) out=$2; shift ;;
        -w | -H | --data-binary) shift ;;
        -X) method=$2; shift ;;
        -*) ;;
        *) url=$1 ;;
      esac
      shift
    done
    n=$(( $(cat "$STUB_CURL_DIR/count" 2>/dev/null || echo 0) + 1 ))
    echo "$n" > "$STUB_CURL_DIR/count"
    answer="$STUB_CURL_DIR/$n"
    [ -f "$answer.json" ] || answer="$STUB_CURL_DIR/last"
    cp "$answer.json" "$out"
    printf '%s' "$(cat "$answer.status")" ;;
esac
exit 0
"""


class Sandbox:
    def __init__(self, tmp: Path, tools=("terraform", "aws", "cargo", "cargo-lambda", "curl"), build_script=False):
        self.tmp = tmp
        self.repo = tmp / "repo"
        self.log = tmp / "stub.log"
        self.log.touch()
        # The parts of the repository the scripts read.
        for rel in ("scripts/deploy.sh", "scripts/setup-backend.sh", "scripts/smoke.sh", "scripts/lib/aws-env.sh",
                    "modules/permissions/functions.tf", "examples/carts/happy-path.json"):
            (self.repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, self.repo / rel)
        for env in ENV_NAMES:
            (self.repo / "environments" / env).mkdir(parents=True)
            shutil.copy(ROOT / "environments" / env / "main.tf", self.repo / "environments" / env / "main.tf")
        if build_script:
            script = self.repo / "scripts" / "build-lambdas.sh"
            script.write_text('#!/usr/bin/env bash\nprintf "build-lambdas.sh\\n" >> "$STUB_LOG"\n')
        # Lambda packages, as a build leaves them.
        self.zip_dir = tmp / "zips"
        for line in (self.repo / "modules/permissions/functions.tf").read_text().splitlines():
            if line.startswith('    "') and line.endswith('" = {'):
                name = line.strip().split('"')[1]
                (self.zip_dir / name).mkdir(parents=True)
                (self.zip_dir / name / "bootstrap.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
        # PATH: stubs + basic utilities only.
        self.bin = tmp / "bin"
        self.bin.mkdir()
        for tool in tools:
            (self.bin / tool).write_text(STUB)
            (self.bin / tool).chmod(0o755)
        self.sys = tmp / "sysbin"
        self.sys.mkdir()
        for util in UTILITIES:
            # python3 may be a pyenv shim that needs pyenv on PATH: link the real interpreter.
            found = os.path.realpath(sys._base_executable) if util == "python3" else shutil.which(util)
            if found:
                (self.sys / util).symlink_to(found)
        self.curl_dir = tmp / "curl"
        self.curl_dir.mkdir()

    def run(self, script: str, *args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
        environment = {
            "PATH": f"{self.bin}:{self.sys}",
            "HOME": str(self.tmp),
            "STUB_LOG": str(self.log),
            "STUB_CURL_DIR": str(self.curl_dir),
            "STEPCART_LAMBDA_ZIP_DIR": str(self.zip_dir),
            "LANG": "C.UTF-8",
        }
        environment.update(env or {})
        return subprocess.run(
            ["bash", str(self.repo / "scripts" / script), *args],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            env=environment,
            cwd=self.tmp,
            timeout=60,
        )

    def calls(self) -> list[list[str]]:
        return [line.split("\t") for line in self.log.read_text().splitlines()]

    def steps(self) -> list[str]:
        """The log reduced to the steps that matter: build, init, plan, apply, output."""
        steps = []
        for call in self.calls():
            tool, args = call[0], call[1:]
            if tool == "build-lambdas.sh" or (tool == "cargo" and args[:2] == ["lambda", "build"]):
                steps.append("build")
            elif tool == "terraform" and len(args) > 1 and args[0].startswith("-chdir="):
                steps.append(args[1])
        return steps

    def curl_answers(self, *answers: tuple[int, str]) -> None:
        for i, (status, body) in enumerate(answers, start=1):
            (self.curl_dir / f"{i}.status").write_text(str(status))
            (self.curl_dir / f"{i}.json").write_text(body)
        status, body = answers[-1]
        (self.curl_dir / "last.status").write_text(str(status))
        (self.curl_dir / "last.json").write_text(body)
