# shellcheck shell=bash
# throwaway servers for ./dev test, ./dev bench and ./dev servers (sourced by ./dev)

# -------------------------------------------------- throwaway test servers --

TMP=""
servers_start_throwaway() { # [DURABLE(0|1)]: tests run with durability off, benchmarks with it on
  local durable=${1:-0} base=${TMPDIR:-/tmp}
  ((IS_ROOT)) && base=/tmp # the rabbitmq and postgres users must reach it
  TMP=$(mktemp -d "$base/tasks-test.XXXXXX")
  chmod 711 "$TMP" # service users must traverse it
  local amqp mgmt prom dist epmd pg
  free_port amqp; free_port mgmt; free_port prom; free_port dist; free_port epmd; free_port pg
  mkdir -p "$TMP/rabbitmq" "$TMP/postgres"
  rmq_configure "$TMP/rabbitmq" "tasks-test-$$@localhost" "$amqp" "$mgmt" "$prom" "$dist" "$epmd"
  RMQ_THROWAWAY=1
  pg_configure "$TMP/postgres" "$pg" trust "$durable"
  rmq_start # RabbitMQ boots (~7s) while PostgreSQL initialises
  pg_start
  TEST_ENV=(
    TASKS_TEST_POSTGRES="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres"
    TASKS_TEST_RABBITMQ="amqp://guest:guest@127.0.0.1:$RMQ_AMQP/"
    TASKS_TEST_RABBITMQ_MANAGEMENT="http://guest:guest@127.0.0.1:$RMQ_MGMT/"
  )
}

servers_stop() {
  rmq_stop
  pg_stop
  if [[ -n $TMP && -d $TMP ]]; then rm -rf "$TMP"; fi
  TMP=""
  release_ports
}

# ----------------------------------------------------------- ./dev servers --

servers_cleanup() { stop_fg; servers_stop; say "stopped"; }

cmd_servers() {
  install_traps servers_cleanup
  ensure_deps servers curl
  local t0 line
  t0=$(now_ms)
  servers_start_throwaway
  rmq_wait_ready
  say "RabbitMQ + PostgreSQL ready in $(elapsed "$t0")"
  for line in "${TEST_ENV[@]}"; do printf "export %s='%s'\n" "${line%%=*}" "${line#*=}"; done >"$TMP/env"
  cat "$TMP/env"
  cat <<EOF
# also written to $TMP/env (source it from another shell)
# psql:       psql -h 127.0.0.1 -p $PG_PORT -U postgres
# management: http://127.0.0.1:$RMQ_MGMT/ (guest/guest), prometheus: http://127.0.0.1:$RMQ_PROM/metrics
# rabbitmqctl: sudo env HOME=$RMQ_DIR ERL_EPMD_PORT=$RMQ_EPMD RABBITMQ_NODENAME=$RMQ_NODE $RMQ_BIN/rabbitmqctl status
EOF
  say "press Ctrl-C to stop"
  local rc=0
  wait "$RMQ_PID" || rc=$?
  RMQ_PID=""
  die "RabbitMQ exited unexpectedly (code $rc)"
}
