# SPDX-License-Identifier: Apache-2.0
# Sourced (POSIX sh) by the README's commands, demo.sh and tests/run-all.sh:
#
#   as_root NAME WHY /absolute/path/of/the/script "$@"
#
# Returns when already root (a root shell needs no sudo, and may not have it).
# Otherwise re-runs the script through sudo, or, when sudo is not installed,
# says so in one line and exits 2.
as_root() {
	_name=$1 _why=$2
	shift 2
	[ "$(id -u)" = 0 ] && return 0
	if ! command -v sudo >/dev/null 2>&1; then
		echo "$_name: needs root ($_why), and sudo is not installed: run it as root" >&2
		exit 2
	fi
	echo "$_name: needs root ($_why): re-running with sudo" >&2
	exec sudo "$@"
}
