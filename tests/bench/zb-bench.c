/* zb-bench — throughput of libzerobuffer between two processes.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * For 4 KiB, 64 KiB and 6 MiB frames, a forked writer process streams N
 * frames (N chosen so one run takes about --seconds) to this process, which
 * reads them in place.  Two variants per size:
 *
 *   copy       zb_writer_write() copies each frame from a source pool; the
 *              reader checks an 8-byte stamp at the start and one byte at
 *              the end of every frame (not a full memcmp).
 *   zero-copy  zb_writer_reserve()/commit(); the writer stamps only those
 *              few bytes, so the time per frame is the library's overhead.
 *
 * The copy variant is compared with a plain single-thread memcpy() of frames
 * of the same size measured in the same run.  Per-frame overhead is the
 * library's time per frame minus memcpy's time per frame.  Every number is
 * the median of 3 runs.  GB/s means 10^9 bytes per second.
 *
 * Run: meson test -C build --benchmark -v   (or build/tests/bench/zb-bench)
 * --spin-us N (default: the environment's ZB_SPIN_US, else 0) sets the
 * spin_us option of both sides; the library reads no environment.
 */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zerobuffer/zerobuffer.h>

#define KiB ((size_t) 1024)
#define MiB (1024 * KiB)
#define RUNS 3
#define WAIT_MS 20000

typedef struct
{
  const char *label;
  size_t frame;                 /* payload bytes per frame */
  size_t ring;                  /* payload_size of the buffer */
  size_t src_pool;              /* writer's (and memcpy's) source pool */
  size_t dst_pool;              /* memcpy's destination pool */
} bench_case;

/* The 6 MiB case copies between pools larger than the (260 MiB on the
 * reference VM) last-level cache, so memcpy is measured from memory; the
 * small cases copy into a ring-sized destination as the library does. */
static const bench_case cases[] = {
  {"4K", 4 * KiB, 1 * MiB, 16 * MiB, 1 * MiB},
  {"64K", 64 * KiB, 4 * MiB, 16 * MiB, 4 * MiB},
  {"6M", 6 * MiB, 32 * MiB, 512 * MiB, 512 * MiB},
};

static double target_seconds = 1.5;
static unsigned int spin_us;
static unsigned name_counter;

static int64_t
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
median3 (double v[RUNS])
{
  double s[RUNS];

  memcpy (s, v, sizeof s);
  qsort (s, RUNS, sizeof s[0], cmp_double);
  return s[RUNS / 2];
}

static uint8_t
end_stamp (uint64_t i)
{
  return (uint8_t) (i * 31 + 7);
}

static void *
alloc_touched (size_t size)
{
  uint8_t *p = malloc (size);

  if (p)
    for (size_t k = 0; k < size; k++)
      p[k] = (uint8_t) (k * 13);
  return p;
}

/* ------------------------------------------------------------ memcpy */

/* Seconds per frame for memcpy of c->frame bytes, cycling through the
 * source and destination pools. */
static double
memcpy_seconds_per_frame (const bench_case * c, size_t dst_pool)
{
  uint8_t *src = alloc_touched (c->src_pool);
  uint8_t *dst = alloc_touched (dst_pool);
  size_t ns = c->src_pool / c->frame, nd = dst_pool / c->frame;
  double runs[RUNS];
  volatile uint8_t sink = 0;

  if (!src || !dst) {
    fprintf (stderr, "zb-bench: out of memory for memcpy pools\n");
    exit (1);
  }
  for (int run = -1; run < RUNS; run++) {
    /* run -1 warms the pools and the page tables up */
    int64_t t0 = now_ns (), budget = (int64_t) (target_seconds * 0.3e9), t;
    uint64_t i = 0;

    do {
      for (int k = 0; k < 16; k++, i++)
        memcpy (dst + (i % nd) * c->frame, src + (i % ns) * c->frame, c->frame);
      t = now_ns ();
    } while (t - t0 < budget);
    sink ^= dst[(i % nd) * c->frame];
    if (run >= 0)
      runs[run] = (double) (t - t0) / 1e9 / (double) i;
  }
  (void) sink;
  free (src);
  free (dst);
  return median3 (runs);
}

/* ------------------------------------------------------------ writer */

