"""The OP works with any AUTH_USER_MODEL: UUID keys, email as USERNAME_FIELD, no name fields."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_code_flow_and_tokens_with_a_custom_user_model():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings_custom_user"}
    env.pop("DATABASE_URL", None)  # in-memory SQLite: the swapped user model needs its own tables
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/custom_user/flow_check.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
