// Element-wise float32 kernels of batch normalisation and the ReLU in
// AVX2 (elem_amd64.go); each computes what its pure-Go reference in
// elem.go does, operation for operation, so the results agree to the bit.

#include "textflag.h"

// func reluAVX2(n int, x, out *float32)
// out[i] = x[i]·[x[i] > 0] for i < n, n a multiple of 8.
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ out+16(FP), DI
	VXORPS Y15, Y15, Y15
	MOVL $0x3f800000, AX
	VMOVD AX, X14
	VBROADCASTSS X14, Y14
	SHRQ $3, CX
	JE relu_done
relu_loop:
	VMOVUPS (SI), Y0
	VCMPPS $0x0E, Y15, Y0, Y1
	VANDPS Y14, Y1, Y1
	VMULPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE relu_loop
relu_done:
	VZEROUPPER
	RET

// func reluMaskAVX2(n int, x, grad, out *float32, geq bool)
// out[i] = grad[i]·[x[i] > 0], or ·[x[i] ≥ 0] if geq, for i < n, n a
// multiple of 8.
TEXT ·reluMaskAVX2(SB), NOSPLIT, $0-33
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ grad+16(FP), DX
	MOVQ out+24(FP), DI
	MOVBLZX geq+32(FP), R8
	VXORPS Y15, Y15, Y15
	MOVL $0x3f800000, AX
	VMOVD AX, X14
	VBROADCASTSS X14, Y14
	SHRQ $3, CX
	JE mask_done
mask_loop:
	VMOVUPS (SI), Y0
	TESTL R8, R8
	JNE mask_geq
	VCMPPS $0x0E, Y15, Y0, Y1
	JMP mask_and
mask_geq:
	VCMPPS $0x0D, Y15, Y0, Y1
mask_and:
	VANDPS Y14, Y1, Y1
	VMULPS (DX), Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNE mask_loop
mask_done:
	VZEROUPPER
	RET

// func bnAffineAVX2(n int, x, out *float32, mu, a, b float32)
// out[i] = (x[i]−mu)·a + b for i < n, n a multiple of 8.
TEXT ·bnAffineAVX2(SB), NOSPLIT, $0-36
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ out+16(FP), DI
	VBROADCASTSS mu+24(FP), Y13
	VBROADCASTSS a+28(FP), Y12
	VBROADCASTSS b+32(FP), Y11
	SHRQ $3, CX
	JE affine_done
affine_loop:
	VMOVUPS (SI), Y0
	VSUBPS Y13, Y0, Y0
	VMULPS Y12, Y0, Y0
	VADDPS Y11, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE affine_loop
affine_done:
	VZEROUPPER
	RET

// func bnGradAVX2(n int, x, grad, out *float32, a, b, c float32)
// out[i] = (a·grad[i] + b·x[i]) + c for i < n, n a multiple of 8.
TEXT ·bnGradAVX2(SB), NOSPLIT, $0-44
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ grad+16(FP), DX
	MOVQ out+24(FP), DI
	VBROADCASTSS a+32(FP), Y13
	VBROADCASTSS b+36(FP), Y12
	VBROADCASTSS c+40(FP), Y11
	SHRQ $3, CX
	JE grad_done
grad_loop:
	VMULPS (DX), Y13, Y0
	VMULPS (SI), Y12, Y1
	VADDPS Y1, Y0, Y0
	VADDPS Y11, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNE grad_loop
grad_done:
	VZEROUPPER
	RET

// func sum4AVX2(n int, x *float32, s *[4]float64)
// s[i%4] += float64(x[i]) for i < n in order, n a multiple of 4.
TEXT ·sum4AVX2(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ s+16(FP), DI
	VMOVUPD (DI), Y1
	SHRQ $2, CX
	JE sum_done
sum_loop:
	VCVTPS2PD (SI), Y0
	VADDPD Y0, Y1, Y1
	ADDQ $16, SI
	DECQ CX
	JNE sum_loop
sum_done:
	VMOVUPD Y1, (DI)
	VZEROUPPER
	RET

// func sqDev4AVX2(n int, x *float32, mu float64, s *[4]float64)
// s[i%4] += (float64(x[i])−mu)² for i < n in order, n a multiple of 4.
TEXT ·sqDev4AVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	VBROADCASTSD mu+16(FP), Y2
	MOVQ s+24(FP), DI
	VMOVUPD (DI), Y1
	SHRQ $2, CX
	JE sq_done
sq_loop:
	VCVTPS2PD (SI), Y0
	VSUBPD Y2, Y0, Y0
	VMULPD Y0, Y0, Y0
	VADDPD Y0, Y1, Y1
	ADDQ $16, SI
	DECQ CX
	JNE sq_loop
sq_done:
	VMOVUPD Y1, (DI)
	VZEROUPPER
	RET

// func sumDot4AVX2(n int, grad, x *float32, s *[8]float64)
// s[i%4] += float64(grad[i]) and s[4+i%4] += float64(grad[i])·float64(x[i])
// for i < n in order, n a multiple of 4.
TEXT ·sumDot4AVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ grad+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ s+24(FP), DI
	VMOVUPD (DI), Y1
	VMOVUPD 32(DI), Y2
	SHRQ $2, CX
	JE dot_done
dot_loop:
	VCVTPS2PD (SI), Y0
	VCVTPS2PD (DX), Y3
	VADDPD Y0, Y1, Y1
	VMULPD Y3, Y0, Y0
	VADDPD Y0, Y2, Y2
	ADDQ $16, SI
	ADDQ $16, DX
	DECQ CX
	JNE dot_loop
dot_done:
	VMOVUPD Y1, (DI)
	VMOVUPD Y2, 32(DI)
	VZEROUPPER
	RET

// func narrowAVX2(n int, x *float64, out *float32)
// out[i] = float32(x[i]) for i < n, n a multiple of 8: rounded to nearest
// as Go's conversion is.
TEXT ·narrowAVX2(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ out+16(FP), DI
	SHRQ $3, CX
	JE narrow_done
narrow_loop:
	VCVTPD2PSY (SI), X0
	VCVTPD2PSY 32(SI), X1
	VMOVUPS X0, (DI)
	VMOVUPS X1, 16(DI)
	ADDQ $64, SI
	ADDQ $32, DI
	DECQ CX
	JNE narrow_loop
narrow_done:
	VZEROUPPER
	RET
