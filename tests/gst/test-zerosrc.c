/* Tests for zerosrc, fed by a libzerobuffer writer.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <zerobuffer/zerobuffer.h>

#include "zbgsttest.h"

/* 4x4 GRAY8: 16-byte frames with a framerate for the PTS checks. */
#define VIDEO_CAPS "video/x-raw, format=(string)GRAY8, width=(int)4, " \
  "height=(int)4, framerate=(fraction)30/1"
#define VIDEO_FRAME 16
#define VIDEO_JSON "{\"type\":\"gstreamer-sink\",\"version\":" \
  "\"GStreamer 1.22.0\",\"caps\":\"" VIDEO_CAPS "\"," \
  "\"element_name\":\"zerosink0\"}"

/* The ring for the hold/copy tests: 64 KiB, 4000-byte frames, so 16 frames
 * (16 x 4016 = 64256 bytes) fit before the first wrap, which leaves a
 * 1280-byte tail. */
#define RING "64K"
#define RING_BYTES 65536
#define HOLD_FRAME 4000
#define HOLD_T (HOLD_FRAME + ZB_FRAME_HEADER_SIZE)

#define STOP_DEADLINE_MS ZB_STOP_BOUND_MS

static gchar *
make_name (const gchar * tag)
{
  static gint counter;

  return g_strdup_printf ("zbsrc-test-%d-%d-%s", (gint) getpid (),
      g_atomic_int_add (&counter, 1), tag);
}

/* Every byte depends on the sequence number, so a frame overwritten by a
 * later one can never pass for itself. */
static void
fill_frame (guint8 * data, gsize size, guint64 seq)
{
  gsize i;

  for (i = 0; i < size; i++)
    data[i] = (guint8) (seq * 131 + i * 7 + (i >> 8));
  if (size >= sizeof seq)
    memcpy (data, &seq, sizeof seq);
}

/* For threads other than the test's own, where fail_unless cannot be used. */
static gboolean
frame_ok (GstBuffer * buf, gsize size, guint64 seq)
{
  guint8 *expected = g_malloc (size);
  GstMapInfo map;
  gboolean ok;

  fill_frame (expected, size, seq);
  if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
    g_free (expected);
    return FALSE;
  }
  ok = map.size == size && memcmp (map.data, expected, size) == 0;
  gst_buffer_unmap (buf, &map);
  g_free (expected);
  return ok;
}

static void
check_frame (GstBuffer * buf, gsize size, guint64 seq)
{
  fail_unless_equals_uint64 (gst_buffer_get_size (buf), size);
  fail_unless (frame_ok (buf, size, seq),
      "content of frame %" G_GUINT64_FORMAT " differs", seq);
}

/* TRUE if @p lies in a mapping of /dev/shm/@name in this process (the
 * reader's ring, or the writer's view of it), as /proc/self/maps says. */
static gboolean
in_shm (gconstpointer p, const gchar * name)
{
  gchar *path = g_strconcat ("/dev/shm/", name, NULL);
  gchar *text = NULL;
  gchar **lines;
  gboolean found = FALSE;
  guint i;

  fail_unless (g_file_get_contents ("/proc/self/maps", &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (i = 0; lines[i] != NULL && !found; i++) {
    const gchar *file = strchr (lines[i], '/');
    guintptr start, end;

    if (file == NULL || sscanf (lines[i], "%" G_GINTPTR_MODIFIER "x-%"
            G_GINTPTR_MODIFIER "x", &start, &end) != 2)
      continue;
    /* a closed reader's ring shows as "... (deleted)" */
    if (!g_str_has_prefix (file, path) || (file[strlen (path)] != '\0'
            && file[strlen (path)] != ' '))
      continue;
    found = (guintptr) p >= start && (guintptr) p < end;
  }
  g_strfreev (lines);
  g_free (text);
  g_free (path);
  return found;
}

/* TRUE if @buf's bytes are still in the ring (lent, not copied out). */
static gboolean
in_ring (GstBuffer * buf, const gchar * name)
{
  GstMapInfo map;
  gboolean found;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  found = in_shm (map.data, name);
  gst_buffer_unmap (buf, &map);
  return found;
}

/* ------------------------------------------------------------ writer */

typedef struct
{
  gchar *name;
  gchar *meta;
  guint n_frames;
  gsize frame_size;
  gint rc;
  gint written;
  GThread *thread;
} Writer;

static gpointer
writer_func (gpointer data)
{
  Writer *wj = data;
  zb_writer *w = NULL;
  guint8 *frame = g_malloc (wj->frame_size);
  guint i;
  int rc;

  rc = zb_writer_open (&w, wj->name, 10000);
  if (rc == ZB_OK && wj->meta)
    rc = zb_writer_set_metadata (w, wj->meta, strlen (wj->meta));
  for (i = 1; rc == ZB_OK && i <= wj->n_frames; i++) {
    fill_frame (frame, wj->frame_size, i);
    rc = zb_writer_write (w, frame, wj->frame_size, 30000);
    if (rc == ZB_OK)
      g_atomic_int_inc (&wj->written);
  }
  zb_writer_close (w);
  wj->rc = rc;
  g_free (frame);
  return NULL;
}

static Writer *
writer_start (const gchar * name, const gchar * meta, guint n_frames,
    gsize frame_size)
{
  Writer *wj = g_new0 (Writer, 1);

  wj->name = g_strdup (name);
  wj->meta = g_strdup (meta);
  wj->n_frames = n_frames;
  wj->frame_size = frame_size;
  wj->thread = g_thread_new ("writer", writer_func, wj);
  return wj;
}

/* Returns the writer's final status and how many frames it wrote. */
static gint
writer_join (Writer * wj, gint * written)
{
  gint rc;

  g_thread_join (wj->thread);
  rc = wj->rc;
  if (written)
    *written = wj->written;
  g_free (wj->name);
  g_free (wj->meta);
  g_free (wj);
  return rc;
}

/* ------------------------------------------------------------ harness */

static GstHarness *
src_new (const gchar * name, GstBus ** bus)
{
  GstHarness *h = gst_harness_new ("zerosrc");

  g_object_set (h->element, "buffer-name", name, "payload-size", RING,
      "metadata-size", "4K", NULL);
  *bus = gst_bus_new ();
  gst_element_set_bus (h->element, *bus);
  return h;
}

static void
src_free (GstHarness * h, GstBus * bus, const gchar * name)
{
  gst_harness_teardown (h);
  gst_object_unref (bus);
  zb_gst_assert_no_leftovers (name);
}

static GstBuffer *
pull_frame (GstHarness * h, gsize size, guint64 seq)
{
  GstBuffer *buf = gst_harness_pull (h);

  fail_unless (buf != NULL, "frame %" G_GUINT64_FORMAT " not received", seq);
  check_frame (buf, size, seq);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (buf), seq - 1);
  return buf;
}

static void
expect_eos (GstHarness * h)
{
  for (;;) {
    GstEvent *ev = gst_harness_pull_event (h);
    GstEventType type;

    fail_unless (ev != NULL, "no EOS");
    type = GST_EVENT_TYPE (ev);
    gst_event_unref (ev);
    if (type == GST_EVENT_EOS)
      return;
  }
}

/* Pops the first message of @type and checks its GError and that the text
 * names the buffer. */
static void
expect_message (GstBus * bus, GstMessageType type, GQuark domain, gint code,
    const gchar * name)
{
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 20 * GST_SECOND, type);
  GError *err = NULL;
  gchar *dbg = NULL;

  fail_unless (msg != NULL, "no %s message", gst_message_type_get_name (type));
  if (type == GST_MESSAGE_ERROR)
    gst_message_parse_error (msg, &err, &dbg);
  else
    gst_message_parse_warning (msg, &err, &dbg);
  GST_INFO ("%s: %s (%s)", gst_message_type_get_name (type), err->message, dbg);
  fail_unless (g_error_matches (err, domain, code), "got %s %d: %s",
      g_quark_to_string (err->domain), err->code, err->message);
  fail_unless (strstr (err->message, name) != NULL,
      "message \"%s\" does not name buffer %s", err->message, name);
  g_clear_error (&err);
  g_free (dbg);
  gst_message_unref (msg);
}