static int
writer_main (const char *name, const bench_case * c, uint64_t n, int zero_copy)
{
  uint8_t *pool = NULL;
  size_t slots = c->src_pool / c->frame;
  zb_writer_options wo = {.spin_us = spin_us };
  zb_writer *w;
  int rc;

  if (!zero_copy) {
    pool = alloc_touched (c->src_pool);
    if (!pool) {
      fprintf (stderr, "zb-bench writer: out of memory\n");
      return 1;
    }
  }
  rc = zb_writer_open_with_options (&w, name, WAIT_MS, &wo);
  if (rc != 0) {
    fprintf (stderr, "zb-bench writer: open %s: %s: %s\n", name,
        zb_strerror (rc), zb_last_error ());
    return 1;
  }
  for (uint64_t i = 0; i < n; i++) {
    if (zero_copy) {
      void *p;
      rc = zb_writer_reserve (w, c->frame, &p, WAIT_MS);
      if (rc == 0) {
        memcpy (p, &i, sizeof i);
        ((uint8_t *) p)[c->frame - 1] = end_stamp (i);
        rc = zb_writer_commit (w, c->frame);
      }
    } else {
      uint8_t *s = pool + (i % slots) * c->frame;
      memcpy (s, &i, sizeof i);
      s[c->frame - 1] = end_stamp (i);
      rc = zb_writer_write (w, s, c->frame, WAIT_MS);
    }
    if (rc != 0) {
      fprintf (stderr, "zb-bench writer: frame %" PRIu64 ": %s: %s\n", i,
          zb_strerror (rc), zb_writer_last_error (w));
      zb_writer_close (w);
      return 1;
    }
  }
  zb_writer_close (w);
  free (pool);
  return 0;
}

/* ------------------------------------------------------------ reader */

/* One run of n frames; returns seconds per frame, or < 0 on failure. */
static double
run_once (const bench_case * c, uint64_t n, int zero_copy)
{
  char name[64];
  zb_reader_options ro = { 0 };
  zb_reader *r;
  zb_frame f;
  pid_t pid;
  int rc, status, ok = 1;
  uint64_t got = 0;
  int64_t t_first = 0, t_last = 0;

  snprintf (name, sizeof name, "zbbench-%d-%u", (int) getpid (),
      name_counter++);
  /* Fork before the reader exists, so the writer inherits none of its
   * descriptors (or their locks). */
  fflush (NULL);
  pid = fork ();
  if (pid < 0) {
    perror ("zb-bench: fork");
    return -1;
  }
  if (pid == 0)
    _exit (writer_main (name, c, n, zero_copy));

  ro.payload_size = c->ring;
  ro.spin_us = spin_us;
  rc = zb_reader_create (&r, name, &ro);
  if (rc != 0) {
    fprintf (stderr, "zb-bench: create %s: %s: %s\n", name, zb_strerror (rc),
        zb_last_error ());
    kill (pid, SIGKILL);
    waitpid (pid, NULL, 0);
    return -1;
  }
  rc = zb_reader_wait_writer (r, WAIT_MS);
  while (rc == 0) {
    const uint8_t *d;
    uint64_t stamp;

    rc = zb_reader_acquire (r, &f, WAIT_MS);
    if (rc != 0)
      break;
    d = f.data;
    memcpy (&stamp, d, sizeof stamp);
    if (f.size != c->frame || stamp != got
        || d[f.size - 1] != end_stamp (got)) {
      fprintf (stderr, "zb-bench: frame %" PRIu64 " is wrong (size %zu, "
          "stamp %" PRIu64 ")\n", got, f.size, stamp);
      ok = 0;
    }
    zb_reader_release (r, &f);
    t_last = now_ns ();
    if (got++ == 0)
      t_first = t_last;
  }
  if (rc != ZB_EOS) {
    fprintf (stderr, "zb-bench: read %s: %s: %s\n", name, zb_strerror (rc),
        zb_reader_last_error (r));
    ok = 0;
  }
  zb_reader_close (r);
  waitpid (pid, &status, 0);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    ok = 0;
  if (got != n) {
    fprintf (stderr, "zb-bench: %" PRIu64 " of %" PRIu64 " frames\n", got, n);
    ok = 0;
  }
  if (!ok || n < 2)
    return -1;
  /* First to last frame: n - 1 intervals, without process start-up. */
  return (double) (t_last - t_first) / 1e9 / (double) (n - 1);
}

/* Frames for one run of about target_seconds.  Two trial runs: the first,
 * short one is dominated by warm-up (page faults on a fresh mapping), the
 * second, a quarter of the target, is close to steady state. */
