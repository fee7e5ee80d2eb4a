"""The older smoke script (tests/python/test_sdk_smoke.py) against its own emulator at the
default time scale (it checks a workspace that is still CREATING), with an account whose OSS
is open and whose bucket exists, as the script expects."""

import os
import subprocess
import sys

from conftest import Clients, open_oss, start_sim

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "test_sdk_smoke.py")


def test_smoke_script():
    running = start_sim(["smoke"], 60)
    try:
        c = Clients(running.sim, "smoke")
        open_oss(c)
        c.bucket("conformance-smoke").create_bucket()
        a = running.sim.accounts["smoke"]
        env = dict(
            os.environ,
            FLINKFORM_SIM_ENDPOINT=running.sim.endpoint,
            FLINKFORM_SIM_AK_ID=a.access_key_id,
            FLINKFORM_SIM_AK_SECRET=a.access_key_secret,
            FLINKFORM_SIM_BUCKET="conformance-smoke",
        )
        done = subprocess.run([sys.executable, SCRIPT], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SDK smoke test passed" in done.stdout
    finally:
        running.stop()
