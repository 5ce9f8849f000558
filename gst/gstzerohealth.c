/* Ring health: the ZeroBuffer README's utilization and states, with
 * hysteresis, rate-limited logging and a bus message per change.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstzerohealth.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_health_debug);
#define GST_CAT_DEFAULT gst_zero_health_debug

static void
gst_zero_health_init_debug (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_zero_health_debug, "zerohealth", 0,
        "ZeroBuffer ring health");
    g_once_init_leave (&done, 1);
  }
}

GType
gst_zero_health_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_ZERO_HEALTH_HEALTHY,
        "Healthy: less than 80% of the ring in use", "healthy"},
    {GST_ZERO_HEALTH_DEGRADED,
        "Degraded: 80% to 95% of the ring in use, the reader falls behind",
        "degraded"},
    {GST_ZERO_HEALTH_CRITICAL,
        "Critical: more than 95% of the ring in use, frames are about to "
          "be lost", "critical"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    /* The element tests link these pieces and load the plugin too: two
     * copies of this function, one type. */
    GType t = g_type_from_name ("GstZeroHealth");

    if (t == 0)
      t = g_enum_register_static ("GstZeroHealth", values);
    g_once_init_leave (&type, t);
  }
  return (GType) type;
}

const gchar *
gst_zero_health_nick (GstZeroHealth state)
{
  switch (state) {
    case GST_ZERO_HEALTH_HEALTHY:
      return "healthy";
    case GST_ZERO_HEALTH_DEGRADED:
      return "degraded";
    case GST_ZERO_HEALTH_CRITICAL:
      return "critical";
  }
  return "unknown";
}

/* Bytes in use; a free count above the ring (a hostile peer) is none. */
static guint64
used_bytes (guint64 payload_size, guint64 free_bytes)
{
  return payload_size - MIN (free_bytes, payload_size);
}

gdouble
gst_zero_health_utilization (guint64 payload_size, guint64 free_bytes)
{
  if (payload_size == 0)
    return 0.0;
  return (gdouble) used_bytes (payload_size, free_bytes) /
      (gdouble) payload_size;
}

/* used / size compared with @percent % exactly, without overflow for any
 * ring (used <= size). */
static gint
cmp_percent (guint64 used, guint64 size, guint percent)
{
  guint64 q = size / 100, r = size % 100;
  /* percent% of size = percent * q + percent * r / 100 */
  guint64 whole = percent * q + (percent * r) / 100;
  guint64 rem = (percent * r) % 100;    /* in hundredths of a byte */

  if (used > whole)
    return 1;
  if (used < whole)
    return -1;
  return rem == 0 ? 0 : -1;
}

GstZeroHealth
gst_zero_health_next (GstZeroHealth current, guint64 payload_size,
    guint64 free_bytes)
{
  guint64 used;

  if (payload_size == 0)
    return current;
  used = used_bytes (payload_size, free_bytes);

  if (cmp_percent (used, payload_size, GST_ZERO_HEALTH_CRITICAL_ENTER) > 0)
    return GST_ZERO_HEALTH_CRITICAL;

  switch (current) {
    case GST_ZERO_HEALTH_CRITICAL:
      if (cmp_percent (used, payload_size,
              GST_ZERO_HEALTH_DEGRADED_LEAVE) < 0)
        return GST_ZERO_HEALTH_HEALTHY;
      if (cmp_percent (used, payload_size,
              GST_ZERO_HEALTH_CRITICAL_LEAVE) < 0)
        return GST_ZERO_HEALTH_DEGRADED;
      return GST_ZERO_HEALTH_CRITICAL;
    case GST_ZERO_HEALTH_DEGRADED:
      if (cmp_percent (used, payload_size,
              GST_ZERO_HEALTH_DEGRADED_LEAVE) < 0)
        return GST_ZERO_HEALTH_HEALTHY;
      return GST_ZERO_HEALTH_DEGRADED;
    case GST_ZERO_HEALTH_HEALTHY:
    default:
      if (cmp_percent (used, payload_size,
              GST_ZERO_HEALTH_DEGRADED_ENTER) >= 0)
        return GST_ZERO_HEALTH_DEGRADED;
      return GST_ZERO_HEALTH_HEALTHY;
  }
}

