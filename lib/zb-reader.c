/* libzerobuffer: the reader, which creates a buffer and reads it in place.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The reader trusts nothing in shared memory (quirk 3): its own position,
 * sizes and expected sequence number are private copies, and every header it
 * reads is copied once and bounds-checked before use.  Whether a frame is
 * complete is decided from payload_free_bytes, which the writer lowers only
 * after the frame is in place; the semaphore is just a wake-up hint, so
 * spurious posts (the writer's close post, our own interrupt) are harmless.
 */
#include "zb-private.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* One entry per stretch of ring handed out, in ring order: frames and the
 * wrap tails in front of them.  Space goes back to the writer only across
 * the oldest run of released entries (quirk 2). */
typedef struct
{
  uint64_t bytes;
  uint64_t offset;              /* of the frame's payload, to check releases */
  uint8_t released;
  uint8_t is_frame;
} zb_ledger_entry;

struct zb_reader
{
  char name[ZB_NAME_MAX + 1];
  int shm_fd;
  int lock_fd;
  uint8_t *base;
  size_t map_size;
  zb_oieb *oieb;
  uint8_t *meta;
  uint8_t *ring;
  uint64_t P, M;
  sem_t *sem_w, *sem_r;

  /* owned by the reading thread */
  uint64_t read_pos;
  uint64_t read_count;
  uint64_t expected_seq;
  int allow_gaps;               /* zb_reader_options.allow_sequence_gaps */
  uint64_t writer_pid;          /* last non-zero writer pid seen */
  int writer_had_lock;
  int writer_seen;              /* a writer attached at some point */
  int writer_ended;             /* EOS or writer-gone was reported */
  uint64_t dead_writer_pid;     /* reported as gone */
  int64_t last_probe_ms;
  void *meta_copy;

  /* shared with releasing threads, under lock */
  pthread_mutex_t lock;
  zb_ledger_entry *ledger;
  size_t ledger_cap;            /* power of two */
  size_t ledger_head;
  size_t ledger_count;
  uint64_t ledger_base;         /* ticket of the entry at ledger_head; a
                                 * zeroed zb_frame (ticket 0) is never valid */
  uint64_t outstanding;         /* ring bytes taken and not yet returned */
  uint64_t tails;               /* of them, wrap tails (no frame) */
  uint64_t held;                /* frames not yet released */
  uint64_t frames, bytes, gaps;
  uint64_t last_free;
  _Atomic uint64_t frames_polled;       /* see zb_reader_stats */
  int closed;

  _Atomic int interrupted;
  zb_pace pace;                 /* acquiring thread only */
  zb_error_box err;             /* zb_reader_last_error() */
};

/* Where zb_reader_last_error() copies the text for its caller. */
static _Thread_local char reader_error_copy[ZB_ERROR_MAX];

/* Ends a public call on r: its outcome becomes r's last error. */
static int
reader_note (zb_reader * r, int rc)
{
  return r ? zb_error_box_note (&r->err, rc) : rc;
}

/* ------------------------------------------------------------- ledger */

static int
ledger_push (zb_reader * r, uint64_t bytes, uint64_t offset, int is_frame,
    uint64_t *ticket)
{
  zb_ledger_entry *e;

  if (r->ledger_count == r->ledger_cap) {
    size_t ncap = r->ledger_cap ? r->ledger_cap * 2 : 64, i;
    zb_ledger_entry *n = malloc (ncap * sizeof *n);

    if (n == NULL)
      return zb_fail (ZB_ENOMEM, "%s: out of memory for the frame ledger",
          r->name);
    for (i = 0; i < r->ledger_count; i++)
      n[i] = r->ledger[(r->ledger_head + i) & (r->ledger_cap - 1)];
    free (r->ledger);
    r->ledger = n;
    r->ledger_cap = ncap;
    r->ledger_head = 0;
  }
  e = &r->ledger[(r->ledger_head + r->ledger_count) & (r->ledger_cap - 1)];
  e->bytes = bytes;
  e->offset = offset;
  e->released = !is_frame;
  e->is_frame = (uint8_t) is_frame;
  if (!is_frame)
    r->tails += bytes;
  if (ticket)
    *ticket = r->ledger_base + r->ledger_count;
  r->ledger_count++;
  return ZB_OK;
}

/* Return the oldest run of released entries to the writer.  Called with the
 * lock held; returns how many frames went back. */
