/* Calls that block, woken from another thread: interrupts, a reader that
 * closes under a blocked writer, a writer that closes under a blocked reader
 * (cleanly or silently, quirk 8), a writer that starts first (quirk 11),
 * release after close from another thread, the thread-local error text,
 * the per-object error text shared by threads, and zb_writer_abandon()
 * from another thread while the writing thread goes on.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "zbtest.h"

#include <pthread.h>
#include <sched.h>

/* A blocking call run in a thread; the main thread waits for it to be
 * about to block, acts, and measures how long the call takes to return. */
typedef struct job
{
  zb_reader *r;
  zb_writer *w;
  const char *name;
  int kind;
  int timeout;
  size_t size;
  atomic_int started;
  atomic_int done;
  int rc;
  double returned_at;
  zb_frame frame;
} job;

enum
{ J_ACQUIRE, J_WAIT_WRITER, J_WRITE, J_RESERVE, J_OPEN };

static void *
job_run (void *arg)
{
  job *j = arg;
  static uint8_t buf[4096];
  void *p;

  atomic_store (&j->started, 1);
  switch (j->kind) {
    case J_ACQUIRE:
      j->rc = zb_reader_acquire (j->r, &j->frame, j->timeout);
      break;
    case J_WAIT_WRITER:
      j->rc = zb_reader_wait_writer (j->r, j->timeout);
      break;
    case J_WRITE:
      j->rc = zb_writer_write (j->w, buf, j->size, j->timeout);
      break;
    case J_RESERVE:
      j->rc = zb_writer_reserve (j->w, j->size, &p, j->timeout);
      if (j->rc == 0)
        zb_writer_abandon (j->w);
      break;
    case J_OPEN:
      j->rc = zbt_writer_open (&j->w, j->name, j->timeout);
      break;
  }
  j->returned_at = zbt_now_ms ();
  atomic_store (&j->done, 1);
  return NULL;
}

static void
job_launch (job * j, pthread_t * t)
{
  atomic_store (&j->started, 0);
  atomic_store (&j->done, 0);
  REQUIRE (pthread_create (t, NULL, job_run, j) == 0);
  REQUIRE (WAIT_UNTIL (atomic_load (&j->started), 10000));
}

static void
job_start (job * j, pthread_t * t)
{
  job_launch (j, t);
  /* Give it time to really block; the checks hold either way. */
  zbt_sleep_ms (150);
  CHECK (!atomic_load (&j->done));
}

/* Join and return the ms between `since` and the call's return. */
static double
job_finish (job * j, pthread_t t, double since)
{
  pthread_join (t, NULL);
  return j->returned_at - since;
}

typedef struct pair
{
  char name[64];
  zb_reader *r;
  zb_writer *w;
  zbt_shm m;
} pair;

