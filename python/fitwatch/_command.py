"""The `fitwatch` command of the wheel (a console entry point): runs the
executable the wheel carries (fitwatch/_bin/fitwatch, built by
tools/wheel/build.sh: replay, watch, validate, emit, schema; no SMTP: emails
go to --outbox). An installation built from source has no such executable:
the command then says where to get one."""
import os
import sys


def main() -> None:
    exe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bin", "fitwatch")
    if not os.access(exe, os.X_OK):
        sys.stderr.write("fitwatch: this installation has no fitwatch command (only the wheel "
                         "made by `make wheel` carries one; from source: cmake --build, "
                         "target fitwatch_cli)\n")
        sys.exit(2)
    os.execv(exe, ["fitwatch"] + sys.argv[1:])


if __name__ == "__main__":
    main()
