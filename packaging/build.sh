#!/usr/bin/env bash
# Builds the release binaries, statically linked against musl, for x86_64
# and aarch64 into dist/<arch>/, and the two .deb packages of each
# architecture into dist/. Installs what it needs first, idempotently: the
# rustup targets, Debian's aarch64 cross compiler (ring has C parts) and
# qemu-user, and a pinned cargo-deb. No Docker needed (Cross.toml is for
# users who prefer `cross`).
#
#   packaging/build.sh            both architectures
#   packaging/build.sh x86_64     one of them
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0
arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=(x86_64 aarch64)

# shellcheck source=scripts/lib/apt.sh
. scripts/lib/apt.sh
install_missing build aarch64-linux-gnu-gcc=gcc-aarch64-linux-gnu qemu-aarch64=qemu-user
for arch in "${arches[@]}"; do
  target="$arch-unknown-linux-musl"
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
done
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
  echo "build: installing cargo-deb $CARGO_DEB_VERSION"
  cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --quiet
fi

# ring's C code needs a C compiler for the target: host gcc is enough for
# x86_64 musl, aarch64 needs the cross compiler (as the linker too).
export CC_x86_64_unknown_linux_musl="${CC_x86_64_unknown_linux_musl:-gcc}"
export CC_aarch64_unknown_linux_musl="${CC_aarch64_unknown_linux_musl:-aarch64-linux-gnu-gcc}"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER="${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER:-aarch64-linux-gnu-gcc}"

objcopy_for() { case "$1" in x86_64) echo objcopy ;; aarch64) echo aarch64-linux-gnu-objcopy ;; esac; }

# cargo-deb writes no md5sums (dpkg --verify and debsums need them) and an
# empty Depends for a static binary: both fixed in the finished package.
finish_deb() {
  local tree
  tree=$(mktemp -d)
  dpkg-deb --raw-extract "$1" "$tree"
  sed -i '/^Depends: *$/d' "$tree/DEBIAN/control"
  (cd "$tree" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$tree/DEBIAN/md5sums"
  chmod 0644 "$tree/DEBIAN/md5sums"
  dpkg-deb --root-owner-group -Zxz --build "$tree" "$1" >/dev/null
  rm -rf "$tree"
}

mkdir -p dist
for arch in "${arches[@]}"; do
  target="$arch-unknown-linux-musl"
  start=$SECONDS
  cargo build --profile dist --locked --target "$target" -p pvectl-agent -p pvectl --bins
  mkdir -p "dist/$arch"
  for bin in pvectl-agent pvectl; do
    # Compiler version strings only; lintian flags the section.
    "$(objcopy_for "$arch")" --remove-section=.comment "target/$target/dist/$bin"
    cp "target/$target/dist/$bin" "dist/$arch/"
  done
  echo "build: $arch binaries in $((SECONDS - start)) s"
done

# Completions and man pages come from the clap definitions, through the
# first architecture's binaries (the same text for every architecture).
docs="dist/${arches[0]}"
runner=()
[ "${arches[0]}" = "$(uname -m)" ] || runner=("qemu-${arches[0]}")
generated=target/packaging
rm -rf "$generated"
mkdir -p "$generated/completions" "$generated/man/pvectl" "$generated/man/pvectl-agent"
"${runner[@]}" "$docs/pvectl" completion bash >"$generated/completions/pvectl"
"${runner[@]}" "$docs/pvectl" completion zsh >"$generated/completions/_pvectl"
"${runner[@]}" "$docs/pvectl" completion fish >"$generated/completions/pvectl.fish"
"${runner[@]}" "$docs/pvectl" man --dir "$generated/man/pvectl" >/dev/null
"${runner[@]}" "$docs/pvectl-agent" man --dir "$generated/man/pvectl-agent" >/dev/null
gzip -9n "$generated"/man/*/*.1

for arch in "${arches[@]}"; do
  target="$arch-unknown-linux-musl"
  for package in pvectl-agent pvectl; do
    deb=$(cargo deb --locked -p "$package" --target "$target" --profile dist --no-build --no-strip --output dist/ --quiet)
    finish_deb "$deb"
  done
done
ls -l dist/*.deb dist/*/
