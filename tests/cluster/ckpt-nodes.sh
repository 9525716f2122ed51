#!/bin/bash
# make check: an MPI job checkpointed on some emulated Slurm nodes restarts on others and on
# another node count (cluster.sh): tests/mpi/ckpt_mix.c with 4 ranks launched as
# `splitckpt launch srun --mpi=pmi2 -N 3 -n 4` (MPICH), checkpointed and killed; restarted with
# `splitckpt restart --ckptdir DIR srun --mpi=pmi2 -N 1 -n 4` (one node), checkpointed and killed
# again; restarted on 2 nodes and run to its end. The three outputs together must equal a native
# run's and each restart must resume after its checkpoint. CKPT_NODES_MPI=openmpi runs the same
# under Open MPI and `srun --mpi=pmix` (ckpt-nodes-openmpi.sh). Skips (77) without the MPI or where no cluster can be created.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAUNCH_MULTINODE=1 # launch-lib.sh: keep MPI's network transports
STEPS=${SC_CKPT_NODES_STEPS:-300}
MPI=${CKPT_NODES_MPI:-mpich}
case $MPI in
mpich) PMI=pmi2 NATIVE_CC=mpicc.mpich ;;
openmpi)
	PMI=pmix NATIVE_CC=mpicc.openmpi
	# Debian's /etc/openmpi/openmpi-mca-params.conf turns off osc/pt2pt and osc/ucx, which
	# leaves no one-sided component that works across nodes over TCP: MPI_Win_create and
	# MPI_Win_allocate fail there natively too (MPI_ERR_WIN). Allow pt2pt back.
	export OMPI_MCA_osc=${OMPI_MCA_osc:-^ucx}
	;;
*) echo "CKPT_NODES_MPI must be mpich or openmpi" >&2 && exit 2 ;;
esac
PAUSE_US=20000

# job OUT NCKPT -- CMD...: CMD in the background; NCKPT blocking checkpoints at random moments,
# then a kill-checkpoint (status 85 expected); NCKPT < 0: none, status 0 expected
job() {
	local out=$1 nckpt=$2 dir=$WORK/ckpt rc=0 i
	shift 3
	echo "+ $*"
	timeout -k 3 "$TIMEOUT" "$@" >"$out" 2>"$out.err" &
	local pid=$!
	if ((nckpt >= 0)); then
		# every rank connected and MPI initialized (a checkpoint before is refused)
		for ((i = 0; i < 600; i++)); do
			grep -q "^step " "$out" 2>/dev/null &&
				"$SPLITCKPT" command --ckptdir "$dir" --status 2>/dev/null |
				grep -q "ranks:.* 4 of 4" && break
			sleep 0.1
		done
		for ((i = 0; i <= nckpt; i++)); do
			sleep "0.$((RANDOM % 5 + 2))"
			local kind=bcheckpoint
			((i == nckpt)) && kind=kcheckpoint
			"$SPLITCKPT" command --ckptdir "$dir" --$kind >"$out.cmd" 2>&1 ||
				{ cat "$out.cmd" "$out.err"; fail "$kind: see above"; }
			sed 's/^/| /' "$out.cmd"
		done
	fi
	wait $pid || rc=$?
	local want=$((nckpt >= 0 ? 85 : 0))
	((rc == want)) || { tail -n 20 "$out" "$out.err"; fail "status $rc, expected $want"; }
	grep -h "hosts\|^step" "$out" | head -1
}

first_step() { awk '/^step /{print $2; exit}' "$1"; }

steps() {
	local prog=$1 native=$2
	echo "+ native reference on one node"
	timeout -k 3 "$TIMEOUT" srun --mpi=$PMI -N 1 -n 4 --immediate=30 "$native" $STEPS $PAUSE_US \
		>"$WORK/native.out" 2>&1
	grep -q "^PASS 4 ranks" "$WORK/native.out" || { tail "$WORK/native.out"; fail "native run"; }
	sed -i '/^srun: /d' "$WORK/native.out"
	job "$WORK/run1.out" 1 -- "$SPLITCKPT" launch --quiet --ckptdir "$WORK/ckpt" \
		srun --mpi=$PMI -N 3 -n 4 --immediate=30 "$prog" $STEPS $PAUSE_US
	job "$WORK/run2.out" 1 -- "$SPLITCKPT" restart --quiet --ckptdir "$WORK/ckpt" \
		srun --mpi=$PMI -N 1 -n 4 --immediate=30
	job "$WORK/run3.out" -1 -- "$SPLITCKPT" restart --quiet --ckptdir "$WORK/ckpt" \
		srun --mpi=$PMI -N 2 -n 4 --immediate=30
	local s2 s3
	s2=$(first_step "$WORK/run2.out")
	s3=$(first_step "$WORK/run3.out")
	((${s2:-0} > 0 && ${s3:-0} > s2)) || fail "the restarts did not resume after their checkpoints (${s2:-none}, ${s3:-none})"
	cat "$WORK/run1.out" "$WORK/run2.out" "$WORK/run3.out" | grep -v "^srun: " >"$WORK/all.out"
	cmp -s "$WORK/all.out" "$WORK/native.out" ||
		{ diff "$WORK/native.out" "$WORK/all.out" | head; fail "outputs differ from the native run"; }
	echo "PASS ($MPI): 4 ranks on 3 nodes -> restarted on 1 node (at step $s2) -> on 2 nodes (at step $s3): output = native"
}

if [ "${1:-}" = --steps ]; then
	shift
	LAUNCH_WORK=$SC_CLUSTER_SHARED/ckpt-nodes.$$
	mkdir -p "$LAUNCH_WORK"
	SC_LAUNCH_TIMEOUT=${SC_LAUNCH_TIMEOUT:-180}
	. "$HERE/../mpi/launch-lib.sh"
	steps "$@"
	exit $?
fi

. "$HERE/../mpi/launch-lib.sh"
if ! "have_$MPI" || ! command -v srun >/dev/null || ! command -v "$NATIVE_CC" >/dev/null; then
	echo "SKIP: $MPI (its launcher, $NATIVE_CC, splitckpt-lh-$MPI) or srun not available"
	exit 77
fi
"$HERE/cluster.sh" check || exit $? # prints why, exits 77
build_sc ckpt_mix "cl_ckpt_mix.$MPI"
"$NATIVE_CC" -std=gnu11 -O2 -o "$BIN/cl_ckpt_mix.$MPI.native" "$SC_SRCDIR/tests/mpi/ckpt_mix.c" ||
	fail "native build of ckpt_mix"
rc=0
"$HERE/cluster.sh" run 3 -- /bin/bash "$HERE/ckpt-nodes.sh" --steps "$BIN/cl_ckpt_mix.$MPI" \
	"$BIN/cl_ckpt_mix.$MPI.native" || rc=$?
case $rc in
0) echo "PASS ($MPI): checkpoint on 3 nodes, restarts on 1 and 2 nodes" ;;
77) echo "SKIP: cluster.sh could not create a cluster here" && exit 77 ;;
*) fail "see the output above" ;;
esac
