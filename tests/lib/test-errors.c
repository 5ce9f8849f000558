/* Error paths of the API without threads: missing buffers, busy names,
 * timeouts and their bounds, end of stream, a reader that went away, and
 * the error details (zb_last_error(), zb_reader_last_error(),
 * zb_writer_last_error()).
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "zbtest.h"

#include <sys/time.h>

static zb_reader *
make_reader (char *name, size_t len, uint64_t P)
{
  zb_reader_options opts = { 64, P, 0 };
  zb_reader *r = NULL;

  zbt_name (name, len, "errors");
  REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
  REQUIRE (r != NULL);
  return r;
}

static void
test_not_found (void)
{
  char name[64];
  zb_writer *w = NULL;
  double t0, dt;

  zbt_name (name, sizeof name, "errors");
  t0 = zbt_now_ms ();
  CHECK_RC (zb_writer_open (&w, name, 0), ZB_ENOTFOUND);
  dt = zbt_now_ms () - t0;
  CHECK (dt < ZBT_PROMPT_MS);
  CHECK (w == NULL);
  CHECK (strstr (zb_last_error (), name) != NULL);

  t0 = zbt_now_ms ();
  CHECK_RC (zb_writer_open (&w, name, 300), ZB_ENOTFOUND);
  dt = zbt_now_ms () - t0;
  zbt_note ("writer_open(missing, 300 ms) returned after %.0f ms", dt);
  CHECK (dt >= 280 && dt < ZBT_PROMPT_MS);
  CHECK (w == NULL);
  /* Waiting for a buffer creates nothing. */
  CHECK (zbt_all_gone (name));
  {
    zb_info info;

    CHECK_RC (zb_inspect (name, &info), ZB_ENOTFOUND);
  }
}

