/* zerofilter element tests: a duplex server from libzerobuffer runs in a
 * thread of the test and answers the element's requests.
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
#include <gst/video/video.h>
#include <zerobuffer/zerobuffer.h>

#include "gstzeropack.h"
#include "zbgsttest.h"

/* RGB 33x5: rows of 99 bytes, which GStreamer pads to 100. */
#define ODD_CAPS "video/x-raw,format=RGB,width=33,height=5,framerate=30/1"
#define ODD_ROW 99
#define ODD_STRIDE 100
#define ODD_H 5
/* RGB 16x8: rows of 48 bytes, the default layout is the packed one. */
#define SMALL_CAPS "video/x-raw,format=RGB,width=16,height=8,framerate=30/1"
#define SMALL_SIZE (16 * 8 * 3)

static guint name_counter;
static int run_pid;

static gchar *
unique_name (const gchar * what)
{
  return g_strdup_printf ("zftest-%s-%d-%d-%u", what, run_pid,
      (int) getpid (), name_counter++);
}

/* Runs in the runner after the tests: a failed test exits without
 * closing its channel.  Only this runner's names are touched. */
static void
remove_leftovers (void)
{
  const gchar *dirs[] = { "/dev/shm", ZB_LOCK_DIR };
  gchar *tag = g_strdup_printf ("zftest-");
  gchar *mine = g_strdup_printf ("-%d-", run_pid);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (dirs); i++) {
    GDir *dir = g_dir_open (dirs[i], 0, NULL);
    const gchar *entry;

    while (dir && (entry = g_dir_read_name (dir))) {
      gchar *path;

      if (strstr (entry, tag) == NULL || strstr (entry, mine) == NULL)
        continue;
      path = g_build_filename (dirs[i], entry, NULL);
      GST_WARNING ("removing leftover %s", path);
      g_unlink (path);
      g_free (path);
    }
    if (dir)
      g_dir_close (dir);
  }
  g_free (tag);
  g_free (mine);
}

/* ------------------------------------------------------------ server */

typedef enum
{
  H_INVERT,                     /* 255 - b */
  H_SILENT,                     /* takes requests, never answers */
  H_HALF,                       /* answers with half the bytes */
} Handler;

typedef struct
{
  gchar *channel;
  zb_duplex_server *s;
  Handler handler;
  guint delay_first_ms;         /* before answering request 1 */
  guint delay_ms;               /* before every answer */
  guint close_after;            /* end the session after this many (0 =
                                 * never) */
  GThread *thread;
  gint stop;                    /* atomic */
  gint handled;                 /* atomic: requests answered */
  gint max_queued;              /* atomic: most requests seen waiting */
  GMutex lock;
  gchar *metadata;              /* as read after attaching */
  int end_rc;
  gint done;                    /* atomic: the thread ended */
} Server;

static void
server_sleep (Server * x, guint ms)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * 1000;

  while (!g_atomic_int_get (&x->stop) && g_get_monotonic_time () < until)
    g_usleep (1000);
}

static gpointer
server_run (gpointer data)
{
  Server *x = data;
  zb_reader *r;
  zb_writer *w;
  const void *meta;
  size_t meta_len;
  int rc;

  do {
    rc = zb_duplex_server_wait_client (x->s, 100);
  } while (rc == ZB_ETIMEDOUT && !g_atomic_int_get (&x->stop));
  if (rc != ZB_OK)
    goto done;
  rc = zb_duplex_server_attach (x->s, 5000);
  if (rc != ZB_OK)
    goto done;
  r = zb_duplex_server_request_reader (x->s);
  w = zb_duplex_server_response_writer (x->s);
  if (zb_reader_get_metadata (r, &meta, &meta_len) == ZB_OK) {
    g_mutex_lock (&x->lock);
    x->metadata = g_strndup (meta, meta_len);
    g_mutex_unlock (&x->lock);
  }

  for (;;) {
    zb_frame f;
    guint8 *out;
    gsize i, n;

    if (g_atomic_int_get (&x->stop)) {
      rc = ZB_ECANCELED;
      break;
    }
    rc = zb_reader_acquire (r, &f, 100);
    if (rc == ZB_ETIMEDOUT)
      continue;
    if (rc != ZB_OK)
      break;
    {
      /* Requests written and not answered yet, this one included. */
      gchar *req = g_strconcat (x->channel, "_request", NULL);
      zb_info info;

      if (zb_inspect (req, &info) == ZB_OK) {
        gint queued = (gint) (info.payload_written_count -
            (guint64) g_atomic_int_get (&x->handled));

        if (queued > g_atomic_int_get (&x->max_queued))
          g_atomic_int_set (&x->max_queued, queued);
      }
      g_free (req);
    }
    if (x->handler == H_SILENT) {
      /* Hold it: the client waits for an answer that never comes. */
      server_sleep (x, G_MAXINT);
      zb_reader_release (r, &f);
      continue;
    }
    if (g_atomic_int_get (&x->handled) == 0)
      server_sleep (x, x->delay_first_ms);
    server_sleep (x, x->delay_ms);
    n = x->handler == H_HALF ? MAX (f.size / 2, 1) : f.size;
    out = g_malloc (n);
    for (i = 0; i < n; i++)
      out[i] = 255 - ((const guint8 *) f.data)[i];
    zb_reader_release (r, &f);
    rc = zb_writer_write (w, out, n, 5000);
    g_free (out);
    if (rc != ZB_OK)
      break;
    if ((guint) g_atomic_int_add (&x->handled, 1) + 1 == x->close_after) {
      rc = ZB_OK;
      break;
    }
  }
done:
  x->end_rc = rc;
  g_atomic_int_set (&x->done, 1);
  return NULL;
}

static Server *
server_start (const gchar * channel, Handler handler, guint64 payload)
{
  Server *x = g_new0 (Server, 1);
  zb_reader_options o = { 0, };

  o.metadata_size = 4096;
  o.payload_size = payload ? payload : 1 << 20;
  x->channel = g_strdup (channel);
  x->handler = handler;
  g_mutex_init (&x->lock);
  fail_unless_equals_int (zb_duplex_server_create (&x->s, channel, &o),
      ZB_OK);
  return x;
}

