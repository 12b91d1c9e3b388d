#!/usr/bin/env python3
"""Django's command-line utility for the interop DOT server (run.sh runs it from the venv)."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