static void
test_eexist (void)
{
  char name[64];
  zb_reader *r = make_reader (name, sizeof name, 4096), *r2 = NULL;
  zb_reader_options opts = { 64, 4096, 0 };
  zb_writer *w = NULL;
  zb_frame f;
  zbt_shm m;

  CHECK_RC (zb_reader_create (&r2, name, &opts), ZB_EEXIST);
  CHECK (r2 == NULL);
  /* Different sizes do not matter either. */
  opts.payload_size = 8192;
  CHECK_RC (zb_reader_create (&r2, name, &opts), ZB_EEXIST);
  CHECK (zbt_all_exist (name));
  /* The first reader is untouched and works. */
  REQUIRE (zbt_shm_map (name, &m) == 0);
  CHECK_EQ (zbt_get (&m, OFF_PAYLOAD_SIZE), 4096);
  CHECK_EQ (zbt_get (&m, OFF_READER_PID), getpid ());
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_RC (zb_writer_write (w, "abc", 3, 1000), 0);
  CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
  CHECK_EQ (f.size, 3);
  CHECK_RC (zb_reader_release (r, &f), 0);
  zb_writer_close (w);
  zbt_shm_unmap (&m);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

static void
test_writer_busy (void)
{
  char name[64];
  zb_reader *r = make_reader (name, sizeof name, 4096);
  zb_writer *w = NULL, *w2 = NULL;
  zbt_shm m;
  double t0;
  zb_frame f;

  REQUIRE (zbt_shm_map (name, &m) == 0);
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  /* Let the reader see this writer attached, so that its close is EOS. */
  CHECK_RC (zb_reader_wait_writer (r, 0), 0);
  CHECK_RC (zb_writer_open (&w2, name, 0), ZB_EWRITERBUSY);
  CHECK (w2 == NULL);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_writer_open (&w2, name, ZBT_LONG_MS), ZB_EWRITERBUSY);
  CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
  CHECK_EQ (zbt_get (&m, OFF_WRITER_PID), getpid ());
  /* The refused writer did not disturb the attached one. */
  CHECK_RC (zb_writer_write (w, "a", 1, 1000), 0);
  zb_writer_close (w);
  CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
  CHECK_RC (zb_reader_release (r, &f), 0);
  CHECK_RC (zb_reader_acquire (r, &f, 1000), ZB_EOS);
  /* Once it left, another writer may attach; after EOS its frames (which
   * start again at sequence 1) are a new stream. */
  CHECK_RC (zb_writer_open (&w2, name, 1000), 0);
  if (w2) {
    CHECK_RC (zb_writer_write (w2, "b", 1, 1000), 0);
    CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
    CHECK_EQ (f.sequence, 1);
    CHECK (f.size == 1 && f.data && ((const char *) f.data)[0] == 'b');
    CHECK_RC (zb_reader_release (r, &f), 0);
    zb_writer_close (w2);
    CHECK_RC (zb_reader_acquire (r, &f, 1000), ZB_EOS);
  }
  zbt_shm_unmap (&m);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

/* A writer leaves and a new one attaches before the reader has drained the
 * first one's frames: the second stream starts again at sequence 1.  The
 * reader must deliver every frame of both, not call it corruption. */
static void
test_quick_writer_restart (void)
{
  char name[64];
  zb_reader *r = make_reader (name, sizeof name, 4096);
  zb_writer *w = NULL;
  zb_frame f;
  const char *want[] = { "a1", "a2", "b1" };
  int got = 0, eos = 0, rc, i;

  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_RC (zb_reader_wait_writer (r, 0), 0);
  CHECK_RC (zb_writer_write (w, "a1", 2, 1000), 0);
  CHECK_RC (zb_writer_write (w, "a2", 2, 1000), 0);
  zb_writer_close (w);
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_RC (zb_writer_write (w, "b1", 2, 1000), 0);
  for (i = 0; i < 10 && got < 3; i++) {
    rc = zb_reader_acquire (r, &f, 1000);
    if (rc == ZB_EOS) {
      eos++;
      continue;
    }
    CHECK_RC (rc, 0);
    if (rc != 0)
      break;
    CHECK (f.size == 2 && memcmp (f.data, want[got], 2) == 0);
    got++;
    zb_reader_release (r, &f);
  }
  zbt_note ("quick writer restart: %d of 3 frames, %d EOS in between", got,
      eos);
  CHECK_EQ (got, 3);
  zb_writer_close (w);
  CHECK_RC (zb_reader_acquire (r, &f, 1000), ZB_EOS);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

/* The detail of the last failure names the buffer and says that the
 * reader closed, died or changed. */
static int
says_reader_left (const char *name, const char *how)
{
  char want[64];
  const char *e = zb_last_error ();

  snprintf (want, sizeof want, "the reader %s", how);
  if (strstr (e, name) && strstr (e, want))
    return 1;
  fprintf (stderr, "  detail '%s' does not say '%s: %s'\n", e, name, want);
  return 0;
}

static void
test_reader_gone (void)
{
  char name[64];
  zb_reader *r = make_reader (name, sizeof name, 4096), *r2 = NULL;
  zb_reader_options opts = { 64, 4096, 0 };
  zb_writer *w = NULL, *w2 = NULL;
  void *ptr;
  zb_frame f;
  zbt_shm m;

  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_RC (zb_writer_write (w, "a", 1, 1000), 0);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
  /* Every later call says how the reader left, as first seen. */
  CHECK_RC (zb_writer_write (w, "b", 1, 1000), ZB_EREADERGONE);
  CHECK (says_reader_left (name, "closed"));
  CHECK_RC (zb_writer_reserve (w, 10, &ptr, 1000), ZB_EREADERGONE);
  CHECK (says_reader_left (name, "closed"));
  CHECK_RC (zb_writer_write (w, "b", 1, 0), ZB_EREADERGONE);
  CHECK (says_reader_left (name, "closed"));
  CHECK_RC (zb_writer_set_metadata (w, "m", 1), ZB_EREADERGONE);
  CHECK (says_reader_left (name, "closed"));

  /* A new reader under the same name is a different buffer: the old
   * writer must not write into the unlinked one and call it success. */
  CHECK_RC (zb_reader_create (&r2, name, &opts), 0);
  CHECK_RC (zb_writer_write (w, "c", 1, 1000), ZB_EREADERGONE);
  CHECK (says_reader_left (name, "closed"));
  if (r2) {
    CHECK_RC (zb_reader_acquire (r2, &f, 0), ZB_ETIMEDOUT);
    CHECK_RC (zb_writer_open (&w2, name, 1000), 0);
    if (w2) {
      CHECK_RC (zb_writer_write (w2, "d", 1, 1000), 0);
      CHECK_RC (zb_reader_acquire (r2, &f, 1000), 0);
      CHECK_EQ (f.sequence, 1);
      CHECK (f.size == 1 && ((const char *) f.data)[0] == 'd');
      zb_reader_release (r2, &f);
      zb_writer_close (w2);
    }
  }
  zb_writer_close (w);
  zb_reader_close (r2);
  CHECK (zbt_all_gone (name));

  /* Another pid in the reader's field of the same object (an upstream
   * reader taking it over): "changed", and it stays so after the reader
   * closes. */
  r = make_reader (name, sizeof name, 4096);
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  REQUIRE (zbt_shm_map (name, &m) == 0);
  zbt_set (&m, OFF_READER_PID, (uint64_t) getpid () + 1);
  CHECK_RC (zb_writer_write (w, "d", 1, 0), ZB_EREADERGONE);
  CHECK (says_reader_left (name, "changed"));
  zbt_set (&m, OFF_READER_PID, (uint64_t) getpid ());
  zbt_shm_unmap (&m);
  zb_reader_close (r);
  CHECK_RC (zb_writer_write (w, "e", 1, 0), ZB_EREADERGONE);
  CHECK (says_reader_left (name, "changed"));
  CHECK_RC (zb_writer_reserve (w, 10, &ptr, 0), ZB_EREADERGONE);
  CHECK (says_reader_left (name, "changed"));
  zb_writer_close (w);
  CHECK (zbt_all_gone (name));
}

static void
test_timeouts (void)
{
  char name[64];
  zb_reader *r = make_reader (name, sizeof name, 1024);
  zb_writer *w = NULL;
  zb_frame f;
  double t0, dt;
  uint8_t buf[400];
  int n, rc;

  /* Before any writer: a timeout, not end of stream. */
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (r, &f, 0), ZB_ETIMEDOUT);
  CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (r, &f, 300), ZB_ETIMEDOUT);
  dt = zbt_now_ms () - t0;
  CHECK (dt >= 280 && dt < ZBT_PROMPT_MS);
  CHECK_RC (zb_reader_wait_writer (r, 0), ZB_ETIMEDOUT);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_wait_writer (r, 300), ZB_ETIMEDOUT);
  dt = zbt_now_ms () - t0;
  CHECK (dt >= 280 && dt < ZBT_PROMPT_MS);

  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_RC (zb_reader_wait_writer (r, 0), 0);
  CHECK_RC (zb_reader_wait_writer (r, 1000), 0);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (r, &f, 300), ZB_ETIMEDOUT);
  dt = zbt_now_ms () - t0;
  zbt_note ("acquire(300 ms) with a silent writer: %.0f ms", dt);
  CHECK (dt >= 280 && dt < ZBT_PROMPT_MS);

  /* Fill the ring, then the writer times out within its bound. */
  memset (buf, 1, sizeof buf);
  for (n = 0; n < 10; n++)
    if ((rc = zb_writer_write (w, buf, sizeof buf, 0)) != 0)
      break;
  CHECK_RC (rc, ZB_ETIMEDOUT);
  CHECK (n >= 2);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_writer_write (w, buf, sizeof buf, 0), ZB_ETIMEDOUT);
  CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_writer_write (w, buf, sizeof buf, 300), ZB_ETIMEDOUT);
  dt = zbt_now_ms () - t0;
  zbt_note ("write(300 ms) on a full ring: %.0f ms", dt);
  CHECK (dt >= 280 && dt < ZBT_PROMPT_MS);
  {
    void *ptr;

    t0 = zbt_now_ms ();
    CHECK_RC (zb_writer_reserve (w, sizeof buf, &ptr, 300), ZB_ETIMEDOUT);
    dt = zbt_now_ms () - t0;
    CHECK (dt >= 280 && dt < ZBT_PROMPT_MS);
    /* The failed reservation holds nothing. */
    CHECK_RC (zb_writer_abandon (w), ZB_EBUSY);
  }
  /* One release makes room again. */
  CHECK_RC (zb_reader_acquire (r, &f, 0), 0);
  CHECK_RC (zb_reader_release (r, &f), 0);
  CHECK_RC (zb_writer_write (w, buf, sizeof buf, 0), 0);

  zb_writer_close (w);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

