/* Tiny test helpers for the libzerobuffer tests: CHECK macros, unique buffer
 * names with cleanup at exit, raw access to the shared memory by byte offset
 * (independent of the library's struct), and an emulated upstream-style peer.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Exit status: 0 pass, 1 fail, 77 skip.
 */
#ifndef ZBTEST_H
#define ZBTEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zerobuffer/zerobuffer.h"

/* Wire offsets, spelled out here on purpose: the tests must not share the
 * library's struct, so that a wrong struct shows up as a failure. */
#define OFF_OIEB_SIZE 0x00
#define OFF_VERSION 0x04
#define OFF_META_SIZE 0x08
#define OFF_META_FREE 0x10
#define OFF_META_WRITTEN 0x18
#define OFF_PAYLOAD_SIZE 0x20
#define OFF_PAYLOAD_FREE 0x28
#define OFF_WRITE_POS 0x30
#define OFF_READ_POS 0x38
#define OFF_WRITTEN_COUNT 0x40
#define OFF_READ_COUNT 0x48
#define OFF_WRITER_PID 0x50
#define OFF_READER_PID 0x58
#define OFF_RESERVED 0x60

static atomic_int zbt_failures;

/* Non-fatal: record and go on, so one run shows every broken rule. */
#define CHECK(expr)                                                          \
  do {                                                                       \
    if (!(expr)) {                                                           \
      fprintf (stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,      \
          #expr);                                                            \
      atomic_fetch_add (&zbt_failures, 1);                                   \
    }                                                                        \
  } while (0)

#define CHECK_EQ(a, b)                                                       \
  do {                                                                       \
    uint64_t zbt_a_ = (uint64_t) (a), zbt_b_ = (uint64_t) (b);               \
    if (zbt_a_ != zbt_b_) {                                                  \
      fprintf (stderr, "%s:%d: CHECK failed: %s == %s (%" PRIu64 " != %"     \
          PRIu64 ")\n", __FILE__, __LINE__, #a, #b, zbt_a_, zbt_b_);          \
      atomic_fetch_add (&zbt_failures, 1);                                   \
    }                                                                        \
  } while (0)

/* Compare status codes and print their names. */
#define CHECK_RC(expr, want)                                                 \
  do {                                                                       \
    int zbt_rc_ = (expr), zbt_want_ = (want);                                \
    if (zbt_rc_ != zbt_want_) {                                              \
      fprintf (stderr, "%s:%d: CHECK failed: %s returned %s (%d), want %s"   \
          " [last error: %s]\n", __FILE__, __LINE__, #expr,                   \
          zb_status_name (zbt_rc_), zbt_rc_, zb_status_name (zbt_want_),     \
          zb_last_error ());                                                 \
      atomic_fetch_add (&zbt_failures, 1);                                   \
    }                                                                        \
  } while (0)

/* Fatal: the rest of the test makes no sense without it. */
#define REQUIRE(expr)                                                        \
  do {                                                                       \
    if (!(expr)) {                                                           \
      fprintf (stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__,    \
          #expr);                                                            \
      exit (1);                                                              \
    }                                                                        \
  } while (0)

#define REQUIRE_RC(expr, want)                                               \
  do {                                                                       \
    int zbt_rc_ = (expr), zbt_want_ = (want);                                \
    if (zbt_rc_ != zbt_want_) {                                              \
      fprintf (stderr, "%s:%d: REQUIRE failed: %s returned %s (%d), want %s" \
          " [last error: %s]\n", __FILE__, __LINE__, #expr,                   \
          zb_status_name (zbt_rc_), zbt_rc_, zb_status_name (zbt_want_),     \
          zb_last_error ());                                                 \
      exit (1);                                                              \
    }                                                                        \
  } while (0)

static inline void
zbt_note (const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  fputs ("# ", stdout);
  vfprintf (stdout, fmt, ap);
  fputc ('\n', stdout);
  va_end (ap);
  fflush (stdout);
}

static inline int
zbt_result (void)
{
  int n = atomic_load (&zbt_failures);

  if (n) {
    fprintf (stderr, "%d check(s) failed\n", n);
    return 1;
  }
  return 0;
}

/* ---- options ---- */

/* Spin budget passed to every reader and writer the tests make through
 * zbt_reader_options() and zbt_writer_open(): "--spin-us N" on the command
 * line (the "-spin" variants of the threaded tests), default 0.  The
 * library reads no environment. */
static unsigned int zbt_spin_us;

static inline void
zbt_parse_args (int argc, char **argv)
{
  int i;

  for (i = 1; i < argc; i++) {
    if (strcmp (argv[i], "--spin-us") == 0 && i + 1 < argc) {
      zbt_spin_us = (unsigned int) strtoul (argv[++i], NULL, 10);
    } else {
      fprintf (stderr, "usage: %s [--spin-us N]\n", argv[0]);
      exit (1);
    }
  }
  if (zbt_spin_us)
    fprintf (stdout, "# spin_us = %u\n", zbt_spin_us);
}

static inline zb_reader_options
zbt_reader_options (uint64_t metadata_size, uint64_t payload_size)
{
  zb_reader_options o = {.metadata_size = metadata_size,
    .payload_size = payload_size, .spin_us = zbt_spin_us
  };

  return o;
}

static inline int
zbt_writer_open (zb_writer ** w, const char *name, int timeout_ms)
{
  zb_writer_options o = {.spin_us = zbt_spin_us };

  return zb_writer_open_with_options (w, name, timeout_ms, &o);
}

/* ---- time ---- */

static inline double
zbt_now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline void
zbt_sleep_ms (int ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

  while (nanosleep (&ts, &ts) < 0 && errno == EINTR);
}

/* Time scale of every upper bound on time and every deadline below:
 * ZB_TIME_SCALE from the environment (meson sets 4 in sanitized builds;
 * default 1), and at least 10 under valgrind, which .ci/run adds to the
 * lib suite as a --wrapper: its preload libraries show in our LD_PRELOAD
 * (a child we exec runs natively and has them removed).  Lower bounds (a
 * timeout must not fire early) are never scaled. */
static atomic_int zbt_scale_;

static inline int
zbt_scale (void)
{
  int s = atomic_load (&zbt_scale_);

  if (s == 0) {
    const char *e = getenv ("ZB_TIME_SCALE");
    const char *pre = getenv ("LD_PRELOAD");
    long v = e ? strtol (e, NULL, 10) : 1;

    s = v >= 1 && v <= 100 ? (int) v : 1;
    if (pre && strstr (pre, "vgpreload") && s < 10)
      s = 10;
    if (atomic_exchange (&zbt_scale_, s) == 0 && s != 1)
      fprintf (stdout, "# time scale %d\n", s);
  }
  return s;
}

/* ms, scaled. */
#define ZBT_MS(ms) ((int) (ms) * zbt_scale ())

/* Upper bound for what must happen at once or promptly (a refusal, an
 * interrupt, end of stream, a dead peer noticed; the design targets are
 * ~100 ms): 5 s, scaled.  It tells "at once" from "after the timeout" only
 * when the call's timeout is longer: give such calls ZBT_LONG_MS. */
#define ZBT_PROMPT_MS ZBT_MS (5000)

/* A timeout for calls that must return long before it (waiting on another
 * thread or process, or the timeout a prompt return is told apart from):
 * 15 s, scaled. */
#define ZBT_LONG_MS ZBT_MS (15000)

/* Poll a condition with a deadline (timeout_ms, scaled) instead of sleeping
 * and hoping.  The deadline only ends the wait: make it generous. */
#define WAIT_UNTIL(cond, timeout_ms)                                         \
  ({                                                                         \
    double zbt_end_ = zbt_now_ms () + ZBT_MS (timeout_ms);                   \
    int zbt_ok_ = 0;                                                         \
    for (;;) {                                                               \
      if (cond) { zbt_ok_ = 1; break; }                                      \
      if (zbt_now_ms () > zbt_end_) break;                                   \
      zbt_sleep_ms (1);                                                      \
    }                                                                        \
    zbt_ok_;                                                                 \
  })

/* ---- names and cleanup ---- */

#define ZBT_MAX_NAMES 256
static char zbt_names[ZBT_MAX_NAMES][256];
static atomic_int zbt_n_names;
static atomic_int zbt_counter;
static pid_t zbt_owner_pid;

static inline void
zbt_path_shm (char *out, size_t len, const char *name)
{
  snprintf (out, len, "/dev/shm/%s", name);
}

static inline void
zbt_path_sem (char *out, size_t len, char role, const char *name)
{
  snprintf (out, len, "/dev/shm/sem.sem-%c-%s", role, name);
}

static inline void
zbt_path_lock (char *out, size_t len, const char *name)
{
  snprintf (out, len, "/tmp/zerobuffer/%s.lock", name);
}

static inline int
zbt_path_exists (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0;
}

/* Remove whatever a test (or a broken library) left under name. */
static inline void
zbt_unlink_all (const char *name)
{
  char p[512];

  shm_unlink (name);
  snprintf (p, sizeof p, "/sem-w-%s", name);
  sem_unlink (p);
  snprintf (p, sizeof p, "/sem-r-%s", name);
  sem_unlink (p);
  zbt_path_lock (p, sizeof p, name);
  unlink (p);
}

static void
zbt_cleanup_at_exit (void)
{
  int i, n = atomic_load (&zbt_n_names);

  /* A forked child must not remove the parent's objects. */
  if (getpid () != zbt_owner_pid)
    return;
  for (i = 0; i < n && i < ZBT_MAX_NAMES; i++)
    zbt_unlink_all (zbt_names[i]);
}

/* A test killed by the runner's timeout still removes its objects. */
static void
zbt_on_term (int sig)
{
  zbt_cleanup_at_exit ();
  signal (sig, SIG_DFL);
  raise (sig);
}

static inline void
zbt_register_name (const char *name)
{
  int i = atomic_fetch_add (&zbt_n_names, 1);

  if (i == 0) {
    zbt_owner_pid = getpid ();
    atexit (zbt_cleanup_at_exit);
    signal (SIGTERM, zbt_on_term);
    signal (SIGINT, zbt_on_term);
  }
  if (i < ZBT_MAX_NAMES)
    snprintf (zbt_names[i], sizeof zbt_names[i], "%s", name);
}

/* "zbt-<test>-<pid>-<n>", registered for removal at exit. */
static inline const char *
zbt_name (char *buf, size_t len, const char *test)
{
  snprintf (buf, len, "zbt-%s-%d-%d", test, (int) getpid (),
      atomic_fetch_add (&zbt_counter, 1));
  zbt_register_name (buf);
  return buf;
}

/* 1 when none of the four objects of name exists. */
static inline int
zbt_all_gone (const char *name)
{
  char p[512];
  int left = 0;

  zbt_path_shm (p, sizeof p, name);
  if (zbt_path_exists (p)) {
    fprintf (stderr, "  left behind: %s\n", p);
    left++;
  }
  zbt_path_sem (p, sizeof p, 'w', name);
  if (zbt_path_exists (p)) {
    fprintf (stderr, "  left behind: %s\n", p);
    left++;
  }
  zbt_path_sem (p, sizeof p, 'r', name);
  if (zbt_path_exists (p)) {
    fprintf (stderr, "  left behind: %s\n", p);
    left++;
  }
  zbt_path_lock (p, sizeof p, name);
  if (zbt_path_exists (p)) {
    fprintf (stderr, "  left behind: %s\n", p);
    left++;
  }
  return left == 0;
}

static inline int
zbt_all_exist (const char *name)
{
  char p[512];
  int ok = 1;

  zbt_path_shm (p, sizeof p, name);
  ok &= zbt_path_exists (p);
  zbt_path_sem (p, sizeof p, 'w', name);
  ok &= zbt_path_exists (p);
  zbt_path_sem (p, sizeof p, 'r', name);
  ok &= zbt_path_exists (p);
  zbt_path_lock (p, sizeof p, name);
  ok &= zbt_path_exists (p);
  return ok;
}

/* Keep a dead reader's buffer from being cleaned as stale by readers that
 * other tests create meanwhile (zb_reader_create() removes stale buffers
 * of every name): hold the writer's OFD lock byte on it, which marks it in
 * use without changing what the header says.  Take it while the reader
 * still lives; close the returned fd to let go.  -1 on failure. */
static inline int
zbt_pin (const char *name)
{
  struct flock fl;
  int fd = shm_open (name, O_RDWR | O_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  memset (&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 1;               /* the writer's byte */
  fl.l_len = 1;
  if (fcntl (fd, F_OFD_SETLK, &fl) < 0) {
    close (fd);
    return -1;
  }
  return fd;
}

/* ---- raw shared memory ---- */

typedef struct zbt_shm
{
  int fd;
  uint8_t *base;
  size_t size;
} zbt_shm;

static inline int
zbt_shm_map (const char *name, zbt_shm * m)
{
  struct stat st;

  m->fd = shm_open (name, O_RDWR, 0);
  if (m->fd < 0)
    return -1;
  if (fstat (m->fd, &st) < 0 || st.st_size <= 0) {
    close (m->fd);
    return -1;
  }
  m->size = st.st_size;
  m->base = mmap (NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
  if (m->base == MAP_FAILED) {
    close (m->fd);
    return -1;
  }
  return 0;
}

static inline void
zbt_shm_unmap (zbt_shm * m)
{
  if (m->base && m->base != MAP_FAILED)
    munmap (m->base, m->size);
  if (m->fd >= 0)
    close (m->fd);
  m->base = NULL;
  m->fd = -1;
}

/* A full barrier between our raw accesses and the library's (TSan does
 * not support atomic_thread_fence; an atomic RMW is the same on x86 and
 * understood by it). */
static inline void
zbt_fence (void)
{
  static int dummy;

  __atomic_fetch_add (&dummy, 0, __ATOMIC_SEQ_CST);
}

/* Little-endian loads and stores assembled byte by byte, so the test does
 * not depend on the host's struct layout or on alignment. */
static inline uint64_t
zbt_le64 (const uint8_t * p)
{
  uint64_t v = 0;
  int i;

  for (i = 7; i >= 0; i--)
    v = (v << 8) | ((const volatile uint8_t *) p)[i];
  return v;
}

static inline uint32_t
zbt_le32 (const uint8_t * p)
{
  uint32_t v = 0;
  int i;

  for (i = 3; i >= 0; i--)
    v = (v << 8) | ((const volatile uint8_t *) p)[i];
  return v;
}

static inline void
zbt_put_le64 (uint8_t * p, uint64_t v)
{
  int i;

  for (i = 0; i < 8; i++)
    ((volatile uint8_t *) p)[i] = (uint8_t) (v >> (8 * i));
}

static inline void
zbt_put_le32 (uint8_t * p, uint32_t v)
{
  int i;

  for (i = 0; i < 4; i++)
    ((volatile uint8_t *) p)[i] = (uint8_t) (v >> (8 * i));
}

static inline uint64_t
zbt_get (const zbt_shm * m, size_t off)
{
  zbt_fence ();
  return zbt_le64 (m->base + off);
}

static inline void
zbt_set (zbt_shm * m, size_t off, uint64_t v)
{
  zbt_put_le64 (m->base + off, v);
  zbt_fence ();
}

/* The field is shared with the library's atomics (little-endian host). */
static inline void
zbt_atomic_add (zbt_shm * m, size_t off, int64_t delta)
{
  __atomic_fetch_add ((uint64_t *) (m->base + off), (uint64_t) delta,
      __ATOMIC_SEQ_CST);
}

/* Deterministic payload pattern for frame seq, so content can be verified
 * anywhere without keeping a copy. */
static inline uint8_t
zbt_pattern (uint64_t seq, size_t i)
{
  return (uint8_t) (seq * 131u + i * 7u + (i >> 8) * 13u + 1u);
}

static inline void
zbt_fill (uint8_t * p, size_t len, uint64_t seq)
{
  size_t i;

  for (i = 0; i < len; i++)
    p[i] = zbt_pattern (seq, i);
}

/* Index of the first wrong byte, or -1. */
static inline long
zbt_verify (const uint8_t * p, size_t len, uint64_t seq)
{
  size_t i;

  for (i = 0; i < len; i++)
    if (p[i] != zbt_pattern (seq, i))
      return (long) i;
  return -1;
}

/* ---- an emulated upstream peer: raw bytes, no library ---- */

/* A writer that behaves like the upstream implementations: writes into the
 * mapping itself, holds no OFD lock and posts sem-w per frame. */
typedef struct zbt_emu
{
  zbt_shm m;
  sem_t *sem_w;
  sem_t *sem_r;
  uint64_t meta_size;
  uint64_t P;
  uint64_t payload_off;
  uint64_t wpos;
  uint64_t seq;                 /* next sequence number */
} zbt_emu;

static inline int
zbt_emu_attach (zbt_emu * e, const char *name, uint64_t pid)
{
  char s[512];

  memset (e, 0, sizeof *e);
  if (zbt_shm_map (name, &e->m) < 0)
    return -1;
  snprintf (s, sizeof s, "/sem-w-%s", name);
  e->sem_w = sem_open (s, 0);
  snprintf (s, sizeof s, "/sem-r-%s", name);
  e->sem_r = sem_open (s, 0);
  if (e->sem_w == SEM_FAILED || e->sem_r == SEM_FAILED)
    return -1;
  e->meta_size = zbt_get (&e->m, OFF_META_SIZE);
  e->P = zbt_get (&e->m, OFF_PAYLOAD_SIZE);
  e->payload_off = 128 + e->meta_size;
  e->wpos = zbt_get (&e->m, OFF_WRITE_POS);
  e->seq = 1;
  zbt_set (&e->m, OFF_WRITER_PID, pid);
  return 0;
}

static inline void
zbt_emu_detach (zbt_emu * e)
{
  if (e->sem_w && e->sem_w != SEM_FAILED)
    sem_close (e->sem_w);
  if (e->sem_r && e->sem_r != SEM_FAILED)
    sem_close (e->sem_r);
  zbt_shm_unmap (&e->m);
}

static inline void
zbt_emu_header (zbt_emu * e, uint64_t pos, uint64_t size, uint64_t seq)
{
  zbt_put_le64 (e->m.base + e->payload_off + pos, size);
  zbt_put_le64 (e->m.base + e->payload_off + pos + 8, seq);
}

/* Raw frame of len bytes with sequence seq at the current position; no
 * checks at all (tests use it to build corrupt streams too). */
static inline void
zbt_emu_frame_raw (zbt_emu * e, uint64_t len, uint64_t seq, int post)
{
  zbt_emu_header (e, e->wpos, len, seq);
  zbt_fill (e->m.base + e->payload_off + e->wpos + 16, len, seq);
  e->wpos += 16 + len;
  zbt_fence ();
  zbt_atomic_add (&e->m, OFF_PAYLOAD_FREE, -(int64_t) (16 + len));
  zbt_set (&e->m, OFF_WRITE_POS, e->wpos);
  zbt_set (&e->m, OFF_WRITTEN_COUNT, zbt_get (&e->m, OFF_WRITTEN_COUNT) + 1);
  if (post)
    sem_post (e->sem_w);
}

static inline void
zbt_emu_frame (zbt_emu * e, uint64_t len)
{
  zbt_emu_frame_raw (e, len, e->seq++, 1);
}

/* Wrap with a {0,0} marker (tail >= 16), as upstream does. */
static inline void
zbt_emu_wrap_marker (zbt_emu * e)
{
  uint64_t tail = e->P - e->wpos;

  zbt_emu_header (e, e->wpos, 0, 0);
  zbt_set (&e->m, OFF_WRITTEN_COUNT, zbt_get (&e->m, OFF_WRITTEN_COUNT) + 1);
  zbt_atomic_add (&e->m, OFF_PAYLOAD_FREE, -(int64_t) tail);
  e->wpos = 0;
  zbt_set (&e->m, OFF_WRITE_POS, 0);
}

/* Wrap without a marker (tail < 16 or == 0); python_count mimics the
 * upstream Python writer that counts every wrap (quirk 12). */
static inline void
zbt_emu_wrap_silent (zbt_emu * e, int python_count)
{
  uint64_t tail = e->P - e->wpos;

  if (python_count)
    zbt_set (&e->m, OFF_WRITTEN_COUNT, zbt_get (&e->m, OFF_WRITTEN_COUNT) + 1);
  zbt_atomic_add (&e->m, OFF_PAYLOAD_FREE, -(int64_t) tail);
  e->wpos = 0;
  zbt_set (&e->m, OFF_WRITE_POS, 0);
}

/* A pid that certainly belonged to nobody a moment ago. */
static inline pid_t
zbt_dead_pid (void)
{
  pid_t pid = fork ();

  if (pid == 0)
    _exit (0);
  if (pid > 0)
    waitpid (pid, NULL, 0);
  return pid;
}

/* ---- hand-made buffers for the start-up and version tests ---- */

typedef struct zbt_fake
{
  char name[256];
  zbt_shm m;
  sem_t *sem_w, *sem_r;
  int lock_fd;
} zbt_fake;

/* Create the shm object of size bytes, zero-filled, mode 0600; nothing in
 * the OIEB yet (a "half-made" buffer). */
static inline int
zbt_fake_shm (zbt_fake * f, const char *name, size_t size)
{
  memset (f, 0, sizeof *f);
  f->m.fd = -1;
  f->lock_fd = -1;
  f->sem_w = f->sem_r = SEM_FAILED;
  snprintf (f->name, sizeof f->name, "%s", name);
  f->m.fd = shm_open (name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (f->m.fd < 0)
    return -1;
  if (ftruncate (f->m.fd, size) < 0)
    return -1;
  f->m.size = size;
  if (size) {
    f->m.base = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
        f->m.fd, 0);
    if (f->m.base == MAP_FAILED) {
      f->m.base = NULL;
      return -1;
    }
  }
  return 0;
}

static inline int
zbt_fake_sems (zbt_fake * f)
{
  char s[512];

  snprintf (s, sizeof s, "/sem-w-%s", f->name);
  f->sem_w = sem_open (s, O_CREAT, 0600, 0);
  snprintf (s, sizeof s, "/sem-r-%s", f->name);
  f->sem_r = sem_open (s, O_CREAT, 0600, 0);
  return (f->sem_w == SEM_FAILED || f->sem_r == SEM_FAILED) ? -1 : 0;
}

/* The lock file held with flock, as upstream readers do. */
static inline int
zbt_fake_lockfile (zbt_fake * f)
{
  char p[512];

  mkdir ("/tmp/zerobuffer", 0777);
  zbt_path_lock (p, sizeof p, f->name);
  f->lock_fd = open (p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (f->lock_fd < 0)
    return -1;
  return flock (f->lock_fd, LOCK_EX | LOCK_NB);
}

/* Write a valid-looking OIEB; oieb_size last, as a careful reader would. */
static inline void
zbt_fake_oieb (zbt_fake * f, uint32_t oieb_size, uint8_t major,
    uint8_t minor, uint64_t M, uint64_t P, uint64_t reader_pid)
{
  uint8_t *b = f->m.base;

  b[OFF_VERSION] = major;
  b[OFF_VERSION + 1] = minor;
  b[OFF_VERSION + 2] = 0;
  b[OFF_VERSION + 3] = 0;
  zbt_put_le64 (b + OFF_META_SIZE, M);
  zbt_put_le64 (b + OFF_META_FREE, M);
  zbt_put_le64 (b + OFF_META_WRITTEN, 0);
  zbt_put_le64 (b + OFF_PAYLOAD_SIZE, P);
  zbt_put_le64 (b + OFF_PAYLOAD_FREE, P);
  zbt_put_le64 (b + OFF_WRITE_POS, 0);
  zbt_put_le64 (b + OFF_READ_POS, 0);
  zbt_put_le64 (b + OFF_WRITTEN_COUNT, 0);
  zbt_put_le64 (b + OFF_READ_COUNT, 0);
  zbt_put_le64 (b + OFF_WRITER_PID, 0);
  zbt_put_le64 (b + OFF_READER_PID, reader_pid);
  zbt_fence ();
  zbt_put_le32 (b + OFF_OIEB_SIZE, oieb_size);
  zbt_fence ();
}

static inline void
zbt_fake_destroy (zbt_fake * f)
{
  if (f->sem_w != SEM_FAILED && f->sem_w)
    sem_close (f->sem_w);
  if (f->sem_r != SEM_FAILED && f->sem_r)
    sem_close (f->sem_r);
  if (f->lock_fd >= 0)
    close (f->lock_fd);
  zbt_shm_unmap (&f->m);
  zbt_unlink_all (f->name);
}

#endif /* ZBTEST_H */
