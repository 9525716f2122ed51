#!/bin/bash
# A checkpoint into a full file system (a 4 MiB tmpfs) fails with a message naming the image
# and the error, leaves no partial generation behind and no trace in MANIFEST, the job keeps
# running to its normal end, and the earlier generation on another disk is untouched.
# Needs root to mount the tmpfs; skipped (77) otherwise.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init disk-full
small=$T/small
mkdir -p "$small"
if ! mount -t tmpfs -o size=4m tmpfs "$small" 2>/dev/null; then
	echo "SKIP: cannot mount a tmpfs here (not root?)"
	exit 77
fi
# unmount before the library's own exit handler cleans up the test directory
trap 'umount -l "$small" 2>/dev/null; e2e_on_exit' EXIT
ck=$small/ckpt
register_ckptdir "$ck"
run_reference state 40
sc_launch run "$T" --ckptdir "$ck" -- state 40
wait_step run 5
run_seq full "$SC" command --ckptdir "$ck" --bcheckpoint
((RC != 0)) || fail "a checkpoint into a full file system succeeded"
grep -q "No space left on device" "$ERR" || fail "the failure does not say the disk is full: $(cat "$ERR")"
grep -q "rank-00000.img" "$ERR" || fail "the failure does not name the image: $(cat "$ERR")"
log "refused as expected: $(tail -n 1 "$ERR")"
[[ -z $(find "$ck" -name 'gen-*') ]] || fail "a partial generation was left: $(ls "$ck")"
[[ ! -s $ck/MANIFEST ]] || ! grep -q '^[0-9]' "$ck/MANIFEST" || fail "MANIFEST lists a generation"
is_running run || fail "the job ended after the failed checkpoint"
wait_exit run 0
assert_same "$REF" "$T/run.out" "output after a failed checkpoint"
e2e_pass