static guint64
get_u64_of (GstElement * el, const gchar * prop)
{
  guint64 v = 0;

  g_object_get (el, prop, &v, NULL);
  return v;
}

static guint64
get_u64 (GstHarness * h, const gchar * prop)
{
  return get_u64_of (h->element, prop);
}

static void
check_current_caps (GstHarness * h, const gchar * expected_str)
{
  GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
  GstCaps *expected = gst_caps_from_string (expected_str);

  fail_unless (caps != NULL, "no caps");
  if (!gst_caps_is_equal (caps, expected)) {
    /* check's messages go through libc printf: no GST_PTR_FORMAT */
    gchar *got = gst_caps_to_string (caps);

    fail ("caps %s, expected %s", got, expected_str);
    g_free (got);
  }
  gst_caps_unref (caps);
  gst_caps_unref (expected);
}

/* Sets @el to NULL from another thread and fails unless that returns
 * within the deadline. */
typedef struct
{
  GstElement *el;
  GMutex lock;
  GCond cond;
  gboolean done;
} Stopper;

static gpointer
stopper_func (gpointer data)
{
  Stopper *s = data;

  gst_element_set_state (s->el, GST_STATE_NULL);
  g_mutex_lock (&s->lock);
  s->done = TRUE;
  g_cond_signal (&s->cond);
  g_mutex_unlock (&s->lock);
  return NULL;
}

static void
stop_within_deadline (GstElement * el)
{
  Stopper s = { el, };
  gint64 start = g_get_monotonic_time ();
  gint64 end = start + STOP_DEADLINE_MS * G_TIME_SPAN_MILLISECOND;
  GThread *t;
  gboolean done;

  g_mutex_init (&s.lock);
  g_cond_init (&s.cond);
  t = g_thread_new ("stopper", stopper_func, &s);
  g_mutex_lock (&s.lock);
  while (!s.done) {
    if (!g_cond_wait_until (&s.cond, &s.lock, end))
      break;
  }
  done = s.done;
  g_mutex_unlock (&s.lock);
  fail_unless (done, "state change to NULL took more than %" G_GINT64_FORMAT
      " ms", STOP_DEADLINE_MS);
  g_thread_join (t);
  GST_INFO ("stopped in %" G_GINT64_FORMAT " us",
      g_get_monotonic_time () - start);
  g_mutex_clear (&s.lock);
  g_cond_clear (&s.cond);
}

/* Polls @cond on @name's header until it holds (20 s at most): the states
 * a stop test wants to interrupt, seen from outside as any user would. */
typedef gboolean (*InfoCond) (const zb_info * info);

static void
wait_for_header (const gchar * name, InfoCond cond, const gchar * what)
{
  gint64 end = g_get_monotonic_time () + ZB_BOUND_MS (20000) *
      G_TIME_SPAN_MILLISECOND;
  zb_info info;

  while (g_get_monotonic_time () < end) {
    if (zb_inspect (name, &info) == ZB_OK && cond (&info))
      return;
    g_usleep (1000);
  }
  fail ("buffer %s never showed %s", name, what);
}

/* The buffer exists with us as its reader: zerosrc has started and its
 * streaming thread waits (or is about to wait) for a writer. */
static gboolean
reader_is_ours (const zb_info * info)
{
  return info->reader_pid == (uint64_t) getpid () && info->writer_pid == 0;
}

/* The first frame was read and given back: the streaming thread is back
 * in create(), waiting for the next one. */
static gboolean
first_frame_returned (const zb_info * info)
{
  return info->payload_read_count >= 1;
}

/* ------------------------------------------------------------ caps */

GST_START_TEST (test_caps_from_json)
{
  gchar *name = make_name ("json");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  Writer *wj;
  guint64 i;
  gint written;

  gst_harness_play (h);
  wj = writer_start (name, VIDEO_JSON, 10, VIDEO_FRAME);

  for (i = 1; i <= 10; i++) {
    GstBuffer *buf = pull_frame (h, VIDEO_FRAME, i);
    GstClockTime pts = gst_util_uint64_scale (i - 1, GST_SECOND, 30);
    GstClockTime next = gst_util_uint64_scale (i, GST_SECOND, 30);

    fail_unless (in_ring (buf, name));
    fail_unless_equals_uint64 (GST_BUFFER_PTS (buf), pts);
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (buf), next - pts);
    gst_buffer_unref (buf);
  }
  check_current_caps (h, VIDEO_CAPS);
  expect_eos (h);

  fail_unless_equals_int (writer_join (wj, &written), ZB_OK);
  fail_unless_equals_int (written, 10);
  fail_unless_equals_uint64 (get_u64 (h, "frames-received"), 10);
  fail_unless_equals_uint64 (get_u64 (h, "bytes-received"), 10 * VIDEO_FRAME);
  fail_unless_equals_uint64 (get_u64 (h, "frames-copied"), 0);

  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

