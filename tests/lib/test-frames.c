/* What our writer puts on the wire: frame headers, sequence numbers, the OIEB
 * counters, wrap markers and the quirks around the end of the ring (1, 9,
 * 10); the reader's counters; reserve/commit/abandon.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "zbtest.h"

#define M_REQ 64
#define POFF (128 + M_REQ)      /* payload offset when M = 64 */

typedef struct pair
{
  char name[64];
  zb_reader *r;
  zb_writer *w;
  zbt_shm m;
  uint64_t P;
} pair;

static void
pair_open (pair * p, uint64_t P)
{
  zb_reader_options opts = { M_REQ, P, 0 };

  memset (p, 0, sizeof *p);
  zbt_name (p->name, sizeof p->name, "frames");
  REQUIRE_RC (zb_reader_create (&p->r, p->name, &opts), 0);
  REQUIRE_RC (zb_writer_open (&p->w, p->name, 1000), 0);
  REQUIRE (zbt_shm_map (p->name, &p->m) == 0);
  p->P = zbt_get (&p->m, OFF_PAYLOAD_SIZE);
  REQUIRE (p->P == (P + 63) / 64 * 64);
}

/* Current count of the pair's "data ready" semaphore. */
static int
sem_w_value (pair * p)
{
  char s[128];
  sem_t *sem;
  int v = -1;

  snprintf (s, sizeof s, "/sem-w-%s", p->name);
  sem = sem_open (s, 0);
  if (sem == SEM_FAILED)
    return -1;
  sem_getvalue (sem, &v);
  sem_close (sem);
  return v;
}

static void
pair_close (pair * p)
{
  zb_writer_close (p->w);
  zb_reader_close (p->r);
  zbt_shm_unmap (&p->m);
  CHECK (zbt_all_gone (p->name));
}

static uint64_t
hdr_size (pair * p, uint64_t pos)
{
  return zbt_le64 (p->m.base + POFF + pos);
}

static uint64_t
hdr_seq (pair * p, uint64_t pos)
{
  return zbt_le64 (p->m.base + POFF + pos + 8);
}

static int
write_seq (pair * p, size_t len, uint64_t seq, int timeout)
{
  uint8_t *buf = malloc (len ? len : 1);
  int rc;

  zbt_fill (buf, len, seq);
  rc = zb_writer_write (p->w, buf, len, timeout);
  free (buf);
  return rc;
}

/* Acquire one frame, check it, release it. */
static void
read_check (pair * p, size_t len, uint64_t seq)
{
  zb_frame f;

  CHECK_RC (zb_reader_acquire (p->r, &f, 1000), 0);
  CHECK_EQ (f.size, len);
  CHECK_EQ (f.sequence, seq);
  if (f.size == len && f.data)
    CHECK (zbt_verify (f.data, len, seq) < 0);
  CHECK_RC (zb_reader_release (p->r, &f), 0);
}

static void
test_basic (void)
{
  pair p;
  zb_frame f;
  uint8_t saved, flipped;

  pair_open (&p, 1000);
  CHECK_EQ (p.P, 1024);

  CHECK_RC (write_seq (&p, 100, 1, 1000), 0);
  CHECK_EQ (hdr_size (&p, 0), 100);
  CHECK_EQ (hdr_seq (&p, 0), 1);
  CHECK (zbt_verify (p.m.base + POFF + 16, 100, 1) < 0);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 116);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024 - 116);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), 1);
  CHECK_EQ (zbt_get (&p.m, OFF_READ_POS), 0);
  CHECK_EQ (zbt_get (&p.m, OFF_READ_COUNT), 0);

  CHECK_RC (zb_reader_acquire (p.r, &f, 1000), 0);
  CHECK_EQ (f.size, 100);
  CHECK_EQ (f.sequence, 1);
  CHECK (f.data && zbt_verify (f.data, 100, 1) < 0);
  /* Zero-copy: the frame is the ring itself. */
  saved = p.m.base[POFF + 16];
  flipped = (uint8_t) ~ saved;
  p.m.base[POFF + 16] = flipped;
  zbt_fence ();
  CHECK (f.data && ((const volatile uint8_t *) f.data)[0] == flipped);
  p.m.base[POFF + 16] = saved;
  CHECK_EQ (zbt_get (&p.m, OFF_READ_POS), 116);
  CHECK_EQ (zbt_get (&p.m, OFF_READ_COUNT), 1);
  /* Space comes back on release, not on acquire. */
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024 - 116);
  CHECK_RC (zb_reader_release (p.r, &f), 0);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024);

  CHECK_RC (write_seq (&p, 1, 2, 1000), 0);
  CHECK_RC (write_seq (&p, 33, 3, 1000), 0);
  CHECK_EQ (hdr_size (&p, 116), 1);
  CHECK_EQ (hdr_seq (&p, 116), 2);
  CHECK_EQ (hdr_size (&p, 133), 33);
  CHECK_EQ (hdr_seq (&p, 133), 3);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 133 + 49);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), 3);
  read_check (&p, 1, 2);
  read_check (&p, 33, 3);
  CHECK_EQ (zbt_get (&p.m, OFF_READ_POS), 182);
  CHECK_EQ (zbt_get (&p.m, OFF_READ_COUNT), 3);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024);

  /* Size 0 is not a frame. */
  CHECK_RC (zb_writer_write (p.w, "", 0, 0), ZB_EINVAL);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), 3);
  {
    zb_writer_stats ws;
    zb_reader_stats rs;

    zb_writer_get_stats (p.w, &ws);
    CHECK_EQ (ws.frames, 3);
    CHECK_EQ (ws.bytes, 134);
    CHECK_EQ (ws.wraps, 0);
    zb_reader_get_stats (p.r, &rs);
    CHECK_EQ (rs.frames, 3);
    CHECK_EQ (rs.bytes, 134);
    CHECK_EQ (rs.held, 0);
    CHECK_EQ (rs.held_bytes, 0);
  }
  pair_close (&p);
}

