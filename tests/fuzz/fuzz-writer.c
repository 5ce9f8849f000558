/* libFuzzer target: a real zb_writer against a fake, possibly hostile reader.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each input makes a buffer the way a reader does (shared memory a little
 * larger than the header claims, both semaphores, reader_pid = our pid),
 * optionally corrupts the header, connects a writer and then runs as a
 * program of writer calls and reader actions.  The fake reader reads and
 * gives space back like a correct reader until the input does anything
 * hostile; while it is honest the target checks the wire format the writer
 * produces (markers, no 1..15-byte tails, sequence numbers, payload bytes,
 * one sem-w post per frame) and that the writer never touches a byte the
 * reader still owns.  Always, after every library call:
 *  - every changed byte lies in the ring or metadata block as the header
 *    claimed at connect time, or in a writer-owned header word;
 *  - reserved payload pointers lie inside the writer's ring;
 *  - only documented status codes come back, and the ones whose condition
 *    is known (ETOOLARGE, EMETATOOLARGE, ...) come back exactly then.
 *
 * Input: one config byte (sizes; 0x80: compact placement with a window of
 * a quarter of the ring), one byte giving 0..3 header corruptions
 * done before the first connect, then ops; see the WR_* list.
 */
#include "fuzz-common.h"
#include "fuzz-ops.h"

#include <signal.h>
#include <sys/file.h>

#define MAX_Q 1024

typedef struct
{
  uint64_t seq, size;
  uint8_t fill;
} exp_frame;

static struct
{
  zb_writer *w;
  char name[64];
  int fd;
  uint8_t *base;
  size_t size;                  /* of the object: 128 + M + P + guard */
  uint64_t M, P;                /* what we wrote in the header at create */
  sem_t *sem_w, *sem_r;
  uint8_t *shadow;
  int rlock, wlock, removed;
  int lock_fd;                  /* the reader's lock file, if made */
  int lock_held;                /* and we flock it */
  uint64_t compact;             /* compact placement window, 0 = off */

  /* the writer of this connection */
  uint64_t cM, cP;              /* the header's claims when it connected */
  uintptr_t wbase;              /* its mapping */
  int gone, interrupted;
  uint64_t seq, frames;
  int reserved;
  uint8_t *res_ptr;
  size_t res_size;
  uint8_t res_fill;

  /* the fake reader: correct while honest */
  int honest, opened_once;
  uint64_t rpos, ret_pos, pend_sum;
  int rpos_after_frame;
  uint64_t pend[MAX_Q];
  int npend;
  exp_frame q[MAX_Q];
  int qhead, nq;
  long sem_w_expected;
} S;

/* ------------------------------------------------------------ helpers */

static void
snapshot (void)
{
  memcpy (S.shadow, S.base, S.size);
}

static uint64_t
used_before (uint64_t * start)
{
  *start = S.ret_pos;
  return S.cP - fz_get64 (S.shadow, OFF_PAYLOAD_FREE);
}

/* Is ring offset x inside the circular range [s, s + n)? */
static int
in_arc (uint64_t x, uint64_t s, uint64_t n)
{
  return ((x + S.cP - s) % S.cP) < n;
}

#define MAY_META 0x1            /* metadata block and its two header words */

/* What a writer call may have changed: writer-owned header words, the ring
 * as claimed (while honest: only bytes the reader does not own), the
 * metadata block for set_metadata; nothing else. */
static void
check_changes (int may)
{
  uint64_t ring0 = ZB_OIEB_SIZE + S.cM, s = 0, used = 0;
  size_t off;

  if (memcmp (S.shadow, S.base, S.size) == 0)
    return;
  if (S.honest)
    used = used_before (&s);
  for (off = 0; off < ZB_OIEB_SIZE; off += 8) {
    if (memcmp (S.shadow + off, S.base + off, 8) == 0)
      continue;
    FZ_CHECK (off == OFF_PAYLOAD_FREE || off == OFF_WRITE_POS
        || off == OFF_WRITTEN_COUNT || off == OFF_WRITER_PID
        || ((off == OFF_META_FREE || off == OFF_META_WRITTEN)
            && (may & MAY_META)));
  }
  for (off = ZB_OIEB_SIZE; off < S.size; off++) {
    if (S.shadow[off] == S.base[off])
      continue;
    if (off < ring0) {
      FZ_CHECK (may & MAY_META);
      continue;
    }
    FZ_CHECK (off < ring0 + S.cP);
    if (S.honest && used > 0)
      FZ_CHECK (!in_arc (off - ring0, s, used));
  }
}

