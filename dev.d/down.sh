# shellcheck shell=bash
# ./dev down (sourced by ./dev)

# -------------------------------------------------------------- ./dev down --

cmd_down() {
  local pid
  if pid=$(up_pid_running); then
    say "stopping ./dev up (pid $pid)"
    kill -TERM "$pid"
    wait_gone "$pid" 120 || die "./dev up (pid $pid) did not stop within 120s"
    say "stopped"
  else
    say "no ./dev up running"
  fi
  # leftovers of a ./dev up that was killed hard
  local EPMD_PORT="" HOST_PIDS=""
  if [[ -s $DEV_DIR/up.state ]] && ! up_pid_running >/dev/null; then
    # shellcheck disable=SC1091
    source "$DEV_DIR/up.state"
    for pid in $HOST_PIDS; do
      if alive "$pid" && grep -qa "$ROOT/Tasks\." "/proc/$pid/cmdline" 2>/dev/null; then
        say "stopping leftover host (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" 20 || kill -KILL "$pid" 2>/dev/null || true
      fi
    done
  fi
  local data
  data=$(server_data_dir)
  local f="$data/rabbitmq/rabbitmq.pid"
  if [[ -s $f ]] && pid=$(<"$f") && [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" &&
    grep -qa "$data/rabbitmq" "/proc/$pid/cmdline" 2>/dev/null; then
    say "stopping leftover RabbitMQ (pid $pid)"
    kill -TERM "$pid"
    wait_gone "$pid" 30 || kill -KILL "$pid" 2>/dev/null || true
  fi
  if [[ -s $DEV_DIR/up.state ]] && ! up_pid_running >/dev/null; then
    if [[ -n $EPMD_PORT ]] && ERL_EPMD_PORT=$EPMD_PORT epmd -names >/dev/null 2>&1; then
      say "stopping leftover epmd on port $EPMD_PORT"
      ERL_EPMD_PORT=$EPMD_PORT epmd -kill >/dev/null 2>&1 || true
    fi
    rm -f "$DEV_DIR/up.state"
  fi
  if [[ -s $data/postgres/data/postmaster.pid ]]; then
    pid=$(head -n1 "$data/postgres/data/postmaster.pid")
    if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid"; then
      local bin
      bin=$(pg_bindir) || true
      say "stopping leftover PostgreSQL (pid $pid)"
      (cd "$data/postgres" && as_user postgres "$bin/pg_ctl" -D "$data/postgres/data" -m fast -w -s stop) || true
    fi
  fi
  rm -f "$DEV_DIR/up.pid"
}
