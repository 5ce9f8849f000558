/* zerosink element tests: libzerobuffer itself plays the reader.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <unistd.h>

#include <gst/gst.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <json-glib/json-glib.h>
#include <zerobuffer/zerobuffer.h>

/* The caps/metadata helpers are plain functions: test them in place. */
#include "gstzerometa.h"
#include "zbgsttest.h"

/* RGB 16x8: rows of 48 bytes, already 4-byte aligned. */
#define SMALL_CAPS "video/x-raw,format=RGB,width=16,height=8,framerate=30/1"
#define SMALL_SIZE (16 * 8 * 3)
#define FRAME_TOTAL(size) (ZB_FRAME_HEADER_SIZE + (size))
#define WAIT_MS 5000

static guint name_counter;
/* The runner's pid, in every name: its cleanup finds what a crashed test
 * process (each test runs in its own) left behind. */
static int run_pid;

static gchar *
unique_name (const gchar * what)
{
  return g_strdup_printf ("zstest-%s-%d-%d-%u", what, run_pid,
      (int) getpid (), name_counter++);
}

static zb_reader *
make_reader (const gchar * name, guint64 payload, guint64 metadata)
{
  zb_reader_options opts = { 0, };
  zb_reader *r = NULL;
  int rc;

  opts.metadata_size = metadata;
  opts.payload_size = payload;
  rc = zb_reader_create (&r, name, &opts);
  fail_unless_equals_int (rc, ZB_OK);
  return r;
}

/* Runs in the runner after the tests: a failed test exits without
 * closing its reader.  Creating a reader on a name clears what a dead one
 * left (a live one refuses), closing it removes the rest. */
static void
remove_leftovers (void)
{
  const gchar *dirs[] = { "/dev/shm", ZB_LOCK_DIR };
  gchar *tag = g_strdup_printf ("-%d-", run_pid);
  GHashTable *seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (dirs); i++) {
    GDir *dir = g_dir_open (dirs[i], 0, NULL);
    const gchar *entry;

    while (dir && (entry = g_dir_read_name (dir))) {
      const gchar *name = entry;
      zb_reader_options opts = { 0, 64, 0 };
      zb_reader *r;
      gchar *base;

      if (g_str_has_prefix (name, "sem.sem-w-")
          || g_str_has_prefix (name, "sem.sem-r-"))
        name += strlen ("sem.sem-w-");
      if (strstr (name, "zstest-") == NULL || strstr (name, tag) == NULL)
        continue;
      base = g_strdup (name);
      if (g_str_has_suffix (base, ".lock"))
        base[strlen (base) - 5] = '\0';
      if (!g_hash_table_add (seen, base))
        continue;
      if (zb_reader_create (&r, base, &opts) == ZB_OK) {
        GST_WARNING ("removed leftovers of %s", base);
        zb_reader_close (r);
      }
    }
    if (dir)
      g_dir_close (dir);
  }
  g_hash_table_unref (seen);
  g_free (tag);
}

typedef struct
{
  GstHarness *h;
  GstElement *sink;
  GstBus *bus;
} Sink;

/* A zerosink in a harness (sync and async off), with its own bus.
 * props: NULL-terminated name/value pairs for g_object_set. */
static Sink
sink_new (const gchar * factory, const gchar * element_name,
    const gchar * first_prop, ...)
{
  Sink s;
  va_list args;

  s.sink = gst_element_factory_make (factory, element_name);
  fail_unless (s.sink != NULL, "no %s element", factory);
  if (first_prop) {
    va_start (args, first_prop);
    g_object_set_valist (G_OBJECT (s.sink), first_prop, args);
    va_end (args);
  }
  s.bus = gst_bus_new ();
  gst_element_set_bus (s.sink, s.bus);
  s.h = gst_harness_new_with_element (s.sink, "sink", NULL);
  return s;
}

static void
sink_free (Sink * s)
{
  gst_element_set_state (s->sink, GST_STATE_NULL);
  gst_harness_teardown (s->h);
  gst_element_set_bus (s->sink, NULL);
  gst_object_unref (s->sink);
  gst_bus_set_flushing (s->bus, TRUE);
  gst_object_unref (s->bus);
}

/* The end of most tests: the sink, then the reader, nothing left behind. */
static void
sink_finish (Sink * s, zb_reader * r, gchar * name)
{
  sink_free (s);
  zb_reader_close (r);
  zb_gst_assert_no_leftovers (name);
  g_free (name);
}

/* Sticky events report success even when refused: a refusal shows on the
 * bus and as NOT_NEGOTIATED on the next buffer. */
static gboolean
push_caps (Sink * s, const gchar * caps_str)
{
  GstCaps *caps = gst_caps_from_string (caps_str);
  GstSegment segment;
  gboolean ok;

  ok = gst_pad_push_event (s->h->srcpad, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_push_event (s->h->srcpad, gst_event_new_segment (&segment));
  return ok;
}

/* Frame i is filled with bytes (i * 7 + k) & 0xff. */
static void
fill_pattern (guint8 * data, gsize size, guint i)
{
  gsize k;

  for (k = 0; k < size; k++)
    data[k] = (guint8) (i * 7 + k);
}

static gboolean
check_pattern (const guint8 * data, gsize size, guint i)
{
  gsize k;

  for (k = 0; k < size; k++)
    if (data[k] != (guint8) (i * 7 + k))
      return FALSE;
  return TRUE;
}

static GstBuffer *
pattern_buffer (gsize size, guint i)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);
  GstMapInfo info;

  gst_buffer_map (buf, &info, GST_MAP_WRITE);
  fill_pattern (info.data, size, i);
  gst_buffer_unmap (buf, &info);
  return buf;
}

static void
read_frame (zb_reader * r, gsize size, guint i)
{
  zb_frame f;
  int rc;

  rc = zb_reader_acquire (r, &f, WAIT_MS);
  fail_unless_equals_int (rc, ZB_OK);
  fail_unless_equals_uint64 (f.size, size);
  fail_unless (check_pattern (f.data, f.size, i), "frame %u differs", i);
  fail_unless_equals_int (zb_reader_release (r, &f), ZB_OK);
}

static guint64
get_u64 (GstElement * e, const gchar * prop)
{
  guint64 v;

  g_object_get (e, prop, &v, NULL);
  return v;
}

/* Pops the first error and checks its domain, code and that its message
 * names what it must. */
static void
expect_error (GstBus * bus, GQuark domain, gint code, const gchar * needle)
{
  GstMessage *msg;
  GError *err = NULL;
  gchar *debug = NULL;

  msg = gst_bus_timed_pop_filtered (bus, WAIT_MS * GST_MSECOND,
      GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error message");
  gst_message_parse_error (msg, &err, &debug);
  GST_INFO ("error: %s (%s)", err->message, debug);
  fail_unless (g_error_matches (err, domain, code),
      "wrong error %s/%d: %s", g_quark_to_string (err->domain), err->code,
      err->message);
  fail_unless (strstr (err->message, needle) != NULL,
      "\"%s\" not in \"%s\"", needle, err->message);
  fail_unless (debug != NULL && debug[0] != '\0', "no debug detail");
  g_clear_error (&err);
  g_free (debug);
  gst_message_unref (msg);
}

static void
expect_no_error (GstBus * bus)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

  if (msg) {
    GError *err = NULL;

    gst_message_parse_error (msg, &err, NULL);
    fail ("unexpected error: %s", err->message);
  }
}

/* ------------------------------------------------------------------ */

