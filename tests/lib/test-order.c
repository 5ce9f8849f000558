/* Out-of-order release (quirk 2): space goes back to the writer only in ring
 * order, so a held frame is never overwritten; frames held across
 * zb_reader_close() stay readable.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "zbtest.h"

typedef struct
{
  char name[64];
  zb_reader *r;
  zb_writer *w;
  zbt_shm m;
} pair;

static void
pair_open (pair * p, uint64_t P)
{
  zb_reader_options opts = { 64, P, 0 };

  zbt_name (p->name, sizeof p->name, "order");
  REQUIRE_RC (zb_reader_create (&p->r, p->name, &opts), 0);
  REQUIRE_RC (zb_writer_open (&p->w, p->name, 1000), 0);
  REQUIRE (zbt_shm_map (p->name, &p->m) == 0);
}

static void
pair_close (pair * p)
{
  zb_writer_close (p->w);
  zb_reader_close (p->r);
  zbt_shm_unmap (&p->m);
  CHECK (zbt_all_gone (p->name));
}

static int
put (pair * p, size_t len, uint64_t seq, int timeout)
{
  uint8_t buf[1024];

  zbt_fill (buf, len, seq);
  return zb_writer_write (p->w, buf, len, timeout);
}

/* Current count of the "space free" semaphore. */
static int
sem_r_value (pair * p)
{
  char s[128];
  sem_t *sem;
  int v = -1;

  snprintf (s, sizeof s, "/sem-r-%s", p->name);
  sem = sem_open (s, 0);
  if (sem == SEM_FAILED)
    return -1;
  sem_getvalue (sem, &v);
  sem_close (sem);
  return v;
}

static uint64_t
free_bytes (pair * p)
{
  return zbt_get (&p->m, OFF_PAYLOAD_FREE);
}

static void
test_ring_order (void)
{
  pair p;
  zb_frame a, b, c;
  zb_reader_stats rs;

  pair_open (&p, 1024);
  CHECK_RC (put (&p, 100, 1, 0), 0);
  CHECK_RC (put (&p, 100, 2, 0), 0);
  CHECK_RC (put (&p, 100, 3, 0), 0);
  CHECK_RC (zb_reader_acquire (p.r, &a, 0), 0);
  CHECK_RC (zb_reader_acquire (p.r, &b, 0), 0);
  CHECK_RC (zb_reader_acquire (p.r, &c, 0), 0);
  CHECK_EQ (free_bytes (&p), 1024 - 348);
  zb_reader_get_stats (p.r, &rs);
  CHECK_EQ (rs.held, 3);
  CHECK_EQ (rs.held_bytes, 348);

  CHECK_RC (zb_reader_release (p.r, &b), 0);
  CHECK_EQ (free_bytes (&p), 1024 - 348);
  CHECK_RC (zb_reader_release (p.r, &c), 0);
  CHECK_EQ (free_bytes (&p), 1024 - 348);
  zb_reader_get_stats (p.r, &rs);
  CHECK_EQ (rs.held, 1);
  CHECK_EQ (rs.held_bytes, 348);
  CHECK (zbt_verify (a.data, 100, 1) < 0);
  {
    int v0 = sem_r_value (&p);

    CHECK_RC (zb_reader_release (p.r, &a), 0);
    /* Space came back: a waiting writer (upstream ones too) is woken. */
    CHECK (sem_r_value (&p) > v0);
  }
  CHECK_EQ (free_bytes (&p), 1024);
  zb_reader_get_stats (p.r, &rs);
  CHECK_EQ (rs.held, 0);
  CHECK_EQ (rs.held_bytes, 0);
  CHECK_EQ (rs.free_bytes, 1024);
  pair_close (&p);
}

/* A full ring where only the oldest frame is still held: the writer must
 * keep waiting, and frame 1 must stay intact. */
static void
test_oldest_blocks (void)
{
  pair p;
  zb_frame f[4];
  int i;
  double t0;

  pair_open (&p, 1024);
  for (i = 0; i < 4; i++)
    CHECK_RC (put (&p, 240, i + 1, 0), 0);
  CHECK_EQ (free_bytes (&p), 0);
  for (i = 0; i < 4; i++)
    CHECK_RC (zb_reader_acquire (p.r, &f[i], 0), 0);
  for (i = 3; i >= 1; i--)
    CHECK_RC (zb_reader_release (p.r, &f[i]), 0);
  CHECK_EQ (free_bytes (&p), 0);
  CHECK_RC (put (&p, 240, 5, 0), ZB_ETIMEDOUT);
  CHECK_RC (put (&p, 10, 5, 0), ZB_ETIMEDOUT);
  t0 = zbt_now_ms ();
  CHECK_RC (put (&p, 10, 5, 200), ZB_ETIMEDOUT);
  CHECK (zbt_now_ms () - t0 >= 180);
  CHECK (zbt_verify (f[0].data, 240, 1) < 0);
  CHECK_RC (zb_reader_release (p.r, &f[0]), 0);
  CHECK_EQ (free_bytes (&p), 1024);
  CHECK_RC (put (&p, 240, 5, 0), 0);
  CHECK_RC (zb_reader_acquire (p.r, &f[0], 0), 0);
  CHECK_EQ (f[0].sequence, 5);
  CHECK (zbt_verify (f[0].data, 240, 5) < 0);
  CHECK_RC (zb_reader_release (p.r, &f[0]), 0);
  pair_close (&p);
}

