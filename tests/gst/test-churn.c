/* Stop/start churn: each element cycled NULL -> PLAYING -> NULL many times
 * while its peer runs in another process.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Phase src: `zerosrc ! fakesink` here, cycled CYCLES times, while a writer
 * process (this program run as `--writer NAME`: videotestsrc ! zerosink
 * on-reader-lost=reconnect) keeps coming back to each new reader.  Phase
 * sink: `videotestsrc ! zerosink` here (no capsfilter: see
 * answer_caps_query()), cycled CYCLES times, the first
 * NO_READER_CYCLES with no reader yet (zerosink waits for one), then with
 * `zerobuffer read --keep-going --release-delay` (a slow reader that takes
 * one writer after another, so zerosink mostly waits for ring space).  Each
 * cycle stops at a random moment: at once (while connecting or waiting for
 * the peer), after the first frame, or a little later (mid-stream, or
 * blocked on a full ring).
 *
 * Checked: no step hangs (a watchdog thread fails the test when one takes
 * longer than STEP_TIMEOUT_S); no element posts an error or warning; after
 * every stop this process maps nothing under /dev/shm, and after every src
 * stop the buffer's objects are gone; open fds and file-backed mappings
 * after the last cycle equal those after the first (plus, in a build
 * without sanitizers, all other mappings but thread stacks and malloc
 * arenas, see usage_now()); the reader got exactly the frames
 * zerosink wrote, one stream per cycle that wrote any; both peers end
 * cleanly and nothing is left in /dev/shm or /tmp/zerobuffer.
 *
 * Environment: ZEROBUFFER (the tool; else the test is skipped),
 * ZB_CHURN_SEED to replay, ZB_CHURN_CYCLES (default 200).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gprintf.h>
#include <gst/gst.h>

#define DEFAULT_CYCLES 200
#define NO_READER_CYCLES 10
#define STEP_TIMEOUT_S 10
#define CAPS "video/x-raw,format=RGB,width=64,height=48,framerate=1000/1"
#define FRAME_BYTES (64 * 48 * 3)
/* Four frames with their headers: a slow reader fills it at once. */
#define SINK_RING_BYTES (4 * (FRAME_BYTES + 16))
/* Mappings that come and go without any leak: GLib keeps idle streaming
 * threads for reuse and glibc caches the stacks of exited threads (a stack
 * and its guard page each), and glibc gives threads their own malloc arena
 * (a heap and its reserve each).  These pairs of an anonymous read-write
 * mapping and an adjacent anonymous inaccessible one are counted and taken
 * out of the comparison of all mappings.  Sanitizer runtimes map memory as
 * they go: there, only fds and file mappings are compared. */
#ifndef ZB_SANITIZED
#define ZB_SANITIZED 0
#endif

typedef struct
{
  guint fds;
  guint maps;
  guint file_maps;
  guint shm_maps;
  guint guarded;                /* anonymous mappings with a guard */
} Usage;

/* Watchdog state: the step in progress and when it must be over. */
static gint64 volatile step_deadline;
static gchar step_what[256];
static GMutex step_lock;

static gchar *work_dir;
static gchar *names[2];
static GPid children[2];
static gchar *first_error;
static GMutex error_lock;

/* ------------------------------------------------------------ helpers */

static void
remove_objects (const gchar * name)
{
  gchar *p;

  if (name == NULL)
    return;
  p = g_strdup_printf ("/dev/shm/%s", name);
  unlink (p);
  g_free (p);
  p = g_strdup_printf ("/dev/shm/sem.sem-w-%s", name);
  unlink (p);
  g_free (p);
  p = g_strdup_printf ("/dev/shm/sem.sem-r-%s", name);
  unlink (p);
  g_free (p);
  p = g_strdup_printf ("/tmp/zerobuffer/%s.lock", name);
  unlink (p);
  g_free (p);
}

static void
print_log_tail (const gchar * file)
{
  gchar *path = g_build_filename (work_dir, file, NULL);
  gchar *text = NULL;
  gsize len = 0;

  if (g_file_get_contents (path, &text, &len, NULL)) {
    const gchar *start = len > 3000 ? text + len - 3000 : text;
    g_printerr ("---- %s (last 3000 bytes)\n%s\n", file, start);
  }
  g_free (text);
  g_free (path);
}

