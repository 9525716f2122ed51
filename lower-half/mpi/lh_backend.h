/* The conversion backend of the MPI lower half being built (wrappers/README.md): lh_mpich.h with
 * -DSC_LH_MPICH, lh_openmpi.h with -DSC_LH_OPENMPI. Included by the hand-written sources that
 * every backend shares (lh_mpi.c, lh_callbacks.c, lh_unmaps.c); the generated shims include
 * their backend's header themselves. */
#ifndef SPLITCKPT_LH_BACKEND_H
#define SPLITCKPT_LH_BACKEND_H

#if defined(SC_LH_MPICH)
#include "lh_mpich.h"
#elif defined(SC_LH_OPENMPI)
#include "lh_openmpi.h"
#else
#error "an MPI lower half is built with -DSC_LH_MPICH or -DSC_LH_OPENMPI"
#endif

#endif
