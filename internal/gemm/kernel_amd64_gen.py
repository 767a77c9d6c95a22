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

def rows512(name, size, suf, kind, vec, out, doc):
    """The frame of the AVX-512 matrix–vector kernels: rows of A eight at a
    time while two groups of four are left, then four, each over 512-bit
    columns and then one column at a time. vec is the argument of the
    vector the loop reads or updates (x or y, in DI), out that of the one
    advanced by a group's values (y or s); kind ('dot' or 'axpy') gives
    the body."""
    step = 64//size
    sh = {4:2,8:3}[size]
    dot = kind == 'dot'
    outReg, base4 = ('DX', 'AX') if dot else ('AX', 'DX')
    w(f'// func {name}(groups, n int, a *float{size*8}, lda int, {"x, y" if dot else "s, y"} *float{size*8})')
    for line in doc:
        w(f'// {line}')
    w(f'TEXT ·{name}(SB), NOSPLIT, $0-48')
    w(f'\tMOVQ groups+0(FP), R11\n\tMOVQ a+16(FP), R12\n\tMOVQ lda+24(FP), R8\n\tMOVQ {out}, {outReg}')
    w(f'\tSHLQ ${sh}, R8')
    w('\tLEAQ (R8)(R8*1), R13')
    w('\tADDQ R13, R13')
    for rows, label in ((8, 'eight'), (4, 'four')):
        w(f'{label}:')
        w(f'\tCMPQ R11, ${rows//4}\n\tJLT {"four" if rows == 8 else "done"}')
        w(f'\tMOVQ n+8(FP), CX\n\tMOVQ {vec}, DI\n\tMOVQ R12, SI')
        w('\tLEAQ (SI)(R8*2), R10')
        if rows == 8:
            w(f'\tLEAQ (SI)(R8*4), R9\n\tLEAQ (R10)(R8*4), {base4}')
        if dot:
            for r in range(rows): w(f'\tVPXORD Z{r}, Z{r}, Z{r}')
            for r in range(rows): w(f'\tVXORP{suf} Y{8+r}, Y{8+r}, Y{8+r}')
        else:
            for r in range(rows): w(f'\tVBROADCASTS{suf} {r*size}(AX), Z{16+r}')
        w('\tMOVQ CX, BX')
        w(f'\tSHRQ ${ {4:4,8:3}[size] }, BX')
        w(f'\tJE {label}tail')
        bases = ['(SI)', '(SI)(R8*1)', '(R10)', '(R10)(R8*1)', '(R9)', '(R9)(R8*1)', f'({base4})', f'({base4})(R8*1)'][:rows]
        regs = ['SI', 'R10'] + (['R9', base4] if rows == 8 else [])
        end = f'{label}{"reduce" if dot else "next"}'
        w(f'{label}loop:')
        if dot:
            w(f'\tVMOVUP{suf} (DI), Z16')
            for r in range(rows):
                w(f'\tVFMADD231P{suf} {bases[r]}, Z16, Z{r}')
        else:
            w(f'\tVMOVUP{suf} (DI), Z0')
            for r in range(rows):
                w(f'\tVFMADD231P{suf} {bases[r]}, Z{16+r}, Z0')
            w(f'\tVMOVUP{suf} Z0, (DI)')
        for reg in regs + ['DI']:
            w(f'\tADDQ ${step*size}, {reg}')
        w(f'\tDECQ BX\n\tJNE {label}loop')
        w(f'{label}tail:')
        w(f'\tANDQ ${step-1}, CX\n\tJE {end}')
        w(f'{label}tailloop:')
        if dot:
            w(f'\tVMOVS{suf} (DI), X16')
            for r in range(rows):
                w(f'\tVFMADD231S{suf} {bases[r]}, X16, X{8+r}')
        else:
            w(f'\tVMOVS{suf} (DI), X0')
            for r in range(rows):
                w(f'\tVFMADD231S{suf} {bases[r]}, X{16+r}, X0')
            w(f'\tVMOVS{suf} X0, (DI)')
        for reg in regs + ['DI']:
            w(f'\tADDQ ${size}, {reg}')
        w(f'\tDECQ CX\n\tJNE {label}tailloop')
        w(f'{end}:')
        if dot:
            for r in range(rows):
                w(f'\tVEXTRACTF64X4 $1, Z{r}, Y17')
                w(f'\tVADDP{suf} Z17, Z{r}, Z{r}')
                w(f'\tVEXTRACTF32X4 $1, Z{r}, X17')
                w(f'\tVADDP{suf} Z17, Z{r}, Z{r}')
                w(f'\tVHADDP{suf} X{r}, X{r}, X{r}')
                if size == 4: w(f'\tVHADDP{suf} X{r}, X{r}, X{r}')
                w(f'\tVADDS{suf} X{8+r}, X{r}, X{r}')
                w(f'\tVMOVS{suf} X{r}, {r*size}(DX)')
        w('\tADDQ R13, R12')
        if rows == 8:
            w('\tADDQ R13, R12')
        w(f'\tADDQ ${rows*size}, {outReg}\n\tSUBQ ${rows//4}, R11\n\tJMP {label}')
    w('done:')
    w('\tVZEROUPPER\n\tRET\n')