static void
cleanup_all (void)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (children); i++)
    if (children[i] > 0)
      kill (children[i], SIGKILL);
  for (i = 0; i < G_N_ELEMENTS (names); i++)
    remove_objects (names[i]);
}

static void die (const gchar * fmt, ...) G_GNUC_PRINTF (1, 2) G_GNUC_NORETURN;

static void
die (const gchar * fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  g_printerr ("FAIL: ");
  g_vfprintf (stderr, fmt, ap);
  g_printerr ("\n");
  va_end (ap);
  print_log_tail ("writer.err");
  print_log_tail ("reader.out");
  print_log_tail ("reader.err");
  cleanup_all ();
  _exit (1);
}

static void step (const gchar * fmt, ...) G_GNUC_PRINTF (1, 2);

/* Start a watched step: it must end (the next step() or step_done())
 * within STEP_TIMEOUT_S. */
static void
step (const gchar * fmt, ...)
{
  va_list ap;

  g_mutex_lock (&step_lock);
  va_start (ap, fmt);
  g_vsnprintf (step_what, sizeof step_what, fmt, ap);
  va_end (ap);
  step_deadline = g_get_monotonic_time () + STEP_TIMEOUT_S * G_USEC_PER_SEC;
  g_mutex_unlock (&step_lock);
}

static void
step_done (void)
{
  g_mutex_lock (&step_lock);
  step_deadline = 0;
  g_mutex_unlock (&step_lock);
}

static gpointer
watchdog (gpointer data)
{
  for (;;) {
    g_usleep (50 * 1000);
    g_mutex_lock (&step_lock);
    if (step_deadline && g_get_monotonic_time () > step_deadline) {
      g_printerr ("FAIL: HANG: '%s' did not finish within %d s\n",
          step_what, STEP_TIMEOUT_S);
      g_mutex_unlock (&step_lock);
      print_log_tail ("writer.err");
      print_log_tail ("reader.out");
      print_log_tail ("reader.err");
      cleanup_all ();
      _exit (1);
    }
    g_mutex_unlock (&step_lock);
  }
  return NULL;
}

static void
usage_now (Usage * u)
{
  GDir *dir;
  gchar *maps = NULL;
  gchar **lines;
  guint n, k;
  guint64 *lo, *hi;
  gchar *kind;                  /* 'w' anonymous rw, 'g' anonymous ---, 0 */

  memset (u, 0, sizeof *u);
  dir = g_dir_open ("/proc/self/fd", 0, NULL);
  if (dir == NULL)
    die ("cannot list /proc/self/fd");
  while (g_dir_read_name (dir))
    u->fds++;
  g_dir_close (dir);

  if (!g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL))
    die ("cannot read /proc/self/maps");
  lines = g_strsplit (maps, "\n", -1);
  n = g_strv_length (lines);
  lo = g_new0 (guint64, n);
  hi = g_new0 (guint64, n);
  kind = g_new0 (gchar, n);
  for (k = 0; k < n; k++) {
    const gchar *path, *l = lines[k];
    gchar perms[5] = "";
    unsigned long long a, b;
    gint col = 0;

    if (*l == '\0')
      continue;
    u->maps++;
    path = strchr (l, '/');
    if (path) {
      u->file_maps++;
      if (g_str_has_prefix (path, "/dev/shm/"))
        u->shm_maps++;
    }
    /* Anonymous: no path and no [heap]/[stack] tag after the inode. */
    if (sscanf (l, "%llx-%llx %4s %*s %*s %*s %n", &a, &b, perms, &col) < 3)
      continue;
    lo[k] = a;
    hi[k] = b;
    if (col > 0 && l[col] != '\0')
      continue;
    if (strcmp (perms, "rw-p") == 0)
      kind[k] = 'w';
    else if (strcmp (perms, "---p") == 0)
      kind[k] = 'g';
  }
  /* A guard counts once, with the read-write mapping it borders. */
  for (k = 0; k + 1 < n; k++) {
    if (((kind[k] == 'g' && kind[k + 1] == 'w')
            || (kind[k] == 'w' && kind[k + 1] == 'g'))
        && hi[k] == lo[k + 1]) {
      u->guarded++;
      k++;
    }
  }
  g_free (lo);
  g_free (hi);
  g_free (kind);
  g_strfreev (lines);
  g_free (maps);
}

