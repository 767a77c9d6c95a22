package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// maxIDXBytes bounds the body an IDX file may declare: 2³⁰ bytes (1 GiB),
// 20 times MNIST's training images. A header claiming more is rejected
// before anything is allocated.
const maxIDXBytes = 1 << 30

// idxError is an error in an IDX file: the file, the byte offset at which
// the problem was found (in the decompressed stream for a gzip file) and
// what is wrong there.
func idxError(name string, gz bool, off int64, format string, args ...any) error {
	where := ""
	if gz {
		where = " of the decompressed data"
	}
	return fmt.Errorf("%s: offset %d%s: %s", name, off, where, fmt.Sprintf(format, args...))
}

// readIDXFile opens path and decodes it with decodeIDX.
func readIDXFile(path string, wantDims int) (dims []int, body []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return decodeIDX(path, f, wantDims)
}

// decodeIDX reads an IDX file of unsigned bytes (type code 0x08) with
// wantDims dimensions from r, raw or gzip-compressed (recognised by the
// gzip magic 1f 8b), and returns its dimensions and its body of
// dims[0]·…·dims[wantDims−1] bytes in row-major order. name is the file's
// name for the errors, which give the byte offset of the problem: a bad
// magic number, a wrong dimension count, a declared size over
// maxIDXBytes, a body shorter or longer than declared, or corrupt gzip
// data. The body is read in growing chunks, so a header that claims more
// than the file holds costs no more memory than the file.
func decodeIDX(name string, r io.Reader, wantDims int) (dims []int, body []byte, err error) {
	br := bufio.NewReader(r)
	var src io.Reader = br
	magic, _ := br.Peek(2)
	gz := len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
	if gz {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: offset 0: bad gzip header: %w", name, err)
		}
		defer zr.Close()
		src = zr
	}
	var head [4]byte
	if n, err := io.ReadFull(src, head[:]); err != nil {
		return nil, nil, idxError(name, gz, int64(n), "truncated header: %d of 4 magic bytes (%v)", n, err)
	}
	if head[0] != 0 || head[1] != 0 || head[2] != 0x08 {
		return nil, nil, idxError(name, gz, 0, "bad magic % x, want 00 00 08 %02x (an IDX file of unsigned bytes with %d dimensions)", head[:], wantDims, wantDims)
	}
	if int(head[3]) != wantDims {
		return nil, nil, idxError(name, gz, 3, "%d dimensions, want %d", head[3], wantDims)
	}
	size := make([]byte, 4*wantDims)
	if n, err := io.ReadFull(src, size); err != nil {
		return nil, nil, idxError(name, gz, int64(4+n), "truncated header: %d of %d dimension bytes (%v)", n, len(size), err)
	}
	dims = make([]int, wantDims)
	total := int64(1)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(size[4*i:]))
		total *= int64(dims[i])
		if total > maxIDXBytes {
			return nil, nil, idxError(name, gz, int64(4+4*i), "dimensions %v claim more than %d bytes", dims[:i+1], maxIDXBytes)
		}
	}
	headLen := int64(4 + 4*wantDims)
	// ReadAll grows its buffer as data arrives; the limit stops one byte
	// past the declared body, to notice trailing data.
	body, err = io.ReadAll(io.LimitReader(src, total+1))
	switch {
	case err != nil && !(errors.Is(err, io.ErrUnexpectedEOF) && int64(len(body)) < total):
		// Corrupt compressed data, a bad checksum, or a gzip stream cut
		// after the body's last byte.
		return nil, nil, idxError(name, gz, headLen+int64(len(body)), "reading the body: %v", err)
	case int64(len(body)) < total:
		return nil, nil, idxError(name, gz, headLen+int64(len(body)), "truncated body: the header (dimensions %v) declares %d bytes, the file ends after %d", dims, total, len(body))
	case int64(len(body)) > total:
		return nil, nil, idxError(name, gz, headLen+total, "size mismatch: data past the %d bytes that the header (dimensions %v) declares", total, dims)
	}
	return dims, body[:total:total], nil
}
