#!/bin/bash
# Resources that cannot be restored (a pipe, a socket, a running child process, a glibc
# SIGEV_THREAD timer) make a checkpoint fail with a message naming them while the job goes on
# unharmed; once the program released them, a checkpoint succeeds, and the output is the
# uninterrupted run's.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init refuse
prog=$E2E_PROGDIR/holder
[[ -x $prog ]] || fail "test program $prog not found (make check builds it)"
steps=40 release=20
for kind in pipe socket child sigev_thread; do
	case $kind in
	pipe) mention="pipe" ;;
	socket) mention="socket" ;;
	child) mention="child process" ;;
	sigev_thread) mention="SIGEV_THREAD" ;;
	esac
	run_capture "ref-$kind" "$prog" "$kind" "$steps" "$E2E_DELAY_MS" "$release"
	((RC == 0)) || fail "holder $kind natively exited with $RC"
	ck=$T/ckpt-$kind
	register_ckptdir "$ck"
	bg_start "run-$kind" "$T" "$SC" launch --ckptdir "$ck" --keep 100 \
		"$prog" "$kind" "$steps" "$E2E_DELAY_MS" "$release"
	wait_step "run-$kind" 3
	run_seq "refused-$kind" "$SC" command --ckptdir "$ck" --bcheckpoint
	((RC != 0)) || fail "a checkpoint while holding a $kind succeeded"
	grep -q "$mention" "$ERR" || fail "the refusal does not name the $kind: $(cat "$ERR")"
	log "refused as expected: $(tail -n 1 "$ERR")"
	is_running "run-$kind" || fail "the job ended after the refused checkpoint"
	wait_step "run-$kind" $((release + 2))
	checkpoint "run-$kind" "$ck" --bcheckpoint
	wait_exit "run-$kind" 0
	assert_same "$T/ref-$kind.out" "$T/run-$kind.out" "output of holder $kind"
done
e2e_pass