def dot4x512(name, size, suf):
    """dot4 in AVX-512: one 512-bit accumulator a row holds the lanes of
    the AVX2 kernel's two, so every lane sees the same fma chain and the
    reduction starts from the same sum of its halves: the same bits. Upper
    lanes a reduction step does not need are added too (512-bit adds need
    no AVX512VL) and ignored."""
    rows512(name, size, suf, 'dot', 'x+32(FP)', 'y+40(FP)',
            [f'dot4AVX2{suf} with one 512-bit accumulator a row for its two 256-bit ones,', 'eight rows at a time while it can.'])

def axpy4x512(name, size, suf):
    """axpy4 in AVX-512: 512 bits of y at a time, each element the same fma
    chain in row order."""
    rows512(name, size, suf, 'axpy', 'y+40(FP)', 's+32(FP)',
            [f'axpy4AVX2{suf} 512 bits at a time, eight rows a pass while it can.'])

dot4('dot4AVX2S', 4, 'S')
dot4('dot4AVX2D', 8, 'D')
axpy4('axpy4AVX2S', 4, 'S')
axpy4('axpy4AVX2D', 8, 'D')
dot4x512('dot4AVX512S', 4, 'S')
dot4x512('dot4AVX512D', 8, 'D')
axpy4x512('axpy4AVX512S', 4, 'S')
axpy4x512('axpy4AVX512D', 8, 'D')

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

def copyRows():
    w('// func copyRowsAVX2(rows, chunks int, src *byte, lds int, dst *byte, ldd int)')
    w('// Copies rows rows of chunks·32 bytes, from src at stride lds bytes to dst')
    w('// at stride ldd: packing a panel of a stored matrix.')
    w('TEXT ·copyRowsAVX2(SB), NOSPLIT, $0-48')
    w('\tMOVQ rows+0(FP), CX\n\tMOVQ chunks+8(FP), R11\n\tMOVQ src+16(FP), SI')
    w('\tMOVQ lds+24(FP), R8\n\tMOVQ dst+32(FP), DI\n\tMOVQ ldd+40(FP), R9')
    w('\tTESTQ CX, CX\n\tJE done')
    w('row:')
    w('\tMOVQ SI, AX\n\tMOVQ DI, DX\n\tMOVQ R11, BX')
    w('chunk:')
    w('\tVMOVUPS (AX), Y0\n\tVMOVUPS Y0, (DX)\n\tADDQ $32, AX\n\tADDQ $32, DX\n\tDECQ BX\n\tJNE chunk')
    w('\tADDQ R8, SI\n\tADDQ R9, DI\n\tDECQ CX\n\tJNE row')
    w('done:')
    w('\tVZEROUPPER\n\tRET\n')

copyRows()

