/* libzerobuffer: the writer, which connects to a reader's buffer.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The writer owns write_pos, written_count and the sequence number; it keeps
 * private copies of them and of the ring's size, and only reads
 * payload_free_bytes (checked against the ring size) and the reader's pid
 * from shared memory (quirk 3).
 *
 * A writer is used by one thread at a time, except zb_writer_abandon()
 * and zb_writer_interrupt(), which may come from any thread at any time
 * (a GStreamer sink drops an unused pool buffer's reservation from
 * whichever thread frees it).  So the reservation's state is one atomic
 * that reserve sets and commit or abandon take back with a
 * compare-and-swap: no lock is held across a wait or a copy, and exactly
 * one of a commit and an abandon racing for the same reservation wins.
 */
#include "zb-private.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct zb_writer
{
  char name[ZB_NAME_MAX + 1];
  int shm_fd;
  uint8_t *base;
  size_t map_size;
  zb_oieb *oieb;
  uint8_t *meta;
  uint8_t *ring;
  uint64_t P, M;
  sem_t *sem_w, *sem_r;

  uint64_t write_pos;
  uint64_t written_count;
  uint64_t seq;
  uint64_t reader_pid;
  int reader_had_lock;
  int64_t last_probe_ms;
  int gone;                     /* reader left: every write fails */
  char gone_detail[ZB_ERROR_MAX];       /* how, as first seen */

  _Atomic int res_state;        /* RES_NONE or RES_USER, any thread */
  uint64_t res_pos;             /* the rest: the writing thread's */
  uint64_t res_tail;            /* bytes skipped at the end by a wrap */
  int res_wrap;
  size_t res_size;
  int res_timeout;

  uint64_t compact;              /* zb_writer_options.compact_bytes */
  uint64_t frames, bytes, wraps, early_wraps, last_free;
  uint64_t marker_tail;          /* the tail the last wrap's marker skips */
  int last_wrap_early;          /* the last wrap was compact placement's */
  uint64_t compact_stalls;      /* zb_writer_stats.compact_stalls */
  int64_t compact_resume_ns;    /* no early wrap before (0: none pending) */
  int64_t compact_backoff_ns;   /* the last suspension's length */
  /* Reuse of the start (see reuse_start()) */
  uint64_t reuses;              /* zb_writer_stats.reuses */
  zb_trial reuse;               /* whether its waits pay off */
  int multi_cpu;                /* a reader can run while we wait */
  void *meta_copy;
  _Atomic int interrupted;
  zb_pace pace;                 /* commits */
  zb_error_box err;             /* zb_writer_last_error() */
};

enum
{
  RES_NONE = 0,                 /* nothing reserved */
  RES_USER = 1                  /* zb_writer_reserve() holds room */
};

/* Where zb_writer_last_error() copies the text for its caller. */
static _Thread_local char writer_error_copy[ZB_ERROR_MAX];

/* Ends a public call on w: its outcome becomes w's last error. */
static int
writer_note (zb_writer * w, int rc)
{
  return w ? zb_error_box_note (&w->err, rc) : rc;
}

/* ------------------------------------------------------------- connect */

static void
writer_unmap (zb_writer * w)
{
  if (w->base)
    munmap (w->base, w->map_size);
  if (w->shm_fd >= 0)
    close (w->shm_fd);
  if (w->sem_w != SEM_FAILED)
    zb_sem_close (w->sem_w);
  if (w->sem_r != SEM_FAILED)
    zb_sem_close (w->sem_r);
  w->base = NULL;
  w->shm_fd = -1;
  w->sem_w = w->sem_r = SEM_FAILED;
}

/* One attempt.  *retry is set when waiting may help (nothing there yet,
 * half-made, no live reader). */
