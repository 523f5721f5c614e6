#!/usr/bin/env bash
# The training image's entry point (examples/sagemaker/train) turns SageMaker
# hyperparameters into flags of the example and writes valid EMF lines.
# usage: sagemaker_entry_point.sh EXAMPLE_DIR FITWATCH_CLI
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/hyperparameters.json" <<'JSON'
{"preset": "overfit", "epochs": "3", "train_size": "300", "val_size": "300", "test_size": "300", "no_stop": "true"}
JSON
PATH="$1:$PATH" TRAINING_JOB_NAME=sm-job-1 SM_HYPERPARAMETERS_FILE="$work/hyperparameters.json" \
  SM_MODEL_DIR="$work/model" "$here/examples/sagemaker/train" > "$work/out.log" 2> "$work/err.log"
summary=$("$2" validate "$work/out.log")
echo "$summary"
[ "$summary" = "3 lines, 3 EMF events, 36 metrics (36 datapoints) extracted, 0 invalid" ]
grep -q '"TrainingJobName":"sm-job-1"' "$work/out.log"
[ "$(wc -l < "$work/model/curves.csv")" = 4 ]