static uint64_t
ledger_advance (zb_reader * r)
{
  uint64_t sum = 0, frames = 0;

  while (r->ledger_count > 0) {
    zb_ledger_entry *e = &r->ledger[r->ledger_head];

    if (!e->released)
      break;
    sum += e->bytes;
    frames += e->is_frame;
    if (!e->is_frame)
      r->tails -= e->bytes;
    r->ledger_head = (r->ledger_head + 1) & (r->ledger_cap - 1);
    r->ledger_count--;
    r->ledger_base++;
  }
  if (sum) {
    r->outstanding -= sum;
    if (!r->closed)
      atomic_fetch_add_explicit (&r->oieb->payload_free_bytes, sum,
          memory_order_release);
  }
  return frames;
}

/* ------------------------------------------------------------- create */

static void
unlink_objects (const char *name)
{
  char sem[ZB_NAME_MAX + 16];

  shm_unlink (name);
  zb_sem_name (sem, sizeof sem, 'w', name);
  sem_unlink (sem);
  zb_sem_name (sem, sizeof sem, 'r', name);
  sem_unlink (sem);
}

/* Open and flock NAME's lock file: ZB_EEXIST when a live reader holds it. */
static int
take_lock_file (const char *name, unsigned int mode, int *out_fd)
{
  char path[ZB_NAME_MAX + 64];
  int attempt;

  if (mkdir (ZB_LOCK_DIR, 01777) == 0)
    chmod (ZB_LOCK_DIR, 01777);   /* shared by all users, like /tmp */
  else if (errno != EEXIST)
    return zb_fail_errno (errno == EACCES ? ZB_EPERM : ZB_ESYS, errno,
        "%s: cannot create %s", name, ZB_LOCK_DIR);
  zb_lock_path (path, sizeof path, name);

  for (attempt = 0; attempt < 8; attempt++) {
    struct stat a, b;
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);

    if (fd < 0)
      return zb_fail_errno (errno == EACCES ? ZB_EPERM : ZB_ESYS, errno,
          "%s: cannot open lock file %s", name, path);
    if (flock (fd, LOCK_EX | LOCK_NB) < 0) {
      int err = errno;

      close (fd);
      /* A writer may hold it for a moment while removing a dead reader's
       * objects; a live reader holds it for good. */
      if (err == EWOULDBLOCK && attempt < 7) {
        zb_sleep_ms (20);
        continue;
      }
      if (err == EWOULDBLOCK)
        return zb_fail (ZB_EEXIST, "%s: lock file %s is held by a live reader",
            name, path);
      return zb_fail_errno (ZB_ESYS, err, "%s: flock %s", name, path);
    }
    /* Someone cleaning up may have unlinked the file we locked. */
    if (fstat (fd, &a) == 0 && stat (path, &b) == 0 && a.st_ino == b.st_ino
        && a.st_dev == b.st_dev) {
      if (fchmod (fd, mode) < 0 && errno != EPERM) {
        int err = errno;

        close (fd);
        return zb_fail_errno (ZB_ESYS, err, "%s: fchmod %s", name, path);
      }
      *out_fd = fd;
      return ZB_OK;
    }
    close (fd);
  }
  return zb_fail (ZB_ESYS, "%s: lock file %s keeps changing", name, path);
}

static int
open_new_sem (const char *name, char role, unsigned int mode, sem_t ** out)
{
  char sem[ZB_NAME_MAX + 16], path[ZB_NAME_MAX + 32];
  sem_t *s;

  zb_sem_name (sem, sizeof sem, role, name);
  s = zb_sem_open (sem, O_CREAT | O_EXCL, mode, 0);
  if (s == SEM_FAILED) {
    int err = errno;

    return zb_fail_errno (err == EACCES ? ZB_EPERM : err == EEXIST ?
        ZB_EEXIST : ZB_ESYS, err, "%s: cannot create semaphore %s", name,
        sem);
  }
  /* sem_open applies the umask; the mode must be exactly what was asked. */
  zb_sem_path (path, sizeof path, role, name);
  if (chmod (path, mode) < 0) {
    int err = errno;

    zb_sem_close (s);
    sem_unlink (sem);
    return zb_fail_errno (ZB_ESYS, err, "%s: chmod %s", name, path);
  }
  *out = s;
  return ZB_OK;
}

/* A leftover object under our name: remove it unless a live reader of ours
 * still holds it (its lock file may live in another /tmp). */
static int
clear_stale (const char *name)
{
  int fd = shm_open (name, O_RDONLY | O_CLOEXEC, 0);

  if (fd >= 0) {
    int held = zb_ofd_probe (fd, ZB_LOCK_BYTE_READER);

    close (fd);
    if (held == 1)
      return zb_fail (ZB_EEXIST, "%s: /dev/shm/%s is held by a live reader",
          name, name);
  }
  unlink_objects (name);
  return ZB_OK;
}

