"""Every test gets the shared fixtures of tests/support/fixtures.py, and runs Chaperone in local mode
(no app id), which it only allows when asked for explicitly."""

import os

os.environ["CHAPERONE_LOCAL"] = "1"

pytest_plugins = ("tests.support.fixtures",)
