/* Peers that die: kill -9 of a writer or reader in another process, stale
 * objects left behind, and pids that must not be trusted (quirk 6).
 *
 * Children are this binary re-executed with a role (fork + exec), so no
 * library state is shared across fork.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "zbtest.h"

#include <sys/prctl.h>
#include <sys/time.h>

/* Bound for noticing a dead peer: 5 s, scaled; the design target is
 * ~100 ms.  Calls that must notice it wait ZBT_LONG_MS, longer. */
#define DEATH_BOUND_MS ZBT_PROMPT_MS

static const char *self_exe;

/* ---------------------------------------------------------- children */

/* child-writer NAME N [reserve]: write N frames, optionally leave a
 * reservation half-filled, then wait to be killed. */
static int
child_writer (const char *name, int n, int reserve)
{
  zb_writer *w = NULL;
  uint8_t buf[100];
  int i;

  if (zb_writer_open (&w, name, ZBT_LONG_MS) != 0)
    return 2;
  for (i = 1; i <= n; i++) {
    zbt_fill (buf, sizeof buf, i);
    if (zb_writer_write (w, buf, sizeof buf, ZBT_LONG_MS) != 0)
      return 3;
  }
  if (reserve) {
    void *p;

    if (zb_writer_reserve (w, 200, &p, ZBT_LONG_MS) != 0)
      return 4;
    memset (p, 0xee, 50);
  }
  for (;;)
    pause ();
}

/* child-reader NAME P: create the buffer, then wait to be killed. */
static int
child_reader (const char *name, uint64_t P)
{
  zb_reader_options opts = { 64, P, 0 };
  zb_reader *r = NULL;

  if (zb_reader_create (&r, name, &opts) != 0)
    return 2;
  for (;;)
    pause ();
}

/* child-create NAME GO RES DONE: wait for GO, try to create NAME, report
 * the status on RES, keep the reader until DONE closes. */
static int
child_create (const char *name, int go, int res, int done)
{
  zb_reader_options opts = { 64, 4096, 0 };
  zb_reader *r = NULL;
  char c;
  int8_t rc;

  if (read (go, &c, 1) != 1)
    return 2;
  rc = (int8_t) zb_reader_create (&r, name, &opts);
  if (write (res, &rc, 1) != 1)
    return 3;
  while (read (done, &c, 1) > 0);
  zb_reader_close (r);
  return 0;
}

static pid_t
spawn (const char *role, const char *name, const char *arg, const char *arg2)
{
  pid_t pid = fork ();

  if (pid == 0) {
    /* Never outlive a test that was killed. */
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    execl (self_exe, self_exe, role, name, arg, arg2, (char *) NULL);
    _exit (127);
  }
  REQUIRE (pid > 0);
  return pid;
}

/* ---------------------------------------------------------- a timed kill */

static volatile pid_t victim;
static volatile int reap_victim;
static volatile int64_t killed_at_us;

static void
on_alarm (int sig)
{
  struct timespec ts;
  siginfo_t si;

  (void) sig;
  kill (victim, SIGKILL);
  if (reap_victim)
    waitpid (victim, NULL, 0);
  else
    waitid (P_PID, victim, &si, WEXITED | WNOWAIT);
  clock_gettime (CLOCK_MONOTONIC, &ts);
  killed_at_us = ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

/* SIGKILL pid after ms, from a signal handler, while we are blocked. */
static void
kill_later (pid_t pid, int ms, int reap)
{
  struct sigaction sa;
  struct itimerval it;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGALRM, &sa, NULL);
  victim = pid;
  reap_victim = reap;
  killed_at_us = 0;
  memset (&it, 0, sizeof it);
  it.it_value.tv_sec = ms / 1000;
  it.it_value.tv_usec = (ms % 1000) * 1000;
  setitimer (ITIMER_REAL, &it, NULL);
}

static double
ms_since_kill (void)
{
  return killed_at_us ? zbt_now_ms () - killed_at_us / 1000.0 : -1;
}

/* SIGKILL and wait until it is dead; reap it (as a shell would) or leave
 * a zombie (as a parent that has not called wait yet does). */
static double
kill_now (pid_t pid, int reap)
{
  siginfo_t si;

  kill (pid, SIGKILL);
  if (reap)
    waitpid (pid, NULL, 0);
  else
    waitid (P_PID, pid, &si, WEXITED | WNOWAIT);
  return zbt_now_ms ();
}

/* ---------------------------------------------------------- tests */

