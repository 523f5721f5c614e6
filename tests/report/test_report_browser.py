"""fitwatch replay --report, rendered in a real browser (Debian's chromium,
headless): the screenshot must not be blank, and the SVG must hold the
expected series and marks, found by their element ids and compared with
what the log and `replay --format json` say (never with pixels)."""
import html.parser
import json
import math
import os
import shutil
import struct
import subprocess
import tempfile
import unittest
import zlib

CLI = os.environ["FITWATCH_CLI"]
CHROMIUM = os.environ.get("CHROMIUM", "")
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
MAIN = os.path.join(ROOT, "templates", "overfitting-alerts.yaml")
FLEET = os.path.join(ROOT, "templates", "fleet-alerts.yaml")
HOSTILE = "</svg><script>alert(1)</script>"
T0 = 1750000000000


def curve(epochs, spacing_ms=30000, turn=15):
    """Losses of a run that overfits after `turn`: JSON lines for emit."""
    rows = []
    for e in range(1, epochs + 1):
        train = math.exp(-e / 8) + 0.05
        val = 0.6 * math.exp(-e / 6) + 0.3 + (0.012 * (e - turn) if e > turn else 0) \
            + 0.01 * math.sin(e * 1.7)
        rows.append(json.dumps({"epoch": e, "train_loss": train, "val_loss": val,
                                "timestamp": T0 + e * spacing_ms}))
    return "\n".join(rows) + "\n"


def emit(job, text):
    return subprocess.run([CLI, "emit", "--job-name", job], input=text, check=True,
                          capture_output=True, text=True).stdout


