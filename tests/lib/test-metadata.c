/* Metadata: the u64 length prefix, the OIEB bookkeeping, write-once, size
 * limits, and reading metadata an upstream-style writer left.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "zbtest.h"

static void
test_roundtrip (void)
{
  static const char json[] = "{\"type\": \"gstreamer-sink\", \"version\": "
      "\"GStreamer 1.22.0\", \"caps\": \"video/x-raw\", \"element_name\": "
      "\"zerosink0\"}";
  const size_t L = sizeof json - 1;
  zb_reader_options opts = { 200, 4096, 0 };
  zb_reader *r = NULL;
  zb_writer *w = NULL, *w2 = NULL;
  const void *data = NULL;
  size_t size = 0;
  zbt_shm m;
  char name[64];

  zbt_name (name, sizeof name, "meta");
  REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
  REQUIRE (zbt_shm_map (name, &m) == 0);
  CHECK_RC (zb_reader_get_metadata (r, &data, &size), ZB_ENOMETA);

  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_EQ (zbt_get (&m, OFF_WRITER_PID), getpid ());
  CHECK_EQ (zb_writer_has_metadata (w), 0);
  CHECK_RC (zb_reader_get_metadata (r, &data, &size), ZB_ENOMETA);

  REQUIRE (L + 8 <= 256);
  CHECK_RC (zb_writer_set_metadata (w, json, L), 0);
  /* Raw: u64 length, then the bytes, at offset 128. */
  CHECK_EQ (zbt_le64 (m.base + 128), L);
  CHECK (memcmp (m.base + 136, json, L) == 0);
  CHECK_EQ (zbt_get (&m, OFF_META_WRITTEN), 8 + L);
  CHECK_EQ (zbt_get (&m, OFF_META_FREE), 256 - (8 + L));
  CHECK_EQ (zbt_get (&m, OFF_META_SIZE), 256);
  CHECK_EQ (zb_writer_has_metadata (w), 1);

  CHECK_RC (zb_reader_get_metadata (r, &data, &size), 0);
  CHECK_EQ (size, L);
  CHECK (data != NULL && memcmp (data, json, L) == 0);

  /* Write once, even with other bytes or another writer. */
  CHECK_RC (zb_writer_set_metadata (w, "x", 1), ZB_EMETAWRITTEN);
  CHECK_EQ (zbt_le64 (m.base + 128), L);
  zb_writer_close (w);
  REQUIRE_RC (zb_writer_open (&w2, name, 1000), 0);
  CHECK_EQ (zb_writer_has_metadata (w2), 1);
  CHECK_RC (zb_writer_set_metadata (w2, "y", 1), ZB_EMETAWRITTEN);
  CHECK_EQ (zbt_get (&m, OFF_META_WRITTEN), 8 + L);
  CHECK (memcmp (m.base + 136, json, L) == 0);
  zb_writer_close (w2);

  /* The metadata is still readable after the writer left. */
  CHECK_RC (zb_reader_get_metadata (r, &data, &size), 0);
  CHECK_EQ (size, L);
  zbt_shm_unmap (&m);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