static void
test_wrap_marker (void)
{
  pair p;
  zb_writer_stats ws;

  pair_open (&p, 1024);
  CHECK_RC (write_seq (&p, 484, 1, 1000), 0);
  CHECK_RC (write_seq (&p, 484, 2, 1000), 0);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 1000);
  read_check (&p, 484, 1);
  read_check (&p, 484, 2);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024);

  /* 24 bytes left: a {0,0} marker, counted, then the frame at 0; one post
   * for the frame, none for the marker. */
  CHECK_EQ (sem_w_value (&p), 0);
  CHECK_RC (write_seq (&p, 100, 3, 1000), 0);
  CHECK_EQ (sem_w_value (&p), 1);
  CHECK_EQ (hdr_size (&p, 1000), 0);
  CHECK_EQ (hdr_seq (&p, 1000), 0);
  CHECK_EQ (hdr_size (&p, 0), 100);
  CHECK_EQ (hdr_seq (&p, 0), 3);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 116);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), 4);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024 - 24 - 116);
  zb_writer_get_stats (p.w, &ws);
  CHECK_EQ (ws.wraps, 1);

  read_check (&p, 100, 3);
  CHECK_EQ (zbt_get (&p.m, OFF_READ_COUNT), 4);
  CHECK_EQ (zbt_get (&p.m, OFF_READ_POS), 116);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024);
  pair_close (&p);
}

/* Quirk 1: a frame that would leave 1..15 bytes at the end goes to 0 behind
 * a marker, and waits for the room that needs rather than leaving a tail. */
static void
test_short_tail (void)
{
  pair p;
  zb_frame a, b;
  double t0;

  pair_open (&p, 1024);
  REQUIRE (zb_writer_max_frame_size (p.w) >= 488);
  CHECK_RC (write_seq (&p, 240, 1, 1000), 0);
  CHECK_RC (write_seq (&p, 240, 2, 1000), 0);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 512);
  CHECK_RC (zb_reader_acquire (p.r, &a, 1000), 0);
  CHECK_RC (zb_reader_acquire (p.r, &b, 1000), 0);

  /* 504 bytes at 512 would end at 1016 (8-byte tail).  With frames 1-2
   * held only 512 bytes are free, and the wrap needs 512 + 504. */
  t0 = zbt_now_ms ();
  CHECK_RC (write_seq (&p, 488, 3, 150), ZB_ETIMEDOUT);
  CHECK (zbt_now_ms () - t0 >= 100);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 512);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), 2);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 512);

  CHECK_RC (zb_reader_release (p.r, &a), 0);
  CHECK_RC (zb_reader_release (p.r, &b), 0);
  CHECK_EQ (sem_w_value (&p), 0);
  CHECK_RC (write_seq (&p, 488, 3, 1000), 0);
  CHECK_EQ (sem_w_value (&p), 1);
  CHECK_EQ (hdr_size (&p, 512), 0);
  CHECK_EQ (hdr_seq (&p, 512), 0);
  CHECK_EQ (hdr_size (&p, 0), 488);
  CHECK_EQ (hdr_seq (&p, 0), 3);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 504);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), 4);
  read_check (&p, 488, 3);
  CHECK_EQ (zbt_get (&p.m, OFF_READ_COUNT), 4);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024);
  pair_close (&p);

  /* Same with a 15-byte tail where the wrap cannot ever fit either
   * (frame 508 at 501 -> 1009; wrap needs 523 + 508 > 1024): whatever the
   * writer does, it must not leave 1..15 bytes and must not hang. */
  pair_open (&p, 1024);
  CHECK_RC (write_seq (&p, 485, 1, 1000), 0);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 501);
  read_check (&p, 485, 1);
  t0 = zbt_now_ms ();
  {
    int rc = write_seq (&p, 492, 2, ZBT_LONG_MS);
    uint64_t wp = zbt_get (&p.m, OFF_WRITE_POS);

    zbt_note ("508-byte frame at 501 in a 1024 ring: %s after %.0f ms, "
        "write_pos %" PRIu64, zb_status_name (rc), zbt_now_ms () - t0, wp);
    CHECK (rc == 0 || rc == ZB_ETOOLARGE);
    CHECK (wp <= 1024 && !(1024 - wp >= 1 && 1024 - wp <= 15));
    if (rc == ZB_ETOOLARGE)
      CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
    if (rc == 0)
      read_check (&p, 492, 2);
  }
  pair_close (&p);
}

