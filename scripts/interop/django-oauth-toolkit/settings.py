"""A minimal Django OAuth Toolkit authorization server, as in the tutorial this project mirrors.

Used by run.sh only (never in production): the `oauth2_provider` app behind `o/`, the tutorial's scopes
(read, write, introspection), SQLite in the directory named by DOT_DB_DIR (run.sh's temp dir).
"""

import os
from pathlib import Path

DB_DIR = Path(os.environ.get("DOT_DB_DIR", Path(__file__).resolve().parent))

SECRET_KEY = os.environ.get("DOT_SECRET_KEY", "interop-test-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DB_DIR / "dot.sqlite3",
    }
}

# Fast hashing: alice's and bob's passwords and the application's secret are checked on every token request.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The tutorial's settings (DOT's "Separate Resource Server" page adds the introspection scope).
OAUTH2_PROVIDER = {
    "SCOPES": {
        "read": "Read scope",
        "write": "Write scope",
        "introspection": "Introspect token scope",
    },
    # A token request naming no scope (the resource server's /users/token/ proxy sends none) gets read and
    # write, not introspection (DOT's default is every scope).
    "DEFAULT_SCOPES": ["read", "write"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO"},
        "oauth2_provider": {"handlers": ["console"], "level": "WARNING"},
    },
}
