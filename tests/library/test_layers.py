"""The library's layers hold: no file of src/ or include/fitwatch/ includes a
header of a layer above its own. The order is the table "The library's
layers" in docs/architecture.md (read from there: one list); a file may
include its own layer and those below. Every file of the library must be in
the table, and every name of the table must be a file."""
import os
import re
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DOC = os.path.join(ROOT, "docs", "architecture.md")
FOLDERS = ("src", os.path.join("include", "fitwatch"))
SECTION = "## The library's layers"

# Edges that break the order today, each with who removes it. The test fails
# when one no longer occurs, so that its line is deleted with it.
KNOWN_EXCEPTIONS = set()


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def layers(doc_text):
    """{name: layer number} from the doc's table: | n | `name` `name` ... | what |."""
    section = doc_text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].isdigit():
            continue
        for name in re.findall(r"`([A-Za-z0-9_]+)`", cells[1]):
            if name in out:
                raise AssertionError("%s is in two layers" % name)
            out[name] = int(cells[0])
    return out


def library_files():
    """{path relative to the root: text} of every source and header."""
    files = {}
    for folder in FOLDERS:
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if name.endswith((".cpp", ".hpp", ".h")):
                path = os.path.join(folder, name)
                files[path.replace(os.sep, "/")] = read(os.path.join(ROOT, path))
    return files


def name_of(path):
    """src/logger.cpp and include/fitwatch/logger.hpp -> logger."""
    return os.path.splitext(os.path.basename(path))[0]


INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*(?:"([^"]+)"|<(fitwatch/[^>]+)>)', re.M)


def included(text, names):
    """The library's names a file includes ("logger.hpp", "fitwatch/x.hpp")."""
    for quoted, angled in INCLUDE.findall(text):
        name = name_of(quoted or angled)
        if name in names:
            yield name


def violations(files, order):
    """(file, included name) for each include of a higher layer."""
    found = set()
    for path, text in files.items():
        own = order[name_of(path)]
        for name in included(text, order):
            if order[name] > own:
                found.add((path, name))
    return found


class LibraryLayers(unittest.TestCase):
    def setUp(self):
        self.order = layers(read(DOC))
        self.files = library_files()

    def test_every_file_is_in_one_layer_and_every_layer_name_is_a_file(self):
        names = {name_of(p) for p in self.files}
        self.assertEqual(sorted(names - set(self.order)), [], "files missing from the table")
        self.assertEqual(sorted(set(self.order) - names), [], "names of no file in the table")

    def test_no_file_includes_a_layer_above_its_own(self):
        found = violations(self.files, self.order)
        self.assertEqual(sorted(found - KNOWN_EXCEPTIONS), [])
        stale = KNOWN_EXCEPTIONS - found
        self.assertEqual(sorted(stale), [], "no longer occurs: delete it from KNOWN_EXCEPTIONS")

    def test_settings_sit_on_top_of_logger_sagemaker_and_detector(self):
        for below in ("sagemaker", "logger", "detector", "monitor", "record", "sink"):
            self.assertLess(self.order[below], self.order["settings"], below)
        self.assertLess(self.order["sagemaker"], self.order["logger"])

    def test_the_check_catches_an_include_of_a_higher_layer(self):
        # The include main had before this change: logger.cpp -> settings.hpp.
        files = dict(self.files)
        files["src/logger.cpp"] += '\n#include "fitwatch/settings.hpp"\n'
        files["src/sink.cpp"] += "\n  #  include <fitwatch/logger.hpp>\n"
        found = violations(files, self.order)
        self.assertIn(("src/logger.cpp", "settings"), found)
        self.assertIn(("src/sink.cpp", "logger"), found)


if __name__ == "__main__":
    unittest.main()
