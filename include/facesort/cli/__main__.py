"""``python -m facesort.cli``: the ``facesort`` command."""

import sys

from facesort.cli import main

sys.exit(main())
