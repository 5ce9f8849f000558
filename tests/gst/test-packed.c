/* Packed rows: raw video whose GStreamer rows are padded travels as the
 * rocket-welder SDK reads it (rows of exactly width x bytes per pixel,
 * planes back to back), through zerosink and back through zerosrc.
 * libzerobuffer plays the other side; the expected layouts are computed
 * here from GstVideoInfo, not with the plugin's own gstzeropack.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <unistd.h>

#include <gst/gst.h>
#include <gst/base/gstpushsrc.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <zerobuffer/zerobuffer.h>

#include "zbgsttest.h"

/* The two cases: 322 x 3 = 966-byte RGB rows that GStreamer pads
 * to 968, and I420 with an odd width and height. */
#define RGB_CAPS "video/x-raw,format=RGB,width=322,height=240,framerate=30/1"
#define I420_CAPS "video/x-raw,format=I420,width=321,height=241," \
  "framerate=30/1"
#define WAIT_MS 10000
#define RING (4 << 20)
#define PAD_BYTE 0xee

typedef struct
{
  const gchar *caps;
  gsize padded;                 /* GStreamer's default layout */
  gsize packed;                 /* what goes on the wire */
} Format;

static const Format formats[] = {
  {RGB_CAPS, 968 * 240, 966 * 240},
  /* Y 324 x 242 rows (GStreamer rounds the height up), U and V 164 x 121 */
  {I420_CAPS, 324 * 242 + 2 * 164 * 121, 321 * 241 + 2 * 161 * 121},
};

static gint run_pid;
static gint name_counter;

static gchar *
make_name (const gchar * tag)
{
  return g_strdup_printf ("zbpack-test-%d-%d-%d-%s", run_pid, (gint) getpid (),
      g_atomic_int_add (&name_counter, 1), tag);
}

static void
info_from_string (GstVideoInfo * info, const gchar * caps_str)
{
  GstCaps *caps = gst_caps_from_string (caps_str);

  fail_unless (gst_video_info_from_caps (info, caps));
  gst_caps_unref (caps);
}

/* ------------------------------------------------------------ layouts */

/* Plane p of RGB and I420 holds component p. */
static gsize
row_bytes (const GstVideoInfo * info, guint p)
{
  return (gsize) GST_VIDEO_INFO_COMP_WIDTH (info, p) *
      GST_VIDEO_INFO_COMP_PSTRIDE (info, p);
}

static guint
n_rows (const GstVideoInfo * info, guint p)
{
  return GST_VIDEO_INFO_COMP_HEIGHT (info, p);
}

/* Byte x of row y of plane p in frame i; (x >> 8) keeps rows longer than
 * 256 bytes from repeating. */
static guint8
px (guint i, guint p, guint y, gsize x)
{
  return (guint8) (i * 31 + p * 71 + y * 13 + x * 7 + (x >> 8) * 3);
}

static void
fill_frame (GstVideoFrame * frame, guint i)
{
  guint p, y;
  gsize x;

  for (p = 0; p < GST_VIDEO_FRAME_N_PLANES (frame); p++) {
    guint8 *d = GST_VIDEO_FRAME_PLANE_DATA (frame, p);
    gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, p);

    for (y = 0; y < n_rows (&frame->info, p); y++)
      for (x = 0; x < row_bytes (&frame->info, p); x++)
        d[(gsize) y * stride + x] = px (i, p, y, x);
  }
}

/* Every row of every plane, wherever @frame's strides put them. */
static gboolean
frame_rows_ok (GstVideoFrame * frame, guint i)
{
  guint p, y;
  gsize x;

  for (p = 0; p < GST_VIDEO_FRAME_N_PLANES (frame); p++) {
    const guint8 *d = GST_VIDEO_FRAME_PLANE_DATA (frame, p);
    gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, p);

    for (y = 0; y < n_rows (&frame->info, p); y++)
      for (x = 0; x < row_bytes (&frame->info, p); x++)
        if (d[(gsize) y * stride + x] != px (i, p, y, x)) {
          GST_ERROR ("frame %u plane %u row %u byte %" G_GSIZE_FORMAT
              " differs", i, p, y, x);
          return FALSE;
        }
  }
  return TRUE;
}

/* Rows back to back, planes back to back. */
static void
fill_packed (guint8 * data, const GstVideoInfo * info, guint i)
{
  guint p, y;
  gsize x;

  for (p = 0; p < GST_VIDEO_INFO_N_PLANES (info); p++)
    for (y = 0; y < n_rows (info, p); y++)
      for (x = 0; x < row_bytes (info, p); x++)
        *data++ = px (i, p, y, x);
}

static gboolean
packed_ok (const guint8 * data, gsize size, const GstVideoInfo * info,
    gsize packed, guint i)
{
  guint8 *expected;
  gboolean ok;

  if (size != packed)
    return FALSE;
  expected = g_malloc (packed);
  fill_packed (expected, info, i);
  ok = memcmp (data, expected, packed) == 0;
  g_free (expected);
  return ok;
}