/* Mappings other than guarded stacks and arenas (2 each, see above). */
static guint
other_maps (const Usage * u)
{
  return u->maps - 2 * u->guarded;
}

static gboolean
exists_any (const gchar * name)
{
  gchar *p[4];
  gboolean any = FALSE;
  guint i;

  p[0] = g_strdup_printf ("/dev/shm/%s", name);
  p[1] = g_strdup_printf ("/dev/shm/sem.sem-w-%s", name);
  p[2] = g_strdup_printf ("/dev/shm/sem.sem-r-%s", name);
  p[3] = g_strdup_printf ("/tmp/zerobuffer/%s.lock", name);
  for (i = 0; i < 4; i++) {
    if (g_file_test (p[i], G_FILE_TEST_EXISTS)) {
      g_printerr ("left behind: %s\n", p[i]);
      any = TRUE;
    }
    g_free (p[i]);
  }
  return any;
}

/* Run argv with stdout and stderr in files of work_dir; the child dies with
 * us, so a failing test leaves no peer running. */
static GPid
spawn (gchar ** argv, const gchar * out_name, const gchar * err_name)
{
  gchar *out = g_build_filename (work_dir, out_name, NULL);
  gchar *err = g_build_filename (work_dir, err_name, NULL);
  gchar **env = g_get_environ ();
  const gchar *asan = g_environ_getenv (env, "ASAN_OPTIONS");
  gchar *asan_opts;
  pid_t pid;

  /* GStreamer keeps memory until exit by design. */
  asan_opts = g_strdup_printf ("%s%sdetect_leaks=0", asan ? asan : "",
      asan && *asan ? ":" : "");
  env = g_environ_setenv (env, "ASAN_OPTIONS", asan_opts, TRUE);
  g_free (asan_opts);

  pid = fork ();
  if (pid < 0)
    die ("fork: %s", g_strerror (errno));
  if (pid == 0) {
    /* Only async-signal-safe calls until exec. */
    int fo = open (out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int fe = open (err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fo < 0 || fe < 0 || dup2 (fo, 1) < 0 || dup2 (fe, 2) < 0)
      _exit (127);
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    execve (argv[0], argv, env);
    _exit (127);
  }
  g_strfreev (env);
  g_free (out);
  g_free (err);
  return pid;
}

/* Wait for PID to exit within STEP_TIMEOUT_S (the watchdog guards it);
 * returns its wait status. */
static int
wait_child (GPid pid, const gchar * what)
{
  int status;
  pid_t r;

  step ("waiting for the %s (pid %d) to exit", what, (int) pid);
  while ((r = waitpid (pid, &status, WNOHANG)) == 0)
    g_usleep (5 * 1000);
  if (r < 0)
    die ("waitpid %s: %s", what, g_strerror (errno));
  step_done ();
  return status;
}

static gchar *
read_work_file (const gchar * file)
{
  gchar *path = g_build_filename (work_dir, file, NULL);
  gchar *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    text = g_strdup ("");
  g_free (path);
  return text;
}

static guint
count_lines_with_prefix (const gchar * text, const gchar * prefix)
{
  gchar **lines = g_strsplit (text, "\n", -1), **l;
  guint n = 0;

  for (l = lines; *l; l++)
    if (g_str_has_prefix (*l, prefix))
      n++;
  g_strfreev (lines);
  return n;
}

/* Any error, and any warning of ours, is a failure; recorded from the
 * posting thread, since a pipeline going to NULL flushes its bus. */
static GstBusSyncReply
on_message (GstBus * bus, GstMessage * msg, gpointer data)
{
  GError *err = NULL;
  gchar *dbg = NULL;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error (msg, &err, &dbg);
  else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING)
    gst_message_parse_warning (msg, &err, &dbg);
  if (err) {
    g_mutex_lock (&error_lock);
    if (first_error == NULL)
      first_error = g_strdup_printf ("%s from %s: %s (%s)",
          GST_MESSAGE_TYPE_NAME (msg), GST_MESSAGE_SRC_NAME (msg),
          err->message, dbg ? dbg : "");
    g_mutex_unlock (&error_lock);
    g_error_free (err);
    g_free (dbg);
  }
  return GST_BUS_DROP;
}

static void
check_no_error (const gchar * where)
{
  g_mutex_lock (&error_lock);
  if (first_error)
    die ("%s: %s", where, first_error);
  g_mutex_unlock (&error_lock);
}

