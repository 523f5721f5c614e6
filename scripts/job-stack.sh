#!/usr/bin/env bash
# A training job's alarm stack (templates/overfitting-alerts.yaml), created
# before the job starts and deleted after it ends: docs/deploy.md,
# "Lifecycle of a job stack". Runs the AWS CLI (or, with --dry-run, prints
# the commands it would run, one per line, ready to paste).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/job-stack.sh create JOB [options]
       scripts/job-stack.sh delete JOB [options]
       scripts/job-stack.sh run JOB [options] -- COMMAND [ARG...]

create  deploys the job's stack (aws cloudformation deploy, which waits until
        the stack is created or updated)
delete  deletes it and waits until it is gone (delete-stack, then
        wait stack-delete-complete)
run     create, then COMMAND (the training launcher, e.g. a script calling
        estimator.fit()), then delete after --keep, even when COMMAND fails
        or is interrupted; exits with COMMAND's status

JOB is the SageMaker training job name (1-63 letters, digits and hyphens).

options:
  --team-topic ARN     notify the team stack's topic (templates/team.yaml)
  --emails A,B,...     or: a topic of the job's own, one subscription each
                       (every member confirms once per job)
  --param KEY=VALUE    another template parameter (repeatable)
  --template FILE      (templates/overfitting-alerts.yaml of this repository)
  --stack-name NAME    (fitwatch-JOB)
  --keep DURATION      run: how long the stack outlives COMMAND, so the last
                       evaluations reach the alarms and the dashboard stays
                       readable (sleep's syntax: 0, 90s, 15m, 2h; 15m)
  --region REGION      passed to the AWS CLI
  --endpoint-url URL   passed to the AWS CLI (an emulator, in tests)
  --dry-run            print the commands instead of running them
  -h, --help           this text
EOF
}

die() {
  echo "job-stack: $*" >&2
  exit 2
}

[[ $# -ge 1 ]] || { usage >&2; exit 2; }
case $1 in
  -h | --help) usage; exit 0 ;;
  create | delete | run) action=$1 ;;
  *) usage >&2; die "unknown action '$1'" ;;
esac
shift
[[ $# -ge 1 && $1 != -* ]] || die "$action needs a JOB name"
job=$1
shift
# SageMaker's training job name pattern; it also keeps the stack name valid
# and the commands free of shell syntax.
[[ $job =~ ^[A-Za-z0-9](-*[A-Za-z0-9]){0,62}$ ]] ||
  die "'$job' is not a SageMaker training job name (1-63 letters, digits, hyphens)"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
template=$(cd "$here/.." && pwd)/templates/overfitting-alerts.yaml
stack=fitwatch-$job
team_topic="" emails="" keep=15m dry_run=0
params=() aws_global=() command=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --team-topic | --emails | --param | --template | --stack-name | --keep | --region | --endpoint-url)
      [[ $# -ge 2 ]] || die "$1 needs a value"
      case $1 in
        --team-topic) team_topic=$2 ;;
        --emails) emails=$2 ;;
        --param)
          [[ $2 == ?*=* ]] || die "--param needs KEY=VALUE"
          params+=("$2")
          ;;
        --template) template=$2 ;;
        --stack-name) stack=$2 ;;
        --keep) keep=$2 ;;
        --region) aws_global+=(--region "$2") ;;
        --endpoint-url) aws_global+=(--endpoint-url "$2") ;;
      esac
      shift 2
      ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; command=("$@"); break ;;
    *) die "unknown option '$1'" ;;
  esac
done

[[ $stack =~ ^[A-Za-z][-A-Za-z0-9]{0,127}$ ]] || die "'$stack' is not a CloudFormation stack name"
[[ $keep =~ ^[0-9]+(\.[0-9]+)?[smhd]?$ ]] || die "--keep '$keep': use 0, 90s, 15m or 2h"
if [[ $action == run ]]; then
  [[ ${#command[@]} -gt 0 ]] || die "run needs a COMMAND after --"
elif [[ ${#command[@]} -gt 0 ]]; then
  die "$action takes no COMMAND"
fi
if [[ $action != delete ]]; then
  [[ -n $team_topic || -n $emails ]] || die "$action needs --team-topic ARN or --emails A,B"
  [[ -z $team_topic || -z $emails ]] || die "--team-topic and --emails exclude each other"
  [[ $dry_run == 1 || -r $template ]] || die "cannot read the template $template"
fi

# One command: printed with shell quoting (--dry-run), or echoed on stderr and run.
step() {
  if [[ $dry_run == 1 ]]; then
    local quoted
    printf -v quoted '%q ' "$@"
    echo "${quoted% }"
  else
    echo "+ $*" >&2
    "$@"
  fi
}

create() {
  local overrides=("TrainingJobName=$job")
  if [[ -n $team_topic ]]; then
    overrides+=("TeamTopicArn=$team_topic")
  else
    overrides+=("TeamEmails=$emails")
  fi
  step aws "${aws_global[@]}" cloudformation deploy --template-file "$template" \
    --stack-name "$stack" --parameter-overrides "${overrides[@]}" "${params[@]}" \
    --capabilities CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset
}

delete() {
  step aws "${aws_global[@]}" cloudformation delete-stack --stack-name "$stack" || return
  step aws "${aws_global[@]}" cloudformation wait stack-delete-complete --stack-name "$stack"
}

case $action in
  create) create ;;
  delete) delete ;;
  run)
    if [[ $dry_run == 1 ]]; then
      create
      printf -v quoted '%q ' "${command[@]}"
      echo "${quoted% }"
      step sleep "$keep"
      delete
      exit 0
    fi
    # Delete the stack however this ends: COMMAND failing or interrupted,
    # or a create that failed half-way (a stack left in ROLLBACK_COMPLETE;
    # deleting a stack that does not exist succeeds).
    trap 'trap - EXIT INT TERM
      delete || echo "job-stack: $stack was not deleted: run scripts/job-stack.sh delete $job" >&2' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    create
    status=0
    "${command[@]}" || status=$?
    step sleep "$keep"
    exit "$status"
    ;;
esac
