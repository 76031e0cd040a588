#!/usr/bin/env bash
# Checks what packaging/build.sh made, for CI (scripts/test.sh runs both):
# static binaries within DESIGN's size limit; the binaries of each
# architecture (aarch64 under qemu-user) serving the pve-sim demo, real
# creates included, as agents and as pvectl; the .deb control fields and
# contents; lintian; `systemd-analyze verify` on the unit (any output is a
# failure); the maintainer scripts against a stand-in pveum
# (packaging/test/maintainer-scripts.sh).
#
#   packaging/check.sh            both architectures
#   packaging/check.sh x86_64     one of them
set -euo pipefail
cd "$(dirname "$0")/.."

arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=(x86_64 aarch64)
MAX_AGENT_BYTES=$((8 * 1024 * 1024))
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)

# shellcheck source=scripts/lib/apt.sh
. scripts/lib/apt.sh
install_missing check lintian=lintian systemd-analyze=systemd readelf=binutils \
  strace=strace pkill=procps qemu-aarch64=qemu-user

failures=0
ok() { echo "ok   $*"; }
fail() {
  echo "FAIL $*" >&2
  failures=$((failures + 1))
}
deb_arch() { case "$1" in x86_64) echo amd64 ;; aarch64) echo arm64 ;; esac; }

# --- binaries -------------------------------------------------------------
for arch in "${arches[@]}"; do
  for bin in pvectl-agent pvectl; do
    file="dist/$arch/$bin"
    if [ ! -x "$file" ]; then
      fail "$file is missing (run packaging/build.sh $arch)"
      continue
    fi
    headers=$(readelf --program-headers --wide "$file")
    dynamic=$(readelf --dynamic "$file")
    machine=$(readelf --file-header "$file" | sed -n 's/^ *Machine: *//p')
    if grep -q INTERP <<<"$headers"; then
      fail "$file asks for a dynamic loader"
    elif grep -q NEEDED <<<"$dynamic"; then
      fail "$file needs shared libraries: $(grep NEEDED <<<"$dynamic" | tr -s ' ')"
    else
      ok "$file is static ($machine; $(grep -q 'There is no dynamic section' <<<"$dynamic" && echo 'no dynamic section' || echo 'static-pie: relocations only, no loader, no libraries'))"
    fi
    size=$(stat -c %s "$file")
    if [ "$bin" = pvectl-agent ] && [ "$size" -gt "$MAX_AGENT_BYTES" ]; then
      fail "$file is $size bytes, over the 8 MiB limit"
    else
      ok "$file is $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.2f MiB", s / 1048576 }'))"
    fi
  done
done