static GstElement *
make_pipeline (const gchar * desc)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  GstBus *bus;

  if (p == NULL || err)
    die ("cannot build '%s': %s", desc, err ? err->message : "?");
  bus = gst_element_get_bus (p);
  gst_bus_set_sync_handler (bus, on_message, NULL, NULL);
  gst_object_unref (bus);
  return p;
}

/* The caps of the sink phase, given to videotestsrc as its peer's answer to
 * its caps query.  Not a capsfilter: one cycled to NULL just as the
 * source's streaming thread starts can get the stream-start event on its
 * sink pad after its source pad was deactivated; its event function then
 * returns FALSE, GStreamer 1.22 makes that GST_FLOW_ERROR, and videotestsrc
 * posts "Internal data stream error" although nothing failed (videotestsrc
 * ! capsfilter ! fakesink does the same).  Ignoring that error instead
 * would also hide one from zerosink or its pool. */
static GstPadProbeReturn
answer_caps_query (GstPad * pad, GstPadProbeInfo * info, gpointer caps)
{
  GstQuery *q = GST_PAD_PROBE_INFO_QUERY (info);
  GstCaps *filter = NULL, *res;

  if (GST_QUERY_TYPE (q) != GST_QUERY_CAPS)
    return GST_PAD_PROBE_OK;
  gst_query_parse_caps (q, &filter);
  res = filter ? gst_caps_intersect_full (caps, filter,
      GST_CAPS_INTERSECT_FIRST) : gst_caps_ref (caps);
  gst_query_set_caps_result (q, res);
  gst_caps_unref (res);
  return GST_PAD_PROBE_HANDLED;
}

static void
set_state (GstElement * p, GstState s, const gchar * phase, guint cycle)
{
  step ("%s cycle %u: set_state (%s)", phase, cycle,
      gst_element_state_get_name (s));
  if (gst_element_set_state (p, s) == GST_STATE_CHANGE_FAILURE)
    die ("%s cycle %u: set_state (%s) failed", phase, cycle,
        gst_element_state_get_name (s));
  step_done ();
}

static void
compare_usage (const gchar * phase, const Usage * a, const Usage * b,
    gboolean all_maps)
{
  g_print ("%s: after the first cycle fds=%u maps=%u (%u stacks or arenas) "
      "file_maps=%u shm_maps=%u; after the last fds=%u maps=%u (%u stacks or "
      "arenas) file_maps=%u shm_maps=%u\n", phase,
      a->fds, a->maps, a->guarded, a->file_maps, a->shm_maps,
      b->fds, b->maps, b->guarded, b->file_maps, b->shm_maps);
  if (a->fds != b->fds)
    die ("%s: %u open fds after the first cycle, %u after the last",
        phase, a->fds, b->fds);
  if (a->file_maps != b->file_maps)
    die ("%s: %u file mappings after the first cycle, %u after the last",
        phase, a->file_maps, b->file_maps);
  if (b->shm_maps != 0)
    die ("%s: %u mappings under /dev/shm after the last cycle", phase,
        b->shm_maps);
  if (all_maps && other_maps (a) != other_maps (b))
    die ("%s: %u mappings besides thread stacks and malloc arenas after "
        "the first cycle, %u after the last", phase, other_maps (a),
        other_maps (b));
}

/* ------------------------------------------------------- writer child */

static gboolean
on_term (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_bus (GstBus * bus, GstMessage * msg, gpointer loop)
{
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR
      || GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
    GError *err = NULL;
    gchar *dbg = NULL;

    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      gst_message_parse_error (msg, &err, &dbg);
      g_printerr ("writer: ERROR from %s: %s (%s)\n",
          GST_MESSAGE_SRC_NAME (msg), err->message, dbg ? dbg : "");
      g_error_free (err);
      g_free (dbg);
    } else {
      g_printerr ("writer: unexpected EOS\n");
    }
    exit (1);
  }
  return G_SOURCE_CONTINUE;
}

/* The peer of the src phase: writes until SIGTERM, reconnecting to every
 * new reader of NAME. */