/* A write_pos the writer stores is its own, always inside the ring. */
static void
check_write_pos (void)
{
  uint64_t wp = fz_get64 (S.base, OFF_WRITE_POS);

  if (wp != fz_get64 (S.shadow, OFF_WRITE_POS))
    FZ_CHECK (wp <= S.cP);
}

static void
check_sem_w (void)
{
  int v;

  if (!S.honest)
    return;
  FZ_CHECK (sem_getvalue (S.sem_w, &v) == 0);
  FZ_CHECK (v == S.sem_w_expected);
}

static void
expect_frame (uint64_t size, uint8_t fill)
{
  S.sem_w_expected++;
  if (!S.honest)
    return;
  FZ_CHECK (S.nq < MAX_Q);
  S.q[(S.qhead + S.nq) % MAX_Q].seq = S.seq;
  S.q[(S.qhead + S.nq) % MAX_Q].size = size;
  S.q[(S.qhead + S.nq) % MAX_Q].fill = fill;
  S.nq++;
}

static void
note_rc (int rc)
{
  if (rc == ZB_EREADERGONE)
    S.gone = 1;
}

static int
shm_exists (void)
{
  char path[128];

  snprintf (path, sizeof path, "/dev/shm/%s", S.name);
  return access (path, F_OK) == 0;
}

/* ----------------------------------------------------- the fake reader */

/* Read up to n frames as a correct reader does.  A stretch of published
 * bytes that is not a whole frame is allowed only while a reservation is
 * outstanding (its wrap tail goes out at reserve time). */
static void
fake_read (int n, int at_close)
{
  uint8_t *ring = S.base + ZB_OIEB_SIZE + S.cM;

  if (!S.honest)
    return;
  while (n-- > 0) {
    uint64_t free_bytes = fz_get64 (S.base, OFF_PAYLOAD_FREE), unread;
    uint64_t skip = 0, hpos = S.rpos, h[2], T, i;
    exp_frame *e;

    FZ_CHECK (free_bytes <= S.cP && free_bytes + S.pend_sum <= S.cP);
    unread = S.cP - free_bytes - S.pend_sum;
    if (unread == 0)
      return;
    if (S.cP - S.rpos < ZB_FRAME_HEADER_SIZE) {
      /* our writer never leaves such a tail after a frame (quirk 1) */
      FZ_CHECK (!S.rpos_after_frame);
      skip = S.cP - S.rpos;
      hpos = 0;
    } else if (unread >= ZB_FRAME_HEADER_SIZE) {
      memcpy (h, ring + S.rpos, sizeof h);
      if (h[0] == 0) {
        skip = S.cP - S.rpos;
        hpos = 0;
      }
    }
    if (unread < skip + ZB_FRAME_HEADER_SIZE) {
      if (!(S.reserved && !at_close) && !fz_known_bug ("dangling-tail"))
        fz_fail (__FILE__, __LINE__, "published bytes that are not a whole "
            "frame, with no reservation outstanding");
      return;
    }
    memcpy (h, ring + hpos, sizeof h);
    FZ_CHECK (h[0] > 0 && h[0] <= S.cP - hpos - ZB_FRAME_HEADER_SIZE);
    T = ZB_FRAME_HEADER_SIZE + h[0];
    FZ_CHECK (unread >= skip + T);
    FZ_CHECK (S.nq > 0);
    e = &S.q[S.qhead];
    FZ_CHECK (h[1] == e->seq && h[0] == e->size);
    for (i = 0; i < h[0]; i++)
      FZ_CHECK (ring[hpos + ZB_FRAME_HEADER_SIZE + i] == e->fill);
    FZ_TRACE ("fake read: seq %llu size %llu at %llu (skip %llu)\n",
        (unsigned long long) h[1], (unsigned long long) h[0],
        (unsigned long long) hpos, (unsigned long long) skip);
    S.qhead = (S.qhead + 1) % MAX_Q;
    S.nq--;
    FZ_CHECK (sem_trywait (S.sem_w) == 0);
    S.sem_w_expected--;
    FZ_CHECK (S.npend + 2 <= MAX_Q);
    if (skip)
      S.pend[S.npend++] = skip;
    S.pend[S.npend++] = T;
    S.pend_sum += skip + T;
    S.rpos = (hpos + T) % S.cP;
    S.rpos_after_frame = 1;
  }
}

