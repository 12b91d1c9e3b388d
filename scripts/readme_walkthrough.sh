#!/usr/bin/env bash
# Runs the README's "Walkthrough with curl" exactly as written, so that it cannot drift from the servers:
# every ```bash block of that section, in order, in one bash with `set -euo pipefail` (each curl in it
# uses --fail, each jq -e checks an answer). Servers must be running (scripts/run.sh); the README's
# addresses 127.0.0.1:8000 / 127.0.0.1:8001 are replaced by $AUTH_URL / $RS_URL when those are set.
#
#   scripts/readme_walkthrough.sh            # against scripts/run.sh's default ports
#   scripts/readme_walkthrough.sh --print    # only print the extracted script
#
# Needs bash, curl, jq (and python3 to extract the blocks).
set -euo pipefail
cd "$(dirname "$0")/.."

AUTH_URL=${AUTH_URL:-http://127.0.0.1:8000}
RS_URL=${RS_URL:-http://127.0.0.1:8001}

# The fenced bash blocks between the "## Walkthrough with curl" heading and the next "## " heading.
script=$(python3 - README.md "$AUTH_URL" "$RS_URL" <<'PY'
import sys
readme, auth_url, rs_url = sys.argv[1:]
blocks, block, in_section = [], None, False
for line in open(readme, encoding="utf-8"):
    if line.startswith("## "):
        in_section = line.strip() == "## Walkthrough with curl"
        continue
    if not in_section:
        continue
    if block is None and line.strip() == "```bash":
        block = []
    elif block is not None and line.strip() == "```":
        blocks.append("".join(block))
        block = None
    elif block is not None:
        block.append(line)
if not blocks:
    sys.exit("README.md has no ```bash block under '## Walkthrough with curl'")
text = "\n".join(blocks)
print(text.replace("http://127.0.0.1:8000", auth_url).replace("http://127.0.0.1:8001", rs_url))
PY
)

if [[ ${1:-} == --print ]]; then
    printf '%s\n' "$script"
    exit 0
fi
for tool in curl jq; do
    command -v "$tool" >/dev/null || { echo "readme_walkthrough.sh needs $tool" >&2; exit 1; }
done
bash -euo pipefail -c "$script"
echo "README walkthrough: every step answered as written"