int
zb_reader_create (zb_reader ** out, const char *name,
    const zb_reader_options * opt)
{
  zb_reader *r;
  unsigned int mode;
  uint64_t M, P, total;
  int rc, err;

  zb_clear_error ();
  if (out == NULL || opt == NULL)
    return zb_fail (ZB_EINVAL, "zb_reader_create: NULL argument");
  *out = NULL;
  if ((rc = zb_validate_name (name)) != ZB_OK)
    return rc;
  mode = opt->mode ? opt->mode & 07777 : 0600;
  if (opt->payload_size == 0)
    return zb_fail (ZB_EINVAL, "%s: payload size must be > 0", name);
  if (opt->payload_size > (1ull << 46) || opt->metadata_size > (1ull << 46))
    return zb_fail (ZB_EINVAL, "%s: payload size %llu or metadata size %llu "
        "is absurdly large", name, (unsigned long long) opt->payload_size,
        (unsigned long long) opt->metadata_size);
  M = zb_round_up_64 (opt->metadata_size);
  P = zb_round_up_64 (opt->payload_size);
  total = zb_mapping_size (M, P);

  r = calloc (1, sizeof *r);
  if (r == NULL)
    return zb_fail (ZB_ENOMEM, "%s: out of memory", name);
  snprintf (r->name, sizeof r->name, "%s", name);
  r->shm_fd = r->lock_fd = -1;
  r->P = P;
  r->M = M;
  r->expected_seq = 1;
  r->allow_gaps = opt->allow_sequence_gaps != 0;
  r->ledger_base = 1;
  r->sem_w = r->sem_r = SEM_FAILED;
  r->pace.spin_ns = zb_spin_budget_ns (opt->spin_us);
  zb_pace_init_lead (&r->pace);
  pthread_mutex_init (&r->lock, NULL);
  zb_error_box_init (&r->err);

  if ((rc = take_lock_file (name, mode, &r->lock_fd)) != ZB_OK)
    goto fail_nounlink;
  if ((rc = clear_stale (name)) != ZB_OK)
    goto fail_nounlink;
  /* Readers that died under other names cannot remove their objects, and
   * their space may be what ours needs: remove those proven stale. */
  zb_clean_others (name);

  /* Semaphores first and the OIEB valid last, so that a writer never sees
   * a half-made buffer as valid (quirk 11). */
  if ((rc = open_new_sem (name, 'w', mode, &r->sem_w)) != ZB_OK)
    goto fail;
  if ((rc = open_new_sem (name, 'r', mode, &r->sem_r)) != ZB_OK)
    goto fail;

  r->shm_fd = shm_open (name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
      (mode_t) mode);
  if (r->shm_fd < 0) {
    err = errno;
    rc = zb_fail_errno (err == EACCES ? ZB_EPERM : err == EEXIST ? ZB_EEXIST
        : ZB_ESYS, err, "%s: cannot create /dev/shm/%s", name, name);
    goto fail;
  }
  if (fchmod (r->shm_fd, mode) < 0) {
    rc = zb_fail_errno (ZB_ESYS, errno, "%s: fchmod /dev/shm/%s", name, name);
    goto fail;
  }
  if (ftruncate (r->shm_fd, (off_t) total) < 0) {
    err = errno;
    rc = zb_fail_errno (err == EFBIG || err == ENOSPC ? ZB_ENOSPC : ZB_ESYS,
        err, "%s: cannot size /dev/shm/%s to %llu bytes", name, name,
        (unsigned long long) total);
    goto fail;
  }
  /* Reserve the pages now: a too-small /dev/shm (64 MB in Docker) must fail
   * here, not with SIGBUS on first touch (quirk 7). */
  err = posix_fallocate (r->shm_fd, 0, (off_t) total);
  if (err != 0) {
    rc = zb_fail_errno (err == ENOSPC || err == EFBIG ? ZB_ENOSPC : ZB_ESYS,
        err, "%s: cannot reserve %llu bytes in /dev/shm (metadata %llu + "
        "payload %llu)", name, (unsigned long long) total,
        (unsigned long long) M, (unsigned long long) P);
    goto fail;
  }
  r->map_size = (size_t) total;
  r->base = mmap (NULL, r->map_size, PROT_READ | PROT_WRITE, MAP_SHARED,
      r->shm_fd, 0);
  if (r->base == MAP_FAILED) {
    r->base = NULL;
    err = errno;
    rc = zb_fail_errno (err == ENOMEM ? ZB_ENOMEM : ZB_ESYS, err,
        "%s: mmap of %llu bytes", name, (unsigned long long) total);
    goto fail;
  }
  if (zb_ofd_lock (r->shm_fd, ZB_LOCK_BYTE_READER) < 0) {
    rc = zb_fail_errno (ZB_ESYS, errno, "%s: cannot lock /dev/shm/%s", name,
        name);
    goto fail;
  }
  /* Ties the lock file to this object and pid: once both our locks are
   * free, anyone can tell that this reader died (zb-clean.c). */
  zb_lock_mark (r->lock_fd, r->shm_fd);
  r->oieb = (zb_oieb *) r->base;
  r->meta = r->base + ZB_OIEB_SIZE;
  r->ring = r->meta + M;

  r->oieb->version[0] = 1;
  r->oieb->version[1] = 0;
  r->oieb->version[2] = 0;
  r->oieb->version[3] = 0;
  ZB_STORE (&r->oieb->metadata_size, M);
  ZB_STORE (&r->oieb->metadata_free_bytes, M);
  ZB_STORE (&r->oieb->metadata_written_bytes, 0);
  ZB_STORE (&r->oieb->payload_size, P);
  ZB_STORE (&r->oieb->payload_free_bytes, P);
  ZB_STORE (&r->oieb->payload_write_pos, 0);
  ZB_STORE (&r->oieb->payload_read_pos, 0);
  ZB_STORE (&r->oieb->payload_written_count, 0);
  ZB_STORE (&r->oieb->payload_read_count, 0);
  ZB_STORE (&r->oieb->writer_pid, 0);
  ZB_STORE (&r->oieb->reader_pid, (uint64_t) getpid ());
  ZB_STORE (&r->oieb->oieb_size, ZB_OIEB_SIZE);
  r->last_free = P;

  *out = r;
  return ZB_OK;

fail:
  if (r->base)
    munmap (r->base, r->map_size);
  if (r->shm_fd >= 0)
    close (r->shm_fd);
  if (r->sem_w != SEM_FAILED)
    zb_sem_close (r->sem_w);
  if (r->sem_r != SEM_FAILED)
    zb_sem_close (r->sem_r);
  unlink_objects (name);
  {
    char path[ZB_NAME_MAX + 64];

    zb_lock_path (path, sizeof path, name);
    unlink (path);
  }
fail_nounlink:
  if (r->lock_fd >= 0)
    close (r->lock_fd);
  pthread_mutex_destroy (&r->lock);
  zb_error_box_destroy (&r->err);
  free (r);
  return rc;
}

