#!/usr/bin/env python3
# Compares what zerofilter pushed downstream (OUT) with what it was sent
# (REF, the same stream teed off before it), for gst-filter.sh.
#
# usage: gst-filter-compare.py REF OUT STRIDE ROW_BYTES ROWS
#
# Both files are raw frames of STRIDE * ROWS bytes; only the first
# ROW_BYTES of each row are compared (the rest is the stride's padding,
# which travels nowhere: the wire is tightly packed).  Every OUT frame
# must be the inversion (255 - b) of a REF frame, and of a later one than
# the OUT frame before it: order is kept, frames may be missing.  Prints
# one line
#   compare: ref=N out=M distinct=D matched=K gaps=none|START+LEN,...
# where gaps lists the runs of REF frames with no answer (START is the
# index of the first one), and exits 1 when an OUT frame matched nothing
# (then also prints which).
import hashlib
import sys

INVERT = bytes(255 - i for i in range(256))


def frames(path, stride, row_bytes, rows):
    size = stride * rows
    with open(path, 'rb') as f:
        while True:
            data = f.read(size)
            if not data:
                return
            if len(data) != size:
                sys.exit(f'compare: {path} ends with a partial frame of '
                         f'{len(data)} bytes (frames are {size})')
            if stride != row_bytes:
                data = b''.join(data[r * stride:r * stride + row_bytes]
                                for r in range(rows))
            yield data


def main():
    if len(sys.argv) != 6:
        sys.exit('usage: gst-filter-compare.py REF OUT STRIDE ROW_BYTES ROWS')
    ref_path, out_path = sys.argv[1], sys.argv[2]
    stride, row_bytes, rows = (int(a) for a in sys.argv[3:6])
    if row_bytes > stride or row_bytes <= 0 or rows <= 0:
        sys.exit('compare: bad geometry')

    want = [hashlib.sha1(f.translate(INVERT)).digest()
            for f in frames(ref_path, stride, row_bytes, rows)]
    matched = []
    j = 0
    for i, f in enumerate(frames(out_path, stride, row_bytes, rows)):
        h = hashlib.sha1(f).digest()
        k = j
        while k < len(want) and want[k] != h:
            k += 1
        if k == len(want):
            what = 'an earlier one' if h in want[:j] else 'none'
            print(f'compare: output frame {i} is not the inversion of any '
                  f'input frame after input frame {j - 1} (it matches '
                  f'{what})')
            print(f'compare: ref={len(want)} out={i + 1} '
                  f'distinct={len(set(want))} matched={len(matched)} '
                  f'gaps=unknown')
            return 1
        matched.append(k)
        j = k + 1

    gaps = []
    prev = -1
    for k in matched + [len(want)]:
        if k > prev + 1:
            gaps.append(f'{prev + 1}+{k - prev - 1}')
        prev = k
    print(f'compare: ref={len(want)} out={len(matched)} '
          f'distinct={len(set(want))} matched={len(matched)} '
          f'gaps={",".join(gaps) or "none"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
