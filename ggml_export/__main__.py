import sys

from ggml_export.cli import run_cli

sys.exit(run_cli())
