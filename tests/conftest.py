"""The tests run Chaperone in local mode (no app id), which it only allows when asked for explicitly."""

import os

os.environ["CHAPERONE_LOCAL"] = "1"