/* Frame i in GStreamer's default layout, padding filled with PAD_BYTE. */
static GstBuffer *
default_buffer (const GstVideoInfo * info, guint i)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info->size, NULL);
  GstVideoFrame frame;

  gst_buffer_memset (buf, 0, PAD_BYTE, info->size);
  fail_unless (gst_video_frame_map (&frame, (GstVideoInfo *) info, buf,
          GST_MAP_WRITE));
  fill_frame (&frame, i);
  gst_video_frame_unmap (&frame);
  return buf;
}

/* Frame i with @extra bytes after every row, as its GstVideoMeta says. */
static GstBuffer *
strided_buffer (const GstVideoInfo * info, gsize extra, guint i)
{
  gsize offset[GST_VIDEO_MAX_PLANES] = { 0, };
  gint stride[GST_VIDEO_MAX_PLANES] = { 0, };
  GstVideoFrame frame;
  GstBuffer *buf;
  gsize total = 0;
  guint p;

  for (p = 0; p < GST_VIDEO_INFO_N_PLANES (info); p++) {
    offset[p] = total;
    stride[p] = (gint) (row_bytes (info, p) + extra);
    total += (gsize) stride[p] * n_rows (info, p);
  }
  buf = gst_buffer_new_allocate (NULL, total, NULL);
  gst_buffer_memset (buf, 0, PAD_BYTE, total);
  gst_buffer_add_video_meta_full (buf, GST_VIDEO_FRAME_FLAG_NONE,
      GST_VIDEO_INFO_FORMAT (info), GST_VIDEO_INFO_WIDTH (info),
      GST_VIDEO_INFO_HEIGHT (info), GST_VIDEO_INFO_N_PLANES (info), offset,
      stride);
  fail_unless (gst_video_frame_map (&frame, (GstVideoInfo *) info, buf,
          GST_MAP_WRITE));
  fill_frame (&frame, i);
  gst_video_frame_unmap (&frame);
  return buf;
}

/* Read through the buffer's video meta when it has one. */
static gboolean
buffer_rows_ok (GstBuffer * buf, const GstVideoInfo * info, guint i)
{
  GstVideoFrame frame;
  gboolean ok;

  if (!gst_video_frame_map (&frame, (GstVideoInfo *) info, buf, GST_MAP_READ))
    return FALSE;
  ok = frame_rows_ok (&frame, i);
  gst_video_frame_unmap (&frame);
  return ok;
}

/* @buf's video meta describes the packed layout. */
static void
check_packed_meta (GstBuffer * buf, const GstVideoInfo * info)
{
  GstVideoMeta *meta = gst_buffer_get_video_meta (buf);
  gsize offset = 0;
  guint p;

  fail_unless (meta != NULL, "no video meta");
  fail_unless_equals_int (meta->n_planes, GST_VIDEO_INFO_N_PLANES (info));
  for (p = 0; p < meta->n_planes; p++) {
    fail_unless_equals_int (meta->stride[p], row_bytes (info, p));
    fail_unless_equals_uint64 (meta->offset[p], offset);
    offset += row_bytes (info, p) * n_rows (info, p);
  }
}

static guint64
get_u64 (GstElement * e, const gchar * prop)
{
  guint64 v = 0;

  g_object_get (e, prop, &v, NULL);
  return v;
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

/* The layouts this file expects are GStreamer's: if they change, the
 * tests below test something else. */
GST_START_TEST (test_layouts)
{
  guint f;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstVideoInfo info;
    gsize packed = 0;
    guint p;

    info_from_string (&info, formats[f].caps);
    fail_unless_equals_uint64 (info.size, formats[f].padded);
    for (p = 0; p < GST_VIDEO_INFO_N_PLANES (&info); p++)
      packed += row_bytes (&info, p) * n_rows (&info, p);
    fail_unless_equals_uint64 (packed, formats[f].packed);
  }
  /* the numbers */
  fail_unless_equals_uint64 (formats[0].padded, 232320);
  fail_unless_equals_uint64 (formats[0].packed, 231840);
}

GST_END_TEST;

/* ------------------------------------------------------------ zerosink */

static zb_reader *
make_reader (const gchar * name)
{
  zb_reader_options opts = { 0, };
  zb_reader *r = NULL;

  opts.payload_size = RING;
  opts.metadata_size = 4096;
  fail_unless_equals_int (zb_reader_create (&r, name, &opts), ZB_OK);
  return r;
}

typedef struct
{
  GstHarness *h;
  GstElement *sink;
  GstBus *bus;
} Sink;

static Sink
sink_new (const gchar * name, gboolean packed_rows)
{
  Sink s;

  s.sink = gst_element_factory_make ("zerosink", NULL);
  fail_unless (s.sink != NULL);
  g_object_set (s.sink, "buffer-name", name, "packed-rows", packed_rows,
      NULL);
  s.bus = gst_bus_new ();
  gst_element_set_bus (s.sink, s.bus);
  s.h = gst_harness_new_with_element (s.sink, "sink", NULL);
  return s;
}