static int
run_writer (const gchar * name)
{
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  gchar *desc = g_strdup_printf ("videotestsrc pattern=ball ! " CAPS
      " ! zerosink buffer-name=%s sync=false on-reader-lost=reconnect "
      "connect-timeout=-1", name);
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  GstBus *bus;

  if (p == NULL || err) {
    g_printerr ("writer: cannot build '%s'\n", desc);
    return 1;
  }
  bus = gst_element_get_bus (p);
  gst_bus_add_watch (bus, on_bus, loop);
  g_unix_signal_add (SIGTERM, on_term, loop);
  if (gst_element_set_state (p, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    return 1;
  g_main_loop_run (loop);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (p);
  g_main_loop_unref (loop);
  g_free (desc);
  g_printerr ("writer: stopped\n");
  return 0;
}

/* ------------------------------------------------------------ phases */

static gint frames_seen;

static void
on_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad, gpointer data)
{
  g_atomic_int_inc (&frames_seen);
}

/* Wait (watched) until fakesink got MIN frames this cycle. */
static void
wait_frames_src (guint min, const gchar * phase, guint cycle)
{
  step ("%s cycle %u: waiting for %u frame(s)", phase, cycle, min);
  while ((guint) g_atomic_int_get (&frames_seen) < min) {
    check_no_error (phase);
    g_usleep (500);
  }
  step_done ();
}

static void
random_pause (GRand * rng, guint max_ms)
{
  g_usleep (g_rand_int_range (rng, 0, max_ms + 1) * 1000);
}

static void
phase_src (const gchar * self_exe, guint cycles, GRand * rng)
{
  const gchar *phase = "src";
  gchar *desc;
  gchar *argv[4];
  GstElement *p, *sink;
  Usage first, last, u;
  guint i, got = 0, cycles_with_frames = 0;
  guint modes[3] = { 0, 0, 0 };
  gint64 t0 = g_get_monotonic_time ();
  int status;

  names[0] = g_strdup_printf ("zbchurn-src-%d", (int) getpid ());
  argv[0] = (gchar *) self_exe;
  argv[1] = (gchar *) "--writer";
  argv[2] = names[0];
  argv[3] = NULL;
  children[0] = spawn (argv, "writer.out", "writer.err");

  desc = g_strdup_printf ("zerosrc buffer-name=%s payload-size=256K "
      "! fakesink name=sink sync=false signal-handoffs=true", names[0]);
  p = make_pipeline (desc);
  g_free (desc);
  sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), NULL);
  gst_object_unref (sink);

  for (i = 0; i < cycles; i++) {
    /* 0: stop at once (zerosrc waits for the writer to come back);
     * 1: after the first frame; 2: a little later (mid-stream). */
    guint mode = g_rand_int_range (rng, 0, 3);

    modes[mode]++;
    g_atomic_int_set (&frames_seen, 0);
    set_state (p, GST_STATE_PLAYING, phase, i);
    if (mode >= 1)
      wait_frames_src (1, phase, i);
    if (mode == 2)
      random_pause (rng, 20);
    set_state (p, GST_STATE_NULL, phase, i);
    check_no_error (phase);
    got += g_atomic_int_get (&frames_seen);
    if (g_atomic_int_get (&frames_seen))
      cycles_with_frames++;

    /* The reader is gone: all its objects, and all our mappings. */
    if (exists_any (names[0]))
      die ("%s cycle %u: objects left after NULL", phase, i);
    usage_now (&u);
    if (u.shm_maps)
      die ("%s cycle %u: %u mappings under /dev/shm after NULL", phase, i,
          u.shm_maps);
    if (i == 0)
      first = u;
    last = u;
  }
  compare_usage (phase, &first, &last, !ZB_SANITIZED);
  gst_object_unref (p);

  if (waitpid (children[0], &status, WNOHANG) != 0)
    die ("the writer process ended during the churn");
  kill (children[0], SIGTERM);
  status = wait_child (children[0], "writer");
  children[0] = 0;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    die ("the writer process ended with status 0x%x", status);
  if (exists_any (names[0]))
    die ("objects of %s left at the end", names[0]);
  g_print ("%s: %u cycles (%u stopped at once, %u after the first frame, "
      "%u later) in %.1f s; %u frames in %u cycles\n", phase, cycles,
      modes[0], modes[1], modes[2],
      (g_get_monotonic_time () - t0) / 1e6, got, cycles_with_frames);
  if (modes[1] + modes[2] && cycles_with_frames < modes[1] + modes[2])
    die ("%u cycles waited for frames but only %u got any",
        modes[1] + modes[2], cycles_with_frames);
}

