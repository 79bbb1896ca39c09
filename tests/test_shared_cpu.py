"""kanjiedge makes torch's OpenMP threads sleep instead of spin while they wait (kanjiedge/__init__.py), so training
next to another CPU-heavy job does not fight it for the cores; a user's own OMP_WAIT_POLICY wins."""

import os
import subprocess
import sys

PROBE = "import os, kanjiedge.train_env, torch; print(os.environ['OMP_WAIT_POLICY'])"


def _policy(env_value):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if env_value is not None:
        env["OMP_WAIT_POLICY"] = env_value
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_training_modules_sleep_while_waiting():
    assert _policy(None) == "PASSIVE"


def test_the_users_setting_wins():
    assert _policy("ACTIVE") == "ACTIVE"
