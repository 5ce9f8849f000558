/* zerosink -> zerosrc in one process: both elements against each other
 * without a second process, so one sanitizer run sees both sides.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <unistd.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <zerobuffer/zerobuffer.h>

#include "zbgsttest.h"

/* Rows of 192 bytes: no padding, whose bytes no element promises. */
#define VIDEO_CAPS "video/x-raw,format=RGB,width=64,height=50,framerate=30/1"
#define VIDEO_FRAMES 60

static gchar *
make_name (const gchar * tag)
{
  static gint counter;

  return g_strdup_printf ("zbpair-%d-%d-%s", (gint) getpid (),
      g_atomic_int_add (&counter, 1), tag);
}

/* Every buffer a fakesink receives, as a checksum, in order. */
typedef struct
{
  GMutex lock;
  GPtrArray *sums;
} Collected;

static void
collect_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad,
    gpointer data)
{
  Collected *c = data;
  GstMapInfo map;
  gchar *sum;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  sum = g_compute_checksum_for_data (G_CHECKSUM_SHA1, map.data, map.size);
  gst_buffer_unmap (buf, &map);
  g_mutex_lock (&c->lock);
  g_ptr_array_add (c->sums, sum);
  g_mutex_unlock (&c->lock);
}

static void
collected_init (Collected * c)
{
  g_mutex_init (&c->lock);
  c->sums = g_ptr_array_new_with_free_func (g_free);
}

static void
collected_clear (Collected * c)
{
  g_ptr_array_unref (c->sums);
  g_mutex_clear (&c->lock);
}

/* Launches @desc with its fakesink "out" collecting into @c. */
static GstElement *
launch_collecting (const gchar * desc, Collected * c)
{
  GError *err = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &err);
  GstElement *out;

  fail_unless (pipeline != NULL, "%s: %s", desc, err ? err->message : "?");
  out = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  g_object_set (out, "signal-handoffs", TRUE, "sync", FALSE, NULL);
  g_signal_connect (out, "handoff", G_CALLBACK (collect_handoff), c);
  gst_object_unref (out);
  return pipeline;
}

/* Waits for EOS (or fails on an error) within 60 s. */
static void
wait_eos (GstElement * pipeline)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus,
      ZB_BOUND_MS (60000) * GST_MSECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);

  fail_unless (msg != NULL, "no EOS within the deadline");
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gchar *dbg = NULL;

    gst_message_parse_error (msg, &err, &dbg);
    fail ("error from %s: %s (%s)", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
        err->message, dbg);
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
}

static guint64
get_u64 (GstElement * bin, const gchar * element, const gchar * prop)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (bin), element);
  guint64 v = 0;

  g_object_get (e, prop, &v, NULL);
  gst_object_unref (e);
  return v;
}

/* videotestsrc draws into zerosink's ring (no copy), zerosrc lends the
 * frames (no copy): every frame arrives, in order, byte for byte, with
 * the caps the writer had, and EOS ends the reader. */
