/* Shared helpers of the libFuzzer targets: an input cursor, unique buffer
 * names with cleanup, raw wire offsets, the address of the library's own
 * mapping of a buffer, and a check that traps.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Shared memory is not ASan-instrumented, so the targets check every pointer
 * and every byte the library hands out or changes themselves, against bounds
 * computed from what they know privately (the sizes they asked for), never
 * from the shared header.
 */
#ifndef ZB_FUZZ_COMMON_H
#define ZB_FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zerobuffer/zerobuffer.h"

/* Wire offsets, spelled out on purpose (not the library's struct). */
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

/* A pid no process can have: above the kernel's PID_MAX_LIMIT (4M) and still
 * a positive int, so the library falls back to kill(), which says ESRCH. */
#define FZ_DEAD_PID 0x7ffffff0ull

/* ------------------------------------------------------------- input */

typedef struct
{
  const uint8_t *p;
  size_t n;
} fz_in;

static inline uint8_t
fz_u8 (fz_in * in)
{
  uint8_t v;

  if (in->n == 0)
    return 0;
  v = in->p[0];
  in->p++;
  in->n--;
  return v;
}

static inline uint16_t
fz_u16 (fz_in * in)
{
  uint16_t v = fz_u8 (in);

  return (uint16_t) (v | (uint16_t) fz_u8 (in) << 8);
}

static inline uint64_t
fz_u64 (fz_in * in)
{
  uint64_t v = 0;
  int i;

  for (i = 0; i < 8; i++)
    v |= (uint64_t) fz_u8 (in) << (8 * i);
  return v;
}

/* Up to len bytes of the input; returns how many were copied. */
static inline size_t
fz_bytes (fz_in * in, void *out, size_t len)
{
  if (len > in->n)
    len = in->n;
  memcpy (out, in->p, len);
  in->p += len;
  in->n -= len;
  return len;
}

/* ------------------------------------------------------- raw access */

static inline uint64_t
fz_get64 (const uint8_t * base, size_t off)
{
  return __atomic_load_n ((const uint64_t *) (const void *) (base + off),
      __ATOMIC_ACQUIRE);
}

static inline void
fz_put64 (uint8_t * base, size_t off, uint64_t v)
{
  /* The header is 8-byte aligned in every mapping: plain atomics work. */
  __atomic_store_n ((uint64_t *) (void *) (base + off), v, __ATOMIC_RELEASE);
}

static inline uint64_t
fz_round64 (uint64_t v)
{
  return (v + 63) & ~(uint64_t) 63;
}

/* ------------------------------------------------------------ clock */

/* The fuzz build compiles zb-common.c with zb_now_ms renamed to
 * zb_now_ms_real, so that the reader and writer see this clock instead: an
 * input can then jump past the library's probe intervals (liveness checks
 * every 100 ms) without sleeping.  Deadlines stay on the real clock. */
int64_t zb_now_ms_real (void);
int64_t zb_now_ms (void);
static int64_t fz_clock_offset;

int64_t
zb_now_ms (void)
{
  return zb_now_ms_real () + fz_clock_offset;
}

/* Move the clock forward by 60..240 ms; it never goes back. */
static inline void
fz_clock_advance (uint8_t v)
{
  fz_clock_offset += (int64_t) (v % 4 + 1) * 60;
}

/* ---------------------------------------------------------- cleanup */

/* Names of objects this process may have left; removed at exit and before
 * a check traps.  A crash inside the library cannot run them: fuzz.sh then
 * removes leftovers of dead fuzzer pids. */
#define FZ_MAX_NAMES 4
static char fz_names[FZ_MAX_NAMES][64];

static inline void
fz_remove_objects (const char *name)
{
  char buf[128];

  shm_unlink (name);
  snprintf (buf, sizeof buf, "/sem-w-%s", name);
  sem_unlink (buf);
  snprintf (buf, sizeof buf, "/sem-r-%s", name);
  sem_unlink (buf);
  snprintf (buf, sizeof buf, "%s/%s.lock", ZB_LOCK_DIR, name);
  unlink (buf);
}

/* 1 if any of NAME's four objects still exists. */
static inline int
fz_objects_left (const char *name)
{
  char buf[160];

  snprintf (buf, sizeof buf, "/dev/shm/%s", name);
  if (access (buf, F_OK) == 0)
    return 1;
  snprintf (buf, sizeof buf, "/dev/shm/sem.sem-w-%s", name);
  if (access (buf, F_OK) == 0)
    return 1;
  snprintf (buf, sizeof buf, "/dev/shm/sem.sem-r-%s", name);
  if (access (buf, F_OK) == 0)
    return 1;
  snprintf (buf, sizeof buf, "%s/%s.lock", ZB_LOCK_DIR, name);
  return access (buf, F_OK) == 0;
}

static inline void
fz_cleanup_all (void)
{
  int i;

  for (i = 0; i < FZ_MAX_NAMES; i++)
    if (fz_names[i][0]) {
      fz_remove_objects (fz_names[i]);
      fz_names[i][0] = '\0';
    }
}

/* A fresh name "zbfz-<tag>-<pid>-<n>" in slot; registers the cleanup. */
static inline const char *
fz_new_name (int slot, const char *tag)
{
  static unsigned long long counter;
  static int registered;

  if (!registered) {
    atexit (fz_cleanup_all);
    registered = 1;
  }
  snprintf (fz_names[slot], sizeof fz_names[slot], "zbfz-%s-%d-%llu", tag,
      (int) getpid (), counter++);
  return fz_names[slot];
}