/* Give back the n oldest entries, in ring order. */
static void
fake_release (int n)
{
  uint64_t sum = 0;
  int k = 0;

  if (!S.honest) {
    /* a reader that lost track: everything is free again */
    fz_put64 (S.base, OFF_PAYLOAD_FREE, S.cP ? S.cP : S.P);
    sem_post (S.sem_r);
    return;
  }
  while (k < n && k < S.npend)
    sum += S.pend[k++];
  if (k == 0)
    return;
  memmove (S.pend, S.pend + k, (size_t) (S.npend - k) * sizeof S.pend[0]);
  S.npend -= k;
  S.pend_sum -= sum;
  S.ret_pos = (S.ret_pos + sum) % S.cP;
  __atomic_fetch_add ((uint64_t *) (void *) (S.base + OFF_PAYLOAD_FREE), sum,
      __ATOMIC_RELEASE);
  sem_post (S.sem_r);
}

/* ---------------------------------------------------------- connect */

static void
writer_close (void)
{
  if (S.w == NULL)
    return;
  snapshot ();
  zb_writer_close (S.w);
  S.w = NULL;
  FZ_TRACE ("close\n");
  S.reserved = 0;
  check_changes (0);
  FZ_CHECK (fz_get64 (S.base, OFF_WRITER_PID) == 0);
  S.sem_w_expected++;           /* the close post (quirk 8) */
  /* Whatever it published must be readable to the end (EOS). */
  fake_read (MAX_Q, 1);
  check_sem_w ();
  S.interrupted = 0;
}

static int
writer_open (void)
{
  const uint8_t *o = S.base;
  uint32_t oieb_size;
  uint64_t M, P, wp, rpid, wpid, free_bytes;
  int rc, valid;

  writer_close ();
  snapshot ();
  memcpy (&oieb_size, o, 4);
  M = fz_get64 (o, OFF_META_SIZE);
  P = fz_get64 (o, OFF_PAYLOAD_SIZE);
  wp = fz_get64 (o, OFF_WRITE_POS);
  rpid = fz_get64 (o, OFF_READER_PID);
  wpid = fz_get64 (o, OFF_WRITER_PID);
  free_bytes = fz_get64 (o, OFF_PAYLOAD_FREE);
  valid = oieb_size == ZB_OIEB_SIZE && o[4] == 1 && P >= 32
      && M <= S.size && P <= S.size && ZB_OIEB_SIZE + M + P <= S.size
      && wp <= P;

  rc = zb_writer_open (&S.w, S.name, 0);
  if (rc == ZB_ENOTFOUND && !S.removed && !shm_exists ()) {
    /* Not the library: every call that may remove the objects is checked
     * for it.  Someone else deleted our files (rm /dev/shm/zb*?). */
    fprintf (stderr, "zbfuzz-writer: /dev/shm/%s vanished\n", S.name);
    S.removed = 1;
  }
  FZ_TRACE ("open -> %s (%s)\n", zb_status_name (rc), zb_last_error ());
  FZ_CHECK_RC_IN (rc, ZB_OK, ZB_ENOTFOUND, ZB_ENOREADER, ZB_EWRITERBUSY,
      ZB_EVERSION, ZB_ECORRUPT);
  if (S.removed) {
    FZ_CHECK (rc == ZB_ENOTFOUND);
    return rc;
  }
  /* A well-formed buffer with a live reader and no writer must connect. */
  if (valid && rpid == (uint64_t) getpid () && wpid == 0 && !S.wlock)
    FZ_CHECK (rc == ZB_OK);
  if (S.wlock)
    FZ_CHECK (rc != ZB_OK);
  if (rc != ZB_OK) {
    /* a refused connect leaves no trace */
    FZ_CHECK (S.w == NULL);
    FZ_CHECK (memcmp (S.shadow, S.base, S.size) == 0);
    return rc;
  }
  FZ_CHECK (valid && rpid != 0);
  /* Compact placement wraps early: the fake reader follows its markers
   * as it follows any. */
  zb_writer_set_compact (S.w, S.compact);
  FZ_CHECK (fz_get64 (o, OFF_WRITER_PID) == (uint64_t) getpid ());
  fz_put64 (S.shadow, OFF_WRITER_PID, (uint64_t) getpid ());
  FZ_CHECK (memcmp (S.shadow, S.base, S.size) == 0);

  {
    uintptr_t start, end;

    FZ_CHECK (fz_find_mapping (S.name, (uintptr_t) S.base, &start, &end)
        == 0);
    S.wbase = start;
  }
  /* The fake reader stays honest across reconnects only if the layout it
   * models did not change. */
  if (!S.opened_once) {
    S.honest = free_bytes == P;
    S.rpos = S.ret_pos = wp;
    S.rpos_after_frame = 0;
  } else if (M != S.cM || P != S.cP) {
    /* unread frames of the old writer are fine, the model keeps them */
    S.honest = 0;
  }
  S.opened_once = 1;
  S.cM = M;
  S.cP = P;
  S.gone = 0;
  S.seq = 1;
  S.frames = 0;
  S.reserved = 0;
  S.interrupted = 0;
  return rc;
}

