/* Ring health: the state machine on its own (thresholds, hysteresis, rate
 * limit, the message), then each element driving a ring into Degraded
 * and Critical and back, against a libzerobuffer peer in the test.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <zerobuffer/zerobuffer.h>

#include "gstzerohealth.h"
#include "zbgsttest.h"

/* Frames of FRAME bytes take 1 % of a SLOTS-frame ring each, so the ring
 * is k % full after k frames and every threshold is hit exactly. */
#define FRAME 1008
#define SLOTS 100
#define WAIT_MS 5000

static guint name_counter;
/* The runner's pid, in every name: its cleanup finds what a crashed test
 * process (each test runs in its own) left behind. */
static int run_pid;

static gchar *
unique_name (const gchar * what)
{
  return g_strdup_printf ("zhtest-%s-%d-%d-%u", what, run_pid,
      (int) getpid (), name_counter++);
}

static guint64
ring_bytes (void)
{
  return SLOTS * zb_frame_footprint (FRAME);
}

/* Runs in the runner after the tests: removes what a failed test left of
 * this runner's buffers and channels. */
static void
remove_leftovers (void)
{
  const gchar *dirs[] = { "/dev/shm", ZB_LOCK_DIR };
  gchar *mine = g_strdup_printf ("-%d-", run_pid);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (dirs); i++) {
    GDir *dir = g_dir_open (dirs[i], 0, NULL);
    const gchar *entry;

    while (dir && (entry = g_dir_read_name (dir))) {
      gchar *path;

      if (strstr (entry, "zhtest-") == NULL || strstr (entry, mine) == NULL)
        continue;
      path = g_build_filename (dirs[i], entry, NULL);
      GST_WARNING ("removing leftover %s", path);
      g_unlink (path);
      g_free (path);
    }
    if (dir)
      g_dir_close (dir);
  }
  g_free (mine);
}

/* ------------------------------------------------------------ checks */

static GstZeroHealth
get_health (GstElement * el)
{
  gint v = -1;

  g_object_get (el, "health", &v, NULL);
  return (GstZeroHealth) v;
}

/* The next element message is the change to @state from @previous with
 * @used_pct % of the ring in use, and the property already says so. */
static void
expect_health (GstBus * bus, GstElement * el, const gchar * name,
    GstZeroHealth state, GstZeroHealth previous, guint used_pct)
{
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, WAIT_MS * GST_MSECOND,
      GST_MESSAGE_ELEMENT);
  const GstStructure *s;
  gint st = -1, prev = -1;
  gdouble util = -1.0;
  guint64 size = 0, free_bytes = 0;

  fail_unless (msg != NULL, "no %s message for %s",
      GST_ZERO_HEALTH_MESSAGE, gst_zero_health_nick (state));
  fail_unless (GST_MESSAGE_SRC (msg) == GST_OBJECT (el));
  s = gst_message_get_structure (msg);
  fail_unless (gst_structure_has_name (s, GST_ZERO_HEALTH_MESSAGE));
  fail_unless_equals_string (gst_structure_get_string (s, "name"), name);
  fail_unless (gst_structure_get_enum (s, "state", GST_TYPE_ZERO_HEALTH,
          &st));
  fail_unless (gst_structure_get_enum (s, "previous", GST_TYPE_ZERO_HEALTH,
          &prev));
  fail_unless_equals_string (gst_structure_get_string (s, "state-name"),
      gst_zero_health_nick (state));
  fail_unless (gst_structure_get_double (s, "utilization", &util));
  fail_unless (gst_structure_get_uint64 (s, "payload-size", &size));
  fail_unless (gst_structure_get_uint64 (s, "free-bytes", &free_bytes));
  fail_unless (st == (gint) state, "state %s, expected %s",
      gst_zero_health_nick (st), gst_zero_health_nick (state));
  fail_unless (prev == (gint) previous, "previous %s, expected %s",
      gst_zero_health_nick (prev), gst_zero_health_nick (previous));
  fail_unless_equals_uint64 (size, ring_bytes ());
  fail_unless_equals_uint64 (free_bytes,
      ring_bytes () - used_pct * zb_frame_footprint (FRAME));
  fail_unless (util > used_pct / 100.0 - 1e-9
      && util < used_pct / 100.0 + 1e-9, "utilization %f, expected %u %%",
      util, used_pct);
  fail_unless_equals_int (get_health (el), state);
  gst_message_unref (msg);
}

