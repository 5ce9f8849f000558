/* libzerobuffer: errors, names, time, locks and inspection.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "zb-private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- errors */

static _Thread_local char last_error[ZB_ERROR_MAX];

const char *
zb_strerror (int status)
{
  switch (status) {
#define ZB_XX_MSG(name, value, msg) case value: return msg;
      ZB_STATUS_MAP (ZB_XX_MSG)
#undef ZB_XX_MSG
    default:
      return "unknown error";
  }
}

const char *
zb_status_name (int status)
{
  switch (status) {
#define ZB_XX_NAME(name, value, msg) case value: return "ZB_" #name;
      ZB_STATUS_MAP (ZB_XX_NAME)
#undef ZB_XX_NAME
    default:
      return "ZB_UNKNOWN";
  }
}

const char *
zb_last_error (void)
{
  return last_error;
}

void
zb_clear_error (void)
{
  last_error[0] = '\0';
}

static int
zb_vfail (int code, int err, const char *fmt, va_list ap)
{
  int n = vsnprintf (last_error, sizeof last_error, fmt, ap);

  if (err && n >= 0 && (size_t) n < sizeof last_error)
    snprintf (last_error + n, sizeof last_error - n, ": %s", strerror (err));
  return code;
}

int
zb_fail (int code, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  zb_vfail (code, 0, fmt, ap);
  va_end (ap);
  return code;
}

int
zb_fail_errno (int code, int err, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  zb_vfail (code, err, fmt, ap);
  va_end (ap);
  return code;
}

void
zb_error_box_init (zb_error_box * box)
{
  pthread_mutex_init (&box->lock, NULL);
  atomic_init (&box->set, 0);
  box->text[0] = '\0';
}

void
zb_error_box_destroy (zb_error_box * box)
{
  pthread_mutex_destroy (&box->lock);
}

int
zb_error_box_note (zb_error_box * box, int rc)
{
  if (rc >= 0) {
    /* The common case, a success with nothing to clear, takes no lock. */
    if (!atomic_load_explicit (&box->set, memory_order_relaxed))
      return rc;
    pthread_mutex_lock (&box->lock);
    box->text[0] = '\0';
    atomic_store_explicit (&box->set, 0, memory_order_relaxed);
    pthread_mutex_unlock (&box->lock);
    return rc;
  }
  pthread_mutex_lock (&box->lock);
  memcpy (box->text, last_error, sizeof box->text);
  atomic_store_explicit (&box->set, 1, memory_order_relaxed);
  pthread_mutex_unlock (&box->lock);
  return rc;
}

const char *
zb_error_box_copy (zb_error_box * box, char *out)
{
  pthread_mutex_lock (&box->lock);
  memcpy (out, box->text, ZB_ERROR_MAX);
  pthread_mutex_unlock (&box->lock);
  return out;
}

/* ----------------------------------------------------------------- names */

/* The first max bytes of a rejected name with anything unprintable as
 * \xNN, so that a message stays on one line; out holds 4 * max + 4. */
static const char *
printable_name (const char *name, char *out, size_t max)
{
  size_t i, n = 0;

  for (i = 0; name[i] != '\0' && i < max; i++) {
    unsigned char c = (unsigned char) name[i];

    if (c >= 0x20 && c < 0x7f && c != '\\')
      out[n++] = (char) c;
    else
      n += (size_t) sprintf (out + n, "\\x%02x", c);
  }
  if (name[i] != '\0') {
    memcpy (out + n, "...", 3);
    n += 3;
  }
  out[n] = '\0';
  return out;
}

int
zb_validate_name (const char *name)
{
  char shown[4 * 64 + 4];
  size_t i;

  zb_clear_error ();
  if (name == NULL || name[0] == '\0')
    return zb_fail (ZB_EBADNAME, "buffer name is empty");
  if (name[0] == '.')
    return zb_fail (ZB_EBADNAME, "buffer name '%s' starts with '.'",
        printable_name (name, shown, 64));
  for (i = 0; name[i] != '\0'; i++) {
    unsigned char c = (unsigned char) name[i];

    if (i >= ZB_NAME_MAX)
      return zb_fail (ZB_EBADNAME, "buffer name '%s' is longer than %u "
          "bytes", printable_name (name, shown, 32), ZB_NAME_MAX);
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return zb_fail (ZB_EBADNAME, "buffer name '%s' contains 0x%02x at "
          "position %zu; only letters, digits, '.', '_' and '-' are allowed",
          printable_name (name, shown, 64), c, i);
  }
  return ZB_OK;
}