static void
pair_open (pair * p, uint64_t P)
{
  zb_reader_options opts = zbt_reader_options (64, P);

  zbt_name (p->name, sizeof p->name, "threads");
  REQUIRE_RC (zb_reader_create (&p->r, p->name, &opts), 0);
  REQUIRE_RC (zbt_writer_open (&p->w, p->name, 1000), 0);
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

static void
fill_ring (zb_writer * w)
{
  static uint8_t buf[200];
  int n, rc = 0;

  for (n = 0; n < 100; n++)
    if ((rc = zb_writer_write (w, buf, sizeof buf, 0)) != 0)
      break;
  CHECK_RC (rc, ZB_ETIMEDOUT);
}

static void
test_interrupt_reader (void)
{
  pair p;
  job j = { 0 };
  pthread_t t;
  double t0, ms;
  zb_frame f;

  pair_open (&p, 4096);
  j.r = p.r;
  j.kind = J_ACQUIRE;
  j.timeout = -1;
  job_start (&j, &t);
  t0 = zbt_now_ms ();
  zb_reader_interrupt (p.r, 1);
  ms = job_finish (&j, t, t0);
  zbt_note ("interrupted acquire returned after %.1f ms", ms);
  CHECK_RC (j.rc, ZB_ECANCELED);
  CHECK (ms < ZBT_PROMPT_MS);

  /* Sticky until cleared, and immediate even with a long timeout. */
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (p.r, &f, 0), ZB_ECANCELED);
  CHECK_RC (zb_reader_acquire (p.r, &f, ZBT_LONG_MS), ZB_ECANCELED);
  CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
  zb_reader_interrupt (p.r, 0);
  CHECK_RC (zb_reader_acquire (p.r, &f, 0), ZB_ETIMEDOUT);
  CHECK_RC (zb_writer_write (p.w, "x", 1, 0), 0);
  CHECK_RC (zb_reader_acquire (p.r, &f, 1000), 0);
  CHECK_EQ (f.sequence, 1);
  zb_reader_release (p.r, &f);
  /* The interrupt's wake-up did not confuse the frame accounting. */
  CHECK_RC (zb_reader_acquire (p.r, &f, 0), ZB_ETIMEDOUT);
  CHECK_RC (zb_writer_write (p.w, "y", 1, 0), 0);
  CHECK_RC (zb_reader_acquire (p.r, &f, 1000), 0);
  CHECK_EQ (f.sequence, 2);
  zb_reader_release (p.r, &f);
  pair_close (&p);

  /* wait_writer, blocked with no writer at all. */
  {
    zb_reader_options opts = zbt_reader_options (64, 4096);
    zb_reader *r = NULL;
    char name[64];

    zbt_name (name, sizeof name, "threads");
    REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
    memset (&j, 0, sizeof j);
    j.r = r;
    j.kind = J_WAIT_WRITER;
    j.timeout = -1;
    job_start (&j, &t);
    t0 = zbt_now_ms ();
    zb_reader_interrupt (r, 1);
    ms = job_finish (&j, t, t0);
    CHECK_RC (j.rc, ZB_ECANCELED);
    CHECK (ms < ZBT_PROMPT_MS);
    zb_reader_close (r);
    CHECK (zbt_all_gone (name));
  }
}

static void
test_interrupt_writer (void)
{
  pair p;
  job j = { 0 };
  pthread_t t;
  double t0, ms;
  uint64_t wc, fb;
  void *ptr;
  zb_frame f;
  int kind;
  static uint8_t buf[200];

  for (kind = J_WRITE; kind <= J_RESERVE; kind++) {
    pair_open (&p, 1024);
    fill_ring (p.w);
    wc = zbt_get (&p.m, OFF_WRITTEN_COUNT);
    fb = zbt_get (&p.m, OFF_PAYLOAD_FREE);
    memset (&j, 0, sizeof j);
    j.w = p.w;
    j.kind = kind;
    j.size = 200;
    j.timeout = -1;
    job_start (&j, &t);
    t0 = zbt_now_ms ();
    zb_writer_interrupt (p.w, 1);
    ms = job_finish (&j, t, t0);
    zbt_note ("interrupted %s returned after %.1f ms",
        kind == J_WRITE ? "write" : "reserve", ms);
    CHECK_RC (j.rc, ZB_ECANCELED);
    CHECK (ms < ZBT_PROMPT_MS);
    /* Nothing was published or taken. */
    CHECK_EQ (zbt_get (&p.m, OFF_WRITTEN_COUNT), wc);
    CHECK_EQ (zbt_get (&p.m, OFF_PAYLOAD_FREE), fb);

    /* Calls that would have to wait fail at once until cleared. */
    t0 = zbt_now_ms ();
    CHECK_RC (zb_writer_write (p.w, buf, 200, ZBT_LONG_MS), ZB_ECANCELED);
    CHECK_RC (zb_writer_reserve (p.w, 200, &ptr, ZBT_LONG_MS), ZB_ECANCELED);
    CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
    zb_writer_interrupt (p.w, 0);
    CHECK_RC (zb_writer_write (p.w, buf, 200, 0), ZB_ETIMEDOUT);
    while (zb_reader_acquire (p.r, &f, 0) == 0)
      zb_reader_release (p.r, &f);
    CHECK_RC (zb_writer_write (p.w, "x", 1, 0), 0);
    CHECK_RC (zb_reader_acquire (p.r, &f, 1000), 0);
    CHECK_EQ (f.size, 1);
    zb_reader_release (p.r, &f);
    pair_close (&p);
  }
}

