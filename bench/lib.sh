# Sourced by the bench/*.sh scripts: the trees (SC_BUILDDIR, SC_SRCDIR, else the tree the script
# lies in), splitckpt and its halves from the build tree, BENCH_MPI's launcher and compiler, and
# the arithmetic the reports use. Sets here (bench/ of the sources), b (build tree), src (source
# tree), sc (the splitckpt command).
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
b=${SC_BUILDDIR:-$(cd "$here/.." && pwd)}
src=${SC_SRCDIR:-$(dirname "$here")}
sc=$b/tools/splitckpt
export SPLITCKPT_LIBEXECDIR=${SPLITCKPT_LIBEXECDIR:-$b/lower-half}
export SPLITCKPT_LIBDIR=${SPLITCKPT_LIBDIR:-$b/upper-half/.libs}
export SPLITCKPT_MPICC_INCDIR=${SPLITCKPT_MPICC_INCDIR:-$src/include}
export SPLITCKPT_MPICC_LIBDIR=${SPLITCKPT_MPICC_LIBDIR:-$b/wrappers/.libs}

now() { date +%s.%N; }
# calc EXPR [DECIMALS]: awk arithmetic, printed with DECIMALS (default 3) decimals
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }

# bench_select_mpi NAME: mpi (BENCH_MPI: mpich, the default, or openmpi), its launcher and
# native mpicc; one node, root, more ranks than cores allowed. Exits 0 (skipped, the reason
# printed) without them or the lower half, 2 for another BENCH_MPI.
bench_select_mpi() {
	mpi=${BENCH_MPI:-mpich}
	case $mpi in
	mpich)
		launcher=mpiexec.hydra native_cc=mpicc.mpich
		export UCX_TLS=${UCX_TLS:-self,sm}
		;;
	openmpi)
		launcher=mpirun.openmpi native_cc=mpicc.openmpi
		export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
		export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1
		;;
	*) echo "$1: BENCH_MPI must be mpich or openmpi" >&2 && exit 2 ;;
	esac
	command -v "$launcher" >/dev/null && command -v "$native_cc" >/dev/null &&
		[ -x "$b/lower-half/splitckpt-lh-$mpi" ] ||
		{ echo "$1: skipped (needs $launcher, $native_cc and the $mpi lower half)" && exit 0; }
	launcher=$(command -v "$launcher")
}