/* A writer with compact placement and a downstream that holds the last
 * frame, as a video sink does: after each early wrap the skipped tail
 * waits behind the held frame, but it is no backlog, so health stays
 * Healthy (it flipped to Degraded at every other frame before). */
GST_START_TEST (test_health_ignores_early_wrap_tail)
{
  gchar *name = make_name ("ctail");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  GstBuffer *held = NULL;
  GstMessage *msg;
  zb_writer *w = NULL;
  zb_writer_stats ws;
  guint8 frame[VIDEO_FRAME];
  guint64 i;

  gst_harness_play (h);
  fail_unless_equals_int (zb_writer_open (&w, name, 10000), ZB_OK);
  fail_unless_equals_int (zb_writer_set_metadata (w, VIDEO_JSON,
          strlen (VIDEO_JSON)), ZB_OK);
  zb_writer_set_compact (w, 2 * zb_frame_footprint (VIDEO_FRAME));
  for (i = 1; i <= 100; i++) {
    GstBuffer *buf;

    fill_frame (frame, VIDEO_FRAME, i);
    fail_unless_equals_int (zb_writer_write (w, frame, VIDEO_FRAME, 10000),
        ZB_OK);
    buf = pull_frame (h, VIDEO_FRAME, i);
    if (held)
      gst_buffer_unref (held);
    held = buf;
  }
  zb_writer_get_stats (w, &ws);
  fail_unless (ws.early_wraps >= 40, "only %" G_GUINT64_FORMAT " early "
      "wraps", (guint64) ws.early_wraps);
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *st = gst_message_get_structure (msg);

    fail_if (st && gst_structure_has_name (st, "zerobuffer-health"),
        "zerosrc posted a health message: the tail counted as backlog");
    gst_message_unref (msg);
  }
  {
    gint health = -1;

    g_object_get (h->element, "health", &health, NULL);
    fail_unless_equals_int (health, 0);       /* healthy */
  }
  gst_buffer_unref (held);
  zb_writer_close (w);
  expect_eos (h);
  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_caps_from_bare_string)
{
  gchar *name = make_name ("bare");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  Writer *wj;
  guint64 i;

  gst_harness_play (h);
  wj = writer_start (name, VIDEO_CAPS, 3, VIDEO_FRAME);
  for (i = 1; i <= 3; i++)
    gst_buffer_unref (pull_frame (h, VIDEO_FRAME, i));
  check_current_caps (h, VIDEO_CAPS);
  expect_eos (h);
  fail_unless_equals_int (writer_join (wj, NULL), ZB_OK);

  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_caps_property_overrides_metadata)
{
  const gchar *forced = "application/x-zbtest, answer=(int)42";
  gchar *name = make_name ("forced");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  GstCaps *caps = gst_caps_from_string (forced);
  Writer *wj;
  guint64 i;

  g_object_set (h->element, "caps", caps, NULL);
  gst_caps_unref (caps);
  gst_harness_play (h);
  wj = writer_start (name, VIDEO_JSON, 3, VIDEO_FRAME);
  for (i = 1; i <= 3; i++)
    gst_buffer_unref (pull_frame (h, VIDEO_FRAME, i));
  check_current_caps (h, forced);
  expect_eos (h);
  fail_unless_equals_int (writer_join (wj, NULL), ZB_OK);

  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_invalid_metadata_is_an_error)
{
  const gchar *bad[] = {
    "%%% not caps %%%",
    "{\"type\":\"gstreamer-sink\",\"caps\":\"video/x-raw, width=(int)(((\"}",
    "{\"type\":\"gstreamer-sink\"}",
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    gchar *name = make_name ("badmeta");
    GstBus *bus;
    GstHarness *h = src_new (name, &bus);
    Writer *wj;

    gst_harness_play (h);
    wj = writer_start (name, bad[i], 1, VIDEO_FRAME);
    expect_message (bus, GST_MESSAGE_ERROR, GST_STREAM_ERROR,
        GST_STREAM_ERROR_FORMAT, name);
    fail_unless_equals_int (gst_harness_buffers_received (h), 0);
    /* the writer may or may not get its frame in before we close */
    src_free (h, bus, name);
    writer_join (wj, NULL);
    g_free (name);
  }
}

GST_END_TEST;