/* Quirk 10: a frame ending exactly at P; the next starts at 0, no marker. */
static void
test_exact_end (void)
{
  pair p;
  uint64_t rp;

  pair_open (&p, 1024);
  CHECK_RC (write_seq (&p, 240, 1, 1000), 0);
  CHECK_RC (write_seq (&p, 240, 2, 1000), 0);
  CHECK_RC (write_seq (&p, 240, 3, 1000), 0);
  read_check (&p, 240, 1);
  read_check (&p, 240, 2);
  read_check (&p, 240, 3);
  CHECK_RC (write_seq (&p, 240, 4, 1000), 0);
  CHECK_EQ (hdr_size (&p, 768), 240);
  CHECK_EQ (hdr_seq (&p, 768), 4);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 1024);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), 4);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 768);
  read_check (&p, 240, 4);
  rp = zbt_get (&p.m, OFF_READ_POS);
  CHECK (rp == 0 || rp == 1024);
  CHECK_EQ (zbt_get (&p.m, OFF_READ_COUNT), 4);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024);

  CHECK_RC (write_seq (&p, 100, 5, 1000), 0);
  CHECK_EQ (hdr_size (&p, 0), 100);
  CHECK_EQ (hdr_seq (&p, 0), 5);
  /* Frame 4's header is intact: no marker was written over it. */
  CHECK_EQ (hdr_size (&p, 768), 240);
  CHECK_EQ (hdr_seq (&p, 768), 4);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), 5);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 116);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024 - 116);
  read_check (&p, 100, 5);
  CHECK_EQ (zbt_get (&p.m, OFF_READ_COUNT), 5);
  CHECK_EQ (zbt_get (&p.m, OFF_READ_POS), 116);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024);
  pair_close (&p);
}

/* Quirk 9 and zb_writer_max_frame_size(). */
static void
test_too_large (void)
{
  pair p;
  size_t max, s;
  double t0;

  pair_open (&p, 1024);
  max = zb_writer_max_frame_size (p.w);
  zbt_note ("max frame size for P=1024: %zu", max);
  CHECK (max <= 1024 - 16);
  /* The sink needs room for two frames; less would be useless. */
  CHECK (max >= 1024 / 2 - 24);
  pair_close (&p);

  /* Every size up to max fits in a fresh ring... */
  for (s = max - 20; s <= max; s++) {
    pair_open (&p, 1024);
    CHECK_EQ (zb_writer_max_frame_size (p.w), max);
    CHECK_RC (write_seq (&p, s, 1, 1000), 0);
    read_check (&p, s, 1);
    /* ...and the ring keeps working after it. */
    CHECK_RC (write_seq (&p, 7, 2, 1000), 0);
    read_check (&p, 7, 2);
    {
      uint64_t wp = zbt_get (&p.m, OFF_WRITE_POS);

      CHECK (!(1024 - wp >= 1 && 1024 - wp <= 15));
    }
    pair_close (&p);
  }

  /* ...and anything larger fails at once, even on an empty ring with a
   * long timeout, and leaves the ring untouched. */
  pair_open (&p, 1024);
  for (s = max + 1; s <= 1024 + 32; s++) {
    int rc;

    t0 = zbt_now_ms ();
    rc = write_seq (&p, s, 1, ZBT_LONG_MS);
    if (rc != ZB_ETOOLARGE) {
      fprintf (stderr, "write of %zu bytes (max %zu): %s\n", s, max,
          zb_status_name (rc));
      CHECK (0);
      break;
    }
    /* At once, not after the timeout. */
    CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
  }
  {
    void *ptr = NULL;

    t0 = zbt_now_ms ();
    CHECK_RC (zb_writer_reserve (p.w, max + 1, &ptr, ZBT_LONG_MS),
        ZB_ETOOLARGE);
    CHECK_RC (zb_writer_write (p.w, "x", SIZE_MAX, ZBT_LONG_MS), ZB_ETOOLARGE);
    CHECK_RC (zb_writer_write (p.w, "x", SIZE_MAX - 15, ZBT_LONG_MS),
        ZB_ETOOLARGE);
    CHECK_RC (zb_writer_reserve (p.w, SIZE_MAX - 8, &ptr, ZBT_LONG_MS),
        ZB_ETOOLARGE);
    CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
  }
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), 0);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 0);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024);
  /* The failure did not use up a sequence number. */
  CHECK_RC (write_seq (&p, 10, 1, 1000), 0);
  read_check (&p, 10, 1);
  pair_close (&p);

  /* Situational: at 200, a 900-byte frame needs 824 + 900 > 1024 to wrap;
   * no waiting can help, so it is ETOOLARGE now, not a timeout later. */
  pair_open (&p, 1024);
  CHECK_RC (write_seq (&p, 184, 1, 1000), 0);
  read_check (&p, 184, 1);
  t0 = zbt_now_ms ();
  CHECK_RC (write_seq (&p, 884, 2, ZBT_LONG_MS), ZB_ETOOLARGE);
  CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 200);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), 1);
  CHECK_RC (write_seq (&p, 100, 2, 1000), 0);
  read_check (&p, 100, 2);
  pair_close (&p);
}

