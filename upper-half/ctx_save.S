/* sc_ctx_save: records the callee-saved registers, the stack pointer and the return address
 * of its caller in a struct sc_ctx (lower-half/lh_abi.h) and returns 0. When the lower half
 * later resumes that context (sc_ctx_jump, sc_clone_resume) the call returns again with 1, like
 * setjmp, but without glibc's pointer mangling so the other half can read the context. */
	.text
	.globl	sc_ctx_save
	.type	sc_ctx_save, @function
sc_ctx_save:
	endbr64
	movq	%rbx, 0(%rdi)
	movq	%rbp, 8(%rdi)
	movq	%r12, 16(%rdi)
	movq	%r13, 24(%rdi)
	movq	%r14, 32(%rdi)
	movq	%r15, 40(%rdi)
	leaq	8(%rsp), %rax		/* the caller's rsp once we have returned */
	movq	%rax, 48(%rdi)
	movq	(%rsp), %rax		/* the return address */
	movq	%rax, 56(%rdi)
	xorl	%eax, %eax
	ret
	.size	sc_ctx_save, .-sc_ctx_save
	.section .note.GNU-stack,"",@progbits