/* Messages are posted from the thread that samples, before the push or
 * pull that led to the sample returns: one not there now never comes. */
static void
expect_no_health (GstBus * bus)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);

  if (msg) {
    gchar *s = gst_structure_to_string (gst_message_get_structure (msg));

    fail ("unexpected message %s", s);
    g_free (s);
  }
}

static void
count_notify (GObject * obj, GParamSpec * pspec, gpointer data)
{
  g_atomic_int_inc ((gint *) data);
}

/* ------------------------------------------------ the state machine */

/* The log lines of zerohealth, by level. */
static gint n_warnings, n_infos;

static void
count_log (GstDebugCategory * category, GstDebugLevel level,
    const gchar * file, const gchar * function, gint line, GObject * object,
    GstDebugMessage * message, gpointer user_data)
{
  if (strcmp (gst_debug_category_get_name (category), "zerohealth") != 0)
    return;
  if (level == GST_LEVEL_WARNING)
    g_atomic_int_inc (&n_warnings);
  else if (level == GST_LEVEL_INFO)
    g_atomic_int_inc (&n_infos);
}

static void
count_log_start (void)
{
  g_atomic_int_set (&n_warnings, 0);
  g_atomic_int_set (&n_infos, 0);
  gst_debug_set_threshold_for_name ("zerohealth", GST_LEVEL_INFO);
  gst_debug_add_log_function (count_log, NULL, NULL);
}

static void
count_log_stop (void)
{
  gst_debug_remove_log_function (count_log);
}

/* The state after one sample of @pct_x100 hundredths of a percent of a
 * @size-byte ring in use, from @from. */
static GstZeroHealth
next_at (GstZeroHealth from, guint64 size, guint64 used)
{
  return gst_zero_health_next (from, size, size - used);
}

GST_START_TEST (test_thresholds)
{
  const GstZeroHealth H = GST_ZERO_HEALTH_HEALTHY,
      D = GST_ZERO_HEALTH_DEGRADED, C = GST_ZERO_HEALTH_CRITICAL;
  /* 100 bytes: every percent is a byte; 1000003: boundaries between
   * bytes; 2^40: large rings. */
  const guint64 sizes[] = { 100, 1000003, G_GUINT64_CONSTANT (1) << 40 };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (sizes); i++) {
    guint64 p = sizes[i];
    /* the first byte count at or above @pct % */
#define AT(pct) ((p * (pct) + 99) / 100)

    /* Healthy: Degraded from 80 % (the README's boundary), Critical above
     * 95 %, straight from Healthy too. */
    fail_unless_equals_int (next_at (H, p, 0), H);
    fail_unless_equals_int (next_at (H, p, AT (80) - 1), H);
    fail_unless_equals_int (next_at (H, p, AT (80)), D);
    fail_unless_equals_int (next_at (H, p, p * 95 / 100), D);
    fail_unless_equals_int (next_at (H, p, p * 95 / 100 + 1), C);
    fail_unless_equals_int (next_at (H, p, p), C);

    /* Degraded: back to Healthy only below 75 %. */
    fail_unless_equals_int (next_at (D, p, AT (80) - 1), D);
    fail_unless_equals_int (next_at (D, p, AT (75)), D);
    fail_unless_equals_int (next_at (D, p, AT (75) - 1), H);
    fail_unless_equals_int (next_at (D, p, p * 95 / 100), D);
    fail_unless_equals_int (next_at (D, p, p * 95 / 100 + 1), C);

    /* Critical: back to Degraded below 90 %, to Healthy below 75 %. */
    fail_unless_equals_int (next_at (C, p, p * 95 / 100), C);
    fail_unless_equals_int (next_at (C, p, AT (90)), C);
    fail_unless_equals_int (next_at (C, p, AT (90) - 1), D);
    fail_unless_equals_int (next_at (C, p, AT (75)), D);
    fail_unless_equals_int (next_at (C, p, AT (75) - 1), H);
    fail_unless_equals_int (next_at (C, p, 0), H);
#undef AT
  }

  /* No ring yet: no change; a free count above the ring is all free. */
  fail_unless_equals_int (gst_zero_health_next (D, 0, 0), D);
  fail_unless_equals_int (gst_zero_health_next (C, 100, 1000), H);

  fail_unless (gst_zero_health_utilization (0, 0) == 0.0);
  fail_unless (gst_zero_health_utilization (100, 1000) == 0.0);
  fail_unless (gst_zero_health_utilization (100, 0) == 1.0);
  fail_unless (gst_zero_health_utilization (1024, 256) == 0.75);
}