/* ------------------------------------------------------------- reading */

static void
read_header (const zb_reader * r, uint64_t pos, zb_frame_header * h)
{
  memcpy (h, r->ring + pos, sizeof *h);
}

/* Take the next complete frame if there is one.  Returns ZB_OK, ZB_ETIMEDOUT
 * meaning "nothing complete yet" (with *unread the published bytes not yet
 * taken), or ZB_ECORRUPT. */
static int
take_frame (zb_reader * r, zb_frame * f, uint64_t *unread)
{
  uint64_t free_bytes, outstanding, avail, pos, skip = 0, T, ticket;
  const uint64_t P = r->P;
  zb_frame_header h;
  int marker = 0, gap = 0;

  /* A consistent pair: releases change both under the lock. */
  pthread_mutex_lock (&r->lock);
  free_bytes = ZB_LOAD (&r->oieb->payload_free_bytes);
  outstanding = r->outstanding;
  r->last_free = free_bytes;
  pthread_mutex_unlock (&r->lock);

  if (free_bytes > P || free_bytes + outstanding > P)
    return zb_fail (ZB_ECORRUPT, "%s: payload_free_bytes %llu is more than "
        "the ring can hold (%llu bytes, %llu held by the reader)", r->name,
        (unsigned long long) free_bytes, (unsigned long long) P,
        (unsigned long long) outstanding);
  avail = P - free_bytes - outstanding;
  *unread = avail;
  if (avail == 0)
    return ZB_ETIMEDOUT;

  /* Honest writers (ours and every upstream one) lower the free bytes once
   * per frame, after its header and payload are in place, and once per
   * wrap for the whole tail it skips (ours with the frame).  So the
   * published bytes always end at a frame or tail boundary: anything else
   * is corruption, not a writer caught half-way.  Only the free bytes are
   * trusted for this; write_pos moves before them and written_count after
   * them, so neither says what is published. */
  pos = r->read_pos;
  if (P - pos < ZB_FRAME_HEADER_SIZE) {
    /* No room for a header before the end: an implicit wrap, as upstream
     * writers leave it (quirk 1), or a frame that ended at P (quirk 10). */
    skip = P - pos;
    if (avail < skip)
      return zb_fail (ZB_ECORRUPT, "%s: only %llu of the %llu-byte tail at "
          "offset %llu were published", r->name, (unsigned long long) avail,
          (unsigned long long) skip, (unsigned long long) pos);
    pos = 0;
  } else {
    if (avail < ZB_FRAME_HEADER_SIZE)
      return zb_fail (ZB_ECORRUPT, "%s: only %llu bytes published at offset "
          "%llu, less than a frame header", r->name,
          (unsigned long long) avail, (unsigned long long) pos);
    read_header (r, pos, &h);
    if (h.payload_size == 0) {
      if (pos == 0)
        return zb_fail (ZB_ECORRUPT, "%s: wrap marker at offset 0 of the "
            "ring", r->name);
      skip = P - pos;
      /* A writer gives up the whole tail with its marker (ours with the
       * next frame): a marker whose tail was not all published is none. */
      if (avail < skip)
        return zb_fail (ZB_ECORRUPT, "%s: wrap marker at offset %llu, but "
            "only %llu of the %llu bytes it skips were published", r->name,
            (unsigned long long) pos, (unsigned long long) avail,
            (unsigned long long) skip);
      marker = 1;
      pos = 0;
    }
  }
  if (avail == skip)
    return ZB_ETIMEDOUT;        /* a wrap published, its frame not yet */
  if (avail - skip < ZB_FRAME_HEADER_SIZE)
    return zb_fail (ZB_ECORRUPT, "%s: only %llu bytes published at offset "
        "%llu after a wrap, less than a frame header", r->name,
        (unsigned long long) (avail - skip), (unsigned long long) pos);
  read_header (r, pos, &h);
  if (h.payload_size == 0)
    return zb_fail (ZB_ECORRUPT, "%s: %s at offset %llu", r->name,
        pos == 0 ? "wrap marker at offset 0 of the ring" :
        "zero-size frame", (unsigned long long) pos);
  if (h.payload_size > P - pos - ZB_FRAME_HEADER_SIZE)
    return zb_fail (ZB_ECORRUPT, "%s: frame of %llu bytes at offset %llu "
        "runs past the end of the %llu-byte ring", r->name,
        (unsigned long long) h.payload_size, (unsigned long long) pos,
        (unsigned long long) P);
  T = zb_frame_footprint (h.payload_size);
  if (avail - skip < T)
    return zb_fail (ZB_ECORRUPT, "%s: frame %llu at offset %llu says %llu "
        "bytes of payload, but only %llu bytes from its header on were "
        "published", r->name, (unsigned long long) h.sequence_number,
        (unsigned long long) pos, (unsigned long long) h.payload_size,
        (unsigned long long) (avail - skip));
  if (h.sequence_number != r->expected_seq) {
    if (r->allow_gaps && h.sequence_number > r->expected_seq) {
      /* Numbers the writer used up without publishing: the frame itself
       * was checked like any other. */
      gap = 1;
    } else if (h.sequence_number != 1) {
      return zb_fail (ZB_ECORRUPT, "%s: sequence jump: expected frame %llu, "
          "found %llu at offset %llu", r->name,
          (unsigned long long) r->expected_seq,
          (unsigned long long) h.sequence_number, (unsigned long long) pos);
    } else {
      /* A new writer starts again at 1.  If the end of the previous one's
       * stream was not reported yet, report it now; the next call takes
       * this frame. */
      r->expected_seq = 1;
      if (!r->writer_ended) {
        r->writer_ended = 1;
        return zb_fail (ZB_EOS, "%s: writer closed, all frames read; a new "
            "writer follows", r->name);
      }
    }
  }
  r->writer_ended = 0;
  r->writer_seen = 1;

  pthread_mutex_lock (&r->lock);
  if ((skip && ledger_push (r, skip, 0, 0, NULL) != ZB_OK)
      || ledger_push (r, T, pos + ZB_FRAME_HEADER_SIZE, 1, &ticket) != ZB_OK) {
    pthread_mutex_unlock (&r->lock);
    return ZB_ENOMEM;
  }
  r->outstanding += skip + T;
  r->held++;
  r->frames++;
  r->bytes += h.payload_size;
  r->gaps += gap;
  ledger_advance (r);           /* a tail at the head goes back at once */
  pthread_mutex_unlock (&r->lock);

  if (marker)
    r->read_count++;
  r->read_count++;
  r->read_pos = (pos + T) % P;
  r->expected_seq = h.sequence_number + 1;
  ZB_STORE (&r->oieb->payload_read_pos, r->read_pos);
  ZB_STORE (&r->oieb->payload_read_count, r->read_count);

  f->data = r->ring + pos + ZB_FRAME_HEADER_SIZE;
  f->size = (size_t) h.payload_size;
  f->sequence = h.sequence_number;
  f->ticket = ticket;
  return ZB_OK;
}

