/* gst-bench — zerosink/zerosrc against shmsink/shmsrc, two processes each.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The same binary is the driver and, re-executed with --role, the writer
 * and reader processes of every run.  For each case it alternates zero and
 * shm runs on the same frames:
 *
 *   writer  appsrc ! zerosink buffer-name=N
 *           appsrc ! shmsink socket-path=P shm-size=S wait-for-connection=true
 *           (pool case: videotestsrc ! caps ! zerosink | shmsink, so the
 *           source draws straight into the sink's pool)
 *   reader  zerosrc buffer-name=N payload-size=S ! fakesink
 *           shmsrc socket-path=P is-live=true ! caps ! fakesink
 *
 * The filter cases (-c filter) alternate the zero pair with a round trip
 * through zerofilter instead of shm: one process runs
 *
 *   filter  appsrc (or videotestsrc ! caps) ! zerofilter channel-name=N
 *           max-in-flight=K ! fakesink
 *
 * against `zerobuffer serve N --handler echo` (the CLI tool, a separate
 * process started first; its "ready:" line says the channel exists).  The
 * stamp is taken on zerofilter's sink pad and checked on fakesink's, as on
 * zerosink's and the reader's fakesink in the one-way runs, so both
 * latencies are from the same points of the pipeline.
 *
 * appsrc pushes buffers wrapping a few payloads of its own memory, reused
 * as soon as the sink lets go of them (the copying path).  A pad probe on
 * the sink's sink pad stamps every frame just before the sink sees it: the
 * send time (CLOCK_MONOTONIC ns) in bytes 0-7, the frame index in 8-15, a
 * checksum of 12 sampled bytes in 16-23, four of which change per frame
 * (one is the last byte).  A probe on the reader's fakesink checks index,
 * size and checksum of every frame and takes the one-way latency.
 *
 * Rates and CPU time are taken over the frames after a warm-up (the first
 * tenth, at least one ring's worth), each process reading getrusage()
 * (all threads) at the warm-up frame and at the last frame; its whole-life
 * CPU from wait4() is printed with -v.  The memcpy and semaphore limits are
 * measured by the driver in the same run.
 *
 * Run: meson test -C build --benchmark gst-bench -v   (or see --help)
 */

/* sched_setaffinity() and CPU_SET() */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/app/gstappsrc.h>

#define HDR 24                  /* stamp: send time, index, checksum */
#define N_VARY 4                /* bytes rewritten for every frame */
#define N_SAMPLE 8              /* bytes sampled at per-frame positions */
#define KILL_GRACE_S 3
#define MAX_RUNS 64
#define MiB ((size_t) 1 << 20)

/* ------------------------------------------------------------ options */

/* Driver options. */
static gint opt_runs = 3;
static gint opt_pool_runs = 10;
static gdouble opt_scale = 1.0;
static gchar *opt_cases = NULL;
static gdouble opt_deadline = 30.0;
static gdouble opt_pool_deadline = 10.0;
static gchar *opt_pattern = NULL;
static gint opt_ring_mib = 0;
static gchar *opt_wrap_writer = NULL;
static gchar *opt_wrap_reader = NULL;
static gboolean opt_no_limits = FALSE;
static gboolean opt_verbose = FALSE;
static gchar *opt_zerobuffer = NULL;

/* Child options, set by the driver. */
static gchar *opt_role = NULL;
static gchar *opt_transport = NULL;
static gchar *opt_zerosink_props = NULL;
static gchar *opt_caps = NULL;
static gchar *opt_name = NULL;
static gchar *opt_result = NULL;
static gint64 opt_frame = 0;
static gint64 opt_frames = 0;
static gint64 opt_warmup = 0;
static gint64 opt_ring = 0;
static gint64 opt_pace_us = 0;
static gboolean opt_pool = FALSE;
static gint opt_in_flight = 0;
/* A filter run against `serve --handler blank`: answers carry only the
 * request's first 64 bytes (stamp and index), so only those are checked. */
static gboolean opt_head_only = FALSE;
static gint opt_server_pid = 0;

static GOptionEntry entries[] = {
  {"runs", 'r', 0, G_OPTION_ARG_INT, &opt_runs,
      "Runs per transport and case (default 3)", "N"},
  {"pool-runs", 0, 0, G_OPTION_ARG_INT, &opt_pool_runs,
      "Runs per transport of the videotestsrc pool cases (default 10)", "N"},
  {"scale", 's', 0, G_OPTION_ARG_DOUBLE, &opt_scale,
      "Multiply every case's frame count (default 1.0)", "F"},
  {"case", 'c', 0, G_OPTION_ARG_STRING, &opt_cases,
      "Comma-separated cases: rgb1080,i420-2160,4k,4k-100fps,pool1080,"
        "pool1080-black,pool1080-black-256 (the default), filter-4k,filter-4k-100fps,"
        "filter-pool1080,filter-pool1080-smpte,filter-pool1080-blank "
        "(zerofilter round trip against one-way; \"filter\" = all five)",
      "LIST"},
  {"deadline", 0, 0, G_OPTION_ARG_DOUBLE, &opt_deadline,
        "Seconds one run may take before it counts as a stall (default 30)",
      "S"},
  {"pool-deadline", 0, 0, G_OPTION_ARG_DOUBLE, &opt_pool_deadline,
      "Same for the pool cases (default 10)", "S"},
  {"pattern", 0, 0, G_OPTION_ARG_STRING, &opt_pattern,
        "videotestsrc pattern of both pool cases (default: smpte, black)",
      "P"},
  {"ring-mib", 0, 0, G_OPTION_ARG_INT, &opt_ring_mib,
        "Ring (= shm area) size of every selected case, MiB (default: 64 "
        "for video, 2 for 4096-byte frames)", "N"},
  {"wrap-writer", 0, 0, G_OPTION_ARG_STRING, &opt_wrap_writer,
      "Command line to run every writer under, e.g. \"strace -c -f -o "
        "/tmp/w.%p\" (%p: a run counter)", "CMD"},
  {"wrap-reader", 0, 0, G_OPTION_ARG_STRING, &opt_wrap_reader,
      "Same for every reader", "CMD"},
  {"zerosink-props", 0, 0, G_OPTION_ARG_STRING, &opt_zerosink_props,
        "Extra properties of every zerosink writer, e.g. "
        "\"compact-window=12441632\" (also from $ZB_BENCH_ZEROSINK)",
      "PROPS"},
  {"no-limits", 0, 0, G_OPTION_ARG_NONE, &opt_no_limits,
      "Skip the memcpy and semaphore measurements", NULL},
  {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
      "Print every run", NULL},
  {"zerobuffer", 0, 0, G_OPTION_ARG_FILENAME, &opt_zerobuffer,
        "The zerobuffer CLI tool, the echo server of the filter cases "
        "(default: the one of this build tree)", "PATH"},
  {"role", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_role, "", ""},
  {"transport", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_transport,
      "", ""},
  {"caps", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_caps, "", ""},
  {"name", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_name, "", ""},
  {"result", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_result,
      "", ""},
  {"frame", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &opt_frame, "", ""},
  {"frames", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &opt_frames,
      "", ""},
  {"warmup", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &opt_warmup,
      "", ""},
  {"ring", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &opt_ring, "", ""},
  {"pace-us", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &opt_pace_us,
      "", ""},
  {"pool", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opt_pool, "", ""},
  {"in-flight", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &opt_in_flight,
      "", ""},
  {"head-only", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opt_head_only,
      "", ""},
  {"server-pid", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &opt_server_pid,
      "", ""},
  {NULL}
};

/* ------------------------------------------------------------ helpers */

/* ZB_SPIN_US in the environment sets every element's spin-us, so that
 * spinning can be measured the same way as before it became an option;
 * unset, each element keeps its default.  A property string for a launch
 * line, "" or "spin-us=N"; static, as each process asks once. */
static const gchar *
bench_spin_prop (void)
{
  static gchar prop[32];
  const gchar *env = g_getenv ("ZB_SPIN_US");

  if (env == NULL)
    return "";
  g_snprintf (prop, sizeof prop, "spin-us=%u",
      (guint) MIN (g_ascii_strtoull (env, NULL, 10), 10000));
  return prop;
}

static int64_t
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct
{
  int64_t cpu_us;               /* user + system, all threads */
  int64_t csw;                  /* voluntary context switches: sleeps */
  int64_t flt;                  /* page faults (minor + major) */
  int64_t anon_kb;              /* resident private memory (RssAnon) */
  int64_t shmem_kb;             /* resident shared memory (RssShmem) */
} usage;

/* One "Key:   N kB" line of /proc/self/status, or -1. */
static int64_t
status_kb (const char *text, const char *key)
{
  const char *p = strstr (text, key);

  return p ? g_ascii_strtoll (p + strlen (key), NULL, 10) : -1;
}

static usage
usage_now (void)
{
  struct rusage ru;
  usage u;

  getrusage (RUSAGE_SELF, &ru);
  u.cpu_us = (int64_t) ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec
      + (int64_t) ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
  /* involuntary switches only say how busy the machine was */
  u.csw = ru.ru_nvcsw;
  u.flt = ru.ru_minflt + ru.ru_majflt;
  /* Twice per run, so reading /proc costs nothing that shows. */
  {
    gchar *text = NULL;

    u.anon_kb = u.shmem_kb = -1;
    if (g_file_get_contents ("/proc/self/status", &text, NULL, NULL)) {
      u.anon_kb = status_kb (text, "\nRssAnon:");
      u.shmem_kb = status_kb (text, "\nRssShmem:");
    }
    g_free (text);
  }
  return u;
}

/* The same figures for another process (the filter cases' echo server),
 * from /proc: CPU from schedstat (ns; the server has one thread), else
 * from stat (clock ticks); sleeps from its main thread's status. */
