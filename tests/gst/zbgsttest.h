/* Helpers shared by the element tests.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef ZB_GST_TEST_H
#define ZB_GST_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/check/gstcheck.h>
#include <zerobuffer/zerobuffer.h>

#ifndef ZB_SANITIZED
#define ZB_SANITIZED 0
#endif

/* Upper bounds on time are only asserted where the bound is what a test
 * is about (a stop that must not hang, a timeout that must fire), never
 * below a few seconds, and stretched for instrumented builds on a loaded
 * machine. */
#define ZB_TIME_SCALE (ZB_SANITIZED ? 4 : 1)
#define ZB_BOUND_MS(ms) ((gint64) (ms) * ZB_TIME_SCALE)
/* A state change to NULL, whatever the element was waiting for. */
#define ZB_STOP_BOUND_MS ZB_BOUND_MS (5000)

/* Every kernel object of buffer @name is gone. */
static inline void
zb_gst_assert_no_leftovers (const gchar * name)
{
  const gchar *paths[][2] = { {"/dev/shm/", ""}, {"/dev/shm/sem.sem-w-", ""},
  {"/dev/shm/sem.sem-r-", ""}, {ZB_LOCK_DIR "/", ".lock"}
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (paths); i++) {
    gchar *path = g_strconcat (paths[i][0], name, paths[i][1], NULL);

    fail_if (g_file_test (path, G_FILE_TEST_EXISTS), "%s left behind", path);
    g_free (path);
  }
}

/* Elements a test program needs.  Ours missing is a failure (the build is
 * broken); a system one missing is a skip, exit 77, never a silent pass. */
static inline void
zb_gst_require (const gchar * const *need)
{
  for (; *need; need++) {
    GstElementFactory *f = gst_element_factory_find (*need);
    gboolean ours = g_str_has_prefix (*need, "zero");

    if (f != NULL) {
      gst_object_unref (f);
      continue;
    }
    if (ours) {
      g_printerr ("FAIL: element %s not found: the plugin did not load "
          "(GST_PLUGIN_PATH_1_0=%s)\n", *need,
          g_getenv ("GST_PLUGIN_PATH_1_0"));
      exit (1);
    }
    g_print ("SKIP: system element %s is not installed\n", *need);
    exit (77);
  }
}

/* GST_CHECK_MAIN, plus the elements the suite needs. */
#define ZB_GST_CHECK_MAIN(name, ...)                                    \
int                                                                     \
main (int argc, char **argv)                                            \
{                                                                       \
  const gchar *need[] = { __VA_ARGS__, NULL };                          \
                                                                        \
  gst_check_init (&argc, &argv);                                        \
  zb_gst_require (need);                                                \
  return gst_check_run_suite (name##_suite (), #name, __FILE__);        \
}

#endif /* ZB_GST_TEST_H */
