/* Our reader against an upstream-style writer, emulated with raw bytes:
 * implicit wraps (quirk 1), markers, frames ending at P (quirk 10), a silent
 * close (quirk 8), inflated counts (quirk 12), corrupt and hostile values
 * (quirk 3) and the pid fallback for a writer without our lock (quirk 6).
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "zbtest.h"

typedef struct
{
  char name[64];
  zb_reader *r;
  zbt_emu e;
} rig;

static void
rig_open (rig * g, uint64_t pid)
{
  zb_reader_options opts = { 64, 1024, 0 };

  memset (g, 0, sizeof *g);
  zbt_name (g->name, sizeof g->name, "compat");
  REQUIRE_RC (zb_reader_create (&g->r, g->name, &opts), 0);
  REQUIRE (zbt_emu_attach (&g->e, g->name, pid) == 0);
  REQUIRE (g->e.P == 1024);
}

static void
rig_close (rig * g)
{
  zb_reader_close (g->r);
  zbt_emu_detach (&g->e);
  CHECK (zbt_all_gone (g->name));
}

static uint64_t
oieb (rig * g, size_t off)
{
  return zbt_get (&g->e.m, off);
}

/* Acquire, check size, sequence and content, release. */
static void
expect_frame (rig * g, size_t len, uint64_t seq)
{
  zb_frame f;

  CHECK_RC (zb_reader_acquire (g->r, &f, 1000), 0);
  CHECK_EQ (f.size, len);
  CHECK_EQ (f.sequence, seq);
  if (f.size == len && f.data)
    CHECK (zbt_verify (f.data, len, seq) < 0);
  CHECK_RC (zb_reader_release (g->r, &f), 0);
}

static void
test_basic (void)
{
  rig g;

  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 100);
  zbt_emu_frame (&g.e, 1);
  expect_frame (&g, 100, 1);
  CHECK_EQ (oieb (&g, OFF_READ_POS), 116);
  CHECK_EQ (oieb (&g, OFF_READ_COUNT), 1);
  expect_frame (&g, 1, 2);
  CHECK_EQ (oieb (&g, OFF_READ_POS), 133);
  CHECK_EQ (oieb (&g, OFF_READ_COUNT), 2);
  CHECK_EQ (oieb (&g, OFF_PAYLOAD_FREE), 1024);
  rig_close (&g);
}

/* Quirk 1: 1..15 bytes left and no marker: read on at 0. */
static void
test_implicit_wrap (void)
{
  static const uint64_t tails[] = { 1, 8, 15 };
  size_t i;

  for (i = 0; i < 3; i++) {
    rig g;
    zb_frame a, b;

    rig_open (&g, getpid ());
    zbt_emu_frame (&g.e, 1024 - 16 - tails[i]);
    expect_frame (&g, 1024 - 16 - tails[i], 1);
    CHECK_EQ (oieb (&g, OFF_PAYLOAD_FREE), 1024);
    zbt_emu_wrap_silent (&g.e, 0);
    zbt_emu_frame (&g.e, 100);
    zbt_emu_frame (&g.e, 200);
    CHECK_RC (zb_reader_acquire (g.r, &a, 1000), 0);
    CHECK_EQ (a.sequence, 2);
    CHECK_EQ (a.size, 100);
    if (a.data && a.size == 100)
      CHECK (zbt_verify (a.data, 100, 2) < 0);
    /* The implicit wrap is not counted. */
    CHECK_EQ (oieb (&g, OFF_READ_COUNT), 2);
    CHECK_EQ (oieb (&g, OFF_READ_POS), 116);
    CHECK_RC (zb_reader_acquire (g.r, &b, 1000), 0);
    CHECK_EQ (b.sequence, 3);
    /* Space goes back in ring order only; the tail in front of the first
     * held frame may go back at once. */
    CHECK_RC (zb_reader_release (g.r, &b), 0);
    {
      uint64_t fb = oieb (&g, OFF_PAYLOAD_FREE);

      CHECK (fb == 1024 - 116 - 216 || fb == 1024 - tails[i] - 116 - 216);
    }
    CHECK_RC (zb_reader_release (g.r, &a), 0);
    CHECK_EQ (oieb (&g, OFF_PAYLOAD_FREE), 1024);
    rig_close (&g);
  }
}

