/* zerobuffer:// URIs on zerosrc and zerosink.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <unistd.h>

#include <gst/gst.h>
#include <gst/check/gstcheck.h>

#include "zbgsttest.h"

static gchar *
get_string (GstElement * e, const gchar * prop)
{
  gchar *v = NULL;

  g_object_get (e, prop, &v, NULL);
  return v;
}

GST_START_TEST (test_src_uri_sets_properties)
{
  GstElement *src = gst_element_make_from_uri (GST_URI_SRC,
      "zerobuffer://cam-1.a_b?payload-size=16M&metadata-size=4K&is-live=true"
      "&on-writer-crash=eos&evacuate-threshold=30", NULL, NULL);
  gchar *v, *uri;
  gboolean live;
  guint thr;

  fail_unless (src != NULL, "no element for zerobuffer:// (source)");
  /* zerosrc, or its alias zero-src. */
  fail_unless_equals_string (G_OBJECT_TYPE_NAME (src), "GstZeroSrc");
  v = get_string (src, "buffer-name");
  fail_unless_equals_string (v, "cam-1.a_b");
  g_free (v);
  v = get_string (src, "payload-size");
  fail_unless_equals_string (v, "16M");
  g_free (v);
  v = get_string (src, "metadata-size");
  fail_unless_equals_string (v, "4K");
  g_free (v);
  g_object_get (src, "is-live", &live, "evacuate-threshold", &thr, NULL);
  fail_unless (live);
  fail_unless_equals_int (thr, 30);
  uri = gst_uri_handler_get_uri (GST_URI_HANDLER (src));
  fail_unless_equals_string (uri, "zerobuffer://cam-1.a_b");
  g_free (uri);
  gst_object_unref (src);
}

GST_END_TEST;

GST_START_TEST (test_sink_uri)
{
  GstElement *sink = gst_element_make_from_uri (GST_URI_SINK,
      "zerobuffer:///out1?on-full=drop&connect-timeout=100", NULL, NULL);
  gchar *v;
  gint t;

  fail_unless (sink != NULL, "no element for zerobuffer:// (sink)");
  fail_unless_equals_string (G_OBJECT_TYPE_NAME (sink), "GstZeroSink");
  v = get_string (sink, "buffer-name");
  fail_unless_equals_string (v, "out1");
  g_free (v);
  g_object_get (sink, "connect-timeout", &t, NULL);
  fail_unless_equals_int (t, 100);
  gst_object_unref (sink);
}

GST_END_TEST;

/* A bad URI changes nothing and says what is wrong. */
GST_START_TEST (test_bad_uris)
{
  const gchar *bad[][2] = {
    {"file:///tmp/x", "not supported"},
    {"zerobuffer://", "no buffer name"},
    {"zerobuffer://a/b", "no buffer name"},
    {"zerobuffer://ok?bogus=1", "no settable property \"bogus\""},
    {"zerobuffer://ok?frames-received=3", "no settable property"},
    {"zerobuffer://ok?buffer-name=x", "no settable property"},
    {"zerobuffer://ok?payload-size=lots", "not a valid value"},
    {"zerobuffer://ok?evacuate-threshold=101", "not a valid value"},
    {"zerobuffer://ok?on-writer-crash=explode", "not a valid value"},
  };
  GstElement *src = gst_element_factory_make ("zerosrc", NULL);
  guint i;

  g_object_set (src, "buffer-name", "before", "payload-size", "8M", NULL);
  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    GError *err = NULL;
    gchar *v;

    fail_if (gst_uri_handler_set_uri (GST_URI_HANDLER (src), bad[i][0],
            &err), "%s accepted", bad[i][0]);
    fail_unless (err != NULL);
    fail_unless (strstr (err->message, bad[i][1]) != NULL, "%s: %s",
        bad[i][0], err->message);
    g_error_free (err);
    v = get_string (src, "buffer-name");
    fail_unless_equals_string (v, "before");
    g_free (v);
    v = get_string (src, "payload-size");
    fail_unless_equals_string (v, "8M");
    g_free (v);
  }
  gst_object_unref (src);
}

GST_END_TEST;

/* The URI is fixed once the element runs. */
GST_START_TEST (test_uri_only_when_stopped)
{
  GstElement *src = gst_element_factory_make ("zerosrc", NULL);
  gchar *name = g_strdup_printf ("zuri-test-%d", (int) getpid ());
  gchar *uri = g_strdup_printf ("zerobuffer://%s?payload-size=64K", name);
  GError *err = NULL;

  fail_unless (gst_uri_handler_set_uri (GST_URI_HANDLER (src), uri, NULL));
  fail_if (gst_element_set_state (src, GST_STATE_PAUSED) ==
      GST_STATE_CHANGE_FAILURE);
  fail_if (gst_uri_handler_set_uri (GST_URI_HANDLER (src),
          "zerobuffer://other", &err));
  fail_unless (g_error_matches (err, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE));
  g_error_free (err);
  fail_unless_equals_int (gst_element_set_state (src, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  zb_gst_assert_no_leftovers (name);
  gst_object_unref (src);
  g_free (uri);
  g_free (name);
}

GST_END_TEST;

static Suite *
zerouri_suite (void)
{
  Suite *s = suite_create ("zerouri");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_src_uri_sets_properties);
  tcase_add_test (tc, test_sink_uri);
  tcase_add_test (tc, test_bad_uris);
  tcase_add_test (tc, test_uri_only_when_stopped);
  return s;
}

ZB_GST_CHECK_MAIN (zerouri, "zerosrc", "zerosink");