static usage
usage_of (pid_t pid)
{
  usage u = { -1, -1, -1, -1, -1 };
  gchar *path, *text = NULL;

  path = g_strdup_printf ("/proc/%d/schedstat", (int) pid);
  if (g_file_get_contents (path, &text, NULL, NULL))
    u.cpu_us = g_ascii_strtoll (text, NULL, 10) / 1000;
  g_free (text);
  g_free (path);
  text = NULL;
  path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  if (g_file_get_contents (path, &text, NULL, NULL) && strrchr (text, ')')) {
    gchar **f = g_strsplit (strrchr (text, ')') + 2, " ", -1);

    /* after "(comm) ": state is field 3; minflt 10, majflt 12, utime 14,
     * stime 15 */
    if (g_strv_length (f) > 12) {
      u.flt = g_ascii_strtoll (f[7], NULL, 10)
          + g_ascii_strtoll (f[9], NULL, 10);
      if (u.cpu_us < 0)
        u.cpu_us = (g_ascii_strtoll (f[11], NULL, 10)
            + g_ascii_strtoll (f[12], NULL, 10)) * 1000000
            / sysconf (_SC_CLK_TCK);
    }
    g_strfreev (f);
  }
  g_free (text);
  g_free (path);
  text = NULL;
  path = g_strdup_printf ("/proc/%d/status", (int) pid);
  if (g_file_get_contents (path, &text, NULL, NULL)) {
    u.csw = status_kb (text, "\nvoluntary_ctxt_switches:");
    u.anon_kb = status_kb (text, "\nRssAnon:");
    u.shmem_kb = status_kb (text, "\nRssShmem:");
  }
  g_free (text);
  g_free (path);
  return u;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* Value at quantile q of v[0..n) (sorts v). */
static double
quantile (double *v, int n, double q)
{
  if (n <= 0)
    return NAN;
  qsort (v, n, sizeof v[0], cmp_double);
  return v[(int) floor (q * (n - 1) + 0.5)];
}

static double
median (const double *v, int n)
{
  double s[MAX_RUNS * 2];
  int k = 0;

  for (int i = 0; i < n; i++)
    if (!isnan (v[i]))
      s[k++] = v[i];
  return quantile (s, k, 0.5);
}

/* ------------------------------------------------------------ stamping */

/* Bytes rewritten for every frame: the first after the header, the last,
 * two in between. */
static inline size_t
vary_pos (size_t size, int k)
{
  return HDR + (size - HDR - 1) * (size_t) k / (N_VARY - 1);
}

/* Sampled bytes move with the frame index so that, over a run, most of
 * the frame is looked at once. */
static inline size_t
sample_pos (size_t size, uint64_t idx, int j)
{
  uint64_t h = (idx + 1) * 0x9E3779B97F4A7C15ull
      + (uint64_t) (j + 1) * 0xBF58476D1CE4E5B9ull;

  h ^= h >> 29;
  return HDR + (size_t) (h % (size - HDR));
}

static inline uint8_t
vary_byte (uint64_t idx, int k)
{
  return (uint8_t) (idx * 131 + (uint64_t) k * 17 + 1);
}

static uint64_t
frame_sum (const uint8_t * p, size_t size, uint64_t idx)
{
  uint64_t s = 0xcbf29ce484222325ull ^ idx;

  for (int k = 0; k < N_VARY; k++)
    s = (s ^ p[vary_pos (size, k)]) * 0x100000001b3ull;
  for (int j = 0; j < N_SAMPLE; j++)
    s = (s ^ p[sample_pos (size, idx, j)]) * 0x100000001b3ull;
  return s;
}

static void
stamp (uint8_t * p, size_t size, uint64_t idx)
{
  uint64_t sum;
  int64_t t;

  for (int k = 0; k < N_VARY; k++)
    p[vary_pos (size, k)] = vary_byte (idx, k);
  sum = frame_sum (p, size, idx);
  memcpy (p + 8, &idx, 8);
  memcpy (p + 16, &sum, 8);
  t = now_ns ();
  memcpy (p, &t, 8);
}

/* 0 when p is frame idx as stamped; else a short reason. */
static const char *
check (const uint8_t * p, size_t size, uint64_t idx)
{
  uint64_t got, sum;

  memcpy (&got, p + 8, 8);
  if (got != idx)
    return "wrong index";
  for (int k = 0; k < N_VARY; k++)
    if (p[vary_pos (size, k)] != vary_byte (idx, k))
      return "stale bytes";
  memcpy (&sum, p + 16, 8);
  if (sum != frame_sum (p, size, idx))
    return "bad checksum";
  return NULL;
}

/* ------------------------------------------------------------ children */

typedef struct
{
  GMainLoop *loop;
  GstElement *pipeline;
  gboolean zero;
  size_t frame;
  uint64_t frames, warmup;
  gchar *error;                 /* first ERROR message on the bus */
  gboolean eos;
  gboolean got_all_before_error;

  /* streaming thread only */
  uint64_t count;
  int64_t t_w, t_last;
  usage u_w, u_last;

  /* reader */
  usage s_w, s_last;            /* the echo server, filter runs only */
  uint64_t bad, extra;
  double *lat;                  /* µs, frames >= warmup */
  uint64_t n_lat;
  gboolean done;

  /* writer */
  uint64_t stamp_fail;
  GstElement *appsrc;
  GThread *pusher;
  gint stop;
  GMutex slot_lock;
  GCond slot_cond;
  guint8 **slot_data;
  gboolean *slot_busy;
  gboolean slot_waiting;
  guint n_slots;
} child;

static gboolean
child_quit (gpointer data)
{
  child *c = data;

  g_main_loop_quit (c->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
child_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  child *c = data;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_EOS:
      c->eos = TRUE;
      g_main_loop_quit (c->loop);
      break;
    case GST_MESSAGE_ERROR:{
      GError *err = NULL;
      gchar *dbg = NULL;

      gst_message_parse_error (msg, &err, &dbg);
      if (c->error == NULL) {
        c->error = g_strdup_printf ("%s: %s", GST_OBJECT_NAME (msg->src),
            err->message);
        c->got_all_before_error = c->count >= c->frames;
      }
      g_printerr ("gst-bench %s %s: ERROR from %s: %s (%s)\n", opt_role,
          opt_transport, GST_OBJECT_NAME (msg->src), err->message,
          dbg ? dbg : "");
      g_clear_error (&err);
      g_free (dbg);
      g_main_loop_quit (c->loop);
      break;
    }
    case GST_MESSAGE_APPLICATION:
      g_main_loop_quit (c->loop);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

/* After the last frame: shmsrc never sees EOS, so its reader stops here;
 * zerosrc should see EOS promptly, and we note whether it did. */
static gboolean
reader_done (gpointer data)
{
  child *c = data;

  if (!c->zero)
    g_main_loop_quit (c->loop);
  else
    g_timeout_add_seconds (3, child_quit, c);
  return G_SOURCE_REMOVE;
}

static GstPadProbeReturn
reader_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  child *c = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  int64_t t = now_ns ();
  uint64_t n = c->count;
  const char *why = NULL;
  GstMapInfo map;

  if (n >= c->frames) {
    c->extra++;
    return GST_PAD_PROBE_OK;
  }
  if (n == c->warmup) {
    c->t_w = t;
    c->u_w = usage_now ();
    if (opt_server_pid > 0)
      c->s_w = usage_of (opt_server_pid);
  }
  if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
    why = "cannot map";
  } else {
    if (map.size != c->frame) {
      why = "wrong size";
    } else {
      int64_t sent;

      if (opt_head_only) {
        uint64_t got;

        memcpy (&got, map.data + 8, 8);
        why = got == n ? NULL : "wrong index";
      } else {
        why = check (map.data, map.size, n);
      }
      memcpy (&sent, map.data, 8);
      if (why == NULL && n >= c->warmup)
        c->lat[c->n_lat++] = (double) (t - sent) / 1e3;
    }
    gst_buffer_unmap (buf, &map);
  }
  if (why != NULL && c->bad++ < 3)
    g_printerr ("gst-bench reader %s: frame %" G_GUINT64_FORMAT ": %s\n",
        opt_transport, n, why);
  c->count++;
  if (c->count == c->frames) {
    c->t_last = t;
    c->u_last = usage_now ();
    if (opt_server_pid > 0)
      c->s_last = usage_of (opt_server_pid);
    c->done = TRUE;
    g_idle_add (reader_done, c);
  }
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
writer_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  child *c = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  uint64_t n = c->count;
  GstMapInfo map;

  if (n == c->warmup) {
    c->t_w = now_ns ();
    c->u_w = usage_now ();
  }
  if (n + 1 == c->frames) {
    c->t_last = now_ns ();
    c->u_last = usage_now ();
  }
  /* In place: the buffer is ours alone here (refcount 1), so this neither
   * copies nor changes what the sink does with it. */
  if (gst_buffer_get_size (buf) == c->frame
      && gst_buffer_map (buf, &map, GST_MAP_WRITE)) {
    stamp (map.data, map.size, n);
    gst_buffer_unmap (buf, &map);
  } else if (c->stamp_fail++ == 0) {
    g_printerr ("gst-bench writer %s: cannot stamp frame %" G_GUINT64_FORMAT
        " (writable: %d)\n", opt_transport, n, gst_buffer_is_writable (buf));
  }
  c->count++;
  return GST_PAD_PROBE_OK;
}

typedef struct
{
  child *c;
  guint i;
} slot_ref;

static void
slot_free (gpointer data)
{
  slot_ref *r = data;

  g_mutex_lock (&r->c->slot_lock);
  r->c->slot_busy[r->i] = FALSE;
  /* GLib's g_cond_signal() always enters the kernel: only when needed */
  if (r->c->slot_waiting)
    g_cond_signal (&r->c->slot_cond);
  g_mutex_unlock (&r->c->slot_lock);
}

/* Pushes the frames from a few payloads of our own memory, each reused as
 * soon as the sink has let go of it. */
static gpointer
pusher (gpointer data)
{
  child *c = data;
  slot_ref *refs = g_new (slot_ref, c->n_slots);
  int64_t t0 = now_ns () + 20000000;

  for (guint i = 0; i < c->n_slots; i++) {
    refs[i].c = c;
    refs[i].i = i;
  }
  for (uint64_t n = 0; n < c->frames && !g_atomic_int_get (&c->stop); n++) {
    guint i = n % c->n_slots;
    GstBuffer *buf;

    if (opt_pace_us > 0) {
      int64_t due = t0 + (int64_t) n * opt_pace_us * 1000;
      struct timespec ts = { due / 1000000000, due % 1000000000 };

      while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)
          == EINTR);
    }
    g_mutex_lock (&c->slot_lock);
    while (c->slot_busy[i] && !g_atomic_int_get (&c->stop)) {
      c->slot_waiting = TRUE;
      g_cond_wait (&c->slot_cond, &c->slot_lock);
      c->slot_waiting = FALSE;
    }
    c->slot_busy[i] = TRUE;
    g_mutex_unlock (&c->slot_lock);
    buf = gst_buffer_new_wrapped_full (0, c->slot_data[i], c->frame, 0,
        c->frame, &refs[i], slot_free);
    if (gst_app_src_push_buffer (GST_APP_SRC (c->appsrc), buf) != GST_FLOW_OK)
      break;
  }
  gst_app_src_end_of_stream (GST_APP_SRC (c->appsrc));
  /* refs must outlive every buffer: freed after the pipeline is down */
  return refs;
}

/* Stops @c's pusher (when it has one) and @pipeline; what the pusher
 * returned (its slot references), or NULL. */
static gpointer
writer_stop (child * c, GstElement * pipeline)
{
  g_atomic_int_set (&c->stop, 1);
  if (c->appsrc) {
    g_mutex_lock (&c->slot_lock);
    g_cond_broadcast (&c->slot_cond);
    g_mutex_unlock (&c->slot_lock);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return c->pusher ? g_thread_join (c->pusher) : NULL;
}

static gboolean
on_signal (gpointer data)
{
  child *c = data;

  g_printerr ("gst-bench %s %s: terminated at frame %" G_GUINT64_FORMAT "\n",
      opt_role, opt_transport, c->count);
  g_main_loop_quit (c->loop);
  return G_SOURCE_CONTINUE;
}

static GstElement *
child_pipeline (const char *desc)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);

  if (p == NULL || err != NULL) {
    g_printerr ("gst-bench: cannot build \"%s\": %s\n", desc,
        err ? err->message : "?");
    /* a missing plugin (e.g. shm from -bad) skips the benchmark */
    exit (err && g_error_matches (err, GST_PARSE_ERROR,
            GST_PARSE_ERROR_NO_SUCH_ELEMENT) ? 77 : 2);
  }
  return p;
}

static void
put_usage (FILE * f, const child * c, uint64_t frames)
{
  fprintf (f, "frames %" G_GUINT64_FORMAT "\n", frames);
  fprintf (f, "window_frames %" G_GUINT64_FORMAT "\n",
      c->frames - 1 - c->warmup);
  fprintf (f, "t_w %" G_GINT64_FORMAT "\nt_last %" G_GINT64_FORMAT "\n",
      c->t_w, c->t_last);
  fprintf (f, "cpu_us %" G_GINT64_FORMAT "\ncsw %" G_GINT64_FORMAT "\n",
      c->u_last.cpu_us - c->u_w.cpu_us, c->u_last.csw - c->u_w.csw);
  fprintf (f, "flt %" G_GINT64_FORMAT "\n", c->u_last.flt - c->u_w.flt);
  fprintf (f, "anon_w %" G_GINT64_FORMAT "\nanon_last %" G_GINT64_FORMAT
      "\nshmem_last %" G_GINT64_FORMAT "\n", c->u_w.anon_kb,
      c->u_last.anon_kb, c->u_last.shmem_kb);
  fprintf (f, "eos %d\n", c->eos);
  if (c->error)
    fprintf (f, "error %d %s\n", c->got_all_before_error, c->error);
}