static void
test_reserve (void)
{
  pair p;
  void *ptr = NULL, *ptr2 = NULL;
  zb_frame f;
  int rc;

  pair_open (&p, 1024);
  CHECK_RC (zb_writer_reserve (p.w, 0, &ptr, 0), ZB_EINVAL);
  rc = zb_writer_commit (p.w, 10);
  CHECK (rc == ZB_EBUSY || rc == ZB_EINVAL);
  rc = zb_writer_abandon (p.w);
  CHECK (rc == ZB_EBUSY || rc == ZB_EINVAL);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), 0);

  CHECK_RC (zb_writer_reserve (p.w, 200, &ptr, 1000), 0);
  REQUIRE (ptr != NULL);
  /* The payload pointer is in the ring, right after a header at 0. */
  memset (ptr, 0x5a, 1);
  zbt_fence ();
  CHECK_EQ (p.m.base[POFF + 16], 0x5a);
  CHECK_RC (zb_writer_reserve (p.w, 10, &ptr2, 0), ZB_EBUSY);
  CHECK_RC (zb_writer_write (p.w, "x", 1, 0), ZB_EBUSY);
  CHECK_RC (zb_writer_commit (p.w, 0), ZB_EINVAL);
  CHECK_RC (zb_writer_commit (p.w, 201), ZB_EINVAL);
  /* Nothing visible before commit. */
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), 0);
  CHECK_RC (zb_reader_acquire (p.r, &f, 0), ZB_ETIMEDOUT);
  zbt_fill (ptr, 150, 1);
  CHECK_RC (zb_writer_commit (p.w, 150), 0);
  CHECK_EQ (hdr_size (&p, 0), 150);
  CHECK_EQ (hdr_seq (&p, 0), 1);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 166);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024 - 166);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), 1);
  read_check (&p, 150, 1);

  /* Abandon publishes nothing and burns no sequence number. */
  CHECK_RC (zb_writer_reserve (p.w, 300, &ptr, 1000), 0);
  CHECK_RC (zb_writer_abandon (p.w), 0);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), 1);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 166);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024);
  CHECK_RC (zb_reader_acquire (p.r, &f, 0), ZB_ETIMEDOUT);
  CHECK_RC (write_seq (&p, 20, 2, 1000), 0);
  CHECK_EQ (hdr_size (&p, 166), 20);
  CHECK_EQ (hdr_seq (&p, 166), 2);
  read_check (&p, 20, 2);
  pair_close (&p);

  /* A reservation that wraps, abandoned: the stream stays consistent. */
  pair_open (&p, 1024);
  CHECK_RC (write_seq (&p, 484, 1, 1000), 0);
  CHECK_RC (write_seq (&p, 484, 2, 1000), 0);
  read_check (&p, 484, 1);
  read_check (&p, 484, 2);
  CHECK_RC (zb_writer_reserve (p.w, 100, &ptr, 1000), 0);
  CHECK_RC (zb_writer_abandon (p.w), 0);
  CHECK_RC (zb_reader_acquire (p.r, &f, 0), ZB_ETIMEDOUT);
  CHECK_RC (write_seq (&p, 50, 3, 1000), 0);
  read_check (&p, 50, 3);
  CHECK_RC (write_seq (&p, 60, 4, 1000), 0);
  read_check (&p, 60, 4);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), zbt_get (&p.m, OFF_READ_COUNT));
  pair_close (&p);

  /* Reserve more than needed at a wrap, commit less. */
  pair_open (&p, 1024);
  CHECK_RC (write_seq (&p, 484, 1, 1000), 0);
  CHECK_RC (write_seq (&p, 484, 2, 1000), 0);
  read_check (&p, 484, 1);
  read_check (&p, 484, 2);
  CHECK_RC (zb_writer_reserve (p.w, 488, &ptr, 1000), 0);
  zbt_fill (ptr, 400, 3);
  CHECK_RC (zb_writer_commit (p.w, 400), 0);
  CHECK_EQ (hdr_size (&p, 1000), 0);
  CHECK_EQ (hdr_size (&p, 0), 400);
  CHECK_EQ (hdr_seq (&p, 0), 3);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 416);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), 4);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024 - 24 - 416);
  read_check (&p, 400, 3);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024);
  pair_close (&p);
}

static void
drain (pair * p, uint64_t * next_read)
{
  zb_frame f;
  int rc;

  while ((rc = zb_reader_acquire (p->r, &f, 0)) == 0) {
    CHECK_EQ (f.sequence, *next_read);
    if (f.data)
      CHECK (zbt_verify (f.data, f.size, f.sequence) < 0);
    *next_read = f.sequence + 1;
    CHECK_RC (zb_reader_release (p->r, &f), 0);
  }
  CHECK_RC (rc, ZB_ETIMEDOUT);
}

/* Committing less than reserved can leave 1..15 bytes at the end when the
 * reservation reached exactly to P; quirk 1 still holds. */
