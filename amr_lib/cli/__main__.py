"""``python -m amr_lib.cli`` is the ``amr`` command (``torchrun ... -m amr_lib.cli train``)."""

import sys

from amr_lib.cli import main

sys.exit(main())
