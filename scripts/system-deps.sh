#!/bin/sh
# System packages Mnemo needs outside Python: bubblewrap (bwrap), which runs every custom tool call in
# its own namespaces (docs/sandbox.md), util-linux's setpriv, nsenter and prlimit (present on
# Debian/Ubuntu), slirp4netns, nftables and iproute2 for the tools' filtered network, and Node.js with
# npm for TypeScript tools and their npm_requirements (Node 18+; Debian 12 and Ubuntu 24.04 ship it). As root on
# Debian/Ubuntu, installs what is missing with apt-get; otherwise prints what to install. `make setup`
# runs it; it never fails the build, the server itself refuses custom tools when bwrap is unusable.
set -u
missing=""
command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
(command -v setpriv && command -v nsenter && command -v prlimit) >/dev/null 2>&1 || missing="$missing util-linux"
# TypeScript tools (a Node.js installed another way, e.g. from nodejs.org, is fine too).
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
# The filtered tool network (MNEMO_SANDBOX_NETWORK=public, the default, when the server is root).
PATH="$PATH:/usr/sbin:/sbin"
command -v slirp4netns >/dev/null 2>&1 || missing="$missing slirp4netns"
command -v nft >/dev/null 2>&1 || missing="$missing nftables"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y --no-install-recommends $missing >/dev/null; } \
        || echo "system-deps: could not install$missing; custom tools (or TypeScript tools) will be refused until it is installed" >&2
else
    echo "system-deps: custom tools need$missing: install it (Debian/Ubuntu: sudo apt-get install$missing)" >&2
fi
exit 0
