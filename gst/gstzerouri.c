/* zerobuffer:// URIs.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <zerobuffer/zerobuffer.h>

#include "gstzerouri.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_uri_debug);
#define GST_CAT_DEFAULT gst_zero_uri_debug

static void
gst_zero_uri_init_debug (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_zero_uri_debug, "zerouri", 0,
        "ZeroBuffer URIs");
    g_once_init_leave (&done, 1);
  }
}

/* The buffer name of zerobuffer://NAME or zerobuffer:///NAME. */
static gchar *
gst_zero_uri_name (GstUri * uri)
{
  const gchar *host = gst_uri_get_host (uri);
  gchar *path = gst_uri_get_path (uri);
  gchar *name = NULL;

  if (host && host[0]) {
    if (path == NULL || path[0] == '\0' || g_str_equal (path, "/"))
      name = g_strdup (host);
  } else if (path && path[0] == '/' && strchr (path + 1, '/') == NULL) {
    name = g_strdup (path + 1);
  }
  g_free (path);
  return name;
}

typedef struct
{
  const gchar *key;
  GValue value;
} Setting;

gboolean
gst_zero_uri_apply (GstElement * element, const gchar * uri_str,
    const gchar * name_property, GError ** error)
{
  GObjectClass *klass = G_OBJECT_GET_CLASS (element);
  GstUri *uri;
  GHashTable *query = NULL;
  GList *keys = NULL, *l;
  GArray *settings;
  gchar *name;
  gboolean ok = FALSE;
  guint i;

  gst_zero_uri_init_debug ();
  uri = gst_uri_from_string (uri_str);
  if (uri == NULL || g_strcmp0 (gst_uri_get_scheme (uri),
          GST_ZERO_URI_PROTOCOL) != 0) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
        "\"%s\" is not a zerobuffer://NAME URI", uri_str);
    if (uri)
      gst_uri_unref (uri);
    return FALSE;
  }
  name = gst_zero_uri_name (uri);
  if (name == NULL || zb_validate_name (name) != ZB_OK) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
        "\"%s\": %s", uri_str, name ? zb_last_error () :
        "no buffer name (zerobuffer://NAME)");
    g_free (name);
    gst_uri_unref (uri);
    return FALSE;
  }

  /* Check every key and value before setting anything. */
  settings = g_array_new (FALSE, TRUE, sizeof (Setting));
  query = gst_uri_get_query_table (uri);
  if (query)
    keys = g_hash_table_get_keys (query);
  for (l = keys; l; l = l->next) {
    const gchar *key = l->data, *value = g_hash_table_lookup (query, key);
    GParamSpec *pspec = g_object_class_find_property (klass, key);
    GValue v = G_VALUE_INIT;
    guint64 size;
    Setting s = { NULL, G_VALUE_INIT };

    if (pspec == NULL || !(pspec->flags & G_PARAM_WRITABLE)
        || g_str_equal (key, name_property) || g_str_equal (key, "name")) {
      g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
          "\"%s\": %s has no settable property \"%s\"", uri_str,
          G_OBJECT_TYPE_NAME (element), key);
      goto done;
    }
    g_value_init (&v, pspec->value_type);
    if (value == NULL || !gst_value_deserialize_with_pspec (&v, value, pspec)
        || g_param_value_validate (pspec, &v)
        || (G_VALUE_HOLDS_STRING (&v) && g_str_has_suffix (key, "-size")
            && zb_parse_size (g_value_get_string (&v), &size) != ZB_OK)) {
      g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
          "\"%s\": \"%s\" is not a valid value for \"%s\"", uri_str,
          value ? value : "", key);
      g_value_unset (&v);
      goto done;
    }
    s.key = key;
    s.value = v;
    g_array_append_val (settings, s);
  }

  g_object_set (element, name_property, name, NULL);
  for (i = 0; i < settings->len; i++) {
    Setting *s = &g_array_index (settings, Setting, i);

    g_object_set_property (G_OBJECT (element), s->key, &s->value);
    GST_DEBUG_OBJECT (element, "%s from the URI", s->key);
  }
  ok = TRUE;

done:
  for (i = 0; i < settings->len; i++)
    g_value_unset (&g_array_index (settings, Setting, i).value);
  g_array_unref (settings);
  g_list_free (keys);
  if (query)
    g_hash_table_unref (query);
  g_free (name);
  gst_uri_unref (uri);
  return ok;
}

gchar *
gst_zero_uri_get (GstElement * element, const gchar * name_property)
{
  gchar *name = NULL, *uri;

  g_object_get (element, name_property, &name, NULL);
  if (name == NULL)
    name = gst_object_get_name (GST_OBJECT (element));
  if (name == NULL)
    return NULL;
  uri = g_strdup_printf (GST_ZERO_URI_PROTOCOL "://%s", name);
  g_free (name);
  return uri;
}

static const gchar *const *
gst_zero_uri_get_protocols (GType type)
{
  static const gchar *protocols[] = { GST_ZERO_URI_PROTOCOL, NULL };

  return protocols;
}

static gchar *
gst_zero_uri_handler_get_uri (GstURIHandler * handler)
{
  return gst_zero_uri_get (GST_ELEMENT (handler), "buffer-name");
}

static gboolean
gst_zero_uri_handler_set_uri (GstURIHandler * handler, const gchar * uri,
    GError ** error)
{
  GstElement *element = GST_ELEMENT (handler);
  GstState state;

  GST_OBJECT_LOCK (element);
  state = GST_STATE (element);
  GST_OBJECT_UNLOCK (element);
  if (state > GST_STATE_READY) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE,
        "The URI of %s can only change in the NULL or READY state",
        GST_ELEMENT_NAME (element));
    return FALSE;
  }
  return gst_zero_uri_apply (element, uri, "buffer-name", error);
}

void
gst_zero_uri_handler_fill (GstURIHandlerInterface * iface)
{
  iface->get_protocols = gst_zero_uri_get_protocols;
  iface->get_uri = gst_zero_uri_handler_get_uri;
  iface->set_uri = gst_zero_uri_handler_set_uri;
}