static void
test_eos (void)
{
  char name[64], s[128];
  zb_reader *r = make_reader (name, sizeof name, 4096);
  zb_writer *w = NULL;
  zb_frame f1, f2, f3;
  sem_t *sem_w;
  int v = -1;
  double t0, dt;
  zbt_shm m;

  REQUIRE (zbt_shm_map (name, &m) == 0);
  snprintf (s, sizeof s, "/sem-w-%s", name);
  sem_w = sem_open (s, 0);
  REQUIRE (sem_w != SEM_FAILED);
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_RC (zb_writer_write (w, "one", 3, 1000), 0);
  CHECK_RC (zb_writer_write (w, "two", 3, 1000), 0);
  zb_writer_close (w);
  CHECK_EQ (zbt_get (&m, OFF_WRITER_PID), 0);
  /* Quirk 8: one post per frame plus one at close. */
  CHECK (sem_getvalue (sem_w, &v) == 0);
  CHECK_EQ (v, 3);

  CHECK_RC (zb_reader_acquire (r, &f1, 1000), 0);
  CHECK_RC (zb_reader_acquire (r, &f2, 1000), 0);
  CHECK_EQ (f2.sequence, 2);
  /* Frames still held are not "unread": end of stream now. */
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (r, &f3, ZBT_LONG_MS), ZB_EOS);
  dt = zbt_now_ms () - t0;
  zbt_note ("EOS after a clean close: %.0f ms", dt);
  CHECK (dt < ZBT_PROMPT_MS);
  CHECK_RC (zb_reader_acquire (r, &f3, 0), ZB_EOS);
  CHECK_RC (zb_reader_acquire (r, &f3, 1000), ZB_EOS);
  CHECK_RC (zb_reader_release (r, &f2), 0);
  CHECK_RC (zb_reader_release (r, &f1), 0);
  CHECK_RC (zb_reader_acquire (r, &f3, 0), ZB_EOS);
  {
    zb_reader_stats rs;

    zb_reader_get_stats (r, &rs);
    CHECK_EQ (rs.frames, 2);
    CHECK_EQ (rs.bytes, 6);
    CHECK_EQ (rs.held, 0);
    CHECK_EQ (rs.held_bytes, 0);
    CHECK_EQ (rs.free_bytes, 4096);
  }
  sem_close (sem_w);
  zbt_shm_unmap (&m);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));

  /* A writer seen attached that leaves without a frame: end of stream. */
  r = make_reader (name, sizeof name, 4096);
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_RC (zb_reader_wait_writer (r, 1000), 0);
  zb_writer_close (w);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (r, &f1, ZBT_LONG_MS), ZB_EOS);
  CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));

  /* One that attaches, writes metadata and leaves without a frame, seen by
   * a reader that only ever calls acquire: end of stream too, as
   * wait_writer and get_metadata would have told. */
  r = make_reader (name, sizeof name, 4096);
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_RC (zb_writer_set_metadata (w, "caps", 4), 0);
  zb_writer_close (w);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (r, &f1, ZBT_LONG_MS), ZB_EOS);
  dt = zbt_now_ms () - t0;
  zbt_note ("EOS after metadata only, acquire alone: %.0f ms", dt);
  CHECK (dt < ZBT_PROMPT_MS);
  CHECK_RC (zb_reader_acquire (r, &f1, 0), ZB_EOS);
  {
    const void *meta;
    size_t len;

    CHECK_RC (zb_reader_get_metadata (r, &meta, &len), 0);
    CHECK (len == 4 && memcmp (meta, "caps", 4) == 0);
  }
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));

  /* The same with a timeout of 0: the first look already ends it. */
  r = make_reader (name, sizeof name, 4096);
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_RC (zb_writer_set_metadata (w, "caps", 4), 0);
  zb_writer_close (w);
  CHECK_RC (zb_reader_acquire (r, &f1, 0), ZB_EOS);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

