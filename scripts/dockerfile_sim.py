#!/usr/bin/env python3
"""Runs the Dockerfile's builder stage without a container engine, to prove it builds.

  dockerfile_sim.py [--root DIR] [--keep PATH] [--target-dir DIR]

What it proves that the other checks (BuildKit's parser, scripts/e2e_compose.py's static checks, the e2e
build) do not: that the builder stage's commands succeed in their order, on exactly the files its COPY lines
bring in (.dockerignore honoured). The dependency layer must compile with --locked from the manifests and
docker/cargo-stubs.sh's stubs alone (a target the stubs miss, a manifest needing a file the layer does not
copy, a lockfile out of step all fail here), and the real build after the `touch` must produce every file the
runtime stage copies `--from=builder`, each binary answering --version. Without it, such a break shows only
when someone runs `docker compose up --build`.

DIR (default target/docker-sim) stands for the builder's filesystem root: WORKDIR /src is DIR/src. RUN runs
with /bin/sh in the working directory. PATH (default src/target) survives between runs so that only the
workspace crates rebuild; --target-dir points cargo at another target folder instead (CI passes the
repository's own, so the dependencies compiled for the tests are reused) and the runtime stage's
/src/target/... files are looked up there. The base images are not emulated: this machine's Rust and Debian
stand in for rust:1-bookworm.
"""
import argparse
import fnmatch
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path


def instructions(text):
    """(INSTRUCTION, arguments) pairs; comments dropped, backslash continuations joined."""
    out, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if current and line.lstrip().startswith("#"):
            continue  # comment lines inside a continued instruction
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        word, _, rest = current.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def ignored(relative, patterns):
    parts = Path(relative).parts
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i])
        if any(fnmatch.fnmatch(prefix, p.rstrip("/")) for p in patterns):
            return True
    return False


def copy(context, sources, dest, into_folder, patterns):
    many = len(sources) > 1 or into_folder
    for source in sources:
        origin = context / source
        if not origin.exists():
            sys.exit(f"COPY: {source} does not exist in the build context")
        if ignored(source, patterns):
            sys.exit(f"COPY: {source} is excluded by .dockerignore")
        if origin.is_dir():  # like docker: the folder's contents, minus what .dockerignore excludes
            for path in origin.rglob("*"):
                relative = path.relative_to(context)
                if path.is_file() and not ignored(relative.as_posix(), patterns):
                    target = dest / path.relative_to(origin)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)
        else:
            target = dest / origin.name if many or dest.is_dir() else dest
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="target/docker-sim")
    parser.add_argument("--keep", default="src/target")
    parser.add_argument("--target-dir", help="cargo's target folder for the RUN steps")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.target_dir:
        env["CARGO_TARGET_DIR"] = str(Path(args.target_dir).resolve())

    context = Path.cwd()
    root = Path(args.root).resolve()
    patterns = [p.strip() for p in (context / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    stages, current = [], None
    for word, rest in instructions((context / "Dockerfile").read_text()):
        if word == "FROM":
            current = []
            stages.append((rest, current))
        elif current is not None:
            current.append((word, rest))
    (builder_from, builder), (_, runtime) = stages[0], stages[-1]

    # A clean builder filesystem, but for the kept cargo target folder.
    keep = root / args.keep
    if root.exists():
        for path in root.rglob("*"):
            if path.is_dir() and not path.is_symlink() and keep.is_relative_to(path):
                continue
            if path == keep or path.is_relative_to(keep):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
    root.mkdir(parents=True, exist_ok=True)

    print(f"# builder stage ({builder_from}) in {root}")
    cwd = root
    for word, rest in builder:
        print(f"# {word} {rest[:100]}")
        if word == "WORKDIR":
            cwd = root / rest.lstrip("/") if rest.startswith("/") else cwd / rest
            cwd.mkdir(parents=True, exist_ok=True)
        elif word == "COPY":
            *sources, dest = rest.split()
            target = root / dest.lstrip("/") if dest.startswith("/") else cwd / dest
            copy(context, sources, target, dest.endswith("/"), patterns)
        elif word == "RUN":
            subprocess.run(["/bin/sh", "-c", rest], cwd=cwd, check=True, env=env)
        elif word in ("ENV", "ARG"):
            sys.exit(f"{word} in the builder stage is not emulated; extend dockerfile_sim.py")

    print("# runtime stage: COPY --from=builder")
    for word, rest in runtime:
        if word == "COPY" and rest.startswith("--from=builder"):
            *sources, _ = rest.split()[1:]
            for source in sources:
                path = root / source.lstrip("/")
                if args.target_dir and source.startswith("/src/target/"):
                    path = Path(env["CARGO_TARGET_DIR"]) / source.removeprefix("/src/target/")
                if not path.is_file():
                    sys.exit(f"{source} was not produced by the builder stage")
                version = subprocess.run([path, "--version"], capture_output=True, text=True, check=True)
                print(f"{source}: {version.stdout.strip()}")
    print("builder stage OK")


if __name__ == "__main__":
    main()