static void
server_run_thread (Server * x)
{
  x->thread = g_thread_new ("server", server_run, x);
}

/* End the session: the server detaches from NAME_response and removes
 * NAME_request, as a server that stops does. */
static void
server_stop (Server * x)
{
  if (x->thread) {
    g_atomic_int_set (&x->stop, 1);
    zb_duplex_server_interrupt (x->s, 1);
    g_thread_join (x->thread);
    x->thread = NULL;
  }
  zb_duplex_server_close (x->s);
  x->s = NULL;
}

/* The session ended on its own within a few seconds. */
static void
server_wait_end (Server * x)
{
  gint64 until = g_get_monotonic_time () + ZB_BOUND_MS (5000) * 1000;

  while (!g_atomic_int_get (&x->done) && g_get_monotonic_time () < until)
    g_usleep (1000);
  fail_unless (g_atomic_int_get (&x->done), "the server did not see the "
      "client go");
}

static void
server_free (Server * x)
{
  if (x->s || x->thread)
    server_stop (x);
  g_free (x->metadata);
  g_free (x->channel);
  g_mutex_clear (&x->lock);
  g_free (x);
}

static void
assert_channel_gone (const gchar * channel)
{
  gchar *req = g_strconcat (channel, "_request", NULL);
  gchar *resp = g_strconcat (channel, "_response", NULL);

  zb_gst_assert_no_leftovers (req);
  zb_gst_assert_no_leftovers (resp);
  g_free (req);
  g_free (resp);
}

/* ------------------------------------------------------------ element */

typedef struct
{
  GstHarness *h;
  GstElement *filter;
  GstBus *bus;
} Filter;

static Filter
filter_new (const gchar * channel, const gchar * first_prop, ...)
{
  Filter f;
  va_list args;

  f.filter = gst_element_factory_make ("zerofilter", NULL);
  fail_unless (f.filter != NULL);
  g_object_set (f.filter, "channel-name", channel, NULL);
  if (first_prop) {
    va_start (args, first_prop);
    g_object_set_valist (G_OBJECT (f.filter), first_prop, args);
    va_end (args);
  }
  f.bus = gst_bus_new ();
  gst_element_set_bus (f.filter, f.bus);
  f.h = gst_harness_new_with_element (f.filter, "sink", "src");
  return f;
}

static void
filter_free (Filter * f)
{
  gst_harness_teardown (f->h);
  gst_bus_set_flushing (f->bus, TRUE);
  gst_object_unref (f->bus);
}

/* The next error on the element's bus, within a few seconds; its text
 * and debug string joined. */
static gchar *
filter_error (Filter * f, gint64 wait_ms)
{
  GstMessage *msg = gst_bus_timed_pop_filtered (f->bus,
      wait_ms * GST_MSECOND, GST_MESSAGE_ERROR);
  GError *err = NULL;
  gchar *debug = NULL, *text;

  fail_unless (msg != NULL, "no error posted");
  gst_message_parse_error (msg, &err, &debug);
  text = g_strdup_printf ("%s | %s", err->message, debug ? debug : "");
  g_error_free (err);
  g_free (debug);
  gst_message_unref (msg);
  return text;
}

static guint64
counter (Filter * f, const gchar * name)
{
  guint64 v = 0;

  g_object_get (f->filter, name, &v, NULL);
  return v;
}

/* A frame of @caps in GStreamer's default layout whose row bytes depend on
 * @i, and whose padding is 0xEE. */
static GstBuffer *
odd_frame (guint i)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, ODD_STRIDE * ODD_H, NULL);
  GstMapInfo info;
  guint x, y;

  fail_unless (gst_buffer_map (buf, &info, GST_MAP_WRITE));
  memset (info.data, 0xEE, info.size);
  for (y = 0; y < ODD_H; y++)
    for (x = 0; x < ODD_ROW; x++)
      info.data[y * ODD_STRIDE + x] = (guint8) (i * 7 + y * 31 + x);
  gst_buffer_unmap (buf, &info);
  GST_BUFFER_PTS (buf) = i * GST_SECOND / 30;
  GST_BUFFER_DTS (buf) = i * GST_SECOND / 30 + 1;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  GST_BUFFER_OFFSET (buf) = i;
  GST_BUFFER_OFFSET_END (buf) = i + 1;
  return buf;
}

/* @out is the inverted @i-th odd_frame, read through its video meta when
 * it has one. */
static void
assert_odd_answer (GstBuffer * out, guint i)
{
  GstVideoInfo vinfo;
  GstVideoFrame frame;
  GstCaps *caps = gst_caps_from_string (ODD_CAPS);
  guint x, y;

  fail_unless (gst_video_info_from_caps (&vinfo, caps));
  gst_caps_unref (caps);
  fail_unless (gst_video_frame_map (&frame, &vinfo, out, GST_MAP_READ));
  for (y = 0; y < ODD_H; y++) {
    const guint8 *row = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame,
        0) + y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);

    for (x = 0; x < ODD_ROW; x++)
      fail_unless_equals_int (row[x],
          255 - (guint8) (i * 7 + y * 31 + x));
  }
  gst_video_frame_unmap (&frame);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (out), i * GST_SECOND / 30);
  fail_unless_equals_uint64 (GST_BUFFER_DTS (out), i * GST_SECOND / 30 + 1);
  fail_unless_equals_uint64 (GST_BUFFER_DURATION (out), GST_SECOND / 30);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (out), i);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET_END (out), i + 1);
}

/* ------------------------------------------------------------ tests */

static void
check_odd_output (GstBuffer * out, guint * next, gboolean video_meta)
{
  assert_odd_answer (out, (*next)++);
  /* Lent (with a meta describing 99-byte rows) or laid out again. */
  fail_unless_equals_int (gst_buffer_get_video_meta (out) != NULL,
      video_meta);
  gst_buffer_unref (out);
}