GstMessage *
gst_zero_health_message_new (GstObject * src, const gchar * name,
    GstZeroHealth state, GstZeroHealth previous, guint64 payload_size,
    guint64 free_bytes)
{
  GstStructure *s = gst_structure_new (GST_ZERO_HEALTH_MESSAGE,
      "name", G_TYPE_STRING, name,
      "state", GST_TYPE_ZERO_HEALTH, state,
      "previous", GST_TYPE_ZERO_HEALTH, previous,
      "state-name", G_TYPE_STRING, gst_zero_health_nick (state),
      "utilization", G_TYPE_DOUBLE,
      gst_zero_health_utilization (payload_size, free_bytes),
      "payload-size", G_TYPE_UINT64, payload_size,
      "free-bytes", G_TYPE_UINT64, free_bytes, NULL);

  return gst_message_new_element (src, s);
}

/* The four kinds of log line, each rate-limited on its own. */
enum
{
  KIND_DEGRADED,                /* Healthy -> Degraded: WARNING */
  KIND_CRITICAL,                /* -> Critical: WARNING */
  KIND_BACK_TO_DEGRADED,        /* Critical -> Degraded: INFO */
  KIND_BACK_TO_HEALTHY,         /* -> Healthy: INFO */
};

G_STATIC_ASSERT (KIND_BACK_TO_HEALTHY + 1 == GST_ZERO_HEALTH_N_LOG_KINDS);

static guint
log_kind (GstZeroHealth previous, GstZeroHealth state)
{
  switch (state) {
    case GST_ZERO_HEALTH_CRITICAL:
      return KIND_CRITICAL;
    case GST_ZERO_HEALTH_DEGRADED:
      return previous == GST_ZERO_HEALTH_HEALTHY ? KIND_DEGRADED :
          KIND_BACK_TO_DEGRADED;
    case GST_ZERO_HEALTH_HEALTHY:
    default:
      return KIND_BACK_TO_HEALTHY;
  }
}

void
gst_zero_health_tracker_init (GstZeroHealthTracker * t)
{
  guint i;

  gst_zero_health_init_debug ();
  g_atomic_int_set (&t->state, GST_ZERO_HEALTH_HEALTHY);
  for (i = 0; i < GST_ZERO_HEALTH_N_LOG_KINDS; i++) {
    t->last_log[i] = G_MININT64;
    t->suppressed[i] = 0;
  }
  t->stale = FALSE;
  t->stale_from = GST_ZERO_HEALTH_HEALTHY;
}

GstZeroHealth
gst_zero_health_tracker_reset (GstZeroHealthTracker * t)
{
  /* A change left out of the log belongs to the stream that ended. */
  t->stale = FALSE;
  return (GstZeroHealth) g_atomic_int_exchange (&t->state,
      GST_ZERO_HEALTH_HEALTHY);
}

GstZeroHealth
gst_zero_health_tracker_get (GstZeroHealthTracker * t)
{
  return (GstZeroHealth) g_atomic_int_get (&t->state);
}

guint
gst_zero_health_tracker_suppressed (GstZeroHealthTracker * t,
    GstZeroHealth previous, GstZeroHealth state)
{
  return t->suppressed[log_kind (previous, state)];
}

static gboolean
may_log (GstZeroHealthTracker * t, guint kind, gint64 now_us)
{
  return t->last_log[kind] == G_MININT64
      || now_us - t->last_log[kind] >= GST_ZERO_HEALTH_LOG_INTERVAL;
}

/* The line of a change from @previous to @state, with the count of the
 * lines of its kind left out since the last one. */
