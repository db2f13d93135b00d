import sys

from pairterm.cli import main

sys.exit(main())
