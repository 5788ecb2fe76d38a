#!/usr/bin/env python3
"""Checks that every section cited in a source comment exists in the project's documents.

Comments in src/ and tests/ cite formulas as "MATH §n" (docs/math.md) and design sections as
"DESIGN §n" (docs/architecture.md); a list or range after one prefix ("§a, §b", "§a–§b",
"§a and §b") cites every number in it from the same document. A section exists when a heading
of its document carries the number right after its '#' marks ("## §n ...").

Prints one "file:line: ..." line per citation that does not resolve and exits with status 1;
otherwise prints how many citations of how many sections resolve and exits with 0.

Usage: check_citations.py [SOURCE_DIR]   (default: the repository that holds this script)
"""

import argparse
import os
import re
import sys

DOCUMENTS = {"MATH": os.path.join("docs", "math.md"),
             "DESIGN": os.path.join("docs", "architecture.md")}
SCANNED_DIRECTORIES = ("src", "tests")
SCANNED_SUFFIXES = (".h", ".cpp", ".py", ".sh")
SCANNED_NAMES = ("CMakeLists.txt",)

NUMBER = r"\d+(?:\.\d+)*"
# A prefix, its first number, then any numbers joined to it by a comma, "and", "to" or a dash.
CITATION = re.compile(r"\b(MATH|DESIGN) §" + NUMBER +
                      r"(?:\s*(?:,|and|to|–|—|-)\s*§" + NUMBER + r")*")
SECTION = re.compile(r"§(" + NUMBER + r")")
HEADING = re.compile(r"^#+\s*§(" + NUMBER + r")(?![\d.]*\d)")


def read_lines(path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read().splitlines()


def document_sections(path):
    """Section number -> heading line numbers of one document."""
    sections = {}
    for number, line in enumerate(read_lines(path), 1):
        match = HEADING.match(line)
        if match:
            sections.setdefault(match.group(1), []).append(number)
    return sections


def scanned_files(root):
    for directory in SCANNED_DIRECTORIES:
        for folder, subfolders, files in os.walk(os.path.join(root, directory)):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith((".", "__")))
            for name in sorted(files):
                if name.endswith(SCANNED_SUFFIXES) or name in SCANNED_NAMES:
                    yield os.path.join(folder, name)


def citations(path):
    """(line number, document prefix, section number) of every citation in a file."""
    for number, line in enumerate(read_lines(path), 1):
        for match in CITATION.finditer(line):
            for section in SECTION.findall(match.group(0)):
                yield number, match.group(1), section


def main():
    default_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source_dir", nargs="?", default=default_root,
                        help="root of the source tree (default: %(default)s)")
    root = parser.parse_args().source_dir

    problems = []
    sections = {}
    for prefix, document in DOCUMENTS.items():
        path = os.path.join(root, document)
        if not os.path.isfile(path):
            problems.append(f"{document}: missing; {prefix} citations cannot resolve")
            sections[prefix] = {}
            continue
        sections[prefix] = document_sections(path)
        for section, lines in sorted(sections[prefix].items()):
            if len(lines) > 1:
                where = ", ".join(str(line) for line in lines)
                problems.append(f"{document}: §{section} is the heading of lines {where}")

    count = 0
    cited = set()
    for path in scanned_files(root):
        relative = os.path.relpath(path, root)
        for line, prefix, section in citations(path):
            count += 1
            cited.add((prefix, section))
            if section not in sections[prefix]:
                problems.append(f"{relative}:{line}: {prefix} §{section}: no such section in "
                                f"{DOCUMENTS[prefix]}")

    for problem in problems:
        print(problem)
    if problems:
        print(f"check_citations: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    if count == 0:
        print(f"check_citations: no citations found under {root}; wrong source directory?")
        return 1
    print(f"check_citations: {count} citations of {len(cited)} sections resolve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