static void
note_writer (zb_reader * r, uint64_t wpid)
{
  if (wpid == 0)
    return;
  r->writer_seen = 1;
  if (wpid != r->writer_pid) {
    /* Probe at once: a writer of ours seen holding its lock is dead as soon
     * as the lock is gone, even while its pid lingers as a zombie. */
    r->writer_pid = wpid;
    r->writer_had_lock = zb_ofd_probe (r->shm_fd, ZB_LOCK_BYTE_WRITER) == 1;
  }
}

static int
wait_writer (zb_reader * r, int timeout_ms)
{
  int64_t deadline = zb_deadline (timeout_ms);

  for (;;) {
    uint64_t wpid, used;

    /* First, as in acquire: an interrupt wins even over a writer that is
     * already there. */
    if (atomic_load (&r->interrupted))
      return zb_fail (ZB_ECANCELED, "%s: wait for a writer interrupted",
          r->name);
    wpid = ZB_LOAD (&r->oieb->writer_pid);
    pthread_mutex_lock (&r->lock);
    used = ZB_LOAD (&r->oieb->payload_free_bytes) + r->outstanding;
    pthread_mutex_unlock (&r->lock);
    note_writer (r, wpid);
    if (wpid != 0 || ZB_LOAD (&r->oieb->metadata_written_bytes) != 0
        || used != r->P)
      return ZB_OK;
    if (deadline >= 0 && zb_remaining (deadline) == 0)
      return zb_fail (ZB_ETIMEDOUT, "%s: no writer attached within %d ms",
          r->name, timeout_ms);
    /* Writers do not post when they attach: poll in short slices. */
    zb_sem_wait_ms (r->sem_w, deadline < 0 ? 20 :
        (zb_remaining (deadline) < 20 ? zb_remaining (deadline) : 20));
  }
}