/* The reader closes while the writer waits for space. */
static void
test_reader_closes_under_writer (void)
{
  pair p;
  job j = { 0 };
  pthread_t t;
  double t0, ms;

  pair_open (&p, 1024);
  fill_ring (p.w);
  j.w = p.w;
  j.kind = J_WRITE;
  j.size = 200;
  j.timeout = ZBT_LONG_MS;
  job_start (&j, &t);
  t0 = zbt_now_ms ();
  zb_reader_close (p.r);
  ms = job_finish (&j, t, t0);
  zbt_note ("writer blocked on a full ring saw the reader close after "
      "%.1f ms", ms);
  CHECK_RC (j.rc, ZB_EREADERGONE);
  CHECK (ms < ZBT_PROMPT_MS);
  zb_writer_close (p.w);
  zbt_shm_unmap (&p.m);
  CHECK (zbt_all_gone (p.name));
}

/* The writer closes (cleanly) while the reader waits for a frame. */
static void
test_writer_closes_under_reader (void)
{
  pair p;
  job j = { 0 };
  pthread_t t;
  double t0, ms;

  pair_open (&p, 4096);
  j.r = p.r;
  j.kind = J_ACQUIRE;
  j.timeout = ZBT_LONG_MS;
  job_start (&j, &t);
  t0 = zbt_now_ms ();
  zb_writer_close (p.w);
  p.w = NULL;
  ms = job_finish (&j, t, t0);
  zbt_note ("blocked reader saw a clean writer close after %.1f ms", ms);
  CHECK_RC (j.rc, ZB_EOS);
  CHECK (ms < ZBT_PROMPT_MS);
  pair_close (&p);
}

/* Quirk 8: an upstream writer leaves without posting; the blocked reader
 * notices by itself, well before its timeout. */