GST_START_TEST (test_no_metadata_falls_back)
{
  gchar *name = make_name ("nometa");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  Writer *wj;
  GstBuffer *buf;

  gst_harness_play (h);
  wj = writer_start (name, NULL, 2, VIDEO_FRAME);
  buf = pull_frame (h, VIDEO_FRAME, 1);
  /* no framerate, no timestamps of our own */
  fail_if (GST_BUFFER_DURATION_IS_VALID (buf));
  gst_buffer_unref (buf);
  gst_buffer_unref (pull_frame (h, VIDEO_FRAME, 2));
  check_current_caps (h, "application/octet-stream");
  expect_message (bus, GST_MESSAGE_WARNING, GST_STREAM_ERROR,
      GST_STREAM_ERROR_FORMAT, name);
  expect_eos (h);
  fail_unless_equals_int (writer_join (wj, NULL), ZB_OK);

  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_no_metadata_uses_downstream_caps)
{
  gchar *name = make_name ("downcaps");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  Writer *wj;

  gst_harness_set_sink_caps_str (h, VIDEO_CAPS);
  gst_harness_play (h);
  wj = writer_start (name, NULL, 2, VIDEO_FRAME);
  gst_buffer_unref (pull_frame (h, VIDEO_FRAME, 1));
  gst_buffer_unref (pull_frame (h, VIDEO_FRAME, 2));
  check_current_caps (h, VIDEO_CAPS);
  expect_eos (h);
  fail_unless_equals_int (writer_join (wj, NULL), ZB_OK);

  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

/* ------------------------------------------------------------ data path */

GST_START_TEST (test_frames_in_order)
{
  const gsize size = 100000;
  const guint n = 60;
  gchar *name = make_name ("order");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  Writer *wj;
  guint64 i;
  gint written;

  g_object_set (h->element, "payload-size", "1M", NULL);
  gst_harness_play (h);
  wj = writer_start (name, "application/x-zbtest", n, size);
  for (i = 1; i <= n; i++)
    gst_buffer_unref (pull_frame (h, size, i));
  expect_eos (h);
  fail_unless_equals_int (writer_join (wj, &written), ZB_OK);
  fail_unless_equals_int (written, n);
  fail_unless_equals_uint64 (get_u64 (h, "frames-received"), n);
  fail_unless_equals_uint64 (get_u64 (h, "bytes-received"), n * size);

  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

/* A steady stream reuses its buffers and memory structs: every buffer
 * comes from zerosrc's pool, and the same few carry all frames. */
GST_START_TEST (test_buffers_are_recycled)
{
  const gsize size = 4096;
  const guint n = 300;
  gchar *name = make_name ("recycle");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  GHashTable *seen_buf = g_hash_table_new (NULL, NULL);
  GHashTable *seen_mem = g_hash_table_new (NULL, NULL);
  guint8 *frame = g_malloc (size);
  zb_writer *w = NULL;
  guint64 i;

  gst_harness_play (h);
  fail_unless_equals_int (zb_writer_open (&w, name, 10000), ZB_OK);
  fail_unless_equals_int (zb_writer_set_metadata (w, "application/x-zbtest",
          strlen ("application/x-zbtest")), ZB_OK);
  /* One frame at a time, each given back before the next is written. */
  for (i = 1; i <= n; i++) {
    GstBuffer *buf;

    fill_frame (frame, size, i);
    fail_unless_equals_int (zb_writer_write (w, frame, size, 10000), ZB_OK);
    buf = pull_frame (h, size, i);
    fail_unless (buf->pool != NULL, "frame %" G_GUINT64_FORMAT " is not "
        "from a pool", i);
    g_hash_table_add (seen_buf, buf);
    g_hash_table_add (seen_mem, gst_buffer_peek_memory (buf, 0));
    gst_buffer_unref (buf);
  }
  zb_writer_close (w);
  expect_eos (h);
  /* The pool hands its 16 spare buffers out in turn. */
  fail_unless (g_hash_table_size (seen_buf) <= 20, "%u buffers for %u frames",
      g_hash_table_size (seen_buf), n);
  fail_unless (g_hash_table_size (seen_mem) <= 4, "%u memories for %u "
      "frames", g_hash_table_size (seen_mem), n);
  fail_unless_equals_uint64 (get_u64 (h, "frames-copied"), 0);

  g_hash_table_unref (seen_buf);
  g_hash_table_unref (seen_mem);
  g_free (frame);
  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

/* Frames released in a scrambled order while the writer keeps writing:
 * space must come back only in ring order, so no held frame is ever
 * overwritten; a buffer may also outlive the element. */
GST_START_TEST (test_release_out_of_order)
{
  const guint n = 40;
  gchar *name = make_name ("ooo");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  GstBuffer *held[7] = { NULL, };       /* held[k] is frame k */
  GstBuffer *last;
  Writer *wj;
  guint64 i;
  gint written, k;

  g_object_set (h->element, "evacuate-threshold", 100, NULL);
  gst_harness_play (h);
  wj = writer_start (name, "application/x-zbtest", n, HOLD_FRAME);

  for (k = 1; k <= 6; k++) {
    held[k] = pull_frame (h, HOLD_FRAME, k);
    fail_unless (in_ring (held[k], name));
  }
  /* Frames 7..16 fill the ring; the writer then waits for frame 1. */
  for (i = 7; i <= 16; i++)
    gst_buffer_unref (pull_frame (h, HOLD_FRAME, i));
  for (k = 1; k <= 6; k++)
    check_frame (held[k], HOLD_FRAME, k);

  /* Releasing frames behind frame 1 gives nothing back yet. */
  gst_buffer_replace (&held[4], NULL);
  gst_buffer_replace (&held[2], NULL);
  gst_buffer_replace (&held[6], NULL);
  check_frame (held[1], HOLD_FRAME, 1);
  check_frame (held[3], HOLD_FRAME, 3);
  check_frame (held[5], HOLD_FRAME, 5);

  /* Frame 1 goes: frames 1 and 2 return, room for exactly frames 17
   * (after the wrap) and 18, which land where 1 and 2 were. */
  gst_buffer_replace (&held[1], NULL);
  gst_buffer_unref (pull_frame (h, HOLD_FRAME, 17));
  gst_buffer_unref (pull_frame (h, HOLD_FRAME, 18));
  check_frame (held[3], HOLD_FRAME, 3);
  check_frame (held[5], HOLD_FRAME, 5);

  gst_buffer_replace (&held[5], NULL);
  gst_buffer_replace (&held[3], NULL);

  for (i = 19; i < n; i++)
    gst_buffer_unref (pull_frame (h, HOLD_FRAME, i));
  last = pull_frame (h, HOLD_FRAME, n);
  expect_eos (h);
  fail_unless_equals_int (writer_join (wj, &written), ZB_OK);
  fail_unless_equals_int (written, n);
  fail_unless_equals_uint64 (get_u64 (h, "frames-copied"), 0);
  fail_unless_equals_uint64 (get_u64 (h, "frames-evacuated"), 0);

  /* The last frame outlives the element and its buffer. */
  src_free (h, bus, name);
  check_frame (last, HOLD_FRAME, n);
  gst_buffer_unref (last);
  g_free (name);
}

GST_END_TEST;

/* Holding three rings' worth of frames: the oldest are copied out of the
 * ring so the writer keeps going, and every buffer keeps its content. */
GST_START_TEST (test_evacuate_held_frames)
{
  const guint n = 3 * (RING_BYTES / HOLD_T);
  gchar *name = make_name ("evac");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  GstBuffer **held = g_new0 (GstBuffer *, n + 1);
  GstBuffer *part;
  guint8 expected[HOLD_FRAME];
  guint64 evacuated, i;
  guint threshold = 0, lent = 0;
  Writer *wj;
  gint written;

  /* the default, which this test is about */
  g_object_get (h->element, "evacuate-threshold", &threshold, NULL);
  fail_unless_equals_int (threshold, 50);
  /* frame k+1 comes only after we took frame k: frame 1 is checked in
   * the ring before any pressure */
  gst_harness_set_blocking_push_mode (h);
  gst_harness_play (h);
  wj = writer_start (name, "application/x-zbtest", n, HOLD_FRAME);

  held[1] = pull_frame (h, HOLD_FRAME, 1);
  fail_unless (in_ring (held[1], name));
  /* A sub-buffer shares the frame and must follow it out of the ring. */
  part = gst_buffer_copy_region (held[1], GST_BUFFER_COPY_MEMORY, 100, 1000);
  fail_unless (in_ring (part, name));
  for (i = 2; i <= n; i++)
    held[i] = pull_frame (h, HOLD_FRAME, i);
  expect_eos (h);
  fail_unless_equals_int (writer_join (wj, &written), ZB_OK);
  fail_unless_equals_int (written, n);

  evacuated = get_u64 (h, "frames-evacuated");
  fail_unless_equals_uint64 (get_u64 (h, "frames-copied"), evacuated);
  fail_unless_equals_uint64 (get_u64 (h, "frames-received"), n);
  /* The ring holds 16 of these frames: all others must have moved. */
  fail_unless (evacuated >= n - RING_BYTES / HOLD_T,
      "only %" G_GUINT64_FORMAT " frames evacuated", evacuated);

  /* Oldest first: frame 1 left, the newest is still lent; every buffer
   * is either still in the ring or counted as evacuated. */
  fail_if (in_ring (held[1], name));
  fail_if (in_ring (part, name));
  fail_unless (in_ring (held[n], name));
  for (i = 1; i <= n; i++) {
    check_frame (held[i], HOLD_FRAME, i);
    if (in_ring (held[i], name))
      lent++;
  }
  fail_unless_equals_uint64 (lent + evacuated, n);
  fill_frame (expected, HOLD_FRAME, 1);
  fail_unless (gst_buffer_memcmp (part, 0, expected + 100, 1000) == 0);

  gst_buffer_unref (part);
  for (i = 1; i <= n; i++)
    gst_buffer_unref (held[i]);
  g_free (held);
  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

/* A frame mapped while the ring fills is left in place (its bytes must not
 * move under the mapping), pins the ring, and moves once unmapped. */
GST_START_TEST (test_mapped_frame_is_not_evacuated)
{
  const guint n = 40, ring_frames = RING_BYTES / HOLD_T;
  gchar *name = make_name ("evacmap");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  GstBuffer *held[17] = { NULL, };
  GstBuffer *buf;
  GstMapInfo m1, again;
  guint8 expected[HOLD_FRAME];
  const guint8 *ring_ptr;
  Writer *wj;
  guint64 i;
  gint written;

  /* zerosrc pushes frame k+1 only after we took frame k, so frame 1 is
   * mapped before the ring comes under pressure (at frame 9). */
  gst_harness_set_blocking_push_mode (h);
  gst_harness_play (h);
  wj = writer_start (name, "application/x-zbtest", n, HOLD_FRAME);
  fill_frame (expected, HOLD_FRAME, 1);

  held[1] = pull_frame (h, HOLD_FRAME, 1);
  fail_unless (gst_buffer_map (held[1], &m1, GST_MAP_READ));
  ring_ptr = m1.data;
  fail_unless (in_shm (ring_ptr, name));

  for (i = 2; i <= ring_frames; i++)
    held[i] = pull_frame (h, HOLD_FRAME, i);
  /* Pressure arose and the frames behind frame 1 were moved... */
  fail_unless (get_u64 (h, "frames-evacuated") > 0);
  fail_if (in_ring (held[2], name));
  /* ...but frame 1 is still where it was mapped, and intact. */
  fail_unless (gst_buffer_map (held[1], &again, GST_MAP_READ));
  fail_unless (again.data == ring_ptr);
  gst_buffer_unmap (held[1], &again);
  fail_unless (memcmp (m1.data, expected, HOLD_FRAME) == 0);
  /* It pins the ring: the writer cannot wrap over it. */
  fail_unless (g_atomic_int_get (&wj->written) <= (gint) ring_frames);

  /* Unmapped, it moves at zerosrc's next check and the writer resumes. */
  gst_buffer_unmap (held[1], &m1);
  for (i = ring_frames + 1; i <= n; i++) {
    buf = pull_frame (h, HOLD_FRAME, i);
    gst_buffer_unref (buf);
  }
  expect_eos (h);
  fail_unless_equals_int (writer_join (wj, &written), ZB_OK);
  fail_unless_equals_int (written, n);

  fail_if (in_ring (held[1], name));
  for (i = 1; i <= ring_frames; i++) {
    check_frame (held[i], HOLD_FRAME, i);
    gst_buffer_unref (held[i]);
  }
  fail_unless (get_u64 (h, "frames-evacuated") >= ring_frames);
  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

/* Frames of almost a third of the ring with a threshold the held frames
 * never reach: the writer needs room for a frame after the wrap, so
 * zerosrc, starved, evacuates anyway. */
GST_START_TEST (test_evacuate_when_writer_is_stuck)
{
  const gsize size = 20000;
  const guint n = 12;
  gchar *name = make_name ("evacstuck");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  GstBuffer *held[13] = { NULL, };
  Writer *wj;
  guint64 i;
  gint written;

  /* 3 frames (60048 bytes) fit, and stay under 95% of 65536 */
  g_object_set (h->element, "evacuate-threshold", 95, NULL);
  gst_harness_play (h);
  wj = writer_start (name, "application/x-zbtest", n, size);
  for (i = 1; i <= n; i++)
    held[i] = pull_frame (h, size, i);
  expect_eos (h);
  fail_unless_equals_int (writer_join (wj, &written), ZB_OK);
  fail_unless_equals_int (written, n);
  fail_unless (get_u64 (h, "frames-evacuated") >= n - 3);

  for (i = 1; i <= n; i++) {
    check_frame (held[i], size, i);
    gst_buffer_unref (held[i]);
  }
  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_evacuate_threshold_zero_copies_everything)
{
  gchar *name = make_name ("copy0");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  Writer *wj;
  guint64 i;

  g_object_set (h->element, "evacuate-threshold", 0, NULL);
  gst_harness_play (h);
  wj = writer_start (name, VIDEO_JSON, 5, VIDEO_FRAME);
  for (i = 1; i <= 5; i++) {
    GstBuffer *buf = pull_frame (h, VIDEO_FRAME, i);

    fail_if (in_ring (buf, name));
    gst_buffer_unref (buf);
  }
  expect_eos (h);
  fail_unless_equals_int (writer_join (wj, NULL), ZB_OK);
  fail_unless_equals_uint64 (get_u64 (h, "frames-copied"), 5);
  fail_unless_equals_uint64 (get_u64 (h, "frames-evacuated"), 0);

  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

/* Threshold 100 lends every frame and never copies: a holder stalls the
 * writer at exactly one ring's worth. */
GST_START_TEST (test_evacuate_threshold_100_never_copies)
{
  const guint ring_frames = RING_BYTES / HOLD_T;
  gchar *name = make_name ("copy100");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  GstBuffer *held[17] = { NULL, };
  Writer *wj;
  guint64 i;
  gint written;

  g_object_set (h->element, "evacuate-threshold", 100, NULL);
  gst_harness_play (h);
  wj = writer_start (name, "application/x-zbtest", ring_frames + 4, HOLD_FRAME);
  for (i = 1; i <= ring_frames; i++) {
    held[i] = pull_frame (h, HOLD_FRAME, i);
    fail_unless (in_ring (held[i], name));
  }
  fail_unless_equals_uint64 (get_u64 (h, "frames-copied"), 0);
  fail_unless (g_atomic_int_get (&wj->written) <= (gint) ring_frames);

  /* Giving frames 1-4 back makes room for 4 more after the wrap. */
  for (i = 1; i <= 4; i++)
    gst_buffer_replace (&held[i], NULL);
  for (i = ring_frames + 1; i <= ring_frames + 4; i++)
    gst_buffer_unref (pull_frame (h, HOLD_FRAME, i));
  expect_eos (h);
  fail_unless_equals_int (writer_join (wj, &written), ZB_OK);
  fail_unless_equals_int (written, ring_frames + 4);
  fail_unless_equals_uint64 (get_u64 (h, "frames-copied"), 0);

  for (i = 5; i <= ring_frames; i++)
    gst_buffer_unref (held[i]);
  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

/* A writable mapping of a lent frame gets a copy; the ring is untouched. */
GST_START_TEST (test_writable_map_copies)
{
  gchar *name = make_name ("wmap");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  GstBuffer *buf, *w;
  GstMapInfo map;
  Writer *wj;

  gst_harness_play (h);
  wj = writer_start (name, "application/x-zbtest", 1, HOLD_FRAME);
  buf = pull_frame (h, HOLD_FRAME, 1);
  fail_unless (in_ring (buf, name));

  w = gst_buffer_make_writable (gst_buffer_ref (buf));
  fail_unless (gst_buffer_map (w, &map, GST_MAP_WRITE));
  fail_if (in_shm (map.data, name));
  map.data[0] ^= 0xff;
  gst_buffer_unmap (w, &map);
  gst_buffer_unref (w);

  check_frame (buf, HOLD_FRAME, 1);
  fail_unless (in_ring (buf, name));
  gst_buffer_unref (buf);
  expect_eos (h);
  fail_unless_equals_int (writer_join (wj, NULL), ZB_OK);
  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

/* Buffers outlive the element: lent ones, evacuated ones, a sub-buffer and
 * one mapped across the stop all stay readable and free cleanly. */
GST_START_TEST (test_buffers_outlive_stop)
{
  const guint n = 30;
  gchar *name = make_name ("outlive");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  GstBuffer *held[31] = { NULL, };
  GstBuffer *part;
  GstMapInfo map;
  guint8 expected[HOLD_FRAME];
  Writer *wj;
  guint64 i;

  gst_harness_play (h);
  wj = writer_start (name, "application/x-zbtest", n, HOLD_FRAME);
  for (i = 1; i <= n; i++)
    held[i] = pull_frame (h, HOLD_FRAME, i);
  expect_eos (h);
  fail_unless_equals_int (writer_join (wj, NULL), ZB_OK);
  fail_unless (get_u64 (h, "frames-evacuated") > 0);
  fail_if (in_ring (held[1], name));
  fail_unless (in_ring (held[n], name));
  part = gst_buffer_copy_region (held[n], GST_BUFFER_COPY_MEMORY, 10, 100);
  fail_unless (gst_buffer_map (held[n - 1], &map, GST_MAP_READ));

  /* Stopping removes the buffer's names even with frames still lent. */
  src_free (h, bus, name);

  fill_frame (expected, HOLD_FRAME, n - 1);
  fail_unless (memcmp (map.data, expected, HOLD_FRAME) == 0);
  gst_buffer_unmap (held[n - 1], &map);
  for (i = 1; i <= n; i++) {
    check_frame (held[i], HOLD_FRAME, i);
    gst_buffer_unref (held[i]);
  }
  /* The sub-buffer keeps the last frame, and the reader, alive. */
  fill_frame (expected, HOLD_FRAME, n);
  fail_unless (gst_buffer_memcmp (part, 0, expected + 10, 100) == 0);
  gst_buffer_unref (part);
  g_free (name);
}

GST_END_TEST;

/* The reproduction in one process: a queue that keeps 20 frames
 * (min-threshold-buffers) in front of fakesink, with a ring of 9 frames.
 * Without evacuation the writer and the pipeline wait for each other. */
typedef struct
{
  gint count;
  gint bad;
} Handoffs;

static void
on_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad,
    gpointer user_data)
{
  Handoffs *ho = user_data;
  guint64 seq = g_atomic_int_add (&ho->count, 1) + 1;

  if (!frame_ok (buf, 320 * 240 * 3 / 2, seq))
    g_atomic_int_inc (&ho->bad);
}

GST_START_TEST (test_queue_holding_frames_does_not_deadlock)
{
  const gsize size = 320 * 240 * 3 / 2;
  const guint n = 60;
  gchar *name = make_name ("queue");
  gchar *desc = g_strdup_printf ("zerosrc name=src buffer-name=%s "
      "payload-size=1M ! queue min-threshold-buffers=20 ! "
      "fakesink name=sink sync=false signal-handoffs=true", name);
  GError *err = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &err);
  GstElement *src, *sink;
  Handoffs ho = { 0, 0 };
  GstBus *bus;
  GstMessage *msg;
  Writer *wj;
  gint written;

  fail_unless (pipeline != NULL && err == NULL, "%s",
      err ? err->message : "no pipeline");
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), &ho);
  bus = gst_element_get_bus (pipeline);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING)
      != GST_STATE_CHANGE_FAILURE);
  wj = writer_start (name, "video/x-raw, format=(string)I420, "
      "width=(int)320, height=(int)240, framerate=(fraction)30/1", n, size);

  /* Well under the writer's own 30 s timeout: a deadlock shows here. */
  msg = gst_bus_timed_pop_filtered (bus, 20 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no EOS within 20 s: %d frames through, writer "
      "wrote %d", g_atomic_int_get (&ho.count),
      g_atomic_int_get (&wj->written));
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);

  fail_unless_equals_int (writer_join (wj, &written), ZB_OK);
  fail_unless_equals_int (written, n);
  fail_unless_equals_int (g_atomic_int_get (&ho.count), n);
  fail_unless_equals_int (g_atomic_int_get (&ho.bad), 0);
  fail_unless (get_u64_of (src, "frames-evacuated") > 0);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  zb_gst_assert_no_leftovers (name);
  g_free (desc);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_do_timestamp)
{
  gchar *name = make_name ("dots");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  Writer *wj;
  guint64 i;

  /* The harness clock stands still at 0, so base-class stamps are all 0,
   * where our framerate stamps would be 0, 33 ms, 67 ms. */
  g_object_set (h->element, "do-timestamp", TRUE, NULL);
  gst_harness_play (h);
  wj = writer_start (name, VIDEO_JSON, 3, VIDEO_FRAME);
  for (i = 1; i <= 3; i++) {
    GstBuffer *buf = pull_frame (h, VIDEO_FRAME, i);

    fail_unless_equals_uint64 (GST_BUFFER_PTS (buf), 0);
    gst_buffer_unref (buf);
  }
  expect_eos (h);
  fail_unless_equals_int (writer_join (wj, NULL), ZB_OK);

  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

/* ------------------------------------------------------------ writer crash */

/* Child: on "go", writes metadata and @n frames, reports, then waits to be
 * killed.  Only libzerobuffer and async-signal-safe calls after fork. */
static void
crash_writer_child (const gchar * name, int go_fd, int ack_fd, guint n)
{
  guint8 frame[VIDEO_FRAME];
  zb_writer *w = NULL;
  char c;
  guint i;

  alarm (60);                   /* never outlive a failed test */
  if (read (go_fd, &c, 1) != 1)
    _exit (2);
  if (zb_writer_open (&w, name, 10000) != ZB_OK)
    _exit (3);
  if (zb_writer_set_metadata (w, VIDEO_CAPS, strlen (VIDEO_CAPS)) != ZB_OK)
    _exit (4);
  for (i = 1; i <= n; i++) {
    fill_frame (frame, sizeof frame, i);
    if (zb_writer_write (w, frame, sizeof frame, 10000) != ZB_OK)
      _exit (5);
  }
  c = 'w';
  if (write (ack_fd, &c, 1) != 1)
    _exit (6);
  for (;;)
    pause ();
}

static void
run_writer_crash (gboolean eos)
{
  gchar *name = make_name (eos ? "crash-eos" : "crash-err");
  GstBus *bus;
  GstHarness *h;
  int go[2], ack[2], status = 0;
  pid_t pid;
  char c = 'g';

  fail_unless (pipe (go) == 0 && pipe (ack) == 0);
  /* Fork before the harness starts any thread. */
  pid = fork ();
  fail_unless (pid >= 0);
  if (pid == 0) {
    close (go[1]);
    close (ack[0]);
    crash_writer_child (name, go[0], ack[1], 2);
  }
  close (go[0]);
  close (ack[1]);

  h = src_new (name, &bus);
  if (eos)
    gst_util_set_object_arg (G_OBJECT (h->element), "on-writer-crash", "eos");
  gst_harness_play (h);
  fail_unless_equals_int (write (go[1], &c, 1), 1);

  gst_buffer_unref (pull_frame (h, VIDEO_FRAME, 1));
  gst_buffer_unref (pull_frame (h, VIDEO_FRAME, 2));
  fail_unless_equals_int (read (ack[0], &c, 1), 1);
  fail_unless_equals_int (kill (pid, SIGKILL), 0);
  fail_unless_equals_int (waitpid (pid, &status, 0), pid);
  fail_unless (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

  if (eos) {
    expect_eos (h);
    expect_message (bus, GST_MESSAGE_WARNING, GST_RESOURCE_ERROR,
        GST_RESOURCE_ERROR_READ, name);
  } else {
    expect_message (bus, GST_MESSAGE_ERROR, GST_RESOURCE_ERROR,
        GST_RESOURCE_ERROR_READ, name);
  }

  close (go[1]);
  close (ack[0]);
  src_free (h, bus, name);
  g_free (name);
}

GST_START_TEST (test_writer_crash_is_an_error)
{
  run_writer_crash (FALSE);
}

GST_END_TEST;

GST_START_TEST (test_writer_crash_eos)
{
  run_writer_crash (TRUE);
}

GST_END_TEST;

/* ------------------------------------------------------------ stopping */

GST_START_TEST (test_stop_while_waiting_for_writer)
{
  gchar *name = make_name ("stopw");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);

  gst_harness_play (h);
  wait_for_header (name, reader_is_ours, "a reader waiting for a writer");
  stop_within_deadline (h->element);
  zb_gst_assert_no_leftovers (name);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);
  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_stop_while_waiting_for_frame)
{
  gchar *name = make_name ("stopf");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  guint8 frame[VIDEO_FRAME];
  zb_writer *w = NULL;

  gst_harness_play (h);
  fail_unless_equals_int (zb_writer_open (&w, name, 10000), ZB_OK);
  fail_unless_equals_int (zb_writer_set_metadata (w, VIDEO_CAPS,
          strlen (VIDEO_CAPS)), ZB_OK);
  fill_frame (frame, sizeof frame, 1);
  fail_unless_equals_int (zb_writer_write (w, frame, sizeof frame, 10000),
      ZB_OK);
  gst_buffer_unref (pull_frame (h, VIDEO_FRAME, 1));
  wait_for_header (name, first_frame_returned, "the first frame released");

  stop_within_deadline (h->element);
  zb_gst_assert_no_leftovers (name);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);
  zb_writer_close (w);
  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_writer_timeout)
{
  gchar *name = make_name ("timeout");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);

  g_object_set (h->element, "writer-timeout", 200, NULL);
  gst_harness_play (h);
  expect_message (bus, GST_MESSAGE_ERROR, GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_READ, name);
  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