static int
try_connect (zb_writer * w, int *retry)
{
  const char *name = w->name;
  char sem[ZB_NAME_MAX + 16];
  struct stat st;
  uint32_t oieb_size;
  uint64_t M, P, rpid, wpid, wp;
  int rc, err;

  *retry = 0;
  w->shm_fd = shm_open (name, O_RDWR | O_CLOEXEC, 0);
  if (w->shm_fd < 0) {
    err = errno;
    if (err == ENOENT) {
      *retry = 1;
      return zb_fail (ZB_ENOTFOUND, "%s: no buffer /dev/shm/%s (no reader "
          "created it)", name, name);
    }
    return zb_fail_errno (err == EACCES ? ZB_EPERM : ZB_ESYS, err,
        "%s: cannot open /dev/shm/%s", name, name);
  }
  if (fstat (w->shm_fd, &st) < 0) {
    rc = zb_fail_errno (ZB_ESYS, errno, "%s: fstat", name);
    goto fail;
  }
  if ((uint64_t) st.st_size < ZB_OIEB_SIZE) {
    *retry = 1;                 /* being created */
    rc = zb_fail (ZB_ENOTFOUND, "%s: buffer is not ready (%llu bytes)",
        name, (unsigned long long) st.st_size);
    goto fail;
  }
  /* An upstream reader does not reserve its pages: do it, so that a
   * too-small /dev/shm is an error here and not SIGBUS later (quirk 7). */
  err = posix_fallocate (w->shm_fd, 0, st.st_size);
  if (err == ENOSPC || err == EFBIG) {
    rc = zb_fail_errno (ZB_ENOSPC, err, "%s: /dev/shm cannot hold the "
        "buffer's %llu bytes", name, (unsigned long long) st.st_size);
    goto fail;
  }
  w->map_size = (size_t) st.st_size;
  w->base = mmap (NULL, w->map_size, PROT_READ | PROT_WRITE, MAP_SHARED,
      w->shm_fd, 0);
  if (w->base == MAP_FAILED) {
    w->base = NULL;
    rc = zb_fail_errno (ZB_ESYS, errno, "%s: mmap", name);
    goto fail;
  }
  w->oieb = (zb_oieb *) w->base;
  oieb_size = ZB_LOAD (&w->oieb->oieb_size);
  if (oieb_size == 0) {
    *retry = 1;                 /* the reader makes it valid last */
    rc = zb_fail (ZB_ENOTFOUND, "%s: buffer is not initialised yet", name);
    goto fail;
  }
  if (oieb_size != ZB_OIEB_SIZE || w->oieb->version[0] != 1) {
    rc = zb_fail (ZB_EVERSION, "%s: header size %u, version %u.%u.%u; this "
        "library speaks 128-byte headers of version 1.x", name, oieb_size,
        w->oieb->version[0], w->oieb->version[1], w->oieb->version[2]);
    goto fail;
  }
  M = ZB_LOAD (&w->oieb->metadata_size);
  P = ZB_LOAD (&w->oieb->payload_size);
  if (P < 2 * ZB_FRAME_HEADER_SIZE || M > w->map_size || P > w->map_size
      || ZB_OIEB_SIZE + M + P > w->map_size) {
    rc = zb_fail (ZB_ECORRUPT, "%s: header claims metadata %llu + payload "
        "%llu bytes but the shared memory has %zu", name,
        (unsigned long long) M, (unsigned long long) P, w->map_size);
    goto fail;
  }
  wp = ZB_LOAD (&w->oieb->payload_write_pos);
  if (wp > P) {
    rc = zb_fail (ZB_ECORRUPT, "%s: payload_write_pos %llu is past the "
        "%llu-byte ring", name, (unsigned long long) wp,
        (unsigned long long) P);
    goto fail;
  }
  w->M = M;
  w->P = P;
  w->meta = w->base + ZB_OIEB_SIZE;
  w->ring = w->meta + M;

  zb_sem_name (sem, sizeof sem, 'w', name);
  w->sem_w = zb_sem_open (sem, 0, 0, 0);
  if (w->sem_w != SEM_FAILED) {
    zb_sem_name (sem, sizeof sem, 'r', name);
    w->sem_r = zb_sem_open (sem, 0, 0, 0);
  }
  if (w->sem_w == SEM_FAILED || w->sem_r == SEM_FAILED) {
    err = errno;
    *retry = err == ENOENT;
    rc = zb_fail_errno (err == EACCES ? ZB_EPERM : err == ENOENT ?
        ZB_ENOTFOUND : ZB_ESYS, err, "%s: cannot open semaphore %s", name,
        sem);
    goto fail;
  }

  rpid = ZB_LOAD (&w->oieb->reader_pid);
  w->reader_had_lock = 0;
  if (rpid == 0 || !zb_peer_alive (w->shm_fd, ZB_LOCK_BYTE_READER,
          &w->oieb->reader_pid, rpid, &w->reader_had_lock)) {
    *retry = 1;                 /* a new reader will replace it */
    rc = zb_fail (ZB_ENOREADER, rpid ? "%s: reader pid %llu is gone" :
        "%s: buffer has no reader", name, (unsigned long long) rpid);
    goto fail;
  }

  if (zb_ofd_lock (w->shm_fd, ZB_LOCK_BYTE_WRITER) < 0) {
    rc = zb_fail (ZB_EWRITERBUSY, "%s: another writer holds the buffer",
        name);
    goto fail;
  }
  wpid = ZB_LOAD (&w->oieb->writer_pid);
  if (wpid != 0 && wpid <= 0x7fffffff && (kill ((pid_t) wpid, 0) == 0
          || errno == EPERM)) {
    rc = zb_fail (ZB_EWRITERBUSY, "%s: writer pid %llu is attached", name,
        (unsigned long long) wpid);
    goto fail;
  }

  w->reader_pid = rpid;
  w->write_pos = wp;
  w->written_count = ZB_LOAD (&w->oieb->payload_written_count);
  w->seq = 1;
  w->last_probe_ms = zb_now_ms ();
  w->last_free = ZB_LOAD (&w->oieb->payload_free_bytes);
  ZB_STORE (&w->oieb->writer_pid, (uint64_t) getpid ());
  return ZB_OK;

fail:
  writer_unmap (w);
  return rc;
}