static void
test_commit_shrink_at_end (void)
{
  pair p;
  void *ptr;
  zb_frame a, b;
  int rc;

  /* Frames of 4 and 484 bytes end at 520; a reservation of 488 then ends
   * exactly at 1024 and a commit of 480 would end at 1016. */
  pair_open (&p, 1024);
  REQUIRE (zb_writer_max_frame_size (p.w) >= 488);
  CHECK_RC (write_seq (&p, 4, 1, 0), 0);
  CHECK_RC (write_seq (&p, 484, 2, 0), 0);
  read_check (&p, 4, 1);
  read_check (&p, 484, 2);
  CHECK_RC (zb_writer_reserve (p.w, 488, &ptr, 0), 0);
  zbt_fill (ptr, 480, 3);
  CHECK_RC (zb_writer_commit (p.w, 480), 0);
  {
    uint64_t wp = zbt_get (&p.m, OFF_WRITE_POS);

    CHECK (!(1024 - wp >= 1 && 1024 - wp <= 15));
  }
  read_check (&p, 480, 3);
  CHECK_RC (write_seq (&p, 30, 4, 0), 0);
  read_check (&p, 30, 4);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), 1024);
  pair_close (&p);

  /* Same with the earlier frames still held, so that moving the frame is
   * not possible right now: the commit may fail, but must neither leave a
   * short tail nor break the stream. */
  pair_open (&p, 1024);
  CHECK_RC (write_seq (&p, 4, 1, 0), 0);
  CHECK_RC (write_seq (&p, 484, 2, 0), 0);
  CHECK_RC (zb_reader_acquire (p.r, &a, 0), 0);
  CHECK_RC (zb_reader_acquire (p.r, &b, 0), 0);
  CHECK_RC (zb_writer_reserve (p.w, 488, &ptr, 0), 0);
  zbt_fill (ptr, 480, 3);
  rc = zb_writer_commit (p.w, 480);
  zbt_note ("shrinking commit with no room to move the frame: %s",
      zb_status_name (rc));
  {
    uint64_t wp = zbt_get (&p.m, OFF_WRITE_POS);

    CHECK (!(1024 - wp >= 1 && 1024 - wp <= 15));
  }
  /* The writer is usable again either way. */
  CHECK_RC (zb_writer_write (p.w, "x", 1, 0) == ZB_EBUSY, 0);
  zb_reader_release (p.r, &a);
  zb_reader_release (p.r, &b);
  {
    zb_frame f;
    uint64_t next = 3;

    if (rc == 0) {
      read_check (&p, 480, 3);
      next = 4;
    }
    while (zb_reader_acquire (p.r, &f, 0) == 0) {
      CHECK_EQ (f.sequence, next);
      next++;
      zb_reader_release (p.r, &f);
    }
    CHECK_RC (write_seq (&p, 30, next, 1000), 0);
    read_check (&p, 30, next);
  }
  pair_close (&p);
}

/* A long single-threaded run checking every write against the rules. */
static void
test_long_run (void)
{
  pair p;
  uint64_t seq = 1, next_read = 1, rng = 12345;
  size_t max;
  int i, bad = 0;

  pair_open (&p, 4096);
  max = zb_writer_max_frame_size (p.w);
  for (i = 0; i < 4000 && bad < 5; i++) {
    uint64_t wp0, wp1, wc0, wc1, T, len;
    int rc;

    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    /* Mostly small frames, some up to about a third of the ring, and some
     * sizes chosen to end near the end of the ring. */
    len = 1 + (rng >> 33) % (i % 7 == 0 ? max / 3 : 200);
    wp0 = zbt_get (&p.m, OFF_WRITE_POS);
    if (i % 11 == 0 && wp0 < p.P - 64 && p.P - wp0 - 16 - 8 < max / 3)
      len = p.P - wp0 - 16 - (rng >> 40) % 24;
    if (len == 0)
      len = 1;
    T = 16 + len;
    wc0 = zbt_get (&p.m, OFF_WRITTEN_COUNT);
    rc = write_seq (&p, len, seq, 0);
    if (rc == ZB_ETIMEDOUT) {
      /* Drain everything, then it must fit (T <= max / 3 + 16). */
      drain (&p, &next_read);
      rc = write_seq (&p, len, seq, 0);
    }
    if (rc != 0) {
      fprintf (stderr, "frame %" PRIu64 " (%" PRIu64 " bytes at %" PRIu64
          "): %s\n", seq, len, wp0, zb_status_name (rc));
      CHECK (0);
      bad++;
      continue;
    }
    wp1 = zbt_get (&p.m, OFF_WRITE_POS);
    wc1 = zbt_get (&p.m, OFF_WRITTEN_COUNT);
    if (wp1 == wp0 + T) {
      CHECK_EQ (hdr_size (&p, wp0), len);
      CHECK_EQ (hdr_seq (&p, wp0), seq);
      CHECK_EQ (wc1, wc0 + 1);
    } else {
      /* Wrapped: frame at 0; a marker when the tail had room for one. */
      CHECK_EQ (wp1, T);
      CHECK_EQ (hdr_size (&p, 0), len);
      CHECK_EQ (hdr_seq (&p, 0), seq);
      CHECK (p.P - wp0 == 0 || p.P - wp0 >= 16);
      if (p.P - wp0 >= 16) {
        CHECK_EQ (hdr_size (&p, wp0), 0);
        CHECK_EQ (hdr_seq (&p, wp0), 0);
        CHECK_EQ (wc1, wc0 + 2);
      } else
        CHECK_EQ (wc1, wc0 + 1);
    }
    if (p.P - wp1 >= 1 && p.P - wp1 <= 15) {
      fprintf (stderr, "frame %" PRIu64 " left a %" PRIu64 "-byte tail\n",
          seq, p.P - wp1);
      CHECK (0);
      bad++;
    }
    CHECK (wp1 <= p.P);
    CHECK (zbt_get (&p.m, OFF_PAYLOAD_FREE) <= p.P);
    seq++;
    /* Read now and then, so the ring is often partly full. */
    if ((rng >> 20) % 3 == 0)
      drain (&p, &next_read);
  }
  drain (&p, &next_read);
  CHECK_EQ (next_read, seq);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), p.P);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), zbt_get (&p.m, OFF_READ_COUNT));
  CHECK_EQ (zbt_get (&p.m, OFF_READ_POS) % p.P,
      zbt_get (&p.m, OFF_WRITE_POS) % p.P);
  pair_close (&p);
}

/* Compact placement (zb_writer_options.compact_bytes): with a reader that
 * keeps up, frames stay within the first compact bytes plus one frame,
 * each early wrap a marker as any wrap. */