GST_START_TEST (test_metadata_json)
{
  gchar *name = unique_name ("meta");
  zb_reader *r = make_reader (name, 64 * 1024, 4096);
  Sink s = sink_new ("zerosink", "metasink", "buffer-name", name, NULL);
  const void *data;
  size_t len;
  JsonParser *parser;
  JsonObject *obj;
  GError *err = NULL;
  GstCaps *want, *got;

  /* Nothing is written before caps. */
  fail_unless_equals_int (zb_reader_get_metadata (r, &data, &len), ZB_ENOMETA);
  fail_unless (push_caps (&s, SMALL_CAPS));
  fail_unless_equals_int (zb_reader_get_metadata (r, &data, &len), ZB_OK);

  parser = json_parser_new ();
  fail_unless (json_parser_load_from_data (parser, data, len, &err),
      "metadata is not JSON: %s", err ? err->message : "");
  obj = json_node_get_object (json_parser_get_root (parser));
  fail_unless_equals_string (json_object_get_string_member (obj, "type"),
      "gstreamer-sink");
  fail_unless (g_str_has_prefix (json_object_get_string_member (obj,
              "version"), "GStreamer 1."));
  fail_unless_equals_string (json_object_get_string_member (obj,
          "element_name"), "metasink");
  want = gst_caps_from_string (SMALL_CAPS);
  got = gst_caps_from_string (json_object_get_string_member (obj, "caps"));
  fail_unless (got != NULL && gst_caps_is_equal (want, got));
  gst_caps_unref (got);
  g_object_unref (parser);

  /* What zerosrc will do with it. */
  got = gst_zero_meta_parse_caps (data, len, &err);
  fail_unless (got != NULL && gst_caps_is_equal (want, got));
  gst_caps_unref (got);
  gst_caps_unref (want);

  expect_no_error (s.bus);
  sink_finish (&s, r, name);
}

GST_END_TEST;

/* A reader without a metadata block gets frames only; one too small for
 * the caps JSON is an error. */
GST_START_TEST (test_metadata_block_size)
{
  gchar *name = unique_name ("metasize");
  zb_reader *r = make_reader (name, 64 * 1024, 0);
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
  const void *data;
  size_t len;

  fail_unless (push_caps (&s, SMALL_CAPS));
  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (SMALL_SIZE, 0)), GST_FLOW_OK);
  read_frame (r, SMALL_SIZE, 0);
  fail_unless_equals_int (zb_reader_get_metadata (r, &data, &len), ZB_ENOMETA);
  expect_no_error (s.bus);
  sink_free (&s);
  zb_reader_close (r);

  r = make_reader (name, 64 * 1024, 64);
  s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
  push_caps (&s, SMALL_CAPS);
  expect_error (s.bus, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NO_SPACE_LEFT,
      name);
  sink_finish (&s, r, name);
}

GST_END_TEST;

GST_START_TEST (test_meta_parse)
{
  static const gchar *bad[] = {
    "", "   ", "{not json", "[1, 2]", "{}", "{\"caps\": 5}",
    "{\"caps\": {\"a\": 1}}", "{\"caps\": \"\"}", "{\"caps\": \"ANY\"}",
    "video/x-raw,width=(int)", "\xff\xfe video/x-raw",
  };
  const gchar *filter = "{\"type\":\"gstreamer-filter\",\"version\":\"x\","
      "\"caps\":\"video/x-raw, format=(string)GRAY8, width=(int)4, "
      "height=(int)2\"}";
  const gchar *bare = "video/x-raw, format=(string)GRAY8, width=(int)4, "
      "height=(int)2";
  GstCaps *caps, *want;
  GError *err = NULL;
  gchar *json;
  gsize len;
  guint i;

  want = gst_caps_from_string (bare);

  caps = gst_zero_meta_parse_caps ((const guint8 *) filter, strlen (filter),
      &err);
  fail_unless (caps != NULL && gst_caps_is_equal (caps, want));
  gst_caps_unref (caps);

  caps = gst_zero_meta_parse_caps ((const guint8 *) bare, strlen (bare), &err);
  fail_unless (caps != NULL && gst_caps_is_equal (caps, want));
  gst_caps_unref (caps);

  /* A counted terminator is tolerated. */
  caps = gst_zero_meta_parse_caps ((const guint8 *) bare, strlen (bare) + 1,
      &err);
  fail_unless (caps != NULL && gst_caps_is_equal (caps, want));
  gst_caps_unref (caps);

  /* Our own JSON round-trips. */
  json = gst_zero_meta_caps_to_json (want, GST_ZERO_META_TYPE_SINK, "e1", &len);
  fail_unless_equals_int (strlen (json), len);
  caps = gst_zero_meta_parse_caps ((const guint8 *) json, len, &err);
  fail_unless (caps != NULL && gst_caps_is_equal (caps, want));
  gst_caps_unref (caps);
  g_free (json);

  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    caps = gst_zero_meta_parse_caps ((const guint8 *) bad[i],
        strlen (bad[i]), &err);
    fail_unless (caps == NULL, "\"%s\" accepted", bad[i]);
    fail_unless (err != NULL && err->message[0] != '\0',
        "no error for \"%s\"", bad[i]);
    GST_INFO ("\"%s\": %s", bad[i], err->message);
    g_clear_error (&err);
  }
  gst_caps_unref (want);
}

GST_END_TEST;

GST_START_TEST (test_frames_in_order)
{
  gchar *name = unique_name ("order");
  zb_reader *r = make_reader (name, 64 * 1024, 1024);
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
  guint64 bytes = 0;
  guint i;

  fail_unless (push_caps (&s, "application/x-zerotest"));
  for (i = 0; i < 20; i++) {
    gsize size = 1 + i * 97;

    fail_unless_equals_int (gst_harness_push (s.h, pattern_buffer (size, i)),
        GST_FLOW_OK);
    bytes += size;
  }
  for (i = 0; i < 20; i++)
    read_frame (r, 1 + i * 97, i);

  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-written"), 20);
  fail_unless_equals_uint64 (get_u64 (s.sink, "bytes-written"), bytes);
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-copied"), 20);
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-dropped"), 0);

  expect_no_error (s.bus);
  sink_finish (&s, r, name);
}

GST_END_TEST;

GST_START_TEST (test_eos)
{
  gchar *name = unique_name ("eos");
  zb_reader *r = make_reader (name, 64 * 1024, 1024);
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
  zb_frame f;
  guint i;

  fail_unless (push_caps (&s, SMALL_CAPS));
  for (i = 0; i < 3; i++)
    fail_unless_equals_int (gst_harness_push (s.h,
            pattern_buffer (SMALL_SIZE, i)), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (s.h, gst_event_new_eos ()));

  /* The writer left before the reader looked: everything written before
   * EOS, then the end. */
  for (i = 0; i < 3; i++)
    read_frame (r, SMALL_SIZE, i);
  fail_unless_equals_int (zb_reader_acquire (r, &f, WAIT_MS), ZB_EOS);
  /* Data after EOS is refused (by the base class)... */
  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (SMALL_SIZE, 3)), GST_FLOW_EOS);
  expect_no_error (s.bus);
  /* ...and after a flush too: the reader already saw the end. */
  fail_unless (gst_harness_push_event (s.h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (s.h, gst_event_new_flush_stop (TRUE)));
  fail_unless (push_caps (&s, SMALL_CAPS));
  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (SMALL_SIZE, 4)), GST_FLOW_ERROR);
  expect_error (s.bus, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED, name);
  fail_unless_equals_int (zb_reader_acquire (r, &f, 100), ZB_EOS);

  expect_no_error (s.bus);
  sink_finish (&s, r, name);
}

