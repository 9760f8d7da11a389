# shellcheck shell=bash
# ./dev up's credentials and docker compose (sourced by ./dev)

# ---------------------------------------------------------------- ./dev up --

load_credentials() {
  local f="$DEV_DIR/credentials" env_admin=${TASKS_ADMIN_PASSWORD:-} env_key=${TASKS_API_KEY:-}
  local generated=()
  TASKS_ADMIN_PASSWORD="" TASKS_API_KEY="" TASKS_PG_PASSWORD="" TASKS_PG_SUPERUSER_PASSWORD="" TASKS_AMQP_PASSWORD=""
  # shellcheck disable=SC1090
  [[ -f $f ]] && source "$f"
  [[ -n $env_admin ]] && TASKS_ADMIN_PASSWORD=$env_admin
  [[ -n $env_key ]] && TASKS_API_KEY=$env_key
  gen() { head -c 24 /dev/urandom | base64 | tr -d '/+=\n'; }
  [[ -n $TASKS_ADMIN_PASSWORD ]] || { TASKS_ADMIN_PASSWORD=$(gen); generated+=("admin password: $TASKS_ADMIN_PASSWORD"); }
  [[ -n $TASKS_API_KEY ]] || { TASKS_API_KEY=$(gen); generated+=("API key:        $TASKS_API_KEY"); }
  [[ -n $TASKS_PG_PASSWORD ]] || TASKS_PG_PASSWORD=$(gen)
  # docker-compose.yml has no default passwords: these two are for its postgres superuser and RabbitMQ user
  [[ -n $TASKS_PG_SUPERUSER_PASSWORD ]] || TASKS_PG_SUPERUSER_PASSWORD=$(gen)
  [[ -n $TASKS_AMQP_PASSWORD ]] || TASKS_AMQP_PASSWORD=$(gen)
  (
    umask 077
    {
      echo "# ./dev up credentials (generated once; delete this file to regenerate)"
      printf 'TASKS_ADMIN_PASSWORD=%q\n' "$TASKS_ADMIN_PASSWORD"
      printf 'TASKS_API_KEY=%q\n' "$TASKS_API_KEY"
      printf 'TASKS_PG_PASSWORD=%q\n' "$TASKS_PG_PASSWORD"
      printf 'TASKS_PG_SUPERUSER_PASSWORD=%q\n' "$TASKS_PG_SUPERUSER_PASSWORD"
      printf 'TASKS_AMQP_PASSWORD=%q\n' "$TASKS_AMQP_PASSWORD"
    } >"$f.tmp"
    chmod 600 "$f.tmp"
    mv -f "$f.tmp" "$f"
  )
  if ((${#generated[@]})); then
    say "generated new credentials (stored in .dev/credentials):"
    printf '    %s\n' "${generated[@]}" >&2
  fi
}

# docker compose for ./dev up's two servers: the secrets docker-compose.yml requires, and deploy/compose.dev.yml,
# which publishes the servers' ports on loopback for the hosts ./dev up runs as local processes
dev_compose() {
  TASKS_PG_PASSWORD=$TASKS_PG_PASSWORD TASKS_PG_SUPERUSER_PASSWORD=$TASKS_PG_SUPERUSER_PASSWORD \
    TASKS_AMQP_PASSWORD=$TASKS_AMQP_PASSWORD TASKS_API_KEY=$TASKS_API_KEY TASKS_ADMIN_PASSWORD=$TASKS_ADMIN_PASSWORD \
    docker compose -f "$ROOT/docker-compose.yml" -f "$ROOT/deploy/compose.dev.yml" "$@"
}

docker_available() {
  [[ ${TASKS_DEV_DOCKER:-auto} != 0 ]] || return 1
  [[ -f $ROOT/docker-compose.yml || -f $ROOT/compose.yaml || -f $ROOT/compose.yml || -f $ROOT/docker-compose.yaml ]] || return 1
  have docker && docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1
}