static void
test_compact_keeping_up (void)
{
  const size_t len = 984;       /* footprint 1000 */
  const uint64_t W = 2000;
  pair p;
  zb_writer_stats ws;
  zb_frame f;
  uint64_t seq, wp, max_end = 0;

  pair_open (&p, 16000);
  zb_writer_set_compact (p.w, W);
  for (seq = 1; seq <= 200; seq++) {
    CHECK_RC (write_seq (&p, len, seq, 1000), 0);
    wp = zbt_get (&p.m, OFF_WRITE_POS);
    if (wp > max_end)
      max_end = wp;
    REQUIRE_RC (zb_reader_acquire (p.r, &f, 1000), 0);
    CHECK_EQ (f.sequence, seq);
    CHECK (f.size == len && zbt_verify (f.data, f.size, seq));
    CHECK_RC (zb_reader_release (p.r, &f), 0);
  }
  /* frames at 0, 1000 and 2000 only: the one at 2000 wraps before it */
  CHECK (max_end <= W + 1000);
  zb_writer_get_stats (p.w, &ws);
  zbt_note ("compact, keeping up: write_pos at most %llu, %llu wraps, "
      "%llu early", (unsigned long long) max_end,
      (unsigned long long) ws.wraps, (unsigned long long) ws.early_wraps);
  CHECK (ws.early_wraps > 0 && ws.early_wraps == ws.wraps);
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), p.P);
  pair_close (&p);
}

/* The number of frames a writer can put in before the ring is full once
 * the reader stops, then all read back in order. */
static uint64_t
fill_count (uint64_t compact, uint64_t keep)
{
  const size_t len = 984;
  pair p;
  zb_frame f, cur, held;
  uint64_t n = 0, i;

  pair_open (&p, 16000);
  zb_writer_set_compact (p.w, compact);
  /* A stretch of keeping up first, holding the last frame as a sink that
   * keeps its last sample does, so the writer is somewhere inside its
   * window; then the reader stops, still holding one. */
  for (i = 1; i <= keep; i++) {
    CHECK_RC (write_seq (&p, len, i, 1000), 0);
    REQUIRE_RC (zb_reader_acquire (p.r, &cur, 1000), 0);
    if (i > 1)
      CHECK_RC (zb_reader_release (p.r, &held), 0);
    held = cur;
  }
  while (write_seq (&p, len, keep + 1 + n, 0) == ZB_OK)
    n++;
  CHECK_RC (zb_reader_release (p.r, &held), 0);
  for (i = 0; i < n; i++) {
    REQUIRE_RC (zb_reader_acquire (p.r, &f, 1000), 0);
    CHECK_EQ (f.sequence, keep + 1 + i);
    CHECK (zbt_verify (f.data, f.size, keep + 1 + i));
    CHECK_RC (zb_reader_release (p.r, &f), 0);
  }
  CHECK_RC (zb_reader_acquire (p.r, &f, 0), ZB_ETIMEDOUT);
  pair_close (&p);
  return n;
}

static void
test_compact_capacity (void)
{
  uint64_t keep, n, seq_min = UINT64_MAX, compact_min = UINT64_MAX;

  /* The reader stops after 2..9 frames: at every phase of the writer's
   * cycle, once just after an early wrap. */
  for (keep = 2; keep <= 9; keep++) {
    n = fill_count (0, keep);
    seq_min = n < seq_min ? n : seq_min;
    n = fill_count (2000, keep);
    compact_min = n < compact_min ? n : compact_min;
  }
  zbt_note ("frames a stopped reader leaves room for, at worst: %llu "
      "sequential, %llu compact", (unsigned long long) seq_min,
      (unsigned long long) compact_min);
  CHECK_EQ (seq_min, 15);
  /* The documented cost: a reader that stops just after an early wrap has
   * not passed its marker, and the skipped tail stays used; the writer
   * then has room for as little as the frame it wrapped with. */
  CHECK (compact_min >= 1);
  CHECK (compact_min < seq_min);
}

/* A 16000-byte ring, a compact window of two 1000-byte frames: frames 1
 * and 2 written and read, 2 still held (*held), as a sink keeping its
 * last sample does.  The next frame wraps early. */
static void
compact_prime (pair * p, zb_frame * held)
{
  zb_frame f1;

  pair_open (p, 16000);
  zb_writer_set_compact (p->w, 2000);
  CHECK_RC (write_seq (p, 984, 1, 1000), 0);
  REQUIRE_RC (zb_reader_acquire (p->r, &f1, 1000), 0);
  CHECK_RC (write_seq (p, 984, 2, 1000), 0);
  REQUIRE_RC (zb_reader_acquire (p->r, held, 1000), 0);
  CHECK_RC (zb_reader_release (p->r, &f1), 0);
}

/* Early wrap's tail in the writer's stats: counted as used in free_bytes
 * until the reader has passed the marker and released the frame before
 * it, and reported as unread_tail meanwhile. */