static void
sink_free (Sink * s)
{
  expect_no_error (s->bus);
  gst_element_set_state (s->sink, GST_STATE_NULL);
  gst_harness_teardown (s->h);
  gst_element_set_bus (s->sink, NULL);
  gst_object_unref (s->sink);
  gst_bus_set_flushing (s->bus, TRUE);
  gst_object_unref (s->bus);
}

/* The next frame: @size bytes, frame i packed (or, @padded, the default
 * layout of @expected_buf byte for byte). */
static void
read_frame (zb_reader * r, const GstVideoInfo * info, gsize size, guint i,
    GstBuffer * expected_buf)
{
  zb_frame f;

  fail_unless_equals_int (zb_reader_acquire (r, &f, WAIT_MS), ZB_OK);
  fail_unless_equals_uint64 (f.size, size);
  if (expected_buf)
    fail_unless (gst_buffer_memcmp (expected_buf, 0, f.data, f.size) == 0,
        "frame %u is not the buffer's bytes", i);
  else
    fail_unless (packed_ok (f.data, f.size, info, size, i),
        "frame %u is not packed frame %u", i, i);
  fail_unless_equals_int (zb_reader_release (r, &f), ZB_OK);
}

/* Buffers in GStreamer's layout, or with any stride a video meta gives,
 * are repacked straight into the ring: packed-size frames, row by row the
 * source's. */
GST_START_TEST (test_sink_repacks)
{
  guint f;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    gchar *name = make_name ("repack");
    zb_reader *r = make_reader (name);
    Sink s = sink_new (name, TRUE);
    GstVideoInfo info;
    guint i;

    info_from_string (&info, formats[f].caps);
    gst_harness_set_src_caps_str (s.h, formats[f].caps);
    for (i = 0; i < 4; i++) {
      fail_unless_equals_int (gst_harness_push (s.h, default_buffer (&info,
                  i)), GST_FLOW_OK);
      read_frame (r, &info, formats[f].packed, i, NULL);
    }
    for (i = 4; i < 6; i++) {
      fail_unless_equals_int (gst_harness_push (s.h, strided_buffer (&info,
                  i == 4 ? 5 : 64, i)), GST_FLOW_OK);
      read_frame (r, &info, formats[f].packed, i, NULL);
    }
    fail_unless_equals_uint64 (get_u64 (s.sink, "frames-written"), 6);
    fail_unless_equals_uint64 (get_u64 (s.sink, "frames-copied"), 6);
    fail_unless_equals_uint64 (get_u64 (s.sink, "bytes-written"),
        6 * formats[f].packed);

    sink_free (&s);
    zb_reader_close (r);
    zb_gst_assert_no_leftovers (name);
    g_free (name);
  }
}

GST_END_TEST;

/* packed-rows=false: the old behaviour, GStreamer's layout as it is. */
GST_START_TEST (test_sink_padded_rows)
{
  guint f;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    gchar *name = make_name ("padded");
    zb_reader *r = make_reader (name);
    Sink s = sink_new (name, FALSE);
    GstCaps *caps = gst_caps_from_string (formats[f].caps);
    GstQuery *query;
    GstBufferPool *pool = NULL;
    GstVideoInfo info;
    guint i, size = 0;
    gboolean packed_rows = TRUE;

    g_object_get (s.sink, "packed-rows", &packed_rows, NULL);
    fail_if (packed_rows);
    info_from_string (&info, formats[f].caps);
    gst_harness_set_src_caps_str (s.h, formats[f].caps);

    /* The pool of today, for the default layout, and no video meta. */
    query = gst_query_new_allocation (caps, TRUE);
    fail_unless (gst_pad_peer_query (s.h->srcpad, query));
    fail_unless (gst_query_get_n_allocation_pools (query) > 0);
    gst_query_parse_nth_allocation_pool (query, 0, &pool, &size, NULL, NULL);
    fail_unless_equals_int (size, formats[f].padded);
    fail_if (gst_query_find_allocation_meta (query, GST_VIDEO_META_API_TYPE,
            NULL));
    gst_object_unref (pool);
    gst_query_unref (query);

    for (i = 0; i < 3; i++) {
      GstBuffer *buf = default_buffer (&info, i);

      fail_unless_equals_int (gst_harness_push (s.h, gst_buffer_ref (buf)),
          GST_FLOW_OK);
      read_frame (r, &info, formats[f].padded, i, buf);
      gst_buffer_unref (buf);
    }
    fail_unless_equals_uint64 (get_u64 (s.sink, "bytes-written"),
        3 * formats[f].padded);

    gst_caps_unref (caps);
    sink_free (&s);
    zb_reader_close (r);
    zb_gst_assert_no_leftovers (name);
    g_free (name);
  }
}

GST_END_TEST;