/* Odd rows go packed on the wire (what the server sees is 99-byte rows)
 * and come back laid out for the caps; timestamps and offsets are the
 * input's; the metadata is the filter JSON. */
static void
run_odd_rows (gboolean downstream_video_meta, guint max_in_flight)
{
  gchar *ch = unique_name ("odd");
  Server *x = server_start (ch, H_INVERT, 0);
  /* Room for every answer of this test: copies only come from pressure
   * on the ring (the harness keeps outputs while a push waits). */
  Filter f = filter_new (ch, "max-in-flight", max_in_flight,
      "response-size", "64K", NULL);
  guint i, n = 20, next = 0;

  server_run_thread (x);
  if (downstream_video_meta)
    gst_harness_add_propose_allocation_meta (f.h, GST_VIDEO_META_API_TYPE,
        NULL);
  gst_harness_set_src_caps_str (f.h, ODD_CAPS);
  /* Outputs are checked and freed as they come, as downstream would:
   * lent answers pile up otherwise and get copied out of the ring. */
  for (i = 0; i < n; i++) {
    fail_unless_equals_int (gst_harness_push (f.h, odd_frame (i)),
        GST_FLOW_OK);
    while (gst_harness_buffers_in_queue (f.h) > 0)
      check_odd_output (gst_harness_pull (f.h), &next, downstream_video_meta);
  }
  fail_unless (gst_harness_push_event (f.h, gst_event_new_eos ()));
  while (gst_harness_buffers_in_queue (f.h) > 0)
    check_odd_output (gst_harness_pull (f.h), &next, downstream_video_meta);
  fail_unless_equals_int (next, n);
  fail_unless_equals_uint64 (counter (&f, "frames-sent"), n);
  fail_unless_equals_uint64 (counter (&f, "frames-answered"), n);
  fail_unless_equals_uint64 (counter (&f, "frames-dropped"), 0);
  fail_unless_equals_uint64 (counter (&f, "requests-copied"), n);
  fail_unless_equals_uint64 (counter (&f, "answers-copied"),
      downstream_video_meta ? 0 : n);

  g_mutex_lock (&x->lock);
  fail_unless (x->metadata != NULL);
  fail_unless (g_str_has_prefix (x->metadata,
          "{\"type\":\"gstreamer-filter\",\"version\":\"GStreamer "),
      "metadata %s", x->metadata);
  fail_unless (strstr (x->metadata, "width=(int)33") != NULL);
  fail_unless (strstr (x->metadata, "\"element_name\":\"zerofilter") !=
      NULL);
  g_mutex_unlock (&x->lock);

  filter_free (&f);
  server_wait_end (x);
  fail_unless_equals_int (x->end_rc, ZB_EOS);
  server_stop (x);
  server_free (x);
  assert_channel_gone (ch);
  g_free (ch);
}

GST_START_TEST (test_odd_rows_copied_out)
{
  run_odd_rows (FALSE, 1);
}

GST_END_TEST;

GST_START_TEST (test_odd_rows_lent_with_meta)
{
  run_odd_rows (TRUE, 1);
}

GST_END_TEST;

GST_START_TEST (test_odd_rows_in_flight)
{
  run_odd_rows (TRUE, 4);
}

GST_END_TEST;

/* The packing arithmetic for the formats the SDK sizes. */
GST_START_TEST (test_packing)
{
  struct
  {
    const gchar *caps;
    gsize packed;
    gboolean default_packed;
  } cases[] = {
    {"video/x-raw,format=RGB,width=640,height=480", 640 * 480 * 3, TRUE},
    {"video/x-raw,format=RGB,width=33,height=5", 99 * 5, FALSE},
    {"video/x-raw,format=BGRA,width=33,height=5", 132 * 5, TRUE},
    {"video/x-raw,format=GRAY8,width=13,height=3", 13 * 3, FALSE},
    {"video/x-raw,format=GRAY16_LE,width=13,height=3", 26 * 3, FALSE},
    {"video/x-raw,format=YUY2,width=10,height=3", 20 * 3, TRUE},
    {"video/x-raw,format=I420,width=16,height=16", 16 * 16 * 3 / 2, TRUE},
    {"video/x-raw,format=I420,width=10,height=4", 10 * 4 + 2 * 5 * 2, FALSE},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    GstCaps *caps = gst_caps_from_string (cases[i].caps);
    GstZeroPacking p;

    fail_unless (gst_zero_packing_init (&p, caps), "%s", cases[i].caps);
    fail_unless_equals_uint64 (gst_zero_packing_size (&p), cases[i].packed);
    fail_unless (p.default_packed == cases[i].default_packed, "%s",
        cases[i].caps);
    gst_caps_unref (caps);
  }
  {
    GstCaps *caps = gst_caps_from_string ("audio/x-raw");
    GstZeroPacking p;

    fail_if (gst_zero_packing_init (&p, caps));
    fail_unless_equals_uint64 (gst_zero_packing_size (&p), 0);
    gst_caps_unref (caps);
  }
}

GST_END_TEST;

/* Upstream that draws into the proposed pool writes straight into
 * NAME_request, and answers go downstream lent from NAME_response: no
 * copy either way. */
