#!/bin/bash
# Signals pending at a checkpoint survive the restart: the "pending" program is kill-checkpointed
# while SIGUSR1 (sent to the process), SIGUSR2 (sent to its thread) and its periodic ITIMER_REAL's
# SIGALRM are all pending and blocked - the kernel then reads that timer as disarmed, as it
# re-arms it only when SIGALRM is dequeued. After the restart each must be delivered once and
# the timer must go on ticking; the program reports anything lost instead of waiting forever.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init ckpt-pending
prog=$E2E_PROGDIR/pending
[[ -x $prog ]] || fail "test program $prog not found (make check builds it)"
ticks=5
expected=$'step 1\nstep 2\nstep 3 ticks '$ticks

touch "$T/go-native"
run_capture native "$prog" "$E2E_DELAY_MS" "$ticks" go-native
((RC == 0)) || fail "pending natively exited with $RC: $(cat "$OUT" "$ERR")"
[[ $(cat "$OUT") == "$expected" ]] || fail "pending natively printed: $(cat "$OUT")"

CK=$T/ckpt
register_ckptdir "$CK"
mkdir -p "$T/run"
log "launch pending; kill-checkpoint it while its signals are pending"
bg_start launch "$T/run" "$SC" launch --interval 0 --ckptdir "$CK" "$prog" \
	"$E2E_DELAY_MS" "$ticks" go
wait_step launch 1
checkpoint launch "$CK" --kcheckpoint
wait_exit launch 85
[[ $(cat "$T/launch.out") == "step 1" ]] || fail "the launched run printed: $(cat "$T/launch.out")"

log "restart generation $CKPT_GEN"
touch "$T/run/go"
bg_start restart "$T" "$SC" restart --ckptdir "$CK" --interval 0
wait_exit restart 0
[[ $(cat "$T/restart.out") == "${expected#step 1$'\n'}" ]] ||
	fail "the restarted run printed: $(cat "$T/restart.out")"
log "SIGUSR1, SIGUSR2 and the ITIMER_REAL tick pending at the checkpoint were delivered"
e2e_pass
