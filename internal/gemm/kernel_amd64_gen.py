"""Writes kernel_amd64.s, the assembly kernels of this package, from one
template per kernel (go generate runs it: see kernel_amd64.go).

The micro-kernels keep an mr×nr tile of C in vector registers, in row order,
two registers a row, and add one rank-1 update of packed A (mr values) and B
(nr values) per step of k: VBROADCASTS* and VFMADD231P* in AVX2, embedded
broadcasts in AVX-512. The matrix–vector kernels are described in kernel.go;
their pure-Go references, which sum in the same order, in kernel_go.go.
"""
out = []
w = out.append
w('// Micro-kernels (GEMM) and matrix–vector kernels (GEMV) in AVX2 and\n// AVX-512 with FMA; kernel_go.go has their pure-Go references.\n')
w('#include "textflag.h"\n')

def micro(name, mr, nregs, lanes, size, avx512, suf):
    # acc register j of row i: (i*nregs + j)
    R = 'Z' if avx512 else 'Y'
    mov = 'VMOVUP' + suf
    nr = nregs*lanes
    b0 = mr*nregs

    def step(u):
        """One rank-1 update, at step u of an unrolled group."""
        ao, bo = u*mr*size, u*nr*size
        # AVX-512 has registers to spare: each step of a group its own B.
        bb = b0 + (nregs*u if avx512 else 0)
        for j in range(nregs):
            w(f'\t{mov} {bo + j*lanes*size}(DI), {R}{bb+j}')
        for i in range(mr):
            if avx512:
                for j in range(nregs):
                    w(f'\tVFMADD231P{suf}.BCST {ao + i*size}(SI), {R}{bb+j}, {R}{i*nregs+j}')
            else:
                bc = b0 + nregs + (i % 2)
                w(f'\tVBROADCASTS{suf} {ao + i*size}(SI), {R}{bc}')
                for j in range(nregs):
                    w(f'\tVFMADD231P{suf} {R}{b0+j}, {R}{bc}, {R}{i*nregs+j}')
    w(f'// func {name}(k int, a, b, c *float{size*8}, ldc int, load bool)')
    w(f'// C[{mr}×{nr}] = (load ? C : 0) + A·B over k, A packed {mr} per k, B packed')
    w(f'// {nr} per k.')
    w(f'TEXT ·{name}(SB), NOSPLIT, $0-41')
    w('\tMOVQ k+0(FP), CX\n\tMOVQ a+8(FP), SI\n\tMOVQ b+16(FP), DI\n\tMOVQ c+24(FP), DX\n\tMOVQ ldc+32(FP), R8')
    w(f'\tSHLQ ${ {4:2,8:3}[size] }, R8')
    w('\tMOVBLZX load+40(FP), R10\n\tTESTL R10, R10\n\tJNE loadc')
    for i in range(mr):
        for j in range(nregs):
            r = f'{R}{i*nregs+j}'
            w(f'\t{"VPXORD" if avx512 else "VXORP" + suf} {r}, {r}, {r}')
    w('\tJMP start')
    w('loadc:')
    w('\tMOVQ DX, R9')
    for i in range(mr):
        for j in range(nregs):
            w(f'\t{mov} {j*lanes*size}(R9), {R}{i*nregs+j}')
        if i < mr-1: w('\tADDQ R8, R9')
    w('start:')
    # k four steps at a time, then one by one; each accumulator still sees
    # its fma chain in k order.
    w('\tMOVQ CX, BX\n\tSHRQ $2, BX\n\tJE rest')
    w('loop4:')
    for u in range(4):
        step(u)
    w(f'\tADDQ ${4*mr*size}, SI\n\tADDQ ${4*nr*size}, DI\n\tDECQ BX\n\tJNE loop4')
    w('rest:')
    w('\tANDQ $3, CX\n\tJE store')
    w('loop1:')
    step(0)
    w(f'\tADDQ ${mr*size}, SI\n\tADDQ ${nr*size}, DI\n\tDECQ CX\n\tJNE loop1')
    w('store:')
    w('\tMOVQ DX, R9')
    for i in range(mr):
        for j in range(nregs):
            w(f'\t{mov} {R}{i*nregs+j}, {j*lanes*size}(R9)')
        if i < mr-1: w('\tADDQ R8, R9')
    w('\tVZEROUPPER\n\tRET\n')

micro('microAVX2S', 6, 2, 8, 4, False, 'S')
micro('microAVX2D', 6, 2, 4, 8, False, 'D')
micro('microAVX512S', 8, 2, 16, 4, True, 'S')
micro('microAVX512D', 8, 2, 8, 8, True, 'D')