static void
test_marker (void)
{
  rig g;

  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 984);
  expect_frame (&g, 984, 1);
  zbt_emu_wrap_marker (&g.e);
  zbt_emu_frame (&g.e, 100);
  expect_frame (&g, 100, 2);
  CHECK_EQ (oieb (&g, OFF_READ_COUNT), 3);
  CHECK_EQ (oieb (&g, OFF_READ_POS), 116);
  CHECK_EQ (oieb (&g, OFF_PAYLOAD_FREE), 1024);
  /* A marker with a 16-byte tail exactly. */
  zbt_emu_frame (&g.e, 1024 - 116 - 16 - 16);
  expect_frame (&g, 1024 - 116 - 16 - 16, 3);
  CHECK_EQ (g.e.wpos, 1024 - 16);
  zbt_emu_wrap_marker (&g.e);
  zbt_emu_frame (&g.e, 10);
  expect_frame (&g, 10, 4);
  CHECK_EQ (oieb (&g, OFF_READ_COUNT), 6);
  CHECK_EQ (oieb (&g, OFF_PAYLOAD_FREE), 1024);
  rig_close (&g);
}

/* Quirk 10: write_pos == P, then on at 0 without a marker. */
static void
test_exact_end (void)
{
  rig g;

  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 496);
  zbt_emu_frame (&g.e, 496);
  CHECK_EQ (oieb (&g, OFF_WRITE_POS), 1024);
  expect_frame (&g, 496, 1);
  expect_frame (&g, 496, 2);
  zbt_emu_wrap_silent (&g.e, 0);
  zbt_emu_frame (&g.e, 50);
  expect_frame (&g, 50, 3);
  CHECK_EQ (oieb (&g, OFF_READ_COUNT), 3);
  CHECK_EQ (oieb (&g, OFF_READ_POS), 66);
  CHECK_EQ (oieb (&g, OFF_PAYLOAD_FREE), 1024);
  /* One frame filling the whole ring. */
  rig_close (&g);
  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 1024 - 16);
  expect_frame (&g, 1024 - 16, 1);
  zbt_emu_wrap_silent (&g.e, 0);
  zbt_emu_frame (&g.e, 1024 - 16);
  expect_frame (&g, 1024 - 16, 2);
  CHECK_EQ (oieb (&g, OFF_PAYLOAD_FREE), 1024);
  rig_close (&g);
}

/* Quirk 8: an upstream writer posts nothing when it leaves. */
static void
test_silent_close (void)
{
  rig g;
  zb_frame f;
  double t0, dt;

  /* The reader saw the writer attached, then it wrote and left. */
  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 10);
  expect_frame (&g, 10, 1);
  zbt_emu_frame (&g.e, 20);
  zbt_emu_frame (&g.e, 30);
  zbt_set (&g.e.m, OFF_WRITER_PID, 0);
  expect_frame (&g, 20, 2);
  expect_frame (&g, 30, 3);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (g.r, &f, ZBT_LONG_MS), ZB_EOS);
  dt = zbt_now_ms () - t0;
  zbt_note ("EOS after a silent close: %.0f ms", dt);
  CHECK (dt < ZBT_PROMPT_MS);
  CHECK_RC (zb_reader_acquire (g.r, &f, 1000), ZB_EOS);
  rig_close (&g);

  /* A fast writer: attached, wrote and left before the reader looked. */
  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 10);
  zbt_emu_frame (&g.e, 20);
  zbt_set (&g.e.m, OFF_WRITER_PID, 0);
  expect_frame (&g, 10, 1);
  expect_frame (&g, 20, 2);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (g.r, &f, ZBT_LONG_MS), ZB_EOS);
  dt = zbt_now_ms () - t0;
  zbt_note ("EOS after a fast silent writer: %.0f ms", dt);
  CHECK (dt < ZBT_PROMPT_MS);
  rig_close (&g);
}

