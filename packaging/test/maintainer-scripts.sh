#!/usr/bin/env bash
# Runs the pvectl-agent .deb's own maintainer scripts into a scratch root
# ($DPKG_ROOT) with a stand-in pveum (pve/pveum) and stand-ins for the
# systemd helpers, and checks what they did: the service user (real
# systemd-sysusers, into the scratch root), the journal directory, the PVE
# role, user, ACL and token, idempotence, never overwriting, a node without
# pveum or without quorum, and purge.
#
#   packaging/test/maintainer-scripts.sh dist/pvectl-agent_<version>-1_<arch>.deb
set -euo pipefail
deb=$(realpath "${1:?usage: $0 PVECTL_AGENT_DEB}")
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "maintainer-scripts: must run as root (the scripts chown to the service user)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node=$(hostname -s)
token_id="pvectl-agent@pve!$node"
failures=0
check() { # description command...
  local what=$1
  shift
  if "$@"; then echo "  ok   $what"; else echo "  FAIL $what" >&2; failures=$((failures + 1)); fi
}
not() { ! "$@"; }
check_status() { # what: the last run exited 0, else its output is shown
  check "$1 exits 0" test "$status" = 0 || true
  [ "$status" = 0 ] || sed 's/^/       | /' <<<"$out" >&2
}

# A fresh scratch root with the package unpacked, and a clean pveum state.
fresh() {
  root="$work/root.$1"
  export DPKG_ROOT="$root" PVEUM_STATE="$work/pveum.$1" STAND_IN_LOG="$work/systemd.$1"
  mkdir -p "$root/etc" "$PVEUM_STATE"
  printf 'root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nwww-data:x:33:\n' >"$root/etc/group"
  printf 'root:*::0:99999:7:::\nwww-data:*:19000:0:99999:7:::\n' >"$root/etc/shadow"
  printf 'root:*::\nwww-data:*::\n' >"$root/etc/gshadow"
  dpkg-deb --extract "$deb" "$root"
  control="$work/control"
  rm -rf "$control"
  dpkg-deb --control "$deb" "$control"
}
pve_path="$here/pve:$here/stand-ins:$PATH"
plain_path="$here/stand-ins:$PATH"
run() { # PATH script args... ; output in $out, status in $status
  local path=$1
  shift
  status=0
  out=$(PATH="$path" "$@" 2>&1) || status=$?
}
calls() { cat "$PVEUM_STATE/calls" 2>/dev/null || true; }
calls_match() { calls | grep -qE "$1"; }
service_uid() { awk -F: '$1 == "pvectl" { print $3 }' "$root/etc/passwd"; }
owner_mode() { stat -c '%u %a' "$1"; }
in_www_data() { awk -F: '$1 == "www-data" { print $4 }' "$root/etc/group" | tr ',' '\n' | grep -qx pvectl; }
token_line() { cat "$root/etc/pvectl/pve-api-token"; }
count_calls() { calls | grep -cE "$1" || true; }

echo "fresh install on a PVE node"
fresh install
run "$pve_path" "$control/postinst" configure ""
check_status postinst
check "service user pvectl exists" test -n "$(service_uid)"
check "pvectl is in group www-data" in_www_data
check "pvectl has no login shell" grep -q '^pvectl:.*:/usr/sbin/nologin$' "$root/etc/passwd"
check "journal directory is the service user's, 0750" test "$(owner_mode "$root/var/lib/pvectl")" = "$(service_uid) 750"
check "role PVEctlAgent created with VM and datastore privileges" calls_match '^role add PVEctlAgent --privs .*VM\.Clone.*Datastore\.AllocateSpace'
check "role has no Sys.Modify or Permissions.Modify" not calls_match 'Sys\.Modify|Permissions\.Modify|Realm|User\.Modify'
check "user pvectl-agent@pve created" calls_match '^user add pvectl-agent@pve '
check "role granted on /" calls_match '^acl modify / --users pvectl-agent@pve --roles PVEctlAgent$'
check "token for this node, privilege-separation off" calls_match "^user token add pvectl-agent@pve $node --privsep 0 "
check "token file holds the token and its secret" grep -qx "$token_id=0c0ffee0-1234-4abc-8def-000000000001" "$root/etc/pvectl/pve-api-token"
check "token file is the service user's, 0600" test "$(owner_mode "$root/etc/pvectl/pve-api-token")" = "$(service_uid) 600"
check "no temporary file is left" test -z "$(find "$root/etc/pvectl" -name '*.new.*')"
check "the unit is enabled through deb-systemd-helper" grep -q '^deb-systemd-helper enable pvectl-agent.service' "$STAND_IN_LOG"
check "it says how to finish (certificate, check, start)" grep -q 'pvectl pki issue-agent' <<<"$out"