static void
expect_frame (zb_reader * r, uint64_t seq)
{
  zb_frame f;

  CHECK_RC (zb_reader_acquire (r, &f, ZBT_LONG_MS), 0);
  CHECK_EQ (f.sequence, seq);
  CHECK_EQ (f.size, 100);
  if (f.size == 100)
    CHECK (zbt_verify (f.data, 100, seq) < 0);
  zb_reader_release (r, &f);
}

static zb_reader *
make_reader (char *name, size_t len, uint64_t P)
{
  zb_reader_options opts = { 64, P, 0 };
  zb_reader *r = NULL;

  zbt_name (name, len, "live");
  REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
  return r;
}

/* Wait until the child has written n frames (raw count, no library). */
static int
wait_written (const char *name, uint64_t n)
{
  zbt_shm m;
  int ok;

  if (zbt_shm_map (name, &m) < 0)
    return 0;
  ok = WAIT_UNTIL (zbt_get (&m, OFF_WRITTEN_COUNT) >= n, 10000);
  zbt_shm_unmap (&m);
  return ok;
}

/* The writer dies with frames unread: they are delivered, then GONE. */
static void
test_writer_killed (int reap, int reserve)
{
  char name[64];
  zb_reader *r = make_reader (name, sizeof name, 4096);
  pid_t child = spawn ("child-writer", name, "3", reserve ? "r" : NULL);
  zb_frame f;
  zb_info info;
  double t0, ms;
  int rc;

  REQUIRE (wait_written (name, 3));
  /* Read one frame while the writer lives, as a real reader would. */
  expect_frame (r, 1);
  t0 = kill_now (child, reap);
  expect_frame (r, 2);
  expect_frame (r, 3);
  rc = zb_reader_acquire (r, &f, ZBT_LONG_MS);
  ms = zbt_now_ms () - t0;
  zbt_note ("writer SIGKILLed (%s%s): %s after %.0f ms",
      reap ? "reaped" : "zombie", reserve ? ", mid-reservation" : "",
      zb_status_name (rc), ms);
  CHECK_RC (rc, ZB_EWRITERGONE);
  CHECK (ms < DEATH_BOUND_MS);
  CHECK_RC (zb_reader_acquire (r, &f, 0), ZB_EWRITERGONE);
  CHECK_RC (zb_inspect (name, &info), 0);
  CHECK_EQ (info.writer_pid, child);
  if (reap)
    CHECK_EQ (info.writer_state, ZB_PEER_DEAD);
  if (!reap)
    waitpid (child, NULL, 0);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

/* The writer dies while the reader is blocked with nothing to read. */
static void
test_writer_killed_while_blocked (void)
{
  char name[64];
  zb_reader *r = make_reader (name, sizeof name, 4096);
  pid_t child = spawn ("child-writer", name, "1", NULL);
  zb_frame f;
  double ms;
  int rc;

  REQUIRE (wait_written (name, 1));
  expect_frame (r, 1);
  kill_later (child, 300, 1);
  rc = zb_reader_acquire (r, &f, ZBT_LONG_MS);
  ms = ms_since_kill ();
  zbt_note ("blocked reader, writer SIGKILLed: %s %.0f ms after the kill",
      zb_status_name (rc), ms);
  CHECK_RC (rc, ZB_EWRITERGONE);
  CHECK (ms >= 0 && ms < DEATH_BOUND_MS);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

/* The reader dies while the writer is blocked on a full ring; its objects
 * stay behind until a new reader takes the name. */
static void
test_reader_killed (int reap)
{
  char name[64], psize[32];
  pid_t child;
  zb_writer *w = NULL;
  zb_reader *r = NULL;
  zb_reader_options opts = { 64, 1024, 0 };
  uint8_t buf[200];
  double ms, t0;
  int rc, n;

  zbt_name (name, sizeof name, "live");
  snprintf (psize, sizeof psize, "%d", 1024);
  child = spawn ("child-reader", name, psize, NULL);
  REQUIRE_RC (zb_writer_open (&w, name, ZBT_LONG_MS), 0);
  memset (buf, 7, sizeof buf);
  for (n = 0; n < 20; n++)
    if ((rc = zb_writer_write (w, buf, sizeof buf, 0)) != 0)
      break;
  CHECK_RC (rc, ZB_ETIMEDOUT);

  kill_later (child, 300, reap);
  t0 = zbt_now_ms ();
  rc = zb_writer_write (w, buf, sizeof buf, ZBT_LONG_MS);
  ms = ms_since_kill ();
  zbt_note ("blocked writer, reader SIGKILLed (%s): %s %.0f ms after the "
      "kill", reap ? "reaped" : "zombie", zb_status_name (rc), ms);
  CHECK_RC (rc, ZB_EREADERGONE);
  CHECK (ms >= 0 && ms < DEATH_BOUND_MS);
  CHECK (zbt_now_ms () - t0 >= 250);
  CHECK (strstr (zb_last_error (), "the reader died") != NULL);
  /* Later calls repeat how it left. */
  CHECK_RC (zb_writer_write (w, buf, 10, 0), ZB_EREADERGONE);
  CHECK (strstr (zb_last_error (), "the reader died") != NULL);
  CHECK (strstr (zb_last_error (), name) != NULL);
  zb_writer_close (w);
  if (!zbt_all_gone (name))
    zbt_note ("(the dead reader's objects remain until a new reader)");

  /* A new reader takes the name at once and leaves nothing behind. */
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_create (&r, name, &opts), 0);
  CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
  if (r) {
    zb_writer *w2 = NULL;
    zb_frame f;

    CHECK_RC (zb_writer_open (&w2, name, 1000), 0);
    if (w2) {
      CHECK_RC (zb_writer_write (w2, buf, 10, 1000), 0);
      CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
      CHECK_EQ (f.sequence, 1);
      zb_reader_release (r, &f);
      zb_writer_close (w2);
    }
    zb_reader_close (r);
  }
  if (!reap)
    waitpid (child, NULL, 0);
  CHECK (zbt_all_gone (name));
}

/* Live reader in another process: EEXIST.  Killed: stale, replaced. */
static void
test_stale_reader (int reap)
{
  char name[64];
  pid_t child;
  zb_reader *r = NULL;
  zb_reader_options opts = { 64, 4096, 0 };
  zb_info info;
  int pin;

  zbt_name (name, sizeof name, "live");
  child = spawn ("child-reader", name, "4096", NULL);
  REQUIRE (WAIT_UNTIL (zb_inspect (name, &info) == 0
          && info.reader_pid == (uint64_t) child, 10000));
  CHECK_RC (zb_reader_create (&r, name, &opts), ZB_EEXIST);
  CHECK (zbt_all_exist (name));
  CHECK_EQ (info.reader_state, ZB_PEER_ALIVE);
  /* Readers of other tests must not clean it up before we look. */
  pin = zbt_pin (name);
  REQUIRE (pin >= 0);
  kill_now (child, reap);
  if (reap) {
    CHECK_RC (zb_inspect (name, &info), 0);
    CHECK_EQ (info.reader_state, ZB_PEER_DEAD);
  }
  /* A writer does not attach to a dead reader's buffer. */
  {
    zb_writer *w = NULL;

    CHECK_RC (zb_writer_open (&w, name, 200), ZB_ENOREADER);
    zb_writer_close (w);
  }
  CHECK (zbt_all_exist (name));
  CHECK_RC (zb_reader_create (&r, name, &opts), 0);
  close (pin);
  if (r) {
    zbt_shm m;

    REQUIRE (zbt_shm_map (name, &m) == 0);
    CHECK_EQ (zbt_get (&m, OFF_READER_PID), getpid ());
    CHECK_EQ (zbt_get (&m, OFF_PAYLOAD_SIZE), 4096);
    zbt_shm_unmap (&m);
    zb_reader_close (r);
  }
  if (!reap)
    waitpid (child, NULL, 0);
  CHECK (zbt_all_gone (name));
}

/* Polling with timeout 0 must notice a dead writer too. */
static void
test_writer_killed_polling (void)
{
  char name[64];
  zb_reader *r = make_reader (name, sizeof name, 4096);
  pid_t child = spawn ("child-writer", name, "1", NULL);
  zb_frame f;
  double t0, ms;
  int rc = ZB_ETIMEDOUT;

  REQUIRE (wait_written (name, 1));
  expect_frame (r, 1);
  t0 = kill_now (child, 1);
  while (zbt_now_ms () - t0 < DEATH_BOUND_MS) {
    rc = zb_reader_acquire (r, &f, 0);
    if (rc != ZB_ETIMEDOUT)
      break;
    zbt_sleep_ms (10);
  }
  ms = zbt_now_ms () - t0;
  zbt_note ("polling reader (timeout 0), writer SIGKILLed: %s after %.0f ms",
      zb_status_name (rc), ms);
  CHECK_RC (rc, ZB_EWRITERGONE);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

/* Several processes create the same name at the same moment: exactly one
 * wins, the others get EEXIST, and the winner's buffer is intact (upstream
 * scenario 3.2). */
#define RACERS 4
static void
test_create_race (void)
{
  char name[64], a[3][16];
  int go[2], res[2], done[2], i, wins = 0, eexist = 0;
  pid_t kids[RACERS];

  zbt_name (name, sizeof name, "live");
  REQUIRE (pipe (go) == 0 && pipe (res) == 0 && pipe (done) == 0);
  snprintf (a[0], sizeof a[0], "%d", go[0]);
  snprintf (a[1], sizeof a[1], "%d", res[1]);
  snprintf (a[2], sizeof a[2], "%d", done[0]);
  for (i = 0; i < RACERS; i++) {
    kids[i] = fork ();
    REQUIRE (kids[i] >= 0);
    if (kids[i] == 0) {
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      close (go[1]);
      close (res[0]);
      close (done[1]);
      execl (self_exe, self_exe, "child-create", name, a[0], a[1], a[2],
          (char *) NULL);
      _exit (127);
    }
  }
  close (go[0]);
  close (res[1]);
  close (done[0]);
  /* Release them all at once. */
  REQUIRE (write (go[1], "GGGG", RACERS) == RACERS);
  for (i = 0; i < RACERS; i++) {
    int8_t rc;

    REQUIRE (read (res[0], &rc, 1) == 1);
    if (rc == 0)
      wins++;
    else if (rc == ZB_EEXIST)
      eexist++;
    else
      fprintf (stderr, "racer got %s\n", zb_status_name (rc));
  }
  CHECK_EQ (wins, 1);
  CHECK_EQ (eexist, RACERS - 1);
  CHECK (zbt_all_exist (name));
  {
    zb_writer *w = NULL;
    zb_info info;

    CHECK_RC (zb_inspect (name, &info), 0);
    CHECK_EQ (info.reader_state, ZB_PEER_ALIVE);
    CHECK_EQ (info.oieb_size, 128);
    CHECK_RC (zb_writer_open (&w, name, 1000), 0);
    zb_writer_close (w);
  }
  close (done[1]);
  for (i = 0; i < RACERS; i++) {
    int st = -1;

    waitpid (kids[i], &st, 0);
    CHECK (WIFEXITED (st) && WEXITSTATUS (st) == 0);
  }
  close (go[1]);
  close (res[0]);
  CHECK (zbt_all_gone (name));
}

/* Quirk 6 the other way round: the dead peer's pid field names a live
 * process here (pids of another namespace collide with ours).  Its lock is
 * gone, so it is dead all the same. */
static void
test_killed_pid_collision (void)
{
  char name[64], psize[32];
  zb_reader *r = make_reader (name, sizeof name, 4096);
  pid_t child = spawn ("child-writer", name, "2", NULL);
  zb_writer *w = NULL;
  zbt_shm m;
  zb_frame f;
  uint8_t buf[200];
  double t0, ms;
  int rc, n;

  REQUIRE (wait_written (name, 2));
  REQUIRE (zbt_shm_map (name, &m) == 0);
  expect_frame (r, 1);
  /* From now on the writer's pid reads as ours: alive, never a zombie. */
  zbt_set (&m, OFF_WRITER_PID, (uint64_t) getpid ());
  expect_frame (r, 2);
  t0 = kill_now (child, 1);
  rc = zb_reader_acquire (r, &f, ZBT_LONG_MS);
  ms = zbt_now_ms () - t0;
  zbt_note ("dead writer whose pid field names a live process: %s after "
      "%.0f ms", zb_status_name (rc), ms);
  CHECK_RC (rc, ZB_EWRITERGONE);
  CHECK (ms < DEATH_BOUND_MS);
  zbt_shm_unmap (&m);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));

  /* The reader's pid field names a live process from the start. */
  zbt_name (name, sizeof name, "live");
  snprintf (psize, sizeof psize, "%d", 1024);
  child = spawn ("child-reader", name, psize, NULL);
  REQUIRE (WAIT_UNTIL (zbt_shm_map (name, &m) == 0, 10000));
  REQUIRE (WAIT_UNTIL (zbt_get (&m, OFF_READER_PID) == (uint64_t) child,
          10000));
  zbt_set (&m, OFF_READER_PID, (uint64_t) getpid ());
  REQUIRE_RC (zb_writer_open (&w, name, ZBT_LONG_MS), 0);
  memset (buf, 5, sizeof buf);
  for (n = 0; n < 20; n++)
    if ((rc = zb_writer_write (w, buf, sizeof buf, 0)) != 0)
      break;
  CHECK_RC (rc, ZB_ETIMEDOUT);
  kill_later (child, 200, 1);
  rc = zb_writer_write (w, buf, sizeof buf, ZBT_LONG_MS);
  ms = ms_since_kill ();
  zbt_note ("dead reader whose pid field names a live process: %s %.0f ms "
      "after the kill", zb_status_name (rc), ms);
  CHECK_RC (rc, ZB_EREADERGONE);
  CHECK (ms >= 0 && ms < DEATH_BOUND_MS);
  zb_writer_close (w);
  zbt_shm_unmap (&m);
  /* The survivor or the next reader clears the objects. */
  {
    zb_reader *r2 = NULL;
    zb_reader_options opts = { 64, 1024, 0 };

    CHECK_RC (zb_reader_create (&r2, name, &opts), 0);
    zb_reader_close (r2);
  }
  CHECK (zbt_all_gone (name));
}

