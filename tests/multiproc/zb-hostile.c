/* zb-hostile: a hostile ZeroBuffer peer for the multi-process tests.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   zb-hostile reader NAME CASE GOFILE
 *     Creates NAME the way a reader does (lock file, both semaphores, shared
 *     memory, reader OFD lock, reader_pid) but advertises one bad value, for
 *     a zerosink to trip over.  Prints "ready" once the buffer is there
 *     ("injected" when the bad value came later), stays alive holding its
 *     locks until GOFILE exists, removes every object and exits 0.
 *   zb-hostile writer NAME CASE
 *     Attaches to NAME made by a zerosrc (writer OFD lock, writer_pid),
 *     writes metadata and then bad frames, posting the reader after each.
 *     Prints "sent", waits until the reader lets go of the buffer (its OFD
 *     lock is gone), prints "done" and exits 0 without removing anything:
 *     the reader owns the objects.
 *
 * Exit status 3 means a deadline passed (the peer never did what we waited
 * for); 2 a usage or system error.  Only raw POSIX calls are used, plus
 * the layout from zb-private.h: the library itself is not linked.
 */
#include "zb-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define META_SIZE 1024u         /* what the reader cases advertise */
#define RING_SIZE 65536u
#define FRAME 64u               /* payload of the valid frames we write */
#define WAIT_MS 20000           /* longest we wait for any peer... */

static int64_t wait_ms = WAIT_MS;       /* ...times ZB_TIME_SCALE */

static const char *name;

static void
die (const char *what)
{
  fprintf (stderr, "zb-hostile %s: %s: %s\n", name ? name : "", what,
      strerror (errno));
  exit (2);
}

static int64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
nap (void)
{
  struct timespec ts = { 0, 5 * 1000 * 1000 };

  nanosleep (&ts, NULL);
}

static void
say (const char *line)
{
  printf ("%s\n", line);
  fflush (stdout);
}

