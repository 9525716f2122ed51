#!/bin/bash
# The README's demo: installs dependencies, builds, then launches an example under splitckpt,
# checkpoints it twice, ends it with a kill-checkpoint, restarts it and shows that it resumed
# after the checkpoint and printed exactly what an uninterrupted run prints.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
sh scripts/setup-debian.sh >/dev/null
[ -x configure ] || ./autogen.sh >/dev/null 2>&1
build=${SC_BUILD_DIR:-$top/build}
mkdir -p "$build" && cd "$build"
[ -f Makefile ] || "$top/configure" --enable-werror --prefix="$build/install" >/dev/null
make -j2 >/dev/null
make install >/dev/null
PATH=$build/install/bin:$PATH
work=$(mktemp -d /tmp/splitckpt-demo.XXXXXX)
prog=$build/examples/heat_serial
args=(60 2000000 60)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "uninterrupted run of: heat_serial ${args[*]}"
"$prog" "${args[@]}" > "$work/reference.out"
tail -n 2 "$work/reference.out"

say "splitckpt launch --ckptdir $work/ckpt heat_serial ${args[*]}"
splitckpt launch --ckptdir "$work/ckpt" "$prog" "${args[@]}" > "$work/run1.out" 2> "$work/run1.err" &
pid=$!
wait_steps() { for _ in $(seq 600); do [ "$(wc -l < "$work/run1.out")" -ge "$1" ] && return; sleep 0.1; done; echo "demo: timeout" >&2; exit 1; }
wait_steps 10
splitckpt command --ckptdir "$work/ckpt" --bcheckpoint
wait_steps 20
splitckpt command --ckptdir "$work/ckpt" --bcheckpoint
wait_steps 30
say "kill-checkpoint at step $(wc -l < "$work/run1.out")"
splitckpt command --ckptdir "$work/ckpt" --kcheckpoint
set +e; wait $pid; rc=$?; set -e
echo "launched job ended with status $rc (85 = ended by a kill-checkpoint)"
cat "$work/run1.err"
splitckpt command --ckptdir "$work/ckpt" --list 2>/dev/null || splitckpt inspect "$work/ckpt" | head -n 5

say "splitckpt restart --ckptdir $work/ckpt"
splitckpt restart --ckptdir "$work/ckpt" > "$work/run2.out"
echo "restarted run printed $(wc -l < "$work/run2.out") lines, starting with: $(head -n 1 "$work/run2.out")"
cat "$work/run1.out" "$work/run2.out" > "$work/combined.out"
if cmp -s "$work/combined.out" "$work/reference.out" && [ "$(head -c 7 "$work/run2.out")" != "step 1 " ]; then
	say "OK: the restart resumed after the checkpoint; launch + restart output == uninterrupted output"
else
	say "MISMATCH"; diff "$work/reference.out" "$work/combined.out" | head; exit 1
fi
echo
echo "MPI programs already run through the split process (see README); checkpointing MPI jobs is"
echo "the next milestone, so this demo uses a serial program."
rm -rf "$work"