int
zb_reader_wait_writer (zb_reader * r, int timeout_ms)
{
  zb_clear_error ();
  if (r == NULL || r->closed)
    return reader_note (r, zb_fail (ZB_EINVAL, "zb_reader_wait_writer: no "
            "reader"));
  return reader_note (r, wait_writer (r, timeout_ms));
}

int
zb_reader_get_metadata (zb_reader * r, const void **data, size_t *size)
{
  int rc;

  zb_clear_error ();
  if (r == NULL || data == NULL || size == NULL || r->closed)
    return reader_note (r, zb_fail (ZB_EINVAL, "zb_reader_get_metadata: "
            "bad argument"));
  rc = zb_copy_metadata (r->name, r->oieb, r->meta, r->M, &r->meta_copy,
      size);
  if (rc == ZB_OK) {
    r->writer_seen = 1;         /* metadata proves a writer was here */
    *data = r->meta_copy;
  }
  return reader_note (r, rc);
}

static int
acquire (zb_reader * r, zb_frame * f, int timeout_ms)
{
  int64_t deadline = zb_deadline (timeout_ms);
  int woke = 0, idle = 0, predicted = 0, polled = 0, rc;

  for (;;) {
    uint64_t unread = 0, wpid;

    if (atomic_load (&r->interrupted))
      return zb_fail (ZB_ECANCELED, "%s: read interrupted", r->name);
    /* The pid first: if it reads 0, the free bytes read after it are the
     * writer's final word. */
    wpid = ZB_LOAD (&r->oieb->writer_pid);
    note_writer (r, wpid);
    rc = take_frame (r, f, &unread);
    if (rc == ZB_OK) {
      zb_pace_note (&r->pace, woke);
      if (polled)
        atomic_fetch_add_explicit (&r->frames_polled, 1,
            memory_order_relaxed);
      /* Keep the count roughly in step when we did not sleep for it. */
      if (!woke)
        sem_trywait (r->sem_w);
      return ZB_OK;
    }
    if (rc != ZB_ETIMEDOUT)
      return rc;

    /* A writer may attach, write metadata and leave between two looks at
     * its pid: what it left behind (metadata, published bytes) proves it
     * was here, as in wait_writer().  Look again from the top, so that
     * whatever it published is judged against a pid read before it. */
    if (wpid == 0 && !r->writer_seen && (unread != 0
            || ZB_LOAD (&r->oieb->metadata_written_bytes) != 0)) {
      r->writer_seen = 1;
      continue;
    }
    if (wpid == 0 && r->writer_seen && !r->writer_ended) {
      if (unread == 0) {
        r->writer_ended = 1;
        return zb_fail (ZB_EOS, "%s: writer closed, all frames read",
            r->name);
      }
      return zb_fail (ZB_ECORRUPT, "%s: writer closed with %llu published "
          "bytes that are not a complete frame", r->name,
          (unsigned long long) unread);
    }
    if (wpid == 0 && r->writer_ended)
      return zb_fail (ZB_EOS, "%s: writer closed, all frames read", r->name);
    if (wpid != 0 && wpid == r->dead_writer_pid)
      return zb_fail (ZB_EWRITERGONE, "%s: writer pid %llu died", r->name,
          (unsigned long long) wpid);
    /* Probe only when starved, and at most once a slice: a busy stream
     * costs no syscalls, a polling caller still learns of a death. */
    if (wpid != 0 && (idle || zb_now_ms () - r->last_probe_ms
            >= ZB_WAIT_SLICE_MS)) {
      r->last_probe_ms = zb_now_ms ();
      if (!zb_peer_alive (r->shm_fd, ZB_LOCK_BYTE_WRITER,
              &r->oieb->writer_pid, wpid, &r->writer_had_lock)) {
        /* Anything it finished before dying is still ours to read. */
        rc = take_frame (r, f, &unread);
        if (rc != ZB_ETIMEDOUT)
          return rc;
        r->writer_ended = 1;
        r->dead_writer_pid = wpid;
        return zb_fail (ZB_EWRITERGONE, "%s: writer pid %llu died", r->name,
            (unsigned long long) wpid);
      }
    }
    if (deadline >= 0 && zb_remaining (deadline) == 0)
      return zb_fail (ZB_ETIMEDOUT, "%s: no frame within %d ms", r->name,
          timeout_ms);
    /* A regular stream whose frames come further apart than a spin:
     * sleep until just before the next one is due, then poll for it, so
     * that the writer's post finds no sleeper to wake (a wake costs the
     * writer 16-21 µs here) and the frame is seen at once. */
    if (wpid != 0 && !idle && !predicted) {
      zb_pace *pc = &r->pace;
      int64_t at = zb_pace_wake_at (pc), now = zb_now_ns ();

      predicted = 1;
      if (at != 0 && (deadline < 0 || at / 1000000 < deadline)
          && at < now + 2 * pc->gap_ns) {
        /* Counts left by frames taken while polling would end the sleep
         * at once.  A post drained here came after its change, so the
         * looks below see what it announced. */
        while (sem_trywait (r->sem_w) == 0);
        if (ZB_LOAD_RELAXED (&r->oieb->payload_free_bytes) != r->last_free
            || ZB_LOAD (&r->oieb->writer_pid) != wpid
            || atomic_load (&r->interrupted)) {
          predicted = 0;
          continue;
        }
        if (at > now) {
          zb_timer_slack_low ();
          if (zb_sem_wait_until (r->sem_w, at) == 0) {
            /* The frame (or a stop) came before we woke: wake earlier. */
            zb_pace_outcome (pc, ZB_PACE_EARLY);
            woke = 1;
            polled = 0;
            continue;
          }
          zb_pace_woke_late (pc, zb_now_ns () - at);
        }
        if (zb_spin_until (&r->oieb->payload_free_bytes, r->last_free,
                &r->interrupted, at + pc->lead_ns + zb_pace_past (pc))) {
          /* A change by our own releases comes back here and polls on
           * until the frame is overdue. */
          if (!polled)
            zb_pace_outcome (pc, ZB_PACE_MET);
          polled = 1;
          woke = 0;
          predicted = 0;
          continue;
        }
        zb_pace_outcome (pc, ZB_PACE_LATE);
      }
    }
    /* A writer that was busy a moment ago is likely to publish again
     * within microseconds: look before going to sleep. */
    if (wpid != 0 && !idle && zb_spin_for_change (&r->pace,
            &r->oieb->payload_free_bytes, r->last_free, &r->interrupted)) {
      polled = 1;
      woke = 0;
      continue;
    }
    {
      int64_t slice = ZB_WAIT_SLICE_MS, left = zb_remaining (deadline);

      if (left >= 0 && left < slice)
        slice = left;
      woke = zb_sem_wait_ms (r->sem_w, slice) == 0;
      idle = !woke;
      polled = 0;
    }
  }
}