static int
ofd (int fd, int cmd, int byte)
{
  struct flock fl;

  memset (&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  if (fcntl (fd, cmd, &fl) < 0)
    return -1;
  return cmd == F_OFD_GETLK ? fl.l_type != F_UNLCK : 0;
}

/* ------------------------------------------------------------- reader */

static int
hostile_reader (const char *which, const char *gofile)
{
  const uint64_t M = META_SIZE, P = RING_SIZE;
  const uint64_t total = ZB_OIEB_SIZE + M + P;
  char path[ZB_NAME_MAX + 64], semw[ZB_NAME_MAX + 16], semr[ZB_NAME_MAX + 16];
  uint64_t adv_m = M, adv_p = P, adv_wp = 0;
  uint32_t oieb_size = ZB_OIEB_SIZE;
  uint8_t major = 1;
  int lfd, fd, late = 0, bad_meta = 0, rc = 0;
  sem_t *sw, *sr;
  zb_oieb *o;
  int64_t deadline;

  if (strcmp (which, "oieb-size") == 0)
    oieb_size = 64;
  else if (strcmp (which, "version") == 0)
    major = 2;
  else if (strcmp (which, "payload-size") == 0)
    adv_p = UINT64_MAX - ZB_OIEB_SIZE - M + 1;  /* 128 + M + P wraps to 0 */
  else if (strcmp (which, "metadata-size") == 0)
    adv_m = UINT64_MAX - ZB_OIEB_SIZE - P + 1;
  else if (strcmp (which, "payload-sum") == 0)
    adv_p = P + 64;             /* each size fits, their sum does not */
  else if (strcmp (which, "write-pos") == 0)
    adv_wp = P + 64;
  else if (strcmp (which, "free-bytes") == 0)
    late = 1;
  else if (strcmp (which, "meta-len") == 0)
    bad_meta = 1;
  else {
    fprintf (stderr, "zb-hostile: unknown reader case %s\n", which);
    return 2;
  }

  /* Same order as a real reader: lock file, semaphores, then the memory,
   * with the header size stored last. */
  if (mkdir (ZB_LOCK_DIR, 01777) == 0)
    chmod (ZB_LOCK_DIR, 01777);
  snprintf (path, sizeof path, "%s/%s.lock", ZB_LOCK_DIR, name);
  lfd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (lfd < 0 || flock (lfd, LOCK_EX | LOCK_NB) < 0)
    die (path);
  snprintf (semw, sizeof semw, "/sem-w-%s", name);
  snprintf (semr, sizeof semr, "/sem-r-%s", name);
  sw = sem_open (semw, O_CREAT | O_EXCL, 0600, 0);
  if (sw == SEM_FAILED)
    die (semw);
  sr = sem_open (semr, O_CREAT | O_EXCL, 0600, 0);
  if (sr == SEM_FAILED)
    die (semr);
  fd = shm_open (name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 || ftruncate (fd, (off_t) total) < 0)
    die ("shm");
  o = mmap (NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (o == MAP_FAILED)
    die ("mmap");
  if (ofd (fd, F_OFD_SETLK, ZB_LOCK_BYTE_READER) < 0)
    die ("reader lock");

  o->version[0] = major;
  if (bad_meta) {
    /* "Metadata" whose length prefix (8 + len wraps to 0) claims far more
     * than the 16 bytes said to be written. */
    uint64_t len = UINT64_MAX - 7;

    memcpy ((uint8_t *) o + ZB_OIEB_SIZE, &len, sizeof len);
    ZB_STORE (&o->metadata_written_bytes, 8 + 16);
  }
  ZB_STORE (&o->metadata_size, adv_m);
  ZB_STORE (&o->metadata_free_bytes, adv_m);
  ZB_STORE (&o->payload_size, adv_p);
  ZB_STORE (&o->payload_free_bytes, adv_p);
  ZB_STORE (&o->payload_write_pos, adv_wp);
  ZB_STORE (&o->reader_pid, (uint64_t) getpid ());
  ZB_STORE (&o->oieb_size, oieb_size);
  say ("ready");

  deadline = now_ms () + wait_ms;
  if (late) {
    /* Lie only once the writer is attached and writing: it must notice
     * mid-stream, not at connect. */
    while (ZB_LOAD (&o->writer_pid) == 0
        || ZB_LOAD (&o->payload_written_count) == 0) {
      if (now_ms () > deadline) {
        fprintf (stderr, "zb-hostile %s: no writer wrote a frame\n", name);
        rc = 3;
        goto out;
      }
      nap ();
    }
    ZB_STORE (&o->payload_free_bytes, 2 * P);
    sem_post (sr);
    say ("injected");
  }

  deadline = now_ms () + 3 * wait_ms;
  while (access (gofile, F_OK) != 0) {
    if (now_ms () > deadline) {
      fprintf (stderr, "zb-hostile %s: never told to go\n", name);
      rc = 3;
      break;
    }
    nap ();
  }

out:
  ZB_STORE (&o->reader_pid, 0);
  munmap (o, total);
  sem_close (sw);
  sem_close (sr);
  shm_unlink (name);
  sem_unlink (semw);
  sem_unlink (semr);
  unlink (path);
  close (fd);
  close (lfd);
  say ("done");
  return rc;
}

/* ------------------------------------------------------------- writer */

struct ring
{
  zb_oieb *o;
  uint8_t *meta, *ring;
  uint64_t M, P, pos, count;
  sem_t *sw;
};

/* Put a header (and zeroed payload) at pos. */
static void
put (struct ring *r, uint64_t size, uint64_t seq, uint64_t payload)
{
  zb_frame_header h = { size, seq };

  memcpy (r->ring + r->pos, &h, sizeof h);
  memset (r->ring + r->pos + sizeof h, 0xab, payload);
}

/* Make bytes visible to the reader, count frames, wake it. */
static void
publish (struct ring *r, uint64_t bytes, uint64_t frames)
{
  atomic_fetch_sub_explicit (&r->o->payload_free_bytes, bytes,
      memory_order_release);
  r->pos += bytes;
  r->count += frames;
  ZB_STORE (&r->o->payload_write_pos, r->pos);
  ZB_STORE (&r->o->payload_written_count, r->count);
  sem_post (r->sw);
}

static void
good_frame (struct ring *r, uint64_t seq)
{
  put (r, FRAME, seq, FRAME);
  publish (r, ZB_FRAME_HEADER_SIZE + FRAME, 1);
}

static int
hostile_writer (const char *which, const char *arg)
{
  static const char caps[] = "application/x-zb-hostile";
  char semw[ZB_NAME_MAX + 16];
  struct ring r = { 0 };
  struct stat st;
  uint8_t *base = MAP_FAILED;
  uint64_t len = sizeof caps - 1, written = 8 + len;
  int64_t deadline = now_ms () + wait_ms;
  int fd = -1;

  /* The reader makes its header valid last. */
  for (;;) {
    if (fd < 0)
      fd = shm_open (name, O_RDWR | O_CLOEXEC, 0);
    if (fd >= 0 && fstat (fd, &st) == 0 && st.st_size > ZB_OIEB_SIZE) {
      base = mmap (NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
          0);
      if (base == MAP_FAILED)
        die ("mmap");
      r.o = (zb_oieb *) base;
      if (ZB_LOAD (&r.o->oieb_size) == ZB_OIEB_SIZE)
        break;
      munmap (base, st.st_size);
    }
    if (now_ms () > deadline) {
      fprintf (stderr, "zb-hostile %s: no valid buffer\n", name);
      return 3;
    }
    nap ();
  }
  r.M = ZB_LOAD (&r.o->metadata_size);
  r.P = ZB_LOAD (&r.o->payload_size);
  if (r.M < 64 || r.P < 4096 || ZB_OIEB_SIZE + r.M + r.P > (uint64_t)
      st.st_size) {
    fprintf (stderr, "zb-hostile %s: want a reader with metadata >= 64 and "
        "payload >= 4096 bytes\n", name);
    return 2;
  }
  r.meta = base + ZB_OIEB_SIZE;
  r.ring = r.meta + r.M;
  if (ofd (fd, F_OFD_SETLK, ZB_LOCK_BYTE_WRITER) < 0)
    die ("writer lock");
  snprintf (semw, sizeof semw, "/sem-w-%s", name);
  r.sw = sem_open (semw, 0);
  if (r.sw == SEM_FAILED)
    die (semw);

  if (strcmp (which, "meta-len") == 0)
    len = UINT64_MAX - 7;       /* 8 + len wraps to 0 */
  else if (strcmp (which, "meta-written") == 0)
    written = r.M + 8;
  /* The pid first, as every writer attaches before it writes: metadata
   * with no writer pid is a writer that came and went (end of stream). */
  ZB_STORE (&r.o->writer_pid, (uint64_t) getpid ());
  memcpy (r.meta, &len, sizeof len);
  memcpy (r.meta + 8, caps, sizeof caps - 1);
  ZB_STORE (&r.o->metadata_free_bytes, r.M - 8 - (sizeof caps - 1));
  ZB_STORE (&r.o->metadata_written_bytes, written);

  if (strcmp (which, "meta-len") == 0 || strcmp (which, "meta-written") == 0) {
    good_frame (&r, 1);
  } else if (strcmp (which, "hdr-past-end") == 0) {
    /* One byte more than the space left before the end of the ring. */
    good_frame (&r, 1);
    put (&r, r.P - r.pos - ZB_FRAME_HEADER_SIZE + 1, 2, FRAME);
    publish (&r, ZB_FRAME_HEADER_SIZE + FRAME, 1);
  } else if (strcmp (which, "hdr-overflow") == 0) {
    /* pos + 16 + size wraps around 2^64 */
    uint64_t size;

    if (arg == NULL)
      goto usage;
    size = strtoull (arg, NULL, 0);
    good_frame (&r, 1);
    put (&r, size, 2, FRAME);
    publish (&r, ZB_FRAME_HEADER_SIZE + FRAME, 1);
  } else if (strcmp (which, "free-bytes") == 0) {
    good_frame (&r, 1);
    ZB_STORE (&r.o->payload_free_bytes, 2 * r.P);
    sem_post (r.sw);
  } else if (strcmp (which, "seq-jump") == 0) {
    good_frame (&r, 1);
    put (&r, FRAME, 5, FRAME);
    publish (&r, ZB_FRAME_HEADER_SIZE + FRAME, 1);
  } else if (strcmp (which, "wrap-at-0") == 0) {
    /* A marker at 0 wraps nothing; the frame behind it is fine. */
    put (&r, 0, 0, 0);
    publish (&r, ZB_FRAME_HEADER_SIZE, 1);
    good_frame (&r, 1);
  } else if (strcmp (which, "wrap-early") == 0) {
    /* A marker with most of the ring after it, but only a frame's worth
     * published: no writer wraps without giving up the whole tail. */
    good_frame (&r, 1);
    put (&r, 0, 0, 0);
    publish (&r, ZB_FRAME_HEADER_SIZE + FRAME, 2);
  } else if (strcmp (which, "count-no-frame") == 0) {
    /* Counted and published, but nothing was written: the ring is still
     * zero there. */
    memset (r.ring, 0, ZB_FRAME_HEADER_SIZE + FRAME);
    publish (&r, ZB_FRAME_HEADER_SIZE + FRAME, 1);
  } else {
    goto usage;
  }
  say ("sent");

  /* Stay attached until the reader let go: its OFD lock goes with it. */
  deadline = now_ms () + wait_ms;
  while (ofd (fd, F_OFD_GETLK, ZB_LOCK_BYTE_READER) == 1) {
    if (now_ms () > deadline) {
      fprintf (stderr, "zb-hostile %s: the reader is still there\n", name);
      return 3;
    }
    nap ();
  }
  sem_close (r.sw);
  munmap (base, st.st_size);
  close (fd);
  say ("done");
  return 0;

usage:
  fprintf (stderr, "zb-hostile: unknown writer case %s\n", which);
  return 2;
}

int
main (int argc, char **argv)
{
  setvbuf (stdout, NULL, _IOLBF, 0);
  {
    /* Sanitized peers are slower: meson sets ZB_TIME_SCALE for them. */
    const char *s = getenv ("ZB_TIME_SCALE");
    long v = s ? strtol (s, NULL, 10) : 1;

    if (v > 1 && v <= 100)
      wait_ms = (int64_t) WAIT_MS * v;
  }
  if (argc >= 4 && strcmp (argv[1], "reader") == 0 && argc == 5) {
    name = argv[2];
    return hostile_reader (argv[3], argv[4]);
  }
  if (argc >= 4 && strcmp (argv[1], "writer") == 0) {
    name = argv[2];
    return hostile_writer (argv[3], argc > 4 ? argv[4] : NULL);
  }
  fprintf (stderr, "usage: zb-hostile reader NAME CASE GOFILE\n"
      "       zb-hostile writer NAME CASE [SIZE]\n");
  return 2;
}
