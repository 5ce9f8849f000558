/* The writer's view of a buffer that is not (yet) right: the start-up race
 * (quirk 11), half-made buffers, foreign versions, lying headers.  Buffers
 * are made by hand with shm_open + sem_open, as an upstream reader would.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "zbtest.h"

#define FM 64
#define FP 1024
#define FSIZE (128 + FM + FP)

/* A complete upstream-style buffer: shm, sems, held lock file, OIEB. */
static void
fake_full (zbt_fake * f, uint32_t oieb_size, uint8_t major, uint8_t minor)
{
  char name[64];

  zbt_name (name, sizeof name, "startup");
  REQUIRE (zbt_fake_shm (f, name, FSIZE) == 0);
  REQUIRE (zbt_fake_sems (f) == 0);
  REQUIRE (zbt_fake_lockfile (f) == 0);
  zbt_fake_oieb (f, oieb_size, major, minor, FM, FP, getpid ());
}

/* Open with a timeout and return the status; *ms gets the time taken. */
static int
open_rc (const char *name, int timeout, double *ms)
{
  zb_writer *w = NULL;
  double t0 = zbt_now_ms ();
  int rc = zb_writer_open (&w, name, timeout);

  *ms = zbt_now_ms () - t0;
  if (w)
    zb_writer_close (w);
  return rc;
}

static void
test_half_made (void)
{
  zbt_fake f;
  char name[64];
  double ms;
  int rc;

  /* Created, not sized yet. */
  zbt_name (name, sizeof name, "startup");
  REQUIRE (zbt_fake_shm (&f, name, 0) == 0);
  rc = open_rc (name, 300, &ms);
  CHECK (rc == ZB_ENOTFOUND || rc == ZB_ENOREADER);
  CHECK (ms >= 280 && ms < ZBT_PROMPT_MS);
  zbt_fake_destroy (&f);

  /* Sized and zero-filled: oieb_size 0 means "not there yet", never a
   * version error. */
  zbt_name (name, sizeof name, "startup");
  REQUIRE (zbt_fake_shm (&f, name, FSIZE) == 0);
  REQUIRE (zbt_fake_sems (&f) == 0);
  rc = open_rc (name, 300, &ms);
  if (rc != ZB_ENOTFOUND && rc != ZB_ENOREADER) {
    fprintf (stderr, "half-made buffer: %s\n", zb_status_name (rc));
    CHECK (0);
  }
  CHECK (ms >= 280 && ms < ZBT_PROMPT_MS);
  zbt_fake_destroy (&f);

  /* A valid header but the semaphores are not there yet. */
  zbt_name (name, sizeof name, "startup");
  REQUIRE (zbt_fake_shm (&f, name, FSIZE) == 0);
  zbt_fake_oieb (&f, 128, 1, 0, FM, FP, getpid ());
  rc = open_rc (name, 300, &ms);
  CHECK (rc == ZB_ENOTFOUND || rc == ZB_ENOREADER);
  CHECK (ms >= 280 && ms < ZBT_PROMPT_MS);
  zbt_fake_destroy (&f);

  /* Valid but without a reader: reader_pid 0, or a dead one. */
  fake_full (&f, 128, 1, 0);
  zbt_set (&f.m, OFF_READER_PID, 0);
  rc = open_rc (f.name, 300, &ms);
  CHECK_RC (rc, ZB_ENOREADER);
  CHECK (ms >= 280 && ms < ZBT_PROMPT_MS);
  zbt_set (&f.m, OFF_READER_PID, (uint64_t) zbt_dead_pid ());
  rc = open_rc (f.name, 300, &ms);
  CHECK_RC (rc, ZB_ENOREADER);
  CHECK (ms >= 280 && ms < ZBT_PROMPT_MS);
  /* The writer that gave up left no trace. */
  CHECK_EQ (zbt_get (&f.m, OFF_WRITER_PID), 0);
  zbt_fake_destroy (&f);
}