static void
test_compact_unread_tail (void)
{
  const size_t len = 984;       /* footprint 1000 */
  pair p;
  zb_writer_stats ws;
  zb_reader_stats rs;
  zb_frame f2, f3;

  compact_prime (&p, &f2);
  zb_writer_get_stats (p.w, &ws);
  CHECK_EQ (ws.unread_tail, 0);
  /* frame 3 goes back to 0: the 14000 bytes from 2000 on are skipped */
  CHECK_RC (write_seq (&p, len, 3, 1000), 0);
  CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 1000);
  zb_writer_get_stats (p.w, &ws);
  CHECK_EQ (ws.early_wraps, 1);
  CHECK_EQ (ws.unread_tail, 14000);
  /* used: frame 2 (held), the tail, frame 3 (unread) */
  CHECK_EQ (ws.free_bytes, 16000 - 1000 - 14000 - 1000);
  /* read past the marker, still holding frame 2: ours gives space back
   * in ring order, so the tail is still out, and says so */
  REQUIRE_RC (zb_reader_acquire (p.r, &f3, 1000), 0);
  CHECK_EQ (f3.sequence, 3);
  zb_writer_get_stats (p.w, &ws);
  CHECK_EQ (ws.unread_tail, 14000);
  zb_reader_get_stats (p.r, &rs);
  CHECK_EQ (rs.held_tail_bytes, 14000);
  CHECK_EQ (rs.held_bytes, 1000 + 14000 + 1000);
  CHECK_RC (zb_reader_release (p.r, &f2), 0);
  zb_writer_get_stats (p.w, &ws);
  CHECK_EQ (ws.unread_tail, 0);
  zb_reader_get_stats (p.r, &rs);
  CHECK_EQ (rs.held_tail_bytes, 0);
  CHECK_EQ (ws.free_bytes, 16000 - 1000);
  CHECK_RC (zb_reader_release (p.r, &f3), 0);
  pair_close (&p);
}

/* Whether compact placement is still paused: no early wrap since @early.
 * Judged only while the 1 s pause from @t0 surely lasts; returns whether
 * it was. */
static int
compact_still_paused (pair * p, uint64_t early, int64_t t0)
{
  zb_writer_stats ws;

  if (zbt_now_ms () - t0 >= 900) {
    zbt_note ("compact pause not judged: the test took %lld ms",
        (long long) (zbt_now_ms () - t0));
    return 0;
  }
  zb_writer_get_stats (p->w, &ws);
  CHECK_EQ (ws.early_wraps, early);
  return 1;
}

/* A reader that holds the writer up behind an early wrap pauses compact
 * placement: after 2 ms of waiting (timeout 50), or at once for a call
 * that may not wait that long (timeout 0, as zerosink's on-full=drop, and
 * 1 ms).  The same stall counts once, however many calls meet it: here a
 * failed reservation (as zerosink's pool tries), then the write.  Paused,
 * the next frames go on round the ring. */
static void
test_compact_stall_pauses (void)
{
  const size_t len = 984;       /* footprint 1000 */
  const int timeouts[] = { 50, 0, 1 };
  unsigned k;

  for (k = 0; k < sizeof timeouts / sizeof timeouts[0]; k++) {
    pair p;
    zb_writer_stats ws;
    zb_frame f2, f;
    uint64_t seq, early;
    int64_t t0;
    void *payload;

    compact_prime (&p, &f2);
    CHECK_RC (write_seq (&p, len, 3, 1000), 0);    /* early wrap */
    /* frame 4 needs the room of frame 2, which the reader holds */
    t0 = zbt_now_ms ();
    CHECK_RC (zb_writer_reserve (p.w, len, &payload, timeouts[k]),
        ZB_ETIMEDOUT);
    zb_writer_get_stats (p.w, &ws);
    CHECK_EQ (ws.compact_stalls, 1);
    CHECK_RC (write_seq (&p, len, 4, timeouts[k]), ZB_ETIMEDOUT);
    zb_writer_get_stats (p.w, &ws);
    CHECK_EQ (ws.compact_stalls, 1);
    early = ws.early_wraps;
    CHECK_EQ (early, 1);
    CHECK_RC (zb_reader_release (p.r, &f2), 0);
    REQUIRE_RC (zb_reader_acquire (p.r, &f, 1000), 0);
    CHECK_EQ (f.sequence, 3);
    CHECK_RC (zb_reader_release (p.r, &f), 0);
    /* Paused for 1 s: frames keep up with the reader but go on past the
     * window (judged only if this ran within the second). */
    for (seq = 4; seq <= 10; seq++) {
      CHECK_RC (write_seq (&p, len, seq, timeouts[k]), 0);
      REQUIRE_RC (zb_reader_acquire (p.r, &f, 1000), 0);
      CHECK_EQ (f.sequence, seq);
      CHECK_RC (zb_reader_release (p.r, &f), 0);
    }
    if (compact_still_paused (&p, early, t0))
      CHECK_EQ (zbt_get (&p.m, OFF_WRITE_POS), 8000);
    zb_writer_get_stats (p.w, &ws);
    CHECK_EQ (ws.compact_stalls, 1);
    pair_close (&p);
  }
}

/* A reader holding frames and releasing them out of order, against a
 * compact writer: every frame arrives once, in order, intact; the space
 * a held frame keeps is never written. */