GST_START_TEST (test_zero_copy_both_ways)
{
  gchar *ch = unique_name ("zc");
  Server *x = server_start (ch, H_INVERT, 0);
  Filter f = filter_new (ch, NULL);
  GstCaps *caps = gst_caps_from_string (SMALL_CAPS);
  GstQuery *query;
  GstBufferPool *pool = NULL;
  guint i, n = 50;

  server_run_thread (x);
  gst_harness_set_src_caps (f.h, gst_caps_ref (caps));
  query = gst_query_new_allocation (caps, TRUE);
  fail_unless (gst_pad_peer_query (f.h->srcpad, query));
  fail_unless (gst_query_get_n_allocation_pools (query) > 0,
      "zerofilter proposed no pool");
  gst_query_parse_nth_allocation_pool (query, 0, &pool, NULL, NULL, NULL);
  fail_unless (pool != NULL);
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));

  for (i = 0; i < n; i++) {
    GstBuffer *buf = NULL, *out;
    GstMapInfo info;
    gsize j;

    fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buf,
            NULL), GST_FLOW_OK);
    fail_unless (gst_memory_is_type (gst_buffer_peek_memory (buf, 0),
            "ZeroBufferRing"));
    fail_unless (gst_buffer_map (buf, &info, GST_MAP_WRITE));
    for (j = 0; j < info.size; j++)
      info.data[j] = (guint8) (i + j);
    gst_buffer_unmap (buf, &info);
    fail_unless_equals_int (gst_harness_push (f.h, buf), GST_FLOW_OK);

    out = gst_harness_pull (f.h);
    fail_unless (gst_memory_is_type (gst_buffer_peek_memory (out, 0),
            "ZeroSrcMemory"), "the answer was not lent");
    fail_unless (gst_buffer_map (out, &info, GST_MAP_READ));
    fail_unless_equals_int (info.size, SMALL_SIZE);
    for (j = 0; j < info.size; j++)
      fail_unless_equals_int (info.data[j], 255 - (guint8) (i + j));
    gst_buffer_unmap (out, &info);
    gst_buffer_unref (out);
  }
  fail_unless_equals_uint64 (counter (&f, "frames-answered"), n);
  fail_unless_equals_uint64 (counter (&f, "requests-copied"), 0);
  fail_unless_equals_uint64 (counter (&f, "answers-copied"), 0);

  gst_buffer_pool_set_active (pool, FALSE);
  gst_object_unref (pool);
  gst_query_unref (query);
  gst_caps_unref (caps);
  filter_free (&f);
  server_free (x);
  assert_channel_gone (ch);
  g_free (ch);
}

GST_END_TEST;

/* Padded rows through the proposed pool: an upstream that reads video
 * meta gets packed buffers of NAME_request (99-byte rows described by the
 * meta) and draws the request in place: nothing copied either way. */
GST_START_TEST (test_zero_copy_padded_rows)
{
  gchar *ch = unique_name ("zcodd");
  Server *x = server_start (ch, H_INVERT, 0);
  Filter f = filter_new (ch, "response-size", "64K", NULL);
  GstCaps *caps = gst_caps_from_string (ODD_CAPS);
  GstVideoInfo vinfo;
  GstStructure *config;
  GstQuery *query;
  GstBufferPool *pool = NULL;
  guint size = 0, i, n = 20;

  server_run_thread (x);
  fail_unless (gst_video_info_from_caps (&vinfo, caps));
  gst_harness_add_propose_allocation_meta (f.h, GST_VIDEO_META_API_TYPE,
      NULL);
  gst_harness_set_src_caps (f.h, gst_caps_ref (caps));
  query = gst_query_new_allocation (caps, TRUE);
  fail_unless (gst_pad_peer_query (f.h->srcpad, query));
  fail_unless (gst_query_find_allocation_meta (query,
          GST_VIDEO_META_API_TYPE, NULL), "no video meta support offered");
  fail_unless (gst_query_get_n_allocation_pools (query) > 0,
      "zerofilter proposed no pool for padded rows");
  gst_query_parse_nth_allocation_pool (query, 0, &pool, &size, NULL, NULL);
  fail_unless (pool != NULL);
  /* proposed with the size of GStreamer's own (padded) layout */
  fail_unless_equals_int (size, GST_VIDEO_INFO_SIZE (&vinfo));
  /* what an upstream that reads video meta configures */
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, size, 0, 0);
  gst_buffer_pool_config_add_option (config,
      GST_BUFFER_POOL_OPTION_VIDEO_META);
  fail_unless (gst_buffer_pool_set_config (pool, config));
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));

  for (i = 0; i < n; i++) {
    GstBuffer *buf = NULL;
    GstVideoFrame frame;
    guint px, y;

    fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buf,
            NULL), GST_FLOW_OK);
    fail_unless (gst_memory_is_type (gst_buffer_peek_memory (buf, 0),
            "ZeroBufferRing"));
    fail_unless (gst_buffer_get_video_meta (buf) != NULL);
    fail_unless (gst_video_frame_map (&frame, &vinfo, buf, GST_MAP_WRITE));
    fail_unless_equals_int (GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0),
        ODD_ROW);
    for (y = 0; y < ODD_H; y++) {
      guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
          y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);

      for (px = 0; px < ODD_ROW; px++)
        row[px] = (guint8) (i * 7 + y * 31 + px);
    }
    gst_video_frame_unmap (&frame);
    GST_BUFFER_PTS (buf) = i * GST_SECOND / 30;
    GST_BUFFER_DTS (buf) = i * GST_SECOND / 30 + 1;
    GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
    GST_BUFFER_OFFSET (buf) = i;
    GST_BUFFER_OFFSET_END (buf) = i + 1;
    fail_unless_equals_int (gst_harness_push (f.h, buf), GST_FLOW_OK);
    while (gst_harness_buffers_in_queue (f.h) > 0) {
      GstBuffer *out = gst_harness_pull (f.h);

      assert_odd_answer (out, i);
      gst_buffer_unref (out);
    }
  }
  fail_unless_equals_uint64 (counter (&f, "frames-answered"), n);
  fail_unless_equals_uint64 (counter (&f, "requests-copied"), 0);
  fail_unless_equals_uint64 (counter (&f, "answers-copied"), 0);

  gst_buffer_pool_set_active (pool, FALSE);
  gst_object_unref (pool);
  gst_query_unref (query);
  gst_caps_unref (caps);
  filter_free (&f);
  server_free (x);
  assert_channel_gone (ch);
  g_free (ch);
}

GST_END_TEST;

/* An answer that misses timeout-ms drops its frame; when it comes later it
 * is recognised and discarded, and every later frame gets its own
 * answer. */