int
zb_reader_acquire (zb_reader * r, zb_frame * f, int timeout_ms)
{
  zb_clear_error ();
  if (r == NULL || f == NULL || r->closed)
    return reader_note (r, zb_fail (ZB_EINVAL, "zb_reader_acquire: no "
            "reader"));
  return reader_note (r, acquire (r, f, timeout_ms));
}

int
zb_reader_probe_writer (zb_reader * r, uint64_t *pid, int *had_lock)
{
  uint64_t wpid = ZB_LOAD (&r->oieb->writer_pid);

  *pid = wpid;
  if (wpid == 0)
    return ZB_PEER_NONE;
  return zb_peer_alive (r->shm_fd, ZB_LOCK_BYTE_WRITER, &r->oieb->writer_pid,
      wpid, had_lock) ? ZB_PEER_ALIVE : ZB_PEER_DEAD;
}

static void
reader_destroy (zb_reader * r)
{
  if (r->base)
    munmap (r->base, r->map_size);
  pthread_mutex_destroy (&r->lock);
  zb_error_box_destroy (&r->err);
  free (r->ledger);
  free (r->meta_copy);
  free (r);
}

int
zb_reader_release (zb_reader * r, const zb_frame * f)
{
  uint64_t idx, frames;
  zb_ledger_entry *e;
  int destroy = 0, rc = ZB_OK;

  zb_clear_error ();
  if (r == NULL || f == NULL)
    return reader_note (r, zb_fail (ZB_EINVAL, "zb_reader_release: NULL "
            "argument"));
  pthread_mutex_lock (&r->lock);
  idx = f->ticket - r->ledger_base;
  if (f->ticket < r->ledger_base || idx >= r->ledger_count) {
    rc = zb_fail (ZB_EINVAL, "%s: frame %llu is not held (released twice?)",
        r->name, (unsigned long long) f->sequence);
    goto out;
  }
  e = &r->ledger[(r->ledger_head + idx) & (r->ledger_cap - 1)];
  if (e->released || !e->is_frame
      || (const uint8_t *) f->data != r->ring + e->offset) {
    rc = zb_fail (ZB_EINVAL, "%s: frame %llu was already released",
        r->name, (unsigned long long) f->sequence);
    goto out;
  }
  e->released = 1;
  r->held--;
  frames = ledger_advance (r);
  /* One post per release that freed space: the writer re-checks the free
   * bytes on every wake.  Under the lock, so close() cannot race it. */
  if (frames && !r->closed)
    sem_post (r->sem_r);
  destroy = r->closed && r->held == 0;
out:
  /* Still under the lock: once it is dropped, another thread's last
   * release after close may free r. */
  if (!destroy)
    reader_note (r, rc);
  pthread_mutex_unlock (&r->lock);
  if (destroy)
    reader_destroy (r);
  return rc;
}

