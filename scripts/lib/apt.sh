# Sourced by the setup, build and check scripts: Debian packages installed
# only when a command they provide is missing.

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# `install_missing WHO COMMAND=PACKAGE...`: installs, in one apt run, the
# package of each command not on PATH (COMMAND may list alternatives
# separated by `|`); WHO names the caller in the message.
install_missing() {
  local who=$1 need=() pair commands package found command
  shift
  for pair in "$@"; do
    commands=${pair%%=*} package=${pair#*=} found=
    for command in ${commands//|/ }; do
      command -v "$command" >/dev/null 2>&1 && found=1
    done
    [ -n "$found" ] || need+=("$package")
  done
  [ ${#need[@]} -gt 0 ] || return 0
  echo "$who: installing ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
}