static void
gst_zero_health_log_change (GstZeroHealthTracker * t, GstElement * element,
    const gchar * name, GstZeroHealth previous, GstZeroHealth state,
    guint64 payload_size, guint64 free_bytes, gint64 now_us)
{
  guint kind = log_kind (previous, state);
  gdouble pct = gst_zero_health_utilization (payload_size, free_bytes) * 100;
  gchar *held = NULL;
  const gchar *what;

  if (t->suppressed[kind] > 0)
    held = g_strdup_printf ("; %u more such change%s in the last %"
        G_GINT64_FORMAT " s not logged", t->suppressed[kind],
        t->suppressed[kind] == 1 ? "" : "s",
        (now_us - t->last_log[kind]) / G_TIME_SPAN_SECOND);
  t->last_log[kind] = now_us;
  t->suppressed[kind] = 0;

  switch (kind) {
    case KIND_DEGRADED:
      what = "degraded: the reader falls behind";
      break;
    case KIND_CRITICAL:
      what = "critical: frames are about to be lost";
      break;
    case KIND_BACK_TO_DEGRADED:
      what = "back to degraded";
      break;
    case KIND_BACK_TO_HEALTHY:
    default:
      what = "back to healthy";
      break;
  }

  if (kind == KIND_DEGRADED || kind == KIND_CRITICAL)
    GST_WARNING_OBJECT (element, "buffer \"%s\" is %s (%.1f%% of the %"
        G_GUINT64_FORMAT "-byte ring in use, was %s)%s", name, what, pct,
        payload_size, gst_zero_health_nick (previous), held ? held : "");
  else
    GST_INFO_OBJECT (element, "buffer \"%s\" is %s (%.1f%% of the %"
        G_GUINT64_FORMAT "-byte ring in use, was %s)%s", name, what, pct,
        payload_size, gst_zero_health_nick (previous), held ? held : "");
  g_free (held);
}

gboolean
gst_zero_health_tracker_sample_at (GstZeroHealthTracker * t,
    GstElement * element, const gchar * name, guint64 payload_size,
    guint64 free_bytes, gint64 now_us)
{
  GstZeroHealth previous = (GstZeroHealth) g_atomic_int_get (&t->state);
  GstZeroHealth state = gst_zero_health_next (previous, payload_size,
      free_bytes);
  guint kind;

  if (G_LIKELY (state == previous)) {
    /* The last change was left out of the log: write it once allowed. */
    if (G_UNLIKELY (t->stale)
        && may_log (t, log_kind (t->stale_from, state), now_us)) {
      t->suppressed[log_kind (t->stale_from, state)]--;
      gst_zero_health_log_change (t, element, name, t->stale_from, state,
          payload_size, free_bytes, now_us);
      t->stale = FALSE;
    }
    return FALSE;
  }

  /* Visible before the message, so a bus handler reading the property
   * sees the state it was told about. */
  g_atomic_int_set (&t->state, state);
  kind = log_kind (previous, state);
  if (may_log (t, kind, now_us)) {
    gst_zero_health_log_change (t, element, name, previous, state,
        payload_size, free_bytes, now_us);
    t->stale = FALSE;
  } else {
    t->suppressed[kind]++;
    t->stale = TRUE;
    t->stale_from = previous;
    GST_DEBUG_OBJECT (element, "buffer \"%s\" %s -> %s at %.1f%%, not logged "
        "(%u such changes since the last line)", name,
        gst_zero_health_nick (previous), gst_zero_health_nick (state),
        gst_zero_health_utilization (payload_size, free_bytes) * 100,
        t->suppressed[kind]);
  }

  if (element)
    gst_element_post_message (element,
        gst_zero_health_message_new (GST_OBJECT_CAST (element), name, state,
            previous, payload_size, free_bytes));
  return TRUE;
}

gboolean
gst_zero_health_tracker_sample (GstZeroHealthTracker * t,
    GstElement * element, const gchar * name, guint64 payload_size,
    guint64 free_bytes)
{
  GstZeroHealth previous = (GstZeroHealth) g_atomic_int_get (&t->state);

  /* The common case reads no clock. */
  if (G_LIKELY (!t->stale && gst_zero_health_next (previous, payload_size,
              free_bytes) == previous))
    return FALSE;
  return gst_zero_health_tracker_sample_at (t, element, name, payload_size,
      free_bytes, g_get_monotonic_time ());
}