static gboolean
is_ring_buffer (GstBuffer * buf)
{
  return gst_buffer_n_memory (buf) == 1
      && gst_memory_is_type (gst_buffer_peek_memory (buf, 0), "ZeroBufferRing");
}

/* The pool zerosink proposes for padded rows: buffers are packed frames
 * in the ring with a video meta, for an upstream that asks for the video
 * meta option.  A config without it is refused in a way that makes the
 * usual fallback (validate the config handed back, else use a pool of
 * one's own) take the caller's own pool. */
GST_START_TEST (test_sink_pool)
{
  guint f;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    gchar *name = make_name ("pool");
    zb_reader *r = make_reader (name);
    Sink s = sink_new (name, TRUE);
    GstCaps *caps = gst_caps_from_string (formats[f].caps);
    GstBufferPool *pool = NULL;
    GstStructure *config;
    GstQuery *query;
    GstVideoInfo info;
    guint i, size = 0, got = 0;

    info_from_string (&info, formats[f].caps);
    gst_harness_set_src_caps_str (s.h, formats[f].caps);

    query = gst_query_new_allocation (caps, TRUE);
    fail_unless (gst_pad_peer_query (s.h->srcpad, query));
    fail_unless (gst_query_find_allocation_meta (query,
            GST_VIDEO_META_API_TYPE, NULL), "video meta not advertised");
    fail_unless (gst_query_get_n_allocation_pools (query) > 0);
    gst_query_parse_nth_allocation_pool (query, 0, &pool, &size, NULL, NULL);
    fail_unless (pool != NULL);
    fail_unless_equals_int (size, formats[f].padded);
    gst_query_unref (query);
    fail_unless (gst_buffer_pool_has_option (pool,
            GST_BUFFER_POOL_OPTION_VIDEO_META));

    /* An upstream that knows nothing of video meta. */
    config = gst_buffer_pool_get_config (pool);
    fail_if (gst_buffer_pool_config_has_option (config,
            GST_BUFFER_POOL_OPTION_VIDEO_META));
    gst_buffer_pool_config_set_params (config, caps, size, 0, 0);
    fail_if (gst_buffer_pool_set_config (pool, config));
    config = gst_buffer_pool_get_config (pool);
    fail_if (gst_buffer_pool_config_validate_params (config, caps, size, 0,
            0));
    fail_unless (gst_buffer_pool_config_get_params (config, NULL, &got, NULL,
            NULL));
    fail_unless_equals_int (got, formats[f].packed);
    gst_structure_free (config);

    /* One that does. */
    config = gst_buffer_pool_get_config (pool);
    gst_buffer_pool_config_set_params (config, caps, size, 0, 0);
    gst_buffer_pool_config_add_option (config,
        GST_BUFFER_POOL_OPTION_VIDEO_META);
    fail_unless (gst_buffer_pool_set_config (pool, config));

    /* A refusal after that leaves the pool unusable, not half right. */
    config = gst_buffer_pool_get_config (pool);
    gst_structure_remove_field (config, "options");
    fail_if (gst_buffer_pool_config_has_option (config,
            GST_BUFFER_POOL_OPTION_VIDEO_META));
    fail_if (gst_buffer_pool_set_config (pool, config));
    fail_if (gst_buffer_pool_set_active (pool, TRUE));
    config = gst_buffer_pool_get_config (pool);
    gst_buffer_pool_config_add_option (config,
        GST_BUFFER_POOL_OPTION_VIDEO_META);
    fail_unless (gst_buffer_pool_set_config (pool, config));
    fail_unless (gst_buffer_pool_set_active (pool, TRUE));

    for (i = 0; i < 5; i++) {
      GstBuffer *buf = NULL;
      GstVideoFrame frame;

      fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buf,
              NULL), GST_FLOW_OK);
      fail_unless_equals_uint64 (gst_buffer_get_size (buf),
          formats[f].packed);
      fail_unless (is_ring_buffer (buf), "buffer %u is not in the ring", i);
      check_packed_meta (buf, &info);
      fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_WRITE));
      fill_frame (&frame, i);
      gst_video_frame_unmap (&frame);
      fail_unless_equals_int (gst_harness_push (s.h, buf), GST_FLOW_OK);
      read_frame (r, &info, formats[f].packed, i, NULL);
    }
    fail_unless_equals_uint64 (get_u64 (s.sink, "frames-written"), 5);
    fail_unless_equals_uint64 (get_u64 (s.sink, "frames-copied"), 0);

    fail_unless (gst_buffer_pool_set_active (pool, FALSE));
    gst_object_unref (pool);
    gst_caps_unref (caps);
    sink_free (&s);
    zb_reader_close (r);
    zb_gst_assert_no_leftovers (name);
    g_free (name);
  }
}

GST_END_TEST;

/* A reader thread keeping a copy of every frame. */
typedef struct
{
  zb_reader *r;
  GPtrArray *frames;            /* GBytes */
  gint result;
} Collector;