static guint64
frames_written (GstElement * zs)
{
  guint64 n = 0;

  g_object_get (zs, "frames-written", &n, NULL);
  return n;
}

static void
phase_sink (const gchar * cli, guint cycles, GRand * rng)
{
  const gchar *phase = "sink";
  gchar *desc, *text, *want;
  gchar ring[32];
  gchar *argv[14];
  GstElement *p, *zs, *src;
  GstPad *src_pad;
  Usage first, last, u;
  guint i, k, streams = 0, modes[3] = { 0, 0, 0 };
  guint64 total = 0, n;
  gint64 t0 = g_get_monotonic_time ();
  int status;

  names[1] = g_strdup_printf ("zbchurn-sink-%d", (int) getpid ());
  desc = g_strdup_printf ("videotestsrc name=src pattern=ball ! zerosink "
      "name=zs buffer-name=%s sync=false connect-timeout=-1", names[1]);
  p = make_pipeline (desc);
  g_free (desc);
  zs = gst_bin_get_by_name (GST_BIN (p), "zs");
  src = gst_bin_get_by_name (GST_BIN (p), "src");
  src_pad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (src_pad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM,
      answer_caps_query, gst_caps_from_string (CAPS),
      (GDestroyNotify) gst_caps_unref);
  gst_object_unref (src_pad);
  gst_object_unref (src);

  for (i = 0; i < cycles; i++) {
    guint mode = 0;

    if (i == NO_READER_CYCLES) {
      /* From now on a slow reader takes one writer after another. */
      g_snprintf (ring, sizeof ring, "%u", SINK_RING_BYTES);
      k = 0;
      argv[k++] = (gchar *) cli;
      argv[k++] = (gchar *) "read";
      argv[k++] = names[1];
      argv[k++] = (gchar *) "--payload-size";
      argv[k++] = ring;
      argv[k++] = (gchar *) "--metadata-size";
      argv[k++] = (gchar *) "4K";
      argv[k++] = (gchar *) "--keep-going";
      argv[k++] = (gchar *) "--release-delay";
      argv[k++] = (gchar *) "0.001";
      argv[k++] = (gchar *) "--timeout";
      argv[k++] = (gchar *) "30";
      argv[k] = NULL;
      children[1] = spawn (argv, "reader.out", "reader.err");
      step ("waiting for the reader to create %s", names[1]);
      do {
        text = read_work_file ("reader.out");
        k = count_lines_with_prefix (text, "ready: ");
        g_free (text);
        if (waitpid (children[1], &status, WNOHANG) != 0)
          die ("the reader exited at start");
        g_usleep (2000);
      } while (k == 0);
      step_done ();
    }

    /* Without a reader: stop at once or after 0-30 ms of waiting for it.
     * With one: 0 at once (connecting), 1 after the first frame, 2 a
     * little later (mostly blocked on the full ring). */
    if (i >= NO_READER_CYCLES)
      mode = g_rand_int_range (rng, 0, 3);
    modes[mode]++;
    set_state (p, GST_STATE_PLAYING, phase, i);
    if (i < NO_READER_CYCLES) {
      random_pause (rng, 30);
    } else if (mode >= 1) {
      step ("%s cycle %u: waiting for the first frame written", phase, i);
      while (frames_written (zs) < 1) {
        check_no_error (phase);
        g_usleep (500);
      }
      step_done ();
      if (mode == 2)
        random_pause (rng, 20);
    }
    set_state (p, GST_STATE_NULL, phase, i);
    check_no_error (phase);
    n = frames_written (zs);
    if (i < NO_READER_CYCLES && n)
      die ("%s cycle %u: %" G_GUINT64_FORMAT " frames written without a "
          "reader", phase, i, n);
    total += n;
    if (n)
      streams++;

    if (i < NO_READER_CYCLES && exists_any (names[1]))
      die ("%s cycle %u: zerosink left objects without a reader", phase, i);
    usage_now (&u);
    if (u.shm_maps)
      die ("%s cycle %u: %u mappings under /dev/shm after NULL", phase, i,
          u.shm_maps);
    if (i == 0)
      first = u;
    last = u;
  }
  compare_usage (phase, &first, &last, !ZB_SANITIZED);
  gst_object_unref (zs);
  gst_object_unref (p);

  /* The reader must have seen every stream end, then SIGINT between
   * streams ends it normally. */
  if (cycles > NO_READER_CYCLES) {
    want = g_strdup_printf ("eos: %s stream=%u ", names[1], streams);
    step ("waiting for the reader to see the end of stream %u", streams);
    for (;;) {
      text = read_work_file ("reader.out");
      if (strstr (text, want)) {
        g_free (text);
        break;
      }
      g_free (text);
      if (waitpid (children[1], &status, WNOHANG) != 0)
        die ("the reader exited before the last stream ended");
      g_usleep (2000);
    }
    step_done ();
    g_free (want);
    kill (children[1], SIGINT);
    status = wait_child (children[1], "reader");
    children[1] = 0;
    text = read_work_file ("reader.out");
    want = g_strdup_printf ("summary: frames=%" G_GUINT64_FORMAT " bytes=%"
        G_GUINT64_FORMAT " errors=0 ", total, total * FRAME_BYTES);
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0 || !strstr (text,
            want))
      die ("reader (status 0x%x) does not end with '%s...'", status, want);
    g_free (want);
    want = g_strdup_printf (" streams=%u end=signal\n", streams);
    if (!strstr (text, want))
      die ("reader does not report%s", want);
    if (count_lines_with_prefix (text, "eos: ") != streams)
      die ("reader saw %u stream ends, zerosink wrote %u streams",
          count_lines_with_prefix (text, "eos: "), streams);
    g_free (want);
    g_free (text);
  }
  if (exists_any (names[1]))
    die ("objects of %s left at the end", names[1]);
  g_print ("%s: %u cycles (%u without a reader; with one: %u stopped at "
      "once, %u after the first frame, %u later) in %.1f s; %"
      G_GUINT64_FORMAT " frames in %u streams, all read\n", phase, cycles,
      MIN (cycles, NO_READER_CYCLES), modes[0] - MIN (cycles,
          NO_READER_CYCLES), modes[1], modes[2],
      (g_get_monotonic_time () - t0) / 1e6, total, streams);
}

