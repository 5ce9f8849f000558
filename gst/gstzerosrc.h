/* GStreamer zerosrc: read frames from a ZeroBuffer v1 shared-memory ring.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_ZERO_SRC_H__
#define __GST_ZERO_SRC_H__

#include <gst/gst.h>
#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_ZERO_SRC (gst_zero_src_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroSrc, gst_zero_src, GST, ZERO_SRC, GstPushSrc);

/* What zerosrc does when the writer process dies mid-stream. */
typedef enum
{
  GST_ZERO_SRC_ON_WRITER_CRASH_ERROR = 0,
  GST_ZERO_SRC_ON_WRITER_CRASH_EOS = 1,
} GstZeroSrcOnWriterCrash;

#define GST_TYPE_ZERO_SRC_ON_WRITER_CRASH \
  (gst_zero_src_on_writer_crash_get_type ())
GType gst_zero_src_on_writer_crash_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (zerosrc);
GST_ELEMENT_REGISTER_DECLARE (zero_src);

G_END_DECLS

#endif /* __GST_ZERO_SRC_H__ */
