/* Caps <-> metadata helpers shared by zerosink and zerosrc.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <gst/video/video.h>
#include <json-glib/json-glib.h>

#include "gstzerometa.h"

#ifndef GST_DISABLE_GST_DEBUG
#undef GST_CAT_DEFAULT
#define GST_CAT_DEFAULT gst_zero_meta_ensure_debug_category ()
static GstDebugCategory *
gst_zero_meta_ensure_debug_category (void)
{
  static gsize cat = 0;

  if (g_once_init_enter (&cat)) {
    gsize c = (gsize) _gst_debug_category_new ("zerometa", 0,
        "ZeroBuffer caps and metadata");

    g_once_init_leave (&cat, c);
  }
  return (GstDebugCategory *) cat;
}
#endif

gchar *
gst_zero_meta_caps_to_json (const GstCaps * caps, const gchar * type,
    const gchar * element_name, gsize * len)
{
  JsonBuilder *builder;
  JsonGenerator *gen;
  JsonNode *root;
  gchar *caps_str, *version, *json;
  guint major, minor, micro, nano;

  g_return_val_if_fail (GST_IS_CAPS (caps), NULL);

  caps_str = gst_caps_to_string (caps);
  /* The runtime version, not the one we were built against; no
   * " (GIT)" suffix, which readers would have to strip. */
  gst_version (&major, &minor, &micro, &nano);
  version = g_strdup_printf ("GStreamer %u.%u.%u", major, minor, micro);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, type);
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, version);
  json_builder_set_member_name (builder, "caps");
  json_builder_add_string_value (builder, caps_str);
  json_builder_set_member_name (builder, "element_name");
  json_builder_add_string_value (builder, element_name ? element_name : "");
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  gen = json_generator_new ();
  json_generator_set_root (gen, root);
  json = json_generator_to_data (gen, len);

  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (builder);
  g_free (version);
  g_free (caps_str);

  return json;
}

static GstCaps *
caps_from_text (const gchar * text, GError ** error)
{
  GstCaps *caps = gst_caps_from_string (text);

  if (caps == NULL) {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT,
        "metadata caps \"%s\" cannot be parsed", text);
    return NULL;
  }
  if (gst_caps_is_empty (caps) || gst_caps_is_any (caps)) {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT,
        "metadata caps \"%s\" describe no concrete format", text);
    gst_caps_unref (caps);
    return NULL;
  }
  return caps;
}

static GstCaps *
caps_from_json (const gchar * text, gsize len, GError ** error)
{
  JsonParser *parser = json_parser_new ();
  GError *err = NULL;
  JsonNode *root;
  JsonObject *obj;
  JsonNode *member;
  GstCaps *caps = NULL;

  if (!json_parser_load_from_data (parser, text, (gssize) len, &err)) {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT,
        "metadata is not valid JSON: %s", err->message);
    g_clear_error (&err);
    goto out;
  }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT,
        "metadata JSON is not an object");
    goto out;
  }
  obj = json_node_get_object (root);
  member = json_object_get_member (obj, "caps");
  if (member == NULL) {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT,
        "metadata JSON has no \"caps\" member");
    goto out;
  }
  if (!JSON_NODE_HOLDS_VALUE (member)
      || json_node_get_value_type (member) != G_TYPE_STRING) {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT,
        "metadata JSON member \"caps\" is not a string");
    goto out;
  }
  caps = caps_from_text (json_node_get_string (member), error);

out:
  g_object_unref (parser);
  return caps;
}

GstCaps *
gst_zero_meta_parse_caps (const guint8 * data, gsize len, GError ** error)
{
  gchar *text;
  GstCaps *caps;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Some writers count a C string's terminator in the length. */
  while (len > 0 && data[len - 1] == '\0')
    len--;
  if (len == 0) {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT,
        "metadata is empty");
    return NULL;
  }
  if (memchr (data, '\0', len) != NULL
      || !g_utf8_validate ((const gchar *) data, (gssize) len, NULL)) {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT,
        "metadata (%" G_GSIZE_FORMAT " bytes) is not UTF-8 text", len);
    return NULL;
  }

  text = g_strstrip (g_strndup ((const gchar *) data, len));
  if (text[0] == '{')
    caps = caps_from_json (text, strlen (text), error);
  else
    caps = caps_from_text (text, error);
  GST_LOG ("metadata of %" G_GSIZE_FORMAT " bytes gives %" GST_PTR_FORMAT,
      len, caps);
  g_free (text);

  return caps;
}

gsize
gst_zero_meta_frame_size (const GstCaps * caps)
{
  GstVideoInfo info;

  if (caps == NULL || gst_caps_is_empty (caps) || !gst_caps_is_fixed (caps)
      || !gst_structure_has_name (gst_caps_get_structure (caps, 0),
          "video/x-raw") || !gst_video_info_from_caps (&info, caps))
    return 0;
  return GST_VIDEO_INFO_SIZE (&info);
}
