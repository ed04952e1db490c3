"""``python -m winback.cli``: the ``winback`` command."""

import sys

from winback.cli import main

sys.exit(main())