GST_END_TEST;

static GstBufferPool *
proposed_pool (Sink * s, const gchar * caps_str)
{
  GstCaps *caps = gst_caps_from_string (caps_str);
  GstQuery *query = gst_query_new_allocation (caps, TRUE);
  GstBufferPool *pool = NULL;
  guint size, min, max;

  fail_unless (gst_pad_peer_query (s->h->srcpad, query));
  fail_unless (gst_query_get_n_allocation_pools (query) > 0,
      "zerosink proposed no pool");
  gst_query_parse_nth_allocation_pool (query, 0, &pool, &size, &min, &max);
  fail_unless (pool != NULL);
  fail_unless_equals_int (size, SMALL_SIZE);
  gst_query_unref (query);
  gst_caps_unref (caps);
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  return pool;
}

static GstBuffer *
pool_buffer (GstBufferPool * pool, guint i)
{
  GstBuffer *buf = NULL;
  GstMapInfo info;

  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buf, NULL),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_buffer_get_size (buf), SMALL_SIZE);
  fail_unless (gst_buffer_map (buf, &info, GST_MAP_WRITE));
  fill_pattern (info.data, info.size, i);
  gst_buffer_unmap (buf, &info);
  return buf;
}

static gboolean
is_ring_buffer (GstBuffer * buf)
{
  return gst_buffer_n_memory (buf) == 1
      && gst_memory_is_type (gst_buffer_peek_memory (buf, 0), "ZeroBufferRing");
}

GST_START_TEST (test_pool_zero_copy)
{
  gchar *name = unique_name ("pool");
  zb_reader *r = make_reader (name, 16 * FRAME_TOTAL (SMALL_SIZE), 1024);
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
  GstBufferPool *pool;
  GstBuffer *a = NULL, *b;
  GstMemory *first_mem = NULL;
  guint i;

  fail_unless (push_caps (&s, SMALL_CAPS));
  pool = proposed_pool (&s, SMALL_CAPS);

  /* One buffer at a time, as a source feeding the sink directly does:
   * every frame is produced in the ring and only committed, and the same
   * buffer and memory struct carry them all (no allocation per frame). */
  for (i = 0; i < 40; i++) {
    GstBuffer *buf = pool_buffer (pool, i);

    fail_unless (is_ring_buffer (buf), "buffer %u is not ring memory", i);
    if (i == 0) {
      a = buf;
      first_mem = gst_buffer_peek_memory (buf, 0);
    } else {
      fail_unless (buf == a, "frame %u got a new buffer", i);
      fail_unless (gst_buffer_peek_memory (buf, 0) == first_mem,
          "frame %u got a new memory", i);
    }
    fail_unless_equals_int (gst_harness_push (s.h, buf), GST_FLOW_OK);
    read_frame (r, SMALL_SIZE, i);
  }
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-written"), 40);
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-copied"), 0);

  /* Two at a time: the second is plain memory (no deadlock on the one
   * reservation) and is copied, in order.  (Read in between: compact
   * placement put the first over the frame before, at the start, so the
   * ring has room for the second only once the reader is past it.) */
  a = pool_buffer (pool, 100);
  b = pool_buffer (pool, 101);
  fail_unless (is_ring_buffer (a));
  fail_if (is_ring_buffer (b));
  fail_unless_equals_int (gst_harness_push (s.h, a), GST_FLOW_OK);
  read_frame (r, SMALL_SIZE, 100);
  fail_unless_equals_int (gst_harness_push (s.h, b), GST_FLOW_OK);
  read_frame (r, SMALL_SIZE, 101);
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-copied"), 1);

  /* A pool buffer dropped without render gives its space back. */
  for (i = 0; i < 40; i++)
    gst_buffer_unref (pool_buffer (pool, 200 + i));
  a = pool_buffer (pool, 300);
  fail_unless (is_ring_buffer (a));
  fail_unless_equals_int (gst_harness_push (s.h, a), GST_FLOW_OK);
  read_frame (r, SMALL_SIZE, 300);
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-written"), 43);
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-copied"), 1);

  fail_unless (gst_buffer_pool_set_active (pool, FALSE));
  gst_object_unref (pool);
  expect_no_error (s.bus);
  sink_finish (&s, r, name);
}

GST_END_TEST;

/* Upstream renders another buffer while holding the pool buffer that owns
 * the ring's next slot (a reordering decoder does this): that frame cannot
 * go first, so it is dropped with a warning instead of waiting forever,
 * and the pool copies from then on. */
GST_START_TEST (test_pool_out_of_order)
{
  gchar *name = unique_name ("reorder");
  zb_reader *r = make_reader (name, 16 * FRAME_TOTAL (SMALL_SIZE), 1024);
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
  GstBufferPool *pool;
  GstMessage *msg;
  GstBuffer *a, *c;
  zb_frame f;

  fail_unless (push_caps (&s, SMALL_CAPS));
  pool = proposed_pool (&s, SMALL_CAPS);

  a = pool_buffer (pool, 1);
  fail_unless (is_ring_buffer (a));
  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (SMALL_SIZE, 0)), GST_FLOW_OK);
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-dropped"), 1);
  msg = gst_bus_timed_pop_filtered (s.bus, WAIT_MS * GST_MSECOND,
      GST_MESSAGE_WARNING);
  fail_unless (msg != NULL, "no warning");
  gst_message_unref (msg);

  fail_unless_equals_int (gst_harness_push (s.h, a), GST_FLOW_OK);
  c = pool_buffer (pool, 2);
  fail_if (is_ring_buffer (c));
  fail_unless_equals_int (gst_harness_push (s.h, c), GST_FLOW_OK);

  read_frame (r, SMALL_SIZE, 1);
  read_frame (r, SMALL_SIZE, 2);
  fail_unless_equals_int (zb_reader_acquire (r, &f, 100), ZB_ETIMEDOUT);
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-written"), 2);
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-copied"), 1);

  fail_unless (gst_buffer_pool_set_active (pool, FALSE));
  gst_object_unref (pool);
  expect_no_error (s.bus);
  sink_finish (&s, r, name);
}

GST_END_TEST;

typedef struct
{
  zb_reader *r;
  gsize size;
  guint frames;
  gint result;
  gboolean bad_size;
} ReaderThread;

static gpointer
reader_thread (gpointer data)
{
  ReaderThread *t = data;
  zb_frame f;

  for (;;) {
    t->result = zb_reader_acquire (t->r, &f, 20000);
    if (t->result != ZB_OK)
      break;
    if (f.size != t->size)
      t->bad_size = TRUE;
    t->frames++;
    zb_reader_release (t->r, &f);
  }
  return NULL;
}

/* The launch line, through the "zero-sink" alias, named like a
 * UUID and without buffer-name: videotestsrc writes into the ring. */
