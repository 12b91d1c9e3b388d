#!/usr/bin/env python3
"""Every distinct failure in a schemathesis NDJSON report, with a curl reproduction of its first case.

    python3 scripts/schemathesis/summarize.py target/schemathesis/report/auth.ndjson [--all]

The console output of `schemathesis run` shows one failure per operation, check and message; the NDJSON
report holds every failing test case. Failures are grouped here by operation, check, response status and a
signature of the response body (the OAuth `error` code and a normalised description, the sorted field
names and messages of a DRF field-error body, or the title and the alert of an HTML page), so that two
different causes behind the same check are listed apart. --all shows every example of each group instead
of the first. Standard library only.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shlex
import sys
from collections import OrderedDict


def _decode(blob):
    if blob is None:
        return b""
    if isinstance(blob, dict) and "$base64" in blob:
        return base64.b64decode(blob["$base64"])
    if isinstance(blob, dict) and "string" in blob:
        return blob["string"].encode()
    if isinstance(blob, str):
        return blob.encode()
    return json.dumps(blob).encode()


def _normalise(text: str) -> str:
    text = re.sub(r'"[^"]*"', '"…"', text)
    text = re.sub(r"\d+", "N", text)
    return text[:120]


def _page_text(raw: bytes) -> str | None:
    """The auth server's HTML pages (error, login, consent, logout): the title and the alert's message."""
    text = raw.decode("utf-8", "replace")
    if not text.lstrip().lower().startswith("<!doctype html"):
        return None
    title = re.search(r"<title>(.*?)</title>", text, re.S)
    alert = re.search(r'role="alert">(.*?)</p>', text, re.S)
    parts = [html.unescape(m.group(1).strip()) for m in (title, alert) if m]
    return "HTML page: " + (": ".join(parts) or "untitled")


def _page_signature(raw: bytes) -> str | None:
    text = _page_text(raw)
    return _normalise(text) if text else None


def _excerpt(raw: bytes) -> str:
    """What a reproduction shows of a response body: a page's title and message, or the first 400 bytes."""
    return _page_text(raw) or raw[:400].decode("utf-8", "replace")


def _body_signatures(raw: bytes) -> list[str]:
    """One signature per cause the body names: a field-error body with two messages is in two groups."""
    try:
        body = json.loads(raw)
    except ValueError:
        page = _page_signature(raw)
        if page:
            return [page]
        return [f"non-JSON body {raw[:60]!r}" if raw else "empty body"]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        # "invalid JSON body: invalid type: map, ..." -> "invalid JSON body"
        description = str(body.get("error_description", "")).split(":")[0]
        return [f"error={body['error']}: {_normalise(description)}"]
    if isinstance(body, dict) and body and all(isinstance(v, list) for v in body.values()):
        messages = sorted({_normalise(str(m)) for v in body.values() for m in v})
        return [f"field error: {m}" for m in messages]
    return [f"JSON {type(body).__name__}"]


def _curl(request: dict) -> str:
    parts = ["curl", "-i", "-X", request["method"]]
    for name, values in (request.get("headers") or {}).items():
        if name.lower() in ("user-agent", "accept-encoding", "accept", "connection", "content-length"):
            continue
        if name.lower().startswith("x-schemathesis"):
            continue
        for value in values:
            parts += ["-H", f"{name}: {value}"]
    body = _decode(request.get("body"))
    if body:
        try:
            parts += ["--data-binary", body.decode()]
        except UnicodeDecodeError:
            parts += ["--data-binary", repr(body)]
    parts.append(request["uri"])
    return " ".join(shlex.quote(p) for p in parts)


def _size(example: dict) -> int:
    request = example["request"]
    return len(_decode(request.get("body"))) + len(request["uri"]) if request else 1 << 30


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    show_all = "--all" in sys.argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    groups: OrderedDict[tuple, list] = OrderedDict()
    errors = []
    filtered = 0
    with open(args[0], encoding="utf-8") as handle:
        for line in handle:
            event = json.loads(line)
            if "NonFatalError" in event or "FatalError" in event:
                errors.append(event)
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished["recorder"]
            filtered += sum((recorder.get("filtered_failures") or {}).values())
            for case_id, checks in (recorder.get("checks") or {}).items():
                for check in checks:
                    if check["status"] != "failure":
                        continue
                    interaction = (recorder.get("interactions") or {}).get(case_id)
                    case = recorder["cases"][case_id]["value"]
                    failure = (check.get("failure_info") or {}).get("failure") or {}
                    label = f"{case['method']} {case['path']}"
                    if interaction and interaction.get("response"):
                        status = interaction["response"]["status_code"]
                        raw = _decode(interaction["response"].get("content"))
                        signatures = _body_signatures(raw)
                    else:
                        status, raw, signatures = None, b"", ["no response"]
                    message = (failure.get("message") or failure.get("title") or "").split("\n")[0]
                    if failure.get("type") == "JsonSchemaError":
                        message = _normalise(message)
                    meta = case.get("meta") or {}
                    example = {
                        "phase": finished.get("phase"),
                        "mode": (meta.get("generation") or {}).get("mode"),
                        "scenario": ((meta.get("phase") or {}).get("data") or {}).get("description"),
                        "failure": failure,
                        "request": interaction["request"] if interaction else None,
                        "response": raw,
                    }
                    for signature in signatures:
                        key = (label, check["name"], failure.get("code"), status, signature, message)
                        groups.setdefault(key, []).append(example)
    by_operation: OrderedDict[str, list] = OrderedDict()
    for key in sorted(groups, key=lambda k: (k[0].split(" ", 1)[1], k[0], k[1], str(k[3]), k[4])):
        by_operation.setdefault(key[0], []).append(key)
    print(
        f"{len(groups)} distinct failures in {sum(len(v) for v in groups.values())} failing checks"
        f" ({filtered} more dropped by the filter_failure exemptions of hooks.py)"
    )
    for label, keys in by_operation.items():
        print(f"\n=== {label}")
        for key in keys:
            examples = groups[key]
            _, check, code, status, signature, message = key
            print(f"\n--- {check} ({code}), {len(examples)}x: answered {status}: {signature}")
            print(f"    {message}")
            # The smallest request first: the closest to a minimal reproduction.
            examples = sorted(examples, key=_size)
            for example in examples if show_all else examples[:1]:
                print(f"    phase {example['phase']}, mode {example['mode']}: {example['scenario']}")
                if example["request"]:
                    print(f"    {_curl(example['request'])}")
                print(f"    -> {status} {_excerpt(example['response'])}")
    for error in errors:
        kind, data = next(iter(error.items()))
        print(f"\n{kind} in {data.get('phase')} phase, {data.get('label')}: {json.dumps(data.get('value'))[:1000]}")
    return 1 if groups or errors else 0


if __name__ == "__main__":
    sys.exit(main())