static gpointer
collector_func (gpointer data)
{
  Collector *c = data;
  zb_frame f;

  for (;;) {
    c->result = zb_reader_acquire (c->r, &f, 20000);
    if (c->result != ZB_OK)
      break;
    g_ptr_array_add (c->frames, g_bytes_new (f.data, f.size));
    zb_reader_release (c->r, &f);
  }
  return NULL;
}

/* Runs @desc to EOS; the pipeline's zerosink is called "sink".  Returns
 * the frames the reader of @name got. */
static GPtrArray *
run_into_reader (const gchar * name, const gchar * desc,
    guint64 * frames_copied)
{
  Collector c = { make_reader (name), NULL, 0 };
  GstElement *pipeline, *sink;
  GError *err = NULL;
  GstMessage *msg;
  GThread *thread;

  c.frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  pipeline = gst_parse_launch (desc, &err);
  fail_unless (pipeline != NULL && err == NULL, "%s: %s", desc,
      err ? err->message : "no pipeline");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  thread = g_thread_new ("reader", collector_func, &c);
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      30 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no EOS");
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (msg, &err, NULL);
    fail ("%s: %s", desc, err->message);
  }
  gst_message_unref (msg);
  g_thread_join (thread);
  fail_unless_equals_int (c.result, ZB_EOS);
  *frames_copied = get_u64 (sink, "frames-copied");

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  zb_reader_close (c.r);
  zb_gst_assert_no_leftovers (name);
  return c.frames;
}

static void
reference_handoff (GstElement * fakesink, GstBuffer * buf, GstPad * pad,
    gpointer data)
{
  GPtrArray *frames = data;
  GstCaps *caps = gst_pad_get_current_caps (pad);
  GstVideoInfo info;
  GstVideoFrame frame;
  guint8 *packed, *d;
  gsize total = 0;
  guint p, y;

  fail_unless (gst_video_info_from_caps (&info, caps));
  gst_caps_unref (caps);
  for (p = 0; p < GST_VIDEO_INFO_N_PLANES (&info); p++)
    total += row_bytes (&info, p) * n_rows (&info, p);
  d = packed = g_malloc (total);
  fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_READ));
  for (p = 0; p < GST_VIDEO_FRAME_N_PLANES (&frame); p++)
    for (y = 0; y < n_rows (&info, p); y++) {
      memcpy (d, (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, p) +
          (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, p),
          row_bytes (&info, p));
      d += row_bytes (&info, p);
    }
  gst_video_frame_unmap (&frame);
  g_ptr_array_add (frames, g_bytes_new_take (packed, total));
}

/* The frames @src makes, each with its rows packed. */
static GPtrArray *
reference_frames (const gchar * src)
{
  GPtrArray *frames =
      g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  gchar *desc = g_strdup_printf ("%s ! fakesink name=ref "
      "signal-handoffs=true sync=false", src);
  GstElement *pipeline, *ref;
  GError *err = NULL;
  GstMessage *msg;

  pipeline = gst_parse_launch (desc, &err);
  fail_unless (pipeline != NULL && err == NULL);
  ref = gst_bin_get_by_name (GST_BIN (pipeline), "ref");
  g_signal_connect (ref, "handoff", G_CALLBACK (reference_handoff), frames);
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      30 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (ref);
  gst_object_unref (pipeline);
  g_free (desc);
  return frames;
}

/* videotestsrc asks for the video meta option: it draws packed rows
 * straight into the ring, and every frame is the one it would make in
 * its own buffers, row by row. */
GST_START_TEST (test_sink_videotestsrc)
{
  guint f;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    gchar *name = make_name ("vts");
    gchar *src = g_strdup_printf ("videotestsrc num-buffers=20 pattern=ball "
        "animation-mode=frames ! %s", formats[f].caps);
    gchar *desc = g_strdup_printf ("%s ! zerosink name=sink buffer-name=%s "
        "sync=false", src, name);
    GPtrArray *ref = reference_frames (src);
    guint64 copied = G_MAXUINT64;
    GPtrArray *got = run_into_reader (name, desc, &copied);
    guint i;

    fail_unless_equals_int (ref->len, 20);
    fail_unless_equals_int (got->len, 20);
    for (i = 0; i < got->len; i++) {
      fail_unless_equals_uint64 (g_bytes_get_size (got->pdata[i]),
          formats[f].packed);
      fail_unless (g_bytes_equal (got->pdata[i], ref->pdata[i]),
          "%s: frame %u differs from videotestsrc's", formats[f].caps, i);
    }
    fail_unless_equals_uint64 (copied, 0);

    g_ptr_array_unref (ref);
    g_ptr_array_unref (got);
    g_free (desc);
    g_free (src);
    g_free (name);
  }
}

GST_END_TEST;

/* ------------------------------------------------ a meta-unaware source */

/* A source as many are: GstBaseSrc's default allocation (a pool from the
 * query, its config set without the video meta option, the documented
 * fallback when it is refused) and frames written at GStreamer's default
 * strides with plain gst_buffer_map(), ignoring any video meta.  Frame i
 * is px (i, ...); a buffer too small for the default layout is counted. */