static void
test_limits (void)
{
  uint8_t buf[200];
  zb_reader_options opts = { 64, 4096, 0 };
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  zbt_shm m;
  char name[64];
  const void *data;
  size_t size;

  memset (buf, 0xab, sizeof buf);

  /* M = 64: 8 + 57 > 64 is refused and changes nothing. */
  zbt_name (name, sizeof name, "meta");
  REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
  REQUIRE (zbt_shm_map (name, &m) == 0);
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_RC (zb_writer_set_metadata (w, buf, 57), ZB_EMETATOOLARGE);
  CHECK_RC (zb_writer_set_metadata (w, buf, 190), ZB_EMETATOOLARGE);
  CHECK_RC (zb_writer_set_metadata (w, buf, (size_t) -1), ZB_EMETATOOLARGE);
  CHECK_RC (zb_writer_set_metadata (w, buf, (size_t) -8), ZB_EMETATOOLARGE);
  CHECK_EQ (zbt_get (&m, OFF_META_WRITTEN), 0);
  CHECK_EQ (zb_writer_has_metadata (w), 0);
  /* Exactly full is fine. */
  CHECK_RC (zb_writer_set_metadata (w, buf, 56), 0);
  CHECK_EQ (zbt_get (&m, OFF_META_WRITTEN), 64);
  CHECK_EQ (zbt_get (&m, OFF_META_FREE), 0);
  CHECK_RC (zb_reader_get_metadata (r, &data, &size), 0);
  CHECK_EQ (size, 56);
  zb_writer_close (w);
  zbt_shm_unmap (&m);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));

  /* M = 0: no metadata fits at all. */
  opts.metadata_size = 0;
  zbt_name (name, sizeof name, "meta");
  REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_RC (zb_writer_set_metadata (w, buf, 1), ZB_EMETATOOLARGE);
  CHECK_RC (zb_reader_get_metadata (r, &data, &size), ZB_ENOMETA);
  /* Frames still work without a metadata block. */
  CHECK_RC (zb_writer_write (w, buf, 10, 1000), 0);
  {
    zb_frame f;

    CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
    CHECK_EQ (f.size, 10);
    zb_reader_release (r, &f);
  }
  zb_writer_close (w);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

/* Metadata written by an upstream-style writer, then hostile values. */
static void
test_raw (void)
{
  zb_reader_options opts = { 128, 4096, 0 };
  zb_reader *r = NULL;
  zbt_shm m;
  char name[64];
  const void *data = NULL;
  size_t size = 0;
  int rc;

  zbt_name (name, sizeof name, "meta");
  REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
  REQUIRE (zbt_shm_map (name, &m) == 0);
  zbt_set (&m, OFF_WRITER_PID, getpid ());
  zbt_put_le64 (m.base + 128, 5);
  memcpy (m.base + 136, "hello", 5);
  zbt_set (&m, OFF_META_FREE, 128 - 13);
  zbt_set (&m, OFF_META_WRITTEN, 13);
  CHECK_RC (zb_reader_get_metadata (r, &data, &size), 0);
  CHECK_EQ (size, 5);
  CHECK (data && memcmp (data, "hello", 5) == 0);

  /* A length prefix beyond the block: an error, never a read past it. */
  zbt_put_le64 (m.base + 128, 1000);
  rc = zb_reader_get_metadata (r, &data, &size);
  CHECK (rc == ZB_ECORRUPT || rc == ZB_ENOMETA || (rc == 0 && size <= 120));
  zbt_put_le64 (m.base + 128, UINT64_MAX - 4);
  zbt_set (&m, OFF_META_WRITTEN, 13);
  rc = zb_reader_get_metadata (r, &data, &size);
  CHECK (rc == ZB_ECORRUPT || rc == ZB_ENOMETA || (rc == 0 && size <= 120));
  /* written_bytes beyond the block. */
  zbt_put_le64 (m.base + 128, 5);
  zbt_set (&m, OFF_META_WRITTEN, UINT64_MAX);
  rc = zb_reader_get_metadata (r, &data, &size);
  CHECK (rc == ZB_ECORRUPT || rc == ZB_ENOMETA || (rc == 0 && size <= 120));
  /* written_bytes of 1..7 cannot hold the prefix. */
  zbt_set (&m, OFF_META_WRITTEN, 4);
  rc = zb_reader_get_metadata (r, &data, &size);
  CHECK (rc == ZB_ECORRUPT || rc == ZB_ENOMETA || (rc == 0 && size <= 120));

  zbt_set (&m, OFF_WRITER_PID, 0);
  zbt_shm_unmap (&m);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

int
main (void)
{
  test_roundtrip ();
  test_limits ();
  test_raw ();
  return zbt_result ();
}
