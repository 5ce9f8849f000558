/* Reader side: frames lent downstream straight from the ring, evacuated
 * into ordinary memory when held frames would stall the writer.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_ZERO_LEND_ALLOCATOR_H__
#define __GST_ZERO_LEND_ALLOCATOR_H__

#include <gst/gst.h>
#include <zerobuffer/zerobuffer.h>

G_BEGIN_DECLS

#define GST_ZERO_LEND_MEMORY_TYPE "ZeroSrcMemory"

/* One per element: its read-only memories wrap frames of the attached
 * reader and keep them in lending (= ring) order, so that the oldest can
 * be copied out when the ring runs full.  A frame goes back to the writer
 * when its last memory is freed, from any thread, also after detach. */
#define GST_TYPE_ZERO_LEND_ALLOCATOR (gst_zero_lend_allocator_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroLendAllocator, gst_zero_lend_allocator, GST,
    ZERO_LEND_ALLOCATOR, GstAllocator);

/* Recycles the GstBuffers that carry lent frames: a returning buffer drops
 * its memory (which gives the frame back), so a steady stream allocates
 * nothing. */
#define GST_TYPE_ZERO_LEND_POOL (gst_zero_lend_pool_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroLendPool, gst_zero_lend_pool, GST,
    ZERO_LEND_POOL, GstBufferPool);

GstZeroLendAllocator *gst_zero_lend_allocator_new (void);

/* Lend frames of @reader from now on (start()). */
void gst_zero_lend_allocator_attach (GstZeroLendAllocator * self,
    zb_reader * reader);
/* Before closing the reader (stop()): the frames still lent give
 * themselves back when freed but are no longer evacuated, and the
 * reader is not touched here any more. */
void gst_zero_lend_allocator_detach (GstZeroLendAllocator * self);

/* zb_reader_acquire() on the attached reader within @timeout_ms (-1 =
 * forever), first evacuating held frames if they pin more than
 * @threshold percent of the ring (0 and 100: never), and, while frames are
 * lent under pressure, waking every few ms to evacuate more.  Frames
 * evacuated meanwhile are added to *evacuated. */
int gst_zero_lend_allocator_acquire (GstZeroLendAllocator * self,
    zb_frame * frame, gint timeout_ms, guint threshold, guint * evacuated);

/* A buffer (from @pool when it has one, else new) whose only memory lends
 * @frame; the frame is released when the memory is freed. */
GstBuffer *gst_zero_lend_allocator_lend (GstZeroLendAllocator * self,
    GstBufferPool * pool, const zb_frame * frame);

/* Frames lent and not yet freed or evacuated. */
guint gst_zero_lend_allocator_n_lent (GstZeroLendAllocator * self);

/* An active pool for gst_zero_lend_allocator_lend(), or NULL. */
GstBufferPool *gst_zero_lend_pool_new (void);

G_END_DECLS

#endif /* __GST_ZERO_LEND_ALLOCATOR_H__ */