/* Quirk 12: the Python writer counts every wrap, marker or not. */
static void
test_inflated_count (void)
{
  rig g;
  zb_frame f;
  double t0, dt;

  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 1000);
  expect_frame (&g, 1000, 1);
  zbt_emu_wrap_silent (&g.e, 1);
  zbt_emu_frame (&g.e, 100);
  zbt_emu_frame (&g.e, 880);
  expect_frame (&g, 100, 2);
  expect_frame (&g, 880, 3);
  zbt_emu_wrap_silent (&g.e, 1);        /* 12-byte tail */
  zbt_emu_frame (&g.e, 5);
  zbt_set (&g.e.m, OFF_WRITER_PID, 0);
  CHECK_EQ (oieb (&g, OFF_WRITTEN_COUNT), 6);
  expect_frame (&g, 5, 4);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (g.r, &f, ZBT_LONG_MS), ZB_EOS);
  dt = zbt_now_ms () - t0;
  zbt_note ("EOS with written_count %" PRIu64 " > read_count %" PRIu64
      ": %.0f ms", oieb (&g, OFF_WRITTEN_COUNT), oieb (&g, OFF_READ_COUNT), dt);
  CHECK (dt < ZBT_PROMPT_MS);
  CHECK_EQ (oieb (&g, OFF_PAYLOAD_FREE), 1024);
  rig_close (&g);
}

/* Write just a header (and account T bytes) at the emulator's position. */
static void
raw_header (rig * g, uint64_t size, uint64_t seq, uint64_t account)
{
  zbt_emu_header (&g->e, g->e.wpos, size, seq);
  zbt_atomic_add (&g->e.m, OFF_PAYLOAD_FREE, -(int64_t) account);
  zbt_set (&g->e.m, OFF_WRITTEN_COUNT, oieb (g, OFF_WRITTEN_COUNT) + 1);
  sem_post (g->e.sem_w);
}

static void
expect_corrupt (rig * g, const char *what)
{
  zb_frame f;
  /* A long timeout, so that a wait shows in expect_corrupt_now(). */
  int rc = zb_reader_acquire (g->r, &f, ZBT_LONG_MS);

  if (rc != ZB_ECORRUPT) {
    fprintf (stderr, "%s: acquire returned %s, want ZB_ECORRUPT\n", what,
        zb_status_name (rc));
    CHECK (0);
    if (rc == 0)
      zb_reader_release (g->r, &f);
  }
}

static void
test_corrupt (void)
{
  rig g;
  zb_frame f;

  /* Sequence jump. */
  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 10);
  expect_frame (&g, 10, 1);
  zbt_emu_frame_raw (&g.e, 10, 3, 1);
  expect_corrupt (&g, "sequence 1 then 3");
  rig_close (&g);

  /* Sequence that starts wrong. */
  rig_open (&g, getpid ());
  zbt_emu_frame_raw (&g.e, 10, 7, 1);
  expect_corrupt (&g, "first sequence 7");
  rig_close (&g);

  /* A header claiming more than the ring holds. */
  rig_open (&g, getpid ());
  raw_header (&g, 2000, 1, 116);
  expect_corrupt (&g, "size 2000 in a 1024 ring");
  rig_close (&g);

  /* Sizes that overflow pos + 16 + size. */
  rig_open (&g, getpid ());
  raw_header (&g, UINT64_MAX - 8, 1, 116);
  expect_corrupt (&g, "size 2^64-9");
  rig_close (&g);
  rig_open (&g, getpid ());
  raw_header (&g, UINT64_MAX, 1, 116);
  expect_corrupt (&g, "size 2^64-1");
  rig_close (&g);

  /* One byte past the end at a later position; exactly to the end is
   * fine (quirk 10). */
  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 100);
  expect_frame (&g, 100, 1);
  raw_header (&g, 1024 - 116 - 16 + 1, 2, 1024 - 116);
  expect_corrupt (&g, "frame one byte past the end");
  rig_close (&g);
  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 100);
  expect_frame (&g, 100, 1);
  zbt_emu_frame (&g.e, 1024 - 116 - 16);
  expect_frame (&g, 1024 - 116 - 16, 2);
  rig_close (&g);

  /* A wrap marker at position 0 would loop forever. */
  rig_open (&g, getpid ());
  raw_header (&g, 0, 0, 116);
  expect_corrupt (&g, "marker at 0");
  rig_close (&g);

  /* A marker followed by another marker at 0. */
  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 984);
  expect_frame (&g, 984, 1);
  zbt_emu_wrap_marker (&g.e);
  raw_header (&g, 0, 0, 116);
  expect_corrupt (&g, "marker, then marker at 0");
  rig_close (&g);

  /* Implicit wrap onto a header with the wrong sequence. */
  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 1000);
  expect_frame (&g, 1000, 1);
  zbt_emu_wrap_silent (&g.e, 0);
  zbt_emu_frame_raw (&g.e, 100, 9, 1);
  expect_corrupt (&g, "implicit wrap onto sequence 9");
  rig_close (&g);

  /* payload_free_bytes larger than the ring. */
  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 100);
  zbt_set (&g.e.m, OFF_PAYLOAD_FREE, 1024 + 100);
  sem_post (g.e.sem_w);
  expect_corrupt (&g, "free bytes > P");
  rig_close (&g);
  rig_open (&g, getpid ());
  zbt_set (&g.e.m, OFF_PAYLOAD_FREE, UINT64_MAX);
  sem_post (g.e.sem_w);
  expect_corrupt (&g, "free bytes 2^64-1");
  rig_close (&g);

  /* Free bytes that would give back what the reader still holds. */
  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 100);
  CHECK_RC (zb_reader_acquire (g.r, &f, 1000), 0);
  zbt_set (&g.e.m, OFF_PAYLOAD_FREE, 1024);
  sem_post (g.e.sem_w);
  expect_corrupt (&g, "free bytes include a held frame");
  zb_reader_release (g.r, &f);
  rig_close (&g);

  /* A writer that closes with half a frame published. */
  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 10);
  expect_frame (&g, 10, 1);
  zbt_atomic_add (&g.e.m, OFF_PAYLOAD_FREE, -8);
  zbt_set (&g.e.m, OFF_WRITER_PID, 0);
  {
    int rc = zb_reader_acquire (g.r, &f, ZBT_LONG_MS);

    CHECK (rc == ZB_ECORRUPT || rc == ZB_EOS);
    zbt_note ("writer left 8 stray bytes: %s", zb_status_name (rc));
  }
  rig_close (&g);
}