# --- the shipped binaries at work -------------------------------------------
# The pve-sim demo (creates, listing, lifecycle) with every agent and every
# pvectl call one of the built binaries; aarch64 ones run under qemu-user.
# On this machine's own architecture the agents run under strace, and every
# system call they made must pass the unit's SystemCallFilter
# (@system-service minus @privileged and @resources), or systemd would kill
# the agent on a real node.
expand_filter() {
  systemd-analyze syscall-filter "$1" | sed -n 's/^    //p' | grep -v '^#' | while read -r item; do
    case "$item" in
      @*) expand_filter "$item" ;;
      *) echo "$item" ;;
    esac
  done
}
check_syscalls() { # trace files...
  local used allowed denied outside refused
  used=$(cat "$@" | grep -oE '^[a-z_0-9]+\(' | tr -d '(' | sort -u)
  allowed=$(expand_filter @system-service | sort -u)
  denied=$({ expand_filter @privileged; expand_filter @resources; } | sort -u)
  outside=$(comm -23 <(echo "$used") <(echo "$allowed") | tr '\n' ' ')
  refused=$(comm -12 <(echo "$used") <(echo "$denied") | tr '\n' ' ')
  if [ -z "$outside$refused" ]; then
    ok "SystemCallFilter admits all $(wc -l <<<"$used") system calls the agent made in the demo"
  else
    fail "the agent makes system calls the unit's filter refuses: ${outside}${refused}"
  fi
}
sim=target/debug/pve-sim
[ -x "$sim" ] || cargo build --locked -p pve-sim --bin pve-sim --quiet
wrappers=$(mktemp -d)
trap 'rm -rf "$wrappers"' EXIT
for arch in "${arches[@]}"; do
  if [ ! -x "dist/$arch/pvectl" ] || [ ! -x "dist/$arch/pvectl-agent" ]; then continue; fi
  runner=""
  [ "$arch" = "$(uname -m)" ] || runner="qemu-$arch"
  bin_dir="$wrappers/$arch"
  mkdir -p "$bin_dir"
  for bin in pvectl-agent pvectl; do
    out=$($runner "dist/$arch/$bin" --version 2>&1) || true
    if [ "$out" = "$bin $version" ]; then ok "${runner:+$runner }$arch $bin --version: $out"; else fail "$arch $bin --version printed '$out'"; fi
    printf '#!/bin/sh\nexec %s %q "$@"\n' "$runner" "$PWD/dist/$arch/$bin" >"$bin_dir/$bin"
  done
  if [ -z "$runner" ]; then
    # SIGTERM (the demo stopping its agents) goes to the agent, not to strace.
    cat >"$bin_dir/pvectl-agent" <<WRAPPER
