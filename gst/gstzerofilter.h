/* GStreamer zerofilter: each buffer goes to a ZeroBuffer duplex server in
 * another process and its answer comes back into the pipeline.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_ZERO_FILTER_H__
#define __GST_ZERO_FILTER_H__

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_ZERO_FILTER (gst_zero_filter_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroFilter, gst_zero_filter, GST, ZERO_FILTER,
    GstBaseTransform);

/* What zerofilter does when an answer does not come within timeout-ms. */
typedef enum
{
  GST_ZERO_FILTER_ON_TIMEOUT_DROP = 0,
  GST_ZERO_FILTER_ON_TIMEOUT_ERROR = 1,
} GstZeroFilterOnTimeout;

#define GST_TYPE_ZERO_FILTER_ON_TIMEOUT (gst_zero_filter_on_timeout_get_type ())
GType gst_zero_filter_on_timeout_get_type (void);

/* What zerofilter does when the server closes the channel or dies. */
typedef enum
{
  GST_ZERO_FILTER_ON_SERVER_LOST_ERROR = 0,
  GST_ZERO_FILTER_ON_SERVER_LOST_RECONNECT = 1,
} GstZeroFilterOnServerLost;

#define GST_TYPE_ZERO_FILTER_ON_SERVER_LOST \
  (gst_zero_filter_on_server_lost_get_type ())
GType gst_zero_filter_on_server_lost_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (zerofilter);

G_END_DECLS

#endif /* __GST_ZERO_FILTER_H__ */