GST_START_TEST (test_video_both_zero_copy)
{
  gchar *name = make_name ("video");
  Collected want, got;
  GstElement *ref, *rx, *tx;
  gchar *desc;
  guint i;

  collected_init (&want);
  collected_init (&got);

  desc = g_strdup_printf ("videotestsrc pattern=ball num-buffers=%d ! "
      VIDEO_CAPS " ! fakesink name=out", VIDEO_FRAMES);
  ref = launch_collecting (desc, &want);
  g_free (desc);
  gst_element_set_state (ref, GST_STATE_PLAYING);
  wait_eos (ref);
  gst_element_set_state (ref, GST_STATE_NULL);
  gst_object_unref (ref);
  fail_unless_equals_int (want.sums->len, VIDEO_FRAMES);

  desc = g_strdup_printf ("zerosrc name=zs buffer-name=%s payload-size=1M "
      "! fakesink name=out", name);
  rx = launch_collecting (desc, &got);
  g_free (desc);
  fail_unless (gst_element_set_state (rx, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);

  desc = g_strdup_printf ("videotestsrc pattern=ball num-buffers=%d ! "
      VIDEO_CAPS " ! zerosink name=zk buffer-name=%s sync=false",
      VIDEO_FRAMES, name);
  tx = gst_parse_launch (desc, NULL);
  g_free (desc);
  fail_unless (tx != NULL);
  fail_unless (gst_element_set_state (tx, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);

  wait_eos (tx);
  wait_eos (rx);

  fail_unless_equals_uint64 (get_u64 (tx, "zk", "frames-written"),
      VIDEO_FRAMES);
  fail_unless_equals_uint64 (get_u64 (tx, "zk", "frames-copied"), 0);
  fail_unless_equals_uint64 (get_u64 (rx, "zs", "frames-received"),
      VIDEO_FRAMES);
  fail_unless_equals_uint64 (get_u64 (rx, "zs", "frames-copied"), 0);
  fail_unless_equals_int (got.sums->len, VIDEO_FRAMES);
  for (i = 0; i < VIDEO_FRAMES; i++)
    fail_unless_equals_string (g_ptr_array_index (got.sums, i),
        g_ptr_array_index (want.sums, i));

  /* zerosrc negotiated the writer's caps from the metadata alone. */
  {
    GstElement *zs = gst_bin_get_by_name (GST_BIN (rx), "zs");
    GstPad *pad = gst_element_get_static_pad (zs, "src");
    GstCaps *caps = gst_pad_get_current_caps (pad);
    GstCaps *expect = gst_caps_from_string (VIDEO_CAPS);

    fail_unless (caps != NULL && gst_caps_is_subset (caps, expect),
        "zerosrc caps %" GST_PTR_FORMAT, caps);
    gst_caps_unref (expect);
    gst_caps_unref (caps);
    gst_object_unref (pad);
    gst_object_unref (zs);
  }

  gst_element_set_state (tx, GST_STATE_NULL);
  gst_element_set_state (rx, GST_STATE_NULL);
  gst_object_unref (tx);
  gst_object_unref (rx);
  zb_gst_assert_no_leftovers (name);
  collected_clear (&want);
  collected_clear (&got);
  g_free (name);
}

GST_END_TEST;

/* Buffers of every size from 1 byte to a third of the ring, several
 * memories each (gathered while copying), through a 64 KiB ring many
 * times over: each arrives whole, in order. */
GST_START_TEST (test_bytes_of_every_size)
{
  const guint n = 400;
  gchar *name = make_name ("bytes");
  Collected got;
  GPtrArray *want = g_ptr_array_new_with_free_func (g_free);
  GstHarness *h;
  GstElement *rx;
  gchar *desc;
  guint i;

  collected_init (&got);
  desc = g_strdup_printf ("zerosrc name=zs buffer-name=%s payload-size=64K "
      "caps=application/x-zbtest ! fakesink name=out", name);
  rx = launch_collecting (desc, &got);
  g_free (desc);
  fail_unless (gst_element_set_state (rx, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);

  /* Named before it starts: buffer-name is bound in start(). */
  desc = g_strdup_printf ("zerosink buffer-name=%s sync=false", name);
  h = gst_harness_new_parse (desc);
  g_free (desc);
  gst_harness_set_src_caps_str (h, "application/x-zbtest");
  for (i = 0; i < n; i++) {
    gsize size = 1 + (i * 7919u) % (21 * 1024);
    gsize half = size / 2;
    guint8 *data = g_malloc (size);
    GstBuffer *buf = gst_buffer_new ();
    gsize k;

    for (k = 0; k < size; k++)
      data[k] = (guint8) (i * 31 + k * 13 + (k >> 9));
    g_ptr_array_add (want, g_compute_checksum_for_data (G_CHECKSUM_SHA1,
            data, size));
    /* Two pieces, so the sink gathers them straight into the ring. */
    if (half > 0) {
      guint8 *a = g_memdup2 (data, half);

      gst_buffer_append_memory (buf, gst_memory_new_wrapped (0, a, half, 0,
              half, a, g_free));
    }
    {
      guint8 *b = g_memdup2 (data + half, size - half);

      gst_buffer_append_memory (buf, gst_memory_new_wrapped (0, b,
              size - half, 0, size - half, b, g_free));
    }
    g_free (data);
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  wait_eos (rx);

  fail_unless_equals_int (got.sums->len, n);
  for (i = 0; i < n; i++)
    fail_unless_equals_string (g_ptr_array_index (got.sums, i),
        g_ptr_array_index (want, i));

  gst_harness_teardown (h);
  gst_element_set_state (rx, GST_STATE_NULL);
  gst_object_unref (rx);
  zb_gst_assert_no_leftovers (name);
  g_ptr_array_unref (want);
  collected_clear (&got);
  g_free (name);
}

GST_END_TEST;

static Suite *
pair_suite (void)
{
  Suite *s = suite_create ("pair");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_video_both_zero_copy);
  tcase_add_test (tc, test_bytes_of_every_size);
  return s;
}

ZB_GST_CHECK_MAIN (pair, "zerosink", "zerosrc", "videotestsrc", "fakesink");
