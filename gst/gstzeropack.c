/* Tightly packed raw video: sizes and copies.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstzeropack.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_pack_debug);
#define GST_CAT_DEFAULT gst_zero_pack_debug

static void
gst_zero_pack_init_debug (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_zero_pack_debug, "zeropack", 0,
        "ZeroBuffer packed video layout");
    g_once_init_leave (&done, 1);
  }
}

/* Rows of @plane and the bytes of one packed row: the widest component
 * in the plane, pixel stride times its width.  0 when a component has no
 * per-pixel stride (packed 10-bit formats and the like). */
static gsize
plane_row_bytes (const GstVideoInfo * info, guint plane, guint * rows)
{
  const GstVideoFormatInfo *finfo = info->finfo;
  gsize bytes = 0;
  guint c;

  *rows = 0;
  for (c = 0; c < GST_VIDEO_FORMAT_INFO_N_COMPONENTS (finfo); c++) {
    gint pstride;

    if (GST_VIDEO_FORMAT_INFO_PLANE (finfo, c) != plane)
      continue;
    pstride = GST_VIDEO_INFO_COMP_PSTRIDE (info, c);
    if (pstride <= 0)
      return 0;
    bytes = MAX (bytes, (gsize) pstride * GST_VIDEO_INFO_COMP_WIDTH (info, c));
    *rows = MAX (*rows, (guint) GST_VIDEO_INFO_COMP_HEIGHT (info, c));
  }
  return bytes;
}

gboolean
gst_zero_packing_init (GstZeroPacking * p, const GstCaps * caps)
{
  const GstVideoFormatInfo *finfo;
  gsize offset = 0;
  guint i;

  gst_zero_pack_init_debug ();
  memset (p, 0, sizeof *p);
  if (caps == NULL || !gst_caps_is_fixed (caps)
      || !gst_structure_has_name (gst_caps_get_structure (caps, 0),
          "video/x-raw") || !gst_video_info_from_caps (&p->info, caps))
    return FALSE;
  p->video = TRUE;
  p->packed = p->info;
  finfo = p->info.finfo;
  if (GST_VIDEO_FORMAT_INFO_IS_TILED (finfo)
      || GST_VIDEO_INFO_INTERLACE_MODE (&p->info) ==
      GST_VIDEO_INTERLACE_MODE_ALTERNATE)
    goto as_is;

  for (i = 0; i < GST_VIDEO_INFO_N_PLANES (&p->info); i++) {
    guint rows;
    gsize row = plane_row_bytes (&p->info, i, &rows);

    if (row == 0 || row > G_MAXINT)
      goto as_is;
    p->rows[i] = rows;
    p->packed.stride[i] = (gint) row;
    p->packed.offset[i] = offset;
    offset += row * rows;
  }
  p->packed.size = offset;
  p->simple = TRUE;

as_is:
  if (!p->simple)
    p->packed = p->info;
  p->default_packed = p->packed.size == p->info.size;
  for (i = 0; p->default_packed && i < GST_VIDEO_INFO_N_PLANES (&p->info);
      i++)
    p->default_packed = p->packed.stride[i] == p->info.stride[i]
        && p->packed.offset[i] == p->info.offset[i];
  GST_DEBUG ("%s %dx%d: packed frame %" G_GSIZE_FORMAT " bytes, default "
      "layout %" G_GSIZE_FORMAT " bytes%s",
      GST_VIDEO_INFO_NAME (&p->info), GST_VIDEO_INFO_WIDTH (&p->info),
      GST_VIDEO_INFO_HEIGHT (&p->info), p->packed.size, p->info.size,
      p->default_packed ? " (the same)" : "");
  return TRUE;
}

gsize
gst_zero_packing_size (const GstZeroPacking * p)
{
  return p->video ? p->packed.size : 0;
}

gboolean
gst_zero_packing_buffer_is_packed (const GstZeroPacking * p,
    GstBuffer * buffer)
{
  GstVideoMeta *meta = gst_buffer_get_video_meta (buffer);
  guint i;

  if (!p->video || gst_buffer_get_size (buffer) < p->packed.size)
    return FALSE;
  if (meta == NULL)
    return p->default_packed;
  if (meta->n_planes != GST_VIDEO_INFO_N_PLANES (&p->packed))
    return FALSE;
  for (i = 0; i < meta->n_planes; i++)
    if (meta->stride[i] != p->packed.stride[i]
        || meta->offset[i] != p->packed.offset[i])
      return FALSE;
  return TRUE;
}

/* Rows of each plane between a mapped frame and a packed block. */
static void
copy_planes (const GstZeroPacking * p, GstVideoFrame * frame, guint8 * packed,
    gboolean to_packed)
{
  guint i;

  for (i = 0; i < GST_VIDEO_FRAME_N_PLANES (frame); i++) {
    guint8 *fp = GST_VIDEO_FRAME_PLANE_DATA (frame, i);
    guint8 *pp = packed + p->packed.offset[i];
    gint fstride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, i);
    gsize row = (gsize) p->packed.stride[i];
    guint rows = p->rows[i], y;

    if ((gsize) fstride == row) {
      if (to_packed)
        memcpy (pp, fp, row * rows);
      else
        memcpy (fp, pp, row * rows);
      continue;
    }
    for (y = 0; y < rows; y++) {
      if (to_packed)
        memcpy (pp + y * row, fp + (gsize) y * fstride, row);
      else
        memcpy (fp + (gsize) y * fstride, pp + y * row, row);
    }
  }
}

gboolean
gst_zero_packing_pack (const GstZeroPacking * p, GstBuffer * buffer,
    guint8 * dest)
{
  GstVideoFrame frame;

  /* Formats without per-pixel strides travel as the buffer holds them. */
  if (!p->simple || (p->default_packed
          && gst_buffer_get_video_meta (buffer) == NULL))
    return gst_buffer_extract (buffer, 0, dest, p->packed.size) ==
        p->packed.size;
  if (!gst_video_frame_map (&frame, (GstVideoInfo *) & p->info, buffer,
          GST_MAP_READ))
    return FALSE;
  copy_planes (p, &frame, dest, TRUE);
  gst_video_frame_unmap (&frame);
  return TRUE;
}

gboolean
gst_zero_packing_unpack (const GstZeroPacking * p, const guint8 * src,
    GstBuffer * buffer)
{
  GstVideoFrame frame;

  if (!p->simple)
    return gst_buffer_fill (buffer, 0, src, p->packed.size) ==
        p->packed.size;
  if (!gst_video_frame_map (&frame, (GstVideoInfo *) & p->info, buffer,
          GST_MAP_WRITE))
    return FALSE;
  copy_planes (p, &frame, (guint8 *) src, FALSE);
  gst_video_frame_unmap (&frame);
  return TRUE;
}

void
gst_zero_packing_add_meta (const GstZeroPacking * p, GstBuffer * buffer)
{
  gst_buffer_add_video_meta_full (buffer, GST_VIDEO_FRAME_FLAG_NONE,
      GST_VIDEO_INFO_FORMAT (&p->packed), GST_VIDEO_INFO_WIDTH (&p->packed),
      GST_VIDEO_INFO_HEIGHT (&p->packed), GST_VIDEO_INFO_N_PLANES (&p->packed),
      (gsize *) p->packed.offset, (gint *) p->packed.stride);
}