/* The buffer becomes valid while the writer waits (a child finishes it). */
static void
test_completed_while_waiting (void)
{
  zbt_fake f;
  char name[64];
  pid_t child;
  int status = -1;
  zb_writer *w = NULL;
  double t0, ms;

  zbt_name (name, sizeof name, "startup");
  REQUIRE (zbt_fake_shm (&f, name, FSIZE) == 0);
  child = fork ();
  REQUIRE (child >= 0);
  if (child == 0) {
    /* Semaphores first, header last, like our reader does. */
    zbt_sleep_ms (150);
    if (zbt_fake_sems (&f) < 0)
      _exit (1);
    zbt_sleep_ms (100);
    zbt_fake_oieb (&f, 128, 1, 0, FM, FP, getppid ());
    _exit (0);
  }
  t0 = zbt_now_ms ();
  CHECK_RC (zb_writer_open (&w, name, ZBT_LONG_MS), 0);
  ms = zbt_now_ms () - t0;
  waitpid (child, &status, 0);
  CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  zbt_note ("writer connected %.0f ms after it started waiting", ms);
  /* Once the child is done (250 ms), promptly. */
  CHECK (ms >= 200 && ms < 250 + ZBT_PROMPT_MS);
  if (w) {
    uint8_t buf[10];

    zbt_fill (buf, sizeof buf, 1);
    CHECK_RC (zb_writer_write (w, buf, sizeof buf, 1000), 0);
    CHECK_EQ (zbt_le64 (f.m.base + 128 + FM), 10);
    CHECK_EQ (zbt_le64 (f.m.base + 128 + FM + 8), 1);
    CHECK (zbt_verify (f.m.base + 128 + FM + 16, 10, 1) < 0);
    CHECK_EQ (zbt_get (&f.m, OFF_WRITER_PID), getpid ());
    zb_writer_close (w);
    CHECK_EQ (zbt_get (&f.m, OFF_WRITER_PID), 0);
  }
  zbt_fake_destroy (&f);
}

/* A real reader created by a child after the writer started waiting. */
static void
test_writer_first (void)
{
  char name[64];
  pid_t child;
  int status = -1;
  zb_writer *w = NULL;
  double t0, ms;
  uint8_t buf[100];

  zbt_name (name, sizeof name, "startup");
  child = fork ();
  REQUIRE (child >= 0);
  if (child == 0) {
    zb_reader_options opts = { FM, FP, 0 };
    zb_reader *r = NULL;
    zb_frame fr;
    int ok;

    zbt_sleep_ms (200);
    if (zb_reader_create (&r, name, &opts) != 0)
      _exit (2);
    ok = zb_reader_acquire (r, &fr, ZBT_LONG_MS) == 0 && fr.size == 100
        && fr.sequence == 1 && zbt_verify (fr.data, 100, 1) < 0;
    if (ok)
      zb_reader_release (r, &fr);
    zb_reader_close (r);
    _exit (ok ? 0 : 3);
  }
  t0 = zbt_now_ms ();
  CHECK_RC (zb_writer_open (&w, name, ZBT_LONG_MS), 0);
  ms = zbt_now_ms () - t0;
  zbt_note ("writer started first, connected after %.0f ms", ms);
  CHECK (ms >= 150);
  if (w) {
    zbt_fill (buf, sizeof buf, 1);
    CHECK_RC (zb_writer_write (w, buf, sizeof buf, 1000), 0);
  }
  waitpid (child, &status, 0);
  CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  zb_writer_close (w);
  CHECK (zbt_all_gone (name));
}

static void
test_versions (void)
{
  zbt_fake f;
  double ms;
  int rc;

  /* Wrong OIEB size: refused at once, not waited for. */
  fake_full (&f, 64, 1, 0);
  CHECK_RC (open_rc (f.name, ZBT_LONG_MS, &ms), ZB_EVERSION);
  CHECK (ms < ZBT_PROMPT_MS);
  zbt_fake_destroy (&f);
  fake_full (&f, 256, 1, 0);
  CHECK_RC (open_rc (f.name, ZBT_LONG_MS, &ms), ZB_EVERSION);
  CHECK (ms < ZBT_PROMPT_MS);
  zbt_fake_destroy (&f);

  /* Major version 2 (and 0): refused. */
  fake_full (&f, 128, 2, 0);
  CHECK_RC (open_rc (f.name, ZBT_LONG_MS, &ms), ZB_EVERSION);
  CHECK (ms < ZBT_PROMPT_MS);
  CHECK_EQ (zbt_get (&f.m, OFF_WRITER_PID), 0);
  zbt_fake_destroy (&f);
  fake_full (&f, 128, 0, 0);
  rc = open_rc (f.name, ZBT_LONG_MS, &ms);
  CHECK_RC (rc, ZB_EVERSION);
  zbt_fake_destroy (&f);

  /* A newer minor version of 1 is compatible. */
  fake_full (&f, 128, 1, 5);
  {
    zb_writer *w = NULL;

    CHECK_RC (zb_writer_open (&w, f.name, 1000), 0);
    if (w) {
      CHECK_RC (zb_writer_write (w, "hi", 2, 1000), 0);
      CHECK_EQ (zbt_le64 (f.m.base + 128 + FM), 2);
      zb_writer_close (w);
    }
  }
  zbt_fake_destroy (&f);
}

