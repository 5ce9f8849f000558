/* zerobuffer — inspect, read and write ZeroBuffer v1 buffers from a shell.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * For people debugging pipelines and for the multi-process tests.  Output is
 * meant to be grepped: "ready: NAME" as soon as a reader's buffer exists,
 * "connected: NAME ..." once a writer is attached, exactly one "summary: ..."
 * line at the end of read and write, and exactly one reason line on stderr
 * when a command fails.
 *
 *   zerobuffer read cam1 --payload-size 16M --metadata-size 4K
 *   zerobuffer write cam1 --frames 100 --size 1M --pattern sequential
 *   zerobuffer info cam1
 *   zerobuffer serve filter1 --handler invert
 *   zerobuffer request filter1 --count 1000 --size 1M --verify invert
 *
 * serve and request are the two ends of a duplex channel (filter1_request
 * and filter1_response): "ready: ..." once the server's buffer exists,
 * "client: ..." / "attached: ..." once both buffers are connected, "end:
 * ..." per client of a server, and one "summary: ..." line.
 *
 * Only libzerobuffer and libc are used, so the tool also works where
 * GStreamer is not installed.
 *
 * The environment variable ZB_SPIN_US=N (or --spin-us N, which wins) sets
 * the spin_us option of the reader or writer: the library itself reads no
 * environment.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zerobuffer/zerobuffer.h>

#include "zerobuffer-tool.h"

/* Longest single blocking library call.  Signals only set a flag (nothing
 * else is async-signal-safe), so every wait is cut into slices this long and
 * the flag is checked in between. */
#define SLICE_MS 100
#define DEFAULT_CONNECT_MS 5000

/* Exit statuses besides 0 and 128 + signal. */
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* Returned by our wait loops (never by the library, whose codes are <= 0)
 * when SIGINT or SIGTERM arrived. */
#define CLI_SIGNALLED 1

enum
{
  PATTERN_NONE = 0,
  PATTERN_SEQUENTIAL = 1,
};

static volatile sig_atomic_t got_signal;
static const char *command = "zerobuffer";

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

static void
on_signal (int sig)
{
  got_signal = sig;
}

static void
install_signal_handlers (void)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset (&sa.sa_mask);
  /* No SA_RESTART: a pending sleep or wait returns early with EINTR. */
  sa.sa_flags = 0;
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  /* A closed stdout (| head) must not kill us before we clean up. */
  signal (SIGPIPE, SIG_IGN);
}

static int64_t
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* -1 means no deadline. */
static int64_t
deadline_after (int timeout_ms)
{
  if (timeout_ms < 0)
    return -1;
  return now_ns () + (int64_t) timeout_ms * 1000000;
}

/* Length of the next blocking slice in ms, or -1 once the deadline passed. */
static int
next_slice_ms (int64_t deadline)
{
  int64_t left;
  int64_t ms;

  if (deadline < 0)
    return SLICE_MS;
  left = deadline - now_ns ();
  if (left <= 0)
    return -1;
  ms = (left + 999999) / 1000000;
  return ms < SLICE_MS ? (int) ms : SLICE_MS;
}

/* The one reason line on stderr.  The library detail is copied by the
 * caller right after the failing call, since later calls may replace it. */
static void
report_status (const char *name, const char *what, int status,
    const char *detail)
{
  fprintf (stderr, "%s: %s: %s: %s (%s)%s%s\n", command, name, what,
      zb_strerror (status), zb_status_name (status),
      detail && detail[0] ? ": " : "", detail ? detail : "");
}