static int
run_reader (void)
{
  child c = { 0 };
  gchar *desc;
  GstElement *sink;
  GstPad *pad;
  FILE *f;
  guint64 copied = 0, polled = 0;

  c.zero = g_str_equal (opt_transport, "zero");
  c.frame = opt_frame;
  c.frames = opt_frames;
  c.warmup = opt_warmup;
  /* Zeroed, so its pages are resident before the window: RSS growth in
   * the window is the transport's, not this array's. */
  c.lat = g_new (double, c.frames);
  for (uint64_t i = 0; i < c.frames; i++)
    c.lat[i] = -1.0;            /* not 0: malloc+zeroing becomes calloc */
  if (c.zero)
    desc = g_strdup_printf ("zerosrc name=src buffer-name=%s "
        "payload-size=%" G_GINT64_FORMAT " %s ! fakesink name=sink "
        "sync=false enable-last-sample=false", opt_name, opt_ring,
        bench_spin_prop ());
  else
    desc = g_strdup_printf ("shmsrc name=src socket-path=%s is-live=true ! "
        "%s ! fakesink name=sink sync=false enable-last-sample=false",
        opt_name, opt_caps);
  c.pipeline = child_pipeline (desc);
  g_free (desc);
  c.loop = g_main_loop_new (NULL, FALSE);
  sink = gst_bin_get_by_name (GST_BIN (c.pipeline), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, reader_probe, &c, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);
  gst_bus_add_watch (GST_ELEMENT_BUS (c.pipeline), child_bus, &c);
  g_unix_signal_add (SIGTERM, on_signal, &c);
  g_unix_signal_add (SIGINT, on_signal, &c);

  gst_element_set_state (c.pipeline, GST_STATE_PLAYING);
  g_main_loop_run (c.loop);
  if (c.zero) {
    GstElement *src = gst_bin_get_by_name (GST_BIN (c.pipeline), "src");

    g_object_get (src, "frames-copied", &copied, "frames-polled", &polled,
        NULL);
    gst_object_unref (src);
  }
  gst_element_set_state (c.pipeline, GST_STATE_NULL);

  f = fopen (opt_result, "w");
  if (f == NULL)
    return 2;
  put_usage (f, &c, c.count);
  fprintf (f, "done %d\nbad %" G_GUINT64_FORMAT "\nextra %" G_GUINT64_FORMAT
      "\ncopied %" G_GUINT64_FORMAT "\npolled %" G_GUINT64_FORMAT "\n", c.done,
      c.bad, c.extra, copied, polled);
  if (c.n_lat > 0) {
    fprintf (f, "lat_p50 %.1f\n", quantile (c.lat, c.n_lat, 0.5));
    fprintf (f, "lat_p99 %.1f\n", quantile (c.lat, c.n_lat, 0.99));
    fprintf (f, "lat_max %.1f\n", quantile (c.lat, c.n_lat, 1.0));
  }
  fclose (f);
  gst_object_unref (c.pipeline);
  return 0;
}

/* The appsrc named "src" of c->pipeline and the payloads pusher() pushes
 * from. */
static void
writer_slots (child * c)
{
  GstCaps *caps = gst_caps_from_string (opt_caps);
  /* appsrc blocks beyond max-bytes; a few more payloads than it can queue
   * keep the push thread from waiting on our own slots. */
  guint64 max_bytes = 200000;

  c->appsrc = gst_bin_get_by_name (GST_BIN (c->pipeline), "src");
  g_object_set (c->appsrc, "block", TRUE, "max-bytes", max_bytes,
      "format", GST_FORMAT_BYTES, NULL);
  gst_app_src_set_caps (GST_APP_SRC (c->appsrc), caps);
  gst_caps_unref (caps);
  c->n_slots = (guint) (max_bytes / c->frame) + 4;
  c->slot_data = g_new (guint8 *, c->n_slots);
  c->slot_busy = g_new0 (gboolean, c->n_slots);
  g_mutex_init (&c->slot_lock);
  g_cond_init (&c->slot_cond);
  for (guint i = 0; i < c->n_slots; i++) {
    c->slot_data[i] = g_malloc (c->frame);
    /* same content in every run and transport */
    for (size_t k = 0; k < c->frame; k++)
      c->slot_data[i][k] = (guint8) ((k * 0x9E3779B1u) >> 24);
  }
}

static int
run_writer (void)
{
  child c = { 0 };
  gchar *desc, *sink_desc, *src_desc;
  GstElement *sink;
  GstPad *pad;
  FILE *f;
  gpointer refs = NULL;
  guint64 copied = 0, written = 0, reused = 0;

  c.zero = g_str_equal (opt_transport, "zero");
  c.frame = opt_frame;
  c.frames = opt_frames;
  c.warmup = opt_warmup;
  if (c.zero)
    sink_desc = g_strdup_printf ("zerosink name=sink buffer-name=%s "
        "%s %s", opt_name, bench_spin_prop (),
        g_getenv ("ZB_BENCH_ZEROSINK") ? g_getenv ("ZB_BENCH_ZEROSINK") : "");
  else if (g_str_equal (opt_transport, "none"))
    sink_desc = g_strdup ("fakesink name=sink");
  else if (g_str_equal (opt_transport, "queue"))
    sink_desc = g_strdup ("queue max-size-buffers=1 ! fakesink name=sink");
  else
    sink_desc = g_strdup_printf ("shmsink name=sink socket-path=%s "
        "shm-size=%" G_GINT64_FORMAT " wait-for-connection=true", opt_name,
        opt_ring);
  if (opt_pool)
    src_desc = g_strdup_printf ("videotestsrc name=src num-buffers=%"
        G_GINT64_FORMAT " pattern=%s ! %s", opt_frames,
        opt_pattern ? opt_pattern : "smpte", opt_caps);
  else
    src_desc = g_strdup ("appsrc name=src");
  desc = g_strdup_printf ("%s ! %s sync=false enable-last-sample=false",
      src_desc, sink_desc);
  c.pipeline = child_pipeline (desc);
  g_free (desc);
  g_free (src_desc);
  g_free (sink_desc);

  c.loop = g_main_loop_new (NULL, FALSE);
  sink = gst_bin_get_by_name (GST_BIN (c.pipeline), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, writer_probe, &c, NULL);
  gst_object_unref (pad);
  gst_bus_add_watch (GST_ELEMENT_BUS (c.pipeline), child_bus, &c);
  g_unix_signal_add (SIGTERM, on_signal, &c);
  g_unix_signal_add (SIGINT, on_signal, &c);

  if (!opt_pool)
    writer_slots (&c);

  gst_element_set_state (c.pipeline, GST_STATE_PLAYING);
  if (c.appsrc)
    c.pusher = g_thread_new ("pusher", pusher, &c);
  g_main_loop_run (c.loop);

  if (c.zero) {
    g_object_get (sink, "frames-copied", &copied, "frames-written", &written,
        "frames-reused", &reused, NULL);
  }
  gst_object_unref (sink);
  refs = writer_stop (&c, c.pipeline);

  f = fopen (opt_result, "w");
  if (f == NULL)
    return 2;
  put_usage (f, &c, c.count);
  fprintf (f, "stamp_fail %" G_GUINT64_FORMAT "\n", c.stamp_fail);
  if (c.zero)
    fprintf (f, "copied %" G_GUINT64_FORMAT "\nwritten %" G_GUINT64_FORMAT
        "\nreused %" G_GUINT64_FORMAT "\n", copied, written, reused);
  fclose (f);
  if (c.appsrc)
    gst_object_unref (c.appsrc);
  gst_object_unref (c.pipeline);
  g_free (refs);
  return 0;
}

/* One process, both ends: the source (appsrc as the writer's, or
 * videotestsrc into zerofilter's pool) stamped on zerofilter's sink pad,
 * the answers checked on fakesink's sink pad; the echo server is another
 * process (--server-pid), whose CPU in the window is read from /proc. */
static int
run_filter (void)
{
  child cw = { 0 }, cr = { 0 };
  gchar *desc, *src_desc;
  GstElement *filter, *sink;
  GstPad *pad;
  FILE *f;
  gpointer refs = NULL;
  guint64 sent = 0, answered = 0, dropped = 0, late = 0, req_copied = 0,
      ans_copied = 0, rtt_mean = 0;

  cw.zero = cr.zero = TRUE;     /* EOS must come through */
  cw.frame = cr.frame = opt_frame;
  cw.frames = cr.frames = opt_frames;
  cw.warmup = cr.warmup = opt_warmup;
  cr.lat = g_new (double, cr.frames);
  for (uint64_t i = 0; i < cr.frames; i++)
    cr.lat[i] = -1.0;
  if (opt_pool)
    src_desc = g_strdup_printf ("videotestsrc name=src num-buffers=%"
        G_GINT64_FORMAT " pattern=%s ! %s", opt_frames,
        opt_pattern ? opt_pattern : "smpte", opt_caps);
  else
    src_desc = g_strdup ("appsrc name=src");
  desc = g_strdup_printf ("%s ! zerofilter name=filter channel-name=%s "
      "max-in-flight=%d %s ! fakesink name=sink sync=false "
      "enable-last-sample=false", src_desc, opt_name, opt_in_flight,
      bench_spin_prop ());
  cw.pipeline = cr.pipeline = child_pipeline (desc);
  g_free (desc);
  g_free (src_desc);
  cw.loop = cr.loop = g_main_loop_new (NULL, FALSE);

  filter = gst_bin_get_by_name (GST_BIN (cr.pipeline), "filter");
  pad = gst_element_get_static_pad (filter, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, writer_probe, &cw, NULL);
  gst_object_unref (pad);
  sink = gst_bin_get_by_name (GST_BIN (cr.pipeline), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, reader_probe, &cr, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);
  gst_bus_add_watch (GST_ELEMENT_BUS (cr.pipeline), child_bus, &cr);
  g_unix_signal_add (SIGTERM, on_signal, &cr);
  g_unix_signal_add (SIGINT, on_signal, &cr);
  if (!opt_pool)
    writer_slots (&cw);

  gst_element_set_state (cr.pipeline, GST_STATE_PLAYING);
  if (cw.appsrc)
    cw.pusher = g_thread_new ("pusher", pusher, &cw);
  g_main_loop_run (cr.loop);

  g_object_get (filter, "frames-sent", &sent, "frames-answered", &answered,
      "frames-dropped", &dropped, "frames-late", &late, "requests-copied",
      &req_copied, "answers-copied", &ans_copied, "round-trip-mean",
      &rtt_mean, NULL);
  gst_object_unref (filter);
  refs = writer_stop (&cw, cr.pipeline);

  f = fopen (opt_result, "w");
  if (f == NULL)
    return 2;
  put_usage (f, &cr, cr.count);
  fprintf (f, "done %d\nbad %" G_GUINT64_FORMAT "\nextra %" G_GUINT64_FORMAT
      "\nstamp_fail %" G_GUINT64_FORMAT "\n", cr.done, cr.bad, cr.extra,
      cw.stamp_fail);
  if (cr.n_lat > 0) {
    fprintf (f, "lat_p50 %.1f\n", quantile (cr.lat, cr.n_lat, 0.5));
    fprintf (f, "lat_p99 %.1f\n", quantile (cr.lat, cr.n_lat, 0.99));
    fprintf (f, "lat_max %.1f\n", quantile (cr.lat, cr.n_lat, 1.0));
  }
  if (cr.done && cr.s_w.cpu_us >= 0 && cr.s_last.cpu_us >= 0)
    fprintf (f, "srv_cpu_us %" G_GINT64_FORMAT "\nsrv_csw %" G_GINT64_FORMAT
        "\nsrv_flt %" G_GINT64_FORMAT "\nsrv_anon_w %" G_GINT64_FORMAT
        "\nsrv_anon_last %" G_GINT64_FORMAT "\nsrv_shmem_last %"
        G_GINT64_FORMAT "\n", cr.s_last.cpu_us - cr.s_w.cpu_us,
        cr.s_last.csw - cr.s_w.csw, cr.s_last.flt - cr.s_w.flt,
        cr.s_w.anon_kb, cr.s_last.anon_kb, cr.s_last.shmem_kb);
  fprintf (f, "sent %" G_GUINT64_FORMAT "\nanswered %" G_GUINT64_FORMAT
      "\ndropped %" G_GUINT64_FORMAT "\nlate %" G_GUINT64_FORMAT
      "\nreq_copied %" G_GUINT64_FORMAT "\nans_copied %" G_GUINT64_FORMAT
      "\nrtt_mean_ns %" G_GUINT64_FORMAT "\n", sent, answered, dropped, late,
      req_copied, ans_copied, rtt_mean);
  fclose (f);
  if (cw.appsrc)
    gst_object_unref (cw.appsrc);
  gst_object_unref (cr.pipeline);
  g_free (refs);
  return 0;
}

/* ------------------------------------------------------------ limits */

typedef struct
{
  double us;                    /* per frame */
  double gbps;
} copy_limit;

#define N_FILL_SLOTS 5

typedef struct
{
  size_t frame;
  copy_limit ram;               /* pools far larger than the cache */
  copy_limit like_writer;       /* appsrc's payloads into a ring */
  /* memcpy of one cached frame into k slots of shared memory taken in
   * turn, as videotestsrc with a still pattern (it copies the frame it
   * drew once) into a ring (or a pool) of k frames does: what the working
   * set costs (pool cases only, frames of 1 MB and more) */
  size_t fill_slots[N_FILL_SLOTS];
  copy_limit fill[N_FILL_SLOTS];
} memcpy_limit;

typedef struct
{
  /* sem_post + sem_wait round trips between two processes (two wakes) */
  double same_cpu_us;           /* both pinned to one CPU */
  double cross_cpu_us;          /* pinned to two CPUs, back to back */
  double cross_idle_p50_us;     /* two CPUs, after 10 ms of idleness */
  double cross_idle_p99_us;
  double no_sleeper_ns;         /* sem_post + sem_wait, nobody asleep */
  /* CPU one side spends per round trip across two CPUs (one post, one
   * sleep and wake-up): what a process woken once per frame pays */
  double cross_cpu_per_wake_us;
  /* the poster's time in a sem_post that wakes a process asleep for
   * 200 us on the other CPU: a writer's cost per frame when its reader
   * sleeps between frames (p50) */
  double post_wake_us;
} sem_limit;

