#!/usr/bin/env bash
# The step of the imsguard GitHub Action (action.yml at the repository root): runs
# `imsguard lint` or `imsguard diff` on the checked-out repository, prints workflow
# annotations (--format github) and, when asked, writes a SARIF log for code scanning.
# Inputs arrive as IMSGUARD_* environment variables, never spliced into the script.
#
#   IMSGUARD_COMMAND     lint (default) or diff
#   IMSGUARD_PATHS       lint: policy files or folders, space-separated (default: policies)
#                        diff: one policy path, a folder or an imsguard.toml
#   IMSGUARD_BASE_REF    diff: the ref to compare with (default: $GITHUB_BASE_REF, the base
#                        branch of the pull request); fetched explicitly, so a shallow,
#                        single-branch checkout (actions/checkout's default) is enough
#   IMSGUARD_FAIL_ON     lint: error (default), warning, info or none
#                        diff: widen (default: fail on every widening or unproven change) or none
#   IMSGUARD_SARIF       true (default) or false: also write IMSGUARD_SARIF_FILE
#   IMSGUARD_SARIF_FILE  default imsguard.sarif
#   IMSGUARD_ARGS        more arguments for imsguard, space-separated
#
# Exit status: imsguard's (0 pass, 1 the gate fails, 2 usage or input error).
set -uo pipefail

command=${IMSGUARD_COMMAND:-lint}
read -r -a paths <<<"${IMSGUARD_PATHS:-policies}"
read -r -a extra <<<"${IMSGUARD_ARGS:-}"
sarif=${IMSGUARD_SARIF:-true}
sarif_file=${IMSGUARD_SARIF_FILE:-imsguard.sarif}
fail_on=${IMSGUARD_FAIL_ON:-}
tmp=${RUNNER_TEMP:-${TMPDIR:-/tmp}}

fail() { echo "::error title=imsguard action::$*"; exit 2; }

case "$sarif" in true | false) ;; *) fail "sarif must be true or false, not '$sarif'" ;; esac

case "$command" in
lint)
  args=(--fail-on "${fail_on:-error}" "${extra[@]}")
  status=0
  imsguard lint --format github "${args[@]}" "${paths[@]}" || status=$?
  if [ "$sarif" = true ]; then
    imsguard lint --format sarif --output "$sarif_file" "${args[@]}" "${paths[@]}" >/dev/null 2>&1 || true
  fi
  exit "$status"
  ;;
diff)
  [ "${#paths[@]}" -eq 1 ] || fail "diff compares one policy path (a folder or an imsguard.toml), got ${#paths[@]}"
  base=${IMSGUARD_BASE_REF:-${GITHUB_BASE_REF:-}}
  [ -n "$base" ] || fail "diff needs base-ref (or a pull_request event, whose base branch is the default)"
  case "${fail_on:-widen}" in
  widen) gate=(--fail-on-widen) ;;
  none) gate=() ;;
  *) fail "fail-on for diff is widen or none, not '$fail_on'" ;;
  esac
  # The checkout may hold one commit of one branch: fetch the base itself.
  git fetch --no-tags --depth=1 origin "$base" || fail "cannot fetch base ref '$base' from origin"
  old=$(mktemp -d "$tmp/imsguard-base.XXXXXX")
  git worktree add --detach "$old/tree" FETCH_HEAD >/dev/null || fail "cannot check out base ref '$base'"
  trap 'git worktree remove --force "$old/tree" >/dev/null 2>&1; rm -rf "$old"' EXIT
  status=0
  imsguard diff --format github "${gate[@]}" "${extra[@]}" "$old/tree/${paths[0]}" "${paths[0]}" || status=$?
  if [ "$sarif" = true ]; then
    imsguard diff --format sarif "${extra[@]}" "$old/tree/${paths[0]}" "${paths[0]}" >"$sarif_file" 2>/dev/null || rm -f "$sarif_file"
  fi
  exit "$status"
  ;;
*)
  fail "command must be lint or diff, not '$command'"
  ;;
esac