GST_END_TEST;

GST_START_TEST (test_enum_and_message)
{
  GEnumClass *klass = g_type_class_ref (GST_TYPE_ZERO_HEALTH);
  GstElement *el = gst_element_factory_make ("zerosink", "health0");
  GParamSpec *pspec;
  GstMessage *msg;
  const GstStructure *s;
  gint v;
  guint64 u64;
  gdouble d;

  fail_unless_equals_string (g_type_name (GST_TYPE_ZERO_HEALTH),
      "GstZeroHealth");
  fail_unless_equals_int (klass->n_values, 3);
  fail_unless_equals_string (g_enum_get_value (klass,
          GST_ZERO_HEALTH_HEALTHY)->value_nick, "healthy");
  fail_unless_equals_string (g_enum_get_value (klass,
          GST_ZERO_HEALTH_DEGRADED)->value_nick, "degraded");
  fail_unless_equals_string (g_enum_get_value (klass,
          GST_ZERO_HEALTH_CRITICAL)->value_nick, "critical");
  g_type_class_unref (klass);

  /* The elements' read-only property, of that type. */
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (el), "health");
  fail_unless (pspec != NULL);
  fail_unless (G_PARAM_SPEC_VALUE_TYPE (pspec) == GST_TYPE_ZERO_HEALTH);
  fail_unless ((pspec->flags & G_PARAM_WRITABLE) == 0);
  fail_unless_equals_int (get_health (el), GST_ZERO_HEALTH_HEALTHY);

  msg = gst_zero_health_message_new (GST_OBJECT (el), "cam1",
      GST_ZERO_HEALTH_DEGRADED, GST_ZERO_HEALTH_HEALTHY, 1000, 150);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_ELEMENT);
  fail_unless (GST_MESSAGE_SRC (msg) == GST_OBJECT (el));
  s = gst_message_get_structure (msg);
  fail_unless (gst_structure_has_name (s, "zerobuffer-health"));
  fail_unless_equals_int (gst_structure_n_fields (s), 7);
  fail_unless_equals_string (gst_structure_get_string (s, "name"), "cam1");
  fail_unless (gst_structure_get_enum (s, "state", GST_TYPE_ZERO_HEALTH, &v));
  fail_unless_equals_int (v, GST_ZERO_HEALTH_DEGRADED);
  fail_unless (gst_structure_get_enum (s, "previous", GST_TYPE_ZERO_HEALTH,
          &v));
  fail_unless_equals_int (v, GST_ZERO_HEALTH_HEALTHY);
  fail_unless_equals_string (gst_structure_get_string (s, "state-name"),
      "degraded");
  fail_unless (gst_structure_get_double (s, "utilization", &d));
  fail_unless (d > 0.849999 && d < 0.850001);
  fail_unless (gst_structure_get_uint64 (s, "payload-size", &u64));
  fail_unless_equals_uint64 (u64, 1000);
  fail_unless (gst_structure_get_uint64 (s, "free-bytes", &u64));
  fail_unless_equals_uint64 (u64, 150);
  gst_message_unref (msg);
  gst_object_unref (el);
}

GST_END_TEST;

/* A ring hovering around a boundary changes state once, not at every
 * sample: one message, one log line. */