/* Quirk 6: a pid that means nothing here (another namespace) must not make
 * a live peer of ours look dead; the locks say it lives. */
static void
test_invisible_pid (void)
{
  char name[64];
  zb_reader *r = make_reader (name, sizeof name, 1024);
  zb_writer *w = NULL;
  zb_frame f;
  zbt_shm m;
  zb_info info;
  uint8_t buf[200];
  pid_t dead = zbt_dead_pid ();
  double t0, ms;
  int n, rc;

  REQUIRE (dead > 0);
  REQUIRE (zbt_shm_map (name, &m) == 0);
  /* The reader's pid is invisible to the writer from the start. */
  zbt_set (&m, OFF_READER_PID, (uint64_t) dead);
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_RC (zb_writer_write (w, "a", 1, 1000), 0);
  CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
  zb_reader_release (r, &f);

  /* The reader waits on a writer whose pid field names nobody. */
  zbt_set (&m, OFF_WRITER_PID, (uint64_t) dead);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (r, &f, 600), ZB_ETIMEDOUT);
  ms = zbt_now_ms () - t0;
  CHECK (ms >= 580);
  CHECK_RC (zb_inspect (name, &info), 0);
  CHECK_EQ (info.writer_state, ZB_PEER_ALIVE);
  CHECK_RC (zb_writer_write (w, "b", 1, 1000), 0);
  CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
  CHECK_EQ (f.sequence, 2);
  zb_reader_release (r, &f);

  /* The writer, blocked on a full ring, of a reader whose pid names
   * nobody. */
  memset (buf, 1, sizeof buf);
  for (n = 0; n < 20; n++)
    if ((rc = zb_writer_write (w, buf, sizeof buf, 0)) != 0)
      break;
  CHECK_RC (rc, ZB_ETIMEDOUT);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_writer_write (w, buf, sizeof buf, 600), ZB_ETIMEDOUT);
  CHECK (zbt_now_ms () - t0 >= 580);
  CHECK_RC (zb_inspect (name, &info), 0);
  CHECK_EQ (info.reader_state, ZB_PEER_ALIVE);
  /* And the stream goes on. */
  CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
  CHECK_EQ (f.sequence, 3);
  zb_reader_release (r, &f);
  CHECK_RC (zb_writer_write (w, buf, sizeof buf, 1000), 0);
  {
    zb_reader *r2 = NULL;
    zb_reader_options opts = { 64, 1024, 0 };

    /* Nor is the name taken over as stale. */
    CHECK_RC (zb_reader_create (&r2, name, &opts), ZB_EEXIST);
  }
  zb_writer_close (w);
  zbt_shm_unmap (&m);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

int
main (int argc, char **argv)
{
  if (argc >= 4 && strcmp (argv[1], "child-writer") == 0)
    return child_writer (argv[2], atoi (argv[3]), argc >= 5);
  if (argc >= 6 && strcmp (argv[1], "child-create") == 0)
    return child_create (argv[2], atoi (argv[3]), atoi (argv[4]),
        atoi (argv[5]));
  if (argc >= 4 && strcmp (argv[1], "child-reader") == 0)
    return child_reader (argv[2], strtoull (argv[3], NULL, 10));

  self_exe = "/proc/self/exe";
  {
    static char path[4096];
    ssize_t n = readlink ("/proc/self/exe", path, sizeof path - 1);

    if (n > 0) {
      path[n] = '\0';
      self_exe = path;
    }
  }
  test_writer_killed (1, 0);
  test_writer_killed (0, 0);
  test_writer_killed (1, 1);
  test_writer_killed_while_blocked ();
  test_writer_killed_polling ();
  test_reader_killed (1);
  test_reader_killed (0);
  test_stale_reader (1);
  test_stale_reader (0);
  test_invisible_pid ();
  test_killed_pid_collision ();
  test_create_race ();
  return zbt_result ();
}