void
zb_reader_interrupt (zb_reader * r, int on)
{
  if (r == NULL)
    return;
  atomic_store (&r->interrupted, on ? 1 : 0);
  /* Wake a blocked acquire at once; the extra count is harmless since the
   * reader only trusts the free bytes. */
  if (on) {
    pthread_mutex_lock (&r->lock);
    if (!r->closed)
      sem_post (r->sem_w);
    pthread_mutex_unlock (&r->lock);
  }
}

void
zb_reader_close (zb_reader * r)
{
  char path[ZB_NAME_MAX + 64];
  int destroy;

  if (r == NULL)
    return;
  pthread_mutex_lock (&r->lock);
  if (r->closed) {
    pthread_mutex_unlock (&r->lock);
    return;
  }
  ZB_STORE (&r->oieb->reader_pid, 0);
  sem_post (r->sem_r);          /* a writer waiting for space sees us leave */
  r->closed = 1;
  zb_sem_close (r->sem_w);
  zb_sem_close (r->sem_r);
  unlink_objects (r->name);
  zb_lock_path (path, sizeof path, r->name);
  unlink (path);
  close (r->lock_fd);
  close (r->shm_fd);            /* drops the OFD reader lock */
  destroy = r->held == 0;
  pthread_mutex_unlock (&r->lock);
  if (destroy)
    reader_destroy (r);
}

void
zb_reader_get_stats (zb_reader * r, zb_reader_stats * s)
{
  if (r == NULL || s == NULL)
    return;
  pthread_mutex_lock (&r->lock);
  s->frames = r->frames;
  s->bytes = r->bytes;
  s->held = r->held;
  s->held_bytes = r->outstanding;
  s->held_tail_bytes = r->tails;
  s->payload_size = r->P;
  s->metadata_size = r->M;
  s->free_bytes = r->closed ? r->last_free :
      ZB_LOAD (&r->oieb->payload_free_bytes);
  s->sequence_gaps = r->gaps;
  s->frames_polled = atomic_load_explicit (&r->frames_polled,
      memory_order_relaxed);
  pthread_mutex_unlock (&r->lock);
}

const char *
zb_reader_name (const zb_reader * r)
{
  return r ? r->name : "";
}

const char *
zb_reader_last_error (zb_reader * r)
{
  if (r == NULL)
    return "";
  return zb_error_box_copy (&r->err, reader_error_copy);
}
