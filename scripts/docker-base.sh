#!/usr/bin/env bash
# Make the local Docker base image hydra-base:bookworm (Debian 12, minbase)
# when it is missing. No registry image is pulled: debootstrap builds the
# root file system from the Debian mirror this machine's apt already uses
# (read from its sources at run time), and `docker import` turns it into an
# image. Idempotent: a no-op (well under a second) when the image exists.
#   scripts/docker-base.sh            make it if missing
#   scripts/docker-base.sh --force    remake it
# Env: HC_BASE_IMAGE (default hydra-base:bookworm), HC_DEBIAN_MIRROR (a
# mirror URL to use instead of the one apt's sources name).
set -euo pipefail
image=${HC_BASE_IMAGE:-hydra-base:bookworm}
if [ "${1:-}" != "--force" ] && docker image inspect "$image" >/dev/null 2>&1; then
    exit 0
fi
# The mirror apt uses for the bookworm suite: a deb822 .sources stanza
# ("URIs:" with "Suites: bookworm ...") or a one-line "deb URL bookworm ..."
# entry. Files disabled by renaming (not *.list / *.sources) are not read.
mirror_from_sources() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                           if ($(i+1) == "bookworm") { print $i; exit } }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk 'BEGIN { RS = ""; FS = "\n" }
             { uri = ""; ok = 0; off = 0
               for (i = 1; i <= NF; i++) {
                   if ($i ~ /^URIs:/) { split($i, w, /[ \t]+/); uri = w[2] }
                   if ($i ~ /^Suites:/ && (" " $i " ") ~ / bookworm /) ok = 1
                   if ($i ~ /^Enabled:[ \t]*no/) off = 1 }
               if (ok && !off && uri != "") { print uri; exit } }' "$f"
    done
}
mirror=${HC_DEBIAN_MIRROR:-$(mirror_from_sources | head -n1)}
if [ -z "$mirror" ]; then
    echo "docker-base.sh: no Debian bookworm mirror found in /etc/apt/sources.list{,.d/*}; set HC_DEBIAN_MIRROR" >&2
    exit 1
fi
command -v debootstrap >/dev/null || { echo "docker-base.sh: debootstrap is not installed (scripts/install-deps.sh)" >&2; exit 1; }
root=$(mktemp -d "${TMPDIR:-/tmp}/hydra-base.XXXXXX")
trap 'rm -rf "$root"' EXIT
echo "docker-base.sh: debootstrap bookworm from $mirror" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
    tail -n 20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
# Smaller and quieter images: no docs, man pages or locales from later
# installs (dpkg path excludes), no recommends, no apt caches kept.
mkdir -p "$root/etc/dpkg/dpkg.cfg.d" "$root/etc/apt/apt.conf.d"
cat >"$root/etc/dpkg/dpkg.cfg.d/01-hydra-nodoc" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
CFG
cat >"$root/etc/apt/apt.conf.d/01-hydra-small" <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
CFG
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
rm -rf "$root/usr/share/man"/* "$root/usr/share/info"/* "$root/usr/share/locale"/* \
       "$root/var/cache/apt"/*.bin "$root/var/lib/apt/lists"/* "$root/var/log"/*.log 2>/dev/null || true
tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "docker-base.sh: made $image ($(docker image inspect -f '{{.Size}}' "$image") bytes)" >&2
