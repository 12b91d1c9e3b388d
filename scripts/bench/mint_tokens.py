#!/usr/bin/env python3
"""Mints bearer tokens for seeding: COUNT random tokens shaped like the auth server's own (32 random bytes,
base64url, 43 characters). Writes the tokens, one a line, to TOKENS_FILE (what wrk sends) and
"sha256-hex,user_id" rows to HASHES_CSV (what the database stores; the server keeps only the digest).
Tokens go round-robin to the given user ids.

usage: mint_tokens.py COUNT TOKENS_FILE HASHES_CSV USER_ID [USER_ID...]
"""
import hashlib
import secrets
import sys


def main() -> None:
    count, tokens_path, hashes_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    user_ids = sys.argv[4:]
    if not user_ids:
        sys.exit("mint_tokens.py: at least one user id is needed")
    with open(tokens_path, "w") as tokens, open(hashes_path, "w") as hashes:
        for n in range(count):
            token = secrets.token_urlsafe(32)
            tokens.write(token + "\n")
            hashes.write(f"{hashlib.sha256(token.encode()).hexdigest()},{user_ids[n % len(user_ids)]}\n")


if __name__ == "__main__":
    main()
