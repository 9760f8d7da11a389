# shellcheck shell=bash
# the packages the commands need (sourced by ./dev)

# ------------------------------------------------------------ dependencies --

APT_UPDATED=0
apt_install() {
  have apt-get || die "missing packages: $* (no apt-get here; install them yourself)"
  ((IS_ROOT)) || have sudo || die "missing packages: $* (not root and no sudo)"
  say "installing $* (apt-get)"
  # Keep apt from starting the system-wide services (they would grab the
  # default ports); only if no policy-rc.d exists already.
  local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod 755 "$policy" && made_policy=1
  fi
  if ((!APT_UPDATED)); then
    as_root apt-get update -q || rc=$?
    APT_UPDATED=1
  fi
  ((rc == 0)) && { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" || rc=$?; }
  ((made_policy)) && as_root rm -f "$policy"
  ((rc == 0)) || die "apt-get failed installing $*"
}

pg_bindir() {
  local d
  # shellcheck disable=SC2012 # version directories (15, 16, ...): plain names
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | while read -r b; do [[ -x $b/initdb ]] && echo "$b"; done | tail -n1)
  [[ -n $d ]] && echo "$d"
}

# Where ./dev up keeps the servers' data: .dev/ in the checkout, unless (as root) the rabbitmq and postgres
# users can't reach it (a checkout under /root, or under a 0700 home), in which case the data lives in
# /var/lib/tasks-dev/<checkout hash> and .dev/rabbitmq, .dev/postgres are symlinks to it.
server_data_dir() {
  local dir=$DEV_DIR
  if ((IS_ROOT)) && ! { as_user rabbitmq test -x "$DEV_DIR" && as_user postgres test -x "$DEV_DIR"; } 2>/dev/null; then
    dir=/var/lib/tasks-dev/$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)
    mkdir -p "$dir"
    chmod 755 /var/lib/tasks-dev "$dir"
  fi
  echo "$dir"
}

# ensure_deps [servers] [curl] [chromium] ...; npm always (the build needs it)
ensure_deps() {
  local pkgs=() w
  for w in "$@"; do
    case $w in
      servers)
        [[ -x $RMQ_BIN/rabbitmq-server ]] || pkgs+=(rabbitmq-server)
        pg_bindir >/dev/null || pkgs+=(postgresql)
        ;;
      curl) have curl || pkgs+=(curl) ;;
      prometheus) [[ -x /usr/bin/prometheus ]] || pkgs+=(prometheus) ;; # a test scrapes the hosts with a real one
      wrk) have wrk || pkgs+=(wrk) ;; # the benchmark's HTTP load generator
      celery) /usr/bin/python3 -c 'import celery, sqlalchemy, psycopg2' 2>/dev/null || pkgs+=(python3-celery python3-sqlalchemy python3-psycopg2) ;; # the benchmark's peer
      systemd-analyze) have systemd-analyze || pkgs+=(systemd) ;; # a test verifies deploy/systemd/*.service
      chromium) [[ -x /usr/bin/chromium ]] || pkgs+=(chromium) ;; # the dashboard's browser tests (Playwright)
    esac
  done
  have npm || pkgs+=(npm) # every build: Tasks.Web's npm ci (the dashboard's htmx and uPlot)
  ((${#pkgs[@]} == 0)) || apt_install "${pkgs[@]}"
  have dotnet || die "dotnet SDK not found on PATH"
}
