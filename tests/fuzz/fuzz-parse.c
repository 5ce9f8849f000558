/* libFuzzer target: zb_validate_name() and zb_parse_size() against
 * independent reference implementations of their documented rules.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input, cut at its first NUL, is both a candidate buffer name and a
 * size string.  zb_strerror()/zb_status_name() get its first bytes as an
 * int and must never return NULL.
 */
#include "fuzz-common.h"

#include <stdint.h>

static int
ref_name_ok (const char *s)
{
  size_t i, n = strlen (s);

  if (n == 0 || n > ZB_NAME_MAX || s[0] == '.')
    return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char) s[i];

    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* "<digits>[K|M|G][i][B]", binary multiples, surrounding spaces allowed;
 * valid exactly when the value fits in 64 bits. */
static int
ref_size (const char *s, uint64_t * out)
{
  unsigned __int128 v = 0;
  uint64_t mult = 1;
  int digits = 0;

  while (*s == ' ')
    s++;
  for (; *s >= '0' && *s <= '9'; s++, digits++) {
    v = v * 10 + (unsigned) (*s - '0');
    if (v > UINT64_MAX)
      return 0;
  }
  if (!digits)
    return 0;
  switch (*s) {
    case 'k':
    case 'K':
      mult = 1ull << 10;
      s++;
      break;
    case 'm':
    case 'M':
      mult = 1ull << 20;
      s++;
      break;
    case 'g':
    case 'G':
      mult = 1ull << 30;
      s++;
      break;
    default:
      break;
  }
  if (mult > 1 && *s == 'i')
    s++;
  if (*s == 'B' || *s == 'b')
    s++;
  while (*s == ' ')
    s++;
  if (*s != '\0')
    return 0;
  v *= mult;
  if (v > UINT64_MAX)
    return 0;
  *out = (uint64_t) v;
  return 1;
}

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  char *s;
  uint64_t got = 0xdeadbeef, want = 0;
  int rc, ok, code = 0;

  if (size > 1024)
    return -1;
  s = malloc (size + 1);
  FZ_CHECK (s != NULL);
  memcpy (s, data, size);
  s[size] = '\0';

  rc = zb_validate_name (s);
  FZ_CHECK (rc == (ref_name_ok (s) ? ZB_OK : ZB_EBADNAME));
  FZ_CHECK (zb_last_error () != NULL);

  rc = zb_parse_size (s, &got);
  ok = ref_size (s, &want);
  if (ok && rc == ZB_EINVAL && want > UINT64_MAX - 6
      && fz_known_bug ("u64-max-size"))
    ok = 0;
  if (rc != (ok ? ZB_OK : ZB_EINVAL))
    fprintf (stderr, "zb_parse_size(\"%.80s\") = %s, expected %s\n", s,
        zb_status_name (rc), ok ? "ZB_OK" : "ZB_EINVAL");
  FZ_CHECK (rc == (ok ? ZB_OK : ZB_EINVAL));
  if (rc == ZB_OK)
    FZ_CHECK (got == want);
  else
    FZ_CHECK (got == 0xdeadbeef);       /* untouched on failure */

  memcpy (&code, data, size < sizeof code ? size : sizeof code);
  FZ_CHECK (zb_strerror (code) != NULL && zb_status_name (code) != NULL);
  free (s);
  return 0;
}
