/* Stale buffers: what readers that died leave behind, who removes it and
 * what is never touched; zb_inspect() and zb_inspect_metadata() against
 * hostile objects.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Without arguments: the cases that are safe in the shared /dev/shm, where
 * other tests' readers run at the same time (every reader creation cleans
 * stale buffers of all names): buffers that must be kept, hostile objects,
 * metadata.  "private": the cases with buffers that are really stale, in a
 * private mount namespace with its own /dev/shm and /tmp/zerobuffer
 * (needs root), so that nothing else can remove them first and the
 * directories can be compared whole.
 */
#include "zbtest.h"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sched.h>

static const char *self_exe;

/* child-reader NAME: create NAME (with a 64-byte metadata block) and wait
 * to be killed. */
static int
child_reader (const char *name)
{
  zb_reader_options opts = { 64, 4096, 0 };
  zb_reader *r = NULL;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (zb_reader_create (&r, name, &opts) != ZB_OK)
    return 2;
  for (;;)
    pause ();
}

static pid_t
spawn_reader (const char *name)
{
  pid_t pid = fork ();
  zb_info info;

  if (pid == 0) {
    execl (self_exe, self_exe, "child-reader", name, (char *) NULL);
    _exit (127);
  }
  REQUIRE (pid > 0);
  REQUIRE (WAIT_UNTIL (zb_inspect (name, &info) == 0
          && info.reader_pid == (uint64_t) pid, 10000));
  return pid;
}

static void
kill_reader (pid_t pid, int reap)
{
  siginfo_t si;

  kill (pid, SIGKILL);
  if (reap)
    waitpid (pid, NULL, 0);
  else                          /* a zombie: kill(pid, 0) still succeeds */
    waitid (P_PID, pid, &si, WEXITED | WNOWAIT);
}

