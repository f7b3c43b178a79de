"""``python -m shell.demo``: run the demo and exit with its code."""

import sys

from shell.demo.cli import main

if __name__ == "__main__":
    sys.exit(main())