/* ---------------------------------------------------------- writer ops */

static size_t
pick_size (uint8_t sel, uint16_t v)
{
  size_t max = zb_writer_max_frame_size (S.w);

  switch (sel % 4) {
    case 0:
      return 1 + v % 64;
    case 1:
      return v % (S.cP + 64);
    case 2:
      return max + (size_t) (int64_t) (int8_t) v;
    default:
      return v;
  }
}

static void
check_frame_rc (int rc, size_t size, uint64_t free_before)
{
  FZ_CHECK_RC_IN (rc, ZB_OK, ZB_ETIMEDOUT, ZB_EREADERGONE, ZB_ETOOLARGE,
      ZB_ECORRUPT, ZB_EINVAL, ZB_EBUSY, ZB_ECANCELED);
  if (rc == ZB_EINVAL)
    FZ_CHECK (size == 0);
  if (rc == ZB_ETOOLARGE)
    FZ_CHECK (size > zb_writer_max_frame_size (S.w));
  if (rc == ZB_OK)
    FZ_CHECK (size > 0 && size <= zb_writer_max_frame_size (S.w));
  if (rc == ZB_ECORRUPT)
    FZ_CHECK (free_before > S.cP);
  if (rc == ZB_ECANCELED)
    FZ_CHECK (S.interrupted);
  /* A frame the writer accepts as placeable fits an empty ring (quirk 9). */
  if (rc == ZB_ETIMEDOUT)
    FZ_CHECK (free_before < S.cP);
  if (rc == ZB_EBUSY)
    FZ_CHECK (S.reserved);
  if (S.gone && rc != ZB_EINVAL)
    FZ_CHECK (rc == ZB_EREADERGONE);
}

static void
op_write (fz_in * in)
{
  uint8_t sel = fz_u8 (in);
  uint16_t v = fz_u16 (in);
  uint8_t fill = fz_u8 (in);
  static uint8_t buf[8192];     /* > any frame a 4 KiB ring takes */
  size_t size;
  uint64_t free_before;
  int rc;

  if (S.w == NULL)
    return;
  size = pick_size (sel, v);
  memset (buf, fill, size < sizeof buf ? size : sizeof buf);
  snapshot ();
  free_before = fz_get64 (S.shadow, OFF_PAYLOAD_FREE);
  /* larger sizes must be refused before the data is read (ASan) */
  rc = zb_writer_write (S.w, buf, size, 0);
  FZ_TRACE ("write %zu -> %s (%s)\n", size, zb_status_name (rc),
      zb_last_error ());
  check_frame_rc (rc, size, free_before);
  note_rc (rc);
  check_changes (0);
  check_write_pos ();
  if (rc == ZB_OK) {
    expect_frame (size, fill);
    S.seq++;
    S.frames++;
  }
  check_sem_w ();
}

static void
op_reserve (fz_in * in)
{
  uint8_t sel = fz_u8 (in);
  uint16_t v = fz_u16 (in);
  uint8_t fill = fz_u8 (in);
  uintptr_t p, ring0;
  uint64_t off, s, used, free_now;
  size_t size;
  void *payload = NULL;
  int rc;

  if (S.w == NULL)
    return;
  size = pick_size (sel, v);
  snapshot ();
  rc = zb_writer_reserve (S.w, size, &payload, 0);
  FZ_TRACE ("reserve %zu -> %s (%s)\n", size, zb_status_name (rc),
      zb_last_error ());
  check_frame_rc (rc, size, fz_get64 (S.shadow, OFF_PAYLOAD_FREE));
  note_rc (rc);
  check_changes (0);
  check_write_pos ();
  if (rc != ZB_OK)
    return;

  /* Inside the writer's ring as claimed at connect time... */
  p = (uintptr_t) payload;
  ring0 = S.wbase + ZB_OIEB_SIZE + S.cM;
  FZ_CHECK (p >= ring0 + ZB_FRAME_HEADER_SIZE);
  FZ_CHECK (p + size <= ring0 + S.cP);
  off = p - ZB_FRAME_HEADER_SIZE - ring0;
  /* ...and, while the reader is honest, in bytes it does not own. */
  if (S.honest) {
    free_now = fz_get64 (S.base, OFF_PAYLOAD_FREE);
    FZ_CHECK (free_now <= S.cP);
    used = S.cP - free_now;
    s = S.ret_pos;
    if (used > 0) {
      uint64_t e = (s + used) % S.cP, d = (off + S.cP - e) % S.cP;

      FZ_CHECK (d + ZB_FRAME_HEADER_SIZE + size <= S.cP - used);
    }
  }
  memset (payload, fill, size);
  S.reserved = 1;
  S.res_ptr = payload;
  S.res_size = size;
  S.res_fill = fill;
}