GST_START_TEST (test_late_answer_discarded)
{
  gchar *ch = unique_name ("late");
  Server *x = server_start (ch, H_INVERT, 0);
  Filter f = filter_new (ch, "timeout-ms", 1000, NULL);
  guint i, n = 6, last = 0;

  /* Frames 0 and 1 time out while the server sleeps on frame 0; their
   * answers come while frame 2 waits. */
  x->delay_first_ms = 2500;
  server_run_thread (x);
  gst_harness_set_src_caps_str (f.h, ODD_CAPS);
  for (i = 0; i < n; i++)
    fail_unless_equals_int (gst_harness_push (f.h, odd_frame (i)),
        GST_FLOW_OK);
  fail_unless (counter (&f, "frames-dropped") >= 1);
  while (gst_harness_buffers_in_queue (f.h) > 0) {
    GstBuffer *out = gst_harness_pull (f.h);

    /* Each output is its own frame's answer, in order. */
    assert_odd_answer (out, GST_BUFFER_OFFSET (out));
    fail_unless (GST_BUFFER_OFFSET (out) > last || last == 0);
    fail_if (GST_BUFFER_OFFSET (out) == 0);
    last = GST_BUFFER_OFFSET (out);
    gst_buffer_unref (out);
  }
  /* The last frame was answered, so every late answer before it came and
   * was discarded. */
  fail_unless_equals_int (last, n - 1);
  fail_unless_equals_uint64 (counter (&f, "frames-late"),
      counter (&f, "frames-dropped"));
  fail_unless_equals_uint64 (counter (&f, "frames-dropped") +
      counter (&f, "frames-answered"), n);
  filter_free (&f);
  server_free (x);
  assert_channel_gone (ch);
  g_free (ch);
}

GST_END_TEST;

/* on-timeout=error: a silent server is an error naming the channel. */
GST_START_TEST (test_timeout_error)
{
  gchar *ch = unique_name ("silent");
  Server *x = server_start (ch, H_SILENT, 0);
  Filter f = filter_new (ch, "timeout-ms", 300, "on-timeout", 1, NULL);
  gchar *err;

  server_run_thread (x);
  gst_harness_set_src_caps_str (f.h, ODD_CAPS);
  fail_unless_equals_int (gst_harness_push (f.h, odd_frame (0)),
      GST_FLOW_ERROR);
  err = filter_error (&f, ZB_BOUND_MS (5000));
  fail_unless (strstr (err, ch) != NULL && strstr (err, "did not answer"),
      "%s", err);
  g_free (err);
  filter_free (&f);
  server_free (x);
  assert_channel_gone (ch);
  g_free (ch);
}

GST_END_TEST;

/* The server ends the session mid-stream: an error that says so, soon. */
GST_START_TEST (test_server_gone)
{
  gchar *ch = unique_name ("gone");
  Server *x = server_start (ch, H_INVERT, 0);
  Filter f = filter_new (ch, NULL);
  GstFlowReturn ret = GST_FLOW_OK;
  gint64 t0;
  gchar *err;
  guint i;

  x->close_after = 3;
  server_run_thread (x);
  gst_harness_set_src_caps_str (f.h, ODD_CAPS);
  for (i = 0; i < 3; i++)
    fail_unless_equals_int (gst_harness_push (f.h, odd_frame (i)),
        GST_FLOW_OK);
  g_thread_join (x->thread);
  x->thread = NULL;
  zb_duplex_server_close (x->s);
  x->s = NULL;

  t0 = g_get_monotonic_time ();
  for (i = 3; i < 6 && ret == GST_FLOW_OK; i++)
    ret = gst_harness_push (f.h, odd_frame (i));
  fail_unless_equals_int (ret, GST_FLOW_ERROR);
  fail_unless ((g_get_monotonic_time () - t0) / 1000 < ZB_BOUND_MS (5000));
  err = filter_error (&f, ZB_BOUND_MS (5000));
  fail_unless (strstr (err, ch) != NULL && strstr (err, "gone") != NULL,
      "%s", err);
  g_free (err);
  filter_free (&f);
  server_free (x);
  assert_channel_gone (ch);
  g_free (ch);
}

GST_END_TEST;

/* on-server-lost=reconnect: a new server on the same channel takes over;
 * its first request carries the metadata again. */
GST_START_TEST (test_reconnect)
{
  gchar *ch = unique_name ("reconn");
  Server *x = server_start (ch, H_INVERT, 0), *y;
  Filter f = filter_new (ch, "on-server-lost", 1, "connect-timeout", 10000,
      NULL);
  GstBuffer *out;
  guint64 answered;
  guint i;

  x->close_after = 2;
  server_run_thread (x);
  gst_harness_set_src_caps_str (f.h, ODD_CAPS);
  for (i = 0; i < 2; i++) {
    fail_unless_equals_int (gst_harness_push (f.h, odd_frame (i)),
        GST_FLOW_OK);
    out = gst_harness_pull (f.h);
    assert_odd_answer (out, i);
    gst_buffer_unref (out);
  }
  server_stop (x);

  y = server_start (ch, H_INVERT, 0);
  server_run_thread (y);
  for (i = 2; i < 6; i++)
    fail_unless_equals_int (gst_harness_push (f.h, odd_frame (i)),
        GST_FLOW_OK);
  /* The frame that found the old server gone is dropped if it was sent
   * to it, else sent to the new one; every later one is answered. */
  fail_unless (counter (&f, "frames-dropped") <= 1);
  for (i = 2; i < 6; i++) {
    if (i == 2 && counter (&f, "frames-dropped") == 1)
      continue;
    out = gst_harness_pull (f.h);
    assert_odd_answer (out, i);
    gst_buffer_unref (out);
  }
  g_mutex_lock (&y->lock);
  fail_unless (y->metadata && strstr (y->metadata, "gstreamer-filter"));
  g_mutex_unlock (&y->lock);
  answered = counter (&f, "frames-answered");

  filter_free (&f);
  /* Counted by the server once its write returned: read it after the
   * session. */
  server_wait_end (y);
  fail_unless_equals_uint64 (g_atomic_int_get (&y->handled), answered - 2);
  server_free (x);
  server_free (y);
  assert_channel_gone (ch);
  g_free (ch);
}

GST_END_TEST;

