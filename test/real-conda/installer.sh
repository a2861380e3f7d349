#!/bin/bash
# Miniconda-like installer of REAL conda for the conda-gitops tests: bash INSTALLER [-b] [-u] [-f] -p PREFIX
#
# The same interface as test/fake-conda/installer.sh. The conda version comes from this file's name when it
# matches *-<VERSION>-Linux-x86_64.sh (a symlink Miniconda3-4.3.22-Linux-x86_64.sh -> installer.sh installs
# 4.3.22), else $REAL_CONDA_VERSION, else 23.11.0. conda's source: $CONDA_GITOPS_REAL_CONDA_SRC (a conda
# checkout or a conda-V.tar.gz), else conda-V.tar.gz in $CONDA_GITOPS_REAL_CONDA_DIR (default: ../shared/real-conda
# beside the repository). Run by the product (install-conda), which never passes CONDA_GITOPS_* to a child, the
# same settings are $REAL_CONDA_SRC and $REAL_CONDA_DIR, given with `[conda] pass-env = REAL_CONDA_SRC`. It runs on Debian's /usr/bin/python3 and its packages: see README.md here.
set -eu

THIS_NAME=$(basename "$0")
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)

version=${REAL_CONDA_VERSION:-23.11.0}
# Miniconda3-4.3.22-Linux-x86_64.sh, Miniconda3-py311_23.11.0-2-Linux-x86_64.sh
if [[ "$THIS_NAME" =~ -(py[0-9]+_)?([0-9]+\.[0-9]+\.[0-9]+)(-[0-9]+)?-Linux-x86_64\.sh$ ]]; then
    version=${BASH_REMATCH[2]}
fi

usage() {
    cat <<EOF
usage: $0 [options]

Installs Miniconda3 $version (real conda from source, for conda-gitops tests)

-b           run install in batch mode (without manual intervention),
             it is expected the license terms are agreed upon
-f           no error if install prefix already exists
-h           print this help message and exit
-p PREFIX    install prefix, defaults to \$HOME/miniconda3, must not contain spaces.
-s           skip running pre/post-link/install scripts
-u           update an existing installation
-t           run package tests after installation (may install conda-build)
EOF
}

PREFIX=${HOME:-/root}/miniconda3
BATCH=0
FORCE=0
UPDATE=0
while getopts "bifhkp:sut" opt; do
    case "$opt" in
        b) BATCH=1 ;;
        f) FORCE=1 ;;
        h) usage; exit 2 ;;
        p) PREFIX=$OPTARG ;;
        u) UPDATE=1 ;;
        i|k|s|t) ;;
        *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ "$#" -gt 0 ]; then
    usage >&2
    exit 2
fi

case "$PREFIX" in
    *" "*) echo "ERROR: Cannot install into directories with spaces" >&2; exit 1 ;;
esac
# relative prefixes become absolute, as in the real installer
case "$PREFIX" in
    /*) ;;
    *) PREFIX="$(pwd)/$PREFIX" ;;
esac
PREFIX=$(readlink -m "$PREFIX")

if [ "$BATCH" = "0" ]; then
    printf "\nWelcome to Miniconda3 %s\n\n(test installer: proceeding as in batch mode)\n" "$version"
fi

if [ -e "$PREFIX" ] && [ "$UPDATE" = "0" ] && [ "$FORCE" = "0" ]; then
    printf "ERROR: File or directory already exists: '%s'\n" "$PREFIX" >&2
    printf "If you want to update an existing installation, use the -u option.\n" >&2
    exit 1
fi
if [ "$UPDATE" = "1" ] && [ -e "$PREFIX" ] && [ ! -d "$PREFIX/conda-meta" ]; then
    printf "ERROR: %s is not a conda installation, cannot update it\n" "$PREFIX" >&2
    exit 1
fi

PYTHON=${REAL_CONDA_PYTHON:-/usr/bin/python3}
if [ ! -x "$PYTHON" ]; then
    echo "ERROR: $PYTHON not found (Debian's python3 runs real conda here; set REAL_CONDA_PYTHON)" >&2
    exit 1
fi

printf "PREFIX=%s\nUnpacking payload ...\n" "$PREFIX"
if [ "$UPDATE" = "1" ]; then
    exec "$PYTHON" "$HERE/install.py" "$PREFIX" "$version" --update
fi
exec "$PYTHON" "$HERE/install.py" "$PREFIX" "$version"
