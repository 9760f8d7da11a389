# shellcheck shell=bash
# free TCP ports for throwaway servers (sourced by ./dev)

# ------------------------------------------------------------------- ports --

port_in_use() { # true if something listens on TCP port $1
  local p=$1
  if have ss; then
    local out
    if out=$(ss -Hltn "sport = :$p" 2>/dev/null); then
      [[ -n $out ]] && return 0
    fi
  fi
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p" 2>/dev/null
}
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# Ports picked for throwaway servers are reserved in $PORT_RESERVATIONS (one
# file per port holding the owner's pid) until our cleanup, so that runs
# starting at the same moment can't pick the same still-unbound port.
PORT_RESERVATIONS=/tmp/tasks-dev-ports
PICKED_PORTS=" "
reserve_port() {
  local f="$PORT_RESERVATIONS/$1" owner
  mkdir -p "$PORT_RESERVATIONS" 2>/dev/null && chmod 1777 "$PORT_RESERVATIONS" 2>/dev/null
  [[ -d $PORT_RESERVATIONS && -w $PORT_RESERVATIONS ]] || return 0 # can't reserve: rely on the check
  if (set -C && echo $$ >"$f") 2>/dev/null; then return 0; fi
  owner=$(cat "$f" 2>/dev/null) || owner=""
  if [[ $owner =~ ^[0-9]+$ ]] && alive "$owner"; then return 1; fi
  rm -f "$f" 2>/dev/null # stale
  (set -C && echo $$ >"$f") 2>/dev/null
}
release_ports() {
  local p
  for p in $PICKED_PORTS; do
    [[ $(cat "$PORT_RESERVATIONS/$p" 2>/dev/null) == "$$" ]] && rm -f "$PORT_RESERVATIONS/$p"
  done
  PICKED_PORTS=" "
}
free_port() { # free_port VAR: random free port in 20000-31999 (below the ephemeral range)
  local p i
  for ((i = 0; i < 500; i++)); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    [[ $PICKED_PORTS == *" $p "* ]] && continue
    port_in_use "$p" && continue
    reserve_port "$p" || continue
    PICKED_PORTS+="$p "
    printf -v "$1" '%s' "$p"
    return 0
  done
  die "could not find a free TCP port"
}
