/* Resuming contexts saved by the upper half's sc_ctx_save (struct sc_ctx in lh_abi.h):
 * sc_ctx_jump continues one on the calling thread; sc_clone_resume creates a thread (raw clone,
 * so the child needs no libc) that starts directly in one. Both make sc_ctx_save return 1. */
	.text
	.globl	sc_ctx_jump
	.type	sc_ctx_jump, @function
/* void sc_ctx_jump(const struct sc_ctx *ctx)  -- never returns */
sc_ctx_jump:
	endbr64
	movq	%rdi, %r9
	jmp	.Lload

	.globl	sc_clone_resume
	.type	sc_clone_resume, @function
/* long sc_clone_resume(unsigned long flags, const struct sc_ctx *ctx, int *ptid, int *ctid,
 *                      unsigned long tls)   -- returns the child's tid or -errno */
sc_clone_resume:
	endbr64
	movq	%rsi, %r9		/* kept by the kernel across syscall, for the child */
	movq	%rcx, %r10		/* clone(flags, newsp, ptid, ctid, tls) */
	movq	48(%rsi), %rsi		/* the child starts on the saved stack pointer */
	movl	$56, %eax		/* SYS_clone */
	syscall
	testq	%rax, %rax
	jz	.Lload
	ret
.Lload:
	movq	0(%r9), %rbx
	movq	8(%r9), %rbp
	movq	16(%r9), %r12
	movq	24(%r9), %r13
	movq	32(%r9), %r14
	movq	40(%r9), %r15
	movq	48(%r9), %rsp
	movl	$1, %eax
	jmpq	*56(%r9)
	.size	sc_clone_resume, .-sc_clone_resume
	.size	sc_ctx_jump, .-sc_ctx_jump
	.section .note.GNU-stack,"",@progbits