/* A frame drawn into the old server's ring from the proposed pool and
 * committed after that server left is lost with it (counted), the element
 * connects to the new server, and the pool proposed then draws into the
 * new ring. */
GST_START_TEST (test_reconnect_with_pool_buffer)
{
  gchar *ch = unique_name ("reconnpool");
  Server *x = server_start (ch, H_INVERT, 0), *y = NULL;
  Filter f = filter_new (ch, "on-server-lost", 1, "connect-timeout", 10000,
      NULL);
  GstCaps *caps = gst_caps_from_string (SMALL_CAPS);
  GstBufferPool *pool;
  GstBuffer *buf, *out;
  GstMapInfo info;
  guint round;

  server_run_thread (x);
  gst_harness_set_src_caps (f.h, gst_caps_ref (caps));
  for (round = 0; round < 2; round++) {
    GstQuery *query = gst_query_new_allocation (caps, TRUE);
    gsize j;

    fail_unless (gst_pad_peer_query (f.h->srcpad, query));
    fail_unless (gst_query_get_n_allocation_pools (query) > 0);
    gst_query_parse_nth_allocation_pool (query, 0, &pool, NULL, NULL, NULL);
    gst_query_unref (query);
    fail_unless (gst_buffer_pool_set_active (pool, TRUE));
    buf = NULL;
    fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buf,
            NULL), GST_FLOW_OK);
    fail_unless (gst_memory_is_type (gst_buffer_peek_memory (buf, 0),
            "ZeroBufferRing"));
    fail_unless (gst_buffer_map (buf, &info, GST_MAP_WRITE));
    for (j = 0; j < info.size; j++)
      info.data[j] = (guint8) (round * 3 + j);
    gst_buffer_unmap (buf, &info);

    if (round == 0) {
      /* The server leaves while upstream draws; a new one comes. */
      server_stop (x);
      y = server_start (ch, H_INVERT, 0);
      server_run_thread (y);
    }
    fail_unless_equals_int (gst_harness_push (f.h, buf), GST_FLOW_OK);
    if (round == 0) {
      fail_unless_equals_int (gst_harness_buffers_in_queue (f.h), 0);
      fail_unless_equals_uint64 (counter (&f, "frames-dropped"), 1);
    } else {
      out = gst_harness_pull (f.h);
      fail_unless (gst_buffer_map (out, &info, GST_MAP_READ));
      for (j = 0; j < info.size; j++)
        fail_unless_equals_int (info.data[j], 255 - (guint8) (round * 3 + j));
      gst_buffer_unmap (out, &info);
      gst_buffer_unref (out);
    }
    gst_buffer_pool_set_active (pool, FALSE);
    gst_object_unref (pool);
  }
  /* Both drawn in place, each into the ring of its server. */
  fail_unless_equals_uint64 (counter (&f, "frames-answered"), 1);
  fail_unless_equals_uint64 (counter (&f, "requests-copied"), 0);
  gst_caps_unref (caps);
  filter_free (&f);
  server_wait_end (y);
  fail_unless_equals_int (g_atomic_int_get (&y->handled), 1);
  server_free (x);
  server_free (y);
  assert_channel_gone (ch);
  g_free (ch);
}

GST_END_TEST;

/* A server that never attaches to NAME_response: the error says so, and
 * the element lets go of NAME_request (another client may connect). */
GST_START_TEST (test_server_never_attaches)
{
  gchar *ch = unique_name ("noattach");
  gchar *req = g_strconcat (ch, "_request", NULL);
  Server *x = server_start (ch, H_INVERT, 0);   /* no thread: never
                                                 * attaches */
  Filter f = filter_new (ch, "connect-timeout", 300, NULL);
  zb_info info;
  gchar *err;

  gst_harness_set_src_caps_str (f.h, ODD_CAPS);
  err = filter_error (&f, ZB_BOUND_MS (5000));
  fail_unless (strstr (err, "did not attach") != NULL
      && strstr (err, ch) != NULL, "%s", err);
  g_free (err);
  fail_unless_equals_int (zb_inspect (req, &info), ZB_OK);
  fail_unless_equals_uint64 (info.writer_pid, 0);
  filter_free (&f);
  server_free (x);
  assert_channel_gone (ch);
  g_free (req);
  g_free (ch);
}

GST_END_TEST;

/* No server: the connect error names the channel and the wait. */
GST_START_TEST (test_no_server)
{
  gchar *ch = unique_name ("none");
  Filter f = filter_new (ch, "connect-timeout", 200, NULL);
  gchar *err;

  gst_harness_set_src_caps_str (f.h, ODD_CAPS);
  err = filter_error (&f, ZB_BOUND_MS (5000));
  fail_unless (strstr (err, "No duplex server") != NULL
      && strstr (err, ch) != NULL, "%s", err);
  g_free (err);
  fail_unless_equals_int (gst_harness_push (f.h, odd_frame (0)),
      GST_FLOW_ERROR);
  filter_free (&f);
  assert_channel_gone (ch);
  g_free (ch);
}

GST_END_TEST;