GST_START_TEST (test_hysteresis_no_flood)
{
  GstElement *el = gst_element_factory_make ("zerosink", NULL);
  GstBus *bus = gst_bus_new ();
  GstZeroHealthTracker t;
  const guint64 p = 1000;
  gint64 now = 1000 * G_TIME_SPAN_SECOND;
  guint i, changes = 0;

  gst_element_set_bus (el, bus);
  gst_zero_health_tracker_init (&t);
  count_log_start ();

#define SAMPLE(pct) gst_zero_health_tracker_sample_at (&t, el, "cam1", p, \
    p - (pct) * p / 100, now++)

  /* 79/80: Degraded at the first 80, then 79 is not below 75. */
  for (i = 0; i < 200; i++)
    changes += SAMPLE (i % 2 ? 80 : 79);
  fail_unless_equals_int (changes, 1);
  fail_unless_equals_int (gst_zero_health_tracker_get (&t),
      GST_ZERO_HEALTH_DEGRADED);
  /* 74/76: Healthy at the first 74, then 76 is not 80. */
  for (i = 0; i < 200; i++)
    changes += SAMPLE (i % 2 ? 76 : 74);
  fail_unless_equals_int (changes, 2);
  fail_unless_equals_int (gst_zero_health_tracker_get (&t),
      GST_ZERO_HEALTH_HEALTHY);
  /* 94/96, then 89/91: Critical once, Degraded once. */
  for (i = 0; i < 200; i++)
    changes += SAMPLE (i % 2 ? 94 : 96);
  fail_unless_equals_int (changes, 3);
  for (i = 0; i < 200; i++)
    changes += SAMPLE (i % 2 ? 91 : 89);
  fail_unless_equals_int (changes, 4);
  fail_unless_equals_int (gst_zero_health_tracker_get (&t),
      GST_ZERO_HEALTH_DEGRADED);
#undef SAMPLE

  /* One message per change, in order. */
  for (i = 0; i < 4; i++) {
    const GstZeroHealth want[] = { GST_ZERO_HEALTH_DEGRADED,
      GST_ZERO_HEALTH_HEALTHY, GST_ZERO_HEALTH_CRITICAL,
      GST_ZERO_HEALTH_DEGRADED
    };
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
    gint v = -1;

    fail_unless (msg != NULL);
    fail_unless (gst_structure_get_enum (gst_message_get_structure (msg),
            "state", GST_TYPE_ZERO_HEALTH, &v));
    fail_unless_equals_int (v, want[i]);
    gst_message_unref (msg);
  }
  expect_no_health (bus);
  /* Warnings entering Degraded and Critical, info lines recovering (the
   * states differ, so the rate limit holds none back). */
  fail_unless_equals_int (g_atomic_int_get (&n_warnings), 2);
  fail_unless_equals_int (g_atomic_int_get (&n_infos), 2);

  count_log_stop ();
  gst_element_set_bus (el, NULL);
  gst_object_unref (bus);
  gst_object_unref (el);
}

GST_END_TEST;

/* A ring swinging past both boundaries at every frame (frames of a large
 * share of the ring do that): every change is a message, but the log has
 * one line of each kind per interval, the next says how many it left out,
 * and a change left out is logged once the interval allows. */
