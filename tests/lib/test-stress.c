/* Backpressure with frames released out of order from another thread while
 * the writer keeps writing (quirk 2): every frame must still hold exactly
 * what was written when it is released, i.e. the writer never overwrote a
 * frame in use, and the stream ends cleanly with all space returned.
 *
 * Three threads: a writer (write and reserve/commit, varying sizes), the
 * reader (acquires, checks, holds up to K frames) and a releaser (releases
 * handed-over frames in scrambled order after checking them again).
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "zbtest.h"

#include <pthread.h>

#define NFRAMES 100000
#define QCAP 64

static zb_reader *reader;
static zb_writer *writer;
static uint64_t ring_size;

/* Hand-over queue from the reader to the releaser. */
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static zb_frame queue[QCAP];
static int qlen, qdone;
static atomic_ullong released, overwritten;

static uint64_t
rng_next (uint64_t * s)
{
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return *s >> 33;
}

static void *
writer_run (void *arg)
{
  uint64_t rng = 42, seq;
  size_t max = zb_writer_max_frame_size (writer), len;
  uint8_t *buf = malloc (max);
  int rc;

  (void) arg;
  for (seq = 1; seq <= NFRAMES; seq++) {
    /* Mostly small frames, now and then one of up to a quarter ring. */
    len = 1 + rng_next (&rng) % (seq % 13 == 0 ? max / 2 : 300);
    if (seq % 5 == 0) {
      void *p;

      rc = zb_writer_reserve (writer, len + 7, &p, ZBT_LONG_MS);
      if (rc == 0) {
        zbt_fill (p, len, seq);
        rc = zb_writer_commit (writer, len);
      }
    } else {
      zbt_fill (buf, len, seq);
      rc = zb_writer_write (writer, buf, len, ZBT_LONG_MS);
    }
    if (rc != 0) {
      fprintf (stderr, "writer: frame %" PRIu64 " (%zu bytes): %s (%s)\n",
          seq, len, zb_status_name (rc), zb_last_error ());
      atomic_fetch_add (&zbt_failures, 1);
      break;
    }
  }
  free (buf);
  zb_writer_close (writer);
  return NULL;
}

static void *
releaser_run (void *arg)
{
  uint64_t rng = 7;

  (void) arg;
  pthread_mutex_lock (&qlock);
  for (;;) {
    zb_frame f;
    int i;

    while (qlen == 0 && !qdone)
      pthread_cond_wait (&qcond, &qlock);
    if (qlen == 0 && qdone)
      break;
    /* Scrambled order: any frame in the queue. */
    i = (int) (rng_next (&rng) % (uint64_t) qlen);
    f = queue[i];
    queue[i] = queue[--qlen];
    pthread_cond_broadcast (&qcond);
    pthread_mutex_unlock (&qlock);

    if (zbt_verify (f.data, f.size, f.sequence) >= 0) {
      if (atomic_fetch_add (&overwritten, 1) < 5)
        fprintf (stderr, "frame %" PRIu64 " (%zu bytes) was overwritten "
            "while held\n", f.sequence, f.size);
    }
    if (zb_reader_release (reader, &f) != 0) {
      fprintf (stderr, "release of frame %" PRIu64 ": %s\n", f.sequence,
          zb_last_error ());
      atomic_fetch_add (&zbt_failures, 1);
    }
    atomic_fetch_add (&released, 1);
    pthread_mutex_lock (&qlock);
  }
  pthread_mutex_unlock (&qlock);
  return NULL;
}

static void
hand_over (const zb_frame * f)
{
  pthread_mutex_lock (&qlock);
  while (qlen == QCAP)
    pthread_cond_wait (&qcond, &qlock);
  queue[qlen++] = *f;
  pthread_cond_broadcast (&qcond);
  pthread_mutex_unlock (&qlock);
}

int
main (int argc, char **argv)
{
  zb_reader_options opts;
  char name[64];
  pthread_t tw, tr;
  zb_frame held[8];
  int nheld = 0, k = 1, rc;
  uint64_t expect = 1, rng = 99, bytes = 0;
  zbt_shm m;

  zbt_parse_args (argc, argv);
  opts = zbt_reader_options (64, 16384);
  zbt_name (name, sizeof name, "stress");
  REQUIRE_RC (zb_reader_create (&reader, name, &opts), 0);
  REQUIRE_RC (zbt_writer_open (&writer, name, 1000), 0);
  REQUIRE (zbt_shm_map (name, &m) == 0);
  ring_size = zbt_get (&m, OFF_PAYLOAD_SIZE);
  REQUIRE (pthread_create (&tr, NULL, releaser_run, NULL) == 0);
  REQUIRE (pthread_create (&tw, NULL, writer_run, NULL) == 0);

  for (;;) {
    zb_frame f;
    double t0 = zbt_now_ms ();

    rc = zb_reader_acquire (reader, &f, 20);
    if (rc == ZB_ETIMEDOUT) {
      /* The writer may be waiting for what we hold: give it all up. */
      while (nheld > 0)
        hand_over (&held[--nheld]);
      rc = zb_reader_acquire (reader, &f, ZBT_LONG_MS);
      if (zbt_now_ms () - t0 > 5000)
        fprintf (stderr, "stalled for %.0f ms\n", zbt_now_ms () - t0);
    }
    if (rc != 0)
      break;
    if (f.sequence != expect) {
      fprintf (stderr, "got frame %" PRIu64 ", expected %" PRIu64 "\n",
          f.sequence, expect);
      CHECK (0);
      expect = f.sequence;
    }
    expect++;
    bytes += f.size;
    if (zbt_verify (f.data, f.size, f.sequence) >= 0) {
      fprintf (stderr, "frame %" PRIu64 " wrong at acquire\n", f.sequence);
      CHECK (0);
    }
    held[nheld++] = f;
    /* Hold 1..8 frames, then hand a random part of them over; the rest
     * stay with us a while longer (older than what the releaser gets). */
    if (nheld >= k) {
      int i, give = 1 + (int) (rng_next (&rng) % (uint64_t) nheld);

      for (i = 0; i < give; i++) {
        int j = (int) (rng_next (&rng) % (uint64_t) nheld);

        hand_over (&held[j]);
        held[j] = held[--nheld];
      }
      k = 1 + (int) (rng_next (&rng) % 8);
    }
  }
  CHECK_RC (rc, ZB_EOS);
  CHECK_EQ (expect, NFRAMES + 1);
  while (nheld > 0)
    hand_over (&held[--nheld]);
  pthread_mutex_lock (&qlock);
  qdone = 1;
  pthread_cond_broadcast (&qcond);
  pthread_mutex_unlock (&qlock);
  pthread_join (tw, NULL);
  pthread_join (tr, NULL);

  CHECK_EQ (atomic_load (&released), NFRAMES);
  CHECK_EQ (atomic_load (&overwritten), 0);
  CHECK_EQ (zbt_get (&m, OFF_PAYLOAD_FREE), ring_size);
  {
    zb_reader_stats rs;

    zb_reader_get_stats (reader, &rs);
    CHECK_EQ (rs.frames, NFRAMES);
    CHECK_EQ (rs.bytes, bytes);
    CHECK_EQ (rs.held, 0);
    CHECK_EQ (rs.held_bytes, 0);
  }
  zbt_note ("%d frames, %" PRIu64 " bytes, released out of order from "
      "another thread", NFRAMES, bytes);
  zbt_shm_unmap (&m);
  zb_reader_close (reader);
  CHECK (zbt_all_gone (name));
  return zbt_result ();
}