static void
op_commit (fz_in * in)
{
  uint8_t sel = fz_u8 (in);
  uint16_t v = fz_u16 (in);
  size_t size;
  int rc;

  if (S.w == NULL)
    return;
  switch (sel % 4) {
    case 0:
      size = S.res_size;
      break;
    case 1:
      size = S.res_size ? 1 + v % S.res_size : v;
      break;
    case 2:
      size = S.res_size + 1;
      break;
    default:
      size = 0;
      break;
  }
  snapshot ();
  rc = zb_writer_commit (S.w, size);
  FZ_TRACE ("commit %zu -> %s\n", size, zb_status_name (rc));
  note_rc (rc);
  check_changes (0);
  check_write_pos ();
  if (!S.reserved) {
    FZ_CHECK (rc == ZB_EBUSY);
    return;
  }
  if (size == 0 || size > S.res_size) {
    FZ_CHECK (rc == ZB_EINVAL);
    return;                     /* the reservation stands */
  }
  /* A reservation is room already taken: publishing it must not wait or
   * fail for lack of space, except in the one documented case: a
   * reservation that ends exactly at the ring's end, shrunk by 1..15
   * bytes, would leave a tail no marker fits in, so the library places the
   * frame again and that may wait (and time out, be interrupted, or see a
   * hostile reader's free count). */
  if (fz_known_bug ("commit-replace")
      || ((uintptr_t) S.res_ptr + S.res_size == S.wbase + ZB_OIEB_SIZE + S.cM + S.cP
          && S.res_size - size >= 1 && S.res_size - size <= 15))
    FZ_CHECK_RC_IN (rc, ZB_OK, ZB_EREADERGONE, ZB_ETIMEDOUT, ZB_ECORRUPT,
        ZB_ECANCELED);
  else
    FZ_CHECK_RC_IN (rc, ZB_OK, ZB_EREADERGONE);
  S.reserved = 0;
  if (rc == ZB_OK) {
    expect_frame (size, S.res_fill);
    S.seq++;
    S.frames++;
  }
  check_sem_w ();
}

static void
op_abandon (void)
{
  int rc;

  if (S.w == NULL)
    return;
  snapshot ();
  rc = zb_writer_abandon (S.w);
  FZ_TRACE ("abandon -> %s\n", zb_status_name (rc));
  check_changes (0);
  FZ_CHECK (rc == (S.reserved ? ZB_OK : ZB_EBUSY));
  S.reserved = 0;
}

static void
op_set_meta (fz_in * in)
{
  uint8_t sel = fz_u8 (in), lv = fz_u8 (in), fill = fz_u8 (in);
  uint64_t len = (sel & 1) ? S.cM - 8 + (uint64_t) (int64_t) (int8_t) lv : lv;
  uint64_t written;
  uint8_t buf[512];
  int rc, want;

  if (S.w == NULL || len > sizeof buf)
    return;
  memset (buf, fill, (size_t) len);
  snapshot ();
  written = fz_get64 (S.shadow, OFF_META_WRITTEN);
  rc = zb_writer_set_metadata (S.w, buf, (size_t) len);
  FZ_TRACE ("set_metadata %llu -> %s\n", (unsigned long long) len,
      zb_status_name (rc));
  note_rc (rc);
  if (len == 0)
    want = ZB_EINVAL;
  else if (S.gone)
    want = ZB_EREADERGONE;
  else if (written != 0)
    want = ZB_EMETAWRITTEN;
  else if (8 + len > S.cM)
    want = ZB_EMETATOOLARGE;
  else
    want = ZB_OK;
  FZ_CHECK (rc == want);
  check_changes (rc == ZB_OK ? MAY_META : 0);
  if (rc == ZB_OK) {
    uint64_t prefix, i;

    memcpy (&prefix, S.base + ZB_OIEB_SIZE, 8);
    FZ_CHECK (prefix == len);
    for (i = 0; i < len; i++)
      FZ_CHECK (S.base[ZB_OIEB_SIZE + 8 + i] == fill);
    FZ_CHECK (fz_get64 (S.base, OFF_META_WRITTEN) == 8 + len);
    FZ_CHECK (fz_get64 (S.base, OFF_META_FREE) == S.cM - 8 - len);
    /* bytes past the metadata are not the writer's */
    FZ_CHECK (memcmp (S.shadow + ZB_OIEB_SIZE + 8 + len,
            S.base + ZB_OIEB_SIZE + 8 + len, S.size - ZB_OIEB_SIZE - 8 - len)
        == 0);
  }
}

