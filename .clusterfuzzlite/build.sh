#!/bin/bash -eu
# Builds every cargo-fuzz target of fuzz/ into $OUT, each with its seed corpus
# (fuzz/corpus/TARGET/ as TARGET_seed_corpus.zip), as ClusterFuzzLite (and OSS-Fuzz) want.
#
# In the build image, $SRC/sbx-conformance is the checkout and $SANITIZER the sanitizer the
# engine asks for (address, undefined...; its flags are in the image's RUSTFLAGS). Outside
# it (CI's `.ci/run` checks this script), PROJECT_DIR names the checkout and SANITIZER=none
# builds on stable Rust without a sanitizer, as `cargo xtask fuzz` does.
project="${PROJECT_DIR:-$SRC/sbx-conformance}"
cd "$project/fuzz"

build=(cargo fuzz build -O)
if [ "${SANITIZER:-address}" = none ]; then
    build+=(--sanitizer none)
fi
"${build[@]}"

targets=$(cargo fuzz list)
[ -n "$targets" ] || { echo "build.sh: no fuzz target in $project/fuzz" >&2; exit 1; }
for target in $targets; do
    cp "target/x86_64-unknown-linux-gnu/release/$target" "$OUT/"
    if [ -d "corpus/$target" ] && [ -n "$(ls -A "corpus/$target")" ]; then
        rm -f "$OUT/${target}_seed_corpus.zip"
        zip -jq "$OUT/${target}_seed_corpus.zip" "corpus/$target"/*
    fi
done
echo "build.sh: $(echo "$targets" | wc -w) targets in $OUT"