class Elements(html.parser.HTMLParser):
    """Every element with an id (tag, attributes), every tag name, and the text."""

    def __init__(self, text):
        super().__init__()
        self.by_id, self.tags, self.text = {}, [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.by_id[a["id"]] = (tag, a)

    def handle_data(self, data):
        self.text.append(data)

    def with_prefix(self, prefix):
        return [a for i, (_, a) in sorted(self.by_id.items(), key=lambda kv: _order(kv[0]))
                if i.startswith(prefix)]


def _order(ident):
    head, _, tail = ident.rpartition("-")
    return (head, int(tail)) if tail.isdigit() else (ident, -1)


def png_pixels(path):
    """(width, height, rows of RGBA bytes) of an 8-bit RGB/RGBA PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


class ReportInABrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="fitwatch-report-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def replay(self, template, log_text, name, params, extra=()):
        log = os.path.join(self.dir, name + ".log")
        with open(log, "w") as f:
            f.write(log_text)
        report = os.path.join(self.dir, name + ".html")
        base = [CLI, "replay", "--template", template] + \
            [x for p in params for x in ("--param", p)] + list(extra)
        r = subprocess.run(base + ["--report", report, log], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        js = subprocess.run(base + ["--format", "json", log], check=True, capture_output=True,
                            text=True).stdout
        with open(report, encoding="utf-8") as f:
            return report, f.read(), [json.loads(l) for l in js.splitlines() if l.startswith("{")]

    def screenshot(self, report):
        if not CHROMIUM:
            self.fail("chromium not found: run `make deps` (Debian package chromium)")
        png = report + ".png"
        profile = tempfile.mkdtemp(prefix="chromium-", dir=self.dir)
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        "--user-data-dir=" + profile, "--screenshot=" + png,
                        "--window-size=1200,1600", "file://" + os.path.abspath(report)],
                       check=True, capture_output=True, timeout=120)
        return png_pixels(png)

    def test_one_job_series_marks_transitions_and_emails(self):
        log = emit("demo-job", curve(40))
        report, text, transitions = self.replay(
            MAIN, log, "one", ["TrainingJobName=demo-job", "TeamEmails=a@example.com,b@example.org"])
        page = Elements(text)
        lines = [json.loads(l) for l in log.splitlines()]
        for series in ("train", "validation", "smoothed", "signal-gl", "signal-streak",
                       "signal-since-best"):
            tag, a = page.by_id["j0-" + series]
            self.assertEqual(tag, "path")
            self.assertEqual(int(a["data-points"]), len(lines), series)
            self.assertTrue(a["d"].startswith("M"), series)
        # The best epoch: the library's own BestEpoch property on the last line.
        self.assertEqual(int(page.by_id["j0-best"][1]["data-epoch"]), lines[-1]["BestEpoch"])
        # The verdict's crossing: the first line with OverfittingDetected = 1.
        first = next(l for l in lines if l["OverfittingDetected"] == 1)
        crossings = [a for a in page.with_prefix("j0-crossing-")
                     if a["data-metric"] == "OverfittingDetected"]
        self.assertEqual([int(a["data-epoch"]) for a in crossings], [first["Epoch"]])
        # Every transition replay reports, in order, and every email.
        marks = page.with_prefix("j0-transition-")
        self.assertEqual(sorted((a["data-alarm"], a["data-new"]) for a in marks),
                         sorted((t["alarm"], t["new_state"]) for t in transitions))
        self.assertIn("ALARM", [a["data-new"] for a in marks])
        sent = [t for t in transitions if t["emails"]]
        self.assertGreater(len(sent), 0)
        self.assertEqual([a["data-to"].split(",") for a in page.with_prefix("j0-email-")],
                         [[e["to"] for e in t["emails"]] for t in sent])
        self.assertNotIn("script", page.tags)
        width, height, bpp, rows = self.screenshot(report)
        self.assertEqual((width, height), (1200, 1600))
        pixels = [r[i:i + 3] for r in rows[::4] for i in range(0, len(r), bpp * 4)]
        colours = set(pixels)
        non_white = sum(1 for p in pixels if p != b"\xff\xff\xff")
        self.assertGreater(len(colours), 20, "the screenshot is blank")
        self.assertGreater(non_white / len(pixels), 0.02, "the screenshot is blank")

    def test_hostile_job_name_is_text_and_each_job_gets_a_section(self):
        log = emit("good-job", curve(30)) + emit(HOSTILE, curve(30, turn=10))
        report, text, _ = self.replay(FLEET, log, "fleet", ["TeamEmails=a@example.com"])
        page = Elements(text)
        self.assertNotIn("script", page.tags)  # not an element, whatever the name says
        self.assertEqual(page.tags.count("svg"), 2)
        sections = {a["data-job"]: i for i, (_, a) in page.by_id.items() if "data-job" in a}
        self.assertEqual(set(sections), {"good-job", HOSTILE})
        self.assertIn("Job " + HOSTILE, "".join(page.text))
        width, height, bpp, rows = self.screenshot(report)
        self.assertGreater(len({r[i:i + 3] for r in rows[::8] for i in range(0, len(r), bpp * 8)}),
                           20)

    def test_ten_thousand_evaluations_are_decimated_for_drawing_not_for_marks(self):
        log = emit("long-job", curve(10000, spacing_ms=1000, turn=6000))
        _, text, transitions = self.replay(
            MAIN, log, "long", ["TrainingJobName=long-job", "TeamEmails=a@example.com"],
            ["--tail", "0"])
        page = Elements(text)
        for series in ("train", "validation", "smoothed"):
            a = page.by_id["j0-" + series][1]
            self.assertEqual(int(a["data-points"]), 10000)
            # at most 4 vertices per pixel column of the ~1000 px plot
            self.assertLessEqual(int(a["data-drawn"]), 4 * 1000)
        self.assertEqual(len(page.with_prefix("j0-transition-")), len(transitions))
        lines = [json.loads(l) for l in log.splitlines()]
        ups = sum(1 for a, b in zip([0] + lines, lines)
                  if b["OverfittingDetected"] == 1 and (a == 0 or a["OverfittingDetected"] != 1))
        self.assertEqual(len([a for a in page.with_prefix("j0-crossing-")
                              if a["data-metric"] == "OverfittingDetected"]), ups)


class WatchRewritesTheReport(unittest.TestCase):
    def test_rewritten_as_lines_arrive_and_complete_at_exit(self):
        import time
        d = tempfile.mkdtemp(prefix="fitwatch-watch-report-")
        self.addCleanup(shutil.rmtree, d, True)
        report = os.path.join(d, "r.html")
        lines = emit("live-job", curve(20)).splitlines(keepends=True)
        p = subprocess.Popen([CLI, "watch", "--template", MAIN, "--param", "TrainingJobName=live-job",
                              "--param", "TeamEmails=a@example.com", "--report", report,
                              "--report-every", "0"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, text=True)
        try:
            p.stdin.writelines(lines[:10])
            p.stdin.flush()
            points, deadline = None, time.time() + 30
            while points != "10" and time.time() < deadline:
                time.sleep(0.1)
                try:  # watch writes it at start; a slow start (sanitizers) may not have yet
                    with open(report, encoding="utf-8") as f:  # never half a file: renamed
                        points = Elements(f.read()).by_id.get("j0-train", ("", {}))[1].get(
                            "data-points")
                except FileNotFoundError:
                    continue
            self.assertEqual(points, "10")
            p.stdin.writelines(lines[10:])
        finally:
            p.stdin.close()
            self.assertEqual(p.wait(timeout=60), 0)
        with open(report, encoding="utf-8") as f:
            self.assertEqual(Elements(f.read()).by_id["j0-train"][1]["data-points"], "20")


if __name__ == "__main__":
    unittest.main()