/* A bad channel name fails the state change with a clear error. */
GST_START_TEST (test_bad_name)
{
  GstElement *e = gst_element_factory_make ("zerofilter", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;

  g_object_set (e, "channel-name", "bad/name", NULL);
  gst_element_set_bus (e, bus);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (strstr (err->message, "bad/name") != NULL, "%s",
      err->message);
  g_error_free (err);
  gst_message_unref (msg);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_object_unref (e);
}

GST_END_TEST;

/* Different caps mid-stream are refused: the server read them once. */
GST_START_TEST (test_caps_change)
{
  gchar *ch = unique_name ("caps");
  Server *x = server_start (ch, H_INVERT, 0);
  Filter f = filter_new (ch, NULL);
  gchar *err;

  server_run_thread (x);
  gst_harness_set_src_caps_str (f.h, ODD_CAPS);
  fail_unless_equals_int (gst_harness_push (f.h, odd_frame (0)),
      GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (f.h));
  gst_harness_set_src_caps_str (f.h, SMALL_CAPS);
  err = filter_error (&f, ZB_BOUND_MS (5000));
  fail_unless (strstr (err, "mid-stream") != NULL, "%s", err);
  g_free (err);
  filter_free (&f);
  server_free (x);
  assert_channel_gone (ch);
  g_free (ch);
}

GST_END_TEST;

/* An answer of another size than the caps need is an error. */
GST_START_TEST (test_wrong_answer_size)
{
  gchar *ch = unique_name ("size");
  Server *x = server_start (ch, H_HALF, 0);
  Filter f = filter_new (ch, NULL);
  gchar *err;

  server_run_thread (x);
  gst_harness_set_src_caps_str (f.h, ODD_CAPS);
  fail_unless_equals_int (gst_harness_push (f.h, odd_frame (0)),
      GST_FLOW_ERROR);
  err = filter_error (&f, ZB_BOUND_MS (5000));
  fail_unless (strstr (err, "another size") != NULL, "%s", err);
  g_free (err);
  filter_free (&f);
  server_free (x);
  assert_channel_gone (ch);
  g_free (ch);
}

GST_END_TEST;

/* max-in-flight: requests go out before the first answer is awaited, EOS
 * waits for all of them, and gap buffers keep their place. */
GST_START_TEST (test_in_flight_eos_and_gap)
{
  gchar *ch = unique_name ("window");
  Server *x = server_start (ch, H_INVERT, 0);
  Filter f = filter_new (ch, "max-in-flight", 4, NULL);
  GstBuffer *gap;
  GstEvent *ev;
  guint i, n = 30;

  x->delay_ms = 5;
  server_run_thread (x);
  gst_harness_set_src_caps_str (f.h, ODD_CAPS);
  for (i = 0; i < n; i++) {
    if (i == 10) {
      gap = gst_buffer_new ();
      GST_BUFFER_FLAG_SET (gap, GST_BUFFER_FLAG_GAP);
      GST_BUFFER_OFFSET (gap) = 1000;
      fail_unless_equals_int (gst_harness_push (f.h, gap), GST_FLOW_OK);
    }
    fail_unless_equals_int (gst_harness_push (f.h, odd_frame (i)),
        GST_FLOW_OK);
  }
  fail_unless (gst_harness_push_event (f.h, gst_event_new_eos ()));
  for (i = 0; i < n; i++) {
    GstBuffer *out = gst_harness_pull (f.h);

    if (i == 10) {
      fail_unless (GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_GAP));
      fail_unless_equals_uint64 (GST_BUFFER_OFFSET (out), 1000);
      gst_buffer_unref (out);
      out = gst_harness_pull (f.h);
    }
    assert_odd_answer (out, i);
    gst_buffer_unref (out);
  }
  /* EOS came after the last answer. */
  while ((ev = gst_harness_try_pull_event (f.h))) {
    gboolean eos = GST_EVENT_TYPE (ev) == GST_EVENT_EOS;

    gst_event_unref (ev);
    if (eos)
      break;
  }
  fail_unless (ev != NULL, "no EOS");
  fail_unless_equals_int (gst_harness_buffers_in_queue (f.h), 0);
  /* The server saw requests queue up behind the one it worked on. */
  fail_unless (g_atomic_int_get (&x->max_queued) >= 2, "max queued %d",
      g_atomic_int_get (&x->max_queued));
  filter_free (&f);
  server_free (x);
  assert_channel_gone (ch);
  g_free (ch);
}

GST_END_TEST;

typedef struct
{
  GstHarness *h;
  GstFlowReturn ret;
  guint count;
} Pusher;

/* Caps, then frames until one is refused or @count went. */
static gpointer
push_some (gpointer data)
{
  Pusher *p = data;
  guint i;

  gst_harness_set_caps_str (p->h, ODD_CAPS, ODD_CAPS);
  p->ret = GST_FLOW_OK;
  for (i = 0; i < p->count && p->ret == GST_FLOW_OK; i++)
    p->ret = gst_harness_push (p->h, odd_frame (i));
  return NULL;
}

static gpointer
push_one (gpointer data)
{
  Pusher *p = data;

  /* Caps too: with no server, connecting already waits. */
  gst_harness_set_caps_str (p->h, ODD_CAPS, ODD_CAPS);
  p->ret = gst_harness_push (p->h, odd_frame (0));
  return NULL;
}

