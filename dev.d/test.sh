# shellcheck shell=bash
# ./dev test (sourced by ./dev)

# -------------------------------------------------------------- ./dev test --

SUMMARY="0 passed, 0 failed, 0 skipped"

# parse_results FILE: sets SUMMARY and RES_FAILED from an xunit (v2/v3) XML file
parse_results() {
  local f=$1 a p=0 fl=0 s=0 e=0 n=0
  [[ -s $f ]] || return 1
  while IFS= read -r a; do
    n=$((n + 1))
    p=$((p + $(xml_num passed "$a")))
    fl=$((fl + $(xml_num failed "$a")))
    s=$((s + $(xml_num skipped "$a")))
    e=$((e + $(xml_num errors "$a")))
  done < <(tr '\r\n\t' '   ' <"$f" | grep -o '<assembly[[:space:]][^>]*>' || true)
  ((n > 0)) || return 1
  RES_FAILED=$((fl + e))
  SUMMARY="$p passed, $RES_FAILED failed, $s skipped"
}
xml_num() { # xml_num NAME "ATTRS": numeric attribute value or 0
  local re="[[:space:]]$1=[\"']([0-9]+)[\"']"
  if [[ $2 =~ $re ]]; then echo "$((10#${BASH_REMATCH[1]}))"; else echo 0; fi
}

test_cleanup() {
  stop_fg
  servers_stop
  printf '%s\n' "$SUMMARY"
}

test_dll() {
  local d="Tasks.Tests/bin/$CONFIGURATION/$TFM/Tasks.Tests.dll" f
  if [[ ! -f $d ]]; then
    for f in Tasks.Tests/bin/"$CONFIGURATION"/*/Tasks.Tests.dll; do [[ -f $f ]] && d=$f; done
  fi
  echo "$d"
}

cmd_test() {
  install_traps test_cleanup
  ensure_deps servers curl prometheus wrk celery systemd-analyze chromium # wrk, celery: the benchmark harness test
  local t0 rc=0 dll
  t0=$(now_ms)
  servers_start_throwaway # RabbitMQ keeps booting in the background during the build
  local t1
  t1=$(now_ms)
  build -v:q -nologo || die "build failed" # quiet: errors and warnings only
  say "build done in $(elapsed "$t1")"
  rmq_wait_ready
  say "RabbitMQ + PostgreSQL ready ($(elapsed "$t0") after start, build included)"
  dll=$(test_dll)
  [[ -f $dll ]] || die "test assembly not found: $dll"
  # xunit.v3 >= 4 renamed -xml to -result-xml
  local xml_opt=-xml opts=()
  local usage
  usage=$(dotnet "$dll" -? 2>&1) || true
  if [[ $usage == *-result-xml* ]]; then xml_opt=-result-xml; fi
  if [[ ! -t 1 || -n ${NO_COLOR:-} ]]; then opts+=(-noColor); fi
  # a line per test class, failures in full with their hosts' logs (Tasks.Tests/Infrastructure/ProgressReporter.cs)
  [[ " $* " == *" -reporter "* ]] || opts+=(-noLogo -reporter progress)
  say "running tests: $dll $*"
  run_fg env "${TEST_ENV[@]}" dotnet "$dll" "${opts[@]}" "$xml_opt" "$TMP/results.xml" "$@" || rc=$?
  if parse_results "$TMP/results.xml"; then
    { mkdir -p "$DEV_DIR" && cp "$TMP/results.xml" "$DEV_DIR/test-results.xml"; } 2>/dev/null || true
    if ((rc != 0 && RES_FAILED == 0)); then say "test runner exited with code $rc"; fi
    if ((rc != 0 || RES_FAILED > 0)); then EXIT_CODE=1; else EXIT_CODE=0; fi
  else
    say "error: no test results in $TMP/results.xml (test runner exit code $rc)"
    EXIT_CODE=1
  fi
  exit "$EXIT_CODE"
}