GST_START_TEST (test_rate_limit)
{
  const GstZeroHealth H = GST_ZERO_HEALTH_HEALTHY,
      C = GST_ZERO_HEALTH_CRITICAL;
  GstElement *el = gst_element_factory_make ("zerosink", NULL);
  GstBus *bus = gst_bus_new ();
  GstZeroHealthTracker t;
  const guint64 p = 1000, crit = 10, fine = p / 2;     /* free bytes */
  const gint64 t0 = 5000 * G_TIME_SPAN_SECOND, step = G_TIME_SPAN_SECOND / 10;
  gint64 now = t0;
  guint i, changes = 0, messages = 0;
  GstMessage *msg;

  gst_element_set_bus (el, bus);
  gst_zero_health_tracker_init (&t);
  count_log_start ();

  /* 40 changes in 4 s: the first critical and the first healthy logged. */
  for (i = 0; i < 40; i++, now += step)
    changes += gst_zero_health_tracker_sample_at (&t, el, "cam1", p,
        i % 2 ? fine : crit, now);
  fail_unless_equals_int (changes, 40);
  fail_unless_equals_int (g_atomic_int_get (&n_warnings), 1);
  fail_unless_equals_int (g_atomic_int_get (&n_infos), 1);
  fail_unless_equals_int (gst_zero_health_tracker_suppressed (&t, H, C), 19);
  fail_unless_equals_int (gst_zero_health_tracker_suppressed (&t, C, H), 19);
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    messages++;
    gst_message_unref (msg);
  }
  fail_unless_equals_int (messages, 40);

  /* The last change (back to healthy) was left out: it is logged at the
   * first sample an interval after the last such line (at t0 + step). */
  fail_if (gst_zero_health_tracker_sample_at (&t, el, "cam1", p, fine,
          t0 + step + GST_ZERO_HEALTH_LOG_INTERVAL - 1));
  fail_unless_equals_int (g_atomic_int_get (&n_infos), 1);
  fail_if (gst_zero_health_tracker_sample_at (&t, el, "cam1", p, fine,
          t0 + step + GST_ZERO_HEALTH_LOG_INTERVAL));
  fail_unless_equals_int (g_atomic_int_get (&n_infos), 2);
  fail_unless_equals_int (gst_zero_health_tracker_suppressed (&t, C, H), 0);
  /* ... once. */
  fail_if (gst_zero_health_tracker_sample_at (&t, el, "cam1", p, fine,
          t0 + step + 2 * GST_ZERO_HEALTH_LOG_INTERVAL));
  fail_unless_equals_int (g_atomic_int_get (&n_infos), 2);
  fail_unless_equals_int (g_atomic_int_get (&n_warnings), 1);

  /* A kind's interval over: its next change is logged at once, with the
   * count, which starts again. */
  now = t0 + 2 * GST_ZERO_HEALTH_LOG_INTERVAL;
  fail_unless (gst_zero_health_tracker_sample_at (&t, el, "cam1", p, crit,
          now));
  fail_unless_equals_int (g_atomic_int_get (&n_warnings), 2);
  fail_unless_equals_int (gst_zero_health_tracker_suppressed (&t, H, C), 0);

  /* A restart goes back to Healthy without a message and keeps the rate
   * limit: an element restarted in a loop does not flood either. */
  fail_unless_equals_int (gst_zero_health_tracker_reset (&t), C);
  fail_unless (gst_zero_health_tracker_sample_at (&t, el, "cam1", p, crit,
          now + 1));
  fail_unless_equals_int (g_atomic_int_get (&n_warnings), 2);
  fail_unless_equals_int (gst_zero_health_tracker_suppressed (&t, H, C), 1);

  count_log_stop ();
  gst_bus_set_flushing (bus, TRUE);
  gst_element_set_bus (el, NULL);
  gst_object_unref (bus);
  gst_object_unref (el);
}

GST_END_TEST;

/* ------------------------------------------------------------ zerosink */

static GstBuffer *
frame_buffer (guint i)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, FRAME, NULL);

  gst_buffer_memset (buf, 0, (guint8) i, FRAME);
  return buf;
}

/* The test reader takes @n frames and gives them back: their room returns
 * to the writer. */
static void
reader_free_frames (zb_reader * r, guint n)
{
  zb_frame f;

  while (n-- > 0) {
    fail_unless_equals_int (zb_reader_acquire (r, &f, WAIT_MS), ZB_OK);
    fail_unless_equals_uint64 (f.size, FRAME);
    fail_unless_equals_int (zb_reader_release (r, &f), ZB_OK);
  }
}

/* A reader that does not keep up: zerosink fills the ring into Degraded
 * and Critical; as the reader catches up, back to Degraded and Healthy. */