/* A peer that scribbles on the header: more free bytes than the ring has. */
GST_START_TEST (test_corrupt_ring_is_an_error)
{
  gchar *name = make_name ("corrupt");
  gchar *path = g_strconcat ("/dev/shm/", name, NULL);
  guint64 bogus = G_GUINT64_CONSTANT (4) * RING_BYTES;
  guint8 frame[VIDEO_FRAME];
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  zb_writer *w = NULL;
  int fd;

  gst_harness_play (h);
  fail_unless_equals_int (zb_writer_open (&w, name, 10000), ZB_OK);
  fail_unless_equals_int (zb_writer_set_metadata (w, VIDEO_CAPS,
          strlen (VIDEO_CAPS)), ZB_OK);
  fill_frame (frame, sizeof frame, 1);
  fail_unless_equals_int (zb_writer_write (w, frame, sizeof frame, 10000),
      ZB_OK);
  gst_buffer_unref (pull_frame (h, VIDEO_FRAME, 1));

  fd = open (path, O_RDWR);
  fail_unless (fd >= 0, "open %s: %s", path, g_strerror (errno));
  /* payload_free_bytes, OIEB offset 0x28 */
  fail_unless_equals_int (pwrite (fd, &bogus, sizeof bogus, 0x28),
      sizeof bogus);
  close (fd);
  expect_message (bus, GST_MESSAGE_ERROR, GST_STREAM_ERROR,
      GST_STREAM_ERROR_FAILED, name);

  src_free (h, bus, name);
  zb_writer_close (w);
  g_free (path);
  g_free (name);
}

