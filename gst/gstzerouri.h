/* zerobuffer:// URIs, shared by the elements' GstURIHandler.
 *
 * zerobuffer://NAME?key=value&... names the buffer (the "buffer-name"
 * property) and sets other properties of the element by their names
 * (payload-size=16M, is-live=true, on-full=drop, ...).
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_ZERO_URI_H__
#define __GST_ZERO_URI_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_ZERO_URI_PROTOCOL "zerobuffer"

/* Apply @uri to @element: its buffer name to @name_property, each query
 * key to the writable property of that name.  Nothing is set unless the
 * whole URI is valid: GST_URI_ERROR_BAD_URI for a bad scheme or name, an
 * unknown or read-only key, or a value the property refuses. */
gboolean gst_zero_uri_apply (GstElement * element, const gchar * uri,
    const gchar * name_property, GError ** error);

/* zerobuffer://NAME for @element's @name_property (the element's name
 * when unset); NULL when there is none.  Free with g_free(). */
gchar *gst_zero_uri_get (GstElement * element, const gchar * name_property);

/* The GstURIHandler of an element whose buffer is its "buffer-name":
 * fills @iface's protocols, get_uri and set_uri (NULL/READY only); the
 * element sets get_type (source or sink). */
void gst_zero_uri_handler_fill (GstURIHandlerInterface * iface);

G_END_DECLS
#endif /* __GST_ZERO_URI_H__ */