def dot4(name, size, suf):
    lanes = 32//size
    step = 2*lanes
    sh = {4:2,8:3}[size]
    w(f'// func {name}(groups, n int, a *float{size*8}, lda int, x, y *float{size*8})')
    w(f'// y[r] = Σ_j a[r·lda+j]·x[j] for r < 4·groups, four rows at a time: {step}')
    w('// columns at a time in two vector accumulators per row, then the rest one')
    w('// by one.')
    w(f'TEXT ·{name}(SB), NOSPLIT, $0-48')
    w('\tMOVQ groups+0(FP), R11\n\tMOVQ a+16(FP), R12\n\tMOVQ lda+24(FP), R8\n\tMOVQ y+40(FP), DX')
    w(f'\tSHLQ ${sh}, R8')
    w('\tLEAQ (R8)(R8*1), R13')
    w('\tADDQ R13, R13')
    w('group:')
    w('\tMOVQ n+8(FP), CX\n\tMOVQ x+32(FP), DI\n\tMOVQ R12, SI')
    w('\tLEAQ (SI)(R8*2), R10')
    for r in range(8): w(f'\tVXORP{suf} Y{r}, Y{r}, Y{r}')
    for r in range(4): w(f'\tVXORP{suf} Y{8+r}, Y{8+r}, Y{8+r}')
    w('\tMOVQ CX, BX')
    w(f'\tSHRQ ${ {4:4,8:3}[size] }, BX')
    w('\tJE tail')
    w('loop:')
    rows = ['(SI)', '(SI)(R8*1)', '(R10)', '(R10)(R8*1)']
    w(f'\tVMOVUP{suf} (DI), Y12\n\tVMOVUP{suf} 32(DI), Y13')
    for r in range(4):
        base = rows[r]
        w(f'\tVFMADD231P{suf} {base}, Y12, Y{2*r}')
        off = base.replace('(', '32(', 1)
        w(f'\tVFMADD231P{suf} {off}, Y13, Y{2*r+1}')
    w(f'\tADDQ ${step*size}, SI\n\tADDQ ${step*size}, R10\n\tADDQ ${step*size}, DI\n\tDECQ BX\n\tJNE loop')
    w('tail:')
    w(f'\tANDQ ${step-1}, CX\n\tJE reduce')
    w('tailloop:')
    w(f'\tVMOVS{suf} (DI), X12')
    for r in range(4):
        w(f'\tVFMADD231S{suf} {rows[r]}, X12, X{8+r}')
    w(f'\tADDQ ${size}, SI\n\tADDQ ${size}, R10\n\tADDQ ${size}, DI\n\tDECQ CX\n\tJNE tailloop')
    w('reduce:')
    for r in range(4):
        a, b = 2*r, 2*r+1
        w(f'\tVADDP{suf} Y{b}, Y{a}, Y{a}')
        w(f'\tVEXTRACTF128 $1, Y{a}, X13')
        w(f'\tVADDP{suf} X13, X{a}, X{a}')
        w(f'\tVHADDP{suf} X{a}, X{a}, X{a}')
        if size == 4: w(f'\tVHADDP{suf} X{a}, X{a}, X{a}')
        w(f'\tVADDS{suf} X{8+r}, X{a}, X{a}')
        w(f'\tVMOVS{suf} X{a}, {r*size}(DX)')
    w(f'\tADDQ R13, R12\n\tADDQ ${4*size}, DX\n\tDECQ R11\n\tJNE group')
    w('\tVZEROUPPER\n\tRET\n')

def axpy4(name, size, suf):
    lanes = 32//size
    step = 2*lanes
    sh = {4:2,8:3}[size]
    w(f'// func {name}(groups, n int, a *float{size*8}, lda int, s, y *float{size*8})')
    w('// y[j] += s[0]·a[j] + s[1]·a[lda+j] + … for the 4·groups rows at a, one')
    w('// fma after the other in row order.')
    w(f'TEXT ·{name}(SB), NOSPLIT, $0-48')
    w('\tMOVQ groups+0(FP), R11\n\tMOVQ a+16(FP), R12\n\tMOVQ lda+24(FP), R8\n\tMOVQ s+32(FP), AX')
    w(f'\tSHLQ ${sh}, R8')
    w('\tLEAQ (R8)(R8*1), R13')
    w('\tADDQ R13, R13')
    w('group:')
    w('\tMOVQ n+8(FP), CX\n\tMOVQ y+40(FP), DI\n\tMOVQ R12, SI')
    w('\tLEAQ (SI)(R8*2), R10')
    for r in range(4): w(f'\tVBROADCASTS{suf} {r*size}(AX), Y{12+r}')
    w('\tMOVQ CX, BX')
    w(f'\tSHRQ ${ {4:4,8:3}[size] }, BX')
    w('\tJE tail')
    rows = ['(SI)', '(SI)(R8*1)', '(R10)', '(R10)(R8*1)']
    w('loop:')
    w(f'\tVMOVUP{suf} (DI), Y0\n\tVMOVUP{suf} 32(DI), Y1')
    for r in range(4):
        w(f'\tVFMADD231P{suf} {rows[r]}, Y{12+r}, Y0')
        w(f'\tVFMADD231P{suf} {rows[r].replace("(", "32(", 1)}, Y{12+r}, Y1')
    w(f'\tVMOVUP{suf} Y0, (DI)\n\tVMOVUP{suf} Y1, 32(DI)')
    w(f'\tADDQ ${step*size}, SI\n\tADDQ ${step*size}, R10\n\tADDQ ${step*size}, DI\n\tDECQ BX\n\tJNE loop')
    w('tail:')
    w(f'\tANDQ ${step-1}, CX\n\tJE next')
    w('tailloop:')
    w(f'\tVMOVS{suf} (DI), X0')
    for r in range(4):
        w(f'\tVFMADD231S{suf} {rows[r]}, X{12+r}, X0')
    w(f'\tVMOVS{suf} X0, (DI)')
    w(f'\tADDQ ${size}, SI\n\tADDQ ${size}, R10\n\tADDQ ${size}, DI\n\tDECQ CX\n\tJNE tailloop')
    w('next:')
    w(f'\tADDQ R13, R12\n\tADDQ ${4*size}, AX\n\tDECQ R11\n\tJNE group')
    w('\tVZEROUPPER\n\tRET\n')

