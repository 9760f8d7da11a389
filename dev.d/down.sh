# shellcheck shell=bash
# stopping ./dev up: on its exit, and ./dev down (sourced by ./dev)

# -------------------------------------------------------------- ./dev down --

up_cleanup() {
  local name
  stop_fg
  # 1. hosts: SIGTERM all, wait up to 20s, then SIGKILL
  local any=0
  for name in "${HOST_NAMES[@]}"; do
    if [[ -n ${HOST_PID[$name]:-} ]] && alive "${HOST_PID[$name]}"; then
      kill -TERM "${HOST_PID[$name]}" 2>/dev/null || true
      any=1
    fi
  done
  if ((any)); then
    say "stopping hosts"
    local deadline=$((SECONDS + 20))
    for name in "${HOST_NAMES[@]}"; do
      [[ -n ${HOST_PID[$name]:-} ]] || continue
      while alive "${HOST_PID[$name]}" && ((SECONDS < deadline)); do sleep 0.1; done
      if alive "${HOST_PID[$name]}"; then
        say "$name did not stop in 20s, killing it"
        # its supervisor leads a process group of its own (setsid): the host goes with it
        kill -KILL -- "-${HOST_PID[$name]}" 2>/dev/null || kill -KILL "${HOST_PID[$name]}" 2>/dev/null || true
      fi
    done
  fi
  for name in "${HOST_NAMES[@]}"; do
    [[ -n ${HOST_PID[$name]:-} ]] && wait "${HOST_PID[$name]}" 2>/dev/null
  done
  HOST_PID=()
  # log prefixer
  if [[ -n $TAIL_PID ]]; then stop_pid "$TAIL_PID" 2; TAIL_PID=""; fi
  if [[ -n $PREFIX_PID ]]; then stop_pid "$PREFIX_PID" 2; PREFIX_PID=""; fi
  rm -f "$DEV_DIR/logs/.prefix.fifo"
  # 2. RabbitMQ, 3. PostgreSQL
  if [[ $UP_MODE == docker ]]; then
    say "stopping docker compose services"
    dev_compose stop rabbitmq postgres >&2 || true
  else
    [[ -n $RMQ_PID ]] && say "stopping RabbitMQ"
    rmq_stop
    [[ -n $PG_PID ]] && say "stopping PostgreSQL"
    pg_stop
  fi
  rm -f "$DEV_DIR/up.pid" "$DEV_DIR/up.state"
  say "stopped"
}

up_pid_running() { # prints the pid of a running ./dev up, if any
  local pid
  [[ -s $DEV_DIR/up.pid ]] || return 1
  pid=$(<"$DEV_DIR/up.pid")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'dev up' || return 1
  echo "$pid"
}

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
