/* Library status -> element error, shared by every element.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <zerobuffer/zerobuffer.h>

#include "gstzeroerror.h"

#ifndef GST_DISABLE_GST_DEBUG
#define GST_CAT_DEFAULT gst_zero_error_ensure_debug_category ()
static GstDebugCategory *
gst_zero_error_ensure_debug_category (void)
{
  static gsize cat = 0;

  if (g_once_init_enter (&cat)) {
    gsize c = (gsize) _gst_debug_category_new ("zeroerror", 0,
        "ZeroBuffer library status to element messages");

    g_once_init_leave (&cat, c);
  }
  return (GstDebugCategory *) cat;
}
#endif

void
gst_zero_element_message (GstElement * element, GstMessageType type,
    GQuark domain, gint code, int status, const gchar * detail,
    const gchar * file, const gchar * function, gint line,
    const gchar * format, ...)
{
  gchar *text, *debug;
  va_list ap;

  va_start (ap, format);
  text = gst_info_strdup_vprintf (format, ap);
  va_end (ap);

  if (detail == NULL)
    detail = "";
  if (status != 0)
    debug = g_strdup_printf ("%s (%s)%s%s", zb_status_name (status),
        zb_strerror (status), detail[0] ? ": " : "", detail);
  else
    debug = g_strdup (detail);

  GST_DEBUG_OBJECT (element, "posting %s: %s (%s)",
      type == GST_MESSAGE_ERROR ? "error" : "warning", text, debug);
  /* Takes both strings. */
  gst_element_message_full (element, type, domain, code, text, debug, file,
      function, line);
}

void
gst_zero_element_error_bad_name (GstElement * element, const gchar * what,
    const gchar * name, int status, const gchar * detail)
{
  /* A channel name also carries the "_response" suffix. */
  guint max = g_str_equal (what, "channel") ? ZB_CHANNEL_NAME_MAX :
      ZB_NAME_MAX;
  gchar *shown = g_strescape (name, NULL);

  gst_zero_element_message (element, GST_MESSAGE_ERROR, GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_SETTINGS, status, detail, __FILE__, GST_FUNCTION,
      __LINE__, "Invalid %s name \"%s\": use 1-%u letters, digits, '.', '_' "
      "or '-', not starting with '.'", what, shown, max);
  g_free (shown);
}
