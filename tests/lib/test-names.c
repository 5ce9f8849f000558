/* Status codes, size parsing and buffer-name validation.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "zbtest.h"

static void
test_status_table (void)
{
  static const struct
  {
    int code;
    const char *name;
    const char *msg;
  } table[] = {
#define XX(n, v, m) { v, "ZB_" #n, m },
    ZB_STATUS_MAP (XX)
#undef XX
  };
  size_t n = sizeof table / sizeof table[0], i, j;

  CHECK_EQ (n, 25);
  for (i = 0; i < n; i++) {
    const char *s = zb_strerror (table[i].code);
    const char *nm = zb_status_name (table[i].code);

    CHECK (s != NULL && s[0] != '\0');
    CHECK (nm != NULL && nm[0] != '\0');
    if (!s || !nm)
      continue;
    if (strcmp (s, table[i].msg) != 0) {
      fprintf (stderr, "strerror(%d) = '%s', want '%s'\n", table[i].code, s,
          table[i].msg);
      CHECK (0);
    }
    if (strcmp (nm, table[i].name) != 0) {
      fprintf (stderr, "status_name(%d) = '%s', want '%s'\n", table[i].code,
          nm, table[i].name);
      CHECK (0);
    }
    for (j = 0; j < i; j++) {
      CHECK (strcmp (s, zb_strerror (table[j].code)) != 0);
      CHECK (strcmp (nm, zb_status_name (table[j].code)) != 0);
    }
  }
  /* Codes outside the table still give a usable string. */
  CHECK (zb_strerror (-999) != NULL && zb_strerror (-999)[0] != '\0');
  CHECK (zb_strerror (5) != NULL && zb_strerror (5)[0] != '\0');
  CHECK (zb_status_name (-999) != NULL && zb_status_name (-999)[0] != '\0');
  CHECK (zb_status_name (12345) != NULL);
  CHECK (zb_status_name (-2147483647 - 1) != NULL);
  CHECK (zb_strerror (-2147483647 - 1) != NULL);
}

static void
test_parse_size (void)
{
  static const struct
  {
    const char *text;
    uint64_t want;
  } good[] = {
    {"4096", 4096},
    {"64K", 65536},
    {"16M", 16777216},
    {"1G", 1073741824},
    {"64KB", 65536},
    {"64KiB", 65536},
    {"16MiB", 16777216},
    {"2GB", 2147483648ull},
    {"1", 1},
  };
  static const char *bad[] = {
    "", "abc", "-1", "12X", "K", "1.5M", "64KX", "64 K",
    "0x10", "1e3", "64KiBB", "99999999999999999999",
    "18446744073709551616", "17179869184G", "18014398509481984K",
  };
  size_t i;

  for (i = 0; i < sizeof good / sizeof good[0]; i++) {
    uint64_t v = 0;
    int rc = zb_parse_size (good[i].text, &v);

    if (rc != 0 || v != good[i].want) {
      fprintf (stderr, "zb_parse_size(\"%s\") = %s, %" PRIu64 "; want %"
          PRIu64 "\n", good[i].text, zb_status_name (rc), v, good[i].want);
      CHECK (0);
    }
  }
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint64_t v = 0;
    int rc = zb_parse_size (bad[i], &v);

    if (rc != ZB_EINVAL) {
      fprintf (stderr, "zb_parse_size(\"%s\") = %s (%" PRIu64 "), want "
          "ZB_EINVAL\n", bad[i], zb_status_name (rc), v);
      CHECK (0);
    }
  }
  {
    uint64_t v = 0;

    CHECK_RC (zb_parse_size (NULL, &v), ZB_EINVAL);
    CHECK_RC (zb_parse_size ("64K", NULL), ZB_EINVAL);
  }
}

static int
file_exists (const char *path)
{
  struct stat st;

  /* "" and "." name directories that are always there. */
  return lstat (path, &st) == 0 && !S_ISDIR (st.st_mode);
}

/* Every path a bad name could have produced, checked before and after. */
static int
bad_name_traces (const char *name)
{
  char p[1024];
  int found = 0;

  snprintf (p, sizeof p, "/dev/shm/%s", name);
  found |= file_exists (p);
  snprintf (p, sizeof p, "/dev/shm/sem.sem-w-%s", name);
  found |= file_exists (p);
  snprintf (p, sizeof p, "/dev/shm/sem.sem-r-%s", name);
  found |= file_exists (p);
  snprintf (p, sizeof p, "/tmp/zerobuffer/%s.lock", name);
  found |= file_exists (p);
  return found;
}