def copyRowsAt():
    w('// func copyRowsAtAVX2(rows, chunks int, base *byte, offs *int, size int, dst *byte, ldd int)')
    w('// copyRowsAVX2 with row l at base + offs[l]·size bytes.')
    w('TEXT ·copyRowsAtAVX2(SB), NOSPLIT, $0-56')
    w('\tMOVQ rows+0(FP), CX\n\tMOVQ chunks+8(FP), R11\n\tMOVQ base+16(FP), SI')
    w('\tMOVQ offs+24(FP), R10\n\tMOVQ size+32(FP), R12\n\tMOVQ dst+40(FP), DI\n\tMOVQ ldd+48(FP), R9')
    w('\tTESTQ CX, CX\n\tJE done')
    w('row:')
    w('\tMOVQ (R10), AX\n\tIMULQ R12, AX\n\tADDQ SI, AX\n\tMOVQ DI, DX\n\tMOVQ R11, BX')
    w('chunk:')
    w('\tVMOVUPS (AX), Y0\n\tVMOVUPS Y0, (DX)\n\tADDQ $32, AX\n\tADDQ $32, DX\n\tDECQ BX\n\tJNE chunk')
    w('\tADDQ $8, R10\n\tADDQ R9, DI\n\tDECQ CX\n\tJNE row')
    w('done:')
    w('\tVZEROUPPER\n\tRET\n')

copyRowsAt()

def fmaPeak():
    w('// func fmaPeakAVX2(rounds int, acc *[96]float32, m, a float32)')
    w('// rounds of acc ← m·acc + a in 12 registers of 8 lanes: 12 independent')
    w('// FMAs a round, more than two FMA units of latency 4 keep in flight.')
    w('TEXT ·fmaPeakAVX2(SB), NOSPLIT, $0-24')
    w('\tMOVQ rounds+0(FP), CX\n\tMOVQ acc+8(FP), SI')
    w('\tVBROADCASTSS m+16(FP), Y12\n\tVBROADCASTSS a+20(FP), Y13')
    for i in range(12):
        w(f'\tVMOVUPS {32*i}(SI), Y{i}')
    w('\tTESTQ CX, CX\n\tJE done')
    w('loop:')
    for i in range(12):
        w(f'\tVFMADD213PS Y13, Y12, Y{i}')
    w('\tDECQ CX\n\tJNE loop')
    w('done:')
    for i in range(12):
        w(f'\tVMOVUPS Y{i}, {32*i}(SI)')
    w('\tVZEROUPPER\n\tRET\n')

fmaPeak()