static void
test_silent_close_while_blocked (void)
{
  zb_reader_options opts = zbt_reader_options (64, 1024);
  zb_reader *r = NULL;
  zbt_emu e;
  char name[64];
  job j = { 0 };
  pthread_t t;
  double t0, ms;
  zb_frame f;

  zbt_name (name, sizeof name, "threads");
  REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
  REQUIRE (zbt_emu_attach (&e, name, getpid ()) == 0);
  zbt_emu_frame (&e, 10);
  CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
  zb_reader_release (r, &f);
  j.r = r;
  j.kind = J_ACQUIRE;
  j.timeout = ZBT_LONG_MS;
  job_start (&j, &t);
  t0 = zbt_now_ms ();
  zbt_set (&e.m, OFF_WRITER_PID, 0);
  ms = job_finish (&j, t, t0);
  zbt_note ("blocked reader saw a silent writer close after %.1f ms", ms);
  CHECK_RC (j.rc, ZB_EOS);
  CHECK (ms < ZBT_PROMPT_MS);
  zbt_emu_detach (&e);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

/* Quirk 11: the writer is started before the reader exists. */
static void
test_writer_first (void)
{
  zb_reader_options opts = zbt_reader_options (64, 4096);
  zb_reader *r = NULL;
  char name[64];
  job j = { 0 };
  pthread_t t;
  double t0, ms;
  zb_frame f;

  zbt_name (name, sizeof name, "threads");
  j.name = name;
  j.kind = J_OPEN;
  j.timeout = ZBT_LONG_MS;
  job_start (&j, &t);
  t0 = zbt_now_ms ();
  REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
  ms = job_finish (&j, t, t0);
  zbt_note ("waiting writer connected %.1f ms after the reader appeared", ms);
  CHECK_RC (j.rc, 0);
  CHECK (ms < ZBT_PROMPT_MS);
  if (j.w) {
    CHECK_RC (zb_writer_write (j.w, "hello", 5, 1000), 0);
    CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
    CHECK (f.size == 5 && memcmp (f.data, "hello", 5) == 0);
    zb_reader_release (r, &f);
    zb_writer_close (j.w);
  }
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

/* Frames held at close, released later from other threads. */
typedef struct
{
  zb_reader *r;
  zb_frame f;
  uint64_t seq;
  size_t len;
  int rc;
  long bad;
} rel_job;

static void *
release_run (void *arg)
{
  rel_job *rj = arg;

  rj->bad = zbt_verify (rj->f.data, rj->len, rj->seq);
  rj->rc = zb_reader_release (rj->r, &rj->f);
  return NULL;
}

static void
test_release_after_close (void)
{
  pair p;
  rel_job rj[3];
  pthread_t t[3];
  uint8_t buf[300];
  int i;

  pair_open (&p, 4096);
  for (i = 0; i < 3; i++) {
    zbt_fill (buf, sizeof buf, i + 1);
    CHECK_RC (zb_writer_write (p.w, buf, sizeof buf, 0), 0);
    rj[i].r = p.r;
    rj[i].seq = i + 1;
    rj[i].len = sizeof buf;
    CHECK_RC (zb_reader_acquire (p.r, &rj[i].f, 1000), 0);
  }
  zb_reader_close (p.r);
  CHECK (zbt_all_gone (p.name));
  for (i = 0; i < 3; i++)
    REQUIRE (pthread_create (&t[i], NULL, release_run, &rj[i]) == 0);
  for (i = 0; i < 3; i++) {
    pthread_join (t[i], NULL);
    CHECK_RC (rj[i].rc, 0);
    CHECK (rj[i].bad < 0);
  }
  zb_writer_close (p.w);
  zbt_shm_unmap (&p.m);
}

/* zb_last_error() belongs to the calling thread. */
static char other_error[512];
static char other_error_after[512];
static const char *missing_name;

static void *
error_run (void *arg)
{
  zb_writer *w = NULL;
  char name[80];

  (void) arg;
  snprintf (other_error, sizeof other_error, "%s", zb_last_error ());
  snprintf (name, sizeof name, "%s-other", missing_name);
  zb_writer_open (&w, name, 0);
  snprintf (other_error_after, sizeof other_error_after, "%s",
      zb_last_error ());
  return NULL;
}

static void
test_last_error_per_thread (void)
{
  char name[64];
  zb_writer *w = NULL;
  pthread_t t;

  zbt_name (name, sizeof name, "threads");
  missing_name = name;
  CHECK_RC (zb_writer_open (&w, name, 0), ZB_ENOTFOUND);
  CHECK (strstr (zb_last_error (), name) != NULL);
  REQUIRE (pthread_create (&t, NULL, error_run, NULL) == 0);
  pthread_join (t, NULL);
  CHECK (other_error[0] == '\0');
  CHECK (strstr (other_error_after, "-other") != NULL);
  /* Ours is untouched by the other thread's failure. */
  CHECK (strstr (zb_last_error (), name) != NULL);
  CHECK (strstr (zb_last_error (), "-other") == NULL);
}

/* zb_writer_abandon() from one thread while another reserves, commits,
 * writes and asks for stats and metadata, and a third reads.  Every
 * reservation is taken back exactly once (by an abandon, a commit or the
 * final clean-up), a commit that lost the race to an abandon publishes
 * nothing, and the reader gets exactly the frames published, intact. */
#define HAMMER_ROUNDS 10000
#define HAMMER_ABANDONS 1000

typedef struct
{
  zb_writer *w;
  zb_reader *r;
  atomic_int stop;
  atomic_ullong abandoned, busy, frames, bad;
} hammer;

static void *
abandoner_run (void *arg)
{
  hammer *h = arg;
  char text[512];
  unsigned n;

  for (n = 0; !atomic_load (&h->stop); n++) {
    int rc = zb_writer_abandon (h->w);

    if (rc == 0)
      atomic_fetch_add (&h->abandoned, 1);
    else if (rc == ZB_EBUSY) {
      atomic_fetch_add (&h->busy, 1);
      sched_yield ();           /* let the writing thread reserve again */
    } else {
      fprintf (stderr, "abandon: %s\n", zb_status_name (rc));
      atomic_fetch_add (&zbt_failures, 1);
    }
    /* The object's detail is readable from here at any time. */
    if (n % 16 == 0)
      snprintf (text, sizeof text, "%s", zb_writer_last_error (h->w));
  }
  return NULL;
}

static void *
hammer_reader_run (void *arg)
{
  hammer *h = arg;
  zb_frame f;
  int rc;

  while ((rc = zb_reader_acquire (h->r, &f, ZBT_LONG_MS)) == 0) {
    if (zbt_verify (f.data, f.size, f.sequence) >= 0)
      atomic_fetch_add (&h->bad, 1);
    atomic_fetch_add (&h->frames, 1);
    zb_reader_release (h->r, &f);
  }
  if (rc != ZB_EOS) {
    fprintf (stderr, "hammer reader: %s (%s)\n", zb_status_name (rc),
        zb_reader_last_error (h->r));
    atomic_fetch_add (&zbt_failures, 1);
  }
  return NULL;
}

static void
test_abandon_any_thread (void)
{
  pair p;
  hammer h;
  pthread_t ta, tr;
  uint64_t reserved = 0, committed = 0, lost = 0, written = 0, busy = 0;
  uint64_t published = 0;
  zb_writer_stats ws;
  const void *meta;
  size_t len, max;
  uint8_t buf[64];
  double t0 = zbt_now_ms ();
  int i, rc;

  pair_open (&p, 4096);
  memset (&h, 0, sizeof h);
  h.w = p.w;
  h.r = p.r;
  CHECK_RC (zb_writer_set_metadata (p.w, "hammer", 6), 0);
  REQUIRE (pthread_create (&tr, NULL, hammer_reader_run, &h) == 0);
  REQUIRE (pthread_create (&ta, NULL, abandoner_run, &h) == 0);
  max = zb_writer_max_frame_size (p.w);
  /* Enough rounds, and enough of them raced by an abandon; on a loaded
   * machine or under a sanitizer, as many as fit in 30 s. */
  for (i = 0; (i < HAMMER_ROUNDS
          || atomic_load (&h.abandoned) < HAMMER_ABANDONS)
      && zbt_now_ms () - t0 < 30000; i++) {
    size_t size = 1 + (size_t) i % 48;
    void *ptr;

    rc = zb_writer_reserve (p.w, size, &ptr, ZBT_LONG_MS);
    if (rc == 0) {
      reserved++;
      /* The frame this would be: only this thread publishes. */
      zbt_fill (ptr, size, published + 1);
      if (i % 3 == 0) {
        rc = zb_writer_commit (p.w, size);
        if (rc == 0) {
          committed++;
          published++;
        } else if (rc == ZB_EBUSY)
          lost++;               /* the other thread abandoned it first */
        else
          CHECK_RC (rc, 0);
      }
    } else if (rc == ZB_EBUSY) {
      busy++;                   /* still reserved: not abandoned yet */
      sched_yield ();
    } else
      CHECK_RC (rc, 0);
    if (i % 7 == 0) {
      zbt_fill (buf, size, published + 1);
      rc = zb_writer_write (p.w, buf, size, ZBT_LONG_MS);
      if (rc == 0) {
        written++;
        published++;
      } else
        CHECK (rc == ZB_EBUSY);
    }
    zb_writer_get_stats (p.w, &ws);
    CHECK_EQ (ws.frames, published);
    CHECK (zb_writer_has_metadata (p.w) == 1);
    CHECK (zb_writer_max_frame_size (p.w) == max);
    if (zb_writer_get_metadata (p.w, &meta, &len) != 0 || len != 6
        || memcmp (meta, "hammer", 6) != 0)
      CHECK (0);
  }
  atomic_store (&h.stop, 1);
  pthread_join (ta, NULL);
  /* Whatever is still reserved goes now. */
  if (zb_writer_abandon (p.w) == 0)
    atomic_fetch_add (&h.abandoned, 1);
  zbt_note ("abandon race, %d rounds in %.0f ms: %" PRIu64 " reserved, %"
      PRIu64 " committed, %" PRIu64 " abandoned (%" PRIu64 " commits lost "
      "to it), %" PRIu64 " reserves busy, %" PRIu64 " writes", i,
      zbt_now_ms () - t0, reserved, committed,
      (uint64_t) atomic_load (&h.abandoned), lost, busy, written);
  CHECK_EQ (reserved, committed + atomic_load (&h.abandoned));
  CHECK (atomic_load (&h.abandoned) > 0);
  zb_writer_close (p.w);
  p.w = NULL;
  pthread_join (tr, NULL);
  CHECK_EQ (atomic_load (&h.frames), committed + written);
  CHECK_EQ (atomic_load (&h.bad), 0);
  pair_close (&p);
}

/* A reader's detail is shared by the threads that use it: failures of
 * releases in other threads show in zb_reader_last_error() here, a
 * success anywhere clears it, and reading it races with nothing. */
typedef struct
{
  zb_reader *r;
  atomic_int stop;
  int once;
  atomic_ullong failures, reads;
} err_job;

static void *
bad_releaser_run (void *arg)
{
  err_job *j = arg;
  zb_frame bogus;

  memset (&bogus, 0, sizeof bogus);
  while (!atomic_load (&j->stop)) {
    if (zb_reader_release (j->r, &bogus) == ZB_EINVAL)
      atomic_fetch_add (&j->failures, 1);
    /* This thread's own detail says the same. */
    if (strstr (zb_last_error (), "not held") == NULL)
      atomic_fetch_add (&zbt_failures, 1);
    if (j->once)
      break;
  }
  return NULL;
}

static void *
error_reader_run (void *arg)
{
  err_job *j = arg;

  while (!atomic_load (&j->stop)) {
    const char *e = zb_reader_last_error (j->r);

    if (e[0] != '\0' && strstr (e, "not held") == NULL) {
      fprintf (stderr, "unexpected detail: %s\n", e);
      atomic_fetch_add (&zbt_failures, 1);
    }
    atomic_fetch_add (&j->reads, 1);
  }
  return NULL;
}

static void
test_object_errors_threads (void)
{
  pair p;
  err_job j;
  pthread_t tb, te;
  zb_frame f;
  int i;

  pair_open (&p, 4096);
  memset (&j, 0, sizeof j);
  j.r = p.r;
  REQUIRE (pthread_create (&tb, NULL, bad_releaser_run, &j) == 0);
  REQUIRE (pthread_create (&te, NULL, error_reader_run, &j) == 0);
  for (i = 0; i < 2000; i++) {
    CHECK_RC (zb_writer_write (p.w, "abc", 3, 1000), 0);
    CHECK_RC (zb_reader_acquire (p.r, &f, 1000), 0);
    CHECK_RC (zb_reader_release (p.r, &f), 0);
    /* Our successes leave our own thread's detail empty. */
    CHECK (zb_last_error ()[0] == '\0');
  }
  REQUIRE (WAIT_UNTIL (atomic_load (&j.failures) > 0, 10000));
  atomic_store (&j.stop, 1);
  pthread_join (tb, NULL);
  pthread_join (te, NULL);
  /* Once more, alone: the last call on r is a failed release in another
   * thread, and it is what this thread sees. */
  atomic_store (&j.stop, 0);
  j.once = 1;
  REQUIRE (pthread_create (&tb, NULL, bad_releaser_run, &j) == 0);
  pthread_join (tb, NULL);
  CHECK (strstr (zb_reader_last_error (p.r), "not held") != NULL);
  CHECK (zb_last_error ()[0] == '\0');
  CHECK_RC (zb_writer_write (p.w, "abc", 3, 1000), 0);
  CHECK_RC (zb_reader_acquire (p.r, &f, 1000), 0);
  CHECK (zb_reader_last_error (p.r)[0] == '\0');
  CHECK_RC (zb_reader_release (p.r, &f), 0);
  zbt_note ("%" PRIu64 " failed releases in another thread, detail read %"
      PRIu64 " times", (uint64_t) atomic_load (&j.failures),
      (uint64_t) atomic_load (&j.reads));
  pair_close (&p);
}

/* A writer thread that publishes frames 1..n, frame k at t0 + k * gap_ms,
 * each carrying its number. */
typedef struct paced
{
  zb_writer *w;
  int n, gap_ms, busy;
  int rc;
} paced;

static void *
paced_run (void *arg)
{
  paced *pw = arg;
  struct timespec t0;
  int k;

  clock_gettime (CLOCK_MONOTONIC, &t0);
  for (k = 1; k <= pw->n; k++) {
    int64_t due = (int64_t) t0.tv_sec * 1000000000 + t0.tv_nsec
        + (int64_t) k * pw->gap_ms * 1000000;
    struct timespec ts = { due / 1000000000, due % 1000000000 };
    uint64_t v = (uint64_t) k;

    if (pw->busy) {
      /* A producer busy between frames (drawing, encoding) */
      while (zbt_now_ms () * 1e6 < (double) due);
    } else
      while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)
          == EINTR);
    if ((pw->rc = zb_writer_write (pw->w, &v, sizeof v, 5000)) != 0)
      break;
  }
  return NULL;
}

