"""``python -m shell.service --agents-file FILE --budget X``: see `shell.service._standalone`."""

import sys

from shell.service._standalone import main

sys.exit(main())