/* Map the pages a compact writer keeps to, at once: on a VM a page
 * fault costs microseconds, and the first lap otherwise takes ~1500 of
 * them per 6 MB frame.  The window and a frame of half its size (the
 * default window is two frames): no page the writer would not touch
 * anyway.  Contents are left alone; kernels before 5.14 just skip it. */
static void
compact_prefault (zb_writer * w, uint64_t compact)
{
  uint64_t len = compact + compact / 2;
#ifdef MADV_POPULATE_WRITE
  long page = sysconf (_SC_PAGESIZE);
  uintptr_t start = (uintptr_t) w->ring, first;

  /* a window of the whole ring never wraps early: no window */
  if (w->ring == NULL || compact == 0 || compact >= w->P || page <= 0)
    return;
  if (len > w->P)
    len = w->P;
  first = start & ~(uintptr_t) (page - 1);
  (void) madvise ((void *) first, len + (start - first), MADV_POPULATE_WRITE);
#else
  (void) w;
  (void) len;
#endif
}

int
zb_writer_open_with_options (zb_writer ** out, const char *name,
    int timeout_ms, const zb_writer_options * options)
{
  int64_t deadline = zb_deadline (timeout_ms);
  zb_writer *w;
  int rc, retry;

  zb_clear_error ();
  if (out == NULL)
    return zb_fail (ZB_EINVAL, "zb_writer_open: NULL argument");
  *out = NULL;
  if ((rc = zb_validate_name (name)) != ZB_OK)
    return rc;
  w = calloc (1, sizeof *w);
  if (w == NULL)
    return zb_fail (ZB_ENOMEM, "%s: out of memory", name);
  snprintf (w->name, sizeof w->name, "%s", name);
  w->shm_fd = -1;
  w->sem_w = w->sem_r = SEM_FAILED;
  w->pace.spin_ns = zb_spin_budget_ns (options ? options->spin_us : 0);
  w->compact = options ? options->compact_bytes : 0;
  w->multi_cpu = sysconf (_SC_NPROCESSORS_ONLN) > 1;
  zb_trial_init (&w->reuse);
  atomic_init (&w->res_state, RES_NONE);

  /* A reader racing us may not have made the buffer yet (quirk 11). */
  for (;;) {
    int64_t left;

    rc = try_connect (w, &retry);
    if (rc == ZB_OK) {
      zb_error_box_init (&w->err);
      compact_prefault (w, w->compact);
      *out = w;
      return ZB_OK;
    }
    left = zb_remaining (deadline);
    if (!retry || left == 0)
      break;
    zb_sleep_ms (left < 0 || left > 10 ? 10 : left);
  }
  free (w);
  return rc;
}

int
zb_writer_open (zb_writer ** out, const char *name, int timeout_ms)
{
  return zb_writer_open_with_options (out, name, timeout_ms, NULL);
}

/* ------------------------------------------------------------ metadata */

int
zb_writer_has_metadata (zb_writer * w)
{
  return w && ZB_LOAD (&w->oieb->metadata_written_bytes) != 0;
}

int
zb_writer_get_metadata (zb_writer * w, const void **data, size_t *size)
{
  int rc;

  zb_clear_error ();
  if (w == NULL || data == NULL || size == NULL)
    return writer_note (w, zb_fail (ZB_EINVAL, "zb_writer_get_metadata: "
            "NULL argument"));
  rc = zb_copy_metadata (w->name, w->oieb, w->meta, w->M, &w->meta_copy,
      size);
  if (rc == ZB_OK)
    *data = w->meta_copy;
  return writer_note (w, rc);
}

/* The failure of every write once the reader is gone: how it left, as it
 * was first seen, so that whichever call a caller reports says it. */
static int
gone_fail (zb_writer * w)
{
  return zb_fail (ZB_EREADERGONE, "%s", w->gone_detail);
}