typedef struct
{
  GstPushSrc parent;
  GstVideoInfo info;
  guint n;
  gint small;
} ZbTestRawSrc;

typedef struct
{
  GstPushSrcClass parent_class;
} ZbTestRawSrcClass;

static GType zb_test_raw_src_get_type (void);
G_DEFINE_TYPE (ZbTestRawSrc, zb_test_raw_src, GST_TYPE_PUSH_SRC);

static GstStaticPadTemplate raw_src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-raw, format=(string){ RGB, I420 }, "
        "width=(int)[1, 4096], height=(int)[1, 4096], "
        "framerate=(fraction)30/1"));

static gboolean
zb_test_raw_src_set_caps (GstBaseSrc * bsrc, GstCaps * caps)
{
  ZbTestRawSrc *self = (ZbTestRawSrc *) bsrc;

  if (!gst_video_info_from_caps (&self->info, caps))
    return FALSE;
  gst_base_src_set_blocksize (bsrc, self->info.size);
  return TRUE;
}

static GstFlowReturn
zb_test_raw_src_fill (GstPushSrc * psrc, GstBuffer * buf)
{
  ZbTestRawSrc *self = (ZbTestRawSrc *) psrc;
  const GstVideoInfo *info = &self->info;
  GstMapInfo map;
  guint p, y;
  gsize x;

  if (gst_buffer_get_size (buf) < info->size) {
    g_atomic_int_inc (&self->small);
    return GST_FLOW_ERROR;
  }
  if (!gst_buffer_map (buf, &map, GST_MAP_WRITE))
    return GST_FLOW_ERROR;
  memset (map.data, PAD_BYTE, map.size);
  for (p = 0; p < GST_VIDEO_INFO_N_PLANES (info); p++)
    for (y = 0; y < n_rows (info, p); y++)
      for (x = 0; x < row_bytes (info, p); x++)
        map.data[info->offset[p] + (gsize) y * info->stride[p] + x] =
            px (self->n, p, y, x);
  gst_buffer_unmap (buf, &map);
  self->n++;
  return GST_FLOW_OK;
}

static void
zb_test_raw_src_class_init (ZbTestRawSrcClass * klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gst_element_class_add_static_pad_template (element_class, &raw_src_template);
  gst_element_class_set_static_metadata (element_class, "zbtestrawsrc",
      "Source/Video", "Raw video written ignoring video meta", "tests");
  GST_BASE_SRC_CLASS (klass)->set_caps = zb_test_raw_src_set_caps;
  GST_PUSH_SRC_CLASS (klass)->fill = zb_test_raw_src_fill;
}

static void
zb_test_raw_src_init (ZbTestRawSrc * self)
{
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}

/* Such a source never gets the packed pool: GstBaseSrc falls back to a
 * pool of its own and zerosink repacks every frame. */
GST_START_TEST (test_sink_meta_unaware_upstream)
{
  guint f;

  fail_unless (gst_element_register (NULL, "zbtestrawsrc", GST_RANK_NONE,
          zb_test_raw_src_get_type ()));
  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    gchar *name = make_name ("unaware");
    gchar *desc = g_strdup_printf ("zbtestrawsrc name=src num-buffers=8 ! "
        "%s ! zerosink name=sink buffer-name=%s sync=false", formats[f].caps,
        name);
    guint64 copied = 0;
    GPtrArray *got = run_into_reader (name, desc, &copied);
    GstVideoInfo info;
    guint i;

    info_from_string (&info, formats[f].caps);
    fail_unless_equals_int (got->len, 8);
    for (i = 0; i < got->len; i++) {
      gsize size;
      const guint8 *data = g_bytes_get_data (got->pdata[i], &size);

      fail_unless (packed_ok (data, size, &info, formats[f].packed, i),
          "%s: frame %u is not packed frame %u", formats[f].caps, i, i);
    }
    fail_unless_equals_uint64 (copied, 8);

    g_ptr_array_unref (got);
    g_free (desc);
    g_free (name);
  }
}

GST_END_TEST;

/* ------------------------------------------------------------ zerosrc */

typedef struct
{
  gchar *name;
  gchar *meta;
  GPtrArray *frames;            /* GBytes */
  gint rc;
  GThread *thread;
} Writer;

static gpointer
writer_func (gpointer data)
{
  Writer *wj = data;
  zb_writer *w = NULL;
  guint i;
  int rc;

  rc = zb_writer_open (&w, wj->name, 10000);
  if (rc == ZB_OK && wj->meta)
    rc = zb_writer_set_metadata (w, wj->meta, strlen (wj->meta));
  for (i = 0; rc == ZB_OK && i < wj->frames->len; i++) {
    gsize size;
    const guint8 *d = g_bytes_get_data (wj->frames->pdata[i], &size);

    rc = zb_writer_write (w, d, size, 30000);
  }
  if (w)
    zb_writer_close (w);
  wj->rc = rc;
  return NULL;
}