int
main (int argc, char **argv)
{
  const gchar *cli = g_getenv ("ZEROBUFFER");
  const gchar *env;
  gchar *self_exe;
  guint32 seed;
  guint cycles = DEFAULT_CYCLES;
  GRand *rng;
  GThread *dog;

  if (argc == 3 && strcmp (argv[1], "--writer") == 0) {
    gst_init (NULL, NULL);
    return run_writer (argv[2]);
  }
  gst_init (&argc, &argv);
  if (cli == NULL || !g_file_test (cli, G_FILE_TEST_IS_EXECUTABLE)) {
    g_print ("SKIP: set ZEROBUFFER to the zerobuffer tool\n");
    return 77;
  }
  env = g_getenv ("ZB_CHURN_SEED");
  seed = env ? (guint32) g_ascii_strtoull (env, NULL, 10)
      : (guint32) (g_get_real_time () ^ getpid ());
  env = g_getenv ("ZB_CHURN_CYCLES");
  if (env)
    cycles = (guint) g_ascii_strtoull (env, NULL, 10);
  if (cycles < 1)
    cycles = 1;
  g_print ("seed %u (replay: ZB_CHURN_SEED=%u), %u cycles per phase\n",
      seed, seed, cycles);
  rng = g_rand_new_with_seed (seed);

  self_exe = g_file_read_link ("/proc/self/exe", NULL);
  work_dir = g_dir_make_tmp ("zbchurn-XXXXXX", NULL);
  if (self_exe == NULL || work_dir == NULL)
    die ("no /proc/self/exe or no temporary directory");
  dog = g_thread_new ("watchdog", watchdog, NULL);
  (void) dog;

  phase_src (self_exe, cycles, rng);
  phase_sink (cli, cycles, rng);

  {
    const gchar *files[] = { "writer.out", "writer.err", "reader.out",
      "reader.err"
    };
    guint i;
    for (i = 0; i < G_N_ELEMENTS (files); i++) {
      gchar *path = g_build_filename (work_dir, files[i], NULL);
      unlink (path);
      g_free (path);
    }
    rmdir (work_dir);
  }
  g_rand_free (rng);
  g_free (self_exe);
  g_print ("ok: %u start/stop cycles of each element, no hang, no leak\n",
      cycles);
  return 0;
}