static void report_reason (const char *name, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
report_reason (const char *name, const char *fmt, ...)
{
  va_list ap;

  fprintf (stderr, "%s: %s: ", command, name);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
}

static void usage_error (const char *fmt, ...)
    __attribute__ ((format (printf, 1, 2)));

static void
usage_error (const char *fmt, ...)
{
  va_list ap;

  fprintf (stderr, "%s: ", command);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fprintf (stderr, " (try 'zerobuffer --help')\n");
}

static int
parse_size_arg (const char *opt, const char *text, uint64_t * out)
{
  if (zb_parse_size (text, out) != 0) {
    usage_error ("--%s: '%s' is not a size (e.g. 4096, 64K, 16M)", opt, text);
    return -1;
  }
  return 0;
}

static int
parse_count_arg (const char *opt, const char *text, uint64_t * out)
{
  char *end;
  unsigned long long v;

  errno = 0;
  v = strtoull (text, &end, 10);
  if (errno || end == text || *end || text[0] == '-') {
    usage_error ("--%s: '%s' is not a count", opt, text);
    return -1;
  }
  *out = v;
  return 0;
}

/* Seconds, fractional allowed, into ms (rounded up so 0.0001 is not 0). */
static int
parse_seconds_arg (const char *opt, const char *text, int *out_ms)
{
  char *end;
  double s;

  errno = 0;
  s = strtod (text, &end);
  if (errno || end == text || *end || !(s >= 0) || s > 2000000) {
    usage_error ("--%s: '%s' is not a number of seconds", opt, text);
    return -1;
  }
  *out_ms = (int) (s * 1000.0 + 0.999);
  if (*out_ms < 1)
    *out_ms = 1;
  return 0;
}

/* --spin-us: microseconds, at most 10000 (the library's ceiling). */
static int
parse_spin_arg (const char *text, unsigned int *out)
{
  char *end;
  unsigned long v;

  errno = 0;
  v = strtoul (text, &end, 10);
  if (errno || end == text || *end || text[0] == '-' || v > 10000) {
    usage_error ("--spin-us: '%s' is not a number of microseconds "
        "(0..10000)", text);
    return -1;
  }
  *out = (unsigned int) v;
  return 0;
}

/* The default of --spin-us: ZB_SPIN_US from the environment, as the
 * library read it before it took options: anything but a plain number is
 * ignored (0), larger values count as 10000. */
static unsigned int
spin_from_env (void)
{
  const char *env = getenv ("ZB_SPIN_US");
  char *end;
  long us;

  if (env == NULL || *env == '\0')
    return 0;
  errno = 0;
  us = strtol (env, &end, 10);
  if (errno || *end != '\0' || us < 0)
    return 0;
  return us > 10000 ? 10000u : (unsigned int) us;
}

/* "1,7,13" or "64K,1M" into a new array. */
static int
parse_size_list (const char *text, uint64_t ** out, size_t *n_out)
{
  char *copy, *tok, *save = NULL;
  uint64_t *v = NULL;
  size_t n = 0;

  copy = strdup (text);
  if (!copy)
    return -1;
  for (tok = strtok_r (copy, ",", &save); tok;
      tok = strtok_r (NULL, ",", &save)) {
    uint64_t *nv = realloc (v, (n + 1) * sizeof *v);
    if (!nv)
      goto fail;
    v = nv;
    if (zb_parse_size (tok, &v[n]) != 0 || v[n] == 0) {
      usage_error ("--sizes: '%s' is not a size > 0", tok);
      goto fail;
    }
    n++;
  }
  if (n == 0) {
    usage_error ("--sizes: empty list");
    goto fail;
  }
  free (copy);
  *out = v;
  *n_out = n;
  return 0;

fail:
  free (copy);
  free (v);
  return -1;
}

static int
parse_pattern_arg (const char *text, int *out)
{
  if (strcmp (text, "sequential") == 0)
    *out = PATTERN_SEQUENTIAL;
  else if (strcmp (text, "none") == 0)
    *out = PATTERN_NONE;
  else {
    usage_error ("unknown pattern '%s' (known: sequential, none)", text);
    return -1;
  }
  return 0;
}

static int
exit_for_signal (void)
{
  return 128 + (int) got_signal;
}

static const char *
signal_name (int sig)
{
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal";
}

static double
rate_per_s (uint64_t n, int64_t ns)
{
  return ns > 0 ? (double) n * 1e9 / (double) ns : 0.0;
}

/* The "sequential" pattern: byte j of frame i is (i + j) mod 256.  With a
 * table holding two periods, frame i starting at byte j0 (a multiple of 256)
 * is table + (i & 255), so checks are memcmp in 256-byte chunks. */
static uint8_t seq_table[512];

static void
init_seq_table (void)
{
  for (size_t k = 0; k < sizeof seq_table; k++)
    seq_table[k] = (uint8_t) k;
}

/* Returns -1 if the frame matches, else the offset of the first bad byte. */
static int64_t
check_sequential (const uint8_t * data, size_t size, uint64_t index)
{
  const uint8_t *want = seq_table + (index & 255);

  for (size_t j0 = 0; j0 < size; j0 += 256) {
    size_t n = size - j0 < 256 ? size - j0 : 256;
    if (memcmp (data + j0, want, n) != 0) {
      for (size_t k = 0; k < n; k++)
        if (data[j0 + k] != want[k])
          return (int64_t) (j0 + k);
    }
  }
  return -1;
}

/* ------------------------------------------------------------------ */
/* info                                                                 */

static const char *
peer_state_name (zb_peer_state s)
{
  switch (s) {
    case ZB_PEER_NONE:
      return "none";
    case ZB_PEER_ALIVE:
      return "alive";
    case ZB_PEER_DEAD:
      return "dead";
  }
  return "unknown";
}

static int
cmd_info (int argc, char **argv)
{
  static const struct option longopts[] = {
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
  };
  const char *name;
  zb_info info;
  int c, rc;

  while ((c = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
      case 'h':
        printf ("usage: zerobuffer info NAME\n");
        return 0;
      default:
        return EXIT_USAGE;
    }
  }
  if (optind != argc - 1) {
    usage_error ("info needs exactly one buffer NAME");
    return EXIT_USAGE;
  }
  name = argv[optind];

  rc = zb_inspect (name, &info);
  if (rc != 0) {
    report_status (name, "cannot inspect", rc, zb_last_error ());
    return EXIT_FAIL;
  }

  printf ("name: %s\n", name);
  printf ("oieb_size: %" PRIu32 "\n", info.oieb_size);
  printf ("version: %u.%u.%u\n", info.version[0], info.version[1],
      info.version[2]);
  printf ("mapping_size: %" PRIu64 "\n", info.mapping_size);
  printf ("metadata_size: %" PRIu64 "\n", info.metadata_size);
  printf ("metadata_free_bytes: %" PRIu64 "\n", info.metadata_free_bytes);
  printf ("metadata_written_bytes: %" PRIu64 "\n", info.metadata_written_bytes);
  printf ("payload_size: %" PRIu64 "\n", info.payload_size);
  printf ("payload_free_bytes: %" PRIu64 "\n", info.payload_free_bytes);
  printf ("payload_write_pos: %" PRIu64 "\n", info.payload_write_pos);
  printf ("payload_read_pos: %" PRIu64 "\n", info.payload_read_pos);
  printf ("payload_written_count: %" PRIu64 "\n", info.payload_written_count);
  printf ("payload_read_count: %" PRIu64 "\n", info.payload_read_count);
  printf ("reader_pid: %" PRIu64 " (%s)\n", info.reader_pid,
      peer_state_name (info.reader_state));
  printf ("writer_pid: %" PRIu64 " (%s)\n", info.writer_pid,
      peer_state_name (info.writer_state));

  /* The protocol README's states; free bytes above the ring size can
   * only come from a broken peer. */
  {
    double used;
    const char *health = tool_health (info.payload_size,
        info.payload_free_bytes, &used);

    if (used < 0) {
      printf ("utilization: invalid (free %" PRIu64 " of %" PRIu64 ")\n",
          info.payload_free_bytes, info.payload_size);
      printf ("health: %s (free bytes above the ring size)\n", health);
    } else {
      printf ("utilization: %.1f%%\n", used);
      printf ("health: %s (utilization %.1f%%)\n", health, used);
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* read                                                                 */

typedef struct
{
  const char *name;
  uint64_t payload_size, metadata_size;
  uint64_t frames_wanted;       /* 0: until end of stream */
  int timeout_ms;               /* -1: forever */
  int verify;
  uint64_t hold;                /* 0: release each frame at once */
  unsigned int mode;
  uint64_t *sizes;              /* expected sizes, cycled; NULL: any */
  size_t n_sizes;
  uint64_t seed;
  int stall;                    /* stop reading after stall_after frames */
  uint64_t stall_after;
  int keep_going;               /* read successive writers' streams */
  int release_delay_ms;         /* keep each frame this long: slow consumer */
  unsigned int spin_us;         /* zb_reader_options.spin_us */
  int announce;                 /* print the start-stream line */
} read_options;

typedef struct
{
  zb_frame frame;
  uint64_t index;
} held_frame;

typedef struct
{
  const read_options *opt;
  zb_reader *r;
  held_frame *held;
  uint64_t n_held;
  uint64_t rng;

  uint64_t frames, bytes, errors, out_of_order;
  int metadata_printed;

  /* First failure, reported as the single stderr line. */
  char reason[512];
} reader_state;

static void reader_fail (reader_state * st, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
reader_fail (reader_state * st, const char *fmt, ...)
{
  va_list ap;

  if (st->reason[0])
    return;
  va_start (ap, fmt);
  vsnprintf (st->reason, sizeof st->reason, fmt, ap);
  va_end (ap);
}

static void
reader_fail_status (reader_state * st, const char *what, int status)
{
  const char *detail = zb_reader_last_error (st->r);

  reader_fail (st, "%s: %s (%s)%s%s", what, zb_strerror (status),
      zb_status_name (status), detail[0] ? ": " : "", detail);
}

static uint64_t
xorshift64 (uint64_t * s)
{
  uint64_t x = *s;

  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static void
print_escaped (const uint8_t * p, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\\')
      fputs ("\\\\", stdout);
    else if (p[i] >= 0x20 && p[i] < 0x7f)
      putchar (p[i]);
    else
      printf ("\\x%02x", p[i]);
  }
}

/* Print "metadata: ..." once.  With final set, "none" is printed when
 * nothing is there; otherwise a missing block is retried later, since a
 * writer may attach first and write its metadata just after. */
static void
reader_print_metadata (reader_state * st, int final)
{
  const void *data;
  size_t size;
  int rc;

  if (st->metadata_printed)
    return;
  rc = zb_reader_get_metadata (st->r, &data, &size);
  if (rc == 0) {
    fputs ("metadata: ", stdout);
    print_escaped (data, size);
    putchar ('\n');
  } else if (rc == ZB_ENOMETA) {
    if (!final)
      return;
    puts ("metadata: none");
  } else {
    reader_fail_status (st, "cannot read metadata", rc);
    st->errors++;
  }
  st->metadata_printed = 1;
  fflush (stdout);
}

static void
reader_verify (reader_state * st, const zb_frame * f, uint64_t index,
    const char *when)
{
  int64_t bad;

  if (st->opt->n_sizes) {
    uint64_t want = st->opt->sizes[index % st->opt->n_sizes];
    if (f->size != want) {
      st->errors++;
      reader_fail (st, "frame %" PRIu64 " has %zu bytes, expected %" PRIu64,
          index, f->size, want);
      return;
    }
  }
  if (!st->opt->verify)
    return;
  bad = check_sequential (f->data, f->size, index);
  if (bad >= 0) {
    st->errors++;
    reader_fail (st, "frame %" PRIu64 " (sequence %" PRIu64 ", %zu bytes) "
        "is corrupt %s: byte %" PRId64 " is 0x%02x, expected 0x%02x",
        index, f->sequence, f->size, when, bad,
        ((const uint8_t *) f->data)[bad],
        (unsigned) ((index + (uint64_t) bad) & 255));
  }
}

/* Give back held[pos].  Held frames are checked again first: the library
 * promises the writer never overwrites a frame that is still held, and out
 * of order releases are exactly where that could break. */
static void
reader_release_at (reader_state * st, uint64_t pos)
{
  held_frame h = st->held[pos];
  uint64_t oldest = h.index;
  int rc;

  for (uint64_t k = 0; k < st->n_held; k++)
    if (st->held[k].index < oldest)
      oldest = st->held[k].index;
  if (oldest != h.index)
    st->out_of_order++;

  reader_verify (st, &h.frame, h.index, "when released");
  rc = zb_reader_release (st->r, &h.frame);
  if (rc != 0) {
    st->errors++;
    reader_fail_status (st, "release failed", rc);
  }
  st->held[pos] = st->held[st->n_held - 1];
  st->n_held--;
}

static void
reader_release_random (reader_state * st)
{
  if (st->n_held)
    reader_release_at (st, xorshift64 (&st->rng) % st->n_held);
}

/* One frame, honouring the per-frame timeout and signals.  While frames are
 * held, an empty ring makes us give one back instead of waiting: the writer
 * may be blocked on exactly that space. */
static int
reader_next (reader_state * st, zb_frame * f)
{
  int64_t deadline = deadline_after (st->opt->timeout_ms);

  for (;;) {
    int slice, rc;

    if (got_signal)
      return CLI_SIGNALLED;
    slice = next_slice_ms (deadline);
    if (slice < 0)
      return ZB_ETIMEDOUT;
    if (st->n_held) {
      rc = zb_reader_acquire (st->r, f, 0);
      if (rc == ZB_ETIMEDOUT) {
        reader_release_random (st);
        continue;
      }
    } else {
      rc = zb_reader_acquire (st->r, f, slice);
    }
    if (rc != ZB_ETIMEDOUT)
      return rc;
  }
}

/* Keep the buffer (and any held frames) without reading until a signal. */
static void
reader_stall (reader_state * st)
{
  printf ("stalled: %s after %" PRIu64 " frames\n", st->opt->name, st->frames);
  fflush (stdout);
  while (!got_signal) {
    struct timespec ts = { 0, SLICE_MS * 1000000L };
    nanosleep (&ts, NULL);
  }
}

static int
reader_wait_writer (reader_state * st)
{
  int64_t deadline = deadline_after (st->opt->timeout_ms);

  for (;;) {
    int slice, rc;

    if (got_signal)
      return CLI_SIGNALLED;
    slice = next_slice_ms (deadline);
    if (slice < 0)
      return ZB_ETIMEDOUT;
    rc = zb_reader_wait_writer (st->r, slice);
    if (rc != ZB_ETIMEDOUT)
      return rc;
  }
}

static void
usage_read (FILE * out)
{
  fprintf (out,
      "usage: zerobuffer read NAME --payload-size N [options]\n"
      "  Create buffer NAME, wait for a writer, read frames until end of\n"
      "  stream (or --frames), print one summary line.\n"
      "  --payload-size N     ring size (suffixes K, M, G)\n"
      "  --metadata-size M    metadata block size (default 0)\n"
      "  --frames K           stop after K frames; fewer is an error\n"
      "  --timeout S          seconds to wait for the writer and for each\n"
      "                       frame (fractions allowed; default forever)\n"
      "  --verify sequential  check byte j of frame i is (i + j) mod 256\n"
      "  --sizes b1,b2,...    check frame sizes cycle through this list\n"
      "  --hold K             keep up to K frames, release them in random\n"
      "                       order (checked again on release)\n"
      "  --seed N             seed for --hold (default: pid)\n"
      "  --stall-after N      stop reading after N frames and keep the\n"
      "                       buffer until SIGINT/SIGTERM (a stuck consumer)\n"
      "  --mode OCTAL         permissions of the buffer (default 0600)\n"
      "  --keep-going         after a writer's end of stream, wait for the\n"
      "                       next writer; prints \"eos: NAME stream=K\n"
      "                       frames=F\" per stream.  SIGINT/SIGTERM between\n"
      "                       streams ends the read normally (exit 0)\n"
      "  --release-delay S    keep each frame S seconds before releasing it\n"
      "                       (a slow consumer)\n"
      "  --spin-us N          poll up to N µs for a frame before sleeping\n"
      "                       when frames come that close together (default\n"
      "                       $ZB_SPIN_US, else 0: never)\n"
      "  --announce           once the buffer exists, print the start-stream\n"
      "                       line a launcher waits for:\n"
      "                       > {\"jsonrpc\":\"2.0\",\"method\":\"start-stream\",\n"
      "                       \"params\":[\"NAME\",METADATA_SIZE,PAYLOAD_SIZE]}\n");
}

/* Sleep between two streams (the library reports the end of a stream
 * again at once until the next writer attaches).  0, or CLI_SIGNALLED. */
static int
reader_between_streams (void)
{
  struct timespec ts = { 0, 5 * 1000000L };

  if (got_signal)
    return CLI_SIGNALLED;
  nanosleep (&ts, NULL);
  return got_signal ? CLI_SIGNALLED : 0;
}

static void
sleep_ms (int ms)
{
  struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

  /* A signal cuts it short (no SA_RESTART): the loop then sees it. */
  nanosleep (&ts, NULL);
}

static int
cmd_read (int argc, char **argv)
{
  enum
  { OPT_PAYLOAD = 256, OPT_META, OPT_FRAMES, OPT_TIMEOUT, OPT_VERIFY,
    OPT_HOLD, OPT_MODE, OPT_SIZES, OPT_SEED, OPT_STALL, OPT_KEEP_GOING,
    OPT_RELEASE_DELAY, OPT_SPIN, OPT_ANNOUNCE
  };
  static const struct option longopts[] = {
    {"payload-size", required_argument, NULL, OPT_PAYLOAD},
    {"metadata-size", required_argument, NULL, OPT_META},
    {"frames", required_argument, NULL, OPT_FRAMES},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"verify", required_argument, NULL, OPT_VERIFY},
    {"hold", required_argument, NULL, OPT_HOLD},
    {"mode", required_argument, NULL, OPT_MODE},
    {"sizes", required_argument, NULL, OPT_SIZES},
    {"seed", required_argument, NULL, OPT_SEED},
    {"stall-after", required_argument, NULL, OPT_STALL},
    {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
    {"release-delay", required_argument, NULL, OPT_RELEASE_DELAY},
    {"spin-us", required_argument, NULL, OPT_SPIN},
    {"announce", no_argument, NULL, OPT_ANNOUNCE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
  };
  read_options opt = {.timeout_ms = -1 };
  reader_state st;
  zb_reader_options ropt;
  const char *end_reason = "eos";
  uint64_t first_sequence = 0;
  uint64_t stream_frames = 0, streams = 0;
  int64_t gap_deadline = -1;
  int writer_seen = 0, between_streams = 0;
  int64_t t_start, t_end;
  int c, rc, status = 0, pattern;

  opt.seed = (uint64_t) getpid () * 0x9e3779b97f4a7c15ull;
  opt.spin_us = spin_from_env ();
  while ((c = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
      case OPT_PAYLOAD:
        if (parse_size_arg ("payload-size", optarg, &opt.payload_size))
          return EXIT_USAGE;
        break;
      case OPT_META:
        if (parse_size_arg ("metadata-size", optarg, &opt.metadata_size))
          return EXIT_USAGE;
        break;
      case OPT_FRAMES:
        if (parse_count_arg ("frames", optarg, &opt.frames_wanted))
          return EXIT_USAGE;
        break;
      case OPT_TIMEOUT:
        if (parse_seconds_arg ("timeout", optarg, &opt.timeout_ms))
          return EXIT_USAGE;
        break;
      case OPT_VERIFY:
        if (parse_pattern_arg (optarg, &pattern))
          return EXIT_USAGE;
        opt.verify = pattern == PATTERN_SEQUENTIAL;
        break;
      case OPT_HOLD:
        if (parse_count_arg ("hold", optarg, &opt.hold))
          return EXIT_USAGE;
        if (opt.hold > 1000000) {
          usage_error ("--hold: at most 1000000");
          return EXIT_USAGE;
        }
        break;
      case OPT_MODE:{
        char *e;
        unsigned long m;
        errno = 0;
        m = strtoul (optarg, &e, 8);
        if (errno || e == optarg || *e || m > 07777) {
          usage_error ("--mode: '%s' is not an octal mode", optarg);
          return EXIT_USAGE;
        }
        opt.mode = (unsigned int) m;
        break;
      }
      case OPT_SIZES:
        free (opt.sizes);
        if (parse_size_list (optarg, &opt.sizes, &opt.n_sizes))
          return EXIT_USAGE;
        break;
      case OPT_SEED:
        if (parse_count_arg ("seed", optarg, &opt.seed))
          return EXIT_USAGE;
        break;
      case OPT_STALL:
        if (parse_count_arg ("stall-after", optarg, &opt.stall_after))
          return EXIT_USAGE;
        opt.stall = 1;
        break;
      case OPT_KEEP_GOING:
        opt.keep_going = 1;
        break;
      case OPT_RELEASE_DELAY:
        if (parse_seconds_arg ("release-delay", optarg,
                &opt.release_delay_ms))
          return EXIT_USAGE;
        break;
      case OPT_SPIN:
        if (parse_spin_arg (optarg, &opt.spin_us))
          return EXIT_USAGE;
        break;
      case OPT_ANNOUNCE:
        opt.announce = 1;
        break;
      case 'h':
        usage_read (stdout);
        return 0;
      default:
        return EXIT_USAGE;
    }
  }
  if (optind != argc - 1) {
    usage_error ("read needs exactly one buffer NAME");
    return EXIT_USAGE;
  }
  opt.name = argv[optind];
  if (opt.payload_size == 0) {
    usage_error ("read needs --payload-size > 0");
    return EXIT_USAGE;
  }

  memset (&st, 0, sizeof st);
  st.opt = &opt;
  st.rng = opt.seed ? opt.seed : 1;
  if (opt.hold) {
    st.held = calloc (opt.hold, sizeof *st.held);
    if (!st.held) {
      report_reason (opt.name, "out of memory");
      return EXIT_FAIL;
    }
  }

  install_signal_handlers ();

  memset (&ropt, 0, sizeof ropt);
  ropt.payload_size = opt.payload_size;
  ropt.metadata_size = opt.metadata_size;
  ropt.mode = opt.mode;
  ropt.spin_us = opt.spin_us;
  rc = zb_reader_create (&st.r, opt.name, &ropt);
  if (rc != 0) {
    report_status (opt.name, "cannot create buffer", rc, zb_last_error ());
    free (st.held);
    free (opt.sizes);
    return EXIT_FAIL;
  }
  /* Scripts wait for this line instead of sleeping. */
  printf ("ready: %s\n", opt.name);
  if (opt.announce) {
    /* The ZeroBuffer README's announce, for `zerobuffer launch` (and
     * rocket-welder2): name, metadata block, payload ring, as created. */
    zb_reader_stats rs;

    zb_reader_get_stats (st.r, &rs);
    printf ("> {\"jsonrpc\":\"2.0\",\"method\":\"start-stream\","
        "\"params\":[\"%s\",%" PRIu64 ",%" PRIu64 "]}\n", opt.name,
        rs.metadata_size, rs.payload_size);
  }
  fflush (stdout);

  t_start = now_ns ();
  rc = reader_wait_writer (&st);
  if (rc == 0 || rc == ZB_EOS || rc == ZB_EWRITERGONE) {
    /* A writer that came and went already is handled by acquire below. */
    writer_seen = 1;
    if (rc == 0) {
      printf ("connected: %s\n", opt.name);
      fflush (stdout);
    }
    reader_print_metadata (&st, 0);
    t_start = now_ns ();

    while (!st.reason[0]) {
      zb_frame f;
      uint64_t index;

      if (opt.frames_wanted && st.frames == opt.frames_wanted) {
        end_reason = "frames";
        break;
      }
      if (opt.stall && st.frames == opt.stall_after) {
        reader_stall (&st);
        rc = CLI_SIGNALLED;
        break;
      }
      if (opt.hold && st.n_held == opt.hold)
        reader_release_random (&st);

      rc = reader_next (&st, &f);
      if (rc == ZB_EOS && opt.keep_going) {
        /* One stream ended; the next writer's frames restart at index 0.
         * The end is reported again until a writer comes: count it once. */
        if (stream_frames) {
          streams++;
          printf ("eos: %s stream=%" PRIu64 " frames=%" PRIu64 "\n",
              opt.name, streams, stream_frames);
          fflush (stdout);
          stream_frames = 0;
        }
        between_streams = 1;
        if (gap_deadline < 0)
          gap_deadline = deadline_after (opt.timeout_ms);
        if (gap_deadline >= 0 && now_ns () >= gap_deadline) {
          rc = ZB_ETIMEDOUT;
          break;
        }
        rc = reader_between_streams ();
        if (rc != 0)
          break;
        continue;
      }
      if (rc != 0)
        break;
      between_streams = 0;
      gap_deadline = -1;

      st.frames++;
      index = stream_frames++;
      st.bytes += f.size;
      if (st.frames == 1)
        reader_print_metadata (&st, 1);
      /* The library already insists on consecutive sequence numbers;
       * checking here too catches a library that does not. */
      if (index == 0)
        first_sequence = f.sequence;
      else if (opt.verify && f.sequence != first_sequence + index) {
        st.errors++;
        reader_fail (&st, "frame %" PRIu64 " has sequence %" PRIu64
            ", expected %" PRIu64, index, f.sequence, first_sequence + index);
      }
      reader_verify (&st, &f, index, "when acquired");
      if (opt.release_delay_ms)
        sleep_ms (opt.release_delay_ms);
      if (opt.hold) {
        st.held[st.n_held].frame = f;
        st.held[st.n_held].index = index;
        st.n_held++;
      } else {
        int rrc = zb_reader_release (st.r, &f);
        if (rrc != 0) {
          st.errors++;
          reader_fail_status (&st, "release failed", rrc);
        }
      }
    }
  }
  t_end = now_ns ();

  /* Map the way the loop ended to a reason (if none was recorded yet). */
  if (st.reason[0]) {
    end_reason = "error";
  } else if (rc == CLI_SIGNALLED) {
    end_reason = "signal";
    /* With --keep-going, a signal between streams is the way to stop. */
    if (!(opt.keep_going && between_streams))
      reader_fail (&st, "interrupted by %s", signal_name (got_signal));
  } else if (strcmp (end_reason, "frames") == 0) {
    /* got what we asked for */
  } else {
    switch (rc) {
      case ZB_EOS:
        end_reason = "eos";
        if (opt.frames_wanted && st.frames < opt.frames_wanted)
          reader_fail (&st, "end of stream after %" PRIu64 " of %" PRIu64
              " frames", st.frames, opt.frames_wanted);
        break;
      case ZB_EWRITERGONE:
        end_reason = "writer-gone";
        reader_fail_status (&st, "writer gone", rc);
        break;
      case ZB_ETIMEDOUT:
        end_reason = "timeout";
        reader_fail (&st, "timed out after %.3f s waiting for %s",
            opt.timeout_ms / 1000.0, between_streams ? "the next writer"
            : writer_seen ? "a frame" : "the writer");
        break;
      case ZB_ECORRUPT:
        end_reason = "corrupt";
        reader_fail_status (&st, "corrupt buffer", rc);
        break;
      default:
        end_reason = "error";
        reader_fail_status (&st, "read failed", rc);
        break;
    }
  }
  if (!st.metadata_printed)
    reader_print_metadata (&st, 1);

  while (st.n_held)
    reader_release_random (&st);

  if (st.errors && !st.reason[0])
    reader_fail (&st, "%" PRIu64 " errors", st.errors);
  printf ("summary: frames=%" PRIu64 " bytes=%" PRIu64 " errors=%" PRIu64
      " fps=%.1f out_of_order=%" PRIu64, st.frames, st.bytes,
      st.errors, rate_per_s (st.frames, t_end - t_start), st.out_of_order);
  if (opt.keep_going)
    printf (" streams=%" PRIu64, streams + (stream_frames ? 1 : 0));
  printf (" end=%s\n", end_reason);
  fflush (stdout);

  zb_reader_close (st.r);
  free (st.held);
  free (opt.sizes);

  if (st.reason[0]) {
    report_reason (opt.name, "%s", st.reason);
    status = got_signal ? exit_for_signal () : EXIT_FAIL;
  }
  return status;
}

/* ------------------------------------------------------------------ */
/* write                                                                */

typedef struct
{
  const char *name;
  uint64_t frames;
  uint64_t *sizes;
  size_t n_sizes;
  const char *metadata;
  int pattern;
  int timeout_ms;               /* -1: not given */
  int zero_copy;
  double rate;
  unsigned int spin_us;         /* zb_writer_options.spin_us */
} write_options;

/* Where the writer will put each frame, following the placement rule of
 * docs/protocol.md: a frame never straddles the end, and a tail of 1..15
 * bytes is never left behind (the writer wraps early with a marker).  The
 * final position is compared with the ring's real write position, so the
 * counts printed (how many wraps, how many of them avoided a short tail)
 * are known to describe what really happened. */
typedef struct
{
  uint64_t P, pos;
  uint64_t wraps, marker_wraps, short_tail_wraps, exact_end_wraps;
} ring_model;

static void
ring_model_place (ring_model * m, uint64_t total)
{
  uint64_t tail = m->P - m->pos;

  if (tail >= total
      && (tail == total || tail - total >= ZB_FRAME_HEADER_SIZE)) {
    m->pos += total;
    return;
  }
  m->wraps++;
  if (tail >= ZB_FRAME_HEADER_SIZE)
    m->marker_wraps++;
  if (tail == 0)
    m->exact_end_wraps++;
  else if (tail >= total)
    m->short_tail_wraps++;
  m->pos = total;
}

static void
usage_write (FILE * out)
{
  fprintf (out,
      "usage: zerobuffer write NAME --frames K --size B [options]\n"
      "  Connect to buffer NAME (made by a reader) and write K frames.\n"
      "  --frames K           number of frames\n"
      "  --size B             frame size (suffixes K, M, G)\n"
      "  --sizes b1,b2,...    frame sizes, cycled (overrides --size)\n"
      "  --metadata TEXT      write TEXT as the buffer's metadata first\n"
      "  --pattern P          sequential: byte j of frame i is (i+j) mod 256;\n"
      "                       none (default): zeros, or untouched with\n"
      "                       --zero-copy\n"
      "  --timeout S          seconds to wait for the reader (default 5) and\n"
      "                       for space for each frame (default forever)\n"
      "  --zero-copy          reserve/commit in place instead of copying\n"
      "  --rate FPS           pace frames at FPS per second\n"
      "  --spin-us N          poll up to N µs for room before sleeping when\n"
      "                       frames come that close together (default\n"
      "                       $ZB_SPIN_US, else 0: never)\n");
}

static int
writer_wait (zb_writer * w, int64_t deadline, const write_options * opt,
    const uint8_t * src, size_t size, void **slot)
{
  for (;;) {
    int slice, rc;

    if (got_signal)
      return CLI_SIGNALLED;
    slice = next_slice_ms (deadline);
    if (slice < 0)
      return ZB_ETIMEDOUT;
    if (opt->zero_copy)
      rc = zb_writer_reserve (w, size, slot, slice);
    else
      rc = zb_writer_write (w, src, size, slice);
    if (rc != ZB_ETIMEDOUT)
      return rc;
  }
}

static int
cmd_write (int argc, char **argv)
{
  enum
  { OPT_FRAMES = 256, OPT_SIZE, OPT_SIZES, OPT_META, OPT_PATTERN,
    OPT_TIMEOUT, OPT_ZC, OPT_RATE, OPT_SPIN
  };
  static const struct option longopts[] = {
    {"frames", required_argument, NULL, OPT_FRAMES},
    {"size", required_argument, NULL, OPT_SIZE},
    {"sizes", required_argument, NULL, OPT_SIZES},
    {"metadata", required_argument, NULL, OPT_META},
    {"pattern", required_argument, NULL, OPT_PATTERN},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"zero-copy", no_argument, NULL, OPT_ZC},
    {"rate", required_argument, NULL, OPT_RATE},
    {"spin-us", required_argument, NULL, OPT_SPIN},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
  };
  write_options opt = {.timeout_ms = -1,.spin_us = spin_from_env () };
  uint64_t size = 0, max_size = 0, frames = 0, bytes = 0;
  int have_frames = 0;
  zb_writer *w = NULL;
  zb_writer_stats ws;
  zb_info info;
  ring_model model;
  int model_valid = 0;
  const char *model_state = "unknown";
  uint8_t *src = NULL;
  char reason[512] = "";
  const char *end_reason = "done";
  int64_t t_start, t_end, deadline, next_due = 0;
  int c, rc, last_rc;
  char last_detail[256] = "";

  while ((c = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
      case OPT_FRAMES:
        if (parse_count_arg ("frames", optarg, &opt.frames))
          return EXIT_USAGE;
        have_frames = 1;
        break;
      case OPT_SIZE:
        if (parse_size_arg ("size", optarg, &size))
          return EXIT_USAGE;
        break;
      case OPT_SIZES:
        free (opt.sizes);
        if (parse_size_list (optarg, &opt.sizes, &opt.n_sizes))
          return EXIT_USAGE;
        break;
      case OPT_META:
        opt.metadata = optarg;
        break;
      case OPT_PATTERN:
        if (parse_pattern_arg (optarg, &opt.pattern))
          return EXIT_USAGE;
        break;
      case OPT_TIMEOUT:
        if (parse_seconds_arg ("timeout", optarg, &opt.timeout_ms))
          return EXIT_USAGE;
        break;
      case OPT_ZC:
        opt.zero_copy = 1;
        break;
      case OPT_RATE:{
        char *e;
        opt.rate = strtod (optarg, &e);
        if (e == optarg || *e || !(opt.rate > 0)) {
          usage_error ("--rate: '%s' is not a positive number", optarg);
          return EXIT_USAGE;
        }
        break;
      }
      case OPT_SPIN:
        if (parse_spin_arg (optarg, &opt.spin_us))
          return EXIT_USAGE;
        break;
      case 'h':
        usage_write (stdout);
        return 0;
      default:
        return EXIT_USAGE;
    }
  }
  if (optind != argc - 1) {
    usage_error ("write needs exactly one buffer NAME");
    return EXIT_USAGE;
  }
  opt.name = argv[optind];
  if (!have_frames) {
    usage_error ("write needs --frames");
    return EXIT_USAGE;
  }
  if (!opt.sizes) {
    if (size == 0) {
      usage_error ("write needs --size > 0 or --sizes");
      return EXIT_USAGE;
    }
    opt.sizes = malloc (sizeof *opt.sizes);
    if (!opt.sizes)
      return EXIT_FAIL;
    opt.sizes[0] = size;
    opt.n_sizes = 1;
  }
  for (size_t k = 0; k < opt.n_sizes; k++)
    if (opt.sizes[k] > max_size)
      max_size = opt.sizes[k];
  if (max_size > SIZE_MAX - 512) {
    usage_error ("frame size too large");
    return EXIT_USAGE;
  }

  /* One source buffer serves every frame: frame i of the sequential
   * pattern starts at offset i mod 256. */
  src = calloc (1, max_size + 256);
  if (!src) {
    report_reason (opt.name, "cannot allocate %" PRIu64 " bytes", max_size);
    free (opt.sizes);
    return EXIT_FAIL;
  }
  if (opt.pattern == PATTERN_SEQUENTIAL)
    for (uint64_t k = 0; k < max_size + 256; k++)
      src[k] = (uint8_t) k;

  install_signal_handlers ();

  /* Connect in slices so a signal is seen; "not there yet" is retried until
   * the deadline, anything else is final. */
  deadline = deadline_after (opt.timeout_ms >= 0 ? opt.timeout_ms
      : DEFAULT_CONNECT_MS);
  last_rc = ZB_ETIMEDOUT;
  for (;;) {
    zb_writer_options wopt = {.spin_us = opt.spin_us };
    int slice;

    if (got_signal) {
      last_rc = CLI_SIGNALLED;
      break;
    }
    slice = next_slice_ms (deadline);
    if (slice < 0)
      break;
    rc = zb_writer_open_with_options (&w, opt.name, slice, &wopt);
    if (rc == 0) {
      last_rc = 0;
      break;
    }
    last_rc = rc;
    snprintf (last_detail, sizeof last_detail, "%s", zb_last_error ());
    if (rc != ZB_ENOTFOUND && rc != ZB_ENOREADER && rc != ZB_ETIMEDOUT)
      break;
  }
  if (last_rc != 0) {
    if (last_rc == CLI_SIGNALLED)
      report_reason (opt.name, "interrupted by %s while connecting",
          signal_name (got_signal));
    else
      report_status (opt.name, "cannot connect", last_rc, last_detail);
    free (src);
    free (opt.sizes);
    return last_rc == CLI_SIGNALLED ? exit_for_signal () : EXIT_FAIL;
  }

  memset (&model, 0, sizeof model);
  if (zb_inspect (opt.name, &info) == 0) {
    model.P = info.payload_size;
    model.pos = info.payload_write_pos;
    model_valid = model.P > 0 && model.pos <= model.P;
  }
  printf ("connected: %s payload_size=%" PRIu64 " max_frame=%zu\n",
      opt.name, model.P, zb_writer_max_frame_size (w));
  fflush (stdout);

  if (opt.metadata) {
    rc = zb_writer_set_metadata (w, opt.metadata, strlen (opt.metadata));
    if (rc != 0) {
      const char *d = zb_writer_last_error (w);
      snprintf (reason, sizeof reason, "cannot write metadata: %s (%s)%s%s",
          zb_strerror (rc), zb_status_name (rc), d[0] ? ": " : "", d);
    }
  }

  t_start = now_ns ();
  next_due = t_start;
  for (uint64_t i = 0; i < opt.frames && !reason[0]; i++) {
    uint64_t fsize = opt.sizes[i % opt.n_sizes];
    const uint8_t *data = src + (opt.pattern == PATTERN_SEQUENTIAL
        ? (i & 255) : 0);
    void *slot = NULL;

    if (opt.rate > 0) {
      struct timespec ts;
      while (!got_signal && now_ns () < next_due) {
        ts.tv_sec = next_due / 1000000000;
        ts.tv_nsec = next_due % 1000000000;
        clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
      }
      next_due += (int64_t) (1e9 / opt.rate);
    }

    rc = writer_wait (w, deadline_after (opt.timeout_ms), &opt, data,
        (size_t) fsize, &slot);
    if (rc == 0 && opt.zero_copy) {
      if (opt.pattern == PATTERN_SEQUENTIAL)
        memcpy (slot, data, fsize);
      rc = zb_writer_commit (w, (size_t) fsize);
    }
    if (rc == CLI_SIGNALLED) {
      end_reason = "signal";
      snprintf (reason, sizeof reason, "interrupted by %s after %" PRIu64
          " frames", signal_name (got_signal), frames);
      break;
    }
    if (rc != 0) {
      const char *d = zb_writer_last_error (w);
      const char *what = rc == ZB_EREADERGONE ? "reader gone"
          : rc == ZB_ETIMEDOUT ? "timed out waiting for space" : "write failed";
      end_reason = rc == ZB_EREADERGONE ? "reader-gone" : "error";
      snprintf (reason, sizeof reason, "%s at frame %" PRIu64 " (%" PRIu64
          " bytes): %s (%s)%s%s", what, i, fsize, zb_strerror (rc),
          zb_status_name (rc), d[0] ? ": " : "", d);
      break;
    }
    frames++;
    bytes += fsize;
    ring_model_place (&model, zb_frame_footprint (fsize));
  }
  t_end = now_ns ();

  zb_writer_get_stats (w, &ws);
  /* Check the model against the real ring before detaching (the reader may
   * remove the buffer as soon as it sees end of stream). */
  if (model_valid) {
    if (zb_inspect (opt.name, &info) == 0)
      model_state = info.payload_write_pos == model.pos ? "ok" : "mismatch";
  }
  zb_writer_close (w);

  if (reason[0] && strcmp (end_reason, "done") == 0)
    end_reason = "error";
  printf ("summary: frames=%" PRIu64 " bytes=%" PRIu64 " errors=%d"
      " fps=%.1f wraps=%" PRIu64 " model_wraps=%" PRIu64 " short_tails=%"
      PRIu64 " exact_ends=%" PRIu64 " model=%s end=%s\n", frames, bytes,
      reason[0] ? 1 : 0, rate_per_s (frames, t_end - t_start), ws.wraps,
      model.wraps, model.short_tail_wraps, model.exact_end_wraps,
      model_state, end_reason);
  fflush (stdout);

  free (src);
  free (opt.sizes);
  if (reason[0]) {
    report_reason (opt.name, "%s", reason);
    return got_signal ? exit_for_signal () : EXIT_FAIL;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Duplex channel: serve and request                                    */

/* What a server does to each request; the request tool checks the same. */
enum
{
  XF_ECHO = 0,
  XF_INVERT,
  XF_XOR,
  XF_DOUBLE,
  XF_NONE,                      /* request --verify none: check nothing */
  XF_BLANK                      /* serve: answer without writing the bytes */
};

typedef struct
{
  int transform;
  uint8_t key;                  /* XF_XOR */
  int delay_ms;                 /* sleep before answering */
  int crash_after_set;
  uint64_t crash_after;         /* answer this many, then _exit */
} handler_spec;

/* Exit status of a server that plays a crash (crash-after=N). */
#define EXIT_CRASH 3

static int
parse_xor_key (const char *opt, const char *text, uint8_t * key)
{
  char *end;
  unsigned long v;

  errno = 0;
  v = strtoul (text, &end, 0);
  if (errno || end == text || *end || text[0] == '-' || v > 255) {
    usage_error ("%s: '%s' is not a byte (0..255, 0xFF)", opt, text);
    return -1;
  }
  *key = (uint8_t) v;
  return 0;
}

/* "echo", "xor=0x0f", "double,delay=100", "crash-after=3": one transform
 * (default echo) and any modifiers.  With allow_modifiers 0 (the request
 * tool's --verify) only a transform or "none". */
static int
parse_handler_arg (const char *opt, const char *text, int allow_modifiers,
    handler_spec * spec)
{
  char *copy = strdup (text), *tok, *save = NULL;
  int have_transform = 0, ok = 1;

  memset (spec, 0, sizeof *spec);
  spec->transform = XF_ECHO;
  spec->key = 0xff;
  if (!copy)
    return -1;
  for (tok = strtok_r (copy, ",", &save); tok && ok;
      tok = strtok_r (NULL, ",", &save)) {
    int t = -1;

    if (strcmp (tok, "echo") == 0)
      t = XF_ECHO;
    else if (strcmp (tok, "invert") == 0)
      t = XF_INVERT;
    else if (strcmp (tok, "double") == 0)
      t = XF_DOUBLE;
    else if (strcmp (tok, "xor") == 0)
      t = XF_XOR;
    else if (strncmp (tok, "xor=", 4) == 0) {
      t = XF_XOR;
      ok = parse_xor_key (opt, tok + 4, &spec->key) == 0;
    } else if (strcmp (tok, "none") == 0 && !allow_modifiers)
      t = XF_NONE;
    else if (strcmp (tok, "blank") == 0 && allow_modifiers)
      t = XF_BLANK;
    else if (allow_modifiers && strncmp (tok, "delay=", 6) == 0) {
      uint64_t ms;

      ok = parse_count_arg ("handler delay", tok + 6, &ms) == 0;
      if (ok && ms > 3600000) {
        usage_error ("%s: delay=%s: at most 3600000 ms", opt, tok + 6);
        ok = 0;
      }
      spec->delay_ms = (int) ms;
    } else if (allow_modifiers && strncmp (tok, "crash-after=", 12) == 0) {
      ok = parse_count_arg ("handler crash-after", tok + 12,
          &spec->crash_after) == 0;
      spec->crash_after_set = 1;
    } else {
      usage_error ("%s: unknown '%s' (known: echo, invert, xor[=BYTE], "
          "double%s)", opt, tok, allow_modifiers ?
          ", blank, delay=MS, crash-after=N" : ", none");
      ok = 0;
    }
    if (ok && t >= 0) {
      if (have_transform) {
        usage_error ("%s: '%s': only one of echo, invert, xor, double, "
            "blank", opt, text);
        ok = 0;
      }
      have_transform = 1;
      spec->transform = t;
    }
  }
  free (copy);
  return ok ? 0 : -1;
}

static const char *
transform_name (const handler_spec * spec, char *buf, size_t len)
{
  switch (spec->transform) {
    case XF_INVERT:
      return "invert";
    case XF_XOR:
      snprintf (buf, len, "xor=0x%02x", spec->key);
      return buf;
    case XF_DOUBLE:
      return "double";
    case XF_NONE:
      return "none";
    case XF_BLANK:
      return "blank";
  }
  return "echo";
}

/* Size of the answer to a request of size bytes. */
static uint64_t
response_size (const handler_spec * spec, uint64_t size)
{
  return spec->transform == XF_DOUBLE ? 2 * size : size;
}

/* The handler: out gets response_size() bytes made from in. */
static void
apply_transform (const handler_spec * spec, const uint8_t * in, size_t n,
    uint8_t * out)
{
  size_t i;

  switch (spec->transform) {
    case XF_INVERT:
      for (i = 0; i < n; i++)
        out[i] = (uint8_t) (255 - in[i]);
      break;
    case XF_XOR:
      for (i = 0; i < n; i++)
        out[i] = in[i] ^ spec->key;
      break;
    case XF_DOUBLE:
      memcpy (out, in, n);
      memcpy (out + n, in, n);
      break;
    case XF_BLANK:
      /* Only the head (a benchmark's stamp); the rest is whatever the
       * ring held: measures the transport without a handler that touches
       * every byte. */
      memcpy (out, in, n < 64 ? n : 64);
      break;
    default:
      memcpy (out, in, n);
      break;
  }
}

static int
parse_mode_arg (const char *text, unsigned int *out)
{
  char *e;
  unsigned long m;

  errno = 0;
  m = strtoul (text, &e, 8);
  if (errno || e == text || *e || m > 07777) {
    usage_error ("--mode: '%s' is not an octal mode", text);
    return -1;
  }
  *out = (unsigned int) m;
  return 0;
}

/* ---- serve ---- */

typedef struct
{
  const char *channel;
  handler_spec handler;
  int keep_serving;
  uint64_t payload_size, metadata_size;
  unsigned int mode;
  int timeout_ms;               /* wait for a client; -1 forever */
  int attach_ms;                /* window for the client's response buffer */
  unsigned int spin_us;
} serve_options;

typedef struct
{
  uint64_t requests, responses, failed, dropped, bytes_in, bytes_out;
} serve_counts;

static void
usage_serve (FILE * out)
{
  fprintf (out,
      "usage: zerobuffer serve CHANNEL [options]\n"
      "  Create CHANNEL_request, wait for a client, attach to the\n"
      "  CHANNEL_response it creates and answer every request with one\n"
      "  response, in order, until the client goes.\n"
      "  --handler H          what each response is (default echo):\n"
      "                       echo, invert (255 - b), xor[=BYTE] (b ^ BYTE,\n"
      "                       default 0xFF), double (the request twice),\n"
      "                       blank (the request's size, only its first 64\n"
      "                       bytes copied: measures the transport alone);\n"
      "                       with any of delay=MS (sleep before answering)\n"
      "                       and crash-after=N (answer N requests, then\n"
      "                       _exit(3) on the next, leaving everything\n"
      "                       behind as a crash would), comma-separated\n"
      "  --keep-serving       after a client goes, make CHANNEL_request\n"
      "                       anew and take the next one; SIGINT/SIGTERM\n"
      "                       while waiting for a client ends normally\n"
      "  --payload-size N     ring of CHANNEL_request (default 64M: four\n"
      "                       1080p RGB frames in flight)\n"
      "  --metadata-size M    its metadata block (default 4K)\n"
      "  --mode OCTAL         its permissions (default 0600)\n"
      "  --timeout S          seconds to wait for each client (default\n"
      "                       forever)\n"
      "  --attach-timeout S   seconds a client that attached to\n"
      "                       CHANNEL_request has to create CHANNEL_response\n"
      "                       (default 5, as upstream servers)\n"
      "  --spin-us N          poll up to N µs before sleeping (default\n"
      "                       $ZB_SPIN_US, else 0: never)\n"
      "  Prints \"ready: CHANNEL ...\" when CHANNEL_request exists, \"client:\n"
      "  ...\" when attached, \"end: ...\" per client and one \"summary: ...\".\n");
}

/* Wait for a client in slices.  0, a library status, or CLI_SIGNALLED. */
static int
serve_wait_client (zb_duplex_server * s, int timeout_ms)
{
  int64_t deadline = deadline_after (timeout_ms);

  for (;;) {
    int slice, rc;

    if (got_signal)
      return CLI_SIGNALLED;
    slice = next_slice_ms (deadline);
    if (slice < 0)
      return ZB_ETIMEDOUT;
    rc = zb_duplex_server_wait_client (s, slice);
    if (rc != ZB_ETIMEDOUT)
      return rc;
  }
}

static int
serve_attach (zb_duplex_server * s, int timeout_ms, char *detail,
    size_t len)
{
  int64_t deadline = deadline_after (timeout_ms);
  int rc = ZB_ETIMEDOUT;

  for (;;) {
    int slice;

    if (got_signal)
      return CLI_SIGNALLED;
    slice = next_slice_ms (deadline);
    if (slice < 0)
      return rc;
    rc = zb_duplex_server_attach (s, slice);
    if (rc == ZB_OK)
      return rc;
    snprintf (detail, len, "%s", zb_duplex_server_last_error (s));
    if (rc != ZB_ENOTFOUND && rc != ZB_ENOREADER)
      return rc;
  }
}

/* One response: reserved in the ring, made there by the handler,
 * committed; waits for room while the client lives. */
static int
serve_respond (zb_writer * w, const handler_spec * spec, const zb_frame * f)
{
  size_t size = (size_t) response_size (spec, f->size);
  void *p;

  for (;;) {
    int rc;

    if (got_signal)
      return CLI_SIGNALLED;
    rc = zb_writer_reserve (w, size, &p, SLICE_MS);
    if (rc == ZB_OK)
      break;
    if (rc != ZB_ETIMEDOUT)
      return rc;
  }
  apply_transform (spec, f->data, f->size, p);
  return zb_writer_commit (w, size);
}

/* Once the client's response buffer is gone: did the client close, die,
 * or only drop its responses?  The request side says, within a second;
 * requests still unread are dropped. */
static const char *
serve_client_end (zb_reader * r, serve_counts * n)
{
  int64_t deadline = deadline_after (1000);

  for (;;) {
    zb_frame f;
    int slice = next_slice_ms (deadline), rc;

    if (slice < 0 || got_signal)
      return "client-gone";
    rc = zb_reader_acquire (r, &f, slice);
    if (rc == ZB_OK) {
      n->dropped++;
      zb_reader_release (r, &f);
      continue;
    }
    if (rc == ZB_EOS)
      return "client-closed";
    if (rc == ZB_EWRITERGONE)
      return "client-died";
    if (rc != ZB_ETIMEDOUT)
      return "client-gone";
  }
}

/* Serve one attached client until it goes.  Returns the end reason; a
 * failure of ours fills reason. */
static const char *
serve_session (zb_duplex_server * s, const serve_options * opt,
    serve_counts * n, serve_counts * total, char *reason, size_t len)
{
  zb_reader *r = zb_duplex_server_request_reader (s);
  zb_writer *w = zb_duplex_server_response_writer (s);

  for (;;) {
    zb_frame f;
    int rc;

    if (got_signal)
      return "signal";
    rc = zb_reader_acquire (r, &f, SLICE_MS);
    if (rc == ZB_ETIMEDOUT)
      continue;
    if (rc == ZB_EOS)
      return "eos";
    if (rc == ZB_EWRITERGONE)
      return "client-died";
    if (rc != ZB_OK) {
      const char *d = zb_reader_last_error (r);

      snprintf (reason, len, "cannot read a request: %s (%s)%s%s",
          zb_strerror (rc), zb_status_name (rc), d[0] ? ": " : "", d);
      return "error";
    }
    n->requests++;
    total->requests++;
    n->bytes_in += f.size;
    total->bytes_in += f.size;
    if (opt->handler.delay_ms)
      sleep_ms (opt->handler.delay_ms);
    if (got_signal) {
      zb_reader_release (r, &f);
      return "signal";
    }
    if (opt->handler.crash_after_set
        && total->responses == opt->handler.crash_after) {
      /* What a crash leaves: every object, both pids, this request
       * unreleased.  Only the kernel's OFD locks go with the process. */
      printf ("crash: %s after %" PRIu64 " responses\n", opt->channel,
          total->responses);
      fflush (stdout);
      _exit (EXIT_CRASH);
    }
    rc = serve_respond (w, &opt->handler, &f);
    zb_reader_release (r, &f);
    if (rc == ZB_OK) {
      uint64_t size = response_size (&opt->handler, f.size);

      n->responses++;
      total->responses++;
      n->bytes_out += size;
      total->bytes_out += size;
      continue;
    }
    if (rc == CLI_SIGNALLED)
      return "signal";
    if (rc == ZB_EREADERGONE)
      return serve_client_end (r, n);
    if (rc == ZB_ETOOLARGE || rc == ZB_EINVAL) {
      /* As upstream: a handler that fails answers nothing. */
      n->failed++;
      total->failed++;
      continue;
    }
    {
      const char *d = zb_writer_last_error (w);

      snprintf (reason, len, "cannot write a response: %s (%s)%s%s",
          zb_strerror (rc), zb_status_name (rc), d[0] ? ": " : "", d);
    }
    return "error";
  }
}

static void
serve_print_metadata (zb_reader * r)
{
  const void *data;
  size_t size;

  if (zb_reader_get_metadata (r, &data, &size) == ZB_OK) {
    fputs ("metadata: ", stdout);
    print_escaped (data, size);
    putchar ('\n');
  } else {
    puts ("metadata: none");
  }
}

static int
cmd_serve (int argc, char **argv)
{
  enum
  { OPT_HANDLER = 256, OPT_KEEP, OPT_PAYLOAD, OPT_META, OPT_MODE,
    OPT_TIMEOUT, OPT_ATTACH, OPT_SPIN
  };
  static const struct option longopts[] = {
    {"handler", required_argument, NULL, OPT_HANDLER},
    {"keep-serving", no_argument, NULL, OPT_KEEP},
    {"payload-size", required_argument, NULL, OPT_PAYLOAD},
    {"metadata-size", required_argument, NULL, OPT_META},
    {"mode", required_argument, NULL, OPT_MODE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"attach-timeout", required_argument, NULL, OPT_ATTACH},
    {"spin-us", required_argument, NULL, OPT_SPIN},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
  };
  serve_options opt = {.payload_size = 64 << 20,.metadata_size = 4096,
    .timeout_ms = -1,.attach_ms = 5000,.spin_us = spin_from_env ()
  };
  serve_counts total = { 0 };
  zb_duplex_server *s = NULL;
  zb_reader_options ropt;
  char reason[600] = "", xf[16];
  const char *end_reason = "eos";
  uint64_t sessions = 0;
  int c, rc, idle_signal = 0;

  opt.handler.transform = XF_ECHO;
  while ((c = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
      case OPT_HANDLER:
        if (parse_handler_arg ("--handler", optarg, 1, &opt.handler))
          return EXIT_USAGE;
        break;
      case OPT_KEEP:
        opt.keep_serving = 1;
        break;
      case OPT_PAYLOAD:
        if (parse_size_arg ("payload-size", optarg, &opt.payload_size))
          return EXIT_USAGE;
        break;
      case OPT_META:
        if (parse_size_arg ("metadata-size", optarg, &opt.metadata_size))
          return EXIT_USAGE;
        break;
      case OPT_MODE:
        if (parse_mode_arg (optarg, &opt.mode))
          return EXIT_USAGE;
        break;
      case OPT_TIMEOUT:
        if (parse_seconds_arg ("timeout", optarg, &opt.timeout_ms))
          return EXIT_USAGE;
        break;
      case OPT_ATTACH:
        if (parse_seconds_arg ("attach-timeout", optarg, &opt.attach_ms))
          return EXIT_USAGE;
        break;
      case OPT_SPIN:
        if (parse_spin_arg (optarg, &opt.spin_us))
          return EXIT_USAGE;
        break;
      case 'h':
        usage_serve (stdout);
        return 0;
      default:
        return EXIT_USAGE;
    }
  }
  if (optind != argc - 1) {
    usage_error ("serve needs exactly one CHANNEL");
    return EXIT_USAGE;
  }
  opt.channel = argv[optind];
  if (opt.payload_size == 0) {
    usage_error ("serve needs --payload-size > 0");
    return EXIT_USAGE;
  }

  install_signal_handlers ();
  memset (&ropt, 0, sizeof ropt);
  ropt.payload_size = opt.payload_size;
  ropt.metadata_size = opt.metadata_size;
  ropt.mode = opt.mode;
  ropt.spin_us = opt.spin_us;
  rc = zb_duplex_server_create (&s, opt.channel, &ropt);
  if (rc != 0) {
    report_status (opt.channel, "cannot create channel", rc,
        zb_last_error ());
    return EXIT_FAIL;
  }

  for (;;) {
    serve_counts n = { 0 };
    zb_reader_stats rs;
    char detail[512] = "";

    zb_reader_get_stats (zb_duplex_server_request_reader (s), &rs);
    printf ("ready: %s request=%s" ZB_DUPLEX_REQUEST_SUFFIX " payload_size=%"
        PRIu64 " handler=%s\n", opt.channel, opt.channel, rs.payload_size,
        transform_name (&opt.handler, xf, sizeof xf));
    fflush (stdout);

    rc = serve_wait_client (s, opt.timeout_ms);
    if (rc == CLI_SIGNALLED) {
      end_reason = "signal";
      idle_signal = 1;
      break;
    }
    if (rc != 0) {
      const char *d = zb_duplex_server_last_error (s);

      /* The library's detail of a timeout names the last wait slice,
       * not the whole wait. */
      if (rc == ZB_ETIMEDOUT)
        snprintf (reason, sizeof reason, "no client within %.3f s",
            opt.timeout_ms / 1000.0);
      else
        snprintf (reason, sizeof reason, "cannot wait for a client: %s "
            "(%s)%s%s", zb_strerror (rc), zb_status_name (rc),
            d[0] ? ": " : "", d);
      end_reason = rc == ZB_ETIMEDOUT ? "timeout" : "error";
      break;
    }
    sessions++;
    rc = serve_attach (s, opt.attach_ms, detail, sizeof detail);
    if (rc == CLI_SIGNALLED) {
      end_reason = "signal";
    } else if (rc != 0) {
      /* Upstream servers give up the same way, after their window. */
      end_reason = "no-response-buffer";
      if (!opt.keep_serving && (rc == ZB_ENOTFOUND || rc == ZB_ENOREADER))
        snprintf (reason, sizeof reason, "the client did not create %s"
            ZB_DUPLEX_RESPONSE_SUFFIX " within %.3f s: %s (%s)%s%s",
            opt.channel, opt.attach_ms / 1000.0, zb_strerror (rc),
            zb_status_name (rc), detail[0] ? ": " : "", detail);
      else if (!opt.keep_serving)
        snprintf (reason, sizeof reason, "cannot attach to %s"
            ZB_DUPLEX_RESPONSE_SUFFIX ": %s (%s)%s%s", opt.channel,
            zb_strerror (rc), zb_status_name (rc), detail[0] ? ": " : "",
            detail);
    } else {
      zb_writer *w = zb_duplex_server_response_writer (s);
      zb_writer_stats ws;

      zb_writer_get_stats (w, &ws);
      printf ("client: %s session=%" PRIu64 " response=%s"
          ZB_DUPLEX_RESPONSE_SUFFIX " payload_size=%" PRIu64
          " max_response=%zu\n", opt.channel, sessions, opt.channel,
          ws.payload_size, zb_writer_max_frame_size (w));
      /* Read once, when attaching, as released upstream servers do. */
      serve_print_metadata (zb_duplex_server_request_reader (s));
      fflush (stdout);
      end_reason = serve_session (s, &opt, &n, &total, reason,
          sizeof reason);
    }
    printf ("end: %s session=%" PRIu64 " requests=%" PRIu64 " responses=%"
        PRIu64 " failed=%" PRIu64 " dropped=%" PRIu64 " bytes_in=%" PRIu64
        " bytes_out=%" PRIu64 " reason=%s\n", opt.channel, sessions,
        n.requests, n.responses, n.failed, n.dropped, n.bytes_in,
        n.bytes_out, end_reason);
    fflush (stdout);
    if (reason[0] || strcmp (end_reason, "signal") == 0
        || !opt.keep_serving)
      break;
    rc = zb_duplex_server_reset (s);
    if (rc != 0) {
      const char *d = zb_duplex_server_last_error (s);

      snprintf (reason, sizeof reason, "cannot make %s"
          ZB_DUPLEX_REQUEST_SUFFIX " anew: %s (%s)%s%s", opt.channel,
          zb_strerror (rc), zb_status_name (rc), d[0] ? ": " : "", d);
      end_reason = "error";
      break;
    }
  }
  zb_duplex_server_close (s);

  printf ("summary: sessions=%" PRIu64 " requests=%" PRIu64 " responses=%"
      PRIu64 " failed=%" PRIu64 " bytes_in=%" PRIu64 " bytes_out=%" PRIu64
      " end=%s\n", sessions, total.requests, total.responses, total.failed,
      total.bytes_in, total.bytes_out, end_reason);
  fflush (stdout);

  if (reason[0]) {
    report_reason (opt.channel, "%s", reason);
    return EXIT_FAIL;
  }
  /* A signal while waiting for the next client is how a server that keeps
   * serving is stopped; any other is reported. */
  if (strcmp (end_reason, "signal") == 0
      && !(opt.keep_serving && idle_signal)) {
    report_reason (opt.channel, "interrupted by %s%s",
        signal_name (got_signal), idle_signal ? " while waiting for a "
        "client" : "");
    return exit_for_signal ();
  }
  return 0;
}

/* ---- request ---- */

typedef struct
{
  const char *channel;
  uint64_t count;
  uint64_t *sizes;
  size_t n_sizes;
  int pattern;
  uint64_t in_flight;
  handler_spec verify;
  uint64_t response_ring;       /* 0: sized for in_flight responses */
  int zero_copy;
  const char *metadata;
  unsigned int mode;
  int timeout_ms;
  unsigned int spin_us;
  int hold_responses;           /* read nothing until SIGUSR1 */
} request_options;

static volatile sig_atomic_t got_usr1;

static void
on_usr1 (int sig)
{
  (void) sig;
  got_usr1 = 1;
}

static void
usage_request (FILE * out)
{
  fprintf (out,
      "usage: zerobuffer request CHANNEL --count N --size B [options]\n"
      "  Connect to the duplex server of CHANNEL as its client, send N\n"
      "  requests, check every response byte for byte, print one summary\n"
      "  line with round-trip times.\n"
      "  --count N            number of requests\n"
      "  --size B             request size (suffixes K, M, G)\n"
      "  --sizes b1,b2,...    request sizes, cycled (overrides --size)\n"
      "  --pattern P          sequential (default): byte j of request i is\n"
      "                       (i+j) mod 256; none: zeros\n"
      "  --in-flight K        send up to K requests before reading their\n"
      "                       responses (default 1)\n"
      "  --verify H           what the server does: echo (default), invert,\n"
      "                       xor[=BYTE] (default 0xFF), double, or none\n"
      "                       (check only that a response came)\n"
      "  --response-size N    ring of CHANNEL_response (default: room for K\n"
      "                       responses of the expected size)\n"
      "  --zero-copy          reserve/commit requests in place\n"
      "  --metadata TEXT      write TEXT into CHANNEL_request before\n"
      "                       CHANNEL_response exists\n"
      "  --mode OCTAL         permissions of CHANNEL_response (default 0600)\n"
      "  --timeout S          seconds to wait for the server, for it to\n"
      "                       attach, and for each response (default 5)\n"
      "  --spin-us N          poll up to N µs before sleeping (default\n"
      "                       $ZB_SPIN_US, else 0: never)\n"
      "  --hold-responses     read no response until SIGUSR1 arrives (a\n"
      "                       client that stalls; sending goes on)\n"
      "  Prints \"connected: ...\" once attached to CHANNEL_request,\n"
      "  \"attached: ...\" once the server writes to CHANNEL_response, and\n"
      "  \"summary: ...\".  Exit 0 only if every response arrived and\n"
      "  verified.\n");
}

typedef struct
{
  const request_options *opt;
  zb_duplex_client *c;
  uint8_t *src;                 /* requests: src + (i & 255) */
  uint8_t *want;                /* expected response, made per response */
  int64_t *sent_ns;             /* per request in flight, by i % K */
  int64_t *rtt_ns;              /* per response */
  uint64_t sent, received, verified, errors, bytes_out, bytes_in;
  char reason[700];
} request_state;

static void request_fail (request_state * st, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
request_fail (request_state * st, const char *fmt, ...)
{
  va_list ap;

  if (st->reason[0])
    return;
  va_start (ap, fmt);
  vsnprintf (st->reason, sizeof st->reason, fmt, ap);
  va_end (ap);
}

static const uint8_t *
request_bytes (const request_state * st, uint64_t i)
{
  return st->src + (st->opt->pattern == PATTERN_SEQUENTIAL ? (i & 255) : 0);
}

/* Why the responses stopped: the server's state, with the library's
 * words, when it is gone (returns 1); else what happened (returns 0).  A
 * failed request write is judged the same way. */
static int
request_fail_server (request_state * st, const char *what, int rc,
    const char *detail)
{
  int src = zb_duplex_client_check_server (st->c);

  if (src != ZB_OK) {
    const char *d = zb_duplex_client_last_error (st->c);

    request_fail (st, "server gone %s after %" PRIu64 " of %" PRIu64
        " responses: %s (%s)%s%s", what, st->received, st->opt->count,
        zb_strerror (src), zb_status_name (src), d[0] ? ": " : "", d);
    return 1;
  }
  request_fail (st, "%s after %" PRIu64 " of %" PRIu64 " responses: %s "
      "(%s)%s%s", what, st->received, st->opt->count, zb_strerror (rc),
      zb_status_name (rc), detail[0] ? ": " : "", detail);
  return 0;
}

/* Send request sent.  timeout_ms 0 when responses are outstanding: a full
 * request ring must not keep us from reading them (the server holds each
 * request until its response is written, so both rings would stay full). */
static int
request_send (request_state * st, int timeout_ms)
{
  zb_writer *w = zb_duplex_client_request_writer (st->c);
  uint64_t i = st->sent;
  size_t size = (size_t) st->opt->sizes[i % st->opt->n_sizes];
  /* The round trip starts here: the post that publishes the request may
   * run the server, and its answer, before the write returns. */
  int64_t t0 = now_ns ();
  int rc;

  if (st->opt->zero_copy) {
    void *p;

    rc = zb_writer_reserve (w, size, &p, timeout_ms);
    if (rc == ZB_OK) {
      memcpy (p, request_bytes (st, i), size);
      rc = zb_writer_commit (w, size);
    }
  } else {
    rc = zb_writer_write (w, request_bytes (st, i), size, timeout_ms);
  }
  if (rc == ZB_OK) {
    st->sent_ns[i % st->opt->in_flight] = t0;
    st->sent++;
    st->bytes_out += size;
  }
  return rc;
}

/* Check response i against the handler's output for request i. */
static void
request_verify (request_state * st, const zb_frame * f, uint64_t i)
{
  uint64_t size = st->opt->sizes[i % st->opt->n_sizes];
  uint64_t want = response_size (&st->opt->verify, size);
  const uint8_t *got = f->data;

  if (st->opt->verify.transform == XF_NONE) {
    st->verified++;
    return;
  }
  if (f->size != want) {
    st->errors++;
    request_fail (st, "response %" PRIu64 " has %zu bytes, expected %" PRIu64
        " (%" PRIu64 "-byte request)", i, f->size, want, size);
    return;
  }
  apply_transform (&st->opt->verify, request_bytes (st, i), (size_t) size,
      st->want);
  if (memcmp (got, st->want, f->size) != 0) {
    size_t k = 0;

    while (got[k] == st->want[k])
      k++;
    st->errors++;
    request_fail (st, "response %" PRIu64 " (%zu bytes) differs at byte %zu:"
        " 0x%02x, expected 0x%02x", i, f->size, k, got[k], st->want[k]);
    return;
  }
  st->verified++;
}

static int
cmp_i64 (const void *a, const void *b)
{
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

  return x < y ? -1 : x > y;
}

/* The q-th percentile (nearest rank) of n sorted values, in µs. */
static double
percentile_us (const int64_t * v, uint64_t n, int q)
{
  uint64_t rank;

  if (n == 0)
    return 0.0;
  rank = (n * (uint64_t) q + 99) / 100;
  if (rank < 1)
    rank = 1;
  return v[rank - 1] / 1000.0;
}

/* The exchange: keep up to K requests in flight, read responses in
 * order.  Returns the end reason. */
static const char *
request_run (request_state * st)
{
  const request_options *opt = st->opt;
  zb_reader *r = zb_duplex_client_response_reader (st->c);
  zb_writer *w = zb_duplex_client_request_writer (st->c);
  int64_t progress = now_ns ();

  while (st->received < opt->count) {
    int64_t waited;
    zb_frame f;
    int rc;

    if (got_signal) {
      request_fail (st, "interrupted by %s after %" PRIu64 " of %" PRIu64
          " responses", signal_name (got_signal), st->received, opt->count);
      return "signal";
    }
    if (opt->hold_responses && !got_usr1) {
      /* Stalled: send what the window allows, read nothing. */
      progress = now_ns ();
      if (st->sent < opt->count && st->sent - st->received < opt->in_flight) {
        rc = request_send (st, 10);
        if (rc == ZB_OK || rc == ZB_ETIMEDOUT)
          continue;
        if (rc == ZB_EREADERGONE) {
          request_fail_server (st, "sending", rc, zb_writer_last_error (w));
          return "server-gone";
        }
        request_fail (st, "cannot send request %" PRIu64 ": %s (%s)",
            st->sent, zb_strerror (rc), zb_status_name (rc));
        return "error";
      }
      sleep_ms (10);
      continue;
    }
    waited = (now_ns () - progress) / 1000000;
    if (st->sent < opt->count && st->sent - st->received < opt->in_flight) {
      int outstanding = st->sent > st->received;

      rc = request_send (st, outstanding ? 0 : SLICE_MS);
      if (rc == ZB_OK) {
        if (!outstanding)
          progress = now_ns ();
        continue;
      }
      if (rc == ZB_EREADERGONE) {
        request_fail_server (st, "sending", rc, zb_writer_last_error (w));
        return "server-gone";   /* the reader of CHANNEL_request left */
      }
      if (rc != ZB_ETIMEDOUT) {
        const char *d = zb_writer_last_error (w);

        request_fail (st, "cannot send request %" PRIu64 ": %s (%s)%s%s",
            st->sent, zb_strerror (rc), zb_status_name (rc),
            d[0] ? ": " : "", d);
        return "error";
      }
      if (!outstanding) {
        if (opt->timeout_ms >= 0 && waited > opt->timeout_ms)
          return request_fail_server (st, "request ring full", rc,
              zb_writer_last_error (w)) ? "server-gone" : "timeout";
        continue;
      }
    }

    rc = zb_reader_acquire (r, &f, SLICE_MS);
    if (rc == ZB_OK) {
      uint64_t i = st->received;

      st->rtt_ns[i] = now_ns () - st->sent_ns[i % opt->in_flight];
      st->bytes_in += f.size;
      request_verify (st, &f, i);
      zb_reader_release (r, &f);
      st->received++;
      progress = now_ns ();
      if (st->reason[0])
        return "error";
      continue;
    }
    if (rc == ZB_ETIMEDOUT) {
      if (opt->timeout_ms >= 0 && waited > opt->timeout_ms) {
        char what[96];

        snprintf (what, sizeof what, "no response to request %" PRIu64
            " within %.3f s", st->received, opt->timeout_ms / 1000.0);
        return request_fail_server (st, what, rc, zb_reader_last_error (r))
            ? "server-gone" : "timeout";
      }
      continue;
    }
    if (rc == ZB_EOS || rc == ZB_EWRITERGONE) {
      request_fail_server (st, "waiting", rc, zb_reader_last_error (r));
      return "server-gone";
    }
    {
      const char *d = zb_reader_last_error (r);

      request_fail (st, "cannot read response %" PRIu64 ": %s (%s)%s%s",
          st->received, zb_strerror (rc), zb_status_name (rc),
          d[0] ? ": " : "", d);
    }
    return "error";
  }
  return "done";
}

static int
cmd_request (int argc, char **argv)
{
  enum
  { OPT_COUNT = 256, OPT_SIZE, OPT_SIZES, OPT_PATTERN, OPT_IN_FLIGHT,
    OPT_VERIFY, OPT_RESPONSE_SIZE, OPT_ZC, OPT_META, OPT_MODE, OPT_TIMEOUT,
    OPT_SPIN, OPT_HOLD_RESPONSES
  };
  static const struct option longopts[] = {
    {"count", required_argument, NULL, OPT_COUNT},
    {"size", required_argument, NULL, OPT_SIZE},
    {"sizes", required_argument, NULL, OPT_SIZES},
    {"pattern", required_argument, NULL, OPT_PATTERN},
    {"in-flight", required_argument, NULL, OPT_IN_FLIGHT},
    {"verify", required_argument, NULL, OPT_VERIFY},
    {"response-size", required_argument, NULL, OPT_RESPONSE_SIZE},
    {"zero-copy", no_argument, NULL, OPT_ZC},
    {"metadata", required_argument, NULL, OPT_META},
    {"mode", required_argument, NULL, OPT_MODE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"spin-us", required_argument, NULL, OPT_SPIN},
    {"hold-responses", no_argument, NULL, OPT_HOLD_RESPONSES},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
  };
  request_options opt = {.pattern = PATTERN_SEQUENTIAL,.in_flight = 1,
    .timeout_ms = DEFAULT_CONNECT_MS,.spin_us = spin_from_env ()
  };
  request_state st;
  zb_writer_options wopt;
  zb_reader_options ropt;
  zb_writer_stats ws;
  zb_reader_stats rs;
  uint64_t size = 0, max_size = 0, max_response;
  int64_t deadline, t_start, t_end;
  const char *end_reason = "done";
  char detail[512] = "";
  int have_count = 0, c, rc;

  opt.verify.transform = XF_ECHO;
  opt.verify.key = 0xff;
  while ((c = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
      case OPT_COUNT:
        if (parse_count_arg ("count", optarg, &opt.count))
          return EXIT_USAGE;
        have_count = 1;
        break;
      case OPT_SIZE:
        if (parse_size_arg ("size", optarg, &size))
          return EXIT_USAGE;
        break;
      case OPT_SIZES:
        free (opt.sizes);
        if (parse_size_list (optarg, &opt.sizes, &opt.n_sizes))
          return EXIT_USAGE;
        break;
      case OPT_PATTERN:
        if (parse_pattern_arg (optarg, &opt.pattern))
          return EXIT_USAGE;
        break;
      case OPT_IN_FLIGHT:
        if (parse_count_arg ("in-flight", optarg, &opt.in_flight))
          return EXIT_USAGE;
        if (opt.in_flight < 1 || opt.in_flight > 65536) {
          usage_error ("--in-flight: 1..65536");
          return EXIT_USAGE;
        }
        break;
      case OPT_VERIFY:
        if (parse_handler_arg ("--verify", optarg, 0, &opt.verify))
          return EXIT_USAGE;
        break;
      case OPT_RESPONSE_SIZE:
        if (parse_size_arg ("response-size", optarg, &opt.response_ring))
          return EXIT_USAGE;
        break;
      case OPT_ZC:
        opt.zero_copy = 1;
        break;
      case OPT_META:
        opt.metadata = optarg;
        break;
      case OPT_MODE:
        if (parse_mode_arg (optarg, &opt.mode))
          return EXIT_USAGE;
        break;
      case OPT_TIMEOUT:
        if (parse_seconds_arg ("timeout", optarg, &opt.timeout_ms))
          return EXIT_USAGE;
        break;
      case OPT_SPIN:
        if (parse_spin_arg (optarg, &opt.spin_us))
          return EXIT_USAGE;
        break;
      case OPT_HOLD_RESPONSES:
        opt.hold_responses = 1;
        break;
      case 'h':
        usage_request (stdout);
        return 0;
      default:
        return EXIT_USAGE;
    }
  }
  if (optind != argc - 1) {
    usage_error ("request needs exactly one CHANNEL");
    return EXIT_USAGE;
  }
  opt.channel = argv[optind];
  if (!have_count || opt.count == 0) {
    usage_error ("request needs --count > 0");
    return EXIT_USAGE;
  }
  if (!opt.sizes) {
    if (size == 0) {
      usage_error ("request needs --size > 0 or --sizes");
      return EXIT_USAGE;
    }
    opt.sizes = malloc (sizeof *opt.sizes);
    if (!opt.sizes)
      return EXIT_FAIL;
    opt.sizes[0] = size;
    opt.n_sizes = 1;
  }
  for (size_t k = 0; k < opt.n_sizes; k++)
    if (opt.sizes[k] > max_size)
      max_size = opt.sizes[k];
  if (max_size > (SIZE_MAX - 512) / 2 || opt.count > (1ull << 27)) {
    usage_error ("request size or count too large");
    free (opt.sizes);
    return EXIT_USAGE;
  }
  max_response = response_size (&opt.verify, max_size);

  memset (&st, 0, sizeof st);
  st.opt = &opt;
  st.src = calloc (1, max_size + 256);
  st.want = malloc (max_response + 1);
  st.sent_ns = calloc (opt.in_flight, sizeof *st.sent_ns);
  st.rtt_ns = calloc (opt.count, sizeof *st.rtt_ns);
  if (!st.src || !st.want || !st.sent_ns || !st.rtt_ns) {
    report_reason (opt.channel, "out of memory");
    rc = EXIT_FAIL;
    goto out;
  }
  if (opt.pattern == PATTERN_SEQUENTIAL)
    for (uint64_t k = 0; k < max_size + 256; k++)
      st.src[k] = (uint8_t) k;

  rc = zb_duplex_client_new (&st.c, opt.channel);
  if (rc != 0) {
    report_status (opt.channel, "bad channel", rc, zb_last_error ());
    rc = EXIT_FAIL;
    goto out;
  }
  install_signal_handlers ();
  if (opt.hold_responses) {
    struct sigaction sa;

    memset (&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGUSR1, &sa, NULL);
  }

  /* 1. The server's CHANNEL_request, in slices so that a signal is seen. */
  deadline = deadline_after (opt.timeout_ms);
  memset (&wopt, 0, sizeof wopt);
  wopt.spin_us = opt.spin_us;
  for (;;) {
    int slice = next_slice_ms (deadline);

    if (got_signal) {
      rc = CLI_SIGNALLED;
      break;
    }
    rc = zb_duplex_client_open (st.c, &wopt, slice < 0 ? 0 : slice);
    if (rc == 0)
      break;
    snprintf (detail, sizeof detail, "%s",
        zb_duplex_client_last_error (st.c));
    if (rc != ZB_ENOTFOUND && rc != ZB_ENOREADER)
      break;
    if (slice < 0) {
      snprintf (detail, sizeof detail, "no %sduplex server: %s%s %s "
          "(waited %.3f s)", rc == ZB_ENOREADER ? "live " : "", opt.channel,
          ZB_DUPLEX_REQUEST_SUFFIX, rc == ZB_ENOREADER ? "has no live reader"
          : "does not exist", opt.timeout_ms / 1000.0);
      break;
    }
  }
  if (rc != 0) {
    if (rc == CLI_SIGNALLED) {
      report_reason (opt.channel, "interrupted by %s while connecting",
          signal_name (got_signal));
      rc = exit_for_signal ();
    } else {
      report_status (opt.channel, "cannot connect", rc, detail);
      rc = EXIT_FAIL;
    }
    goto out;
  }
  zb_writer_get_stats (zb_duplex_client_request_writer (st.c), &ws);
  printf ("connected: %s request=%s" ZB_DUPLEX_REQUEST_SUFFIX
      " payload_size=%" PRIu64 " max_request=%zu\n", opt.channel,
      opt.channel, ws.payload_size,
      zb_writer_max_frame_size (zb_duplex_client_request_writer (st.c)));
  fflush (stdout);

  /* 2. Metadata, while no server has had a chance to read it. */
  if (opt.metadata) {
    rc = zb_duplex_client_set_metadata (st.c, opt.metadata,
        strlen (opt.metadata));
    if (rc != 0) {
      report_status (opt.channel, "cannot write metadata", rc,
          zb_duplex_client_last_error (st.c));
      rc = EXIT_FAIL;
      goto out;
    }
  }

  /* 3. CHANNEL_response, and the server's writer on it; the buffer stays
   * between the slices of the wait. */
  memset (&ropt, 0, sizeof ropt);
  ropt.payload_size = opt.response_ring ? opt.response_ring :
      zb_ring_size_for_frames (max_response ? max_response : 1,
      opt.in_flight);
  ropt.metadata_size = 4096;    /* as upstream clients; nobody writes it */
  ropt.mode = opt.mode;
  ropt.spin_us = opt.spin_us;
  deadline = deadline_after (opt.timeout_ms);
  for (;;) {
    int slice = next_slice_ms (deadline);

    if (got_signal) {
      rc = CLI_SIGNALLED;
      break;
    }
    rc = zb_duplex_client_connect_response (st.c, &ropt,
        slice < 0 ? 0 : slice);
    if (rc == 0)
      break;
    snprintf (detail, sizeof detail, "%s",
        zb_duplex_client_last_error (st.c));
    if (rc != ZB_ENOATTACH)
      break;
    if (slice < 0) {
      snprintf (detail, sizeof detail, "the server did not attach to %s%s "
          "within %.3f s (servers give up about 5 s after they start)",
          opt.channel, ZB_DUPLEX_RESPONSE_SUFFIX, opt.timeout_ms / 1000.0);
      break;
    }
  }
  if (rc != 0) {
    if (rc == CLI_SIGNALLED) {
      report_reason (opt.channel, "interrupted by %s while connecting",
          signal_name (got_signal));
      rc = exit_for_signal ();
    } else {
      report_status (opt.channel, rc == ZB_ENOATTACH ? "server did not "
          "attach" : "cannot connect the response buffer", rc, detail);
      rc = EXIT_FAIL;
    }
    goto out;
  }
  zb_reader_get_stats (zb_duplex_client_response_reader (st.c), &rs);
  printf ("attached: %s response=%s" ZB_DUPLEX_RESPONSE_SUFFIX
      " payload_size=%" PRIu64 "\n", opt.channel, opt.channel,
      rs.payload_size);
  fflush (stdout);

  t_start = now_ns ();
  end_reason = request_run (&st);
  t_end = now_ns ();

  qsort (st.rtt_ns, st.received, sizeof *st.rtt_ns, cmp_i64);
  printf ("summary: requests=%" PRIu64 " responses=%" PRIu64 " verified=%"
      PRIu64 " errors=%" PRIu64 " bytes_out=%" PRIu64 " bytes_in=%" PRIu64
      " p50_us=%.1f p99_us=%.1f max_us=%.1f rps=%.1f end=%s\n", st.sent,
      st.received, st.verified, st.errors, st.bytes_out, st.bytes_in,
      percentile_us (st.rtt_ns, st.received, 50),
      percentile_us (st.rtt_ns, st.received, 99),
      percentile_us (st.rtt_ns, st.received, 100),
      rate_per_s (st.received, t_end - t_start), end_reason);
  fflush (stdout);

  if (st.reason[0] || st.verified != opt.count) {
    if (!st.reason[0])
      request_fail (&st, "%" PRIu64 " of %" PRIu64 " responses verified",
          st.verified, opt.count);
    report_reason (opt.channel, "%s", st.reason);
    rc = got_signal ? exit_for_signal () : EXIT_FAIL;
  } else {
    rc = 0;
  }

out:
  zb_duplex_client_close (st.c);
  free (st.src);
  free (st.want);
  free (st.sent_ns);
  free (st.rtt_ns);
  free (opt.sizes);
  return rc;
}

/* ------------------------------------------------------------------ */

/* `zerobuffer launch` is zerobuffer-launch, linked with GStreamer, which
 * this tool and the library are not: run it from our own directory, else
 * from PATH. */
static int
cmd_launch (const char *self, int argc, char **argv)
{
  char path[4096];
  const char *slash = strrchr (self, '/');
  char **args = calloc ((size_t) argc + 1, sizeof *args);
  int i;

  if (args == NULL)
    return EXIT_FAIL;
  args[0] = (char *) "zerobuffer-launch";
  for (i = 1; i < argc; i++)
    args[i] = argv[i];
  if (slash != NULL && (size_t) (slash - self) + 20 < sizeof path) {
    snprintf (path, sizeof path, "%.*s/zerobuffer-launch", (int) (slash - self),
        self);
    execv (path, args);
    /* A build tree keeps it in launch/ beside us. */
    snprintf (path, sizeof path, "%.*s/launch/zerobuffer-launch",
        (int) (slash - self), self);
    execv (path, args);
  }
  execvp ("zerobuffer-launch", args);
  fprintf (stderr, "zerobuffer launch: cannot run zerobuffer-launch (%s): "
      "it comes with the GStreamer plugin; is it installed?\n",
      strerror (errno));
  free (args);
  return EXIT_FAIL;
}

static void
usage (FILE * out)
{
  fprintf (out,
      "usage: zerobuffer COMMAND NAME [options]\n"
      "\n"
      "Commands:\n"
      "  info NAME     print a buffer's header, peers, utilization, health\n"
      "  ls            list every buffer on this host (--json)\n"
      "  top           ls refreshed every second, with frames/s and MB/s\n"
      "  clean         remove stale buffers of readers that died\n"
      "  read NAME     create buffer NAME and read frames from a writer\n"
      "  write NAME    connect to buffer NAME and write frames\n"
      "  serve CH      duplex server on channel CH: answer each request\n"
      "  request CH    duplex client on channel CH: send requests, check\n"
      "                every response\n"
      "  launch        run a GStreamer pipeline for every stream a reader\n"
      "                announces (zerobuffer-launch)\n"
      "\n"
      "'zerobuffer COMMAND --help' lists a command's options.  Sizes take\n"
      "suffixes K, M, G (binary).  Exit status 0 means every frame arrived\n"
      "and verified; otherwise one line on stderr says why.\n");
}

int
main (int argc, char **argv)
{
  const char *cmd;

  setvbuf (stdout, NULL, _IOLBF, 0);
  init_seq_table ();
  if (argc < 2) {
    usage (stderr);
    return EXIT_USAGE;
  }
  cmd = argv[1];
  if (strcmp (cmd, "--help") == 0 || strcmp (cmd, "-h") == 0
      || strcmp (cmd, "help") == 0) {
    usage (stdout);
    return 0;
  }
  /* getopt_long sees "read NAME ..." as its own argv. */
  if (strcmp (cmd, "info") == 0) {
    command = "zerobuffer info";
    return cmd_info (argc - 1, argv + 1);
  }
  if (strcmp (cmd, "ls") == 0)
    return cmd_ls (argc - 1, argv + 1);
  if (strcmp (cmd, "top") == 0)
    return cmd_top (argc - 1, argv + 1);
  if (strcmp (cmd, "clean") == 0)
    return cmd_clean (argc - 1, argv + 1);
  if (strcmp (cmd, "read") == 0) {
    command = "zerobuffer read";
    return cmd_read (argc - 1, argv + 1);
  }
  if (strcmp (cmd, "write") == 0) {
    command = "zerobuffer write";
    return cmd_write (argc - 1, argv + 1);
  }
  if (strcmp (cmd, "serve") == 0) {
    command = "zerobuffer serve";
    return cmd_serve (argc - 1, argv + 1);
  }
  if (strcmp (cmd, "request") == 0) {
    command = "zerobuffer request";
    return cmd_request (argc - 1, argv + 1);
  }
  if (strcmp (cmd, "launch") == 0) {
    command = "zerobuffer launch";
    return cmd_launch (argv[0], argc - 1, argv + 1);
  }
  usage_error ("unknown command '%s'", cmd);
  return EXIT_USAGE;
}
