"""Copies templates/functions/*.py into the templates that run them.

A template holds a function's code inline (Code.ZipFile) under a marker
comment naming its source:

      Code:
        # inline: functions/formatter.py
        ZipFile: |
          ...the file, indented...

`python3 templates/functions/inline.py` rewrites every such block from its
source file; `--check` changes nothing and fails (exit 1) naming each block
that differs, so a test catches a template that drifted from the source.
CloudFormation takes a template body of at most 51,200 bytes
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html):
--check fails for a larger one as well."""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.dirname(HERE)
MARKER = re.compile(r"^(\s*)# inline: (functions/[\w.-]+\.py)\s*$")
BODY_LIMIT = 51200


def inline(text):
    """The template text with every marked ZipFile block replaced by its source."""
    lines = text.split("\n")
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        m = MARKER.match(line)
        i += 1
        if not m:
            continue
        indent = m.group(1)
        if i >= len(lines) or lines[i].strip() != "ZipFile: |":
            raise ValueError("a '# inline:' marker must be followed by 'ZipFile: |'")
        out.append(lines[i])
        i += 1
        while i < len(lines) and (lines[i].strip() == "" or lines[i].startswith(indent + "  ")):
            i += 1
        with open(os.path.join(TEMPLATES, m.group(2)), encoding="utf-8") as f:
            source = f.read().rstrip("\n").split("\n")
        out += [(indent + "  " + s) if s else "" for s in source]
        # a blank line, then the next resource
        out.append("")
    return "\n".join(out)


def templates():
    return sorted(os.path.join(TEMPLATES, n) for n in os.listdir(TEMPLATES) if n.endswith(".yaml"))


def main(argv):
    check = "--check" in argv
    bad = []
    for path in templates():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new = inline(text)
        if len(new.encode("utf-8")) > BODY_LIMIT:
            bad.append("%s: %d bytes, above CloudFormation's template body limit of %d"
                       % (path, len(new.encode("utf-8")), BODY_LIMIT))
        if new != text:
            if check:
                bad.append("%s: its inline code differs from templates/functions (run python3 %s)"
                           % (path, os.path.relpath(__file__)))
            else:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(new)
    for b in bad:
        print(b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