/* Headers that lie about sizes and positions: refused, never a crash. */
static void
test_lying_headers (void)
{
  zbt_fake f;
  char name[64];
  double ms;
  int rc;

  /* Mapping smaller than the header claims. */
  zbt_name (name, sizeof name, "startup");
  REQUIRE (zbt_fake_shm (&f, name, 128 + FM + FP / 2) == 0);
  REQUIRE (zbt_fake_sems (&f) == 0);
  REQUIRE (zbt_fake_lockfile (&f) == 0);
  zbt_fake_oieb (&f, 128, 1, 0, FM, FP, getpid ());
  CHECK_RC (open_rc (name, ZBT_LONG_MS, &ms), ZB_ECORRUPT);
  CHECK (ms < ZBT_PROMPT_MS);
  zbt_fake_destroy (&f);

  /* M + P overflowing 64 bits. */
  fake_full (&f, 128, 1, 0);
  zbt_set (&f.m, OFF_META_SIZE, 1ull << 63);
  zbt_set (&f.m, OFF_PAYLOAD_SIZE, 1ull << 63);
  CHECK_RC (open_rc (f.name, ZBT_LONG_MS, &ms), ZB_ECORRUPT);
  zbt_set (&f.m, OFF_META_SIZE, UINT64_MAX - 127);
  zbt_set (&f.m, OFF_PAYLOAD_SIZE, 256);
  CHECK_RC (open_rc (f.name, ZBT_LONG_MS, &ms), ZB_ECORRUPT);
  zbt_fake_destroy (&f);

  /* A ring of 0 bytes: refused, or at least never written into. */
  fake_full (&f, 128, 1, 0);
  zbt_set (&f.m, OFF_PAYLOAD_SIZE, 0);
  zbt_set (&f.m, OFF_PAYLOAD_FREE, 0);
  {
    zb_writer *w = NULL;

    rc = zb_writer_open (&w, f.name, 300);
    if (rc == 0) {
      rc = zb_writer_write (w, "x", 1, 100);
      CHECK (rc != 0);
      zb_writer_close (w);
    }
    CHECK (rc != 0);
  }
  zbt_fake_destroy (&f);

  /* write_pos past the ring. */
  fake_full (&f, 128, 1, 0);
  zbt_set (&f.m, OFF_WRITE_POS, FP + 500);
  {
    zb_writer *w = NULL;

    rc = zb_writer_open (&w, f.name, 300);
    if (rc == 0) {
      rc = zb_writer_write (w, "x", 1, 100);
      zb_writer_close (w);
    }
    CHECK_RC (rc, ZB_ECORRUPT);
  }
  zbt_fake_destroy (&f);

  /* write_pos inside the last 15 bytes (an upstream reader would never
   * leave that, but a hostile one might): no crash, no write past P. */
  fake_full (&f, 128, 1, 0);
  zbt_set (&f.m, OFF_WRITE_POS, FP - 8);
  zbt_set (&f.m, OFF_READ_POS, FP - 8);
  {
    zb_writer *w = NULL;

    rc = zb_writer_open (&w, f.name, 300);
    if (rc == 0) {
      rc = zb_writer_write (w, "abc", 3, 100);
      zbt_note ("write with write_pos = P - 8: %s", zb_status_name (rc));
      if (rc == 0) {
        /* Placed at 0, after an implicit wrap. */
        CHECK_EQ (zbt_le64 (f.m.base + 128 + FM), 3);
        CHECK_EQ (zbt_get (&f.m, OFF_WRITE_POS), 19);
      }
      zb_writer_close (w);
    }
  }
  zbt_fake_destroy (&f);

  /* payload_free_bytes larger than the ring. */
  fake_full (&f, 128, 1, 0);
  zbt_set (&f.m, OFF_PAYLOAD_FREE, FP * 10);
  {
    zb_writer *w = NULL;

    rc = zb_writer_open (&w, f.name, 300);
    if (rc == 0) {
      rc = zb_writer_write (w, "x", 1, 100);
      zb_writer_close (w);
    }
    CHECK_RC (rc, ZB_ECORRUPT);
  }
  zbt_fake_destroy (&f);

  /* ... and becoming so while the writer waits for space. */
  fake_full (&f, 128, 1, 0);
  zbt_set (&f.m, OFF_PAYLOAD_FREE, 10);
  {
    zb_writer *w = NULL;

    CHECK_RC (zb_writer_open (&w, f.name, 300), 0);
    if (w) {
      CHECK_RC (zb_writer_write (w, "0123456789", 10, 0), ZB_ETIMEDOUT);
      zbt_set (&f.m, OFF_PAYLOAD_FREE, UINT64_MAX - 5);
      CHECK_RC (zb_writer_write (w, "0123456789", 10, 300), ZB_ECORRUPT);
      zb_writer_close (w);
    }
  }
  zbt_fake_destroy (&f);
}