GST_START_TEST (test_zerosink)
{
  gchar *name = unique_name ("sink");
  zb_reader_options opts = { 0, };
  zb_reader *r = NULL;
  GstElement *sink = gst_element_factory_make ("zerosink", NULL);
  GstBus *bus = gst_bus_new ();
  GstHarness *h;
  gint notified = 0;
  guint used = 0, i;

  opts.payload_size = ring_bytes ();
  opts.metadata_size = 4096;
  fail_unless_equals_int (zb_reader_create (&r, name, &opts), ZB_OK);
  g_object_set (sink, "buffer-name", name, NULL);
  gst_element_set_bus (sink, bus);
  g_signal_connect (sink, "notify::health", G_CALLBACK (count_notify),
      &notified);
  h = gst_harness_new_with_element (sink, "sink", NULL);
  gst_harness_set_src_caps_str (h, "application/x-zbtest");

#define PUSH() do {                                                     \
    fail_unless_equals_int (gst_harness_push (h, frame_buffer (used)),  \
        GST_FLOW_OK);                                                   \
    used++;                                                             \
  } while (0)

  /* Up to 79 %: healthy, nothing posted. */
  for (i = 0; i < 79; i++)
    PUSH ();
  expect_no_health (bus);
  fail_unless_equals_int (get_health (sink), GST_ZERO_HEALTH_HEALTHY);
  PUSH ();
  expect_health (bus, sink, name, GST_ZERO_HEALTH_DEGRADED,
      GST_ZERO_HEALTH_HEALTHY, 80);

  /* Hovering around 80 %: 79, 80, 79, ... stays Degraded, silently. */
  for (i = 0; i < 5; i++) {
    reader_free_frames (r, 2);
    used -= 2;
    PUSH ();
    fail_unless_equals_int (get_health (sink), GST_ZERO_HEALTH_DEGRADED);
    PUSH ();
  }
  expect_no_health (bus);

  /* 95 % is still Degraded; above it Critical. */
  while (used < 95)
    PUSH ();
  expect_no_health (bus);
  PUSH ();
  expect_health (bus, sink, name, GST_ZERO_HEALTH_CRITICAL,
      GST_ZERO_HEALTH_DEGRADED, 96);

  /* The reader catches up: 87 % is below 90 %, Degraded. */
  reader_free_frames (r, 10);
  used -= 10;
  PUSH ();
  expect_health (bus, sink, name, GST_ZERO_HEALTH_DEGRADED,
      GST_ZERO_HEALTH_CRITICAL, 87);
  /* 76 % is not below 75 %; 74 % is. */
  reader_free_frames (r, 12);
  used -= 12;
  PUSH ();
  expect_no_health (bus);
  reader_free_frames (r, 3);
  used -= 3;
  PUSH ();
  expect_health (bus, sink, name, GST_ZERO_HEALTH_HEALTHY,
      GST_ZERO_HEALTH_DEGRADED, 74);
  expect_no_health (bus);
  fail_unless_equals_int (g_atomic_int_get (&notified), 4);
#undef PUSH

  gst_harness_teardown (h);
  gst_element_set_bus (sink, NULL);
  gst_object_unref (sink);
  gst_object_unref (bus);
  zb_reader_close (r);
  zb_gst_assert_no_leftovers (name);
  g_free (name);
}

GST_END_TEST;

/* ------------------------------------------------------------ zerosrc */

/* Downstream (the test) holds the frames zerosrc lends, and zerosrc does
 * not copy them out (evacuate-threshold=100): the ring fills as frames
 * come; giving them back brings it down again. */
GST_START_TEST (test_zerosrc)
{
  gchar *name = unique_name ("src");
  gchar *size = g_strdup_printf ("%" G_GUINT64_FORMAT, ring_bytes ());
  GstHarness *h = gst_harness_new ("zerosrc");
  GstBus *bus = gst_bus_new ();
  GQueue held = G_QUEUE_INIT;
  guint8 frame[FRAME];
  zb_writer *w = NULL;
  gint notified = 0;
  guint n = 0, i;

  g_object_set (h->element, "buffer-name", name, "payload-size", size,
      "metadata-size", "4K", "evacuate-threshold", 100, NULL);
  gst_element_set_bus (h->element, bus);
  g_signal_connect (h->element, "notify::health",
      G_CALLBACK (count_notify), &notified);
  gst_harness_play (h);
  fail_unless_equals_int (zb_writer_open (&w, name, WAIT_MS), ZB_OK);
  fail_unless_equals_int (zb_writer_set_metadata (w, "application/x-zbtest",
          strlen ("application/x-zbtest")), ZB_OK);

  /* One frame in, the same frame out (and held): the sample zerosrc took
   * on reading it is the ring with every held frame in it. */
#define MORE() do {                                                     \
    GstBuffer *b;                                                       \
    memset (frame, (int) n, FRAME);                                     \
    fail_unless_equals_int (zb_writer_write (w, frame, FRAME, WAIT_MS), \
        ZB_OK);                                                         \
    b = gst_harness_pull (h);                                           \
    fail_unless (b != NULL, "frame %u not received", n);                \
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (b), n);               \
    g_queue_push_tail (&held, b);                                       \
    n++;                                                                \
  } while (0)