static void
op_query (void)
{
  zb_writer_stats st;
  size_t max;
  int has;

  if (S.w == NULL)
    return;
  snapshot ();
  has = zb_writer_has_metadata (S.w);
  zb_writer_get_stats (S.w, &st);
  max = zb_writer_max_frame_size (S.w);
  check_changes (0);
  FZ_CHECK (has == (fz_get64 (S.base, OFF_META_WRITTEN) != 0));
  FZ_CHECK (st.payload_size == S.cP && st.metadata_size == S.cM);
  FZ_CHECK (st.frames == S.frames);
  /* two frames of the largest size fit, whatever the wrap (quirk 9) */
  if (max > 0)
    FZ_CHECK (2 * (max + ZB_FRAME_HEADER_SIZE) + 15 <= S.cP);
  FZ_CHECK (strcmp (zb_writer_name (S.w), S.name) == 0);
}

static void
op_interrupt (fz_in * in)
{
  int on = fz_u8 (in) & 1;

  if (S.w == NULL)
    return;
  snapshot ();
  zb_writer_interrupt (S.w, on);
  check_changes (0);
  S.interrupted = on;
}

/* The expected answer, computed from the header as it was. */
static void
op_get_meta (void)
{
  const void *data = NULL;
  size_t size = 0;
  uint64_t written, len;
  int rc, want;

  if (S.w == NULL)
    return;
  snapshot ();
  rc = zb_writer_get_metadata (S.w, &data, &size);
  FZ_TRACE ("get_metadata -> %s (%zu bytes)\n", zb_status_name (rc), size);
  check_changes (0);
  written = fz_get64 (S.shadow, OFF_META_WRITTEN);
  memcpy (&len, S.shadow + ZB_OIEB_SIZE, sizeof len);
  if (written == 0)
    want = ZB_ENOMETA;
  else if (written < 8 || written > S.cM || len > written - 8)
    want = ZB_ECORRUPT;
  else
    want = ZB_OK;
  FZ_CHECK (rc == want);
  if (rc == ZB_OK) {
    FZ_CHECK (size == len && size <= S.cM - 8);
    FZ_CHECK (data != NULL);
    FZ_CHECK (memcmp (data, S.shadow + ZB_OIEB_SIZE + 8, size) == 0);
  }
}

/* ------------------------------------------------------ hostile ops */

static uint64_t
field_value (fz_in * in, uint64_t cur)
{
  uint8_t sel = fz_u8 (in);
  uint64_t v = fz_u64 (in);

  switch (sel % 8) {
    case 0:
      return v;
    case 1:
      return v & 0xff;
    case 2:
      return S.P + (uint64_t) (int64_t) (int8_t) v;
    case 3:
      return S.M + (uint64_t) (int64_t) (int8_t) v;
    case 4:
      return 0;
    case 5:
      return UINT64_MAX - (v & 0xff);
    case 6:
      return cur + (uint64_t) (int64_t) (int8_t) v;
    default:
      return 1ull << (v % 64);
  }
}

static void
op_write_bytes (fz_in * in)
{
  uint16_t off = fz_u16 (in);
  uint8_t len = fz_u8 (in) % 33, buf[32];
  size_t n = fz_bytes (in, buf, len);

  off %= S.size;
  if (n > S.size - off)
    n = S.size - off;
  memcpy (S.base + off, buf, n);
  S.honest = 0;
}

static void
op_set_field (fz_in * in)
{
  size_t off = (size_t) (fz_u8 (in) % 16) * 8;

  fz_put64 (S.base, off, field_value (in, fz_get64 (S.base, off)));
  S.honest = 0;
}

static void
op_hostile_release (fz_in * in)
{
  fz_put64 (S.base, OFF_PAYLOAD_FREE, field_value (in,
          fz_get64 (S.base, OFF_PAYLOAD_FREE)));
  sem_post (S.sem_r);
  S.honest = 0;
}

/* Hold or drop a role's OFD lock byte on our own descriptor, as a reader
 * (byte 0) or another writer (byte 1) of ours would. */