static int
set_metadata (zb_writer * w, const void *data, size_t size)
{
  uint64_t len = size;

  if (w->gone)
    return gone_fail (w);
  if (ZB_LOAD (&w->oieb->metadata_written_bytes) != 0)
    return zb_fail (ZB_EMETAWRITTEN, "%s: metadata is written once per "
        "buffer and is already there", w->name);
  if (size > w->M || sizeof len + size > w->M)
    return zb_fail (ZB_EMETATOOLARGE, "%s: %zu bytes of metadata (+8 length)"
        " do not fit the %llu-byte metadata block", w->name, size,
        (unsigned long long) w->M);
  memcpy (w->meta, &len, sizeof len);
  memcpy (w->meta + sizeof len, data, size);
  ZB_STORE (&w->oieb->metadata_free_bytes, w->M - sizeof len - size);
  ZB_STORE (&w->oieb->metadata_written_bytes, sizeof len + size);
  return ZB_OK;
}

int
zb_writer_set_metadata (zb_writer * w, const void *data, size_t size)
{
  zb_clear_error ();
  if (w == NULL || (data == NULL && size > 0) || size == 0)
    return writer_note (w, zb_fail (ZB_EINVAL, "zb_writer_set_metadata: "
            "empty metadata"));
  return writer_note (w, set_metadata (w, data, size));
}

/* -------------------------------------------------------------- frames */

size_t
zb_writer_max_frame_size (const zb_writer * w)
{
  /* The inverse of zb_ring_size_for_frame(): the largest footprint t with
   * 2t + 15 <= P, less the header; 0 when not even one byte fits. */
  uint64_t t;

  if (w == NULL || w->P < zb_ring_size_for_frame (1))
    return 0;
  t = (w->P - (ZB_FRAME_HEADER_SIZE - 1)) / 2;
  if (t - ZB_FRAME_HEADER_SIZE > SIZE_MAX)
    return SIZE_MAX;
  return (size_t) (t - ZB_FRAME_HEADER_SIZE);
}

/* A reader that died cannot remove its objects; as the survivor we do,
 * holding its lock file so that a new reader cannot be starting meanwhile,
 * and only while the name still means the object we mapped. */