static void
test_bad_release (void)
{
  char name[64];
  zb_reader *r = make_reader (name, sizeof name, 4096);
  zb_writer *w = NULL;
  zb_frame f, f2, bogus;
  zbt_shm m;

  REQUIRE (zbt_shm_map (name, &m) == 0);
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_RC (zb_writer_write (w, "abc", 3, 1000), 0);
  CHECK_RC (zb_writer_write (w, "defg", 4, 1000), 0);
  CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
  CHECK_RC (zb_reader_acquire (r, &f2, 1000), 0);
  /* A zeroed (never acquired) frame must not release a held one: that
   * would let the writer overwrite frame 1 while it is in use. */
  memset (&bogus, 0, sizeof bogus);
  CHECK_RC (zb_reader_release (r, &bogus), ZB_EINVAL);
  CHECK_RC (zb_reader_release (r, NULL), ZB_EINVAL);
  CHECK_RC (zb_reader_release (r, &f2), 0);
  CHECK_EQ (zbt_get (&m, OFF_PAYLOAD_FREE), 4096 - 19 - 20);
  CHECK_RC (zb_reader_release (r, &f), 0);
  CHECK_EQ (zbt_get (&m, OFF_PAYLOAD_FREE), 4096);
  CHECK_RC (zb_reader_release (r, &f), ZB_EINVAL);
  CHECK_RC (zb_reader_release (r, &f2), ZB_EINVAL);
  /* The double releases returned nothing twice. */
  CHECK_EQ (zbt_get (&m, OFF_PAYLOAD_FREE), 4096);
  zbt_shm_unmap (&m);
  zb_writer_close (w);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

static void
on_tick (int sig)
{
  (void) sig;
}

/* Signals arriving while blocked (EINTR) neither end a wait early nor turn
 * into an error. */
static void
test_signals (void)
{
  char name[64], missing[64];
  zb_reader *r = make_reader (name, sizeof name, 1024), *r0;
  zb_writer *w = NULL;
  struct sigaction sa;
  struct itimerval it;
  zb_frame f;
  double t0, dt;
  uint8_t buf[300];
  int n, rc;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_tick;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGALRM, &sa, NULL);
  memset (&it, 0, sizeof it);
  it.it_interval.tv_usec = 7000;
  it.it_value.tv_usec = 7000;
  setitimer (ITIMER_REAL, &it, NULL);

  zbt_name (missing, sizeof missing, "errors");
  t0 = zbt_now_ms ();
  CHECK_RC (zb_writer_open (&w, missing, 300), ZB_ENOTFOUND);
  dt = zbt_now_ms () - t0;
  CHECK (dt >= 280 && dt < ZBT_PROMPT_MS);

  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_wait_writer (r, 300), ZB_ETIMEDOUT);
  dt = zbt_now_ms () - t0;
  CHECK (dt >= 280 && dt < ZBT_PROMPT_MS);

  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (r, &f, 500), ZB_ETIMEDOUT);
  dt = zbt_now_ms () - t0;
  CHECK (dt >= 480 && dt < ZBT_PROMPT_MS);

  memset (buf, 2, sizeof buf);
  for (n = 0; n < 10; n++)
    if ((rc = zb_writer_write (w, buf, sizeof buf, 0)) != 0)
      break;
  CHECK_RC (rc, ZB_ETIMEDOUT);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_writer_write (w, buf, sizeof buf, 500), ZB_ETIMEDOUT);
  dt = zbt_now_ms () - t0;
  CHECK (dt >= 480 && dt < ZBT_PROMPT_MS);
  CHECK_RC (zb_reader_acquire (r, &f, 500), 0);
  CHECK_RC (zb_reader_release (r, &f), 0);
  CHECK_RC (zb_writer_write (w, buf, sizeof buf, 500), 0);
  zb_writer_close (w);
  while ((rc = zb_reader_acquire (r, &f, 1000)) == 0)
    zb_reader_release (r, &f);
  CHECK_RC (rc, ZB_EOS);

  /* Creating under a rain of signals works too. */
  r0 = make_reader (missing, sizeof missing, 4096);
  zb_reader_close (r0);

  memset (&it, 0, sizeof it);
  setitimer (ITIMER_REAL, &it, NULL);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
  CHECK (zbt_all_gone (missing));
}

