# shellcheck shell=bash
# ./dev up's hosts: migrate, start web, worker and scheduler under scripts/supervise, watch them (sourced by ./dev)

up_start_hosts() { # reads cmd_up's locals: the ports, common, auth
  local bin="$ROOT/Tasks.Web/bin/$CONFIGURATION/$TFM"
  say "migrating database (Tasks.Web migrate)"
  run_fg env "${common[@]}" "${auth[@]}" dotnet "$bin/Tasks.Web.dll" migrate || die "migration failed"

  # logs: .dev/logs/NAME.log, echoed to the terminal with a [name] prefix
  local name
  for name in "${HOST_NAMES[@]}"; do
    [[ -f $DEV_DIR/logs/$name.log ]] && mv -f "$DEV_DIR/logs/$name.log" "$DEV_DIR/logs/$name.log.1"
    : >"$DEV_DIR/logs/$name.log"
  done
  if [[ ${TASKS_DEV_QUIET:-0} != 1 ]]; then
    local fifo="$DEV_DIR/logs/.prefix.fifo"
    rm -f "$fifo" && mkfifo "$fifo"
    # tail -F prints "==> path/NAME.log <==" when it switches files; turn that into a "[NAME] " prefix
    sed -u -n -e '/^==> .* <==$/{s/^==> \(.*\/\)\{0,1\}\([^/]*\)\.log <==$/[\2] /;h;d;}' -e '/^$/d' \
      -e 'G;s/^\(.*\)\n\(.*\)$/\2\1/p' <"$fifo" &
    PREFIX_PID=$!
    tail --pid=$$ -n +1 -F "$DEV_DIR/logs/web.log" "$DEV_DIR/logs/worker.log" "$DEV_DIR/logs/scheduler.log" >"$fifo" 2>/dev/null &
    TAIL_PID=$!
  fi

  HOST_PORT=([web]=$web [worker]=$wport [scheduler]=$sport)
  start_host() { # NAME DLL ENV...: the host under scripts/supervise, which restarts it when it crashes
    local n=$1 dll=$2
    shift 2
    # the settings go in the environment, not on a command line that ps shows for as long as the supervisor runs
    # shellcheck disable=SC2163 # "$@" are NAME=VALUE pairs
    (export "$@" && exec setsid "$ROOT/scripts/supervise" --name "$n" -- dotnet "$dll") >>"$DEV_DIR/logs/$n.log" 2>&1 </dev/null &
    HOST_PID["$n"]=$!
  }
  start_host web "$ROOT/Tasks.Web/bin/$CONFIGURATION/$TFM/Tasks.Web.dll" "${common[@]}" "${auth[@]}" \
    "ASPNETCORE_URLS=http://127.0.0.1:$web" "Urls=http://127.0.0.1:$web"
  start_host worker "$ROOT/Tasks.Worker/bin/$CONFIGURATION/$TFM/Tasks.Worker.dll" "${common[@]}" "Health__Port=$wport"
  start_host scheduler "$ROOT/Tasks.Scheduler/bin/$CONFIGURATION/$TFM/Tasks.Scheduler.dll" "${common[@]}" "Health__Port=$sport"

  printf 'HOST_PIDS="%s"\n' "${HOST_PID[*]}" >>"$DEV_DIR/up.state"

  for name in "${HOST_NAMES[@]}"; do
    wait_http_ok "$name" "http://127.0.0.1:${HOST_PORT[$name]}/health/ready" 90 "${HOST_PID[$name]}" "$DEV_DIR/logs/$name.log"
  done
}

up_banner() {
  cat >&2 <<EOF

================================================================ Tasks is up ($(elapsed "$t0"))
  Dashboard:  http://127.0.0.1:$web/
  Admin:      user admin, password $TASKS_ADMIN_PASSWORD
  API key:    $TASKS_API_KEY
  Try:        curl -H "Authorization: Bearer $TASKS_API_KEY" -H 'Content-Type: application/json' \\
                -d '{"name":"demo.echo","args":{"message":"hi"}}' http://127.0.0.1:$web/api/v1/tasks
  RabbitMQ:   http://127.0.0.1:$mgmt/ (${amqp_user%%:*}/${amqp_user#*:})   PostgreSQL: 127.0.0.1:$pg db tasks user tasks
  Logs:       .dev/logs/{web,worker,scheduler}.log     Credentials: .dev/credentials
  Stop:       Ctrl-C here, or ./dev down
================================================================

EOF
}

wait_http_ok() { # NAME URL TIMEOUT PID LOG
  local name=$1 url=$2 timeout=$3 pid=$4 log=$5 code deadline
  deadline=$((SECONDS + timeout))
  while :; do
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" 2>/dev/null) || true
    [[ $code == 200 ]] && return 0
    if ! alive "$pid"; then
      local rc=0
      wait "$pid" 2>/dev/null || rc=$?
      HOST_PID["$name"]=""
      tail_log "$log" 40
      die "$name exited during startup (exit code $rc)"
    fi
    if ((SECONDS >= deadline)); then
      tail_log "$log" 40
      die "$name not ready after ${timeout}s: $url (last HTTP status: ${code:-none})"
    fi
    sleep 0.5
  done
}

up_watch() {
  # stay in the foreground until Ctrl-C. A host that crashes is restarted by its supervisor (with back-off, a
  # line in its log); one that gave up (crashing again and again) is reported, and the rest keep running.
  local done_pid="" rc=0 left name
  while :; do
    left=()
    for name in "${HOST_NAMES[@]}"; do [[ -z ${HOST_PID[$name]} ]] || left+=("${HOST_PID[$name]}"); done
    ((${#left[@]})) || die "every host has stopped; stopping everything"
    rc=0
    wait -n -p done_pid "${left[@]}" || rc=$?
    for name in "${HOST_NAMES[@]}"; do
      if [[ ${HOST_PID[$name]} == "$done_pid" ]]; then
        HOST_PID["$name"]=""
        sleep 0.3
        tail_log "$DEV_DIR/logs/$name.log" 20
        say "$name stopped for good (exit code $rc, see .dev/logs/$name.log); the rest keep running (Ctrl-C stops everything)"
      fi
    done
  done
}
