# shellcheck shell=bash
# helpers, foreground children, traps and the build (sourced by ./dev)

# ---------------------------------------------------------------- helpers --

say() { printf 'dev: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
now_ms() { date +%s%3N; }
elapsed() { local ms=$(($(now_ms) - $1)); printf '%d.%01ds' $((ms / 1000)) $((ms % 1000 / 100)); }

# run as root (sudo when we are not root)
as_root() { if ((IS_ROOT)); then "$@"; else sudo "$@"; fi; }

# RUNAS=(...) prefix that runs a command as service user $1 when we are root.
# Not root: services simply run as the invoking user.  setpriv execs (no extra
# process in between), so $! is the server process itself.
runas() {
  RUNAS=()
  ((IS_ROOT)) || return 0
  id "$1" >/dev/null 2>&1 || die "system user '$1' does not exist (is the package installed?)"
  if have setpriv; then
    RUNAS=(setpriv --reuid="$1" --regid="$(id -g "$1")" --init-groups)
  else
    RUNAS=(runuser -u "$1" --)
  fi
}
as_user() { local u=$1; shift; runas "$u"; "${RUNAS[@]}" "$@"; }
own() { local u=$1; shift; if ((IS_ROOT)); then chown "$u:$(id -g "$u")" "$@"; fi; }

# true while pid $1 exists and is not a zombie
alive() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  [[ ${s:0:1} != Z ]]
}
# wait up to $2 seconds for pid $1 to go away
wait_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while alive "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
# stop a child process: SIGTERM, wait up to $2 s, SIGKILL; reap it
stop_pid() {
  local pid=$1 timeout=${2:-20}
  [[ -n $pid ]] || return 0
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" "$timeout" || { say "pid $pid did not stop in ${timeout}s, killing it"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  wait "$pid" 2>/dev/null || true
}

tail_log() { # tail_log FILE [N]: show the end of a log file on stderr
  [[ -f $1 ]] || return 0
  printf -- '----- last lines of %s -----\n' "$1" >&2
  tail -n "${2:-25}" "$1" >&2 || true
  printf -- '-----\n' >&2
}

# -------------------------------------------- foreground child management --

FG_PID=""
run_fg() { # run a command as a child we can stop from a trap; returns its status
  "$@" &
  FG_PID=$!
  local rc=0
  wait "$FG_PID" || rc=$?
  FG_PID=""
  return "$rc"
}
stop_fg() { if [[ -n $FG_PID ]]; then stop_pid "$FG_PID" 10; FG_PID=""; fi; }

CLEANED=0
install_traps() { # install_traps CLEANUP_FUNCTION
  CLEANUP_FN=$1
  trap 'on_exit' EXIT
  trap 'say "interrupted"; exit 130' INT
  trap 'say "terminated"; exit 143' TERM
  trap 'exit 129' HUP
}
on_exit() {
  local rc=$?
  trap '' INT TERM HUP
  set +e
  if ((!CLEANED)); then
    CLEANED=1
    "$CLEANUP_FN" "$rc"
  fi
  exit "${EXIT_CODE:-$rc}"
}

build() {
  say "building ($CONFIGURATION)"
  run_fg dotnet tool restore >/dev/null || return 1
  run_fg dotnet build Tasks.sln -c "$CONFIGURATION" -nodeReuse:false "$@"
}