GST_START_TEST (test_pipeline_videotestsrc)
{
  gchar *name = g_strdup_printf ("e39640a7-zstest-%d-%d-%u", run_pid,
      (int) getpid (), name_counter++);
  gsize size = 64 * 48 * 3;
  zb_reader *r = make_reader (name, 4 * FRAME_TOTAL (size), 1024);
  ReaderThread rt = { r, size, 0, 0, FALSE };
  GstElement *pipeline, *sink;
  GstMessage *msg;
  GThread *thread;
  GError *err = NULL;
  gchar *desc;

  desc = g_strdup_printf ("videotestsrc num-buffers=30 ! "
      "video/x-raw,format=RGB,width=64,height=48 ! "
      "zero-sink name=\"%s\" sync=false", name);
  pipeline = gst_parse_launch (desc, &err);
  g_free (desc);
  fail_unless (pipeline != NULL && err == NULL, "%s",
      err ? err->message : "no pipeline");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), name);

  thread = g_thread_new ("reader", reader_thread, &rt);
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      20 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
  g_thread_join (thread);

  fail_unless_equals_int (rt.result, ZB_EOS);
  fail_unless_equals_int (rt.frames, 30);
  fail_if (rt.bad_size);
  fail_unless_equals_uint64 (get_u64 (sink, "frames-written"), 30);
  fail_unless_equals_uint64 (get_u64 (sink, "frames-copied"), 0);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  zb_reader_close (r);
  zb_gst_assert_no_leftovers (name);
  g_free (name);
}

GST_END_TEST;

#define BALL_CAPS "video/x-raw,format=RGB,width=32,height=24"
#define BALL_SIZE (32 * 24 * 3)
#define BALL_FRAMES 200

static void
ref_handoff (GstElement * fakesink, GstBuffer * buf, GstPad * pad,
    gpointer data)
{
  GPtrArray *sums = data;
  GstMapInfo info;

  gst_buffer_map (buf, &info, GST_MAP_READ);
  g_ptr_array_add (sums, g_compute_checksum_for_data (G_CHECKSUM_MD5,
          info.data, info.size));
  gst_buffer_unmap (buf, &info);
}

static void
run_to_eos (GstElement * pipeline)
{
  GstMessage *msg;

  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      30 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "pipeline did not finish");
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

typedef struct
{
  zb_reader *r;
  GPtrArray *sums;
  gint result;
} SumThread;

/* Keeps up to two frames and releases them out of order, like a
 * downstream that holds buffers. */
static gpointer
sum_thread (gpointer data)
{
  SumThread *t = data;
  zb_frame held[2];
  guint n = 0;

  for (;;) {
    zb_frame f;

    t->result = zb_reader_acquire (t->r, &f, 20000);
    if (t->result != ZB_OK)
      break;
    g_ptr_array_add (t->sums, g_compute_checksum_for_data (G_CHECKSUM_MD5,
            f.data, f.size));
    held[n++] = f;
    if (n == 2) {
      zb_reader_release (t->r, &held[1]);
      zb_reader_release (t->r, &held[0]);
      n = 0;
    }
  }
  while (n > 0)
    zb_reader_release (t->r, &held[--n]);
  return NULL;
}

/* Through a queue, upstream and the sink run in different threads and pool
 * buffers are in flight together: some frames are produced in the ring,
 * others copied.  The reader must still get exactly the source's frames. */
GST_START_TEST (test_pipeline_queue_integrity)
{
  gchar *name = unique_name ("queue");
  zb_reader *r = make_reader (name, 3 * FRAME_TOTAL (BALL_SIZE), 1024);
  GPtrArray *want = g_ptr_array_new_with_free_func (g_free);
  SumThread st = { r, g_ptr_array_new_with_free_func (g_free), 0 };
  GstElement *pipeline, *sink;
  GThread *thread;
  gchar *desc;
  guint i;

  desc = g_strdup_printf ("videotestsrc pattern=ball num-buffers=%d ! "
      BALL_CAPS " ! fakesink name=ref signal-handoffs=true sync=false",
      BALL_FRAMES);
  pipeline = gst_parse_launch (desc, NULL);
  g_free (desc);
  fail_unless (pipeline != NULL);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "ref");
  g_signal_connect (sink, "handoff", G_CALLBACK (ref_handoff), want);
  run_to_eos (pipeline);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  fail_unless_equals_int (want->len, BALL_FRAMES);

  desc = g_strdup_printf ("videotestsrc pattern=ball num-buffers=%d ! "
      BALL_CAPS " ! queue max-size-buffers=4 ! zerosink name=zs "
      "buffer-name=%s sync=false", BALL_FRAMES, name);
  pipeline = gst_parse_launch (desc, NULL);
  g_free (desc);
  fail_unless (pipeline != NULL);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "zs");
  thread = g_thread_new ("reader", sum_thread, &st);
  run_to_eos (pipeline);
  g_thread_join (thread);

  fail_unless_equals_int (st.result, ZB_EOS);
  fail_unless_equals_int (st.sums->len, BALL_FRAMES);
  for (i = 0; i < BALL_FRAMES; i++)
    fail_unless_equals_string (g_ptr_array_index (st.sums, i),
        g_ptr_array_index (want, i));
  fail_unless_equals_uint64 (get_u64 (sink, "frames-written"), BALL_FRAMES);
  GST_INFO ("%" G_GUINT64_FORMAT " of %d frames copied",
      get_u64 (sink, "frames-copied"), BALL_FRAMES);

  gst_object_unref (sink);
  gst_object_unref (pipeline);
  g_ptr_array_unref (st.sums);
  g_ptr_array_unref (want);
  zb_reader_close (r);
  zb_gst_assert_no_leftovers (name);
  g_free (name);
}

GST_END_TEST;

typedef struct
{
  GstHarness *h;
  GstBuffer *buf;
  gint done;                    /* atomic */
  GstFlowReturn ret;
} PushThread;

static gpointer
push_thread (gpointer data)
{
  PushThread *t = data;

  t->ret = gst_harness_push (t->h, t->buf);
  g_atomic_int_set (&t->done, 1);
  return NULL;
}

static gboolean
wait_done (gint * done, gint ms)
{
  gint64 end = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;

  while (!g_atomic_int_get (done)) {
    if (g_get_monotonic_time () > end)
      return FALSE;
    g_usleep (1000);
  }
  return TRUE;
}

/* Fill a 4-frame ring; the reader acquires and holds all 4. */
static zb_reader *
full_ring (Sink * s, const gchar * name, zb_frame * held)
{
  zb_reader *r = make_reader (name, 4 * FRAME_TOTAL (SMALL_SIZE), 1024);
  guint i;

  fail_unless (push_caps (s, SMALL_CAPS));
  for (i = 0; i < 4; i++)
    fail_unless_equals_int (gst_harness_push (s->h,
            pattern_buffer (SMALL_SIZE, i)), GST_FLOW_OK);
  for (i = 0; held && i < 4; i++)
    fail_unless_equals_int (zb_reader_acquire (r, &held[i], WAIT_MS), ZB_OK);
  return r;
}

GST_START_TEST (test_block_while_held)
{
  gchar *name = unique_name ("held");
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
  zb_frame held[4], f;
  PushThread pt = { s.h, NULL, 0, GST_FLOW_ERROR };
  zb_reader *r = full_ring (&s, name, held);
  GThread *thread;
  gdouble used;
  guint i;

  pt.buf = pattern_buffer (SMALL_SIZE, 4);
  thread = g_thread_new ("push", push_thread, &pt);

  /* Every frame is held: the fifth cannot be written and the sink waits
   * rather than overwrite or fail. */
  fail_unless_equals_int (zb_reader_acquire (r, &f, 300), ZB_ETIMEDOUT);
  fail_if (g_atomic_int_get (&pt.done), "push returned while ring full");
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-written"), 4);
  g_object_get (s.sink, "ring-utilization", &used, NULL);
  fail_unless (used == 1.0, "ring-utilization %f with a full ring", used);

  /* One release is room for one frame. */
  fail_unless_equals_int (zb_reader_release (r, &held[0]), ZB_OK);
  fail_unless (wait_done (&pt.done, WAIT_MS), "push still blocked");
  g_thread_join (thread);
  fail_unless_equals_int (pt.ret, GST_FLOW_OK);
  read_frame (r, SMALL_SIZE, 4);
  for (i = 1; i < 4; i++) {
    fail_unless (check_pattern (held[i].data, held[i].size, i));
    zb_reader_release (r, &held[i]);
  }
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-written"), 5);

  expect_no_error (s.bus);
  sink_finish (&s, r, name);
}

