/* Ring memory and the buffer pool zerosink proposes: upstream draws its
 * frames straight into reservations in the ring.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_ZERO_RING_POOL_H__
#define __GST_ZERO_RING_POOL_H__

#include <gst/gst.h>

#include "gstzeropack.h"
#include "gstzerowriterconn.h"

G_BEGIN_DECLS

#define GST_ZERO_RING_MEMORY_TYPE "ZeroBufferRing"

/* The allocator of ring memory: one for the process, made on first use
 * and kept, as GStreamer core keeps its system-memory allocator.  It only
 * wraps reservations; gst_allocator_alloc() on it gives NULL. */
#define GST_TYPE_ZERO_RING_ALLOCATOR (gst_zero_ring_allocator_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroRingAllocator, gst_zero_ring_allocator, GST,
    ZERO_RING_ALLOCATOR, GstAllocator);

/* Hands out buffers whose memory is a reservation in the writer's ring
 * (only the oldest frame in flight may hold one; the others, and every
 * buffer when reserving is not possible, are system memory that the sink
 * copies in).  A ring buffer that is never rendered gives its space back
 * when it is freed. */
#define GST_TYPE_ZERO_RING_POOL (gst_zero_ring_pool_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroRingPool, gst_zero_ring_pool, GST,
    ZERO_RING_POOL, GstBufferPool);

/* A configured pool of @size-byte buffers for @caps on @conn. */
GstBufferPool *gst_zero_ring_pool_new (GstZeroWriterConn * conn,
    GstCaps * caps, gsize size);

/* A configured pool of packed frames (gstzeropack.h) for raw-video @caps
 * whose default layout pads rows: every buffer is one packed frame and
 * carries a GstVideoMeta with the packed strides.  An upstream that
 * ignored that meta would write the default layout into a buffer too
 * small for it, so the pool takes only a config with
 * GST_BUFFER_POOL_OPTION_VIDEO_META.  It refuses any other, handing back
 * a config that names the packed size: smaller than the default layout
 * that upstream asked for, so gst_buffer_pool_config_validate_params()
 * fails and upstream makes a pool of its own.  Propose it with the
 * default layout's size.  NULL when @caps are not such video. */
GstBufferPool *gst_zero_ring_pool_new_packed (GstZeroWriterConn * conn,
    GstCaps * caps);

/* The reservation @buffer's only memory wraps (the owner to pass to
 * gst_zero_writer_conn_write()), or NULL when it is not ring memory. */
/* Answers an allocation @query for frames written through @conn: a ring
 * pool when the caps' frames fit the ring (fixed-size raw video; with
 * @pack, the packed pool and GstVideoMeta support where rows would be
 * padded).  The pool takes its own reference to @conn; the caller
 * keeps @conn alive for the call.  TRUE when a pool was added. */
gboolean gst_zero_ring_pool_propose (GstZeroWriterConn * conn,
    GstQuery * query, gboolean pack);

gconstpointer gst_zero_ring_pool_buffer_owner (GstBuffer * buffer);

/* @buffer went through render: if it came from a ring pool it no longer
 * holds back the next reservation. */
void gst_zero_ring_pool_buffer_rendered (GstBuffer * buffer);

G_END_DECLS

#endif /* __GST_ZERO_RING_POOL_H__ */