/* A reservation that needs a wrap, abandoned, then a clean close: nothing
 * of it may be published, so the reader sees end of stream, not a stray
 * tail. */
static void
test_abandoned_wrap_then_close (void)
{
  char name[64];
  zb_reader *r = make_reader (name, sizeof name, 1024);
  zb_writer *w = NULL;
  char frame[300];
  zb_frame f;
  void *p;
  int i;

  memset (frame, 7, sizeof frame);
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  for (i = 0; i < 3; i++)       /* 3 x 316 = 948 of 1024 bytes: tail 76 */
    CHECK_RC (zb_writer_write (w, frame, sizeof frame, 1000), 0);
  for (i = 0; i < 3; i++) {
    CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
    CHECK_RC (zb_reader_release (r, &f), 0);
  }
  CHECK_RC (zb_writer_reserve (w, sizeof frame, &p, 1000), 0);
  CHECK_RC (zb_writer_abandon (w), 0);
  zb_writer_close (w);
  CHECK_RC (zb_reader_acquire (r, &f, 1000), ZB_EOS);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

/* zb_writer_write() of an empty frame is refused in its own name. */
static void
test_empty_frame (void)
{
  char name[64];
  zb_reader *r = make_reader (name, sizeof name, 4096);
  zb_writer *w = NULL;
  void *p;

  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_RC (zb_writer_write (w, "x", 0, 0), ZB_EINVAL);
  CHECK (strstr (zb_last_error (), "zb_writer_write") != NULL);
  CHECK (strstr (zb_last_error (), "zb_writer_reserve") == NULL);
  CHECK_RC (zb_writer_write (w, NULL, 0, 0), ZB_EINVAL);
  CHECK (strstr (zb_last_error (), "zb_writer_write") != NULL);
  CHECK_RC (zb_writer_reserve (w, 0, &p, 0), ZB_EINVAL);
  CHECK (strstr (zb_last_error (), "zb_writer_reserve") != NULL);
  zb_writer_close (w);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

/* An earlier failure's detail does not outlive a later success: each call
 * below follows a failure and must leave zb_last_error() empty. */
#define AFTER_FAILURE(call)                                                  \
  do {                                                                       \
    CHECK_RC (zb_validate_name (".hidden"), ZB_EBADNAME);                    \
    CHECK (zb_last_error ()[0] != '\0');                                     \
    CHECK_RC (call, 0);                                                      \
    if (zb_last_error ()[0] != '\0') {                                       \
      fprintf (stderr, "  stale detail after %s: '%s'\n", #call,             \
          zb_last_error ());                                                 \
      CHECK (0);                                                             \
    }                                                                        \
  } while (0)

static void
test_no_stale_detail (void)
{
  char name[64], other[64];
  zb_reader *r = make_reader (name, sizeof name, 4096), *r2 = NULL;
  zb_reader_options opts = { 64, 4096, 0 };
  zb_writer *w = NULL;
  zb_frame f;
  const void *meta;
  size_t len;
  uint64_t v;
  zb_info info;
  void *p;

  zbt_name (other, sizeof other, "errors");
  AFTER_FAILURE (zb_validate_name (name));
  AFTER_FAILURE (zb_parse_size ("64K", &v));
  AFTER_FAILURE (zb_inspect (name, &info));
  AFTER_FAILURE (zb_reader_create (&r2, other, &opts));
  AFTER_FAILURE (zb_writer_open (&w, name, 1000));
  REQUIRE (w != NULL);
  AFTER_FAILURE (zb_reader_wait_writer (r, 0));
  AFTER_FAILURE (zb_writer_set_metadata (w, "meta", 4));
  AFTER_FAILURE (zb_writer_get_metadata (w, &meta, &len));
  AFTER_FAILURE (zb_reader_get_metadata (r, &meta, &len));
  AFTER_FAILURE (zb_writer_write (w, "abc", 3, 0));
  AFTER_FAILURE (zb_reader_acquire (r, &f, 1000));
  AFTER_FAILURE (zb_reader_release (r, &f));
  AFTER_FAILURE (zb_writer_reserve (w, 8, &p, 0));
  AFTER_FAILURE (zb_writer_commit (w, 8));
  AFTER_FAILURE (zb_writer_reserve (w, 8, &p, 0));
  AFTER_FAILURE (zb_writer_abandon (w));
  /* A failure of the very object, then its success. */
  CHECK_RC (zb_writer_write (w, "abc", 1u << 20, 0), ZB_ETOOLARGE);
  CHECK (strstr (zb_last_error (), "cannot be placed") != NULL);
  CHECK_RC (zb_writer_write (w, "abc", 3, 0), 0);
  CHECK (zb_last_error ()[0] == '\0');
  CHECK_RC (zb_reader_release (r, &f), ZB_EINVAL);
  CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
  CHECK (zb_last_error ()[0] == '\0');
  CHECK_RC (zb_reader_release (r, &f), 0);
  while (zb_reader_acquire (r, &f, 0) == 0)
    zb_reader_release (r, &f);
  zb_writer_close (w);
  zb_reader_close (r2);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
  CHECK (zbt_all_gone (other));
}

/* Each reader and writer keeps the detail of its last failed call: a
 * success on it clears it; calls that cannot fail, failures elsewhere and
 * other objects leave it alone. */
static void
test_object_errors (void)
{
  char name[64], saved[512];
  zb_reader *r = make_reader (name, sizeof name, 4096);
  zb_writer *w = NULL;
  zb_frame f, bogus;
  zb_writer_stats ws;
  zb_reader_stats rs;
  const void *meta;
  size_t len;
  void *p;

  CHECK (zb_reader_last_error (NULL)[0] == '\0');
  CHECK (zb_writer_last_error (NULL)[0] == '\0');
  CHECK (zb_reader_last_error (r)[0] == '\0');
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK (zb_writer_last_error (w)[0] == '\0');

  CHECK_RC (zb_writer_write (w, "x", 1u << 20, 0), ZB_ETOOLARGE);
  snprintf (saved, sizeof saved, "%s", zb_writer_last_error (w));
  CHECK (strstr (saved, name) != NULL);
  CHECK (strstr (saved, "cannot be placed") != NULL);
  CHECK (strcmp (saved, zb_last_error ()) == 0);

  memset (&bogus, 0, sizeof bogus);
  zb_writer_get_stats (w, &ws);
  CHECK (zb_writer_max_frame_size (w) > 0);
  CHECK (zb_writer_has_metadata (w) == 0);
  CHECK (strcmp (zb_writer_name (w), name) == 0);
  zb_writer_interrupt (w, 0);
  CHECK_RC (zb_validate_name (".x"), ZB_EBADNAME);
  CHECK_RC (zb_reader_release (r, &bogus), ZB_EINVAL);
  CHECK (strcmp (zb_writer_last_error (w), saved) == 0);
  CHECK (strstr (zb_reader_last_error (r), "not held") != NULL);
  CHECK (strstr (zb_reader_last_error (r), name) != NULL);

  /* The getter returns a copy: the object's next failure changes the
   * object, not text already taken. */
  snprintf (saved, sizeof saved, "%s", zb_reader_last_error (r));
  zb_reader_get_stats (r, &rs);
  CHECK (strcmp (zb_reader_name (r), name) == 0);
  zb_reader_interrupt (r, 0);
  CHECK (strcmp (zb_reader_last_error (r), saved) == 0);

  CHECK_RC (zb_writer_write (w, "x", 1, 0), 0);
  CHECK (zb_writer_last_error (w)[0] == '\0');
  CHECK (strcmp (zb_reader_last_error (r), saved) == 0);
  CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
  CHECK (zb_reader_last_error (r)[0] == '\0');
  CHECK_RC (zb_reader_release (r, &f), 0);
  CHECK_RC (zb_reader_get_metadata (r, &meta, &len), ZB_ENOMETA);
  CHECK (strstr (zb_reader_last_error (r), "no metadata") != NULL);
  CHECK_RC (zb_reader_wait_writer (r, 0), 0);
  CHECK (zb_reader_last_error (r)[0] == '\0');
  CHECK_RC (zb_writer_abandon (w), ZB_EBUSY);
  CHECK (strstr (zb_writer_last_error (w), "nothing reserved") != NULL);
  CHECK_RC (zb_writer_reserve (w, 10, &p, 0), 0);
  CHECK (zb_writer_last_error (w)[0] == '\0');
  CHECK_RC (zb_writer_reserve (w, 10, &p, 0), ZB_EBUSY);
  CHECK (strstr (zb_writer_last_error (w), "outstanding") != NULL);
  CHECK_RC (zb_writer_abandon (w), 0);
  CHECK (zb_writer_last_error (w)[0] == '\0');

  /* Once the reader is gone, every write says how, in the object too. */
  zb_reader_close (r);
  CHECK_RC (zb_writer_write (w, "x", 1, 0), ZB_EREADERGONE);
  CHECK_RC (zb_writer_get_metadata (w, &meta, &len), ZB_ENOMETA);
  CHECK_RC (zb_writer_reserve (w, 10, &p, 0), ZB_EREADERGONE);
  CHECK (strstr (zb_writer_last_error (w), "the reader closed") != NULL);
  CHECK (strstr (zb_writer_last_error (w), name) != NULL);
  CHECK_RC (zb_writer_set_metadata (w, "m", 1), ZB_EREADERGONE);
  CHECK (strstr (zb_writer_last_error (w), "the reader closed") != NULL);
  zb_writer_close (w);
  CHECK (zbt_all_gone (name));
}

int
main (void)
{
  test_not_found ();
  test_eexist ();
  test_writer_busy ();
  test_quick_writer_restart ();
  test_reader_gone ();
  test_timeouts ();
  test_eos ();
  test_bad_release ();
  test_abandoned_wrap_then_close ();
  test_signals ();
  test_empty_frame ();
  test_no_stale_detail ();
  test_object_errors ();
  return zbt_result ();
}
