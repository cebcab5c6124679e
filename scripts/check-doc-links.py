#!/usr/bin/env python3
"""Checks that the repository's documentation stands on its own: every
relative link (and image) in README.md, crates/*/README.md, ui/README.md,
e2e/README.md, docs/**/*.md and deploy/**/*.md points at a file or folder
inside the repository that exists. Links with a scheme (https:, mailto:) and
in-page anchors are not checked; code blocks and code spans are skipped.

    python3 scripts/check-doc-links.py      # exit 1 and one line per bad link

Run by scripts/test.sh. Before the real files it checks a built-in sample, so
a checker that stopped finding bad links fails too.
"""
import glob
import os
import re
import sys
from urllib.parse import unquote

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
PATTERNS = [
    "README.md",
    "crates/*/README.md",
    "ui/README.md",
    "e2e/README.md",
    "docs/**/*.md",
    "deploy/**/*.md",
]

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target "title") and ![alt](target); the target may be in <...>.
INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
# [label]: target
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HTML = re.compile(r"<(?:a|img)\s[^>]*?(?:href|src)\s*=\s*\"([^\"]+)\"", re.IGNORECASE)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def links(text):
    """(line number, target) of every link outside code."""
    in_fence = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        line = CODE_SPAN.sub("", line)
        for pattern in (INLINE, REFERENCE, HTML):
            for match in pattern.finditer(line):
                yield number, match.group(1).strip("<>")


def problems(path, text, root=ROOT):
    """One message per relative link that leaves `root` or names nothing."""
    base = os.path.dirname(path)
    for number, target in links(text):
        if SCHEME.match(target) or target.startswith("#"):
            continue
        plain = unquote(target.split("#", 1)[0].split("?", 1)[0])
        if not plain:
            continue
        if plain.startswith("/"):
            resolved = os.path.normpath(os.path.join(root, plain.lstrip("/")))
        else:
            resolved = os.path.normpath(os.path.join(base, plain))
        where = f"{os.path.relpath(path, root)}:{number}"
        if os.path.commonpath([root, os.path.realpath(resolved)]) != root:
            yield f"{where}: {target} points outside the repository"
        elif not os.path.exists(resolved):
            yield f"{where}: {target} does not exist"


def self_test():
    sample = (
        "[design](docs/design.md) [out](../shared/seed/note.md) [gone](docs/missing.md)\n"
        "`[code](../ignored.md)` [web](https://example.org) [anchor](#top)\n"
        "```\n[fenced](../also-ignored.md)\n```\n"
        '<img src="../up.png"> [ref]: nowhere.md\n'
    )
    found = list(problems(os.path.join(ROOT, "README.md"), sample))
    expected = [
        "README.md:1: ../shared/seed/note.md points outside the repository",
        "README.md:1: docs/missing.md does not exist",
        "README.md:6: ../up.png points outside the repository",
    ]
    if found != expected:
        sys.exit("check-doc-links: the self-test failed; found:\n  " + "\n  ".join(found))


def main():
    self_test()
    files = sorted({f for p in PATTERNS for f in glob.glob(os.path.join(ROOT, p), recursive=True)})
    bad = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            bad.extend(problems(path, f.read()))
    for message in bad:
        print(message, file=sys.stderr)
    print(f"check-doc-links: {len(files)} files, {len(bad)} bad links")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