dot4('dot4AVX2S', 4, 'S')
dot4('dot4AVX2D', 8, 'D')
axpy4('axpy4AVX2S', 4, 'S')
axpy4('axpy4AVX2D', 8, 'D')

def axpy1(name, size, suf):
    lanes = 32//size
    step = 4*lanes
    w(f'// func {name}(n int, s float{size*8}, x, y *float{size*8})')
    w('// y[j] = fma(s, x[j], y[j]), as a row of axpy4 alone.')
    w(f'TEXT ·{name}(SB), NOSPLIT, $0-32')
    w(f'\tMOVQ n+0(FP), CX\n\tVBROADCASTS{suf} s+8(FP), Y12\n\tMOVQ x+16(FP), SI\n\tMOVQ y+24(FP), DI')
    w('\tMOVQ CX, BX')
    w(f'\tSHRQ ${ {4:5,8:4}[size] }, BX')
    w('\tJE tail')
    w('loop:')
    for r in range(4):
        w(f'\tVMOVUP{suf} {32*r}(DI), Y{r}')
    for r in range(4):
        w(f'\tVFMADD231P{suf} {32*r}(SI), Y12, Y{r}')
    for r in range(4):
        w(f'\tVMOVUP{suf} Y{r}, {32*r}(DI)')
    w(f'\tADDQ ${step*size}, SI\n\tADDQ ${step*size}, DI\n\tDECQ BX\n\tJNE loop')
    w('tail:')
    w(f'\tANDQ ${step-1}, CX\n\tJE done')
    w('tailloop:')
    w(f'\tVMOVS{suf} (DI), X0')
    w(f'\tVFMADD231S{suf} (SI), X12, X0')
    w(f'\tVMOVS{suf} X0, (DI)')
    w(f'\tADDQ ${size}, SI\n\tADDQ ${size}, DI\n\tDECQ CX\n\tJNE tailloop')
    w('done:')
    w('\tVZEROUPPER\n\tRET\n')

axpy1('axpy1AVX2S', 4, 'S')
axpy1('axpy1AVX2D', 8, 'D')
def dot1(name, size, suf):
    lanes = 32//size
    step = 2*lanes
    w(f'// func {name}(n int, a, x, y *float{size*8})')
    w('// *y = Σ_j a[j]·x[j], summed as one row of dot4.')
    w(f'TEXT ·{name}(SB), NOSPLIT, $0-32')
    w('\tMOVQ n+0(FP), CX\n\tMOVQ a+8(FP), SI\n\tMOVQ x+16(FP), DI\n\tMOVQ y+24(FP), DX')
    for r in (0, 1, 8):
        w(f'\tVXORP{suf} Y{r}, Y{r}, Y{r}')
    w('\tMOVQ CX, BX')
    w(f'\tSHRQ ${ {4:4,8:3}[size] }, BX')
    w('\tJE tail')
    w('loop:')
    w(f'\tVMOVUP{suf} (DI), Y12\n\tVMOVUP{suf} 32(DI), Y13')
    w(f'\tVFMADD231P{suf} (SI), Y12, Y0')
    w(f'\tVFMADD231P{suf} 32(SI), Y13, Y1')
    w(f'\tADDQ ${step*size}, SI\n\tADDQ ${step*size}, DI\n\tDECQ BX\n\tJNE loop')
    w('tail:')
    w(f'\tANDQ ${step-1}, CX\n\tJE reduce')
    w('tailloop:')
    w(f'\tVMOVS{suf} (DI), X12')
    w(f'\tVFMADD231S{suf} (SI), X12, X8')
    w(f'\tADDQ ${size}, SI\n\tADDQ ${size}, DI\n\tDECQ CX\n\tJNE tailloop')
    w('reduce:')
    w(f'\tVADDP{suf} Y1, Y0, Y0')
    w('\tVEXTRACTF128 $1, Y0, X13')
    w(f'\tVADDP{suf} X13, X0, X0')
    w(f'\tVHADDP{suf} X0, X0, X0')
    if size == 4: w(f'\tVHADDP{suf} X0, X0, X0')
    w(f'\tVADDS{suf} X8, X0, X0')
    w(f'\tVMOVS{suf} X0, (DX)')
    w('\tVZEROUPPER\n\tRET\n')

dot1('dot1AVX2S', 4, 'S')
dot1('dot1AVX2D', 8, 'D')

open('kernel_amd64.s', 'w').write('\n'.join(out))
