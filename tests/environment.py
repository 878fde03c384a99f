"""Test-run defaults, loaded as a pytest plugin before Django's settings are read.

Only defaults: DATABASE_URL and REDIS_URL from the caller's environment win,
which is how CI runs the suite on PostgreSQL and Redis.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")
os.environ.setdefault("STATIC_MANIFEST", "false")
# Keep a test run's embedded Celery broker away from a running `make run`.
os.environ.setdefault("SWITCHBACK_CELERY_DIR", tempfile.mkdtemp(prefix="switchback-celery-"))
# Playwright's sync API runs an event loop; live_server tests touch the ORM.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