#!/usr/bin/env bash
strace -f -ff -qq -o '$bin_dir/trace' '$PWD/dist/$arch/pvectl-agent' "\$@" &
tracer=\$!
trap 'pkill -TERM -P \$tracer' TERM INT
wait \$tracer || wait \$tracer
WRAPPER
  fi
  chmod +x "$bin_dir"/*
  if log=$(PVECTL_BIN_DIR="$bin_dir" "$sim" demo 2>&1); then
    how=${runner:+under $runner}
    ok "pve-sim demo with the $arch agents and pvectl (${how:-agents under strace}): $(grep -c '^ok ' <<<"$log") steps passed"
    [ -n "$runner" ] || check_syscalls "$bin_dir"/trace.*
  else
    fail "pve-sim demo with the $arch binaries${runner:+ under $runner} failed:"
    echo "$log" >&2
  fi
done

# --- packages -------------------------------------------------------------
expect_field() { # deb field value
  local got
  got=$(dpkg-deb --field "$1" "$2")
  if [ "$got" = "$3" ]; then ok "$(basename "$1"): $2: $got"; else fail "$(basename "$1"): $2 is '$got', expected '$3'"; fi
}
expect_entry() { # deb mode path
  if grep -Eq "^$2 +root/root +[0-9]+ [0-9-]+ [0-9:]+ \./$3\$" <<<"$contents"; then
    ok "$(basename "$1") holds $3 ($2)"
  else
    fail "$(basename "$1") does not hold $3 with mode $2"
  fi
}
for arch in "${arches[@]}"; do
  darch=$(deb_arch "$arch")
  agent_deb="dist/pvectl-agent_${version}-1_${darch}.deb"
  ctl_deb="dist/pvectl_${version}-1_${darch}.deb"
  for deb in "$agent_deb" "$ctl_deb"; do
    [ -f "$deb" ] || { fail "$deb is missing (run packaging/build.sh $arch)"; continue 2; }
    expect_field "$deb" Architecture "$darch"
    expect_field "$deb" Version "${version}-1"
  done
  expect_field "$agent_deb" Depends "systemd | systemd-standalone-sysusers | systemd-sysusers"
  expect_field "$ctl_deb" Depends ""

  contents=$(dpkg-deb --contents "$agent_deb")
  expect_field "$agent_deb" Package pvectl-agent
  expect_entry "$agent_deb" -rwxr-xr-x usr/bin/pvectl-agent
  expect_entry "$agent_deb" -rw-r--r-- etc/pvectl/agent.toml
  expect_entry "$agent_deb" -rw-r--r-- usr/lib/systemd/system/pvectl-agent.service
  expect_entry "$agent_deb" -rw-r--r-- usr/lib/sysusers.d/pvectl-agent.conf
  expect_entry "$agent_deb" -rw-r--r-- usr/share/man/man1/pvectl-agent.1.gz
  expect_entry "$agent_deb" -rw-r--r-- usr/share/doc/pvectl-agent/copyright
  control=$(mktemp -d)
  dpkg-deb --control "$agent_deb" "$control"
  if [ "$(cat "$control/conffiles")" = /etc/pvectl/agent.toml ]; then ok "agent.toml is the one conffile"; else fail "conffiles: $(cat "$control/conffiles")"; fi
  for script in postinst prerm postrm; do
    if [ -x "$control/$script" ]; then ok "$(basename "$agent_deb") has $script"; else fail "$(basename "$agent_deb") has no $script"; fi
  done
  rm -rf "$control"

  contents=$(dpkg-deb --contents "$ctl_deb")
  expect_field "$ctl_deb" Package pvectl
  expect_entry "$ctl_deb" -rwxr-xr-x usr/bin/pvectl
  expect_entry "$ctl_deb" -rw-r--r-- usr/share/bash-completion/completions/pvectl
  expect_entry "$ctl_deb" -rw-r--r-- usr/share/zsh/vendor-completions/_pvectl
  expect_entry "$ctl_deb" -rw-r--r-- usr/share/fish/vendor_completions.d/pvectl.fish
  expect_entry "$ctl_deb" -rw-r--r-- usr/share/man/man1/pvectl.1.gz
  expect_entry "$ctl_deb" -rw-r--r-- usr/share/man/man1/pvectl-vm-create.1.gz
  if grep -q 'usr/bin/pvectl-agent' <<<"$contents"; then fail "$(basename "$ctl_deb") also holds the agent"; fi

  for deb in "$agent_deb" "$ctl_deb"; do
    override_file=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './usr/share/lintian/overrides/*')
    overrides=$(grep -c '^[^#]' <<<"$override_file")
    unexplained=$(awk '/^#/ { why = 1; next } NF { if (!why) print; why = 0 }' <<<"$override_file")
    [ -z "$unexplained" ] || fail "$(basename "$deb"): lintian overrides without a reason (a comment line above): $unexplained"
    if report=$(lintian --fail-on error,warning,info --display-info "$deb" 2>&1); then
      ok "lintian $(basename "$deb"): no error, warning or info tag ($overrides overrides in the package, each with its reason)"
    else
      fail "lintian $(basename "$deb"):"
      echo "$report" >&2
    fi
  done
done

# --- the systemd unit -------------------------------------------------------
# verify needs ExecStart's binary to exist: check a copy pointed at the build.
unit_dir=$(mktemp -d)
sed "s|^ExecStart=/usr/bin/pvectl-agent|ExecStart=$PWD/dist/${arches[0]}/pvectl-agent|" \
  packaging/deb/agent/pvectl-agent.service >"$unit_dir/pvectl-agent.service"
if verify=$(systemd-analyze verify --man=no "$unit_dir/pvectl-agent.service" 2>&1) && [ -z "$verify" ]; then
  ok "systemd-analyze verify pvectl-agent.service: no output"
else
  fail "systemd-analyze verify pvectl-agent.service:"
  echo "$verify" >&2
fi
rm -rf "$unit_dir"

# --- maintainer scripts -----------------------------------------------------
if as_root packaging/test/maintainer-scripts.sh "dist/pvectl-agent_${version}-1_$(deb_arch "${arches[0]}").deb"; then
  ok "maintainer scripts against a stand-in pveum"
else
  fail "maintainer scripts (packaging/test/maintainer-scripts.sh)"
fi

if [ "$failures" -gt 0 ]; then
  echo "check: $failures failure(s)" >&2
  exit 1
fi
echo "check: all passed"