/* An upstream writer's frame one step at a time, in the order of
 * docs/protocol.md: header and payload, write_pos, payload_free_bytes,
 * written_count; a wrap first gives up its tail (marker, free bytes,
 * write_pos = 0).  Until the free bytes cover it a frame is not there yet
 * (a wait, never corruption), and once they do it is whole, whatever
 * write_pos and written_count say. */
static void
test_mid_publish (void)
{
  rig g;
  zb_frame f;
  uint8_t *ring;

  rig_open (&g, getpid ());
  ring = g.e.m.base + g.e.payload_off;

  /* Frame 1, 100 bytes at 0. */
  zbt_emu_header (&g.e, 0, 100, 1);
  zbt_fill (ring + 16, 100, 1);
  sem_post (g.e.sem_w);
  CHECK_RC (zb_reader_acquire (g.r, &f, 0), ZB_ETIMEDOUT);
  zbt_set (&g.e.m, OFF_WRITE_POS, 116);
  sem_post (g.e.sem_w);
  CHECK_RC (zb_reader_acquire (g.r, &f, 0), ZB_ETIMEDOUT);
  zbt_atomic_add (&g.e.m, OFF_PAYLOAD_FREE, -116);
  expect_frame (&g, 100, 1);    /* written_count still 0 */
  zbt_set (&g.e.m, OFF_WRITTEN_COUNT, 1);
  g.e.wpos = 116;
  g.e.seq = 2;

  /* Frame 2 ends at 932, leaving a 92-byte tail. */
  zbt_emu_frame (&g.e, 800);
  expect_frame (&g, 800, 2);

  /* Frame 3 (100 bytes) wraps with a marker: the tail goes first. */
  zbt_emu_wrap_marker (&g.e);
  CHECK_RC (zb_reader_acquire (g.r, &f, 0), ZB_ETIMEDOUT);
  zbt_emu_header (&g.e, 0, 100, 3);
  zbt_fill (ring + 16, 100, 3);
  zbt_set (&g.e.m, OFF_WRITE_POS, 116);
  sem_post (g.e.sem_w);
  CHECK_RC (zb_reader_acquire (g.r, &f, 0), ZB_ETIMEDOUT);
  zbt_atomic_add (&g.e.m, OFF_PAYLOAD_FREE, -116);
  expect_frame (&g, 100, 3);
  zbt_set (&g.e.m, OFF_WRITTEN_COUNT, oieb (&g, OFF_WRITTEN_COUNT) + 1);
  g.e.wpos = 116;
  g.e.seq = 4;

  /* Frame 4 ends at 1016, leaving 8 bytes: frame 5 wraps silently. */
  zbt_emu_frame (&g.e, 1016 - 116 - 16);
  expect_frame (&g, 1016 - 116 - 16, 4);
  zbt_emu_wrap_silent (&g.e, 0);
  CHECK_RC (zb_reader_acquire (g.r, &f, 0), ZB_ETIMEDOUT);
  zbt_emu_frame (&g.e, 50);
  expect_frame (&g, 50, 5);
  CHECK_EQ (oieb (&g, OFF_PAYLOAD_FREE), 1024);
  rig_close (&g);
}