/* Reads a paced stream of n frames (from a writer that sleeps or, if busy,
 * polls the clock between them); checks every frame and returns how many
 * the reader polled for. */
static uint64_t
read_paced (pair * p, int n, int gap_ms, int busy)
{
  paced pw = {.w = p->w, .n = n, .gap_ms = gap_ms, .busy = busy };
  pthread_t t;
  zb_reader_stats st0, st;
  zb_frame f;
  int k, bad = 0;

  zb_reader_get_stats (p->r, &st0);
  REQUIRE (pthread_create (&t, NULL, paced_run, &pw) == 0);
  for (k = 1; k <= n; k++) {
    uint64_t v = 0;

    if (zb_reader_acquire (p->r, &f, ZBT_LONG_MS) != 0) {
      bad++;
      break;
    }
    if (f.size == sizeof v)
      memcpy (&v, f.data, sizeof v);
    bad += f.sequence != st0.frames + (uint64_t) k || v != (uint64_t) k;
    CHECK_RC (zb_reader_release (p->r, &f), 0);
  }
  pthread_join (t, NULL);
  CHECK_RC (pw.rc, 0);
  CHECK_EQ (bad, 0);
  zb_reader_get_stats (p->r, &st);
  CHECK_EQ (st.frames - st0.frames, (uint64_t) n);
  return st.frames_polled - st0.frames_polled;
}