/* Stopping never hangs, whatever the element waits for. */
static void
run_stop_while (const gchar * what)
{
  gchar *ch = unique_name ("stop");
  Server *x = NULL;
  Filter f;
  Pusher p = { 0, };
  GThread *t;
  gint64 t0;

  if (g_str_equal (what, "answer")) {
    x = server_start (ch, H_SILENT, 0);
    server_run_thread (x);
    f = filter_new (ch, "timeout-ms", -1, NULL);
  } else {
    /* No server: the connect waits for one forever. */
    f = filter_new (ch, "connect-timeout", -1, NULL);
  }
  p.h = f.h;
  t = g_thread_new ("push", push_one, &p);
  if (x) {
    /* The request is there: the element waits for its answer. */
    gint64 until = g_get_monotonic_time () + ZB_BOUND_MS (5000) * 1000;

    while (g_atomic_int_get (&x->max_queued) < 1
        && g_get_monotonic_time () < until)
      g_usleep (1000);
    fail_unless (g_atomic_int_get (&x->max_queued) >= 1);
  } else {
    g_usleep (100 * 1000);      /* any point of the wait will do */
  }
  t0 = g_get_monotonic_time ();
  fail_unless_equals_int (gst_element_set_state (f.filter, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  g_thread_join (t);
  fail_unless ((g_get_monotonic_time () - t0) / 1000 < ZB_STOP_BOUND_MS,
      "stop took %" G_GINT64_FORMAT " ms",
      (g_get_monotonic_time () - t0) / 1000);
  fail_if (p.ret == GST_FLOW_OK);
  filter_free (&f);
  if (x)
    server_free (x);
  assert_channel_gone (ch);
  g_free (ch);
}

/* A server that takes no requests: the element blocks for room in
 * NAME_request (timeout-ms=-1), and stopping still returns at once. */
GST_START_TEST (test_stop_waiting_for_room)
{
  gchar *ch = unique_name ("room");
  gchar *req = g_strconcat (ch, "_request", NULL);
  Server *x = server_start (ch, H_SILENT, 8 * 1024);
  Filter f = filter_new (ch, "timeout-ms", -1, "max-in-flight", 64, NULL);
  Pusher p = { 0, };
  GThread *t;
  gint64 t0, until;
  zb_info info;

  server_run_thread (x);
  p.h = f.h;
  p.count = 64;
  t = g_thread_new ("push", push_some, &p);
  /* Wait until the ring has no room for another frame. */
  until = g_get_monotonic_time () + ZB_BOUND_MS (5000) * 1000;
  do {
    g_usleep (1000);
    fail_unless_equals_int (zb_inspect (req, &info), ZB_OK);
  } while (info.payload_free_bytes >= zb_frame_footprint (ODD_ROW * ODD_H)
      && g_get_monotonic_time () < until);
  fail_unless (info.payload_free_bytes < zb_frame_footprint (ODD_ROW *
          ODD_H), "the ring never filled");
  t0 = g_get_monotonic_time ();
  fail_unless_equals_int (gst_element_set_state (f.filter, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  g_thread_join (t);
  fail_unless ((g_get_monotonic_time () - t0) / 1000 < ZB_STOP_BOUND_MS);
  fail_if (p.ret == GST_FLOW_OK);
  filter_free (&f);
  server_free (x);
  assert_channel_gone (ch);
  g_free (req);
  g_free (ch);
}

GST_END_TEST;

GST_START_TEST (test_stop_waiting_for_answer)
{
  run_stop_while ("answer");
}

GST_END_TEST;

GST_START_TEST (test_stop_waiting_for_server)
{
  run_stop_while ("server");
}

GST_END_TEST;

/* Bytes that are not video travel as they are, any size. */
GST_START_TEST (test_bytes)
{
  gchar *ch = unique_name ("bytes");
  Server *x = server_start (ch, H_INVERT, 0);
  Filter f = filter_new (ch, NULL);
  gsize sizes[] = { 1, 4096, 17, 100000, 3 };
  guint i;

  server_run_thread (x);
  gst_harness_set_src_caps_str (f.h, "application/octet-stream");
  for (i = 0; i < G_N_ELEMENTS (sizes); i++) {
    GstBuffer *buf = gst_buffer_new_allocate (NULL, sizes[i], NULL), *out;
    GstMapInfo info;
    gsize j;

    gst_buffer_memset (buf, 0, (guint8) i, sizes[i]);
    fail_unless_equals_int (gst_harness_push (f.h, buf), GST_FLOW_OK);
    out = gst_harness_pull (f.h);
    fail_unless (gst_buffer_map (out, &info, GST_MAP_READ));
    fail_unless_equals_int (info.size, sizes[i]);
    for (j = 0; j < info.size; j++)
      fail_unless_equals_int (info.data[j], 255 - i);
    gst_buffer_unmap (out, &info);
    gst_buffer_unref (out);
  }
  filter_free (&f);
  server_free (x);
  assert_channel_gone (ch);
  g_free (ch);
}

GST_END_TEST;

/* Latency: processing-latency is added to what upstream reports. */
GST_START_TEST (test_latency)
{
  gchar *ch = unique_name ("lat");
  Server *x = server_start (ch, H_INVERT, 0);
  Filter f = filter_new (ch, "processing-latency", (guint64) 20 * GST_MSECOND,
      "max-in-flight", 3, NULL);
  GstQuery *q;
  GstClockTime min, max;
  gboolean live;

  server_run_thread (x);
  gst_harness_set_src_caps_str (f.h, ODD_CAPS);
  gst_harness_set_upstream_latency (f.h, 10 * GST_MSECOND);
  q = gst_query_new_latency ();
  fail_unless (gst_pad_peer_query (f.h->sinkpad, q));
  gst_query_parse_latency (q, &live, &min, &max);
  fail_unless_equals_uint64 (min, 30 * GST_MSECOND);
  gst_query_unref (q);
  filter_free (&f);
  server_free (x);
  assert_channel_gone (ch);
  g_free (ch);
}

GST_END_TEST;

static Suite *
zerofilter_suite (void)
{
  Suite *s = suite_create ("zerofilter");
  TCase *tc = tcase_create ("general");

  run_pid = (int) getpid ();
  suite_add_tcase (s, tc);
  tcase_add_unchecked_fixture (tc, NULL, remove_leftovers);
  tcase_add_test (tc, test_packing);
  tcase_add_test (tc, test_odd_rows_copied_out);
  tcase_add_test (tc, test_odd_rows_lent_with_meta);
  tcase_add_test (tc, test_odd_rows_in_flight);
  tcase_add_test (tc, test_zero_copy_both_ways);
  tcase_add_test (tc, test_zero_copy_padded_rows);
  tcase_add_test (tc, test_late_answer_discarded);
  tcase_add_test (tc, test_timeout_error);
  tcase_add_test (tc, test_server_gone);
  tcase_add_test (tc, test_reconnect);
  tcase_add_test (tc, test_reconnect_with_pool_buffer);
  tcase_add_test (tc, test_no_server);
  tcase_add_test (tc, test_server_never_attaches);
  tcase_add_test (tc, test_bad_name);
  tcase_add_test (tc, test_caps_change);
  tcase_add_test (tc, test_wrong_answer_size);
  tcase_add_test (tc, test_in_flight_eos_and_gap);
  tcase_add_test (tc, test_stop_waiting_for_answer);
  tcase_add_test (tc, test_stop_waiting_for_room);
  tcase_add_test (tc, test_stop_waiting_for_server);
  tcase_add_test (tc, test_bytes);
  tcase_add_test (tc, test_latency);
  return s;
}

ZB_GST_CHECK_MAIN (zerofilter, "zerofilter");