/* Honest writers publish a frame's header and payload together, so bytes
 * published up to the middle of a frame are corruption, reported at once
 * with the values, not a wait. */
static void
expect_corrupt_now (rig * g, const char *what, const char *detail)
{
  double t0 = zbt_now_ms (), dt;

  expect_corrupt (g, what);
  dt = zbt_now_ms () - t0;
  if (dt >= ZBT_PROMPT_MS || strstr (zb_last_error (), detail) == NULL) {
    fprintf (stderr, "%s: after %.0f ms, detail '%s' (want '%s')\n", what,
        dt, zb_last_error (), detail);
    CHECK (0);
  }
}

static void
test_published_short (void)
{
  rig g;

  /* A header for 100 bytes, published with 50 of them. */
  rig_open (&g, getpid ());
  raw_header (&g, 100, 1, 16 + 50);
  expect_corrupt_now (&g, "payload past the published bytes",
      "100 bytes of payload, but only 66 bytes");
  rig_close (&g);

  /* The same after a frame and a wrap marker. */
  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 900);
  expect_frame (&g, 900, 1);
  zbt_emu_wrap_marker (&g.e);
  raw_header (&g, 200, 2, 16 + 199);
  expect_corrupt_now (&g, "payload past the published bytes after a wrap",
      "200 bytes of payload, but only 215 bytes");
  rig_close (&g);

  /* Less than a header published. */
  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 10);
  expect_frame (&g, 10, 1);
  raw_header (&g, 10, 2, 8);
  expect_corrupt_now (&g, "half a header", "only 8 bytes published");
  rig_close (&g);

  /* Part of a 1..15-byte tail (an implicit wrap). */
  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 1016 - 16);
  expect_frame (&g, 1016 - 16, 1);
  zbt_atomic_add (&g.e.m, OFF_PAYLOAD_FREE, -5);
  sem_post (g.e.sem_w);
  expect_corrupt_now (&g, "part of a short tail", "only 5 of the 8-byte tail");
  rig_close (&g);
}

/* Quirk 6 fallback: a writer without our lock is judged by its pid. */
static void
test_pid_fallback (void)
{
  rig g;
  zb_frame f;
  double t0, dt;
  pid_t dead = zbt_dead_pid ();

  /* Alive (our own pid) but idle: a timeout, never "gone". */
  rig_open (&g, getpid ());
  zbt_emu_frame (&g.e, 10);
  expect_frame (&g, 10, 1);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (g.r, &f, 400), ZB_ETIMEDOUT);
  dt = zbt_now_ms () - t0;
  CHECK (dt >= 380 && dt < ZBT_PROMPT_MS);
  rig_close (&g);

  /* A dead pid: the frames it finished are still delivered, then gone. */
  REQUIRE (dead > 0);
  rig_open (&g, (uint64_t) dead);
  zbt_emu_frame (&g.e, 10);
  zbt_emu_frame (&g.e, 20);
  expect_frame (&g, 10, 1);
  expect_frame (&g, 20, 2);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (g.r, &f, ZBT_LONG_MS), ZB_EWRITERGONE);
  dt = zbt_now_ms () - t0;
  zbt_note ("upstream writer with a dead pid detected after %.0f ms", dt);
  CHECK (dt < ZBT_PROMPT_MS);
  rig_close (&g);
}

int
main (void)
{
  test_basic ();
  test_implicit_wrap ();
  test_marker ();
  test_exact_end ();
  test_silent_close ();
  test_inflated_count ();
  test_corrupt ();
  test_mid_publish ();
  test_published_short ();
  test_pid_fallback ();
  return zbt_result ();
}