static uint64_t
calibrate (const bench_case * c, int zero_copy)
{
  uint64_t n = (256 * MiB) / c->frame;

  if (n < 100)
    n = 100;
  if (n > 200000)
    n = 200000;
  for (int step = 0; step < 2; step++) {
    double spf = run_once (c, n, zero_copy);
    double want = step == 0 ? target_seconds / 4 : target_seconds;

    if (spf <= 0)
      return 0;
    n = (uint64_t) (want / spf);
    if (n < 50)
      n = 50;
  }
  return n;
}

static int
bench_variant (const bench_case * c, int zero_copy, double memcpy_spf)
{
  double spf[RUNS], med, gbps;
  uint64_t n = calibrate (c, zero_copy);

  if (n == 0)
    return -1;
  for (int k = 0; k < RUNS; k++) {
    spf[k] = run_once (c, n, zero_copy);
    if (spf[k] <= 0)
      return -1;
  }
  med = median3 (spf);
  gbps = (double) c->frame / med / 1e9;
  qsort (spf, RUNS, sizeof spf[0], cmp_double);
  if (zero_copy)
    printf ("%-4s zero-copy %8" PRIu64 " %12.0f %8s %10s %7s %10.2f %12s "
        "%10.2f   (runs %.2f..%.2f us)\n", c->label, n, 1.0 / med, "-", "-",
        "-", med * 1e6, "-", med * 1e6, spf[0] * 1e6, spf[RUNS - 1] * 1e6);
  else
    printf ("%-4s copy      %8" PRIu64 " %12.0f %8.2f %10.2f %7.2f %10.2f "
        "%12.2f %10.2f   (runs %.2f..%.2f us)\n", c->label, n, 1.0 / med,
        gbps, (double) c->frame / memcpy_spf / 1e9, memcpy_spf / med,
        med * 1e6, memcpy_spf * 1e6, (med - memcpy_spf) * 1e6, spf[0] * 1e6,
        spf[RUNS - 1] * 1e6);
  fflush (stdout);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *only = NULL, *env = getenv ("ZB_SPIN_US");
  int failed = 0;

  if (env != NULL)
    spin_us = (unsigned int) strtoul (env, NULL, 10);
  for (int k = 1; k < argc; k++) {
    if (strcmp (argv[k], "--seconds") == 0 && k + 1 < argc)
      target_seconds = atof (argv[++k]);
    else if (strcmp (argv[k], "--case") == 0 && k + 1 < argc)
      only = argv[++k];
    else if (strcmp (argv[k], "--spin-us") == 0 && k + 1 < argc)
      spin_us = (unsigned int) strtoul (argv[++k], NULL, 10);
    else {
      fprintf (stderr, "usage: zb-bench [--seconds S] [--case 4K|64K|6M] "
          "[--spin-us N]\n");
      return 2;
    }
  }
  if (!(target_seconds > 0))
    target_seconds = 1.5;

  printf ("zb-bench: two processes, median of %d runs of ~%.1f s each; "
      "GB/s = 1e9 B/s; spin_us %u\n", RUNS, target_seconds, spin_us);
  printf ("ratio = library GB/s / memcpy GB/s; overhead = library us/frame "
      "- memcpy us/frame\n\n");
  printf ("%-4s %-9s %8s %12s %8s %10s %7s %10s %12s %10s\n", "size",
      "variant", "frames", "frames/s", "GB/s", "memcpy GB/s", "ratio",
      "us/frame", "memcpy us/f", "overhead");
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const bench_case *c = &cases[k];
    double mspf;

    if (only && strcmp (only, c->label) != 0)
      continue;
    mspf = memcpy_seconds_per_frame (c, c->dst_pool);
    if (bench_variant (c, 0, mspf) || bench_variant (c, 1, mspf)) {
      fprintf (stderr, "zb-bench: %s failed\n", c->label);
      failed = 1;
    }
    if (c->dst_pool != c->ring) {
      /* The library writes into a ring that may fit the cache; memcpy into
       * a destination of the ring's size is the like-for-like reference. */
      double rspf = memcpy_seconds_per_frame (c, c->ring);
      printf ("     (memcpy into a %zu MiB destination like the ring: "
          "%.2f GB/s, %.2f us/frame)\n", c->ring / MiB,
          (double) c->frame / rspf / 1e9, rspf * 1e6);
    }
  }
  return failed;
}
