/* Picks the lower half for `splitckpt launch`: an MPI program (one that has libsplitckpt_mpi.so
 * in its DT_NEEDED list, i.e. was linked by splitckpt-mpicc) gets the lower half of an MPI
 * implementation, anything else the serial one. Reads only the ELF headers and the dynamic
 * section; scripts and unreadable files count as not MPI (SPLITCKPT_LOWER_HALF overrides).
 * Which MPI: SPLITCKPT_MPI, else Open MPI when the rank was started by an Open MPI launcher (its
 * environment says so), else MPICH. */
#include "config.h"

#include "lh_variant.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MPI_LIB "libsplitckpt_mpi.so"

static int read_at(int fd, void *buf, size_t n, off_t off)
{
	return pread(fd, buf, n, off) == (ssize_t)n ? 0 : -1;
}

/* The file offset of virtual address va, through the PT_LOAD headers. */
static long va_to_off(const Elf64_Phdr *ph, int n, uint64_t va)
{
	for (int i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && va >= ph[i].p_vaddr &&
		    va < ph[i].p_vaddr + ph[i].p_filesz)
			return (long)(va - ph[i].p_vaddr + ph[i].p_offset);
	return -1;
}

static int needs_mpi_lib(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int found = 0;
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	if (read_at(fd, &eh, sizeof eh, 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum > 64 || read_at(fd, ph, eh.e_phnum * sizeof ph[0], (off_t)eh.e_phoff))
		goto out;
	for (int i = 0; i < eh.e_phnum && !found; i++) {
		if (ph[i].p_type != PT_DYNAMIC)
			continue;
		size_t n = ph[i].p_filesz / sizeof(Elf64_Dyn);
		Elf64_Dyn *dyn = calloc(n ? n : 1, sizeof *dyn);
		if (!dyn || read_at(fd, dyn, n * sizeof *dyn, (off_t)ph[i].p_offset)) {
			free(dyn);
			goto out;
		}
		uint64_t strtab = 0, strsz = 0;
		for (size_t j = 0; j < n && dyn[j].d_tag != DT_NULL; j++) {
			if (dyn[j].d_tag == DT_STRTAB)
				strtab = dyn[j].d_un.d_ptr;
			else if (dyn[j].d_tag == DT_STRSZ)
				strsz = dyn[j].d_un.d_val;
		}
		long stroff = strtab ? va_to_off(ph, eh.e_phnum, strtab) : -1;
		for (size_t j = 0; stroff >= 0 && j < n && dyn[j].d_tag != DT_NULL; j++) {
			char name[sizeof MPI_LIB];
			if (dyn[j].d_tag != DT_NEEDED || dyn[j].d_un.d_val + sizeof name > strsz)
				continue;
			if (!read_at(fd, name, sizeof name, stroff + (off_t)dyn[j].d_un.d_val) &&
			    !memcmp(name, MPI_LIB, sizeof name)) /* with its NUL: no .so.1 */
				found = 1;
		}
		free(dyn);
	}
out:
	close(fd);
	return found;
}

/* PROGRAM as execvp would find it; NULL if not found. */
static const char *search_path(const char *prog, char *buf, size_t len)
{
	if (strchr(prog, '/'))
		return prog;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		int w = snprintf(buf, len, "%.*s%s%s", (int)n, path, n ? "/" : "", prog);
		if (w > 0 && (size_t)w < len && access(buf, X_OK) == 0)
			return buf;
		path += n + (path[n] == ':');
	}
	return NULL;
}

/* Open MPI's mpirun gives each rank OMPI_COMM_WORLD_*; srun --mpi=pmix gives PMIX_RANK but,
 * unlike --mpi=pmi2 and MPICH's hydra, no PMI_RANK. Neither would let MPICH initialise. */
static int launched_by_openmpi(void)
{
	const char *w = getenv("OMPI_COMM_WORLD_SIZE"), *x = getenv("PMIX_RANK");
	return (w && *w) || (x && *x && !getenv("PMI_RANK"));
}

void sc_lh_variant(const char *mode, const char *program, char *out, size_t outlen)
{
	const char *v = getenv("SPLITCKPT_LOWER_HALF");
	if (v && *v) {
		snprintf(out, outlen, "%s", v);
		return;
	}
	char buf[PATH_MAX];
	const char *path = NULL;
	if (program && mode && !strcmp(mode, "--launch"))
		path = search_path(program, buf, sizeof buf);
	else if (program && mode && !strcmp(mode, "--restore"))
		path = program; /* the image's program, as it was launched */
	if (path && needs_mpi_lib(path)) {
		const char *mpi = getenv("SPLITCKPT_MPI");
		snprintf(out, outlen, "%s",
			 mpi && *mpi		 ? mpi
			 : launched_by_openmpi() ? "openmpi"
						 : "mpich");
		return;
	}
	snprintf(out, outlen, "serial");
}
