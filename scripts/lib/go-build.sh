# Shared by scripts/build-engine.sh and scripts/build-istioctl.sh (sourced, not run): one cache root,
# one lock, one Go environment, the same cached-component layout. The sourcing script sets LOG_TAG
# before sourcing and calls the functions below; nothing runs at source time.
#
#   ROOT     ${MESHGATE_ENGINE_CACHE:-$HOME/.cache/meshgate-engine}; GOMODCACHE is $ROOT/go/mod
#   <ROOT>/<component key>/bin + .complete   one cached component (stamp = its pins)

ROOT="${MESHGATE_ENGINE_CACHE:-$HOME/.cache/meshgate-engine}"

log() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$LOG_TAG" "$*" >&2; exit 1; }

# require_version <go.mod> <module>: the version a require line of that go.mod pins.
require_version() {
  awk -v m="$2" '($1 == m) || ($1 == "require" && $2 == m) { print ($1 == m ? $2 : $3); exit }' "$1"
}

component_complete() { # component_complete <out dir> <stamp content> <binary...>
  local out=$1 stamp=$2 b
  shift 2
  [[ -f "$out/.complete" && "$(cat "$out/.complete")" == "$stamp" ]] || return 1
  for b in "$@"; do [[ -x "$out/bin/$b" ]] || return 1; done
}

# serve_cached <first argument> <out dir> <stamp content> <binary name>: the `[--cached]` interface of a
# single-binary build script. A complete cached build: print its path, exit 0. `--cached` without one:
# exit 3. `-h`: print the script's usage (its header lines 2-8). Otherwise return and let it build.
serve_cached() {
  local arg=$1 out=$2 stamp=$3 name=$4 script
  script="$(basename "$0")"
  case "$arg" in
    "" | --cached) ;;
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' && exit 0 ;;
    *) die "unknown argument '$arg' (usage: $script [--cached])" ;;
  esac
  if component_complete "$out" "$stamp" "$name"; then
    log "cached $name found"
    echo "$out/bin/$name"
    exit 0
  fi
  if [[ "$arg" == --cached ]]; then
    log "no $name built in $ROOT (run scripts/$script to build it)"
    exit 3
  fi
}

# go_preflight <min go> <why>: Go present and new enough (GOTOOLCHAIN=local: no download), flock present.
go_preflight() {
  local min=$1 why=$2 ver
  command -v go >/dev/null || die "go is not installed (need Go >= $min)"
  ver="$(go env GOVERSION)"
  [[ "$ver" =~ ^go([0-9]+\.[0-9]+(\.[0-9]+)?) ]] || die "cannot parse Go version '$ver'"
  [[ "$(printf '%s\n' "$min" "${BASH_REMATCH[1]}" | sort -V | head -n 1)" == "$min" ]] \
    || die "Go $ver is too old: $why needs go$min (GOTOOLCHAIN=local: no download)"
  command -v flock >/dev/null || die "flock (util-linux) is required"
}

# lock_cache: take the cache root's lock (fd 9) for the rest of the script.
lock_cache() {
  mkdir -p "$ROOT"
  exec 9>"$ROOT/.lock"
  log "waiting for lock $ROOT/.lock"
  flock 9
}

# go_env <build cache dir name>: self-contained Go state under the cache root; never the repo.
go_env() {
  export GOMODCACHE="$ROOT/go/mod"
  export GOCACHE="$ROOT/go/$1"
  export GOFLAGS="-mod=readonly" # the committed go.sum files must cover every module
  export GOTOOLCHAIN=local
  export CGO_ENABLED=0
  export GOWORK=off
  JOBS="${MESHGATE_ENGINE_JOBS:-$(nproc)}"
  NICE=()
  if command -v nice >/dev/null; then NICE=(nice -n 10); fi
}

gobuild() { # gobuild <dir> <out> <ldflags> <pkg>
  local dir=$1 out=$2 ldflags=$3 pkg=$4 t0
  t0=$(date +%s)
  log "go build $pkg -> $(basename "$out")"
  (cd "$dir" && "${NICE[@]}" go build -p "$JOBS" -trimpath -ldflags "-s -w $ldflags" -o "$out" "$pkg") \
    || die "go build of $pkg failed (see output above)"
  log "  built $(basename "$out") in $(($(date +%s) - t0))s ($(du -h "$out" | cut -f1))"
}

moddir() { # moddir <module@version> -> directory in GOMODCACHE
  local dir
  dir=$(cd "$WORK" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') \
    || die "cannot download module $1 from the Go module proxy"
  [[ -n "$dir" && -d "$dir" ]] || die "module $1 downloaded but has no directory"
  echo "$dir"
}

fresh_work() { # fresh_work <key>: sets WORK and STAGE, empty
  WORK="$ROOT/work/$1"
  STAGE="$ROOT/work/$1.stage"
  chmod -R u+w "$WORK" 2>/dev/null || true
  rm -rf "$WORK" "$STAGE"
  mkdir -p "$WORK" "$STAGE/bin"
}

publish() { # publish <stamp content> <out dir>: move STAGE to its cache dir
  printf '%s\n' "$1" >"$STAGE/.complete"
  rm -rf "$2"
  mkdir -p "$(dirname "$2")"
  mv "$STAGE" "$2"
}

# clean_work: drop work dirs and the Go build cache after a successful build (MESHGATE_ENGINE_KEEP_WORK=1 keeps them).
clean_work() {
  if [[ "${MESHGATE_ENGINE_KEEP_WORK:-0}" != 1 ]]; then
    chmod -R u+w "$ROOT/work" 2>/dev/null || true
    rm -rf "$ROOT/work" "$GOCACHE"
  fi
}