GST_END_TEST;

GST_START_TEST (test_on_full_drop)
{
  gchar *name = unique_name ("drop");
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name, "on-full", 1,
      NULL);
  zb_reader *r = full_ring (&s, name, NULL);
  guint i;

  for (i = 4; i < 10; i++)
    fail_unless_equals_int (gst_harness_push (s.h,
            pattern_buffer (SMALL_SIZE, i)), GST_FLOW_OK);
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-written"), 4);
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-dropped"), 6);
  for (i = 0; i < 4; i++)
    read_frame (r, SMALL_SIZE, i);

  /* Room again: frames go through. */
  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (SMALL_SIZE, 10)), GST_FLOW_OK);
  read_frame (r, SMALL_SIZE, 10);
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-dropped"), 6);

  expect_no_error (s.bus);
  sink_finish (&s, r, name);
}

GST_END_TEST;

GST_START_TEST (test_write_timeout)
{
  gchar *name = unique_name ("wtimeout");
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name,
      "write-timeout", 200, NULL);
  zb_reader *r = full_ring (&s, name, NULL);
  gint64 t0 = g_get_monotonic_time ();

  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (SMALL_SIZE, 4)), GST_FLOW_ERROR);
  fail_unless (g_get_monotonic_time () - t0 >= 190 * G_TIME_SPAN_MILLISECOND);
  expect_error (s.bus, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NO_SPACE_LEFT,
      name);

  sink_finish (&s, r, name);
}

GST_END_TEST;

GST_START_TEST (test_error_bad_name)
{
  static const gchar *names[] = { "bad/name", ".hidden", "sp ace" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (names); i++) {
    GstElement *sink = gst_element_factory_make ("zerosink", NULL);
    GstBus *bus = gst_bus_new ();

    g_object_set (sink, "buffer-name", names[i], NULL);
    gst_element_set_bus (sink, bus);
    fail_unless_equals_int (gst_element_set_state (sink, GST_STATE_PAUSED),
        GST_STATE_CHANGE_FAILURE);
    expect_error (bus, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        names[i]);
    gst_element_set_state (sink, GST_STATE_NULL);
    gst_element_set_bus (sink, NULL);
    gst_object_unref (bus);
    gst_object_unref (sink);
  }
}

GST_END_TEST;

GST_START_TEST (test_error_no_reader)
{
  gchar *name = unique_name ("noreader");
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name,
      "connect-timeout", 200, NULL);
  gint64 t0, dt;

  /* Caps are taken at once: the reader is waited for with the first
   * frame, outside the caps handling and its preroll lock. */
  fail_unless (push_caps (&s, SMALL_CAPS));
  expect_no_error (s.bus);
  t0 = g_get_monotonic_time ();
  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (SMALL_SIZE, 0)), GST_FLOW_ERROR);
  dt = g_get_monotonic_time () - t0;
  fail_unless (dt >= 190 * G_TIME_SPAN_MILLISECOND, "gave up early");
  fail_unless (dt < ZB_BOUND_MS (5000) * G_TIME_SPAN_MILLISECOND,
      "gave up late");
  expect_error (s.bus, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, name);
  sink_free (&s);

  /* connect-timeout=0: the state change itself fails, at once. */
  {
    GstElement *sink = gst_element_factory_make ("zerosink", NULL);
    GstBus *bus = gst_bus_new ();

    g_object_set (sink, "buffer-name", name, "connect-timeout", 0, NULL);
    gst_element_set_bus (sink, bus);
    t0 = g_get_monotonic_time ();
    fail_unless_equals_int (gst_element_set_state (sink, GST_STATE_PAUSED),
        GST_STATE_CHANGE_FAILURE);
    fail_unless (g_get_monotonic_time () - t0 <
        ZB_BOUND_MS (5000) * G_TIME_SPAN_MILLISECOND);
    expect_error (bus, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, name);
    gst_element_set_state (sink, GST_STATE_NULL);
    gst_element_set_bus (sink, NULL);
    gst_object_unref (bus);
    gst_object_unref (sink);
  }

  zb_gst_assert_no_leftovers (name);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_error_reader_gone)
{
  gchar *name = unique_name ("gone");
  zb_reader *r = make_reader (name, 64 * 1024, 1024);
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);

  fail_unless (push_caps (&s, SMALL_CAPS));
  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (SMALL_SIZE, 0)), GST_FLOW_OK);
  read_frame (r, SMALL_SIZE, 0);
  zb_reader_close (r);
  zb_gst_assert_no_leftovers (name);

  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (SMALL_SIZE, 1)), GST_FLOW_ERROR);
  expect_error (s.bus, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_WRITE, name);

  sink_free (&s);
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_reconnect)
{
  gchar *name = unique_name ("reconnect");
  zb_reader *r = make_reader (name, 64 * 1024, 1024);
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name,
      "on-reader-lost", 1, NULL);
  const void *data;
  size_t len;

  fail_unless (push_caps (&s, SMALL_CAPS));
  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (SMALL_SIZE, 0)), GST_FLOW_OK);
  read_frame (r, SMALL_SIZE, 0);
  zb_reader_close (r);

  /* A new reader on the same name gets the metadata again, then data. */
  r = make_reader (name, 64 * 1024, 1024);
  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (SMALL_SIZE, 1)), GST_FLOW_OK);
  read_frame (r, SMALL_SIZE, 1);
  fail_unless_equals_int (zb_reader_get_metadata (r, &data, &len), ZB_OK);
  fail_unless (g_strstr_len (data, len, "gstreamer-sink") != NULL);

  expect_no_error (s.bus);
  sink_finish (&s, r, name);
}

GST_END_TEST;

GST_START_TEST (test_error_frame_too_large)
{
  gchar *name = unique_name ("large");
  zb_reader *r = make_reader (name, 64 * 1024, 1024);
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);

  /* Caps time: 640x480 RGB frames (921600 bytes) in a 64 KiB ring. */
  push_caps (&s, "video/x-raw,format=RGB,width=640,height=480,framerate=30/1");
  expect_error (s.bus, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      "921600");
  fail_unless_equals_int (gst_harness_push (s.h, pattern_buffer (100, 0)),
      GST_FLOW_NOT_NEGOTIATED);
  sink_free (&s);
  zb_reader_close (r);

  /* Render time, caps without a frame size. */
  r = make_reader (name, 4096, 1024);
  s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
  fail_unless (push_caps (&s, "application/x-zerotest"));
  fail_unless_equals_int (gst_harness_push (s.h, pattern_buffer (10000, 0)),
      GST_FLOW_ERROR);
  expect_error (s.bus, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NO_SPACE_LEFT,
      name);

  sink_finish (&s, r, name);
}

GST_END_TEST;