static void
remove_dead_reader (zb_writer * w)
{
  char path[ZB_NAME_MAX + 64], sem[ZB_NAME_MAX + 16];
  struct stat mine, now;
  int lfd, fd, same = 0;

  zb_lock_path (path, sizeof path, w->name);
  lfd = open (path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (lfd >= 0 && flock (lfd, LOCK_EX | LOCK_NB) < 0) {
    close (lfd);
    return;
  }
  fd = shm_open (w->name, O_RDONLY | O_CLOEXEC, 0);
  if (fd >= 0) {
    same = fstat (fd, &now) == 0 && fstat (w->shm_fd, &mine) == 0
        && now.st_ino == mine.st_ino && now.st_dev == mine.st_dev
        && zb_ofd_probe (fd, ZB_LOCK_BYTE_READER) == 0;
    close (fd);
  }
  if (same) {
    shm_unlink (w->name);
    zb_sem_name (sem, sizeof sem, 'w', w->name);
    sem_unlink (sem);
    zb_sem_name (sem, sizeof sem, 'r', w->name);
    sem_unlink (sem);
    if (lfd >= 0)
      unlink (path);
  }
  if (lfd >= 0)
    close (lfd);
}

int
zb_writer_probe_reader (zb_writer * w, uint64_t *pid, int *had_lock)
{
  uint64_t rpid = ZB_LOAD (&w->oieb->reader_pid);

  *pid = rpid;
  if (rpid == 0)
    return ZB_PEER_NONE;
  if (zb_peer_alive (w->shm_fd, ZB_LOCK_BYTE_READER, &w->oieb->reader_pid,
          rpid, had_lock))
    return ZB_PEER_ALIVE;
  remove_dead_reader (w);
  return ZB_PEER_DEAD;
}

static int
reader_gone (zb_writer * w, int died, const char *why)
{
  if (!w->gone) {
    if (died)
      remove_dead_reader (w);
    snprintf (w->gone_detail, sizeof w->gone_detail, "%s: %s", w->name, why);
    w->gone = 1;
  }
  return gone_fail (w);
}

/* Cheap check of the reader on every frame, a lock probe now and then. */
static int
check_reader (zb_writer * w, int force_probe)
{
  uint64_t rpid = ZB_LOAD (&w->oieb->reader_pid);
  int64_t now;

  if (rpid != w->reader_pid)
    return reader_gone (w, 0, rpid ? "the reader changed" :
        "the reader closed");
  now = zb_now_ms ();
  if (force_probe || now - w->last_probe_ms >= ZB_PROBE_INTERVAL_MS) {
    w->last_probe_ms = now;
    if (!zb_peer_alive (w->shm_fd, ZB_LOCK_BYTE_READER, &w->oieb->reader_pid,
            rpid, &w->reader_had_lock))
      return reader_gone (w, 1, "the reader died");
  }
  return ZB_OK;
}

/* The checks every frame goes through before any waiting, in this order:
 * the reader's absence, a reservation in the way, a size that can never
 * be placed. */
static int
check_frame (zb_writer * w, size_t size)
{
  if (w->gone)
    return gone_fail (w);
  if (atomic_load_explicit (&w->res_state, memory_order_acquire) != RES_NONE)
    return zb_fail (ZB_EBUSY, "%s: a reservation is already outstanding",
        w->name);
  if (zb_ring_size_for_frame (size) > w->P)
    return zb_fail (ZB_ETOOLARGE, "%s: frame of %zu bytes cannot be placed "
        "in a %llu-byte ring (at most %zu bytes per frame; the ring must "
        "hold two frames)", w->name, size, (unsigned long long) w->P,
        zb_writer_max_frame_size (w));
  return ZB_OK;
}

/* A wait this long for the room an early wrap gave up is a stall it
 * caused: readers that keep up release within a wake-up (tens of us). */
#define ZB_COMPACT_STALL_NS (2 * 1000000LL)
/* Early wraps pause after such a stall, 1 s the first time, twice as
 * long after each later one, up to 64 s. */
#define ZB_COMPACT_PAUSE_NS (1000 * 1000000LL)
#define ZB_COMPACT_PAUSE_MAX_NS (64 * ZB_COMPACT_PAUSE_NS)

static int
compact_paused (zb_writer * w)
{
  if (w->compact_resume_ns == 0)
    return 0;
  if (zb_now_ns () < w->compact_resume_ns)
    return 1;
  w->compact_resume_ns = 0;
  return 0;
}

/* Whether the last wrap's marked tail still counts as used, given
 * payload_free_bytes.  Since the wrap every frame sits in [0, write_pos),
 * and a reader gives space back in ring order (ours) or the tail at once
 * (upstream), so while the tail is out the used space is at least tail +
 * write_pos; less means it came back.  (An upstream reader still holding
 * frames of the last lap as large as the tail looks the same: the tail is
 * then taken for out, less than a frame except after an early wrap.) */
static int
tail_out (const zb_writer * w, uint64_t free_bytes)
{
  return w->marker_tail > 0 && free_bytes <= w->P
      && w->P - free_bytes >= w->marker_tail + w->write_pos;
}

/* The writer waits for space that a sequential ring would have had: the
 * last wrap was early and its tail is still out. */
static int
compact_confined (const zb_writer * w, uint64_t free_bytes)
{
  return w->last_wrap_early && tail_out (w, free_bytes);
}

static void
compact_stall (zb_writer * w, int64_t now)
{
  /* While paused no early wrap is made: this is the stall that paused it
   * (a dropping writer's failed reservation, then its failed write). */
  if (w->compact_resume_ns != 0 && now < w->compact_resume_ns)
    return;
  w->compact_stalls++;
  w->compact_backoff_ns = w->compact_backoff_ns == 0 ? ZB_COMPACT_PAUSE_NS :
      w->compact_backoff_ns * 2;
  if (w->compact_backoff_ns > ZB_COMPACT_PAUSE_MAX_NS)
    w->compact_backoff_ns = ZB_COMPACT_PAUSE_MAX_NS;
  w->compact_resume_ns = now + w->compact_backoff_ns;
}

/* How long compact placement waits for the reader to give back the frame
 * at the start, to put the next one there again: a reader that hands
 * frames on at once (polling for them, see zb_pace_wake_at()) does so
 * within a few µs; one that sleeps within a wake-up. */
#define ZB_REUSE_WAIT_NS (50 * 1000LL)

/* Compact placement with a reader that gives each frame back within
 * microseconds: the frame just written at the start is the only one out,
 * so wait a moment for it and write the next one over the same memory,
 * still in the caches, instead of the next slot (a 1080p frame: 126 µs
 * into the same 6 MB, 165 µs alternating between two, in gst-bench's
 * limits).  Readers that hold frames longer make the waits fail; then it
 * stops trying for 64 frames, doubling up to 4096.  Returns 1 when the
 * start is free for a frame of footprint T with a wrap of tail bytes. */
static int
reuse_start (zb_writer * w, uint64_t T, uint64_t tail)
{
  int64_t end = zb_now_ns () + ZB_REUSE_WAIT_NS;
  int got = 0;
  unsigned i;

  for (i = 1;; i++) {
    uint64_t free_bytes = ZB_LOAD (&w->oieb->payload_free_bytes);

    if (free_bytes <= w->P && free_bytes >= tail + T
        && w->P - free_bytes <= w->compact) {
      got = 1;
      break;
    }
    if (atomic_load_explicit (&w->interrupted, memory_order_relaxed))
      break;
    if ((i & 63) == 0 && zb_now_ns () >= end)
      break;
    zb_cpu_relax ();
  }
  zb_trial_note (&w->reuse, got);
  return got;
}

/* Waits until a frame of size bytes can be placed and says where: at
 * *pos, after skipping *tail bytes at the end when *wrap. */
static int
place (zb_writer * w, size_t size, int timeout_ms, uint64_t *pos,
    uint64_t *tail, int *wrap)
{
  int64_t deadline = zb_deadline (timeout_ms);
  const uint64_t P = w->P, T = zb_frame_footprint (size);
  uint64_t need, free_bytes;
  int idle = 0, rc;
  int early = 0;
  int64_t confined_since = 0;   /* 0: not waiting for room given up */

  /* Never leave a tail of 1..15 bytes, where no marker fits (quirk 1). */
  *tail = P - w->write_pos;
  *wrap = *tail < T || (*tail > T && *tail - T < ZB_FRAME_HEADER_SIZE);
  need = *wrap ? *tail + T : T;
  /* Compact placement may go back to the start early (see the header):
   * the tail then holds a marker, as it does for any wrap. */
  early = !*wrap && w->compact > 0 && w->write_pos >= w->compact
      && !compact_paused (w);
  /* Only the frame before is out, at the start, and this one fits there:
   * worth a short wait for it (a call that may not wait does not). */
  if (!*wrap && !early && w->compact > 0 && w->write_pos >= T
      && w->write_pos < w->compact && *tail >= ZB_FRAME_HEADER_SIZE
      && timeout_ms != 0 && w->multi_cpu && !compact_paused (w)) {
    if (zb_trial_now (&w->reuse) && reuse_start (w, T, *tail)) {
      if ((rc = check_reader (w, 0)) != ZB_OK)
        return rc;
      w->reuses++;
      *wrap = 1;
      *pos = 0;
      return ZB_OK;
    }
  }

  for (;;) {
    if ((rc = check_reader (w, idle)) != ZB_OK)
      return rc;
    free_bytes = ZB_LOAD (&w->oieb->payload_free_bytes);
    w->last_free = free_bytes;
    if (free_bytes > P)
      return zb_fail (ZB_ECORRUPT, "%s: payload_free_bytes %llu is larger "
          "than the %llu-byte ring", w->name, (unsigned long long) free_bytes,
          (unsigned long long) P);
    /* Early: the free space runs from write_pos round to the reader's
     * position, so tail + T free means the start is free; and the reader
     * is at most compact bytes behind. */
    if (early && free_bytes >= *tail + T && P - free_bytes <= w->compact) {
      *wrap = 1;
      break;
    }
    if (free_bytes >= need)
      break;
    /* Blocked behind an early wrap's tail for longer than a wake-up:
     * the reader does not keep up right now, so stop wrapping early for
     * a while (a live source would lose frames to it). */
    if (confined_since >= 0 && compact_confined (w, free_bytes)) {
      int64_t now = zb_now_ns ();

      if (confined_since == 0)
        confined_since = now;
      else if (now - confined_since >= ZB_COMPACT_STALL_NS) {
        compact_stall (w, now);
        confined_since = -1;    /* once per frame */
      }
    }
    if (atomic_load (&w->interrupted))
      return zb_fail (ZB_ECANCELED, "%s: write interrupted", w->name);
    if (deadline >= 0 && zb_remaining (deadline) == 0) {
      /* A call that may not wait that long loses this frame's place to
       * the room an early wrap gave up (a dropping writer drops it, a pool
       * buffer becomes a copy): a stall too, or such a writer would drop
       * at every early wrap of a slow reader while the rest of the ring is
       * free. */
      if (confined_since > 0 && compact_confined (w, free_bytes))
        compact_stall (w, zb_now_ns ());
      return zb_fail (ZB_ETIMEDOUT, "%s: ring full for %d ms (%llu of %llu "
          "bytes free, %llu needed)", w->name, timeout_ms,
          (unsigned long long) free_bytes, (unsigned long long) P,
          (unsigned long long) need);
    }
    /* A busy reader frees space within microseconds: look before
     * going to sleep. */
    if (!idle && zb_spin_for_change (&w->pace,
            &w->oieb->payload_free_bytes, free_bytes, &w->interrupted))
      continue;
    {
      int64_t slice = ZB_WAIT_SLICE_MS, left = zb_remaining (deadline);

      if (left >= 0 && left < slice)
        slice = left;
      idle = zb_sem_wait_ms (w->sem_r, slice) != 0;
    }
  }
  *pos = *wrap ? 0 : w->write_pos;
  if (!*wrap)
    *tail = 0;
  return ZB_OK;
}

/* Publishes a frame of size bytes whose payload is in place at pos, with
 * the wrap in front of it, if any.  The wrap is published with the frame,
 * so that an abandoned reservation leaves no orphan tail in front of a
 * clean close. */
static void
publish (zb_writer * w, uint64_t pos, uint64_t tail, int wrap, size_t size)
{
  const uint64_t T = zb_frame_footprint (size);
  zb_frame_header h;

  if (wrap) {
    if (tail >= ZB_FRAME_HEADER_SIZE) {
      static const zb_frame_header marker = { 0, 0 };

      memcpy (w->ring + w->write_pos, &marker, sizeof marker);
      w->written_count++;
    }
    w->marker_tail = tail >= ZB_FRAME_HEADER_SIZE ? tail : 0;
    w->wraps++;
    /* the frame would have fit: compact placement chose to wrap */
    w->last_wrap_early = tail == T || (tail > T
        && tail - T >= ZB_FRAME_HEADER_SIZE);
    w->early_wraps += w->last_wrap_early;
  }
  h.payload_size = size;
  h.sequence_number = w->seq;
  memcpy (w->ring + pos, &h, sizeof h);
  w->write_pos = pos + T;       /* may equal P (quirk 10) */
  ZB_STORE (&w->oieb->payload_write_pos, w->write_pos);
  /* Publishes marker, header and payload at once: the reader trusts these
   * bytes only once they are no longer free. */
  atomic_fetch_sub_explicit (&w->oieb->payload_free_bytes, tail + T,
      memory_order_release);
  w->written_count++;
  ZB_STORE (&w->oieb->payload_written_count, w->written_count);
  w->seq++;
  w->frames++;
  w->bytes += size;
  zb_pace_note (&w->pace, 0);
  sem_post (w->sem_w);
}

/* zb_writer_write() after its argument checks. */
static int
write_frame (zb_writer * w, const void *data, size_t size, int timeout_ms)
{
  uint64_t pos, tail;
  int wrap, rc;

  if ((rc = check_frame (w, size)) != ZB_OK)
    return rc;
  if ((rc = place (w, size, timeout_ms, &pos, &tail, &wrap)) != ZB_OK)
    return rc;
  memcpy (w->ring + pos + ZB_FRAME_HEADER_SIZE, data, size);
  publish (w, pos, tail, wrap, size);
  return ZB_OK;
}

int
zb_writer_write (zb_writer * w, const void *data, size_t size, int timeout_ms)
{
  zb_clear_error ();
  if (w == NULL)
    return zb_fail (ZB_EINVAL, "zb_writer_write: no writer");
  if (size == 0)
    return writer_note (w, zb_fail (ZB_EINVAL, "%s: zb_writer_write: empty "
            "frame", w->name));
  if (data == NULL)
    return writer_note (w, zb_fail (ZB_EINVAL, "%s: zb_writer_write: NULL "
            "data", w->name));
  return writer_note (w, write_frame (w, data, size, timeout_ms));
}

static int
reserve (zb_writer * w, size_t size, void **payload, int timeout_ms)
{
  uint64_t pos, tail;
  int wrap, rc;

  if ((rc = check_frame (w, size)) != ZB_OK)
    return rc;
  if ((rc = place (w, size, timeout_ms, &pos, &tail, &wrap)) != ZB_OK)
    return rc;
  w->res_pos = pos;
  w->res_tail = tail;
  w->res_wrap = wrap;
  w->res_size = size;
  w->res_timeout = timeout_ms;
  *payload = w->ring + pos + ZB_FRAME_HEADER_SIZE;
  /* Last: from here on another thread may abandon it. */
  atomic_store_explicit (&w->res_state, RES_USER, memory_order_release);
  return ZB_OK;
}

int
zb_writer_reserve (zb_writer * w, size_t size, void **payload, int timeout_ms)
{
  zb_clear_error ();
  if (w == NULL || payload == NULL)
    return writer_note (w, zb_fail (ZB_EINVAL, "zb_writer_reserve: NULL "
            "argument"));
  if (size == 0)
    return writer_note (w, zb_fail (ZB_EINVAL, "%s: zb_writer_reserve: "
            "empty frame", w->name));
  return writer_note (w, reserve (w, size, payload, timeout_ms));
}

/* Takes the reservation back from RES_USER; 0 if someone else did. */
static int
take_reservation (zb_writer * w)
{
  int expected = RES_USER;

  return atomic_compare_exchange_strong_explicit (&w->res_state, &expected,
      RES_NONE, memory_order_acq_rel, memory_order_acquire);
}

static int
commit (zb_writer * w, size_t size)
{
  uint64_t end;
  void *copy = NULL;
  int rc;

  if (atomic_load_explicit (&w->res_state, memory_order_acquire) != RES_USER)
    return zb_fail (ZB_EBUSY, "%s: zb_writer_commit: nothing reserved",
        w->name);
  if (size == 0 || size > w->res_size)
    return zb_fail (ZB_EINVAL, "%s: commit of %zu bytes, reserved %zu",
        w->name, size, w->res_size);    /* the reservation stands */
  end = w->res_pos + zb_frame_footprint (size);
  if (w->P - end > 0 && w->P - end < ZB_FRAME_HEADER_SIZE) {
    /* Shrinking left a tail no marker fits in: place it again from a copy.
     * Rare (a frame that ended exactly at the ring's end, shrunk). */
    copy = malloc (size);
    if (copy == NULL)
      return zb_fail (ZB_ENOMEM, "%s: out of memory", w->name);
    memcpy (copy, w->ring + w->res_pos + ZB_FRAME_HEADER_SIZE, size);
  }
  if (!take_reservation (w)) {
    free (copy);
    return zb_fail (ZB_EBUSY, "%s: zb_writer_commit: the reservation was "
        "abandoned", w->name);
  }
  if (copy != NULL) {
    rc = write_frame (w, copy, size, w->res_timeout);
    free (copy);
    return rc;
  }
  if (w->gone)
    return gone_fail (w);
  publish (w, w->res_pos, w->res_tail, w->res_wrap, size);
  return ZB_OK;
}

int
zb_writer_commit (zb_writer * w, size_t size)
{
  zb_clear_error ();
  if (w == NULL)
    return zb_fail (ZB_EINVAL, "zb_writer_commit: no writer");
  return writer_note (w, commit (w, size));
}

int
zb_writer_abandon (zb_writer * w)
{
  zb_clear_error ();
  if (w == NULL)
    return zb_fail (ZB_EINVAL, "zb_writer_abandon: no writer");
  /* The only state shared with the writing thread is res_state: what the
   * reservation covered was never published, so there is nothing else to
   * undo. */
  if (!take_reservation (w))
    return writer_note (w, zb_fail (ZB_EBUSY, "%s: zb_writer_abandon: "
            "nothing reserved", w->name));
  return writer_note (w, ZB_OK);
}

void
zb_writer_set_compact (zb_writer * w, uint64_t compact_bytes)
{
  if (w == NULL)
    return;
  if (compact_bytes > w->compact)
    compact_prefault (w, compact_bytes);
  w->compact = compact_bytes;
}

void
zb_writer_interrupt (zb_writer * w, int on)
{
  if (w == NULL)
    return;
  atomic_store (&w->interrupted, on ? 1 : 0);
  /* Wake a writer blocked on a full ring; it re-checks the free bytes. */
  if (on && w->sem_r != SEM_FAILED)
    sem_post (w->sem_r);
}

void
zb_writer_close (zb_writer * w)
{
  if (w == NULL)
    return;
  ZB_STORE (&w->oieb->writer_pid, 0);
  /* Upstream writers leave silently and readers hang (quirk 8). */
  sem_post (w->sem_w);
  writer_unmap (w);             /* closing the fd drops the writer lock */
  zb_error_box_destroy (&w->err);
  free (w->meta_copy);
  free (w);
}

void
zb_writer_get_stats (zb_writer * w, zb_writer_stats * s)
{
  if (w == NULL || s == NULL)
    return;
  s->frames = w->frames;
  s->bytes = w->bytes;
  s->wraps = w->wraps;
  s->early_wraps = w->early_wraps;
  s->compact_stalls = w->compact_stalls;
  s->reuses = w->reuses;
  s->payload_size = w->P;
  s->metadata_size = w->M;
  s->free_bytes = w->base ? ZB_LOAD (&w->oieb->payload_free_bytes) :
      w->last_free;
  s->unread_tail = tail_out (w, s->free_bytes) ? w->marker_tail : 0;
}

const char *
zb_writer_name (const zb_writer * w)
{
  return w ? w->name : "";
}

const char *
zb_writer_last_error (zb_writer * w)
{
  if (w == NULL)
    return "";
  return zb_error_box_copy (&w->err, writer_error_copy);
}
