# shellcheck shell=bash
# ./dev bench (sourced by ./dev)

# ------------------------------------------------------------- ./dev bench --

bench_cleanup() { stop_fg; servers_stop; }

cmd_bench() {
  install_traps bench_cleanup
  ensure_deps servers curl wrk celery
  local durable=1 args=()
  for a in "$@"; do # --fast-unsafe: PostgreSQL without fsync, for comparison only
    if [[ $a == --fast-unsafe ]]; then durable=0; else args+=("$a"); fi
  done
  servers_start_throwaway "$durable"
  build || die "build failed"
  rmq_wait_ready
  local rc=0
  run_fg env "${TEST_ENV[@]}" dotnet "Tasks.Benchmarks/bin/$CONFIGURATION/$TFM/Tasks.Benchmarks.dll" "${args[@]}" || rc=$?
  EXIT_CODE=$rc
  exit "$rc"
}
