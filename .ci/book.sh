#!/usr/bin/env bash
# The book (docs/): builds it with mdBook and fails on a broken internal link, i.e. a link to a
# missing chapter or file, or to an #anchor that no element of the target page has, in the book
# or in README.md (.ci/book-links.py reads the rendered HTML; mdBook itself checks neither).
# A chapter listed in SUMMARY.md without its file fails the build (create-missing = false), and
# so do an unknown key in docs/book.toml and any warning mdBook prints.
#
# mdBook is installed from crates.io when the pinned version is not on the PATH, into
# $CARGO_HOME/bin (~/.cargo/bin), without its default features (the file watcher, the local
# server and the search index are not needed to build and check), once per machine: it takes
# minutes on 2 cores (docs/src/performance.md, "Build cost"). To read the book locally,
# `cargo install mdbook` (with those features) gives `mdbook serve docs`.
#
#   bash .ci/book.sh          from the repository, any machine with cargo and python3
#
# Output: docs/book/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

MDBOOK_VERSION=0.5.4
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$PATH"

if [ "$(mdbook --version 2>/dev/null || true)" != "mdbook v$MDBOOK_VERSION" ]; then
    echo "== installing mdbook $MDBOOK_VERSION (crates.io)"
    start=$SECONDS
    cargo install mdbook --locked --version "$MDBOOK_VERSION" --no-default-features --quiet
    echo "mdbook installed in $((SECONDS - start)) s"
fi

echo "== mdbook build docs"
rm -rf docs/book
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
mdbook build docs 2>&1 | tee "$log"
# mdBook goes on after some mistakes (an include it cannot read, HTML it cannot balance) with
# only a warning: those fail here.
if grep -E '(^|[^A-Za-z])(WARN|ERROR) ' "$log" >/dev/null; then
    echo "mdbook warned: fix the chapters above" >&2
    exit 1
fi

echo "== internal links and anchors (docs/book, README.md)"
python3 .ci/book-links.py docs/book README.md
