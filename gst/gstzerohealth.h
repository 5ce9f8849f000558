/* Ring health: the ZeroBuffer README's utilization and states, with
 * hysteresis, rate-limited logging and a bus message per change.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_ZERO_HEALTH_H__
#define __GST_ZERO_HEALTH_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/* utilization = (payload_size - payload_free_bytes) / payload_size. */
typedef enum
{
  GST_ZERO_HEALTH_HEALTHY,      /* below 80 % */
  GST_ZERO_HEALTH_DEGRADED,     /* 80 % to 95 % */
  GST_ZERO_HEALTH_CRITICAL,     /* above 95 %: frames are about to be lost */
} GstZeroHealth;

#define GST_TYPE_ZERO_HEALTH (gst_zero_health_get_type ())
GType gst_zero_health_get_type (void);

/* Thresholds in percent of the payload ring.  A state is entered at the
 * README's boundary and left only 5 points below it, so a ring hovering
 * around a boundary does not flip at every frame:
 *   Healthy  -> Degraded  at >= 80 %    Degraded -> Healthy  below 75 %
 *   any      -> Critical  above 95 %    Critical -> Degraded below 90 %
 *                                       Critical -> Healthy  below 75 % */
#define GST_ZERO_HEALTH_DEGRADED_ENTER 80
#define GST_ZERO_HEALTH_DEGRADED_LEAVE 75
#define GST_ZERO_HEALTH_CRITICAL_ENTER 95
#define GST_ZERO_HEALTH_CRITICAL_LEAVE 90

/* The log: a WARNING entering Degraded (from Healthy) or Critical, an
 * INFO going back to Degraded or Healthy.  Each of these four kinds of
 * line is written at most once per interval: a change of a kind written
 * less than an interval ago is logged at DEBUG only and counted, and the
 * next line of that kind says how many were left out.  When the last
 * change was left out, its line is written as soon as the interval
 * allows (at the next sample after it), so the log always ends with the
 * ring's current state. */
#define GST_ZERO_HEALTH_LOG_INTERVAL (10 * G_TIME_SPAN_SECOND)
#define GST_ZERO_HEALTH_N_LOG_KINDS 4

/* The name of the element message posted on every change.  Fields:
 * "name" (string, the buffer), "state" and "previous" (GstZeroHealth),
 * "state-name" (string: the state's nick), "utilization" (double, 0..1),
 * "payload-size" (guint64) and "free-bytes" (guint64). */
#define GST_ZERO_HEALTH_MESSAGE "zerobuffer-health"

/* The README's share of the ring in use, 0.0 .. 1.0 (0.0 for an empty
 * @payload_size; a @free_bytes above it counts as all free). */
gdouble gst_zero_health_utilization (guint64 payload_size,
    guint64 free_bytes);

/* The state that follows @current for this sample, hysteresis applied;
 * @current when @payload_size is 0. */
GstZeroHealth gst_zero_health_next (GstZeroHealth current,
    guint64 payload_size, guint64 free_bytes);

const gchar *gst_zero_health_nick (GstZeroHealth state);

/* The element message for a change from @previous to @state. */
GstMessage *gst_zero_health_message_new (GstObject * src, const gchar * name,
    GstZeroHealth state, GstZeroHealth previous, guint64 payload_size,
    guint64 free_bytes);

/* One ring's state, embedded in the element.  Samples come from one
 * thread at a time (the streaming thread); gst_zero_health_tracker_get()
 * from any. */
typedef struct
{
  /*< private > */
  gint state;                   /* GstZeroHealth, atomic */
  gint64 last_log[GST_ZERO_HEALTH_N_LOG_KINDS]; /* µs, G_MININT64: never */
  guint suppressed[GST_ZERO_HEALTH_N_LOG_KINDS];
  gboolean stale;               /* the last change is not logged yet */
  GstZeroHealth stale_from;     /* ... and was from this state */
} GstZeroHealthTracker;

/* Healthy, nothing logged yet (the element's init). */
void gst_zero_health_tracker_init (GstZeroHealthTracker * t);

/* Back to Healthy without a message (the element's start); the rate limit
 * keeps its memory, so an element restarted in a loop does not flood the
 * log either.  Returns the state before. */
GstZeroHealth gst_zero_health_tracker_reset (GstZeroHealthTracker * t);

GstZeroHealth gst_zero_health_tracker_get (GstZeroHealthTracker * t);

/* Feed one sample of the ring of buffer @name.  On a change: the new state
 * is visible to gst_zero_health_tracker_get(), the change is logged
 * (rate-limited, see above) and GST_ZERO_HEALTH_MESSAGE is posted on
 * @element (when not NULL).  Returns TRUE on a change (then notify the
 * property).  Reads no clock when nothing changes. */
gboolean gst_zero_health_tracker_sample (GstZeroHealthTracker * t,
    GstElement * element, const gchar * name, guint64 payload_size,
    guint64 free_bytes);

/* The same at monotonic time @now_us (tests drive the rate limit). */
gboolean gst_zero_health_tracker_sample_at (GstZeroHealthTracker * t,
    GstElement * element, const gchar * name, guint64 payload_size,
    guint64 free_bytes, gint64 now_us);

/* Changes from @previous to @state whose log line was held back since
 * the last line of their kind. */
guint gst_zero_health_tracker_suppressed (GstZeroHealthTracker * t,
    GstZeroHealth previous, GstZeroHealth state);

G_END_DECLS

#endif /* __GST_ZERO_HEALTH_H__ */
