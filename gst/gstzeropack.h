/* Tightly packed raw video: the layout duplex servers expect.
 *
 * The rocket-welder SDK wraps a request as height rows of exactly width x
 * bytes-per-pixel bytes, planes back to back; GStreamer's default layout
 * pads rows to 4 bytes (and elements may use any stride).  This is the
 * arithmetic and the copies between the two.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_ZERO_PACK_H__
#define __GST_ZERO_PACK_H__

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

typedef struct
{
  gboolean video;               /* fixed raw video we can lay out */
  GstVideoInfo info;            /* the caps' default layout */
  GstVideoInfo packed;          /* the same frames, rows tightly packed
                                 * (= info for formats without a simple
                                 * per-pixel stride: they travel as is) */
  gboolean default_packed;      /* info's layout is the packed one */
  gboolean simple;              /* per-pixel strides: rows can be repacked */
  guint rows[GST_VIDEO_MAX_PLANES];     /* rows of each packed plane */
} GstZeroPacking;

/* Describe @caps; FALSE (p->video FALSE) for anything but fixed raw video,
 * whose buffers then travel as bytes. */
gboolean gst_zero_packing_init (GstZeroPacking * p, const GstCaps * caps);

/* Bytes of one packed frame; 0 when not video. */
gsize gst_zero_packing_size (const GstZeroPacking * p);

/* TRUE when @buffer's bytes already are one packed frame (its video meta,
 * or the default layout, has the packed strides and offsets). */
gboolean gst_zero_packing_buffer_is_packed (const GstZeroPacking * p,
    GstBuffer * buffer);

/* Copy the frame in @buffer (any layout its video meta gives) into @dest
 * as one packed frame of gst_zero_packing_size() bytes.  FALSE when the
 * buffer cannot be mapped as a frame of the caps. */
gboolean gst_zero_packing_pack (const GstZeroPacking * p, GstBuffer * buffer,
    guint8 * dest);

/* Copy a packed frame into @buffer, laid out as p->info. */
gboolean gst_zero_packing_unpack (const GstZeroPacking * p,
    const guint8 * src, GstBuffer * buffer);

/* Describe the packed layout on @buffer with a GstVideoMeta, for a
 * downstream that reads any stride. */
void gst_zero_packing_add_meta (const GstZeroPacking * p, GstBuffer * buffer);

G_END_DECLS
#endif /* __GST_ZERO_PACK_H__ */