/* Writer slot: an upstream writer (no lock) with a live pid is busy; a
 * dead one is stale and may be replaced. */
static void
test_writer_slot (void)
{
  zbt_fake f;
  double ms;
  zb_writer *w = NULL;

  fake_full (&f, 128, 1, 0);
  zbt_set (&f.m, OFF_WRITER_PID, (uint64_t) getppid ());
  CHECK_RC (open_rc (f.name, ZBT_LONG_MS, &ms), ZB_EWRITERBUSY);
  CHECK (ms < ZBT_PROMPT_MS);
  CHECK_EQ (zbt_get (&f.m, OFF_WRITER_PID), getppid ());
  zbt_set (&f.m, OFF_WRITER_PID, (uint64_t) zbt_dead_pid ());
  CHECK_RC (zb_writer_open (&w, f.name, 1000), 0);
  CHECK_EQ (zbt_get (&f.m, OFF_WRITER_PID), getpid ());
  zb_writer_close (w);
  zbt_fake_destroy (&f);
}

/* A reader taking over a name from upstream-style leftovers: a live
 * upstream reader (lock file held) keeps its name; dead leftovers (lock
 * file free, reader pid gone) are cleared (upstream scenario 3.1). */
static void
test_takeover (void)
{
  zb_reader_options opts = { FM, FP, 0 };
  zb_reader *r = NULL;
  zbt_fake f;
  zbt_shm m;

  fake_full (&f, 128, 1, 0);
  CHECK_RC (zb_reader_create (&r, f.name, &opts), ZB_EEXIST);
  CHECK (r == NULL);
  /* The refused reader touched nothing of the live one. */
  CHECK_EQ (zbt_get (&f.m, OFF_READER_PID), getpid ());
  CHECK_EQ (zbt_le32 (f.m.base + OFF_OIEB_SIZE), 128);
  CHECK (zbt_all_exist (f.name));

  /* Now it dies: lock released, pid gone, objects left behind. */
  close (f.lock_fd);
  f.lock_fd = -1;
  zbt_set (&f.m, OFF_READER_PID, (uint64_t) zbt_dead_pid ());
  CHECK_RC (zb_reader_create (&r, f.name, &opts), 0);
  if (r) {
    REQUIRE (zbt_shm_map (f.name, &m) == 0);
    CHECK_EQ (zbt_get (&m, OFF_READER_PID), getpid ());
    CHECK_EQ (zbt_get (&m, OFF_PAYLOAD_FREE), FP);
    zbt_shm_unmap (&m);
    zb_reader_close (r);
  }
  CHECK (zbt_all_gone (f.name));
  zbt_fake_destroy (&f);

  /* Only a stray lock file, or only stray semaphores. */
  {
    char name[64], p[512];
    int fd;

    zbt_name (name, sizeof name, "startup");
    zbt_path_lock (p, sizeof p, name);
    mkdir ("/tmp/zerobuffer", 01777);
    fd = open (p, O_CREAT | O_RDWR, 0600);
    CHECK (fd >= 0);
    if (fd >= 0)
      close (fd);
    CHECK_RC (zb_reader_create (&r, name, &opts), 0);
    zb_reader_close (r);
    CHECK (zbt_all_gone (name));

    zbt_name (name, sizeof name, "startup");
    REQUIRE (zbt_fake_shm (&f, name, FSIZE) == 0);
    REQUIRE (zbt_fake_sems (&f) == 0);
    zbt_shm_unmap (&f.m);
    shm_unlink (name);
    CHECK_RC (zb_reader_create (&r, name, &opts), 0);
    zb_reader_close (r);
    CHECK (zbt_all_gone (name));
    zbt_fake_destroy (&f);
  }
}

int
main (void)
{
  test_half_made ();
  test_completed_while_waiting ();
  test_writer_first ();
  test_versions ();
  test_lying_headers ();
  test_writer_slot ();
  test_takeover ();
  return zbt_result ();
}
