#!/bin/sh
# The Dockerfile's dependency layer: gives each crate an empty src/lib.rs and src/main.rs plus a `fn main() {}`
# for every [[bin]], [[bench]], [[test]] and [[example]] its Cargo.toml declares (cargo refuses a manifest
# whose declared targets have no file), so that `cargo build` compiles only the dependencies.
# Prints the files it created, so that the layer can remove them again.
#   sh docker/cargo-stubs.sh CRATE_DIR... > /tmp/stubs
set -eu

declared_targets() { # CRATE_DIR: the file of each declared target, explicit `path` or cargo's default
    awk -v crate="$1" '
        function flush() {
            if (kind != "") {
                if (path == "") path = dirs[kind] name ".rs"
                print crate "/" path
            }
            kind = ""; name = ""; path = ""
        }
        BEGIN { dirs["bin"] = "src/bin/"; dirs["bench"] = "benches/"; dirs["test"] = "tests/"; dirs["example"] = "examples/" }
        /^\[/ { flush() }
        /^\[\[(bin|bench|test|example)\]\]/ { kind = $0; gsub(/[][ ]/, "", kind) }
        kind != "" && /^name *=/ { name = $0; sub(/^name *= *"/, "", name); sub(/".*/, "", name) }
        kind != "" && /^path *=/ { path = $0; sub(/^path *= *"/, "", path); sub(/".*/, "", path) }
        END { flush() }
    ' "$1/Cargo.toml"
}

for crate in "$@"; do
    for file in "$crate/src/lib.rs" "$crate/src/main.rs" $(declared_targets "$crate"); do
        mkdir -p "$(dirname "$file")"
        case $file in
            */lib.rs) : > "$file" ;;
            *) echo 'fn main() {}' > "$file" ;;
        esac
        echo "$file"
    done
done