/* A wrap tail between held frames goes back with them, in order. */
static void
test_tail_in_ledger (void)
{
  pair p;
  zb_frame a, b, c;

  pair_open (&p, 1024);
  CHECK_RC (put (&p, 484, 1, 0), 0);
  CHECK_RC (put (&p, 484, 2, 0), 0);
  CHECK_RC (zb_reader_acquire (p.r, &a, 0), 0);
  CHECK_RC (zb_reader_acquire (p.r, &b, 0), 0);
  CHECK_RC (zb_reader_release (p.r, &a), 0);
  CHECK_EQ (free_bytes (&p), 524);
  /* 24-byte tail: marker, then frame 3 at 0. */
  CHECK_RC (put (&p, 100, 3, 0), 0);
  CHECK_EQ (free_bytes (&p), 524 - 24 - 116);
  CHECK_RC (zb_reader_acquire (p.r, &c, 0), 0);
  CHECK_EQ (c.sequence, 3);
  CHECK_RC (zb_reader_release (p.r, &c), 0);
  /* Frame 2 (before the tail) is still held: nothing comes back. */
  CHECK_EQ (free_bytes (&p), 524 - 24 - 116);
  CHECK (zbt_verify (b.data, 484, 2) < 0);
  CHECK_RC (zb_reader_release (p.r, &b), 0);
  CHECK_EQ (free_bytes (&p), 1024);
  pair_close (&p);
}

/* Hundreds of held frames (the ledger grows and wraps), released in a
 * scrambled order: after every release the free bytes are exactly the ring
 * minus everything from the oldest frame still held onward. */
#define MANY 400
static void
test_many_held (void)
{
  pair p;
  static zb_frame f[MANY];
  static int released[MANY];
  static uint64_t T[MANY];
  uint64_t P, rng = 1234, base;
  int i, n, oldest = 0, bad = 0;

  pair_open (&p, 16384);
  P = zbt_get (&p.m, OFF_PAYLOAD_SIZE);
  /* Move the ledger's head off 0 first. */
  for (i = 0; i < 37; i++) {
    zb_frame g;

    CHECK_RC (put (&p, 1 + i, 1000 + i, 0), 0);
    CHECK_RC (zb_reader_acquire (p.r, &g, 0), 0);
    CHECK_RC (zb_reader_release (p.r, &g), 0);
  }
  base = 38;
  for (i = 0; i < MANY; i++) {
    size_t len = 1 + (size_t) (i % 7) * 3;

    CHECK_RC (put (&p, len, base + i, 0), 0);
    CHECK_RC (zb_reader_acquire (p.r, &f[i], 0), 0);
    T[i] = 16 + len;
  }
  CHECK_EQ (f[MANY - 1].sequence, base + MANY - 1);
  for (n = 0; n < MANY && bad < 5; n++) {
    uint64_t want = P;

    do {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      i = (int) ((rng >> 33) % MANY);
    } while (released[i]);
    if (zbt_verify (f[i].data, f[i].size, f[i].sequence) >= 0) {
      fprintf (stderr, "held frame %" PRIu64 " was changed\n", f[i].sequence);
      CHECK (0);
      bad++;
    }
    CHECK_RC (zb_reader_release (p.r, &f[i]), 0);
    released[i] = 1;
    while (oldest < MANY && released[oldest])
      oldest++;
    for (i = oldest; i < MANY; i++)
      want -= T[i];
    if (zbt_get (&p.m, OFF_PAYLOAD_FREE) != want) {
      fprintf (stderr, "after %d releases: free %" PRIu64 ", want %" PRIu64
          "\n", n + 1, zbt_get (&p.m, OFF_PAYLOAD_FREE), want);
      CHECK (0);
      bad++;
    }
  }
  CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), P);
  pair_close (&p);
}

/* zb_reader_close() with frames held: the objects go, the memory stays
 * until the last release. */
static void
test_close_with_held (void)
{
  pair p;
  zb_frame a, b;
  zb_reader *r2 = NULL;
  zb_reader_options opts = { 64, 1024, 0 };

  pair_open (&p, 1024);
  CHECK_RC (put (&p, 300, 1, 0), 0);
  CHECK_RC (put (&p, 200, 2, 0), 0);
  CHECK_RC (zb_reader_acquire (p.r, &a, 0), 0);
  CHECK_RC (zb_reader_acquire (p.r, &b, 0), 0);
  zb_reader_close (p.r);
  CHECK (zbt_all_gone (p.name));
  CHECK_RC (put (&p, 10, 3, 0), ZB_EREADERGONE);
  /* The name is free again at once. */
  CHECK_RC (zb_reader_create (&r2, p.name, &opts), 0);
  zb_reader_close (r2);
  CHECK (zbt_verify (a.data, 300, 1) < 0);
  CHECK (zbt_verify (b.data, 200, 2) < 0);
  CHECK_RC (zb_reader_release (p.r, &b), 0);
  CHECK (zbt_verify (a.data, 300, 1) < 0);
  /* The last release frees the reader (ASan checks the rest). */
  CHECK_RC (zb_reader_release (p.r, &a), 0);
  zb_writer_close (p.w);
  zbt_shm_unmap (&p.m);
  CHECK (zbt_all_gone (p.name));
}

int
main (void)
{
  test_ring_order ();
  test_oldest_blocks ();
  test_tail_in_ledger ();
  test_many_held ();
  test_close_with_held ();
  return zbt_result ();
}