static void
test_bad_names (void)
{
  char n_dot[64], n_slash[64], n_up[64], n_space[64], n_nl[64], n_utf8[64];
  char n_colon[64], n_long[256], n_star[64];
  const char *bad[12];
  int i, nbad = 0;
  int pid = (int) getpid ();

  snprintf (n_dot, sizeof n_dot, ".zbt-bad-%d", pid);
  snprintf (n_slash, sizeof n_slash, "zbt/bad-%d", pid);
  snprintf (n_up, sizeof n_up, "../zbt-bad-%d", pid);
  snprintf (n_space, sizeof n_space, "zbt bad-%d", pid);
  snprintf (n_nl, sizeof n_nl, "zbt\nbad-%d", pid);
  snprintf (n_utf8, sizeof n_utf8, "zbt-b\xc3\xa4" "d-%d", pid);
  snprintf (n_colon, sizeof n_colon, "zbt:bad-%d", pid);
  snprintf (n_star, sizeof n_star, "zbt-bad*-%d", pid);
  memset (n_long, 'a', 201);
  n_long[201] = '\0';
  memcpy (n_long, "zbt-long-", 9);
  snprintf (n_long + 9, 12, "%08d", pid);
  n_long[17] = 'x';
  CHECK_EQ (strlen (n_long), 201);

  bad[nbad++] = "";
  bad[nbad++] = ".";
  bad[nbad++] = n_dot;
  bad[nbad++] = n_slash;
  bad[nbad++] = n_up;
  bad[nbad++] = n_space;
  bad[nbad++] = n_nl;
  bad[nbad++] = n_utf8;
  bad[nbad++] = n_colon;
  bad[nbad++] = n_star;
  bad[nbad++] = n_long;

  for (i = 0; i < nbad; i++) {
    zb_reader_options opts = { 64, 4096, 0 };
    zb_reader *r = NULL;
    zb_writer *w = NULL;
    zb_info info;
    int before = bad_name_traces (bad[i]);

    CHECK (!before);
    CHECK_RC (zb_validate_name (bad[i]), ZB_EBADNAME);
    /* The detail is one printable line, whatever the name holds. */
    {
      const char *e;

      for (e = zb_last_error (); *e; e++)
        CHECK ((unsigned char) *e >= 0x20 && (unsigned char) *e < 0x7f);
    }
    CHECK_RC (zb_reader_create (&r, bad[i], &opts), ZB_EBADNAME);
    CHECK (r == NULL);
    CHECK_RC (zb_writer_open (&w, bad[i], 0), ZB_EBADNAME);
    CHECK (w == NULL);
    /* A bad name is refused at once, not waited for. */
    {
      double t0 = zbt_now_ms ();

      CHECK_RC (zb_writer_open (&w, bad[i], ZBT_LONG_MS), ZB_EBADNAME);
      CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
    }
    CHECK_RC (zb_inspect (bad[i], &info), ZB_EBADNAME);
    if (bad_name_traces (bad[i])) {
      fprintf (stderr, "bad name '%s' left a file behind\n", bad[i]);
      CHECK (0);
    }
    if (r)
      zb_reader_close (r);
    if (w)
      zb_writer_close (w);
  }
  /* "../x" must not have produced /dev/x or /tmp/x.lock either. */
  {
    char p[256];

    snprintf (p, sizeof p, "/dev/zbt-bad-%d", pid);
    CHECK (!zbt_path_exists (p));
    snprintf (p, sizeof p, "/tmp/zbt-bad-%d.lock", pid);
    CHECK (!zbt_path_exists (p));
  }
  CHECK_RC (zb_validate_name (NULL), ZB_EBADNAME);
}

static void
test_good_names (void)
{
  char n200[256], buf[64];
  const char *good[4];
  int i, pid = (int) getpid ();

  memset (n200, 'z', 200);
  n200[200] = '\0';
  snprintf (buf, sizeof buf, "zbt-names-%d-", pid);
  memcpy (n200, buf, strlen (buf));
  zbt_register_name (n200);
  CHECK_EQ (strlen (n200), 200);

  good[0] = n200;
  good[1] = zbt_name (buf, sizeof buf, "names");
  {
    static char mixed[64];

    snprintf (mixed, sizeof mixed, "Zbt_Names.%d-x_Y.9", pid);
    zbt_register_name (mixed);
    good[2] = mixed;
  }
  {
    static char dash[64];

    snprintf (dash, sizeof dash, "-zbt-names-%d", pid);
    zbt_register_name (dash);
    good[3] = dash;
  }
  for (i = 0; i < 4; i++) {
    zb_reader_options opts = { 0, 64, 0 };
    zb_reader *r = NULL;

    CHECK_RC (zb_validate_name (good[i]), 0);
    CHECK_RC (zb_reader_create (&r, good[i], &opts), 0);
    if (!r)
      continue;
    CHECK (zbt_all_exist (good[i]));
    CHECK (strcmp (zb_reader_name (r), good[i]) == 0);
    zb_reader_close (r);
    CHECK (zbt_all_gone (good[i]));
  }
}

static void
test_bad_args (void)
{
  zb_reader_options opts = { 64, 0, 0 };
  zb_reader *r = NULL;
  char name[64];

  zbt_name (name, sizeof name, "names");
  /* payload_size must be > 0. */
  CHECK_RC (zb_reader_create (&r, name, &opts), ZB_EINVAL);
  CHECK (r == NULL);
  CHECK (zbt_all_gone (name));
  opts.payload_size = 4096;
  CHECK_RC (zb_reader_create (NULL, name, &opts), ZB_EINVAL);
  CHECK (zbt_all_gone (name));
  /* NULL objects are ignored by close. */
  zb_reader_close (NULL);
  zb_writer_close (NULL);
}

int
main (void)
{
  test_status_table ();
  test_parse_size ();
  test_bad_names ();
  test_good_names ();
  test_bad_args ();
  return zbt_result ();
}
