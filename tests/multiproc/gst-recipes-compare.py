#!/usr/bin/env python3
# Compares the frames a reader got (OUT) with the frames the source made
# (REF), for gst-recipes.sh.  Both files hold one frame per line, its SHA-1
# last (what checksumsink prints: "PTS SHA1"); other words are ignored.
#
# usage: gst-recipes-compare.py MODE REF OUT
#
# MODE says what OUT must be:
#   exact   every REF frame, in order, nothing else
#   prefix  the first len(OUT) REF frames, in order (a reader that stopped
#           early, nothing missing before that)
#   subseq  REF frames in order, some may be missing (a leaky queue): each
#           OUT frame is a REF frame later than the one before it
#   lossy   as subseq, but OUT may also hold damaged frames that match no
#           REF frame (rtpvrawdepay pushes a frame some of whose packets
#           were lost, the missing parts left from an older frame); each
#           must stand in for a missing REF frame: between two good frames
#           there are no more damaged ones than REF frames missing there
# Prints one line
#   compare: ref=N out=M distinct=D good=G damaged=X lost=L
#            gaps=none|START+LEN,...
# (lost: REF frames with no good copy in OUT; gaps: runs of them, START
# the index of the first; a missing tail counts except for prefix) and
# exits 1, after a line saying which frame is wrong, when OUT is not what
# MODE asks.
import sys


def sums(path):
    with open(path) as f:
        return [line.split()[-1] for line in f if line.strip()]


def main():
    modes = ('exact', 'prefix', 'subseq', 'lossy')
    if len(sys.argv) != 4 or sys.argv[1] not in modes:
        sys.exit('usage: gst-recipes-compare.py exact|prefix|subseq|lossy '
                 'REF OUT')
    mode = sys.argv[1]
    ref, out = sums(sys.argv[2]), sums(sys.argv[3])
    index = {}
    for k, h in enumerate(ref):
        index.setdefault(h, []).append(k)

    matched = []
    damaged = 0
    pending = 0     # damaged frames since the last good one
    j = 0           # the REF frame the next good one may be, at the earliest
    bad = None
    for i, h in enumerate(out):
        later = [k for k in index.get(h, []) if k >= j]
        if mode in ('exact', 'prefix'):
            ok = j < len(ref) and ref[j] == h
            k = j
        else:
            ok = bool(later)
            k = later[0] if later else None
        if not ok and mode == 'lossy' and h not in index:
            damaged += 1
            pending += 1
            if pending > len(ref) - j:
                bad = (f'compare: output frame {i} is damaged and no source '
                       f'frame is missing for it to stand in for')
                break
            continue
        if not ok:
            where = ('an earlier one' if any(k < j for k in index.get(h, []))
                     else 'a later one' if later else 'none')
            bad = (f'compare: output frame {i} is not source frame {j}'
                   + ('' if mode in ('exact', 'prefix') else ' or a later one')
                   + f' (it matches {where})')
            break
        if pending > k - j:
            bad = (f'compare: {pending} damaged frames before output frame '
                   f'{i} (source frame {k}), but only {k - j} source frames '
                   f'are missing there')
            break
        pending = 0
        matched.append(k)
        j = k + 1
    if bad is None and mode == 'exact' and len(out) != len(ref):
        bad = f'compare: {len(out)} frames out of {len(ref)}'

    end = j if mode == 'prefix' else len(ref)
    gaps = []
    prev = -1
    for k in matched + [end]:
        if k > prev + 1:
            gaps.append(f'{prev + 1}+{k - prev - 1}')
        prev = k
    if bad:
        print(bad)
    print(f'compare: ref={len(ref)} out={len(out)} distinct={len(set(ref))} '
          f'good={len(matched)} damaged={damaged} lost={end - len(matched)} '
          f'gaps={",".join(gaps) or "none"}')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