/* Writes @frames (GBytes, taken) with @meta as the metadata. */
static Writer *
writer_start (const gchar * name, const gchar * meta, GPtrArray * frames)
{
  Writer *wj = g_new0 (Writer, 1);

  wj->name = g_strdup (name);
  wj->meta = g_strdup (meta);
  wj->frames = frames;
  wj->thread = g_thread_new ("writer", writer_func, wj);
  return wj;
}

static void
writer_join (Writer * wj)
{
  g_thread_join (wj->thread);
  fail_unless_equals_int (wj->rc, ZB_OK);
  g_ptr_array_unref (wj->frames);
  g_free (wj->name);
  g_free (wj->meta);
  g_free (wj);
}

static GPtrArray *
packed_frames (const GstVideoInfo * info, gsize packed, guint n)
{
  GPtrArray *frames =
      g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  guint i;

  for (i = 0; i < n; i++) {
    guint8 *d = g_malloc (packed);

    fill_packed (d, info, i);
    g_ptr_array_add (frames, g_bytes_new_take (d, packed));
  }
  return frames;
}

static GstHarness *
src_new (const gchar * name, const gchar * payload, gboolean video_meta,
    GstBus ** bus)
{
  GstHarness *h = gst_harness_new ("zerosrc");

  g_object_set (h->element, "buffer-name", name, "payload-size", payload,
      "metadata-size", "4K", NULL);
  if (video_meta)
    gst_harness_add_propose_allocation_meta (h, GST_VIDEO_META_API_TYPE,
        NULL);
  *bus = gst_bus_new ();
  gst_element_set_bus (h->element, *bus);
  return h;
}

static void
src_free (GstHarness * h, GstBus * bus, const gchar * name)
{
  expect_no_error (bus);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  zb_gst_assert_no_leftovers (name);
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

/* A downstream that reads only GStreamer's layout gets it: every packed
 * frame is laid out again (and counted as copied), row by row the
 * writer's.  The caps come from the metadata or the caps property. */
GST_START_TEST (test_src_unpacks)
{
  guint f, how;

  for (f = 0; f < G_N_ELEMENTS (formats); f++)
    for (how = 0; how < 2; how++) {
      gchar *name = make_name ("unpack");
      GstBus *bus;
      GstHarness *h = src_new (name, "4M", FALSE, &bus);
      GstVideoInfo info;
      Writer *wj;
      guint i;

      info_from_string (&info, formats[f].caps);
      if (how == 1) {
        GstCaps *caps = gst_caps_from_string (formats[f].caps);

        g_object_set (h->element, "caps", caps, NULL);
        gst_caps_unref (caps);
      }
      gst_harness_play (h);
      wj = writer_start (name, how == 0 ? formats[f].caps : NULL,
          packed_frames (&info, formats[f].packed, 6));
      for (i = 0; i < 6; i++) {
        GstBuffer *buf = gst_harness_pull (h);
        GstVideoMeta *meta;

        fail_unless (buf != NULL);
        fail_unless_equals_uint64 (gst_buffer_get_size (buf),
            formats[f].padded);
        meta = gst_buffer_get_video_meta (buf);
        fail_unless (meta == NULL || meta->stride[0] == info.stride[0]);
        fail_unless (buffer_rows_ok (buf, &info, i), "%s: frame %u differs",
            formats[f].caps, i);
        fail_unless_equals_uint64 (GST_BUFFER_OFFSET (buf), i);
        gst_buffer_unref (buf);
      }
      expect_eos (h);
      writer_join (wj);
      fail_unless_equals_uint64 (get_u64 (h->element, "frames-received"), 6);
      fail_unless_equals_uint64 (get_u64 (h->element, "frames-copied"), 6);
      fail_unless_equals_uint64 (get_u64 (h->element, "bytes-received"),
          6 * formats[f].packed);
      src_free (h, bus, name);
      g_free (name);
    }
}

GST_END_TEST;

/* A downstream that reads GstVideoMeta gets the frames lent, straight
 * from the ring, with a meta describing the packed rows. */
GST_START_TEST (test_src_lends_with_meta)
{
  guint f;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    gchar *name = make_name ("lend");
    GstBus *bus;
    GstHarness *h = src_new (name, "4M", TRUE, &bus);
    GstVideoInfo info;
    Writer *wj;
    guint i;

    info_from_string (&info, formats[f].caps);
    gst_harness_play (h);
    wj = writer_start (name, formats[f].caps, packed_frames (&info,
            formats[f].packed, 6));
    for (i = 0; i < 6; i++) {
      GstBuffer *buf = gst_harness_pull (h);

      fail_unless (buf != NULL);
      fail_unless_equals_uint64 (gst_buffer_get_size (buf),
          formats[f].packed);
      check_packed_meta (buf, &info);
      fail_unless (buffer_rows_ok (buf, &info, i), "%s: frame %u differs",
          formats[f].caps, i);
      gst_buffer_unref (buf);
    }
    expect_eos (h);
    writer_join (wj);
    fail_unless_equals_uint64 (get_u64 (h->element, "frames-received"), 6);
    fail_unless_equals_uint64 (get_u64 (h->element, "frames-copied"), 0);
    src_free (h, bus, name);
    g_free (name);
  }
}