/* glibc keeps one table of the semaphores a process has open, behind a
 * lock of its own that thread sanitizers cannot see.  Every open and close
 * of ours goes through this lock as well, so that a reader and a writer of
 * one buffer in two threads of a process (a duplex client and server, two
 * elements) are ordered for them too.  Opening is rare: the cost is nil. */
static pthread_mutex_t sem_table_lock = PTHREAD_MUTEX_INITIALIZER;

sem_t *
zb_sem_open (const char *name, int oflag, unsigned int mode,
    unsigned int value)
{
  sem_t *s;
  int err;

  pthread_mutex_lock (&sem_table_lock);
  s = (oflag & O_CREAT) ? sem_open (name, oflag, (mode_t) mode, value) :
      sem_open (name, oflag);
  err = errno;
  pthread_mutex_unlock (&sem_table_lock);
  errno = err;
  return s;
}

void
zb_sem_close (sem_t *sem)
{
  pthread_mutex_lock (&sem_table_lock);
  sem_close (sem);
  pthread_mutex_unlock (&sem_table_lock);
}

void
zb_sem_name (char *out, size_t len, char role, const char *name)
{
  snprintf (out, len, "/sem-%c-%s", role, name);
}

void
zb_sem_path (char *out, size_t len, char role, const char *name)
{
  /* glibc keeps named semaphores as /dev/shm/sem.NAME-without-slash */
  snprintf (out, len, "/dev/shm/sem.sem-%c-%s", role, name);
}

void
zb_lock_path (char *out, size_t len, const char *name)
{
  snprintf (out, len, "%s/%s.lock", ZB_LOCK_DIR, name);
}

