# shellcheck shell=bash
# ./dev up (sourced by ./dev)

UP_MODE="" HOST_NAMES=(web worker scheduler)
declare -A HOST_PID=() HOST_PORT=()
TAIL_PID="" PREFIX_PID=""

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
