/* GStreamer zerobuffer plugin: zerosink, zerosrc and zerofilter.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstzerosink.h"
#include "gstzerosrc.h"
#include "gstzerofilter.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (zerosink, plugin);
  ret |= GST_ELEMENT_REGISTER (zero_sink, plugin);
  ret |= GST_ELEMENT_REGISTER (zerosrc, plugin);
  ret |= GST_ELEMENT_REGISTER (zero_src, plugin);
  ret |= GST_ELEMENT_REGISTER (zerofilter, plugin);

  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR,
    GST_VERSION_MINOR,
    zerobuffer,
    "Zero-copy shared-memory transport speaking the ZeroBuffer v1 protocol",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
