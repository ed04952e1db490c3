"""``python -m winback.cli``: the ``winback`` command."""

import sys

from winback.cli import main

if __name__ == "__main__":  # not again in the worker processes of --scheduler local
    sys.exit(main())
