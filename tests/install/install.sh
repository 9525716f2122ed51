#!/bin/bash
# `make install` into a staging directory (DESTDIR): every installed piece is where users and
# the modulefile expect it, `module load splitckpt` puts the tool on PATH, and the installed
# tool finds its own lower half and runtime (no build-tree overrides) to checkpoint and restart
# a program.
set -euo pipefail
b=${SC_BUILDDIR:?run from make check}
stage=$(mktemp -d /tmp/sc-install.XXXXXX)
trap 'rm -rf "$stage"' EXIT
unset SPLITCKPT_LIBEXECDIR SPLITCKPT_LIBDIR
make -s -C "$b" install DESTDIR="$stage" >"$stage/install.log" 2>&1 || { tail -20 "$stage/install.log"; exit 1; }
prefix=$(sed -n 's/^prefix=//p' "$b/splitckpt.pc")
root=$stage$prefix
fail() { echo "install: $*" >&2; exit 1; }
for f in bin/splitckpt libexec/splitckpt/splitckpt-lh-serial lib/libsplitckpt.so \
	include/splitckpt.h include/splitckpt/mpi.h lib/pkgconfig/splitckpt.pc \
	share/man/man1/splitckpt.1 share/man/man1/splitckpt-launch.1 share/modulefiles/splitckpt \
	share/splitckpt/splitckpt.magic; do
	[ -e "$root/$f" ] || fail "$f was not installed under $root"
done
echo "install: all files present under $root"

# The modulefile names the configured prefix; point a copy at the staged tree.
mkdir -p "$stage/mf"
sed "s|$prefix|$root|g" "$root/share/modulefiles/splitckpt" > "$stage/mf/splitckpt"
if [ -f /usr/share/modules/init/bash ]; then
	# shellcheck disable=SC1091
	found=$(bash -c "source /usr/share/modules/init/bash && module use '$stage/mf' && module load splitckpt && command -v splitckpt")
	[ "$found" = "$root/bin/splitckpt" ] || fail "module load splitckpt gave '$found'"
	echo "install: module load splitckpt -> $found"
else
	echo "install: environment-modules not installed; modulefile not loaded"
fi

# The installed tool, on its own: launch, checkpoint, kill, restart.
sc=$root/bin/splitckpt
work=$stage/run
mkdir -p "$work"
"$sc" launch --ckptdir "$work/ckpt" "$b/examples/heat_serial" 30 1000 40 >"$work/r1" 2>"$work/e1" &
pid=$!
for _ in $(seq 200); do [ "$(wc -l <"$work/r1")" -ge 5 ] && break; sleep 0.05; done
"$sc" command --ckptdir "$work/ckpt" --kcheckpoint >/dev/null || fail "kcheckpoint failed: $(cat "$work/e1")"
rc=0; wait "$pid" || rc=$?
[ $rc -eq 85 ] || fail "launch exited $rc, expected 85: $(cat "$work/e1")"
"$sc" restart --ckptdir "$work/ckpt" >"$work/r2" 2>"$work/e2" || fail "restart failed: $(cat "$work/e2")"
"$b/examples/heat_serial" 30 1000 0 >"$work/ref"
cat "$work/r1" "$work/r2" | cmp -s - "$work/ref" || fail "output after restart differs"
[ "$(head -c 7 "$work/r2")" != "step 1 " ] || fail "restart began at step 1"
echo "install: the installed splitckpt checkpointed and restarted a program"