GST_START_TEST (test_caps_change_refused)
{
  gchar *name = unique_name ("recaps");
  zb_reader *r = make_reader (name, 64 * 1024, 1024);
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);

  fail_unless (push_caps (&s, SMALL_CAPS));
  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (SMALL_SIZE, 0)), GST_FLOW_OK);
  /* Identical caps again are fine. */
  fail_unless (push_caps (&s, SMALL_CAPS));
  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (SMALL_SIZE, 1)), GST_FLOW_OK);
  expect_no_error (s.bus);
  /* Different caps are not. */
  push_caps (&s, "video/x-raw,format=RGB,width=8,height=8,framerate=30/1");
  expect_error (s.bus, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT, name);
  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (8 * 8 * 3, 2)), GST_FLOW_NOT_NEGOTIATED);
  read_frame (r, SMALL_SIZE, 0);
  read_frame (r, SMALL_SIZE, 1);
  /* Nothing else was written and the metadata still tells the old caps. */
  {
    const void *data;
    size_t len;
    zb_frame f;
    GstCaps *caps, *want = gst_caps_from_string (SMALL_CAPS);

    fail_unless_equals_int (zb_reader_acquire (r, &f, 100), ZB_ETIMEDOUT);
    fail_unless_equals_int (zb_reader_get_metadata (r, &data, &len), ZB_OK);
    caps = gst_zero_meta_parse_caps (data, len, NULL);
    fail_unless (caps != NULL && gst_caps_is_equal (caps, want));
    gst_caps_unref (caps);
    gst_caps_unref (want);
  }

  sink_finish (&s, r, name);
}

GST_END_TEST;

/* A second writer on a buffer whose metadata an earlier one wrote. */
GST_START_TEST (test_earlier_writer_metadata)
{
  gchar *name = unique_name ("second");
  zb_reader *r = make_reader (name, 64 * 1024, 1024);
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
  zb_frame f;

  fail_unless (push_caps (&s, SMALL_CAPS));
  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (SMALL_SIZE, 0)), GST_FLOW_OK);
  read_frame (r, SMALL_SIZE, 0);
  sink_free (&s);
  fail_unless_equals_int (zb_reader_acquire (r, &f, WAIT_MS), ZB_EOS);

  s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
  fail_unless (push_caps (&s, SMALL_CAPS));
  fail_unless_equals_int (gst_harness_push (s.h,
          pattern_buffer (SMALL_SIZE, 1)), GST_FLOW_OK);
  expect_no_error (s.bus);
  sink_free (&s);
  read_frame (r, SMALL_SIZE, 1);
  fail_unless_equals_int (zb_reader_acquire (r, &f, WAIT_MS), ZB_EOS);

  /* A third writer with other caps would write frames the metadata does
   * not describe: refused, naming the buffer. */
  s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
  push_caps (&s, "video/x-raw,format=RGB,width=8,height=8,framerate=30/1");
  expect_error (s.bus, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT, name);
  sink_free (&s);
  fail_unless_equals_int (zb_reader_acquire (r, &f, 100), ZB_EOS);

  zb_reader_close (r);
  zb_gst_assert_no_leftovers (name);
  g_free (name);
}

GST_END_TEST;

/* State change to NULL while the sink waits for space: returns promptly
 * and the blocked push ends with FLUSHING. */
GST_START_TEST (test_stop_while_blocked_on_space)
{
  gchar *name = unique_name ("stopspace");
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
  zb_frame held[4], f;
  PushThread pt = { s.h, NULL, 0, GST_FLOW_OK };
  zb_reader *r = full_ring (&s, name, held);
  GThread *thread;
  gint64 t0;
  guint i;

  pt.buf = pattern_buffer (SMALL_SIZE, 4);
  thread = g_thread_new ("push", push_thread, &pt);
  fail_unless_equals_int (zb_reader_acquire (r, &f, 200), ZB_ETIMEDOUT);
  fail_if (g_atomic_int_get (&pt.done));

  t0 = g_get_monotonic_time ();
  gst_element_set_state (s.sink, GST_STATE_NULL);
  fail_unless (g_get_monotonic_time () - t0 <
      ZB_STOP_BOUND_MS * G_TIME_SPAN_MILLISECOND,
      "state change took too long");
  fail_unless (wait_done (&pt.done, WAIT_MS));
  g_thread_join (thread);
  fail_unless_equals_int (pt.ret, GST_FLOW_FLUSHING);
  expect_no_error (s.bus);

  /* The writer detached: the reader sees the end after what it holds. */
  for (i = 0; i < 4; i++)
    zb_reader_release (r, &held[i]);
  fail_unless_equals_int (zb_reader_acquire (r, &f, WAIT_MS), ZB_EOS);

  sink_finish (&s, r, name);
}

GST_END_TEST;

typedef struct
{
  GstBufferPool *pool;
  gint done;                    /* atomic */
  GstFlowReturn ret;
  GstBuffer *buf;
} AcquireThread;

static gpointer
acquire_thread (gpointer data)
{
  AcquireThread *t = data;

  t->ret = gst_buffer_pool_acquire_buffer (t->pool, &t->buf, NULL);
  g_atomic_int_set (&t->done, 1);
  return NULL;
}

/* Upstream waits in the pool for ring space (write-timeout=-1): shutting
 * the sink down wakes it. */
GST_START_TEST (test_stop_while_pool_waits)
{
  gchar *name = unique_name ("stoppool");
  zb_reader *r = make_reader (name, 4 * FRAME_TOTAL (SMALL_SIZE), 1024);
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
  AcquireThread at = { NULL, 0, GST_FLOW_OK, NULL };
  GThread *thread;
  gint64 t0;
  guint i;

  fail_unless (push_caps (&s, SMALL_CAPS));
  at.pool = proposed_pool (&s, SMALL_CAPS);
  for (i = 0; i < 4; i++)
    fail_unless_equals_int (gst_harness_push (s.h, pool_buffer (at.pool, i)),
        GST_FLOW_OK);
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-copied"), 0);

  thread = g_thread_new ("acquire", acquire_thread, &at);
  fail_if (wait_done (&at.done, 300), "acquire returned with a full ring");

  t0 = g_get_monotonic_time ();
  gst_element_set_state (s.sink, GST_STATE_NULL);
  fail_unless (g_get_monotonic_time () - t0 <
      ZB_STOP_BOUND_MS * G_TIME_SPAN_MILLISECOND,
      "state change took too long");
  fail_unless (wait_done (&at.done, WAIT_MS), "acquire still blocked");
  g_thread_join (thread);
  /* Flushing, or plain memory that upstream then fails to push. */
  fail_unless (at.ret == GST_FLOW_FLUSHING || at.ret == GST_FLOW_OK);
  if (at.buf) {
    fail_if (is_ring_buffer (at.buf));
    gst_buffer_unref (at.buf);
  }
  expect_no_error (s.bus);

  for (i = 0; i < 4; i++)
    read_frame (r, SMALL_SIZE, i);
  gst_buffer_pool_set_active (at.pool, FALSE);
  gst_object_unref (at.pool);
  sink_finish (&s, r, name);
}

GST_END_TEST;


/* The reader is waited for with the first frame, not in the caps
 * handling, and without the preroll lock: the element changes state
 * (PLAYING -> PAUSED -> PLAYING) while it waits; a reader that comes then
 * gets the frame, and upstream is asked to renegotiate its allocation
 * (the ring pool exists only now).  A state change to NULL ends the
 * wait. */
