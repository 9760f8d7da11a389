# shellcheck shell=bash
# ./dev up (sourced by ./dev)

UP_MODE="" HOST_NAMES=(web worker scheduler)
declare -A HOST_PID=() HOST_PORT=()
TAIL_PID="" PREFIX_PID=""

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

wait_http_ok() { # NAME URL TIMEOUT PID LOG
  local name=$1 url=$2 timeout=$3 pid=$4 log=$5 code deadline
  deadline=$((SECONDS + timeout))
  while :; do
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" 2>/dev/null) || true
    [[ $code == 200 ]] && return 0
    if ! alive "$pid"; then
      local rc=0
      wait "$pid" 2>/dev/null || rc=$?
      HOST_PID[$name]=""
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

# cmd_up's locals (the ports, t0, amqp_user, common, auth) are read by the up_* functions it calls (bash scoping is
# dynamic): each step is a function, the settings are in one place.
cmd_up() {
  local web=${TASKS_WEB_PORT:-5080} amqp=${TASKS_AMQP_PORT:-5672} mgmt=${TASKS_MGMT_PORT:-15672}
  local pg=${TASKS_PG_PORT:-5432} wport=${TASKS_WORKER_PORT:-5081} sport=${TASKS_SCHEDULER_PORT:-5082}
  local prom=${TASKS_PROMETHEUS_PORT:-15692} dist=${TASKS_DIST_PORT:-$((amqp + 20000))} epmd=${TASKS_EPMD_PORT:-4370}
  local pid
  if pid=$(up_pid_running); then die "./dev up is already running (pid $pid); stop it with ./dev down"; fi

  if docker_available; then UP_MODE=docker; else UP_MODE=local; fi
  if [[ $UP_MODE == local ]]; then ensure_deps servers curl; else ensure_deps curl; fi

  up_check_ports
  mkdir -p "$DEV_DIR/logs"
  load_credentials
  install_traps up_cleanup
  echo $$ >"$DEV_DIR/up.pid"

  local t0
  t0=$(now_ms)
  up_start_servers
  build || die "build failed"
  up_wait_servers
  say "RabbitMQ and PostgreSQL ready ($(elapsed "$t0") including the build)"

  # private RabbitMQ: guest (loopback only); compose: user tasks (see docker-compose.yml)
  local amqp_user="guest:guest"
  [[ $UP_MODE == docker ]] && amqp_user="tasks:$TASKS_AMQP_PASSWORD"
  local common=(
    "ConnectionStrings__Tasks=Host=127.0.0.1;Port=$pg;Database=tasks;Username=tasks;Password=$TASKS_PG_PASSWORD"
    "ConnectionStrings__RabbitMq=amqp://$amqp_user@127.0.0.1:$amqp/"
    "RabbitMq__ManagementUrl=http://127.0.0.1:$mgmt/"
  )
  local auth=("Auth__BootstrapApiKey=$TASKS_API_KEY" "Auth__AdminPassword=$TASKS_ADMIN_PASSWORD")
  up_start_hosts
  up_banner
  up_watch
}

up_check_ports() { # every port must be free before anything starts
  local var p checks=(web worker sched)
  [[ $UP_MODE == local ]] && checks+=(amqp mgmt pg prom dist epmd)
  local -A ports=([web]=$web [worker]=$wport [sched]=$sport [amqp]=$amqp [mgmt]=$mgmt [pg]=$pg [prom]=$prom [dist]=$dist [epmd]=$epmd)
  local -A envname=([web]=TASKS_WEB_PORT [worker]=TASKS_WORKER_PORT [sched]=TASKS_SCHEDULER_PORT [amqp]=TASKS_AMQP_PORT
    [mgmt]=TASKS_MGMT_PORT [pg]=TASKS_PG_PORT [prom]=TASKS_PROMETHEUS_PORT [dist]=TASKS_DIST_PORT [epmd]=TASKS_EPMD_PORT)
  local seen=" "
  for var in "${checks[@]}"; do
    p=${ports[$var]}
    { [[ $p =~ ^[0-9]+$ ]] && ((p > 0 && p < 65536)); } || die "invalid port for ${envname[$var]}: '$p'"
    [[ $seen != *" $p "* ]] || die "port $p is configured twice (${envname[$var]})"
    seen+="$p "
    if port_in_use "$p"; then die "port $p (${envname[$var]}) is already in use; free it or set ${envname[$var]} (leftovers of a killed ./dev up? try ./dev down)"; fi
  done
}

up_start_servers() { # docker compose, or private RabbitMQ (still booting on return) and PostgreSQL with role tasks
  if [[ $UP_MODE == docker ]]; then
    say "docker engine found: docker compose up -d rabbitmq postgres"
    TASKS_AMQP_PORT=$amqp TASKS_MGMT_PORT=$mgmt TASKS_PG_PORT=$pg dev_compose up -d rabbitmq postgres >&2 ||
      die "docker compose up failed"
  else
    printf 'EPMD_PORT=%s\n' "$epmd" >"$DEV_DIR/up.state"
    local data
    data=$(server_data_dir)
    mkdir -p "$data/rabbitmq" "$data/postgres"
    if [[ $data != "$DEV_DIR" ]]; then
      say "the rabbitmq/postgres users can't reach $DEV_DIR: server data in $data (linked from .dev/)"
      ln -sfn "$data/rabbitmq" "$DEV_DIR/rabbitmq"
      ln -sfn "$data/postgres" "$DEV_DIR/postgres"
    fi
    rmq_configure "$data/rabbitmq" "tasks-dev@localhost" "$amqp" "$mgmt" "$prom" "$dist" "$epmd"
    pg_configure "$data/postgres" "$pg" scram
    say "starting RabbitMQ (AMQP $amqp, management $mgmt) and PostgreSQL ($pg) under .dev/"
    rmq_start
    pg_start
    pg_psql -d postgres -v pw="$TASKS_PG_PASSWORD" >/dev/null <<'SQL' || die "could not create role/database tasks"
SELECT format('CREATE ROLE tasks LOGIN NOSUPERUSER PASSWORD %L', :'pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tasks') \gexec
ALTER ROLE tasks WITH LOGIN NOSUPERUSER PASSWORD :'pw';
SELECT 'CREATE DATABASE tasks OWNER tasks'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'tasks') \gexec
SQL
  fi
}

up_wait_servers() {
  if [[ $UP_MODE == docker ]]; then
    local deadline=$((SECONDS + 90))
    until port_open "$amqp" && port_open "$pg"; do
      ((SECONDS < deadline)) || die "docker services not reachable on ports $amqp / $pg after 90s"
      sleep 1
    done
  else
    rmq_wait_ready
  fi
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
        HOST_PID[$name]=""
        sleep 0.3
        tail_log "$DEV_DIR/logs/$name.log" 20
        say "$name stopped for good (exit code $rc, see .dev/logs/$name.log); the rest keep running (Ctrl-C stops everything)"
      fi
    done
  done
}