GST_END_TEST;

/* ------------------------------------------------------------ start errors */

GST_START_TEST (test_bad_name)
{
  gchar *name = g_strdup_printf ("bad/name-%d", (gint) getpid ());
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);

  fail_unless_equals_int (gst_element_set_state (h->element,
          GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  expect_message (bus, GST_MESSAGE_ERROR, GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_SETTINGS, name);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_name_taken)
{
  gchar *name = make_name ("taken");
  gchar *path = g_strdup_printf ("/dev/shm/%s", name);
  zb_reader_options opts = { 0, 4096, 0 };
  zb_reader *other = NULL;
  GstBus *bus;
  GstHarness *h;

  fail_unless_equals_int (zb_reader_create (&other, name, &opts), ZB_OK);
  h = src_new (name, &bus);
  fail_unless_equals_int (gst_element_set_state (h->element,
          GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  expect_message (bus, GST_MESSAGE_ERROR, GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_BUSY, name);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  /* The failed start left the owner's buffer alone. */
  fail_unless (g_file_test (path, G_FILE_TEST_EXISTS));
  zb_reader_close (other);
  zb_gst_assert_no_leftovers (name);
  g_free (path);
  g_free (name);
}

GST_END_TEST;

/* ------------------------------------------------------------ properties */

GST_START_TEST (test_element_name_is_default_buffer_name)
{
  gchar *name = make_name ("elname");
  GstBus *bus;
  GstHarness *h = src_new (name, &bus);
  gchar *prop = NULL;
  Writer *wj;

  g_object_set (h->element, "buffer-name", NULL, NULL);
  gst_object_set_name (GST_OBJECT (h->element), name);
  gst_harness_play (h);
  wj = writer_start (name, VIDEO_JSON, 1, VIDEO_FRAME);
  gst_buffer_unref (pull_frame (h, VIDEO_FRAME, 1));
  expect_eos (h);
  fail_unless_equals_int (writer_join (wj, NULL), ZB_OK);
  g_object_get (h->element, "buffer-name", &prop, NULL);
  fail_unless (prop == NULL);
  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_size_properties)
{
  GstElement *src = gst_element_factory_make ("zerosrc", NULL);
  gchar *s = NULL;
  guint mode = 0;
  gint timeout = 0;

  fail_unless (src != NULL);
  g_object_get (src, "payload-size", &s, "mode", &mode, "writer-timeout",
      &timeout, NULL);
  fail_unless_equals_string (s, "32M");
  fail_unless_equals_int (mode, 0600);
  fail_unless_equals_int (timeout, -1);
  g_free (s);
  g_object_get (src, "metadata-size", &s, NULL);
  fail_unless_equals_string (s, "64K");
  g_free (s);

  g_object_set (src, "payload-size", "1M", "metadata-size", "0", NULL);
  ASSERT_WARNING (g_object_set (src, "payload-size", "12Q", NULL));
  ASSERT_WARNING (g_object_set (src, "payload-size", "0", NULL));
  ASSERT_WARNING (g_object_set (src, "metadata-size", "lots", NULL));
  g_object_get (src, "payload-size", &s, NULL);
  fail_unless_equals_string (s, "1M");
  g_free (s);
  g_object_get (src, "metadata-size", &s, NULL);
  fail_unless_equals_string (s, "0");
  g_free (s);

  /* the other registered name is the same element */
  gst_object_unref (src);
  src = gst_element_factory_make ("zero-src", NULL);
  fail_unless (src != NULL);
  gst_object_unref (src);
}

GST_END_TEST;

static Suite *
zerosrc_suite (void)
{
  Suite *s = suite_create ("zerosrc");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_caps_from_json);
  tcase_add_test (tc, test_health_ignores_early_wrap_tail);
  tcase_add_test (tc, test_caps_from_bare_string);
  tcase_add_test (tc, test_caps_property_overrides_metadata);
  tcase_add_test (tc, test_invalid_metadata_is_an_error);
  tcase_add_test (tc, test_no_metadata_falls_back);
  tcase_add_test (tc, test_no_metadata_uses_downstream_caps);
  tcase_add_test (tc, test_frames_in_order);
  tcase_add_test (tc, test_buffers_are_recycled);
  tcase_add_test (tc, test_release_out_of_order);
  tcase_add_test (tc, test_evacuate_held_frames);
  tcase_add_test (tc, test_mapped_frame_is_not_evacuated);
  tcase_add_test (tc, test_evacuate_when_writer_is_stuck);
  tcase_add_test (tc, test_evacuate_threshold_zero_copies_everything);
  tcase_add_test (tc, test_evacuate_threshold_100_never_copies);
  tcase_add_test (tc, test_writable_map_copies);
  tcase_add_test (tc, test_buffers_outlive_stop);
  tcase_add_test (tc, test_queue_holding_frames_does_not_deadlock);
  tcase_add_test (tc, test_do_timestamp);
  tcase_add_test (tc, test_writer_crash_is_an_error);
  tcase_add_test (tc, test_writer_crash_eos);
  tcase_add_test (tc, test_stop_while_waiting_for_writer);
  tcase_add_test (tc, test_stop_while_waiting_for_frame);
  tcase_add_test (tc, test_writer_timeout);
  tcase_add_test (tc, test_corrupt_ring_is_an_error);
  tcase_add_test (tc, test_bad_name);
  tcase_add_test (tc, test_name_taken);
  tcase_add_test (tc, test_element_name_is_default_buffer_name);
  tcase_add_test (tc, test_size_properties);
  return s;
}

ZB_GST_CHECK_MAIN (zerosrc, "zerosrc", "queue", "fakesink");