def transpose(name, size, suf, at=False):
    """dst[l·ldd+r] = src[r·lds+l] in blocks of b×b (b = 32/size lanes)."""
    b = 32//size
    sh = {4:2,8:3}[size]
    if at:
        w(f'// func {name}(rowBlocks, depthBlocks int, base *float{size*8}, offs *int, dst *float{size*8}, ldd int)')
        w(f'// {name.replace("At", "")} with row r at base + offs[r] (in elements).')
        w(f'TEXT ·{name}(SB), NOSPLIT, $0-48')
        w('\tMOVQ rowBlocks+0(FP), R12\n\tMOVQ offs+24(FP), R13\n\tMOVQ dst+32(FP), R14\n\tMOVQ ldd+40(FP), R9')
        w(f'\tSHLQ ${sh}, R9')
    else:
        w(f'// func {name}(rowBlocks, depthBlocks int, src *float{size*8}, lds int, dst *float{size*8}, ldd int)')
        w(f'// dst[l·ldd+r] = src[r·lds+l] for r < {b}·rowBlocks and l < {b}·depthBlocks,')
        w(f'// one {b}×{b} block in registers at a time: the transposing packing of a panel.')
        w(f'TEXT ·{name}(SB), NOSPLIT, $0-48')
        w('\tMOVQ rowBlocks+0(FP), R12\n\tMOVQ src+16(FP), R13\n\tMOVQ lds+24(FP), R8\n\tMOVQ dst+32(FP), R14\n\tMOVQ ldd+40(FP), R9')
        w(f'\tSHLQ ${sh}, R8\n\tSHLQ ${sh}, R9')
    w('\tTESTQ R12, R12\n\tJE done')
    w('\tMOVQ depthBlocks+8(FP), R10\n\tTESTQ R10, R10\n\tJE done')
    w('rowblock:')
    w('\tMOVQ depthBlocks+8(FP), CX\n\tMOVQ R14, DI')
    w('\tMOVQ base+16(FP), SI' if at else '\tMOVQ R13, SI')
    w('block:')
    # Load b rows of b values.
    if at:
        for i in range(b):
            w(f'\tMOVQ {8*i}(R13), AX\n\tVMOVUP{suf} (SI)(AX*{size}), Y{i}')
    else:
        w('\tMOVQ SI, AX')
        for i in range(b):
            w(f'\tVMOVUP{suf} (AX), Y{i}')
            if i < b-1: w('\tADDQ R8, AX')
    if size == 4:
        for i in range(0, 8, 2):
            w(f'\tVUNPCKLPS Y{i+1}, Y{i}, Y{8+i}')
            w(f'\tVUNPCKHPS Y{i+1}, Y{i}, Y{9+i}')
        # Y8..Y15: t0..t7
        for q, (x, y) in enumerate([(8, 10), (12, 14)]):
            base = 4*q
            w(f'\tVSHUFPS $0x44, Y{y}, Y{x}, Y{base}')
            w(f'\tVSHUFPS $0xEE, Y{y}, Y{x}, Y{base+1}')
            w(f'\tVSHUFPS $0x44, Y{y+1}, Y{x+1}, Y{base+2}')
            w(f'\tVSHUFPS $0xEE, Y{y+1}, Y{x+1}, Y{base+3}')
        # Y0..Y3 from rows 0-3, Y4..Y7 from rows 4-7: column c of the block
        # is lane c%4 group, halves c<4 low.
        for c in range(4):
            w(f'\tVPERM2F128 $0x20, Y{4+c}, Y{c}, Y{8+c}')
            w(f'\tVPERM2F128 $0x31, Y{4+c}, Y{c}, Y{12+c}')
        outs = [8, 9, 10, 11, 12, 13, 14, 15]
    else:
        w('\tVUNPCKLPD Y1, Y0, Y4\n\tVUNPCKHPD Y1, Y0, Y5\n\tVUNPCKLPD Y3, Y2, Y6\n\tVUNPCKHPD Y3, Y2, Y7')
        w('\tVPERM2F128 $0x20, Y6, Y4, Y8\n\tVPERM2F128 $0x20, Y7, Y5, Y9\n\tVPERM2F128 $0x31, Y6, Y4, Y10\n\tVPERM2F128 $0x31, Y7, Y5, Y11')
        outs = [8, 9, 10, 11]
    w('\tMOVQ DI, DX')
    for c, r in enumerate(outs):
        w(f'\tVMOVUP{suf} Y{r}, (DX)')
        if c < b-1: w('\tADDQ R9, DX')
    w(f'\tADDQ ${b*size}, SI')
    w(f'\tLEAQ (DX)(R9*1), DI')
    w('\tDECQ CX\n\tJNE block')
    # Next block of rows: src b rows on, dst b values on.
    w(f'\tADDQ ${8*b}, R13' if at else f'\tLEAQ (R13)(R8*{b}), R13')
    w(f'\tADDQ ${b*size}, R14')
    w('\tDECQ R12\n\tJNE rowblock')
    w('done:')
    w('\tVZEROUPPER\n\tRET\n')

transpose('transposeAVX2S', 4, 'S')
transpose('transposeAVX2D', 8, 'D')
transpose('transposeAtAVX2S', 4, 'S', at=True)
transpose('transposeAtAVX2D', 8, 'D', at=True)

open('kernel_amd64.s', 'w').write('\n'.join(out))
