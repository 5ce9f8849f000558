/* Caps <-> metadata, shared by the elements.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_ZERO_META_H__
#define __GST_ZERO_META_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/* The "type" a writer element puts in its metadata. */
#define GST_ZERO_META_TYPE_SINK "gstreamer-sink"
#define GST_ZERO_META_TYPE_FILTER "gstreamer-filter"

/* The metadata JSON the rocket-welder SDK parses:
 * {"type":"<type>","version":"GStreamer 1.22.0",
 *  "caps":"<caps string>","element_name":"<name>"}.  Built with json-glib.
 * Returns a newly allocated UTF-8 string (no trailing NUL counted in *len). */
gchar *gst_zero_meta_caps_to_json (const GstCaps * caps, const gchar * type,
    const gchar * element_name, gsize * len);

/* Parse metadata bytes: the JSON above (any "type"), or a bare caps string.
 * Returns fixed or unfixed caps, or NULL with *error set naming the problem. */
GstCaps *gst_zero_meta_parse_caps (const guint8 * data, gsize len,
    GError ** error);

/* Bytes of one frame for fixed raw-video caps, 0 for anything else (whose
 * frames have no size the caps promise). */
gsize gst_zero_meta_frame_size (const GstCaps * caps);

G_END_DECLS

#endif /* __GST_ZERO_META_H__ */