static int
set_lock_byte (int byte, int on)
{
  struct flock fl;

  memset (&fl, 0, sizeof fl);
  fl.l_type = on ? F_WRLCK : F_UNLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  return fcntl (S.fd, F_OFD_SETLK, &fl) == 0 ? on : !on;
}

static void
set_reader_lock (int on)
{
  S.rlock = set_lock_byte (0, on);
}

static void
set_writer_lock (int on)
{
  /* while a writer of the library holds byte 1, ours cannot take it */
  S.wlock = set_lock_byte (1, on);
}

/* A live reader holds its lock file; a writer removing a dead reader's
 * objects must then leave them alone. */
static void
op_lock_file (fz_in * in)
{
  int on = fz_u8 (in) & 1;

  if (S.lock_fd >= 0 && flock (S.lock_fd, on ? LOCK_EX | LOCK_NB : LOCK_UN)
      == 0)
    S.lock_held = on;
}

static void
op_set_rpid (fz_in * in)
{
  static const uint64_t pids[] = { 0, FZ_DEAD_PID, 1, 1ull << 40 };
  uint8_t sel = fz_u8 (in);

  fz_put64 (S.base, OFF_READER_PID, sel % 5 == 4 ? (uint64_t) getpid () :
      pids[sel % 5]);
}

/* Connect to an object smaller than it was made (and than the header may
 * claim), then restore it.  Only while no writer maps it: shrinking under
 * a live mapping is a SIGBUS nobody can prevent. */
static void
op_trunc_open (fz_in * in)
{
  uint16_t v = fz_u16 (in);
  off_t sz = (off_t) (v % (S.size + 1));
  uint64_t M, P;
  zb_writer *w = NULL;
  int rc;

  if (S.w != NULL || S.removed)
    return;
  M = fz_get64 (S.base, OFF_META_SIZE);
  P = fz_get64 (S.base, OFF_PAYLOAD_SIZE);
  FZ_CHECK (ftruncate (S.fd, sz) == 0);
  rc = zb_writer_open (&w, S.name, 0);
  FZ_TRACE ("open truncated to %lld -> %s\n", (long long) sz,
      zb_status_name (rc));
  FZ_CHECK_RC_IN (rc, ZB_OK, ZB_ENOTFOUND, ZB_ENOREADER, ZB_EWRITERBUSY,
      ZB_EVERSION, ZB_ECORRUPT);
  if (rc == ZB_OK) {
    FZ_CHECK (sz >= (off_t) ZB_OIEB_SIZE && M <= (uint64_t) sz
        && P <= (uint64_t) sz && ZB_OIEB_SIZE + M + P <= (uint64_t) sz);
    zb_writer_close (w);
    S.sem_w_expected++;
  }
  FZ_CHECK (ftruncate (S.fd, (off_t) S.size) == 0);
  S.honest = 0;
}

/* ----------------------------------------------------------- setup */

