"""The README's delay claims are the figures of docs/benchmarks.md.

Every "median of N evaluations after the best epoch (p90 M)" in README.md
must be the median and p90 delay of the default template's email on the
held-out half, as the benchmark's table prints them: when the detector is
retuned and docs/benchmarks.md gets new figures, this test fails until the
README quotes them. The README promises no instant email either.
"""
import os
import re
import unittest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
CLAIM = re.compile(r"median\s+of\s+(\S+)\s+evaluations\s+after\s+the\s+best\s+epoch\s+\(p90\s+([^)\s]+)\)")


def read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        return f.read()


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def held_out_email_delay(text):
    """(median, p90) of the first "the email, default template" row of the
    held-out half's table, read by the table's own column names."""
    part = text.split("**Held-out half**", 1)
    if len(part) != 2:
        raise AssertionError("docs/benchmarks.md has no **Held-out half** table")
    header = None
    for line in part[1].splitlines():
        if not line.startswith("|"):
            if header is not None:
                break
            continue
        row = cells(line)
        if header is None:
            header = row
            continue
        if row[0].startswith("the email, default template"):
            return row[header.index("median delay")], row[header.index("p90 delay")]
    raise AssertionError("no 'the email, default template' row in the held-out table")


def readme_claims(text):
    return CLAIM.findall(re.sub(r"\s+", " ", text))


class ReadmeDelay(unittest.TestCase):
    def test_the_benchmark_table_is_read(self):
        median, p90 = held_out_email_delay(read("docs/benchmarks.md"))
        self.assertRegex(median, r"^\d+(\.\d+)?$")
        self.assertRegex(p90, r"^\d+(\.\d+)?$")

    def test_every_readme_delay_is_the_benchmark_s(self):
        expected = held_out_email_delay(read("docs/benchmarks.md"))
        claims = readme_claims(read("README.md"))
        self.assertGreaterEqual(len(claims), 2, "README.md states the delay (median and p90) "
                                "at the top and where the alarms are deployed")
        for claim in claims:
            self.assertEqual(claim, expected)

    def test_the_readme_links_the_benchmark_and_promises_no_instant_email(self):
        text = read("README.md")
        self.assertIn("(docs/benchmarks.md", text)
        self.assertNotIn("the moment it happens", text)

    def test_the_check_catches_a_wrong_figure(self):
        median, p90 = held_out_email_delay(read("docs/benchmarks.md"))
        wrong = "a median of %s evaluations after the best epoch (p90 %s)" % (median + "0", p90)
        self.assertNotEqual(readme_claims(wrong)[0], (median, p90))
        table = ("**Held-out half**\n\n| what fires | median delay | p90 delay |\n|---|---|---|\n"
                 "| the email, default template, epochs 30 s apart | 7 | 15 |\n")
        self.assertEqual(held_out_email_delay(table), ("7", "15"))


if __name__ == "__main__":
    unittest.main()