static void
test_compact_out_of_order (void)
{
  const size_t len = 484;       /* footprint 500 */
  pair p;
  zb_frame f[3];
  uint64_t seq = 1, next = 1;
  int round, k, got;
  static const int order[3] = { 1, 0, 2 };

  pair_open (&p, 8000);
  zb_writer_set_compact (p.w, 1500);
  for (round = 0; round < 300; round++) {
    /* 1..3 frames a round: write what fits, then read them all */
    int want = 1 + round % 3;

    for (k = 0; k < want; k++)
      if (write_seq (&p, len, seq, 0) == ZB_OK)
        seq++;
    for (got = 0; got < 3 && next < seq; got++, next++) {
      REQUIRE_RC (zb_reader_acquire (p.r, &f[got], 1000), 0);
      CHECK_EQ (f[got].sequence, next);
    }
    /* check while all are held, then release out of order */
    for (k = 0; k < got; k++)
      CHECK (zbt_verify (f[k].data, f[k].size, f[k].sequence));
    for (k = 0; k < 3; k++)
      if (order[k] < got)
        CHECK_RC (zb_reader_release (p.r, &f[order[k]]), 0);
  }
  CHECK (seq > 300);
  {
    zb_writer_stats ws;

    zb_writer_get_stats (p.w, &ws);
    zbt_note ("out of order: %llu frames, %llu early wraps",
        (unsigned long long) (seq - 1), (unsigned long long) ws.early_wraps);
    CHECK (ws.early_wraps > 0);
  }
  pair_close (&p);
}

/* The upstream reader's algorithm, on raw bytes (zerobuffer-v1.md,
 * "Reader"): the header at read_pos, a {0,0} marker sends it to 0 and
 * gives back the tail at once; space goes back per frame as released, in
 * whatever order.  Our zb_reader stays idle beside it (it made the
 * buffer). */
typedef struct
{
  uint64_t rpos, expect;
} upstream_reader;

/* Reads the next frame if one is published: its offset in the ring in
 * *off, its size in *len; 0 when there is none yet. */
static int
upstream_read (pair * p, upstream_reader * u, uint64_t * off, uint64_t * len)
{
  uint64_t size, seq;

  if (zbt_get (&p->m, OFF_WRITTEN_COUNT) <= zbt_get (&p->m, OFF_READ_COUNT))
    return 0;
  size = hdr_size (p, u->rpos);
  if (size == 0) {
    zbt_atomic_add (&p->m, OFF_PAYLOAD_FREE, (int64_t) (p->P - u->rpos));
    u->rpos = 0;
    zbt_set (&p->m, OFF_READ_COUNT, zbt_get (&p->m, OFF_READ_COUNT) + 1);
    size = hdr_size (p, 0);
  }
  seq = hdr_seq (p, u->rpos);
  CHECK_EQ (seq, u->expect);
  u->expect++;
  *off = u->rpos;
  *len = size;
  u->rpos = (u->rpos + 16 + size) % p->P;
  zbt_set (&p->m, OFF_READ_POS, u->rpos);
  zbt_set (&p->m, OFF_READ_COUNT, zbt_get (&p->m, OFF_READ_COUNT) + 1);
  return 1;
}

static void
upstream_release (pair * p, uint64_t len)
{
  zbt_atomic_add (&p->m, OFF_PAYLOAD_FREE, (int64_t) (16 + len));
}

/* A compact writer against the upstream reader: every frame, in order,
 * intact, whether it releases each frame at once or holds two and gives
 * them back in reverse order. */
static void
test_compact_upstream_reader (void)
{
  const size_t len = 984;
  int hold;

  for (hold = 0; hold < 2; hold++) {
    pair p;
    upstream_reader u = { 0, 1 };
    uint64_t seq, off, got, held[2], held_seq[2], nheld = 0, early;
    zb_writer_stats ws;

    pair_open (&p, 16000);
    zb_writer_set_compact (p.w, 2000);
    for (seq = 1; seq <= 300; seq++) {
      CHECK_RC (write_seq (&p, len, seq, 1000), 0);
      REQUIRE (upstream_read (&p, &u, &off, &got) == 1);
      CHECK (got == len && zbt_verify (p.m.base + POFF + off + 16, got,
              seq));
      if (!hold) {
        upstream_release (&p, got);
        continue;
      }
      held[nheld] = off;
      held_seq[nheld++] = seq;
      if (nheld == 2) {
        /* the writer went on meanwhile: the held frames are untouched */
        CHECK (zbt_verify (p.m.base + POFF + held[0] + 16, len, held_seq[0]));
        upstream_release (&p, len);
        upstream_release (&p, len);
        nheld = 0;
      }
    }
    while (nheld > 0) {
      nheld--;
      upstream_release (&p, len);
    }
    CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), p.P);
    zb_writer_get_stats (p.w, &ws);
    early = ws.early_wraps;
    zbt_note ("compact writer, upstream reader%s: 300 frames, %llu early "
        "wraps, %llu reuses of the start", hold ? " holding two" : "",
        (unsigned long long) early, (unsigned long long) ws.reuses);
    CHECK (early > 0);
    /* A reader that gives each frame back before the next is written
     * gets them all at the start, over the one before (after a short
     * wait for it, which one CPU does not make); one that holds frames
     * makes every wait fail. */
    if (hold)
      CHECK_EQ (ws.reuses, 0);
    else if (sysconf (_SC_NPROCESSORS_ONLN) > 1)
      CHECK_EQ (ws.reuses, 299);
    pair_close (&p);
  }
}

int
main (void)
{
  test_basic ();
  test_wrap_marker ();
  test_short_tail ();
  test_exact_end ();
  test_too_large ();
  test_reserve ();
  test_commit_shrink_at_end ();
  test_long_run ();
  test_compact_keeping_up ();
  test_compact_capacity ();
  test_compact_out_of_order ();
  test_compact_unread_tail ();
  test_compact_stall_pauses ();
  test_compact_upstream_reader ();
  return zbt_result ();
}
