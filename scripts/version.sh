#!/bin/sh
# Print pinio's version. It is written in one place only: the top entry of
# debian/changelog. The Makefiles (the tool's --version, the DKMS source
# folder /usr/src/pinio-VERSION, the dkms.conf that `make install-dkms`
# writes) and the Debian packages all take it from there.
#
# Usage: scripts/version.sh [upstream|debian]
#   upstream (default): without epoch and Debian revision, e.g. 1.0.0
#   debian:             the package version as written, e.g. 1.0.0
# pinio is a native package, so today both are the same.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
v=$(sed -n '1s/^pinio (\([^)]*\)) .*/\1/p' "$top/debian/changelog")
if [ -z "$v" ]; then
	echo "version: line 1 of debian/changelog is not 'pinio (VERSION) ...'" >&2
	exit 1
fi
case "${1:-upstream}" in
debian) echo "$v" ;;
upstream)
	v=${v#*:}
	echo "${v%-*}"
	;;
*)
	echo "version: unknown argument '$1'" >&2
	exit 2
	;;
esac