static int
setup (uint8_t cfg)
{
  static const uint64_t msz[] = { 0, 64, 256, 256 };
  static const uint64_t psz[] = { 64, 192, 1024, 4096 };
  char sem[96];
  uint32_t oieb_size = ZB_OIEB_SIZE;

  memset (&S, 0, sizeof S);
  S.fd = S.lock_fd = -1;
  snprintf (S.name, sizeof S.name, "%s", fz_new_name (1, "w"));
  S.M = msz[cfg & 3];
  S.P = psz[(cfg >> 2) & 3];
  S.size = ZB_OIEB_SIZE + S.M + S.P + 64 * ((cfg >> 4) & 3);
  S.compact = (cfg & 0x80) ? S.P / 4 : 0;

  snprintf (sem, sizeof sem, "/sem-w-%s", S.name);
  S.sem_w = sem_open (sem, O_CREAT | O_EXCL, 0600, 0);
  FZ_CHECK (S.sem_w != SEM_FAILED);
  snprintf (sem, sizeof sem, "/sem-r-%s", S.name);
  S.sem_r = sem_open (sem, O_CREAT | O_EXCL, 0600, 0);
  FZ_CHECK (S.sem_r != SEM_FAILED);
  S.lock_fd = -1;
  if (cfg & 0x40) {
    char path[160];

    mkdir (ZB_LOCK_DIR, 01777);
    snprintf (path, sizeof path, "%s/%s.lock", ZB_LOCK_DIR, S.name);
    S.lock_fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FZ_CHECK (S.lock_fd >= 0);
  }
  S.fd = shm_open (S.name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  FZ_CHECK (S.fd >= 0);
  if (ftruncate (S.fd, (off_t) S.size) != 0)
    return -1;
  S.base = mmap (NULL, S.size, PROT_READ | PROT_WRITE, MAP_SHARED, S.fd, 0);
  FZ_CHECK (S.base != MAP_FAILED);
  S.shadow = malloc (S.size);
  FZ_CHECK (S.shadow != NULL);

  /* recognisable bytes everywhere the writer has no business yet */
  memset (S.base + ZB_OIEB_SIZE, 0xcc, S.size - ZB_OIEB_SIZE);
  memcpy (S.base, &oieb_size, 4);
  S.base[4] = 1;
  fz_put64 (S.base, OFF_META_SIZE, S.M);
  fz_put64 (S.base, OFF_META_FREE, S.M);
  fz_put64 (S.base, OFF_PAYLOAD_SIZE, S.P);
  fz_put64 (S.base, OFF_PAYLOAD_FREE, S.P);
  fz_put64 (S.base, OFF_READER_PID, (uint64_t) getpid ());
  return 0;
}

static void
teardown (void)
{
  writer_close ();
  fz_remove_objects (S.name);
  FZ_CHECK (!fz_objects_left (S.name));
  if (S.base)
    munmap (S.base, S.size);
  if (S.fd >= 0)
    close (S.fd);
  if (S.lock_fd >= 0)
    close (S.lock_fd);
  if (S.sem_w != SEM_FAILED && S.sem_w)
    sem_close (S.sem_w);
  if (S.sem_r != SEM_FAILED && S.sem_r)
    sem_close (S.sem_r);
  free (S.shadow);
  fz_forget_name (1);
  fz_check_leaks ();
}

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  fz_in in = { data, size };
  int pre;

  if (size < 2 || size > 4096)
    return -1;
  if (setup (fz_u8 (&in)) != 0) {
    teardown ();
    return 0;
  }
  for (pre = fz_u8 (&in) % 4; pre > 0; pre--) {
    switch (fz_u8 (&in) % 5) {
      case 0:
        op_write_bytes (&in);
        break;
      case 1:
        op_set_field (&in);
        break;
      case 2:
        op_set_rpid (&in);
        break;
      case 3:
        set_reader_lock (1);
        break;
      default:
        set_writer_lock (1);
        break;
    }
  }
  writer_open ();

  while (in.n > 0) {
    int op = fz_u8 (&in) % WR_COUNT;

    FZ_TRACE ("op %d\n", op);
    switch (op) {
      case WR_WRITE_BYTES:
        op_write_bytes (&in);
        break;
      case WR_SET_FIELD:
        op_set_field (&in);
        break;
      case WR_WRITE:
        op_write (&in);
        break;
      case WR_RESERVE:
        op_reserve (&in);
        break;
      case WR_COMMIT:
        op_commit (&in);
        break;
      case WR_ABANDON:
        op_abandon ();
        break;
      case WR_SET_META:
        op_set_meta (&in);
        break;
      case WR_POST_R:
        sem_post (S.sem_r);
        break;
      case WR_FAKE_READ:
        fake_read (1 + fz_u8 (&in) % 8, 0);
        check_sem_w ();
        break;
      case WR_FAKE_RELEASE:
        fake_release (1 + fz_u8 (&in) % 8);
        break;
      case WR_HOSTILE_RELEASE:
        op_hostile_release (&in);
        break;
      case WR_REOPEN:
        writer_open ();
        break;
      case WR_CLOSE:
        writer_close ();
        break;
      case WR_READER_LOCK:
        set_reader_lock (fz_u8 (&in) & 1);
        break;
      case WR_SET_RPID:
        op_set_rpid (&in);
        break;
      case WR_TRUNC_OPEN:
        op_trunc_open (&in);
        break;
      case WR_QUERY:
        op_query ();
        break;
      case WR_INTERRUPT:
        op_interrupt (&in);
        break;
      case WR_CLOCK:
        fz_clock_advance (fz_u8 (&in));
        break;
      case WR_GET_META:
        op_get_meta ();
        break;
      case WR_WRITER_LOCK:
        set_writer_lock (fz_u8 (&in) & 1);
        break;
      case WR_LOCK_FILE:
        op_lock_file (&in);
        break;
    }
    if (!S.removed && S.w && !shm_exists ()) {
      /* A writer that saw the reader die removes its objects, never those
       * of a reader that still holds its lock byte or lock file. */
      FZ_CHECK (!S.rlock && !S.lock_held);
      S.removed = 1;
    }
  }
  teardown ();
  return 0;
}
