/* GStreamer zerosink: write frames into a ZeroBuffer v1 shared-memory ring.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_ZERO_SINK_H__
#define __GST_ZERO_SINK_H__

#include <gst/gst.h>
#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_ZERO_SINK (gst_zero_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroSink, gst_zero_sink, GST, ZERO_SINK,
    GstBaseSink);

/* What zerosink does with a frame when the ring is full. */
typedef enum
{
  GST_ZERO_SINK_ON_FULL_BLOCK = 0,
  GST_ZERO_SINK_ON_FULL_DROP = 1,
} GstZeroSinkOnFull;

#define GST_TYPE_ZERO_SINK_ON_FULL (gst_zero_sink_on_full_get_type ())
GType gst_zero_sink_on_full_get_type (void);

/* What zerosink does when the reader closes or dies mid-stream. */
typedef enum
{
  GST_ZERO_SINK_ON_READER_LOST_ERROR = 0,
  GST_ZERO_SINK_ON_READER_LOST_RECONNECT = 1,
} GstZeroSinkOnReaderLost;

#define GST_TYPE_ZERO_SINK_ON_READER_LOST \
  (gst_zero_sink_on_reader_lost_get_type ())
GType gst_zero_sink_on_reader_lost_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (zerosink);
GST_ELEMENT_REGISTER_DECLARE (zero_sink);

G_END_DECLS

#endif /* __GST_ZERO_SINK_H__ */
