"""docs/architecture.md is true: its table of link lines is exactly what the
CMake files declare (every target of the library and of tools/, with its
PUBLIC and PRIVATE links among the project's targets and third-party
packages), every target its room table names exists, and the one-way chain
it draws holds: no room links a room above it."""
import os
import re
import unittest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
DOC = os.path.join(ROOT, "docs", "architecture.md")


def cmake_files():
    for folder in ["."] + [os.path.join("tools", d) for d in sorted(os.listdir(os.path.join(ROOT, "tools")))]:
        path = os.path.join(ROOT, folder, "CMakeLists.txt")
        if os.path.isfile(path):
            yield path


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def strip_comments(text):
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def declared():
    """{target: {"PUBLIC": set, "PRIVATE": set}} of the library's and the
    tools' CMake files (tests, bench, python are consumers, not rooms)."""
    targets = {}
    for path in cmake_files():
        text = strip_comments(read(path))
        for kind, name in re.findall(r"add_(library|executable)\(\s*([A-Za-z0-9_]+)", text):
            if "ALIAS" in text.split("add_%s(%s" % (kind, name), 1)[1].split(")", 1)[0]:
                continue
            targets.setdefault(name, {"PUBLIC": set(), "PRIVATE": set()})
        for name, body in re.findall(r"target_link_libraries\(\s*([A-Za-z0-9_]+)([^)]*)\)", text):
            scope = "PRIVATE"
            for word in body.split():
                if word in ("PUBLIC", "PRIVATE", "INTERFACE"):
                    scope = "PUBLIC" if word == "INTERFACE" else word
                else:
                    targets.setdefault(name, {"PUBLIC": set(), "PRIVATE": set()})[scope].add(word)
    return targets


def documented():
    """The rows of the doc's "Link lines" table: target | PUBLIC | PRIVATE."""
    text = read(DOC)
    section = text.split("## Link lines", 1)[1]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        names = lambda cell: set(re.findall(r"`([^`]+)`", cell))
        rows[cells[0].strip("`")] = {"PUBLIC": names(cells[1]), "PRIVATE": names(cells[2])}
    return rows


class ArchitectureDoc(unittest.TestCase):
    def test_the_link_table_is_what_cmake_declares(self):
        self.assertEqual(documented(), declared())

    def test_the_room_table_names_only_targets_that_exist(self):
        text = read(DOC).split("## Link lines", 1)[0]
        known = set(declared()) | {"fitwatch_python"}
        for row in re.findall(r"^\| `[^|]*` \| ([^|]*) \|", text, re.M):
            for target in re.findall(r"`([A-Za-z0-9_]+)`", row):  # (not module names)
                self.assertIn(target, known, row)

    def test_no_room_links_a_room_above_it(self):
        order = ["fitwatch", "fitwatch_emf", "fitwatch_alarms", "fitwatch_cfn", "fitwatch_notify",
                 "fitwatch_report", "fitwatch_commands", "fitwatch_cli"]
        links = declared()
        for i, target in enumerate(order):
            for scope in ("PUBLIC", "PRIVATE"):
                for dep in links[target][scope]:
                    if dep in order:
                        self.assertLess(order.index(dep), i, "%s links %s" % (target, dep))

    def test_the_check_catches_a_wrong_row(self):
        rows = documented()
        rows["fitwatch_emf"]["PUBLIC"].add("fitwatch_cfn")
        self.assertNotEqual(rows, declared())


if __name__ == "__main__":
    unittest.main()