int
zb_parse_size (const char *text, uint64_t *out)
{
  const char *p = text;
  uint64_t v = 0, mult = 1;
  int digits = 0;

  zb_clear_error ();
  if (text == NULL || out == NULL)
    return zb_fail (ZB_EINVAL, "size is NULL");
  while (*p == ' ')
    p++;
  for (; *p >= '0' && *p <= '9'; p++, digits++) {
    if (v > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
      return zb_fail (ZB_EINVAL, "size '%.64s' is too large", text);
    v = v * 10 + (uint64_t) (*p - '0');
  }
  if (!digits)
    return zb_fail (ZB_EINVAL, "size '%.64s' does not start with a number",
        text);
  switch (*p) {
    case 'k':
    case 'K':
      mult = 1ull << 10;
      p++;
      break;
    case 'm':
    case 'M':
      mult = 1ull << 20;
      p++;
      break;
    case 'g':
    case 'G':
      mult = 1ull << 30;
      p++;
      break;
    default:
      break;
  }
  if (mult > 1 && *p == 'i')
    p++;
  if (*p == 'B' || *p == 'b')
    p++;
  while (*p == ' ')
    p++;
  if (*p != '\0')
    return zb_fail (ZB_EINVAL, "size '%.64s' has an unknown suffix; use K, M "
        "or G", text);
  if (v > UINT64_MAX / mult)
    return zb_fail (ZB_EINVAL, "size '%.64s' is too large", text);
  *out = v * mult;
  return ZB_OK;
}

/* ------------------------------------------------------ wire arithmetic */

uint64_t
zb_round_up_64 (uint64_t v)
{
  if (v > UINT64_MAX - (ZB_BLOCK_ALIGN - 1))
    return UINT64_MAX;
  return (v + (ZB_BLOCK_ALIGN - 1)) & ~(uint64_t) (ZB_BLOCK_ALIGN - 1);
}

uint64_t
zb_frame_footprint (uint64_t size)
{
  if (size > UINT64_MAX - ZB_FRAME_HEADER_SIZE)
    return UINT64_MAX;
  return ZB_FRAME_HEADER_SIZE + size;
}

uint64_t
zb_ring_size_for_frame (uint64_t size)
{
  /* A frame of footprint T placed at a write position that leaves a tail
   * of T + 15 bytes (the most a wrap ever skips: a shorter tail would be
   * used, or skipped with a marker that fits it) needs 2T + 15 free. */
  uint64_t t = zb_frame_footprint (size);

  if (t > (UINT64_MAX - (ZB_FRAME_HEADER_SIZE - 1)) / 2)
    return UINT64_MAX;
  return 2 * t + (ZB_FRAME_HEADER_SIZE - 1);
}

uint64_t
zb_ring_size_for_frames (uint64_t size, uint64_t count)
{
  /* The writer wraps at most once across the frames still unread: a wrap
   * inside them means the free space in front of the writer is one
   * stretch.  So count - 1 frames, one skipped tail of at most T + 15 and
   * the frame being placed: (count + 1) T + 15. */
  uint64_t t = zb_frame_footprint (size);

  if (count == 0)
    count = 1;
  if (count >= UINT64_MAX / 2
      || t > (UINT64_MAX - (ZB_FRAME_HEADER_SIZE - 1)) / (count + 1))
    return UINT64_MAX;
  return (count + 1) * t + (ZB_FRAME_HEADER_SIZE - 1);
}

uint64_t
zb_mapping_size (uint64_t metadata_size, uint64_t payload_size)
{
  uint64_t m = zb_round_up_64 (metadata_size);
  uint64_t p = zb_round_up_64 (payload_size);

  if (m > UINT64_MAX - ZB_OIEB_SIZE || p > UINT64_MAX - ZB_OIEB_SIZE - m)
    return UINT64_MAX;
  return ZB_OIEB_SIZE + m + p;
}

/* ------------------------------------------------------------------ time */

int64_t
zb_now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
zb_deadline (int timeout_ms)
{
  return timeout_ms < 0 ? -1 : zb_now_ms () + timeout_ms;
}

int64_t
zb_remaining (int64_t deadline)
{
  int64_t left;

  if (deadline < 0)
    return -1;
  left = deadline - zb_now_ms ();
  return left > 0 ? left : 0;
}

int64_t
zb_spin_budget_ns (unsigned int spin_us)
{
  if (spin_us == 0)
    return 0;
  if (spin_us > ZB_SPIN_US_MAX)
    spin_us = ZB_SPIN_US_MAX;
  /* With one CPU the peer cannot run while we spin. */
  if (sysconf (_SC_NPROCESSORS_ONLN) < 2)
    return 0;
  return (int64_t) spin_us * 1000;
}

int64_t
zb_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
zb_pace_note (zb_pace * pace, int woken)
{
  int64_t now;

  /* Only spinning reads the pace: no clock read per frame without it. */
  if (pace->spin_ns == 0)
    return;
  now = zb_now_ns ();
  /* A frame seen on waking came about a wake-up earlier. */
  if (woken)
    now -= pace->wake_ns;
  if (pace->last_ns != 0) {
    int64_t gap = now - pace->last_ns;

    /* The first gap sets the average; later ones move it by 1/8. */
    if (pace->gap_ns == 0)
      pace->gap_ns = gap;
    else {
      int64_t d = gap - pace->gap_ns, ad = d < 0 ? -d : d;

      pace->gap_ns += d / 8;
      /* One late frame (the host's hiccup) must not hide the pace long. */
      if (ad > pace->gap_ns / 4)
        ad = pace->gap_ns / 4;
      pace->dev_ns += (ad - pace->dev_ns) / 8;
    }
  }
  pace->last_ns = now;
  if (pace->wake.off > 0)
    pace->wake.off--;
}

void
zb_trial_init (zb_trial * t)
{
  t->rate = 768;
  t->off = 0;
  t->backoff = 64;
}

int
zb_trial_now (zb_trial * t)
{
  if (t->off == 0)
    return 1;
  t->off--;
  return 0;
}

void
zb_trial_note (zb_trial * t, int ok)
{
  t->rate += ((ok ? 1024 : 0) - t->rate) / 16;
  if (t->rate < 512) {
    t->off = t->backoff;
    if (t->backoff < 4096)
      t->backoff *= 2;
    t->rate = 768;
  } else if (t->rate > 896)
    t->backoff = 64;
}

void
zb_pace_init_lead (zb_pace * pace)
{
  pace->lead_ns = ZB_TIMER_SLACK_NS + 2 * pace->spin_ns;
  zb_trial_init (&pace->wake);
  pace->wake_ns = 20000;
}

void
zb_pace_woke_late (zb_pace * pace, int64_t late_ns)
{
  if (late_ns >= 0 && late_ns < 10 * pace->wake_ns + 1000000)
    pace->wake_ns += (late_ns - pace->wake_ns) / 8;
}

int64_t
zb_pace_lead_max (const zb_pace * pace)
{
  return ZB_TIMER_SLACK_NS + 8 * pace->spin_ns;
}

int64_t
zb_pace_past (const zb_pace * pace)
{
  int64_t past = 2 * pace->dev_ns, max = zb_pace_lead_max (pace);

  if (past < 2 * pace->spin_ns)
    past = 2 * pace->spin_ns;
  return past < max ? past : max;
}

int64_t
zb_pace_wake_at (const zb_pace * pace)
{
  /* Short gaps are spun through anyway; frames that scatter more than a
   * poll can cover are not met, nor gaps the poll would mostly fill. */
  if (pace->spin_ns == 0 || pace->last_ns == 0 || pace->wake.off > 0
      || pace->gap_ns <= pace->spin_ns
      || pace->dev_ns > zb_pace_lead_max (pace)
      || pace->lead_ns > pace->gap_ns * 3 / 4)
    return 0;
  return pace->last_ns + pace->gap_ns - pace->lead_ns;
}

void
zb_pace_outcome (zb_pace * pace, int outcome)
{
  if (outcome == ZB_PACE_EARLY) {
    if (pace->lead_ns < zb_pace_lead_max (pace))
      pace->lead_ns += ZB_LEAD_UP_NS;
  } else if (pace->lead_ns > ZB_LEAD_DOWN_NS)
    pace->lead_ns -= ZB_LEAD_DOWN_NS;
  /* Mostly missed: this stream is not regular enough to be met, and
   * every miss costs a wasted poll.  Look again later. */
  zb_trial_note (&pace->wake, outcome == ZB_PACE_MET);
}

void
zb_timer_slack_low (void)
{
#ifdef PR_SET_TIMERSLACK
  static _Thread_local int done;

  if (!done) {
    prctl (PR_SET_TIMERSLACK, (unsigned long) ZB_TIMER_SLACK_NS, 0, 0, 0);
    done = 1;
  }
#endif
}

int
zb_spin_for_change (const zb_pace * pace, _Atomic uint64_t * word,
    uint64_t seen, _Atomic int *stop)
{
  if (pace->spin_ns == 0 || pace->gap_ns == 0 || pace->gap_ns > pace->spin_ns)
    return 0;
  return zb_spin_until (word, seen, stop, zb_now_ns () + pace->spin_ns);
}

int
zb_spin_until (_Atomic uint64_t * word, uint64_t seen, _Atomic int *stop,
    int64_t end)
{
  unsigned i;

  for (i = 1;; i++) {
    if (ZB_LOAD_RELAXED (word) != seen)
      return 1;
    if (atomic_load_explicit (stop, memory_order_relaxed))
      return 0;
    /* The clock read costs more than a poll: look at it now and then. */
    if ((i & 63) == 0 && zb_now_ns () >= end)
      return 0;
    zb_cpu_relax ();
  }
}

int
zb_sem_wait_ms (sem_t *sem, int64_t ms)
{
  if (ms <= 0)
    return sem_trywait (sem) == 0 ? 0 : -1;
  return zb_sem_wait_until (sem, zb_now_ns () + ms * 1000000);
}

int
zb_sem_wait_until (sem_t *sem, int64_t at_ns)
{
  struct timespec ts = { at_ns / 1000000000, at_ns % 1000000000 };

  /* EINTR and ETIMEDOUT both just end this slice: callers loop. */
  return sem_clockwait (sem, CLOCK_MONOTONIC, &ts) == 0 ? 0 : -1;
}

void
zb_sleep_ms (int64_t ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

  if (ms > 0)
    nanosleep (&ts, NULL);
}

/* ----------------------------------------------------------------- locks */

int
zb_ofd_lock (int fd, int byte)
{
  struct flock fl;

  memset (&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  if (fcntl (fd, F_OFD_SETLK, &fl) < 0)
    return -errno;
  return 0;
}

int
zb_ofd_probe (int fd, int byte)
{
  struct flock fl;

  memset (&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  if (fcntl (fd, F_OFD_GETLK, &fl) < 0)
    return -1;
  return fl.l_type != F_UNLCK;
}

/* A killed child not yet reaped still answers kill(pid, 0). */
int
zb_pid_is_zombie (pid_t pid)
{
  char path[64], buf[256], *p;
  ssize_t n;
  int fd;

  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* "pid (comm) S ...": comm may hold spaces and parentheses */
  p = strrchr (buf, ')');
  return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

int
zb_peer_alive (int fd, int byte, _Atomic uint64_t *pid_field, uint64_t pid,
    int *had_lock)
{
  int held = zb_ofd_probe (fd, byte);

  if (held == 1) {
    *had_lock = 1;
    return 1;
  }
  /* Our peers zero their pid before dropping the lock: a changed pid is a
   * clean leave or a new peer, not a death. */
  if (ZB_LOAD (pid_field) != pid)
    return 1;
  if (held == 0 && *had_lock)
    return 0;
  /* An upstream peer (or one we never saw locked): fall back to its pid. */
  if (pid == 0 || pid > (uint64_t) INT_MAX)
    return 0;
  if (kill ((pid_t) pid, 0) < 0 && errno != EPERM)
    return 0;
  return !zb_pid_is_zombie ((pid_t) pid);
}

/* -------------------------------------------------------------- metadata */

int
zb_copy_metadata (const char *name, zb_oieb *oieb, const uint8_t *meta,
    uint64_t M, void **copy, size_t *size)
{
  uint64_t written, len;
  void *mine;

  written = ZB_LOAD (&oieb->metadata_written_bytes);
  if (written == 0)
    return zb_fail (ZB_ENOMETA, "%s: no metadata written yet", name);
  if (written < sizeof (uint64_t) || written > M)
    return zb_fail (ZB_ECORRUPT, "%s: metadata_written_bytes %llu does not "
        "fit the %llu-byte metadata block", name,
        (unsigned long long) written, (unsigned long long) M);
  memcpy (&len, meta, sizeof len);
  if (len > written - sizeof (uint64_t))
    return zb_fail (ZB_ECORRUPT, "%s: metadata length %llu is longer than "
        "the %llu bytes written", name, (unsigned long long) len,
        (unsigned long long) written);
  mine = malloc (len ? len : 1);
  if (mine == NULL)
    return zb_fail (ZB_ENOMEM, "%s: out of memory for metadata", name);
  memcpy (mine, meta + sizeof (uint64_t), len);
  free (*copy);
  *copy = mine;
  *size = (size_t) len;
  return ZB_OK;
}

/* ------------------------------------------------------------ inspection */

/* Inspection reads with pread(), never through a mapping: an object that
 * shrinks while we look (a hostile or dying peer truncating it) then gives
 * a short read instead of SIGBUS.  It opens nothing but regular files, read
 * only and without blocking, so a FIFO or device planted under a buffer's
 * name neither blocks nor is touched. */
int
zb_inspect_open (const char *name, int *out_fd, struct stat *st)
{
  char path[ZB_NAME_MAX + 16];
  struct stat lst;
  int fd, err;

  snprintf (path, sizeof path, "/dev/shm/%s", name);
  if (lstat (path, &lst) == 0 && !S_ISREG (lst.st_mode))
    return zb_fail (ZB_ENOTFOUND, "%s: /dev/shm/%s is not a shared-memory "
        "object (not a regular file)", name, name);
  fd = shm_open (name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
  if (fd < 0) {
    err = errno;
    if (err == ENOENT)
      return zb_fail (ZB_ENOTFOUND, "%s: no shared memory /dev/shm/%s", name,
          name);
    if (err == EACCES)
      return zb_fail_errno (ZB_EPERM, err, "%s: shm_open", name);
    if (err == ELOOP)
      return zb_fail (ZB_ENOTFOUND, "%s: /dev/shm/%s is a symbolic link",
          name, name);
    return zb_fail_errno (ZB_ESYS, err, "%s: shm_open", name);
  }
  if (fstat (fd, st) < 0) {
    err = errno;
    close (fd);
    return zb_fail_errno (ZB_ESYS, err, "%s: fstat", name);
  }
  if (!S_ISREG (st->st_mode)) {
    close (fd);
    return zb_fail (ZB_ENOTFOUND, "%s: /dev/shm/%s is not a shared-memory "
        "object (not a regular file)", name, name);
  }
  *out_fd = fd;
  return ZB_OK;
}

/* The whole header, or ZB_ECORRUPT when the object is (or became) shorter. */
int
zb_read_oieb (const char *name, int fd, zb_oieb_raw * raw)
{
  ssize_t n = pread (fd, raw->b, sizeof raw->b, 0);

  if (n < 0)
    return zb_fail_errno (ZB_ESYS, errno, "%s: read of the header", name);
  if ((size_t) n < sizeof raw->b)
    return zb_fail (ZB_ECORRUPT, "%s: shared memory is %zd bytes, smaller "
        "than the %u-byte header", name, n, ZB_OIEB_SIZE);
  return ZB_OK;
}

uint64_t
zb_raw_u64 (const zb_oieb_raw * raw, size_t off)
{
  uint64_t v;

  memcpy (&v, raw->b + off, sizeof v);
  return v;
}

int
zb_raw_is_v1 (const zb_oieb_raw * raw, uint64_t object_size)
{
  uint32_t size;
  uint64_t M = zb_raw_u64 (raw, offsetof (zb_oieb, metadata_size));
  uint64_t P = zb_raw_u64 (raw, offsetof (zb_oieb, payload_size));

  memcpy (&size, raw->b, sizeof size);
  return size == ZB_OIEB_SIZE && raw->b[offsetof (zb_oieb, version)] == 1
      && P > 0 && M <= object_size && P <= object_size
      && ZB_OIEB_SIZE + M + P <= object_size;
}

/* The state of the peer whose pid was read from offset off: its OFD lock
 * byte first, the pid as the fallback, and a pid that changed under us
 * counts as alive, as zb_peer_alive() has it. */
static zb_peer_state
inspect_peer (int fd, int byte, size_t off, uint64_t pid)
{
  _Atomic uint64_t field;
  zb_oieb_raw again;
  int had_lock = 0, alive;

  if (pid == 0)
    return ZB_PEER_NONE;
  atomic_init (&field, pid);
  alive = zb_peer_alive (fd, byte, &field, pid, &had_lock);
  if (!alive && pread (fd, again.b, sizeof again.b, 0) == (ssize_t) sizeof
      again.b && zb_raw_u64 (&again, off) != pid)
    alive = 1;
  return alive ? ZB_PEER_ALIVE : ZB_PEER_DEAD;
}

int
zb_inspect (const char *name, zb_info *info)
{
  int fd, rc = ZB_OK;
  struct stat st;
  zb_oieb_raw raw;

  zb_clear_error ();
  if (info == NULL)
    return zb_fail (ZB_EINVAL, "zb_inspect: info is NULL");
  if ((rc = zb_validate_name (name)) != ZB_OK)
    return rc;
  memset (info, 0, sizeof *info);
  if ((rc = zb_inspect_open (name, &fd, &st)) != ZB_OK)
    return rc;
  info->mapping_size = (uint64_t) st.st_size;
  if ((uint64_t) st.st_size < ZB_OIEB_SIZE) {
    rc = zb_fail (ZB_ECORRUPT, "%s: shared memory is %llu bytes, smaller "
        "than the %u-byte header", name, (unsigned long long) st.st_size,
        ZB_OIEB_SIZE);
    goto out;
  }
  if ((rc = zb_read_oieb (name, fd, &raw)) != ZB_OK)
    goto out;
#define RAW(field) zb_raw_u64 (&raw, offsetof (zb_oieb, field))
  memcpy (&info->oieb_size, raw.b, sizeof info->oieb_size);
  memcpy (info->version, raw.b + offsetof (zb_oieb, version), 4);
  info->metadata_size = RAW (metadata_size);
  info->metadata_free_bytes = RAW (metadata_free_bytes);
  info->metadata_written_bytes = RAW (metadata_written_bytes);
  info->payload_size = RAW (payload_size);
  info->payload_free_bytes = RAW (payload_free_bytes);
  info->payload_write_pos = RAW (payload_write_pos);
  info->payload_read_pos = RAW (payload_read_pos);
  info->payload_written_count = RAW (payload_written_count);
  info->payload_read_count = RAW (payload_read_count);
  info->writer_pid = RAW (writer_pid);
  info->reader_pid = RAW (reader_pid);
#undef RAW
  info->writer_state = inspect_peer (fd, ZB_LOCK_BYTE_WRITER,
      offsetof (zb_oieb, writer_pid), info->writer_pid);
  info->reader_state = inspect_peer (fd, ZB_LOCK_BYTE_READER,
      offsetof (zb_oieb, reader_pid), info->reader_pid);
out:
  close (fd);
  return rc;
}

int
zb_inspect_metadata (const char *name, void *buf, size_t size, size_t *len)
{
  uint64_t M, written, mlen;
  int fd, rc;
  struct stat st;
  zb_oieb_raw raw;
  ssize_t n;

  zb_clear_error ();
  if (len == NULL || (buf == NULL && size != 0))
    return zb_fail (ZB_EINVAL, "zb_inspect_metadata: bad argument");
  *len = 0;
  if ((rc = zb_validate_name (name)) != ZB_OK)
    return rc;
  if ((rc = zb_inspect_open (name, &fd, &st)) != ZB_OK)
    return rc;
  if ((rc = zb_read_oieb (name, fd, &raw)) != ZB_OK)
    goto out;
  if (!zb_raw_is_v1 (&raw, (uint64_t) st.st_size)) {
    rc = zb_fail (ZB_EVERSION, "%s: not a ZeroBuffer v1 header, or sizes "
        "that do not fit the %llu-byte object", name,
        (unsigned long long) st.st_size);
    goto out;
  }
  M = zb_raw_u64 (&raw, offsetof (zb_oieb, metadata_size));
  written = zb_raw_u64 (&raw, offsetof (zb_oieb, metadata_written_bytes));
  if (written == 0) {
    rc = zb_fail (ZB_ENOMETA, "%s: no metadata written yet", name);
    goto out;
  }
  if (written < sizeof (uint64_t) || written > M) {
    rc = zb_fail (ZB_ECORRUPT, "%s: metadata_written_bytes %llu does not "
        "fit the %llu-byte metadata block", name,
        (unsigned long long) written, (unsigned long long) M);
    goto out;
  }
  n = pread (fd, &mlen, sizeof mlen, ZB_OIEB_SIZE);
  if (n != (ssize_t) sizeof mlen) {
    rc = zb_fail (ZB_ECORRUPT, "%s: the metadata block cannot be read "
        "(object shrank?)", name);
    goto out;
  }
  if (mlen > written - sizeof (uint64_t)) {
    rc = zb_fail (ZB_ECORRUPT, "%s: metadata length %llu is longer than "
        "the %llu bytes written", name, (unsigned long long) mlen,
        (unsigned long long) written);
    goto out;
  }
  if (size > mlen)
    size = (size_t) mlen;
  if (size > 0) {
    n = pread (fd, buf, size, ZB_OIEB_SIZE + sizeof (uint64_t));
    if (n != (ssize_t) size) {
      rc = zb_fail (ZB_ECORRUPT, "%s: the metadata cannot be read (object "
          "shrank?)", name);
      goto out;
    }
  }
  *len = (size_t) mlen;
out:
  close (fd);
  return rc;
}
