#!/bin/sh
# Usage: rootfs.sh DEST PATH...   (absolute paths)
# Copies each PATH (file or folder) into DEST at the same place, for an image built FROM scratch:
# every symlink on the way to it (a venv's python -> python3 -> python3.11 is found through
# them), and the shared libraries `ldd` reports for every executable or shared object among
# them, with their own symlinks. Nothing is named by distribution or version, so the same
# Dockerfile works on the official images (Python in /usr/local) and on Debian's (in /usr).
# A library ldd cannot find fails the build: the image would fail at its first import instead.
set -eu
dest=$1
mkdir -p "$dest"
shift

# A path and, while it is a symlink, what it points to. Parent folders become real folders in
# DEST (/lib/x86_64-linux-gnu stays /lib/..., not /usr/lib/...), so a relative target is
# resolved lexically from the folder the link is in, as the kernel will resolve it in DEST.
keep() {
    kept=$1
    while :; do
        if [ ! -e "$dest$kept" ] && [ ! -L "$dest$kept" ]; then
            # From / with a relative path: cp -a --parents (coreutils 9.1) fails on an absolute one.
            (cd / && cp -a --parents "${kept#/}" "$dest")
        fi
        [ -L "$kept" ] || return 0
        target=$(readlink "$kept")
        case $target in
            /*) kept=$target ;;
            *) kept=$(realpath -ms "$(dirname "$kept")/$target") ;;
        esac
    done
}

# The libraries one file loads: "libc.so.6 => /lib/.../libc.so.6 (0x...)" and the loader's
# "/lib64/ld-linux-x86-64.so.2 (0x...)"; nothing for a file that is not dynamically linked.
libraries() {
    out=$(ldd "$1" 2>/dev/null) || return 0
    if printf '%s\n' "$out" | grep -q 'not found'; then
        echo "rootfs.sh: ${1#"$dest"} needs a library that is not in the build stage:" >&2
        printf '%s\n' "$out" | grep 'not found' >&2
        return 1
    fi
    printf '%s\n' "$out" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}

list=$(mktemp)
for path in "$@"; do
    keep "$path"
    # A symlink inside a folder may lead out of it: a venv's bin/python to the interpreter.
    find "$path" -type l >"$list"
    while read -r link; do
        keep "$link"
    done <"$list"
done

# Every executable and shared object now in DEST (Python's .so, Node's .node included), and the
# libraries each loads, except those it carries itself (found through its rpath, in DEST).
needed=$(mktemp)
find "$dest" -type f \( -perm -u+x -o -name '*.so' -o -name '*.so.*' -o -name '*.node' \) >"$list"
while read -r file; do
    libraries "$file" >>"$needed"
done <"$list"
sort -u "$needed" | grep -v "^$dest/" >"$list" || true
while read -r library; do
    keep "$library"
done <"$list"
rm "$list" "$needed"

# The loader finds libraries outside its default folders (the official python image's
# libpython in /usr/local/lib) through /etc/ld.so.cache: one for what DEST holds, from the
# build stage's ld.so.conf, without touching DEST's symlinks (-X).
if [ -f /etc/ld.so.conf ]; then
    keep /etc/ld.so.conf
    [ ! -d /etc/ld.so.conf.d ] || keep /etc/ld.so.conf.d
    ldconfig -X -r "$dest"
fi
