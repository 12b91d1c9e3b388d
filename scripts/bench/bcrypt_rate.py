#!/usr/bin/env python3
"""The bcrypt-only ceiling for the password grant: bcrypt verifications per second at COST, one process
per core (PROCS), for about SECONDS. Uses pyca `bcrypt` (4.x and later wrap the same Rust `bcrypt` crate
as the auth server). Prints "RATE <verifies/s> <bcrypt version>".

usage: bcrypt_rate.py COST SECONDS PROCS
"""
import multiprocessing
import sys
import time

import bcrypt

PASSWORD = b"bench-horse-battery-1"


def verify_for(args):
    cost, seconds = args
    hashed = bcrypt.hashpw(PASSWORD, bcrypt.gensalt(cost))
    count, start = 0, time.monotonic()
    while time.monotonic() < start + seconds or count == 0:
        if not bcrypt.checkpw(PASSWORD, hashed):
            raise SystemExit("bcrypt_rate.py: checkpw failed")
        count += 1
    return count, time.monotonic() - start


def main() -> None:
    cost, seconds, procs = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    with multiprocessing.Pool(procs) as pool:
        results = pool.map(verify_for, [(cost, seconds)] * procs)
    # Each process verified at its own rate over its own window; the machine's rate is their sum.
    rate = sum(count / elapsed for count, elapsed in results)
    print(f"RATE {rate:.2f} {bcrypt.__version__}")


if __name__ == "__main__":
    main()
