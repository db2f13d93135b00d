"""`python -m training ...` is `pairterm train ...`."""

import sys

from pairterm.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
