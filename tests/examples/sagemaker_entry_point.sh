#!/usr/bin/env bash
# The training image's entry point (examples/sagemaker/train) with
# hyperparameters as the SageMaker Python SDK writes them (every value a
# string, str(True) = "True", JSON-quoted strings) in a fake /opt/ml tree:
# valid EMF lines, the best weights in SM_MODEL_DIR, no failure file.
# (More cases, with a failure file, ranks and a resume: test_sagemaker.cpp.)
# usage: sagemaker_entry_point.sh EXAMPLE_DIR FITWATCH_CLI
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/input/config"
cat > "$work/input/config/hyperparameters.json" <<'JSON'
{"preset": "\"overfit\"", "epochs": "3", "train_size": "300", "val_size": "300", "test_size": "300",
 "no_stop": "True", "log_steps": "False", "fitwatch_rise_patience": "\"3\"", "sagemaker_program": "\"train\""}
JSON
PATH="$1:$PATH" TRAINING_JOB_NAME=sm-job-1 SM_INPUT_CONFIG_DIR="$work/input/config" \
  SM_MODEL_DIR="$work/model" SM_OUTPUT_DIR="$work/output" "$here/examples/sagemaker/train" \
  > "$work/out.log" 2> "$work/err.log" || { cat "$work/err.log"; exit 1; }
summary=$("$2" validate "$work/out.log")
echo "$summary"
[ "$summary" = "3 lines, 3 EMF events, 36 metrics (36 datapoints) extracted, 0 invalid" ]
[ "$(jq -r .TrainingJobName "$work/out.log" | sort -u)" = sm-job-1 ]
[ "$(wc -l < "$work/model/curves.csv")" = 4 ]
[ -s "$work/model/model.pt" ]
[ ! -e "$work/output/failure" ]
