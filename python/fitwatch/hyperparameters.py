"""fitwatch's settings from a script's command line, as the SageMaker training
toolkit starts a script-mode entry point, without breaking the script's own
argparse (docs/python.md, docs/deploy.md "The PyTorch estimator").

The toolkit passes every hyperparameter as ``--name value`` arguments (and,
decoded, as JSON in ``SM_HPS``). ``fitwatch_patience=5`` therefore arrives as
``--fitwatch_patience 5``, which a plain ``argparse.parse_args()`` refuses
("unrecognized arguments"). ``settings_from_argv()`` takes those arguments
out and returns the rest for the script's parser:

    settings, rest = fitwatch.settings_from_argv(sys.argv[1:])
    args = parser.parse_args(rest)
    monitor = fitwatch.Monitor(settings=settings)
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = ["settings_from_argv"]

_FLAG = "--fitwatch"


def settings_from_argv(argv: Optional[Sequence[str]] = None,
                       environ: Optional[Mapping[str, str]] = None) -> Tuple[Any, List[str]]:
    """Returns ``(settings, rest)``: fitwatch's Settings and ``argv`` without
    its ``--fitwatch_<name>`` arguments, in their order.

    ``argv`` defaults to ``sys.argv[1:]``, ``environ`` to ``os.environ``.
    Both ``--fitwatch_patience 5`` and ``--fitwatch_patience=5`` are taken
    (and ``--fitwatch-patience``); nothing after a ``--`` is. The settings
    are read as ``fitwatch.settings_from()`` reads them (docs/settings.md):
    defaults, then the ``FITWATCH_<NAME>`` variables, then the ``fitwatch_*``
    keys of ``SM_HPS`` (a JSON object, as the toolkit sets it), then these
    arguments.

    Raises fitwatch.Error (a ValueError, message starting with "fitwatch: ")
    for a ``--fitwatch_*`` argument without a value, one given twice, an
    unknown setting name, a bad value, or an ``SM_HPS`` that is not a JSON
    object.
    """
    from . import Error, HYPERPARAMETER_PREFIX, settings_from  # the package, once loaded

    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if environ is None else environ
    given: Dict[str, Any] = _sm_hps(env, Error)
    from_argv: Dict[str, str] = {}
    rest: List[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if not isinstance(arg, str):
            raise TypeError("fitwatch: argv holds a %s, not text: %r" % (type(arg).__name__, arg))
        if arg == "--":  # the rest is positional: not ours
            rest.extend(args[i:])
            break
        name, eq, value = arg.partition("=")
        key = name[2:].replace("-", "_")
        if not (name.startswith(_FLAG + "_") or name.startswith(_FLAG + "-")) \
                or not key.startswith(HYPERPARAMETER_PREFIX):
            rest.append(arg)
            i += 1
            continue
        if key == HYPERPARAMETER_PREFIX:
            raise Error("fitwatch: argument %s names no setting (docs/settings.md lists them)"
                        % name)
        if not eq:
            # The value is the next argument, unless there is none or it is
            # another option: never swallow the script's --epochs.
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                raise Error("fitwatch: argument %s needs a value (%s VALUE or %s=VALUE)"
                            % (name, name, name))
            i += 1
            value = args[i]
        if key in from_argv:
            raise Error("fitwatch: argument --%s given twice (%r and %r)"
                        % (key, from_argv[key], value))
        from_argv[key] = value
        i += 1
    given.update(from_argv)
    return settings_from(given, env), rest


def _sm_hps(env: Mapping[str, str], error: type) -> Dict[str, Any]:
    """The fitwatch_* keys of SM_HPS (the toolkit's JSON of every hyperparameter)."""
    text = env.get("SM_HPS")
    if not text:
        return {}
    try:
        hps = json.loads(text)
    except ValueError as e:
        raise error("fitwatch: SM_HPS is not JSON: %s" % e) from None
    if not isinstance(hps, dict):
        raise error("fitwatch: SM_HPS is not a JSON object")
    return {k: v for k, v in hps.items() if isinstance(k, str) and k.startswith("fitwatch_")}