static void *
alloc_touched (size_t size)
{
  uint8_t *p = mmap (NULL, size, PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

  if (p == MAP_FAILED) {
    g_printerr ("gst-bench: cannot map %zu bytes\n", size);
    exit (1);
  }
  for (size_t k = 0; k < size; k += 4096)
    p[k] = (uint8_t) k;
  return p;
}

/* What is timed per frame: frame bytes copied from src (ns frames) to dst
 * (nd frames), each taken in turn. */
typedef struct
{
  uint8_t *src, *dst;
  size_t ns, nd, frame;
} copy_job;

static void
copy_job_run (const copy_job * job, uint64_t i)
{
  uint8_t *to = job->dst + (i % job->nd) * job->frame;

  memcpy (to, job->src + (i % job->ns) * job->frame, job->frame);
}

/* µs per frame of job; median of 3 timings of about 0.3 s. */
static copy_limit
time_copy_job (const copy_job * job)
{
  double v[3];
  uint64_t i = 0;
  copy_limit l;

  for (int rep = -1; rep < 3; rep++) {
    int64_t t0 = now_ns (), t;
    uint64_t n = 0;

    do {
      for (int k = 0; k < 8; k++, i++, n++)
        copy_job_run (job, i);
      t = now_ns ();
    } while (t - t0 < 300000000);
    if (rep >= 0)
      v[rep] = (double) (t - t0) / 1e3 / (double) n;
  }
  l.us = median (v, 3);
  l.gbps = (double) job->frame / l.us / 1e3;
  return l;
}

static copy_limit
time_memcpy (uint8_t * src, size_t ns, uint8_t * dst, size_t nd, size_t frame)
{
  copy_job job = { src, dst, ns, nd, frame };

  return time_copy_job (&job);
}

/* Shared memory as a ring is (tmpfs, MAP_SHARED), every page touched. */
static uint8_t *
alloc_shared_touched (size_t size)
{
  int fd = memfd_create ("gst-bench-fill", MFD_CLOEXEC);
  uint8_t *p;

  if (fd < 0 || ftruncate (fd, (off_t) size) != 0) {
    g_printerr ("gst-bench: cannot make %zu bytes of shared memory\n", size);
    exit (1);
  }
  p = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close (fd);
  if (p == MAP_FAILED) {
    g_printerr ("gst-bench: cannot map %zu bytes\n", size);
    exit (1);
  }
  memset (p, 1, size);
  return p;
}

static void
measure_fill (memcpy_limit * out, size_t ring)
{
  size_t ks[N_FILL_SLOTS] = { 1, 2, 3, 4, 0 };
  size_t k_ring = ring / out->frame, size;
  uint8_t *src, *dst;

  ks[N_FILL_SLOTS - 1] = MAX (k_ring, 5);
  size = ks[N_FILL_SLOTS - 1] * out->frame;
  src = alloc_touched (out->frame);
  dst = alloc_shared_touched (size);
  for (int j = 0; j < N_FILL_SLOTS; j++) {
    out->fill_slots[j] = ks[j];
    out->fill[j] = time_memcpy (src, 1, dst, ks[j], out->frame);
  }
  munmap (dst, size);
  munmap (src, out->frame);
}

static void
measure_memcpy (memcpy_limit * out, int n, const size_t * frames,
    const size_t * rings)
{
  long llc = sysconf (_SC_LEVEL3_CACHE_SIZE);
  size_t pool = llc > 0 ? (size_t) llc * 4 : 1024 * MiB;
  uint8_t *src, *dst;

  /* far larger than the last-level cache, so every byte comes from RAM */
  pool = MAX (256 * MiB, MIN (pool, 1024 * MiB));
  src = alloc_touched (pool);
  dst = alloc_touched (pool);
  for (int i = 0; i < n; i++) {
    size_t slots = 200000 / frames[i] + 4;

    out[i].frame = frames[i];
    out[i].ram = time_memcpy (src, pool / frames[i], dst, pool / frames[i],
        frames[i]);
    out[i].like_writer = time_memcpy (src, slots, dst, rings[i] / frames[i],
        frames[i]);
    out[i].fill_slots[0] = 0;
    if (frames[i] >= 1024 * 1024)
      measure_fill (&out[i], rings[i]);
  }
  munmap (src, pool);
  munmap (dst, pool);
}

struct sem_pair
{
  sem_t ping, pong, self;
  volatile int stop;
};

static void
pin (pid_t pid, int cpu)
{
  cpu_set_t set;

  CPU_ZERO (&set);
  CPU_SET (cpu, &set);
  sched_setaffinity (pid, sizeof set, &set);
}

/* A child that answers every ping with a pong until sh->stop. */
static pid_t
ponger (struct sem_pair *sh)
{
  pid_t pid;

  sh->stop = 0;
  /* the driver has no threads: a plain fork is safe */
  pid = fork ();
  if (pid == 0) {
    for (;;) {
      while (sem_wait (&sh->ping) != 0);
      if (sh->stop)
        _exit (0);
      sem_post (&sh->pong);
    }
  }
  return pid;
}

/* Median round trip of short chunks: a 2-vCPU VM loses whole milliseconds
 * now and then, which would swamp one long average.  idle: instead, 100
 * round trips each after 10 ms asleep; p50 and p99. */
static void
ping_pong (struct sem_pair *sh, int cpu_a, int cpu_b, gboolean idle,
    double *p50, double *p99, double *cpu_per_trip)
{
  double v[100];
  int n = idle ? 100 : 11;
  pid_t pid;
  usage u0;
  uint64_t trips = 0;

  pid = ponger (sh);
  if (cpu_a >= 0) {
    pin (0, cpu_a);
    pin (pid, cpu_b);
  }
  for (int k = 0; k < 1000; k++) {
    sem_post (&sh->ping);
    while (sem_wait (&sh->pong) != 0);
  }
  u0 = usage_now ();
  for (int c = 0; c < n; c++) {
    int64_t t0, t;
    uint64_t k = 0;

    if (idle) {
      struct timespec ts = { 0, 10000000 };

      nanosleep (&ts, NULL);
    }
    t0 = now_ns ();
    do {
      sem_post (&sh->ping);
      while (sem_wait (&sh->pong) != 0);
      k++;
      t = now_ns ();
    } while (!idle && t - t0 < 50000000);
    v[c] = (double) (t - t0) / 1e3 / (double) k;
    trips += k;
  }
  if (cpu_per_trip)
    *cpu_per_trip = (double) (usage_now ().cpu_us - u0.cpu_us) / trips;
  sh->stop = 1;
  sem_post (&sh->ping);
  waitpid (pid, NULL, 0);
  *p50 = quantile (v, n, 0.5);
  if (p99)
    *p99 = quantile (v, n, 0.99);
}

/* post_wake_us of sem_limit: 300 posts, each after 200 us in which the
 * other side went to sleep. */
static double
post_cost (struct sem_pair *sh, int cpu_a, int cpu_b)
{
  double v[300];
  pid_t pid;

  pid = ponger (sh);
  pin (0, cpu_a);
  pin (pid, cpu_b);
  for (int k = 0; k < 300; k++) {
    int64_t t0 = now_ns (), t;

    /* busy, as a writer drawing a frame is */
    while (now_ns () - t0 < 200000);
    t = now_ns ();
    sem_post (&sh->ping);
    v[k] = (double) (now_ns () - t) / 1e3;
    while (sem_wait (&sh->pong) != 0);
  }
  sh->stop = 1;
  sem_post (&sh->ping);
  waitpid (pid, NULL, 0);
  return quantile (v, 300, 0.5);
}

static void
measure_sem (sem_limit * out)
{
  struct sem_pair *sh;
  cpu_set_t mine;
  int cpus[2] = { -1, -1 }, n = 0;
  int64_t t0;

  sh = mmap (NULL, sizeof *sh, PROT_READ | PROT_WRITE,
      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  g_assert (sh != MAP_FAILED);
  sem_init (&sh->ping, 1, 0);
  sem_init (&sh->pong, 1, 0);
  sem_init (&sh->self, 0, 0);
  sched_getaffinity (0, sizeof mine, &mine);
  for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
    if (CPU_ISSET (c, &mine))
      cpus[n++] = c;

  out->same_cpu_us = out->cross_cpu_us = NAN;
  out->cross_idle_p50_us = out->cross_idle_p99_us = NAN;
  out->cross_cpu_per_wake_us = out->post_wake_us = NAN;
  ping_pong (sh, cpus[0], cpus[0], FALSE, &out->same_cpu_us, NULL, NULL);
  if (n == 2) {
    out->post_wake_us = post_cost (sh, cpus[0], cpus[1]);
    ping_pong (sh, cpus[0], cpus[1], FALSE, &out->cross_cpu_us, NULL,
        &out->cross_cpu_per_wake_us);
    ping_pong (sh, cpus[0], cpus[1], TRUE, &out->cross_idle_p50_us,
        &out->cross_idle_p99_us, NULL);
  }
  sched_setaffinity (0, sizeof mine, &mine);

  t0 = now_ns ();
  for (int k = 0; k < 1000000; k++) {
    sem_post (&sh->self);
    while (sem_wait (&sh->self) != 0);
  }
  out->no_sleeper_ns = (double) (now_ns () - t0) / 1e6;
  munmap (sh, sizeof *sh);
}

/* ------------------------------------------------------------ driver */

typedef struct
{
  const char *id;
  const char *label;
  const char *caps;
  size_t frame;
  size_t ring;                  /* zerosrc payload-size = shmsink shm-size */
  int frames;
  int pace_us;
  gboolean pool;
  const char *pattern;          /* videotestsrc pattern of a pool case */
  int in_flight;                /* > 0: a filter case, zerofilter's
                                 * max-in-flight; the one-way zero runs
                                 * alternate with round trips, not shm */
  const char *handler;          /* the server's --handler; NULL = echo */
} bench_case;

#define CAPS_RGB1080 \
  "video/x-raw,format=RGB,width=1920,height=1080,framerate=30/1"

static const bench_case cases[] = {
  {"rgb1080", "1920x1080 RGB, appsrc (copying path)", CAPS_RGB1080,
      6220800, 64 * MiB, 1500, 0, FALSE},
  {"i420-2160", "3840x2160 I420, appsrc (copying path)",
        "video/x-raw,format=I420,width=3840,height=2160,framerate=30/1",
      12441600, 64 * MiB, 800, 0, FALSE},
  {"4k", "4096-byte frames, appsrc, unpaced", "application/octet-stream",
      4096, 2 * MiB, 120000, 0, FALSE},
  {"4k-100fps", "4096-byte frames, appsrc, paced at 100 fps",
      "application/octet-stream", 4096, 2 * MiB, 200, 10000, FALSE},
  /* smpte is videotestsrc's default and costs ~3 ms a frame to draw, so
   * the transport hardly shows; black is a plain fill and shows it. */
  {"pool1080", "1920x1080 RGB, videotestsrc (smpte) into the sink's pool",
      CAPS_RGB1080, 6220800, 64 * MiB, 300, 0, TRUE, "smpte"},
  {"pool1080-black", "1920x1080 RGB, videotestsrc (black) into the sink's "
        "pool", CAPS_RGB1080, 6220800, 64 * MiB, 1000, 0, TRUE, "black"},
  /* the rocket-welder SDK's default buffer: a ring of 43 frames */
  {"pool1080-black-256", "1920x1080 RGB, videotestsrc (black) into the "
        "sink's pool, 256 MiB ring", CAPS_RGB1080, 6220800, 256 * MiB, 1000,
      0, TRUE, "black"},
  /* One-way zerosink -> zerosrc against the round trip appsrc/videotestsrc
   * ! zerofilter ! fakesink through `zerobuffer serve --handler echo`;
   * the server's request ring is the one-way ring.  Only with -c. */
  {"filter-4k", "4096-byte frames, appsrc, unpaced: one-way vs zerofilter "
        "round trip, max-in-flight 1", "application/octet-stream", 4096,
      2 * MiB, 30000, 0, FALSE, NULL, 1},
  {"filter-4k-100fps", "4096-byte frames, appsrc, paced at 100 fps: one-way "
        "vs zerofilter round trip, max-in-flight 1",
        "application/octet-stream", 4096, 2 * MiB, 200, 10000, FALSE, NULL,
      1},
  /* black: smpte's 2.3-3.3 ms per frame would hide both transports */
  {"filter-pool1080", "1920x1080 RGB, videotestsrc (black) into the "
        "element's pool: one-way vs zerofilter, max-in-flight 4",
        CAPS_RGB1080, 6220800, 64 * MiB, 1000, 0, TRUE, "black", 4},
  /* videotestsrc's default pattern: a producer that takes its time, as
   * real sources do; the echo's copy overlaps with it. */
  {"filter-pool1080-smpte", "1920x1080 RGB, videotestsrc (smpte) into the "
        "element's pool: one-way vs zerofilter, max-in-flight 4",
        CAPS_RGB1080, 6220800, 64 * MiB, 300, 0, TRUE, "smpte", 4},
  /* The same through a server that does not touch the frame's bytes
   * (answers carry the request's first 64 bytes): the transport alone,
   * without the echo's 6 MB copy per frame. */
  {"filter-pool1080-blank", "1920x1080 RGB, videotestsrc (black) into the "
        "element's pool: one-way vs zerofilter, max-in-flight 4, "
        "server --handler blank", CAPS_RGB1080, 6220800, 64 * MiB, 1000, 0,
      TRUE, "black", 4, "blank"},
};

#define N_CASES G_N_ELEMENTS (cases)

typedef struct
{
  gboolean ok, stalled;
  double fps, mbps, wcpu, rcpu, wcsw, rcsw, wflt, rflt, p50, p99, max;
  double w_total_ms, r_total_ms;        /* whole-life CPU, from wait4() */
  /* resident KiB: private at the warm-up frame and its growth to the last
   * frame, shared (the ring's touched pages) at the last */
  double w_anon, w_grow, w_shmem, r_anon, r_grow, r_shmem;
  guint64 w_copied, r_copied, w_written, r_polled, w_reused;
  /* filter runs: zerofilter's counters at the end, and its own mean round
   * trip (commit of a request to its answer) */
  guint64 f_sent, f_answered, f_dropped, f_late, f_req_copied, f_ans_copied;
  double f_rtt_us;
  gchar *note;
} run_result;

static char self_exe[4096];
static char tmpdir[64] = "/tmp/gst-bench-XXXXXX";
static sigset_t driver_sigs, old_mask;
static gboolean aborted;
static gboolean skipped;
static unsigned run_counter;

/* Runs exe (NULL: this binary) with args, under wrap; out_fd >= 0
 * becomes its stdout. */
static pid_t
spawn_exe (const char *wrap, const char *exe, GPtrArray * args, int out_fd)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  pid_t pid;

  if (wrap != NULL) {
    gchar **w = NULL;
    gchar *id = g_strdup_printf ("%u", run_counter);

    if (!g_shell_parse_argv (wrap, NULL, &w, NULL)) {
      g_printerr ("gst-bench: cannot parse \"%s\"\n", wrap);
      exit (2);
    }
    for (int i = 0; w[i]; i++) {
      gchar **parts = g_strsplit (w[i], "%p", -1);

      g_ptr_array_add (argv, g_strjoinv (id, parts));
      g_strfreev (parts);
    }
    g_strfreev (w);
    g_free (id);
  }
  g_ptr_array_add (argv, g_strdup (exe ? exe : self_exe));
  for (guint i = 0; i < args->len; i++)
    g_ptr_array_add (argv, g_strdup (args->pdata[i]));
  g_ptr_array_add (argv, NULL);
  fflush (stdout);
  pid = fork ();
  if (pid == 0) {
    sigprocmask (SIG_SETMASK, &old_mask, NULL);
    if (out_fd >= 0 && dup2 (out_fd, STDOUT_FILENO) < 0)
      _exit (127);
    execvp (argv->pdata[0], (char **) argv->pdata);
    _exit (127);
  }
  g_ptr_array_unref (argv);
  return pid;
}

static pid_t
spawn (const char *wrap, GPtrArray * args)
{
  return spawn_exe (wrap, NULL, args, -1);
}

/* Sleeps until a signal or deadline; notes an interrupt from the user. */
static void
driver_sleep (int64_t until)
{
  int64_t left = until - now_ns ();
  struct timespec ts;
  int sig;

  if (left <= 0)
    return;
  ts.tv_sec = left / 1000000000;
  ts.tv_nsec = left % 1000000000;
  sig = sigtimedwait (&driver_sigs, NULL, &ts);
  if (sig == SIGINT || sig == SIGTERM)
    aborted = TRUE;
}

typedef struct
{
  pid_t pid;
  gboolean reaped;
  int status;
  struct rusage ru;
} proc;

static void
reap (proc * p)
{
  if (!p->reaped && p->pid > 0
      && wait4 (p->pid, &p->status, WNOHANG, &p->ru) == p->pid)
    p->reaped = TRUE;
}

/* Waits for every process in ps; FALSE at the deadline or on ^C. */
static gboolean
wait_all (proc * ps, int n, int64_t deadline)
{
  for (;;) {
    gboolean all = TRUE;

    for (int i = 0; i < n; i++) {
      reap (&ps[i]);
      all = all && ps[i].reaped;
    }
    if (all)
      return TRUE;
    if (aborted || now_ns () >= deadline)
      return FALSE;
    driver_sleep (deadline);
  }
}

/* SIGTERM lets a stuck child shut its pipeline down and clean up; SIGKILL
 * if it cannot. */
static void
terminate (proc * ps, int n)
{
  for (int i = 0; i < n; i++)
    if (!ps[i].reaped && ps[i].pid > 0)
      kill (ps[i].pid, SIGTERM);
  if (wait_all (ps, n, now_ns () + (int64_t) KILL_GRACE_S * 1000000000))
    return;
  for (int i = 0; i < n; i++)
    if (!ps[i].reaped && ps[i].pid > 0) {
      kill (ps[i].pid, SIGKILL);
      waitpid (ps[i].pid, &ps[i].status, 0);
      ps[i].reaped = TRUE;
    }
}

/* Waits for path to appear while p is alive. */
static gboolean
wait_path (const char *path, proc * p, int64_t deadline)
{
  struct stat st;

  while (stat (path, &st) != 0) {
    reap (p);
    if (p->reaped || aborted || now_ns () >= deadline)
      return FALSE;
    driver_sleep (MIN (deadline, now_ns () + 2000000));
  }
  return TRUE;
}

/* Removes what a killed (or leaky) pair left; returns how many. */
static int
cleanup_names (gboolean zero, const char *name, pid_t writer)
{
  int left = 0;

  if (zero) {
    const char *pre[] = { "/dev/shm/", "/dev/shm/sem.sem-w-",
      "/dev/shm/sem.sem-r-", "/tmp/zerobuffer/"
    };
    const char *suf[] = { "", "", "", ".lock" };

    for (guint i = 0; i < G_N_ELEMENTS (pre); i++) {
      gchar *p = g_strconcat (pre[i], name, suf[i], NULL);

      if (unlink (p) == 0)
        left++;
      g_free (p);
    }
  } else {
    GDir *d = g_dir_open ("/dev/shm", 0, NULL);
    const gchar *e;

    if (unlink (name) == 0)
      left++;
    /* shmsink's area is /dev/shm/shmpipe.<pid>.<n> (space-padded) */
    while (d && (e = g_dir_read_name (d))) {
      if (g_str_has_prefix (e, "shmpipe.")
          && strtol (e + 8, NULL, 10) == writer) {
        gchar *p = g_build_filename ("/dev/shm", e, NULL);

        if (unlink (p) == 0)
          left++;
        g_free (p);
      }
    }
    if (d)
      g_dir_close (d);
  }
  return left;
}

static GHashTable *
read_result (const char *path)
{
  GHashTable *h = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  gchar *text = NULL;

  if (g_file_get_contents (path, &text, NULL, NULL)) {
    gchar **lines = g_strsplit (text, "\n", -1);

    for (int i = 0; lines[i]; i++) {
      gchar *sp = strchr (lines[i], ' ');

      if (sp)
        g_hash_table_insert (h, g_strndup (lines[i], sp - lines[i]),
            g_strdup (sp + 1));
    }
    g_strfreev (lines);
  }
  g_free (text);
  unlink (path);
  return h;
}

static double
num (GHashTable * h, const char *key)
{
  const char *v = g_hash_table_lookup (h, key);

  return v ? g_ascii_strtod (v, NULL) : NAN;
}

static double
cpu_ms (const struct rusage *ru)
{
  return (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1e3
      + (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e3;
}

static gboolean
exited_ok (const proc * p)
{
  return p->reaped && WIFEXITED (p->status) && WEXITSTATUS (p->status) == 0;
}

static gboolean
exited_skip (const proc * p)
{
  return p->reaped && WIFEXITED (p->status) && WEXITSTATUS (p->status) == 77;
}

static void
add_note (GString * s, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
add_note (GString * s, const char *fmt, ...)
{
  va_list ap;

  if (s->len)
    g_string_append (s, "; ");
  va_start (ap, fmt);
  g_string_append_vprintf (s, fmt, ap);
  va_end (ap);
}

static size_t
ring_of (const bench_case * bc)
{
  return opt_ring_mib > 0 ? (size_t) opt_ring_mib * MiB : bc->ring;
}

static int
warmup_of (const bench_case * bc, int frames)
{
  int w = frames / 10;

  if (bc->pace_us == 0)
    w = MAX (w, (int) (ring_of (bc) / bc->frame) + 1);
  return CLAMP (w, 1, frames / 2);
}

static run_result
run_pair (const bench_case * bc, gboolean zero, int frames, double deadline_s)
{
  run_result r = { 0 };
  GPtrArray *args = g_ptr_array_new_with_free_func (g_free);
  gchar *name, *wres, *rres;
  proc ps[2] = { {0}, {0} };    /* writer, reader */
  proc *w = &ps[0], *rd = &ps[1];
  GHashTable *wh, *rh;
  GString *note = g_string_new (NULL);
  int64_t start;
  gboolean done;
  int left;

  run_counter++;
  if (zero)
    name = g_strdup_printf ("gstbench-%d-%u", (int) getpid (), run_counter);
  else
    name = g_strdup_printf ("%s/shm-%u", tmpdir, run_counter);
  wres = g_strdup_printf ("%s/w-%u", tmpdir, run_counter);
  rres = g_strdup_printf ("%s/r-%u", tmpdir, run_counter);
  g_ptr_array_add (args, g_strdup ("--role=?"));
  g_ptr_array_add (args, g_strdup_printf ("--transport=%s",
          zero ? "zero" : "shm"));
  g_ptr_array_add (args, g_strdup_printf ("--caps=%s", bc->caps));
  g_ptr_array_add (args, g_strdup_printf ("--name=%s", name));
  g_ptr_array_add (args, g_strdup_printf ("--frame=%zu", bc->frame));
  g_ptr_array_add (args, g_strdup_printf ("--frames=%d", frames));
  g_ptr_array_add (args, g_strdup_printf ("--warmup=%d",
          warmup_of (bc, frames)));
  g_ptr_array_add (args, g_strdup_printf ("--ring=%zu", ring_of (bc)));
  g_ptr_array_add (args, g_strdup_printf ("--pace-us=%d", bc->pace_us));
  if (bc->pool)
    g_ptr_array_add (args, g_strdup ("--pool"));
  if (bc->pool)
    g_ptr_array_add (args, g_strdup_printf ("--pattern=%s",
            opt_pattern ? opt_pattern : bc->pattern));
  g_ptr_array_add (args, g_strdup ("--result=?"));

#define SPAWN(p, role, res, wrap) G_STMT_START {                         \
    g_free (args->pdata[0]);                                            \
    args->pdata[0] = g_strdup ("--role=" role);                         \
    g_free (args->pdata[args->len - 1]);                                \
    args->pdata[args->len - 1] = g_strdup_printf ("--result=%s", res);  \
    (p)->pid = spawn (wrap, args);                                      \
  } G_STMT_END

  start = now_ns ();
  /* zerosrc creates the buffer, shmsink the socket: start that one first */
  if (zero) {
    gchar *shm = g_strdup_printf ("/dev/shm/%s", name);

    SPAWN (rd, "reader", rres, opt_wrap_reader);
    if (wait_path (shm, rd, start + 10 * (int64_t) 1000000000))
      SPAWN (w, "writer", wres, opt_wrap_writer);
    g_free (shm);
  } else {
    SPAWN (w, "writer", wres, opt_wrap_writer);
    if (wait_path (name, w, start + 10 * (int64_t) 1000000000))
      SPAWN (rd, "reader", rres, opt_wrap_reader);
  }
#undef SPAWN

  done = (w->pid > 0 && rd->pid > 0)
      && wait_all (ps, 2, start + (int64_t) (deadline_s * 1e9));
  if (!done) {
    r.stalled = !aborted && w->pid > 0 && rd->pid > 0;
    terminate (ps, 2);
  }
  left = cleanup_names (zero, name, w->pid);
  if (left > 0 && done)
    add_note (note, "%d name(s) left behind", left);

  wh = read_result (wres);
  rh = read_result (rres);
  if (exited_skip (w) || exited_skip (rd))
    skipped = TRUE;
  /* every frame, in order, intact, none extra; EOS must cross for zero */
  r.ok = done && exited_ok (w) && exited_ok (rd)
      && num (rh, "done") == 1 && num (rh, "bad") == 0
      && num (rh, "frames") == frames && num (rh, "extra") == 0
      && num (wh, "stamp_fail") == 0 && (!zero || num (rh, "eos") == 1);
  if (r.stalled)
    add_note (note, "STALL: reader had %.0f of %d frames after %.1f s",
        num (rh, "frames"), frames, deadline_s);
  else if (!done)
    add_note (note, "did not finish");
  if (num (rh, "bad") > 0)
    add_note (note, "%.0f BAD frames", num (rh, "bad"));
  if (num (wh, "stamp_fail") > 0)
    add_note (note, "%.0f frames not stamped", num (wh, "stamp_fail"));
  if (num (rh, "extra") > 0)
    add_note (note, "%.0f extra frames", num (rh, "extra"));
  if (done && !exited_ok (w))
    add_note (note, "writer exit status 0x%x", w->status);
  if (done && !exited_ok (rd))
    add_note (note, "reader exit status 0x%x", rd->status);
  if (zero && done && num (rh, "eos") != 1)
    add_note (note, "reader got no EOS");
  for (int i = 0; i < 2; i++) {
    const char *e = g_hash_table_lookup (i ? rh : wh, "error");

    if (e)
      add_note (note, "%s ERROR%s: %s", i ? "reader" : "writer",
          e[0] == '1' ? " after the last frame" : "", e + 2);
  }

  if (r.ok) {
    double wf = num (rh, "window_frames");
    double span = (num (rh, "t_last") - num (rh, "t_w")) / 1e9;

    r.fps = wf / span;
    r.mbps = r.fps * bc->frame / 1e6;
    r.wcpu = num (wh, "cpu_us") / num (wh, "window_frames");
    r.rcpu = num (rh, "cpu_us") / wf;
    r.wcsw = num (wh, "csw") / num (wh, "window_frames");
    r.rcsw = num (rh, "csw") / wf;
    r.wflt = num (wh, "flt") / num (wh, "window_frames");
    r.rflt = num (rh, "flt") / wf;
    r.p50 = num (rh, "lat_p50");
    r.p99 = num (rh, "lat_p99");
    r.max = num (rh, "lat_max");
    r.w_anon = num (wh, "anon_w");
    r.w_grow = num (wh, "anon_last") - num (wh, "anon_w");
    r.w_shmem = num (wh, "shmem_last");
    r.r_anon = num (rh, "anon_w");
    r.r_grow = num (rh, "anon_last") - num (rh, "anon_w");
    r.r_shmem = num (rh, "shmem_last");
  }
  r.w_copied = (guint64) num (wh, "copied");
  r.w_written = (guint64) num (wh, "written");
  r.r_copied = (guint64) num (rh, "copied");
  r.r_polled = (guint64) num (rh, "polled");
  r.w_reused = (guint64) num (wh, "reused");
  if (w->reaped)
    r.w_total_ms = cpu_ms (&w->ru);
  if (rd->reaped)
    r.r_total_ms = cpu_ms (&rd->ru);
  r.note = g_string_free (note, FALSE);

  g_hash_table_unref (wh);
  g_hash_table_unref (rh);
  g_ptr_array_unref (args);
  g_free (name);
  g_free (wres);
  g_free (rres);
  return r;
}

/* The zerobuffer CLI tool: --zerobuffer, else the one built with this
 * binary (meson passes its path), else tools/zerobuffer next to
 * tests/bench/ of the build tree this binary runs from. */
static const char *
cli_path (void)
{
  static gchar *path;

  if (path == NULL && opt_zerobuffer != NULL)
    path = g_strdup (opt_zerobuffer);
#ifdef GST_BENCH_CLI
  if (path == NULL && g_file_test (GST_BENCH_CLI, G_FILE_TEST_IS_EXECUTABLE))
    path = g_strdup (GST_BENCH_CLI);
#endif
  if (path == NULL) {
    gchar *dir = g_path_get_dirname (self_exe);

    path = g_build_filename (dir, "..", "..", "tools", "zerobuffer", NULL);
    g_free (dir);
  }
  return path;
}

/* Reads the server's stdout into out until a "ready:" line; FALSE if it
 * ends (the server died), at the deadline or on ^C. */
static gboolean
wait_ready (int fd, GString * out, int64_t deadline)
{
  for (;;) {
    struct pollfd pfd = { fd, POLLIN, 0 };
    struct timespec zero = { 0, 0 };
    char buf[4096];
    int64_t left = deadline - now_ns ();
    int sig;
    ssize_t n;

    if (g_str_has_prefix (out->str, "ready:") || strstr (out->str,
            "\nready:"))
      return TRUE;
    sig = sigtimedwait (&driver_sigs, NULL, &zero);
    if (sig == SIGINT || sig == SIGTERM)
      aborted = TRUE;
    if (aborted || left <= 0)
      return FALSE;
    if (poll (&pfd, 1, (int) MIN (left / 1000000 + 1, 50)) <= 0)
      continue;
    n = read (fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
      return FALSE;
    if (n > 0)
      g_string_append_len (out, buf, n);
  }
}

/* Whatever the server wrote after "ready:", once it has exited. */
static void
drain (int fd, GString * out)
{
  struct pollfd pfd = { fd, POLLIN, 0 };
  char buf[4096];
  ssize_t n;

  while (poll (&pfd, 1, 0) > 0 && (n = read (fd, buf, sizeof buf)) > 0)
    g_string_append_len (out, buf, n);
}

/* A number after key in the server's last "end:" line, or -1. */
static double
end_field (const GString * out, const char *key)
{
  const char *e = g_strrstr (out->str, "end: ");
  const char *nl, *k;

  if (e == NULL)
    return -1;
  nl = strchr (e, '\n');
  k = strstr (e, key);
  if (k == NULL || (nl && k > nl))
    return -1;
  return g_ascii_strtod (k + strlen (key), NULL);
}

/* One round-trip run: `zerobuffer serve N --handler echo` first (its
 * request ring = the one-way ring), then, once it says "ready:", the
 * filter process. */
static run_result
run_filter_pair (const bench_case * bc, int frames, double deadline_s)
{
  run_result r = { 0 };
  GPtrArray *args = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *sargs = g_ptr_array_new_with_free_func (g_free);
  gchar *name, *res;
  proc ps[2] = { {0}, {0} };    /* filter, server */
  proc *fp = &ps[0], *sv = &ps[1];
  GHashTable *h;
  GString *note = g_string_new (NULL), *out = g_string_new (NULL);
  int64_t start;
  gboolean done = FALSE, ready = FALSE;
  int left = 0, pfd[2];

  run_counter++;
  name = g_strdup_printf ("gstbench-%d-%u", (int) getpid (), run_counter);
  res = g_strdup_printf ("%s/x-%u", tmpdir, run_counter);
  g_ptr_array_add (sargs, g_strdup ("serve"));
  g_ptr_array_add (sargs, g_strdup (name));
  g_ptr_array_add (sargs, g_strdup_printf ("--handler=%s",
          bc->handler ? bc->handler : "echo"));
  g_ptr_array_add (sargs, g_strdup_printf ("--payload-size=%zu",
          ring_of (bc)));
  /* in case we die before the filter starts */
  g_ptr_array_add (sargs, g_strdup_printf ("--timeout=%d",
          (int) ceil (deadline_s) + 10));

  g_ptr_array_add (args, g_strdup ("--role=filter"));
  g_ptr_array_add (args, g_strdup ("--transport=filter"));
  g_ptr_array_add (args, g_strdup_printf ("--caps=%s", bc->caps));
  g_ptr_array_add (args, g_strdup_printf ("--name=%s", name));
  g_ptr_array_add (args, g_strdup_printf ("--frame=%zu", bc->frame));
  g_ptr_array_add (args, g_strdup_printf ("--frames=%d", frames));
  g_ptr_array_add (args, g_strdup_printf ("--warmup=%d",
          warmup_of (bc, frames)));
  g_ptr_array_add (args, g_strdup_printf ("--pace-us=%d", bc->pace_us));
  g_ptr_array_add (args, g_strdup_printf ("--in-flight=%d", bc->in_flight));
  if (bc->handler && g_str_equal (bc->handler, "blank"))
    g_ptr_array_add (args, g_strdup ("--head-only"));
  if (bc->pool) {
    g_ptr_array_add (args, g_strdup ("--pool"));
    g_ptr_array_add (args, g_strdup_printf ("--pattern=%s",
            opt_pattern ? opt_pattern : bc->pattern));
  }
  g_ptr_array_add (args, g_strdup_printf ("--result=%s", res));

  start = now_ns ();
  if (!g_unix_open_pipe (pfd, FD_CLOEXEC, NULL)) {
    g_printerr ("gst-bench: cannot make a pipe\n");
    exit (2);
  }
  sv->pid = spawn_exe (opt_wrap_reader, cli_path (), sargs, pfd[1]);
  close (pfd[1]);
  ready = sv->pid > 0 && wait_ready (pfd[0], out,
      start + 10 * (int64_t) 1000000000);
  if (ready) {
    g_ptr_array_add (args, g_strdup_printf ("--server-pid=%d",
            (int) sv->pid));
    fp->pid = spawn (opt_wrap_writer, args);
  }
  done = ready && fp->pid > 0
      && wait_all (ps, 2, start + (int64_t) (deadline_s * 1e9));
  if (!done) {
    r.stalled = ready && !aborted && fp->pid > 0;
    terminate (ps, 2);
  }
  drain (pfd[0], out);
  close (pfd[0]);
  for (int i = 0; i < 2; i++) {
    gchar *n = g_strconcat (name, i ? "_response" : "_request", NULL);

    left += cleanup_names (TRUE, n, 0);
    g_free (n);
  }
  if (left > 0 && done)
    add_note (note, "%d name(s) left behind", left);

  h = read_result (res);
  if (exited_skip (fp))
    skipped = TRUE;
  r.f_sent = (guint64) num (h, "sent");
  r.f_answered = (guint64) num (h, "answered");
  r.f_dropped = (guint64) num (h, "dropped");
  r.f_late = (guint64) num (h, "late");
  r.f_req_copied = (guint64) num (h, "req_copied");
  r.f_ans_copied = (guint64) num (h, "ans_copied");
  r.f_rtt_us = num (h, "rtt_mean_ns") / 1e3;
  r.ok = done && exited_ok (fp) && exited_ok (sv)
      && num (h, "done") == 1 && num (h, "bad") == 0
      && num (h, "frames") == frames && num (h, "extra") == 0
      && num (h, "stamp_fail") == 0 && num (h, "eos") == 1
      && r.f_dropped == 0 && end_field (out, "responses=") == frames;
  if (!ready && !aborted)
    add_note (note, "the server never said \"ready:\" (%s)",
        sv->reaped ? "it exited" : "timeout");
  if (r.stalled)
    add_note (note, "STALL: %.0f of %d frames answered after %.1f s",
        num (h, "frames"), frames, deadline_s);
  else if (ready && !done)
    add_note (note, "did not finish");
  if (num (h, "bad") > 0)
    add_note (note, "%.0f BAD frames", num (h, "bad"));
  if (num (h, "stamp_fail") > 0)
    add_note (note, "%.0f frames not stamped", num (h, "stamp_fail"));
  if (num (h, "extra") > 0)
    add_note (note, "%.0f extra frames", num (h, "extra"));
  if (r.f_dropped > 0)
    add_note (note, "zerofilter dropped %" G_GUINT64_FORMAT, r.f_dropped);
  if (done && !exited_ok (fp))
    add_note (note, "filter exit status 0x%x", fp->status);
  if (done && !exited_ok (sv))
    add_note (note, "server exit status 0x%x", sv->status);
  if (done && num (h, "eos") != 1)
    add_note (note, "no EOS after the last answer");
  if (done && end_field (out, "responses=") != frames)
    add_note (note, "server answered %.0f", end_field (out, "responses="));
  if (g_hash_table_lookup (h, "error")) {
    const char *e = g_hash_table_lookup (h, "error");

    add_note (note, "filter ERROR%s: %s", e[0] == '1' ?
        " after the last frame" : "", e + 2);
  }

  if (r.ok) {
    double wf = num (h, "window_frames");
    double span = (num (h, "t_last") - num (h, "t_w")) / 1e9;

    r.fps = wf / span;
    r.mbps = r.fps * bc->frame / 1e6;
    /* "writer": the pipeline process (source, zerofilter, fakesink);
     * "reader": the echo server */
    r.wcpu = num (h, "cpu_us") / wf;
    r.rcpu = num (h, "srv_cpu_us") / wf;
    r.wcsw = num (h, "csw") / wf;
    r.rcsw = num (h, "srv_csw") / wf;
    r.wflt = num (h, "flt") / wf;
    r.rflt = num (h, "srv_flt") / wf;
    r.p50 = num (h, "lat_p50");
    r.p99 = num (h, "lat_p99");
    r.max = num (h, "lat_max");
    r.w_anon = num (h, "anon_w");
    r.w_grow = num (h, "anon_last") - num (h, "anon_w");
    r.w_shmem = num (h, "shmem_last");
    r.r_anon = num (h, "srv_anon_w");
    r.r_grow = num (h, "srv_anon_last") - num (h, "srv_anon_w");
    r.r_shmem = num (h, "srv_shmem_last");
  }
  if (fp->reaped)
    r.w_total_ms = cpu_ms (&fp->ru);
  if (sv->reaped)
    r.r_total_ms = cpu_ms (&sv->ru);
  if (!r.ok && opt_verbose && out->len)
    g_printerr ("gst-bench: server output:\n%s", out->str);
  r.note = g_string_free (note, FALSE);

  g_hash_table_unref (h);
  g_ptr_array_unref (args);
  g_ptr_array_unref (sargs);
  g_string_free (out, TRUE);
  g_free (name);
  g_free (res);
  return r;
}

/* CPU per frame of the writer harness alone (appsrc ! fakesink, same
 * pusher, pacing and stamping): roughly the part of every writer's CPU that
 * is not the transport.  Median of runs. */
static double
writer_floor (const bench_case * bc, const char *transport, int frames,
    int runs, double *fps)
{
  double v[MAX_RUNS], r[MAX_RUNS];

  for (int k = 0; k < runs && !aborted; k++) {
    GPtrArray *args = g_ptr_array_new_with_free_func (g_free);
    gchar *res = g_strdup_printf ("%s/f-%u", tmpdir, ++run_counter);
    proc p = { 0 };
    GHashTable *h;

    g_ptr_array_add (args, g_strdup ("--role=writer"));
    g_ptr_array_add (args, g_strdup_printf ("--transport=%s", transport));
    g_ptr_array_add (args, g_strdup_printf ("--caps=%s", bc->caps));
    g_ptr_array_add (args, g_strdup ("--name=none"));
    g_ptr_array_add (args, g_strdup_printf ("--frame=%zu", bc->frame));
    g_ptr_array_add (args, g_strdup_printf ("--frames=%d", frames));
    g_ptr_array_add (args, g_strdup_printf ("--warmup=%d",
            warmup_of (bc, frames)));
    g_ptr_array_add (args, g_strdup_printf ("--pace-us=%d", bc->pace_us));
    if (bc->pool) {
      g_ptr_array_add (args, g_strdup ("--pool"));
      g_ptr_array_add (args, g_strdup_printf ("--pattern=%s",
              opt_pattern ? opt_pattern : bc->pattern));
    }
    g_ptr_array_add (args, g_strdup_printf ("--result=%s", res));
    p.pid = spawn (NULL, args);
    if (!wait_all (&p, 1, now_ns () + (int64_t) (opt_deadline * 1e9)))
      terminate (&p, 1);
    h = read_result (res);
    v[k] = exited_ok (&p) ? num (h, "cpu_us") / num (h, "window_frames")
        : NAN;
    r[k] = exited_ok (&p) ? num (h, "window_frames") * 1e9
        / (num (h, "t_last") - num (h, "t_w")) : NAN;
    g_hash_table_unref (h);
    g_ptr_array_unref (args);
    g_free (res);
  }
  *fps = median (r, runs);
  return median (v, runs);
}

/* t: 0 zero, 1 shm, 2 filter */
static void
print_run (const bench_case * bc, int t, int run, const run_result * r)
{
  gboolean zero = t == 0;

  if (r->ok && !opt_verbose && !r->note[0])
    return;
  printf ("  %-16s %-6s run %d: ", bc->id, t == 0 ? "zero" : t == 1 ? "shm" :
      "filter", run + 1);
  if (r->ok)
    printf ("%.0f frames/s, writer %.1f us/f, reader %.1f us/f, "
        "sleeps w %.2f r %.2f /f, lat p50 %.0f p99 %.0f max %.0f us",
        r->fps, r->wcpu, r->rcpu, r->wcsw, r->rcsw, r->p50, r->p99, r->max);
  else
    printf ("FAILED");
  if (opt_verbose && r->ok)
    printf (", page faults w %.2f r %.2f /f", r->wflt, r->rflt);
  if (opt_verbose)
    printf (" | whole-life CPU w %.0f ms r %.0f ms", r->w_total_ms,
        r->r_total_ms);
  if (zero && opt_verbose)
    printf (" | zerosink copied %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
        ", zerosrc copied %" G_GUINT64_FORMAT " polled %" G_GUINT64_FORMAT,
        r->w_copied, r->w_written, r->r_copied, r->r_polled);
  if (t == 2 && opt_verbose)
    printf (" | zerofilter sent %" G_GUINT64_FORMAT " answered %"
        G_GUINT64_FORMAT " dropped %" G_GUINT64_FORMAT " late %"
        G_GUINT64_FORMAT " requests-copied %" G_GUINT64_FORMAT
        " answers-copied %" G_GUINT64_FORMAT " round-trip-mean %.0f us",
        r->f_sent, r->f_answered, r->f_dropped, r->f_late, r->f_req_copied,
        r->f_ans_copied, r->f_rtt_us);
  if (r->note[0])
    printf (" | %s", r->note);
  printf ("\n");
  fflush (stdout);
}

typedef struct
{
  const bench_case *bc;
  int runs, frames;
  double floor_us;              /* writer harness alone, NAN if not run */
  double floor_fps;
  double queue_us;              /* pool cases: producer ! queue ! fakesink */
  double queue_fps;
  /* other: shm, or the zerofilter round trips of a filter case */
  run_result zero[MAX_RUNS], other[MAX_RUNS];
} case_result;

static double
med_field (const run_result * rs, int n, size_t off)
{
  double v[MAX_RUNS];

  for (int i = 0; i < n; i++)
    v[i] = rs[i].ok ? *(const double *) ((const char *) &rs[i] + off) : NAN;
  return median (v, n);
}

/* Median over run pairs of zero's value / shm's value; of a filter case,
 * the round trip's value / one-way's. */
static double
med_ratio (const case_result * c, size_t off, size_t off2)
{
  double v[MAX_RUNS];

  for (int i = 0; i < c->runs; i++) {
    const run_result *z = &c->zero[i], *s = &c->other[i];

    if (c->bc->in_flight > 0) {
      const run_result *tmp = z;

      z = s;
      s = tmp;
    }
    double a = *(const double *) ((const char *) z + off);
    double b = *(const double *) ((const char *) s + off);

    if (off2) {
      a += *(const double *) ((const char *) z + off2);
      b += *(const double *) ((const char *) s + off2);
    }
    v[i] = z->ok && s->ok ? a / b : NAN;
  }
  return median (v, c->runs);
}

static int
count_ok (const run_result * rs, int n)
{
  int k = 0;

  for (int i = 0; i < n; i++)
    k += rs[i].ok;
  return k;
}

static int
count_stalls (const run_result * rs, int n)
{
  int k = 0;

  for (int i = 0; i < n; i++)
    k += rs[i].stalled;
  return k;
}

#define OFF(f) G_STRUCT_OFFSET (run_result, f)

/* v formatted to width w with d decimals and a suffix; "-" for no value.
 * Rotating static buffers: enough for one printf. */
static const char *
cell (double v, int w, int d, const char *suffix)
{
  static char bufs[16][32];
  static int k;
  char *b = bufs[k++ % 16], t[32];

  if (isnan (v))
    g_snprintf (t, sizeof t, "-");
  else
    g_snprintf (t, sizeof t, "%.*f%s", d, v, suffix);
  g_snprintf (b, 32, "%*s", w, t);
  return b;
}

static void
print_row (const char *label, const run_result * rs, int n)
{
  double w = med_field (rs, n, OFF (wcpu)), r = med_field (rs, n, OFF (rcpu));
  gchar ok[16];

  g_snprintf (ok, sizeof ok, "%d/%d", count_ok (rs, n), n);
  printf ("  %-9s %5s %s %s %s %s %s %s %s %s %s %s\n", label, ok,
      cell (med_field (rs, n, OFF (fps)), 9, 0, ""),
      cell (med_field (rs, n, OFF (mbps)), 8, 0, ""),
      cell (w, 8, 1, ""), cell (r, 8, 1, ""), cell (w + r, 8, 1, ""),
      cell (med_field (rs, n, OFF (wcsw)), 6, 2, ""),
      cell (med_field (rs, n, OFF (rcsw)), 6, 2, ""),
      cell (med_field (rs, n, OFF (p50)), 7, 0, ""),
      cell (med_field (rs, n, OFF (p99)), 7, 0, ""),
      cell (med_field (rs, n, OFF (max)), 7, 0, ""));
}

static void
print_table (const case_result * cr, int n, const memcpy_limit * ml,
    int n_ml, const sem_limit * sl)
{
  printf ("\n== gst-bench summary: medians over runs; ratio row = median of "
      "per-run-pair zero/shm ratios ==\n");
  printf ("  %-9s %5s %9s %8s %8s %8s %8s %6s %6s %7s %7s %7s\n",
      "", "ok", "frames/s", "MB/s", "wr us/f", "rd us/f", "w+r us/f",
      "wr slp", "rd slp", "lat p50", "p99", "max us");
  for (int i = 0; i < n; i++) {
    const case_result *c = &cr[i];

    printf ("%s (%d frames of %zu B, ring %zu MiB)\n", c->bc->label,
        c->frames, c->bc->frame, ring_of (c->bc) / MiB);
    gboolean fl = c->bc->in_flight > 0;

    if (fl)
      printf ("  (filter row: wr = the pipeline process, source + zerofilter "
          "+ fakesink; rd = the echo server; lat = stamp on zerofilter's "
          "sink pad to fakesink)\n");
    print_row (fl ? "one-way" : "zero", c->zero, c->runs);
    print_row (fl ? "filter" : "shm", c->other, c->runs);
    printf ("  %-9s %5s %s %8s %s %s %s %6s %6s %s %s %s\n",
        fl ? "filt/1way" : "zero/shm", "",
        cell (med_ratio (c, OFF (fps), 0), 9, 2, "x"), "",
        cell (med_ratio (c, OFF (wcpu), 0), 8, 2, "x"),
        cell (med_ratio (c, OFF (rcpu), 0), 8, 2, "x"),
        cell (med_ratio (c, OFF (wcpu), OFF (rcpu)), 8, 2, "x"), "", "",
        cell (med_ratio (c, OFF (p50), 0), 7, 2, "x"),
        cell (med_ratio (c, OFF (p99), 0), 7, 2, "x"),
        cell (med_ratio (c, OFF (max), 0), 7, 2, "x"));
    for (int t = 0; t < 2; t++) {
      const run_result *rs = t ? c->other : c->zero;

      printf ("  %s resident KiB (medians): %s %s private, grew %s "
          "over the window, %s shared; %s %s private, grew %s, %s "
          "shared\n", fl ? (t ? "filter " : "one-way") : (t ? "shm " :
              "zero"), fl && t ? "pipeline" : "writer",
          cell (med_field (rs, c->runs, OFF (w_anon)), 0, 0, ""),
          cell (med_field (rs, c->runs, OFF (w_grow)), 0, 0, ""),
          cell (med_field (rs, c->runs, OFF (w_shmem)), 0, 0, ""),
          fl && t ? "server" : "reader",
          cell (med_field (rs, c->runs, OFF (r_anon)), 0, 0, ""),
          cell (med_field (rs, c->runs, OFF (r_grow)), 0, 0, ""),
          cell (med_field (rs, c->runs, OFF (r_shmem)), 0, 0, ""));
    }
    if (!fl) {
      guint64 polled = 0;
      int ok = 0;

      guint64 reused = 0;

      for (int k = 0; k < c->runs; k++)
        if (c->zero[k].ok) {
          polled += c->zero[k].r_polled;
          reused += c->zero[k].w_reused;
          ok++;
        }
      /* spin-us at work: frames the writer published with no reader
       * asleep to wake; and compact placement's reuse of the start */
      printf ("  zerosrc polled for %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
          " frames (the writer found no sleeper to wake); zerosink reused "
          "the start for %" G_GUINT64_FORMAT "\n", polled,
          (guint64) ok * c->frames, reused);
    }
    if (!isnan (c->floor_us) && c->bc->pool) {
      printf ("  producer alone (videotestsrc ! fakesink, drawing into its "
          "own buffers): %.1f us/frame, %.0f frames/s, a ceiling for any "
          "transport\n", c->floor_us, c->floor_fps);
      /* the same frames handed from one thread to another: what a
       * transport adds at the least, without crossing processes */
      if (!isnan (c->queue_us))
        printf ("  producer with one thread boundary (videotestsrc ! queue "
            "max-size-buffers=1 ! fakesink, one process): %.1f us/frame, "
            "%.0f frames/s\n", c->queue_us, c->queue_fps);
    } else if (!isnan (c->floor_us))
      printf ("  harness alone (appsrc ! fakesink, same pusher and stamping): "
          "writer %.1f us/frame, %.0f frames/s\n", c->floor_us,
          c->floor_fps);
    if (c->bc->pool || fl) {
      guint64 copied = 0, written = 0;

      for (int k = 0; k < c->runs; k++) {
        copied += c->zero[k].w_copied;
        written += c->zero[k].w_written;
      }
      printf ("  stalls (no result within the deadline): %s %d/%d, %s "
          "%d/%d; zerosink frames-copied %" G_GUINT64_FORMAT " of %"
          G_GUINT64_FORMAT " written\n", fl ? "one-way" : "zero",
          count_stalls (c->zero, c->runs), c->runs, fl ? "filter" : "shm",
          count_stalls (c->other, c->runs), c->runs, copied, written);
    }
    if (fl) {
      guint64 sent = 0, ans = 0, drop = 0, late = 0, rq = 0, aq = 0;
      double rtt[MAX_RUNS];

      for (int k = 0; k < c->runs; k++) {
        const run_result *r = &c->other[k];

        sent += r->f_sent;
        ans += r->f_answered;
        drop += r->f_dropped;
        late += r->f_late;
        rq += r->f_req_copied;
        aq += r->f_ans_copied;
        rtt[k] = r->ok ? r->f_rtt_us : NAN;
      }
      printf ("  zerofilter max-in-flight %d, all runs: sent %"
          G_GUINT64_FORMAT ", answered %" G_GUINT64_FORMAT ", dropped %"
          G_GUINT64_FORMAT ", late %" G_GUINT64_FORMAT "; requests-copied %"
          G_GUINT64_FORMAT ", answers-copied %" G_GUINT64_FORMAT
          "; its round-trip-mean (commit to answer, whole run) %.0f us "
          "(median)\n", c->bc->in_flight, sent, ans, drop, late, rq, aq,
          median (rtt, c->runs));
      if (c->bc->pool) {
        double v = med_ratio (c, OFF (fps), 0);

        printf ("  target: round trip frames/s >= 0.9x one-way: %.2fx, %s\n",
            v, v >= 0.9 ? "met" : "MISSED");
      } else {
        double v = med_ratio (c, OFF (p50), 0);

        printf ("  target: round trip latency p50 <= 2.5x one-way: %.2fx, "
            "%s\n", v, v <= 2.5 ? "met" : "MISSED");
      }
    }
  }
  if (n_ml > 0 || sl) {
    printf ("limits measured in this run:\n");
    for (int i = 0; i < n_ml; i++)
      printf ("  memcpy %9zu B: from RAM %8.1f us (%5.1f GB/s); like the "
          "writer (payloads into a ring) %8.1f us (%5.1f GB/s)\n",
          ml[i].frame, ml[i].ram.us, ml[i].ram.gbps, ml[i].like_writer.us,
          ml[i].like_writer.gbps);
    for (int i = 0; i < n_ml; i++) {
      if (ml[i].fill_slots[0] == 0)
        continue;
      printf ("  memcpy %9zu B of one cached frame into k frames of shared "
          "memory in turn (videotestsrc with a still pattern into a ring of "
          "k frames):", ml[i].frame);
      for (int j = 0; j < N_FILL_SLOTS; j++)
        printf ("%s k=%zu %.1f us", j ? "," : "", ml[i].fill_slots[j],
            ml[i].fill[j].us);
      printf ("\n");
    }
    if (sl)
      printf ("  sem_post/sem_wait round trip (two wakes) between two "
          "processes: %.1f us on one CPU, %.1f us across two CPUs; across "
          "two after 10 ms idle %.0f us p50, %.0f us p99; post+wait with "
          "nobody asleep %.0f ns; CPU of one side per round trip across "
          "two CPUs (one post, one sleep and wake-up) %.1f us; a sem_post "
          "that wakes a process asleep 200 us on the other CPU %.1f us of "
          "the poster's time\n",
          sl->same_cpu_us, sl->cross_cpu_us, sl->cross_idle_p50_us,
          sl->cross_idle_p99_us, sl->no_sleeper_ns,
          sl->cross_cpu_per_wake_us, sl->post_wake_us);
  }
}

/* The filter cases need the zerobuffer tool: only when asked for, by name
 * or as "filter". */
static gboolean
case_selected (const char *id)
{
  gboolean found = FALSE, filter = g_str_has_prefix (id, "filter-");
  gchar **ids;

  if (opt_cases == NULL)
    return !filter;
  ids = g_strsplit (opt_cases, ",", -1);
  for (int i = 0; ids[i]; i++) {
    const gchar *want = g_strstrip (ids[i]);

    found = found || g_str_equal (want, id)
        || (filter && g_str_equal (want, "filter"));
  }
  g_strfreev (ids);
  return found;
}

static void
print_load (const char *when)
{
  gchar *l = NULL;

  if (g_file_get_contents ("/proc/loadavg", &l, NULL, NULL))
    printf ("load average %s: %s", when, l);
  g_free (l);
}

static int
run_driver (void)
{
  static case_result cr[N_CASES];
  memcpy_limit ml[N_CASES];
  sem_limit sl;
  size_t frames[N_CASES], rings[N_CASES];
  int n = 0, n_ml = 0;
  ssize_t len;

  len = readlink ("/proc/self/exe", self_exe, sizeof self_exe - 1);
  if (len <= 0) {
    g_printerr ("gst-bench: cannot find my own executable\n");
    return 2;
  }
  self_exe[len] = '\0';
  if (mkdtemp (tmpdir) == NULL) {
    g_printerr ("gst-bench: mkdtemp: %s\n", g_strerror (errno));
    return 2;
  }
  /* children and ^C are waited for with sigtimedwait() */
  sigemptyset (&driver_sigs);
  sigaddset (&driver_sigs, SIGCHLD);
  sigaddset (&driver_sigs, SIGINT);
  sigaddset (&driver_sigs, SIGTERM);
  sigprocmask (SIG_BLOCK, &driver_sigs, &old_mask);

  opt_runs = CLAMP (opt_runs, 1, MAX_RUNS);
  opt_pool_runs = CLAMP (opt_pool_runs, 1, MAX_RUNS);
  printf ("gst-bench: zerosink/zerosrc vs shmsink/shmsrc, separate writer "
      "and reader processes\n");
  printf ("GStreamer %s, %ld CPUs, GST_PLUGIN_PATH_1_0=%s\n",
      GST_BENCH_GST_VERSION, sysconf (_SC_NPROCESSORS_ONLN),
      g_getenv ("GST_PLUGIN_PATH_1_0"));
  printf ("spin-us: %s\n", g_getenv ("ZB_SPIN_US") ? bench_spin_prop () :
      "each element's default (ZB_SPIN_US=N sets it for all)");
  print_load ("at start");
  for (guint i = 0; i < N_CASES; i++)
    if (cases[i].in_flight > 0 && case_selected (cases[i].id)) {
      if (!g_file_test (cli_path (), G_FILE_TEST_IS_EXECUTABLE)) {
        printf ("gst-bench: no zerobuffer tool at %s (--zerobuffer): "
            "skipped\n", cli_path ());
        rmdir (tmpdir);
        return 77;
      }
      printf ("echo server of the filter cases: %s serve NAME "
          "--handler=echo\n", cli_path ());
      break;
    }

  for (guint i = 0; i < N_CASES; i++)
    if (case_selected (cases[i].id)) {
      gboolean dup = FALSE;

      for (int k = 0; k < n_ml; k++)
        dup = dup || (frames[k] == cases[i].frame);
      if (!dup) {
        frames[n_ml] = cases[i].frame;
        rings[n_ml++] = ring_of (&cases[i]);
      }
    }
  if (!opt_no_limits) {
    measure_memcpy (ml, n_ml, frames, rings);
    measure_sem (&sl);
  } else {
    n_ml = 0;
  }

  for (guint i = 0; i < N_CASES && !aborted && !skipped; i++) {
    const bench_case *bc = &cases[i];
    case_result *c = &cr[n];

    if (!case_selected (bc->id))
      continue;
    c->bc = bc;
    c->runs = bc->pool ? opt_pool_runs : opt_runs;
    c->frames = MAX (20, (int) (bc->frames * opt_scale));
    printf ("%s: %d runs of %d frames per transport\n", bc->label, c->runs,
        c->frames);
    fflush (stdout);
    c->floor_us = writer_floor (bc, "none", c->frames, MIN (c->runs, 3),
        &c->floor_fps);
    c->queue_us = bc->pool ? writer_floor (bc, "queue", c->frames,
        MIN (c->runs, 3), &c->queue_fps) : NAN;
    for (int k = 0; k < c->runs && !aborted && !skipped; k++) {
      double dl = bc->pool ? opt_pool_deadline : opt_deadline;

      c->zero[k] = run_pair (bc, TRUE, c->frames, dl);
      print_run (bc, 0, k, &c->zero[k]);
      if (aborted || skipped)
        break;
      if (bc->in_flight > 0) {
        c->other[k] = run_filter_pair (bc, c->frames, dl);
        print_run (bc, 2, k, &c->other[k]);
      } else {
        c->other[k] = run_pair (bc, FALSE, c->frames, dl);
        print_run (bc, 1, k, &c->other[k]);
      }
    }
    n++;
  }
  rmdir (tmpdir);
  if (skipped) {
    printf ("gst-bench: an element is missing (see above): skipped\n");
    return 77;
  }
  if (aborted)
    return 130;
  print_load ("at end");
  print_table (cr, n, ml, n_ml, opt_no_limits ? NULL : &sl);
  for (int i = 0; i < n; i++)
    if (count_ok (cr[i].zero, cr[i].runs) < cr[i].runs
        || (cr[i].bc->in_flight > 0
            && count_ok (cr[i].other, cr[i].runs) < cr[i].runs))
      return 1;
  return 0;
}

int
main (int argc, char **argv)
{
  GOptionContext *ctx;
  GError *err = NULL;

  /* Run straight from the build tree: our plugin, a few system plugins,
   * a private registry, unless the caller says otherwise. */
#ifdef GST_BENCH_PLUGIN_DIR
  g_setenv ("GST_PLUGIN_PATH_1_0", GST_BENCH_PLUGIN_DIR, FALSE);
#endif
#ifdef GST_BENCH_SYSTEM_DIR
  g_setenv ("GST_PLUGIN_SYSTEM_PATH_1_0", GST_BENCH_SYSTEM_DIR, FALSE);
#endif
#ifdef GST_BENCH_REGISTRY
  g_setenv ("GST_REGISTRY_1_0", GST_BENCH_REGISTRY, FALSE);
#endif

  ctx = g_option_context_new ("- zerosink/zerosrc vs shmsink/shmsrc");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    g_printerr ("gst-bench: %s\n", err->message);
    return 2;
  }
  g_option_context_free (ctx);
  /* the writers are other processes: they take it from the environment */
  if (opt_zerosink_props != NULL)
    g_setenv ("ZB_BENCH_ZEROSINK", opt_zerosink_props, TRUE);

  if (opt_role == NULL)
    return run_driver ();
  gst_init (NULL, NULL);
  if (g_str_equal (opt_role, "writer"))
    return run_writer ();
  if (g_str_equal (opt_role, "filter"))
    return run_filter ();
  return run_reader ();
}