static void
pair_open_spin (pair * p, unsigned spin_us)
{
  zb_reader_options opts = zbt_reader_options (64, 4096);

  opts.spin_us = spin_us;
  zbt_name (p->name, sizeof p->name, "threads");
  REQUIRE_RC (zb_reader_create (&p->r, p->name, &opts), 0);
  REQUIRE_RC (zbt_writer_open (&p->w, p->name, 1000), 0);
  REQUIRE (zbt_shm_map (p->name, &p->m) == 0);
}

/* A reader with a spin budget learns the pace of a regular stream whose
 * frames come much further apart than the spin: it wakes just before each
 * frame is due and polls for it, so the writer's post finds no sleeper.
 * Every frame still arrives in order, none is polled for without a spin
 * budget, and a stop during that sleep (an interrupt, the writer's close)
 * still ends the wait. */
static void
test_paced_prediction (void)
{
  pair p;
  job j = { 0 };
  pthread_t t;
  double t0, ms;
  uint64_t polled;

  /* No spin budget: never polls. */
  pair_open_spin (&p, 0);
  CHECK_EQ (read_paced (&p, 100, 2, 1), 0);
  pair_close (&p);

  pair_open_spin (&p, 20);
  /* How many frames are met depends on the machine's timer wake-ups and
   * load (gst-bench shows it, `zerosrc polled for`), so it is a note
   * here; what must hold is that every frame arrives, in order. */
  polled = read_paced (&p, 200, 2, 1);
  zbt_note ("%" PRIu64 " of 200 frames 2 ms apart polled for", polled);
  /* A writer that sleeps between frames wakes at less regular times; the
   * reader may poll for few of them, but still gets all. */
  polled = read_paced (&p, 100, 5, 0);
  zbt_note ("%" PRIu64 " of 100 frames 5 ms apart (writer asleep between "
      "them) polled for", polled);
  /* The next frame is due in 5 ms: the reader sleeps until just before
   * that.  An interrupt now ends the wait. */
  j.r = p.r;
  j.kind = J_ACQUIRE;
  j.timeout = -1;
  job_launch (&j, &t);
  zbt_sleep_ms (1);
  t0 = zbt_now_ms ();
  zb_reader_interrupt (p.r, 1);
  ms = job_finish (&j, t, t0);
  CHECK_RC (j.rc, ZB_ECANCELED);
  CHECK (ms < ZBT_PROMPT_MS);
  zb_reader_interrupt (p.r, 0);
  pair_close (&p);

  /* ... and so does the writer's close. */
  pair_open_spin (&p, 20);
  read_paced (&p, 100, 2, 1);
  memset (&j, 0, sizeof j);
  j.r = p.r;
  j.kind = J_ACQUIRE;
  j.timeout = -1;
  job_launch (&j, &t);
  zbt_sleep_ms (1);
  t0 = zbt_now_ms ();
  zb_writer_close (p.w);
  p.w = NULL;
  ms = job_finish (&j, t, t0);
  CHECK_RC (j.rc, ZB_EOS);
  CHECK (ms < ZBT_PROMPT_MS);
  pair_close (&p);
}

int
main (int argc, char **argv)
{
  zbt_parse_args (argc, argv);
  test_interrupt_reader ();
  test_interrupt_writer ();
  test_reader_closes_under_writer ();
  test_writer_closes_under_reader ();
  test_silent_close_while_blocked ();
  test_writer_first ();
  test_release_after_close ();
  test_last_error_per_thread ();
  test_object_errors_threads ();
  test_abandon_any_thread ();
  test_paced_prediction ();
  return zbt_result ();
}