#define GIVE_BACK(k) do {                                               \
    guint k_ = (k);                                                     \
    while (k_-- > 0)                                                    \
      gst_buffer_unref (g_queue_pop_head (&held));                      \
  } while (0)

  for (i = 0; i < 79; i++)
    MORE ();
  expect_no_health (bus);
  MORE ();
  expect_health (bus, h->element, name, GST_ZERO_HEALTH_DEGRADED,
      GST_ZERO_HEALTH_HEALTHY, 80);

  /* Hovering around 80 %. */
  for (i = 0; i < 5; i++) {
    GIVE_BACK (2);
    MORE ();
    MORE ();
  }
  expect_no_health (bus);

  while (held.length < 95)
    MORE ();
  expect_no_health (bus);
  MORE ();
  expect_health (bus, h->element, name, GST_ZERO_HEALTH_CRITICAL,
      GST_ZERO_HEALTH_DEGRADED, 96);

  GIVE_BACK (10);
  MORE ();
  expect_health (bus, h->element, name, GST_ZERO_HEALTH_DEGRADED,
      GST_ZERO_HEALTH_CRITICAL, 87);
  GIVE_BACK (12);
  MORE ();
  expect_no_health (bus);
  GIVE_BACK (3);
  MORE ();
  expect_health (bus, h->element, name, GST_ZERO_HEALTH_HEALTHY,
      GST_ZERO_HEALTH_DEGRADED, 74);
  expect_no_health (bus);
  fail_unless_equals_int (g_atomic_int_get (&notified), 4);
  GIVE_BACK (held.length);
#undef MORE
#undef GIVE_BACK

  zb_writer_close (w);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  zb_gst_assert_no_leftovers (name);
  g_free (size);
  g_free (name);
}

GST_END_TEST;

/* ------------------------------------------------------------ zerofilter */

/* A duplex server that answers every request at once but keeps the
 * request frames until the test gives them back. */
typedef struct
{
  zb_duplex_server *s;
  GThread *thread;
  gint stop;                    /* atomic */
  GMutex lock;
  GQueue held;                  /* of zb_frame, oldest first */
  int end_rc;
} Server;

static gpointer
server_run (gpointer data)
{
  Server *x = data;
  zb_reader *r;
  zb_writer *w;
  guint8 answer = 42;
  int rc;

  do {
    rc = zb_duplex_server_wait_client (x->s, 100);
  } while (rc == ZB_ETIMEDOUT && !g_atomic_int_get (&x->stop));
  if (rc == ZB_OK)
    rc = zb_duplex_server_attach (x->s, WAIT_MS);
  if (rc != ZB_OK)
    goto done;
  r = zb_duplex_server_request_reader (x->s);
  w = zb_duplex_server_response_writer (x->s);
  while (!g_atomic_int_get (&x->stop)) {
    zb_frame f;

    rc = zb_reader_acquire (r, &f, 100);
    if (rc == ZB_ETIMEDOUT)
      continue;
    if (rc != ZB_OK)
      break;
    g_mutex_lock (&x->lock);
    g_queue_push_tail (&x->held, g_memdup2 (&f, sizeof f));
    g_mutex_unlock (&x->lock);
    rc = zb_writer_write (w, &answer, 1, WAIT_MS);
    if (rc != ZB_OK)
      break;
  }
done:
  x->end_rc = rc;
  return NULL;
}

