#!/bin/bash
# Runs real programs through unit/loader_run (the lower half's kernel-loader code on its own)
# and compares with running them natively: echo, env, the probe program in its four link
# flavours, python3 (Debian's non-PIE one and the first in PATH, maybe a pyenv #! shim), a
# script; then checks that broken files give clear errors.
set -u
B=${SC_TESTS_BUILDDIR:?run via make check}/unit
RUN=$B/loader_run
T=$(mktemp -d /tmp/sc-loader-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0

pass() { echo "ok - $*"; }
bad() {
	echo "not ok - $*"
	fails=$((fails + 1))
}

# same NAME CMD...: output and exit status equal natively and under the loader.
same() {
	local name=$1 want got
	shift
	want=$("$@" 2>&1; echo "rc=$?")
	got=$("$RUN" "$@" 2>&1; echo "rc=$?")
	if [ "$want" = "$got" ]; then
		pass "$name"
	else
		bad "$name"
		diff <(echo "$want") <(echo "$got") | head -20
	fi
}

# fails_with NAME RC TEXT CMD...: the loader refuses with exit status RC and TEXT on stderr.
fails_with() {
	local name=$1 rc=$2 text=$3 out st
	shift 3
	out=$("$RUN" "$@" 2>&1)
	st=$?
	if [ $st -eq "$rc" ] && [[ $out == *"$text"* ]]; then
		pass "$name: $out"
	else
		bad "$name: status $st (want $rc), output: $out (want: $text)"
	fi
}

same "echo with arguments" /bin/echo hello 'two  words' '' -n 'üñï'
same "echo found in PATH" echo via PATH
want=$(env -i A=1 'B=x y' C= /usr/bin/env)
got=$(env -i A=1 'B=x y' C= "$RUN" /usr/bin/env)
if [ "$want" = "$got" ]; then
	pass "environment (env -i ... env)"
else
	bad "environment: '$got' vs '$want'"
fi
# shellcheck disable=SC2016 # $0 $1 $# are for the script
printf '#!/bin/sh -e\necho "script $0 $1 $#"\n' >"$T/script"
chmod +x "$T/script"
same "#! script" "$T/script" arg1 arg2

# The probe checks its own argv/envp/auxv/TLS/threads/malloc/dlopen; loaded, also that it
# runs in the arena. Outputs must match except for the AT_RANDOM bytes.
for p in loader_probe loader_probe_nopie loader_probe_static loader_probe_spie; do
	export SC_PROBE_VAR='hello world' SC_PROBE_EXECFN=$B/$p
	native=$("$B/$p" x 'y z' 2>&1)
	loaded=$(SC_PROBE_LOADED=1 "$RUN" "$B/$p" x 'y z' 2>&1)
	again=$(SC_PROBE_LOADED=1 "$RUN" "$B/$p" x 'y z' 2>&1)
	unset SC_PROBE_VAR SC_PROBE_EXECFN
	if [[ $native != *"probe: ok"* ]]; then
		bad "$p natively: $native"
	elif [[ $loaded != *"probe: ok"* ]]; then
		bad "$p loaded: $loaded"
	elif [ "$(grep -v '^random:' <<<"$native")" != "$(grep -v '^random:' <<<"$loaded")" ]; then
		bad "$p: output differs"
		diff <(echo "$native") <(echo "$loaded")
	elif [ "$(grep '^random:' <<<"$loaded")" = "$(grep '^random:' <<<"$again")" ]; then
		bad "$p: AT_RANDOM bytes repeat between runs"
	else
		pass "$p ($(grep -c . <<<"$loaded") lines, same as native)"
	fi
done

py='import json,sys; print(json.dumps(sys.argv))'
if [ -x /usr/bin/python3 ]; then
	same "/usr/bin/python3 (non-PIE on Debian)" /usr/bin/python3 -c "$py" a b
	same "/usr/bin/python3 threads, ctypes, ssl" /usr/bin/python3 -c '
import threading, ctypes, ssl, os
r = []
ts = [threading.Thread(target=lambda i=i: r.append(i * i)) for i in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
print(sorted(r), ctypes.CDLL(None).getpid() == os.getpid())'
fi
if command -v python3 >/dev/null; then
	same "python3 from PATH ($(command -v python3))" python3 -c "$py" a b
fi

# Errors: status 127 when PATH has no such command, 126 when the file cannot be loaded.
fails_with "missing file" 126 "$T/nope: No such file or directory" "$T/nope"
fails_with "command not in PATH" 127 "no-such-cmd-sc: command not found in PATH" no-such-cmd-sc
printf 'just some text\n' >"$T/text"
chmod +x "$T/text"
fails_with "text file" 126 "$T/text: not an ELF file" "$T/text"
head -c 1000 /bin/echo >"$T/truncated"
chmod +x "$T/truncated"
fails_with "truncated ELF" 126 "$T/truncated: segment 2 extends beyond the end of the file" \
	"$T/truncated"
cp /bin/echo "$T/elf32"
printf '\001' | dd of="$T/elf32" bs=1 seek=4 conv=notrunc status=none
fails_with "32-bit ELF" 126 "$T/elf32: 32-bit ELF file" "$T/elf32"
cp /bin/echo "$T/noexec"
chmod -x "$T/noexec"
fails_with "not executable" 126 "$T/noexec: not executable" "$T/noexec"
fails_with "directory" 126 "$T: is a directory" "$T"
cp /lib/x86_64-linux-gnu/libm.so.6 "$T/libm.so"
chmod +x "$T/libm.so"
fails_with "shared library" 126 "$T/libm.so: no entry point" "$T/libm.so"

echo "loader.sh: $fails failure(s)"
[ "$fails" -eq 0 ]
