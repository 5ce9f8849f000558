/* Library status -> element error, shared by every element.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_ZERO_ERROR_H__
#define __GST_ZERO_ERROR_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/* Posts an ERROR or WARNING whose message is the formatted user text and
 * whose debug text always carries the library's side of it:
 * "ZB_EREADERGONE (the reader is gone): cam1: the reader died".  @status 0
 * means no library status (the debug text is @detail alone); @detail may
 * be NULL or "". */
void gst_zero_element_message (GstElement * element, GstMessageType type,
    GQuark domain, gint code, int status, const gchar * detail,
    const gchar * file, const gchar * function, gint line,
    const gchar * format, ...) G_GNUC_PRINTF (10, 11);

/* GST_ZERO_ELEMENT_ERROR (self, RESOURCE, WRITE, rc, detail,
 *     "The reader of buffer \"%s\" is gone", name); */
#define GST_ZERO_ELEMENT_ERROR(el, domain, code, status, detail, ...)       \
  gst_zero_element_message (GST_ELEMENT_CAST (el), GST_MESSAGE_ERROR,       \
      GST_##domain##_ERROR, GST_##domain##_ERROR_##code, (status), (detail),\
      __FILE__, GST_FUNCTION, __LINE__, __VA_ARGS__)

#define GST_ZERO_ELEMENT_WARNING(el, domain, code, status, detail, ...)     \
  gst_zero_element_message (GST_ELEMENT_CAST (el), GST_MESSAGE_WARNING,     \
      GST_##domain##_ERROR, GST_##domain##_ERROR_##code, (status), (detail),\
      __FILE__, GST_FUNCTION, __LINE__, __VA_ARGS__)

/* The RESOURCE/SETTINGS error for a name zb_validate_name() refused; the
 * name is shown escaped, since a bad one may hold a newline.  @what is
 * "buffer" or "channel". */
void gst_zero_element_error_bad_name (GstElement * element, const gchar * what,
    const gchar * name, int status, const gchar * detail);

G_END_DECLS

#endif /* __GST_ZERO_ERROR_H__ */