/* Gives @n of the oldest held requests back to zerofilter's ring. */
static void
server_give_back (Server * x, guint n)
{
  g_mutex_lock (&x->lock);
  while (n-- > 0) {
    zb_frame *f = g_queue_pop_head (&x->held);

    fail_unless (f != NULL);
    fail_unless_equals_int (zb_reader_release
        (zb_duplex_server_request_reader (x->s), f), ZB_OK);
    g_free (f);
  }
  g_mutex_unlock (&x->lock);
}

/* The request ring of zerofilter's channel, held by a server that does
 * not release what it read: the same states as a writer's. */
GST_START_TEST (test_zerofilter)
{
  gchar *ch = unique_name ("filter");
  gchar *req = g_strconcat (ch, "_request", NULL);
  gchar *resp = g_strconcat (ch, "_response", NULL);
  GstElement *filter = gst_element_factory_make ("zerofilter", NULL);
  GstBus *bus = gst_bus_new ();
  zb_reader_options o = { 0, };
  Server x = { 0, };
  GstHarness *h;
  gint notified = 0;
  guint used = 0, i;

  o.payload_size = ring_bytes ();
  o.metadata_size = 4096;
  fail_unless_equals_int (zb_duplex_server_create (&x.s, ch, &o), ZB_OK);
  g_mutex_init (&x.lock);
  g_queue_init (&x.held);
  x.thread = g_thread_new ("server", server_run, &x);

  g_object_set (filter, "channel-name", ch, NULL);
  gst_element_set_bus (filter, bus);
  g_signal_connect (filter, "notify::health", G_CALLBACK (count_notify),
      &notified);
  h = gst_harness_new_with_element (filter, "sink", "src");
  gst_harness_set_src_caps_str (h, "application/x-zbtest");

  /* Each push is a request sent and answered (max-in-flight=1). */
#define PUSH() do {                                                     \
    fail_unless_equals_int (gst_harness_push (h, frame_buffer (used)),  \
        GST_FLOW_OK);                                                   \
    gst_buffer_unref (gst_harness_pull (h));                            \
    used++;                                                             \
  } while (0)

  for (i = 0; i < 79; i++)
    PUSH ();
  expect_no_health (bus);
  PUSH ();
  expect_health (bus, filter, req, GST_ZERO_HEALTH_DEGRADED,
      GST_ZERO_HEALTH_HEALTHY, 80);
  while (used < 96)
    PUSH ();
  expect_health (bus, filter, req, GST_ZERO_HEALTH_CRITICAL,
      GST_ZERO_HEALTH_DEGRADED, 96);
  server_give_back (&x, 25);
  used -= 25;
  PUSH ();
  expect_health (bus, filter, req, GST_ZERO_HEALTH_HEALTHY,
      GST_ZERO_HEALTH_CRITICAL, 72);
  expect_no_health (bus);
  fail_unless_equals_int (g_atomic_int_get (&notified), 3);
#undef PUSH

  gst_harness_teardown (h);
  gst_element_set_bus (filter, NULL);
  gst_object_unref (filter);
  g_atomic_int_set (&x.stop, 1);
  zb_duplex_server_interrupt (x.s, 1);
  g_thread_join (x.thread);
  server_give_back (&x, x.held.length);
  zb_duplex_server_close (x.s);
  g_mutex_clear (&x.lock);
  gst_object_unref (bus);
  zb_gst_assert_no_leftovers (req);
  zb_gst_assert_no_leftovers (resp);
  g_free (req);
  g_free (resp);
  g_free (ch);
}

GST_END_TEST;

static Suite *
health_suite (void)
{
  Suite *s = suite_create ("health");
  TCase *tc = tcase_create ("general");

  run_pid = (int) getpid ();
  suite_add_tcase (s, tc);
  tcase_add_unchecked_fixture (tc, NULL, remove_leftovers);
  tcase_add_test (tc, test_thresholds);
  tcase_add_test (tc, test_enum_and_message);
  tcase_add_test (tc, test_hysteresis_no_flood);
  tcase_add_test (tc, test_rate_limit);
  tcase_add_test (tc, test_zerosink);
  tcase_add_test (tc, test_zerosrc);
  tcase_add_test (tc, test_zerofilter);
  return s;
}

ZB_GST_CHECK_MAIN (health, "zerosink", "zerosrc", "zerofilter");
