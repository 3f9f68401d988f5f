#!/usr/bin/env python3
"""Checks the internal links of the built book (docs/book/) and of README.md.

mdBook renders a link to a missing chapter as a dead link, and neither mdBook nor the link
checkers built for it look at anchors, so this reads the rendered HTML itself: every relative
`href` (and `src`) of every page must name a file inside the book, and every `#anchor` must be
the `id` of an element of the page it points to. A `{{#include ...}}` that mdBook could not
expand (it leaves the text as it was) is an error too. README.md's relative links must name
files of the repository, and their anchors headings of those files.

    python3 .ci/book-links.py docs/book README.md

Exits 1 after listing every broken link; prints a one-line summary otherwise. Standard library
only: nothing to install.
"""

import html.parser
import os
import re
import sys
import urllib.parse

SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# Pages mdBook writes besides the chapters: the print page repeats every chapter (its links are
# rewritten to point inside it), and the 404 page is meant to be served from the site's root.
SKIPPED_PAGES = {"print.html", "404.html"}


class Page(html.parser.HTMLParser):
    """The ids and the outgoing links (with their line numbers) of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(name):
                self.ids.add(attrs[name])
        for name in ("href", "src"):
            target = attrs.get(name)
            if target is not None and (tag == "a" or name == "src"):
                self.links.append((self.getpos()[0], target))


def parse(path, cache={}):
    if path not in cache:
        page = Page()
        with open(path, encoding="utf-8") as f:
            text = f.read()
        page.feed(text)
        page.unexpanded = [m.group(0) for m in re.finditer(r"\{\{#[a-z_]+[^}]*\}\}", text)]
        cache[path] = page
    return cache[path]


def internal(target):
    """The (path, fragment) of a link inside the site, or None for any other link."""
    if not target or target.startswith("//") or SCHEME.match(target):
        return None
    path, _, fragment = target.partition("#")
    path = path.partition("?")[0]
    return urllib.parse.unquote(path), urllib.parse.unquote(fragment)


def check_book(root):
    root = os.path.realpath(root)
    errors = []
    pages = 0
    links = 0
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            if not name.endswith(".html") or name in SKIPPED_PAGES:
                continue
            page_path = os.path.join(folder, name)
            shown = os.path.relpath(page_path, root)
            page = parse(page_path)
            pages += 1
            for text in page.unexpanded:
                errors.append(f"{shown}: mdBook left `{text}` unexpanded (a missing file?)")
            for line, target in page.links:
                parts = internal(target)
                if parts is None:
                    continue
                links += 1
                path, fragment = parts
                if path:
                    resolved = os.path.realpath(os.path.join(folder, path))
                    if os.path.isdir(resolved):
                        resolved = os.path.join(resolved, "index.html")
                else:
                    resolved = page_path
                if os.path.commonpath([root, resolved]) != root:
                    errors.append(f"{shown}:{line}: `{target}` leads out of the book")
                    continue
                if not os.path.isfile(resolved):
                    errors.append(f"{shown}:{line}: `{target}`: no such file in the book")
                    continue
                if fragment and resolved.endswith(".html"):
                    if fragment not in parse(resolved).ids:
                        where = os.path.relpath(resolved, root)
                        errors.append(f"{shown}:{line}: `{target}`: {where} has no id `{fragment}`")
    return errors, pages, links


def slug(heading):
    """A heading's anchor as GitHub (and, for plain headings, mdBook) makes it."""
    text = re.sub(r"`|\*|_(?=\w)|(?<=\w)_", "", heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def markdown_links(text):
    """(line, target) of every inline link outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        line = re.sub(r"`[^`]*`", "", line)
        for match in re.finditer(r"\]\(([^)\s]+)\)", line):
            yield number, match.group(1)


def headings(path):
    fenced = False
    found = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.lstrip().startswith("```"):
                fenced = not fenced
            elif not fenced and line.startswith("#"):
                found.add(slug(line.lstrip("#")))
    return found


def check_markdown(path):
    errors = []
    links = 0
    folder = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for line, target in markdown_links(text):
        parts = internal(target)
        if parts is None:
            continue
        links += 1
        link_path, fragment = parts
        resolved = os.path.normpath(os.path.join(folder, link_path)) if link_path else path
        if not os.path.exists(resolved):
            errors.append(f"{path}:{line}: `{target}`: no such file")
        elif fragment and resolved.endswith(".md") and fragment not in headings(resolved):
            errors.append(f"{path}:{line}: `{target}`: no heading makes the anchor `{fragment}`")
    return errors, links


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    book, markdown = argv[1], argv[2:]
    if not os.path.isfile(os.path.join(book, "index.html")):
        print(f"{book}/index.html is missing: build the book first", file=sys.stderr)
        return 2
    errors, pages, links = check_book(book)
    for path in markdown:
        more, count = check_markdown(path)
        errors += more
        links += count
    for error in errors:
        print(f"broken link: {error}", file=sys.stderr)
    if errors:
        print(f"{len(errors)} broken internal link(s)", file=sys.stderr)
        return 1
    extra = f" and {', '.join(markdown)}" if markdown else ""
    print(f"links: {links} internal links checked in {pages} pages of {book}{extra}; none broken")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