static inline void
fz_forget_name (int slot)
{
  fz_names[slot][0] = '\0';
}

/* ------------------------------------------------------------- trace */

/* ZBFUZZ_TRACE=1 prints every library call and its result: for reading a
 * crashing input. */
static inline int
fz_tracing (void)
{
  static int on = -1;

  if (on < 0)
    on = getenv ("ZBFUZZ_TRACE") != NULL;
  return on;
}

#define FZ_TRACE(...)                                                        \
  do {                                                                       \
    if (fz_tracing ())                                                       \
      fprintf (stderr, __VA_ARGS__);                                         \
  } while (0)

/* ZBFUZZ_KNOWN_BUGS="name,name" tolerates library bugs already reported,
 * so that a long local run can look for new ones; CI never sets it.
 * Names: dangling-tail, commit-replace (fuzz-writer), u64-max-size
 * (fuzz-parse). */
static inline int
fz_known_bug (const char *name)
{
  const char *list = getenv ("ZBFUZZ_KNOWN_BUGS");

  return list != NULL && strstr (list, name) != NULL;
}

/* ------------------------------------------------------------ checks */

static void fz_fail (const char *file, int line, const char *what)
    __attribute__ ((noreturn));

static void
fz_fail (const char *file, int line, const char *what)
{
  fprintf (stderr, "\n%s:%d: FUZZ CHECK FAILED: %s\n  last library error: "
      "%s\n", file, line, what, zb_last_error ());
  fz_cleanup_all ();
  __builtin_trap ();
}

#define FZ_CHECK(expr)                                                       \
  do {                                                                       \
    if (!(expr))                                                             \
      fz_fail (__FILE__, __LINE__, #expr);                                   \
  } while (0)

/* rc must be one of the listed codes. */
#define FZ_CHECK_RC_IN(rc, ...)                                              \
  do {                                                                       \
    static const int fz_ok_[] = { __VA_ARGS__ };                             \
    size_t fz_i_;                                                            \
    int fz_hit_ = 0;                                                         \
    for (fz_i_ = 0; fz_i_ < sizeof fz_ok_ / sizeof fz_ok_[0]; fz_i_++)       \
      fz_hit_ |= (rc) == fz_ok_[fz_i_];                                      \
    if (!fz_hit_) {                                                          \
      fprintf (stderr, "unexpected status %s (%d)\n", zb_status_name (rc),   \
          (rc));                                                             \
      fz_fail (__FILE__, __LINE__, "status not in {" #__VA_ARGS__ "}");      \
    }                                                                        \
  } while (0)

/* Every 1024 inputs: no file descriptors or mappings of our buffers
 * piling up (a leak per input would exhaust them in a long run). */
static inline void fz_check_leaks (void);

/* -------------------------------------------------------- mappings */

/* Find the mapping of /dev/shm/NAME that is not at address mine: the
 * library's own.  Returns 0 and [*start, *end), or -1. */
static inline int
fz_find_mapping (const char *name, uintptr_t mine, uintptr_t * start,
    uintptr_t * end)
{
  static char buf[1 << 20];
  char path[128];
  size_t len = 0, plen;
  ssize_t n;
  int fd = open ("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  char *line;

  if (fd < 0)
    return -1;
  while (len < sizeof buf - 1
      && (n = read (fd, buf + len, sizeof buf - 1 - len)) > 0)
    len += (size_t) n;
  close (fd);
  buf[len] = '\0';
  plen = (size_t) snprintf (path, sizeof path, "/dev/shm/%s", name);

  for (line = buf; line && *line; line = strchr (line, '\n'),
      line = line ? line + 1 : NULL) {
    char *eol = strchr (line, '\n'), *hit;
    unsigned long long s, e;

    hit = memmem (line, eol ? (size_t) (eol - line) : strlen (line), path,
        plen);
    /* the name must end there: "NAME" must not match "NAME1" */
    if (hit == NULL || (hit[plen] != '\n' && hit[plen] != ' '
            && hit[plen] != '\0'))
      continue;
    if (sscanf (line, "%llx-%llx", &s, &e) != 2 || s == mine)
      continue;
    *start = (uintptr_t) s;
    *end = (uintptr_t) e;
    return 0;
  }
  return -1;
}

static inline void
fz_check_leaks (void)
{
  static unsigned long calls;
  static char buf[1 << 20];
  size_t len = 0, maps = 0;
  ssize_t n;
  char *p;
  int fd, fds = 0;

  if (calls++ % 1024 != 0)
    return;
  fd = open ("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  while (len < sizeof buf - 1
      && (n = read (fd, buf + len, sizeof buf - 1 - len)) > 0)
    len += (size_t) n;
  close (fd);
  buf[len] = '\0';
  /* shared memory and semaphores alike */
  for (p = buf; (p = strstr (p, "zbfz-")) != NULL; p++)
    maps++;
  FZ_CHECK (maps == 0);

  /* the lowest free descriptor climbs when descriptors leak */
  fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  FZ_CHECK (fd >= 0);
  fds = fd;
  close (fd);
  FZ_CHECK (fds < 32);
}

#endif /* ZB_FUZZ_COMMON_H */