GST_END_TEST;

/* A writer that sends GStreamer's layout (zerosink packed-rows=false, an
 * older zerosink) is read as before, lent as it is; a frame of any other
 * size too. */
GST_START_TEST (test_src_default_layout_frames)
{
  guint f, with_meta;

  for (f = 0; f < G_N_ELEMENTS (formats); f++)
    for (with_meta = 0; with_meta < 2; with_meta++) {
      gchar *name = make_name ("default");
      GstBus *bus;
      GstHarness *h = src_new (name, "4M", with_meta, &bus);
      GPtrArray *frames =
          g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      GstVideoInfo info;
      GstBuffer *buf;
      Writer *wj;
      guint i;

      info_from_string (&info, formats[f].caps);
      for (i = 0; i < 4; i++) {
        GstBuffer *b = default_buffer (&info, i);
        GstMapInfo map;

        gst_buffer_map (b, &map, GST_MAP_READ);
        g_ptr_array_add (frames, g_bytes_new (map.data, map.size));
        gst_buffer_unmap (b, &map);
        gst_buffer_unref (b);
      }
      g_ptr_array_add (frames, g_bytes_new_static ("odd", 3));
      gst_harness_play (h);
      wj = writer_start (name, formats[f].caps, frames);
      for (i = 0; i < 4; i++) {
        buf = gst_harness_pull (h);
        fail_unless (buf != NULL);
        fail_unless_equals_uint64 (gst_buffer_get_size (buf),
            formats[f].padded);
        fail_unless (gst_buffer_get_video_meta (buf) == NULL);
        fail_unless (buffer_rows_ok (buf, &info, i));
        gst_buffer_unref (buf);
      }
      buf = gst_harness_pull (h);
      fail_unless (buf != NULL);
      fail_unless_equals_uint64 (gst_buffer_get_size (buf), 3);
      fail_unless (gst_buffer_get_video_meta (buf) == NULL);
      gst_buffer_unref (buf);
      expect_eos (h);
      writer_join (wj);
      fail_unless_equals_uint64 (get_u64 (h->element, "frames-copied"), 0);
      src_free (h, bus, name);
      g_free (name);
    }
}

GST_END_TEST;

/* Lent packed frames held downstream are evacuated like any other: the
 * buffer keeps its meta and its rows. */
GST_START_TEST (test_src_evacuates_packed)
{
  const Format *fmt = &formats[0];
  const guint n = 12;           /* three rings' worth */
  gchar *name = make_name ("evac");
  GstBus *bus;
  GstHarness *h = src_new (name, "1M", TRUE, &bus);
  GstBuffer *held[12];
  GstVideoInfo info;
  guint64 evacuated;
  Writer *wj;
  guint i;

  info_from_string (&info, fmt->caps);
  gst_harness_set_blocking_push_mode (h);
  gst_harness_play (h);
  wj = writer_start (name, fmt->caps, packed_frames (&info, fmt->packed, n));
  for (i = 0; i < n; i++) {
    held[i] = gst_harness_pull (h);
    fail_unless (held[i] != NULL);
  }
  expect_eos (h);
  writer_join (wj);

  evacuated = get_u64 (h->element, "frames-evacuated");
  fail_unless (evacuated >= n - 4, "only %" G_GUINT64_FORMAT " evacuated",
      evacuated);
  for (i = 0; i < n; i++) {
    fail_unless_equals_uint64 (gst_buffer_get_size (held[i]), fmt->packed);
    check_packed_meta (held[i], &info);
    fail_unless (buffer_rows_ok (held[i], &info, i), "frame %u differs", i);
    gst_buffer_unref (held[i]);
  }
  src_free (h, bus, name);
  g_free (name);
}

GST_END_TEST;

static Suite *
packed_suite (void)
{
  Suite *s = suite_create ("packed");
  TCase *tc = tcase_create ("general");

  run_pid = (gint) getpid ();
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_layouts);
  tcase_add_test (tc, test_sink_repacks);
  tcase_add_test (tc, test_sink_padded_rows);
  tcase_add_test (tc, test_sink_pool);
  tcase_add_test (tc, test_sink_videotestsrc);
  tcase_add_test (tc, test_sink_meta_unaware_upstream);
  tcase_add_test (tc, test_src_unpacks);
  tcase_add_test (tc, test_src_lends_with_meta);
  tcase_add_test (tc, test_src_default_layout_frames);
  tcase_add_test (tc, test_src_evacuates_packed);
  return s;
}

ZB_GST_CHECK_MAIN (packed, "zerosink", "zerosrc", "videotestsrc", "fakesink");