echo "configure again (upgrade): nothing is replaced"
before=$(token_line)
calls_before=$(calls | wc -l)
run "$pve_path" "$control/postinst" configure "0.0.9-1"
check_status postinst
check "no pveum call once a token file exists" test "$(calls | wc -l)" = "$calls_before"
check "token file unchanged" test "$(token_line)" = "$before"
check "one pvectl user, once in www-data" test "$(grep -c '^pvectl:' "$root/etc/passwd")" = 1
check "pvectl listed once in www-data" test "$(awk -F: '$1 == "www-data" { print $4 }' "$root/etc/group")" = pvectl

echo "token file lost while the token exists in PVE"
rm "$root/etc/pvectl/pve-api-token"
run "$pve_path" "$control/postinst" configure "0.0.9-1"
check_status postinst
check "the token is not replaced" test "$(count_calls '^user token (add|remove)')" = 1
check "no token file is written" test ! -e "$root/etc/pvectl/pve-api-token"
check "it names the token and how to replace it" grep -q "API token $token_id exists.*pveum user token remove pvectl-agent@pve $node" <<<"$out"
check "role and user are not created twice" test "$(count_calls '^(role|user) add')" = 2

echo "role, user and ACL made by the administrator beforehand"
fresh existing
printf 'PVEctlAgent\n' >"$PVEUM_STATE/roles"
printf 'pvectl-agent@pve\n' >"$PVEUM_STATE/users"
printf '/ pvectl-agent@pve PVEctlAgent\n' >"$PVEUM_STATE/acls"
run "$pve_path" "$control/postinst" configure ""
check_status postinst
check "their role, user and ACL are left alone" test "$(count_calls '^(role add|user add|acl modify)')" = 0
check "a token is created" grep -q "^$token_id=" "$root/etc/pvectl/pve-api-token"

echo "not a PVE node (no pveum)"
fresh plain
run "$plain_path" "$control/postinst" configure ""
check_status postinst
check "service user and journal directory still made" test "$(owner_mode "$root/var/lib/pvectl")" = "$(service_uid) 750"
check "no token file" test ! -e "$root/etc/pvectl/pve-api-token"
check "it says no token was created" grep -q 'no API token created' <<<"$out"

echo "PVE without quorum"
fresh noquorum
PVEUM_FAIL=1 run "$pve_path" "$control/postinst" configure ""
check_status postinst
check "no token file" test ! -e "$root/etc/pvectl/pve-api-token"
check "it says what failed and how to retry" grep -q "cannot list PVE roles.*dpkg-reconfigure pvectl-agent" <<<"$(tr '\n' ' ' <<<"$out")"

echo "remove, then purge"
fresh purge
run "$pve_path" "$control/postinst" configure ""
check "installed" test -e "$root/etc/pvectl/pve-api-token"
mkdir -p "$root/etc/pvectl/tls" && echo cert >"$root/etc/pvectl/tls/agent.pem"
run "$pve_path" "$control/prerm" remove
check_status "prerm remove"
run "$pve_path" "$control/postrm" remove
check_status "postrm remove"
check "remove keeps the token file and journal" test -e "$root/etc/pvectl/pve-api-token" -a -d "$root/var/lib/pvectl"
check "remove does not revoke the token" test "$(count_calls '^user token remove')" = 0
run "$pve_path" "$control/postrm" purge
check_status "postrm purge"
check "purge revokes this node's token" calls_match "^user token remove pvectl-agent@pve $node$"
check "purge removes the token file, certificates and journal" test ! -e "$root/etc/pvectl/pve-api-token" -a ! -e "$root/etc/pvectl/tls" -a ! -e "$root/var/lib/pvectl"
check "the service user stays" test -n "$(service_uid)"

if [ "$failures" -gt 0 ]; then
  echo "maintainer-scripts: $failures failure(s)" >&2
  exit 1
fi
echo "maintainer-scripts: all passed"