static int
cmp_lines (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Names, inodes and sizes of a directory's entries, sorted: equal strings
 * mean nothing was created, removed or replaced. */
/* "-PID-": every name this test makes (zbt_name() and the killed
 * readers' names) has it; other tests' names do not. */
static const char *
pid_tag (void)
{
  static char tag[32];

  if (tag[0] == '\0')
    snprintf (tag, sizeof tag, "-%d-", (int) getpid ());
  return tag;
}

typedef struct
{
  int n;
  char seen[8][ZB_NAME_MAX + 16];
} seen_list;

/* zb_clean_stale() reports every buffer of the host, other tests' too:
 * only ours are listed. */
static void
collect (const zb_stale_info * si, void *user)
{
  seen_list *l = user;

  if (strstr (si->name, pid_tag ()) == NULL)
    return;
  if (l->n < 8)
    snprintf (l->seen[l->n++], sizeof l->seen[0], "%s:%d:%d", si->name,
        si->stale, si->removed);
}

/* zb_clean_stale() with @flags: how many of our own buffers it found
 * stale (others' stale buffers, of tests killing readers beside us, are
 * cleaned too but not counted). */
static int
stale_mine (unsigned int flags)
{
  seen_list l = { 0, };
  int i, n = 0;

  if (zb_clean_stale (flags, collect, &l) < 0)
    return -1;
  for (i = 0; i < l.n; i++)
    if (strstr (l.seen[i], ":1:") != NULL)
      n++;
  return n;
}

static char *
dir_state (const char *path)
{
  DIR *d = opendir (path);
  struct dirent *e;
  char **lines = NULL, *out;
  size_t n = 0, cap = 0, total = 1, i;

  if (d == NULL)
    return strdup ("(missing)");
  while ((e = readdir (d)) != NULL) {
    struct stat st;
    char line[512];

    if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
      continue;
    /* Other tests run beside this one: only our own names count. */
    if (strstr (e->d_name, pid_tag ()) == NULL)
      continue;
    if (fstatat (dirfd (d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    snprintf (line, sizeof line, "%s ino=%llu size=%lld mtime=%lld.%09ld\n",
        e->d_name, (unsigned long long) st.st_ino, (long long) st.st_size,
        (long long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      lines = realloc (lines, cap * sizeof *lines);
      REQUIRE (lines != NULL);
    }
    lines[n++] = strdup (line);
    total += strlen (line);
  }
  closedir (d);
  qsort (lines, n, sizeof *lines, cmp_lines);
  out = malloc (total);
  REQUIRE (out != NULL);
  out[0] = '\0';
  for (i = 0; i < n; i++) {
    strcat (out, lines[i]);
    free (lines[i]);
  }
  free (lines);
  return out;
}

/* A buffer made by hand as an upstream reader makes it: semaphores, a
 * valid header, optionally a lock file (unmarked, as theirs are); then
 * "dead": locks dropped, reader pid of a process that is gone. */
static void
fake_upstream (zbt_fake * f, const char *name, int lock_file)
{
  REQUIRE (zbt_fake_shm (f, name, 128 + 64 + 4096) == 0);
  REQUIRE (zbt_fake_sems (f) == 0);
  zbt_fake_oieb (f, 128, 1, 0, 64, 4096, (uint64_t) zbt_dead_pid ());
  if (lock_file) {
    REQUIRE (zbt_fake_lockfile (f) == 0);
    close (f->lock_fd);
    f->lock_fd = -1;
  }
}

static int
reason_has (const zb_stale_info * si, const char *what)
{
  if (strstr (si->reason, what))
    return 1;
  fprintf (stderr, "  reason '%s' lacks '%s'\n", si->reason, what);
  return 0;
}

/* --------------------------------------------------- shared /dev/shm */

/* A live reader of ours is in use; cleaning changes nothing of it. */
static void
test_live_reader (void)
{
  zb_reader_options opts = { 64, 4096, 0 };
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  zb_stale_info si;
  zb_frame f;
  char name[64];

  zbt_name (name, sizeof name, "clean-live");
  REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
  CHECK_RC (zb_clean_buffer (name, 0, &si), 0);
  CHECK (!si.stale && !si.removed && si.status == ZB_OK);
  CHECK (reason_has (&si, "a reader of ours holds it"));
  CHECK (strcmp (si.name, name) == 0);
  CHECK_RC (zb_clean_buffer (name, ZB_CLEAN_UNMARKED, &si), 0);
  CHECK_RC (zb_clean_stale (ZB_CLEAN_UNMARKED, NULL, NULL) >= 0 ? 0 : -1, 0);
  CHECK (zbt_all_exist (name));
  /* And it works. */
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_RC (zb_writer_write (w, "abc", 3, 1000), 0);
  CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
  CHECK_EQ (f.size, 3);
  zb_reader_release (r, &f);
  /* A live writer of ours is "in use" too, whatever the reader. */
  zb_writer_close (w);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

/* Objects that are not whole v1 buffers are not buffers: never reported,
 * never removed, never able to block or crash the caller. */
static void
test_not_buffers (void)
{
  zbt_fake half, big;
  zb_stale_info si;
  zb_info info;
  char name[64], p[512], meta[16];
  size_t len;
  int fd;

  /* Half-made: the object exists, sized, semaphores too, no header yet;
   * its creator (we) is alive, with the lock file held. */
  zbt_name (name, sizeof name, "clean-half");
  REQUIRE (zbt_fake_shm (&half, name, 128 + 4096) == 0);
  REQUIRE (zbt_fake_sems (&half) == 0);
  CHECK_RC (zb_clean_buffer (name, 0, &si), ZB_ENOTFOUND);
  CHECK_RC (zb_clean_buffer (name, ZB_CLEAN_UNMARKED, &si), ZB_ENOTFOUND);
  CHECK (strstr (zb_last_error (), "not a ZeroBuffer v1 buffer") != NULL);
  CHECK (zb_clean_stale (ZB_CLEAN_UNMARKED, NULL, NULL) >= 0);
  CHECK_RC (zb_inspect_metadata (name, meta, sizeof meta, &len),
      ZB_EVERSION);
  zbt_path_shm (p, sizeof p, name);
  CHECK (zbt_path_exists (p));
  zbt_path_sem (p, sizeof p, 'w', name);
  CHECK (zbt_path_exists (p));

  /* A header that claims more than the object holds. */
  zbt_name (name, sizeof name, "clean-big");
  REQUIRE (zbt_fake_shm (&big, name, 4096) == 0);
  REQUIRE (zbt_fake_sems (&big) == 0);
  zbt_fake_oieb (&big, 128, 1, 0, 64, 1 << 20, (uint64_t) zbt_dead_pid ());
  CHECK_RC (zb_clean_buffer (name, ZB_CLEAN_UNMARKED, &si), ZB_ENOTFOUND);
  CHECK_RC (zb_inspect (name, &info), 0);      /* shows what it claims */
  CHECK_EQ (info.payload_size, 1 << 20);
  CHECK_RC (zb_inspect_metadata (name, meta, sizeof meta, &len),
      ZB_EVERSION);
  zbt_path_shm (p, sizeof p, name);
  CHECK (zbt_path_exists (p));

  /* Truncated: 64 bytes of a valid-looking start. */
  zbt_name (name, sizeof name, "clean-trunc");
  fd = shm_open (name, O_RDWR | O_CREAT | O_EXCL, 0600);
  REQUIRE (fd >= 0);
  REQUIRE (pwrite (fd, "\x80\0\0\0\1\0\0\0", 8, 0) == 8);
  REQUIRE (ftruncate (fd, 64) == 0);
  close (fd);
  CHECK_RC (zb_inspect (name, &info), ZB_ECORRUPT);
  CHECK_RC (zb_clean_buffer (name, 0, &si), ZB_ENOTFOUND);
  zbt_path_shm (p, sizeof p, name);
  CHECK (zbt_path_exists (p));

  /* A FIFO under a buffer's name: opening it would block a reader of it;
   * we neither block nor touch it.  The alarm fails the test if we do. */
  zbt_name (name, sizeof name, "clean-fifo");
  zbt_path_shm (p, sizeof p, name);
  REQUIRE (mkfifo (p, 0600) == 0);
  alarm (30);
  CHECK_RC (zb_inspect (name, &info), ZB_ENOTFOUND);
  CHECK_RC (zb_inspect_metadata (name, meta, sizeof meta, &len),
      ZB_ENOTFOUND);
  CHECK_RC (zb_clean_buffer (name, 0, &si), ZB_ENOTFOUND);
  CHECK (zb_clean_stale (ZB_CLEAN_DRY_RUN, NULL, NULL) >= 0);
  alarm (0);
  CHECK (zbt_path_exists (p));
  unlink (p);

  /* A symbolic link to a real buffer is not followed. */
  {
    zb_reader_options opts = { 64, 4096, 0 };
    zb_reader *r = NULL;
    char target[64], q[512];

    zbt_name (target, sizeof target, "clean-target");
    REQUIRE_RC (zb_reader_create (&r, target, &opts), 0);
    zbt_name (name, sizeof name, "clean-link");
    zbt_path_shm (q, sizeof q, name);
    REQUIRE (symlink (target, q) == 0);
    CHECK_RC (zb_inspect (name, &info), ZB_ENOTFOUND);
    CHECK_RC (zb_clean_buffer (name, 0, &si), ZB_ENOTFOUND);
    unlink (q);
    zb_reader_close (r);
  }

  zbt_fake_destroy (&half);
  zbt_fake_destroy (&big);
  zbt_unlink_all (name);
}

/* Upstream-style leftovers: no mark of ours, so no proof that the reader
 * is dead.  Kept without ZB_CLEAN_UNMARKED; with it only if /proc proves
 * that nothing uses them.  Dry runs change nothing either way. */
static void
test_unmarked (void)
{
  zbt_fake up, nolock;
  zb_stale_info si;
  char *before, *after, n1[64], n2[64];
  int rc;

  zbt_name (n1, sizeof n1, "clean-upstream");
  fake_upstream (&up, n1, 1);
  zbt_name (n2, sizeof n2, "clean-nolock");
  fake_upstream (&nolock, n2, 0);

  CHECK_RC (zb_clean_buffer (up.name, 0, &si), 0);
  CHECK (reason_has (&si, "no libzerobuffer mark"));
  CHECK_RC (zb_clean_buffer (nolock.name, 0, &si), 0);
  CHECK (reason_has (&si, "no lock file"));

  /* We map it (the fake): in use, when /proc can tell. */
  rc = zb_clean_buffer (up.name, ZB_CLEAN_UNMARKED, &si);
  CHECK_RC (rc, 0);
  zbt_note ("dead upstream reader, mapped by us: %s", si.reason);
  CHECK (strstr (si.reason, "in use: a process maps or holds it")
      || strstr (si.reason, "nothing proves it unused"));
  /* Unmapped: stale, when /proc can tell (a dry run: nothing changes). */
  zbt_shm_unmap (&up.m);
  before = dir_state ("/dev/shm");
  rc = zb_clean_buffer (up.name, ZB_CLEAN_UNMARKED | ZB_CLEAN_DRY_RUN, &si);
  zbt_note ("dead upstream reader, unmarked lock file: %s (%s)",
      rc == 1 ? "stale" : "kept", si.reason);
  if (rc == 1)
    CHECK (reason_has (&si, "no process of this host maps or holds it"));
  else
    CHECK (reason_has (&si, "nothing proves it unused"));
  CHECK (!si.removed);
  CHECK (zbt_all_exist (up.name));
  after = dir_state ("/dev/shm");
  CHECK (strcmp (before, after) == 0);
  free (before);
  free (after);
  zbt_fake_destroy (&up);
  zbt_fake_destroy (&nolock);
}

/* A dead reader's buffer that a writer of ours still has mapped stays:
 * the writer's OFD lock says in use.  (zbt_pin() is such a lock.) */
static void
test_pinned (void)
{
  zb_stale_info si;
  char name[64];
  pid_t child;
  int pin;

  zbt_name (name, sizeof name, "clean-pinned");
  child = spawn_reader (name);
  pin = zbt_pin (name);
  REQUIRE (pin >= 0);
  kill_reader (child, 1);
  CHECK_RC (zb_clean_buffer (name, 0, &si), 0);
  CHECK (reason_has (&si, "a writer of ours is attached"));
  CHECK (zb_clean_stale (0, NULL, NULL) >= 0);
  CHECK (zbt_all_exist (name));
  close (pin);
  zbt_unlink_all (name);
}

/* zb_inspect_metadata: without attaching, whole or cut. */
static void
test_metadata (void)
{
  zb_reader_options opts = { 256, 4096, 0 };
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  const char *json = "{\"type\":\"gstreamer-sink\",\"caps\":\"video/x-raw\"}";
  char name[64], buf[256];
  size_t len = 99;

  zbt_name (name, sizeof name, "clean-meta");
  REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
  CHECK_RC (zb_inspect_metadata (name, buf, sizeof buf, &len), ZB_ENOMETA);
  CHECK_EQ (len, 0);
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  REQUIRE_RC (zb_writer_set_metadata (w, json, strlen (json)), 0);
  CHECK_RC (zb_inspect_metadata (name, buf, sizeof buf, &len), 0);
  CHECK_EQ (len, strlen (json));
  CHECK (memcmp (buf, json, len) == 0);
  memset (buf, 'x', sizeof buf);
  CHECK_RC (zb_inspect_metadata (name, buf, 5, &len), 0);
  CHECK_EQ (len, strlen (json));
  CHECK (memcmp (buf, json, 5) == 0 && buf[5] == 'x');
  CHECK_RC (zb_inspect_metadata (name, NULL, 0, &len), 0);
  CHECK_EQ (len, strlen (json));
  CHECK_RC (zb_inspect_metadata (name, NULL, 4, &len), ZB_EINVAL);
  CHECK_RC (zb_inspect_metadata ("bad/name", buf, 4, &len), ZB_EBADNAME);
  {
    char missing[64];

    zbt_name (missing, sizeof missing, "clean-none");
    CHECK_RC (zb_inspect_metadata (missing, buf, 4, &len), ZB_ENOTFOUND);
  }
  /* A corrupt length is refused, not trusted. */
  {
    zbt_shm m;

    REQUIRE (zbt_shm_map (name, &m) == 0);
    zbt_set (&m, OFF_META_WRITTEN, 1000);
    CHECK_RC (zb_inspect_metadata (name, buf, sizeof buf, &len),
        ZB_ECORRUPT);
    zbt_set (&m, OFF_META_WRITTEN, 8 + strlen (json));
    zbt_put_le64 (m.base + 128, 200);
    CHECK_RC (zb_inspect_metadata (name, buf, sizeof buf, &len),
        ZB_ECORRUPT);
    zbt_shm_unmap (&m);
  }
  zb_writer_close (w);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

static void
test_errors (void)
{
  zb_stale_info si;
  char name[64];

  CHECK_RC (zb_clean_buffer ("", 0, &si), ZB_EBADNAME);
  CHECK_RC (zb_clean_buffer ("../etc/passwd", 0, &si), ZB_EBADNAME);
  zbt_name (name, sizeof name, "clean-missing");
  CHECK_RC (zb_clean_buffer (name, 0, NULL), ZB_ENOTFOUND);
  CHECK (strstr (zb_last_error (), name) != NULL);
  CHECK (zb_clean_stale (ZB_CLEAN_DRY_RUN, NULL, NULL) >= 0);
  CHECK (strcmp (zb_last_error (), "") == 0);
}

/* -------------------------------------------- private /dev/shm (root) */

static int
private_dirs (void)
{
  if (geteuid () != 0) {
    printf ("SKIP: not root: no private /dev/shm\n");
    return 0;
  }
  if (unshare (CLONE_NEWNS) < 0) {
    printf ("SKIP: unshare(CLONE_NEWNS): %s\n", strerror (errno));
    return 0;
  }
  mkdir ("/tmp/zerobuffer", 01777);
  /* "none", not NULL: valgrind checks the strings of mount(2). */
  if (mount ("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0
      || mount ("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
          "size=64m,mode=1777") < 0
      || mount ("tmpfs", "/tmp/zerobuffer", "tmpfs", MS_NOSUID | MS_NODEV,
          "size=1m,mode=1777") < 0) {
    printf ("SKIP: cannot mount a private /dev/shm and /tmp/zerobuffer: "
        "%s\n", strerror (errno));
    return 0;
  }
  return 1;
}

/* Readers of random names killed (reaped or zombies): a dry run says
 * stale and changes nothing; one new reader of another name leaves both
 * directories as they were before the killed readers; a live reader of
 * ours and a half-made buffer are untouched. */
static void
test_killed_readers (void)
{
  enum { N = 4 };
  char names[N][64], live[64], fresh[64], half_name[64];
  char *shm0, *lock0, *shm1, *lock1, *shm2, *lock2;
  zb_reader_options opts = { 64, 4096, 0 };
  zb_reader *lr = NULL, *r = NULL;
  zbt_fake half;
  pid_t kids[N];
  int i, n;

  srand ((unsigned) getpid () ^ (unsigned) time (NULL));
  /* What was there before: a live reader and a half-made buffer. */
  zbt_name (live, sizeof live, "clean-live");
  REQUIRE_RC (zb_reader_create (&lr, live, &opts), 0);
  zbt_name (half_name, sizeof half_name, "clean-half");
  REQUIRE (zbt_fake_shm (&half, half_name, 128 + 4096) == 0);
  REQUIRE (zbt_fake_sems (&half) == 0);
  shm0 = dir_state ("/dev/shm");
  lock0 = dir_state ("/tmp/zerobuffer");

  for (i = 0; i < N; i++) {
    snprintf (names[i], sizeof names[i], "zbt-clean-%d-%08x", (int) getpid (),
        (unsigned) rand ());
    zbt_register_name (names[i]);
    kids[i] = spawn_reader (names[i]);
  }
  for (i = 0; i < N; i++)
    kill_reader (kids[i], i % 2);
  for (i = 0; i < N; i++)
    CHECK (zbt_all_exist (names[i]));

  /* Dry runs: all four stale, nothing changed. */
  shm1 = dir_state ("/dev/shm");
  lock1 = dir_state ("/tmp/zerobuffer");
  for (i = 0; i < N; i++) {
    zb_stale_info si;

    CHECK_RC (zb_clean_buffer (names[i], ZB_CLEAN_DRY_RUN, &si), 1);
    CHECK (si.stale && !si.removed);
    CHECK (reason_has (&si, "died"));
  }
  CHECK_EQ (stale_mine (ZB_CLEAN_DRY_RUN), N);
  CHECK_EQ (stale_mine (ZB_CLEAN_DRY_RUN | ZB_CLEAN_UNMARKED), N);
  shm2 = dir_state ("/dev/shm");
  lock2 = dir_state ("/tmp/zerobuffer");
  CHECK (strcmp (shm1, shm2) == 0);
  CHECK (strcmp (lock1, lock2) == 0);
  free (shm1);
  free (lock1);
  free (shm2);
  free (lock2);

  /* One new reader of another name removes them. */
  zbt_name (fresh, sizeof fresh, "clean-fresh");
  REQUIRE_RC (zb_reader_create (&r, fresh, &opts), 0);
  for (i = 0; i < N; i++)
    CHECK (zbt_all_gone (names[i]));
  zb_reader_close (r);
  shm1 = dir_state ("/dev/shm");
  lock1 = dir_state ("/tmp/zerobuffer");
  CHECK (strcmp (shm0, shm1) == 0);
  CHECK (strcmp (lock0, lock1) == 0);
  if (strcmp (shm0, shm1) != 0)
    fprintf (stderr, "before:\n%safter:\n%s", shm0, shm1);
  free (shm1);
  free (lock1);

  /* Nothing left to do: a second pass removes nothing. */
  n = stale_mine (ZB_CLEAN_UNMARKED);
  CHECK_EQ (n, 0);
  for (i = 0; i < N; i++)
    waitpid (kids[i], NULL, WNOHANG);
  for (i = 0; i < N; i++)
    waitpid (kids[i], NULL, 0);

  /* The live reader still works. */
  {
    zb_writer *w = NULL;
    zb_frame f;

    REQUIRE_RC (zb_writer_open (&w, live, 1000), 0);
    CHECK_RC (zb_writer_write (w, "x", 1, 1000), 0);
    CHECK_RC (zb_reader_acquire (lr, &f, 1000), 0);
    zb_reader_release (lr, &f);
    zb_writer_close (w);
  }
  zb_reader_close (lr);
  zbt_fake_destroy (&half);
  free (shm0);
  free (lock0);
}

/* Who decides what, once the reader is dead: a live writer that maps the
 * buffer keeps it; a dead or unrelated writer pid does not; a lock file
 * that names another object keeps it; a writer of ours attached to a dead
 * reader's buffer gets its reader-gone error and removes it itself. */
static void
test_writer_rules (void)
{
  zb_stale_info si;
  zbt_shm m;
  char name[64];
  pid_t child;
  seen_list l = { 0 };

  /* Upstream-style writer (no OFD lock): our pid, and we map it. */
  zbt_name (name, sizeof name, "clean-w");
  child = spawn_reader (name);
  kill_reader (child, 1);
  REQUIRE (zbt_shm_map (name, &m) == 0);
  zbt_set (&m, OFF_WRITER_PID, (uint64_t) getpid ());
  CHECK_RC (zb_clean_buffer (name, 0, &si), 0);
  CHECK (reason_has (&si, "writer pid"));
  CHECK (reason_has (&si, "maps it"));
  CHECK (zbt_all_exist (name));
  /* A live process that does not map it is not its writer. */
  zbt_set (&m, OFF_WRITER_PID, (uint64_t) getppid ());
  CHECK_RC (zb_clean_buffer (name, ZB_CLEAN_DRY_RUN, &si), 1);
  zbt_set (&m, OFF_WRITER_PID, (uint64_t) zbt_dead_pid ());
  CHECK_RC (zb_clean_buffer (name, ZB_CLEAN_DRY_RUN, &si), 1);
  /* The reported list. */
  CHECK_EQ (zb_clean_stale (ZB_CLEAN_DRY_RUN, collect, &l), 1);
  CHECK_EQ (l.n, 1);
  CHECK (strstr (l.seen[0], name) != NULL && strstr (l.seen[0], ":1:0"));
  /* A mark that names another object: the name was made again. */
  {
    char p[512];
    int fd;

    zbt_path_lock (p, sizeof p, name);
    fd = open (p, O_WRONLY | O_TRUNC);
    REQUIRE (fd >= 0);
    REQUIRE (write (fd, "zerobuffer-reader 1 dev=1 ino=2 pid=3\n", 38) == 38);
    close (fd);
    CHECK_RC (zb_clean_buffer (name, 0, &si), 0);
    CHECK (reason_has (&si, "names another object"));
  }
  zbt_shm_unmap (&m);
  zbt_unlink_all (name);

  /* A writer of ours attached when the reader dies. */
  {
    zb_writer *w = NULL;
    int rc, i;

    zbt_name (name, sizeof name, "clean-wgone");
    child = spawn_reader (name);
    REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
    kill_reader (child, 1);
    CHECK_RC (zb_clean_buffer (name, 0, &si), 0);
    CHECK (reason_has (&si, "a writer of ours is attached"));
    CHECK_EQ (stale_mine (0), 0);
    CHECK (zbt_all_exist (name));
    /* It finds out as it always did, whoever cleans. */
    for (i = 0, rc = 0; i < 1000 && rc == 0; i++)
      rc = zb_writer_write (w, "y", 1, 1000);
    CHECK_RC (rc, ZB_EREADERGONE);
    CHECK (strstr (zb_writer_last_error (w), "died") != NULL);
    CHECK (zbt_all_gone (name));
    zb_writer_close (w);
  }

  /* Removing: the dead reader's buffer goes with everything it had. */
  zbt_name (name, sizeof name, "clean-rm");
  child = spawn_reader (name);
  kill_reader (child, 1);
  CHECK_RC (zb_clean_buffer (name, 0, &si), 1);
  CHECK (si.stale && si.removed && si.status == ZB_OK);
  CHECK (zbt_all_gone (name));
  CHECK_RC (zb_clean_buffer (name, 0, &si), ZB_ENOTFOUND);
}

int
main (int argc, char **argv)
{
  if (argc >= 3 && strcmp (argv[1], "child-reader") == 0)
    return child_reader (argv[2]);

  self_exe = "/proc/self/exe";
  {
    static char path[4096];
    ssize_t n = readlink ("/proc/self/exe", path, sizeof path - 1);

    if (n > 0) {
      path[n] = '\0';
      self_exe = path;
    }
  }
  if (argc >= 2 && strcmp (argv[1], "private") == 0) {
    if (!private_dirs ())
      return 77;
    test_killed_readers ();
    test_writer_rules ();
    return zbt_result ();
  }
  test_errors ();
  test_live_reader ();
  test_not_buffers ();
  test_unmarked ();
  test_pinned ();
  test_metadata ();
  return zbt_result ();
}