GST_START_TEST (test_stop_while_waiting_for_reader)
{
  gchar *name = unique_name ("stopwait");
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name,
      "connect-timeout", -1, NULL);
  PushThread pt = { s.h, NULL, 0, GST_FLOW_ERROR };
  GThread *thread;
  zb_reader *r;
  gint64 t0;

  fail_unless (push_caps (&s, SMALL_CAPS));
  gst_pad_check_reconfigure (s.h->srcpad);
  pt.buf = pattern_buffer (SMALL_SIZE, 0);
  thread = g_thread_new ("push", push_thread, &pt);
  /* It waits for a reader that is not there yet... */
  fail_if (wait_done (&pt.done, 300), "push returned without a reader");

  /* ...and state changes do not wait for it. */
  t0 = g_get_monotonic_time ();
  fail_unless (gst_element_set_state (s.sink, GST_STATE_PAUSED) !=
      GST_STATE_CHANGE_FAILURE);
  fail_unless (gst_element_set_state (s.sink, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  fail_unless (g_get_monotonic_time () - t0 <
      ZB_STOP_BOUND_MS * G_TIME_SPAN_MILLISECOND,
      "a state change waited for the reader");
  fail_if (g_atomic_int_get (&pt.done), "push returned without a reader");

  /* The reader comes: the frame is written, upstream renegotiates. */
  r = make_reader (name, 64 * 1024, 4096);
  fail_unless (wait_done (&pt.done, WAIT_MS), "push still waiting");
  g_thread_join (thread);
  fail_unless_equals_int (pt.ret, GST_FLOW_OK);
  read_frame (r, SMALL_SIZE, 0);
  fail_unless (gst_pad_check_reconfigure (s.h->srcpad),
      "no reconfigure after connecting");
  expect_no_error (s.bus);
  sink_free (&s);
  zb_reader_close (r);
  zb_gst_assert_no_leftovers (name);

  /* Waiting again, for a reader that never comes, until the element is
   * shut down. */
  s = sink_new ("zerosink", NULL, "buffer-name", name,
      "connect-timeout", -1, NULL);
  fail_unless (push_caps (&s, SMALL_CAPS));
  pt.h = s.h;
  pt.buf = pattern_buffer (SMALL_SIZE, 0);
  pt.done = 0;
  thread = g_thread_new ("push", push_thread, &pt);
  fail_if (wait_done (&pt.done, 300), "push returned without a reader");
  t0 = g_get_monotonic_time ();
  gst_element_set_state (s.sink, GST_STATE_NULL);
  fail_unless (g_get_monotonic_time () - t0 <
      ZB_STOP_BOUND_MS * G_TIME_SPAN_MILLISECOND,
      "state change took too long");
  fail_unless (wait_done (&pt.done, WAIT_MS));
  g_thread_join (thread);
  fail_unless_equals_int (pt.ret, GST_FLOW_FLUSHING);
  expect_no_error (s.bus);

  sink_free (&s);
  zb_gst_assert_no_leftovers (name);
  g_free (name);
}

GST_END_TEST;

/* Pushes @n buffers of @size bytes (patterns @from, @from + 1, ...),
 * each read and released at once; returns the furthest payload_write_pos
 * seen after a write. */
static guint64
push_read_max_pos (Sink * s, zb_reader * r, const gchar * name, guint from,
    guint n, gsize size)
{
  guint64 max_pos = 0;
  zb_info info;
  guint i;

  for (i = from; i < from + n; i++) {
    fail_unless_equals_int (gst_harness_push (s->h, pattern_buffer (size, i)),
        GST_FLOW_OK);
    fail_unless_equals_int (zb_inspect (name, &info), ZB_OK);
    max_pos = MAX (max_pos, info.payload_write_pos);
    read_frame (r, size, i);
  }
  return max_pos;
}

/* compact-window: with a reader that keeps up, every frame starts within
 * the window (the writer goes back to the start behind a marker, once a
 * frame starts at or past it); off, the frames go all around the ring.
 * Either way the reader gets them all. */
GST_START_TEST (test_compact_window)
{
  const guint64 T = FRAME_TOTAL (SMALL_SIZE);
  const gint64 windows[] = { 0, 3 * T };
  guint64 max_pos;
  guint k;

  for (k = 0; k < G_N_ELEMENTS (windows); k++) {
    gchar *name = unique_name ("compact");
    zb_reader *r = make_reader (name, 16 * T, 1024);
    Sink s = sink_new ("zerosink", NULL, "buffer-name", name,
        "compact-window", windows[k], NULL);

    fail_unless (push_caps (&s, SMALL_CAPS));
    max_pos = push_read_max_pos (&s, r, name, 0, 40, SMALL_SIZE);
    if (windows[k] > 0)
      fail_unless (max_pos <= (guint64) windows[k] + T,
          "write_pos %" G_GUINT64_FORMAT " past the window", max_pos);
    else
      fail_unless (max_pos >= 15 * T, "frames did not go round the ring "
          "(write_pos at most %" G_GUINT64_FORMAT ")", max_pos);
    expect_no_error (s.bus);
    sink_finish (&s, r, name);
  }

  /* The default: two frames of the caps; off for caps without a frame
   * size.  A reader that gives each frame back before the next is
   * written gets every frame after the first at the start, over the
   * memory of the one before (frames-reused; not on one CPU, where the
   * writer does not wait for the reader). */
  for (k = 0; k < 2; k++) {
    gchar *name = unique_name ("compact-default");
    zb_reader *r = make_reader (name, 16 * T, 1024);
    Sink s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
    gboolean multi = sysconf (_SC_NPROCESSORS_ONLN) > 1;

    fail_unless (push_caps (&s, k ? "application/octet-stream" : SMALL_CAPS));
    max_pos = push_read_max_pos (&s, r, name, 0, 40, SMALL_SIZE);
    if (k) {
      fail_unless (max_pos >= 15 * T, "frames did not go round the ring "
          "(write_pos at most %" G_GUINT64_FORMAT ")", max_pos);
      fail_unless_equals_uint64 (get_u64 (s.sink, "frames-reused"), 0);
    } else if (multi) {
      fail_unless_equals_uint64 (max_pos, T);
      fail_unless_equals_uint64 (get_u64 (s.sink, "frames-reused"), 39);
    } else
      fail_unless (max_pos >= 2 * T && max_pos <= 3 * T, "write_pos went "
          "up to %" G_GUINT64_FORMAT ", not to a window of two frames",
          max_pos);
    expect_no_error (s.bus);
    sink_finish (&s, r, name);
  }

  /* A reader that holds each frame until the next one is written: no
   * reuse, the frames take turns in the window's two frames. */
  {
    gchar *name = unique_name ("compact-held");
    zb_reader *r = make_reader (name, 16 * T, 1024);
    Sink s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
    zb_info info;
    zb_frame held, f;
    guint i;

    fail_unless (push_caps (&s, SMALL_CAPS));
    max_pos = 0;
    fail_unless_equals_int (gst_harness_push (s.h, pattern_buffer (SMALL_SIZE,
                0)), GST_FLOW_OK);
    fail_unless_equals_int (zb_reader_acquire (r, &held, 1000), ZB_OK);
    for (i = 1; i < 20; i++) {
      fail_unless_equals_int (gst_harness_push (s.h,
              pattern_buffer (SMALL_SIZE, i)), GST_FLOW_OK);
      fail_unless_equals_int (zb_inspect (name, &info), ZB_OK);
      max_pos = MAX (max_pos, info.payload_write_pos);
      fail_unless_equals_int (zb_reader_acquire (r, &f, 1000), ZB_OK);
      fail_unless_equals_uint64 (f.sequence, i + 1);
      fail_unless_equals_int (zb_reader_release (r, &held), ZB_OK);
      held = f;
    }
    fail_unless_equals_int (zb_reader_release (r, &held), ZB_OK);
    fail_unless (max_pos >= 2 * T && max_pos <= 3 * T, "write_pos went "
        "up to %" G_GUINT64_FORMAT ", not to a window of two frames",
        max_pos);
    fail_unless_equals_uint64 (get_u64 (s.sink, "frames-reused"), 0);
    expect_no_error (s.bus);
    sink_finish (&s, r, name);
  }
}

GST_END_TEST;

/* A reader that holds the writer up behind an early wrap of compact
 * placement (a window of two frames): counted in compact-stalls, after
 * 2 ms of waiting (the write then times out, as any write into a ring
 * kept full) or at once with on-full=drop, which loses that frame. */
GST_START_TEST (test_compact_stall)
{
  const guint64 T = FRAME_TOTAL (SMALL_SIZE);
  guint drop;

  for (drop = 0; drop <= 1; drop++) {
    gchar *name = unique_name ("cstall");
    zb_reader *r = make_reader (name, 16 * T, 1024);
    Sink s = sink_new ("zerosink", NULL, "buffer-name", name,
        "write-timeout", 50, "compact-window", (gint64) (2 * T),
        "on-full", (gint) drop, NULL);
    zb_frame f1, f2;

    fail_unless (push_caps (&s, SMALL_CAPS));
    fail_unless_equals_int (gst_harness_push (s.h,
            pattern_buffer (SMALL_SIZE, 0)), GST_FLOW_OK);
    fail_unless_equals_int (zb_reader_acquire (r, &f1, 1000), ZB_OK);
    fail_unless_equals_int (gst_harness_push (s.h,
            pattern_buffer (SMALL_SIZE, 1)), GST_FLOW_OK);
    fail_unless_equals_int (zb_reader_acquire (r, &f2, 1000), ZB_OK);
    fail_unless_equals_int (zb_reader_release (r, &f1), ZB_OK);
    /* the third frame goes back to the start; the fourth needs the room
     * of the second, which the reader holds */
    fail_unless_equals_int (gst_harness_push (s.h,
            pattern_buffer (SMALL_SIZE, 2)), GST_FLOW_OK);
    fail_unless_equals_uint64 (get_u64 (s.sink, "compact-stalls"), 0);
    fail_unless_equals_int (gst_harness_push (s.h,
            pattern_buffer (SMALL_SIZE, 3)),
        drop ? GST_FLOW_OK : GST_FLOW_ERROR);
    fail_unless_equals_uint64 (get_u64 (s.sink, "compact-stalls"), 1);
    if (drop) {
      fail_unless_equals_uint64 (get_u64 (s.sink, "frames-dropped"), 1);
      expect_no_error (s.bus);
    } else
      expect_error (s.bus, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_NO_SPACE_LEFT, name);

    fail_unless_equals_int (zb_reader_release (r, &f2), ZB_OK);
    sink_finish (&s, r, name);
  }
}

GST_END_TEST;

GST_START_TEST (test_properties)
{
  GstElement *sink = gst_element_factory_make ("zerosink", "props");
  gchar *str;
  gint v;

  g_object_get (sink, "buffer-name", &str, NULL);
  fail_unless (str == NULL);
  g_object_get (sink, "connect-timeout", &v, NULL);
  fail_unless_equals_int (v, 5000);
  g_object_get (sink, "write-timeout", &v, NULL);
  fail_unless_equals_int (v, -1);
  {
    gint64 w;

    g_object_get (sink, "compact-window", &w, NULL);
    fail_unless_equals_int64 (w, -1);
  }
  gst_util_set_object_arg (G_OBJECT (sink), "on-full", "drop");
  g_object_get (sink, "on-full", &v, NULL);
  fail_unless_equals_int (v, 1);
  gst_util_set_object_arg (G_OBJECT (sink), "on-reader-lost", "reconnect");
  g_object_get (sink, "on-reader-lost", &v, NULL);
  fail_unless_equals_int (v, 1);
  fail_unless_equals_uint64 (get_u64 (sink, "frames-written"), 0);
  gst_object_unref (sink);

  sink = gst_element_factory_make ("zero-sink", NULL);
  fail_unless (sink != NULL);
  gst_object_unref (sink);
}

GST_END_TEST;

/* Upstream renegotiates on the same reader: it activates the new pool,
 * then deactivates the old one.  Flushing the old pool must not flush the
 * new one (flushing was once a flag of the shared connection). */
GST_START_TEST (test_renegotiate_same_conn)
{
  gchar *name = unique_name ("reneg");
  zb_reader *r = make_reader (name, 16 * FRAME_TOTAL (SMALL_SIZE), 1024);
  Sink s = sink_new ("zerosink", NULL, "buffer-name", name, NULL);
  GstBufferPool *a, *b;
  GstBuffer *buf;

  fail_unless (push_caps (&s, SMALL_CAPS));
  a = proposed_pool (&s, SMALL_CAPS);
  fail_unless_equals_int (gst_harness_push (s.h, pool_buffer (a, 0)),
      GST_FLOW_OK);
  read_frame (r, SMALL_SIZE, 0);
  b = proposed_pool (&s, SMALL_CAPS);
  fail_unless (gst_buffer_pool_set_active (a, FALSE));
  buf = pool_buffer (b, 1);
  fail_unless (is_ring_buffer (buf));
  /* ... and it is written in place. */
  fail_unless_equals_int (gst_harness_push (s.h, buf), GST_FLOW_OK);
  read_frame (r, SMALL_SIZE, 1);
  fail_unless_equals_uint64 (get_u64 (s.sink, "frames-copied"), 0);
  fail_unless (gst_buffer_pool_set_active (b, FALSE));
  gst_object_unref (a);
  gst_object_unref (b);
  expect_no_error (s.bus);
  sink_finish (&s, r, name);
}

GST_END_TEST;

static Suite *
zerosink_suite (void)
{
  Suite *s = suite_create ("zerosink");
  TCase *tc = tcase_create ("general");

  run_pid = (int) getpid ();
  suite_add_tcase (s, tc);
  tcase_add_unchecked_fixture (tc, NULL, remove_leftovers);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_meta_parse);
  tcase_add_test (tc, test_metadata_json);
  tcase_add_test (tc, test_metadata_block_size);
  tcase_add_test (tc, test_frames_in_order);
  tcase_add_test (tc, test_eos);
  tcase_add_test (tc, test_pool_zero_copy);
  tcase_add_test (tc, test_pool_out_of_order);
  tcase_add_test (tc, test_renegotiate_same_conn);
  tcase_add_test (tc, test_pipeline_videotestsrc);
  tcase_add_test (tc, test_pipeline_queue_integrity);
  tcase_add_test (tc, test_block_while_held);
  tcase_add_test (tc, test_on_full_drop);
  tcase_add_test (tc, test_write_timeout);
  tcase_add_test (tc, test_error_bad_name);
  tcase_add_test (tc, test_error_no_reader);
  tcase_add_test (tc, test_compact_window);
  tcase_add_test (tc, test_compact_stall);
  tcase_add_test (tc, test_error_reader_gone);
  tcase_add_test (tc, test_reconnect);
  tcase_add_test (tc, test_error_frame_too_large);
  tcase_add_test (tc, test_caps_change_refused);
  tcase_add_test (tc, test_earlier_writer_metadata);
  tcase_add_test (tc, test_stop_while_blocked_on_space);
  tcase_add_test (tc, test_stop_while_waiting_for_reader);
  tcase_add_test (tc, test_stop_while_pool_waits);
  return s;
}

ZB_GST_CHECK_MAIN (zerosink, "zerosink", "videotestsrc", "queue", "fakesink");
